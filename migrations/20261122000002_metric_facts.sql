-- Session metrics with the dimensions dashboards group and filter them by, one row per stored
-- session metric: what `conversationAggregates` reads. Derived, never written by hand: the
-- writer inserts the facts of the conversations it stores with their rows, in the same
-- transaction, and a replaced conversation's facts go with it (cascade).
create table metric_facts (
    conversation_id text not null references conversations on delete cascade,
    participant_id text not null,
    session_id text not null,
    metric_index integer not null,
    name text not null,
    value bigint,
    emit_date timestamptz not null,
    -- The session's.
    media_type text,
    direction text,
    requested_routing text,
    used_routing text,
    flow_id text,
    -- The participant's.
    purpose text,
    user_id text,
    -- The segment the session was in when the metric was emitted (the last one that started at or
    -- before it; the first one for a metric emitted before any segment).
    queue_id text,
    -- The session's last wrap-up code and disconnect type.
    wrap_up_code text,
    disconnect_type text,
    -- The conversation's.
    originating_direction text,
    division_ids text[] not null,
    business_unit_id text,
    primary key (conversation_id, participant_id, session_id, metric_index)
);

-- An interval of a day holds about 1/30 of a month's facts; the index carries what a query by
-- metric and queue needs, so that the common aggregate reads the index only.
create index metric_facts_time_idx on metric_facts (emit_date, name)
    include (queue_id, media_type, value, division_ids, business_unit_id);

-- Facts of the conversations stored before this migration. From here on the writer derives the
-- facts of each conversation it stores (domain::facts::metric_facts) and inserts them with its
-- rows; this statement derives the same in SQL, once (tests/aggregates.rs checks that the two
-- agree). backfill:
insert into metric_facts
select m.conversation_id, m.participant_id, m.session_id, m.metric_index,
       m.name, m.value, m.emit_date,
       s.media_type, s.direction, s.requested_routings[1], s.used_routing, f.flow_id,
       p.purpose, p.user_id,
       coalesce(at_emit.queue_id, first_queue.queue_id),
       closing.wrap_up_code, closing.disconnect_type,
       c.originating_direction, c.division_ids, c.business_unit_id
from session_metrics m
join sessions s using (conversation_id, participant_id, session_id)
join participants p using (conversation_id, participant_id)
join conversations c using (conversation_id)
left join flows f using (conversation_id, participant_id, session_id)
left join lateral (
    select g.queue_id from segments g
    where (g.conversation_id, g.participant_id, g.session_id)
        = (m.conversation_id, m.participant_id, m.session_id)
      and g.queue_id is not null and g.segment_start <= m.emit_date
    order by g.segment_start desc, g.segment_index desc limit 1
) at_emit on true
left join lateral (
    select g.queue_id from segments g
    where (g.conversation_id, g.participant_id, g.session_id)
        = (m.conversation_id, m.participant_id, m.session_id)
      and g.queue_id is not null
    order by g.segment_start, g.segment_index limit 1
) first_queue on true
left join lateral (
    select (array_agg(g.wrap_up_code order by g.segment_index desc)
                filter (where g.wrap_up_code is not null))[1] as wrap_up_code,
           (array_agg(g.disconnect_type order by g.segment_index desc)
                filter (where g.disconnect_type is not null))[1] as disconnect_type
    from segments g
    where (g.conversation_id, g.participant_id, g.session_id)
        = (m.conversation_id, m.participant_id, m.session_id)
) closing on true
where m.name is not null and m.emit_date is not null;
