-- The UTXO trace index (chainsleuth.trace.utxo_index): UTXO chains as integers, derived from `transactions`,
-- `utxo_outputs` and `utxo_inputs` and rebuilt when they change (utxo_trace_state.fingerprint). Tracing joins
-- integer transaction ids instead of 64-character hashes; strings are translated only for the rows a trace
-- reports. `*_key` columns hold hash() of the string, so a lookup by hash or address scans 8-byte integers
-- (the string is compared on the few matches; the fingerprint includes the DuckDB version that hashed them).
-- Hashes and addresses are stored uncompressed: they hardly compress, and the compression analysis of three
-- million strings was most of the build's time.

-- Transactions, ids dense in block order (then tx_index, hash). Hashes only seen in outputs/inputs (no
-- `transactions` row: tx_index/fee NULL) get ids after those. first_input: address id of the first input
-- that has an address (-1: none), the `from` of the edges a trace reports.
CREATE TABLE utxo_trace_txs (
    chain         VARCHAR NOT NULL,
    id            INTEGER NOT NULL,
    hash          VARCHAR NOT NULL USING COMPRESSION 'uncompressed',
    hash_key      UBIGINT NOT NULL,
    block_number  BIGINT,
    block_time    TIMESTAMP,
    tx_index      INTEGER,
    fee           HUGEINT,
    first_input   INTEGER NOT NULL
);

-- Addresses of outputs (and of inputs whose spent output is not stored).
CREATE TABLE utxo_trace_addresses (
    chain        VARCHAR NOT NULL,
    address      VARCHAR NOT NULL USING COMPRESSION 'uncompressed',
    address_key  UBIGINT NOT NULL,
    id           INTEGER NOT NULL
);

-- One row per output and spending input (an unspent output: spent_by = -1; an output spent twice, as data
-- of a reorg can show: two rows), sorted by (tx, output_index), so zonemaps prune lookups by tx id.
-- value NULL: an output that is not stored but that an input spends (partial data); the row carries the
-- input's address, so backward expansion and input-side tests see every input.
CREATE TABLE utxo_trace_outputs (
    chain         VARCHAR NOT NULL,
    tx            INTEGER NOT NULL,   -- utxo_trace_txs.id of the creating transaction
    output_index  INTEGER NOT NULL,
    block_number  BIGINT,
    value         BIGINT,
    address       INTEGER NOT NULL,   -- utxo_trace_addresses.id; -1 = no standard address
    spent_by      INTEGER NOT NULL,   -- utxo_trace_txs.id of the spending transaction; -1 = unspent
    spent_index   INTEGER,            -- input_index in the spending transaction
    spent_block   BIGINT              -- block_number of the spending input
);

CREATE TABLE utxo_trace_state (
    chain        VARCHAR PRIMARY KEY,
    fingerprint  VARCHAR NOT NULL,
    outputs      BIGINT NOT NULL,
    built_at     TIMESTAMP NOT NULL DEFAULT current_timestamp
);
