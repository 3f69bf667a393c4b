-- The siblings of conversationAggregates read their rows by a time range: workitems by start
-- time (workitems_start), flow metric records by metric date (flow_metrics_date), and these two
-- by theirs, which had no index leading with the time.
create index agent_states_start on agent_states (start_time);
create index campaign_records_created on campaign_records (created_at);
