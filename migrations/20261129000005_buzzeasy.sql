-- The Buzzeasy OData feed (seeds/buzzeasy-odata.txt): its conversations join the conversation
-- table; every other table of the feed gets its own. Rows arrive table by table, in any order,
-- so rows that point at others (a queue segment at its conversation, a workitem at its agent)
-- carry the ids without foreign keys. Local times are kept as sent (`*_local`, the tenant's
-- wall clock) beside the UTC value, which is the truth.

-- Buzzeasy conversations (Calls, Chats, Emails, Conversations).
alter table conversations
    add column media_type text,
    add column channel_id text,
    add column channel_type text,
    add column channel_phone_number text,
    add column conversation_ended_reason text,
    add column customer_id text,
    add column customer_first_name text,
    add column customer_last_name text,
    add column customer_phone_number text,
    add column customer_email_address text,
    add column customer_joined_at timestamptz,
    add column customer_joined_at_local timestamp,
    add column customer_ring_duration double precision,
    add column started_at_local timestamp,
    add column ended_at_local timestamp,
    add column duration_in_seconds double precision,
    add column hold_count bigint,
    add column hold_duration_in_seconds double precision,
    add column is_channel_closed double precision,
    add column is_channel_open double precision,
    add column in_channel_closed_duration_in_seconds double precision,
    add column in_channel_open_duration_in_seconds double precision,
    add column is_consult boolean,
    add column is_outbound boolean,
    add column next_conversation_id text,
    add column opening_check_result text,
    add column transfer_initiated_by text,
    add column transfer_to_external_destination_phone_number text,
    add column average_agent_answer_speed_in_seconds double precision,
    add column average_bot_answer_speed_in_seconds double precision,
    add column average_customer_answer_speed_in_seconds double precision,
    add column first_customer_answer_speed_in_seconds double precision,
    add column first_reply_time_in_seconds double precision,
    add column subject text,
    add column thread_id text;

create index conversations_business_unit on conversations (business_unit_id) where business_unit_id is not null;

-- Lookups.
create table business_units (
    business_unit_id text primary key,
    name text,
    deleted_at timestamptz,
    extra jsonb not null default '{}'
);

create table agents (
    agent_id text primary key,
    name text,
    custom_id text,
    deleted_at timestamptz,
    extra jsonb not null default '{}'
);

create table users (
    user_id text primary key,
    name text,
    custom_id text,
    email_address text,
    user_type text,
    deleted_at timestamptz,
    extra jsonb not null default '{}'
);

create table channels (
    channel_id text primary key,
    business_unit_id text,
    name text,
    channel_type text,
    deleted_at timestamptz,
    extra jsonb not null default '{}'
);
create index channels_business_unit on channels (business_unit_id);

create table queues (
    queue_id text primary key,
    name text,
    channel_id text,
    routing_mode text,
    deleted_at timestamptz,
    extra jsonb not null default '{}'
);
create index queues_channel on queues (channel_id);

create table bot_steps (
    bot_step_id text primary key,
    name text,
    bot_type text,
    media_group text,
    deleted_at timestamptz,
    extra jsonb not null default '{}'
);

create table campaigns (
    campaign_id text primary key,
    name text,
    campaign_type text,
    business_unit_id text,
    deleted_at timestamptz,
    extra jsonb not null default '{}'
);

-- Agents over time.
create table agent_states (
    agent_state_id text primary key,
    agent_id text,
    state text,
    break_name text,
    duration_in_seconds double precision,
    is_login boolean,
    is_logout boolean,
    logout_reason text,
    start_time timestamptz,
    start_time_local timestamp,
    extra jsonb not null default '{}'
);
create index agent_states_agent_time on agent_states (agent_id, start_time);

create table agent_business_unit_changes (
    agent_id text not null,
    business_unit_id text not null,
    timestamp timestamptz not null,
    assigned boolean,
    tenant_id text,
    extra jsonb not null default '{}',
    primary key (agent_id, business_unit_id, timestamp)
);
create index agent_business_unit_changes_unit on agent_business_unit_changes (business_unit_id);

-- Around conversations (keyed by conversation, see DESIGN §3.3).
create table bot_segments (
    conversation_id text not null,
    bot_segment_id text not null,
    bot_step_id text,
    channel_id text,
    bot_finished_info text,
    bot_finished_result text,
    bot_info text,
    result text,
    started_at timestamptz,
    started_at_local timestamp,
    ended_at timestamptz,
    ended_at_local timestamp,
    duration_in_seconds double precision,
    extra jsonb not null default '{}',
    primary key (conversation_id, bot_segment_id)
);

