"""Spark engine vs DuckDB engine: clustering, bulk tracing and exposure on simulated worlds of several sizes.

    .venv/bin/python benchmarks/spark.py                       # 50000, small, medium (as the docs report)
    .venv/bin/python benchmarks/spark.py --sizes large --jobs cluster,evm,trace \
        --world large=/tmp/worlds/large --workdir /tmp/spark-bench     # reuse a generated world, keep the store

For each size: generate the world (``chainsleuth simulate``, seed 7), load it with the DuckDB engine, export
the ledger to the Parquet lake, then time on the same machine and data:

* clustering of the bitcoin chain: ``cluster_utxo`` (DuckDB + scipy) vs ``spark.engine.cluster`` (Spark SQL
  heuristics + large-star/small-star components), results loaded into the store in both cases;
* (``evm``) clustering of the ethereum chain (deposit-address heuristic): ``cluster_evm`` vs
  ``spark.engine.cluster``;
* (``trace``) bulk forward poison trace of many sources (every incident's ethereum addresses and 200
  unlabelled senders, 8 hops, bridges not followed): ``trace.trace`` vs ``spark.engine.trace``;
* (``haircut``) the same trace under the haircut model (Spark reach, driver-side sweep);
* (``exposure``) exposure of every receiving address (3 hops, forward haircut; the incidents' attacker
  addresses and 200 unlabelled payers per chain are tagged as hackers first, besides the world's mixers):
  ``screen.screen_chain`` vs
  ``spark.engine.screen_all``, each from the store to the per-address results.

Both engines' outputs are compared (equal partitions and deposit addresses; equal exits and exact totals,
haircut amounts within a relative 1e-12;
equal risk levels and shares within 1e-9) and the figures go side by side to stdout and to
``benchmarks/results/spark.json``. Spark runs ``local[2]`` (or
``$CHAINSLEUTH_SPARK_MASTER``) with a capped driver (``--driver-memory``); DuckDB uses its default thread
count and a capped ``memory_limit`` (``--duckdb-memory``) on the same machine. Each job records the load
average around it (the machine may be shared). Results are *merged* into the JSON by size and figure, so a
run of one size or one job keeps the other rows; with ``--workdir`` the loaded store and lake of a size are
kept and reused by the next run (``--reload`` forces a fresh load).
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
JOBS = ("cluster", "evm", "trace", "haircut", "exposure")
RESULTS = ROOT / "benchmarks" / "results" / "spark.json"


def world(size: str, work: Path, given: dict[str, Path]) -> Path:
    from chainsleuth.simulate import simulate

    out = given.get(size) or work / f"world-{size}"
    if not (out / "truth.json").exists():
        scale: str | int = int(size) if size.isdigit() else size
        simulate(out, seed=7, scale=scale)
    return out


def connect(db: Path, memory: str):
    from chainsleuth import store

    con = store.connect(db)
    con.execute(f"SET memory_limit = '{memory}'")
    return con


COUNTS = ("SELECT 'transfers', count(*) FROM transfers UNION ALL SELECT 'utxo_outputs', count(*) FROM utxo_outputs "
          "UNION ALL SELECT 'utxo_inputs', count(*) FROM utxo_inputs")


def load_duckdb(src: Path, db: Path, memory: str) -> tuple[float, dict]:
    from chainsleuth.ingest.etl import load_etl
    from chainsleuth.ingest.prices import load_prices
    from chainsleuth.labels.importer import import_file

    t0 = time.perf_counter()
    con = connect(db, memory)
    load_etl(con, src / "ethereum", "ethereum")
    load_etl(con, src / "bitcoin", "bitcoin")
    load_prices(con, src / "prices.csv")
    import_file(con, src / "tags.yaml")
    counts = dict(con.execute(COUNTS).fetchall())
    con.close()
    return time.perf_counter() - t0, counts


def snapshot(con, chain: str) -> None:
    """Keep the DuckDB engine's clusters and deposit addresses of ``chain`` in temp tables (not in Python)."""
    con.execute("CREATE OR REPLACE TEMP TABLE _want_clusters AS SELECT address, cluster_id FROM clusters "
                "WHERE chain = ?", [chain])
    con.execute("CREATE OR REPLACE TEMP TABLE _want_deposits AS SELECT * EXCLUDE (chain) FROM deposit_addresses "
                "WHERE chain = ?", [chain])


