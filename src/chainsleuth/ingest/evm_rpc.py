"""Live ingestion from an EVM JSON-RPC node (geth, erigon, reth, anvil, TRON's JSON-RPC) into the ledger.

Per block: the header, every transaction with its receipt (a failed transaction moves no value), ERC-20
``Transfer`` logs, and internal value transfers from traces: ``trace_block`` (parity/erigon/reth/anvil) or
else ``debug_traceBlockByNumber`` with geth's ``callTracer``. Contract creations carrying value and
self-destruct payouts are value transfers like any call. Nodes without either trace API are ingested with
``traces="none"``; ``chains.traces`` then says internal transfers were skipped.

Conventions are those of the ETL loader (``chainsleuth.ingest.etl``) so that a range read over RPC and the
same range exported by ethereum-etl store identical transfers: ``native`` (position '', seq 0, only for
successful transactions, to = created contract on creations), ``token`` (position = log index, seq =
100000 + log index; a ``Transfer`` log counts when its topics plus data words are exactly from, to, value
with the value not indexed -- ERC-721's indexed token id is not an amount), ``internal`` (position = trace
address '0,1'; seq = rank in trace-address order; skipped: failed frames and everything under them,
delegatecall/callcode/staticcall, zero value, and the root call which duplicates the native transfer), and
``reward`` (position ``reward_<block>_<i>``).

Speed: blocks, receipts and traces are read in JSON-RPC batches by worker threads; the JSON is parsed and
turned into canonical rows by DuckDB (``from_json`` + SQL) inside each worker, never by a Python loop over
transactions; rows reach the store as Arrow tables. See ``chainsleuth.ingest.node_sync`` for the pipeline,
resume and reorg handling.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from chainsleuth.errors import ChainsleuthError
from chainsleuth.ingest import tron
from chainsleuth.ingest.node_sync import Chunk, Progress, SyncStats, sync
from chainsleuth.ingest.rpc_client import JsonRpcClient, RetryableError, RetryPolicy, RpcError
from chainsleuth.model import Model, chain_info
from chainsleuth.store.ledger import ensure_chain

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
TRACE_MODES = ("auto", "parity", "geth", "none")

_RPC_ENVELOPE = '"id": "UBIGINT", "error": {"code": "BIGINT", "message": "VARCHAR"}'
_TX_T = ('{"hash": "VARCHAR", "from": "VARCHAR", "to": "VARCHAR", "value": "VARCHAR", "transactionIndex": "VARCHAR", '
         '"gasPrice": "VARCHAR"}')
BLOCKS_T = ('[{' + _RPC_ENVELOPE + ', "result": {"number": "VARCHAR", "hash": "VARCHAR", "parentHash": "VARCHAR", '
            '"timestamp": "VARCHAR", "transactions": [' + _TX_T + ']}}]')
LIGHT_BLOCKS_T = ('[{' + _RPC_ENVELOPE + ', "result": {"number": "VARCHAR", "hash": "VARCHAR", '
                  '"parentHash": "VARCHAR", "timestamp": "VARCHAR", "transactions": ["VARCHAR"]}}]')
HEADERS_T = '[{' + _RPC_ENVELOPE + ', "result": {"number": "VARCHAR", "hash": "VARCHAR"}}]'
_RECEIPT_T = ('{"transactionHash": "VARCHAR", "transactionIndex": "VARCHAR", "blockNumber": "VARCHAR", '
              '"from": "VARCHAR", "to": "VARCHAR", '
              '"status": "VARCHAR", "gasUsed": "VARCHAR", "effectiveGasPrice": "VARCHAR", "contractAddress": "VARCHAR", '
              '"logs": [{"address": "VARCHAR", "topics": ["VARCHAR"], "data": "VARCHAR", "logIndex": "VARCHAR"}]}')
BLOCK_RECEIPTS_T = '[{' + _RPC_ENVELOPE + ', "result": [' + _RECEIPT_T + ']}]'
TX_RECEIPTS_T = '[{' + _RPC_ENVELOPE + ', "result": ' + _RECEIPT_T + '}]'
PARITY_T = ('[{' + _RPC_ENVELOPE + ', "result": [{"action": {"from": "VARCHAR", "to": "VARCHAR", "value": "VARCHAR", '
            '"callType": "VARCHAR", "address": "VARCHAR", "refundAddress": "VARCHAR", "balance": "VARCHAR", '
            '"author": "VARCHAR", "rewardType": "VARCHAR"}, "result": {"address": "VARCHAR"}, "error": "VARCHAR", '
            '"traceAddress": ["INTEGER"], "transactionHash": "VARCHAR", "transactionPosition": "VARCHAR", '
            '"type": "VARCHAR"}]}]')
GETH_T = '[{' + _RPC_ENVELOPE + ', "result": ["JSON"]}]'

_MACROS = [
    # Hex (0x...) or decimal text -> HUGEINT; '0x' is zero; beyond HUGEINT -> NULL (see amount_hex).
    "CREATE OR REPLACE MACRO hexint(x) AS CASE WHEN x = '0x' THEN 0::HUGEINT ELSE TRY_CAST(x AS HUGEINT) END",
    "CREATE OR REPLACE MACRO nonzero(x) AS x IS NOT NULL AND ltrim(CASE WHEN starts_with(x, '0x') THEN x[3:] "
    "ELSE x END, '0') <> ''",
]


@dataclass
class Capabilities:
    receipts: str  # 'block' (eth_getBlockReceipts) | 'tx' (eth_getTransactionReceipt each)
    traces: str  # 'parity' | 'geth' | 'none'
    #: Read full blocks even where light reads are possible (tests compare both).
    full_blocks: bool = False

    @property
    def light(self) -> bool:
        """Block headers only; transactions from block receipts (from, to, index) + parity root traces (value)."""
        return self.receipts == "block" and self.traces == "parity" and not self.full_blocks


class EvmRpcSource:
    """``NodeSource`` for an EVM JSON-RPC endpoint (see ``chainsleuth.ingest.node_sync``)."""

    def __init__(
        self,
        url: str,
        chain: str,
        *,
        traces: str = "auto",
        timeout: float = 60.0,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
    ):
        if traces not in TRACE_MODES:
            raise ChainsleuthError(f"traces must be one of {', '.join(TRACE_MODES)}, got {traces!r}")
        self.info = chain_info(chain)
        if self.info.model != Model.ACCOUNT:
            raise ChainsleuthError(f"{chain} is a UTXO chain: use `chainsleuth ingest bitcoin-rpc`")
        kwargs: dict[str, Any] = {"timeout": timeout, "policy": policy}
        if sleep is not None:
            kwargs["sleep"] = sleep
        self.client = JsonRpcClient(url, **kwargs)
        self.chain = chain
        self.source = self.client.url
        self.tron = self.info.address_format == "tron"
        self.requested_traces = traces
        self.caps: Capabilities | None = None
        self._local = threading.local()

    def close(self) -> None:
        self.client.close()

    # -- capabilities ----------------------------------------------------------------------------------

    def detect(self, block: int) -> Capabilities:
        """Probe the node once: block receipts in one call? which trace API, if any?"""
        n = hex(block)
        try:
            self.client.call("eth_getBlockReceipts", [n], retry_errors=False)
            receipts = "block"
        except RpcError:
            receipts = "tx"
        traces = self.requested_traces
        if traces == "auto":
            errors = []
            for mode, method, params in (("parity", "trace_block", [n]),
                                         ("geth", "debug_traceBlockByNumber", [n, {"tracer": "callTracer"}])):
                try:
                    self.client.call(method, params, retry_errors=False)
                    traces = mode
                    break
                except RpcError as exc:
                    errors.append(f"{method}: {exc.reason}")
            else:
                raise ChainsleuthError(
                    f"{self.source} offers no trace API ({'; '.join(errors)}), so internal transfers cannot be read. "
                    "Re-run with --no-traces to ingest without them (`chainsleuth info` will show traces: skipped)."
                )
        self.caps = Capabilities(receipts=receipts, traces=traces)
        return self.caps

    # -- NodeSource ------------------------------------------------------------------------------------

    def head(self) -> int:
        return int(self.client.call("eth_blockNumber"), 16)

    def hashes(self, numbers: Sequence[int]) -> dict[int, str]:
        numbers = list(numbers)
        if not numbers:
            return {}
        db = self._db()
        self._bulk(db, "hdr", "eth_getBlockByNumber", [[hex(n), False] for n in numbers], numbers, HEADERS_T,
                   allow_null=True)
        rows = db.execute("SELECT id, lower(result.hash) FROM hdr WHERE result IS NOT NULL").fetchall()
        return {int(n): h for n, h in rows}

    def fetch(self, first: int, last: int) -> Chunk:
        if self.caps is None:
            self.detect(first)
        assert self.caps is not None
        numbers = list(range(first, last + 1))
        db = self._db()
        light = self.caps.light
        structure = LIGHT_BLOCKS_T if light else BLOCKS_T
        self._bulk(db, "raw_blocks", "eth_getBlockByNumber", [[hex(n), not light] for n in numbers], numbers, structure)
        db.execute(
            """CREATE OR REPLACE TEMP TABLE b AS
            SELECT hexint(result.number)::BIGINT AS number, lower(result.hash) AS hash,
                   lower(result.parentHash) AS parent_hash,
                   make_timestamp(hexint(result.timestamp)::BIGINT * 1000000) AS block_time,
                   result.transactions AS txs
            FROM raw_blocks"""
        )
        matched = db.execute("SELECT count(*) FROM b JOIN raw_blocks r ON r.id = b.number").fetchone()[0]
        if matched != len(numbers):
            raise ChainsleuthError(f"{self.source}: eth_getBlockByNumber answered with other block numbers than asked")
        if not light:
            db.execute(
                """CREATE OR REPLACE TEMP TABLE t AS
                SELECT number AS block_number, block_time, tx.hash AS hash0, lower(tx.hash) AS hash,
                       lower(tx."from") AS from_address, lower(tx."to") AS to_address, tx.value AS value_hex,
                       hexint(tx.transactionIndex)::INTEGER AS tx_index, hexint(tx.gasPrice) AS gas_price
                FROM (SELECT number, block_time, unnest(txs) AS tx FROM b)"""
            )
        self._receipts(db, numbers)
        self._traces(db, numbers)
        if light:
            # Transactions from their receipts (from, to, index) and root traces (value): the same facts as a
            # full block, at a fraction of the cost on nodes (anvil) that serve full blocks slowly.
            db.execute(
                """CREATE OR REPLACE TEMP TABLE t AS
                SELECT rc.block_number, b.block_time, rc.tx_hash AS hash0, rc.tx_hash AS hash,
                       rc.from_address, rc.to_address, root.value_hex, rc.tx_index, NULL::HUGEINT AS gas_price
                FROM rc JOIN b ON b.number = rc.block_number
                LEFT JOIN (SELECT tx_hash, any_value(value_hex) AS value_hex FROM tr
                           WHERE len(addr) = 0 AND tx_hash IS NOT NULL GROUP BY tx_hash) root ON root.tx_hash = rc.tx_hash"""
            )
            n_hdr, n_rc, n_root = db.execute(
                "SELECT (SELECT sum(len(txs)) FROM b), (SELECT count(*) FROM t), (SELECT count(value_hex) FROM t)"
            ).fetchone()
            if not (n_hdr or 0) == n_rc == n_root:
                raise RetryableError("trace_block", f"blocks {first}..{last}: {n_hdr} transactions, {n_rc} receipts, "
                                     f"{n_root} root traces")
        else:
            n_tx, n_rc = db.execute(
                "SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM rc JOIN t ON t.hash = rc.tx_hash)").fetchone()
            if n_tx != n_rc:
                raise ChainsleuthError(f"{self.source}: {n_tx - n_rc} transactions of blocks {first}..{last} "
                                       "have no receipt")
        return self._rows(db, first, last)

    def prepare(self, con: duckdb.DuckDBPyConnection, chunk: Chunk) -> None:
        """Read symbol/name/decimals of tokens first seen in this chunk (once per token: ``assets`` caches)."""
        tokens: dict[str, str] = chunk.extra.get("tokens", {})
        if not tokens:
            chunk.extra["assets"] = []
            return
        con.register("_cs_tok", pa.table({"asset": list(tokens)}))
        try:
            known = {r[0] for r in con.execute(
                "SELECT a.asset FROM assets a JOIN _cs_tok t USING (asset) WHERE a.chain = ? AND a.decimals IS NOT NULL",
                [self.chain]).fetchall()}
        finally:
            con.unregister("_cs_tok")
        new = [(asset, contract) for asset, contract in tokens.items() if asset not in known]
        chunk.extra["assets"] = self.token_metadata(new)

    def write(self, con: duckdb.DuckDBPyConnection, chunk: Chunk) -> dict[str, int]:
        added: dict[str, int] = {}
        ensure_chain(con, self.chain)
        for name, cols, select in (
            ("blocks", "chain, number, hash, parent_hash, block_time, tx_count", None),
            ("transactions", "chain, hash, block_number, block_time, tx_index, from_address, to_address, value, fee, "
                             "gas_price, gas_used, status", None),
            ("transfers", "chain, block_number, block_time, tx_hash, tx_index, kind, position, seq, from_address, "
                          "to_address, asset, amount, amount_overflow",
             "chain, block_number, block_time, tx_hash, tx_index, kind, position, seq, from_address, to_address, "
             "asset, amount, amount_overflow::BIGNUM"),
        ):
            tbl = chunk.tables[name]
            if tbl.num_rows == 0:
                added[name] = 0
                continue
            view = f"_cs_{name}"
            con.register(view, tbl)
            try:
                con.execute(f"INSERT INTO {name} ({cols}) SELECT {select or cols} FROM {view}")
            finally:
                con.unregister(view)
            added[name] = tbl.num_rows
        meta = chunk.extra.get("assets", [])
        if meta:
            con.executemany(
                "INSERT INTO assets (chain, asset, symbol, name, decimals, contract) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (chain, asset) DO UPDATE SET symbol = coalesce(assets.symbol, excluded.symbol), "
                "name = coalesce(assets.name, excluded.name), decimals = coalesce(assets.decimals, excluded.decimals)",
                [[self.chain, *m] for m in meta],
            )
            added["assets"] = len(meta)
        traced = self.caps is not None and self.caps.traces != "none"
        con.execute(
            "UPDATE chains SET traces = CASE WHEN ? THEN coalesce(traces, TRUE) ELSE FALSE END WHERE chain = ?",
            [traced, self.chain],
        )
        return added

    # -- reading ---------------------------------------------------------------------------------------

    def _db(self) -> duckdb.DuckDBPyConnection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = duckdb.connect(":memory:")
            db.execute("SET threads = 2")
            for m in _MACROS:
                db.execute(m)
            self._local.db = db
        return db

    def _bulk(
        self,
        db: duckdb.DuckDBPyConnection,
        table: str,
        method: str,
        params: list[list[Any]],
        ids: Sequence[int],
        structure: str,
        *,
        allow_null: bool = False,
        max_batch: int = 1000,
    ) -> None:
        """Batched calls parsed by DuckDB into temp table ``table(id, error, result)``; errors retried."""
        db.execute(f"DROP TABLE IF EXISTS {table}")
        for lo in range(0, len(params), max_batch):
            part_params, part_ids = params[lo:lo + max_batch], list(ids[lo:lo + max_batch])

            def step(pp: list[list[Any]] = part_params, pi: list[int] = part_ids) -> None:
                text = self.client.batch_text([(method, p) for p in pp], pi)
                try:
                    db.execute("CREATE OR REPLACE TEMP TABLE _part AS SELECT x.id AS id, x.error AS error, "
                               f"x.result AS result FROM (SELECT unnest(from_json(?::VARCHAR, '{structure}')) AS x)",
                               [text])
                except duckdb.Error as exc:
                    raise RetryableError(method, f"unparsable batch reply ({len(text)} bytes): {str(exc)[:160]}") from None
                err = db.execute("SELECT id, error.code, error.message FROM _part WHERE error IS NOT NULL "
                                 "ORDER BY id LIMIT 1").fetchall()
                if err:
                    err_id, code, msg = err[0]
                    reason = f"JSON-RPC error {code}: {msg} (item {err_id})"
                    if code in (-32601, -32602):
                        raise RpcError(self.client.url, method, reason, code)
                    raise RetryableError(method, reason, code)
                ids, nulls = db.execute("SELECT count(DISTINCT id), count(*) - count(result) FROM _part").fetchone()
                if ids != len(pi):
                    raise RetryableError(method, f"batch reply has {ids} of {len(pi)} answers")
                if nulls and not allow_null:
                    missing = db.execute("SELECT min(id) FROM _part WHERE result IS NULL").fetchone()[0]
                    raise RetryableError(method, f"node returned null for item {missing} (not available yet?)")

            self.client.retrying(method, step)
            if lo == 0:
                db.execute(f"ALTER TABLE _part RENAME TO {table}")
            else:
                db.execute(f"INSERT INTO {table} SELECT * FROM _part")
        if not params:
            db.execute(f"CREATE TEMP TABLE {table} AS SELECT x.id AS id, x.error AS error, x.result AS result "
                       f"FROM (SELECT unnest(from_json('[]', '{structure}')) AS x)")

    def _receipts(self, db: duckdb.DuckDBPyConnection, numbers: list[int]) -> None:
        assert self.caps is not None
        if self.caps.receipts == "block":
            self._bulk(db, "raw_rc", "eth_getBlockReceipts", [[hex(n)] for n in numbers], numbers, BLOCK_RECEIPTS_T)
            src = "SELECT unnest(result) AS r FROM raw_rc"
        else:
            hashes = [r[0] for r in db.execute("SELECT hash0 FROM t ORDER BY block_number, tx_index").fetchall()]
            if hashes:
                self._bulk(db, "raw_rc", "eth_getTransactionReceipt", [[h] for h in hashes], list(range(len(hashes))),
                           TX_RECEIPTS_T)
                src = "SELECT result AS r FROM raw_rc"
            else:
                src = f"SELECT unnest(from_json('[]', '[{_RECEIPT_T}]')) AS r"
        db.execute(
            f"""CREATE OR REPLACE TEMP TABLE rc AS
            SELECT lower(r.transactionHash) AS tx_hash, hexint(r.blockNumber)::BIGINT AS block_number,
                   hexint(r.transactionIndex)::INTEGER AS tx_index, hexint(r.status)::INTEGER AS status,
                   hexint(r.gasUsed)::BIGINT AS gas_used, hexint(r.effectiveGasPrice) AS egp,
                   lower(r.contractAddress) AS created, lower(r."from") AS from_address,
                   lower(r."to") AS to_address, r.logs AS logs
            FROM ({src})"""
        )

    def _traces(self, db: duckdb.DuckDBPyConnection, numbers: list[int]) -> None:
        """Temp table ``tr``: one row per trace frame, the same shape whichever trace API the node has."""
        assert self.caps is not None
        cols = ("block_number BIGINT, tx_hash VARCHAR, tx_index INTEGER, trace_type VARCHAR, call_type VARCHAR, "
                "from_address VARCHAR, to_address VARCHAR, value_hex VARCHAR, failed BOOLEAN, addr INTEGER[], "
                "reward_type VARCHAR")
        if self.caps.traces == "none":
            db.execute(f"CREATE OR REPLACE TEMP TABLE tr ({cols})")
            return
        if self.caps.traces == "parity":
            self._bulk(db, "raw_tr", "trace_block", [[hex(n)] for n in numbers], numbers, PARITY_T)
            db.execute(
                """CREATE OR REPLACE TEMP TABLE tr AS
                SELECT id::BIGINT AS block_number, lower(x.transactionHash) AS tx_hash,
                       hexint(x.transactionPosition)::INTEGER AS tx_index, x.type AS trace_type, x.action.callType AS call_type,
                       lower(CASE x.type WHEN 'suicide' THEN x.action.address WHEN 'reward' THEN NULL ELSE x.action."from" END)
                           AS from_address,
                       lower(CASE x.type WHEN 'suicide' THEN x.action.refundAddress WHEN 'reward' THEN x.action.author
                                         WHEN 'create' THEN x.result.address ELSE x.action."to" END) AS to_address,
                       CASE x.type WHEN 'suicide' THEN x.action.balance ELSE x.action.value END AS value_hex,
                       coalesce(x.error, '') <> '' AS failed, coalesce(x.traceAddress, []) AS addr,
                       x.action.rewardType AS reward_type
                FROM (SELECT id, unnest(result) AS x FROM raw_tr)"""
            )
            return
        self._bulk(db, "raw_tr", "debug_traceBlockByNumber", [[hex(n), {"tracer": "callTracer"}] for n in numbers],
                   numbers, GETH_T)
        # callTracer nests frames; a recursive CTE flattens them, numbering children like trace addresses.
        db.execute(
            """CREATE OR REPLACE TEMP TABLE tr AS
            WITH RECURSIVE frames(block_number, tx_index, addr, f) AS (
                SELECT id::BIGINT, i::INTEGER, []::INTEGER[], coalesce(json_extract(item, '$.result'), item)
                FROM (SELECT id, unnest(range(len(result))) AS i, unnest(result) AS item FROM raw_tr)
                UNION ALL
                SELECT block_number, tx_index, list_append(addr, j::INTEGER), c
                FROM (SELECT block_number, tx_index, addr, unnest(range(len(cs))) AS j, unnest(cs) AS c
                      FROM (SELECT block_number, tx_index, addr,
                                   from_json(json_extract(f, '$.calls'), '["JSON"]') AS cs
                            FROM frames WHERE json_extract(f, '$.calls') IS NOT NULL))
            )
            SELECT fr.block_number, t.hash AS tx_hash, fr.tx_index,
                   CASE WHEN ty IN ('create', 'create2') THEN 'create' WHEN ty = 'selfdestruct' THEN 'suicide'
                        ELSE 'call' END AS trace_type,
                   CASE WHEN ty IN ('call', 'callcode', 'delegatecall', 'staticcall') THEN ty END AS call_type,
                   lower(json_extract_string(f, '$.from')) AS from_address,
                   lower(json_extract_string(f, '$.to')) AS to_address,
                   json_extract_string(f, '$.value') AS value_hex,
                   coalesce(json_extract_string(f, '$.error'), '') <> '' AS failed, addr, NULL AS reward_type
            FROM (SELECT *, lower(json_extract_string(f, '$.type')) AS ty FROM frames) fr
            LEFT JOIN t ON t.block_number = fr.block_number AND t.tx_index = fr.tx_index"""
        )

    def _rows(self, db: duckdb.DuckDBPyConnection, first: int, last: int) -> Chunk:
        """Canonical blocks / transactions / transfers rows from the temp tables b, t, rc, tr."""
        c = "'" + self.chain.replace("'", "''") + "'"
        native = "'" + self.info.native_asset.replace("'", "''") + "'"
        headers = db.execute("SELECT number, hash, parent_hash FROM b ORDER BY number").fetchall()
        blocks = db.sql(
            f"SELECT {c} AS chain, number, hash, parent_hash, block_time, len(txs)::INTEGER AS tx_count FROM b ORDER BY number"
        ).to_arrow_table()
        # A frame fails with its own error or any failed ancestor's (state changes are rolled back).
        db.execute(
            """CREATE OR REPLACE TEMP TABLE tr_ok AS
            SELECT tr.*, NOT tr.failed AND NOT EXISTS (
                SELECT 1 FROM tr f WHERE f.failed AND f.tx_hash = tr.tx_hash AND len(f.addr) < len(tr.addr)
                  AND tr.addr[1:len(f.addr)] = f.addr) AS ok
            FROM tr"""
        )
        transactions = db.sql(
            f"""SELECT {c} AS chain, t.hash, t.block_number, t.block_time, t.tx_index, t.from_address, t.to_address,
                   hexint(t.value_hex) AS value, rc.gas_used * coalesce(rc.egp, t.gas_price) AS fee,
                   coalesce(rc.egp, t.gas_price) AS gas_price, rc.gas_used,
                   coalesce(rc.status, root.ok::INTEGER) AS status
            FROM t LEFT JOIN rc ON rc.tx_hash = t.hash
            LEFT JOIN (SELECT tx_hash, bool_and(ok) AS ok FROM tr_ok WHERE len(addr) = 0 AND tx_hash IS NOT NULL
                       GROUP BY tx_hash) root ON root.tx_hash = t.hash
            ORDER BY t.block_number, t.tx_index"""
        ).to_arrow_table()
        db.register("_txs", transactions)
        try:
            transfers = db.sql(
                f"""
                SELECT {c} AS chain, t.block_number, t.block_time, t.hash AS tx_hash, t.tx_index, 'native' AS kind,
                       '' AS position, 0 AS seq, t.from_address, coalesce(t.to_address, rc.created) AS to_address,
                       {native} AS asset, hexint(t.value_hex) AS amount, t.value_hex AS amount_hex
                FROM t JOIN _txs x ON x.hash = t.hash LEFT JOIN rc ON rc.tx_hash = t.hash
                WHERE nonzero(t.value_hex) AND coalesce(x.status, 1) = 1
                UNION ALL
                SELECT {c}, t.block_number, t.block_time, t.hash, t.tx_index, 'internal',
                       array_to_string(tr.addr, ','),
                       row_number() OVER (PARTITION BY tr.tx_hash ORDER BY tr.addr)::INTEGER,
                       tr.from_address, tr.to_address, {native}, hexint(tr.value_hex), tr.value_hex
                FROM tr_ok tr JOIN t ON t.hash = tr.tx_hash
                WHERE tr.ok AND len(tr.addr) > 0 AND tr.trace_type IN ('call', 'create', 'suicide')
                  AND coalesce(tr.call_type, '') NOT IN ('delegatecall', 'callcode', 'staticcall')
                  AND nonzero(tr.value_hex)
                UNION ALL
                SELECT {c}, tr.block_number, b.block_time, '', -1, 'reward',
                       'reward_' || tr.block_number || '_' || (row_number() OVER (PARTITION BY tr.block_number
                            ORDER BY tr.reward_type, tr.to_address, hexint(tr.value_hex)) - 1),
                       0, NULL, tr.to_address, {native}, hexint(tr.value_hex), tr.value_hex
                FROM tr_ok tr JOIN b ON b.number = tr.block_number
                WHERE tr.trace_type = 'reward' AND nonzero(tr.value_hex)
                UNION ALL
                SELECT {c}, t.block_number, t.block_time, t.hash, t.tx_index, 'token', lg.li::VARCHAR,
                       (100000 + lg.li)::INTEGER,
                       '0x' || right(lower(w[1]), 40), '0x' || right(lower(w[2]), 40), lower(lg.address),
                       hexint('0x' || w[3]), '0x' || w[3]
                FROM (SELECT tx_hash, l.address, hexint(l.logIndex)::INTEGER AS li,
                             list_concat(l.topics[2:], [substr(l.data, 3 + 64 * k, 64)
                                 for k in range(((length(l.data) - 2) // 64)::BIGINT)]) AS w
                      FROM (SELECT tx_hash, unnest(logs) AS l FROM rc)
                      WHERE lower(l.topics[1]) = '{TRANSFER_TOPIC}' AND len(l.topics) <= 3
                        AND (length(l.data) - 2) % 64 = 0
                        AND len(l.topics) - 1 + (length(l.data) - 2) // 64 = 3) lg
                JOIN t ON t.hash = lg.tx_hash
                ORDER BY block_number, tx_index, seq"""
            ).to_arrow_table()
        finally:
            db.unregister("_txs")
        transfers = _with_overflow(transfers)
        tokens_hex = sorted(set(pc.unique(transfers.filter(pc.equal(transfers["kind"], "token"))["asset"]).to_pylist()))
        if self.tron:
            transactions = _map_columns(transactions, ["from_address", "to_address"], tron.to_display)
            transfers = _map_columns(transfers, ["from_address", "to_address", "asset"], _tron_or_keep)
            tokens = {tron.hex_to_base58(h): h for h in tokens_hex}
        else:
            tokens = {h: h for h in tokens_hex}
        return Chunk(first, last, [(int(n), h, p) for n, h, p in headers],
                     {"blocks": blocks, "transactions": transactions, "transfers": transfers}, {"tokens": tokens})

    # -- token metadata --------------------------------------------------------------------------------

    def token_metadata(self, tokens: list[tuple[str, str]]) -> list[tuple[str, str | None, str | None, int | None, str]]:
        """(asset, symbol, name, decimals, contract) per token, read with ``eth_call`` at the head.

        Non-standard tokens are common in investigations: symbol/name as ``bytes32`` (MKR, SAI), no
        ``decimals()`` at all, or functions that revert; each of those yields NULL for that field only.
        """
        out = []
        for lo in range(0, len(tokens), 200):
            part = tokens[lo:lo + 200]
            calls = []
            for _, contract in part:
                for selector in ("0x95d89b41", "0x06fdde03", "0x313ce567"):  # symbol(), name(), decimals()
                    calls.append(("eth_call", [{"to": contract, "data": selector}, "latest"]))
            results = self.client.batch(calls, allow_errors=True)
            for i, (asset, contract) in enumerate(part):
                sym, name, dec = results[3 * i:3 * i + 3]
                out.append((asset, decode_abi_string(sym), decode_abi_string(name), decode_decimals(dec), contract))
        return out


def _tron_or_keep(value: str | None) -> str | None:
    return tron.hex_to_base58(value) if value is not None and value.startswith("0x") else value


def _map_columns(tbl: pa.Table, columns: list[str], fn: Callable[[str | None], str | None]) -> pa.Table:
    """Apply ``fn`` to each distinct value of ``columns`` (dictionary-encoded: one call per distinct value)."""
    for name in columns:
        idx = tbl.schema.get_field_index(name)
        col = tbl[name].combine_chunks().dictionary_encode()
        mapped = pa.array([fn(v) for v in col.dictionary.to_pylist()], pa.string())
        new = pa.DictionaryArray.from_arrays(col.indices, mapped).cast(pa.string())
        tbl = tbl.set_column(idx, name, new)
    return tbl


def _with_overflow(tbl: pa.Table) -> pa.Table:
    """Replace helper ``amount_hex`` by ``amount_overflow``: the exact decimal text where ``amount`` overflowed."""
    hexes = tbl["amount_hex"]
    missing = pc.and_(pc.is_null(tbl["amount"]), pc.is_valid(hexes))
    if pc.any(missing).as_py():
        values = [str(int(h, 16)) if (m and h not in (None, "0x")) else None
                  for h, m in zip(hexes.to_pylist(), missing.to_pylist(), strict=True)]
        overflow = pa.array(values, pa.string())
    else:
        overflow = pa.nulls(tbl.num_rows, pa.string())
    idx = tbl.schema.get_field_index("amount_hex")
    return tbl.set_column(idx, "amount_overflow", overflow)


def decode_abi_string(result: Any) -> str | None:
    """An ABI ``string`` or ``bytes32`` return value as text; None for errors, empty or undecodable data."""
    if not isinstance(result, str) or not result.startswith("0x"):
        return None
    try:
        raw = bytes.fromhex(result[2:])
    except ValueError:
        return None
    text: bytes | None = None
    if len(raw) >= 64:
        offset = int.from_bytes(raw[:32], "big")
        if offset + 32 <= len(raw):
            length = int.from_bytes(raw[offset:offset + 32], "big")
            if offset + 32 + length <= len(raw):
                text = raw[offset + 32:offset + 32 + length]
    if text is None and len(raw) == 32:  # bytes32
        text = raw
    if text is None:
        return None
    s = text.rstrip(b"\x00").decode("utf-8", "replace")
    s = "".join(ch for ch in s if ch.isprintable()).strip()
    return s[:64] or None


def decode_decimals(result: Any) -> int | None:
    """``decimals()`` as an int in 0..255; None if absent, reverted or out of range."""
    if not isinstance(result, str) or not result.startswith("0x") or len(result) < 3:
        return None
    try:
        value = int(result[2:66], 16)
    except ValueError:
        return None
    return value if value <= 255 else None


def ingest_evm(
    con: duckdb.DuckDBPyConnection,
    url: str,
    chain: str,
    *,
    from_block: int | None = None,
    to_block: int | None = None,
    follow: bool = False,
    confirmations: int = 0,
    batch_size: int = 50,
    workers: int = 4,
    traces: str = "auto",
    timeout: float = 60.0,
    policy: RetryPolicy | None = None,
    poll_interval: float = 2.0,
    max_reorg_depth: int = 1000,
    progress: Progress | None = None,
    stop: Callable[[], bool] | None = None,
) -> SyncStats:
    """Ingest blocks of ``chain`` from the EVM node at ``url`` (see the module docstring for what is stored)."""
    src = EvmRpcSource(url, chain, traces=traces, timeout=timeout, policy=policy)
    try:
        head = src.head()
        probe = from_block if from_block is not None and from_block <= head else head
        caps = src.detect(probe)
        stats = sync(con, src, start=from_block, end=to_block, follow=follow, confirmations=confirmations,
                     batch_size=batch_size, workers=workers, poll_interval=poll_interval,
                     max_reorg_depth=max_reorg_depth, progress=progress, stop=stop)
        stats.notes.append(f"receipts: {'eth_getBlockReceipts' if caps.receipts == 'block' else 'per transaction'}")
        stats.notes.append({"parity": "traces: trace_block", "geth": "traces: debug_traceBlockByNumber (callTracer)",
                            "none": "traces: skipped (no internal transfers)"}[caps.traces])
        return stats
    finally:
        src.close()
