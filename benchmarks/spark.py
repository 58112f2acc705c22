"""Spark engine vs DuckDB engine: clustering and exposure of every address on simulated worlds of several sizes.

    .venv/bin/python benchmarks/spark.py                       # small, medium, large (as the docs report)
    .venv/bin/python benchmarks/spark.py --sizes small,300000  # any scales / transfer counts

For each size: generate the world (``chainsleuth simulate``, seed 7), load it with the DuckDB engine, export
the ledger to the Parquet lake, then time on the same machine and data:

* clustering of the bitcoin chain: ``cluster_utxo`` (DuckDB + scipy) vs ``spark.engine.cluster`` (Spark SQL
  heuristics + large-star/small-star components), results loaded into the store in both cases;
* exposure of every receiving address (3 hops, haircut): ``screen.screen`` vs ``spark.engine.screen_all``.

Both engines' outputs are compared (equal partitions; equal risk levels and shares within 1e-9) and the
figures go side by side to stdout and to ``benchmarks/results/spark.json``. Spark runs ``local[2]`` (or
``$CHAINSLEUTH_SPARK_MASTER``); DuckDB uses its default thread count on the same machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "spark.json"


def world(size: str, work: Path) -> tuple[Path, dict]:
    from chainsleuth.simulate import simulate

    out = work / f"world-{size}"
    if not (out / "truth.json").exists():
        scale: str | int = int(size) if size.isdigit() else size
        simulate(out, seed=7, scale=scale)
    return out, json.loads((out / "truth.json").read_text()).get("summary", {})


def load_duckdb(src: Path, db: Path) -> tuple[float, dict]:
    from chainsleuth import store
    from chainsleuth.ingest.etl import load_etl
    from chainsleuth.ingest.prices import load_prices
    from chainsleuth.labels.importer import import_file

    t0 = time.perf_counter()
    con = store.connect(db)
    load_etl(con, src / "ethereum", "ethereum")
    load_etl(con, src / "bitcoin", "bitcoin")
    load_prices(con, src / "prices.csv")
    import_file(con, src / "tags.yaml")
    counts = dict(con.execute("SELECT 'transfers', count(*) FROM transfers UNION ALL SELECT 'utxo_outputs', count(*) "
                              "FROM utxo_outputs UNION ALL SELECT 'utxo_inputs', count(*) FROM utxo_inputs").fetchall())
    con.close()
    return time.perf_counter() - t0, counts


def partition(rows) -> set[frozenset]:
    groups: dict = {}
    for address, cid in rows:
        groups.setdefault(cid, set()).add(address)
    return {frozenset(g) for g in groups.values()}


def same_screen(a, b) -> bool:
    for x, y in zip(a, b, strict=True):
        dx, dy = x.to_dict(), y.to_dict()
        if dx["risk"]["level"] != dy["risk"]["level"]:
            return False
        for kind, e in dx["exposure"].items():
            if not all(math.isclose(v, dy["exposure"][kind][k], rel_tol=1e-9, abs_tol=1e-15) for k, v in e.items()):
                return False
    return True


def run_size(size: str, work: Path, spark, hops: int) -> dict:
    from chainsleuth import store
    from chainsleuth.cluster import cluster_utxo
    from chainsleuth.screen import screen
    from chainsleuth.spark import engine, lake

    src, _ = world(size, work)
    db = work / f"bench-{size}.duckdb"
    if db.exists():
        db.unlink()
    load_s, counts = load_duckdb(src, db)
    con = store.connect(db)
    root = str(work / f"lake-{size}")
    shutil.rmtree(root, ignore_errors=True)
    t0 = time.perf_counter()
    for chain in ("ethereum", "bitcoin"):
        lake.export_store(con, root, chain)
    export_s = time.perf_counter() - t0
    row: dict = {"size": size, "rows": counts, "duckdb_load_s": round(load_s, 2), "lake_export_s": round(export_s, 2)}

    t0 = time.perf_counter()
    cluster_utxo(con, "bitcoin")
    row["cluster_duckdb_s"] = round(time.perf_counter() - t0, 2)
    want = partition(con.execute("SELECT address, cluster_id FROM clusters WHERE chain = 'bitcoin'").fetchall())
    t0 = time.perf_counter()
    engine.cluster(con, "bitcoin", lake_root=root, spark=spark)
    row["cluster_spark_s"] = round(time.perf_counter() - t0, 2)
    got = partition(con.execute("SELECT address, cluster_id FROM clusters WHERE chain = 'bitcoin'").fetchall())
    row["cluster_equal"] = got == want
    row["clusters"] = len(want)

    for chain in ("ethereum", "bitcoin"):
        t0 = time.perf_counter()
        s = engine.screen_all(con, chain, lake_root=root, spark=spark, hops=hops)
        row[f"exposure_{chain}_spark_s"] = round(time.perf_counter() - t0, 2)
        addresses = [r.address for r in s]
        t0 = time.perf_counter()
        d = screen(con, addresses, chain, hops=hops)
        row[f"exposure_{chain}_duckdb_s"] = round(time.perf_counter() - t0, 2)
        row[f"exposure_{chain}_addresses"] = len(addresses)
        row[f"exposure_{chain}_equal"] = same_screen(d, s)
    con.close()
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="small,medium,large", help="comma-separated scales or transfer counts")
    p.add_argument("--hops", type=int, default=3)
    p.add_argument("--workdir", default=None, help="keep worlds here between runs (default: a temp folder)")
    args = p.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    from chainsleuth.spark.session import get_session

    work = Path(args.workdir or tempfile.mkdtemp(prefix="cs-bench-spark-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    spark = get_session(app_name="chainsleuth-bench", checkpoint_dir=str(work / "checkpoints"))
    start_s = time.perf_counter() - t0
    rows = []
    header = (f"{'size':>8} {'transfers':>10} {'utxo in':>9} | {'cluster duckdb':>14} {'spark':>8} {'eq':>3} | "
              f"{'exposure eth duckdb':>19} {'spark':>8} {'eq':>3} | {'exposure btc duckdb':>19} {'spark':>8} {'eq':>3}")
    print(f"Spark {spark.version} master {spark.sparkContext.master}; session start {start_s:.1f} s")
    print(header)
    for size in args.sizes.split(","):
        r = run_size(size.strip(), work, spark, args.hops)
        rows.append(r)
        print(f"{r['size']:>8} {r['rows']['transfers']:>10} {r['rows']['utxo_inputs']:>9} | "
              f"{r['cluster_duckdb_s']:>12.2f} s {r['cluster_spark_s']:>6.2f} s {'yes' if r['cluster_equal'] else 'NO':>3} | "
              f"{r['exposure_ethereum_duckdb_s']:>17.2f} s {r['exposure_ethereum_spark_s']:>6.2f} s "
              f"{'yes' if r['exposure_ethereum_equal'] else 'NO':>3} | "
              f"{r['exposure_bitcoin_duckdb_s']:>17.2f} s {r['exposure_bitcoin_spark_s']:>6.2f} s "
              f"{'yes' if r['exposure_bitcoin_equal'] else 'NO':>3}", flush=True)
    result = {
        "benchmark": "spark",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "spark": {"version": spark.version, "master": spark.sparkContext.master, "session_start_s": round(start_s, 2)},
        "hops": args.hops,
        "rows": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    spark.stop()
    return 0 if all(r["cluster_equal"] and r["exposure_ethereum_equal"] and r["exposure_bitcoin_equal"]
                    for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
