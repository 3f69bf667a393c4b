-- The conversation graph: conversations -> participants -> sessions -> segments, with session
-- metrics, IVR flows and their outcomes, proposed agents, media endpoint stats, agent groups,
-- scored agents and segment properties; and per conversation evaluations, surveys, resolutions,
-- recent transfers and division entities.
--
-- Choices made here:
-- * Source ids are kept as given (text): a partner looks a conversation up by the id it knows.
-- * Every graph table carries conversation_id first in its primary key. Batched child loads
--   (`conversation_id = any($1)`) use that index, and the graph can be distributed by
--   conversation_id (Citus) with every join co-located.
-- * Column names are the snake_case of the Genesys field names, one column per source field;
--   `extra` (jsonb) keeps whatever a document sends that has no column, so nothing is dropped.
-- * Enumerations (purpose, mediaType, segmentType, disconnectType, …) are text: the platforms
--   add values every few months and a new value must import, never fail.
-- * Children reference their parent with `on delete cascade`: replacing a conversation is one
--   delete of its root row and a fresh insert, inside one transaction.

-- The root of the graph: one row per conversation, from any source.
create table conversations (
    conversation_id text not null,
    source text not null,
    conversation_start timestamptz,
    conversation_end timestamptz,
    division_ids text[] not null default '{}',
    business_unit_id text,
    access_attributes text[],
    associated_conversation_id text,
    conference_start timestamptz,
    consultation_conversation_ids text[],
    conversation_initiator text,
    customer_participation boolean,
    external_tag text,
    inactivity_timeout timestamptz,
    knowledge_base_ids text[],
    media_stats_min_conversation_mos double precision,
    media_stats_min_conversation_r_factor double precision,
    originating_direction text,
    originating_social_media_public boolean,
    self_served boolean,
    name text,
    address text,
    conversation_ids text[],
    max_participants bigint,
    recording_state text,
    state text,
    secure_pause boolean,
    utilization_label_id text,
    self_uri text,
    pcid text,
    user_id text,
    extra jsonb not null default '{}',
    primary key (conversation_id)
);

-- Genesys divisions: the unit of scope. Names arrive with platform documents or the lookup feed.
create table divisions (
    division_id text not null,
    name text,
    self_uri text,
    extra jsonb not null default '{}',
    primary key (division_id)
);

create table participants (
    conversation_id text not null,
    participant_id text not null,
    ordinal integer not null,
    participant_name text,
    attributes jsonb,
    purpose text,
    user_id text,
    external_contact_id text,
    external_organization_id text,
    flagged_reason text,
    screen_recording boolean,
    team_id text,
    start_time timestamptz,
    end_time timestamptz,
    connected_time timestamptz,
    user_uri text,
    external_contact_initial_division_id text,
    queue_id text,
    group_id text,
    queue_name text,
    participant_type text,
    consult_participant_id text,
    address text,
    ani text,
    ani_name text,
    dnis text,
    locale text,
    wrapup_required boolean,
    wrapup_prompt text,
    wrapup_timeout_ms bigint,
    wrapup_skipped boolean,
    wrapup jsonb,
    media_roles text[],
    conversation_routing_data jsonb,
    alerting_timeout_ms bigint,
    monitored_participant_id text,
    coached_participant_id text,
    barged_participant_id text,
    screen_recording_state text,
    start_acw_time timestamptz,
    end_acw_time timestamptz,
    extra jsonb not null default '{}',
    primary key (conversation_id, participant_id),
    foreign key (conversation_id) references conversations (conversation_id) on delete cascade
);

