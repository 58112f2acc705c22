"""The Parquet lake: the canonical ledger tables as partitioned Parquet, readable by Spark and DuckDB alike.

Layout (Hive-style, so both engines prune partitions by chain and block range)::

    ROOT/_lake.json                                   bucket size and per-chain facts
    ROOT/<table>/chain=<chain>/block_bucket=<n>/*.parquet   n = block_number // bucket_size
    ROOT/assets/chain=<chain>/*.parquet                    (small; no block partition)

Columns and names are those of ``store/migrations/0001_ledger.sql``. Parquet has no 128-bit integer, so
HUGEINT columns are DECIMAL(38,0); the rare transfer amount of 10^38 or more (junk tokens, up to 2^256-1)
is kept as decimal text in ``amount_overflow`` with ``amount`` NULL, and :func:`load_into_store` restores
DuckDB's reading (HUGEINT up to 2^127-1). Times are Parquet timestamps without time zone (UTC wall clock).

Writes are all-or-nothing per load: Spark writes into ``ROOT/_staging/<id>/`` and the finished files are
then renamed into place (a rename is atomic on HDFS and local disks). A failed job leaves only staging
debris, which the next write removes; readers never see half a load.

This module holds both sides of the contract: the Spark readers/writers and the DuckDB glue
(:func:`load_into_store`, :func:`export_store`) that moves tables between the lake and a chainsleuth store.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from chainsleuth import store
from chainsleuth.errors import ChainsleuthError
from chainsleuth.model import Model, chain_info
from chainsleuth.store.ledger import ensure_chain

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

DEFAULT_BUCKET_SIZE = 100_000
MANIFEST = "_lake.json"

#: Canonical columns per lake table as Spark DDL types (the DuckDB schema with HUGEINT -> DECIMAL(38,0)).
SCHEMAS: dict[str, list[tuple[str, str]]] = {
    "blocks": [("chain", "string"), ("number", "bigint"), ("hash", "string"), ("parent_hash", "string"),
               ("block_time", "timestamp_ntz"), ("tx_count", "int")],
    "transactions": [("chain", "string"), ("hash", "string"), ("block_number", "bigint"),
                     ("block_time", "timestamp_ntz"), ("tx_index", "int"), ("from_address", "string"),
                     ("to_address", "string"), ("value", "decimal(38,0)"), ("fee", "decimal(38,0)"),
                     ("gas_price", "decimal(38,0)"), ("gas_used", "bigint"), ("status", "int"),
                     ("is_coinbase", "boolean"), ("input_count", "int"), ("output_count", "int")],
    "transfers": [("chain", "string"), ("block_number", "bigint"), ("block_time", "timestamp_ntz"),
                  ("tx_hash", "string"), ("tx_index", "int"), ("kind", "string"), ("position", "string"),
                  ("seq", "int"), ("from_address", "string"), ("to_address", "string"), ("asset", "string"),
                  ("amount", "decimal(38,0)"), ("amount_overflow", "string")],
    "utxo_outputs": [("chain", "string"), ("tx_hash", "string"), ("output_index", "int"),
                     ("block_number", "bigint"), ("block_time", "timestamp_ntz"), ("address", "string"),
                     ("script_type", "string"), ("script_hex", "string"), ("value", "bigint")],
    "utxo_inputs": [("chain", "string"), ("tx_hash", "string"), ("input_index", "int"),
                    ("block_number", "bigint"), ("block_time", "timestamp_ntz"), ("spent_tx_hash", "string"),
                    ("spent_output_index", "int"), ("address", "string"), ("value", "bigint")],
    "assets": [("chain", "string"), ("asset", "string"), ("symbol", "string"), ("name", "string"),
               ("decimals", "int"), ("contract", "string")],
}

#: Natural key of each table (what makes a row unique within a chain); loads skip keys already stored.
KEYS: dict[str, list[str]] = {
    "blocks": ["number"],
    "transactions": ["hash"],
    "transfers": ["tx_hash", "kind", "position"],
    "utxo_outputs": ["tx_hash", "output_index"],
    "utxo_inputs": ["tx_hash", "input_index"],
    "assets": ["asset"],
}

#: Column holding the block number, for the block-partitioned tables.
BLOCK_COLUMN = {"blocks": "number", "transactions": "block_number", "transfers": "block_number",
                "utxo_outputs": "block_number", "utxo_inputs": "block_number"}

ACCOUNT_TABLES = ["blocks", "transactions", "transfers", "assets"]
UTXO_TABLES = ["blocks", "transactions", "utxo_outputs", "utxo_inputs", "assets"]

HUGEINT_COLUMNS = {"transactions": ["value", "fee", "gas_price"], "transfers": ["amount"]}
DECIMAL38_LIMIT = 10**38


def tables_for(chain: str) -> list[str]:
    return UTXO_TABLES if chain_info(chain).model == Model.UTXO else ACCOUNT_TABLES


def _is_local(root: str) -> bool:
    return "://" not in root or root.startswith("file://")


def _local(root: str) -> str:
    return root[len("file://"):] if root.startswith("file://") else root


# --- manifest -------------------------------------------------------------------------------------------


def read_manifest(root: str | os.PathLike[str], spark: SparkSession | None = None) -> dict | None:
    """The lake's ``_lake.json`` (bucket size, per-chain facts), or None for a new lake."""
    root = str(root)
    if _is_local(root):
        p = Path(_local(root)) / MANIFEST
        return json.loads(p.read_text()) if p.exists() else None
    if spark is None:
        raise ChainsleuthError(f"reading a lake at {root} needs Spark (not a local path)")
    fs, path = _fs(spark, f"{root}/{MANIFEST}")
    if not fs.exists(path):
        return None
    return json.loads("\n".join(r.value for r in spark.read.text(f"{root}/{MANIFEST}").collect()))


