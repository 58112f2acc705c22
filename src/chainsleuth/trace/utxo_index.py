"""The UTXO trace index: a UTXO chain's spend graph with integer ids, derived from the ledger.

A trace over ``utxo_outputs``/``utxo_inputs`` joins 64-character transaction hashes; on a chain of a few
million outputs every such join is a full-table string hash join (~1 s each on two cores), even when the
trace touches eight outputs. So the first trace after a load builds ``utxo_trace_txs`` (hash -> id, dense in
block order), ``utxo_trace_addresses`` (address -> id) and ``utxo_trace_outputs`` (each output with its
creating and spending transaction ids, sorted by creating id) in one transaction, set-based, and later traces
reuse them until the ledger's fingerprint changes (the approach of :mod:`chainsleuth.trace.index`).
"""

from __future__ import annotations

import threading

import duckdb

from chainsleuth import store

_TABLES = ("utxo_trace_outputs", "utxo_trace_txs", "utxo_trace_addresses", "utxo_trace_state")


def fingerprint(con: duckdb.DuckDBPyConnection, chain: str) -> str:
    """Changes whenever the chain's outputs, inputs or transactions change (rows added or removed, a new load
    of the chain; input resolution updates happen inside a load) and with the DuckDB version (hash keys)."""
    parts = []
    for table in ("utxo_outputs", "utxo_inputs", "transactions"):
        n, mx = con.execute(f"SELECT count(*), max(rowid) FROM {table} WHERE chain = ?", [chain]).fetchone()
        parts.append(f"{n}:{mx}")
    load = con.execute("SELECT max(load_id) FROM loads WHERE chain = ?", [chain]).fetchone()[0]
    return ":".join([*parts, str(load), duckdb.__version__])


_BUILD_LOCK = threading.Lock()


def ensure_utxo_index(con: duckdb.DuckDBPyConnection, chain: str, *, force: bool = False) -> bool:
    """Build or refresh the chain's UTXO trace index if the ledger changed; True if it was (re)built.

    Serialised within the process (the API traces from several threads); a concurrent writer in another
    process makes the build's transaction fail and roll back whole.
    """
    with _BUILD_LOCK:
        fp = fingerprint(con, chain)
        row = con.execute("SELECT fingerprint FROM utxo_trace_state WHERE chain = ?", [chain]).fetchone()
        if row and row[0] == fp and not force:
            return False
        with store.transaction(con):
            _build(con, chain, fp)
        for t in ("_ux_tx", "_ux_addr", "_ux_o", "_ux_i", "_ux_extra", "_ux_unstored", "_ux_unstored_addr",
                  "_ux_phantom"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
        return True


def _build(con: duckdb.DuckDBPyConnection, chain: str, fp: str) -> None:
    c = {"c": chain}
    for table in _TABLES:
        con.execute(f"DELETE FROM {table} WHERE chain = ?", [chain])
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _ux_tx AS
        SELECT hash, (row_number() OVER (ORDER BY block_number, tx_index, hash) - 1)::INTEGER AS id,
               block_number, block_time, tx_index, fee
        FROM transactions WHERE chain = $c""", c)
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _ux_addr AS
        SELECT address, (row_number() OVER () - 1)::INTEGER AS id FROM (
            SELECT DISTINCT address FROM utxo_outputs WHERE chain = $c AND address IS NOT NULL)""", c)
    # outputs and inputs with their transactions' ids; the hash is kept only where no id was found
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _ux_o AS
        SELECT t.id AS tx, CASE WHEN t.id IS NULL THEN o.tx_hash END AS tx_hash, o.output_index, o.block_number,
               CASE WHEN t.id IS NULL THEN o.block_time END AS block_time, o.value, coalesce(a.id, -1) AS address
        FROM utxo_outputs o
        LEFT JOIN _ux_tx t ON t.hash = o.tx_hash
        LEFT JOIN _ux_addr a ON a.address = o.address
        WHERE o.chain = $c""", c)
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _ux_i AS
        SELECT a.id AS tx, CASE WHEN a.id IS NULL THEN i.tx_hash END AS tx_hash, i.input_index, i.block_number,
               CASE WHEN a.id IS NULL THEN i.block_time END AS block_time,
               b.id AS spent_tx, CASE WHEN b.id IS NULL THEN i.spent_tx_hash END AS spent_tx_hash,
               i.spent_output_index, i.rowid AS rid
        FROM utxo_inputs i
        LEFT JOIN _ux_tx a ON a.hash = i.tx_hash
        LEFT JOIN _ux_tx b ON b.hash = i.spent_tx_hash
        WHERE i.chain = $c""", c)
    _add_unlisted_transactions(con)
    phantoms = _add_phantom_addresses(con, chain)
    con.execute(
        f"""INSERT INTO utxo_trace_outputs
        SELECT $c, coalesce(o.tx, i.spent_tx), coalesce(o.output_index, i.spent_output_index), o.block_number,
               o.value, coalesce(o.address, {'p.address' if phantoms else 'NULL'}, -1), coalesce(i.tx, -1),
               i.input_index, i.block_number
        FROM _ux_o o FULL JOIN _ux_i i ON i.spent_tx = o.tx AND i.spent_output_index = o.output_index
        {'LEFT JOIN _ux_phantom p ON p.rid = i.rid AND o.tx IS NULL' if phantoms else ''}
        ORDER BY 2, 3, 7""", c)
    # the first input that has an address, as utxo_inputs.address (resolved from the spent output) says
    con.execute(
        """INSERT INTO utxo_trace_txs
        SELECT $c, x.id, x.hash, hash(x.hash), x.block_number, x.block_time, x.tx_index, x.fee, coalesce(f.a, -1)
        FROM _ux_tx x LEFT JOIN (
            SELECT spent_by AS tx, arg_min(address, spent_index) AS a FROM utxo_trace_outputs
            WHERE chain = $c AND spent_by >= 0 AND address >= 0 GROUP BY spent_by) f ON f.tx = x.id
        ORDER BY x.id""", c)
    con.execute("INSERT INTO utxo_trace_addresses SELECT $c, address, hash(address), id FROM _ux_addr", c)
    n = con.execute("SELECT count(*) FROM utxo_trace_outputs WHERE chain = ?", [chain]).fetchone()[0]
    con.execute(
        "INSERT INTO utxo_trace_state (chain, fingerprint, outputs) VALUES (?, ?, ?) "
        "ON CONFLICT (chain) DO UPDATE SET fingerprint = excluded.fingerprint, outputs = excluded.outputs, "
        "built_at = excluded.built_at", [chain, fp, n])


