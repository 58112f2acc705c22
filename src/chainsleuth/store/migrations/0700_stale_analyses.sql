-- Reliability (chainsleuth.store.stale): saved analyses whose evidence came from blocks that a chain
-- reorganisation later orphaned. Written in the reorg's own transaction (node_sync), before the orphaned rows
-- are deleted, so the marking and the deletion commit or fail together. A saved trace is stale when the
-- orphaned range overlaps the block range of its edges (traces.first_block..last_block); a stored incident
-- when an orphaned block falls inside its drain window or holds one of its evidence transactions. An
-- incident re-detected after the reorg (incidents.detected_at > marked_at) is current again.
CREATE TABLE stale_analyses (
    kind           VARCHAR NOT NULL CHECK (kind IN ('trace', 'incident')),
    analysis_id    VARCHAR NOT NULL,   -- traces.trace_id as text | incidents.incident_id
    chain          VARCHAR NOT NULL,
    orphaned_from  BIGINT NOT NULL,
    orphaned_to    BIGINT NOT NULL,
    marked_at      TIMESTAMP NOT NULL DEFAULT current_timestamp
);
