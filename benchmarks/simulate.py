"""Benchmark: how fast the simulator writes transfers, against a naive per-row ``csv.writer`` loop.

    .venv/bin/python benchmarks/simulate.py [--scale medium] [--seed 7]

Both writers produce the same ethereum-etl ``transactions.csv`` and ``token_transfers.csv`` from the same
finalized ledger (checked byte for byte), measured in the same run. Then the whole world (both chains, truth,
tags, owners) is timed end to end twice: with the writers in parallel processes (the default) and in one
process. Wall seconds on a shared machine swing with its load, so CPU seconds (all processes) are printed
too. Beside them, a floor measured in the same run: writing the same number of bytes, into files of the
world's sizes in the same folder, from a ready buffer in 4 MB blocks (what the disk path alone costs; no
generator can be faster). The figures of the previous recorded run at the same scale are printed beside
them; everything goes to ``benchmarks/results/simulate.json``.
"""

from __future__ import annotations

import argparse
import csv
import filecmp
import json
import os
import platform
import resource
import shutil
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
from chainsleuth.simulate.writer import default_workers

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


def time_world(folder: Path, transfers: int, seed: int, workers: int | None) -> dict:
    """One whole world, end to end: wall and CPU seconds (this process and its writer processes)."""
    self0, kids0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    summary = simulate(folder, seed=seed, scale=transfers, workers=workers or default_workers())
    wall = time.perf_counter() - t0
    self1, kids1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(b.ru_utime + b.ru_stime - a.ru_utime - a.ru_stime for a, b in ((self0, self1), (kids0, kids1)))
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    digest = {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}
    shutil.rmtree(folder)  # a large world is 6.8 GB: do not keep two
    n = summary["transfers"]["total"]
    return {
        "workers": workers or default_workers(),
        "transfers": n,
        "bytes": size,
        "file_sizes": digest,
        "seconds": summary["seconds"] | {"wall": round(wall, 3), "cpu": round(cpu, 3)},
        "transfers_per_s_total": round(n / wall),
        "transfers_per_cpu_s": round(n / cpu),
        "transfers_per_s_write_phase": round(n / summary["seconds"]["write"]),
    }


FLOOR_BLOCK = 4 << 20