def _add_unlisted_transactions(con: duckdb.DuckDBPyConnection) -> None:
    """Hashes that outputs or inputs name but ``transactions`` lacks (partial or CSV-like data) get ids after
    the listed ones; nothing to do on a complete ledger."""
    missing = con.execute(
        "SELECT (SELECT count(*) FROM _ux_o WHERE tx IS NULL) + "
        "(SELECT count(*) FROM _ux_i WHERE tx IS NULL OR spent_tx IS NULL)").fetchone()[0]
    if not missing:
        return
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _ux_extra AS
        SELECT hash, ((SELECT count(*) FROM _ux_tx) + row_number() OVER (ORDER BY b NULLS LAST, hash) - 1)::INTEGER
               AS id, b AS block_number, t AS block_time
        FROM (SELECT hash, min(b) AS b, min(t) AS t FROM (
                SELECT tx_hash AS hash, block_number AS b, block_time AS t FROM _ux_o WHERE tx IS NULL
                UNION ALL SELECT tx_hash, block_number, block_time FROM _ux_i WHERE tx IS NULL
                UNION ALL SELECT spent_tx_hash, NULL, NULL FROM _ux_i WHERE spent_tx IS NULL) GROUP BY hash)""")
    con.execute("INSERT INTO _ux_tx SELECT hash, id, block_number, block_time, NULL, NULL FROM _ux_extra")
    con.execute("UPDATE _ux_o SET tx = e.id FROM _ux_extra e WHERE _ux_o.tx IS NULL AND e.hash = _ux_o.tx_hash")
    con.execute("UPDATE _ux_i SET tx = e.id FROM _ux_extra e WHERE _ux_i.tx IS NULL AND e.hash = _ux_i.tx_hash")
    con.execute("UPDATE _ux_i SET spent_tx = e.id FROM _ux_extra e "
                "WHERE _ux_i.spent_tx IS NULL AND e.hash = _ux_i.spent_tx_hash")


def _add_phantom_addresses(con: duckdb.DuckDBPyConnection, chain: str) -> bool:
    """Inputs whose spent output is not stored keep their own address (``_ux_phantom``: input rowid ->
    address id; new addresses are numbered after the others). False when every spent output is stored."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _ux_unstored AS
        SELECT i.rid FROM _ux_i i ANTI JOIN _ux_o o ON o.tx = i.spent_tx AND o.output_index = i.spent_output_index""")
    if not con.execute("SELECT count(*) FROM _ux_unstored").fetchone()[0]:
        return False
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _ux_unstored_addr AS
        SELECT p.rid, u.address FROM _ux_unstored p JOIN utxo_inputs u ON u.rowid = p.rid
        WHERE u.chain = ? AND u.address IS NOT NULL""", [chain])
    con.execute(
        """INSERT INTO _ux_addr
        SELECT address, ((SELECT count(*) FROM _ux_addr) + row_number() OVER (ORDER BY address) - 1)::INTEGER
        FROM (SELECT DISTINCT address FROM _ux_unstored_addr) ANTI JOIN _ux_addr USING (address)""")
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _ux_phantom AS
        SELECT p.rid, a.id AS address FROM _ux_unstored_addr p JOIN _ux_addr a USING (address)""")
    return True


def lookup(con: duckdb.DuckDBPyConnection, chain: str, kind: str, values: list[str]) -> dict[str, int]:
    """Ids of transaction hashes (``kind='tx'``) or addresses (``'address'``) in the index; unknown ones are
    left out. Scans the integer hash keys, then compares the strings of the few matches."""
    wanted = sorted(set(values))
    if not wanted:
        return {}
    table, col = ("utxo_trace_txs", "hash") if kind == "tx" else ("utxo_trace_addresses", "address")
    rows = con.execute(
        f"SELECT {col}, id FROM {table} WHERE chain = ? AND {col}_key IN (SELECT hash(unnest(?::VARCHAR[])))",
        [chain, wanted]).fetchall()
    want = set(wanted)
    return {s: int(i) for s, i in rows if s in want}
