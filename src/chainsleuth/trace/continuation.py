"""Following taint through bridges and (optionally) mixers.

**Bridges.** A lock (a tainted transfer into a bridge address on chain A) is matched to a release (a bridge
address paying out on another chain) by USD value (the release is worth the lock minus at most
``bridge_max_fee``) within ``bridge_window_s`` after the lock; a release to the locking address itself is
preferred, then the closest in time. The release then seeds a trace on the other chain.

**Mixers (demixing).** A deposit into a fixed-denomination pool is linked to candidate withdrawals of the same
pool (same denomination less at most 5 % relayer fee, within ``demix_window_days``) with a probability per
link from the heuristics of Tutela (Béres, Seres, Benczúr & Quintyne-Collins 2021, "Blockchain is Watching
You: Profiling and Deanonymizing Ethereum Users", IEEE DAPPS) and Wang et al. 2023 ("On How Zero-Knowledge
Proof Blockchain Mixers Improve, and Worsen User Privacy", WWW): withdrawal to the depositing address,
withdrawal sent by the depositor (self-relay), addresses that transacted directly, a rare shared gas price,
and timing (withdrawals soon after the deposit weigh more). Each candidate starts with the same prior (the
anonymity set) and each observed signal multiplies its weight by a likelihood ratio; weights are normalised
over the candidates. Links at or above ``demix_min_probability`` seed a continuation whose taint is the
deposit's tainted share times the link probability (expected taint).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from chainsleuth.trace.index import ensure_index
from chainsleuth.trace.pricing import Pricer
from chainsleuth.trace.services import labels_of

if TYPE_CHECKING:
    from chainsleuth.trace.account import Options

#: Likelihood ratios of the demixing signals.
LR_SAME_ADDRESS = 1000.0
LR_SELF_RELAY = 200.0
LR_LINKED = 50.0
LR_GAS_PRICE = 20.0
DEMIX_FEE_TOLERANCE = 0.05


@dataclass
class Continuation:
    chain: str
    kind: str  # 'bridge' | 'demix'
    model: str = "account"
    seeds: list = field(default_factory=list)  # account: Seed; utxo: (tx_hash, output_index, fraction, hop, kind)
    locks: list[int] = field(default_factory=list)  # edge indices (on the first chain) it continues


def plan(con, chain, E, g, exact, det, bridge_locks, mixer_deposits, opts: Options, usd_of, res, base_hop,
         result) -> list[Continuation]:
    out: list[Continuation] = []
    if opts.direction != "forward":
        return out
    if opts.follow_bridges and bridge_locks:
        out.extend(_bridges(con, chain, E, exact, det, bridge_locks, opts, usd_of, res, base_hop))
    if opts.demix and mixer_deposits:
        out.extend(_demix(con, chain, E, exact, det, mixer_deposits, opts, res, base_hop, result))
    return out


def _bridges(con, chain, E, exact, det, locks, opts, usd_of, res, base_hop) -> list[Continuation]:
    from chainsleuth.trace.account import Seed

    others = con.execute("SELECT chain, model FROM chains WHERE chain <> ? ORDER BY 1", [chain]).fetchall()
    conts = []
    lock_info = []
    for i in locks:
        tx, t, fa, ta, asset, full = det[i]
        u = usd_of(i, full)
        if u is None or u <= 0:
            continue
        lock_info.append((t, i, u, fa, exact[i] / full))
    lock_info.sort()
    used: set[tuple[str, int]] = set()
    for other, model in others:
        if model == "account":
            ensure_index(con, other)
        labels = labels_of(con, other)
        bridges = [a for a, c in zip(labels.column("address").to_pylist(), labels.column("category").to_pylist(),
                                     strict=True) if c == "bridge"]
        if not bridges or not lock_info:
            continue
        t0 = min(x[0] for x in lock_info)
        t1 = max(x[0] for x in lock_info)
        if model == "utxo":
            rows = con.execute(
                """SELECT o.tx_hash, o.block_time, 0, o.value, (o.block_time::DATE - DATE '1970-01-01')::BIGINT,
                          o.address, o.output_index
                   FROM utxo_outputs o
                   WHERE o.chain = $c AND o.block_time BETWEEN $t0 AND $t1 + to_seconds($w)
                     AND (o.address IS NULL OR o.address NOT IN (SELECT unnest($b)))
                     AND o.tx_hash IN (SELECT tx_hash FROM utxo_inputs WHERE chain = $c
                                       AND address IN (SELECT unnest($b)) AND block_time BETWEEN $t0 AND $t1 + to_seconds($w))
                   ORDER BY o.block_time""",
                {"c": other, "t0": t0, "t1": t1, "w": opts.bridge_window_s, "b": bridges}).fetchall()
            native = con.execute("SELECT native_asset FROM chains WHERE chain = ?", [other]).fetchone()[0]
            pricer = Pricer(con, other, [native])
        else:
            rows = con.execute(
            """SELECT e.rid, e.block_time, e.asset, e.amount, (e.block_time::DATE - DATE '1970-01-01')::BIGINT,
                      n2.address, 0
               FROM trace_edges e JOIN trace_nodes n ON n.chain = e.chain AND n.id = e.src
               JOIN trace_nodes n2 ON n2.chain = e.chain AND n2.id = e.dst
               WHERE e.chain = ? AND NOT e.is_fee AND n.address IN (SELECT unnest(?::VARCHAR[]))
                 AND e.block_time BETWEEN ? AND ? + to_seconds(?)
               ORDER BY e.block_time""",
            [other, bridges, t0, t1, opts.bridge_window_s]).fetchall()
        if not rows:
            continue
        if model == "account":
            assets = [a for (a,) in con.execute("SELECT asset FROM trace_assets WHERE chain = ? ORDER BY id",
                                                [other]).fetchall()]
            pricer = Pricer(con, other, assets)
        unit = pricer.unit_usd(np.array([r[2] for r in rows], dtype=np.int64), np.array([r[4] for r in rows]))
        cont = Continuation(chain=other, kind="bridge", model=model)
        for t, i, u, locker, f in lock_info:
            best = None
            for k, r in enumerate(rows):
                if (other, k) in used or np.isnan(unit[k]):
                    continue
                dt = (r[1] - t).total_seconds()
                if dt < 0 or dt > opts.bridge_window_s:
                    continue
                ru = r[3] * unit[k]
                if not (u * (1 - opts.bridge_max_fee) <= ru <= u * 1.001):
                    continue
                score = (0 if r[5] == locker else 1, dt)
                if best is None or score < best[0]:
                    best = (score, k)
            if best is not None:
                k = best[1]
                used.add((other, k))
                hop = int(res.hop[i]) + base_hop + 1
                if model == "utxo":
                    cont.seeds.append((rows[k][0], int(rows[k][6]), float(f), hop, "bridge"))
                else:
                    cont.seeds.append(Seed(rid=int(rows[k][0]), fraction=float(f), hop=hop, kind="bridge"))
                cont.locks.append(i)
        if cont.seeds:
            conts.append(cont)
        lock_info = [x for x in lock_info if x[1] not in set(cont.locks)]
    return conts


def _demix(con, chain, E, exact, det, deposits, opts, res, base_hop, result) -> list[Continuation]:
    from chainsleuth.trace.account import Seed

    cont = Continuation(chain=chain, kind="demix")
    for i in deposits:
        tx, t, depositor, pool, asset, full = det[i]
        rows = con.execute(
            """SELECT e.rid, e.block_number, e.tx_index, e.block_time, n2.address, e.amount, x.gas_price,
                      x.from_address
               FROM trace_edges e
               JOIN trace_nodes n ON n.chain = e.chain AND n.id = e.src
               JOIN trace_nodes n2 ON n2.chain = e.chain AND n2.id = e.dst
               LEFT JOIN transactions x ON x.chain = e.chain AND x.block_number = e.block_number
                    AND x.tx_index = e.tx_index
               WHERE e.chain = ? AND NOT e.is_fee AND n.address = ? AND e.block_time >= ?
                 AND e.block_time <= ? + to_days(?) AND e.amount BETWEEN ? AND ?""",
            [chain, pool, t, t, opts.demix_window_days, float(full) * (1 - DEMIX_FEE_TOLERANCE),
             float(full) * 1.000001]).fetchall()
        if not rows:
            continue
        dep_gas = con.execute(
            "SELECT gas_price FROM transactions WHERE chain = ? AND hash = ? LIMIT 1", [chain, tx]).fetchone()
        dep_gas = dep_gas[0] if dep_gas else None
        recipients = sorted({r[4] for r in rows})
        linked = {a for (a,) in con.execute(
            """SELECT DISTINCT CASE WHEN from_address = $d THEN to_address ELSE from_address END FROM transfers
               WHERE chain = $c AND ((from_address = $d AND to_address IN (SELECT unnest($r)))
                  OR (to_address = $d AND from_address IN (SELECT unnest($r))))""",
            {"c": chain, "d": depositor, "r": recipients}).fetchall()}
        gas_counts = {}
        if dep_gas is not None:
            gas_counts = dict(con.execute(
                """SELECT gas_price, count(*) FROM transactions WHERE chain = ? AND gas_price = ?
                   AND block_time BETWEEN ? - to_days(?) AND ? + to_days(?) GROUP BY 1""",
                [chain, dep_gas, t, opts.demix_window_days, t, opts.demix_window_days]).fetchall())
        weights = []
        for rid, _b, _ti, wt, to, _amt, gas, sender in rows:
            sig = []
            w = 1.0
            if to == depositor:
                w *= LR_SAME_ADDRESS
                sig.append("same-address")
            if sender == depositor:
                w *= LR_SELF_RELAY
                sig.append("self-relay")
            if to in linked:
                w *= LR_LINKED
                sig.append("linked-addresses")
            if dep_gas is not None and gas == dep_gas and gas_counts.get(dep_gas, 0) <= 3:
                w *= LR_GAS_PRICE
                sig.append("rare-gas-price")
            days = max((wt - t).total_seconds(), 0) / 86_400
            w *= 1.0 / (1.0 + days)
            weights.append((w, rid, wt, to, sig))
        total = sum(w for w, *_ in weights)
        f = exact[i] / full
        for w, rid, wt, to, sig in sorted(weights, key=lambda x: -x[0])[:10]:
            p = round(w / total, 4)
            result.demix.append({"chain": chain, "mixer": pool, "deposit_tx": tx, "withdrawal_to": to,
                                 "withdrawal_time": wt.isoformat(), "probability": p, "signals": sig,
                                 "candidates": len(rows)})
            if p >= opts.demix_min_probability:
                cont.seeds.append(Seed(rid=int(rid), fraction=float(f * p), hop=int(res.hop[i]) + base_hop + 1,
                                       kind="demix", probability=p))
                cont.locks.append(i)
    return [cont] if cont.seeds else []