def write_floor(folder: Path, file_sizes: dict[str, int], transfers: int) -> dict:
    """Write ``file_sizes`` bytes (the world's files, same names and sizes) from one preallocated buffer in
    4 MB blocks, without fsync like the simulator, and time it: the cost of the disk path alone."""
    block = memoryview(
        np.frombuffer(b"0123456789abcdef,\n" * (FLOOR_BLOCK // 18 + 1), np.uint8)[:FLOOR_BLOCK]
    )
    self0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    for name, size in file_sizes.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            for lo in range(0, size, FLOOR_BLOCK):
                fh.write(block[: min(FLOOR_BLOCK, size - lo)])
    wall = time.perf_counter() - t0
    self1 = resource.getrusage(resource.RUSAGE_SELF)
    written = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    shutil.rmtree(folder)
    if written != sum(file_sizes.values()):
        sys.exit("the floor wrote a different number of bytes than the world")
    return {
        "bytes": written,
        "block_bytes": FLOOR_BLOCK,
        "seconds": {
            "wall": round(wall, 3),
            "cpu": round(self1.ru_utime + self1.ru_stime - self0.ru_utime - self0.ru_stime, 3),
            "cpu_system": round(self1.ru_stime - self0.ru_stime, 3),
        },
        "bytes_per_s": round(written / wall),
        "transfers_per_s_total": round(transfers / wall),
    }


def previous_figures(transfers: int) -> dict | None:
    """The figures of the last recorded run at the same scale (the JSON this script overwrites)."""
    try:
        old = json.loads(RESULTS.read_text())
    except (OSError, ValueError):
        return None
    if old.get("transfers_requested") != transfers:
        return None
    world = old.get("world_end_to_end", {})
    return {
        "recorded": old.get("recorded", "before 2026-11-26"),
        "writer_rows_per_s": old.get("write_transactions_and_token_transfers", {}).get("ours_rows_per_s"),
        "world_transfers_per_s": world.get("transfers_per_s_total"),
        "world_seconds": world.get("seconds", {}).get("wall", world.get("seconds", {}).get("total")),
        "world_cpu_seconds": world.get("seconds", {}).get("cpu"),
        "world_transfers_per_cpu_s": world.get("transfers_per_cpu_s"),
        "peak_rss_mb": world.get("peak_rss_mb_process"),
        "floor_seconds": old.get("floor", {}).get("seconds", {}).get("wall"),
        "floor_cpu_seconds": old.get("floor", {}).get("seconds", {}).get("cpu"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", default="medium", help="small | medium | large | number of transfers")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-serial", action="store_true", help="skip the one-process world run")
    args = ap.parse_args()
    transfers = parse_scale(args.scale)
    previous = previous_figures(transfers)
    load_before = os.getloadavg()[0]
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
        for d in ("warmup", "fast", "naive"):
            shutil.rmtree(tmpd / d)
        world = time_world(tmpd / "world", transfers, args.seed, None)
        floor = write_floor(tmpd / "floor", world["file_sizes"], world["transfers"])
        serial = None if args.no_serial else time_world(tmpd / "world1", transfers, args.seed, 1)
    result = {
        "benchmark": "simulate",
        "recorded": time.strftime("%Y-%m-%d"),
        "scale": args.scale,
        "transfers_requested": transfers,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_avg_1m_before": load_before,
            "load_avg_1m_after": os.getloadavg()[0],
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
        "world_end_to_end": world
        | {"peak_rss_mb_process": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)},
        "world_one_process": serial,
        "floor": floor
        | {"what": "the world's bytes written from a ready buffer in 4 MB blocks, same files and folder"},
        "previous": previous,
    }
    w = result["write_transactions_and_token_transfers"]
    m = result["machine"]
    print(
        f"simulate benchmark, scale {args.scale} ({transfers:,} transfers requested), "
        f"load avg {m['load_avg_1m_before']:.1f} -> {m['load_avg_1m_after']:.1f} on {m['cpus']} CPUs"
    )
    print(f"{'':36}{'chainsleuth':>14}{'csv.writer loop':>17}{'previous run':>14}")
    prev = previous or {}

    def fmt(v: float | int | None, spec: str = ",") -> str:
        return "-" if v is None else format(v, spec)

    print(f"{'transactions+token_transfers rows':36}{w['rows']:>14,}{naive_rows:>17,}{'':>14}")
    print(
        f"{'writer rows/s':36}{w['ours_rows_per_s']:>14,}{w['baseline_rows_per_s']:>17,}"
        f"{fmt(prev.get('writer_rows_per_s')):>14}"
    )
    print(f"speedup over the loop {w['speedup']}x, identical files: {same}")
    print(
        f"\n{'whole world (' + format(world['transfers'], ',') + ' transfers)':36}{'parallel':>14}"
        f"{'one process':>17}{'previous run':>14}{'write floor':>14}"
    )
    rows = [
        ("workers", "workers", "workers", None, None),
        ("wall seconds", "seconds.wall", "seconds.wall", "world_seconds", "seconds.wall"),
        ("CPU seconds (all processes)", "seconds.cpu", "seconds.cpu", "world_cpu_seconds", "seconds.cpu"),
        ("generate seconds", "seconds.generate", "seconds.generate", None, None),
        ("write seconds", "seconds.write", "seconds.write", None, "seconds.wall"),
        (
            "transfers/s (wall)",
            "transfers_per_s_total",
            "transfers_per_s_total",
            "world_transfers_per_s",
            "transfers_per_s_total",
        ),
        (
            "transfers per CPU second",
            "transfers_per_cpu_s",
            "transfers_per_cpu_s",
            "world_transfers_per_cpu_s",
            None,
        ),
    ]

    def get(d: dict | None, path: str):
        for k in path.split("."):
            if d is None:
                return None
            d = d.get(k)
        return d

    for label, a, b, c, f in rows:
        print(
            f"{label:36}{fmt(get(world, a)):>14}{fmt(get(serial, b)):>17}{fmt(prev.get(c) if c else None):>14}"
            f"{fmt(get(floor, f) if f else None):>14}"
        )
    print(
        f"{world['bytes'] / 1e6:,.0f} MB of files; peak RSS of this process "
        f"{result['world_end_to_end']['peak_rss_mb_process']:,} MB (previous run {fmt(prev.get('peak_rss_mb'))})"
    )
    print(
        f"write floor: the same {floor['bytes'] / 1e6:,.0f} MB from a ready buffer in 4 MB blocks, "
        f"{floor['seconds']['wall']} s wall, {floor['seconds']['cpu']} s CPU ({floor['seconds']['cpu_system']} s "
        f"system); the whole world takes {world['seconds']['wall'] / floor['seconds']['wall']:.1f}x its wall "
        f"time (previous run's floor {fmt(prev.get('floor_seconds'))} s)"
    )
    if serial and serial["file_sizes"] != world["file_sizes"]:
        sys.exit("the parallel and the one-process worlds differ")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    if not same:
        sys.exit("the two writers disagree")


if __name__ == "__main__":
    main()
