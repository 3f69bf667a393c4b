-- The rows of a conversation graph are written by one writer only (db::graph::store_conversations),
-- in one transaction per batch, after deleting every row of the replaced conversations from every
-- graph table (db::graph::TABLES, one statement). The foreign keys between the graph's tables
-- therefore never catch anything, and they cost more than half of a bulk write: each one is a
-- per-row trigger that looks up the parent row (measured with COPY of the rows of 10,000
-- generated conversations into the 15 tables: 7.4 s with them, 3.5 s without).
--
-- The parent's key is still the prefix of each child's primary key, so deleting a conversation's
-- rows, and joining a child to its parent, use the same indexes as before. `conversation_imports`
-- keeps its foreign key: one row per conversation, and replacing a conversation relies on it.
alter table participants drop constraint participants_conversation_id_fkey;
alter table sessions drop constraint sessions_conversation_id_participant_id_fkey;
alter table segments drop constraint segments_conversation_id_participant_id_session_id_fkey;
alter table session_metrics drop constraint session_metrics_conversation_id_participant_id_session_id_fkey;
alter table flows drop constraint flows_conversation_id_participant_id_session_id_fkey;
alter table flow_outcomes drop constraint flow_outcomes_conversation_id_participant_id_session_id_fkey;
alter table proposed_agents drop constraint proposed_agents_conversation_id_participant_id_session_id_fkey;
alter table media_endpoint_stats drop constraint media_endpoint_stats_conversation_id_participant_id_sessio_fkey;
alter table agent_groups drop constraint agent_groups_conversation_id_participant_id_session_id_fkey;
alter table scored_agents drop constraint scored_agents_conversation_id_participant_id_session_id_se_fkey;
alter table segment_properties drop constraint segment_properties_conversation_id_participant_id_session__fkey;
alter table evaluations drop constraint evaluations_conversation_id_fkey;
alter table surveys drop constraint surveys_conversation_id_fkey;
alter table resolutions drop constraint resolutions_conversation_id_fkey;
alter table transfers drop constraint transfers_conversation_id_fkey;
alter table division_entities drop constraint division_entities_conversation_id_fkey;
alter table metric_facts drop constraint metric_facts_conversation_id_fkey;
