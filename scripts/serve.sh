#!/usr/bin/env bash
# Sets everything up (idempotently), builds the page and serves it on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
source scripts/env.sh
PORT="${PORT:-8080}"
echo
echo "  zkspark will be served at  http://127.0.0.1:${PORT}/  (first build takes a minute)"
echo
exec trunk serve --release --offline --address 127.0.0.1 --port "$PORT" --disable-address-lookup
