#!/usr/bin/env bash
# Ensures the pinned Rust toolchain (rust-toolchain.toml) and its wasm32-wasip2 target
# are installed. Sourced by demo.sh and test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v rustup >/dev/null; then
    echo "error: rustup is required (https://rustup.rs)" >&2
    exit 1
fi
# Installs the channel, components and targets named in rust-toolchain.toml if missing.
rustup toolchain install >/dev/null 2>&1 || rustup toolchain install
if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    rustup target add wasm32-wasip2
fi
