#!/usr/bin/env bash
# Runs every check and test of VigilOps, in the order a failure is cheapest to find:
# formatting, the web UI (lint, types, unit tests, build), clippy, all Rust tests (SQLite and
# PostgreSQL), the Python bindings, and the browser end-to-end test against the real server.
#
# Needs: Rust (rustup), Node.js 20 with npm, Python 3.9+, PostgreSQL at
# postgres@127.0.0.1:5432/test (override with VIGILOPS_TEST_POSTGRES), and Debian's Chromium at
# /usr/bin/chromium. With CI=true an unreachable PostgreSQL fails the run instead of being skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vigilops/target}"
started=$SECONDS
step() { printf '\n== %s (%ss)\n' "$*" "$((SECONDS - started))"; }

step "rustfmt"
cargo fmt --all -- --check

step "web UI: install, lint, typecheck, unit tests, build"
(
  cd frontend
  npm ci --no-audit --no-fund
  npm run lint
  npm run typecheck
  npm test
  npm run build
)

step "clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "Rust tests (SQLite and PostgreSQL)"
cargo test --workspace

step "Python bindings"
bash bindings/python/run-tests.sh

step "browser end-to-end test against the real server"
cargo build -p vigilops-server
data_dir=$(mktemp -d)
log=$(mktemp)
"$CARGO_TARGET_DIR/debug/vigilops-server" --listen 127.0.0.1:0 --data-dir "$data_dir" >"$log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; rm -rf "$data_dir"' EXIT
for _ in $(seq 1 100); do
  url=$(grep -o 'http://[0-9.:]*' "$log" | head -n 1 || true)
  [ -n "$url" ] && break
  sleep 0.1
done
if [ -z "${url:-}" ]; then
  cat "$log"
  echo "the server did not start" >&2
  exit 1
fi
email=e2e-admin@example.com
password='e2e-Passw0rd!'
seeded=$(python3 scripts/seed_e2e.py "$url" "$email" "$password")
printf '%s\n' "$seeded"
alert_id=$(printf '%s\n' "$seeded" | sed -n 's/^alert //p')
(cd frontend && BASE_URL="$url" E2E_EMAIL="$email" E2E_PASSWORD="$password" E2E_REQUIRE_HOST=1 \
  E2E_ALERT_ID="$alert_id" npm run e2e)

step "all checks passed"