def same_as_snapshot(con, chain: str) -> tuple[bool, int]:
    """Same partition of addresses (cluster ids may differ: a bijection between them) and same deposit rows."""
    n_pairs, n_want, n_got, unmatched, n = con.execute("""
        SELECT count(DISTINCT (w.cluster_id, g.cluster_id)), count(DISTINCT w.cluster_id),
               count(DISTINCT g.cluster_id), count_if(w.address IS NULL OR g.address IS NULL), count(*)
        FROM _want_clusters w FULL JOIN (SELECT address, cluster_id FROM clusters WHERE chain = ?) g USING (address)
        """, [chain]).fetchone()
    deposits_differ = con.execute("""
        SELECT count(*) FROM ((SELECT * FROM _want_deposits EXCEPT ALL
                               SELECT * EXCLUDE (chain) FROM deposit_addresses WHERE chain = $1)
                              UNION ALL (SELECT * EXCLUDE (chain) FROM deposit_addresses WHERE chain = $1
                                         EXCEPT ALL SELECT * FROM _want_deposits))""", [chain]).fetchone()[0]
    return unmatched == 0 and n_pairs == n_want == n_got and deposits_differ == 0, n_want


def same_screen(a, b) -> bool:
    for x, y in zip(a, b, strict=True):
        dx, dy = x.to_dict(), y.to_dict()
        if dx["risk"]["level"] != dy["risk"]["level"]:
            return False
        for kind, e in dx["exposure"].items():
            if not all(math.isclose(v, dy["exposure"][kind][k], rel_tol=1e-9, abs_tol=1e-15) for k, v in e.items()):
                return False
    return True


def same_trace(a, b, rel: float = 0.0) -> bool:
    """Same exits (address, asset, amount) and totals; amounts equal, or within ``rel`` (float sweeps)."""
    da, db = a.to_dict(), b.to_dict()
    keys = ("source", "to_exits", "in_mixers", "in_services", "fees", "returned")

    def close(x: str, y: str) -> bool:
        return abs(int(x) - int(y)) <= max(rel * abs(int(x)), 1 if rel else 0)

    ea = sorted((x["address"], x["asset"], x["amount"]) for x in da["exits"])
    eb = sorted((x["address"], x["asset"], x["amount"]) for x in db["exits"])
    ta, tb = da["totals"]["by_asset"], db["totals"]["by_asset"]
    return (len(ea) == len(eb) and all(x[:2] == y[:2] and close(x[2], y[2]) for x, y in zip(ea, eb, strict=False))
            and [r["asset"] for r in ta] == [r["asset"] for r in tb]
            and all(close(x[k], y[k]) for x, y in zip(ta, tb, strict=False) for k in keys))


def trace_sources(con, src: Path, n: int = 200) -> list[str]:
    truth = json.loads((src / "truth.json").read_text())
    attackers = [a["address"] for i in truth["incidents"] for a in i["attacker_addresses"] if a["chain"] == "ethereum"]
    return attackers + [r[0] for r in con.execute(
        "SELECT DISTINCT from_address FROM transfers WHERE chain = 'ethereum' AND from_address IS NOT NULL "
        "AND from_address NOT IN (SELECT address FROM tags) ORDER BY hash(from_address) LIMIT ?", [n]).fetchall()]


def label_sources(con, src: Path, n: int = 200) -> None:
    """Tag the simulated incidents' attacker addresses as hackers (as an investigation would) and, per chain,
    ``n`` unlabelled paying addresses (chosen by hash, as the trace job's extra sources), so the exposure job
    has many risky sources besides the world's mixers on both chains; idempotent."""
    truth = json.loads((src / "truth.json").read_text())
    rows = [(a["chain"], a["address"], "attacker " + i["id"]) for i in truth["incidents"]
            for a in i["attacker_addresses"]]
    for chain, payers in (("ethereum", "SELECT from_address FROM transfers WHERE chain = 'ethereum'"),
                          ("bitcoin", "SELECT address FROM utxo_inputs WHERE chain = 'bitcoin'")):
        rows += [(chain, r[0], "benchmark source") for r in con.execute(
            f"SELECT DISTINCT p.* FROM ({payers}) p(address) WHERE address IS NOT NULL AND address NOT IN "
            f"(SELECT address FROM tags WHERE chain = ?) ORDER BY hash(address) LIMIT ?", [chain, n]).fetchall()]
    con.executemany(
        "INSERT INTO tags (chain, address, label, category, source, added_by) SELECT ?, ?, ?, 'hacker', "
        "'benchmark', 'benchmarks/spark.py' WHERE NOT EXISTS (SELECT 1 FROM tags WHERE chain = ? AND address = ? "
        "AND category = 'hacker')", [(c, a, lab, c, a) for c, a, lab in rows])


