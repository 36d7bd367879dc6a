#!/usr/bin/env bash
# Set up everything from nothing and run the whole test suite:
# Python env, Debian test services, a real Neo4j 5.26, then ruff, mypy and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh dev
scripts/system-deps.sh
export PYTHON="$PWD/.venv/bin/python"
export OPSGRAPH_NEO4J_BOLT_PORT="${OPSGRAPH_NEO4J_BOLT_PORT:-17687}"
export OPSGRAPH_TEST_NEO4J_URL="bolt://127.0.0.1:${OPSGRAPH_NEO4J_BOLT_PORT}"
scripts/helm.sh >/dev/null  # built from the Go module proxy once, then cached
scripts/neo4j.sh start
trap 'scripts/neo4j.sh stop' EXIT
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/pytest "$@"
