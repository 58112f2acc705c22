-- chainsleuth canonical ledger, version 1.
-- One schema that every ingester writes and every analysis reads (see chainsleuth.model for the meaning
-- of each column). Amounts are exact integers in base units (wei, satoshi): HUGEINT holds |x| < 2^127,
-- which covers every real native and token amount; the rare junk-token amount beyond that (up to 2^256-1)
-- is kept exactly in `amount_overflow` with `amount` NULL, so sums never silently wrap.
-- Times are UTC TIMESTAMPs.
--
-- The big ledger tables (transactions, transfers, utxo_*) carry no PRIMARY KEY index: uniqueness of their
-- natural keys (noted per table) is enforced by the loaders with a set-based anti-join, which keeps bulk
-- loads at millions of rows per second. Loaders append in block order, so DuckDB's per-row-group min/max
-- (zonemaps) on block_number / block_time prune time-range scans.

CREATE TABLE chains (
    chain            VARCHAR PRIMARY KEY,
    model            VARCHAR NOT NULL CHECK (model IN ('account', 'utxo')),
    native_asset     VARCHAR NOT NULL,
    native_decimals  INTEGER NOT NULL,
    address_format   VARCHAR NOT NULL CHECK (address_format IN ('evm', 'tron', 'bitcoin')),
    traces           BOOLEAN            -- internal transfers ingested? NULL = unknown
);

CREATE TABLE assets (
    chain     VARCHAR NOT NULL,
    asset     VARCHAR NOT NULL,          -- native symbol (ETH, BTC) or the token contract address
    symbol    VARCHAR,
    name      VARCHAR,
    decimals  INTEGER,
    contract  VARCHAR,                   -- NULL for the native asset
    PRIMARY KEY (chain, asset)
);

CREATE TABLE blocks (
    chain        VARCHAR NOT NULL,
    number       BIGINT NOT NULL,
    hash         VARCHAR NOT NULL,
    parent_hash  VARCHAR,
    block_time   TIMESTAMP NOT NULL,
    tx_count     INTEGER,
    PRIMARY KEY (chain, number)
);

-- Account-chain transactions (EVM, TRON) and UTXO-chain transactions share this table. Key: (chain, hash).
CREATE TABLE transactions (
    chain         VARCHAR NOT NULL,
    hash          VARCHAR NOT NULL,
    block_number  BIGINT NOT NULL,
    block_time    TIMESTAMP NOT NULL,
    tx_index      INTEGER NOT NULL,
    from_address  VARCHAR,               -- account chains
    to_address    VARCHAR,               -- account chains; NULL on contract creation
    value         HUGEINT,               -- native value of the call (account chains)
    fee           HUGEINT,               -- gas fee (account) or input - output (utxo), base units
    gas_price     HUGEINT,
    gas_used      BIGINT,
    status        INTEGER,               -- 1 ok, 0 failed (failed transactions move no value); NULL unknown
    is_coinbase   BOOLEAN,               -- utxo chains
    input_count   INTEGER,
    output_count  INTEGER
);

-- Every value movement on an account-based chain, whatever carried it. Key: (chain, tx_hash, kind, position).
--   kind = 'native'   : the value of a successful transaction (position '')
--   kind = 'token'    : an ERC-20 Transfer log (position = log index)
--   kind = 'internal' : a value-carrying call/create/selfdestruct inside a transaction (position = trace address)
--   kind = 'reward'   : block / uncle reward (from_address NULL)
-- seq orders transfers inside one transaction (native first, then internal calls and logs in execution order).
CREATE TABLE transfers (
    chain            VARCHAR NOT NULL,
    block_number     BIGINT NOT NULL,
    block_time       TIMESTAMP NOT NULL,
    tx_hash          VARCHAR NOT NULL,
    tx_index         INTEGER NOT NULL,
    kind             VARCHAR NOT NULL CHECK (kind IN ('native', 'token', 'internal', 'reward')),
    position         VARCHAR NOT NULL,
    seq              INTEGER NOT NULL,
    from_address     VARCHAR,
    to_address       VARCHAR,
    asset            VARCHAR NOT NULL,
    amount           HUGEINT,
    amount_overflow  BIGNUM
);

-- UTXO chains: one row per output, one per input (the input names the output it spends).
-- Keys: (chain, tx_hash, output_index) and (chain, tx_hash, input_index).
CREATE TABLE utxo_outputs (
    chain         VARCHAR NOT NULL,
    tx_hash       VARCHAR NOT NULL,
    output_index  INTEGER NOT NULL,
    block_number  BIGINT NOT NULL,
    block_time    TIMESTAMP NOT NULL,
    address       VARCHAR,               -- NULL for outputs without a standard address (raw multisig, OP_RETURN)
    script_type   VARCHAR,
    script_hex    VARCHAR,
    value         BIGINT NOT NULL
);

CREATE TABLE utxo_inputs (
    chain               VARCHAR NOT NULL,
    tx_hash             VARCHAR NOT NULL,
    input_index         INTEGER NOT NULL,
    block_number        BIGINT NOT NULL,
    block_time          TIMESTAMP NOT NULL,
    spent_tx_hash       VARCHAR NOT NULL,
    spent_output_index  INTEGER NOT NULL,
    address             VARCHAR,         -- resolved from the spent output
    value               BIGINT           -- resolved from the spent output; NULL until that output is stored
);

-- USD estimates only: never mixed into exact amounts.
CREATE TABLE prices (
    symbol  VARCHAR NOT NULL,
    day     DATE NOT NULL,
    usd     DOUBLE NOT NULL,
    source  VARCHAR,
    PRIMARY KEY (symbol, day)
);

-- Provenance of every load: what file or node range, how many rows, when.
CREATE TABLE loads (
    load_id     BIGINT PRIMARY KEY,
    chain       VARCHAR,
    source      VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,
    rows_added  BIGINT NOT NULL,
    loaded_at   TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE SEQUENCE load_ids START 1;

-- Labels: every tag keeps its provenance. chain NULL = applies on every chain where the address exists.
CREATE TABLE tags (
    chain       VARCHAR,
    address     VARCHAR NOT NULL,
    label       VARCHAR NOT NULL,
    category    VARCHAR,
    actor       VARCHAR,
    source      VARCHAR NOT NULL,
    confidence  DOUBLE,
    tagged_on   DATE,
    added_by    VARCHAR NOT NULL,
    added_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    note        VARCHAR
);

-- Incremental node ingestion: the last block stored per chain and source, for resume and reorg checks.
CREATE TABLE ingest_state (
    chain        VARCHAR NOT NULL,
    source       VARCHAR NOT NULL,
    last_block   BIGINT NOT NULL,
    last_hash    VARCHAR NOT NULL,
    updated_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (chain, source)
);
