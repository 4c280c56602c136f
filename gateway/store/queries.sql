-- Every SQL statement the gateway runs, by name. Parameters are :named.
-- A block named "NAME@postgresql" (or "@sqlite") replaces NAME on that dialect only; keep
-- those rare and the differences small. "{NAME}" inside a statement includes statement NAME
-- (of the same dialect) when the file is loaded; "{rows}" is filled in per call.

-- name: enqueue_row
-- One event's values in "enqueue"; each row's parameters come from that event.
(:source, :dedupe_key, :kind, :conversation_key, :payload, :received_at, :received_at);

-- name: enqueue
-- One statement for a whole group-commit batch: {rows} is enqueue_row once per event, in the
-- order the events arrived, so ids follow arrival order. A repeated (source, dedupe_key)
-- inserts nothing. On SQLite (one writer, AUTOINCREMENT), when no row is skipped, the rows take
-- consecutive ids in VALUES order, so the row count and the last id say which id each got.
INSERT INTO inbox_events (source, dedupe_key, kind, conversation_key, payload, received_at, run_after)
VALUES {rows}
ON CONFLICT (source, dedupe_key) DO NOTHING;

-- name: enqueue@postgresql
-- Concurrent replicas interleave identity values, so each inserted row says which it got
-- (a duplicate returns no row).
INSERT INTO inbox_events (source, dedupe_key, kind, conversation_key, payload, received_at, run_after)
VALUES {rows}
ON CONFLICT (source, dedupe_key) DO NOTHING
RETURNING id, source, dedupe_key;

-- name: newest_events
-- On SQLite, the rows one INSERT just added: AUTOINCREMENT puts them above every older row, and
-- no one else writes within our transaction.
SELECT id, source, dedupe_key FROM inbox_events ORDER BY id DESC LIMIT :count;

-- name: find_by_dedupe_key
SELECT id FROM inbox_events WHERE source = :source AND dedupe_key = :dedupe_key;

-- name: database_now
-- Replicas on several hosts must agree on when a lease expires: they all read the server's
-- clock. (SQLite serves one host, whose clock the gateway reads itself.)
SELECT CAST(strftime('%s', 'now') AS REAL) AS now;

-- name: database_now@postgresql
SELECT EXTRACT(EPOCH FROM clock_timestamp())::double precision AS now;

-- name: lock_conversations
SELECT NULL;

-- name: lock_conversations@postgresql
-- Two replicas enqueueing into one conversation take turns, so ids within a conversation are
-- handed out in commit order and a claim can never see a later event before an earlier one.
-- :keys arrive sorted, so two batches never wait on each other in opposite orders.
SELECT pg_advisory_xact_lock(hashtext(key)) FROM unnest(CAST(:keys AS text[])) AS key;

-- name: expired_claims
-- Events whose worker stopped heartbeating (killed, crashed, partitioned away).
SELECT id, conversation_key, attempts, lease_owner, started_at
FROM inbox_events
WHERE state = 'running' AND lease_expires_at <= :now;

-- name: requeue_lost_claim
-- The attempt counts (the handler may have crashed the process); it waits its backoff like a failure.
UPDATE inbox_events
SET state = 'pending', run_after = :run_after, last_error = :error, lease_owner = NULL, lease_expires_at = NULL
WHERE id = :id AND state = 'running' AND lease_expires_at <= :now;

-- name: bury_lost_claim
UPDATE inbox_events
SET state = 'dead', finished_at = :now, last_error = :error, lease_owner = NULL, lease_expires_at = NULL
WHERE id = :id AND state = 'running' AND lease_expires_at <= :now;

-- name: claim_candidates
-- The head of each conversation that nothing holds: the oldest event not yet finished,
-- ready to run, with no earlier event still open (or dead and blocking) and no live lease.
SELECT e.id, e.conversation_key
FROM inbox_events e
WHERE e.state = 'pending'
  AND e.run_after <= :now
  AND NOT EXISTS (
        SELECT 1 FROM inbox_events ahead
        WHERE ahead.conversation_key = e.conversation_key
          AND ahead.id < e.id
          AND (ahead.state IN ('pending', 'running') OR ahead.blocks_conversation = 1))
  AND NOT EXISTS (
        SELECT 1 FROM conversation_leases l
        WHERE l.conversation_key = e.conversation_key AND l.lease_expires_at > :now)
ORDER BY e.id
LIMIT :limit
{skip_locked};

-- name: skip_locked
-- Nothing to skip on SQLite: it has one writer at a time.

-- name: skip_locked@postgresql
-- Replicas claim side by side without waiting on each other's candidates.
FOR UPDATE OF e SKIP LOCKED;

-- name: take_conversation_lease
-- Succeeds (returns a row) only if no one else holds a live lease on the conversation.
INSERT INTO conversation_leases (conversation_key, lease_owner, lease_expires_at)
VALUES (:conversation_key, :owner, :expires_at)
ON CONFLICT (conversation_key) DO UPDATE
SET lease_owner = excluded.lease_owner, lease_expires_at = excluded.lease_expires_at
WHERE conversation_leases.lease_expires_at <= :now
RETURNING conversation_key;

-- name: claim_event
UPDATE inbox_events
SET state = 'running', attempts = attempts + 1, started_at = :now,
    lease_owner = :owner, lease_expires_at = :expires_at
WHERE id = :id AND state = 'pending'
RETURNING id, source, dedupe_key, kind, conversation_key, payload, state, attempts,
          received_at, run_after, last_error;

