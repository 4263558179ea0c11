-- The background engine: durable jobs, what the scheduler last enqueued, the outbox of outgoing
-- chat messages with its per-channel pacing, and channel subscriptions.
-- These are operational tables, updated in place (leases, retries, delivery state), so they are
-- not hash-chained: what they lead to (evidence, transitions) is.

CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY,
    kind             TEXT NOT NULL,
    payload          TEXT NOT NULL,
    -- A second enqueue with the same key is a no-op: schedules use schedule:<name>:<occurrence>.
    idempotency_key  TEXT NOT NULL UNIQUE,
    -- queued | running | done | dead
    status           TEXT NOT NULL,
    run_at           BIGINT NOT NULL,
    attempts         BIGINT NOT NULL,
    max_attempts     BIGINT NOT NULL,
    lease_owner      TEXT,
    lease_expires_at BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    finished_at      BIGINT
);
CREATE INDEX jobs_ready ON jobs (status, run_at);

-- The newest occurrence of each schedule that has been enqueued, so a restart after downtime
-- enqueues the latest missed occurrence once instead of every missed tick.
CREATE TABLE schedule_marks (
    schedule        TEXT PRIMARY KEY,
    last_occurrence BIGINT NOT NULL
);

-- One row per (channel, kind, key): an alert about a control in a channel is one message,
-- updated in place (message_id is Slack's ts) as the control changes.
CREATE TABLE outbox (
    id                INTEGER PRIMARY KEY,
    channel           TEXT NOT NULL,
    kind              TEXT NOT NULL,
    message_key       TEXT NOT NULL,
    body              TEXT NOT NULL,
    -- Bumped whenever the body changes; delivered_version says which one the channel shows.
    version           BIGINT NOT NULL,
    delivered_version BIGINT NOT NULL,
    message_id        TEXT,
    -- Bumped when the row starts a new message instead of updating the old one; with the id it
    -- forms the dedupe key a post carries, so a send interrupted by a crash is found, not repeated.
    generation        BIGINT NOT NULL,
    -- pending | sending | delivered | failed
    status            TEXT NOT NULL,
    attempts          BIGINT NOT NULL,
    -- 1 while a claimed send follows one that died mid-send (its lease expired): that one may
    -- have been posted, so the message is looked up before it is posted again.
    in_doubt          BIGINT NOT NULL,
    lease_owner       TEXT,
    lease_expires_at  BIGINT,
    last_error        TEXT,
    -- Delivery order within a channel.
    enqueued_at       BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    UNIQUE (channel, kind, message_key)
);
CREATE INDEX outbox_by_channel ON outbox (channel, status, enqueued_at, id);

-- When each channel may next receive a message (Slack allows about one a second per channel,
-- and a 429's Retry-After pushes it further).
CREATE TABLE outbox_channels (
    channel      TEXT PRIMARY KEY,
    next_send_at BIGINT NOT NULL
);

-- Which channels receive what: kind is alerts or digest.
CREATE TABLE subscriptions (
    channel    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (channel, kind)
);
