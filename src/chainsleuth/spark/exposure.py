"""Exposure of every address on Spark: forward haircut propagation as iterative DataFrame joins.

The definition and the statements are the screening engine's (:mod:`chainsleuth.screen.propagate`), so both
engines give the same shares: every flow carries, per risky source and hop, the fraction of its value that
came from that source, computed from the fractions of what its sender had received up to the payment.
Each hop is a join of the hop's tainted flows with the flow relation, a running sum per (source, receiver)
ordered by time -- a window over the receiver's tainted inflows and its payments, which plays the part of
DuckDB's ASOF join -- and the hop state is checkpointed so the lineage stays flat. The work is linear in
(sources reached x flows) per hop, however many addresses are screened.

Flows are built from the lake with the same SQL semantics as :func:`chainsleuth.screen.flows.flows_sql`
(UTXO transactions split each output over the inputs in proportion to their value). Labels, assets and
prices are small and come from the DuckDB store.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from chainsleuth.screen.labels import STOP_ADDRESSES
from chainsleuth.spark import lake

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

def flows(
    spark: SparkSession,
    root: str,
    chain: str,
    *,
    model: str,
    native: str,
    basis: str,
    assets: DataFrame,
    prices: DataFrame,
    as_of: datetime | None = None,
) -> DataFrame:
    """Value flows (chain, tx_hash, block_number, block_time, src, dst, asset, amount, value) of one chain.

    ``assets`` (asset, symbol, decimals) and ``prices`` (symbol, day, usd) are small lookup DataFrames.
    The arithmetic follows ``flows_sql`` operation by operation so that the doubles agree bit for bit
    before aggregation.
    """
    from pyspark.sql import functions as F

    pre = f"csx_{abs(hash((root, chain, basis))):x}_"
    assets.createOrReplaceTempView(pre + "assets")
    prices.createOrReplaceTempView(pre + "prices")
    as_of_sql = "TRUE" if as_of is None else f"block_time <= TIMESTAMP_NTZ '{as_of.strftime('%Y-%m-%d %H:%M:%S.%f')}'"
    nat = native.replace("'", "''")
    if model == "account":
        lake.read_table(spark, root, "transfers", chain).createOrReplaceTempView(pre + "transfers")
        value = ("CAST(t.amount AS DOUBLE) / pow(10, coalesce(a.decimals, 18)) * p.usd" if basis == "usd" else
                 f"CASE WHEN t.asset = '{nat}' THEN CAST(t.amount AS DOUBLE) / pow(10, coalesce(a.decimals, 18)) END")
        return spark.sql(f"""
            SELECT t.chain, t.tx_hash, t.block_number, t.block_time, t.from_address AS src,
                   t.to_address AS dst, t.asset, t.amount, {value} AS value
            FROM (SELECT * FROM {pre}transfers WHERE {as_of_sql}) t
            LEFT JOIN {pre}assets a ON a.asset = t.asset
            LEFT JOIN {pre}prices p ON p.symbol = a.symbol AND p.day = CAST(t.block_time AS DATE)
            WHERE t.from_address IS NOT NULL AND t.to_address IS NOT NULL
              AND t.from_address <> t.to_address AND t.amount > 0""")
    from chainsleuth.spark.cluster import resolved_inputs

    resolved_inputs(spark, root, chain).createOrReplaceTempView(pre + "inputs")
    lake.read_table(spark, root, "utxo_outputs", chain).createOrReplaceTempView(pre + "outputs")
    value = "CAST(o.v AS DOUBLE) * CAST(i.v AS DOUBLE) / CAST(tt.tv AS DOUBLE) / 1e8"
    if basis == "usd":
        value += " * p.usd"
    out = spark.sql(f"""
        WITH ins AS (
            SELECT tx_hash, address, sum(value) AS v FROM {pre}inputs
            WHERE address IS NOT NULL AND value > 0 AND {as_of_sql}
            GROUP BY tx_hash, address),
        tt AS (SELECT tx_hash, sum(v) AS tv FROM ins GROUP BY tx_hash),
        outs AS (
            SELECT tx_hash, block_number, block_time, address, sum(value) AS v FROM {pre}outputs
            WHERE address IS NOT NULL AND value > 0 AND {as_of_sql}
            GROUP BY tx_hash, block_number, block_time, address)
        SELECT '{chain}' AS chain, o.tx_hash, o.block_number, o.block_time, i.address AS src, o.address AS dst,
               '{nat}' AS asset,
               CAST((CAST(o.v AS DECIMAL(38,0)) * CAST(i.v AS DECIMAL(38,0))) div CAST(tt.tv AS DECIMAL(38,0))
                    AS DECIMAL(38,0)) AS amount,
               {value} AS value
        FROM outs o JOIN ins i ON i.tx_hash = o.tx_hash JOIN tt ON tt.tx_hash = o.tx_hash
        LEFT JOIN {pre}assets a ON a.asset = '{nat}'
        LEFT JOIN {pre}prices p ON p.symbol = a.symbol AND p.day = CAST(o.block_time AS DATE)
        WHERE i.address <> o.address""")
    return out.withColumn("chain", F.lit(chain))


def propagate(
    spark: SparkSession,
    flow: DataFrame,
    labels: DataFrame,
    targets: DataFrame | None = None,
    *,
    hops: int = 3,
    min_weight: float = 1e-6,
    evidence_per_source: int = 5,
    checkpoint: bool = True,
) -> tuple[DataFrame, DataFrame]:
    """Exposure of ``targets`` (DataFrame with column ``target``; default: every address that received value)
    to the risky addresses of ``labels`` (address, risk_type, is_stop), within ``hops`` flows.

    Returns ``(exposure, received)``: exposure rows ``(hop, target, src, via, risk_type, w, value, n_tx,
    evidence)`` (evidence: JSON list of the target's tainted inflows, as the DuckDB engine writes it) and
    received ``(target, value, n)``, the value and number of flows each target received (the share
    denominator).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    f = (flow.where(F.col("value") > 0)
         .select(F.monotonically_increasing_id().alias("fid"), "src", "dst", F.col("block_time").alias("t"),
                 F.col("value").alias("v"), "tx_hash", "asset", "amount")
         .localCheckpoint(eager=True))
    lab = labels.select("address", "risk_type", "is_stop")
    risky = F.broadcast(lab.where(F.col("risk_type").isNotNull()).select(F.col("address").alias("s"), "risk_type"))
    nopass = F.broadcast(lab.where(F.col("risk_type").isNotNull() | F.coalesce(F.col("is_stop"), F.lit(False)))
                         .select("address")
                         .union(spark.createDataFrame([(a,) for a in STOP_ADDRESSES], "address string"))
                         .distinct())
    if targets is None:
        targets = f.select(F.col("dst").alias("target")).distinct()
    targets = targets.select("target").distinct()
    received = (targets.join(f, f.dst == targets.target, "left").groupBy("target")
                .agg(F.coalesce(F.sum("v"), F.lit(0.0)).alias("value"), F.count("fid").alias("n"))
                .localCheckpoint(eager=True))
    # Payments that can pass taint on, each with its sender's inflow up to then (kind 0 = inflow sorts first).
    pay = f.join(nopass, f.src == nopass.address, "left_anti").select("fid", F.col("src").alias("x"), "t")
    inflow = (f.join(pay.select("x").distinct(), f.dst == F.col("x"), "left_semi")
              .groupBy(F.col("dst").alias("x"), "t").agg(F.sum("v").alias("amt")))
    pay = _sum_before(inflow, pay, ["x"]).select("fid", "x", "t", F.col("cum").alias("den")).localCheckpoint(eager=True)
    a = f.join(risky, f.src == risky.s).select("s", "risk_type", "fid", F.lit(1.0).alias("a"))
    a = _keep(a, checkpoint)
    exposures: list[DataFrame] = []
    n_evidence = int(evidence_per_source)
    for hop in range(1, hops + 1):
        e = (a.join(f, "fid").join(targets, F.col("dst") == targets.target, "left_semi")
             .select("s", "risk_type", F.col("dst").alias("target"), (F.col("v") * F.col("a")).alias("tv"), "v",
                     "src", "t", "tx_hash", "asset", "amount"))
        rank = Window.partitionBy("target", "s").orderBy(F.col("tv").desc(), "tx_hash", "src", "asset", "amount")
        item = F.struct(F.col("_r"), F.col("tx_hash"),
                        F.date_format("t", "yyyy-MM-dd'T'HH:mm:ss").alias("time"), F.col("src").alias("from"),
                        F.col("asset"), F.col("amount").cast("string").alias("amount"), F.col("v").alias("value"),
                        F.col("tv").alias("tainted_value"))
        ev = F.transform(F.array_sort(F.collect_list(F.when(F.col("_r") <= n_evidence, item))),
                         lambda x: x.dropFields("_r"))
        g = (e.withColumn("_r", F.row_number().over(rank)).groupBy("target", "s", "risk_type")
             .agg(F.sum("tv").alias("value"), F.count(F.lit(1)).alias("n_tx"), ev.alias("evidence")))
        exposures.append(_keep(g.join(received.select("target", F.col("value").alias("rv")), "target").select(
            F.lit(hop).alias("hop"), "target", F.col("s").alias("src"), F.col("evidence")[0]["from"].alias("via"),
            "risk_type", (F.col("value") / F.col("rv")).alias("w"), "value", "n_tx",
            F.to_json("evidence").alias("evidence")), False))
        if hop == hops:
            break
        # Tainted inflow of every passable receiver; each later payment carries its share of the running sum.
        tin = (a.join(f, "fid").join(nopass, F.col("dst") == nopass.address, "left_anti")
               .groupBy("s", "risk_type", F.col("dst").alias("x"), "t")
               .agg(F.sum(F.col("v") * F.col("a")).alias("amt")))
        first = tin.groupBy("s", "risk_type", "x").agg(F.min("t").alias("t0"))
        cand = first.join(pay, "x").where(F.col("t") >= F.col("t0")).select("s", "risk_type", "x", "t", "fid", "den")
        a = (_sum_before(tin, cand, ["s", "x"])
             .select("s", "risk_type", "fid", (F.col("cum") / F.col("den")).alias("a"))
             .where(F.col("a") >= F.lit(float(min_weight))))
        a = _keep(a, checkpoint)
    exposure = exposures[0]
    for other in exposures[1:]:
        exposure = exposure.unionByName(other)
    return exposure, received


def _sum_before(amounts: DataFrame, payments: DataFrame, keys: list[str]) -> DataFrame:
    """``payments`` (keys, t, ...) each with ``cum``: the sum of ``amounts`` (keys, t, amt) of its keys up to
    and including its time. DuckDB's engine does this with an ASOF join over a running sum; here one window
    runs over both kinds of rows, amounts first at equal times."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    upto = Window.partitionBy(*keys).orderBy("t", "kind").rowsBetween(Window.unboundedPreceding, 0)
    rows = amounts.withColumn("kind", F.lit(0)).unionByName(payments.withColumn("kind", F.lit(1)),
                                                             allowMissingColumns=True)
    return rows.withColumn("cum", F.sum("amt").over(upto)).where(F.col("kind") == 1).drop("kind", "amt")


def _keep(df: DataFrame, reliable: bool) -> DataFrame:
    """Cut the lineage: a reliable checkpoint for the hop state, a local one for small per-hop results."""
    return df.checkpoint(eager=True) if reliable else df.localCheckpoint(eager=True)


def labels_frame(spark: SparkSession, table: pa.Table) -> DataFrame:
    """A Spark DataFrame of the screening labels (address, label, category, actor, entity, via, risk_type,
    is_stop) from the Arrow table the DuckDB side builds with :func:`chainsleuth.screen.labels.load_labels`."""
    schema = ("address string, label string, category string, actor string, entity string, via string, "
              "risk_type string, is_stop boolean")
    cols = ["address", "label", "category", "actor", "entity", "via", "risk_type", "is_stop"]
    if table.num_rows == 0:
        return spark.createDataFrame([], schema)
    return spark.createDataFrame(table.select(cols).to_pandas(), schema)
