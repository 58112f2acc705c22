"""EVM address clustering on Spark: the DuckDB engine's deposit-address and airdrop heuristics over the lake.

The rules are those of :mod:`chainsleuth.cluster.evm` (Victor 2020, "Address Clustering Heuristics for
Ethereum", FC), written in Spark SQL clause by clause so that both engines find the same deposit addresses
and links: a deposit address sends only to one exchange's hot wallets, receives from someone other than the
exchange, and forwards what it received (less at most ``max_loss``) within ``window_days``; its customers'
addresses are linked to it (busy senders and services left out). Airdrop recipients that pass the token to
the same collector are linked to it (opt-in). Clusters are the connected components of these links, found
with the large-star / small-star rounds of :mod:`chainsleuth.spark.cluster`; nothing is collected to the
driver but the counts.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from chainsleuth.cluster.evm import DEPOSIT_CONFIDENCE, HOT_CATEGORIES, NON_SERVICE_CATEGORIES, EvmHeuristics
from chainsleuth.spark import lake
from chainsleuth.spark.cluster import connected_components, dense_ids

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

TAG_SCHEMA = "address string, label string, category string, actor string, confidence double"
ACTOR_SCHEMA = "actor string, label string"


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"


def _frame(spark: SparkSession, table: pa.Table | None, schema: str) -> DataFrame:
    cols = [c.split()[0] for c in schema.split(", ")]
    if table is None or table.num_rows == 0:
        return spark.createDataFrame([], schema)
    return spark.createDataFrame(table.select(cols).to_pandas(), schema)


def _labelled(v: dict[str, str]) -> str:
    """The ``hot`` (exchange wallets with their entity) and ``service`` CTEs of the DuckDB engine."""
    return f"""
    hot AS (
        SELECT address, max_by(coalesce(actor, label), confidence) AS entity,
               max_by(label, confidence) AS label, max_by(actor, confidence) AS actor
        FROM {v['tags']} WHERE category IN {_in(HOT_CATEGORIES)}
        GROUP BY address
    ),
    service AS (
        SELECT DISTINCT address FROM {v['tags']}
        WHERE category IS NOT NULL AND category NOT IN {_in(NON_SERVICE_CATEGORIES)}
    )"""


def deposit_addresses(spark: SparkSession, v: dict[str, str], h: EvmHeuristics) -> DataFrame:
    """Rows of ``deposit_addresses`` (without chain): address, hot_wallet, exchange, actor, asset, received,
    forwarded, senders, forwards, first_forward, last_forward, evidence_txs, confidence."""
    t, window, loss = v["transfers"], int(h.window_days), float(h.max_loss)
    return spark.sql(f"""
    WITH {_labelled(v)},
    fwd AS (
        SELECT t.from_address AS d, t.to_address AS h, t.asset, t.amount, t.tx_hash, t.block_time
        FROM {t} t JOIN hot ON hot.address = t.to_address
        LEFT ANTI JOIN service s ON s.address = t.from_address
        WHERE t.from_address IS NOT NULL AND t.amount > 0
    ),
    cand AS (SELECT DISTINCT d FROM fwd),
    single_dest AS (
        SELECT o.from_address AS d
        FROM {t} o LEFT SEMI JOIN cand ON cand.d = o.from_address
        LEFT JOIN hot ON hot.address = o.to_address
        WHERE o.amount > 0
        GROUP BY o.from_address
        HAVING count(*) = count(hot.address) AND count(DISTINCT hot.entity) = 1
    ),
    ins AS (
        SELECT t.to_address AS d, t.asset, sum(t.amount) AS received,
               count(DISTINCT t.from_address) AS senders, min(t.block_time) AS first_in,
               max(t.block_time) AS last_in
        FROM {t} t LEFT SEMI JOIN single_dest s ON s.d = t.to_address
        LEFT ANTI JOIN hot ON hot.address = t.from_address
        WHERE t.amount > 0
        GROUP BY t.to_address, t.asset
    ),
    f AS (
        SELECT d, asset, max_by(h, amount) AS h, sum(amount) AS forwarded, count(*) AS forwards,
               min(block_time) AS first_fwd, max(block_time) AS last_fwd,
               transform(slice(array_sort(collect_list(struct(block_time, tx_hash))), 1, 50), x -> x.tx_hash) AS txs
        FROM fwd LEFT SEMI JOIN single_dest s ON s.d = fwd.d
        GROUP BY d, asset
    )
    SELECT f.d AS address, f.h AS hot_wallet, coalesce(ac.label, hot.entity) AS exchange, hot.actor, f.asset,
           ins.received, f.forwarded, CAST(ins.senders AS INT) AS senders, CAST(f.forwards AS INT) AS forwards,
           f.first_fwd AS first_forward, f.last_fwd AS last_forward, f.txs AS evidence_txs,
           CAST({DEPOSIT_CONFIDENCE} AS DOUBLE) AS confidence
    FROM f JOIN ins ON ins.d = f.d AND ins.asset = f.asset JOIN hot ON hot.address = f.h
    LEFT JOIN {v['actors']} ac ON ac.actor = hot.actor
    WHERE ins.senders >= {int(h.min_senders)}
      AND f.forwarded <= ins.received
      AND CAST(f.forwarded AS DOUBLE) >= CAST(ins.received AS DOUBLE) * (1 - {loss})
      AND f.first_fwd >= ins.first_in
      AND f.last_fwd <= ins.last_in + make_dt_interval({window}, 0, 0, 0)
    """)


def _deposit_edges(spark: SparkSession, v: dict[str, str], h: EvmHeuristics) -> DataFrame:
    """(a, b, tx, heuristic): customer address -> its deposit address."""
    t = v["transfers"]
    return spark.sql(f"""
    WITH {_labelled(v)},
    dep AS (SELECT DISTINCT address FROM {v['deposits']}),
    pay AS (
        SELECT t.from_address AS a, t.to_address AS b, min(t.tx_hash) AS tx
        FROM {t} t LEFT SEMI JOIN dep ON dep.address = t.to_address
        LEFT ANTI JOIN hot ON hot.address = t.from_address
        LEFT ANTI JOIN service s ON s.address = t.from_address
        LEFT ANTI JOIN dep d2 ON d2.address = t.from_address
        WHERE t.amount > 0 AND t.from_address IS NOT NULL
        GROUP BY 1, 2
    ),
    busy AS (SELECT a FROM pay GROUP BY a HAVING count(DISTINCT b) > {int(h.max_user_deposits)})
    SELECT a, b, tx, 'deposit-address' AS heuristic FROM pay LEFT ANTI JOIN busy ON busy.a = pay.a
    """)


def _airdrop_edges(spark: SparkSession, v: dict[str, str], h: EvmHeuristics) -> DataFrame:
    """(a, b, tx, heuristic): airdrop recipient -> the collector it passed the token on to."""
    t = v["transfers"]
    return spark.sql(f"""
    WITH {_labelled(v)},
    dist AS (
        SELECT asset, from_address AS distributor FROM {t}
        WHERE kind = 'token' AND from_address IS NOT NULL AND amount > 0
        GROUP BY asset, from_address HAVING count(DISTINCT to_address) >= {int(h.min_airdrop_recipients)}
    ),
    got AS (
        SELECT DISTINCT t.asset, t.to_address AS r, d.distributor FROM {t} t
        JOIN dist d ON d.asset = t.asset AND d.distributor = t.from_address
        WHERE t.kind = 'token'
    ),
    passed AS (
        SELECT g.r AS a, t.to_address AS b, min(t.tx_hash) AS tx, t.asset
        FROM {t} t JOIN got g ON g.asset = t.asset AND g.r = t.from_address
        LEFT ANTI JOIN service s ON s.address = t.to_address
        LEFT ANTI JOIN hot ON hot.address = t.to_address
        LEFT ANTI JOIN {v['deposits']} dp ON dp.address = t.to_address
        WHERE t.kind = 'token' AND t.amount > 0 AND t.to_address IS NOT NULL
          AND t.to_address <> g.distributor
        GROUP BY g.r, t.to_address, t.asset
    ),
    collectors AS (SELECT b, asset FROM passed GROUP BY b, asset HAVING count(DISTINCT a) >= 2)
    SELECT a, b, min(tx) AS tx, 'airdrop' AS heuristic
    FROM passed LEFT SEMI JOIN collectors c ON c.b = passed.b AND c.asset = passed.asset
    GROUP BY a, b
    """)


def edge_clusters(spark: SparkSession, edges: DataFrame, *, checkpoint_every: int = 3) -> DataFrame:
    """``(address, cluster_id, heuristic, evidence_tx)`` for every address in a cluster of two or more,
    from links ``(a, b, tx, heuristic)``: each address keeps the heuristic and transaction of its link with
    the smallest transaction hash (as :func:`chainsleuth.cluster.components.store_edge_components`).
    ``cluster_id`` is the dense number (address order) of the cluster's smallest address."""
    from pyspark.sql import functions as F

    ids = dense_ids(spark, edges.select(F.col("a").alias("address"))
                    .unionByName(edges.select(F.col("b").alias("address")))).persist()
    pairs = (edges.join(ids.select(F.col("address").alias("a"), F.col("id").alias("src")), "a")
             .join(ids.select(F.col("address").alias("b"), F.col("id").alias("dst")), "b").select("src", "dst"))
    comp = connected_components(pairs, checkpoint_every=checkpoint_every)
    ends = (edges.select(F.col("a").alias("address"), "tx", "heuristic")
            .unionByName(edges.select(F.col("b").alias("address"), "tx", "heuristic")))
    why = ends.groupBy("address").agg(F.min_by("heuristic", "tx").alias("heuristic"), F.min("tx").alias("evidence_tx"))
    return (comp.join(ids, comp.node == ids.id).join(why, "address")
            .select("address", F.col("component").alias("cluster_id"), "heuristic", "evidence_tx"))