-- Sessions ("communications"): one row per media leg, all media types in one table; media-specific
-- fields are nullable columns, what no column holds is in extra.
create table sessions (
    conversation_id text not null,
    participant_id text not null,
    session_id text not null,
    ordinal integer not null,
    media_type text,
    direction text,
    active_skill_ids text[],
    acw_skipped boolean,
    address_from text,
    address_other text,
    address_self text,
    address_to text,
    agent_assistant_id text,
    agent_bullseye_ring bigint,
    agent_owned boolean,
    ani text,
    assigner_id text,
    authenticated boolean,
    barged_participant_id text,
    bcc text[],
    callback_numbers text[],
    callback_scheduled_time timestamptz,
    callback_user_name text,
    cc text[],
    cleared boolean,
    coached_participant_id text,
    cobrowse_role text,
    cobrowse_room_id text,
    delivery_pushed boolean,
    delivery_status text,
    delivery_status_change_date timestamptz,
    destination_addresses text[],
    detected_speech_end timestamptz,
    detected_speech_start timestamptz,
    disposition_analyzer text,
    disposition_name text,
    dnis text,
    edge_id text,
    eligible_agent_counts bigint[],
    engagement_source text,
    extended_delivery_status text,
    flow_in_type text,
    flow_out_type text,
    journey_action_id text,
    journey_action_map_id text,
    journey_action_map_version bigint,
    journey_customer_id text,
    journey_customer_id_type text,
    journey_customer_session_id text,
    journey_customer_session_id_type text,
    media_bridge_id text,
    media_count bigint,
    message_type text,
    monitored_participant_id text,
    outbound_campaign_id text,
    outbound_contact_id text,
    outbound_contact_list_id text,
    peer_id text,
    protocol_call_id text,
    provider text,
    recording boolean,
    remote text,
    remote_name_displayable text,
    removed_skill_ids text[],
    requested_routings text[],
    room_id text,
    routing_ring bigint,
    routing_rule text,
    routing_rule_type text,
    screen_monitored_user_id text,
    screen_share_address_self text,
    screen_share_room_id text,
    script_id text,
    selected_agent_id text,
    selected_agent_rank bigint,
    session_dnis text,
    sharing_screen boolean,
    skill_expression_id text,
    skip_enabled boolean,
    snippet_recording boolean,
    timeout_seconds bigint,
    used_routing text,
    video_address_self text,
    video_room_id text,
    waiting_interaction_counts bigint[],
    state text,
    initial_state text,
    disconnect_type text,
    connected_time timestamptz,
    disconnected_time timestamptz,
    start_alerting_time timestamptz,
    start_hold_time timestamptz,
    held boolean,
    muted boolean,
    confined boolean,
    recording_state text,
    recording_id text,
    secure_pause boolean,
    document_id text,
    uui_data text,
    after_call_work_required boolean,
    transfer_source text,
    external_campaign boolean,
    automated_callback_config_id text,
    caller_id text,
    caller_id_name text,
    avatar_image_url text,
    cobrowse_session_id text,
    viewer_url text,
    provider_event_time timestamptz,
    subject text,
    messages_sent bigint,
    auto_generated boolean,
    message_id text,
    spam boolean,
    park_time timestamptz,
    resume_time timestamptz,
    recipient_country text,
    recipient_type text,
    byo_sms_integration_id text,
    target_user_id text,
    source_user_id text,
    monitoring_type text,
    monitoring_count bigint,
    context text,
    sharing boolean,
    peer_count bigint,
    audio_muted boolean,
    video_muted boolean,
    social_media_id text,
    social_media_hub text,
    social_user_name text,
    preview_text text,
    wrapup jsonb,
    after_call_work jsonb,
    extra jsonb not null default '{}',
    primary key (conversation_id, participant_id, session_id),
    foreign key (conversation_id, participant_id) references participants (conversation_id, participant_id) on delete cascade
);

create table segments (
    conversation_id text not null,
    participant_id text not null,
    session_id text not null,
    segment_index integer not null,
    segment_type text,
    segment_start timestamptz,
    segment_end timestamptz,
    queue_id text,
    wrap_up_code text,
    wrap_up_note text,
    wrap_up_tags text[],
    disconnect_type text,
    audio_muted boolean,
    video_muted boolean,
    conference boolean,
    destination_conversation_id text,
    destination_session_id text,
    source_conversation_id text,
    source_session_id text,
    error_code text,
    group_id text,
    q850_response_codes bigint[],
    sip_response_codes bigint[],
    requested_language_id text,
    requested_routing_skill_ids text[],
    requested_routing_user_ids text[],
    subject text,
    how_ended text,
    extra jsonb not null default '{}',
    primary key (conversation_id, participant_id, session_id, segment_index),
    foreign key (conversation_id, participant_id, session_id) references sessions (conversation_id, participant_id, session_id) on delete cascade
);

