"""Bulk forward tracing on Spark: the poison taint model of :mod:`chainsleuth.trace` as iterative joins.

``trace --engine spark`` follows many sources at once over a whole account chain in the lake. It makes the
DuckDB tracer's decisions step for step, so both engines report the same exits and totals:

1. **Reach** (:mod:`chainsleuth.trace.subgraph`): a hop-bounded earliest-arrival search by block from each
   source's first block; labelled services are reached but not expanded; a DEX carries reachability to
   whoever the same transaction pays. One join of the frontier with the ledger per hop.
2. **Active edges**: a transfer leaves a tracked address at or after the block it became reachable, and
   enters a tracked address likewise (gas fees only leave). Unlabelled addresses that send at least 95 % of
   their transfers in the window to one exchange wallet, and received from two senders or more, are that
   exchange's deposit addresses: exits, not tracked (:func:`chainsleuth.trace.services.recognise_deposits`).
3. **Poison** (:mod:`chainsleuth.trace.sweep`): a node is an (address, asset) balance; once it has received
   taint, every later outflow (order: block, transaction index, position) is wholly tainted; sources'
   outflows are tainted from the start; taint paid into a DEX comes back out of the same transaction,
   weighted by USD value. Iteration *h* taints the edges at the end of tainted paths of *h* edges (the
   sweep's Jacobi iteration), so each edge gets the same hop number. Each iteration joins only the nodes
   whose first tainted arrival moved earlier (a delta step), and checkpoints the tainted set.

4. **Haircut and FIFO**: steps 1-2 (and the deposit and swap decisions) run on Spark as above; the traced
   subgraph they select (edges with a tracked end in its window: the rows the DuckDB tracer pulls into memory
   too) and each node's balance before its window come to the driver, where
   :func:`chainsleuth.trace.sweep.sweep` - the DuckDB engine's own code - propagates the taint. Both models
   need each node's time-ordered balance history re-scanned every iteration, a sequential recurrence (a
   product of per-outflow multipliers for haircut, a tape of lots for FIFO) that DataFrame window functions
   can express only approximately (different summation order, underflow handling) - running the same sweep on
   the same graph makes the results the same, not merely close. Its memory bound is the traced subgraph
   (as for the DuckDB engine), not the chain.

Bridges and mixers
end the trace here: a bridge lock is reported as an unmatched bridge (``in_services``), without the
continuation on the other chain that the DuckDB engine adds, and value a service passes on to another
service in the same transaction stays reported at the first (:mod:`chainsleuth.trace.passthrough` is DuckDB's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chainsleuth.spark import lake
from chainsleuth.trace.services import DEPOSIT_FORWARD_SHARE, DEPOSIT_MIN_SENDERS

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np
    import pandas as pd
    from pyspark.sql import Column, DataFrame, SparkSession

    from chainsleuth.trace.sweep import SweepResult

    UnitUsd = Callable[[np.ndarray, np.ndarray], np.ndarray]

ROLE_TAKE, ROLE_GIVE = 1, 2  # edges into a DEX / out of it, within one swap transaction (as in trace.sweep)
NO_LIMIT = 2**62


@dataclass
class Propagation:
    """What the Spark side hands to the report (all small: the trace's own rows)."""

    tainted: pd.DataFrame  # one row per tainted edge: its columns, hop, which ends are tracked / sources
    legs: pd.DataFrame  # DEX legs of the swaps that paid out taint (the payout's tainted share)
    nodes: pd.DataFrame  # per (address, asset) node with tainted inflow, or of a source: balances
    hop_limited: pd.DataFrame  # addresses first reached at the hop limit
    deposits: pd.DataFrame  # deposit addresses reached: address, wallet (if recognised here), forwarded_to
    expansion_hops: int
    max_hop: int
    model: str = "poison"  # haircut / FIFO: ``tainted`` has a ``frac`` column (tainted share of the amount)
    iterations: int | None = None  # of the driver-side sweep (haircut / FIFO)
    converged: bool | None = None


def edges(spark: SparkSession, root: str, chain: str, native: str | None) -> DataFrame:
    """The trace index of :mod:`chainsleuth.trace.index` from the lake: transfers (amount > 0, not to self)
    and gas fees, with their order key ``k`` = (block, transaction index, position); transfers of unknown
    position order by block only. Amounts of 10^38 or more (kept as text in the lake) are left out."""
    from pyspark.sql import functions as F

    tr = lake.read_table(spark, root, "transfers", chain)
    known = F.coalesce(F.col("tx_index") >= 0, F.lit(False))
    t = tr.where((F.col("amount") > 0) & ~F.col("from_address").eqNullSafe(F.col("to_address"))).select(
        F.col("block_number").alias("block"), "block_time", "tx_hash",
        _key(F.when(known, F.col("tx_index")).otherwise(-1), F.when(known, F.col("seq")).otherwise(0)),
        F.col("from_address").alias("src"), F.col("to_address").alias("dst"), "asset", "amount",
        F.lit(False).alias("is_fee"))
    if native is None:
        return t
    x = lake.read_table(spark, root, "transactions", chain)
    fees = x.where((F.col("fee") > 0) & F.col("from_address").isNotNull()).select(
        F.col("block_number").alias("block"), "block_time", F.col("hash").alias("tx_hash"),
        _key(F.when(known, F.col("tx_index")).otherwise(-1), F.when(known, F.lit(-1)).otherwise(0)),
        F.col("from_address").alias("src"), F.lit(None).cast("string").alias("dst"), F.lit(native).alias("asset"),
        F.col("fee").alias("amount"), F.lit(True).alias("is_fee"))
    return t.unionByName(fees)


def _key(tx_index: Column, seq: Column) -> Column:
    from pyspark.sql import functions as F

    return F.struct(F.col("block_number").cast("long").alias("b"), tx_index.cast("long").alias("i"),
                    seq.cast("long").alias("s")).alias("k")


def block_bound(e: DataFrame, value: int | str | None, *, upper: bool) -> int | None:
    """:func:`chainsleuth.trace.account.block_of` over the lake: a block number as is; an ISO time -> the
    first block at/after it (``upper``: the last at/before it)."""
    from datetime import datetime

    from pyspark.sql import functions as F

    from chainsleuth.errors import ChainsleuthError

    if value is None or isinstance(value, int):
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ChainsleuthError(f"not a block number or ISO time: {value!r}") from None
    if t.tzinfo is not None:
        t = (t - t.utcoffset()).replace(tzinfo=None)
    at = F.lit(t).cast("timestamp_ntz")
    row = (e.where(F.col("block_time") <= at).agg(F.max("block")) if upper
           else e.where(F.col("block_time") >= at).agg(F.min("block"))).first()
    if row[0] is None:
        return -1 if upper else NO_LIMIT
    return int(row[0])


def reach(e: DataFrame, start: DataFrame, stops: DataFrame, swaps: DataFrame, max_hops: int,
          lo: int, hi: int) -> tuple[DataFrame, int]:
    """:func:`chainsleuth.trace.subgraph.expand` forward: ``(address, blk, hop, stop)`` of every address
    reached from ``start`` (address, blk) within ``max_hops``, and the number of hops that reached new ones."""
    from pyspark.sql import functions as F

    win = e.where(F.col("block").between(lo, hi) & F.col("dst").isNotNull()).select(
        "src", "dst", "block", "tx_hash").persist()
    sw = F.broadcast(swaps.select("address"))
    has_swap = swaps.limit(1).count() > 0
    r = start.groupBy("address").agg(F.min("blk").alias("blk")).select(
        "address", "blk", F.lit(0).alias("hop"), F.lit(False).alias("stop")).localCheckpoint(eager=True)
    front = r.select("address", "blk")
    done = 0
    for h in range(1, max_hops + 1):
        out = win.join(front.withColumnRenamed("address", "src").withColumnRenamed("blk", "fblk"), "src") \
            .where(F.col("block") >= F.col("fblk"))
        hit = out.groupBy(F.col("dst").alias("address")).agg(F.min("block").alias("blk"))
        if has_swap:
            into = out.join(sw.withColumnRenamed("address", "dst"), "dst", "left_semi").select("block", "tx_hash") \
                .distinct()
            back = (win.join(sw.withColumnRenamed("address", "src"), "src", "left_semi")
                    .join(sw.withColumnRenamed("address", "dst"), "dst", "left_anti")
                    .join(into, ["block", "tx_hash"], "left_semi")
                    .groupBy(F.col("dst").alias("address")).agg(F.min("block").alias("blk")))
            hit = hit.unionByName(back).groupBy("address").agg(F.min("blk").alias("blk"))
        better = (hit.join(r.select("address", F.col("blk").alias("old")), "address", "left")
                  .where(F.col("old").isNull() | (F.col("blk") < F.col("old"))).select("address", "blk")
                  .localCheckpoint(eager=True))
        if better.limit(1).count() == 0:
            break
        done = h
        is_stop = better.join(stops, "address", "left_semi").select("address").withColumn("_s", F.lit(True))
        r = (r.join(better.withColumnRenamed("blk", "nblk"), "address", "full_outer")
             .join(is_stop, "address", "left")
             .select("address", F.coalesce("nblk", "blk").alias("blk"), F.coalesce("hop", F.lit(h)).alias("hop"),
                     F.coalesce("stop", "_s", F.lit(False)).alias("stop"))
             .localCheckpoint(eager=True))
        front = better.join(stops, "address", "left_anti")
    win.unpersist()
    return r, done


def active_edges(e: DataFrame, r: DataFrame, hi: int) -> DataFrame:
    """Edges with a tracked end in its window (:func:`chainsleuth.trace.subgraph.pull`), flagged
    ``active_s`` (leaves a tracked address) and ``active_d`` (enters one; fees never do)."""
    from pyspark.sql import functions as F

    live = r.where(~F.col("stop")).select("address", "blk")
    s = live.select(F.col("address").alias("src"), F.col("blk").alias("blk_s"))
    d = live.select(F.col("address").alias("dst"), F.col("blk").alias("blk_d"))
    x = e.join(s, "src", "left").join(d, "dst", "left")
    act_s = F.coalesce((F.col("block") >= F.col("blk_s")) & (F.col("block") <= hi), F.lit(False))
    act_d = F.coalesce((F.col("block") >= F.col("blk_d")) & (F.col("block") <= hi) & ~F.col("is_fee"), F.lit(False))
    return x.select(*e.columns, act_s.alias("active_s"), act_d.alias("active_d")).where("active_s OR active_d")


def recognise_deposits(e: DataFrame, a: DataFrame, r: DataFrame, labels: DataFrame, sources: DataFrame) -> DataFrame:
    """``(address, wallet)``: unlabelled reached addresses that send >= 95 % of their transfers in the
    window to one exchange wallet and received from at least two senders (ledger-wide)."""
    from pyspark.sql import functions as F

    cand = (r.where(~F.col("stop")).select("address").join(labels, "address", "left_anti")
            .join(sources, "address", "left_anti"))
    exch = labels.where("role = 'exit' AND category IN ('exchange', 'hot_wallet')").select(F.col("address").alias("dst"))
    per = (a.where("active_s AND NOT is_fee").join(cand.withColumnRenamed("address", "src"), "src", "left_semi")
           .groupBy("src", "dst").agg(F.count(F.lit(1)).alias("n")))
    tot = per.groupBy("src").agg(F.sum("n").alias("tot"))
    best = (per.join(F.broadcast(exch), "dst", "left_semi").groupBy("src")
            .agg(F.max_by("dst", "n").alias("wallet"), F.max("n").alias("n"))
            .join(tot, "src").where(F.col("n") / F.col("tot") >= DEPOSIT_FORWARD_SHARE))
    senders = (e.where(~F.col("is_fee")).join(best.select(F.col("src").alias("dst")), "dst", "left_semi")
               .groupBy("dst").agg(F.countDistinct(F.coalesce("src", F.lit(""))).alias("n"))
               .where(F.col("n") >= DEPOSIT_MIN_SENDERS))
    return best.join(senders.select(F.col("dst").alias("src")), "src", "left_semi").select(
        F.col("src").alias("address"), "wallet")


def _swap_roles(a: DataFrame, swaps: DataFrame) -> DataFrame:
    """``role``: 1 for an edge into a DEX and 2 for one out of it, in transactions that have both."""
    from pyspark.sql import functions as F

    sw = F.broadcast(swaps.select("address").withColumn("_sw", F.lit(True)))
    x = (a.join(sw.withColumnRenamed("address", "dst").withColumnRenamed("_sw", "dst_swap"), "dst", "left")
         .join(sw.withColumnRenamed("address", "src").withColumnRenamed("_sw", "src_swap"), "src", "left"))
    into = F.col("active_s") & F.coalesce("dst_swap", F.lit(False)) & ~F.col("is_fee")
    outof = F.coalesce("src_swap", F.lit(False)) & F.col("active_d")
    x = x.withColumn("_r", F.when(into, ROLE_TAKE).when(outof, ROLE_GIVE).otherwise(0))
    both = (x.where("_r > 0").groupBy("block", "tx_hash")
            .agg(F.max(F.col("_r") == ROLE_TAKE).alias("t"), F.max(F.col("_r") == ROLE_GIVE).alias("g"))
            .where("t AND g").select("block", "tx_hash", F.lit(True).alias("_grp")))
    x = x.join(both, ["block", "tx_hash"], "left")
    return x.withColumn("role", F.when(F.coalesce("_grp", F.lit(False)), F.col("_r")).otherwise(0)).drop(
        "_r", "_grp", "dst_swap", "src_swap")


def poison(a: DataFrame, sources: DataFrame, max_hops: int) -> tuple[DataFrame, int]:
    """Hop of every edge the poison model taints (forward): ``(eid, hop)``; and the last iteration that
    tainted something. ``a`` has eid, k, src, dst, asset, active_s, active_d, role, block, tx_hash."""
    from pyspark.sql import functions as F

    outs = a.where("active_s").select("eid", "k", "src", "asset", "role", "block", "tx_hash").persist()
    give = a.where(f"role = {ROLE_GIVE}").select("eid", "block", "tx_hash")
    arrive = a.where(f"active_d AND role <> {ROLE_TAKE}").select("eid", "k", "dst", "asset")

    def with_swaps(new: DataFrame, tainted: DataFrame | None) -> DataFrame:
        hit = new.where(f"role = {ROLE_TAKE}").select("block", "tx_hash").distinct()
        out = give.join(hit, ["block", "tx_hash"], "left_semi").select("eid")
        if tainted is not None:
            out = out.join(tainted, "eid", "left_anti")
        return new.select("eid").unionByName(out).distinct()

    new = with_swaps(outs.join(sources.withColumnRenamed("address", "src"), "src", "left_semi"), None)
    tainted = new.withColumn("hop", F.lit(1)).localCheckpoint(eager=True)
    first = None
    last = 1
    for h in range(2, max_hops + 1):
        got = (arrive.join(new, "eid", "left_semi").groupBy(F.col("dst").alias("src"), "asset")
               .agg(F.min("k").alias("kn")))
        if first is not None:
            got = (got.join(first.withColumnRenamed("k", "ko"), ["src", "asset"], "left")
                   .where(F.col("ko").isNull() | (F.col("kn") < F.col("ko"))))
        else:
            got = got.withColumn("ko", F.lit(None).cast(got.schema["kn"].dataType))
        got = got.localCheckpoint(eager=True)
        if got.limit(1).count() == 0:
            break
        step = (outs.join(got, ["src", "asset"])
                .where((F.col("k") >= F.col("kn")) & (F.col("ko").isNull() | (F.col("k") < F.col("ko"))))
                .join(tainted, "eid", "left_anti"))
        new = with_swaps(step, tainted).localCheckpoint(eager=True)
        upd = got.select("src", "asset", F.col("kn").alias("k"))
        first = (upd if first is None else first.join(upd, ["src", "asset"], "left_anti").unionByName(upd)) \
            .localCheckpoint(eager=True)
        if new.limit(1).count() == 0:
            break
        tainted = tainted.unionByName(new.withColumn("hop", F.lit(h)))  # a union of checkpoints: flat lineage
        last = h
    outs.unpersist()
    return tainted, last


def sweep_subgraph(spark: SparkSession, e: DataFrame, a: DataFrame, r: DataFrame, sources: list[str], model: str,
                   max_hops: int, unit_usd: UnitUsd, gaps: str = "proportional") -> tuple[DataFrame, SweepResult]:
    """Haircut / FIFO: the traced subgraph ``a`` to the driver as the DuckDB tracer's
    :class:`chainsleuth.trace.sweep.FlowGraph` (nodes = (address, asset) of active ends, order key = dense rank
    of (block, transaction index, position), balance before the window, swap groups, USD weights), swept
    there. Returns ``(eid, hop, frac)`` of the tainted edges as a DataFrame, and the sweep's result."""
    import numpy as np
    import pandas as pd
    from pyspark.sql import functions as F

    from chainsleuth.trace.sweep import FlowGraph, sweep

    rows = (a.select("eid", "block", "block_time", "tx_hash", F.col("k.i").alias("ti"), F.col("k.s").alias("sq"),
                     "src", "dst", "asset", F.col("amount").cast("string").alias("amount"), "active_s", "active_d",
                     "role").toPandas()
            .sort_values(["block", "ti", "sq", "eid"], kind="stable").reset_index(drop=True))
    n = len(rows)
    ends = (a.where("active_s").select(F.col("src").alias("address"), "asset")
            .unionByName(a.where("active_d").select(F.col("dst").alias("address"), "asset")).distinct())
    blk = r.where(~F.col("stop")).select("address", "blk")
    b0 = (e.select(F.col("src").alias("address"), "asset", (-F.col("amount")).alias("v"), "block")
          .unionByName(e.select(F.col("dst").alias("address"), "asset", F.col("amount").alias("v"), "block"))
          .join(blk, "address").where(F.col("block") < F.col("blk")).join(ends, ["address", "asset"], "left_semi")
          .groupBy("address", "asset").agg(F.sum("v").alias("b0")).where(F.col("b0") > 0)
          .select(F.concat_ws("|", "address", "asset").alias("node"), F.col("b0").cast("string").alias("b0"))
          .toPandas())
    act_s, act_d = rows["active_s"].to_numpy(bool), rows["active_d"].to_numpy(bool)
    node_of = np.concatenate([np.where(act_s, rows["src"].fillna("") + "|" + rows["asset"], None),
                              np.where(act_d, rows["dst"].fillna("") + "|" + rows["asset"], None)])
    codes, nodes = pd.factorize(node_of)  # None (not an active end) -> -1
    nodes = np.asarray(nodes, dtype=object)
    b0_of = dict(zip(b0["node"], b0["b0"], strict=True))
    role = rows["role"].to_numpy(np.int8)
    swap_tx = np.where(role > 0, rows["block"].astype(str) + " " + rows["tx_hash"], None)
    group = pd.factorize(swap_tx)[0].astype(np.int64)
    days = (pd.to_datetime(rows["block_time"]).to_numpy().astype("datetime64[D]")
            - np.datetime64("1970-01-01", "D")).astype(np.int64)
    order_key = rows.groupby(["block", "ti", "sq"], sort=True).ngroup().to_numpy(np.int64)
    g = FlowGraph(
        n_nodes=len(nodes), src=codes[:n].astype(np.int64), dst=codes[n:].astype(np.int64),
        amount=rows["amount"].astype(float).to_numpy(np.float64),  # decimal strings, correctly rounded
        out_key=order_key, in_key=order_key,
        b0=np.array([float(int(b0_of.get(k, "0"))) for k in nodes], dtype=np.float64),
        source=np.isin(np.array([k.split("|")[0] for k in nodes], dtype=object), np.array(sources, dtype=object)),
        seed=np.zeros(n), group=group, role=role,
        weight=unit_usd(rows["asset"].to_numpy(object), days) if n else np.zeros(0))
    res = sweep(g, model, "forward", max_hops, gaps=gaps)
    hit = np.nonzero(res.taint > 0)[0]
    out = pd.DataFrame({"eid": rows["eid"].to_numpy(np.int64)[hit], "hop": res.hop[hit].astype(np.int32),
                        "frac": res.taint[hit] / g.amount[hit]})
    schema = "eid long, hop int, frac double"
    df = spark.createDataFrame(out, schema) if len(out) else spark.createDataFrame([], schema)
    return df.localCheckpoint(eager=True), res


def run(spark: SparkSession, root: str, chain: str, sources: list[str], labels: pd.DataFrame, native: str | None,
        *, max_hops: int, after: int | str | None = None, until: int | str | None = None, model: str = "poison",
        unit_usd: UnitUsd | None = None, gaps: str = "proportional") -> Propagation:
    """Reach, active edges, deposits and taint propagation for ``sources`` (normalised addresses).

    ``labels``: (address, label, category, entity, via, role) of every labelled address, burn addresses
    included (role NULL where the category does not stop a trace). ``model`` poison propagates on Spark;
    haircut and fifo sweep the traced subgraph on the driver (:func:`sweep_subgraph`), with ``unit_usd``
    (asset names, days since 1970 -> USD per base unit) valuing swaps and ``gaps`` as the DuckDB tracer's.
    Returns the trace's own rows.
    """
    from pyspark.sql import functions as F

    e = edges(spark, root, chain, native).persist()
    lo, hi = block_bound(e, after, upper=False), block_bound(e, until, upper=True)
    lo_q, hi_q = (0 if lo is None else lo), (NO_LIMIT if hi is None else hi)
    src_df = F.broadcast(spark.createDataFrame([(s,) for s in sources], "address string"))
    lab = F.broadcast(spark.createDataFrame(labels, "address string, label string, category string, entity string, "
                                                    "via string, role string") if len(labels) else
                      spark.createDataFrame([], "address string, label string, category string, entity string, "
                                                "via string, role string"))
    stops = lab.where(F.col("role").isNotNull()).select("address").join(src_df, "address", "left_anti")
    swaps = lab.where(F.col("role").isin("swap", "bridge", "service")).select("address")
    ends = (e.select(F.col("src").alias("address"), "block").unionByName(e.select(F.col("dst").alias("address"), "block"))
            .join(src_df, "address", "left_semi"))
    if lo is None:
        start = ends.groupBy("address").agg(F.min("block").alias("blk"))
    else:
        start = ends.select("address").distinct().withColumn("blk", F.lit(lo_q).cast("long"))
    r, expansion_hops = reach(e, start, stops, swaps, max_hops, lo_q, hi_q)
    a = active_edges(e, r, hi_q)
    deps = recognise_deposits(e, a, r, lab, src_df).localCheckpoint(eager=True)
    gone = deps.select("address").withColumn("_dep", F.lit(True))
    a = (a.join(gone.withColumnRenamed("address", "src").withColumnRenamed("_dep", "dep_s"), "src", "left")
         .join(gone.withColumnRenamed("address", "dst").withColumnRenamed("_dep", "dep_d"), "dst", "left")
         .withColumn("active_s", F.col("active_s") & F.col("dep_s").isNull())
         .withColumn("active_d", F.col("active_d") & F.col("dep_d").isNull())
         .drop("dep_s", "dep_d").where("active_s OR active_d"))
    a = _swap_roles(a, swaps).withColumn("eid", F.monotonically_increasing_id()).checkpoint(eager=True)
    swept: tuple[int, bool] | None = None
    if model == "poison":
        tainted, last = poison(a, src_df, max_hops)
    else:
        if unit_usd is None:
            raise ValueError(f"the {model} model needs unit_usd (swap valuation)")
        tainted, res = sweep_subgraph(spark, e, a, r, sources, model, max_hops, unit_usd, gaps)
        swept, last = (res.iterations, res.converged), int(res.hop.max(initial=0))
    is_src = src_df.withColumn("_s", F.lit(True))
    t = (a.join(tainted, "eid")
         .join(is_src.withColumnRenamed("address", "src").withColumnRenamed("_s", "src_is_source"), "src", "left")
         .join(is_src.withColumnRenamed("address", "dst").withColumnRenamed("_s", "dst_is_source"), "dst", "left")
         .persist())
    # Swap groups that paid out taint: all their legs (the taint share of a payout is the groups' USD mix).
    groups = t.where(f"role = {ROLE_GIVE}").select("block", "tx_hash").distinct()
    if swept:  # the sweep already gave each payout its swap group's tainted share
        groups = groups.limit(0)
    legs = a.where(f"role = {ROLE_TAKE}").join(groups, ["block", "tx_hash"], "left_semi").join(
        tainted.select("eid", F.lit(True).alias("leg_tainted")), "eid", "left")
    nodes = _node_balances(e, a, r, t, src_df)
    reached = t.select(F.col("dst").alias("address")).distinct()
    hop_limited = r.where(F.col("hop") >= max_hops).select("address").join(reached, "address", "left_semi")
    # Deposit addresses the taint reached (labelled, or recognised here): the wallet each one sweeps to.
    dep_all = (lab.where("category = 'deposit'").select("address").unionByName(deps.select("address")).distinct()
               .join(reached, "address", "left_semi"))
    fwd = (e.where(~F.col("is_fee") & F.col("dst").isNotNull()).join(dep_all.withColumnRenamed("address", "src"), "src",
                                                                      "left_semi")
           .groupBy("src", "dst").agg(F.count(F.lit(1)).alias("n")).groupBy("src")
           .agg(F.max_by("dst", "n").alias("forwarded_to")).withColumnRenamed("src", "address"))
    cols = ["eid", "hop", *(["frac"] if swept else []), "block", "block_time", "tx_hash", F.col("k.i").alias("ti"),
            F.col("k.s").alias("sq"),
            "src", "dst", "asset", F.col("amount").cast("string").alias("amount"), "is_fee", "active_s", "active_d",
            "role",
            F.coalesce("src_is_source", F.lit(False)).alias("src_is_source"),
            F.coalesce("dst_is_source", F.lit(False)).alias("dst_is_source")]
    out = Propagation(
        tainted=t.select(*cols).toPandas(),
        legs=legs.select("block", "tx_hash", "block_time", "asset", F.col("amount").cast("string").alias("amount"),
                         F.coalesce("leg_tainted", F.lit(False)).alias("tainted")).toPandas(),
        nodes=nodes.toPandas(),
        hop_limited=hop_limited.toPandas(),
        deposits=dep_all.join(deps, "address", "left").join(fwd, "address", "left").toPandas(),
        expansion_hops=expansion_hops, max_hop=last, model=model,
        iterations=swept[0] if swept else None, converged=swept[1] if swept else None)
    t.unpersist()
    e.unpersist()
    return out


def _node_balances(e: DataFrame, a: DataFrame, r: DataFrame, t: DataFrame, sources: DataFrame) -> DataFrame:
    """Per node with tainted inflow, and per source node: ``flow`` (active inflows minus outflows, exact),
    ``b0`` (balance before the window, when positive), the time of its last active edge (USD day) and, for
    sources, the transactions that paid into it."""
    from pyspark.sql import functions as F

    base = ["asset", "amount", "block", "block_time", "tx_hash"]
    ev = (a.where("active_d").select(F.col("dst").alias("address"), *base, F.lit(1).alias("dir"))
          .unionByName(a.where("active_s").select(F.col("src").alias("address"), *base, F.lit(-1).alias("dir"))))
    want = (t.where("active_d").select(F.col("dst").alias("address"), "asset")
            .unionByName(ev.join(sources, "address", "left_semi").select("address", "asset")).distinct())
    is_src = sources.withColumn("_src", F.lit(True))
    agg = (ev.join(want, ["address", "asset"], "left_semi").join(is_src, "address", "left")
           .groupBy("address", "asset").agg(
               F.sum(F.when(F.col("dir") == 1, F.col("amount")).otherwise(-F.col("amount"))).alias("flow"),
               F.max_by("block_time", "block").alias("last_time"),
               F.collect_set(F.when((F.col("dir") == 1) & F.col("_src").isNotNull(), F.col("tx_hash"))).alias("in_txs")))
    blk = r.where(~F.col("stop")).select("address", "blk").join(want.select("address").distinct(), "address", "left_semi")
    before = (e.select(F.col("src").alias("address"), "asset", (-F.col("amount")).alias("v"), "block")
              .unionByName(e.select(F.col("dst").alias("address"), "asset", F.col("amount").alias("v"), "block"))
              .join(blk, "address").where(F.col("block") < F.col("blk"))
              .groupBy("address", "asset").agg(F.sum("v").alias("b0")).where(F.col("b0") > 0))
    return agg.join(before, ["address", "asset"], "left").select(
        "address", "asset", F.col("flow").cast("string").alias("flow"),
        F.coalesce("b0", F.lit(0)).cast("string").alias("b0"), "last_time", "in_txs")
