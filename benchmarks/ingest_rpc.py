"""Benchmark: live EVM ingestion from a local node, ours vs ethereum-etl on the same block range.

    .venv/bin/python benchmarks/ingest_rpc.py [--blocks 300] [--txs 100]

Starts anvil (``.tools``; run ``bash scripts/setup-node-tools.sh .venv`` first), mines ``--blocks`` blocks of
``--txs`` transactions (60% native transfers, 30% ERC-20 transfers, 10% calls forwarding ETH internally),
then measures on that range, in this one run:

* ``chainsleuth``: ``ingest_evm`` into a fresh DuckDB file (blocks, transactions with receipts, token and
  internal transfers, token metadata) -- blocks/s;
* ``ethereum-etl`` (baseline): ``export_blocks_and_transactions`` + ``export_receipts_and_logs`` +
  ``export_token_transfers`` + ``export_traces`` to CSV (no database load) -- blocks/s;
* ``node ceiling``: the time anvil alone takes to serve the JSON-RPC calls chainsleuth makes (headers, block
  receipts, trace_block; one sequential client, no processing), the upper bound for any client on this node.

Writes ``benchmarks/results/ingest_rpc.json``. The goal stated in the issue is >= 500 blocks/s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from chainsleuth import store  # noqa: E402
from chainsleuth.ingest.evm_rpc import ingest_evm  # noqa: E402
from node.anvil import Anvil  # noqa: E402
from node.bench_chain import build_bench_chain  # noqa: E402
from node.tools import ETHEREUMETL  # noqa: E402

GOAL = 500.0


def node_ceiling(url: str, first: int, last: int, batch: int = 50) -> float:
    """Seconds anvil needs to answer chainsleuth's calls for the range (sequential, bodies discarded)."""
    http = httpx.Client(timeout=600, trust_env=False)
    t0 = time.perf_counter()
    for lo in range(first, last + 1, batch):
        nums = range(lo, min(last, lo + batch - 1) + 1)
        for method, params in (("eth_getBlockByNumber", lambda n: [hex(n), False]),
                               ("eth_getBlockReceipts", lambda n: [hex(n)]), ("trace_block", lambda n: [hex(n)])):
            http.post(url, json=[{"jsonrpc": "2.0", "id": n, "method": method, "params": params(n)} for n in nums])
    http.close()
    return time.perf_counter() - t0


def run_ethereum_etl(url: str, first: int, last: int, out: Path) -> float:
    etl = str(ETHEREUMETL)
    rng = ["-s", str(first), "-e", str(last), "-p", url, "-b", "50", "-w", "4"]
    steps = [
        ["export_blocks_and_transactions", *rng, "--blocks-output", f"{out}/blocks.csv",
         "--transactions-output", f"{out}/transactions.csv"],
        ["extract_csv_column", "-i", f"{out}/transactions.csv", "-c", "hash", "-o", f"{out}/tx_hashes.txt"],
        ["export_receipts_and_logs", "--transaction-hashes", f"{out}/tx_hashes.txt", "-p", url, "-b", "100",
         "-w", "4", "--receipts-output", f"{out}/receipts.csv"],
        ["export_token_transfers", *rng, "-o", f"{out}/token_transfers.csv"],
        ["export_traces", *rng, "-o", f"{out}/traces.csv"],
    ]
    t0 = time.perf_counter()
    for step in steps:
        proc = subprocess.run([etl, *step], capture_output=True, text=True)
        if proc.returncode:
            raise SystemExit(f"ethereumetl {step[0]} failed: {proc.stderr[-2000:]}")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--blocks", type=int, default=300)
    ap.add_argument("--txs", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=25)
    ap.add_argument("--workers", type=int, default=4)
    args = ap.parse_args()
    if not ETHEREUMETL.exists():
        raise SystemExit("ethereum-etl missing: run `bash scripts/setup-node-tools.sh .venv`")

    with Anvil() as node, tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        first, last = build_bench_chain(node, args.blocks, args.txs)
        build_s = time.perf_counter() - t0
        n = last - first + 1
        ceiling_s = node_ceiling(node.url, first, last)

        con = store.connect(Path(tmp) / "bench.duckdb")
        t0 = time.perf_counter()
        stats = ingest_evm(con, node.url, "ethereum", from_block=first, to_block=last, batch_size=args.batch_size,
                           workers=args.workers)
        ours_s = time.perf_counter() - t0
        rows = dict(stats.rows)
        con.close()

        out = Path(tmp) / "etl"
        out.mkdir()
        etl_s = run_ethereum_etl(node.url, first, last, out)
        etl_rows = {f.stem: sum(1 for _ in f.open()) - 1 for f in out.glob("*.csv")}

    ours, etl, ceil = n / ours_s, n / etl_s, n / ceiling_s
    result = {
        "benchmark": "ingest_rpc",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "node": "anvil 1.7.1 (local)"},
        "range": {"blocks": n, "txs_per_block": args.txs, "first": first, "last": last},
        "chain_build_seconds": round(build_s, 1),
        "chainsleuth": {"seconds": round(ours_s, 2), "blocks_per_second": round(ours, 1), "rows": rows,
                        "batch_size": args.batch_size, "workers": args.workers, "notes": stats.notes},
        "ethereum_etl": {"seconds": round(etl_s, 2), "blocks_per_second": round(etl, 1), "rows": etl_rows,
                         "steps": "export_blocks_and_transactions + export_receipts_and_logs + "
                                  "export_token_transfers + export_traces (CSV only)"},
        "node_ceiling": {"seconds": round(ceiling_s, 2), "blocks_per_second": round(ceil, 1)},
        "speedup_vs_ethereum_etl": round(ours / etl, 2),
        "goal_blocks_per_second": GOAL,
        "goal_met": ours >= GOAL,
    }
    print(f"{n} blocks x {args.txs} txs from a local anvil ({os.cpu_count()} CPUs)")
    print(f"{'':24}{'seconds':>10}{'blocks/s':>12}")
    print(f"{'chainsleuth (DuckDB)':24}{ours_s:10.2f}{ours:12.1f}")
    print(f"{'ethereum-etl (CSV)':24}{etl_s:10.2f}{etl:12.1f}")
    print(f"{'anvil serving alone':24}{ceiling_s:10.2f}{ceil:12.1f}")
    print(f"speed-up vs ethereum-etl: {ours / etl:.2f}x; goal {GOAL:.0f} blocks/s met: {ours >= GOAL}")
    dest = ROOT / "benchmarks" / "results" / "ingest_rpc.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {dest.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
