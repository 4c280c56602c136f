-- The durable inbox: every inbound event, stored before it is acknowledged.
-- {{id_pk}} is the only dialect-specific token: an auto-incrementing 64-bit primary key
-- (INTEGER PRIMARY KEY AUTOINCREMENT on SQLite, an identity column on PostgreSQL). Ids only
-- grow, and enqueues into one conversation take turns (SQLite has one writer; PostgreSQL takes
-- an advisory lock per conversation), so within a conversation id order is arrival order.

CREATE TABLE inbox_events (
    id                  {{id_pk}},
    source              TEXT NOT NULL,
    dedupe_key          TEXT NOT NULL,
    kind                TEXT NOT NULL,
    conversation_key    TEXT NOT NULL,
    payload             TEXT NOT NULL,
    state               TEXT NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'running', 'done', 'dead')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    received_at         DOUBLE PRECISION NOT NULL,
    run_after           DOUBLE PRECISION NOT NULL,
    started_at          DOUBLE PRECISION,
    finished_at         DOUBLE PRECISION,
    lease_owner         TEXT,
    lease_expires_at    DOUBLE PRECISION,
    last_error          TEXT,
    blocks_conversation INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT inbox_events_dedupe UNIQUE (source, dedupe_key)
);

-- "Is anything ahead of this event in its conversation?" must be cheap: it runs for every claim.
CREATE INDEX inbox_events_open_by_conversation ON inbox_events (conversation_key, id)
    WHERE state IN ('pending', 'running') OR blocks_conversation = 1;

-- Claims scan pending events in id order; operators list by state; metrics count by state.
CREATE INDEX inbox_events_by_state ON inbox_events (state, id);

-- One worker at a time per conversation: a lease, so a dead worker's hold expires by itself.
CREATE TABLE conversation_leases (
    conversation_key    TEXT PRIMARY KEY,
    lease_owner         TEXT NOT NULL,
    lease_expires_at    DOUBLE PRECISION NOT NULL
);

-- What happened on each attempt, for `tim-gateway events show`.
-- An operator's retry starts the count again, so (event_id, attempt) may repeat; id orders them.
CREATE TABLE inbox_attempts (
    id                  {{id_pk}},
    event_id            BIGINT NOT NULL REFERENCES inbox_events (id) ON DELETE CASCADE,
    attempt             INTEGER NOT NULL,
    worker              TEXT NOT NULL,
    started_at          DOUBLE PRECISION NOT NULL,
    finished_at         DOUBLE PRECISION NOT NULL,
    outcome             TEXT NOT NULL CHECK (outcome IN ('done', 'retry', 'dead', 'released', 'lost')),
    error               TEXT
);

CREATE INDEX inbox_attempts_by_event ON inbox_attempts (event_id, id);
