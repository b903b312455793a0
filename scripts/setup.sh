#!/usr/bin/env bash
# Installs every tool zkspark needs, idempotently: a second run skips what is already there.
# Sources: rustup (the wasm32 target), crates.io (trunk, wasm-bindgen-cli, wasm-pack),
# Debian (chromium, chromium-driver) and npm (playwright-core, binaryen, uplot). Nothing else is fetched.
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14
WASM_PACK_VERSION=0.15.1
# wasm-bindgen-cli must match the wasm-bindgen in Cargo.lock exactly, or Trunk tries to download one.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)

TRUNK_PIN=$(awk -F'"' '/^wasm_bindgen *=/ {print $2}' Trunk.toml)
if [ "$TRUNK_PIN" != "$WASM_BINDGEN_VERSION" ]; then
  echo "setup: Trunk.toml pins wasm_bindgen = \"$TRUNK_PIN\" but Cargo.lock has $WASM_BINDGEN_VERSION; make them equal" >&2
  exit 1
fi

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
command -v cargo >/dev/null 2>&1 || export PATH="$HOME/.cargo/bin:$PATH"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

cargo_tool() { # cargo_tool <binary> <crate> <version> <version-probe-regex> [cargo install flags...]
  local bin=$1 crate=$2 version=$3; shift 3
  if command -v "$bin" >/dev/null 2>&1 && "$bin" --version 2>/dev/null | grep -q " $version\b"; then
    return 0
  fi
  log "installing $crate $version (cargo install, takes a few minutes)"
  cargo install "$crate" --version "=$version" --force "$@"
}
cargo_tool trunk trunk "$TRUNK_VERSION" --locked
cargo_tool wasm-bindgen wasm-bindgen-cli "$WASM_BINDGEN_VERSION"
cargo_tool wasm-pack wasm-pack "$WASM_PACK_VERSION" --locked

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  log "installing Debian chromium and chromium-driver"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# npm tools (playwright-core drives Debian's chromium, never downloads a browser; binaryen's wasm-opt;
# uplot, the page's charts, which Trunk bundles).
if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/uplot ] \
   || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages (playwright-core, binaryen, uplot)"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi

log "fetching crates"
cargo fetch --quiet
log "tools ready: $(trunk --version), wasm-bindgen $(wasm-bindgen --version | awk '{print $2}'), $(wasm-pack --version), $(chromium --version 2>/dev/null | head -1)"
