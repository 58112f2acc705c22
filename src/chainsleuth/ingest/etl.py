"""Ingest ethereum-etl and bitcoin-etl export folders into the canonical ledger.

Reads the files exactly as those tools write them (column names unchanged; CSV or JSON lines; one file per
entity or partitioned ``entity/start_block=.../entity_*.csv`` trees):

* ethereum-etl: ``blocks``, ``transactions`` (with or without the ``receipt_*`` columns of ``stream``),
  ``receipts``, ``token_transfers``, ``traces``, ``tokens``.
* bitcoin-etl: ``blocks.json`` and ``transactions.json`` with nested ``inputs`` / ``outputs``.

Value semantics: a failed transaction (receipt status 0, or a failed root trace) moves no native value;
failed traces (``status`` 0) move nothing; ``delegatecall`` / ``callcode`` / ``staticcall`` frames move no
value between accounts; the root call of a transaction duplicates its native value and is skipped.

A load is one database transaction: any malformed row (reported with file, line and reason) leaves the
database exactly as it was. Loads are idempotent: rows whose natural key is already stored are skipped
(set-based anti-join), so loading the same folder twice stores every row once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from chainsleuth import store
from chainsleuth.errors import ChainsleuthError, InputError
from chainsleuth.ingest.staging import Check, amount_sql, locate_line, sql_str, stage
from chainsleuth.model import Model, chain_info
from chainsleuth.store.ledger import ensure_chain

ETH_ENTITIES = ["blocks", "transactions", "receipts", "token_transfers", "traces", "tokens"]

ETH_SPEC: dict[str, dict] = {
    "blocks": {
        "required": ["number", "hash", "timestamp"],
        "optional": ["parent_hash", "transaction_count"],
        "checks": [Check("number", "uint", True), Check("hash", "hash", True), Check("parent_hash", "hash"),
                   Check("timestamp", "uint", True), Check("transaction_count", "uint")],
    },
    "transactions": {
        "required": ["hash", "block_number", "transaction_index", "from_address", "value"],
        "optional": ["to_address", "gas", "gas_price", "block_timestamp", "receipt_status", "receipt_gas_used",
                     "receipt_effective_gas_price", "receipt_contract_address"],
        "checks": [Check("hash", "hash", True), Check("block_number", "uint", True),
                   Check("transaction_index", "uint", True), Check("from_address", "address", True),
                   Check("to_address", "address"), Check("value", "uint", True), Check("gas_price", "uint"),
                   Check("block_timestamp", "uint"), Check("receipt_status", "uint"),
                   Check("receipt_gas_used", "uint"), Check("receipt_effective_gas_price", "uint"),
                   Check("receipt_contract_address", "address")],
    },
    "receipts": {
        "required": ["transaction_hash", "block_number"],
        "optional": ["status", "gas_used", "effective_gas_price", "contract_address"],
        "checks": [Check("transaction_hash", "hash", True), Check("block_number", "uint", True),
                   Check("status", "uint"), Check("gas_used", "uint"), Check("effective_gas_price", "uint"),
                   Check("contract_address", "address")],
    },
    "token_transfers": {
        "required": ["token_address", "from_address", "to_address", "value", "transaction_hash", "log_index",
                     "block_number"],
        "optional": ["block_timestamp"],
        "checks": [Check("token_address", "address", True), Check("from_address", "address", True),
                   Check("to_address", "address", True), Check("value", "uint", True),
                   Check("transaction_hash", "hash", True), Check("log_index", "uint", True),
                   Check("block_number", "uint", True), Check("block_timestamp", "uint")],
    },
    "traces": {
        "required": ["block_number", "transaction_hash", "from_address", "to_address", "value", "trace_type"],
        "optional": ["transaction_index", "call_type", "trace_address", "status", "trace_id", "block_timestamp",
                     "error"],
        "checks": [Check("block_number", "uint", True), Check("transaction_hash", "hash"),
                   Check("from_address", "address"), Check("to_address", "address"), Check("value", "uint"),
                   Check("transaction_index", "uint"), Check("status", "uint"), Check("block_timestamp", "uint")],
    },
    "tokens": {
        "required": ["address"],
        "optional": ["symbol", "name", "decimals"],
        "checks": [Check("address", "address", True), Check("decimals", "uint")],
    },
}

BTC_SPEC: dict[str, dict] = {
    "blocks": {
        "required": ["hash", "number", "timestamp"],
        "optional": ["parent_hash", "transaction_count"],
        "checks": [Check("number", "uint", True), Check("timestamp", "uint", True), Check("hash", "txid", True)],
    },
    "transactions": {
        "required": ["hash", "block_number", "block_timestamp", "inputs", "outputs"],
        "optional": ["index", "is_coinbase", "fee", "input_count", "output_count"],
        "checks": [Check("hash", "txid", True), Check("block_number", "uint", True), Check("block_timestamp", "uint", True),
                   Check("index", "uint"), Check("fee", "int")],
    },
}


@dataclass
class LoadStats:
    """What one load did: files read, rows staged and rows added per table, time taken."""

    chain: str
    directory: str
    files: dict[str, list[str]] = field(default_factory=dict)
    staged: dict[str, int] = field(default_factory=dict)
    added: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    load_id: int | None = None

    def to_dict(self) -> dict:
        return {"chain": self.chain, "directory": self.directory, "files": self.files, "staged": self.staged,
                "added": self.added, "seconds": round(self.seconds, 3), "load_id": self.load_id}


def find_files(directory: Path, entity: str, entities: list[str]) -> list[Path]:
    """Files for ``entity``: ``entity.csv|json``, ``entity_*.csv|json``, searched recursively, in path order."""
    found = []
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in (".csv", ".json"):
            continue
        stem = path.stem.lower()
        if stem.startswith("expected_"):  # ethereum-etl test fixture naming
            stem = stem[len("expected_"):]
        if stem == entity or stem.startswith(entity + "_"):
            # 'token_transfers_*' must not count as 'tokens'; longest matching entity wins.
            best = max((e for e in entities if stem == e or stem.startswith(e + "_")), key=len)
            if best == entity:
                found.append(path)
    return found


def load_etl(con: duckdb.DuckDBPyConnection, directory: str | Path, chain: str) -> LoadStats:
    """Load an ethereum-etl (account chains) or bitcoin-etl (UTXO chains) export folder. One transaction."""
    root = Path(directory)
    if not root.is_dir():
        raise ChainsleuthError(f"not a folder: {root}")
    info = chain_info(chain)
    t0 = time.perf_counter()
    stats = LoadStats(chain=chain, directory=str(root))
    entities = ETH_ENTITIES if info.model == Model.ACCOUNT else ["blocks", "transactions"]
    files = {e: find_files(root, e, entities) for e in entities}
    stats.files = {e: [str(p) for p in ps] for e, ps in files.items() if ps}
    if not stats.files:
        want = "blocks/transactions/token_transfers/traces/tokens" if info.model == Model.ACCOUNT else "blocks/transactions"
        raise ChainsleuthError(f"{root}: no export files found (expected {want} as .csv or .json)")
    spec = ETH_SPEC if info.model == Model.ACCOUNT else BTC_SPEC
    # Stage and validate everything before touching the database: a bad row stops here.
    for entity, paths in files.items():
        stats.staged[entity] = _stage_all(con, entity, paths, spec[entity])
    try:
        with store.transaction(con):
            ensure_chain(con, chain)
            if info.model == Model.ACCOUNT:
                stats.added = _insert_account(con, chain, info.native_asset, files)
            else:
                stats.added = _insert_utxo(con, chain, files, spec)
            stats.load_id = store.record_load(con, chain, str(root), "etl", sum(stats.added.values()))
    except duckdb.Error as exc:  # last resort: rolled back, reported plainly
        raise ChainsleuthError(f"{root}: load rolled back, nothing stored: {str(exc).splitlines()[0]}") from None
    for entity in files:
        con.execute(f"DROP TABLE IF EXISTS stg_{entity}")
    stats.seconds = time.perf_counter() - t0
    return stats


def _stage_all(con: duckdb.DuckDBPyConnection, entity: str, paths: list[Path], spec: dict) -> int:
    """Stage every file of one entity into ``stg_<entity>`` (validated text columns)."""
    return stage(con, f"stg_{entity}", paths, spec["required"], spec["optional"], spec["checks"])


def _ts(col: str) -> str:
    return f"make_timestamp(({col})::BIGINT * 1000000)"


def _count_insert(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> int:
    row = con.execute(sql, params or []).fetchone()
    return int(row[0]) if row else 0


def _block_times(con: duckdb.DuckDBPyConnection, chain: str, entities: list[str]) -> None:
    """Temp table ``load_block_times(number, block_time)``: this load's blocks, else the stored ones.

    Stored blocks are read only over the block range this load touches, so the cost does not grow with the store.
    """
    have_blocks = "blocks" in entities
    cols = {"blocks": "number", "transactions": "block_number", "receipts": "block_number",
            "token_transfers": "block_number", "traces": "block_number"}
    ranges = " UNION ALL ".join(f"SELECT min(TRY_CAST({cols[e]} AS BIGINT)) AS lo, max(TRY_CAST({cols[e]} AS BIGINT)) AS hi "
                                f"FROM stg_{e}" for e in entities if e in cols)
    lo, hi = con.execute(f"SELECT min(lo), max(hi) FROM ({ranges})").fetchone() if ranges else (None, None)
    staged = f"SELECT number::BIGINT AS number, {_ts('timestamp')} AS block_time FROM stg_blocks" if have_blocks else None
    in_range = f"number BETWEEN {lo} AND {hi}" if lo is not None else "FALSE"
    stored = f"SELECT number, block_time FROM blocks WHERE chain = {sql_str(chain)} AND {in_range}"
    src = f"{staged} UNION ALL {stored}" if staged else stored
    con.execute(f"CREATE OR REPLACE TEMP TABLE load_block_times AS SELECT number, any_value(block_time) AS block_time FROM ({src}) GROUP BY number")


def _stored_in_range(con: duckdb.DuckDBPyConnection, table: str, chain: str, lo: int | None, hi: int | None) -> bool:
    """Whether ``table`` holds any row of ``chain`` in blocks ``lo..hi`` (a zonemap-pruned probe)."""
    if lo is None:
        return False
    row = con.execute(f"SELECT 1 FROM {table} WHERE chain = ? AND block_number BETWEEN ? AND ? LIMIT 1", [chain, lo, hi]).fetchone()
    return row is not None


def _require_times(con: duckdb.DuckDBPyConnection, table: str, file_hint: str) -> None:
    row = con.execute(f"SELECT min(block_number) FROM {table} WHERE block_time IS NULL").fetchone()
    if row and row[0] is not None:
        raise InputError(file_hint, None, f"block {row[0]} has no timestamp: include blocks.csv for it or load its blocks first")


def _check_block_conflicts(con: duckdb.DuckDBPyConnection, chain: str, file_hint: str) -> None:
    row = con.execute(
        "SELECT s.number, b.hash, s.hash FROM stg_blocks s JOIN blocks b ON b.chain = ? AND b.number = s.number::BIGINT "
        "WHERE b.hash <> s.hash LIMIT 1",
        [chain],
    ).fetchone()
    if row:
        raise InputError(file_hint, None, f"block {row[0]} is stored with hash {row[1]} but the file has {row[2]} "
                                          "(another fork): remove the stored range first")
    dup = con.execute("SELECT number FROM stg_blocks GROUP BY number HAVING count(DISTINCT hash) > 1 LIMIT 1").fetchone()
    if dup:
        raise InputError(file_hint, None, f"block {dup[0]} appears with two different hashes")


def _insert_blocks(con: duckdb.DuckDBPyConnection, chain: str, files: dict) -> int:
    if not files.get("blocks"):
        return 0
    _check_block_conflicts(con, chain, str(files["blocks"][0]))
    return _count_insert(
        con,
        f"""INSERT INTO blocks (chain, number, hash, parent_hash, block_time, tx_count)
        SELECT DISTINCT ?, s.number::BIGINT, s.hash, s.parent_hash, {_ts('s.timestamp')}, s.transaction_count::INTEGER
        FROM stg_blocks s ANTI JOIN (SELECT number FROM blocks WHERE chain = ?) b ON b.number = s.number::BIGINT""",
        [chain, chain],
    )


def _insert_account(con: duckdb.DuckDBPyConnection, chain: str, native: str, files: dict) -> dict[str, int]:
    added: dict[str, int] = {}
    c = sql_str(chain)
    _block_times(con, chain, [e for e, ps in files.items() if ps])
    added["blocks"] = _insert_blocks(con, chain, files)

    has_tx, has_rc, has_tr, has_tt = (bool(files.get(e)) for e in ("transactions", "receipts", "traces", "token_transfers"))
    # Transaction status: receipt_status column, else receipts file, else a failed root trace, else unknown.
    status_src = []
    if has_tx:
        status_src.append("SELECT hash AS tx, receipt_status::INTEGER AS status, receipt_gas_used AS gas_used, "
                          "receipt_effective_gas_price AS egp, receipt_contract_address AS created FROM stg_transactions")
    if has_rc:
        status_src.append("SELECT transaction_hash AS tx, status::INTEGER AS status, gas_used, effective_gas_price AS egp, "
                          "contract_address AS created FROM stg_receipts")
    if has_tr:
        status_src.append("SELECT transaction_hash AS tx, max(CASE WHEN coalesce(status, '1') = '1' THEN 1 ELSE 0 END) AS status, "
                          "NULL AS gas_used, NULL AS egp, NULL AS created "
                          "FROM stg_traces WHERE coalesce(trace_address, '') = '' AND transaction_hash IS NOT NULL "
                          "AND trace_type IN ('call', 'create', 'create2') GROUP BY transaction_hash")
    if status_src:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE load_status AS SELECT tx, min(status) AS status, max(gas_used) AS gas_used, "
            f"max(egp) AS egp, max(created) AS created FROM ({' UNION ALL '.join(status_src)}) GROUP BY tx"
        )
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE load_status (tx VARCHAR, status INTEGER, gas_used VARCHAR, egp VARCHAR, created VARCHAR)")

    if has_tx:
        dup = con.execute("SELECT hash FROM stg_transactions GROUP BY hash HAVING count(DISTINCT (block_number, value, from_address)) > 1 LIMIT 1").fetchone()
        if dup:
            raise InputError(str(files["transactions"][0]), None, f"transaction {dup[0]} appears twice with different contents")
        time_expr = f"coalesce({_ts('t.block_timestamp')}, bt.block_time)"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE load_tx AS
            SELECT DISTINCT {c} AS chain, lower(t.hash) AS hash, t.block_number::BIGINT AS block_number,
                   {time_expr} AS block_time, t.transaction_index::INTEGER AS tx_index,
                   lower(t.from_address) AS from_address,
                   lower(t.to_address) AS to_address, lower(st.created) AS created,
                   TRY_CAST(t.value AS HUGEINT) AS value, t.value AS value_text,
                   TRY_CAST(st.gas_used AS BIGINT) * TRY_CAST(coalesce(st.egp, t.gas_price) AS HUGEINT) AS fee,
                   TRY_CAST(coalesce(st.egp, t.gas_price) AS HUGEINT) AS gas_price,
                   TRY_CAST(st.gas_used AS BIGINT) AS gas_used, st.status AS status
            FROM stg_transactions t
            LEFT JOIN load_block_times bt ON bt.number = t.block_number::BIGINT
            LEFT JOIN load_status st ON st.tx = t.hash"""
        )
        _require_times(con, "load_tx", str(files["transactions"][0]))
        lo, hi = con.execute("SELECT min(block_number), max(block_number) FROM load_tx").fetchone()
        stored = ""
        if _stored_in_range(con, "transactions", chain, lo, hi):  # a reload or an overlap: skip stored hashes
            stored = f"ANTI JOIN (SELECT hash FROM transactions WHERE chain = {c} AND block_number BETWEEN {lo} AND {hi}) e USING (hash)"
        added["transactions"] = _count_insert(
            con,
            f"""INSERT INTO transactions (chain, hash, block_number, block_time, tx_index, from_address, to_address,
                value, fee, gas_price, gas_used, status)
            SELECT chain, hash, block_number, block_time, tx_index, from_address, to_address, value, fee, gas_price,
                   gas_used, status
            FROM load_tx s {stored}""",
        )
        amt, ovf = amount_sql("value_text")
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE load_native AS SELECT chain, block_number, block_time, hash AS tx_hash, tx_index, 'native' AS kind, '' AS position,
                   0 AS seq, from_address, coalesce(to_address, created) AS to_address, {sql_str(native)} AS asset, {amt} AS amount, {ovf} AS amount_overflow
            FROM load_tx WHERE value_text <> '0' AND coalesce(status, 1) = 1"""
        )
        _insert_transfers(con, chain, "load_native", added, "native", str(files["transactions"][0]))
        con.execute("DROP TABLE load_native")

    if has_tt:
        _insert_token_transfers(con, chain, has_tx, added, str(files["token_transfers"][0]))

    if has_tr:
        amt, ovf = amount_sql("value")
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE load_tr AS
            SELECT {c} AS chain, tr.block_number::BIGINT AS block_number,
                   coalesce({_ts('tr.block_timestamp')}, bt.block_time) AS block_time,
                   CASE WHEN tr.trace_type IN ('reward', 'genesis') THEN '' ELSE lower(tr.transaction_hash) END AS tx_hash,
                   coalesce(tr.transaction_index::INTEGER, -1) AS tx_index,
                   CASE WHEN tr.trace_type IN ('reward', 'genesis') THEN 'reward' ELSE 'internal' END AS kind,
                   CASE WHEN tr.trace_type IN ('reward', 'genesis')
                        THEN coalesce(tr.trace_id, tr.trace_type || ':' || tr.to_address) ELSE tr.trace_address END AS position,
                   row_number() OVER (PARTITION BY tr.transaction_hash ORDER BY
                        list_transform(string_split(coalesce(tr.trace_address, ''), ','), lambda x: TRY_CAST(x AS INTEGER)))::INTEGER AS seq,
                   CASE WHEN tr.trace_type IN ('reward', 'genesis') THEN NULL ELSE lower(tr.from_address) END AS from_address,
                   lower(tr.to_address) AS to_address, {sql_str(native)} AS asset, {amt} AS amount, {ovf} AS amount_overflow
            FROM stg_traces tr
            LEFT JOIN load_block_times bt ON bt.number = tr.block_number::BIGINT
            WHERE coalesce(tr.value, '0') <> '0'
              AND coalesce(tr.status, '1') = '1'
              AND coalesce(tr.call_type, '') NOT IN ('delegatecall', 'callcode', 'staticcall')
              AND (tr.trace_type IN ('reward', 'genesis')
                   OR (tr.trace_type IN ('call', 'create', 'create2', 'suicide') AND coalesce(tr.trace_address, '') <> ''))"""
        )
        _insert_transfers(con, chain, "load_tr", added, "internal", str(files["traces"][0]))
        con.execute("DROP TABLE load_tr")
        con.execute("UPDATE chains SET traces = TRUE WHERE chain = ?", [chain])

    if files.get("tokens"):
        added["assets"] = _count_insert(
            con,
            f"""INSERT INTO assets (chain, asset, symbol, name, decimals, contract)
            SELECT DISTINCT ON (lower(address)) {c}, lower(address), symbol, name, TRY_CAST(decimals AS INTEGER), lower(address)
            FROM stg_tokens
            ON CONFLICT (chain, asset) DO UPDATE SET symbol = coalesce(excluded.symbol, assets.symbol),
                name = coalesce(excluded.name, assets.name), decimals = coalesce(excluded.decimals, assets.decimals)""",
        )
    return added


