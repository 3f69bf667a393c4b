-- Metric facts added up per 15 minutes and per the dimensions a wallboard groups by: what
-- `conversationAggregates` reads when the question allows (see db/src/aggregate.rs), a few times
-- fewer rows than the facts.
--
-- Kept exact without making writers wait for each other: a writer only appends the 15-minute
-- buckets it touched (added or removed facts) to `metric_rollup_queue`. A reader about to use the
-- rollup first recomputes, from the facts, the queued buckets of its interval, under one advisory
-- lock so that two readers never recompute the same bucket at once. A bucket queued by a writer
-- that has not committed yet stays queued, and the next reader recomputes it again.
create table metric_rollup (
    bucket timestamptz not null,
    name text not null,
    queue_id text,
    media_type text,
    direction text,
    purpose text,
    originating_direction text,
    division_ids text[] not null,
    business_unit_id text,
    n bigint not null,
    total bigint,
    low bigint,
    high bigint
);

create index metric_rollup_bucket_idx on metric_rollup (bucket, name);

create table metric_rollup_queue (
    bucket timestamptz not null
);

create index metric_rollup_queue_bucket_idx on metric_rollup_queue (bucket);

-- Everything stored so far is to be added up.
insert into metric_rollup_queue
select distinct date_bin('15 minutes', emit_date, timestamptz '1970-01-01 00:00:00Z')
from metric_facts;