-- name: extend_event_lease
-- One event still in hand (a claim whose outcome could not be written is not, and must lapse).
-- No row back means the lease was lost: another worker may be running the event now. The
-- attempt number is the claim's fencing token: a worker that took its own lapsed event again
-- holds it under the new attempt only, so the earlier run can neither extend nor finish it.
UPDATE inbox_events SET lease_expires_at = :expires_at
WHERE id = :id AND lease_owner = :owner AND attempts = :attempt AND state = 'running'
RETURNING id;

-- name: extend_conversation_lease
UPDATE conversation_leases SET lease_expires_at = :expires_at
WHERE lease_owner = :owner AND conversation_key = :conversation_key;

-- name: release_conversation
DELETE FROM conversation_leases WHERE conversation_key = :conversation_key AND lease_owner = :owner;

-- name: finish_done
UPDATE inbox_events
SET state = 'done', finished_at = :now, lease_owner = NULL, lease_expires_at = NULL, last_error = NULL
WHERE id = :id AND state = 'running' AND lease_owner = :owner AND attempts = :attempt;

-- name: finish_retry
UPDATE inbox_events
SET state = 'pending', run_after = :run_after, last_error = :error,
    lease_owner = NULL, lease_expires_at = NULL
WHERE id = :id AND state = 'running' AND lease_owner = :owner AND attempts = :attempt;

-- name: finish_dead
UPDATE inbox_events
SET state = 'dead', finished_at = :now, last_error = :error, blocks_conversation = :blocks,
    lease_owner = NULL, lease_expires_at = NULL
WHERE id = :id AND state = 'running' AND lease_owner = :owner AND attempts = :attempt;

-- name: record_attempt
INSERT INTO inbox_attempts (event_id, attempt, worker, started_at, finished_at, outcome, error)
VALUES (:event_id, :attempt, :worker, :started_at, :now, :outcome, :error);

-- name: record_released_attempts
INSERT INTO inbox_attempts (event_id, attempt, worker, started_at, finished_at, outcome, error)
SELECT id, attempts, lease_owner, COALESCE(started_at, :now), :now, 'released', NULL
FROM inbox_events WHERE lease_owner = :owner AND state = 'running';

-- name: release_owned_events
-- Graceful shutdown: hand unfinished claims back at once, and give the attempt back too,
-- since nothing failed.
UPDATE inbox_events
SET state = 'pending', attempts = attempts - 1, lease_owner = NULL, lease_expires_at = NULL
WHERE lease_owner = :owner AND state = 'running';

-- name: release_owned_conversations
DELETE FROM conversation_leases WHERE lease_owner = :owner;

-- name: list_events
SELECT id, source, dedupe_key, kind, conversation_key, state, attempts, received_at, run_after,
       finished_at, last_error, blocks_conversation
FROM inbox_events
WHERE (CAST(:state AS TEXT) IS NULL OR state = :state)
  AND (CAST(:conversation_key AS TEXT) IS NULL OR conversation_key = :conversation_key)
ORDER BY id
LIMIT :limit;

-- name: get_event
SELECT id, source, dedupe_key, kind, conversation_key, payload, state, attempts, received_at,
       run_after, started_at, finished_at, lease_owner, lease_expires_at, last_error,
       blocks_conversation
FROM inbox_events WHERE id = :id;

-- name: list_attempts
SELECT attempt, worker, started_at, finished_at, outcome, error
FROM inbox_attempts WHERE event_id = :id ORDER BY id;

-- name: retry_dead_event
-- An operator's retry: a fresh budget of attempts, ready now.
UPDATE inbox_events
SET state = 'pending', attempts = 0, run_after = :now, finished_at = NULL, blocks_conversation = 0
WHERE id = :id AND state = 'dead'
RETURNING id;

-- name: retry_all_dead
UPDATE inbox_events
SET state = 'pending', attempts = 0, run_after = :now, finished_at = NULL, blocks_conversation = 0
WHERE state = 'dead'
RETURNING id;

-- name: drop_event
-- Dropping keeps the row (so the dedupe key still swallows redeliveries) but marks it done.
-- A running event is not dropped: its worker would finish it anyway; wait, or let its lease end.
UPDATE inbox_events
SET state = 'done', finished_at = :now, blocks_conversation = 0,
    last_error = COALESCE(last_error, '') || ' [dropped by operator]'
WHERE id = :id AND state IN ('pending', 'dead')
RETURNING id;

-- name: prune_done
-- Forget finished events older than the retention window, a chunk at a time so no transaction
-- grows large. Dead and unfinished events are never pruned: they await an operator or a worker.
DELETE FROM inbox_events
WHERE id IN (
    SELECT id FROM inbox_events
    WHERE state = 'done' AND finished_at < :cutoff
    ORDER BY id
    LIMIT :limit);

-- name: count_by_state
SELECT state, COUNT(*) AS n FROM inbox_events GROUP BY state;

-- name: oldest_pending
SELECT MIN(received_at) AS oldest FROM inbox_events WHERE state IN ('pending', 'running');

-- name: create_schema_migrations
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    applied_at  DOUBLE PRECISION NOT NULL
);

-- name: lock_migrations
SELECT NULL;

-- name: lock_migrations@postgresql
-- Replicas starting together take turns; any constant works if every replica uses it.
SELECT pg_advisory_xact_lock(7317000001);

-- name: schema_migrations_exists
SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations';

-- name: schema_migrations_exists@postgresql
SELECT COUNT(*) AS n FROM information_schema.tables
WHERE table_schema = current_schema() AND table_name = 'schema_migrations';

-- name: applied_migrations
SELECT version FROM schema_migrations ORDER BY version;

-- name: record_migration
INSERT INTO schema_migrations (version, name, applied_at) VALUES (:version, :name, :now);
