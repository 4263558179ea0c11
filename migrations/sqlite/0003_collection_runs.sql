-- One row per collection run: which integration, when, how it ended and what it cost in API
-- calls. Append-only and hash-chained like the ledger. collector_state holds what a collector
-- keeps between runs (GitHub ETags); it is a cache, never evidence.

CREATE TABLE collection_runs (
    seq          BIGINT PRIMARY KEY,
    integration  TEXT NOT NULL,
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT NOT NULL,
    outcome      TEXT NOT NULL,
    api_calls    BIGINT NOT NULL,
    evidence_seq BIGINT NOT NULL REFERENCES evidence (seq),
    detail       TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    record_hash  TEXT NOT NULL
);
CREATE INDEX collection_runs_by_integration ON collection_runs (integration, seq);

CREATE TABLE collector_state (
    integration TEXT PRIMARY KEY,
    state       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

INSERT INTO chain_heads (chain, seq, head_hash) VALUES
    ('collection_runs', 0, '0000000000000000000000000000000000000000000000000000000000000000');
