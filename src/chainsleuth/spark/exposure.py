"""Exposure of every address on Spark: hop-bounded haircut propagation as iterative DataFrame joins.

The definition is the screening engine's (:mod:`chainsleuth.screen.exposure`; backward haircut taint after
Möser, Böhme & Breuker, "Towards Risk Scoring of Bitcoin Transactions", FC 2014 workshops), so both engines
give the same shares:

* every screened address T starts with weight 1 at time bound +inf (or ``as_of``);
* at each hop, a frontier address X (weight w, time bound t) splits w over its senders S in proportion to
  what each paid X up to t: S inherits ``w * value(S->X) / inflow(X, <= t)`` and the bound
  ``max time of S->X``; value is USD when prices are stored, else native coins;
* a sender with a risky label (incident, sanctioned, mixer) records exposure at that hop and stops; a
  stop service (exchange, hot wallet, deposit, OTC) stops without exposure; others carrying at least
  ``min_weight`` form the next frontier.

Here all screened addresses are propagated at once: the frontier is a DataFrame keyed by (target, address),
each hop is one join with the flow relation plus aggregations, and the frontier is checkpointed every hop
so the lineage stays flat. Flows are built from the lake with the same SQL semantics as
:func:`chainsleuth.screen.flows.flows_sql` (UTXO transactions split each output over the inputs in
proportion to their value). Labels, assets and prices are small and come from the DuckDB store.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from chainsleuth.spark import lake

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

FAR_FUTURE = "9999-12-31 00:00:00"


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
    as_of: datetime | None = None,
    min_weight: float = 1e-6,
    evidence_per_source: int = 5,
    checkpoint: bool = True,
) -> tuple[DataFrame, DataFrame]:
    """Backward haircut exposure of ``targets`` (DataFrame with column ``target``; default: every address
    that received value) to the risky addresses of ``labels`` (address, risk_type, is_stop), within ``hops``.

    Returns ``(exposure, received)``: exposure rows ``(hop, target, src, via, risk_type, w, value, n_tx,
    evidence)`` (evidence: JSON list of the largest flows, as the DuckDB engine writes it) and received
    ``(target, value, n)``, the value and number of flows each target received (the share denominator).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    flow = flow.where(F.col("value") > 0).select("src", "dst", "tx_hash", "block_time", "asset", "amount", "value")
    flow = flow.persist()
    lab = labels.select("address", "risk_type", "is_stop")
    risky = F.broadcast(lab.where(F.col("risk_type").isNotNull()).select(F.col("address").alias("src"), "risk_type"))
    passable = lab.where(F.col("risk_type").isNotNull() | F.coalesce(F.col("is_stop"), F.lit(False)))
    if targets is None:
        targets = flow.select(F.col("dst").alias("target")).distinct()
    t_max = (F.lit(as_of).cast("timestamp_ntz") if as_of is not None
             else F.lit(FAR_FUTURE).cast("timestamp_ntz"))
    frontier = targets.select("target").distinct().select(
        "target", F.col("target").alias("address"), F.lit(1.0).cast("double").alias("weight"), t_max.alias("t_max"))
    exposures: list[DataFrame] = []
    received = None
    for hop in range(1, hops + 1):
        i = (frontier.join(flow, (flow.dst == frontier.address) & (flow.block_time <= frontier.t_max))
             .select("target", F.col("address").alias("dst"), "weight", "src", "tx_hash", "block_time", "asset",
                     "amount", "value"))
        tot = i.groupBy("target", "dst").agg(F.sum("value").alias("tot"))
        i = i.join(tot, ["target", "dst"]).persist()
        key = ["target", "dst", "src"]
        edge = i.groupBy(*key).agg(
            F.sum(F.col("weight") * F.col("value") / F.col("tot")).alias("w"), F.sum("value").alias("value"),
            F.count(F.lit(1)).alias("n_tx"), F.max("block_time").alias("t_max"))
        edge = edge.checkpoint(eager=True) if checkpoint else edge.localCheckpoint(eager=True)
        if hop == 1:
            received = edge.groupBy("target").agg(F.sum("value").alias("value"), F.sum("n_tx").alias("n"))
            received = received.localCheckpoint(eager=True)
        # Evidence, only where exposure is recorded (risky senders): the largest flows, largest first.
        ri = i.join(risky.select("src"), "src", "left_semi")
        top = (ri.withColumn("_r", F.row_number().over(Window.partitionBy(*key).orderBy(F.col("value").desc(),
                                                                                       F.col("tx_hash"))))
               .where(F.col("_r") <= int(evidence_per_source))
               .groupBy(*key).agg(F.to_json(F.transform(
                   F.array_sort(F.collect_list(F.struct(
                       "_r", "tx_hash", F.date_format("block_time", "yyyy-MM-dd'T'HH:mm:ss").alias("time"), "asset",
                       F.col("amount").cast("string").alias("amount"), "value"))),
                   lambda x: F.struct(x["tx_hash"].alias("tx_hash"), x["time"].alias("time"),
                                      x["asset"].alias("asset"), x["amount"].alias("amount"),
                                      x["value"].alias("value")))).alias("evidence")))
        exposures.append(edge.join(risky, "src").join(top, key).select(
            F.lit(hop).alias("hop"), "target", "src", F.col("dst").alias("via"), "risk_type", "w", "value", "n_tx",
            "evidence").localCheckpoint(eager=True))
        i.unpersist()
        if hop == hops:
            break
        frontier = (edge.join(passable.select(F.col("address").alias("src")), "src", "left_anti")
                    .groupBy("target", F.col("src").alias("address"))
                    .agg(F.sum("w").alias("weight"), F.max("t_max").alias("t_max"))
                    .where(F.col("weight") >= F.lit(float(min_weight))))
    exposure = exposures[0]
    for other in exposures[1:]:
        exposure = exposure.unionByName(other)
    return exposure, received


def labels_frame(spark: SparkSession, table: pa.Table) -> DataFrame:
    """A Spark DataFrame of the screening labels (address, label, category, actor, entity, via, risk_type,
    is_stop) from the Arrow table the DuckDB side builds with :func:`chainsleuth.screen.labels.load_labels`."""
    schema = ("address string, label string, category string, actor string, entity string, via string, "
              "risk_type string, is_stop boolean")
    cols = ["address", "label", "category", "actor", "entity", "via", "risk_type", "is_stop"]
    if table.num_rows == 0:
        return spark.createDataFrame([], schema)
    return spark.createDataFrame(table.select(cols).to_pandas(), schema)
