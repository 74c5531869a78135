#!/usr/bin/env bash
# Install aiida-grace and everything it needs into a project-local virtual environment.
#
#   bash scripts/install.sh                 everything: AiiDA side and compute side, in <repo>/.venv
#   bash scripts/install.sh --compute-only  the compute side only, in <repo>/.venv-compute: the driver
#                                           (aiida-grace-driver), tensorpotential (gracemaker, grace_uq),
#                                           python-ace, phonopy/phono3py, and no aiida-core (`import aiida` fails
#                                           there): what a cluster that runs the jobs needs
#   AIIDA_GRACE_VENV  where the venv lives (default: as above)
#   PYTHON            the interpreter that makes the venv (default: python3.11)
# Quick and harmless when run again: it does nothing when the install stamp (one per mode) matches.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "${1:-}" in
    "") MODE=full; VENV="${AIIDA_GRACE_VENV:-$ROOT/.venv}"; STAMP="$VENV/.aiida-grace-install";;
    --compute-only) MODE=compute; VENV="${AIIDA_GRACE_VENV:-$ROOT/.venv-compute}"
                    STAMP="$VENV/.aiida-grace-compute-install";;
    *) echo "usage: bash scripts/install.sh [--compute-only]" >&2; exit 2;;
esac
PY="${PYTHON:-python3.11}"
want="$({ echo "$MODE"; cat "$ROOT/pyproject.toml" "$ROOT/scripts/install.sh"; } | sha256sum | cut -d' ' -f1)"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    echo "[install] $VENV is up to date"
    exit 0
fi

# Debian packages, when root (AiiDA side only): graphviz draws provenance graphs (verdi node graph, aiida-grace
# report); chromium and its driver let the test suite open a report in a real headless browser (the test is
# skipped, with the reason, without them)
missing=()
if [ "$MODE" = full ]; then
    command -v dot >/dev/null 2>&1 || missing+=(graphviz)
    { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; } || missing+=(chromium chromium-driver)
fi
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

# The pinned compute stack, the same in both modes. tensorpotential's wheel asks for tensorflow[and-cuda]:
# install the CPU build first, then the package itself without its dependencies (see docs/install.md).
PHONO3PY_PINS=("phonopy==4.8.6" "phono3py==4.8.2")
echo "[install] TensorFlow (CPU build) and tensorpotential"
"${PIP[@]}" "tensorflow-cpu==2.20.0"
"${PIP[@]}" --no-deps "tensorpotential==0.6.2.1" "tf_keras==2.20.1"
"${PIP[@]}" --no-deps "python-ace==0.4.0rc1"

if [ "$MODE" = full ]; then
    echo "[install] aiida-grace and its dependencies"
    "${PIP[@]}" -e "$ROOT[compute,lammps,tests,docs]" "${PHONO3PY_PINS[@]}"
else
    echo "[install] aiida-grace's compute side (without aiida-core)"
    # pyproject's dependencies less aiida-core, plus the compute extra: read, not copied here (tomllib, or tomli
    # before Python 3.11)
    "$VENV/bin/python" -c "import tomllib" 2>/dev/null || "${PIP[@]}" tomli
    mapfile -t requirements < <("$VENV/bin/python" - "$ROOT/pyproject.toml" <<'PYTHON'
import re, sys

try:
    import tomllib
except ModuleNotFoundError:
    import tomli as tomllib

project = tomllib.load(open(sys.argv[1], "rb"))["project"]
for requirement in project["dependencies"] + project["optional-dependencies"]["compute"]:
    if re.split(r"[\s\[<>=~!;]", requirement, maxsplit=1)[0].lower() != "aiida-core":
        print(requirement)
PYTHON
    )
    [ "${#requirements[@]}" -gt 0 ] || { echo "[install] error: no dependencies read from pyproject.toml" >&2; exit 1; }
    "${PIP[@]}" "${requirements[@]}" "${PHONO3PY_PINS[@]}"
    "${PIP[@]}" --no-deps -e "$ROOT"
    if "$VENV/bin/python" -c "import aiida" 2>/dev/null; then
        echo "[install] error: aiida is importable in the compute-only venv $VENV" >&2
        exit 1
    fi
    "$VENV/bin/aiida-grace-driver" --help >/dev/null
fi
echo "$want" > "$STAMP"
echo "[install] done: $VENV"
