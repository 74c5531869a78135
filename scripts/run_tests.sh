#!/usr/bin/env bash
# README command 2: install and run the test suite (all of it; pass -m "not slow" for the fast part).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${AIIDA_GRACE_VENV:-$ROOT/.venv}"
bash "$ROOT/scripts/install.sh"
cd "$ROOT"
# The test profiles are temporary; keep AiiDA's config folder out of the home directory.
export AIIDA_PATH="${AIIDA_TEST_PATH:-$(mktemp -d)}"
exec "$VENV/bin/python" -m pytest "$@"
