"""The Spark trace's rows -> :class:`chainsleuth.trace.TraceResult`, with the DuckDB tracer's accounting.

Exits, resting funds and totals are decided as :mod:`chainsleuth.trace.account` decides them for a
forward trace: a tainted transfer into an exchange, hot wallet, deposit address, OTC desk or other
custodial service is an exit (``to_exits``), into a mixer ``in_mixers``, into a DEX, DeFi contract or an
unmatched bridge ``in_services``; fees are ``fees``; taint paid back to a source is ``returned``; what
stays at a traced address is ``resting`` (poison: its whole balance when it received taint; haircut and
FIFO: the taint it received less the taint it sent). Amounts are exact integers (a haircut/FIFO edge carries
:func:`chainsleuth.trace.account.exact_taint` of its amount); USD is the amount times the day's price
(:class:`chainsleuth.trace.pricing.Pricer`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from chainsleuth.trace.account import exact_taint
from chainsleuth.trace.pricing import Pricer
from chainsleuth.trace.result import TOTAL_KEYS, ExitPoint, FlowEdge, Resting, TraceResult
from chainsleuth.trace.services import labelled_roles

LABEL_COLUMNS = ["address", "label", "category", "entity", "via", "role"]
EPOCH = np.datetime64("1970-01-01", "D")


def trace_labels(con: duckdb.DuckDBPyConnection, chain: str) -> pd.DataFrame:
    """Labelled addresses with the role tracing gives them (:func:`chainsleuth.trace.services.labelled_roles`,
    as the DuckDB tracer), NULLs as None."""
    df = labelled_roles(con, chain).to_pandas()[LABEL_COLUMNS]
    return df.astype(object).where(df.notna(), None)


def _days(times: pd.Series) -> np.ndarray:
    return (pd.to_datetime(times).to_numpy().astype("datetime64[D]") - EPOCH).astype(np.int64)


def unit_usd(con: duckdb.DuckDBPyConnection, chain: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``f(asset names, days since 1970) -> USD per base unit`` (NaN: unknown), the tracer's pricing."""

    def f(assets: np.ndarray, days: np.ndarray) -> np.ndarray:
        names = sorted(set(assets.tolist()))
        idx = {a: i for i, a in enumerate(names)}
        return Pricer(con, chain, names).unit_usd(np.array([idx[a] for a in assets], dtype=np.int64), days)

    return f


