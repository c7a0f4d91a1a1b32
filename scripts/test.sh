#!/usr/bin/env bash
# Runs every check and test on a fresh machine: installs what is missing, builds the
# plugins (core/build.rs), then format, lints and the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchain.sh

# Browser journeys drive Debian's Chromium through chromedriver (no downloaded browser).
# The mail-over-TLS tests make their certificates with the openssl command.
if ! command -v chromedriver >/dev/null || ! command -v chromium >/dev/null || ! command -v openssl >/dev/null; then
    echo "== installing chromium, chromium-driver and openssl (Debian packages)"
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver openssl >/dev/null
fi

# S3-compatible test server for the blob tests: moto, from PyPI, in a venv of our own.
tools="target/test-tools"
if [ ! -x "$tools/moto/bin/moto_server" ]; then
    echo "== installing moto[server] (PyPI)"
    python3 -m venv "$tools/moto"
    "$tools/moto/bin/pip" install -q 'moto[server]'
fi
# Real readers for what the modules write (xlsx exports, ICS invitations and feeds):
# openpyxl and icalendar, in a venv of our own.
if [ ! -x "$tools/py/bin/python" ] || ! "$tools/py/bin/python" -c 'import openpyxl, icalendar' 2>/dev/null; then
    echo "== installing openpyxl and icalendar (PyPI)"
    python3 -m venv "$tools/py"
    "$tools/py/bin/pip" install -q openpyxl icalendar
fi
# componentize-py builds the Python example rule set (plugins/rules-python/build.sh), in a
# venv of our own, pinned: its output depends on the CPython it embeds.
componentize_py_version="0.25.1"
if [ "$("$tools/componentize/bin/componentize-py" --version 2>/dev/null)" != "componentize-py $componentize_py_version" ]; then
    echo "== installing componentize-py $componentize_py_version (PyPI)"
    python3 -m venv "$tools/componentize"
    "$tools/componentize/bin/pip" install -q "componentize-py==$componentize_py_version"
fi
s3_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$tools/moto/bin/moto_server" -H 127.0.0.1 -p "$s3_port" >"$tools/moto.log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$s3_port/')" 2>/dev/null; then break; fi
    sleep 0.2
done
export MAILLAGE_TEST_S3_ENDPOINT="http://127.0.0.1:$s3_port"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test

echo "== format"
cargo fmt --all --check
(cd plugins && cargo fmt --all --check)

echo "== lints (host and plugins)"
cargo clippy --locked --workspace --all-targets -- -D warnings
(cd plugins && cargo clippy --locked --release --workspace -- -D warnings)

echo "== the SDKs package and build outside the repository (their WIT inside the crate)"
(cd plugins && cargo package --locked --offline --allow-dirty -p maillage-sdk -p maillage-rules --target-dir ../target/package)

echo "== tests"
log="$(mktemp)"
trap 'rm -f "$log"; kill "$moto_pid" 2>/dev/null || true' EXIT
# Guest logic (SDK forms and French dates, the RPPS reader) runs natively; the host
# imports are not called.
(cd plugins && cargo test --locked -p maillage-sdk -p directory -p agenda -p maillage-rules -p rules-forfait -p indemnity -p projects -p cloud --target "$(rustc -vV | sed -n 's/^host: //p')") 2>&1 | tee -a "$log"
echo "== tests on SQLite (embedded default)"
cargo test --locked --workspace 2>&1 | tee -a "$log"

# The same host suite against the PostgreSQL server (each host in its own schema).
# Schemas left by earlier runs are dropped first.
pg_url="${MAILLAGE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
echo "== tests on PostgreSQL ($pg_url)"
psql "$pg_url" -qAt -c "SELECT 'DROP SCHEMA ' || nspname || ' CASCADE;' FROM pg_namespace WHERE nspname LIKE 't\_maillage\_test\_%'" \
    | psql "$pg_url" -q >/dev/null
MAILLAGE_TEST_DATABASE=postgres MAILLAGE_TEST_POSTGRES_URL="$pg_url" \
    cargo test --locked -p host-tests 2>&1 | tee -a "$log"

# The plugin author guide (docs/plugins), every ```sh block run verbatim from a scratch
# folder with this checkout's maillage binary, each step timed (docs/plugins/newcomer-timing.md).
echo "== plugin author guide (docs/plugins, run verbatim)"
cargo build --locked -p maillage
scripts/newcomer.sh

# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { p += $4; f += $6 } END { printf "%d passed, %d failed\n", p, f }' "$log"
