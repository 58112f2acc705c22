-- Detection and attribution (chainsleuth.detect, chainsleuth.attribute), version 1.
-- Incidents are found by `chainsleuth incidents` (drain waves); cases are declared by hand
-- (`chainsleuth case create`). Both are attributable. Amounts are exact base units (HUGEINT); USD is an
-- estimate (DOUBLE, NULL when no price is known).

CREATE TABLE incidents (
    incident_id     VARCHAR PRIMARY KEY,   -- 'INC-' + hash(chain, sorted attacker set, window start): stable
    chain           VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL,      -- 'drain-wave'
    window_start    TIMESTAMP NOT NULL,    -- first drain transfer
    window_end      TIMESTAMP NOT NULL,    -- last drain transfer
    victim_count    INTEGER NOT NULL,
    attacker_count  INTEGER NOT NULL,
    loss_usd        DOUBLE,
    consolidated    BOOLEAN NOT NULL,      -- did the recipients forward into a shared address?
    parameters      VARCHAR NOT NULL,      -- JSON of the thresholds used
    detected_at     TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE incident_losses (
    incident_id  VARCHAR NOT NULL,
    asset        VARCHAR NOT NULL,
    symbol       VARCHAR,
    amount       HUGEINT NOT NULL,
    usd          DOUBLE,
    PRIMARY KEY (incident_id, asset)
);

-- One row per victim and asset drained.
CREATE TABLE incident_victims (
    incident_id     VARCHAR NOT NULL,
    chain           VARCHAR NOT NULL,
    address         VARCHAR NOT NULL,
    asset           VARCHAR NOT NULL,
    amount          HUGEINT NOT NULL,      -- drained to the attacker addresses
    balance_before  HUGEINT NOT NULL,      -- balance just before the first drain transfer
    usd             DOUBLE,
    first_drain     TIMESTAMP NOT NULL,
    last_drain      TIMESTAMP NOT NULL,
    tx_hashes       VARCHAR[] NOT NULL,
    PRIMARY KEY (incident_id, address, asset)
);

CREATE TABLE incident_attackers (
    incident_id  VARCHAR NOT NULL,
    chain        VARCHAR NOT NULL,
    address      VARCHAR NOT NULL,
    role         VARCHAR NOT NULL CHECK (role IN ('recipient', 'consolidation')),
    first_seen   TIMESTAMP,
    victims      INTEGER NOT NULL,         -- recipient: victims paying it; consolidation: recipients feeding it
    tx_hashes    VARCHAR[] NOT NULL,
    PRIMARY KEY (incident_id, address)
);

CREATE TABLE cases (
    name         VARCHAR PRIMARY KEY,
    chain        VARCHAR NOT NULL,
    since        TIMESTAMP,
    source_file  VARCHAR,
    note         VARCHAR,
    created_at   TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE case_sources (
    name     VARCHAR NOT NULL,
    chain    VARCHAR NOT NULL,
    address  VARCHAR NOT NULL,
    role     VARCHAR,                      -- victim | attacker | NULL (unspecified)
    PRIMARY KEY (name, address)
);
