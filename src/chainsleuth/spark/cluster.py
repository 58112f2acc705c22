"""UTXO address clustering on Spark: the DuckDB engine's heuristics, with distributed connected components.

The links are those of :func:`chainsleuth.cluster.utxo.cluster_utxo`, expressed in Spark SQL over the lake:
multi-input (common-input ownership; Meiklejohn et al. 2013, "A Fistful of Bitcoins", IMC) and the
conservative one-time-change heuristic, after excluding CoinJoins (equal outputs, tagged inputs, listed),
their post-mix spends and transactions whose inputs carry two entities' tags. Clusters are the connected
components of the address graph, so both engines produce the same partition of addresses.

Connected components use the **large-star / small-star** algorithm of Kiveris, Lattanzi, Mirrokni, Rastogi
and Vassilvitskii, "Connected Components in MapReduce and Beyond" (SoCC 2014): two alternating edge
rewrites that converge, in O(log^2 n) rounds, to one star per component centred on its smallest node. Each
round is a handful of DataFrame joins and aggregations; nothing about the graph is collected to the driver,
and the edge set is checkpointed every few rounds to cut the lineage that iterative jobs otherwise grow.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from chainsleuth.cluster.utxo import CHANGE_SIGNALS, ROUND_UNIT, UtxoHeuristics
from chainsleuth.labels.taxonomy import PROPAGATING_CATEGORIES
from chainsleuth.spark import lake

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession


def connected_components(edges: DataFrame, *, checkpoint_every: int = 3, max_rounds: int = 200) -> DataFrame:
    """Connected components of an undirected graph given as a DataFrame of ``(src, dst)`` long node ids.

    Returns ``(node, component)`` for every node that has an edge, where ``component`` is the smallest node
    id of its component (nodes without edges are not listed: they are their own component). Large-star /
    small-star (Kiveris et al. 2014); convergence is reached when a round leaves the edge set unchanged.
    """
    from pyspark.sql import functions as F

    e = (edges.where(F.col("src") != F.col("dst"))
         .select(F.greatest("src", "dst").alias("a"), F.least("src", "dst").alias("b")).distinct())
    e = e.checkpoint(eager=True)
    rounds = 0
    while True:
        rounds += 1
        # Large-star: every node u links each larger neighbour v to m(u) = min(N(u) + u).
        sym = e.select(F.col("a").alias("u"), F.col("b").alias("v")).unionByName(
            e.select(F.col("b").alias("u"), F.col("a").alias("v")))
        m = sym.groupBy("u").agg(F.least(F.min("v"), F.col("u")).alias("m"))
        large = (sym.join(m, "u").where(F.col("v") > F.col("u"))
                 .select(F.col("v").alias("a"), F.col("m").alias("b")).distinct())
        # Small-star: every node a links itself and its smaller neighbours to the smallest of them.
        m2 = large.groupBy("a").agg(F.min("b").alias("m"))
        small = (large.join(m2, "a")
                 .select(F.when(F.col("b") == F.col("m"), F.col("a")).otherwise(F.col("b")).alias("x"), "m")
                 .unionByName(m2.select(F.col("a").alias("x"), "m"))
                 .where(F.col("x") != F.col("m"))
                 .select(F.col("x").alias("a"), F.col("m").alias("b")).distinct())
        small = small.checkpoint(eager=True) if rounds % checkpoint_every == 0 else small.localCheckpoint(eager=True)
        # Converged when the round left the edge set unchanged (an edge on one side only = a change).
        diff = (small.withColumn("_l", F.lit(1)).join(e.withColumn("_r", F.lit(1)), ["a", "b"], "full_outer")
                .where(F.col("_l").isNull() | F.col("_r").isNull()).limit(1).count())
        e = small
        if diff == 0 or rounds >= max_rounds:
            break
    stars = e.select(F.col("a").alias("node"), F.col("b").alias("component"))
    roots = e.select(F.col("b").alias("node"), F.col("b").alias("component")).distinct()
    return stars.unionByName(roots)


def _exclusions(spark: SparkSession, v: dict[str, str], h: UtxoHeuristics) -> DataFrame:
    """Transactions whose inputs are not one owner's (same rules and reasons as the DuckDB engine)."""
    parts = []
    o, i, tags, listed = v["outputs"], v["inputs"], v["tags"], v["listed"]
    if h.coinjoin_exclusion:
        parts.append(f"""
            SELECT b.tx_hash, 'coinjoin:equal-outputs' AS reason, CAST(k.n_in AS INT) AS inputs,
                   CAST(b.m AS INT) AS equal_outputs, b.denom AS denomination
            FROM (SELECT tx_hash, max_by(value, n) AS denom, max(n) AS m
                  FROM (SELECT tx_hash, value, count(*) AS n FROM {o} GROUP BY tx_hash, value)
                  GROUP BY tx_hash HAVING max(n) >= {int(h.min_equal_outputs)}) b
            JOIN (SELECT tx_hash, count(*) AS n_in FROM {i} GROUP BY tx_hash) k ON k.tx_hash = b.tx_hash
            WHERE k.n_in >= 2""")
        parts.append(f"""
            SELECT i.tx_hash, 'coinjoin:tagged-input', CAST(count(*) AS INT), CAST(NULL AS INT), CAST(NULL AS BIGINT)
            FROM {i} i LEFT SEMI JOIN (SELECT address FROM {tags} WHERE category = 'coinjoin') t ON t.address = i.address
            GROUP BY i.tx_hash""")
        parts.append(f"SELECT tx_hash, 'coinjoin:listed', CAST(NULL AS INT), CAST(NULL AS INT), CAST(NULL AS BIGINT) "
                     f"FROM {listed}")
    if h.exclude_entity_conflicts:
        cats = ", ".join(f"'{c}'" for c in sorted(PROPAGATING_CATEGORIES))
        parts.append(f"""
            SELECT i.tx_hash, 'entity-conflict', CAST(count(*) AS INT), CAST(NULL AS INT), CAST(NULL AS BIGINT)
            FROM {i} i
            JOIN (SELECT DISTINCT address, coalesce(actor, label) AS entity FROM {tags}
                  WHERE category IN ({cats})) t ON t.address = i.address
            GROUP BY i.tx_hash HAVING count(DISTINCT t.entity) >= 2""")
    schema = "tx_hash string, reason string, inputs int, equal_outputs int, denomination bigint"
    ex = spark.sql(" UNION ALL ".join(parts)) if parts else spark.createDataFrame([], schema)
    if h.exclude_post_mix and h.coinjoin_exclusion:
        ex = ex.persist()
        ex.createOrReplaceTempView(v["prefix"] + "ex0")
        post = spark.sql(f"""
            SELECT i.tx_hash, 'post-mix-spend' AS reason, CAST(count(*) AS INT) AS inputs, CAST(NULL AS INT),
                   CAST(NULL AS BIGINT)
            FROM {i} i
            LEFT SEMI JOIN (SELECT tx_hash FROM {i} LEFT SEMI JOIN
                              (SELECT tx_hash AS cj FROM {v['prefix']}ex0 WHERE reason LIKE 'coinjoin:%') x
                              ON spent_tx_hash = x.cj) p ON p.tx_hash = i.tx_hash
            GROUP BY i.tx_hash HAVING count(*) >= 2""")
        ex = ex.unionByName(post.toDF(*ex.columns))
    return ex


