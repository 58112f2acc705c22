"""Live ingestion from a Bitcoin Core JSON-RPC node (and forks speaking its RPC: Bitcoin SV, BCH, LTC, DOGE).

Per block: ``getblockhash`` then ``getblock <hash> 3`` (Core >= 23: every input carries its ``prevout``) or,
where verbosity 3 is unknown, ``getblock <hash> 2`` with input values resolved from outputs already stored
(earlier in the same range, or earlier ranges); inputs whose output is not stored keep a NULL value until it
is, exactly as the ETL loader does. Amounts are read as exact decimals and stored in satoshi.

Addresses: the node's ``address``/``addresses`` where it names exactly one; otherwise derived from the script
(``chainsleuth.ingest.btc_script``) so that SegWit/Taproot outputs read through a node that predates them, and
bare P2PK outputs through Core >= 22, get the same address as anywhere else. Multisig, OP_RETURN and
non-standard outputs have no address and are stored with their script.

Rows are produced by DuckDB from the raw JSON in worker threads; ``chainsleuth.ingest.node_sync`` provides
the pipeline, resume and reorg handling (one transaction per range).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from chainsleuth.errors import ChainsleuthError
from chainsleuth.ingest import btc_script
from chainsleuth.ingest.node_sync import Chunk, Progress, SyncStats, sync
from chainsleuth.ingest.rpc_client import JsonRpcClient, RetryableError, RetryPolicy
from chainsleuth.model import Model, chain_info
from chainsleuth.store.ledger import ensure_chain

_SPK = '{"hex": "VARCHAR", "type": "VARCHAR", "address": "VARCHAR", "addresses": ["VARCHAR"]}'
_TX = ('{"txid": "VARCHAR", "vin": [{"coinbase": "VARCHAR", "txid": "VARCHAR", "vout": "BIGINT", '
       '"prevout": {"value": "DECIMAL(18,8)", "scriptPubKey": ' + _SPK + '}}], '
       '"vout": [{"value": "DECIMAL(18,8)", "n": "BIGINT", "scriptPubKey": ' + _SPK + '}]}')
BLOCK_T = ('[{"id": "UBIGINT", "error": {"code": "BIGINT", "message": "VARCHAR"}, "result": {"hash": "VARCHAR", '
           '"height": "BIGINT", "previousblockhash": "VARCHAR", "time": "BIGINT", "nTx": "BIGINT", "num_tx": "BIGINT", '
           '"tx": [' + _TX + ']}}]')

#: The node's address for a scriptPubKey when it names exactly one (``address`` >= Core 22, else ``addresses``).
_ADDRESS_OF = "CASE WHEN {spk}.address IS NOT NULL THEN {spk}.address WHEN len({spk}.addresses) = 1 THEN {spk}.addresses[1] END"


def _cookie_auth(cookie_file: str | None) -> tuple[str, str] | None:
    if cookie_file is None:
        return None
    try:
        user, _, password = Path(cookie_file).read_text().strip().partition(":")
    except OSError as exc:
        raise ChainsleuthError(f"cannot read the node's cookie file {cookie_file}: {exc.strerror}") from None
    return user, password


class BitcoinRpcSource:
    """``NodeSource`` for a Bitcoin Core-compatible JSON-RPC endpoint."""

    def __init__(
        self,
        url: str,
        chain: str = "bitcoin",
        *,
        cookie_file: str | None = None,
        timeout: float = 120.0,
        policy: RetryPolicy | None = None,
        verbosity: int | None = None,
    ):
        self.info = chain_info(chain, Model.UTXO.value)
        if self.info.model != Model.UTXO:
            raise ChainsleuthError(f"{chain} is an account chain: use `chainsleuth ingest rpc`")
        self.client = JsonRpcClient(url, timeout=timeout, policy=policy, auth=_cookie_auth(cookie_file))
        self.chain = chain
        self.source = self.client.url
        self.verbosity = verbosity
        self.network: str | None = None
        self._local = threading.local()

    def close(self) -> None:
        self.client.close()

    def detect(self, block: int) -> None:
        """Which network (for derived addresses) and whether ``getblock`` knows verbosity 3 (prevouts)."""
        info = self.client.call("getblockchaininfo")
        self.network = info.get("chain", "main") if isinstance(info, dict) else "main"
        if self.verbosity is None:
            # Verbosity 3 means "inputs with prevouts" only on Bitcoin Core >= 23; Bitcoin SV reads it as
            # "coinbase only". Ask the node what it is rather than guess from a block's shape.
            net = self.client.call("getnetworkinfo")
            sub = str(net.get("subversion", "")) if isinstance(net, dict) else ""
            version = int(net.get("version", 0)) if isinstance(net, dict) else 0
            self.verbosity = 3 if sub.startswith("/Satoshi:") and version >= 230000 else 2

    # -- NodeSource ------------------------------------------------------------------------------------

    def head(self) -> int:
        return int(self.client.call("getblockcount"))

    def hashes(self, numbers: Sequence[int]) -> dict[int, str]:
        numbers = list(numbers)
        if not numbers:
            return {}
        res = self.client.batch([("getblockhash", [n]) for n in numbers], allow_errors=True)
        return {n: h for n, h in zip(numbers, res, strict=True) if isinstance(h, str)}

    def fetch(self, first: int, last: int) -> Chunk:
        if self.network is None:
            self.detect(first)
        numbers = list(range(first, last + 1))
        hashes = self.client.batch([("getblockhash", [n]) for n in numbers])
        db = self._db()
        self._getblocks(db, numbers, hashes)
        return self._rows(db, first, last)

    def prepare(self, con: duckdb.DuckDBPyConnection, chunk: Chunk) -> None:
        pass

    def write(self, con: duckdb.DuckDBPyConnection, chunk: Chunk) -> dict[str, int]:
        ensure_chain(con, self.chain, Model.UTXO.value)
        added = {}
        for name in ("blocks", "transactions", "utxo_outputs", "utxo_inputs"):
            tbl = chunk.tables[name]
            added[name] = tbl.num_rows
            if not tbl.num_rows:
                continue
            view = f"_cs_{name}"
            con.register(view, tbl)
            try:
                cols = ", ".join(tbl.column_names)
                con.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM {view}")
            finally:
                con.unregister(view)
        if chunk.headers:
            self._resolve(con, chunk.headers[0][0], chunk.headers[-1][0])
        return added

    def _resolve(self, con: duckdb.DuckDBPyConnection, lo: int, hi: int) -> None:
        """Fill input values/addresses from stored outputs, then fees where every input value is known."""
        c = self.chain
        # This range's inputs spending earlier outputs; later-stored inputs spending this range's outputs.
        con.execute(
            """UPDATE utxo_inputs i SET value = o.value, address = coalesce(i.address, o.address)
            FROM utxo_outputs o
            WHERE i.chain = ? AND o.chain = ? AND i.value IS NULL AND i.block_number BETWEEN ? AND ?
              AND o.tx_hash = i.spent_tx_hash AND o.output_index = i.spent_output_index""",
            [c, c, lo, hi],
        )
        con.execute(
            """UPDATE utxo_inputs i SET value = o.value, address = coalesce(i.address, o.address)
            FROM (SELECT * FROM utxo_outputs WHERE chain = ? AND block_number BETWEEN ? AND ?) o
            WHERE i.chain = ? AND i.value IS NULL AND i.block_number > ?
              AND o.tx_hash = i.spent_tx_hash AND o.output_index = i.spent_output_index""",
            [c, lo, hi, c, hi],
        )
        con.execute(
            """UPDATE transactions t SET fee = f.fee FROM (
                SELECT i.tx_hash, i.total - o.total AS fee FROM
                    (SELECT tx_hash, sum(value) AS total, count(*) = count(value) AS complete FROM utxo_inputs
                     WHERE chain = ? AND block_number >= ? GROUP BY tx_hash) i
                JOIN (SELECT tx_hash, sum(value) AS total FROM utxo_outputs WHERE chain = ? AND block_number >= ?
                      GROUP BY tx_hash) o USING (tx_hash)
                WHERE i.complete) f
            WHERE t.chain = ? AND t.hash = f.tx_hash AND t.fee IS NULL AND t.block_number >= ?""",
            [c, lo, c, lo, c, lo],
        )

    # -- reading ---------------------------------------------------------------------------------------

    def _db(self) -> duckdb.DuckDBPyConnection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = duckdb.connect(":memory:")
            db.execute("SET threads = 2")
            self._local.db = db
        return db

    def _getblocks(self, db: duckdb.DuckDBPyConnection, numbers: list[int], hashes: list[str]) -> None:
        calls = [("getblock", [h, self.verbosity]) for h in hashes]

        def step() -> None:
            text = self.client.batch_text(calls, numbers)
            try:
                db.execute(f"CREATE OR REPLACE TEMP TABLE raw AS SELECT unnest(from_json(?::VARCHAR, '{BLOCK_T}')) AS x",
                           [text])
            except duckdb.Error as exc:
                raise RetryableError("getblock", f"unparsable batch reply ({len(text)} bytes): {str(exc)[:160]}") from None
            err = db.execute("SELECT x.id, x.error.code, x.error.message FROM raw WHERE x.error IS NOT NULL "
                             "ORDER BY x.id LIMIT 1").fetchall()
            if err:
                raise RetryableError("getblock", f"JSON-RPC error {err[0][1]}: {err[0][2]} (block {err[0][0]})", err[0][1])
            got = db.execute("SELECT count(DISTINCT x.id), count(*) FILTER (WHERE x.result IS NULL) FROM raw").fetchone()
            if got[0] != len(numbers) or got[1]:
                raise RetryableError("getblock", f"batch reply has {got[0] - got[1]} of {len(numbers)} blocks")

        self.client.retrying("getblock", step)
        wrong = db.execute("SELECT count(*) FROM raw WHERE x.result.height <> x.id").fetchone()[0]
        if wrong:
            raise ChainsleuthError(f"{self.source}: getblock returned blocks at other heights than asked")
        short = db.execute("SELECT x.id, len(x.result.tx), coalesce(x.result.nTx, x.result.num_tx) FROM raw "
                           "WHERE len(x.result.tx) <> coalesce(x.result.nTx, x.result.num_tx, len(x.result.tx)) "
                           "LIMIT 1").fetchall()
        if short:
            raise ChainsleuthError(f"{self.source}: getblock {short[0][0]} listed {short[0][1]} of its {short[0][2]} "
                                   f"transactions (verbosity {self.verbosity} not supported as expected?)")

    def _rows(self, db: duckdb.DuckDBPyConnection, first: int, last: int) -> Chunk:
        c = "'" + self.chain.replace("'", "''") + "'"
        db.execute(
            """CREATE OR REPLACE TEMP TABLE b AS
            SELECT x.result.height AS number, x.result.hash AS hash, x.result.previousblockhash AS parent_hash,
                   make_timestamp(x.result.time * 1000000) AS block_time, x.result.tx AS txs FROM raw"""
        )
        db.execute(
            """CREATE OR REPLACE TEMP TABLE t AS
            SELECT number AS block_number, block_time, (i - 1)::INTEGER AS tx_index, txs[i] AS tx
            FROM (SELECT number, block_time, txs, unnest(range(1, len(txs) + 1)) AS i FROM b)"""
        )
        outputs_sql = f"""
            SELECT {c} AS chain, tx.txid AS tx_hash, o.n::INTEGER AS output_index, block_number, block_time,
                   {_ADDRESS_OF.format(spk='o.scriptPubKey')} AS address, o.scriptPubKey.type AS script_type,
                   o.scriptPubKey.hex AS script_hex, (o.value::DECIMAL(38, 8) * 100000000)::BIGINT AS value
            FROM (SELECT block_number, block_time, tx, unnest(tx.vout) AS o FROM t)"""
        db.execute(f"CREATE OR REPLACE TEMP TABLE outs AS {outputs_sql}")
        db.execute(
            f"""CREATE OR REPLACE TEMP TABLE ins AS
            SELECT {c} AS chain, tx.txid AS tx_hash, (k - 1)::INTEGER AS input_index, block_number, block_time,
                   tx.vin[k].txid AS spent_tx_hash, tx.vin[k].vout::INTEGER AS spent_output_index,
                   {_ADDRESS_OF.format(spk='tx.vin[k].prevout.scriptPubKey')} AS address,
                   tx.vin[k].prevout.scriptPubKey.hex AS prev_script,
                   (tx.vin[k].prevout.value::DECIMAL(38, 8) * 100000000)::BIGINT AS value
            FROM (SELECT block_number, block_time, tx, unnest(range(1, len(tx.vin) + 1)) AS k FROM t)
            WHERE tx.vin[k].coinbase IS NULL"""
        )
        # Outputs spent within this same range: resolve before writing.
        db.execute(
            """UPDATE ins SET value = o.value, prev_script = o.script_hex FROM outs o
            WHERE ins.value IS NULL AND o.tx_hash = ins.spent_tx_hash AND o.output_index = ins.spent_output_index"""
        )
        self._derive_addresses(db)
        db.execute(
            """UPDATE ins SET address = o.address FROM outs o
            WHERE ins.address IS NULL AND o.tx_hash = ins.spent_tx_hash AND o.output_index = ins.spent_output_index"""
        )
        headers = db.execute("SELECT number, hash, parent_hash FROM b ORDER BY number").fetchall()
        tables = {
            "blocks": db.sql(f"SELECT {c} AS chain, number, hash, parent_hash, block_time, len(txs)::INTEGER AS tx_count "
                             "FROM b ORDER BY number").to_arrow_table(),
            "transactions": db.sql(
                f"""SELECT {c} AS chain, tx.txid AS hash, t.block_number, t.block_time, t.tx_index,
                       CASE WHEN tx.vin[1].coinbase IS NOT NULL THEN 0
                            WHEN i.complete THEN i.total - o.total END::HUGEINT AS fee,
                       1 AS status, tx.vin[1].coinbase IS NOT NULL AS is_coinbase,
                       CASE WHEN tx.vin[1].coinbase IS NOT NULL THEN 0 ELSE len(tx.vin) END::INTEGER AS input_count,
                       len(tx.vout)::INTEGER AS output_count
                FROM t
                LEFT JOIN (SELECT tx_hash, sum(value) AS total, count(*) = count(value) AS complete FROM ins
                           GROUP BY tx_hash) i ON i.tx_hash = tx.txid
                LEFT JOIN (SELECT tx_hash, sum(value) AS total FROM outs GROUP BY tx_hash) o ON o.tx_hash = tx.txid
                ORDER BY t.block_number, t.tx_index""").to_arrow_table(),
            "utxo_outputs": db.sql("SELECT * FROM outs ORDER BY block_number, tx_hash, output_index").to_arrow_table(),
            "utxo_inputs": db.sql("SELECT * EXCLUDE (prev_script) FROM ins ORDER BY block_number, tx_hash, input_index")
            .to_arrow_table(),
        }
        return Chunk(first, last, [(int(n), h, p) for n, h, p in headers], tables)

    def _derive_addresses(self, db: duckdb.DuckDBPyConnection) -> None:
        """Addresses the node did not give, derived from the distinct scripts (few per range)."""
        scripts = [r[0] for r in db.execute(
            "SELECT DISTINCT script_hex FROM outs WHERE address IS NULL AND script_hex IS NOT NULL "
            "UNION SELECT DISTINCT prev_script FROM ins WHERE address IS NULL AND prev_script IS NOT NULL"
        ).fetchall()]
        if not scripts:
            return
        network = self.network if self.network in btc_script.NETWORKS and self.chain == "bitcoin" else None
        rows = []
        for s in scripts:
            kind = btc_script.classify(s)
            addr = btc_script.address(s, network) if network else None
            rows.append((s, addr, kind))
        db.register("_derived", pa.table({"script": [r[0] for r in rows], "address": [r[1] for r in rows],
                                          "kind": [r[2] for r in rows]}))
        try:
            db.execute("UPDATE outs SET address = d.address, script_type = coalesce(outs.script_type, d.kind) "
                       "FROM _derived d WHERE outs.address IS NULL AND d.script = outs.script_hex")
            db.execute("UPDATE ins SET address = d.address FROM _derived d "
                       "WHERE ins.address IS NULL AND d.script = ins.prev_script")
        finally:
            db.unregister("_derived")


def ingest_bitcoin(
    con: duckdb.DuckDBPyConnection,
    url: str,
    chain: str = "bitcoin",
    *,
    from_block: int | None = None,
    to_block: int | None = None,
    follow: bool = False,
    confirmations: int = 0,
    batch_size: int = 20,
    workers: int = 2,
    cookie_file: str | None = None,
    timeout: float = 120.0,
    policy: RetryPolicy | None = None,
    poll_interval: float = 5.0,
    max_reorg_depth: int = 1000,
    progress: Progress | None = None,
    stop: Callable[[], bool] | None = None,
) -> SyncStats:
    """Ingest blocks of ``chain`` from the Bitcoin Core-compatible node at ``url``."""
    src = BitcoinRpcSource(url, chain, cookie_file=cookie_file, timeout=timeout, policy=policy)
    try:
        head = src.head()
        src.detect(from_block if from_block is not None and from_block <= head else head)
        stats = sync(con, src, start=from_block, end=to_block, follow=follow, confirmations=confirmations,
                     batch_size=batch_size, workers=workers, poll_interval=poll_interval,
                     max_reorg_depth=max_reorg_depth, progress=progress, stop=stop, load_kind="bitcoin-rpc")
        stats.notes.append(f"getblock verbosity {src.verbosity}"
                           + (" (prevouts from the node)" if src.verbosity == 3 else " (prevouts from the store)"))
        stats.notes.append(f"network: {src.network}")
        return stats
    finally:
        src.close()


def block_rows_from_json(block: str | dict[str, Any], chain: str = "bitcoin", network: str = "main") -> Chunk:
    """Canonical rows for one ``getblock`` (verbosity 2/3) result given as JSON text or dict, without a node.

    The same transformation as a live read; used on recorded node responses (fixtures) and constructed blocks.
    """
    text = block if isinstance(block, str) else json.dumps(block)
    height = int(json.loads(text)["height"])
    src = BitcoinRpcSource.__new__(BitcoinRpcSource)
    src.info = chain_info(chain, Model.UTXO.value)
    src.chain, src.network, src.source = chain, network, "json"
    src._local = threading.local()
    db = src._db()
    db.execute(f"CREATE OR REPLACE TEMP TABLE raw AS SELECT unnest(from_json(?::VARCHAR, '{BLOCK_T}')) AS x",
               [f'[{{"id": {height}, "result": {text}}}]'])
    return src._rows(db, height, height)
