"""ethereum-etl / bitcoin-etl export folders -> the Parquet lake, with Spark.

The same files, the same validation and the same value semantics as the DuckDB loader
(:func:`chainsleuth.ingest.etl.load_etl`), so that both engines store identical rows:

* a failed transaction (receipt status 0, or a failed root trace) moves no native value;
* failed traces move nothing; ``delegatecall`` / ``callcode`` / ``staticcall`` frames move no value;
  the root call of a transaction duplicates its native value and is skipped;
* ``reward`` / ``genesis`` traces become ``reward`` transfers without a sender;
* addresses and hashes of account chains are stored lower-case; amounts exact (DECIMAL(38,0), else text).

Files are read in parallel by Spark (CSV files grouped by header, JSON lines with an all-text schema, so
nothing is coerced). Validation is set-based; only when a row fails is its file re-read by the DuckDB
staging code to report the exact line. A load is one :class:`~chainsleuth.spark.lake.LakeWrite`: all tables
or nothing, and rows whose natural key is already in the lake are skipped (loading twice stores once).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from chainsleuth.errors import ChainsleuthError, InputError
from chainsleuth.ingest.etl import BTC_SPEC, ETH_ENTITIES, ETH_SPEC, find_files
from chainsleuth.ingest.staging import UINT256_MAX_TEXT, Check, header_of, locate_line, sql_str, stage
from chainsleuth.model import Model, chain_info
from chainsleuth.spark import lake

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_CORRUPT = "_corrupt"
_KINDS = {"hash", "txid", "address", "uint", "int", "bool01", "required"}


@dataclass
class LakeLoadStats:
    """What one Spark load did: files, rows read per entity, rows added per lake table, seconds."""

    chain: str
    directory: str
    lake: str
    files: dict[str, list[str]] = field(default_factory=dict)
    staged: dict[str, int] = field(default_factory=dict)
    added: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"chain": self.chain, "directory": self.directory, "lake": self.lake, "files": self.files,
                "staged": self.staged, "added": self.added, "seconds": round(self.seconds, 3)}


def _check_expr(k: Check) -> str:
    """Spark SQL twin of :meth:`Check.predicate` (same regular expressions and range bound)."""
    c = f"`{k.column}`"
    if k.kind not in _KINDS:
        raise ChainsleuthError(f"Spark ingest has no twin for the {k.kind!r} check of column {k.column!r}")
    pred = {
        "hash": f"(length({c}) = 66 AND {c} RLIKE '^0x[0-9a-fA-F]{{64}}$')",
        "txid": f"(length({c}) = 64 AND {c} RLIKE '^[0-9a-fA-F]{{64}}$')",
        "address": f"(length({c}) = 42 AND {c} RLIKE '^0x[0-9a-fA-F]{{40}}$')",
        "uint": f"({c} RLIKE '^[0-9]{{1,78}}$' AND (length({c}) < 78 OR {c} <= '{UINT256_MAX_TEXT}'))",
        "int": f"{c} RLIKE '^-?[0-9]{{1,18}}$'",
        "bool01": f"{c} IN ('0', '1', 'true', 'false', 'True', 'False')",
        "required": "TRUE",
    }[k.kind]
    return f"({c} IS NOT NULL AND {pred})" if k.required else f"({c} IS NULL OR {pred})"


def _ts(col: str) -> str:
    """Unix seconds (text) -> UTC wall-clock TIMESTAMP_NTZ, like the DuckDB loader's make_timestamp."""
    return f"CAST(timestamp_seconds(CAST({col} AS BIGINT)) AS TIMESTAMP_NTZ)"


def _amount(col: str) -> tuple[str, str]:
    """(amount DECIMAL(38,0), amount_overflow text) for an unsigned text column."""
    return (f"CAST({col} AS DECIMAL(38,0))",
            f"CASE WHEN CAST({col} AS DECIMAL(38,0)) IS NULL THEN {col} END")


