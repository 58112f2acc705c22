"""Benchmark: forward haircut trace of the lazarus-like incident (thousands of victims, 10 hops) on the
simulated ``large`` world (10 million transfers), against a straightforward NetworkX implementation of the same
model on the same data, measured in the same run.

    .venv/bin/python benchmarks/trace.py [--scale large] [--workdir /tmp/chainsleuth-bench] [--rebuild-index]

Creates the world and its database once (simulate + ingest + prices + tags; cached in the work folder), builds
the trace indexes (reported separately: they are derived once per load; ~0 s when the cached database already
has them), then times our trace on Ethereum alone and with the bridge continuation into Bitcoin (best of 3 each)
and the baseline, and writes benchmarks/results/trace.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict, deque
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from chainsleuth import store  # noqa: E402
from chainsleuth.trace import trace  # noqa: E402
from chainsleuth.trace.index import ensure_index  # noqa: E402
from chainsleuth.trace.utxo_index import ensure_utxo_index  # noqa: E402

CLI = str(Path(sys.executable).parent / "chainsleuth")
HOPS = 10
EXIT_CATEGORIES = ("exchange", "hot_wallet", "deposit", "otc", "sanctioned", "mixer", "dex", "bridge", "defi")


def prepare(workdir: Path, scale: str, seed: int) -> tuple[Path, dict]:
    world = workdir / f"world-{scale}-{seed}"
    db = workdir / f"{scale}-{seed}.duckdb"
    if not (world / "truth.json").exists():
        subprocess.run([CLI, "simulate", str(world), "--seed", str(seed), "--scale", scale], check=True)
    if not db.exists():
        env = {**os.environ, "CHAINSLEUTH_DB": str(db)}
        for args in (["ingest", "etl", str(world / "ethereum"), "--chain", "ethereum"],
                     ["ingest", "etl", str(world / "bitcoin"), "--chain", "bitcoin"],
                     ["prices", "import", str(world / "prices.csv")],
                     ["tags", "import", str(world / "tags.yaml")]):
            subprocess.run([CLI, *args], check=True, env=env, stdout=subprocess.DEVNULL)
    truth = json.loads((world / "truth.json").read_text())
    inc = next(i for i in truth["incidents"] if i["profile"] == "lazarus-like")
    return db, inc


def networkx_haircut(con, sources: list[str], start_block: int, stops: set[str]) -> tuple[dict, float, float]:
    """The straightforward version: load the ledger after the theft into a NetworkX MultiDiGraph, find the
    addresses reachable within 10 time-respecting hops, then replay their transfers in time order with a
    per-address haircut state in Python dicts. Returns (tainted ETH per exit address, build s, trace s)."""
    import networkx as nx

    t0 = time.perf_counter()
    rows = con.execute(
        """SELECT from_address, to_address, asset, amount::DOUBLE, block_number, tx_index, seq FROM transfers
           WHERE chain = 'ethereum' AND block_number >= ? AND amount > 0 AND from_address IS NOT NULL
             AND to_address IS NOT NULL AND from_address <> to_address""", [start_block]).fetchall()
    g = nx.MultiDiGraph()
    for f, t, asset, amount, b, ti, sq in rows:
        g.add_edge(f, t, asset=asset, amount=amount, key=(b, ti, sq))
    del rows
    t_build = time.perf_counter() - t0
    t1 = time.perf_counter()
    reach = {s: (start_block, 0, 0) for s in sources}
    frontier = deque(sources)
    depth = dict.fromkeys(sources, 0)
    while frontier:
        u = frontier.popleft()
        if depth[u] >= HOPS or u in stops:
            continue
        for _, v, k in g.out_edges(u, keys=True):
            if k >= reach[u] and (v not in reach or k < reach[v]):
                reach[v] = k
                if v not in depth:
                    depth[v] = depth[u] + 1
                    frontier.append(v)
    events = []
    for u in reach:
        if u in stops:
            continue
        for _, v, k, d in g.out_edges(u, keys=True, data=True):
            if k >= reach[u]:
                events.append((k, u, v, d["asset"], d["amount"]))
        for w, _, k, d in g.in_edges(u, keys=True, data=True):
            if k >= reach[u] and (w not in reach or w in stops):
                events.append((k, w, u, d["asset"], d["amount"]))
    events.sort(key=lambda e: e[0])
    bal: dict = defaultdict(float)
    taint: dict = defaultdict(float)
    src = set(sources)
    exits: dict = defaultdict(float)
    for _k, f, t, asset, amount in events:
        fk, tk = (f, asset), (t, asset)
        if f in src:
            moved = amount
        elif bal[fk] > 0:
            moved = amount * min(taint[fk] / bal[fk], 1.0)
        else:
            moved = 0.0
        bal[fk] = max(bal[fk] - amount, 0.0)
        taint[fk] = max(taint[fk] - moved, 0.0)
        bal[tk] += amount
        taint[tk] += moved
        if t in stops and asset == "ETH":
            exits[t] += moved
    return dict(exits), t_build, time.perf_counter() - t1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="large")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "chainsleuth-bench"))
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--rebuild-index", action="store_true", help="time a full build of both trace indexes")
    a = ap.parse_args()
    work = Path(a.workdir)
    work.mkdir(parents=True, exist_ok=True)
    db, inc = prepare(work, a.scale, a.seed)
    sources = [x["address"] for x in inc["attacker_addresses"] if x["role"] == "drain"]
    con = store.connect(db)
    n_transfers = con.execute("SELECT count(*) FROM transfers").fetchone()[0]
    t = time.perf_counter()
    ensure_index(con, "ethereum", force=a.rebuild_index)
    ensure_index(con, "ethereum")
    t_index = time.perf_counter() - t
    t = time.perf_counter()
    ensure_utxo_index(con, "bitcoin", force=a.rebuild_index)
    t_utxo_index = time.perf_counter() - t
    runs, runs_full = [], []
    for _ in range(3):  # interleaved, so both see the same machine load
        t = time.perf_counter()
        r = trace(con, sources, "ethereum", model="haircut", max_hops=HOPS, follow_bridges=False)
        runs.append(time.perf_counter() - t)
        t = time.perf_counter()
        full = trace(con, sources, "ethereum", model="haircut", max_hops=HOPS)
        runs_full.append(time.perf_counter() - t)
    tracemalloc.start()  # a separate run: tracing allocations slows Python down, so it is not timed
    trace(con, sources, "ethereum", model="haircut", max_hops=HOPS, follow_bridges=False)
    _, py_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    btc_exits = sum(x.amount for x in full.exits if x.chain == "bitcoin")
    btc_resting = sum(x.amount for x in full.resting if x.chain == "bitcoin")
    rss_ours = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ours = {x.address: x.amount / 1e18 for x in r.exits if x.asset == "ETH"}
    res = {
        "benchmark": "trace",
        "scale": a.scale,
        "transfers": n_transfers,
        "incident": inc["id"],
        "victims": len(inc["victims"]),
        "sources": len(sources),
        "hops": HOPS,
        "index_build_s": round(t_index, 3),
        "utxo_index_build_s": round(t_utxo_index, 3),
        "ours_trace_s_best": round(min(runs), 3),
        "ours_trace_s_runs": [round(x, 3) for x in runs],
        "ours_with_bridge_to_bitcoin_s": round(min(runs_full), 3),
        "ours_with_bridge_to_bitcoin_s_runs": [round(x, 3) for x in runs_full],
        "ours_btc_at_exits_after_bridge": btc_exits,
        "ours_btc_resting_after_bridge": btc_resting,
        "ours_btc_at_ends_after_bridge": btc_exits + btc_resting,  # satoshi; the stolen BTC rests unlabelled
        "ours_edges": len(r.edges),
        "ours_python_peak_mb": round(py_peak / 2**20, 1),
        "ours_process_peak_rss_mb": round(rss_ours, 1),
        "cpu_count": os.cpu_count(),
    }
    if not a.skip_baseline:
        stops = {row[0] for row in con.execute(
            "SELECT address FROM tags WHERE category IN (SELECT unnest(?::VARCHAR[]))", [list(EXIT_CATEGORIES)]
        ).fetchall()}
        start = con.execute("SELECT min(block_number) FROM transfers WHERE chain = 'ethereum' AND to_address IN "
                            "(SELECT unnest(?::VARCHAR[]))", [sources]).fetchone()[0]
        base, t_build, t_trace = networkx_haircut(con, sources, start, stops)
        rss_all = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        common = set(base) & set(ours)
        res.update({
            "baseline": "networkx MultiDiGraph + Python dict haircut sweep",
            "baseline_build_s": round(t_build, 3),
            "baseline_trace_s": round(t_trace, 3),
            "baseline_total_s": round(t_build + t_trace, 3),
            "ratio_total": round((t_build + t_trace) / min(runs), 1),
            "ratio_trace_only": round(t_trace / min(runs), 1),
            "baseline_process_peak_rss_mb": round(rss_all, 1),
            "exit_eth_ours": round(sum(ours.values()), 6),
            "exit_eth_baseline_tagged_exits": round(sum(base.values()) / 1e18, 6),  # wei -> ETH, like ours
            "exits_in_common": len(common),
        })
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "trace.json").write_text(json.dumps(res, indent=2))
    print(f"{'':34}{'ours':>12}{'networkx':>14}")
    print(f"{'trace (s)':34}{res['ours_trace_s_best']:>12}{res.get('baseline_trace_s', '-'):>14}")
    print(f"{'trace incl. graph build (s)':34}{res['ours_trace_s_best']:>12}{res.get('baseline_total_s', '-'):>14}")
    print(f"{'trace + bridge into bitcoin (s)':34}{res['ours_with_bridge_to_bitcoin_s']:>12}{'-':>14}")
    print(f"{'BTC at exits + resting (BTC)':34}{res['ours_btc_at_ends_after_bridge'] / 1e8:>12.4f}{'-':>14}")
    print(f"{'peak RSS (MB)':34}{res['ours_process_peak_rss_mb']:>12}{res.get('baseline_process_peak_rss_mb', '-'):>14}")
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
