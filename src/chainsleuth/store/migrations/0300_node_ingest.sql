-- Node ingestion (chainsleuth.ingest.node_sync): chain reorganisations seen while following a node.
-- When a stored block's hash no longer matches the node, the orphaned blocks and every ledger row in them
-- were deleted and the new branch ingested, in one transaction. Analyses run before `detected_at` over
-- blocks in [orphaned_from, orphaned_to] may be stale.
CREATE TABLE reorgs (
    chain          VARCHAR NOT NULL,
    source         VARCHAR NOT NULL,        -- the node (URL without credentials)
    fork_block     BIGINT NOT NULL,         -- last block both branches share (-1: none stored)
    fork_hash      VARCHAR,
    orphaned_from  BIGINT NOT NULL,
    orphaned_to    BIGINT NOT NULL,
    old_tip_hash   VARCHAR,                 -- the stored tip that was orphaned
    rows_deleted   BIGINT NOT NULL,
    detected_at    TIMESTAMP NOT NULL DEFAULT current_timestamp
);