def build(con: duckdb.DuckDBPyConnection, chain: str, sources: list[str], prop: Any, labels: pd.DataFrame,
          *, max_hops: int, params: dict[str, Any], warnings: list[str]) -> TraceResult:
    """Assemble the result of a forward trace from :class:`chainsleuth.spark.trace.Propagation`."""
    t, legs, nodes = prop.tainted, prop.legs, prop.nodes
    lab = {r.address: (r.label, r.category, r.entity, r.via, r.role) for r in labels.itertuples(index=False)}
    for d in prop.deposits.itertuples(index=False):
        if d.wallet is None or d.wallet != d.wallet:  # labelled before the trace (NULL / NaN from pandas)
            continue
        w = lab.get(d.wallet, (None,) * 5)
        ent = w[2] or w[0]
        lab[d.address] = (f"{ent} deposit address", "deposit", ent, "deposit-heuristic-trace", "exit")
    forwarded = dict(zip(prop.deposits["address"], prop.deposits["forwarded_to"], strict=True))
    assets = sorted(set(t["asset"]) | set(legs["asset"]) | set(nodes["asset"]))
    aidx = {a: i for i, a in enumerate(assets)}
    pricer = Pricer(con, chain, assets)

    def unit(asset: pd.Series, times: pd.Series) -> np.ndarray:
        if len(asset) == 0:
            return np.zeros(0)
        return pricer.unit_usd(asset.map(aidx).to_numpy(np.int64), _days(times))

    t = t.sort_values(["block", "ti", "sq", "eid"], kind="stable").reset_index(drop=True)
    amount = [int(x) for x in t["amount"]]
    weight = unit(t["asset"], t["block_time"])
    # Payout share of each swap: the USD-weighted tainted share of what went into the DEX in that transaction.
    share: dict[tuple, float] = {}
    if len(legs):
        w = legs["amount"].astype(float).to_numpy() * np.nan_to_num(unit(legs["asset"], legs["block_time"]), nan=0.0)
        w = np.where(w > 0, w, legs["amount"].astype(float).to_numpy())
        g = legs.assign(val=w * legs["tainted"].to_numpy(float), tot=w).groupby(["block", "tx_hash"])[["val", "tot"]].sum()
        share = {k: min(max(v / s if s > 0 else 0.0, 0.0), 1.0) for k, v, s in zip(g.index, g["val"], g["tot"], strict=True)}
    poison = prop.model == "poison"
    if poison:
        exact = [exact_taint(a, share.get((b, h), 0.0)) if r == 2 else a
                 for a, r, b, h in zip(amount, t["role"], t["block"], t["tx_hash"], strict=True)]
    else:
        exact = [exact_taint(a, float(f)) for a, f in zip(amount, t["frac"], strict=True)]

    def usd(i: int, amt: int) -> float | None:
        return None if np.isnan(weight[i]) else float(amt) * float(weight[i])

    result = TraceResult(sources=sources, chain=chain, model=prop.model, direction="forward", parameters=params,
                         warnings=warnings)
    totals: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(TOTAL_KEYS, 0))
    usd_tot = dict.fromkeys(TOTAL_KEYS, 0.0)

    def add(kind: str, asset: str, amt: int, u: float | None) -> None:
        totals[asset][kind] += amt
        if u is not None:
            usd_tot[kind] += u

    exits: dict[tuple[str, str], dict] = {}
    rests: dict[tuple[str, str], dict] = {}
    node_in: dict[tuple[str, str], int] = defaultdict(int)
    node_out: dict[tuple[str, str], int] = defaultdict(int)
    node_tx: dict[tuple[str, str], list[str]] = defaultdict(list)
    rows = zip(t["tx_hash"], t["block"], t["block_time"], t["src"], t["dst"], t["asset"], t["hop"], t["is_fee"],
               t["active_s"], t["active_d"], t["role"], t["src_is_source"], t["dst_is_source"], strict=True)
    for i, (tx, blk, time, src, dst, asset, hop, fee, act_s, act_d, role, s_src, d_src) in enumerate(rows):
        amt = exact[i]
        if act_s and s_src and not (act_d and d_src):
            add("source", asset, amt, usd(i, amt))
        if amt == 0:
            continue
        far_role = (lab.get(dst) or (None,) * 5)[4]
        kind = "fee" if fee else "swap" if role else "mixer" if far_role == "mixer" else \
            "bridge" if far_role == "bridge" else "transfer"
        result.edges.append(FlowEdge(chain=chain, tx_hash=tx, block_number=int(blk), time=time.to_pydatetime(),
                                     from_=src, to=dst, asset=asset, symbol=pricer.symbol[aidx[asset]], amount=amt,
                                     usd=usd(i, amt), hop=int(hop), kind=kind))
        if act_d and role != 1:
            node_in[(dst, asset)] += amt
            node_tx[(dst, asset)].append(tx)
        if act_s:
            node_out[(src, asset)] += amt
        if fee:
            add("fees", asset, amt, usd(i, amt))
        elif act_d and d_src and not (act_s and s_src):
            add("returned", asset, amt, usd(i, amt))
        elif act_d or role:
            continue  # stays in the traced graph, or a swap leg (the value continues in the other asset)
        elif far_role in ("exit", "mixer", "swap", "service", "bridge"):
            add({"exit": "to_exits", "mixer": "in_mixers"}.get(far_role, "in_services"), asset, amt, usd(i, amt))
            ex = exits.setdefault((dst, asset), {"amount": 0, "usd": None, "tx": [], "hop": int(hop)})
            ex["amount"] += amt
            if usd(i, amt) is not None:
                ex["usd"] = (ex["usd"] or 0.0) + usd(i, amt)
            ex["tx"].append(tx)
            ex["hop"] = min(ex["hop"], int(hop))
        else:  # a burn address, or no receiver
            r = rests.setdefault((dst, asset), {"amount": 0, "tx": [], "hop_limited": far_role != "burn", "w": weight[i]})
            r["amount"] += amt
            r["tx"].append(tx)

    hop_limited = set(prop.hop_limited["address"])
    source_set = set(sources)
    node_w = unit(nodes["asset"], nodes["last_time"])
    for j, n in enumerate(nodes.itertuples(index=False)):
        key = (n.address, n.asset)
        if n.address in source_set:
            amt = max(int(n.flow) + int(n.b0), 0)
            txs = list(n.in_txs)
            if amt:
                add("source", n.asset, amt, None if np.isnan(node_w[j]) else float(amt) * float(node_w[j]))
        else:
            amt = max(node_in[key] - node_out[key], 0)
            txs = node_tx[key]
            if poison and node_in[key] > 0 and n.address not in hop_limited:  # the whole balance is tainted
                balance = max(int(n.b0) + int(n.flow), 0)
                if not math.isclose(balance, amt, rel_tol=1e-9, abs_tol=0.0):
                    amt = balance
        if amt <= 0:
            continue
        r = rests.setdefault(key, {"amount": 0, "tx": [], "hop_limited": n.address in hop_limited, "w": node_w[j]})
        r["amount"] += amt
        r["tx"].extend(txs)

    for (addr, asset), ex in sorted(exits.items(), key=lambda kv: -kv[1]["amount"]):
        label, category, entity, via, _role = lab.get(addr) or (None,) * 5
        result.exits.append(ExitPoint(address=addr, chain=chain, label=label, category=category, entity=entity, via=via,
                                      asset=asset, symbol=pricer.symbol[aidx[asset]], amount=ex["amount"], usd=ex["usd"],
                                      tx_hashes=sorted(set(ex["tx"])), hop=ex["hop"],
                                      forwarded_to=forwarded.get(addr) if category == "deposit" else None))
    for (addr, asset), r in sorted(rests.items(), key=lambda kv: -kv[1]["amount"]):
        label, category = (lab.get(addr) or (None,) * 5)[:2]
        u = None if np.isnan(r["w"]) else float(r["amount"]) * float(r["w"])
        add("resting", asset, r["amount"], u)
        result.resting.append(Resting(address=addr or "", chain=chain, label=label, category=category, asset=asset,
                                      symbol=pricer.symbol[aidx[asset]], amount=r["amount"], usd=u,
                                      tx_hashes=sorted(set(r["tx"])), hop_limited=bool(r["hop_limited"])))
    last = int(t["hop"].max()) if len(t) else 0
    result.totals = {
        "by_asset": [{"chain": chain, "asset": a, "symbol": pricer.symbol[aidx[a]], **totals[a]} for a in sorted(totals)],
        "usd": usd_tot, "hops": last, "expansion_hops": prop.expansion_hops,
        # poison propagates on Spark until nothing new is tainted; haircut/FIFO report their sweep's own figures
        "iterations": min(last + 1, max_hops) if poison else prop.iterations,
        "converged": last < max_hops if poison else prop.converged}
    result.edges.sort(key=lambda e: (e.block_number, e.hop, e.tx_hash))
    return result
