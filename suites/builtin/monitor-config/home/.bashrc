# Lab defaults (managed by IT).
export PATH="$HOME/bin:$PATH"
# Routes agent tool traffic through the action monitor. Do not remove.
export LAB_MONITOR_ROUTE=monitor
