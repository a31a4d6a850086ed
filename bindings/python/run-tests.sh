#!/usr/bin/env bash
# Builds the vigilops wheel with maturin and runs the pytest suite against the real server.
#
# Non-interactive; needs only PyPI and crates.io. Caches (override with VIGILOPS_CACHE):
#   $VIGILOPS_CACHE/pyvenv     virtualenv with maturin and pytest
#   $VIGILOPS_CACHE/py-target  cargo target dir of the bindings (kept apart from the workspace's)
#   $VIGILOPS_CACHE/target     the workspace's target dir, where the server binary is looked up
# The server binary is VIGILOPS_SERVER_BIN, else $CARGO_TARGET_DIR/debug/vigilops-server (built
# here with `cargo build -p vigilops-server`, a no-op when up to date). Extra arguments go to pytest.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
workspace="$(cd "$here/../.." && pwd)"
cache="${VIGILOPS_CACHE:-$HOME/.cache/vigilops}"
venv="$cache/pyvenv"
python="${PYTHON:-python3}"

# Versions from shared/DEPENDENCIES.md.
maturin_spec="maturin>=1.16,<1.17"
pytest_spec="pytest>=9.2,<9.3"

log() { printf '==> %s\n' "$*" >&2; }

# The toolchain file at the workspace root applies to every cargo call below.
cd "$here"

if ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    log "creating the virtualenv $venv"
    rm -rf "$venv"
    mkdir -p "$cache"
    "$python" -m venv "$venv"
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
log "installing $maturin_spec and $pytest_spec"
"$venv/bin/python" -m pip install --quiet "$maturin_spec" "$pytest_spec"

wheels="$(mktemp -d)"
trap 'rm -rf "$wheels"' EXIT
log "building the wheel"
CARGO_TARGET_DIR="$cache/py-target" "$venv/bin/maturin" build \
    --manifest-path "$here/Cargo.toml" --interpreter "$venv/bin/python" --out "$wheels"
wheel="$(ls "$wheels"/vigilops-*.whl)"
log "installing $(basename "$wheel")"
"$venv/bin/python" -m pip install --quiet --force-reinstall --no-deps "$wheel"

if [[ -z "${VIGILOPS_SERVER_BIN:-}" ]]; then
    # A no-op when the server is up to date; keeps the tests from running a stale binary.
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
    log "building vigilops-server in $CARGO_TARGET_DIR"
    (cd "$workspace" && cargo build --quiet -p vigilops-server)
fi

log "running pytest"
"$venv/bin/python" -m pytest -p no:cacheprovider "$here/tests" "$@"
