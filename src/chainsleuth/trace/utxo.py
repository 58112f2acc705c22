"""Tracing on UTXO chains: exact per-output propagation.

Each transaction is a node whose inputs all happen before its outputs, so the account-model sweep applies
unchanged with nodes = transactions and edges = outputs (from the creating to the spending transaction):
poison taints every output of a transaction with a tainted input, haircut gives every output (and the fee)
the transaction's tainted share (Möser, Böhme & Breuker 2014), FIFO lays inputs (by input index) and then
outputs and the fee (by output index) on one tape (Anderson et al. 2019, Clayton's Case).

Forward from addresses: every output paying a source address at/after ``after`` is tainted (what the
addresses received); expansion follows spends hop by hop until outputs reach labelled services or stay
unspent. Outputs at services are exit points; unspent tainted outputs at unlabelled addresses are resting.
Backward from addresses: the outputs they received, back through the transactions that created them.
CoinJoins (forward): each participant is split off (:mod:`chainsleuth.trace.coinjoin`); its change continues,
what it mixed is a mixer exit, and post-mix outputs co-spent with its change are linked back.

Seeds, expansion and the pull run on the integer UTXO trace index (:mod:`chainsleuth.trace.utxo_index`);
hashes and addresses are translated only for the rows the trace pulls, which come in a fixed order (creating
transaction, output index, spender), so results do not depend on the order of a hash join.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import duckdb
import numpy as np

from chainsleuth.errors import ChainsleuthError, NotFoundError
from chainsleuth.trace import coinjoin
from chainsleuth.trace.pricing import Pricer
from chainsleuth.trace.result import TOTAL_KEYS, ExitPoint, FlowEdge, Resting, TraceResult
from chainsleuth.trace.services import (
    CATEGORY_ROLE,
    DEPOSIT_FORWARD_SHARE,
    DEPOSIT_MIN_SENDERS,
    ROLE_EXIT,
    ROLE_MIXER,
    labels_of,
)
from chainsleuth.trace.sweep import FlowGraph, sweep
from chainsleuth.trace.utxo_index import ensure_utxo_index, lookup

#: UTXO-only service categories that stop a trace.
UTXO_ROLES = {**CATEGORY_ROLE, "coinjoin": ROLE_MIXER}


def _time_block(con, chain: str, value, upper: bool) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        return int(value)
    t = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    if t.tzinfo is not None:
        t = (t - t.utcoffset()).replace(tzinfo=None)
    agg, cmp = ("max", "<=") if upper else ("min", ">=")
    b = con.execute(f"SELECT {agg}(block_number) FROM utxo_outputs WHERE chain = ? AND block_time {cmp} ?",
                    [chain, t]).fetchone()[0]
    return int(b) if b is not None else (-1 if upper else 2**62)


def trace_utxo(con: duckdb.DuckDBPyConnection, addrs: list[str], chain: str, *, after, until, opts, params,
               seeds: list[tuple[str, int, float, int, str]] | None = None) -> TraceResult:
    """``seeds``: (tx_hash, output_index, fraction, hop, kind) outputs tainted before the trace starts."""
    fw = opts.direction == "forward"
    result = TraceResult(sources=addrs, chain=chain, model=opts.model, direction=opts.direction, parameters=params)
    lo = _time_block(con, chain, after, False)
    hi = _time_block(con, chain, until, True)
    lo_q, hi_q = (lo if lo is not None else 0), (hi if hi is not None else 2**62)
    lab = labels_of(con, chain)
    labels = {a: (lbl, c, e, v, UTXO_ROLES.get(c)) for a, lbl, c, e, v in zip(
        *(lab.column(k).to_pylist() for k in ("address", "label", "category", "entity", "via")), strict=True)}
    stops = sorted(a for a, v in labels.items() if v[4] and a not in set(addrs))
    ensure_utxo_index(con, chain)
    c = {"c": chain}
    con.execute("CREATE OR REPLACE TEMP TABLE _u_stop AS SELECT unnest(?::INTEGER[]) AS id",
                [sorted(lookup(con, chain, "address", stops).values())])
    con.execute("CREATE OR REPLACE TEMP TABLE _u_src AS SELECT unnest(?::INTEGER[]) AS id",
                [sorted(lookup(con, chain, "address", addrs).values())])

    # ---- seed outputs (forward) / demanded outputs (backward); an output spent twice has two index rows
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _u_seed AS
        SELECT o.tx, o.output_index, 1.0::DOUBLE AS frac, 0 AS hop,
               o.tx NOT IN (SELECT p.spent_by FROM utxo_trace_outputs p JOIN _u_src s ON s.id = p.address
                            WHERE p.chain = $c AND p.spent_by >= 0) AS external
        FROM (SELECT DISTINCT o.tx, o.output_index FROM utxo_trace_outputs o JOIN _u_src s ON s.id = o.address
              WHERE o.chain = $c AND o.value IS NOT NULL AND o.block_number BETWEEN $lo AND $hi) o""",
        {**c, "lo": lo_q, "hi": hi_q})
    n_seed = con.execute("SELECT count(*) FROM _u_seed").fetchone()[0] + len(seeds or [])
    if n_seed == 0:
        raise NotFoundError(f"no outputs paying {', '.join(addrs[:3])} on {chain} in the chosen range")
    if seeds:  # bridge releases: by hash (an unknown transaction has no outputs to pull)
        ids = lookup(con, chain, "tx", [s[0] for s in seeds])
        known = [s for s in seeds if s[0] in ids]
        con.execute(
            "INSERT INTO _u_seed SELECT unnest(?::INTEGER[]), unnest(?::INTEGER[]), unnest(?::DOUBLE[]), "
            "unnest(?::INTEGER[]), TRUE",
            [[ids[s[0]] for s in known], [s[1] for s in known], [s[2] for s in known], [s[3] for s in known]])

    # ---- expansion on transaction ids: reachable by spending (forward) / creating (backward)
    con.execute("CREATE OR REPLACE TEMP TABLE _u_tx (tx INTEGER PRIMARY KEY, hop INTEGER)")
    if fw:  # the front: spends of the seeds, then of the new transactions' outputs
        con.execute(
            """CREATE OR REPLACE TEMP TABLE _u_front AS
            SELECT o.spent_by, o.spent_block FROM utxo_trace_outputs o
            SEMI JOIN _u_seed s ON s.tx = o.tx AND s.output_index = o.output_index WHERE o.chain = $c""", c)
    else:  # the front: transactions whose inputs are followed
        con.execute("CREATE OR REPLACE TEMP TABLE _u_front AS SELECT DISTINCT tx FROM _u_seed")
    hops_done = 0
    for h in range(1, opts.max_hops + 1):
        if fw:
            con.execute("""CREATE OR REPLACE TEMP TABLE _u_new AS
                SELECT DISTINCT spent_by AS tx FROM _u_front WHERE spent_by >= 0 AND spent_block <= $hi
                AND spent_by NOT IN (SELECT tx FROM _u_tx)""", {"hi": hi_q})
        else:
            con.execute("""CREATE OR REPLACE TEMP TABLE _u_new AS
                SELECT DISTINCT o.tx FROM utxo_trace_outputs o
                WHERE o.chain = $c AND o.spent_by IN (SELECT tx FROM _u_front) AND o.spent_block >= $lo
                  AND o.tx NOT IN (SELECT tx FROM _u_tx)""", {**c, "lo": lo_q})
        if con.execute("SELECT count(*) FROM _u_new").fetchone()[0] == 0:
            break
        hops_done = h
        con.execute(f"INSERT INTO _u_tx SELECT tx, {h} FROM _u_new")
        if fw:  # spends of the new transactions' outputs, unless paid to a service
            con.execute("""CREATE OR REPLACE TEMP TABLE _u_front AS
                SELECT o.spent_by, o.spent_block FROM utxo_trace_outputs o
                WHERE o.chain = $c AND o.tx IN (SELECT tx FROM _u_new) AND o.value IS NOT NULL
                  AND o.address NOT IN (SELECT id FROM _u_stop)""", c)
        else:  # the new transactions, unless they paid a service
            con.execute("""CREATE OR REPLACE TEMP TABLE _u_front AS
                SELECT tx FROM _u_new WHERE tx NOT IN (
                    SELECT o.tx FROM utxo_trace_outputs o
                    WHERE o.chain = $c AND o.tx IN (SELECT tx FROM _u_new) AND o.value IS NOT NULL
                      AND o.address IN (SELECT id FROM _u_stop))""", c)

    # ---- pull: every output created or spent by a traced transaction, plus the seeds, one row per spend;
    # hashes and addresses only for these rows
    traced = "" if hops_done == 0 else """
            SELECT tx, output_index FROM utxo_trace_outputs o SEMI JOIN _u_tx t ON t.tx = o.tx
            WHERE o.chain = $c AND o.value IS NOT NULL UNION
            SELECT tx, output_index FROM utxo_trace_outputs o SEMI JOIN _u_tx t ON t.tx = o.spent_by
            WHERE o.chain = $c AND o.value IS NOT NULL UNION"""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _u_rows AS
        WITH keys AS ({traced}
            SELECT tx, output_index FROM _u_seed)
        SELECT o.tx, o.output_index, o.block_number, o.address, o.value, o.spent_by, o.spent_index, o.spent_block
        FROM utxo_trace_outputs o SEMI JOIN keys k ON k.tx = o.tx AND k.output_index = o.output_index
        WHERE o.chain = $c AND o.value IS NOT NULL""", c)
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _u_txinfo AS
        SELECT id, hash, block_number, block_time, tx_index, fee, first_input FROM utxo_trace_txs
        WHERE chain = $c AND id IN (SELECT tx FROM _u_rows UNION SELECT spent_by FROM _u_rows
                                    UNION SELECT tx FROM _u_tx UNION SELECT tx FROM _u_seed)""", c)
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _u_addr AS
        SELECT id, address FROM utxo_trace_addresses
        WHERE chain = $c AND id IN (SELECT address FROM _u_rows UNION SELECT first_input FROM _u_txinfo)""", c)
    rows = con.execute(
        """SELECT cx.hash, r.output_index, r.block_number, cx.block_time, a.address, r.value,
                  sx.hash, r.spent_index, r.spent_block, cx.tx_index, sx.tx_index, s.frac, s.hop, s.external
        FROM _u_rows r
        JOIN _u_txinfo cx ON cx.id = r.tx
        LEFT JOIN _u_txinfo sx ON sx.id = r.spent_by
        LEFT JOIN _u_addr a ON a.id = r.address
        LEFT JOIN _u_seed s ON s.tx = r.tx AND s.output_index = r.output_index
        ORDER BY r.tx, r.output_index, r.spent_by, s.hop, s.frac""").fetchall()
    fees = con.execute(
        """SELECT x.hash, x.block_number, x.block_time, x.tx_index, x.fee FROM _u_txinfo x
           WHERE x.id IN (SELECT tx FROM _u_tx) AND x.fee > 0 ORDER BY x.id""").fetchall()
    txs = dict(con.execute("SELECT x.hash, t.hop FROM _u_tx t JOIN _u_txinfo x ON x.id = t.tx").fetchall())
    tx_ids = {t: k for k, t in enumerate(sorted(txs))}
    first_in = dict(con.execute(
        """SELECT x.hash, a.address FROM _u_txinfo x JOIN _u_addr a ON a.id = x.first_input
           WHERE x.id IN (SELECT tx FROM _u_tx UNION SELECT tx FROM _u_seed)""").fetchall())

    cjs: dict[str, coinjoin.CoinJoin] = {}
    links: list[dict] = []
    if fw:
        _recognise_deposits(con, chain, rows, labels, txs)
        mixers = {a for a, v in labels.items() if v[4] == ROLE_MIXER}
        cjs = coinjoin.detect(rows, set(txs), {f[0]: int(f[4]) for f in fees}, mixers)
        links = coinjoin.link_postmix(cjs, rows, opts.demix, opts.demix_min_probability)

    # ---- the flow graph: node = transaction; edge = output (creator -> spender) or fee (creator -> none)
    E = len(rows) + len(fees)
    src = np.full(E, -1, dtype=np.int64)
    dst = np.full(E, -1, dtype=np.int64)
    amount = np.zeros(E)
    okey = np.zeros((E, 4), dtype=np.int64)
    ikey = np.zeros((E, 4), dtype=np.int64)
    seed = np.zeros(E)
    info: list[tuple] = []
    for k, r in enumerate(rows):
        tx, oi, blk, t, address, value, sp_tx, sp_ii, sp_blk, txi, sp_txi, frac, _shop, _ext = r
        creator_in = tx in tx_ids
        spender_in = sp_tx in tx_ids if sp_tx else False
        if fw and address in labels and labels[address][4] == ROLE_EXIT:
            spender_in = False  # a (recognised) deposit address: the exchange's sweep is not followed
        if fw:
            src[k] = tx_ids[tx] if creator_in else -1
            dst[k] = tx_ids[sp_tx] if spender_in else -1
        else:  # backward: value flows the same way; demand enters at the sources' outputs
            src[k] = tx_ids[tx] if creator_in else -1
            dst[k] = tx_ids[sp_tx] if spender_in else -1
        amount[k] = float(value)
        okey[k] = (blk, txi if txi is not None else 0, 1, oi)
        ikey[k] = (sp_blk if sp_blk is not None else blk, sp_txi if sp_txi is not None else 0, 0,
                   sp_ii if sp_ii is not None else 0)
        if frac is not None and fw:
            seed[k] = frac
        info.append(("out", tx, oi, blk, t, address, int(value), frac is not None, _ext, _shop))
    for j, (tx, blk, t, txi, fee) in enumerate(fees):
        k = len(rows) + j
        src[k] = tx_ids[tx]
        amount[k] = float(fee)
        okey[k] = (blk, txi or 0, 2, 0)
        ikey[k] = okey[k]
        info.append(("fee", tx, -1, blk, t, None, int(fee), False, False, 0))
    nodes = len(tx_ids)
    if cjs:  # CoinJoins: one node per participant; what it mixes leaves the trace as a mixer exit
        src, dst, amount, okey, ikey, seed, nodes = _split_coinjoins(cjs, rows, info, labels, src, dst, amount, okey,
                                                                     ikey, seed, nodes)
        E = src.size
    allk = np.vstack([okey, ikey])
    order = np.lexsort(allk.T[::-1])
    rank = np.empty(2 * E, dtype=np.int64)
    srt = allk[order]
    diff = np.ones(2 * E, bool)
    if E:
        diff[1:] = np.any(srt[1:] != srt[:-1], axis=1)
    rank[order] = np.cumsum(diff) - 1
    source = np.zeros(nodes, bool)
    if not fw:  # backward: demand on the outputs the target addresses received
        seed_mask = np.array([x[7] for x in info])
        tgt = np.zeros(E)
        tgt[seed_mask] = 1.0
        seed = tgt
    g = FlowGraph(n_nodes=nodes, src=src, dst=dst, amount=amount, out_key=rank[:E], in_key=rank[E:],
                  b0=np.zeros(nodes), source=source, seed=seed)
    if not fw:
        g.src, g.dst = dst.copy(), src.copy()  # demand travels from spender back to creator
        g.out_key, g.in_key = -rank[E:], -rank[:E]
    res = sweep(g, opts.model, "forward", opts.max_hops, gaps=opts.gaps)
    if links:
        _coinjoin_links(chain, result, links, rows, info, labels, res)
    return _report(con, chain, result, g, res, info, labels, txs, first_in, opts, hops_done, fw)


#: Order of the pool contribution inside a CoinJoin: after every input (phase 0), before every output (1).
_POOL_KEY = 1 << 40


def _split_coinjoins(cjs, rows, info, labels, src, dst, amount, okey, ikey, seed, nodes):
    """Rewire each CoinJoin: participant p's inputs flow into a node of its own, which pays p's change, the
    equal outputs linked to p, and the rest of what p mixed into the pool (a new terminal edge, reported as
    a mixer exit at the coordinator). An input not explained as a participant puts its whole value into
    the pool. The transaction node keeps no inputs and the remaining outputs (other participants' equal
    outputs and change, the coordinator fee, the miner fee), so nothing tainted reaches them."""
    extra_src, extra_amt, extra_key = [], [], []
    for cj in cjs.values():
        r0 = rows[cj.equal[0]]
        key_addr = cj.coordinator or f"coinjoin:{cj.tx}"
        if key_addr not in labels:
            labels[key_addr] = (f"CoinJoin {cj.tx[:16]}", "coinjoin", None, "coinjoin-heuristic", ROLE_MIXER)
        pool: list[tuple[int, int]] = []
        for p in cj.participants:
            node = nodes
            nodes += 1
            for k in p.inputs:
                dst[k] = node
            if p.change is not None:
                src[p.change] = node
            linked = 0
            for k, _prob, _sig in p.linked:
                src[k] = node
                linked += int(rows[k][5])
            pool.append((node, p.mixed - linked))
        # inputs not explained as a participant: all they brought stays in the pool
        for k in cj.unmatched_inputs:
            dst[k] = nodes
            pool.append((nodes, int(rows[k][5])))
            nodes += 1
        for j, (node, pooled) in enumerate(pool):
            if pooled > 0:
                extra_src.append(node)
                extra_amt.append(pooled)
                extra_key.append((r0[2], r0[9] if r0[9] is not None else 0, 0, _POOL_KEY + j))
                info.append(("pool", cj.tx, -1, r0[2], r0[3], key_addr, pooled, False, False, 0))
    if not extra_src:
        return src, dst, amount, okey, ikey, seed, nodes
    n = len(extra_src)
    keys = np.array(extra_key, dtype=np.int64)
    return (np.concatenate([src, np.array(extra_src, dtype=np.int64)]),
            np.concatenate([dst, np.full(n, -1, dtype=np.int64)]),
            np.concatenate([amount, np.array(extra_amt, dtype=float)]),
            np.vstack([okey, keys]), np.vstack([ikey, keys]), np.concatenate([seed, np.zeros(n)]), nodes)


def _coinjoin_links(chain, result, links, rows, info, labels, res) -> None:
    """Post-mix links of tainted participants, as demix evidence (probability per equal output)."""
    taint = res.taint
    for ev in links:
        p = ev["participant"]
        if not any(taint[k] > 0 for k in p.inputs):
            continue
        cj = ev["coinjoin"]
        for k in ev["rows"]:
            r = rows[k]
            result.demix.append({"chain": chain, "mixer": cj.coordinator or f"coinjoin:{cj.tx}", "deposit_tx": cj.tx,
                                 "withdrawal_to": r[4], "withdrawal_time": r[3].isoformat(),
                                 "probability": round(ev["probability"], 4), "signals": [ev["signal"]],
                                 "candidates": len(cj.equal)})


def _recognise_deposits(con, chain: str, rows: list[tuple], labels: dict, txs: dict) -> None:
    """Unlabelled addresses whose traced outputs an exchange sweeps (a transaction paying at least
    DEPOSIT_FORWARD_SHARE of its value to exchange wallets) and that were paid by several transactions are
    that exchange's deposit addresses (labels gains them, for this trace)."""
    outs_by_tx: dict[str, list[tuple[str | None, int]]] = defaultdict(list)
    for r in rows:
        if r[0] in txs:
            outs_by_tx[r[0]].append((r[4], int(r[5])))
    exch = {a for a, v in labels.items() if v[1] in ("exchange", "hot_wallet")}
    sweep_to: dict[str, str] = {}
    for tx, outs in outs_by_tx.items():
        total = sum(v for _, v in outs)
        to_ex = [(v, a) for a, v in outs if a in exch]
        if total > 0 and to_ex and sum(v for v, _ in to_ex) >= DEPOSIT_FORWARD_SHARE * total:
            sweep_to[tx] = max(to_ex)[1]
    cands = {r[4]: sweep_to[r[6]] for r in rows if r[6] in sweep_to and r[4] and r[4] not in labels}
    if not cands:
        return
    ids = lookup(con, chain, "address", list(cands))
    by_id = {i: a for a, i in ids.items()}
    many = {by_id[i] for (i,) in con.execute(
        "SELECT address FROM utxo_trace_outputs WHERE chain = ? AND value IS NOT NULL "
        "AND address IN (SELECT unnest(?::INTEGER[])) GROUP BY address HAVING count(DISTINCT tx) >= ?",
        [chain, sorted(ids.values()), DEPOSIT_MIN_SENDERS]).fetchall()}
    for a in many:
        w = labels[cands[a]]
        ent = w[2] or w[0]
        labels[a] = (f"{ent} deposit address", "deposit", ent, "deposit-heuristic-trace", ROLE_EXIT)


