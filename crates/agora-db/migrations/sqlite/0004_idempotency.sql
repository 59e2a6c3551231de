-- Idempotency records (see docs/IDEMPOTENCY.md). One row per (caller scope, key): in progress
-- under a lease while its request runs, then completed with the response to replay. Times are
-- unix milliseconds. A completed row commits in the same transaction as the request's writes.
CREATE TABLE idempotency_records (
    scope       TEXT    NOT NULL,
    idem_key    TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('in_progress', 'completed')),
    token       TEXT,
    lease_until BIGINT  NOT NULL DEFAULT 0,
    expires_at  BIGINT  NOT NULL,
    status      INTEGER,
    headers     TEXT,
    body        BLOB,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_records_expires_at ON idempotency_records (expires_at);
