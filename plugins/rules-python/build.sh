#!/usr/bin/env bash
# Builds the Python example rule set into a component of world maillage:indemnity/rule-set
# with componentize-py (scripts/test.sh installs it into target/test-tools/componentize).
# Usage: plugins/rules-python/build.sh [output.wasm]
#   default output: target/wasm-examples/rules-python.wasm under the repository root.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${1:-$repo/target/wasm-examples/rules-python.wasm}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
componentize_py="${COMPONENTIZE_PY:-$repo/target/test-tools/componentize/bin/componentize-py}"
mkdir -p "$(dirname "$out")"

# Only app.py goes in. componentize-py snapshots the interpreter after importing the app,
# with every directory of its path listed: so it builds from a copy of app.py alone (no
# __pycache__ written here, no README or fixtures listed), and with VIRTUAL_ENV naming an
# empty environment, or it would add the building machine's site-packages to the path.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src" "$work/env/lib/site-packages"
cp "$here/app.py" "$work/src/"
cd "$work"
# --stub-wasi: the WASI imports CPython needs become trapping stubs, so the component
# imports nothing, as the host requires of a rule set. A clock, randomness or a file
# touched at run time traps; every import must happen when app.py is first imported.
VIRTUAL_ENV="$work/env" "$componentize_py" -q \
    -d "$repo/wit/indemnity/v0.1.0" -w rule-set \
    componentize --stub-wasi -p "$work/src" -o "$out" app
echo "$out"