create table queue_segments (
    conversation_id text not null,
    queue_segment_id text not null,
    queue_id text,
    channel_id text,
    queued_at timestamptz,
    queued_at_local timestamp,
    dequeued_at timestamptz,
    dequeued_at_local timestamp,
    duration_in_seconds double precision,
    dequeued_reason text,
    extra jsonb not null default '{}',
    primary key (conversation_id, queue_segment_id)
);
create index queue_segments_queue_time on queue_segments (queue_id, queued_at);

create table rejected_enqueue_attempts (
    conversation_id text not null,
    attempt_id text not null,
    queue_id text,
    channel_id text,
    rejected_at timestamptz,
    rejected_at_local timestamp,
    reject_reason text,
    extra jsonb not null default '{}',
    primary key (conversation_id, attempt_id)
);

create table captured_data (
    conversation_id text not null,
    name text not null,
    captured_at timestamptz not null,
    value text,
    extra jsonb not null default '{}',
    primary key (conversation_id, name, captured_at)
);

-- Agent tasks.
create table workitems (
    workitem_id text primary key,
    agent_id text,
    business_unit_id text,
    queue_id text,
    primary_conversation_id text,
    primary_channel_id text,
    media_type text,
    result text,
    completion_code text,
    customer_id text,
    agent_phone_number text,
    notes text,
    script_id text,
    start_time timestamptz,
    start_time_local timestamp,
    end_time timestamptz,
    end_time_local timestamp,
    duration_in_seconds double precision,
    active_duration_in_seconds double precision,
    preview_duration double precision,
    wrap_up_duration double precision,
    lookup_duration double precision,
    extra jsonb not null default '{}'
);
create index workitems_start on workitems (start_time, workitem_id);
create index workitems_agent_start on workitems (agent_id, start_time);
create index workitems_primary_conversation on workitems (primary_conversation_id);
create index workitems_business_unit on workitems (business_unit_id);

create table workitem_conversation_sessions (
    workitem_id text not null,
    session_id text not null,
    conversation_id text,
    ended_reason text,
    hold_count bigint,
    last_hold_duration double precision,
    total_hold_duration double precision,
    extra jsonb not null default '{}',
    primary key (workitem_id, session_id)
);
create index workitem_conversation_sessions_conversation on workitem_conversation_sessions (conversation_id);

create table collected_data (
    workitem_id text not null,
    name text not null,
    created_at timestamptz not null,
    value text,
    extra jsonb not null default '{}',
    primary key (workitem_id, name, created_at)
);

create table workitem_evaluations (
    workitem_id text not null,
    evaluation_id text not null,
    created_by text,
    script_id text,
    started_at timestamptz,
    started_at_local timestamp,
    ended_at timestamptz,
    ended_at_local timestamp,
    extra jsonb not null default '{}',
    primary key (workitem_id, evaluation_id)
);

create table workitem_evaluation_data (
    workitem_id text not null,
    entry_id text not null,
    evaluation_id text,
    name text,
    value text,
    script_id text,
    created_by text,
    created_at timestamptz,
    created_at_local timestamp,
    extra jsonb not null default '{}',
    primary key (workitem_id, entry_id)
);

-- Campaigns.
create table campaign_records (
    record_id text primary key,
    campaign_id text,
    status text,
    customer_first_name text,
    customer_last_name text,
    customer_phone text,
    created_at timestamptz,
    created_at_local timestamp,
    closed_at timestamptz,
    closed_at_local timestamp,
    new_status_duration double precision,
    queued_status_duration double precision,
    rescheduled_status_duration double precision,
    total_customer_ring_time_in_seconds double precision,
    total_talk_time_in_seconds double precision,
    extra jsonb not null default '{}'
);
create index campaign_records_campaign on campaign_records (campaign_id, record_id);

create table campaign_record_custom_fields (
    record_id text not null,
    name text not null,
    value text,
    extra jsonb not null default '{}',
    primary key (record_id, name)
);

create table campaign_record_phone_numbers (
    record_id text not null,
    phone_number text not null,
    extra jsonb not null default '{}',
    primary key (record_id, phone_number)
);

create table campaign_record_registrations (
    record_id text primary key,
    campaign_id text,
    customer_first_name text,
    customer_last_name text,
    primary_phone_number text,
    extra jsonb not null default '{}'
);
