"""Same-transaction pass-through from one service to another.

A non-custodial service often pays on, in the very transaction that funds it, to another service: a bridge's
inbox forwards the deposit to the bridge contract that holds it ("Arbitrum: Delayed Inbox" -> "Arbitrum:
Bridge"), a router pays an exchange, an aggregator pays the DEX it routes to. The value then rests at the last
service of that chain, not at the first, and an investigator asks *that* service (or watches that contract).
Reachability already follows pass-through into unlabelled addresses (see :mod:`chainsleuth.trace.subgraph`);
this module moves end points that a trace would otherwise report at the first service.

Apportioning is that of a swap group (:mod:`chainsleuth.trace.sweep`): the tainted share of what the service
took in within the transaction (valued in USD where prices are known, by amount when one asset is involved)
applies to each of its onward payments to labelled services; what it keeps stays reported where it entered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import duckdb

#: How many services in a row one transaction may pass value through (inbox -> bridge -> ...).
MAX_STEPS = 4


@dataclass
class End:
    """Tainted value ending at a service: where, in which asset, how much (exact) and the evidence."""

    address: str
    asset: str
    amount: int
    usd: float | None
    tx_hash: str
    block_number: int
    time: datetime | None
    steps: list[tuple[str, str, str, int, float | None]] = field(default_factory=list)  # (from, to, asset, amount, usd)
    settled: bool = False  # no further pass-through to look for


def pass_on(con: duckdb.DuckDBPyConnection, chain: str, ends: list[End], services: dict[str, str],
            unit_usd) -> list[list[End]]:
    """For each end (value entering a pass-through service), the ends it reaches by the same transaction's
    payments from that service to other labelled services; ``[end]`` itself where there are none.

    ``services``: address -> trace role of every labelled service on the chain that may take value on
    (burn addresses excluded: a burn inside a bridge transaction is the bridge's mechanics, not a destination).
    ``unit_usd(asset, time)``: USD per base unit, or None.
    """
    out: list[list[End]] = [[e] for e in ends]
    todo = list(range(len(ends)))
    for _ in range(MAX_STEPS):
        if not todo:
            break
        moves = _onward_payments(con, chain, [e for k in todo for e in out[k] if not e.settled], services)
        nxt = []
        for k in todo:
            new_list: list[End] = []
            changed = False
            for e in out[k]:
                pay = None if e.settled else moves.get((e.tx_hash, e.address))
                pieces = _apportion(e, *pay, unit_usd) if pay else []
                if not pieces:
                    e.settled = True
                    new_list.append(e)
                    continue
                changed = True
                new_list.extend(pieces)
            out[k] = new_list
            if changed:
                nxt.append(k)
        todo = nxt
    return out


def _onward_payments(con, chain, ends: list[End], services: dict[str, str]) -> dict[tuple[str, str], tuple]:
    """(tx, service) -> (all value in: [(asset, amount)], onward payments to services: [(to, asset, amount)])."""
    keys = {(e.tx_hash, e.address) for e in ends}
    if not keys:
        return {}
    blocks = sorted({e.block_number for e in ends})
    txs = sorted({k[0] for k in keys})
    svc = sorted({k[1] for k in keys})
    rows = con.execute(
        """SELECT tx_hash, from_address, to_address, asset, amount FROM transfers
           WHERE chain = $c AND block_number IN (SELECT unnest($b::BIGINT[])) AND tx_hash IN (SELECT unnest($t))
             AND amount IS NOT NULL AND amount > 0
             AND (from_address IN (SELECT unnest($s)) OR to_address IN (SELECT unnest($s)))""",
        {"c": chain, "b": blocks, "t": txs, "s": svc}).fetchall()
    found: dict[tuple[str, str], tuple[list, list]] = {}
    for tx, fa, ta, asset, amount in rows:
        if ta is not None and (tx, ta) in keys and fa != ta:
            found.setdefault((tx, ta), ([], []))[0].append((asset, int(amount)))
        if fa is not None and (tx, fa) in keys and ta is not None and ta != fa and ta in services:
            found.setdefault((tx, fa), ([], []))[1].append((ta, asset, int(amount)))
    return {k: v for k, v in found.items() if v[1] and v[0]}


def _apportion(e: End, value_in: list, payments: list, unit_usd) -> list[End]:
    """The tainted share of ``e`` carried by ``payments`` (USD-weighted, or by amount for one asset)."""
    one_asset = len({a for a, _ in value_in} | {a for _, a, _ in payments}) == 1
    if one_asset:
        total_in = sum(v for _, v in value_in)
        share = e.amount / total_in if total_in else 0.0
    else:
        priced = [(unit_usd(a, e.time), v) for a, v in value_in]
        if e.usd is None or any(u is None for u, _ in priced):
            return []
        total_in = sum(u * v for u, v in priced)
        share = e.usd / total_in if total_in else 0.0
    share = min(share, 1.0)
    if share <= 0:
        return []
    pieces = []
    carried_usd = 0.0
    carried_own = 0
    for to, asset, amount in payments:
        amt = amount if share >= 1.0 - 1e-9 else int(round(amount * share))
        if one_asset:  # never more than entered (a service may also pay out of its own pool)
            amt = min(amt, e.amount - carried_own)
        if amt <= 0:
            continue
        u = unit_usd(asset, e.time)
        usd = amt * u if u is not None else None
        carried_usd += usd or 0.0
        if asset == e.asset:
            carried_own += amt
        pieces.append(End(address=to, asset=asset, amount=amt, usd=usd, tx_hash=e.tx_hash, block_number=e.block_number,
                          time=e.time, steps=[*e.steps, (e.address, to, asset, amt, usd)]))
    if not pieces:
        return []
    # what the service kept (its fee, or value it holds) stays where it entered
    if one_asset:
        kept = e.amount - carried_own
    else:
        kept_usd = (e.usd or 0.0) - carried_usd
        u = unit_usd(e.asset, e.time)
        kept = int(round(kept_usd / u)) if u and kept_usd > 0 else 0
    if kept > 0:
        u = unit_usd(e.asset, e.time)
        pieces.append(End(address=e.address, asset=e.asset, amount=kept, usd=kept * u if u is not None else None,
                          tx_hash=e.tx_hash, block_number=e.block_number, time=e.time, steps=e.steps, settled=True))
    return pieces
