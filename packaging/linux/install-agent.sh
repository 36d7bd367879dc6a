#!/usr/bin/env bash
# Install opsgraph-agent as a systemd service on Linux:
#
#   sudo packaging/linux/install-agent.sh --server https://opsgraph.example.com \
#        --token-file /root/agent.token [--agent-id ID] [--package SPEC]
#
# It creates the system user opsgraph-agent, a venv in /opt/opsgraph-agent with the
# agent installed (`pip install SPEC`: the agent needs only psutil, prometheus-client
# and pyyaml), the spool directory /var/lib/opsgraph-agent, the settings file
# /etc/opsgraph/agent.yaml holding the token (mode 600, owned by the agent's user), and
# the unit opsgraph-agent.service, which it enables and starts. Run it again to upgrade;
# without a token it keeps the existing settings file.
#
# The token is issued on the server for this agent id (the host name by default):
#   opsgraph token create --role agent --name HOST --agent-id HOST
#
# Options:
#   --server URL        collector base URL (required for a new settings file)
#   --token TOKEN       the agent token ("-" reads it from standard input; prefer
#                       --token-file or "-": a token on the command line shows in ps)
#   --token-file FILE   read the token from FILE
#   --agent-id ID       agent id the token was issued for (default: the host name)
#   --ca-file FILE      CA bundle for the collector's certificate
#   --metrics-listen A  serve the agent's /metrics on HOST:PORT or :PORT
#   --package SPEC      what pip installs (default: this source tree; or a wheel file,
#                       or "opsgraph==X.Y" from your index)
#   --python PY         Python >= 3.11 for the venv (default: python3)
#   --root DIR          install under DIR instead of / (a staging tree, as for a
#                       package or a test): no user, no chown, no systemctl
#   --no-start          enable nothing, start nothing
# Exit codes: 0 installed; 1 a step failed; 2 bad usage.
set -euo pipefail

PROG=install-agent.sh
SOURCE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
USER_NAME=opsgraph-agent
PREFIX=/opt/opsgraph-agent
CONFIG=/etc/opsgraph/agent.yaml
SPOOL_DIR=/var/lib/opsgraph-agent
UNIT_DIR=/etc/systemd/system
UNIT=opsgraph-agent.service

server="" token="" token_file="" agent_id="" ca_file="" metrics_listen=""
package="" python=python3 root="" start=yes

usage() { echo "$PROG: $1 (see the comment at the top of $0)" >&2; exit 2; }
fail() { echo "$PROG: $1" >&2; exit 1; }
step() { echo "$PROG: $1"; }

while [[ $# -gt 0 ]]; do
  case $1 in
    --server | --token | --token-file | --agent-id | --ca-file | --metrics-listen | \
      --package | --python | --root)
      [[ $# -ge 2 ]] || usage "$1 needs a value"
      case $1 in
        --server) server=$2 ;;
        --token) token=$2 ;;
        --token-file) token_file=$2 ;;
        --agent-id) agent_id=$2 ;;
        --ca-file) ca_file=$2 ;;
        --metrics-listen) metrics_listen=$2 ;;
        --package) package=$2 ;;
        --python) python=$2 ;;
        --root) root=$2 ;;
      esac
      shift 2 ;;
    --no-start) start=no; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) usage "unknown option $1" ;;
  esac
done

if [[ $token == - ]]; then
  IFS= read -r token || true
elif [[ -n $token_file ]]; then
  [[ -r $token_file ]] || fail "cannot read the token file $token_file"
  token=$(<"$token_file")
