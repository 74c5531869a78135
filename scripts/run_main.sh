#!/usr/bin/env bash
# README command 1: install, set up the profile (SQLite + ZeroMQ, localhost Codes) and run the main job.
#   AIIDA_PATH        where the AiiDA config lives (default: <repo>/.aiida)
#   AIIDA_GRACE_VENV  the virtual environment (default: <repo>/.venv)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${AIIDA_GRACE_VENV:-$ROOT/.venv}"
export AIIDA_PATH="${AIIDA_PATH:-$ROOT/.aiida}"
bash "$ROOT/scripts/install.sh"
"$VENV/bin/aiida-grace" setup --profile grace
echo "[main] running examples/main_job.py (3-5 minutes on 2 cores)"
"$VENV/bin/verdi" -p grace run "$ROOT/examples/main_job.py" "$@"
echo "[main] to use this profile yourself: export AIIDA_PATH=$AIIDA_PATH; source $VENV/bin/activate"