class _Loader:
    def __init__(self, spark: SparkSession, directory: Path, chain: str, root: str, size: int):
        self.spark = spark
        self.dir = directory
        self.chain = chain
        self.root = root
        self.size = size
        self.info = chain_info(chain)
        self.views: list[str] = []
        self.prefix = f"cs_{id(self):x}_"
        self.cached: list[DataFrame] = []
        self.counts: dict[str, int] = {}
        self.lo: int | None = None
        self.hi: int | None = None

    # -- staging ---------------------------------------------------------------------------------------
    def read(self, entity: str, paths: list[Path], spec: dict) -> DataFrame:
        """All files of one entity as text columns (+ ``_file``), validated like the DuckDB staging."""
        from pyspark.sql import functions as F
        from pyspark.sql.types import StringType, StructField, StructType

        wanted = list(dict.fromkeys([*spec["required"], *spec["optional"]]))
        groups: dict[tuple[str, tuple[str, ...]], list[Path]] = {}
        for p in paths:
            if p.suffix.lower() == ".csv":
                header = header_of(p)
                missing = [c for c in spec["required"] if c not in header]
                if missing:
                    raise InputError(str(p), 1, f"missing column(s) {', '.join(missing)}; header has {', '.join(header)}")
                groups.setdefault(("csv", tuple(header)), []).append(p)
            else:
                groups.setdefault(("json", tuple(wanted)), []).append(p)
        frames = []
        for (fmt, columns), files in groups.items():
            schema = StructType([StructField(c, StringType()) for c in columns] + [StructField(_CORRUPT, StringType())])
            reader = self.spark.read.schema(schema).option("mode", "PERMISSIVE").option(
                "columnNameOfCorruptRecord", _CORRUPT)
            if fmt == "csv":
                df = reader.option("header", True).option("escape", '"').option("multiLine", False).csv(
                    [str(f) for f in files])
            else:
                df = reader.json([str(f) for f in files])
            cols = [F.when(F.col(c) == "", None).otherwise(F.col(c)).alias(c) if c in columns
                    else F.lit(None).cast("string").alias(c) for c in wanted]
            frames.append(df.select(*cols, F.col(_CORRUPT), F.col("_metadata.file_path").alias("_file")))
        df = frames[0]
        for other in frames[1:]:
            df = df.unionByName(other)
        checks = [*spec["checks"], *[Check(c, "required", True) for c in spec["required"]
                                     if not any(k.column == c for k in spec["checks"])]]
        ok = " AND ".join(_check_expr(k) for k in checks)
        df = df.withColumn("_ok", F.expr(f"{_CORRUPT} IS NULL AND coalesce({ok}, FALSE)")).persist()
        self.cached.append(df)
        # One pass: row count, first bad file, block span.
        num = "number" if entity == "blocks" else "block_number" if "block_number" in wanted else None
        aggs = [F.count(F.lit(1)), F.min(F.when(~F.col("_ok"), F.col("_file")))]
        if num:
            aggs += [F.min(F.expr(f"try_cast({num} AS BIGINT)")), F.max(F.expr(f"try_cast({num} AS BIGINT)"))]
        row = df.agg(*aggs).first()
        if row[1] is not None:
            self._raise_bad(row[1], paths, spec)
        self.counts[entity] = row[0]
        if num and row[2] is not None:
            self.lo = row[2] if self.lo is None else min(self.lo, row[2])
            self.hi = row[3] if self.hi is None else max(self.hi, row[3])
        return df.drop(_CORRUPT, "_ok")

    def _raise_bad(self, uri: str, paths: list[Path], spec: dict) -> None:
        """Report a bad file exactly as the DuckDB loader would: re-stage that one file to find the line."""
        import duckdb

        path = next((p for p in paths if uri.endswith(str(p.resolve())) or uri.endswith(str(p))), Path(uri))
        con = duckdb.connect()
        try:
            stage(con, "stg_check", [path], spec["required"], spec["optional"], spec["checks"])
        finally:
            con.close()
        raise InputError(str(path), None, "malformed row (structurally broken line or invalid value)")

    def view(self, df: DataFrame, name: str) -> str:
        full = self.prefix + name
        df.createOrReplaceTempView(full)
        self.views.append(full)
        return full

    def sql(self, text: str) -> DataFrame:
        return self.spark.sql(text)

    def cleanup(self) -> None:
        for v in self.views:
            self.spark.catalog.dropTempView(v)
        for df in self.cached:
            df.unpersist()

    def lake_table(self, table: str, lo: int, hi: int) -> DataFrame:
        """Stored lake rows of ``table`` in blocks lo..hi (bucket-pruned)."""
        from pyspark.sql import functions as F

        df = lake.read_table(self.spark, self.root, table, self.chain, with_bucket=True)
        if not lake.has_table(self.spark, self.root, table, self.chain):
            return df.drop("block_bucket")
        col = lake.BLOCK_COLUMN[table]
        return df.where(F.col("block_bucket").between(lo // self.size, hi // self.size)
                        & F.col(col).between(lo, hi)).drop("block_bucket")

    def checked(self, df: DataFrame, label: str, hint: Path) -> DataFrame:
        """Transfers of one kind, checked in one pass: every row has a block time; a key repeated with the
        same contents is stored once, with different contents it is an error (as in the DuckDB loader)."""
        from pyspark.sql import functions as F

        key = lake.KEYS["transfers"]
        compare = ["from_address", "to_address", "asset", "amount", "amount_overflow"]
        row = df.groupBy(*key).agg(
            F.countDistinct(F.struct(*compare)).alias("n"), F.count(F.lit(1)).alias("c"),
            F.min(F.when(F.col("block_time").isNull(), F.col("block_number"))).alias("untimed"),
        ).agg(F.max("n"), F.max("c"), F.min("untimed")).first()
        if row[2] is not None:
            raise InputError(str(hint), None,
                             f"block {row[2]} has no timestamp: include blocks.csv for it or load its blocks first")
        if row[1] is None or row[1] <= 1:
            return df
        if row[0] > 1:
            dup = df.groupBy(*key).agg(F.countDistinct(F.struct(*compare)).alias("n")).where("n > 1").first()
            raise ChainsleuthError(f"conflicting duplicate {label} {dup['tx_hash']} position {dup['position']!r} "
                                   "in the input")
        return df.dropDuplicates(key)

    # -- account chains --------------------------------------------------------------------------------
    def account(self, staged: dict[str, DataFrame], files: dict[str, list[Path]]) -> dict[str, DataFrame]:

        c = sql_str(self.chain)
        native = sql_str(self.info.native_asset)
        out: dict[str, DataFrame] = {}
        lo, hi = self.span()
        blocks_v = self.blocks(staged, files, out, lo, hi)
        bt = self.view(
            self.sql("SELECT number, any_value(block_time) AS block_time FROM ("
                     + (f"SELECT CAST(number AS BIGINT) AS number, {_ts('timestamp')} AS block_time FROM {blocks_v} UNION ALL "
                        if blocks_v else "")
                     + "SELECT number, block_time FROM {stored}) GROUP BY number".format(
                         stored=self.view(self.lake_table("blocks", lo, hi), "stored_blocks"))),
            "block_times")
        has = {e: e in staged for e in ("transactions", "receipts", "traces", "token_transfers")}
        v = {e: self.view(staged[e], e) for e in staged}
        status_src = []
        if has["transactions"]:
            status_src.append(f"SELECT hash AS tx, CAST(receipt_status AS INT) AS status, receipt_gas_used AS gas_used, "
                              f"receipt_effective_gas_price AS egp, receipt_contract_address AS created FROM {v['transactions']}")
        if has["receipts"]:
            status_src.append(f"SELECT transaction_hash AS tx, CAST(status AS INT) AS status, gas_used, "
                              f"effective_gas_price AS egp, contract_address AS created FROM {v['receipts']}")
        if has["traces"]:
            status_src.append(
                "SELECT transaction_hash AS tx, max(CASE WHEN coalesce(status, '1') = '1' THEN 1 ELSE 0 END) AS status, "
                "CAST(NULL AS STRING) AS gas_used, CAST(NULL AS STRING) AS egp, CAST(NULL AS STRING) AS created "
                f"FROM {v['traces']} WHERE coalesce(trace_address, '') = '' AND transaction_hash IS NOT NULL "
                "AND trace_type IN ('call', 'create', 'create2') GROUP BY transaction_hash")
        if status_src:
            st = self.view(self.sql(
                "SELECT tx, min(status) AS status, max(gas_used) AS gas_used, max(egp) AS egp, max(created) AS created "
                f"FROM ({' UNION ALL '.join(status_src)}) GROUP BY tx"), "status")
        else:
            st = self.view(self.spark.createDataFrame(
                [], "tx string, status int, gas_used string, egp string, created string"), "status")

        transfers: list[DataFrame] = []
        load_tx = None
        if has["transactions"]:
            dup = self.sql(f"SELECT hash FROM {v['transactions']} GROUP BY hash "
                           "HAVING count(DISTINCT struct(block_number, value, from_address)) > 1 LIMIT 1").first()
            if dup:
                raise InputError(str(files["transactions"][0]), None,
                                 f"transaction {dup[0]} appears twice with different contents")
            load_tx_df = self.sql(
                f"""SELECT DISTINCT {c} AS chain, lower(t.hash) AS hash, CAST(t.block_number AS BIGINT) AS block_number,
                       coalesce({_ts('t.block_timestamp')}, bt.block_time) AS block_time,
                       CAST(t.transaction_index AS INT) AS tx_index, lower(t.from_address) AS from_address,
                       lower(t.to_address) AS to_address, lower(st.created) AS created,
                       CAST(t.value AS DECIMAL(38,0)) AS value, t.value AS value_text,
                       CAST(st.gas_used AS BIGINT) * CAST(coalesce(st.egp, t.gas_price) AS DECIMAL(38,0)) AS fee,
                       CAST(coalesce(st.egp, t.gas_price) AS DECIMAL(38,0)) AS gas_price,
                       CAST(st.gas_used AS BIGINT) AS gas_used, st.status AS status
                FROM {v['transactions']} t
                LEFT JOIN {bt} bt ON bt.number = CAST(t.block_number AS BIGINT)
                LEFT JOIN {st} st ON st.tx = t.hash""").persist()
            self.cached.append(load_tx_df)
            load_tx = self.view(load_tx_df, "load_tx")
            out["transactions"] = self.sql(
                f"SELECT *, CAST(NULL AS BOOLEAN) AS is_coinbase, CAST(NULL AS INT) AS input_count, "
                f"CAST(NULL AS INT) AS output_count FROM {load_tx}")
            amt, ovf = _amount("value_text")
            # Every transaction needs a time (checked on all of them, not only the value-moving ones).
            transfers.append(self.checked(self.sql(
                f"""SELECT chain, block_number, block_time, hash AS tx_hash, tx_index, 'native' AS kind, '' AS position,
                       0 AS seq, from_address, coalesce(to_address, created) AS to_address, {native} AS asset, {amt} AS amount,
                       {ovf} AS amount_overflow
                FROM {load_tx} WHERE (value_text <> '0' AND coalesce(status, 1) = 1) OR block_time IS NULL"""),
                "native transfer", files["transactions"][0]))

        token_assets = None
        if has["token_transfers"]:
            tt = v["token_transfers"]
            ti = (f"SELECT hash, tx_index FROM {load_tx}" if load_tx
                  else "SELECT CAST(NULL AS STRING) AS hash, CAST(NULL AS INT) AS tx_index LIMIT 0")
            stored_tx = self.view(self.lake_table("transactions", lo, hi).select("hash", "tx_index"), "stored_tx")
            amt, ovf = _amount("tt.value")
            load_tt = self.sql(
                f"""SELECT {c} AS chain, CAST(tt.block_number AS BIGINT) AS block_number,
                       coalesce({_ts('tt.block_timestamp')}, bt.block_time) AS block_time,
                       lower(tt.transaction_hash) AS tx_hash, coalesce(ti.tx_index, st.tx_index, -1) AS tx_index,
                       'token' AS kind, tt.log_index AS position, 100000 + CAST(tt.log_index AS INT) AS seq,
                       lower(tt.from_address) AS from_address, lower(tt.to_address) AS to_address,
                       lower(tt.token_address) AS asset, {amt} AS amount, {ovf} AS amount_overflow
                FROM {tt} tt
                LEFT JOIN {bt} bt ON bt.number = CAST(tt.block_number AS BIGINT)
                LEFT JOIN ({ti}) ti ON ti.hash = lower(tt.transaction_hash)
                LEFT JOIN {stored_tx} st ON st.hash = lower(tt.transaction_hash)""").persist()
            self.cached.append(load_tt)
            token_assets = load_tt.select("asset").distinct()
            transfers.append(self.checked(load_tt, "token transfer", files["token_transfers"][0]))

        if has["traces"]:
            tr = v["traces"]
            amt, ovf = _amount("tr.value")
            reward = "tr.trace_type IN ('reward', 'genesis')"
            load_tr = self.sql(
                f"""SELECT {c} AS chain, CAST(tr.block_number AS BIGINT) AS block_number,
                       coalesce({_ts('tr.block_timestamp')}, bt.block_time) AS block_time,
                       CASE WHEN {reward} THEN '' ELSE lower(tr.transaction_hash) END AS tx_hash,
                       coalesce(CAST(tr.transaction_index AS INT), -1) AS tx_index,
                       CASE WHEN {reward} THEN 'reward' ELSE 'internal' END AS kind,
                       CASE WHEN {reward} THEN coalesce(tr.trace_id, tr.trace_type || ':' || tr.to_address)
                            ELSE tr.trace_address END AS position,
                       CAST(row_number() OVER (PARTITION BY tr.transaction_hash ORDER BY
                            transform(split(coalesce(tr.trace_address, ''), ','), x -> try_cast(x AS INT))) AS INT) AS seq,
                       CASE WHEN {reward} THEN NULL ELSE lower(tr.from_address) END AS from_address,
                       lower(tr.to_address) AS to_address, {native} AS asset, {amt} AS amount, {ovf} AS amount_overflow
                FROM {tr} tr
                LEFT JOIN {bt} bt ON bt.number = CAST(tr.block_number AS BIGINT)
                WHERE coalesce(tr.value, '0') <> '0'
                  AND coalesce(tr.status, '1') = '1'
                  AND coalesce(tr.call_type, '') NOT IN ('delegatecall', 'callcode', 'staticcall')
                  AND ({reward}
                       OR (tr.trace_type IN ('call', 'create', 'create2', 'suicide') AND coalesce(tr.trace_address, '') <> ''))"""
            ).persist()
            self.cached.append(load_tr)
            transfers.append(self.checked(load_tr, "internal transfer", files["traces"][0]))
        if transfers:
            df = transfers[0]
            for other in transfers[1:]:
                df = df.unionByName(other)
            out["transfers"] = df
        out["assets"] = self.assets(staged, token_assets)
        return out

    def assets(self, staged: dict[str, DataFrame], token_assets: DataFrame | None) -> DataFrame:
        """The chain's full asset list after this load: stored, native, token contracts, then tokens file."""
        from pyspark.sql import functions as F

        cur = lake.read_table(self.spark, self.root, "assets", self.chain)
        native = self.spark.createDataFrame(
            [(self.chain, self.info.native_asset, self.info.native_asset, self.info.native_asset,
              self.info.native_decimals, None)], "chain string, asset string, symbol string, name string, "
            "decimals int, contract string")
        merged = cur.unionByName(native.join(cur.select("asset"), "asset", "left_anti").select(*cur.columns))
        if token_assets is not None:
            new = token_assets.join(merged.select("asset"), "asset", "left_anti")
            merged = merged.unionByName(new.select(F.lit(self.chain).alias("chain"), "asset",
                                                   *[F.lit(None).cast(t).alias(n) for n, t in
                                                     [("symbol", "string"), ("name", "string"), ("decimals", "int")]],
                                                   F.col("asset").alias("contract")))
        if "tokens" in staged:
            tok = staged["tokens"].select(
                F.lower("address").alias("asset"), "symbol", "name",
                F.expr("try_cast(decimals AS INT)").alias("decimals")).dropDuplicates(["asset"])
            m, t = merged.alias("m"), tok.alias("t")
            merged = m.join(t, "asset", "full_outer").select(
                F.lit(self.chain).alias("chain"), "asset",
                F.coalesce("t.symbol", "m.symbol").alias("symbol"), F.coalesce("t.name", "m.name").alias("name"),
                F.coalesce("t.decimals", "m.decimals").alias("decimals"),
                F.when(F.col("m.asset").isNull(), F.col("asset")).otherwise(F.col("m.contract")).alias("contract"))
        return lake.conform(merged, "assets")

    def span(self) -> tuple[int, int]:
        """Lowest and highest block number in this load (found while staging)."""
        return (self.lo or 0, self.hi if self.hi is not None else -1)

    def blocks(self, staged: dict[str, DataFrame], files: dict[str, list[Path]], out: dict, lo: int, hi: int) -> str | None:
        if "blocks" not in staged:
            return None
        v = self.view(staged["blocks"], "stg_blocks")
        hint = str(files["blocks"][0])
        stored = self.view(self.lake_table("blocks", lo, hi), "stored_blocks_h")
        row = None if not lake.has_table(self.spark, self.root, "blocks", self.chain) else self.sql(f"SELECT b.number, b.hash, s.hash FROM {stored} b JOIN {v} s ON b.number = CAST(s.number AS BIGINT) "
                       "WHERE b.hash <> s.hash LIMIT 1").first()
        if row:
            raise InputError(hint, None, f"block {row[0]} is stored with hash {row[1]} but the file has {row[2]} "
                                         "(another fork): remove the stored range first")
        dup = self.sql(f"SELECT number FROM {v} GROUP BY number HAVING count(DISTINCT hash) > 1 LIMIT 1").first()
        if dup:
            raise InputError(hint, None, f"block {dup[0]} appears with two different hashes")
        out["blocks"] = self.sql(
            f"""SELECT DISTINCT {sql_str(self.chain)} AS chain, CAST(number AS BIGINT) AS number, hash, parent_hash,
                   {_ts('timestamp')} AS block_time, CAST(transaction_count AS INT) AS tx_count FROM {v}""")
        return v

    # -- UTXO chains -----------------------------------------------------------------------------------
    def utxo(self, staged: dict[str, DataFrame], files: dict[str, list[Path]], spec: dict) -> dict[str, DataFrame]:
        from pyspark.sql import functions as F

        out: dict[str, DataFrame] = {}
        lo, hi = self.span()
        self.blocks(staged, files, out, lo, hi)
        out["assets"] = self.assets({}, None)
        if "transactions" not in staged:
            return out
        inputs_t = ("array<struct<index:int, spent_transaction_hash:string, spent_output_index:int, "
                    "addresses:array<string>, value:bigint>>")
        outputs_t = "array<struct<index:int, addresses:array<string>, value:bigint, type:string, script_hex:string>>"
        v = self.view(staged["transactions"], "stg_btx")
        btx = self.sql(
            f"""SELECT _file, hash, try_cast(block_number AS BIGINT) AS block_number, {_ts('block_timestamp')} AS block_time,
                   coalesce(try_cast(`index` AS INT), -1) AS tx_index, coalesce(is_coinbase = 'true', FALSE) AS is_coinbase,
                   CAST(fee AS DECIMAL(38,0)) AS fee,
                   CASE WHEN inputs LIKE '[%' THEN from_json(inputs, '{inputs_t}') END AS inputs,
                   CASE WHEN outputs LIKE '[%' THEN from_json(outputs, '{outputs_t}') END AS outputs
            FROM {v}""").persist()
        self.cached.append(btx)
        self.fail_at(btx, files["transactions"], spec["transactions"], [
            ("outputs IS NULL OR inputs IS NULL",
             "inputs and outputs must be JSON lists of objects with integer index and value"),
            ("exists(outputs, o -> o.value IS NULL OR o.value < 0 OR o.index IS NULL)",
             "every output needs an integer index and a non-negative integer value"),
            ("NOT is_coinbase AND exists(inputs, i -> i.index IS NULL OR i.spent_transaction_hash IS NULL "
             "OR i.spent_output_index IS NULL OR i.value < 0)",
             "every input needs index, spent_transaction_hash, spent_output_index and a non-negative value (or none)"),
        ])
        b = self.view(btx, "load_btx")
        c = sql_str(self.chain)
        out["transactions"] = self.sql(
            f"""SELECT {c} AS chain, hash, block_number, block_time, tx_index, CAST(NULL AS STRING) AS from_address,
                   CAST(NULL AS STRING) AS to_address, CAST(NULL AS DECIMAL(38,0)) AS value, fee,
                   CAST(NULL AS DECIMAL(38,0)) AS gas_price, CAST(NULL AS BIGINT) AS gas_used, 1 AS status, is_coinbase,
                   size(inputs) AS input_count, size(outputs) AS output_count
            FROM {b}""").dropDuplicates(["hash"])
        outs = self.sql(
            f"""SELECT {c} AS chain, hash AS tx_hash, o.index AS output_index, block_number, block_time,
                   CASE WHEN size(o.addresses) = 1 THEN o.addresses[0] END AS address, o.type AS script_type,
                   o.script_hex, o.value
            FROM (SELECT hash, block_number, block_time, explode(outputs) AS o FROM {b})""").dropDuplicates(
            ["tx_hash", "output_index"])
        out["utxo_outputs"] = outs
        ins = self.sql(
            f"""SELECT {c} AS chain, hash AS tx_hash, i.index AS input_index, block_number, block_time,
                   i.spent_transaction_hash AS spent_tx_hash, i.spent_output_index,
                   CASE WHEN size(i.addresses) = 1 THEN i.addresses[0] END AS address, i.value
            FROM (SELECT hash, block_number, block_time, explode(inputs) AS i FROM {b} WHERE NOT is_coinbase)"""
        ).dropDuplicates(["tx_hash", "input_index"])
        # Resolve prevouts the export did not enrich, from this load's outputs and those already in the lake.
        known = outs.select("tx_hash", "output_index", "address", "value").unionByName(
            lake.read_table(self.spark, self.root, "utxo_outputs", self.chain).select(
                "tx_hash", "output_index", "address", "value")).dropDuplicates(["tx_hash", "output_index"])
        unresolved = ins.where(F.col("value").isNull())
        resolved = unresolved.alias("i").join(
            known.alias("o"),
            (F.col("o.tx_hash") == F.col("i.spent_tx_hash")) & (F.col("o.output_index") == F.col("i.spent_output_index")),
            "left").select(*[F.coalesce("i.address", "o.address").alias("address") if n == "address"
                             else F.col("o.value").alias("value") if n == "value" else F.col(f"i.{n}")
                             for n, _ in lake.SCHEMAS["utxo_inputs"]])
        out["utxo_inputs"] = ins.where(F.col("value").isNotNull()).unionByName(resolved)
        return out

    def fail_at(self, btx: DataFrame, files: list[Path], spec: dict, rules: list[tuple[str, str]]) -> None:
        """Raise InputError (file, line) for the first rule some transaction breaks; one pass for all rules."""
        from pyspark.sql import functions as F

        row = btx.agg(*[F.min(F.when(F.expr(f"coalesce({bad}, FALSE)"), F.struct("_file", "hash")))
                        for bad, _ in rules]).first()
        hit = next(((r, reason) for r, (_, reason) in zip(row, rules, strict=True) if r is not None), None)
        if hit is None:
            return
        import duckdb

        (uri, tx), reason = hit
        path = next((p for p in files if uri.endswith(str(p.resolve())) or uri.endswith(str(p))), Path(uri))
        cols = list(dict.fromkeys([*spec["required"], *spec["optional"]]))
        con = duckdb.connect()
        try:
            line = locate_line(con, path, cols, "json", f"hash IS DISTINCT FROM {sql_str(tx)}")
        finally:
            con.close()
        raise InputError(str(path), line, f"transaction {tx}: {reason}")


def etl_to_parquet(
    spark: SparkSession,
    directory: str | Path,
    chain: str,
    root: str,
    *,
    bucket_size: int | None = None,
) -> LakeLoadStats:
    """Load an ethereum-etl (account chains) or bitcoin-etl (UTXO chains) export folder into the lake at ``root``.

    Same files, validation and semantics as :func:`chainsleuth.ingest.etl.load_etl`; one all-or-nothing write;
    idempotent. ``bucket_size`` (blocks per ``block_bucket`` partition) is fixed when the lake is created.
    """
    t0 = time.perf_counter()
    src = Path(directory)
    if not src.is_dir():
        raise ChainsleuthError(f"not a folder: {src}")
    root = str(root).rstrip("/")
    info = chain_info(chain)
    size = lake.bucket_size(root, spark, default=bucket_size)
    entities = ETH_ENTITIES if info.model == Model.ACCOUNT else ["blocks", "transactions"]
    files = {e: find_files(src, e, entities) for e in entities}
    files = {e: ps for e, ps in files.items() if ps}
    stats = LakeLoadStats(chain=chain, directory=str(src), lake=root, files={e: [str(p) for p in ps] for e, ps in files.items()})
    if not files:
        want = "blocks/transactions/token_transfers/traces/tokens" if info.model == Model.ACCOUNT else "blocks/transactions"
        raise ChainsleuthError(f"{src}: no export files found (expected {want} as .csv or .json)")
    spec = ETH_SPEC if info.model == Model.ACCOUNT else BTC_SPEC
    loader = _Loader(spark, src, chain, root, size)
    write = lake.LakeWrite(spark, root)
    try:
        staged = {e: loader.read(e, ps, spec[e]) for e, ps in files.items()}
        stats.staged = dict(loader.counts)
        tables = loader.account(staged, files) if info.model == Model.ACCOUNT else loader.utxo(staged, files, spec)
        for table, df in tables.items():
            if table == "assets":
                write.stage(df, "assets", chain, replace=True)
                continue
            new = lake.anti_join_existing(spark, root, lake.with_bucket(lake.conform(df, table), table, size), table, chain)
            new = new.persist()
            loader.cached.append(new)
            stats.added[table] = new.count()
            if stats.added[table]:
                write.stage(new, table, chain)
        write.commit()
    except BaseException:
        write.abort()
        raise
    finally:
        loader.cleanup()
    lake.note_chain(root, chain, size, spark, traces=True if "traces" in files else None)
    stats.seconds = time.perf_counter() - t0
    return stats
