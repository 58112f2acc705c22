"""Ingest throughput: ethereum-etl token_transfers/transactions/blocks into DuckDB, rows per second.

Generates (vectorised numpy + pyarrow) an ethereum-etl export folder with ``--rows`` transfer rows (default
10 million), loads it with ``chainsleuth.ingest.etl.load_etl`` and, in the same run, with a naive loader
(pandas ``read_csv`` + per-row ``INSERT`` via ``executemany``) on a sample, and prints both rates side by side.
Writes ``benchmarks/results/ingest.json``. Goal: >= 2 million rows/s on a 2-core machine.

    python benchmarks/ingest.py [--rows 10000000] [--naive-rows 20000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from chainsleuth import store
from chainsleuth.ingest.etl import load_etl

RESULTS = Path(__file__).resolve().parent / "results"


def hexcol(rng: np.random.Generator, k: int, nbytes: int) -> pa.Array:
    """k random 0x-hex strings of nbytes bytes: a pool that rows draw from."""
    raw = rng.integers(0, 256, size=(k, nbytes), dtype=np.uint8)
    return pa.array(np.char.add("0x", np.array([r.tobytes().hex() for r in raw])))


def generate(folder: Path, rows: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    per_block = 200
    nblocks = (rows + per_block - 1) // per_block
    numbers = np.arange(15_000_000, 15_000_000 + nblocks)
    block_hashes = pa.array([f"0x{int(n):064x}" for n in numbers])
    pacsv.write_csv(pa.table({"number": numbers, "hash": block_hashes,
                              "parent_hash": pa.array([f"0x{int(n) - 1:064x}" for n in numbers]),
                              "timestamp": 1_650_000_000 + (numbers - numbers[0]) * 12,
                              "transaction_count": np.full(nblocks, per_block)}), folder / "blocks.csv")
    chunk = 2_000_000
    addresses = hexcol(rng, 200_000, 20)
    tokens = hexcol(rng, 50, 20)
    with pacsv.CSVWriter(folder / "token_transfers.csv", pa.schema([
        ("token_address", pa.string()), ("from_address", pa.string()), ("to_address", pa.string()),
        ("value", pa.string()), ("transaction_hash", pa.string()), ("log_index", pa.int64()),
        ("block_number", pa.int64())])) as w:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            idx = np.arange(start, start + n)
            values = np.minimum(rng.pareto(1.2, n) * 1e18, 1.8e19)
            w.write_table(pa.table({
                "token_address": tokens.take(pa.array(rng.integers(0, len(tokens), n))),
                "from_address": addresses.take(pa.array(rng.integers(0, len(addresses), n))),
                "to_address": addresses.take(pa.array(rng.integers(0, len(addresses), n))),
                "value": pa.array(values.astype(np.uint64).astype(str)),
                "transaction_hash": pa.array(np.char.add("0x", np.char.zfill(np.char.mod("%x", idx // 2), 64))),
                "log_index": idx % 2,
                "block_number": numbers[idx // per_block],
            }))


def naive_load(csv_path: Path, sample: int) -> float:
    """Rows/s of a straightforward loader: pandas read, then one INSERT per row."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t (token VARCHAR, f VARCHAR, t VARCHAR, v HUGEINT, h VARCHAR, li INTEGER, b BIGINT)")
    df = pd.read_csv(csv_path, nrows=sample, dtype=str)
    t0 = time.perf_counter()
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [[r.token_address, r.from_address, r.to_address, int(r.value), r.transaction_hash,
                      int(r.log_index), int(r.block_number)] for r in df.itertuples()])
    return sample / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--naive-rows", type=int, default=20_000)
    ap.add_argument("--keep", type=Path, help="keep the generated folder here")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cs-bench-ingest-"))
    folder = args.keep or tmp / "etl"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        generate(folder, args.rows)
        gen_s = time.perf_counter() - t0
        con = store.connect(tmp / "bench.duckdb")
        t0 = time.perf_counter()
        stats = load_etl(con, folder, "ethereum")
        load_s = time.perf_counter() - t0
        ours = args.rows / load_s
        naive = naive_load(folder / "token_transfers.csv", args.naive_rows)
        result = {"rows": args.rows, "generate_s": round(gen_s, 2), "load_s": round(load_s, 2),
                  "chainsleuth_rows_per_s": round(ours), "naive_row_insert_rows_per_s": round(naive),
                  "speedup": round(ours / naive, 1), "added": stats.added, "goal_rows_per_s": 2_000_000}
        print(f"{'loader':<34}{'rows/s':>14}")
        print(f"{'chainsleuth load_etl':<34}{ours:>14,.0f}")
        print(f"{'naive pandas + row INSERT':<34}{naive:>14,.0f}")
        print(f"speed-up {ours / naive:,.1f}x; {args.rows:,} rows loaded in {load_s:.1f} s (generated in {gen_s:.1f} s)")
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "ingest.json").write_text(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
