"""Ingest throughput: ethereum-etl token_transfers/transactions/blocks into DuckDB, rows per second.

Generates (vectorised numpy + pyarrow) an ethereum-etl export folder with ``--rows`` transfer rows (default
10 million), loads it with ``chainsleuth.ingest.etl.load_etl`` and, in the same run, prints beside it:

* the floor DuckDB itself sets on this machine: ``read_csv`` + one ``INSERT`` into the same ``transfers`` table
  of a fresh store, with none of the loader's work (no validation, lower-casing, block-time lookup or
  de-duplication), and ``read_csv`` alone (parsing, nothing stored);
* a naive loader (pandas ``read_csv`` + per-row ``INSERT`` via ``executemany``) on a sample.

Wall and process CPU seconds are both printed: on a shared machine the CPU seconds show the work done even when
other jobs take the cores. Each load runs ``--repeat`` times on a fresh database (best wall time kept).
Writes ``benchmarks/results/ingest.json``. Goal: >= 2 million rows/s on a 2-core machine.

    python benchmarks/ingest.py [--rows 10000000] [--naive-rows 20000] [--repeat 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
from chainsleuth.ingest.staging import header_of

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


def cpu_seconds() -> float:
    """CPU time of this process, all threads (DuckDB's workers included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(fn) -> tuple[float, float]:
    """(wall s, cpu s) of one call."""
    w0, c0 = time.perf_counter(), cpu_seconds()
    fn()
    return time.perf_counter() - w0, cpu_seconds() - c0


def fresh_store(path: Path) -> duckdb.DuckDBPyConnection:
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    return store.connect(path)


def raw_reader(csv_path: Path) -> str:
    cols = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in header_of(csv_path)) + "}"
    return f"read_csv('{csv_path}', header=true, columns={cols}, auto_detect=false, nullstr='')"


def raw_insert(con: duckdb.DuckDBPyConnection, csv_path: Path) -> None:
    """DuckDB's floor for this table: the file straight into ``transfers``, casts only, one transaction."""
    with store.transaction(con):
        con.execute(
            "INSERT INTO transfers SELECT 'ethereum', block_number::BIGINT, TIMESTAMP '2022-05-15', transaction_hash, -1, "
            "'token', log_index, 100000 + log_index::INTEGER, from_address, to_address, token_address, "
            f"TRY_CAST(value AS HUGEINT), NULL FROM {raw_reader(csv_path)}"
        )


def raw_parse(con: duckdb.DuckDBPyConnection, csv_path: Path) -> None:
    """Parsing alone: every column read, nothing stored."""
    counts = ", ".join(f"count({c})" for c in header_of(csv_path))
    con.execute(f"SELECT {counts} FROM {raw_reader(csv_path)}").fetchall()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--naive-rows", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=1, help="loads per loader, each on a fresh database; best wall kept")
    ap.add_argument("--keep", type=Path, help="keep the generated folder here (reused when it already holds --rows rows)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cs-bench-ingest-"))
    folder = args.keep or tmp / "etl"
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / "token_transfers.csv"
    try:
        gen_s = 0.0
        marker = folder / f".rows-{args.rows}"
        if not marker.exists():
            for old in folder.glob(".rows-*"):
                old.unlink()
            t0 = time.perf_counter()
            generate(folder, args.rows)
            gen_s = time.perf_counter() - t0
            marker.touch()
        runs: dict[str, list[tuple[float, float]]] = {"ours": [], "raw_insert": [], "raw_parse": []}
        stats = None
        for _ in range(max(1, args.repeat)):
            con = fresh_store(tmp / "ours.duckdb")

            def ours(con: duckdb.DuckDBPyConnection = con) -> None:
                nonlocal stats
                stats = load_etl(con, folder, "ethereum")

            runs["ours"].append(timed(ours))
            con.close()
            con = fresh_store(tmp / "raw.duckdb")
            runs["raw_insert"].append(timed(lambda con=con: raw_insert(con, csv_path)))
            runs["raw_parse"].append(timed(lambda con=con: raw_parse(con, csv_path)))
            con.close()
        best = {k: min(v) for k, v in runs.items()}
        rate = {k: args.rows / w for k, (w, _) in best.items()}
        naive = naive_load(csv_path, args.naive_rows)
        print(f"{'loader (' + format(args.rows, ',') + ' token transfers)':<50}{'rows/s':>12}{'wall s':>9}{'cpu s':>8}")
        labels = {"ours": "chainsleuth load_etl",
                  "raw_insert": "DuckDB read_csv + INSERT, no checks (floor)",
                  "raw_parse": "DuckDB read_csv only, nothing stored"}
        for key, label in labels.items():
            wall, cpu = best[key]
            print(f"{label:<50}{rate[key]:>12,.0f}{wall:>9.2f}{cpu:>8.2f}")
        print(f"{'naive pandas + row INSERT (' + format(args.naive_rows, ',') + ' rows)':<50}{naive:>12,.0f}")
        print(f"speed-up over naive {rate['ours'] / naive:,.1f}x; {rate['ours'] / rate['raw_insert']:.0%} of the DuckDB floor; "
              f"goal 2,000,000 rows/s on {os.cpu_count()} cores ({f'generated in {gen_s:.1f} s' if gen_s else 'reused ' + str(folder)})")
        result = {"rows": args.rows, "repeat": max(1, args.repeat), "cores": os.cpu_count(), "generate_s": round(gen_s, 2),
                  "load_s": round(best["ours"][0], 2), "load_cpu_s": round(best["ours"][1], 2),
                  "chainsleuth_rows_per_s": round(rate["ours"]),
                  "duckdb_floor_rows_per_s": round(rate["raw_insert"]), "duckdb_floor_cpu_s": round(best["raw_insert"][1], 2),
                  "duckdb_parse_only_rows_per_s": round(rate["raw_parse"]), "duckdb_parse_only_cpu_s": round(best["raw_parse"][1], 2),
                  "naive_row_insert_rows_per_s": round(naive), "speedup": round(rate["ours"] / naive, 1),
                  "runs": {k: [[round(w, 3), round(c, 3)] for w, c in v] for k, v in runs.items()},
                  "added": stats.added if stats else {}, "goal_rows_per_s": 2_000_000}
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "ingest.json").write_text(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
