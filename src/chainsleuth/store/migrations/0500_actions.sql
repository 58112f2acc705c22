-- Acting on findings: watch-lists and their alerts, API tokens, analyst notes and saved case views.

-- Addresses whose funds we follow. source = 'manual' (watch add) or 'propagated' (a recipient of watched funds
-- that `watch run --propagate` added; parent_address names the watched sender).
CREATE TABLE watchlist (
    chain           VARCHAR NOT NULL,
    address         VARCHAR NOT NULL,
    label           VARCHAR,
    case_id         VARCHAR,
    source          VARCHAR NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'propagated')),
    parent_address  VARCHAR,
    since_block     BIGINT,            -- propagated: the block in which it received watched funds
    added_by        VARCHAR NOT NULL DEFAULT 'chainsleuth',
    added_at        TIMESTAMP NOT NULL DEFAULT current_timestamp,
    active          BOOLEAN NOT NULL DEFAULT true,
    PRIMARY KEY (chain, address)
);

-- The last block `watch run` has checked per chain: alerts are raised once, for newer blocks only.
CREATE TABLE watch_state (
    chain       VARCHAR PRIMARY KEY,
    last_block  BIGINT NOT NULL,
    updated_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE SEQUENCE watch_alert_ids START 1;
CREATE TABLE watch_alerts (
    alert_id        BIGINT PRIMARY KEY,
    chain           VARCHAR NOT NULL,
    block_number    BIGINT NOT NULL,
    block_time      TIMESTAMP NOT NULL,
    tx_hash         VARCHAR NOT NULL,
    from_address    VARCHAR NOT NULL,
    to_address      VARCHAR,
    asset           VARCHAR NOT NULL,
    amount          HUGEINT,
    severity        VARCHAR NOT NULL CHECK (severity IN ('critical', 'high', 'medium')),
    reason          VARCHAR NOT NULL,
    to_label        VARCHAR,
    to_category     VARCHAR,
    watch_label     VARCHAR,
    case_id         VARCHAR,
    raised_at       TIMESTAMP NOT NULL DEFAULT current_timestamp,
    webhook_status  VARCHAR            -- NULL: no webhook configured; 'ok' or the delivery error
);

-- API tokens: only the SHA-256 of the (256-bit random) token is stored.
CREATE TABLE api_tokens (
    name          VARCHAR PRIMARY KEY,
    token_hash    VARCHAR NOT NULL UNIQUE,
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    last_used_at  TIMESTAMP,
    revoked       BOOLEAN NOT NULL DEFAULT false
);

-- Analyst notes on addresses (free text; labels go to `tags`).
CREATE SEQUENCE note_ids START 1;
CREATE TABLE address_notes (
    note_id   BIGINT PRIMARY KEY,
    chain     VARCHAR NOT NULL,
    address   VARCHAR NOT NULL,
    note      VARCHAR NOT NULL,
    case_id   VARCHAR,
    added_by  VARCHAR NOT NULL,
    added_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- Graph views saved from the web UI as (part of) a case: the JSON of nodes, edges and positions.
CREATE SEQUENCE case_view_ids START 1;
CREATE TABLE case_views (
    view_id     BIGINT PRIMARY KEY,
    name        VARCHAR NOT NULL,
    case_id     VARCHAR,
    payload     VARCHAR NOT NULL,
    created_by  VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
);