def _change(spark: SparkSession, v: dict[str, str], signals: tuple[str, ...]) -> DataFrame:
    """The one-time change output of each transaction where the heuristic fires (tx_hash, address)."""
    unknown = set(signals) - set(CHANGE_SIGNALS)
    if unknown or not signals:
        raise ValueError(f"change signals must be a non-empty subset of {CHANGE_SIGNALS}, got {signals}")
    conds = []
    if "script_type" in signals:
        conds.append("(c.script_type IS NOT NULL AND s.in_types = 1 AND s.in_type = c.script_type "
                     "AND o.others_same_type = 0)")
    if "round" in signals:
        conds.append(f"(o.others_round = o.others AND c.value % {ROUND_UNIT} <> 0)")
    if "decimals" in signals:
        conds.append("(c.decimals >= o.max_other_decimals + 2)")
    outs_v, ins_v, ex_v = v["outputs"], v["inputs"], v["excluded"]
    return spark.sql(f"""
    WITH outs AS (
        SELECT x.tx_hash, x.output_index, x.address, x.script_type, x.value,
               8 - least(8, length(CAST(x.value AS STRING))
                            - length(regexp_replace(CAST(x.value AS STRING), '0+$', ''))) AS decimals
        FROM {outs_v} x LEFT ANTI JOIN {ex_v} e ON e.tx_hash = x.tx_hash
        WHERE x.value > 0
    ),
    txo AS (SELECT tx_hash FROM {outs_v} GROUP BY tx_hash HAVING count(*) >= 2 AND count(*) = count(address)),
    once AS (SELECT address FROM {outs_v} WHERE address IS NOT NULL GROUP BY address HAVING count(*) = 1),
    fresh AS (
        SELECT x.* FROM outs x
        LEFT SEMI JOIN txo ON txo.tx_hash = x.tx_hash
        LEFT SEMI JOIN once ON once.address = x.address
        LEFT ANTI JOIN (SELECT tx_hash, address FROM {ins_v}) i ON i.tx_hash = x.tx_hash AND i.address = x.address
    ),
    cand AS (SELECT tx_hash, min(output_index) AS output_index FROM fresh GROUP BY tx_hash HAVING count(*) = 1),
    c AS (SELECT f.* FROM fresh f JOIN cand ON cand.tx_hash = f.tx_hash AND cand.output_index = f.output_index),
    o AS (
        SELECT x.tx_hash, count(*) AS others,
               count_if(x.value % {ROUND_UNIT} = 0) AS others_round,
               max(x.decimals) AS max_other_decimals,
               count_if(x.script_type <=> c.script_type) AS others_same_type
        FROM outs x JOIN c ON c.tx_hash = x.tx_hash AND x.output_index <> c.output_index
        GROUP BY x.tx_hash
    ),
    s AS (
        SELECT i.tx_hash, count(DISTINCT p.script_type) AS in_types, any_value(p.script_type, true) AS in_type
        FROM {ins_v} i
        JOIN {outs_v} p ON p.tx_hash = i.spent_tx_hash AND p.output_index = i.spent_output_index
        LEFT SEMI JOIN c ON c.tx_hash = i.tx_hash
        GROUP BY i.tx_hash
    )
    SELECT c.tx_hash, c.address
    FROM c JOIN o ON o.tx_hash = c.tx_hash LEFT JOIN s ON s.tx_hash = c.tx_hash
    LEFT SEMI JOIN (SELECT DISTINCT tx_hash FROM {ins_v} WHERE address IS NOT NULL) ia ON ia.tx_hash = c.tx_hash
    WHERE {' OR '.join(conds)}
    """)