create table session_metrics (
    conversation_id text not null,
    participant_id text not null,
    session_id text not null,
    metric_index integer not null,
    name text,
    value bigint,
    emit_date timestamptz,
    extra jsonb not null default '{}',
    primary key (conversation_id, participant_id, session_id, metric_index),
    foreign key (conversation_id, participant_id, session_id) references sessions (conversation_id, participant_id, session_id) on delete cascade
);

create table flows (
    conversation_id text not null,
    participant_id text not null,
    session_id text not null,
    flow_id text,
    flow_name text,
    flow_type text,
    flow_version text,
    entry_reason text,
    entry_type text,
    exit_reason text,
    ending_language text,
    starting_language text,
    issued_callback boolean,
    recognition_failure_reason text,
    transfer_target_address text,
    transfer_target_name text,
    transfer_type text,
    extra jsonb not null default '{}',
    primary key (conversation_id, participant_id, session_id),
    foreign key (conversation_id, participant_id, session_id) references sessions (conversation_id, participant_id, session_id) on delete cascade
);

create table flow_outcomes (
    conversation_id text not null,
    participant_id text not null,
    session_id text not null,
    outcome_index integer not null,
    flow_outcome text,
    flow_outcome_id text,
    flow_outcome_value text,
    flow_outcome_start_timestamp timestamptz,
    flow_outcome_end_timestamp timestamptz,
    extra jsonb not null default '{}',
    primary key (conversation_id, participant_id, session_id, outcome_index),
    foreign key (conversation_id, participant_id, session_id) references flows (conversation_id, participant_id, session_id) on delete cascade
);

create table proposed_agents (
    conversation_id text not null,
    participant_id text not null,
    session_id text not null,
    proposed_index integer not null,
    proposed_agent_id text,
    agent_rank bigint,
    extra jsonb not null default '{}',
    primary key (conversation_id, participant_id, session_id, proposed_index),
    foreign key (conversation_id, participant_id, session_id) references sessions (conversation_id, participant_id, session_id) on delete cascade
);

create table media_endpoint_stats (
    conversation_id text not null,
    participant_id text not null,
    session_id text not null,
    stat_index integer not null,
    codecs text[],
    event_time timestamptz,
    min_mos double precision,
    min_r_factor double precision,
    max_latency_ms bigint,
    received_packets bigint,
    discarded_packets bigint,
    duplicate_packets bigint,
    invalid_packets bigint,
    overrun_packets bigint,
    underrun_packets bigint,
    extra jsonb not null default '{}',
    primary key (conversation_id, participant_id, session_id, stat_index),
    foreign key (conversation_id, participant_id, session_id) references sessions (conversation_id, participant_id, session_id) on delete cascade
);

create table agent_groups (
    conversation_id text not null,
    participant_id text not null,
    session_id text not null,
    group_index integer not null,
    agent_group_id text,
    agent_group_type text,
    extra jsonb not null default '{}',
    primary key (conversation_id, participant_id, session_id, group_index),
    foreign key (conversation_id, participant_id, session_id) references sessions (conversation_id, participant_id, session_id) on delete cascade
);

create table scored_agents (
    conversation_id text not null,
    participant_id text not null,
    session_id text not null,
    segment_index integer not null,
    scored_index integer not null,
    scored_agent_id text,
    agent_score bigint,
    extra jsonb not null default '{}',
    primary key (conversation_id, participant_id, session_id, segment_index, scored_index),
    foreign key (conversation_id, participant_id, session_id, segment_index) references segments (conversation_id, participant_id, session_id, segment_index) on delete cascade
);

create table segment_properties (
    conversation_id text not null,
    participant_id text not null,
    session_id text not null,
    segment_index integer not null,
    property_index integer not null,
    property text,
    property_type text,
    value text,
    extra jsonb not null default '{}',
    primary key (conversation_id, participant_id, session_id, segment_index, property_index),
    foreign key (conversation_id, participant_id, session_id, segment_index) references segments (conversation_id, participant_id, session_id, segment_index) on delete cascade
);

