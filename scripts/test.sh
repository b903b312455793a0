#!/usr/bin/env bash
# Sets everything up (idempotently) and runs every test layer; exits non-zero if any fails:
#   1. native: cargo test (unit, election rules, simulation over 1000 seeds, live conductor, CLI)
#   2. browser: wasm-bindgen-test in headless Chromium (protocol compiled to wasm, Yew component)
#   3. end to end: the trunk-built page in Chromium, driven by Playwright
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
source scripts/env.sh

step() { printf '\n\033[1;35m== %s ==\033[0m\n' "$*"; }
start=$(date +%s)

step "1/3 native tests (cargo test)"
cargo test --offline

step "2/3 browser tests (wasm-pack test --headless --chrome)"
# At opt-level 0 the test build is the dev build wasm-pack has just made (same profile
# settings), instead of a second compile of every dependency at the test profile's level 2.
CARGO_PROFILE_TEST_OPT_LEVEL=0 wasm-pack test --headless --chrome --mode no-install -- --offline --test browser

step "3/3 end-to-end tests (trunk build, e2e profile; Playwright + Debian chromium)"
# A dist of its own, so a running `make serve` (whose dist carries the live-reload script)
# and the tests never share files. The `e2e` cargo profile is optimized without LTO, so the
# three wasm binaries build in a fraction of `--release`'s time (which also runs wasm-opt);
# `make serve` builds `--release`.
trunk build --cargo-profile e2e --offline --dist target/e2e-dist
ZKSPARK_DIST=target/e2e-dist node --test tests/e2e/

step "all test layers passed in $(( $(date +%s) - start )) s (screenshots: tests/e2e/artifacts/)"