def write_manifest(root: str, manifest: dict, spark: SparkSession | None = None) -> None:
    text = json.dumps(manifest, indent=2, sort_keys=True)
    if _is_local(root):
        p = Path(_local(root))
        p.mkdir(parents=True, exist_ok=True)
        tmp = p / (MANIFEST + ".tmp")
        tmp.write_text(text)
        tmp.replace(p / MANIFEST)
        return
    fs, path = _fs(spark, f"{root}/{MANIFEST}")
    out = fs.create(path, True)
    out.write(bytearray(text.encode()))
    out.close()


def bucket_size(root: str | os.PathLike[str], spark: SparkSession | None = None, default: int | None = None) -> int:
    """The lake's bucket size; a new lake takes ``default`` (or DEFAULT_BUCKET_SIZE)."""
    m = read_manifest(root, spark)
    if m is None:
        return default or DEFAULT_BUCKET_SIZE
    if default and default != m["bucket_size"]:
        raise ChainsleuthError(f"lake {root} uses block buckets of {m['bucket_size']}, not {default}")
    return int(m["bucket_size"])


def note_chain(root: str, chain: str, size: int, spark: SparkSession | None = None, **facts) -> None:
    m = read_manifest(root, spark) or {"version": 1, "bucket_size": size, "chains": {}}
    entry = m["chains"].setdefault(chain, {})
    for k, v in facts.items():
        if v is not None:
            entry[k] = bool(entry.get(k)) or v if isinstance(v, bool) else v
    write_manifest(root, m, spark)


# --- Spark side -----------------------------------------------------------------------------------------


def _fs(spark: SparkSession, path: str):
    jvm = spark.sparkContext._jvm
    p = jvm.org.apache.hadoop.fs.Path(path)
    return p.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), p


def table_path(root: str, table: str, chain: str | None = None) -> str:
    base = f"{str(root).rstrip('/')}/{table}"
    return f"{base}/chain={chain}" if chain else base


def empty(spark: SparkSession, table: str) -> DataFrame:
    ddl = ", ".join(f"{n} {t}" for n, t in SCHEMAS[table])
    return spark.createDataFrame([], ddl)


def conform(df: DataFrame, table: str) -> DataFrame:
    """Select the canonical columns of ``table`` in order, cast to their lake types."""
    from pyspark.sql import functions as F

    return df.select(*[F.col(n).cast(t).alias(n) for n, t in SCHEMAS[table]])