def _report(con, chain, result, g, res, info, labels, txs, first_in, opts, hops_done, fw) -> TraceResult:
    native = con.execute("SELECT native_asset FROM chains WHERE chain = ?", [chain]).fetchone()[0]
    pricer = Pricer(con, chain, [native])
    totals = dict.fromkeys(TOTAL_KEYS, 0)
    usd = dict.fromkeys(TOTAL_KEYS, 0.0)

    def price(amount: int, t) -> float | None:
        day = np.array([(t.date() - datetime(1970, 1, 1).date()).days])
        u = pricer.unit_usd(np.array([0]), day)[0]
        return None if np.isnan(u) else float(amount) * float(u)

    def add(k: str, amount: int, t) -> None:
        totals[k] += amount
        p = price(amount, t)
        if p is not None:
            usd[k] += p

    exits: dict[str, dict] = {}
    rests: dict[str, dict] = {}
    frac = np.divide(res.taint, g.amount, out=np.zeros_like(g.amount), where=g.amount > 0)
    for k, (typ, tx, oi, blk, t, address, value, is_seed, external, seed_hop) in enumerate(info):
        f = float(frac[k])
        if f <= 1e-12:
            continue
        amt = value if f >= 1 - 1e-9 else int(round(value * f))
        hop = int(res.hop[k]) + (int(seed_hop) if is_seed and seed_hop else 0)
        if is_seed and external and fw:
            add("source" if result.sources else "bridged_in", amt, t)
        kind = "fee" if typ == "fee" else "transfer"
        lab = labels.get(address) if address else None
        role = lab[4] if lab else None
        if typ == "pool" or role == ROLE_MIXER:
            kind = "mixer"
        result.edges.append(FlowEdge(chain=chain, tx_hash=tx, block_number=int(blk), time=t,
                                     from_=first_in.get(tx), to=address, asset=native, symbol=native, amount=amt,
                                     usd=price(amt, t), hop=hop, kind=kind))
        if typ == "fee":
            add("fees", amt, t)
            continue
        if g.dst[k] >= 0:
            continue  # spent inside the trace (backward: created inside it)
        if role in (ROLE_EXIT, ROLE_MIXER):
            add("in_mixers" if role == ROLE_MIXER else "to_exits", amt, t)
            ex = exits.setdefault(address, {"amount": 0, "usd": None, "tx": [], "hop": hop, "lab": lab})
            ex["amount"] += amt
            p = price(amt, t)
            if p is not None:
                ex["usd"] = (ex["usd"] or 0.0) + p
            ex["tx"].append(tx)
            ex["hop"] = min(ex["hop"], hop)
        elif role is not None:
            add("in_services", amt, t)
        else:
            add("resting", amt, t)
            key = address or f"{tx}:{oi}"
            r = rests.setdefault(key, {"amount": 0, "usd": None, "tx": [], "lab": lab,
                                       "hop_limited": hop >= opts.max_hops})
            r["amount"] += amt
            p = price(amt, t)
            if p is not None:
                r["usd"] = (r["usd"] or 0.0) + p
            r["tx"].append(tx)
    for a, ex in sorted(exits.items(), key=lambda kv: -kv[1]["amount"]):
        lab = ex["lab"]
        result.exits.append(ExitPoint(address=a, chain=chain, label=lab[0], category=lab[1], entity=lab[2], via=lab[3],
                                      asset=native, symbol=native, amount=ex["amount"], usd=ex["usd"],
                                      tx_hashes=sorted(set(ex["tx"])), hop=ex["hop"]))
    for a, r in sorted(rests.items(), key=lambda kv: -kv[1]["amount"]):
        lab = r["lab"]
        result.resting.append(Resting(address=a, chain=chain, label=lab[0] if lab else None,
                                      category=lab[1] if lab else None, asset=native, symbol=native,
                                      amount=r["amount"], usd=r["usd"], tx_hashes=sorted(set(r["tx"])),
                                      hop_limited=r["hop_limited"]))
    result.edges.sort(key=lambda e: (e.block_number, e.hop, e.tx_hash))
    result.totals = {"by_asset": [{"chain": chain, "asset": native, "symbol": native, **totals}], "usd": usd,
                     "hops": int(res.hop.max(initial=0)), "iterations": res.iterations, "converged": res.converged,
                     "expansion_hops": hops_done}
    if not result.edges and result.sources:
        raise ChainsleuthError(f"nothing to trace from {', '.join(result.sources[:3])} on {chain}")
    return result
