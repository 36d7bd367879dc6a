#!/usr/bin/env bash
# Create .venv and install opsgraph into it: `bootstrap.sh server` (default) or `dev`.
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-server}"
python="${OPSGRAPH_PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "bootstrap: opsgraph needs Python >= 3.11 ($python is older or missing)" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$extra]"
