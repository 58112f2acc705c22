"""A simulated two-chain economy with embedded thefts and the exact truth about every stolen unit.

``simulate(outdir, seed=7, scale="small")`` writes, deterministically for a seed:

* ``ethereum/``: ethereum-etl CSVs (blocks, transactions with receipt columns, token_transfers, traces, tokens);
* ``bitcoin/``: bitcoin-etl JSON lines (blocks, transactions with enriched inputs);
* ``prices.csv`` (symbol,day,usd), ``tags.yaml`` (a GraphSense TagPack of public service addresses, incomplete
  on purpose), ``owners.csv`` (chain,address,owner,role for every address) and ``truth.json`` (per incident:
  victims, attacker addresses, every hop, fees, conversions, final resting places, exact accounting).

The file formats and every key are documented in ``docs/simulator.md``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pyarrow as pa

from chainsleuth.simulate.economy import World
from chainsleuth.simulate.incidents import plan_incidents
from chainsleuth.simulate.truth import build_truth, write_tags
from chainsleuth.simulate.world import TOKENS, Config, parse_incidents, parse_scale, prices_table
from chainsleuth.simulate.writer import run_parallel, s, write_csv

__all__ = ["simulate"]


def simulate(
    outdir: str | Path,
    seed: int = 7,
    scale: str | int = "small",
    incidents: str | tuple[tuple[str, int], ...] | None = None,
    workers: int = 1,
) -> dict:
    """Generate a world into ``outdir`` (created; existing files are overwritten). Returns a summary with
    row counts per file, transfer counts per chain, the incidents and the time taken.

    The files are written by ``workers`` forked processes; the bytes do not depend on it. The default is one
    (this process): forking a process that already runs native threads (an open DuckDB connection, a web
    server) is unsafe, so only callers that know they are alone ask for more (the CLI does:
    :func:`chainsleuth.simulate.writer.default_workers`)."""
    t_start = time.perf_counter()
    inc_spec = incidents if isinstance(incidents, tuple) else parse_incidents(incidents)
    cfg = Config(seed=int(seed), transfers=parse_scale(scale), incidents=inc_spec)
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    w = World(cfg)
    w.evm_background()
    w.btc_setup()
    incs = plan_incidents(w)
    w.evm_sweeps()
    w.btc_genesis()
    for r in range(w.btc.rounds):
        w.btc.run_round(r, w.btc_round, w.miners)
    w.evm_endow()
    fe = w.eth.finalize()
    fb = w.btc.finalize()
    t_gen = time.perf_counter()
    # the address strings every writer needs, made once before the writers fork
    w.eth_book.strings()
    w.btc_book.strings()
    token_meta = {t: (8 if t == "WBTC" else 6, w.token_supply[t]) for t in TOKENS}
    eth_main = ("transactions", "token_transfers", "blocks", "tokens")

    def side_files() -> dict:
        _write_prices(w, out / "prices.csv")
        n_tags = write_tags(w, out / "tags.yaml")
        n_owners = _write_owners(w, out / "owners.csv")
        truth = build_truth(w, incs, fe, fb)
        (out / "truth.json").write_text(_dump_truth(truth), encoding="utf-8")
        return {"tags": n_tags, "owners": n_owners, "incidents": _incident_summary(truth)}

    btc_counts, eth_counts, trace_counts, side = run_parallel(
        [
            lambda: fb.write(out / "bitcoin"),
            lambda: fe.write(out / "ethereum", token_meta, eth_main),
            lambda: fe.write(out / "ethereum", token_meta, ("traces",)),
            side_files,
        ],
        workers,
    )
    counts = {"ethereum": {f: (eth_counts | trace_counts)[f] for f in fe.FILES}, "bitcoin": btc_counts}
    n_tags, n_owners = side["tags"], side["owners"]
    t_end = time.perf_counter()
    transfers = _transfer_counts(w, fe, counts)
    return {
        "outdir": str(out),
        "seed": cfg.seed,
        "transfers_requested": cfg.transfers,
        "transfers": transfers,
        "files": counts | {"tags": n_tags, "owners": n_owners, "prices": len(TOKENS) + 2},
        "incidents": side["incidents"],
        "seconds": {
            "generate": round(t_gen - t_start, 3),
            "write": round(t_end - t_gen, 3),
            "total": round(t_end - t_start, 3),
        },
    }


def _incident_summary(truth: dict) -> list[dict]:
    return [
        {
            "id": i["id"],
            "profile": i["profile"],
            "victims": len(i["victims"]),
            "hops": len(i["hops"]),
            "stolen": i["stolen"],
            "stolen_usd": i["stolen_usd"],
        }
        for i in truth["incidents"]
    ]


def _transfer_counts(w: World, fe, counts: dict) -> dict:
    """Value transfers as a ledger loader counts them: successful non-zero native values, token logs,
    internal calls with value, genesis allocations; on bitcoin, outputs."""
    led = w.eth
    status = led.col("tx", "status")
    nonzero = (led.col("tx", "vhi") > 0) | (led.col("tx", "vlo") > 0)
    native = int((nonzero & (status == 1)).sum())
    tok = len(led.col("logs", "tx"))
    internal = len(led.col("traces", "tx"))
    genesis = len(led.col("genesis", "to"))
    eth = {
        "native": native,
        "token": tok,
        "internal": internal,
        "genesis": genesis,
        "total": native + tok + internal + genesis,
    }
    btc = {"outputs": counts["bitcoin"]["outputs"], "inputs": counts["bitcoin"]["inputs"]}
    return {"ethereum": eth, "bitcoin": btc, "total": eth["total"] + btc["outputs"]}


def _write_prices(w: World, path: Path) -> None:
    t = prices_table(w.prices)
    write_csv(
        path,
        ["symbol", "day", "usd"],
        t.num_rows,
        lambda lo, hi: [
            t["symbol"].combine_chunks()[lo:hi],
            t["day"].combine_chunks()[lo:hi],
            pa.array([repr(float(x)) for x in t["usd"].to_pylist()[lo:hi]]),
        ],
    )


def _write_owners(w: World, path: Path) -> int:
    tabs = [w.eth_book.owners_table(), w.btc_book.owners_table()]
    tab = pa.concat_tables(tabs)
    cols = [tab[c].combine_chunks() for c in ("chain", "address", "owner", "role")]
    write_csv(
        path, ["chain", "address", "owner", "role"], tab.num_rows, lambda lo, hi: [s(c[lo:hi]) for c in cols]
    )
    return tab.num_rows


def _dump_truth(truth: dict) -> str:
    """Readable but fast: one line per list element (hops, victims, ...) via the C encoder."""
    head = {k: v for k, v in truth.items() if k not in ("services", "incidents")}
    lines = ["{"]
    for k, v in head.items():
        lines.append(f" {json.dumps(k)}: {json.dumps(v)},")
    lines.append(' "services": [')
    lines.append(",\n".join("  " + json.dumps(s) for s in truth["services"]))
    lines.append(" ],")
    lines.append(' "incidents": [')
    incs = []
    for inc in truth["incidents"]:
        parts = []
        for k, v in inc.items():
            if isinstance(v, list) and v:
                parts.append(
                    f"   {json.dumps(k)}: [\n" + ",\n".join("    " + json.dumps(x) for x in v) + "\n   ]"
                )
            else:
                parts.append(f"   {json.dumps(k)}: {json.dumps(v)}")
        incs.append("  {\n" + ",\n".join(parts) + "\n  }")
    lines.append(",\n".join(incs))
    lines.append(" ]")
    lines.append("}")
    return "\n".join(lines) + "\n"
