//! `convgraph import` of the Buzzeasy OData feed (seeds/buzzeasy-odata.txt) against a real
//! PostgreSQL: every table from an OData JSON page and from a CSV export, read back column by
//! column; the two formats give identical rows; re-imports change nothing and a changed row
//! replaces its old self; the table is told from the page's context, the file's name, its
//! directory's name or `--table`; local-only times convert with the tenant's time zone; bad rows
//! are rejected alone, naming file, row and column, while the rest lands; rows land in any order;
//! deleted lookup rows still resolve.
//!
//! The fixtures are `tests/fixtures/buzzeasy/{odata,csv}`, written by `make_fixtures.py` beside
//! them; the rows expected in the store are spelled out below, column by column.

use chrono_tz::Tz;
use convgraph::import::{ImportOptions, ImportReport, import_paths};
use db::testing::test_database;
use domain::buzzeasy::Table;
use domain::ingest::RejectCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const FIXTURES: &str = "tests/fixtures/buzzeasy";
const CONTEXT: &str = "https://odata.buzzeasy.example/odata/$metadata#";
/// The field no row type declares, in every fixture row: it must land in `extra`.
const BATCH: &str = "2026-11-30#7";
/// The tenant's time zone, for the local-only times of the feed.
const TENANT: Tz = chrono_tz::Europe::Budapest;
const NO_UTC_TWIN: &str =
    "a local time without its UTC twin: give the tenant's time zone (--time-zone) to convert it";

/// Every table of the feed with its OData page (`odata/`) and its CSV export (`csv/`).
const TABLES: [(Table, &str, &str); 26] = [
    (
        Table::BusinessUnits,
        "business_units.json",
        "Business Units (lookup).csv",
    ),
    (Table::Agents, "agents.json", "Agents.csv"),
    (Table::Users, "users.json", "Users (lookup).csv"),
    (Table::AgentStates, "agent_states.json", "Agent States.csv"),
    (
        Table::AgentBusinessUnitChanges,
        "agent_business_unit_changes.json",
        "Agent Business Unit Changes.csv",
    ),
    (Table::Channels, "channels.json", "channels.csv"),
    (Table::Queues, "queues.json", "Queues (lookup).csv"),
    (Table::BotSteps, "bot_steps.json", "Bot Steps (lookup).csv"),
    (Table::BotSegments, "bot_segments.json", "bot_segments.csv"),
    (
        Table::QueueSegments,
        "queue_segments.json",
        "Queue Segments.csv",
    ),
    (
        Table::RejectedEnqueueAttempts,
        "rejected_enqueue_attempts.json",
        "Rejected Enqueue Attempts.csv",
    ),
    (
        Table::CapturedData,
        "captured_data.json",
        "Captured Data.csv",
    ),
    (Table::Calls, "calls.json", "Calls.csv"),
    (Table::Chats, "chats.json", "Chats.csv"),
    (Table::Emails, "emails.json", "Emails.csv"),
    (
        Table::Conversations,
        "conversations.json",
        "Conversations.csv",
    ),
    (Table::Workitems, "workitems.json", "Workitem.csv"),
    (
        Table::WorkitemConversationSessions,
        "workitem_conversation_sessions.json",
        "Workitem Conversation Sessions.csv",
    ),
    (
        Table::CollectedData,
        "collected_data.json",
        "Collected Data.csv",
    ),
    (
        Table::WorkitemEvaluations,
        "workitem_evaluations.json",
        "Workitem Evaluations.csv",
    ),
    (
        Table::WorkitemEvaluationData,
        "workitem_evaluation_data.json",
        "Workitem Evaluation Data.csv",
    ),
    (Table::Campaigns, "campaigns.json", "Campaigns (lookup).csv"),
    (
        Table::CampaignRecords,
        "campaign_records.json",
        "Campaign Records.csv",
    ),
    (
        Table::CampaignRecordCustomFields,
        "campaign_record_custom_fields.json",
        "Campaign Record Custom Fields.csv",
    ),
    (
        Table::CampaignRecordPhoneNumbers,
        "campaign_record_additional_phone_numbers.json",
        "Campaign Record Additional Phone number.csv",
    ),
    (
        Table::CampaignRecordRegistrations,
        "campaign_record_registrations.json",
        "Campaign Record Registrations.csv",
    ),
];

/// The columns of `conversations` that only Genesys documents fill.
const GENESYS_ONLY: [&str; 25] = [
    "access_attributes",
    "associated_conversation_id",
    "conference_start",
    "consultation_conversation_ids",
    "conversation_initiator",
    "customer_participation",
    "external_tag",
    "inactivity_timeout",
    "knowledge_base_ids",
    "media_stats_min_conversation_mos",
    "media_stats_min_conversation_r_factor",
    "originating_direction",
    "originating_social_media_public",
    "self_served",
    "name",
    "address",
    "conversation_ids",
    "max_participants",
    "recording_state",
    "state",
    "secure_pause",
    "utilization_label_id",
    "self_uri",
    "pcid",
    "user_id",
];

