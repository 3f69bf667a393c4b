-- The partner write path (mutations, POST /ingest, and `convgraph import`, which shares it).

-- How recent the stored version of each conversation is: its latest event time (see
-- `ConversationGraph::as_of`). A document older than this is stale and never replaces it.
alter table conversation_imports add column as_of timestamptz;

-- backfill: the same times `ConversationGraph::as_of` takes, for conversations stored before.
update conversation_imports ci set as_of = t.as_of
from (
    select c.conversation_id,
           greatest(c.conversation_start, c.conversation_end,
                    (select max(greatest(p.start_time, p.end_time, p.connected_time,
                                         p.start_acw_time, p.end_acw_time))
                     from participants p where p.conversation_id = c.conversation_id),
                    (select max(greatest(s.connected_time, s.disconnected_time,
                                         s.start_alerting_time, s.start_hold_time))
                     from sessions s where s.conversation_id = c.conversation_id),
                    (select max(greatest(g.segment_start, g.segment_end))
                     from segments g where g.conversation_id = c.conversation_id),
                    (select max(m.emit_date)
                     from session_metrics m where m.conversation_id = c.conversation_id),
                    (select max(greatest(o.flow_outcome_start_timestamp, o.flow_outcome_end_timestamp))
                     from flow_outcomes o where o.conversation_id = c.conversation_id)) as as_of
    from conversations c
) t
where t.conversation_id = ci.conversation_id;

-- Requests sent with an idempotency key, per token subject: a retry with the same key and the
-- same content answers what the first answered, without writing again.
create table ingest_requests (
    subject text not null,
    idempotency_key text not null,
    -- Which door: 'graphql' or 'bulk'.
    kind text not null,
    request_digest text not null,
    response jsonb not null,
    created_at timestamptz not null default now(),
    primary key (subject, idempotency_key)
);
