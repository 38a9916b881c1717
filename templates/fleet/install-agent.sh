#!/bin/sh
# Installs the Vigil fleet agent {{ version }} for {{ server }} on this server (as root):
# a virtualenv in /opt/vigil-agent with only the agent's dependencies, the state and policy
# in /etc/vigil-agent, and the vigil-agent systemd service.
#   curl -fsSL {{ script_url }} | sh -s -- --claim-code CODE
set -eu
SERVER={{ server|tojson }}
PACKAGE_URL={{ package_url|tojson }}
VERSION={{ version|tojson }}
CLAIM_CODE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --claim-code) CLAIM_CODE="$2"; shift 2 ;;
    *) echo "vigil-agent installer: unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "vigil-agent installer: run as root" >&2; exit 1; }
command -v python3 >/dev/null || { echo "vigil-agent installer: python3 is required (apt-get install python3 python3-venv)" >&2; exit 1; }
command -v restic >/dev/null || echo "vigil-agent installer: restic is not installed; backups will report that until it is (apt-get install restic)" >&2

python3 -m venv /opt/vigil-agent
/opt/vigil-agent/bin/pip install --quiet --upgrade "vigil-agent @ $PACKAGE_URL"
INSTALLED=$(/opt/vigil-agent/bin/vigil-agent --version | cut -d' ' -f2)
[ "$INSTALLED" = "$VERSION" ] || { echo "vigil-agent installer: got $INSTALLED, expected $VERSION" >&2; exit 1; }

install -d -m 0700 /etc/vigil-agent
if [ ! -e /etc/vigil-agent/policy.toml ]; then
  # Least privilege to start with: actions that change the host are off until the host's
  # operator switches them on here (the console can never change this file).
  cat > /etc/vigil-agent/policy.toml <<'POLICY'
[actions]
collect_diagnostics = true
run_backup = true
forget_snapshots = true
restore_test = true
restart_services = true
docker_prune = false
update_agent = false
change_hostname = false
reboot = false
shutdown = false
boot_recovery = false

[restart_services]
allow = []        # unit names the console may restart, e.g. ["nginx", "postgresql"]

[update_agent]
# index_url = "https://pypi.org/simple"

[boot_recovery]
# entry = "Debian GNU/Linux, with Linux (recovery mode)"

[scanner]
# gmp_socket = "/run/gvmd/gvmd.sock"
# username = "vigil-reader"
# password = "..."
POLICY
  chmod 0600 /etc/vigil-agent/policy.toml
fi

UNIT=$(/opt/vigil-agent/bin/python -c 'import pathlib, vigil_agent; print(pathlib.Path(vigil_agent.__file__).with_name("vigil-agent.service"))')
install -m 0644 "$UNIT" /etc/systemd/system/vigil-agent.service
if [ -n "$CLAIM_CODE" ]; then
  /opt/vigil-agent/bin/vigil-agent run --server "$SERVER" --claim-code "$CLAIM_CODE" --once --config /etc/vigil-agent/agent.json
fi
systemctl daemon-reload
systemctl enable --now vigil-agent.service
echo "vigil-agent $VERSION installed; policy: /etc/vigil-agent/policy.toml"