/// The rows of `table` the fixtures must leave in the store, as `to_jsonb` gives them back
/// (without null columns, UTC times as `+00:00`, local times without a zone), in key order.
fn expected(table: Table) -> Vec<Value> {
    let extra = json!({ "exportBatch": BATCH });
    let rows = match table {
        Table::BusinessUnits => json!([
            {"business_unit_id": "bu-1", "name": "Sales", "extra": extra},
            {"business_unit_id": "bu-2", "name": "Support (old)",
             "deleted_at": "2026-10-01T00:00:00+00:00", "extra": extra},
        ]),
        Table::Agents => json!([
            {"agent_id": "ag-1", "name": "Anna Kovács", "custom_id": "1001", "extra": extra},
            {"agent_id": "ag-2", "name": "Béla Nagy", "custom_id": "E-2002",
             "deleted_at": "2026-11-03T00:00:00+00:00", "extra": extra},
        ]),
        Table::Users => json!([
            {"user_id": "us-1", "custom_id": "1001", "email_address": "anna.kovacs@example.com",
             "name": "Anna Kovács", "user_type": "Agent", "extra": extra},
            {"user_id": "us-2", "custom_id": "S-1", "email_address": "csaba.toth@example.com",
             "name": "Tóth, Csaba", "user_type": "Supervisor", "extra": extra},
            {"user_id": "us-3", "deleted_at": "2026-11-04T00:00:00+00:00",
             "email_address": "old.user@example.com", "name": "Old User", "user_type": "User",
             "extra": extra},
        ]),
        Table::AgentStates => json!([
            {"agent_state_id": "as-1", "agent_id": "ag-1", "duration_in_seconds": 300,
             "is_login": true, "is_logout": false, "start_time": "2026-11-02T07:55:00+00:00",
             "start_time_local": "2026-11-02T08:55:00", "state": "Idle", "extra": extra},
            {"agent_state_id": "as-2", "agent_id": "ag-1", "break_name": "Lunch",
             "duration_in_seconds": 1800.5, "is_login": false, "is_logout": false,
             "start_time": "2026-11-02T11:00:00+00:00", "start_time_local": "2026-11-02T12:00:00",
             "state": "Break", "extra": extra},
            {"agent_state_id": "as-3", "agent_id": "ag-2", "duration_in_seconds": 0,
             "is_login": false, "is_logout": true, "logout_reason": "ForceLogout",
             "start_time": "2026-11-02T16:00:00.25+00:00",
             "start_time_local": "2026-11-02T17:00:00.25", "state": "Logged out", "extra": extra},
        ]),
        Table::AgentBusinessUnitChanges => json!([
            {"agent_id": "ag-1", "business_unit_id": "bu-1",
             "timestamp": "2026-10-15T09:00:00+00:00", "assigned": true, "tenant_id": "tn-1",
             "extra": extra},
            {"agent_id": "ag-2", "business_unit_id": "bu-2",
             "timestamp": "2026-10-31T23:00:00+00:00", "assigned": false, "tenant_id": "tn-1",
             "extra": extra},
        ]),
        Table::Channels => json!([
            {"channel_id": "ch-voice", "business_unit_id": "bu-1", "channel_type": "Voice",
             "name": "Sales hotline", "extra": extra},
            {"channel_id": "ch-chat", "business_unit_id": "bu-1", "channel_type": "Webchat",
             "name": "Web shop chat", "extra": extra},
            {"channel_id": "ch-mail", "business_unit_id": "bu-2", "channel_type": "Email",
             "name": "Support mailbox", "deleted_at": "2026-11-03T00:00:00+00:00", "extra": extra},
        ]),
        Table::Queues => json!([
            {"queue_id": "q-1", "name": "Sales voice", "channel_id": "ch-voice",
             "routing_mode": "Automatic", "extra": extra},
            {"queue_id": "q-2", "name": "Chat overflow", "deleted_at": "2026-11-03T00:00:00+00:00",
             "channel_id": "ch-chat", "routing_mode": "Manual", "extra": extra},
            {"queue_id": "q-3", "name": "Support email", "channel_id": "ch-mail",
             "routing_mode": "Automatic", "extra": extra},
        ]),
        Table::BotSteps => json!([
            {"bot_step_id": "bs-1", "media_group": "Voice", "name": "Main menu",
             "bot_type": "menuSelection", "extra": extra},
            {"bot_step_id": "bs-2", "deleted_at": "2026-11-03T00:00:00+00:00",
             "media_group": "Chat", "name": "FAQ bot", "bot_type": "qna", "extra": extra},
        ]),
        Table::BotSegments => json!([
            {"conversation_id": "call-1", "bot_segment_id": "bseg-1", "bot_step_id": "bs-1",
             "bot_finished_info": "2", "bot_finished_result": "2", "duration_in_seconds": 12,
             "started_at": "2026-11-02T08:00:05+00:00", "started_at_local": "2026-11-02T09:00:05",
             "ended_at": "2026-11-02T08:00:17+00:00", "ended_at_local": "2026-11-02T09:00:17",
             "result": "Success", "channel_id": "ch-voice", "extra": extra},
            {"conversation_id": "chat-1", "bot_segment_id": "bseg-2", "bot_step_id": "bs-2",
             "bot_finished_info": "exitQuestion", "bot_finished_result": "No Answer",
             "bot_info": "qna-config-7", "duration_in_seconds": 40.5,
             "started_at": "2026-11-02T08:30:00+00:00", "started_at_local": "2026-11-02T09:30:00",
             "ended_at": "2026-11-02T08:30:40.5+00:00", "ended_at_local": "2026-11-02T09:30:40.5",
             "result": "CustomerDisconnect", "channel_id": "ch-chat", "extra": extra},
        ]),
        Table::QueueSegments => json!([
            {"conversation_id": "call-1", "queue_segment_id": "qs-1", "channel_id": "ch-voice",
             "queue_id": "q-1", "queued_at_local": "2026-11-02T09:00:17",
             "queued_at": "2026-11-02T08:00:17+00:00", "dequeued_at_local": "2026-11-02T09:01:02",
             "dequeued_at": "2026-11-02T08:01:02+00:00", "duration_in_seconds": 45,
             "dequeued_reason": "AgentConnected", "extra": extra},
            {"conversation_id": "chat-1", "queue_segment_id": "qs-2", "channel_id": "ch-chat",
             "queue_id": "q-2", "queued_at_local": "2026-11-02T09:30:40",
             "queued_at": "2026-11-02T08:30:40+00:00", "dequeued_at_local": "2026-11-02T09:32:40",
             "dequeued_at": "2026-11-02T08:32:40+00:00", "duration_in_seconds": 120,
             "dequeued_reason": "CustomerDisconnected", "extra": extra},
            {"conversation_id": "call-2", "queue_segment_id": "q-1@2026-11-02T08:10:00Z",
             "channel_id": "ch-voice", "queue_id": "q-1", "queued_at_local": "2026-11-02T09:10:00",
             "queued_at": "2026-11-02T08:10:00+00:00", "dequeued_at_local": "2026-11-02T09:10:05",
             "dequeued_at": "2026-11-02T08:10:05+00:00", "duration_in_seconds": 5,
             "dequeued_reason": "QueueTimedOut", "extra": extra},
        ]),
        Table::RejectedEnqueueAttempts => json!([
            {"conversation_id": "call-2", "attempt_id": "rea-1", "channel_id": "ch-voice",
             "queue_id": "q-1", "rejected_at_local": "2026-11-02T09:09:58",
             "rejected_at": "2026-11-02T08:09:58+00:00", "reject_reason": "NoAvailableStaffedAgent",
             "extra": extra},
            {"conversation_id": "chat-2", "attempt_id": "rea-2", "channel_id": "ch-chat",
             "queue_id": "q-2", "rejected_at_local": "2026-11-02T10:00:01",
             "rejected_at": "2026-11-02T09:00:01+00:00", "reject_reason": "QueueSizeLimitReached",
             "extra": extra},
        ]),
        Table::CapturedData => json!([
            {"conversation_id": "call-1", "name": "orderNumber",
             "captured_at": "2026-11-02T08:00:30+00:00", "value": "A-1001", "extra": extra},
            {"conversation_id": "call-1", "name": "orderNumber",
             "captured_at": "2026-11-02T08:02:00+00:00", "value": "A-1002", "extra": extra},
            {"conversation_id": "chat-1", "name": "language",
             "captured_at": "2026-11-02T08:30:10+00:00", "value": "hu", "extra": extra},
        ]),
        Table::Calls => json!([
            {"conversation_id": "call-1", "source": "buzzeasy.calls", "business_unit_id": "bu-1",
             "channel_id": "ch-voice", "channel_phone_number": "+3612000000",
             "channel_type": "Voice", "conversation_ended_reason": "TransferToChannel",
             "customer_first_name": "Dóra", "customer_id": "cu-1",
             "customer_joined_at_local": "2026-11-02T09:00:00",
             "customer_joined_at": "2026-11-02T08:00:00+00:00", "customer_last_name": "Szabó",
             "customer_phone_number": "+36301234567", "customer_ring_duration": 0,
             "duration_in_seconds": 185, "ended_at_local": "2026-11-02T09:03:05",
             "conversation_end": "2026-11-02T08:03:05+00:00", "hold_count": 1,
             "hold_duration_in_seconds": 20.5, "is_channel_closed": 0, "is_channel_open": 185,
             "is_consult": false, "is_outbound": false, "next_conversation_id": "call-2",
             "opening_check_result": "Open", "started_at_local": "2026-11-02T09:00:00",
             "conversation_start": "2026-11-02T08:00:00+00:00", "transfer_initiated_by": "agent",
             "division_ids": [], "media_type": "voice", "extra": extra},
            {"conversation_id": "call-2", "source": "buzzeasy.calls", "business_unit_id": "bu-1",
             "channel_id": "ch-voice", "channel_phone_number": "+3612000001",
             "channel_type": "Voice", "conversation_ended_reason": "TransferToExternal",
             "customer_first_name": "Dóra", "customer_id": "cu-1",
             "customer_joined_at_local": "2026-11-02T09:03:17",
             "customer_joined_at": "2026-11-02T08:03:17+00:00", "customer_last_name": "Szabó",
             "customer_phone_number": "+36301234567", "customer_ring_duration": 12.5,
             "duration_in_seconds": 535, "ended_at_local": "2026-11-02T09:12:00",
             "conversation_end": "2026-11-02T08:12:00+00:00", "hold_count": 0,
             "hold_duration_in_seconds": 0, "is_channel_closed": 35, "is_channel_open": 500,
             "is_consult": true, "is_outbound": true, "opening_check_result": "Closed",
             "started_at_local": "2026-11-02T09:03:05",
             "conversation_start": "2026-11-02T08:03:05+00:00", "transfer_initiated_by": "workflow",
             "transfer_to_external_destination_phone_number": "+3619998877", "division_ids": [],
             "media_type": "voice", "extra": extra},
        ]),
        Table::Chats => json!([
            {"conversation_id": "chat-1", "source": "buzzeasy.chats",
             "average_agent_answer_speed_in_seconds": 14.2,
             "average_bot_answer_speed_in_seconds": 1.1,
             "average_customer_answer_speed_in_seconds": 20, "business_unit_id": "bu-1",
             "channel_id": "ch-chat", "channel_type": "Webchat",
             "conversation_ended_reason": "CustomerDisconnected", "duration_in_seconds": 600,
             "customer_first_name": "Emil", "customer_id": "cu-2", "customer_last_name": "Fehér",
             "is_channel_closed": 0, "is_channel_open": 600, "opening_check_result": "Open",
             "started_at_local": "2026-11-02T09:29:00", "ended_at_local": "2026-11-02T09:39:00",
             "conversation_start": "2026-11-02T08:29:00+00:00",
             "conversation_end": "2026-11-02T08:39:00+00:00", "division_ids": [],
             "media_type": "chat", "extra": extra},
            {"conversation_id": "chat-2", "source": "buzzeasy.chats",
             "average_bot_answer_speed_in_seconds": 0.8, "business_unit_id": "bu-1",
             "channel_id": "ch-chat", "channel_type": "Viber",
             "conversation_ended_reason": "TransferredToQueue", "duration_in_seconds": 61,
             "customer_first_name": "Gábor", "customer_id": "cu-3", "customer_last_name": "Kiss",
             "is_channel_closed": 61, "is_channel_open": 0,
             "first_customer_answer_speed_in_seconds": 33, "opening_check_result": "Holiday",
             "next_conversation_id": "chat-1", "started_at_local": "2026-06-15T10:59:00",
             "ended_at_local": "2026-06-15T11:00:01",
             "conversation_start": "2026-06-15T08:59:00+00:00",
             "conversation_end": "2026-06-15T09:00:01+00:00", "division_ids": [],
             "media_type": "chat", "extra": extra},
        ]),
        Table::Emails => json!([
            {"conversation_id": "mail-1", "source": "buzzeasy.emails", "business_unit_id": "bu-2",
             "channel_id": "ch-mail", "channel_type": "Email",
             "conversation_ended_reason": "TransferToChannel",
             "customer_email_address": "dora.szabo@example.com", "customer_first_name": "Dóra",
             "customer_id": "cu-1", "customer_last_name": "Szabó", "duration_in_seconds": 3600,
             "first_reply_time_in_seconds": 1800, "in_channel_closed_duration_in_seconds": 0,
             "in_channel_open_duration_in_seconds": 3600, "is_outbound": false,
             "next_conversation_id": "mail-2", "subject": "Invoice, question \"#42\"",
             "thread_id": "th-1", "started_at_local": "2026-11-02T10:00:00",
             "ended_at_local": "2026-11-02T11:00:00",
             "conversation_start": "2026-11-02T09:00:00+00:00",
             "conversation_end": "2026-11-02T10:00:00+00:00", "division_ids": [],
             "media_type": "email", "extra": extra},
            {"conversation_id": "mail-2", "source": "buzzeasy.emails", "business_unit_id": "bu-2",
             "channel_id": "ch-mail", "channel_type": "Email",
             "conversation_ended_reason": "Default",
             "customer_email_address": "dora.szabo@example.com", "customer_first_name": "Dóra",
             "customer_id": "cu-1", "customer_last_name": "Szabó", "duration_in_seconds": 7200.5,
             "in_channel_closed_duration_in_seconds": 3600,
             "in_channel_open_duration_in_seconds": 3600.5, "is_outbound": true,
             "subject": "Re: Invoice, question \"#42\"", "thread_id": "th-1",
             "started_at_local": "2026-11-02T11:00:00", "ended_at_local": "2026-11-02T13:00:00.5",
             "conversation_start": "2026-11-02T10:00:00+00:00",
             "conversation_end": "2026-11-02T12:00:00.5+00:00", "division_ids": [],
             "media_type": "email", "extra": extra},
        ]),
        Table::Conversations => json!([
            {"conversation_id": "conv-1", "source": "buzzeasy.conversations", "media_type": "voice",
             "business_unit_id": "bu-1", "channel_id": "ch-voice", "channel_type": "Voice",
             "channel_phone_number": "+3612000000", "conversation_ended_reason": "Abandoned",
             "customer_id": "cu-4", "customer_first_name": "Ilona", "customer_last_name": "Varga",
             "customer_phone_number": "+36201112233",
             "customer_joined_at": "2026-11-03T07:00:00+00:00",
             "customer_joined_at_local": "2026-11-03T08:00:00", "customer_ring_duration": 3,
             "conversation_start": "2026-11-03T07:00:00+00:00",
             "started_at_local": "2026-11-03T08:00:00",
             "conversation_end": "2026-11-03T07:02:00+00:00",
             "ended_at_local": "2026-11-03T08:02:00", "duration_in_seconds": 120, "hold_count": 0,
             "hold_duration_in_seconds": 0, "is_channel_closed": 0, "is_channel_open": 120,
             "is_consult": false, "is_outbound": false, "opening_check_result": "Open",
             "division_ids": [], "extra": extra},
            {"conversation_id": "conv-2", "source": "buzzeasy.conversations",
             "media_type": "webchat", "business_unit_id": "bu-1", "channel_id": "ch-chat",
             "channel_type": "Webchat", "conversation_ended_reason": "IdleTimeout",
             "customer_id": "cu-5", "customer_first_name": "János", "customer_last_name": "Tóth",
             "conversation_start": "2026-11-03T08:00:00+00:00",
             "started_at_local": "2026-11-03T09:00:00",
             "conversation_end": "2026-11-04T08:00:00+00:00",
             "ended_at_local": "2026-11-04T09:00:00", "duration_in_seconds": 86400,
             "is_channel_closed": 50400, "is_channel_open": 36000, "is_outbound": true,
             "next_conversation_id": "conv-1", "opening_check_result": "Open",
             "transfer_initiated_by": "workflow",
             "transfer_to_external_destination_phone_number": "+3617654321",
             "average_agent_answer_speed_in_seconds": 9.5,
             "average_bot_answer_speed_in_seconds": 0.5,
             "average_customer_answer_speed_in_seconds": 45,
             "first_customer_answer_speed_in_seconds": 120, "division_ids": [], "extra": extra},
            {"conversation_id": "conv-3", "source": "buzzeasy.conversations", "media_type": "email",
             "business_unit_id": "bu-2", "channel_id": "ch-mail", "channel_type": "Email",
             "conversation_ended_reason": "Default", "customer_id": "cu-1",
             "customer_first_name": "Dóra", "customer_last_name": "Szabó",
             "customer_email_address": "dora.szabo@example.com",
             "conversation_start": "2026-11-03T09:00:00+00:00",
             "started_at_local": "2026-11-03T10:00:00", "in_channel_closed_duration_in_seconds": 10,
             "in_channel_open_duration_in_seconds": 20.25, "is_outbound": false,
             "first_reply_time_in_seconds": 600, "subject": "Delivery date", "thread_id": "th-2",
             "division_ids": [], "extra": extra},
        ]),
        Table::Workitems => json!([
            {"workitem_id": "wi-1", "active_duration_in_seconds": 160, "agent_id": "ag-1",
             "agent_phone_number": "+3612000099", "business_unit_id": "bu-1",
             "completion_code": "Sale", "customer_id": "cu-1", "duration_in_seconds": 200,
             "end_time_local": "2026-11-02T09:04:22", "end_time": "2026-11-02T08:04:22+00:00",
             "lookup_duration": 0, "media_type": "voice",
             "notes": "Called back,\nwants the \"gold\" plan", "preview_duration": 5,
             "primary_channel_id": "ch-voice", "primary_conversation_id": "call-1",
             "queue_id": "q-1", "result": "Handled", "script_id": "sc-1",
             "start_time_local": "2026-11-02T09:01:02", "start_time": "2026-11-02T08:01:02+00:00",
             "wrap_up_duration": 35, "extra": extra},
            {"workitem_id": "wi-2", "active_duration_in_seconds": 0, "agent_id": "ag-2",
             "business_unit_id": "bu-1", "customer_id": "cu-2", "duration_in_seconds": 30,
             "end_time_local": "2026-11-02T09:33:10", "end_time": "2026-11-02T08:33:10+00:00",
             "media_type": "webchat", "preview_duration": 30, "primary_channel_id": "ch-chat",
             "primary_conversation_id": "chat-1", "queue_id": "q-2", "result": "Missed",
             "start_time_local": "2026-11-02T09:32:40", "start_time": "2026-11-02T08:32:40+00:00",
             "wrap_up_duration": 0, "extra": extra},
            {"workitem_id": "wi-3", "active_duration_in_seconds": 1500.5, "agent_id": "ag-1",
             "business_unit_id": "bu-2", "completion_code": "Answered", "customer_id": "cu-1",
             "duration_in_seconds": 1560, "end_time_local": "2026-11-02T10:56:00",
             "end_time": "2026-11-02T09:56:00+00:00", "lookup_duration": 12.25,
             "media_type": "email", "notes": "Sent the invoice copy", "preview_duration": 1,
             "primary_channel_id": "ch-mail", "primary_conversation_id": "mail-1",
             "queue_id": "q-3", "result": "Handled", "script_id": "sc-2",
             "start_time_local": "2026-11-02T10:30:00", "start_time": "2026-11-02T09:30:00+00:00",
             "wrap_up_duration": 58.5, "extra": extra},
        ]),
        Table::WorkitemConversationSessions => json!([
            {"workitem_id": "wi-1", "session_id": "wcs-1", "conversation_id": "call-1",
             "ended_reason": "Transferred", "hold_count": 1, "last_hold_duration": 20.5,
             "total_hold_duration": 20.5, "extra": extra},
            {"workitem_id": "wi-1", "session_id": "wcs-2", "conversation_id": "call-2",
             "ended_reason": "ConversationEnded", "hold_count": 0, "last_hold_duration": 0,
             "total_hold_duration": 0, "extra": extra},
            {"workitem_id": "wi-2", "session_id": "wcs-3", "conversation_id": "chat-1",
             "ended_reason": "AgentFailedToJoin", "extra": extra},
        ]),
        Table::CollectedData => json!([
            {"workitem_id": "wi-1", "name": "customerTier",
             "created_at": "2026-11-02T08:02:00+00:00", "value": "gold", "extra": extra},
            {"workitem_id": "wi-1", "name": "callbackNumber",
             "created_at": "2026-11-02T08:03:00+00:00", "value": "+36301234567", "extra": extra},
            {"workitem_id": "wi-3", "name": "ticket", "created_at": "2026-11-02T09:40:00+00:00",
             "extra": extra},
        ]),
        Table::WorkitemEvaluations => json!([
            {"workitem_id": "wi-1", "evaluation_id": "ev-1", "created_by": "us-2",
             "ended_at_local": "2026-11-03T11:05:30", "ended_at": "2026-11-03T10:05:30+00:00",
             "script_id": "sc-qa", "started_at_local": "2026-11-03T11:00:00",
             "started_at": "2026-11-03T10:00:00+00:00", "extra": extra},
            {"workitem_id": "wi-3", "evaluation_id": "ev-2", "created_by": "us-3",
             "script_id": "sc-qa", "started_at_local": "2026-11-03T12:00:00",
             "started_at": "2026-11-03T11:00:00+00:00", "extra": extra},
        ]),
        Table::WorkitemEvaluationData => json!([
            {"workitem_id": "wi-1", "entry_id": "ed-1", "created_at_local": "2026-11-03T11:01:00",
             "created_at": "2026-11-03T10:01:00+00:00", "created_by": "us-2",
             "evaluation_id": "ev-1", "name": "greeting", "script_id": "sc-qa", "value": "yes",
             "extra": extra},
            {"workitem_id": "wi-1", "entry_id": "ed-2", "created_at_local": "2026-11-03T11:02:00",
             "created_at": "2026-11-03T10:02:00+00:00", "created_by": "us-2",
             "evaluation_id": "ev-1", "name": "score", "script_id": "sc-qa", "value": "9",
             "extra": extra},
            {"workitem_id": "wi-3", "entry_id": "ed-3", "created_at_local": "2026-11-03T12:01:00",
             "created_at": "2026-11-03T11:01:00+00:00", "created_by": "us-3",
             "evaluation_id": "ev-2", "name": "tone", "script_id": "sc-qa",
             "value": "friendly, calm", "extra": extra},
        ]),
        Table::Campaigns => json!([
            {"campaign_id": "camp-1", "campaign_type": "Preview", "name": "Winter upsell",
             "business_unit_id": "bu-1", "extra": extra},
            {"campaign_id": "camp-2", "campaign_type": "Callback",
             "deleted_at": "2026-11-03T00:00:00+00:00", "name": "Old callbacks",
             "business_unit_id": "bu-2", "extra": extra},
        ]),
        Table::CampaignRecords => json!([
            {"record_id": "rec-1", "campaign_id": "camp-1",
             "closed_at_local": "2026-11-02T09:12:00", "closed_at": "2026-11-02T08:12:00+00:00",
             "created_at_local": "2026-11-01T10:00:00", "created_at": "2026-11-01T09:00:00+00:00",
             "customer_first_name": "Dóra", "customer_last_name": "Szabó",
             "customer_phone": "+36301234567", "new_status_duration": 3600,
             "queued_status_duration": 120.5, "rescheduled_status_duration": 0,
             "status": "Completed", "total_customer_ring_time_in_seconds": 12.5,
             "total_talk_time_in_seconds": 535, "extra": extra},
            {"record_id": "rec-2", "campaign_id": "camp-2",
             "created_at_local": "2026-06-15T10:00:00", "customer_first_name": "Gábor",
             "customer_last_name": "Kiss", "customer_phone": "+36209876543",
             "new_status_duration": 60, "rescheduled_status_duration": 86400,
             "status": "Rescheduled", "total_customer_ring_time_in_seconds": 0,
             "total_talk_time_in_seconds": 0, "created_at": "2026-06-15T08:00:00+00:00",
             "extra": extra},
        ]),
        Table::CampaignRecordCustomFields => json!([
            {"record_id": "rec-1", "name": "preferredTime", "value": "morning", "extra": extra},
            {"record_id": "rec-1", "name": "segment", "value": "gold", "extra": extra},
            {"record_id": "rec-2", "name": "note", "extra": extra},
        ]),
        Table::CampaignRecordPhoneNumbers => json!([
            {"record_id": "rec-1", "phone_number": "+36301112222", "extra": extra},
            {"record_id": "rec-1", "phone_number": "+3613334444", "extra": extra},
            {"record_id": "rec-2", "phone_number": "+36705556666", "extra": extra},
        ]),
        Table::CampaignRecordRegistrations => json!([
            {"record_id": "rec-1", "campaign_id": "camp-1", "customer_first_name": "Dóra",
             "customer_last_name": "Szabó", "primary_phone_number": "+36301234567", "extra": extra},
            {"record_id": "rec-2", "campaign_id": "camp-2", "customer_first_name": "Gábor",
             "customer_last_name": "Kiss", "primary_phone_number": "+36209876543", "extra": extra},
        ]),
    };
    let mut rows = match rows {
        Value::Array(rows) => rows,
        other => panic!("expected rows are a list, not {other}"),
    };
    sort_by_key(table, &mut rows);
    rows
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// The tenant's options: local-only times convert with its time zone.
fn tenant() -> ImportOptions {
    ImportOptions {
        time_zone: Some(TENANT),
        ..ImportOptions::default()
    }
}

async fn import(pool: &PgPool, paths: &[PathBuf], options: &ImportOptions) -> ImportReport {
    import_paths(pool, paths, options)
        .await
        .expect("import runs")
}

fn odata_fixture(name: &str) -> PathBuf {
    Path::new(FIXTURES).join("odata").join(name)
}

fn csv_fixture(name: &str) -> PathBuf {
    Path::new(FIXTURES).join("csv").join(name)
}

fn odata_fixtures() -> Vec<PathBuf> {
    TABLES
        .iter()
        .map(|(_, page, _)| odata_fixture(page))
        .collect()
}

fn csv_fixtures() -> Vec<PathBuf> {
    TABLES
        .iter()
        .map(|(_, _, export)| csv_fixture(export))
        .collect()
}

fn fixture_rows() -> u64 {
    Table::ALL.iter().map(|t| expected(*t).len() as u64).sum()
}

/// Writes `bytes` to `dir/name` (making the directories on the way) and gives its path.
fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(&path, bytes).expect("write");
    path
}

