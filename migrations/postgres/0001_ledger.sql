-- Evidence, evaluations, findings and control-state history.
-- Times are unix seconds (BIGINT): the sqlx Any driver shares no timestamp type between SQLite and
-- PostgreSQL. Every append-only table is hash-chained: `prev_hash` is the previous row's
-- `record_hash` in the same chain, and chain_heads remembers the newest link of each chain so a
-- deleted tail is detected too.

CREATE TABLE chain_heads (
    chain     TEXT PRIMARY KEY,
    seq       BIGINT NOT NULL,
    head_hash TEXT NOT NULL
);

CREATE TABLE evidence (
    seq            BIGINT PRIMARY KEY,
    source         TEXT NOT NULL,
    kind           TEXT NOT NULL,
    collected_at   BIGINT NOT NULL,
    observed_at    BIGINT NOT NULL,
    payload        TEXT NOT NULL,
    payload_sha256 TEXT NOT NULL,
    prev_hash      TEXT NOT NULL,
    record_hash    TEXT NOT NULL
);
CREATE INDEX evidence_by_source ON evidence (source, seq);

CREATE TABLE evaluations (
    seq          BIGINT PRIMARY KEY,
    source       TEXT NOT NULL,
    evidence_seq BIGINT NOT NULL REFERENCES evidence (seq),
    evaluated_at BIGINT NOT NULL,
    prev_hash    TEXT NOT NULL,
    record_hash  TEXT NOT NULL
);
CREATE INDEX evaluations_by_source ON evaluations (source, seq);

CREATE TABLE findings (
    seq            BIGINT PRIMARY KEY,
    evaluation_seq BIGINT NOT NULL REFERENCES evaluations (seq),
    check_id       TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    resource       TEXT NOT NULL,
    reason         TEXT NOT NULL,
    observed_at    BIGINT NOT NULL,
    prev_hash      TEXT NOT NULL,
    record_hash    TEXT NOT NULL
);
CREATE INDEX findings_by_evaluation ON findings (evaluation_seq);
CREATE INDEX findings_by_check ON findings (check_id, evaluation_seq);

CREATE TABLE transitions (
    seq         BIGINT PRIMARY KEY,
    control_id  TEXT NOT NULL,
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    at          BIGINT NOT NULL,
    reason      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    record_hash TEXT NOT NULL
);
CREATE INDEX transitions_by_control ON transitions (control_id, seq);

-- The current state of each control: a projection of its newest transition, kept for fast reads
-- (chat commands). `kushim verify` checks it against the transitions chain.
CREATE TABLE control_states (
    control_id     TEXT PRIMARY KEY,
    state          TEXT NOT NULL,
    reason         TEXT NOT NULL,
    since          BIGINT NOT NULL,
    transition_seq BIGINT NOT NULL REFERENCES transitions (seq)
);

-- Every chain starts at seq 0 with the all-zero genesis hash.
INSERT INTO chain_heads (chain, seq, head_hash) VALUES
    ('evidence', 0, '0000000000000000000000000000000000000000000000000000000000000000'),
    ('evaluations', 0, '0000000000000000000000000000000000000000000000000000000000000000'),
    ('findings', 0, '0000000000000000000000000000000000000000000000000000000000000000'),
    ('transitions', 0, '0000000000000000000000000000000000000000000000000000000000000000');
