"""What ``--engine spark`` runs: the Spark jobs plus the moves between the DuckDB store and the lake.

Each function takes the store connection (results land there, so every other command reads them as usual)
and a lake folder (default ``$CHAINSLEUTH_LAKE``, else ``<database>.lake`` beside the database file).
If the lake holds nothing for the chain yet, the chain is first exported from the store, so data ingested
with either engine can be analysed with either engine.

* :func:`ingest_etl`   - ``ingest etl DIR --chain C --engine spark``: export folder -> lake -> store.
* :func:`cluster`      - ``cluster --chain C --engine spark`` (UTXO chains): clusters into ``clusters``.
* :func:`screen_all`   - ``screen --all --engine spark``: exposure of every address, as ScreenResults.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from chainsleuth import store
from chainsleuth.errors import ChainsleuthError
from chainsleuth.model import Model, chain_info
from chainsleuth.spark import lake

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from chainsleuth.cluster.utxo import UtxoHeuristics
    from chainsleuth.screen.exposure import RiskPolicy, ScreenResult

LAKE_ENV = "CHAINSLEUTH_LAKE"


def default_lake(con: duckdb.DuckDBPyConnection | None = None) -> str:
    """``$CHAINSLEUTH_LAKE``, else ``<database file>.lake`` beside the open database."""
    env = os.environ.get(LAKE_ENV)
    if env:
        return env
    if con is not None:
        row = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
        if row and row[0]:
            return str(Path(row[0]).with_suffix(".lake"))
    return str(Path(store.default_path()).with_suffix(".lake"))


def _session(spark: SparkSession | None, master: str | None) -> SparkSession:
    if spark is not None:
        return spark
    from chainsleuth.spark.session import get_session

    return get_session(master)


def ensure_lake(con: duckdb.DuckDBPyConnection, root: str, chain: str, *, refresh: bool = False) -> bool:
    """Make the lake hold what the store holds for ``chain``: export it when some ledger table has more rows
    in the store than in the lake (counts come from Parquet footers: cheap). A lake holding more than the
    store (Spark-ingested, not loaded) is left alone. Returns True when it exported."""
    stale = refresh
    for table in lake.tables_for(chain):
        if stale:
            break
        rel = lake.duckdb_relation_sql(root, table, chain)
        stored = con.execute(f"SELECT count(*) FROM {table} WHERE chain = ?", [chain]).fetchall()[0][0]
        in_lake = con.execute(f"SELECT count(*) FROM ({rel})").fetchall()[0][0] if rel else 0
        stale = stored > in_lake
    if stale:
        lake.export_store(con, root, chain)
    return stale


def ingest_etl(
    con: duckdb.DuckDBPyConnection,
    directory: str | Path,
    chain: str,
    *,
    lake_root: str | None = None,
    spark: SparkSession | None = None,
    master: str | None = None,
    bucket_size: int | None = None,
    load: bool = True,
) -> dict[str, Any]:
    """Spark-ingest an ethereum-etl / bitcoin-etl folder into the lake, then (``load``) into the store.

    JSON keys: chain, directory, lake, files, staged{entity: rows}, added{lake table: rows},
    stored{store table: rows} (when loaded), seconds.
    """
    from chainsleuth.spark.ingest import etl_to_parquet

    root = lake_root or default_lake(con)
    t0 = time.perf_counter()
    stats = etl_to_parquet(_session(spark, master), directory, chain, root, bucket_size=bucket_size).to_dict()
    if load:
        stats["stored"] = lake.load_into_store(con, root, chain, source=str(directory))
    stats["seconds"] = round(time.perf_counter() - t0, 3)
    return stats


def _results_dir(root: str, job: str) -> str:
    return f"{root.rstrip('/')}/_results/{job}-{uuid.uuid4().hex[:10]}"


def _to_duckdb(df: DataFrame, path: str) -> str:
    """Write a (small) Spark result as Parquet and return a DuckDB ``read_parquet`` expression over it."""
    df.write.mode("overwrite").parquet(path)
    return f"read_parquet('{path.replace(chr(39), chr(39) * 2)}/*.parquet')"


def cluster(
    con: duckdb.DuckDBPyConnection,
    chain: str,
    *,
    heuristics: UtxoHeuristics | None = None,
    lake_root: str | None = None,
    spark: SparkSession | None = None,
    master: str | None = None,
    refresh: bool = False,
) -> dict[str, Any]:
    """Cluster a UTXO chain on Spark and store the result as :func:`chainsleuth.cluster.cluster_utxo` does.

    Replaces the chain's rows in ``clusters`` and ``cluster_exclusions`` and adds a ``cluster_runs`` row,
    in one transaction. Returns the same keys as ``cluster_utxo`` plus ``engine``.
    """
    from chainsleuth.spark.cluster import cluster_utxo

    if chain_info(chain).model != Model.UTXO:
        raise ChainsleuthError(f"the Spark engine clusters UTXO chains; cluster {chain} with --engine duckdb")
    t0 = time.perf_counter()
    root = lake_root or default_lake(con)
    ensure_lake(con, root, chain, refresh=refresh)
    with con.cursor() as cur:
        tags = cur.sql("SELECT address, category, actor, label FROM tags WHERE chain = $chain OR chain IS NULL",
                       params={"chain": chain}).to_arrow_table()
    session = _session(spark, master)
    res = cluster_utxo(session, root, chain, heuristics=heuristics, tags=tags)
    out = _results_dir(root, f"clusters-{chain}")
    try:
        clusters = _to_duckdb(res["clusters"], f"{out}/clusters")
        exclusions = _to_duckdb(res["exclusions"], f"{out}/exclusions")
        with store.transaction(con):
            con.execute("DELETE FROM clusters WHERE chain = ?", [chain]).fetchall()
            con.execute(f"INSERT INTO clusters (chain, address, cluster_id, heuristic, evidence_tx) "
                        f"SELECT ?, address, cluster_id, heuristic, evidence_tx FROM {clusters}", [chain]).fetchall()
            con.execute("DELETE FROM cluster_exclusions WHERE chain = ?", [chain]).fetchall()
            con.execute(
                f"INSERT INTO cluster_exclusions SELECT ?, tx_hash, string_agg(DISTINCT reason, ','), max(inputs), "
                f"max(equal_outputs), max(denomination) FROM {exclusions} GROUP BY tx_hash", [chain]).fetchall()
            n_addr, n_clusters, largest = con.execute(
                f"SELECT count(*), count(DISTINCT cluster_id), coalesce(max(n), 0) FROM (SELECT cluster_id, "
                f"count(*) OVER (PARTITION BY cluster_id) AS n FROM {clusters})").fetchone()
            excluded = dict(con.execute(f"SELECT reason, count(DISTINCT tx_hash) FROM {exclusions} GROUP BY 1").fetchall())
            seconds = time.perf_counter() - t0
            con.execute(
                "INSERT INTO cluster_runs (chain, heuristics, addresses, clusters, links, excluded_txs, seconds) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [chain, ", ".join(res["heuristics"]), n_addr, n_clusters, res["links"],
                 sum(excluded.values()), seconds]).fetchall()
    finally:
        shutil.rmtree(lake._local(out), ignore_errors=True)
    return {"chain": chain, "heuristics": res["heuristics"], "addresses": n_addr, "clusters": n_clusters,
            "largest": largest, "links": res["links"], "change_links": res["change_links"], "excluded": excluded,
            "seconds": round(seconds, 3), "engine": "spark"}


def screen_all(
    con: duckdb.DuckDBPyConnection,
    chain: str,
    addresses: list[str] | None = None,
    *,
    hops: int = 3,
    as_of: datetime | None = None,
    basis: str = "auto",
    policy: RiskPolicy | None = None,
    max_sources: int = 20,
    evidence_per_source: int = 5,
    lake_root: str | None = None,
    spark: SparkSession | None = None,
    master: str | None = None,
    refresh: bool = False,
) -> list[ScreenResult]:
    """Screen ``addresses`` (default: every address of the chain that received value) with the exposure
    propagated on Spark; results equal :func:`chainsleuth.screen.screen` on the same addresses.

    Labels, assets and prices come from the store; the ledger from the lake. The exposure rows come back
    into the store connection's temporary tables and the screening engine's own code turns them into
    risk levels and reasons, so the two engines cannot drift apart there.
    """
    from chainsleuth.model import normalize_address
    from chainsleuth.screen.exposure import MAX_HOPS, RiskPolicy, collect_results
    from chainsleuth.screen.flows import chain_model, pick_basis
    from chainsleuth.screen.labels import load_labels
    from chainsleuth.spark.exposure import flows, labels_frame, propagate

    policy = policy or RiskPolicy()
    if not 1 <= hops <= MAX_HOPS:
        raise ChainsleuthError(f"hops must be between 1 and {MAX_HOPS}, got {hops}")
    model, native = chain_model(con, chain)
    used_basis = pick_basis(con, chain, basis)
    root = lake_root or default_lake(con)
    ensure_lake(con, root, chain, refresh=refresh)
    session = _session(spark, master)
    cur = con.cursor()
    out = _results_dir(root, f"screen-{chain}")
    try:
        load_labels(cur, chain, "_scr_labels")
        labels = labels_frame(session, cur.sql("SELECT * FROM _scr_labels").to_arrow_table())
        assets = session.createDataFrame(
            cur.sql("SELECT asset, symbol, decimals FROM assets WHERE chain = $chain", params={"chain": chain})
            .to_arrow_table()
            .to_pandas(), "asset string, symbol string, decimals int")
        price_rows = cur.sql("SELECT symbol, day, usd FROM prices").to_arrow_table()
        prices = (session.createDataFrame(price_rows.to_pandas(), "symbol string, day date, usd double")
                  if price_rows.num_rows else session.createDataFrame([], "symbol string, day date, usd double"))
        flow = flows(session, root, chain, model=model, native=native, basis=used_basis, assets=assets,
                     prices=prices, as_of=as_of)
        if addresses is None:
            targets_df = None
        else:
            targets = list(dict.fromkeys(normalize_address(a, chain) for a in addresses))
            if not targets:
                raise ChainsleuthError("no address to screen")
            targets_df = session.createDataFrame([(t,) for t in targets], "target string")
        exposure, received = propagate(session, flow, labels, targets_df, hops=hops, as_of=as_of,
                                       min_weight=policy.min_weight, evidence_per_source=evidence_per_source)
        exp_sql = _to_duckdb(exposure, f"{out}/exposure")
        rec_sql = _to_duckdb(received, f"{out}/received")
        cur.execute("CREATE OR REPLACE TEMP TABLE _scr_received AS SELECT target, value, n FROM " + rec_sql).fetchall()
        cur.execute(
            "CREATE OR REPLACE TEMP TABLE _scr_exposure AS SELECT hop::INTEGER AS hop, target, src, via, risk_type, "
            f"w, value, n_tx, evidence::JSON AS evidence FROM {exp_sql}").fetchall()
        if addresses is None:
            targets = [r[0] for r in cur.execute("SELECT target FROM _scr_received ORDER BY target").fetchall()]
        cur.execute("CREATE OR REPLACE TEMP TABLE _scr_targets AS SELECT DISTINCT unnest(?::VARCHAR[]) AS target",
                    [targets]).fetchall()
        return collect_results(cur, chain, targets, used_basis, hops, as_of, policy, max_sources)
    finally:
        cur.close()
        shutil.rmtree(lake._local(out), ignore_errors=True)
