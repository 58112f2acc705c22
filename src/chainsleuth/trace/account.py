"""Tracing on account-based chains: subgraph -> services -> sweep -> report (see :mod:`chainsleuth.trace.engine`)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import numpy as np

from chainsleuth.errors import ChainsleuthError, NotFoundError
from chainsleuth.trace import continuation, passthrough, subgraph, utxo
from chainsleuth.trace.index import ensure_index
from chainsleuth.trace.pricing import Pricer
from chainsleuth.trace.result import TOTAL_KEYS, ExitPoint, FlowEdge, Resting, TraceResult
from chainsleuth.trace.services import (
    DEPOSIT_MIN_SENDERS,
    PASS_THROUGH,
    ROLE_BRIDGE,
    ROLE_BURN,
    ROLE_EXIT,
    ROLE_MIXER,
    ROLE_SERVICE,
    ROLE_SWAP,
    label_map,
    load_labels,
    recognise_deposits,
)
from chainsleuth.trace.sweep import ROLE_FROM_SERVICE, ROLE_INTO_SERVICE, FlowGraph, sweep

NO_BLOCK_LIMIT = 2**62
ASSET_BITS = 20


@dataclass
class Options:
    model: str = "poison"
    direction: str = "forward"
    max_hops: int = 64
    min_value: float = 0.0
    gaps: str = "proportional"
    demix: bool = False
    demix_min_probability: float = 0.5
    follow_bridges: bool = True
    bridge_window_s: int = 86_400
    bridge_max_fee: float = 0.05
    demix_window_days: int = 30
    max_continuations: int = 3


@dataclass
class Seed:
    """A transfer that is tainted before the trace starts: a bridge release or a demixed withdrawal."""

    rid: int
    fraction: float
    hop: int
    kind: str
    probability: float | None = None
    note: dict = field(default_factory=dict)


def exact_taint(amount: int, frac: float) -> int:
    """Tainted part of an exact amount. Fractions within 1e-9 of 0 or 1 are snapped, so that a pure laundering
    path reports the exact integer amounts (floating-point noise of the sweep never shows up as 1 wei)."""
    if frac >= 1.0 - 1e-9:
        return amount
    if frac <= 1e-12:
        return 0
    return int(round(amount * frac))


def block_of(con: duckdb.DuckDBPyConnection, chain: str, value: str | int | datetime | None, upper: bool) -> int | None:
    """A block bound from a block number, an ISO time or a datetime (first block at/after; last at/before)."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, str):
        try:
            t = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ChainsleuthError(f"not a block number or ISO time: {value!r}") from None
    else:
        t = value
    if t.tzinfo is not None:
        t = (t - t.utcoffset()).replace(tzinfo=None)
    agg, cmp = ("max", "<=") if upper else ("min", ">=")
    b = con.execute(
        f"SELECT {agg}(block_number) FROM trace_edges WHERE chain = ? AND block_time {cmp} ?", [chain, t]
    ).fetchone()[0]
    if b is None:
        return -1 if upper else NO_BLOCK_LIMIT
    return int(b)