/// An OData page of the entity set `set` (None: a page without `@odata.context`).
fn page(set: Option<&str>, rows: Value) -> String {
    let mut page = json!({ "value": rows });
    if let Some(set) = set {
        page["@odata.context"] = json!(format!("{CONTEXT}{set}"));
    }
    serde_json::to_string_pretty(&page).expect("page")
}

/// The table's name in the store, and the `source` of its rows for the conversation tables.
fn stored_in(table: Table) -> (&'static str, Option<&'static str>) {
    match table {
        Table::BusinessUnits => ("business_units", None),
        Table::Agents => ("agents", None),
        Table::Users => ("users", None),
        Table::AgentStates => ("agent_states", None),
        Table::AgentBusinessUnitChanges => ("agent_business_unit_changes", None),
        Table::Channels => ("channels", None),
        Table::Queues => ("queues", None),
        Table::BotSteps => ("bot_steps", None),
        Table::BotSegments => ("bot_segments", None),
        Table::QueueSegments => ("queue_segments", None),
        Table::RejectedEnqueueAttempts => ("rejected_enqueue_attempts", None),
        Table::CapturedData => ("captured_data", None),
        Table::Calls => ("conversations", Some("buzzeasy.calls")),
        Table::Chats => ("conversations", Some("buzzeasy.chats")),
        Table::Emails => ("conversations", Some("buzzeasy.emails")),
        Table::Conversations => ("conversations", Some("buzzeasy.conversations")),
        Table::Workitems => ("workitems", None),
        Table::WorkitemConversationSessions => ("workitem_conversation_sessions", None),
        Table::CollectedData => ("collected_data", None),
        Table::WorkitemEvaluations => ("workitem_evaluations", None),
        Table::WorkitemEvaluationData => ("workitem_evaluation_data", None),
        Table::Campaigns => ("campaigns", None),
        Table::CampaignRecords => ("campaign_records", None),
        Table::CampaignRecordCustomFields => ("campaign_record_custom_fields", None),
        Table::CampaignRecordPhoneNumbers => ("campaign_record_phone_numbers", None),
        Table::CampaignRecordRegistrations => ("campaign_record_registrations", None),
    }
}