def timed(row: dict, key: str, fn):
    """Run ``fn``, put its wall time under ``key`` and the 1-minute load average around it under ``key_load``."""
    before = os.getloadavg()[0]
    t0 = time.perf_counter()
    out = fn()
    row[key] = round(time.perf_counter() - t0, 2)
    row[key.removesuffix("_s") + "_load"] = [round(before, 1), round(os.getloadavg()[0], 1)]
    return out


def prepare(size: str, work: Path, given: dict[str, Path], memory: str, reload: bool, save) -> tuple[Path, Path, str]:
    """The size's world, DuckDB store and lake; a store and lake left by an earlier run in ``work`` are reused."""
    from chainsleuth.spark import lake

    src = world(size, work, given)
    db, root = work / f"bench-{size}.duckdb", work / f"lake-{size}"
    done = work / f"bench-{size}.ready.json"
    if done.exists() and db.exists() and root.exists() and not reload:
        return src, db, str(root)
    done.unlink(missing_ok=True)
    db.unlink(missing_ok=True)
    shutil.rmtree(root, ignore_errors=True)
    row: dict = {"size": size}
    _, counts = timed(row, "duckdb_load_s", lambda: load_duckdb(src, db, memory))
    row["rows"] = counts
    con = connect(db, memory)
    timed(row, "lake_export_s", lambda: [lake.export_store(con, str(root), c) for c in ("ethereum", "bitcoin")])
    con.close()
    save(row)
    done.write_text(json.dumps(row) + "\n")
    return src, db, str(root)


def run_size(size: str, work: Path, given: dict[str, Path], spark, hops: int, jobs: set[str], memory: str,
             reload: bool, save) -> dict:
    """Run ``jobs`` on one size; ``save(partial_row)`` is called after every job so a long run keeps its figures."""
    from chainsleuth.cluster import cluster_evm, cluster_utxo
    from chainsleuth.screen import screen_chain
    from chainsleuth.spark import engine
    from chainsleuth.trace import trace

    src, db, root = prepare(size, work, given, memory, reload, save)
    con = connect(db, memory)
    row: dict = {"size": size, "rows": dict(con.execute(COUNTS).fetchall())}

    for job, chain, duck in (("cluster", "bitcoin", cluster_utxo), ("evm", "ethereum", cluster_evm)):
        if job not in jobs:
            continue
        timed(row, f"{job}_duckdb_s", lambda: duck(con, chain))  # noqa: B023 - called at once
        snapshot(con, chain)
        timed(row, f"{job}_spark_s", lambda: engine.cluster(con, chain, lake_root=root, spark=spark))  # noqa: B023
        row[f"{job}_equal"], row[f"{job}_clusters"] = same_as_snapshot(con, chain)
        save(row)
    for job, model in (("trace", "poison"), ("haircut", "haircut")):
        if job not in jobs:
            continue
        sources = trace_sources(con, src)
        d = timed(row, f"{job}_duckdb_s",
                  lambda: trace(con, sources, "ethereum", model=model, max_hops=8, follow_bridges=False))  # noqa: B023
        s = timed(row, f"{job}_spark_s", lambda: engine.trace(con, sources, "ethereum", model=model,  # noqa: B023
                                                              max_hops=8, lake_root=root, spark=spark))
        row[f"{job}_sources"], row[f"{job}_edges"] = len(sources), len(d.edges)
        row[f"{job}_equal"] = same_trace(d, s, 0.0 if model == "poison" else 1e-12)
        save(row)

    if "exposure" in jobs:
        label_sources(con, src)
    for chain in ("ethereum", "bitcoin") if "exposure" in jobs else ():
        s = timed(row, f"exposure_{chain}_spark_s",
                  lambda: engine.screen_all(con, chain, lake_root=root, spark=spark, hops=hops))  # noqa: B023
        d = timed(row, f"exposure_{chain}_duckdb_s", lambda: screen_chain(con, chain, hops=hops))  # noqa: B023
        row[f"exposure_{chain}_addresses"] = len(d)
        row[f"exposure_{chain}_exposed"] = sum(r.level != "low" for r in d)
        row[f"exposure_{chain}_sources"] = sum(len(r.sources) for r in d)
        row[f"exposure_{chain}_equal"] = same_screen(d, s)
        save(row)
    con.close()
    return row