fi
token=${token//[$'\r\n']/}
if [[ -n $token && ! $token =~ ^[A-Za-z0-9._~+/=-]+$ ]]; then
  usage "the token contains characters a server-issued token never has"
fi
if [[ -n $server && ! $server =~ ^https?://[^[:space:]\'\"]+$ ]]; then
  usage "--server must be an http:// or https:// URL"
fi
if [[ -n $agent_id && ! $agent_id =~ ^[A-Za-z0-9._:-]{1,128}$ ]]; then
  usage "--agent-id may use letters, digits and . _ : - (at most 128)"
fi
if [[ -n $ca_file && ! -r $ca_file ]]; then
  fail "cannot read the CA file $ca_file"
fi
if [[ -n $root ]]; then
  mkdir -p "$root"
  root=$(cd "$root" && pwd)
elif [[ $(id -u) -ne 0 ]]; then
  fail "run as root (or with --root DIR to stage the files somewhere else)"
fi
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
  || fail "$python is missing or older than Python 3.11"
if [[ -z $package ]]; then
  [[ -f $SOURCE/pyproject.toml ]] || usage "--package is required outside the source tree"
  package=$SOURCE
fi

config_path=$root$CONFIG
if [[ -z $token && ! -f $config_path ]]; then
  usage "a token is required for a new installation (--token-file FILE or --token -)"
fi
if [[ -n $token && -z $server ]]; then
  usage "--server is required with a new token"
fi

# 1. The user the service runs as: no login, no home of its own.
if [[ -z $root ]]; then
  if ! id -u "$USER_NAME" >/dev/null 2>&1; then
    step "creating system user $USER_NAME"
    useradd --system --user-group --home-dir "$SPOOL_DIR" --no-create-home \
      --shell /usr/sbin/nologin --comment "opsgraph endpoint agent" "$USER_NAME"
  fi
fi

# 2. The agent in its own venv (root-owned: the service cannot change its own code).
step "installing the agent into $root$PREFIX"
"$python" -m venv "$root$PREFIX"
"$root$PREFIX/bin/python" -m pip install --quiet --disable-pip-version-check \
  --upgrade "$package" || fail "pip could not install $package"
"$root$PREFIX/bin/opsgraph-agent" --help >/dev/null || fail "the installed agent does not run"

# 3. The spool: reports wait here until the collector accepts them.
install -d -m 0750 "$root$SPOOL_DIR"
[[ -n $root ]] || chown "$USER_NAME:$USER_NAME" "$SPOOL_DIR"

# 4. Settings, with the token: readable by the agent's user alone.
if [[ -n $token ]]; then
  step "writing $config_path"
  install -d -m 0755 "$(dirname "$config_path")"
  tmp=$(mktemp "$config_path.XXXXXX")
  chmod 600 "$tmp"
  {
    echo "# opsgraph-agent settings, written by $PROG; keys are described in the agent's"
    echo "# documentation (OPSGRAPH_AGENT_<KEY> environment variables override them)."
    echo "server_url: '$server'"
    echo "token: '$token'"
    [[ -z $agent_id ]] || echo "agent_id: '$agent_id'"
    echo "spool_path: '$SPOOL_DIR/spool.db'"
    [[ -z $ca_file ]] || echo "ca_file: '$ca_file'"
    [[ -z $metrics_listen ]] || echo "metrics_listen: '$metrics_listen'"
  } >"$tmp"
  [[ -n $root ]] || chown "$USER_NAME:$USER_NAME" "$tmp"
  mv -f "$tmp" "$config_path"
else
  step "keeping the existing $config_path"
fi

# 5. The unit.
install -d -m 0755 "$root$UNIT_DIR"
install -m 0644 "$SOURCE/packaging/linux/$UNIT" "$root$UNIT_DIR/$UNIT"
if [[ -n $root ]]; then
  step "staged under $root; on the target: systemctl enable --now $UNIT"
  exit 0
fi
systemctl daemon-reload
if [[ $start == yes ]]; then
  systemctl enable "$UNIT"
  systemctl restart "$UNIT"
  step "started; check with: systemctl status $UNIT and $PREFIX/bin/opsgraph-agent --config $CONFIG status"
else
  step "installed; start with: systemctl enable --now $UNIT"
fi
