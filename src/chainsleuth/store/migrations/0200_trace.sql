-- Tracing (chainsleuth.trace).
--
-- trace_nodes / trace_edges: an integer-encoded copy of the account-chain value graph (transfers plus the gas
-- fee each sender paid), derived from `transfers` and `transactions` and rebuilt when they change
-- (trace_index_state.fingerprint). Frontier expansion joins on INTEGER ids instead of 42-character address
-- strings, which makes each hop of a trace a ~10x cheaper scan. Rows are in block order, so zonemaps prune
-- block-range filters. `rid` is the rowid of the source row (transfers, or transactions for fees), used to
-- fetch exact amounts and hashes of the few edges a trace reports; (block_number, tx_index, seq) is checked
-- on fetch, so a stale rid can never attach the wrong transaction to a claim.
CREATE TABLE trace_nodes (
    chain    VARCHAR NOT NULL,
    address  VARCHAR NOT NULL,
    id       INTEGER NOT NULL
);

CREATE TABLE trace_assets (
    chain  VARCHAR NOT NULL,
    asset  VARCHAR NOT NULL,
    id     INTEGER NOT NULL
);

CREATE TABLE trace_edges (
    chain         VARCHAR NOT NULL,
    block_number  BIGINT NOT NULL,
    block_time    TIMESTAMP NOT NULL,
    tx_index      INTEGER NOT NULL,   -- negative: position unknown (CSV); -k numbers the block's k-th tx hash
    seq           INTEGER NOT NULL,   -- -1: the transaction fee (paid before the transaction's transfers)
    src           INTEGER NOT NULL,   -- trace_nodes.id; -1 = no sender (block reward)
    dst           INTEGER NOT NULL,   -- trace_nodes.id; -1 = fee
    asset         INTEGER NOT NULL,   -- trace_assets.id
    amount        DOUBLE NOT NULL,    -- approximate; exact HUGEINT amounts are fetched by rid
    is_fee        BOOLEAN NOT NULL,
    rid           BIGINT NOT NULL
);

CREATE TABLE trace_index_state (
    chain        VARCHAR PRIMARY KEY,
    fingerprint  VARCHAR NOT NULL,
    edges        BIGINT NOT NULL,
    built_at     TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- Saved trace results (optional): the JSON result and the block range it read, so that a later reorg or
-- re-ingest of that range can mark it stale.
CREATE SEQUENCE trace_ids START 1;
CREATE TABLE traces (
    trace_id     BIGINT PRIMARY KEY,
    created_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
    chain        VARCHAR NOT NULL,
    direction    VARCHAR NOT NULL,
    model        VARCHAR NOT NULL,
    sources      VARCHAR[] NOT NULL,
    first_block  BIGINT,
    last_block   BIGINT,
    result       JSON NOT NULL
);