def merge(path: Path, spark, start_s: float, hops: int, jobs: set[str], row: dict) -> None:
    """Merge ``row`` into the JSON at ``path``: figures of the same size are replaced, other sizes kept."""
    old = json.loads(path.read_text()) if path.exists() else {}
    rows = {r["size"]: r for r in old.get("rows", [])}
    rows[row["size"]] = {**rows.get(row["size"], {}), **row}
    result = {
        "benchmark": "spark",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "spark": {"version": spark.version, "master": spark.sparkContext.master, "session_start_s": round(start_s, 2),
                  "driver_memory": spark.conf.get("spark.driver.memory", None)},
        "hops": hops,
        "jobs": sorted(jobs | set(old.get("jobs", []))),
        "rows": sorted(rows.values(), key=lambda r: r.get("rows", {}).get("transfers", 0)),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="50000,small,medium", help="comma-separated scales or transfer counts")
    p.add_argument("--jobs", default="cluster,evm,trace,exposure", help="comma-separated: " + ",".join(JOBS))
    p.add_argument("--hops", type=int, default=3)
    p.add_argument("--results", default=str(RESULTS), help="JSON output, merged by size (default benchmarks/results/spark.json)")
    p.add_argument("--workdir", default=None, help="keep worlds, stores and lakes here between runs (default: a temp folder)")
    p.add_argument("--world", action="append", default=[], metavar="SIZE=DIR",
                   help="use an already generated world folder for SIZE (seed 7) instead of generating it")
    p.add_argument("--reload", action="store_true", help="reload the store and re-export the lake even if kept")
    p.add_argument("--driver-memory", default="6g", help="Spark driver memory (local mode: the whole Spark heap)")
    p.add_argument("--duckdb-memory", default="6GB", help="DuckDB memory_limit")
    args = p.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    from chainsleuth.spark.session import get_session

    given = {}
    for item in args.world:
        size, sep, folder = item.partition("=")
        if not sep:
            p.error(f"--world expects SIZE=DIR, got {item!r}")
        given[size.strip()] = Path(folder)
    jobs = {j.strip() for j in args.jobs.split(",") if j.strip()}
    if jobs - set(JOBS):
        p.error(f"unknown job(s) {', '.join(sorted(jobs - set(JOBS)))}: choose from {', '.join(JOBS)}")
    work = Path(args.workdir or tempfile.mkdtemp(prefix="cs-bench-spark-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    spark = get_session(app_name="chainsleuth-bench", checkpoint_dir=str(work / "checkpoints"),
                        driver_memory=args.driver_memory)
    start_s = time.perf_counter() - t0
    print(f"Spark {spark.version} master {spark.sparkContext.master}; session start {start_s:.1f} s")
    figures = [("cluster", "utxo cluster"), ("evm", "evm cluster"), ("trace", "bulk trace"), ("haircut", "haircut"),
               ("exposure_ethereum", "exposure eth"), ("exposure_bitcoin", "exposure btc")]
    print(f"{'size':>8} {'transfers':>10} {'utxo in':>9} | "
          + " | ".join(f"{name + ' duckdb':>19} {'spark':>8} {'eq':>3}" for _, name in figures))
    rows = []
    for size in args.sizes.split(","):
        def save(row: dict) -> None:
            merge(Path(args.results), spark, start_s, args.hops, jobs, row)
        r = run_size(size.strip(), work, given, spark, args.hops, jobs, args.duckdb_memory, args.reload, save)
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
    print(f"wrote {args.results} (merged by size)")
    spark.stop()
    return 0 if all(v for r in rows for k, v in r.items() if k.endswith("_equal")) else 1


if __name__ == "__main__":
    raise SystemExit(main())
