#!/usr/bin/env bash
# `make demo`: the main job on the bundled default data.
# Simulates the small world (an economy on an EVM chain and a UTXO chain with a Lazarus-style drain wave, an
# exploiter and a scammer), ingests it, loads the shipped public tags, clusters, detects incidents, traces and
# attributes the largest one and writes its report. Everything stays under $OUT.
set -euo pipefail
OUT=${1:-demo-out}
CS=.venv/bin/chainsleuth
rm -rf "$OUT"; mkdir -p "$OUT"
export CHAINSLEUTH_DB="$OUT/demo.duckdb"
export COLUMNS=${COLUMNS:-140}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "simulating the small world (seed 7)"
$CS simulate "$OUT/world" --seed 7 --scale small
step "ingesting ethereum-etl and bitcoin-etl exports"
$CS ingest etl "$OUT/world/ethereum" --chain ethereum
$CS ingest etl "$OUT/world/bitcoin" --chain bitcoin
$CS prices import "$OUT/world/prices.csv"
step "labels: shipped public tags (OFAC, GraphSense TagPacks) and the world's service TagPack"
$CS tags load-defaults
$CS tags import "$OUT/world/tags.yaml"
step "clustering addresses into entities"
$CS cluster --chain bitcoin
$CS cluster --chain ethereum
$CS info
step "detecting incidents (drain waves)"
$CS incidents
INCIDENT=$($CS incidents --stored --format json | .venv/bin/python -c 'import json,sys; d=json.load(sys.stdin); d = d["incidents"] if isinstance(d, dict) else d; print(d[0]["id"])')
step "attributing $INCIDENT"
$CS attribute "$INCIDENT" --top 5
step "writing the case report for $INCIDENT"
$CS report "$INCIDENT" --out "$OUT/report"
echo
echo "Report:  $OUT/report/report.html  (self-contained; opens offline)"
echo "Explore: $CS serve --db $CHAINSLEUTH_DB   then open http://127.0.0.1:8000/ui/#incident=$INCIDENT"
