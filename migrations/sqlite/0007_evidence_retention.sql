-- Evidence retention: an old evidence record's payload is dropped (set to '') and the time
-- noted here. The record itself, its SHA-256 and its place in the hash chain stay, so the chain
-- still verifies and what was concluded from it (evaluations, findings, transitions) is kept.
-- Each pruning is written to the audit log with its cutoff; `kushim verify` flags a payload
-- missing without a retention run that covers it.
ALTER TABLE evidence ADD COLUMN pruned_at BIGINT;
