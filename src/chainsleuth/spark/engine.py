"""What ``--engine spark`` runs: the Spark jobs plus the moves between the DuckDB store and the lake.

Each function takes the store connection (results land there, so every other command reads them as usual)
and a lake folder (default ``$CHAINSLEUTH_LAKE``, else ``<database>.lake`` beside the database file).
If the lake holds nothing for the chain yet, the chain is first exported from the store, so data ingested
with either engine can be analysed with either engine.

* :func:`ingest_etl`   - ``ingest etl DIR --chain C --engine spark``: export folder -> lake -> store.
* :func:`cluster`      - ``cluster --chain C --engine spark``: clusters (and EVM deposit addresses) into the store.
* :func:`screen_all`   - ``screen --all --engine spark``: exposure of every address, as ScreenResults.
* :func:`trace`        - ``trace --sources-file F --engine spark``: bulk forward trace (poison, haircut, FIFO).
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

    from chainsleuth.cluster.evm import EvmHeuristics
    from chainsleuth.cluster.utxo import UtxoHeuristics
    from chainsleuth.screen.exposure import RiskPolicy, ScreenResult
    from chainsleuth.trace.result import TraceResult

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


def _replace_clusters(con: duckdb.DuckDBPyConnection, chain: str, clusters: str) -> None:
    """The chain's rows of ``clusters`` become those of the Spark result view ``clusters`` (caller's transaction)."""
    con.execute("DELETE FROM clusters WHERE chain = ?", [chain]).fetchall()
    con.execute(f"INSERT INTO clusters (chain, address, cluster_id, heuristic, evidence_tx) "
                f"SELECT ?, address, cluster_id, heuristic, evidence_tx FROM {clusters}", [chain]).fetchall()


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
    heuristics: UtxoHeuristics | EvmHeuristics | None = None,
    lake_root: str | None = None,
    spark: SparkSession | None = None,
    master: str | None = None,
    refresh: bool = False,
) -> dict[str, Any]:
    """Cluster a chain on Spark and store the result as :func:`chainsleuth.cluster.cluster_chain` does.

    UTXO chains: replaces the chain's rows in ``clusters`` and ``cluster_exclusions``; account chains: in
    ``deposit_addresses`` and ``clusters``; either adds a ``cluster_runs`` row, in one transaction. Returns
    the keys of ``cluster_utxo`` / ``cluster_evm`` plus ``engine``.
    """
    from chainsleuth.cluster.evm import EvmHeuristics
    from chainsleuth.spark.cluster import cluster_utxo

    t0 = time.perf_counter()
    root = lake_root or default_lake(con)
    ensure_lake(con, root, chain, refresh=refresh)
    if _chain_model(con, chain) != Model.UTXO:
        if heuristics is not None and not isinstance(heuristics, EvmHeuristics):
            raise ChainsleuthError(f"{chain} is an account chain: it takes EVM heuristics")
        return _cluster_evm(con, chain, heuristics, root, _session(spark, master), t0)
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
            _replace_clusters(con, chain, clusters)
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
        for df in res.get("cached", ()):
            df.unpersist()
    return {"chain": chain, "heuristics": res["heuristics"], "addresses": n_addr, "clusters": n_clusters,
            "largest": largest, "links": res["links"], "change_links": res["change_links"], "excluded": excluded,
            "seconds": round(seconds, 3), "engine": "spark"}


def _chain_model(con: duckdb.DuckDBPyConnection, chain: str) -> str:
    row = con.execute("SELECT model FROM chains WHERE chain = ?", [chain]).fetchall()
    return (row[0][0] if row and row[0][0] else None) or chain_info(chain).model


def _cluster_evm(con: duckdb.DuckDBPyConnection, chain: str, heuristics: EvmHeuristics | None, root: str,
                 session: SparkSession, t0: float) -> dict[str, Any]:
    """``cluster --engine spark`` on an account chain: deposit addresses and clusters, stored as
    :func:`chainsleuth.cluster.cluster_evm` stores them (one transaction)."""
    from chainsleuth.spark.evm import cluster_evm

    with con.cursor() as cur:
        tags = cur.sql("SELECT address, label, category, actor, confidence FROM tags WHERE chain = $chain OR chain IS NULL",
                       params={"chain": chain}).to_arrow_table()
        actors = cur.sql("SELECT actor, label FROM actors").to_arrow_table()
    res = cluster_evm(session, root, chain, heuristics=heuristics, tags=tags, actors=actors)
    out = _results_dir(root, f"clusters-{chain}")
    try:
        deposits = _to_duckdb(res["deposits"], f"{out}/deposits")
        clusters = _to_duckdb(res["clusters"], f"{out}/clusters")
        with store.transaction(con):
            con.execute("DELETE FROM deposit_addresses WHERE chain = ?", [chain]).fetchall()
            con.execute(f"INSERT INTO deposit_addresses SELECT ?, address, hot_wallet, exchange, actor, asset, "
                        f"received::HUGEINT, forwarded::HUGEINT, senders, forwards, first_forward::TIMESTAMP, "
                        f"last_forward::TIMESTAMP, evidence_txs, confidence FROM {deposits}", [chain]).fetchall()
            _replace_clusters(con, chain, clusters)
            n_dep = con.execute("SELECT count(DISTINCT address) FROM deposit_addresses WHERE chain = ?",
                                [chain]).fetchone()[0]
            n_addr, n_clusters, largest = con.execute(
                f"SELECT count(*), count(DISTINCT cluster_id), coalesce(max(n), 0) FROM (SELECT cluster_id, "
                f"count(*) OVER (PARTITION BY cluster_id) AS n FROM {clusters})").fetchone()
            seconds = time.perf_counter() - t0
            con.execute("INSERT INTO cluster_runs (chain, heuristics, addresses, clusters, links, excluded_txs, seconds) "
                        "VALUES (?, ?, ?, ?, ?, 0, ?)",
                        [chain, ", ".join(res["heuristics"]), n_addr, n_clusters, res["links"], seconds]).fetchall()
    finally:
        shutil.rmtree(lake._local(out), ignore_errors=True)
    return {"chain": chain, "heuristics": res["heuristics"], "addresses": n_addr, "clusters": n_clusters,
            "largest": largest, "links": res["links"], "links_by_heuristic": res["links_by_heuristic"],
            "deposit_addresses": n_dep, "seconds": round(seconds, 3), "engine": "spark"}


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
    from chainsleuth.screen.exposure import collect_results, prepare
    from chainsleuth.screen.labels import load_labels
    from chainsleuth.spark.exposure import flows, labels_frame, propagate

    policy, model, native, used_basis = prepare(con, chain, hops, basis, policy)
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
        exposure, received = propagate(session, flow, labels, targets_df, hops=hops,
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


def trace(
    con: duckdb.DuckDBPyConnection,
    sources: list[str],
    chain: str,
    *,
    model: str = "poison",
    direction: str = "forward",
    max_hops: int = 64,
    after: str | int | None = None,
    until: str | int | None = None,
    min_value: float = 0.0,
    demix: bool = False,
    gaps: str = "proportional",
    lake_root: str | None = None,
    spark: SparkSession | None = None,
    master: str | None = None,
    refresh: bool = False,
) -> TraceResult:
    """``trace --engine spark``: forward trace of many sources on an account chain, over the lake.

    Equals :func:`chainsleuth.trace.trace` with ``follow_bridges=False`` (same exits, resting funds, edges
    and totals) for the poison, haircut and FIFO models; see :mod:`chainsleuth.spark.trace` for how, and
    for what it does not do (backward, bridge and mixer continuations, ``--min-value``).
    """
    from chainsleuth.errors import NotFoundError
    from chainsleuth.model import normalize_address
    from chainsleuth.spark.trace import run
    from chainsleuth.spark.trace_report import build, trace_labels, unit_usd
    from chainsleuth.trace.sweep import GAPS, MODELS

    unsupported = [(model not in MODELS, f"--model {model}: the Spark engine traces {', '.join(MODELS)}"),
                   (gaps not in GAPS, f"--gaps {gaps}: one of {', '.join(GAPS)}"),
                   (direction != "forward", "--direction backward: the Spark engine traces forward"),
                   (min_value > 0, "--min-value: not offered by the Spark engine"),
                   (demix, "--demix: not offered by the Spark engine")]
    for bad, why in unsupported:
        if bad:
            raise ChainsleuthError(f"{why}; use --engine duckdb")
    if max_hops < 1:
        raise ChainsleuthError("--max-hops must be at least 1")
    if _chain_model(con, chain) != Model.ACCOUNT:
        raise ChainsleuthError(f"the Spark engine traces account chains; trace {chain} with --engine duckdb")
    addrs = list(dict.fromkeys(normalize_address(s.strip(), chain) for s in sources if s.strip()))
    if not addrs:
        raise ChainsleuthError("no source addresses given")
    root = lake_root or default_lake(con)
    ensure_lake(con, root, chain, refresh=refresh)
    session = _session(spark, master)
    native = con.execute("SELECT native_asset FROM chains WHERE chain = ?", [chain]).fetchall()[0]
    labels = trace_labels(con, chain)
    prop = run(session, root, chain, addrs, labels, native[0] if native else None, max_hops=max_hops,
               after=after, until=until, model=model, unit_usd=unit_usd(con, chain), gaps=gaps)
    seen = set(prop.tainted["src"]) | set(prop.nodes["address"])
    missing = [a for a in addrs if a not in seen]
    if len(missing) == len(addrs):
        raise NotFoundError(f"no transfers of {', '.join(addrs[:3])}{'...' if len(addrs) > 3 else ''} on {chain}")
    params = {"after": after, "until": until, "max_hops": max_hops, "min_value": min_value, "demix": False,
              "follow_bridges": False, "gaps": gaps, "engine": "spark"}
    return build(con, chain, addrs, prop, labels, max_hops=max_hops, params=params,
                 warnings=[f"{a}: no transfers on {chain}" for a in missing])
