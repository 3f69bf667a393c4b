-- Live queue observations (`queueObservations`) read what is happening now: the open segments
-- of conversations in progress, and the queue segments not yet dequeued. Both are a sliver of
-- their tables, so partial indexes keep the read independent of history.
create index segments_open_by_queue on segments (queue_id)
    where segment_end is null and queue_id is not null;
create index queue_segments_waiting on queue_segments (queue_id)
    where dequeued_at is null;

-- A live subscription that missed events (its listener lost the connection) catches up with the
-- conversations changed since the last event it heard.
create index conversation_imports_changed on conversation_imports (last_changed_at);