def has_table(spark: SparkSession, root: str, table: str, chain: str) -> bool:
    """Does the lake hold any file of this chain's table? (No Spark job: a file-system listing.)"""
    if _is_local(root):
        return bool(lake_files(root, table, chain))
    fs, p = _fs(spark, table_path(root, table, chain))
    if not fs.exists(p):
        return False
    it = fs.listFiles(p, True)
    while it.hasNext():
        if it.next().getPath().getName().endswith(".parquet"):
            return True
    return False


def read_table(spark: SparkSession, root: str, table: str, chain: str, *, with_bucket: bool = False) -> DataFrame:
    """One chain's rows of a lake table (empty with the canonical schema when absent)."""
    from pyspark.sql import functions as F

    path = table_path(root, table, chain)
    if not has_table(spark, root, table, chain):
        df = empty(spark, table)
        return df.withColumn("block_bucket", F.lit(None).cast("int")) if with_bucket else df
    df = spark.read.option("basePath", table_path(root, table)).parquet(path).withColumn("chain", F.lit(chain))
    cols = [F.col(n).cast(t).alias(n) for n, t in SCHEMAS[table]]
    if with_bucket:
        cols.append(F.col("block_bucket").cast("int").alias("block_bucket") if "block_bucket" in df.columns
                    else F.lit(None).cast("int").alias("block_bucket"))
    return df.select(*cols)


def with_bucket(df: DataFrame, table: str, size: int) -> DataFrame:
    from pyspark.sql import functions as F

    return df.withColumn("block_bucket", F.floor(F.col(BLOCK_COLUMN[table]) / F.lit(size)).cast("int"))


class LakeWrite:
    """One all-or-nothing write to the lake: stage tables with :meth:`stage`, then :meth:`commit`.

    Appended tables get their files renamed into the partition folders; replaced tables (assets) have their
    chain folder swapped. Until commit nothing under ``ROOT/<table>`` changes; :meth:`abort` removes the
    staging folder.
    """

    def __init__(self, spark: SparkSession, root: str):
        self.spark = spark
        self.root = str(root).rstrip("/")
        self.id = uuid.uuid4().hex[:12]
        self.staging = f"{self.root}/_staging/{self.id}"
        self.appends: list[str] = []
        self.replaces: list[tuple[str, str]] = []

    def stage(self, df: DataFrame, table: str, chain: str, *, replace: bool = False) -> None:
        """Write ``df`` (canonical columns, plus ``block_bucket`` for block tables) under staging."""
        target = f"{self.staging}/{table}"
        if table in BLOCK_COLUMN:
            cols = [n for n, _ in SCHEMAS[table] if n != "chain"] + ["block_bucket"]
            df.select(*cols).write.mode("overwrite").partitionBy("block_bucket").parquet(f"{target}/chain={chain}")
        else:
            cols = [n for n, _ in SCHEMAS[table] if n != "chain"]
            df.select(*cols).write.mode("overwrite").parquet(f"{target}/chain={chain}")
        (self.replaces.append((table, chain)) if replace else self.appends.append(table))

    def commit(self) -> None:
        fs, _ = _fs(self.spark, self.root)
        jvm = self.spark.sparkContext._jvm
        Path_ = jvm.org.apache.hadoop.fs.Path
        try:
            for table in dict.fromkeys(self.appends):
                src = Path_(f"{self.staging}/{table}")
                if not fs.exists(src):
                    continue
                it = fs.listFiles(src, True)
                moves = []
                while it.hasNext():
                    st = it.next().getPath()
                    name = st.getName()
                    if not name.endswith(".parquet"):
                        continue
                    rel = st.toUri().getPath()[len(src.toUri().getPath()) + 1:]
                    folder = rel.rsplit("/", 1)[0]
                    moves.append((st, Path_(f"{self.root}/{table}/{folder}/{self.id}-{name}")))
                for src_file, dst in moves:
                    fs.mkdirs(dst.getParent())
                    if not fs.rename(src_file, dst):
                        raise ChainsleuthError(f"lake commit: cannot move {src_file} to {dst}")
            for table, chain in self.replaces:
                new = Path_(f"{self.staging}/{table}/chain={chain}")
                cur = Path_(table_path(self.root, table, chain))
                old = Path_(f"{self.staging}/_old_{table}")
                fs.mkdirs(cur.getParent())
                if fs.exists(cur) and not fs.rename(cur, old):
                    raise ChainsleuthError(f"lake commit: cannot move {cur} aside")
                if not fs.rename(new, cur):
                    raise ChainsleuthError(f"lake commit: cannot move {new} to {cur}")
        finally:
            self.abort()

    def abort(self) -> None:
        fs, p = _fs(self.spark, self.staging)
        fs.delete(p, True)
        parent = p.getParent()
        if fs.exists(parent) and len(fs.listStatus(parent)) == 0:
            fs.delete(parent, True)


