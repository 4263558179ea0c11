-- What people add: manual evidence, risk exceptions and their decisions, and the audit log.
-- All append-only and hash-chained like the ledger; an exception's current status is derived
-- from its decisions, never updated in place.

CREATE TABLE manual_evidence (
    seq            BIGINT PRIMARY KEY,
    control_id     TEXT NOT NULL,
    file_name      TEXT NOT NULL,
    content        BLOB NOT NULL,
    content_sha256 TEXT NOT NULL,
    note           TEXT NOT NULL,
    owner          TEXT NOT NULL,
    submitted_by   TEXT NOT NULL,
    submitted_at   BIGINT NOT NULL,
    due_at         BIGINT NOT NULL,
    prev_hash      TEXT NOT NULL,
    record_hash    TEXT NOT NULL
);
CREATE INDEX manual_evidence_by_control ON manual_evidence (control_id, seq);

CREATE TABLE exceptions (
    seq                  BIGINT PRIMARY KEY,
    control_id           TEXT NOT NULL,
    reason               TEXT NOT NULL,
    compensating_control TEXT,
    requested_by         TEXT NOT NULL,
    requested_at         BIGINT NOT NULL,
    expires_at           BIGINT NOT NULL,
    prev_hash            TEXT NOT NULL,
    record_hash          TEXT NOT NULL
);
CREATE INDEX exceptions_by_control ON exceptions (control_id, seq);

CREATE TABLE exception_decisions (
    seq           BIGINT PRIMARY KEY,
    exception_seq BIGINT NOT NULL REFERENCES exceptions (seq),
    decision      TEXT NOT NULL,
    decided_by    TEXT NOT NULL,
    decided_at    BIGINT NOT NULL,
    note          TEXT NOT NULL,
    prev_hash     TEXT NOT NULL,
    record_hash   TEXT NOT NULL
);
CREATE INDEX exception_decisions_by_exception ON exception_decisions (exception_seq, seq);

CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    origin      TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    record_hash TEXT NOT NULL
);

INSERT INTO chain_heads (chain, seq, head_hash) VALUES
    ('manual_evidence', 0, '0000000000000000000000000000000000000000000000000000000000000000'),
    ('exceptions', 0, '0000000000000000000000000000000000000000000000000000000000000000'),
    ('exception_decisions', 0, '0000000000000000000000000000000000000000000000000000000000000000'),
    ('audit_log', 0, '0000000000000000000000000000000000000000000000000000000000000000');