create table evaluations (
    conversation_id text not null,
    evaluation_id text not null,
    participant_id text,
    evaluation_status text,
    status text,
    name text,
    form_id text,
    form_name text,
    evaluator_id text,
    user_id text,
    queue_id text,
    assignee_id text,
    assignee_applicable boolean,
    calibration_id text,
    context_id text,
    deleted boolean,
    event_time timestamptz,
    released boolean,
    rescored boolean,
    system_submitted boolean,
    o_total_critical_score bigint,
    o_total_score bigint,
    agent_has_read boolean,
    release_date timestamptz,
    assigned_date timestamptz,
    created_date timestamptz,
    changed_date timestamptz,
    submitted_date timestamptz,
    revision_created_date timestamptz,
    rescore boolean,
    conversation_date timestamptz,
    conversation_end_date timestamptz,
    never_release boolean,
    assigned boolean,
    date_assignee_changed timestamptz,
    resource_id text,
    resource_type text,
    redacted boolean,
    is_scoring_index boolean,
    has_assistance_failed boolean,
    media_types text[],
    division_ids text[],
    authorized_actions text[],
    self_uri text,
    extra jsonb not null default '{}',
    primary key (conversation_id, evaluation_id),
    foreign key (conversation_id) references conversations (conversation_id) on delete cascade
);

create table surveys (
    conversation_id text not null,
    survey_index integer not null,
    survey_id text,
    survey_form_id text,
    survey_form_name text,
    survey_form_context_id text,
    survey_status text,
    survey_type text,
    survey_completed_date timestamptz,
    survey_partial_response boolean,
    survey_promoter_score bigint,
    o_survey_total_score bigint,
    event_time timestamptz,
    queue_id text,
    user_id text,
    extra jsonb not null default '{}',
    primary key (conversation_id, survey_index),
    foreign key (conversation_id) references conversations (conversation_id) on delete cascade
);

create table resolutions (
    conversation_id text not null,
    resolution_index integer not null,
    event_time timestamptz,
    queue_id text,
    user_id text,
    n_next_contact_avoided bigint,
    extra jsonb not null default '{}',
    primary key (conversation_id, resolution_index),
    foreign key (conversation_id) references conversations (conversation_id) on delete cascade
);

-- Recent transfers (platform recentTransfers).
create table transfers (
    conversation_id text not null,
    transfer_id text not null,
    state text,
    transfer_type text,
    date_issued timestamptz,
    initiator jsonb,
    modified_by jsonb,
    destination jsonb,
    extra jsonb not null default '{}',
    primary key (conversation_id, transfer_id),
    foreign key (conversation_id) references conversations (conversation_id) on delete cascade
);

-- The entities on a conversation by division (platform divisions[].entities).
create table division_entities (
    conversation_id text not null,
    division_id text not null,
    entity_index integer not null,
    entity_id text,
    name text,
    self_uri text,
    date_division_updated timestamptz,
    extra jsonb not null default '{}',
    primary key (conversation_id, division_id, entity_index),
    foreign key (conversation_id) references conversations (conversation_id) on delete cascade
);

-- Import bookkeeping, apart from the source data: the digest of what was stored decides
-- "unchanged" versus "replaced" on a re-import.
create table conversation_imports (
    conversation_id text primary key references conversations (conversation_id) on delete cascade,
    content_digest text not null,
    first_imported_at timestamptz not null default now(),
    last_changed_at timestamptz not null default now()
);

-- Dashboard access paths.
-- Time range, newest first, with the id as tie-breaker for keyset pagination.
create index conversations_start_idx on conversations (conversation_start, conversation_id);
create index conversations_end_idx on conversations (conversation_end, conversation_id);
-- Scope: "one of its divisions is in scope" and "its business unit is in scope".
create index conversations_division_ids_idx on conversations using gin (division_ids);
create index conversations_business_unit_idx on conversations (business_unit_id, conversation_start)
    where business_unit_id is not null;
-- Queue and agent views.
create index segments_queue_idx on segments (queue_id, segment_start) where queue_id is not null;
create index participants_user_idx on participants (user_id) where user_id is not null;
create index evaluations_user_idx on evaluations (user_id) where user_id is not null;
