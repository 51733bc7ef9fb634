#!/usr/bin/env bash
# The Python package's check: a fresh virtual environment, `pip install
# ./python pytest numpy` (pip fetches maturin, which builds the extension in
# release mode into $CARGO_TARGET_DIR, else python/target), then the pytest
# suite. Its parity tests compare with the `sdflow` CLI: $SDFLOW_BIN, else
# one built here in release mode into the wheel's target folder, whose
# dependencies the wheel build has just compiled. Extra arguments go to
# pytest. Fails when pytest collects no tests.
set -euo pipefail
cd "$(dirname "$0")/.."

start=$(date +%s)
venv=$(mktemp -d "${TMPDIR:-/tmp}/sdflow-python-ci.XXXXXX")
trap 'rm -rf "$venv"' EXIT

python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check ./python pytest numpy
installed=$(date +%s)
echo "python-ci: venv and wheel in $(( installed - start )) s"

if [ -z "${SDFLOW_BIN:-}" ]; then
    wheel_target=${CARGO_TARGET_DIR:-$PWD/python/target}
    cargo build --release --no-default-features --quiet --target-dir "$wheel_target"
    export SDFLOW_BIN="$wheel_target/release/sdflow"
    built=$(date +%s)
    echo "python-ci: CLI for the parity tests in $(( built - installed )) s"
    installed=$built
fi

# The pytest script (not `python -m pytest`, which would put the current
# folder on sys.path) imports the installed package, not python/sdflow/.
set +e
"$venv/bin/pytest" -q python/tests "$@"
code=$?
set -e
echo "python-ci: pytest in $(( $(date +%s) - installed )) s, total $(( $(date +%s) - start )) s"
if [ "$code" -eq 5 ]; then
    echo "python-ci: pytest collected no tests" >&2
    exit 1
fi
exit "$code"