fn sort_by_key(table: Table, rows: &mut [Value]) {
    rows.sort_by_key(|row| {
        table
            .key_columns()
            .iter()
            .map(|k| row[*k].to_string())
            .collect::<Vec<_>>()
    });
}

/// The stored rows of `table`, as JSON objects of their non-null columns, in key order.
async fn stored(pool: &PgPool, table: Table) -> Vec<Value> {
    let mut conn = pool.acquire().await.expect("connection");
    sqlx::query("set time zone 'UTC'")
        .execute(&mut *conn)
        .await
        .expect("UTC session");
    let mut rows: Vec<Value> =
        match stored_in(table) {
            (_, Some(source)) => sqlx::query_scalar(
                "select jsonb_strip_nulls(to_jsonb(t)) from conversations t where t.source = $1",
            )
            .bind(source)
            .fetch_all(&mut *conn)
            .await,
            (name, None) => {
                sqlx::query_scalar(&format!(
                    "select jsonb_strip_nulls(to_jsonb(t)) from {name} t"
                ))
                .fetch_all(&mut *conn)
                .await
            }
        }
        .expect("rows");
    sort_by_key(table, &mut rows);
    rows
}

/// Asserts that every table holds exactly the fixture rows.
async fn assert_fixture_rows(pool: &PgPool) {
    for table in Table::ALL {
        assert_eq!(
            stored(pool, table).await,
            expected(table),
            "the stored rows of {}",
            table.name()
        );
    }
}

/// Every row of every table, for comparing two stores.
async fn everything(pool: &PgPool) -> Vec<(Table, Vec<Value>)> {
    let mut all = Vec::new();
    for table in Table::ALL {
        all.push((table, stored(pool, table).await));
    }
    all
}

async fn columns(pool: &PgPool, table: &str) -> BTreeSet<String> {
    sqlx::query_scalar(
        "select column_name::text from information_schema.columns
         where table_schema = current_schema() and table_name = $1",
    )
    .bind(table)
    .fetch_all(pool)
    .await
    .expect("columns")
    .into_iter()
    .collect()
}

/// Rejections as (file name, locator, path, message).
fn rejected(report: &ImportReport) -> Vec<(String, String, Option<String>, String)> {
    report
        .rejected
        .iter()
        .map(|r| {
            let file = r.file.file_name().expect("file name").to_string_lossy();
            (
                file.into_owned(),
                r.locator.clone(),
                r.path.clone(),
                r.message.clone(),
            )
        })
        .collect()
}

fn reject(
    file: &str,
    locator: &str,
    path: Option<&str>,
    message: &str,
) -> (String, String, Option<String>, String) {
    (
        file.to_owned(),
        locator.to_owned(),
        path.map(str::to_owned),
        message.to_owned(),
    )
}

async fn ids(pool: &PgPool, sql: &str) -> Vec<String> {
    sqlx::query_scalar(sql).fetch_all(pool).await.expect("ids")
}