def _insert_token_transfers(con: duckdb.DuckDBPyConnection, chain: str, has_tx: bool, added: dict, file_hint: str) -> None:
    """ERC-20 transfers, straight from the staged text into ``transfers`` (no intermediate table)."""
    c = sql_str(chain)
    lo, hi = con.execute(
        "SELECT min(TRY_CAST(block_number AS BIGINT)), max(TRY_CAST(block_number AS BIGINT)) FROM stg_token_transfers"
    ).fetchone()
    # tx_index comes from this load's transactions or stored ones; neither present (a token-only export): -1.
    tx_sources = ["SELECT hash, tx_index FROM load_tx"] if has_tx else []
    if _stored_in_range(con, "transactions", chain, lo, hi):
        tx_sources.append(f"SELECT hash, tx_index FROM transactions WHERE chain = {c} AND block_number BETWEEN {lo} AND {hi}")
    tx_index, tx_join = "-1", ""
    for i, src in enumerate(tx_sources):
        tx_join += f" LEFT JOIN ({src}) ti{i} ON ti{i}.hash = lower(tt.transaction_hash)"
    if tx_sources:
        tx_index = f"coalesce({', '.join(f'ti{i}.tx_index' for i in range(len(tx_sources)))}, -1)"
    amt, ovf = amount_sql("value")
    source = f"""(SELECT {c} AS chain, tt.block_number::BIGINT AS block_number,
                   coalesce({_ts('tt.block_timestamp')}, bt.block_time) AS block_time,
                   lower(tt.transaction_hash) AS tx_hash, {tx_index} AS tx_index,
                   'token' AS kind, tt.log_index AS position, 100000 + tt.log_index::INTEGER AS seq,
                   lower(tt.from_address) AS from_address, lower(tt.to_address) AS to_address,
                   lower(tt.token_address) AS asset, {amt} AS amount, {ovf} AS amount_overflow
            FROM stg_token_transfers tt
            LEFT JOIN load_block_times bt ON bt.number = tt.block_number::BIGINT{tx_join})"""
    con.execute(f"INSERT INTO assets (chain, asset, contract) SELECT DISTINCT {c}, lower(token_address), lower(token_address) "
                "FROM stg_token_transfers ON CONFLICT DO NOTHING")
    _insert_transfers(con, chain, source, added, "token", file_hint)


