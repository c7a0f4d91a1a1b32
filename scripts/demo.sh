#!/usr/bin/env bash
# Runs the platform with demo data on the embedded defaults (SQLite + local files).
# Usage: scripts/demo.sh [--listen 127.0.0.1:8080] [--data-dir ./maillage-data]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchain.sh
exec cargo run --release --locked -p maillage -- demo "$@"