def cluster_evm(
    spark: SparkSession,
    root: str,
    chain: str,
    *,
    heuristics: EvmHeuristics | None = None,
    tags: pa.Table | None = None,
    actors: pa.Table | None = None,
    checkpoint_every: int = 3,
) -> dict:
    """Deposit addresses and clusters of account chain ``chain`` in the lake at ``root``.

    ``tags`` (address, label, category, actor, confidence: this chain's and chain-less tags) and ``actors``
    (actor, label) come from the store. Returns ``{"deposits": DataFrame (deposit_addresses columns less
    chain), "clusters": DataFrame(address, cluster_id, heuristic, evidence_tx), "links": int,
    "links_by_heuristic": {...}, "heuristics": [...], "seconds": float}``.
    """
    from pyspark.sql import functions as F

    t0 = time.perf_counter()
    h = heuristics or EvmHeuristics()
    prefix = f"cse_{id(h):x}_"
    v: dict[str, str] = {}

    def view(df: DataFrame, name: str) -> None:
        df.createOrReplaceTempView(prefix + name)
        v[name] = prefix + name

    view(lake.read_table(spark, root, "transfers", chain), "transfers")
    view(_frame(spark, tags, TAG_SCHEMA), "tags")
    view(_frame(spark, actors, ACTOR_SCHEMA), "actors")
    deposits = (deposit_addresses(spark, v, h) if h.deposit else
                spark.createDataFrame([], "address string")).persist()
    view(deposits.select("address"), "deposits")
    parts = ([_deposit_edges(spark, v, h)] if h.deposit else []) + ([_airdrop_edges(spark, v, h)] if h.airdrop else [])
    if parts:
        edges = parts[0]
        for p in parts[1:]:
            edges = edges.unionByName(p)
    else:
        edges = spark.createDataFrame([], "a string, b string, tx string, heuristic string")
    edges = edges.persist()
    by_h = {r["heuristic"]: r["n"] for r in edges.groupBy("heuristic").agg(F.count(F.lit(1)).alias("n")).collect()}
    clusters = edge_clusters(spark, edges, checkpoint_every=checkpoint_every)
    return {"deposits": deposits, "clusters": clusters, "links": sum(by_h.values()), "links_by_heuristic": by_h,
            "heuristics": h.names(), "seconds": time.perf_counter() - t0}