/// A UTC timestamp column of one row, as RFC 3339.
async fn utc_of(pool: &PgPool, sql: &str) -> String {
    let t: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

// ---------------------------------------------------------------------------------------------
// Every table, in both formats

#[tokio::test]
async fn the_fixtures_use_every_column_of_every_table() {
    let db = test_database().await;
    let mut conversation_columns = BTreeSet::new();
    for table in Table::ALL {
        let used: BTreeSet<String> = expected(table)
            .iter()
            .flat_map(|row| row.as_object().expect("row").keys().cloned())
            .collect();
        let (name, source) = stored_in(table);
        if source.is_some() {
            conversation_columns.extend(used);
            continue;
        }
        assert_eq!(used, columns(db.pool(), name).await, "columns of {name}");
    }
    let mut buzzeasy_columns = columns(db.pool(), "conversations").await;
    for genesys in GENESYS_ONLY {
        buzzeasy_columns.remove(genesys);
    }
    assert_eq!(
        conversation_columns, buzzeasy_columns,
        "columns of conversations"
    );
}

#[tokio::test]
async fn every_table_reads_back_column_by_column_from_odata_pages() {
    let db = test_database().await;

    let report = import(db.pool(), &odata_fixtures(), &tenant()).await;

    assert!(report.rejected.is_empty(), "{report}");
    assert_eq!(report.imported, fixture_rows(), "{report}");
    assert_fixture_rows(db.pool()).await;
}

#[tokio::test]
async fn every_table_reads_back_column_by_column_from_csv_exports() {
    let db = test_database().await;

    let report = import(db.pool(), &csv_fixtures(), &tenant()).await;

    assert!(report.rejected.is_empty(), "{report}");
    assert_eq!(report.imported, fixture_rows(), "{report}");
    assert_fixture_rows(db.pool()).await;
}

#[tokio::test]
async fn odata_pages_and_csv_exports_of_the_same_rows_store_identical_rows() {
    let from_odata = test_database().await;
    let from_csv = test_database().await;
    import(from_odata.pool(), &odata_fixtures(), &tenant()).await;
    import(from_csv.pool(), &csv_fixtures(), &tenant()).await;
    assert_eq!(
        everything(from_odata.pool()).await,
        everything(from_csv.pool()).await
    );

    // The CSV exports over the OData pages: nothing to change, row by row.
    let report = import(from_odata.pool(), &csv_fixtures(), &tenant()).await;

    assert_eq!(
        (report.imported, report.unchanged, report.replaced),
        (0, fixture_rows(), 0),
        "{report}"
    );
    assert!(report.rejected.is_empty(), "{report}");
}

#[tokio::test]
async fn an_empty_csv_cell_of_an_unknown_column_is_absent_as_in_the_odata_page() {
    let db = test_database().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let export = write(
        dir.path(),
        "Queues.csv",
        "id,Name,legacyCode\nq-1,Sales voice,L-1\nq-2,Chat overflow,\n",
    );
    let odata = write(
        dir.path(),
        "queues.json",
        page(
            Some("Queues"),
            json!([
                {"id": "q-1", "Name": "Sales voice", "legacyCode": "L-1"},
                {"id": "q-2", "Name": "Chat overflow"},
            ]),
        ),
    );

    let report = import(db.pool(), &[export], &tenant()).await;

    assert_eq!(report.imported, 2, "{report}");
    let extras: Vec<Value> = sqlx::query_scalar("select extra from queues order by queue_id")
        .fetch_all(db.pool())
        .await
        .expect("extras");
    assert_eq!(extras, vec![json!({"legacyCode": "L-1"}), json!({})]);
    let again = import(db.pool(), &[odata], &tenant()).await;
    assert_eq!((again.unchanged, again.replaced), (2, 0), "{again}");
}

// ---------------------------------------------------------------------------------------------
// Idempotency

#[tokio::test]
async fn importing_the_feed_twice_changes_nothing() {
    let db = test_database().await;
    let first = import(db.pool(), &odata_fixtures(), &tenant()).await;
    assert_eq!(first.imported, fixture_rows(), "{first}");
    let before = everything(db.pool()).await;

    let second = import(db.pool(), &odata_fixtures(), &tenant()).await;

    assert_eq!(
        (second.imported, second.unchanged, second.replaced),
        (0, fixture_rows(), 0),
        "{second}"
    );
    assert!(second.rejected.is_empty(), "{second}");
    assert_eq!(everything(db.pool()).await, before);
}

#[tokio::test]
async fn a_changed_row_replaces_its_old_self_and_the_others_stay_unchanged() {
    let db = test_database().await;
    let dir = tempfile::tempdir().expect("tempdir");
    import(db.pool(), &odata_fixtures(), &tenant()).await;
    let mut workitems: Value = serde_json::from_str(
        &std::fs::read_to_string(odata_fixture("workitems.json")).expect("fixture"),
    )
    .expect("page");
    workitems["value"][1]["result"] = json!("Handled");
    workitems["value"][1]["wrapUpDuration"] = json!(12);
    let mut calls: Value = serde_json::from_str(
        &std::fs::read_to_string(odata_fixture("calls.json")).expect("fixture"),
    )
    .expect("page");
    calls["value"][0]["holdCount"] = json!(2);
    let queues = std::fs::read_to_string(csv_fixture("Queues (lookup).csv"))
        .expect("fixture")
        .replace("Chat overflow", "Chat overflow (old)");
    let files = [
        write(dir.path(), "workitems.json", workitems.to_string()),
        write(dir.path(), "calls.json", calls.to_string()),
        write(dir.path(), "Queues (lookup).csv", queues),
    ];

    let report = import(db.pool(), &files, &tenant()).await;

    assert_eq!(
        (report.imported, report.unchanged, report.replaced),
        (0, 5, 3),
        "{report}"
    );
    let mut workitems = expected(Table::Workitems);
    workitems[1]["result"] = json!("Handled");
    workitems[1]["wrap_up_duration"] = json!(12);
    let mut calls = expected(Table::Calls);
    calls[0]["hold_count"] = json!(2);
    let mut queues = expected(Table::Queues);
    queues[1]["name"] = json!("Chat overflow (old)");
    assert_eq!(stored(db.pool(), Table::Workitems).await, workitems);
    assert_eq!(stored(db.pool(), Table::Calls).await, calls);
    assert_eq!(stored(db.pool(), Table::Queues).await, queues);
}

// ---------------------------------------------------------------------------------------------
// Which table a file holds

/// Three queue segments, as a page's rows.
fn queue_segment_rows() -> Value {
    json!([
        {"id": "qs-7", "conversationId": "call-7", "queueId": "q-1", "queuedAtUTC": "2026-11-02T08:00:00Z"},
        {"id": "qs-8", "conversationId": "call-8", "queueId": "q-1", "queuedAtUTC": "2026-11-02T08:05:00Z"},
        {"id": "qs-9", "conversationId": "call-9", "queueId": "q-2", "queuedAtUTC": "2026-11-02T08:10:00Z"},
    ])
}

const QUEUE_SEGMENTS_CSV: &str = "id,conversationId,queueId,queuedAtUTC
qs-7,call-7,q-1,2026-11-02T08:00:00Z
qs-8,call-8,q-1,2026-11-02T08:05:00Z
qs-9,call-9,q-2,2026-11-02T08:10:00Z
";

async fn queue_segment_ids(pool: &PgPool) -> Vec<String> {
    ids(
        pool,
        "select queue_segment_id from queue_segments order by queue_segment_id",
    )
    .await
}

#[tokio::test]
async fn the_table_of_a_page_is_told_by_its_odata_context() {
    let db = test_database().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(
        dir.path(),
        "exports/page-7.json",
        page(Some("QueueSegments"), queue_segment_rows()),
    );

    let report = import(db.pool(), &[file], &ImportOptions::default()).await;

    assert_eq!((report.imported, report.rejected.len()), (3, 0), "{report}");
    assert_eq!(queue_segment_ids(db.pool()).await, ["qs-7", "qs-8", "qs-9"]);
}

#[tokio::test]
async fn the_table_of_a_file_is_told_by_its_name() {
    let db = test_database().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rows = queue_segment_rows();
    rows[0]["id"] = json!("qs-1");
    rows[1]["id"] = json!("qs-2");
    rows[2]["id"] = json!("qs-3");
    let files = [
        write(
            dir.path(),
            "exports/queue_segments-0002.json",
            page(None, rows),
        ),
        write(dir.path(), "exports/Queue Segments.csv", QUEUE_SEGMENTS_CSV),
    ];

    let report = import(db.pool(), &files, &ImportOptions::default()).await;

    assert_eq!((report.imported, report.rejected.len()), (6, 0), "{report}");
    assert_eq!(
        queue_segment_ids(db.pool()).await,
        ["qs-1", "qs-2", "qs-3", "qs-7", "qs-8", "qs-9"]
    );
}

#[tokio::test]
async fn the_table_of_a_file_is_told_by_its_directory() {
    let db = test_database().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let workitems = dir.path().join("Workitems");
    write(
        &workitems,
        "page-1.json",
        json!({
            "value": [{"id": "wi-1", "agentId": "ag-1"}, {"id": "wi-2", "agentId": "ag-2"}],
            "@odata.nextLink": "https://odata.buzzeasy.example/odata/Workitems?$skiptoken=2"
        })
        .to_string(),
    );
    write(
        &workitems,
        "page-2.json",
        page(None, json!([{"id": "wi-3", "agentId": "ag-1"}])),
    );
    write(&workitems, "page-3.csv", "id,agentId\nwi-4,ag-2\n");

    let report = import(db.pool(), &[workitems], &ImportOptions::default()).await;

    assert_eq!((report.imported, report.rejected.len()), (4, 0), "{report}");
    assert_eq!(
        ids(db.pool(), "select workitem_id from workitems order by 1").await,
        ["wi-1", "wi-2", "wi-3", "wi-4"]
    );
}

#[tokio::test]
async fn the_table_option_names_the_table_of_files_that_do_not_say() {
    let db = test_database().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let files = [
        write(
            dir.path(),
            "exports/export.json",
            page(None, queue_segment_rows()),
        ),
        write(
            dir.path(),
            "exports/export.csv",
            QUEUE_SEGMENTS_CSV.replace("qs-", "qs-c"),
        ),
    ];
    let options = ImportOptions {
        table: Some(Table::QueueSegments),
        ..ImportOptions::default()
    };

    let report = import(db.pool(), &files, &options).await;

    assert_eq!((report.imported, report.rejected.len()), (6, 0), "{report}");
    assert_eq!(
        queue_segment_ids(db.pool()).await,
        ["qs-7", "qs-8", "qs-9", "qs-c7", "qs-c8", "qs-c9"]
    );
}

#[tokio::test]
async fn a_file_whose_table_cannot_be_told_is_rejected_once_naming_the_fix() {
    let db = test_database().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let files = [
        write(
            dir.path(),
            "exports/export.json",
            page(None, queue_segment_rows()),
        ),
        write(dir.path(), "exports/export.csv", QUEUE_SEGMENTS_CSV),
    ];

    let report = import(db.pool(), &files, &ImportOptions::default()).await;

    let message = format!(
        "cannot tell which Buzzeasy table this file holds (from its OData context, its name or \
         its directory's): name it with --table (one of {})",
        Table::ALL.map(Table::name).join(", ")
    );
    assert_eq!(
        rejected(&report),
        [
            reject("export.csv", "line 1", None, &message),
            reject("export.json", "$", None, &message),
        ],
        "{report}"
    );
    assert_eq!(report.imported, 0, "{report}");
    assert!(queue_segment_ids(db.pool()).await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Local times

/// A local-only time of the feed: a row of `table` holding it alone (as the source spells it),
/// the path a rejection names, and the query of the UTC column it fills (`$1`: the row's id).
struct LocalTime {
    table: Table,
    row: Value,
    path: &'static str,
    utc: &'static str,
}

/// Every local-only time of the feed, at the wall-clock time `local`.
fn local_times(local: &str) -> Vec<LocalTime> {
    let case = |table, row, path, utc| LocalTime {
        table,
        row,
        path,
        utc,
    };
    vec![
        case(
            Table::AgentStates,
            json!({"id": "as-9", "agentID": "ag-1", "startTime": local}),
            "$.startTime",
            "select start_time from agent_states where agent_state_id = $1",
        ),
        case(
            Table::BotSegments,
            json!({"id": "bseg-9", "conversationID": "call-9", "startedAt": local}),
            "$.startedAt",
            "select started_at from bot_segments where bot_segment_id = $1",
        ),
        case(
            Table::BotSegments,
            json!({"id": "bseg-8", "conversationID": "call-9", "endedAt": local}),
            "$.endedAt",
            "select ended_at from bot_segments where bot_segment_id = $1",
        ),
        case(
            Table::QueueSegments,
            json!({"id": "qs-9", "conversationId": "call-9", "queueId": "q-1", "queuedAt": local}),
            "$.queuedAt",
            "select queued_at from queue_segments where queue_segment_id = $1",
        ),
        case(
            Table::QueueSegments,
            json!({"id": "qs-8", "conversationId": "call-9", "queueId": "q-1", "dequeuedAt": local}),
            "$.dequeuedAt",
            "select dequeued_at from queue_segments where queue_segment_id = $1",
        ),
        case(
            Table::RejectedEnqueueAttempts,
            json!({"id": "rea-9", "conversationId": "call-9", "rejectedAt": local}),
            "$.rejectedAt",
            "select rejected_at from rejected_enqueue_attempts where attempt_id = $1",
        ),
        case(
            Table::Calls,
            json!({"id": "call-9", "startedAt": local}),
            "$.startedAt",
            "select conversation_start from conversations where conversation_id = $1",
        ),
        case(
            Table::Calls,
            json!({"id": "call-8", "customerJoinedAt": local}),
            "$.customerJoinedAt",
            "select customer_joined_at from conversations where conversation_id = $1",
        ),
        case(
            Table::Chats,
            json!({"id": "chat-9", "endedAt": local}),
            "$.endedAt",
            "select conversation_end from conversations where conversation_id = $1",
        ),
        case(
            Table::Workitems,
            json!({"id": "wi-9", "startTime": local}),
            "$.startTime",
            "select start_time from workitems where workitem_id = $1",
        ),
        case(
            Table::Workitems,
            json!({"id": "wi-8", "endTime": local}),
            "$.endTime",
            "select end_time from workitems where workitem_id = $1",
        ),
        case(
            Table::WorkitemEvaluations,
            json!({"id": "ev-9", "workitemID": "wi-9", "startedAt": local}),
            "$.startedAt",
            "select started_at from workitem_evaluations where evaluation_id = $1",
        ),
        case(
            Table::WorkitemEvaluations,
            json!({"id": "ev-8", "workitemID": "wi-9", "endedAt": local}),
            "$.endedAt",
            "select ended_at from workitem_evaluations where evaluation_id = $1",
        ),
        case(
            Table::WorkitemEvaluationData,
            json!({"id": "ed-9", "workitemId": "wi-9", "createdAt": local}),
            "$.createdAt",
            "select created_at from workitem_evaluation_data where entry_id = $1",
        ),
        case(
            Table::CampaignRecords,
            json!({"id": "rec-9", "CreatedAt": local}),
            "$.createdAt",
            "select created_at from campaign_records where record_id = $1",
        ),
        case(
            Table::CampaignRecords,
            json!({"id": "rec-8", "closedAt": local}),
            "$.closedAt",
            "select closed_at from campaign_records where record_id = $1",
        ),
    ]
}

/// The CSV export of one row: its keys as the header, its values as the record.
fn one_row_csv(row: &Value) -> String {
    let row = row.as_object().expect("row");
    let header: Vec<&str> = row.keys().map(String::as_str).collect();
    let cells: Vec<&str> = row.values().map(|v| v.as_str().expect("text")).collect();
    format!("{}\n{}\n", header.join(","), cells.join(","))
}

/// Case `n` as a file of its own, named after its table (`AgentStates-0.json`): an OData page,
/// or a CSV export.
fn write_case(dir: &Path, n: usize, case: &LocalTime, csv: bool) -> PathBuf {
    let name = case.table.name();
    if csv {
        write(dir, &format!("{name}-{n}.csv"), one_row_csv(&case.row))
    } else {
        let rows = json!([case.row]);
        write(dir, &format!("{name}-{n}.json"), page(Some(name), rows))
    }
}

#[tokio::test]
async fn a_local_time_without_the_tenant_time_zone_is_rejected_naming_its_column() {
    let db = test_database().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = local_times("2026-11-02T09:00:00");
    let mut files = Vec::new();
    let mut expected = Vec::new();
    for (n, case) in cases.iter().enumerate() {
        files.push(write_case(dir.path(), n, case, false));
        files.push(write_case(dir.path(), n, case, true));
        let name = case.table.name();
        let path = Some(case.path);
        expected.push(reject(
            &format!("{name}-{n}.json"),
            "$.value[0]",
            path,
            NO_UTC_TWIN,
        ));
        expected.push(reject(
            &format!("{name}-{n}.csv"),
            "line 2",
            path,
            NO_UTC_TWIN,
        ));
    }

    let report = import(db.pool(), &files, &ImportOptions::default()).await;

    let mut got = rejected(&report);
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "{report}");
    assert!(
        report
            .rejected
            .iter()
            .all(|r| r.code == RejectCode::InvalidDocument),
        "{report}"
    );
    assert_eq!(report.imported, 0, "{report}");
}

#[tokio::test]
async fn a_local_time_converts_to_utc_with_the_tenant_time_zone() {
    // Summer time in Budapest: UTC+2.
    let cases = local_times("2026-07-01T12:00:00");
    for csv in [false, true] {
        let db = test_database().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let files: Vec<PathBuf> = (cases.iter().enumerate())
            .map(|(n, case)| write_case(dir.path(), n, case, csv))
            .collect();

        let report = import(db.pool(), &files, &tenant()).await;

        assert!(report.rejected.is_empty(), "{report}");
        for case in &cases {
            let id = case.row["id"].as_str().expect("id");
            let utc: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(case.utc)
                .bind(id)
                .fetch_one(db.pool())
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", case.utc));
            assert_eq!(
                utc.to_rfc3339(),
                "2026-07-01T10:00:00+00:00",
                "{} of {id} (CSV: {csv})",
                case.path
            );
        }
    }
}

#[tokio::test]
async fn local_times_convert_across_the_daylight_saving_changes() {
    let db = test_database().await;
    let dir = tempfile::tempdir().expect("tempdir");
    // Budapest: clocks go forward at 02:00 on 29 March 2026 and back at 03:00 on 25 October.
    let cases = [
        ("rec-a", "2026-03-29T01:30:00", "2026-03-29T00:30:00Z"),
        ("rec-b", "2026-03-29T03:30:00", "2026-03-29T01:30:00Z"),
        // 02:30 happens twice on 25 October: the first, still in summer time, is taken.
        ("rec-c", "2026-10-25T02:30:00", "2026-10-25T00:30:00Z"),
        ("rec-d", "2026-10-25T03:30:00", "2026-10-25T02:30:00Z"),
        ("rec-e", "2026-12-31T23:30:00", "2026-12-31T22:30:00Z"),
    ];
    let rows: Vec<Value> = cases
        .iter()
        .map(|(id, local, _)| json!({"id": format!("{id}-json"), "CreatedAt": local}))
        .collect();
    let export: String = cases
        .iter()
        .map(|(id, local, _)| format!("{id}-csv,{}\n", local.replace('T', " ")))
        .collect();
    let files = [
        write(
            dir.path(),
            "campaign_records.json",
            page(Some("CampaignRecords"), json!(rows)),
        ),
        write(
            dir.path(),
            "Campaign Records.csv",
            format!("id,CreatedAt\n{export}"),
        ),
    ];

    let report = import(db.pool(), &files, &tenant()).await;

    assert_eq!(
        (report.imported, report.rejected.len()),
        (10, 0),
        "{report}"
    );
    for (id, _, utc) in cases {
        for id in [format!("{id}-json"), format!("{id}-csv")] {
            let sql = format!("select created_at from campaign_records where record_id = '{id}'");
            assert_eq!(utc_of(db.pool(), &sql).await, utc, "{id}");
        }
    }
    let hour: f64 = sqlx::query_scalar(
        "select extract(epoch from b.created_at - a.created_at)::float8
         from campaign_records a, campaign_records b
         where a.record_id = 'rec-a-csv' and b.record_id = 'rec-b-csv'",
    )
    .fetch_one(db.pool())
    .await
    .expect("span");
    assert_eq!(
        hour, 3600.0,
        "01:30 to 03:30 on the night clocks go forward is one hour"
    );
}

#[tokio::test]
async fn a_local_time_that_does_not_exist_in_the_tenant_time_zone_is_rejected() {
    let db = test_database().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let files = [
        write(
            dir.path(),
            "campaign_records.json",
            page(
                Some("CampaignRecords"),
                json!([
                    {"id": "rec-1", "CreatedAt": "2026-03-29T01:59:59"},
                    {"id": "rec-2", "CreatedAt": "2026-03-29T02:30:00"},
                ]),
            ),
        ),
        write(
            dir.path(),
            "Workitems.csv",
            "id,startTime\nwi-1,2026-03-29 03:00:00\nwi-2,2026-03-29 02:00:00\n",
        ),
    ];

    let report = import(db.pool(), &files, &tenant()).await;

    assert_eq!(
        rejected(&report),
        [
            reject(
                "Workitems.csv",
                "line 3",
                Some("$.startTime"),
                "2026-03-29 02:00:00 does not exist in Europe/Budapest (clocks moved forward)",
            ),
            reject(
                "campaign_records.json",
                "$.value[1]",
                Some("$.createdAt"),
                "2026-03-29 02:30:00 does not exist in Europe/Budapest (clocks moved forward)",
            ),
        ],
        "{report}"
    );
    assert_eq!(report.imported, 2, "{report}");
}

#[tokio::test]
async fn the_utc_time_wins_over_the_local_time_kept_beside_it() {
    let db = test_database().await;
    let dir = tempfile::tempdir().expect("tempdir");
    // The local time disagrees with the tenant's zone (the tenant moved): UTC is the truth.
    let file = write(
        dir.path(),
        "workitems.json",
        page(
            Some("Workitems"),
            json!([{"id": "wi-1", "startTimeUTC": "2026-11-02T08:00:00Z", "startTime": "2026-11-02T17:00:00"}]),
        ),
    );

    let report = import(db.pool(), &[file], &tenant()).await;

    assert_eq!(report.imported, 1, "{report}");
    let (utc, local): (chrono::DateTime<chrono::Utc>, chrono::NaiveDateTime) =
        sqlx::query_as("select start_time, start_time_local from workitems")
            .fetch_one(db.pool())
            .await
            .expect("times");
    assert_eq!(utc.to_rfc3339(), "2026-11-02T08:00:00+00:00");
    assert_eq!(local.to_string(), "2026-11-02 17:00:00");
}

// ---------------------------------------------------------------------------------------------
// Bad rows

#[tokio::test]
async fn bad_rows_of_an_odata_page_are_rejected_alone_and_the_rest_lands() {
    let db = test_database().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let states = write(
        dir.path(),
        "agent_states.json",
        page(
            Some("AgentStates"),
            json!([
                {"id": "as-1", "agentID": "ag-1", "durationInSeconds": 10, "isLogin": true, "startTimeUtc": "2026-11-02T08:00:00Z"},
                {"agentID": "ag-1", "state": "Busy"},
                {"id": "as-3", "agentID": "ag-1", "durationInSeconds": "ten"},
                {"id": "as-4", "agentID": "ag-1", "isLogin": "maybe"},
                {"id": "as-5", "agentID": "ag-1", "startTimeUtc": "2026-13-45T99:00:00Z"},
                {"id": "as-6", "agentID": "ag-1", "durationInSeconds": true},
                {"id": "as-7", "agentID": "ag-1", "isLogout": 2},
                "as-8",
                {"id": "as-9", "agentID": "ag-2", "durationInSeconds": "12.5", "isLogin": "0"},
            ]),
        ),
    );
    let calls = write(
        dir.path(),
        "calls.json",
        page(
            Some("Calls"),
            json!([
                {"businessUnitId": "bu-1", "startedAtUTC": "2026-11-02T08:00:00Z"},
                {"id": "call-2", "holdCount": "two"},
                {"id": "call-3", "holdCount": 1.5},
                {"id": "call-4", "isOutbound": "yes please"},
                {"id": "call-5", "startedAtUTC": "yesterday"},
                {"id": "call-6", "endedAtUTC": "2026-11-02T08:00:00"},
                {"id": "call-7", "holdCount": "3", "isOutbound": 1, "startedAtUTC": "2026-11-02T08:00:00Z"},
            ]),
        ),
    );

    let report = import(db.pool(), &[states, calls], &tenant()).await;

    let s = "agent_states.json";
    let c = "calls.json";
    assert_eq!(
        rejected(&report),
        [
            reject(s, "$.value[1]", Some("$.id"), "is required"),
            reject(
                s,
                "$.value[2]",
                Some("$.durationInSeconds"),
                "expected a number, found \"ten\""
            ),
            reject(
                s,
                "$.value[3]",
                Some("$.isLogin"),
                "expected true/false or 1/0, found \"maybe\""
            ),
            reject(
                s,
                "$.value[4]",
                Some("$.startTimeUtc"),
                "\"2026-13-45T99:00:00Z\" is not an ISO-8601 timestamp (input is out of range)"
            ),
            reject(
                s,
                "$.value[5]",
                Some("$.durationInSeconds"),
                "expected a number, found a boolean"
            ),
            reject(
                s,
                "$.value[6]",
                Some("$.isLogout"),
                "expected a boolean, found a number"
            ),
            reject(s, "$.value[7]", Some("$"), "expected a row object"),
            reject(c, "$.value[0]", Some("$.id"), "is required"),
            reject(
                c,
                "$.value[1]",
                Some("$.holdCount"),
                "expected an integer, found \"two\""
            ),
            reject(
                c,
                "$.value[2]",
                Some("$.holdCount"),
                "expected an integer, found 1.5"
            ),
            reject(
                c,
                "$.value[3]",
                Some("$.isOutbound"),
                "expected true/false or 1/0, found \"yes please\""
            ),
            reject(
                c,
                "$.value[4]",
                Some("$.startedAtUtc"),
                "\"yesterday\" is not an ISO-8601 timestamp (premature end of input)"
            ),
            reject(
                c,
                "$.value[5]",
                Some("$.endedAtUtc"),
                "timestamp \"2026-11-02T08:00:00\" has no time zone (expected e.g. 2024-05-01T10:00:00Z)"
            ),
        ],
        "{report}"
    );
    assert!(
        report
            .rejected
            .iter()
            .all(|r| r.code == RejectCode::InvalidDocument),
        "{report}"
    );
    assert_eq!(report.imported, 3, "{report}");
    assert_eq!(
        ids(
            db.pool(),
            "select agent_state_id from agent_states order by 1"
        )
        .await,
        ["as-1", "as-9"]
    );
    let (duration, login): (f64, bool) = sqlx::query_as(
        "select duration_in_seconds, is_login from agent_states where agent_state_id = 'as-9'",
    )
    .fetch_one(db.pool())
    .await
    .expect("as-9");
    assert_eq!((duration, login), (12.5, false));
    assert_eq!(
        ids(
            db.pool(),
            "select conversation_id from conversations order by 1"
        )
        .await,
        ["call-7"]
    );
}

#[tokio::test]
async fn bad_rows_of_a_csv_export_are_rejected_alone_and_the_rest_lands() {
    let db = test_database().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let states = write(
        dir.path(),
        "Agent States.csv",
        [
            "id,agentID,state,durationInSeconds,isLogin,startTimeUtc",
            "as-1,ag-1,Idle,10,True,2026-11-02T08:00:00Z",
            ",ag-1,Busy,5,False,2026-11-02T08:05:00Z",
            "as-3,ag-1,Busy,ten,False,2026-11-02T08:05:00Z",
            "as-4,ag-1,Busy,5,maybe,2026-11-02T08:05:00Z",
            "as-5,ag-1,Busy,5,False,2026-13-45T99:00:00Z",
            "as-6,ag-1",
            "as-7,ag-1,\"Break,",
            "lunch\",60,0,2026-11-02T09:00:00Z",
            "as-8,ag-1,Busy,5,no way,2026-11-02T09:01:00Z",
            "as-9,ag-1,Busy,5,1,2026-11-02T09:02:00Z,surplus",
            "as-10,ag-2,Idle,,,",
            "",
        ]
        .join("\n"),
    );
    let calls = write(
        dir.path(),
        "Calls.csv",
        [
            "id,holdCount,isOutbound,startedAtUTC",
            ",1,false,2026-11-02T08:00:00Z",
            "call-2,two,false,2026-11-02T08:00:00Z",
            "call-3,1,yes please,2026-11-02T08:00:00Z",
            "call-4,1,false,yesterday",
            "call-5,3,1,2026-11-02T08:00:00Z",
            "",
        ]
        .join("\r\n"),
    );

    let report = import(db.pool(), &[states, calls], &tenant()).await;

    let s = "Agent States.csv";
    let c = "Calls.csv";
    assert_eq!(
        rejected(&report),
        [
            reject(s, "line 3", Some("$.id"), "is required"),
            reject(
                s,
                "line 4",
                Some("$.durationInSeconds"),
                "expected a number, found \"ten\""
            ),
            reject(
                s,
                "line 5",
                Some("$.isLogin"),
                "expected true/false or 1/0, found \"maybe\""
            ),
            reject(
                s,
                "line 6",
                Some("$.startTimeUtc"),
                "\"2026-13-45T99:00:00Z\" is not an ISO-8601 timestamp (input is out of range)"
            ),
            reject(s, "line 7", None, "the row has 2 fields, the header 6"),
            // as-7 spans lines 8 and 9 (a quoted line break): the next row is line 10.
            reject(
                s,
                "line 10",
                Some("$.isLogin"),
                "expected true/false or 1/0, found \"no way\""
            ),
            reject(s, "line 11", None, "the row has 7 fields, the header 6"),
            reject(c, "line 2", Some("$.id"), "is required"),
            reject(
                c,
                "line 3",
                Some("$.holdCount"),
                "expected an integer, found \"two\""
            ),
            reject(
                c,
                "line 4",
                Some("$.isOutbound"),
                "expected true/false or 1/0, found \"yes please\""
            ),
            reject(
                c,
                "line 5",
                Some("$.startedAtUtc"),
                "\"yesterday\" is not an ISO-8601 timestamp (premature end of input)"
            ),
        ],
        "{report}"
    );
    assert!(
        report
            .rejected
            .iter()
            .filter(|r| r.path.is_some())
            .all(|r| r.code == RejectCode::InvalidDocument),
        "{report}"
    );
    assert_eq!(report.imported, 4, "{report}");
    assert_eq!(
        ids(
            db.pool(),
            "select agent_state_id from agent_states order by 1"
        )
        .await,
        ["as-1", "as-10", "as-7"]
    );
    let state: String =
        sqlx::query_scalar("select state from agent_states where agent_state_id = 'as-7'")
            .fetch_one(db.pool())
            .await
            .expect("as-7");
    assert_eq!(state, "Break,\nlunch");
    assert_eq!(
        ids(
            db.pool(),
            "select conversation_id from conversations order by 1"
        )
        .await,
        ["call-5"]
    );
}

#[tokio::test]
async fn a_csv_row_that_is_not_utf8_is_rejected_alone() {
    let db = test_database().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut bytes = b"id,Name,routing mode\nq-1,Sales,Automatic\nq-2,Caf".to_vec();
    bytes.push(0xe9); // `é` in Latin-1
    bytes.extend_from_slice(b",Manual\nq-3,Support,Manual\n");
    let file = write(dir.path(), "Queues.csv", bytes);

    let report = import(db.pool(), &[file], &tenant()).await;

    assert_eq!(
        rejected(&report),
        [reject(
            "Queues.csv",
            "line 3",
            None,
            "not valid UTF-8 (field 2)"
        )],
        "{report}"
    );
    assert_eq!(report.rejected[0].code, RejectCode::InvalidUtf8, "{report}");
    assert_eq!(
        ids(db.pool(), "select queue_id from queues order by 1").await,
        ["q-1", "q-3"]
    );
}

#[tokio::test]
async fn a_malformed_odata_page_is_rejected_and_the_other_files_land() {
    let db = test_database().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let text = page(
        Some("Workitems"),
        json!([{"id": "wi-1", "agentId": "ag-1"}, {"id": "wi-2", "agentId": "ag-2"}]),
    );
    let cut = &text[..text.find("\"wi-2\"").expect("second row")];
    let files = [
        write(dir.path(), "workitems-1.json", cut),
        write(
            dir.path(),
            "workitems-2.json",
            page(Some("Workitems"), json!([{"id": "wi-3"}])),
        ),
    ];

    let report = import(db.pool(), &files, &tenant()).await;

    let got = rejected(&report);
    assert_eq!(got.len(), 1, "{report}");
    let (file, locator, path, message) = &got[0];
    assert_eq!(
        (file.as_str(), locator.as_str(), path),
        ("workitems-1.json", "$", &None)
    );
    assert!(
        message.starts_with("malformed JSON: EOF while parsing"),
        "{report}"
    );
    assert_eq!(report.rejected[0].code, RejectCode::MalformedJson);
    assert_eq!(
        ids(db.pool(), "select workitem_id from workitems order by 1").await,
        ["wi-3"]
    );
}

#[tokio::test]
async fn a_rejected_row_names_its_key_when_it_can_be_read() {
    let db = test_database().await;
    let dir = tempfile::tempdir().expect("tempdir");
    // As a rejected Genesys document names its conversation, a rejected feed row names its key.
    let files = [
        write(
            dir.path(),
            "calls.json",
            page(Some("Calls"), json!([{"id": "call-9", "holdCount": "two"}])),
        ),
        write(
            dir.path(),
            "workitems.json",
            page(
                Some("Workitems"),
                json!([
                    {"id": "wi-9", "durationInSeconds": "long"},
                    {"agentId": "ag-1", "durationInSeconds": 5},
                ]),
            ),
        ),
    ];

    let report = import(db.pool(), &files, &tenant()).await;

    let keys: Vec<(String, String, Option<String>)> = report
        .rejected
        .iter()
        .map(|r| {
            let file = r.file.file_name().expect("file name").to_string_lossy();
            (
                file.into_owned(),
                r.locator.clone(),
                r.conversation_id.clone(),
            )
        })
        .collect();
    let key = |file: &str, locator: &str, id: Option<&str>| {
        (file.to_owned(), locator.to_owned(), id.map(str::to_owned))
    };
    assert_eq!(
        keys,
        [
            key("calls.json", "$.value[0]", Some("call-9")),
            key("workitems.json", "$.value[0]", Some("wi-9")),
            key("workitems.json", "$.value[1]", None),
        ],
        "{report}"
    );
}

// ---------------------------------------------------------------------------------------------
// Order and history

/// The conversations and the tables that point at them.
const AROUND_CONVERSATIONS: [Table; 11] = [
    Table::Calls,
    Table::Chats,
    Table::Emails,
    Table::QueueSegments,
    Table::BotSegments,
    Table::RejectedEnqueueAttempts,
    Table::CapturedData,
    Table::Workitems,
    Table::WorkitemConversationSessions,
    Table::CollectedData,
    Table::WorkitemEvaluations,
];

fn page_of(table: Table) -> PathBuf {
    let (_, page, _) = TABLES
        .iter()
        .find(|(t, _, _)| *t == table)
        .expect("a fixture");
    odata_fixture(page)
}

#[tokio::test]
async fn a_conversation_and_the_rows_pointing_at_it_land_in_either_order() {
    let conversations_first = test_database().await;
    let conversations_last = test_database().await;

    for table in AROUND_CONVERSATIONS {
        let report = import(conversations_first.pool(), &[page_of(table)], &tenant()).await;
        assert!(report.rejected.is_empty(), "{report}");
    }
    for table in AROUND_CONVERSATIONS.iter().rev() {
        let report = import(conversations_last.pool(), &[page_of(*table)], &tenant()).await;
        assert!(report.rejected.is_empty(), "{report}");
    }

    for table in AROUND_CONVERSATIONS {
        let first = stored(conversations_first.pool(), table).await;
        assert_eq!(first, expected(table), "{}", table.name());
        assert_eq!(
            stored(conversations_last.pool(), table).await,
            first,
            "{}",
            table.name()
        );
    }
    let joined: Vec<(String, String, String, i64)> = sqlx::query_as(
        "select w.workitem_id, c.conversation_id, c.source,
                (select count(*) from queue_segments q where q.conversation_id = c.conversation_id)
         from workitems w join conversations c on c.conversation_id = w.primary_conversation_id
         order by 1",
    )
    .fetch_all(conversations_last.pool())
    .await
    .expect("join");
    assert_eq!(
        joined,
        [
            ("wi-1".into(), "call-1".into(), "buzzeasy.calls".into(), 1),
            ("wi-2".into(), "chat-1".into(), "buzzeasy.chats".into(), 1),
            ("wi-3".into(), "mail-1".into(), "buzzeasy.emails".into(), 0),
        ]
    );
}

#[tokio::test]
async fn deleted_lookup_rows_still_resolve_for_the_history_that_points_at_them() {
    let db = test_database().await;
    let report = import(db.pool(), &odata_fixtures(), &tenant()).await;
    assert!(report.rejected.is_empty(), "{report}");

    let resolved: Vec<(String, String, bool)> = sqlx::query_as(
        "select 'workitem wi-2 agent', a.name, a.deleted_at is not null
           from workitems w join agents a using (agent_id) where w.workitem_id = 'wi-2'
         union all
         select 'workitem wi-2 queue', q.name, q.deleted_at is not null
           from workitems w join queues q using (queue_id) where w.workitem_id = 'wi-2'
         union all
         select 'queue q-3 channel', c.name, c.deleted_at is not null
           from queues q join channels c using (channel_id) where q.queue_id = 'q-3'
         union all
         select 'channel ch-mail business unit', b.name, b.deleted_at is not null
           from channels c join business_units b using (business_unit_id)
           where c.channel_id = 'ch-mail'
         union all
         select 'bot segment bseg-2 step', s.name, s.deleted_at is not null
           from bot_segments g join bot_steps s using (bot_step_id) where g.bot_segment_id = 'bseg-2'
         union all
         select 'evaluation ev-2 evaluator', u.name, u.deleted_at is not null
           from workitem_evaluations e join users u on u.user_id = e.created_by
           where e.evaluation_id = 'ev-2'
         union all
         select 'record rec-2 campaign', c.name, c.deleted_at is not null
           from campaign_records r join campaigns c using (campaign_id) where r.record_id = 'rec-2'",
    )
    .fetch_all(db.pool())
    .await
    .expect("joins");

    let row = |what: &str, name: &str| (what.to_owned(), name.to_owned(), true);
    assert_eq!(
        resolved,
        [
            row("workitem wi-2 agent", "Béla Nagy"),
            row("workitem wi-2 queue", "Chat overflow"),
            row("queue q-3 channel", "Support mailbox"),
            row("channel ch-mail business unit", "Support (old)"),
            row("bot segment bseg-2 step", "FAQ bot"),
            row("evaluation ev-2 evaluator", "Old User"),
            row("record rec-2 campaign", "Old callbacks"),
        ]
    );
}

#[tokio::test]
async fn a_lookup_row_marked_deleted_by_a_later_refresh_is_kept_with_its_deletion_time() {
    let db = test_database().await;
    let dir = tempfile::tempdir().expect("tempdir");
    import(db.pool(), &odata_fixtures(), &tenant()).await;
    let refresh = write(
        dir.path(),
        "Agents.csv",
        "id,name,customId,deletedAt,exportBatch\n\
         ag-1,Anna Kovács,1001,2026-12-01T00:00:00Z,2026-11-30#7\n",
    );

    let report = import(db.pool(), &[refresh], &tenant()).await;

    assert_eq!((report.replaced, report.rejected.len()), (1, 0), "{report}");
    let history: Vec<(String, String, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "select w.workitem_id, a.name, a.deleted_at
         from workitems w join agents a using (agent_id)
         where a.agent_id = 'ag-1' order by 1",
    )
    .fetch_all(db.pool())
    .await
    .expect("history");
    let deleted: chrono::DateTime<chrono::Utc> = "2026-12-01T00:00:00Z".parse().expect("time");
    assert_eq!(
        history,
        [
            ("wi-1".into(), "Anna Kovács".into(), deleted),
            ("wi-3".into(), "Anna Kovács".into(), deleted),
        ]
    );
}
