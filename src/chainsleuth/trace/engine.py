"""``trace()``: where did the money go (forward), where did it come from (backward).

Pipeline for an account chain (UTXO chains: :mod:`chainsleuth.trace.utxo`):

1. **Subgraph** (:mod:`chainsleuth.trace.subgraph`): set-based frontier expansion in DuckDB over the integer
   trace index, hop by hop, restricted to transfers at or after the block each address became reachable
   (backward: at or before), stopping at labelled services; then one pull of every transfer in each reached
   address's window and one aggregate of its balance before the window.
2. **Services**: exit points (exchanges, hot wallets, deposit addresses, OTC desks, sanctioned entities and
   other custodial services), mixers, DEX pools (same-transaction swaps carry taint across assets, valued in
   USD), bridges (locks matched to releases on another chain), burn addresses. Unlabelled addresses that
   forward everything to one exchange wallet are recognised as deposit addresses of that exchange.
3. **Sweep** (:mod:`chainsleuth.trace.sweep`): the taint model over the time-ordered subgraph in numpy.
4. **Report** (:mod:`chainsleuth.trace.report`): exact tainted amounts (integers), USD estimates and the
   transaction hashes behind every exit, resting balance and total.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import duckdb

from chainsleuth.errors import ChainsleuthError, InputError, NotFoundError
from chainsleuth.model import Model, normalize_address
from chainsleuth.trace import account, utxo
from chainsleuth.trace.result import TraceResult
from chainsleuth.trace.sweep import DIRECTIONS, GAPS, MODELS

DEFAULT_MAX_HOPS = 64


def trace(
    con: duckdb.DuckDBPyConnection,
    sources: Iterable[str],
    chain: str,
    *,
    after: str | int | datetime | None = None,
    until: str | int | datetime | None = None,
    model: str = "poison",
    direction: str = "forward",
    max_hops: int = DEFAULT_MAX_HOPS,
    min_value: float = 0.0,
    demix: bool = False,
    demix_min_probability: float = 0.5,
    follow_bridges: bool = True,
    gaps: str = "proportional",
) -> TraceResult:
    """Trace funds from ``sources`` on ``chain``.

    ``after``/``until``: ISO time, block number or datetime bounding the transfers considered (forward default:
    each source's first transfer, so every inflow of an attacker address counts as stolen; backward default:
    the whole history). ``min_value``: taint worth less than this many USD on an edge (whole tokens where
    no price is known) is dropped and counted in ``totals.below_threshold``. ``gaps``: how to treat spends
    beyond the known balance (incomplete data): 'proportional' (like the known balance) or 'clean'.
    """
    if model not in MODELS:
        raise ChainsleuthError(f"unknown model {model!r}: choose {', '.join(MODELS)}")
    if direction not in DIRECTIONS:
        raise ChainsleuthError(f"unknown direction {direction!r}: forward or backward")
    if gaps not in GAPS:
        raise ChainsleuthError(f"unknown gaps policy {gaps!r}: {', '.join(GAPS)}")
    if max_hops < 1:
        raise ChainsleuthError("--max-hops must be at least 1")
    if min_value < 0:
        raise ChainsleuthError("--min-value must not be negative")
    row = con.execute("SELECT model FROM chains WHERE chain = ?", [chain]).fetchone()
    if row is None:
        known = [r[0] for r in con.execute("SELECT chain FROM chains ORDER BY 1").fetchall()]
        raise NotFoundError(f"no chain {chain!r} in the database (have: {', '.join(known) or 'none'})")
    addrs = _normalize_sources(sources, chain)
    params = {
        "after": after if not isinstance(after, datetime) else after.isoformat(),
        "until": until if not isinstance(until, datetime) else until.isoformat(),
        "max_hops": max_hops,
        "min_value": min_value,
        "demix": demix,
        "demix_min_probability": demix_min_probability,
        "follow_bridges": follow_bridges,
        "gaps": gaps,
    }
    opts = account.Options(model=model, direction=direction, max_hops=max_hops, min_value=min_value, gaps=gaps,
                           demix=demix, demix_min_probability=demix_min_probability,
                           follow_bridges=follow_bridges)
    if row[0] == Model.UTXO:
        return utxo.trace_utxo(con, addrs, chain, after=after, until=until, opts=opts, params=params)
    return account.trace_account(con, addrs, chain, after=after, until=until, opts=opts, params=params)


def _normalize_sources(sources: Iterable[str], chain: str) -> list[str]:
    out: list[str] = []
    for s in sources:
        s = s.strip()
        if s:
            out.append(normalize_address(s, chain))
    out = list(dict.fromkeys(out))
    if not out:
        raise ChainsleuthError("no source addresses given")
    return out


def read_sources_file(path: str, chain: str) -> list[str]:
    """Addresses from a file: one per line (first CSV column), an optional header line, '#' comments."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError as exc:
        raise ChainsleuthError(f"cannot read sources file {path}: {exc.strerror}") from None
    out: list[str] = []
    for n, line in enumerate(lines, start=1):
        cell = line.split(",")[0].strip().strip('"')
        if not cell or cell.startswith("#"):
            continue
        try:
            out.append(normalize_address(cell, chain))
        except ChainsleuthError as exc:
            if n == 1 and not out:
                continue  # a header line
            raise InputError(path, n, str(exc)) from None
    if not out:
        raise InputError(path, None, "no addresses in the file")
    return out
