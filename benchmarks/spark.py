"""Spark engine vs DuckDB engine: clustering, bulk tracing and exposure on simulated worlds of several sizes.

    .venv/bin/python benchmarks/spark.py                       # 50000, small, medium (as the docs report)
    .venv/bin/python benchmarks/spark.py --sizes small,large --jobs cluster,evm,trace

For each size: generate the world (``chainsleuth simulate``, seed 7), load it with the DuckDB engine, export
the ledger to the Parquet lake, then time on the same machine and data:

* clustering of the bitcoin chain: ``cluster_utxo`` (DuckDB + scipy) vs ``spark.engine.cluster`` (Spark SQL
  heuristics + large-star/small-star components), results loaded into the store in both cases;
* (``evm``) clustering of the ethereum chain (deposit-address heuristic): ``cluster_evm`` vs
  ``spark.engine.cluster``;
* (``trace``) bulk forward poison trace of many sources (every incident's ethereum addresses and 200
  unlabelled senders, 8 hops, bridges not followed): ``trace.trace`` vs ``spark.engine.trace``;
* (``exposure``) exposure of every receiving address (3 hops, haircut): ``screen.screen`` vs
  ``spark.engine.screen_all``.

Both engines' outputs are compared (equal partitions and deposit addresses; equal exits and exact totals;
equal risk levels and shares within 1e-9) and the figures go side by side to stdout and to
``benchmarks/results/spark.json``. Spark runs ``local[2]`` (or
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
JOBS = ("cluster", "evm", "trace", "exposure")
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


def same_trace(a, b) -> bool:
    da, db = a.to_dict(), b.to_dict()
    keys = ("source", "to_exits", "in_mixers", "in_services", "fees", "returned")
    return (sorted((x["address"], x["asset"], x["amount"]) for x in da["exits"])
            == sorted((x["address"], x["asset"], x["amount"]) for x in db["exits"])
            and [[r[k] for k in keys] for r in da["totals"]["by_asset"]]
            == [[r[k] for k in keys] for r in db["totals"]["by_asset"]])


def trace_sources(con, src: Path, n: int = 200) -> list[str]:
    truth = json.loads((src / "truth.json").read_text())
    attackers = [a["address"] for i in truth["incidents"] for a in i["attacker_addresses"] if a["chain"] == "ethereum"]
    return attackers + [r[0] for r in con.execute(
        "SELECT DISTINCT from_address FROM transfers WHERE chain = 'ethereum' AND from_address IS NOT NULL "
        "AND from_address NOT IN (SELECT address FROM tags) ORDER BY hash(from_address) LIMIT ?", [n]).fetchall()]


def run_size(size: str, work: Path, spark, hops: int, jobs: set[str]) -> dict:
    from chainsleuth import store
    from chainsleuth.cluster import cluster_evm, cluster_utxo
    from chainsleuth.screen import screen
    from chainsleuth.spark import engine, lake
    from chainsleuth.trace import trace

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

    for job, chain, duck in (("cluster", "bitcoin", cluster_utxo), ("evm", "ethereum", cluster_evm)):
        if job not in jobs:
            continue
        t0 = time.perf_counter()
        duck(con, chain)
        row[f"{job}_duckdb_s"] = round(time.perf_counter() - t0, 2)
        q = f"SELECT address, cluster_id FROM clusters WHERE chain = '{chain}'"
        dq = f"SELECT * EXCLUDE (chain) FROM deposit_addresses WHERE chain = '{chain}' ORDER BY address, asset"
        want, want_dep = partition(con.execute(q).fetchall()), con.execute(dq).fetchall()
        t0 = time.perf_counter()
        engine.cluster(con, chain, lake_root=root, spark=spark)
        row[f"{job}_spark_s"] = round(time.perf_counter() - t0, 2)
        row[f"{job}_equal"] = partition(con.execute(q).fetchall()) == want and con.execute(dq).fetchall() == want_dep
        row[f"{job}_clusters"] = len(want)
    if "trace" in jobs:
        sources = trace_sources(con, src)
        t0 = time.perf_counter()
        d = trace(con, sources, "ethereum", model="poison", max_hops=8, follow_bridges=False)
        row["trace_duckdb_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        s = engine.trace(con, sources, "ethereum", max_hops=8, lake_root=root, spark=spark)
        row["trace_spark_s"] = round(time.perf_counter() - t0, 2)
        row["trace_sources"], row["trace_edges"] = len(sources), len(d.edges)
        row["trace_equal"] = same_trace(d, s)

    for chain in ("ethereum", "bitcoin") if "exposure" in jobs else ():
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


def write_results(path: Path, spark, start_s: float, hops: int, jobs: set[str], rows: list[dict]) -> None:
    result = {
        "benchmark": "spark",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "spark": {"version": spark.version, "master": spark.sparkContext.master, "session_start_s": round(start_s, 2)},
        "hops": hops,
        "jobs": sorted(jobs),
        "rows": rows,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="50000,small,medium", help="comma-separated scales or transfer counts")
    p.add_argument("--jobs", default="cluster,evm,trace,exposure", help="comma-separated: " + ",".join(JOBS))
    p.add_argument("--hops", type=int, default=3)
    p.add_argument("--results", default=str(RESULTS), help="JSON output (default benchmarks/results/spark.json)")
    p.add_argument("--workdir", default=None, help="keep worlds here between runs (default: a temp folder)")
    args = p.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    from chainsleuth.spark.session import get_session

    work = Path(args.workdir or tempfile.mkdtemp(prefix="cs-bench-spark-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    spark = get_session(app_name="chainsleuth-bench", checkpoint_dir=str(work / "checkpoints"))
    start_s = time.perf_counter() - t0
    jobs = {j.strip() for j in args.jobs.split(",") if j.strip()}
    if jobs - set(JOBS):
        p.error(f"unknown job(s) {', '.join(sorted(jobs - set(JOBS)))}: choose from {', '.join(JOBS)}")
    print(f"Spark {spark.version} master {spark.sparkContext.master}; session start {start_s:.1f} s")
    figures = [("cluster", "utxo cluster"), ("evm", "evm cluster"), ("trace", "bulk trace"),
               ("exposure_ethereum", "exposure eth"), ("exposure_bitcoin", "exposure btc")]
    print(f"{'size':>8} {'transfers':>10} {'utxo in':>9} | "
          + " | ".join(f"{name + ' duckdb':>19} {'spark':>8} {'eq':>3}" for _, name in figures))
    rows = []
    for size in args.sizes.split(","):
        r = run_size(size.strip(), work, spark, args.hops, jobs)
        rows.append(r)
        cells = []
        for key, _ in figures:
            if f"{key}_duckdb_s" in r:
                cells.append(f"{r[key + '_duckdb_s']:>17.2f} s {r[key + '_spark_s']:>6.2f} s "
                             f"{'yes' if r[key + '_equal'] else 'NO':>3}")
            else:
                cells.append(f"{'-':>19} {'-':>8} {'':>3}")
        print(f"{r['size']:>8} {r['rows']['transfers']:>10} {r['rows']['utxo_inputs']:>9} | " + " | ".join(cells),
              flush=True)
        write_results(Path(args.results), spark, start_s, args.hops, jobs, rows)  # after every size: a long run keeps what it has
    print(f"wrote {args.results}")
    spark.stop()
    return 0 if all(v for r in rows for k, v in r.items() if k.endswith("_equal")) else 1


if __name__ == "__main__":
    raise SystemExit(main())
