-- Labels and entities (chainsleuth.labels, chainsleuth.cluster).
--
-- tags.dataset is the import unit (e.g. 'tagpack:lazarus.yaml', 'ofac:sanctioned_addresses_XBT.txt',
-- 'csv:my.csv', 'manual', 'default:...'): re-importing a dataset replaces exactly its tags, so loading a file
-- twice never duplicates. tags.source stays the provenance a reader can follow (URL, list name).
ALTER TABLE tags ADD COLUMN dataset VARCHAR;

-- Real-world actors (GraphSense ActorPack ids -> display names), so tags that share an actor id name one entity.
CREATE TABLE actors (
    actor       VARCHAR PRIMARY KEY,
    label       VARCHAR NOT NULL,
    categories  VARCHAR,            -- comma-separated GraphSense categories
    uri         VARCHAR,
    dataset     VARCHAR NOT NULL
);

-- One row per clustered address: its cluster, and the heuristic and transaction that linked it.
-- cluster_id is the smallest member's dense address number of that run, unique per (chain, run).
-- Addresses absent from this table are singleton clusters.
CREATE TABLE clusters (
    chain        VARCHAR NOT NULL,
    address      VARCHAR NOT NULL,
    cluster_id   BIGINT NOT NULL,
    heuristic    VARCHAR NOT NULL,  -- 'multi-input' | 'change' | 'deposit-address' | 'airdrop' | 'root'
    evidence_tx  VARCHAR            -- a transaction that links this address into its cluster
);

-- What each clustering run did (per chain; a new run replaces the chain's clusters).
CREATE TABLE cluster_runs (
    chain        VARCHAR NOT NULL,
    run_at       TIMESTAMP NOT NULL DEFAULT current_timestamp,
    heuristics   VARCHAR NOT NULL,
    addresses    BIGINT NOT NULL,
    clusters     BIGINT NOT NULL,
    links        BIGINT NOT NULL,
    coinjoins_skipped BIGINT NOT NULL,
    seconds      DOUBLE
);

-- Transactions recognised as CoinJoins (excluded from multi-input clustering), with the reason.
CREATE TABLE coinjoins (
    chain        VARCHAR NOT NULL,
    tx_hash      VARCHAR NOT NULL,
    reason       VARCHAR NOT NULL,
    inputs       INTEGER,
    equal_outputs INTEGER,
    denomination BIGINT
);

-- EVM deposit addresses found by the deposit-address heuristic (Victor 2020): address D forwarded what it
-- received to the labelled hot wallet; evidence = the forwarding transactions.
CREATE TABLE deposit_addresses (
    chain         VARCHAR NOT NULL,
    address       VARCHAR NOT NULL,
    hot_wallet    VARCHAR NOT NULL,
    exchange      VARCHAR NOT NULL,   -- label of the hot wallet's entity
    actor         VARCHAR,
    asset         VARCHAR NOT NULL,
    received      HUGEINT NOT NULL,
    forwarded     HUGEINT NOT NULL,
    senders       INTEGER NOT NULL,
    forwards      INTEGER NOT NULL,
    first_forward TIMESTAMP,
    last_forward  TIMESTAMP,
    evidence_txs  VARCHAR[] NOT NULL,
    confidence    DOUBLE NOT NULL
);
