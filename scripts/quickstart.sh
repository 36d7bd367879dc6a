#!/usr/bin/env bash
# Set up and run opsgraph's main job on this machine: the server on the embedded
# SQLite store, and a local agent reporting this machine to it. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${OPSGRAPH_LISTEN_PORT:-8080}"
rules="${OPSGRAPH_RULES_FILE:-etc/quickstart-rules.yaml}"
scripts/bootstrap.sh server
mkdir -p var && chmod 700 var
export OPSGRAPH_STORE_URL="${OPSGRAPH_STORE_URL:-sqlite:///var/opsgraph.db}"
agent_id="$(hostname)"
# Tokens are created once and kept (hash in the store, token in var/, mode 600).
if [ ! -s var/agent.token ] || [ ! -s var/operator.token ]; then
    (umask 077
     .venv/bin/opsgraph token create --role agent --name "quickstart agent" \
         --agent-id "$agent_id" > var/agent.token
     .venv/bin/opsgraph token create --role operator --name "quickstart operator" \
         > var/operator.token)
fi
pids=()
cleanup() { [ ${#pids[@]} -eq 0 ] || kill -TERM "${pids[@]}" 2>/dev/null || true; wait; }
trap cleanup EXIT INT TERM
.venv/bin/opsgraph serve --port "$port" --rules "$rules" > var/server.log 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || { tail -20 var/server.log >&2; exit 1; }
OPSGRAPH_AGENT_TOKEN="$(cat var/agent.token)" .venv/bin/opsgraph-agent run \
    --server "http://127.0.0.1:$port" --agent-id "$agent_id" \
    --spool var/agent-spool.db --interval 15 > var/agent.log 2>&1 &
pids+=($!)
cat <<INFO
opsgraph is running: server on http://127.0.0.1:$port, agent "$agent_id" reporting every 15 s.
  operator token:  var/operator.token
  this machine:    curl -s -H "Authorization: Bearer \$(cat var/operator.token)" http://127.0.0.1:$port/v1/cis
  incidents:       curl -s -H "Authorization: Bearer \$(cat var/operator.token)" http://127.0.0.1:$port/v1/incidents
  metrics:         curl -s http://127.0.0.1:$port/metrics
  API docs:        http://127.0.0.1:$port/docs
  logs:            var/server.log, var/agent.log
Ctrl-C stops both.
INFO
wait -n "${pids[@]}"