def _lookup(sorted_ids: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pos = np.searchsorted(sorted_ids, ids)
    pos = np.minimum(pos, max(sorted_ids.size - 1, 0))
    found = (sorted_ids.size > 0) & (sorted_ids[pos] == ids) if sorted_ids.size else np.zeros(ids.size, bool)
    return pos, found


def _dense_rank(*cols: np.ndarray) -> np.ndarray:
    """Dense rank of rows by the given columns (first column most significant); equal rows share a rank."""
    n = cols[0].size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    o = np.lexsort(cols[::-1])
    diff = np.zeros(n, bool)
    diff[0] = True
    for c in cols:
        s = c[o]
        diff[1:] |= s[1:] != s[:-1]
    rank = np.empty(n, dtype=np.int64)
    rank[o] = np.cumsum(diff) - 1
    return rank


def trace_account(
    con: duckdb.DuckDBPyConnection,
    addrs: list[str],
    chain: str,
    *,
    after: str | int | datetime | None,
    until: str | int | datetime | None,
    opts: Options,
    params: dict,
    seeds: list[Seed] | None = None,
    depth: int = 0,
) -> TraceResult:
    fw = opts.direction == "forward"
    seeds = seeds or []
    ensure_index(con, chain)
    load_labels(con, chain, addrs)
    result = TraceResult(sources=addrs, chain=chain, model=opts.model, direction=opts.direction, parameters=params)
    ids = dict(con.execute(
        "SELECT address, id FROM trace_nodes WHERE chain = ? AND address IN (SELECT unnest(?::VARCHAR[]))",
        [chain, addrs]).fetchall()) if addrs else {}
    missing = [a for a in addrs if a not in ids]
    if addrs and len(missing) == len(addrs) and not seeds:
        raise NotFoundError(f"no transfers of {', '.join(addrs[:3])}{'...' if len(addrs) > 3 else ''} on {chain}")
    for a in missing:
        result.warnings.append(f"{a}: no transfers on {chain}")
    lo = block_of(con, chain, after, upper=False)
    hi = block_of(con, chain, until, upper=True)
    lo_q = lo if lo is not None else 0
    hi_q = hi if hi is not None else NO_BLOCK_LIMIT
    src_ids = np.array(sorted(ids.values()), dtype=np.int64)
    start: list[tuple[int, int]] = []
    if fw and lo is None and src_ids.size:
        first = con.execute(
            """SELECT id, min(b) FROM (
                 SELECT src AS id, block_number AS b FROM trace_edges WHERE chain = $c AND src IN (SELECT unnest($i))
                 UNION ALL
                 SELECT dst, block_number FROM trace_edges WHERE chain = $c AND dst IN (SELECT unnest($i)))
               GROUP BY id""", {"c": chain, "i": src_ids.tolist()}).fetchall()
        start = [(int(i), int(b)) for i, b in first]
    else:
        start = [(int(i), lo_q if fw else hi_q) for i in src_ids]
    seed_rows = []
    if seeds:
        seed_rows = con.execute(
            "SELECT rid, block_number, src, dst FROM trace_edges WHERE chain = ? AND NOT is_fee "
            "AND rid IN (SELECT unnest(?::BIGINT[]))", [chain, [s.rid for s in seeds]]).fetchall()
        for _rid, b, s, d in seed_rows:
            start.append((int(d), int(b)) if fw else (int(s), int(b)))
    reach, hops_done = subgraph.expand(con, chain, opts.direction, start, opts.max_hops, lo_q, hi_q)
    E, b0map = subgraph.pull(con, chain, opts.direction, lo_q, hi_q)
    n = E.amount.size

    # ---- which ends of each edge are tracked, active nodes
    pos_s, found_s = _lookup(reach.id, E.src)
    pos_d, found_d = _lookup(reach.id, E.dst)
    tracked_s = found_s & ~reach.stop[pos_s] if n else np.zeros(0, bool)
    tracked_d = found_d & ~reach.stop[pos_d] if n else np.zeros(0, bool)
    in_win_s = (E.block >= reach.blk[pos_s]) if fw else (E.block <= reach.blk[pos_s])
    in_win_d = (E.block >= reach.blk[pos_d]) if fw else (E.block <= reach.blk[pos_d])
    active_s = tracked_s & in_win_s
    active_d = tracked_d & in_win_d & ~E.is_fee

    all_ids = np.unique(np.concatenate([E.src[E.src >= 0], E.dst[E.dst >= 0], reach.id]))
    labels = label_map(con, all_ids)
    role_of = {i: v[5] for i, v in labels.items() if v[5]}
    source_set = set(src_ids.tolist())
    # deposit addresses recognised in the traced window
    if fw:
        exch = np.array([i for i, v in labels.items() if v[5] == ROLE_EXIT and v[2] in ("exchange", "hot_wallet")],
                        dtype=np.int64)
        cand = np.array([i for i in reach.id[~reach.stop].tolist() if i not in labels and i not in source_set],
                        dtype=np.int64)
        deps = recognise_deposits(E.src, E.dst, active_s & ~E.is_fee, cand, exch)
        if deps:  # ... and that receive from several senders (a laundering hop has one)
            many = {int(i) for (i,) in con.execute(
                "SELECT dst FROM trace_edges WHERE chain = ? AND NOT is_fee AND dst IN (SELECT unnest(?::INTEGER[])) "
                "GROUP BY dst HAVING count(DISTINCT src) >= ?", [chain, list(deps), DEPOSIT_MIN_SENDERS]).fetchall()}
            deps = {k: v for k, v in deps.items() if k in many}
        if deps:
            dep_ids = np.array(list(deps), dtype=np.int64)
            addr_rows = dict(con.execute(
                "SELECT id, address FROM trace_nodes WHERE chain = ? AND id IN (SELECT unnest(?::INTEGER[]))",
                [chain, dep_ids.tolist()]).fetchall())
            for d, w in deps.items():
                ent = labels[w][3] or labels[w][1]
                labels[d] = (addr_rows[d], f"{ent} deposit address", "deposit", ent, "deposit-heuristic-trace",
                             ROLE_EXIT)
                role_of[d] = ROLE_EXIT
            gone_s = np.isin(E.src, dep_ids)
            gone_d = np.isin(E.dst, dep_ids)
            active_s &= ~gone_s
            tracked_s &= ~gone_s
            active_d &= ~gone_d
            tracked_d &= ~gone_d

    # ---- nodes: (address, asset) of active ends
    key_s = np.where(active_s, E.src * (1 << ASSET_BITS) + E.asset, -1)
    key_d = np.where(active_d, E.dst * (1 << ASSET_BITS) + E.asset, -1)
    node_keys = np.unique(np.concatenate([key_s[key_s >= 0], key_d[key_d >= 0]]))
    src_node = np.where(active_s, np.searchsorted(node_keys, key_s), -1)
    dst_node = np.where(active_d, np.searchsorted(node_keys, key_d), -1)
    node_addr = node_keys >> ASSET_BITS
    node_asset = node_keys & ((1 << ASSET_BITS) - 1)
    b0 = np.array([b0map.get((int(a), int(s)), 0.0) for a, s in zip(node_addr, node_asset, strict=True)])
    is_source_node = np.isin(node_addr, src_ids)

    # ---- order: (block, tx_index, seq); a file without positions (tx_index < 0) orders by block only
    known = E.tx_index >= 0
    key = _dense_rank(E.block, np.where(known, E.tx_index, -1), np.where(known, E.seq, 0))

    # ---- swap groups: in one transaction, taint into a DEX comes back out of it
    swap_ids = np.array([i for i, r in role_of.items() if r in PASS_THROUGH], dtype=np.int64)
    group = np.full(n, -1, dtype=np.int64)
    role = np.zeros(n, dtype=np.int8)
    if swap_ids.size and n:
        into = active_s & np.isin(E.dst, swap_ids) & ~E.is_fee
        outof = np.isin(E.src, swap_ids) & active_d
        txk = E.block * (1 << 32) + E.tx_index + (1 << 31)
        both = np.intersect1d(txk[into], txk[outof])
        if both.size:
            gi = np.searchsorted(both, txk)
            gi_ok = (gi < both.size) & (both[np.minimum(gi, both.size - 1)] == txk)
            sel_in = into & gi_ok
            sel_out = outof & gi_ok
            group[sel_in] = gi[sel_in]
            group[sel_out] = gi[sel_out]
            role[sel_in] = ROLE_INTO_SERVICE
            role[sel_out] = ROLE_FROM_SERVICE

    assets = [a for (a,) in con.execute("SELECT asset FROM trace_assets WHERE chain = ? ORDER BY id", [chain]).fetchall()]
    pricer = Pricer(con, chain, assets)
    weight = pricer.unit_usd(E.asset, E.time_day)
    min_taint = None
    if opts.min_value > 0:
        dec = np.array([pricer.decimals[a] if pricer.decimals[a] is not None else 18 for a in E.asset], dtype=float)
        min_taint = np.where(np.isnan(weight) | (weight <= 0), opts.min_value * 10.0 ** dec, opts.min_value / weight)

    seed_frac = np.zeros(n)
    seed_by_rid = {s.rid: s for s in seeds}
    if seeds:
        for s in seeds:
            seed_frac[(E.rid == s.rid) & ~E.is_fee] = s.fraction

    g = FlowGraph(n_nodes=node_keys.size, src=src_node, dst=dst_node, amount=E.amount, out_key=key, in_key=key,
                  b0=b0, source=is_source_node, seed=seed_frac, group=group, role=role, weight=weight,
                  min_taint=min_taint)
    res = sweep(g, opts.model, opts.direction, opts.max_hops, gaps=opts.gaps)
    return _report(con, chain, result, E, g, res, opts, pricer, labels, role_of, source_set, reach, hops_done,
                   seed_by_rid, depth, after, until, params)


def _details(con: duckdb.DuckDBPyConnection, chain: str, E: subgraph.Edges, idx: np.ndarray) -> dict[int, tuple]:
    """Exact rows behind edges ``idx``: edge index -> (tx_hash, time, from, to, asset, amount int)."""
    out: dict[int, tuple] = {}
    tr = idx[~E.is_fee[idx]]
    fe = idx[E.is_fee[idx]]
    if tr.size:
        rows = con.execute(
            """SELECT t.rowid, t.block_number, t.tx_index, t.seq, t.tx_hash, t.block_time, t.from_address,
                      t.to_address, t.asset, t.amount
               FROM transfers t SEMI JOIN (SELECT unnest(?::BIGINT[]) AS rid) w ON t.rowid = w.rid
               WHERE t.chain = ? AND t.block_number BETWEEN ? AND ?""",
            [E.rid[tr].tolist(), chain, int(E.block[tr].min()), int(E.block[tr].max())]).fetchall()
        by = {r[0]: r for r in rows}
        for i in tr.tolist():
            r = by.get(int(E.rid[i]))
            if r is None or r[1] != E.block[i] or (r[2] >= 0 and r[2] != E.tx_index[i]) or r[3] != E.seq[i]:
                raise ChainsleuthError("the trace index is stale (ledger rows moved): run the trace again")
            out[i] = (r[4], r[5], r[6], r[7], r[8], int(r[9]))
    if fe.size:
        rows = con.execute(
            """SELECT x.rowid, x.block_number, x.tx_index, x.hash, x.block_time, x.from_address, x.fee
               FROM transactions x SEMI JOIN (SELECT unnest(?::BIGINT[]) AS rid) w ON x.rowid = w.rid
               WHERE x.chain = ? AND x.block_number BETWEEN ? AND ?""",
            [E.rid[fe].tolist(), chain, int(E.block[fe].min()), int(E.block[fe].max())]).fetchall()
        by = {r[0]: r for r in rows}
        native = con.execute("SELECT native_asset FROM chains WHERE chain = ?", [chain]).fetchone()[0]
        for i in fe.tolist():
            r = by.get(int(E.rid[i]))
            if r is None or r[1] != E.block[i] or r[2] != E.tx_index[i]:
                raise ChainsleuthError("the trace index is stale (ledger rows moved): run the trace again")
            out[i] = (r[3], r[4], r[5], None, native, int(r[6]))
    return out


def _report(con, chain, result: TraceResult, E, g: FlowGraph, res, opts: Options, pricer: Pricer, labels, role_of,
            source_set, reach, hops_done, seed_by_rid, depth, after, until, params) -> TraceResult:
    fw = opts.direction == "forward"
    n = E.amount.size
    tainted = np.nonzero((res.taint > 0) | (res.dropped > 0))[0]
    src_side = g.src if fw else g.dst  # the side that propagates
    src_is_source = np.zeros(n, bool)
    ok = src_side >= 0
    src_is_source[ok] = g.source[src_side[ok]]
    far_side_addr = E.dst if fw else E.src  # where the value goes (forward) / comes from (backward)
    far_node = g.dst if fw else g.src
    far_is_source = np.zeros(n, bool)
    okf = far_node >= 0
    far_is_source[okf] = g.source[far_node[okf]]
    # edges touching source nodes: their exact amounts define what was stolen (forward) / demanded (backward)
    touch_source = np.nonzero(src_is_source | far_is_source)[0]
    need = np.unique(np.concatenate([tainted, touch_source]))
    det = _details(con, chain, E, need)
    frac = np.divide(res.taint, E.amount, out=np.zeros(n), where=E.amount > 0)
    dfrac = np.divide(res.dropped, E.amount, out=np.zeros(n), where=E.amount > 0)
    exact = {int(i): exact_taint(det[int(i)][5], float(frac[i])) for i in tainted}
    dropped_exact = {int(i): exact_taint(det[int(i)][5], float(dfrac[i])) for i in tainted if dfrac[i] > 0}

    def usd_of(i: int, amount: int) -> float | None:
        w = g.weight[i] if g.weight is not None else np.nan
        return None if np.isnan(w) else float(amount) * float(w)

    def asset_name(i: int) -> str:
        return pricer.assets[int(E.asset[i])]

    def symbol(i: int) -> str | None:
        return pricer.symbol[int(E.asset[i])]

    totals: dict[tuple[str, int], dict[str, int]] = defaultdict(lambda: dict.fromkeys(TOTAL_KEYS, 0))
    usd_tot = dict.fromkeys(TOTAL_KEYS, 0.0)

    def add(kind: str, i: int, amount: int) -> None:
        add_value(kind, int(E.asset[i]), amount, usd_of(i, amount))

    def add_value(kind: str, asset: int, amount: int, usd: float | None) -> None:
        totals[(chain, asset)][kind] += amount
        if usd is not None:
            usd_tot[kind] += usd

    base_hop = min((s.hop for s in seed_by_rid.values()), default=0)

    def service_end(far: int, asset: int, amt: int, usd: float | None, tx: str, hop: int) -> None:
        ex = exits.setdefault((far, asset), {"amount": 0, "usd": None, "tx": [], "hop": hop})
        ex["amount"] += amt
        if usd is not None:
            ex["usd"] = (ex["usd"] or 0.0) + usd
        ex["tx"].append(tx)
        ex["hop"] = min(ex["hop"], hop)

    exits: dict[tuple[int, int], dict] = {}
    rests: dict[tuple[int, int], dict] = {}
    bridge_locks: list[int] = []
    mixer_deposits: list[int] = []
    at_services: list[int] = []  # edges ending at a non-custodial service (it may pass the value on)
    for i in tainted.tolist():
        amt = exact.get(i, 0)
        if i in dropped_exact:
            add("below_threshold", i, dropped_exact[i])
        if amt == 0:
            continue
        tx, t, fa, ta, asset, full = det[i]
        seed = seed_by_rid.get(int(E.rid[i])) if not E.is_fee[i] else None
        hop = int(res.hop[i]) + base_hop
        far = int(far_side_addr[i])
        far_role = role_of.get(far)
        kind = "transfer"
        if E.is_fee[i]:
            kind = "fee"
        elif g.role is not None and g.role[i] != 0:
            kind = "swap"
        elif far_role == ROLE_MIXER:
            kind = "mixer"
        elif far_role == ROLE_BRIDGE:
            kind = "bridge"
        if seed is not None and g.seed[i] > 0:
            kind = seed.kind
        result.edges.append(FlowEdge(chain=chain, tx_hash=tx, block_number=int(E.block[i]), time=t, from_=fa, to=ta,
                                     asset=asset, symbol=symbol(i), amount=amt, usd=usd_of(i, amt), hop=hop, kind=kind,
                                     probability=seed.probability if seed is not None else None))
        if seed is not None and g.seed[i] > 0:
            add("bridged_in", i, amt)
        if E.is_fee[i]:
            add("fees", i, amt)
            continue
        if far_is_source[i] and not src_is_source[i]:
            add("returned", i, amt)
            continue
        if far_node[i] >= 0:
            continue  # stays inside the traced graph: counted where it rests or leaves
        if g.role is not None and g.role[i] != 0:
            continue  # swap legs: the value continues in the other asset
        lab = labels.get(far)
        if far_role in (ROLE_EXIT, ROLE_MIXER):
            add("in_mixers" if far_role == ROLE_MIXER else "to_exits", i, amt)
            service_end(far, int(E.asset[i]), amt, usd_of(i, amt), tx, hop)
            if far_role == ROLE_MIXER:
                mixer_deposits.append(i)
        elif far_role == ROLE_BRIDGE and fw:
            bridge_locks.append(i)
        elif far_role in (ROLE_SWAP, ROLE_SERVICE, ROLE_BRIDGE):
            at_services.append(i)
        else:  # burn address, or beyond the hop limit
            r = rests.setdefault((far, int(E.asset[i])), {"amount": 0, "tx": [], "hop_limited": far_role != ROLE_BURN,
                                                          "i": i, "lab": lab})
            r["amount"] += amt
            r["tx"].append(tx)

    # ---- resting inside the graph: taint in minus taint out per node (exact integers)
    node_in = defaultdict(int)
    node_out = defaultdict(int)
    node_tx = defaultdict(list)
    for i in tainted.tolist():
        amt = exact.get(i, 0) + dropped_exact.get(i, 0)
        if amt == 0:
            continue
        if far_node[i] >= 0 and not (g.role is not None and g.role[i] == (ROLE_INTO_SERVICE if fw else ROLE_FROM_SERVICE)):
            node_in[int(far_node[i])] += exact.get(i, 0)
            node_tx[int(far_node[i])].append(det[i][0])
        if src_side[i] >= 0:
            node_out[int(src_side[i])] += amt
    node_addr = {}
    for i in range(n):
        if g.src[i] >= 0:
            node_addr[int(g.src[i])] = (int(E.src[i]), i)
        if g.dst[i] >= 0:
            node_addr[int(g.dst[i])] = (int(E.dst[i]), i)
    # source nodes: what they held in the window (end balance, exact from the window's transfers)
    src_nodes = np.nonzero(g.source)[0]
    end_bal = {int(k): 0 for k in src_nodes}
    b0_int = {int(k): int(round(g.b0[k])) for k in src_nodes}
    for i in touch_source.tolist():
        a_full = det[i][5]
        if g.src[i] >= 0 and g.source[g.src[i]]:
            end_bal[int(g.src[i])] -= a_full
        if g.dst[i] >= 0 and g.source[g.dst[i]]:
            end_bal[int(g.dst[i])] += a_full
            node_tx[int(g.dst[i])].append(det[i][0])
    for i in touch_source.tolist():
        if src_is_source[i] and not far_is_source[i]:
            add("source", i, exact.get(i, 0) + dropped_exact.get(i, 0))
    hop_limit_nodes = set(reach.id[reach.hop >= opts.max_hops].tolist())
    end_balance = np.maximum(g.b0, 0.0) + np.bincount(g.dst[g.dst >= 0], g.amount[g.dst >= 0], g.n_nodes) \
        - np.bincount(g.src[g.src >= 0], g.amount[g.src >= 0], g.n_nodes)
    for node, (addr, i) in node_addr.items():
        if g.source[node]:
            amt = max(end_bal[node] + b0_int[node], 0) if fw else 0
            if amt and fw:
                add("source", i, amt)
        elif opts.model == "poison" and fw:
            amt = max(node_in[node] - node_out[node], 0)
            if node_in[node] > 0 and addr not in hop_limit_nodes:
                # poison: the whole remaining balance is tainted
                ev_bal = max(float(end_balance[node]), 0.0)
                if not np.isclose(ev_bal, amt, rtol=1e-9, atol=0):
                    amt = int(round(ev_bal))
        else:
            amt = max(node_in[node] - node_out[node], 0)
        if amt <= 0:
            continue
        lab = labels.get(addr)
        r = rests.setdefault((addr, int(E.asset[i])), {"amount": 0, "tx": [], "hop_limited": addr in hop_limit_nodes,
                                                       "i": i, "lab": lab})
        r["amount"] += amt
        r["tx"].extend(node_tx[node])
    conts = continuation.plan(con, chain, E, g, exact, det, bridge_locks, mixer_deposits, opts, usd_of, res,
                              base_hop, result) if depth < opts.max_continuations else []
    matched = {i for c in conts for i in c.locks}
    for i in bridge_locks:
        if i in matched:
            add("bridged_out", i, exact[i])
        else:
            at_services.append(i)
    _service_ends(con, chain, E, det, exact, at_services, fw, res, base_hop, labels, pricer, usd_of, add_value,
                  service_end, result)
    addr_of = _addresses(con, chain, [k[0] for k in list(exits) + list(rests)])
    for (addr, a), ex in sorted(exits.items(), key=lambda kv: -kv[1]["amount"]):
        lab = labels.get(addr) or (addr_of.get(addr), None, None, None, None, None)
        result.exits.append(ExitPoint(address=addr_of.get(addr, lab[0]), chain=chain, label=lab[1], category=lab[2],
                                      entity=lab[3], via=lab[4], asset=pricer.assets[a], symbol=pricer.symbol[a],
                                      amount=ex["amount"], usd=ex["usd"], tx_hashes=sorted(set(ex["tx"])),
                                      hop=ex["hop"]))
    deposits = sorted({a for (a, _x) in exits if (labels.get(a) or (None,) * 3)[2] == "deposit"})
    if deposits:
        fwd = dict(con.execute(
            """SELECT s.src, n.address FROM (
                 SELECT src, arg_max(dst, cnt) AS dst FROM (
                   SELECT src, dst, count(*) AS cnt FROM trace_edges WHERE chain = ? AND NOT is_fee AND dst >= 0
                   AND src IN (SELECT unnest(?::INTEGER[])) GROUP BY src, dst) GROUP BY src) s
               JOIN trace_nodes n ON n.chain = ? AND n.id = s.dst""", [chain, deposits, chain]).fetchall())
        for x in result.exits:
            if x.category == "deposit":
                x.forwarded_to = fwd.get(next((a for a in deposits if addr_of.get(a) == x.address), -1))
    for (addr, _a), r in sorted(rests.items(), key=lambda kv: -kv[1]["amount"]):
        i = r["i"]
        lab = r["lab"]
        usd = usd_of(i, r["amount"])
        add("resting", i, r["amount"])
        result.resting.append(Resting(address=addr_of.get(addr, ""), chain=chain, label=lab[1] if lab else None,
                                      category=lab[2] if lab else None, asset=asset_name(i), symbol=symbol(i),
                                      amount=r["amount"], usd=usd, tx_hashes=sorted(set(r["tx"])),
                                      hop_limited=bool(r["hop_limited"])))
    by_asset = []
    for (ch, a), row in sorted(totals.items()):
        by_asset.append({"chain": ch, "asset": pricer.assets[a], "symbol": pricer.symbol[a], **row})
    result.totals = {"by_asset": by_asset, "usd": usd_tot, "hops": int(res.hop.max(initial=0)),
                     "iterations": res.iterations, "converged": res.converged, "expansion_hops": hops_done}
    result.edges.sort(key=lambda e: (e.block_number, e.hop, e.tx_hash))
    for c in conts:
        if c.model == "utxo":
            sub = utxo.trace_utxo(con, [], c.chain, after=None, until=None, opts=opts, params=params, seeds=c.seeds)
        else:
            sub = trace_account(con, [], c.chain, after=None, until=None, opts=opts, params=params, seeds=c.seeds,
                                depth=depth + 1)
        result.merge(sub, totals=c.kind == "bridge")
    return result


def _service_ends(con, chain, E, det, exact, edges: list[int], fw: bool, res, base_hop, labels, pricer: Pricer,
                  usd_of, add_value, service_end, result: TraceResult) -> None:
    """Report value that ended at non-custodial services, forward moved on through the same transaction's
    payments to further services (:mod:`chainsleuth.trace.passthrough`)."""
    if not edges:
        return
    asset_id = {a: k for k, a in enumerate(pricer.assets)}
    ends = [passthrough.End(address=labels[int(E.dst[i] if fw else E.src[i])][0], asset=pricer.assets[int(E.asset[i])],
                            amount=exact[i], usd=usd_of(i, exact[i]), tx_hash=det[i][0], block_number=int(E.block[i]),
                            time=det[i][1]) for i in edges]
    if fw:
        services = dict(con.execute("SELECT address, role FROM _tr_lab WHERE role IS NOT NULL AND role <> ?",
                                    [ROLE_BURN]).fetchall())

        def unit_usd(asset: str, t: datetime | None) -> float | None:
            if asset not in asset_id or t is None:
                return None
            day = (t.date() - datetime(1970, 1, 1).date()).days
            u = pricer.unit_usd(np.array([asset_id[asset]]), np.array([day]))[0]
            return None if np.isnan(u) else float(u)

        moved = passthrough.pass_on(con, chain, ends, services, unit_usd)
    else:
        moved = [[e] for e in ends]
    new_addrs = sorted({x.address for xs in moved for x in xs if x.steps})
    ids = dict(con.execute("SELECT address, id FROM trace_nodes WHERE chain = ? AND address IN "
                           "(SELECT unnest(?::VARCHAR[]))", [chain, new_addrs]).fetchall()) if new_addrs else {}
    if ids:
        labels.update(label_map(con, np.array(list(ids.values()), dtype=np.int64)))
    steps: dict[tuple, list] = {}
    for i, xs in zip(edges, moved, strict=True):
        far = int(E.dst[i] if fw else E.src[i])
        hop = int(res.hop[i]) + base_hop
        for x in xs:
            where = ids[x.address] if x.steps else far
            role = (labels.get(where) or (None,) * 6)[5]
            kind = {ROLE_EXIT: "to_exits", ROLE_MIXER: "in_mixers"}.get(role, "in_services")
            add_value(kind, asset_id[x.asset], x.amount, x.usd)
            service_end(where, asset_id[x.asset], x.amount, x.usd, x.tx_hash, hop + len(x.steps))
            for k, (fa, ta, asset, amt, usd) in enumerate(x.steps):
                st = steps.setdefault((x.tx_hash, fa, ta, asset), [0, 0.0, hop + k + 1, x])
                st[0] += amt
                st[1] += usd or 0.0
    for (tx, fa, ta, asset), (amt, usd, hop, x) in steps.items():
        role = (labels.get(ids.get(ta, -1)) or (None,) * 6)[5]
        result.edges.append(FlowEdge(chain=chain, tx_hash=tx, block_number=x.block_number, time=x.time, from_=fa, to=ta,
                                     asset=asset, symbol=pricer.symbol[asset_id[asset]], amount=amt, usd=usd or None,
                                     hop=hop, kind={ROLE_MIXER: "mixer", ROLE_BRIDGE: "bridge"}.get(role, "transfer")))


def _addresses(con: duckdb.DuckDBPyConnection, chain: str, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(con.execute(
        "SELECT id, address FROM trace_nodes WHERE chain = ? AND id IN (SELECT unnest(?::INTEGER[]))",
        [chain, sorted(set(ids))]).fetchall())
