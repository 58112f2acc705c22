#!/usr/bin/env bash
# `make demo`: simulate the small world (bundled default data), ingest it, run the analyses, write a report.
set -euo pipefail
OUT=${1:-demo-out}
BIN=.venv/bin
rm -rf "$OUT"; mkdir -p "$OUT"
DB="$OUT/demo.duckdb"
export CHAINSLEUTH_DB="$DB"
echo "== ingesting the bundled real ethereum-etl sample"
$BIN/chainsleuth ingest etl src/chainsleuth/data/samples/ethereum-etl --chain ethereum
$BIN/chainsleuth info
