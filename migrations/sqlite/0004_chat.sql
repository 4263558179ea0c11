-- What the chat side remembers between requests.
--
-- slack_events_seen: Slack retries an event it thinks was not acknowledged (X-Slack-Retry-Num);
-- the first replica to insert the event id acts on it, every later delivery is ignored.
-- snoozes: a control's alerts are silenced until `until_at` (the latest snooze per control
-- wins). Who snoozed and when is also in the hash-chained audit log; this table is the
-- operational view the alerting reads.

CREATE TABLE slack_events_seen (
    event_id TEXT PRIMARY KEY,
    seen_at  BIGINT NOT NULL
);
CREATE INDEX slack_events_seen_by_time ON slack_events_seen (seen_at);

CREATE TABLE snoozes (
    control_id  TEXT PRIMARY KEY,
    until_at    BIGINT NOT NULL,
    snoozed_by  TEXT NOT NULL,
    snoozed_at  BIGINT NOT NULL
);