def dense_ids(spark: SparkSession, addresses: DataFrame) -> DataFrame:
    """``(address, id)``: ids 0..n-1 in address order, without collecting the addresses and without Python
    workers: a distributed sort, an increasing id per sorted partition, and each partition's offset from a
    count per partition (as many rows as partitions reach the driver)."""
    from pyspark.sql import functions as F

    ranked = (addresses.select("address").distinct().orderBy("address")
              .select("address", F.monotonically_increasing_id().alias("mid"))
              .localCheckpoint(eager=True))  # the ids must not be recomputed differently downstream
    part = F.shiftright("mid", 33)  # monotonically_increasing_id = partition index << 33 | row in partition
    counts = sorted((r["p"], r["n"]) for r in ranked.groupBy(part.alias("p")).agg(F.count(F.lit(1)).alias("n"))
                    .collect())
    offsets, total = [], 0
    for p, n in counts:
        offsets.append((p, total))
        total += n
    off = F.broadcast(spark.createDataFrame(offsets, "p long, off long"))
    return ranked.join(off, part == off.p).select(
        "address", (F.col("off") + F.col("mid") - F.shiftleft(F.col("p"), 33)).alias("id"))


def cluster_utxo(
    spark: SparkSession,
    root: str,
    chain: str,
    *,
    heuristics: UtxoHeuristics | None = None,
    tags: pa.Table | None = None,
    checkpoint_every: int = 3,
) -> dict:
    """Cluster a UTXO chain of the lake at ``root`` with the DuckDB engine's heuristics.

    ``tags`` (Arrow table with address, category, actor, label; this chain's and chain-less tags) drives the
    tagged-CoinJoin and entity-conflict exclusions. Returns ``{"clusters": DataFrame(address, cluster_id,
    heuristic, evidence_tx), "exclusions": DataFrame(tx_hash, reason, inputs, equal_outputs, denomination),
    "links": int, "change_links": int, "heuristics": [...], "seconds": float, "cached": [DataFrame]}`` (what
    to unpersist once the results are written); ``cluster_id`` is the rank
    of the cluster's smallest address, and only clusters of two or more addresses are listed.
    """
    from pyspark.sql import functions as F

    t0 = time.perf_counter()
    h = heuristics or UtxoHeuristics()
    prefix = f"csc_{id(h):x}_"
    v = {"prefix": prefix}

    def view(df: DataFrame, name: str) -> str:
        df.createOrReplaceTempView(prefix + name)
        v[name] = prefix + name
        return prefix + name

    # Every heuristic reads the outputs and inputs several times: read the lake once, keep them in memory
    # (spilling to disk) instead of re-scanning its files for each of a few dozen stages.
    outputs = lake.read_table(spark, root, "utxo_outputs", chain).select(
        "tx_hash", "output_index", "address", "script_type", "value").persist()
    inputs = resolved_inputs(spark, root, chain, lake.read_table(spark, root, "utxo_outputs", chain)).select(
        "tx_hash", "input_index", "spent_tx_hash", "spent_output_index", "address", "value").persist()
    outputs.count(), inputs.count()
    view(outputs, "outputs")
    view(inputs, "inputs")
    tag_schema = "address string, category string, actor string, label string"
    if tags is not None and tags.num_rows:
        tag_df = spark.createDataFrame(tags.select(["address", "category", "actor", "label"]).to_pandas(), tag_schema)
    else:
        tag_df = spark.createDataFrame([], tag_schema)
    view(tag_df, "tags")
    listed: Iterable[str] = sorted(set(h.coinjoin_txs))
    view(spark.createDataFrame([(t,) for t in listed], "tx_hash string"), "listed")
    excluded = _exclusions(spark, v, h).persist()
    excluded.count()  # computed once here, not again by each query below that reads it
    view(excluded, "excluded")
    change = _change(spark, v, tuple(h.change_signals)).persist() if h.change else \
        spark.createDataFrame([], "tx_hash string, address string")
    n_change = change.count() if h.change else 0
    view(change, "change")
    if h.multi_input:
        spend = spark.sql(f"""SELECT i.tx_hash, i.address, 0 AS kind FROM {v['inputs']} i
                              LEFT ANTI JOIN {v['excluded']} e ON e.tx_hash = i.tx_hash
                              WHERE i.address IS NOT NULL""")
    else:
        spend = spark.sql(f"""SELECT tx_hash, min_by(address, input_index) AS address, 0 AS kind FROM {v['inputs']}
                              WHERE address IS NOT NULL AND tx_hash IN (SELECT tx_hash FROM {v['change']})
                              GROUP BY tx_hash""")
    links = spend.unionByName(change.select("tx_hash", "address", F.lit(1).alias("kind"))).persist()
    n_links = links.count()
    ids = dense_ids(spark, links).persist()
    lk = links.join(ids, "address")
    # One star per transaction (each linked address to the transaction's smallest id): k - 1 edges, not k^2.
    tx_min = lk.groupBy("tx_hash").agg(F.min("id").alias("m"))
    edges = lk.join(tx_min, "tx_hash").select(F.col("id").alias("src"), F.col("m").alias("dst"))
    comp = connected_components(edges, checkpoint_every=checkpoint_every)
    # Heuristic per address, as the DuckDB engine decides it: 'multi-input' if it co-spends with another
    # address, else 'change' if it takes part in a transaction with an inferred change output, else 'root'.
    spend_span = lk.where("kind = 0").groupBy("tx_hash").agg((F.min("id") != F.max("id")).alias("multi"))
    has_change = lk.where("kind = 1").select("tx_hash").distinct().withColumn("chg", F.lit(True))
    why = (lk.join(spend_span, "tx_hash", "left").join(has_change, "tx_hash", "left")
           .select("id", "tx_hash", ((F.col("kind") == 0) & F.coalesce("multi", F.lit(False))).alias("is_multi"),
                   F.coalesce("chg", F.lit(False)).alias("is_change"))
           .groupBy("id").agg(F.min(F.when(F.col("is_multi"), F.col("tx_hash"))).alias("multi_tx"),
                              F.min(F.when(F.col("is_change"), F.col("tx_hash"))).alias("change_tx")))
    clusters = (comp.join(ids, comp.node == ids.id).join(why, "id", "left")
                .select("address", F.col("component").alias("cluster_id"),
                        F.when(F.col("multi_tx").isNotNull(), "multi-input")
                        .when(F.col("change_tx").isNotNull(), "change").otherwise("root").alias("heuristic"),
                        F.coalesce("multi_tx", "change_tx").alias("evidence_tx")))
    return {"clusters": clusters, "exclusions": excluded, "links": n_links, "change_links": n_change,
            "heuristics": h.names(), "seconds": time.perf_counter() - t0,
            "cached": [outputs, inputs, excluded, change, links, ids]}


def resolved_inputs(spark: SparkSession, root: str, chain: str, outputs: DataFrame | None = None) -> DataFrame:
    """The chain's inputs, with value and address taken from the spent output where the export lacked them
    (what the DuckDB loader's prevout UPDATE does; only the unresolved rows are joined)."""
    from pyspark.sql import functions as F

    ins = lake.read_table(spark, root, "utxo_inputs", chain)
    outs = outputs if outputs is not None else lake.read_table(spark, root, "utxo_outputs", chain)
    todo = ins.where(F.col("value").isNull()).alias("i")
    fixed = todo.join(outs.select("tx_hash", "output_index", "address", "value").alias("o"),
                      (F.col("o.tx_hash") == F.col("i.spent_tx_hash"))
                      & (F.col("o.output_index") == F.col("i.spent_output_index")), "left").select(
        *[F.coalesce("i.address", "o.address").alias(n) if n == "address" else F.col("o.value").alias(n)
          if n == "value" else F.col(f"i.{n}").alias(n) for n, _ in lake.SCHEMAS["utxo_inputs"]])
    return ins.where(F.col("value").isNotNull()).unionByName(fixed)