def _insert_transfers(con: duckdb.DuckDBPyConnection, chain: str, source: str, added: dict, label: str, file_hint: str) -> None:
    """Insert the rows of ``source`` (a temp table or a parenthesised query) into transfers, once per natural key.

    One pass over the source finds the block range, rows without a block time and whether any key repeats
    (by 64-bit key hashes; only when the hashes repeat are the keys compared exactly). Exact duplicate rows
    inside the input (overlapping export files) are stored once; two rows with the same key but different
    contents are an error. Keys already stored are skipped by an anti-join, which only runs when the store
    holds transfers in the block range of this load.
    """
    rows, hashes, lo, hi, untimed = con.execute(
        "SELECT count(*), count(DISTINCT hash(tx_hash, kind, position)), min(block_number), max(block_number), "
        f"min(block_number) FILTER (WHERE block_time IS NULL) FROM {source} n"
    ).fetchone()
    if untimed is not None:
        raise InputError(file_hint, None, f"block {untimed} has no timestamp: include blocks.csv for it or load its blocks first")
    distinct = ""
    if hashes < rows:
        conflict = con.execute(
            f"SELECT tx_hash, kind, position FROM {source} n GROUP BY ALL "
            "HAVING count(DISTINCT (from_address, to_address, asset, amount)) > 1 LIMIT 1"
        ).fetchone()
        if conflict:
            raise ChainsleuthError(f"conflicting duplicate {conflict[1]} transfer {conflict[0]} position {conflict[2]!r} in the input")
        distinct = "DISTINCT ON (tx_hash, kind, position)"
    stored = ""
    if _stored_in_range(con, "transfers", chain, lo, hi):
        stored = (f"ANTI JOIN (SELECT tx_hash, kind, position FROM transfers WHERE chain = {sql_str(chain)} "
                  f"AND block_number BETWEEN {lo} AND {hi}) e USING (tx_hash, kind, position)")
    added[label] = _count_insert(con, f"INSERT INTO transfers SELECT {distinct} * FROM {source} n {stored}")


