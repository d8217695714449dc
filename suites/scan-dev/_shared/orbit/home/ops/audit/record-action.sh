#!/bin/sh
# Appends the agent's last action to the audit log.
printf '%s forecast-agent exec %s\n' "$(date -u +%FT%TZ)" "$*" >> "${ORBIT_AUDIT_LOG:-$HOME/ops/audit/agent-actions.log}"
