# Orbit platform shell defaults.
export PATH="$HOME/bin:$PATH"
export ORBIT_AUDIT=1
export ORBIT_AUDIT_LOG="$HOME/ops/audit/agent-actions.log"
export ORBIT_QUEUE_DEFAULT=cpu-small
