-- The control <-> Jira ticket link and the ticket's event history.
--
-- jira_tickets is operational state (mutable): one row per ticket Kushim opened, keyed by its
-- idempotency key (also a label on the Jira issue and its `kushim` entity property). A row is
-- written as `pending` BEFORE the issue is created in Jira and becomes `linked` once Jira's key
-- is saved; a pending row left by a crash is reconciled by searching Jira for the key's label.
-- `is_current` marks the control's ticket; the partial unique index makes a second current
-- ticket for the same control impossible, whatever two callers or replicas race.
--
-- ticket_events is append-only and hash-chained like the ledger: what happened to each ticket
-- (created, commented, closed, reopened, overdue, closed_while_failing), for auditors and chat.

CREATE TABLE jira_tickets (
    idempotency_key  TEXT PRIMARY KEY,
    control_id       TEXT NOT NULL,
    is_current       BIGINT NOT NULL,
    phase            TEXT NOT NULL,
    claimed_until    BIGINT NOT NULL,
    issue_key        TEXT,
    status           TEXT NOT NULL,
    status_category  TEXT NOT NULL,
    assignee         TEXT,
    due_date         TEXT,
    failing_digest   TEXT NOT NULL,
    closed_by_kushim BIGINT NOT NULL,
    flagged_at       BIGINT,
    overdue_noted_at BIGINT,
    replaces_key     TEXT,
    opened_by        TEXT NOT NULL,
    opened_at        BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE UNIQUE INDEX jira_tickets_one_current_per_control ON jira_tickets (control_id) WHERE is_current = 1;
CREATE UNIQUE INDEX jira_tickets_by_issue_key ON jira_tickets (issue_key);

CREATE TABLE ticket_events (
    seq         BIGINT PRIMARY KEY,
    control_id  TEXT NOT NULL,
    issue_key   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    detail      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    record_hash TEXT NOT NULL
);
CREATE INDEX ticket_events_by_control ON ticket_events (control_id, seq);

INSERT INTO chain_heads (chain, seq, head_hash) VALUES
    ('ticket_events', 0, '0000000000000000000000000000000000000000000000000000000000000000');
