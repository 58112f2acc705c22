-- A clustering run rewrites the chain's rows of `clusters` (millions on a real chain). Compressing their
-- addresses and evidence transaction hashes (random base58/bech32/hex strings, which hardly compress) was half
-- of the time a run spends storing them, so these two columns are stored uncompressed (as in 0201).
CREATE TABLE clusters_new (
    chain        VARCHAR NOT NULL,
    address      VARCHAR NOT NULL USING COMPRESSION 'uncompressed',
    cluster_id   BIGINT NOT NULL,
    heuristic    VARCHAR NOT NULL,  -- 'multi-input' | 'change' | 'deposit-address' | 'airdrop' | 'root'
    evidence_tx  VARCHAR USING COMPRESSION 'uncompressed'  -- a transaction that links this address into its cluster
);
INSERT INTO clusters_new SELECT chain, address, cluster_id, heuristic, evidence_tx FROM clusters;
DROP TABLE clusters;
ALTER TABLE clusters_new RENAME TO clusters;