def anti_join_existing(spark: SparkSession, root: str, new: DataFrame, table: str, chain: str) -> DataFrame:
    """Rows of ``new`` whose natural key is not yet in the lake (only the touched buckets are read)."""
    from pyspark.sql import functions as F

    if not has_table(spark, root, table, chain):
        return new
    existing = read_table(spark, root, table, chain, with_bucket=table in BLOCK_COLUMN)
    key = KEYS[table]
    if table in BLOCK_COLUMN:
        buckets = [r[0] for r in new.select("block_bucket").distinct().collect()]
        if not buckets:
            return new
        existing = existing.where(F.col("block_bucket").isin(buckets))
    return new.join(existing.select(*key), on=key, how="left_anti")


# --- DuckDB side ----------------------------------------------------------------------------------------


def _sql_str(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def lake_files(root: str | os.PathLike[str], table: str, chain: str) -> list[str]:
    """Parquet files of one chain's table (local lakes)."""
    base = Path(_local(str(root))) / table / f"chain={chain}"
    return sorted(str(p) for p in base.rglob("*.parquet")) if base.is_dir() else []


def duckdb_relation_sql(root: str | os.PathLike[str], table: str, chain: str) -> str | None:
    """A DuckDB SELECT reading one chain's lake table with the store's column types (HUGEINT amounts).

    Returns None when the lake holds no file for it. Used to load the lake into a store and to let DuckDB
    analyses read the lake directly.
    """
    files = lake_files(root, table, chain)
    if not files:
        return None
    src = f"read_parquet([{', '.join(_sql_str(f) for f in files)}], hive_partitioning = false)"
    cols = []
    for name, typ in SCHEMAS[table]:
        if name == "chain":
            cols.append(f"{_sql_str(chain)} AS chain")
        elif table == "transfers" and name == "amount":
            cols.append("coalesce(amount::HUGEINT, TRY_CAST(amount_overflow AS HUGEINT)) AS amount")
        elif table == "transfers" and name == "amount_overflow":
            cols.append("CASE WHEN amount IS NULL AND TRY_CAST(amount_overflow AS HUGEINT) IS NULL "
                        "THEN amount_overflow::BIGNUM END AS amount_overflow")
        elif typ.startswith("decimal"):
            cols.append(f"{name}::HUGEINT AS {name}")
        elif typ == "timestamp_ntz":
            cols.append(f"{name}::TIMESTAMP AS {name}")
        else:
            cols.append(name)
    return f"SELECT {', '.join(cols)} FROM {src}"


def load_into_store(con: duckdb.DuckDBPyConnection, root: str | os.PathLike[str], chain: str,
                    source: str | None = None) -> dict[str, int]:
    """Load one chain of a (local) lake into the DuckDB store: one transaction, idempotent.

    Rows whose natural key is already stored are skipped (set-based anti-join), as in ``load_etl``; assets
    merge their symbol/name/decimals. Inputs whose spent output is now known get its value and address.
    Returns rows added per table.
    """
    added: dict[str, int] = {}
    c = _sql_str(chain)
    manifest = read_manifest(root) or {}
    facts = manifest.get("chains", {}).get(chain, {})
    with store.transaction(con):
        ensure_chain(con, chain)
        for table in tables_for(chain):
            rel = duckdb_relation_sql(root, table, chain)
            if rel is None:
                continue
            cols = ", ".join(n for n, _ in SCHEMAS[table])
            if table == "assets":
                n0 = con.execute("SELECT count(*) FROM assets WHERE chain = ?", [chain]).fetchall()[0][0]
                con.execute(
                    f"""INSERT INTO assets ({cols}) SELECT {cols} FROM ({rel})
                    ON CONFLICT (chain, asset) DO UPDATE SET symbol = coalesce(excluded.symbol, assets.symbol),
                        name = coalesce(excluded.name, assets.name),
                        decimals = coalesce(excluded.decimals, assets.decimals)"""
                ).fetchall()
                added[table] = con.execute("SELECT count(*) FROM assets WHERE chain = ?", [chain]).fetchall()[0][0] - n0
                continue
            key = ", ".join(KEYS[table])
            added[table] = con.execute(
                f"""INSERT INTO {table} ({cols})
                SELECT {cols} FROM ({rel}) s
                ANTI JOIN (SELECT {key} FROM {table} WHERE chain = {c}) e USING ({key})"""
            ).fetchone()[0]
        if "utxo_inputs" in added:
            con.execute(
                f"""UPDATE utxo_inputs i SET value = o.value, address = coalesce(i.address, o.address)
                FROM utxo_outputs o
                WHERE i.chain = {c} AND o.chain = {c} AND i.value IS NULL
                  AND o.tx_hash = i.spent_tx_hash AND o.output_index = i.spent_output_index"""
            ).fetchall()
        if facts.get("traces"):
            con.execute("UPDATE chains SET traces = TRUE WHERE chain = ?", [chain]).fetchall()
        store.record_load(con, chain, source or str(root), "lake", sum(added.values()))
    return added


def export_store(con: duckdb.DuckDBPyConnection, root: str | os.PathLike[str], chain: str,
                 size: int | None = None) -> dict[str, int]:
    """Write one chain of the DuckDB store into a local lake (replacing that chain's folders).

    The way to run Spark jobs over data that was ingested with the DuckDB engine. Returns rows per table.
    """
    root = _local(str(root))
    size = bucket_size(root, default=size)
    c = _sql_str(chain)
    if con.execute("SELECT count(*) FROM chains WHERE chain = ?", [chain]).fetchone()[0] == 0:
        raise ChainsleuthError(f"chain {chain!r} is not in the database")
    written: dict[str, int] = {}
    for table in tables_for(chain):
        cols = []
        for name, typ in SCHEMAS[table]:
            if name == "chain":
                continue
            if table == "transfers" and name == "amount":
                cols.append(f"CASE WHEN abs(amount) < {DECIMAL38_LIMIT}::HUGEINT THEN amount::DECIMAL(38,0) END AS amount")
            elif table == "transfers" and name == "amount_overflow":
                cols.append(f"CASE WHEN abs(amount) >= {DECIMAL38_LIMIT}::HUGEINT THEN amount::VARCHAR "
                            "ELSE amount_overflow::VARCHAR END AS amount_overflow")
            elif typ.startswith("decimal"):
                big = con.execute(f"SELECT count(*) FROM {table} WHERE chain = {c} "
                                  f"AND abs({name}) >= {DECIMAL38_LIMIT}::HUGEINT").fetchone()[0]
                if big:
                    raise ChainsleuthError(f"{table}.{name}: {big} value(s) of 10^38 or more do not fit the lake")
                cols.append(f"{name}::DECIMAL(38,0) AS {name}")
            else:
                cols.append(name)
        where = f"WHERE chain = {c}"
        target = Path(root) / table / f"chain={chain}"
        if target.exists():
            import shutil

            shutil.rmtree(target)
        target.mkdir(parents=True, exist_ok=True)
        if table in BLOCK_COLUMN:
            sel = f"SELECT {', '.join(cols)}, ({BLOCK_COLUMN[table]} // {int(size)})::INTEGER AS block_bucket FROM {table} {where}"
            con.execute(f"COPY ({sel}) TO {_sql_str(str(target))} "
                        "(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (block_bucket), OVERWRITE_OR_IGNORE)").fetchall()
        else:
            sel = f"SELECT {', '.join(cols)} FROM {table} {where}"
            con.execute(f"COPY ({sel}) TO {_sql_str(str(target / 'part-0.parquet'))} (FORMAT parquet, COMPRESSION zstd)").fetchall()
        written[table] = con.execute(f"SELECT count(*) FROM {table} {where}").fetchone()[0]
    traces = con.execute("SELECT traces FROM chains WHERE chain = ?", [chain]).fetchone()[0]
    note_chain(root, chain, size, traces=bool(traces) if traces is not None else None)
    return written
