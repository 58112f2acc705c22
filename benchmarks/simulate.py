"""Benchmark: how fast the simulator writes transfers, against a naive per-row ``csv.writer`` loop.

    .venv/bin/python benchmarks/simulate.py [--scale medium] [--seed 7]

Both writers produce the same ethereum-etl ``transactions.csv`` and ``token_transfers.csv`` from the same
finalized ledger (checked byte for byte), measured in the same run; then the whole world (both chains, truth,
tags, owners) is timed end to end. Prints the figures side by side and writes
``benchmarks/results/simulate.json``.
"""

from __future__ import annotations

import argparse
import csv
import filecmp
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from chainsleuth.simulate import simulate
from chainsleuth.simulate.economy import World
from chainsleuth.simulate.evm import GWEI, T0, TOKEN_TRANSFER_COLUMNS, TRANSACTION_COLUMNS, FinalEvm
from chainsleuth.simulate.incidents import plan_incidents
from chainsleuth.simulate.world import TOKENS, Config, parse_scale

RESULTS = Path(__file__).resolve().parent / "results" / "simulate.json"


def build_ledger(transfers: int, seed: int) -> FinalEvm:
    """The EVM chain of a world (background + incidents + sweeps + endowments), finalized, not written."""
    w = World(Config(seed=seed, transfers=transfers))
    w.evm_background()
    w.btc_setup()
    plan_incidents(w)
    w.evm_sweeps()
    w.evm_endow()
    return w.eth.finalize()


def naive_write(fe: FinalEvm, folder: Path) -> int:
    """The per-row way: Python values, one ``writerow`` per transaction and per log."""
    folder.mkdir(parents=True, exist_ok=True)
    led, o = fe.ledger, fe.order
    addr = led.book.strings().to_pylist()
    hashes = fe.hashes.to_pylist()
    cols = {k: led.col("tx", k)[o].tolist() for k in led.TX_COLS}
    block, txi, nonce, price = (
        fe.block.tolist(),
        fe.tx_index.tolist(),
        fe.nonce.tolist(),
        fe.gas_price.tolist(),
    )
    block_hash = {
        b: h for b, h in zip(fe.blocks.tolist(), fe._block_hash(fe.blocks).to_pylist(), strict=True)
    }
    inputs = fe._input(
        {k: np.asarray(v) for k, v in cols.items()}, slice(0, len(o)), led.book.hex40()
    ).to_pylist()
    rows = 0
    with (folder / "transactions.csv").open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(TRANSACTION_COLUMNS)
        cum, last = 0, -1
        for i in range(len(o)):
            if block[i] != last:
                cum, last = 0, block[i]
            cum += cols["gas_used"][i]
            w.writerow(
                [
                    hashes[i],
                    nonce[i],
                    block_hash[block[i]],
                    block[i],
                    txi[i],
                    addr[cols["frm"][i]],
                    addr[cols["to"][i]],
                    cols["vhi"][i] * GWEI + cols["vlo"][i],
                    cols["gas_limit"][i],
                    price[i],
                    inputs[i],
                    T0 + block[i] * 12,
                    (price[i] // GWEI + 1) * GWEI * 2,
                    0,
                    2,
                    cum,
                    cols["gas_used"][i],
                    "",
                    "",
                    cols["status"][i],
                    price[i],
                ]
            )
            rows += 1
    lo_ = fe.log_order
    tx, tok, frm, to, amt = (led.col("logs", k)[lo_].tolist() for k in ("tx", "token", "frm", "to", "amt"))
    token_addr = [addr[led.token_addr[t]] for t in TOKENS]
    pos, log_index = fe.pos.tolist(), fe.log_index.tolist()
    with (folder / "token_transfers.csv").open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(TOKEN_TRANSFER_COLUMNS)
        for i in range(len(tx)):
            p = pos[tx[i]]
            w.writerow(
                [token_addr[tok[i]], addr[frm[i]], addr[to[i]], amt[i], hashes[p], log_index[i], block[p]]
            )
            rows += 1
    return rows


def fast_write(fe: FinalEvm, folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    addr = fe.ledger.book.strings()
    n = fe._write_transactions(folder / "transactions.csv", fe.ledger.book.hex40(), addr)
    return n + fe._write_token_transfers(folder / "token_transfers.csv", addr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", default="medium", help="small | medium | large | number of transfers")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    transfers = parse_scale(args.scale)
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        fe = build_ledger(transfers, args.seed)
        fast_write(fe, tmpd / "warmup")  # first use loads Arrow's compute kernels: not part of the figure
        t0 = time.perf_counter()
        ours_rows = fast_write(fe, tmpd / "fast")
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        naive_rows = naive_write(fe, tmpd / "naive")
        t_naive = time.perf_counter() - t0
        same = all(
            filecmp.cmp(tmpd / "fast" / f, tmpd / "naive" / f, shallow=False)
            for f in ("transactions.csv", "token_transfers.csv")
        )
        del fe
        t0 = time.perf_counter()
        summary = simulate(tmpd / "world", seed=args.seed, scale=transfers)
        t_world = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in (tmpd / "world").rglob("*") if p.is_file())
    world_transfers = summary["transfers"]["total"]
    result = {
        "benchmark": "simulate",
        "scale": args.scale,
        "transfers_requested": transfers,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_avg_1m": os.getloadavg()[0],
        },
        "write_transactions_and_token_transfers": {
            "rows": ours_rows,
            "identical_output": same,
            "ours_seconds": round(t_ours, 3),
            "ours_rows_per_s": round(ours_rows / t_ours),
            "baseline": "per-row csv.writer loop over the same ledger",
            "baseline_seconds": round(t_naive, 3),
            "baseline_rows_per_s": round(naive_rows / t_naive),
            "speedup": round(t_naive / t_ours, 2),
        },
        "world_end_to_end": {
            "peak_rss_mb_process": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "transfers": world_transfers,
            "bytes": size,
            "seconds": summary["seconds"],
            "transfers_per_s_total": round(world_transfers / t_world),
            "transfers_per_s_write_phase": round(world_transfers / summary["seconds"]["write"]),
        },
    }
    w = result["write_transactions_and_token_transfers"]
    print(
        f"simulate benchmark, scale {args.scale} ({transfers:,} transfers requested), load avg {result['machine']['load_avg_1m']:.1f}"
    )
    print(f"{'':34}{'chainsleuth':>16}{'csv.writer loop':>18}")
    print(f"{'transactions+token_transfers rows':34}{w['rows']:>16,}{naive_rows:>18,}")
    print(f"{'seconds':34}{w['ours_seconds']:>16.2f}{w['baseline_seconds']:>18.2f}")
    print(f"{'rows/s':34}{w['ours_rows_per_s']:>16,}{w['baseline_rows_per_s']:>18,}")
    print(f"speedup {w['speedup']}x, identical files: {same}")
    e = result["world_end_to_end"]
    print(
        f"whole world: {e['transfers']:,} transfers, {e['bytes'] / 1e6:.0f} MB in {e['seconds']['total']} s "
        f"(generate {e['seconds']['generate']} s, write {e['seconds']['write']} s): "
        f"{e['transfers_per_s_total']:,} transfers/s overall, {e['transfers_per_s_write_phase']:,}/s in the write phase"
    )
    print(f"peak RSS of this process (ledger, both writers, whole world): {e['peak_rss_mb_process']:,} MB")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    if not same:
        sys.exit("the two writers disagree")


if __name__ == "__main__":
    main()
