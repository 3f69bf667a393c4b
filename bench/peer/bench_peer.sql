-- The peer's computed columns (PostGraphile v5 makes a stable function whose first argument is
-- a table's row a field of that table's type, named after what follows `<table>_`): what
-- convgraph serves without a column of its own. In a schema of their own, so that the
-- benchmark's data stays as the generator made it.
create schema if not exists bench_peer;

-- Conversation.divisions: the divisions of `division_ids`, in list order; an id without a row
-- still gives a division with only its id, as convgraph does.
create or replace function bench_peer.conversations_divisions(c public.conversations)
returns setof public.divisions language sql stable as $$
  select u.k, d.name, d.self_uri, coalesce(d.extra, '{}'::jsonb)
  from unnest(c.division_ids) with ordinality u(k, o)
  left join public.divisions d on d.division_id = u.k
  order by u.o
$$;

-- Conversation.durationMs and Segment.durationMs: from start to end in milliseconds.
create or replace function bench_peer.conversations_duration_ms(c public.conversations)
returns bigint language sql stable as $$
  select trunc(extract(epoch from (c.conversation_end - c.conversation_start)) * 1000)::bigint
$$;

create or replace function bench_peer.segments_duration_ms(s public.segments)
returns bigint language sql stable as $$
  select trunc(extract(epoch from (s.segment_end - s.segment_start)) * 1000)::bigint
$$;