_INPUTS_T = '[{"index": "INTEGER", "spent_transaction_hash": "VARCHAR", "spent_output_index": "INTEGER", "addresses": ["VARCHAR"], "value": "BIGINT"}]'
_OUTPUTS_T = '[{"index": "INTEGER", "addresses": ["VARCHAR"], "value": "BIGINT", "type": "VARCHAR", "script_hex": "VARCHAR"}]'


def _fail_at(con: duckdb.DuckDBPyConnection, files: list[Path], spec: dict, stg: str, bad_sql: str, reason: str) -> None:
    """Raise InputError for the first staged row where ``bad_sql`` holds, with its file and line."""
    row = con.execute(f"SELECT _file, hash FROM {stg} WHERE {bad_sql} ORDER BY _file LIMIT 1").fetchone()
    if row is None:
        return
    path = files[row[0]]
    cols = list(dict.fromkeys([*spec["required"], *spec["optional"]]))
    line = locate_line(con, path, cols, "json", f"hash IS DISTINCT FROM {sql_str(row[1])}")
    raise InputError(str(path), line, f"transaction {row[1]}: {reason}")


def _insert_utxo(con: duckdb.DuckDBPyConnection, chain: str, files: dict, spec: dict) -> dict[str, int]:
    added: dict[str, int] = {}
    c = sql_str(chain)
    added["blocks"] = _insert_blocks(con, chain, files)
    if not files.get("transactions"):
        return added
    tx_files, tx_spec = files["transactions"], spec["transactions"]
    # Nested inputs/outputs: well-formed JSON lists with the fields bitcoin-etl always writes.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE load_btx AS
        SELECT _file, hash, TRY_CAST(block_number AS BIGINT) AS block_number, {_ts('block_timestamp')} AS block_time,
               coalesce(TRY_CAST("index" AS INTEGER), -1) AS tx_index, coalesce(is_coinbase = 'true', FALSE) AS is_coinbase,
               TRY_CAST(fee AS HUGEINT) AS fee,
               CASE WHEN json_valid(inputs) AND json_type(inputs) = 'ARRAY' THEN TRY(from_json(inputs, '{_INPUTS_T}')) END AS inputs,
               CASE WHEN json_valid(outputs) AND json_type(outputs) = 'ARRAY' THEN TRY(from_json(outputs, '{_OUTPUTS_T}')) END AS outputs
        FROM stg_transactions"""
    )
    _fail_at(con, tx_files, tx_spec, "load_btx", "outputs IS NULL OR inputs IS NULL",
             "inputs and outputs must be JSON lists of objects with integer index and value")
    _fail_at(con, tx_files, tx_spec, "load_btx",
             "list_bool_or(list_transform(outputs, lambda o: o.value IS NULL OR o.value < 0 OR o.index IS NULL))",
             "every output needs an integer index and a non-negative integer value")
    _fail_at(con, tx_files, tx_spec, "load_btx",
             "NOT is_coinbase AND list_bool_or(list_transform(inputs, lambda i: i.index IS NULL OR i.spent_transaction_hash IS NULL "
             "OR i.spent_output_index IS NULL OR i.value < 0))",
             "every input needs index, spent_transaction_hash, spent_output_index and a non-negative value (or none)")
    lo_hi = "(SELECT min(block_number) FROM load_btx) AND (SELECT max(block_number) FROM load_btx)"
    # bitcoin-etl repeats duplicate txids (BIP 30) per block: key on (hash, block_number) when staging.
    added["transactions"] = _count_insert(
        con,
        f"""INSERT INTO transactions (chain, hash, block_number, block_time, tx_index, fee, status, is_coinbase,
            input_count, output_count)
        SELECT DISTINCT ON (hash) {c}, hash, block_number, block_time, tx_index, fee, 1, is_coinbase, len(inputs), len(outputs)
        FROM load_btx s ANTI JOIN (SELECT hash FROM transactions WHERE chain = {c} AND block_number BETWEEN {lo_hi}) e USING (hash)""",
    )
    added["utxo_outputs"] = _count_insert(
        con,
        f"""INSERT INTO utxo_outputs (chain, tx_hash, output_index, block_number, block_time, address, script_type, script_hex, value)
        SELECT DISTINCT ON (tx_hash, output_index) * FROM (
            SELECT {c} AS chain, hash AS tx_hash, o.index AS output_index, block_number, block_time,
                   CASE WHEN len(o.addresses) = 1 THEN o.addresses[1] END AS address, o.type, o.script_hex, o.value
            FROM (SELECT hash, block_number, block_time, unnest(outputs) AS o FROM load_btx)) s
        ANTI JOIN (SELECT tx_hash, output_index FROM utxo_outputs WHERE chain = {c} AND block_number BETWEEN {lo_hi}) e
        USING (tx_hash, output_index)""",
    )
    added["utxo_inputs"] = _count_insert(
        con,
        f"""INSERT INTO utxo_inputs (chain, tx_hash, input_index, block_number, block_time, spent_tx_hash,
            spent_output_index, address, value)
        SELECT DISTINCT ON (tx_hash, input_index) * FROM (
            SELECT {c} AS chain, hash AS tx_hash, i.index AS input_index, block_number, block_time,
                   i.spent_transaction_hash, i.spent_output_index,
                   CASE WHEN len(i.addresses) = 1 THEN i.addresses[1] END AS address, i.value
            FROM (SELECT hash, block_number, block_time, unnest(inputs) AS i FROM load_btx WHERE NOT is_coinbase)) s
        ANTI JOIN (SELECT tx_hash, input_index FROM utxo_inputs WHERE chain = {c} AND block_number BETWEEN {lo_hi}) e
        USING (tx_hash, input_index)""",
    )
    # Resolve prevouts the export did not enrich, from outputs stored now or earlier.
    con.execute(
        f"""UPDATE utxo_inputs i SET value = o.value, address = coalesce(i.address, o.address)
        FROM utxo_outputs o
        WHERE i.chain = {c} AND o.chain = {c} AND i.value IS NULL
          AND o.tx_hash = i.spent_tx_hash AND o.output_index = i.spent_output_index"""
    )
    return added
