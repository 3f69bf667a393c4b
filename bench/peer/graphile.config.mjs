// The benchmark's peer: PostGraphile v5 with the amber preset over the benchmark database,
// started by `bench` (bench/src/peer.rs) from target/bench/peer with
// `node node_modules/postgraphile/dist/cli-run.js -C graphile.config.mjs`.
//
// Production settings, to compare like with like: NODE_ENV=production (set by the bench), no
// GraphiQL, no explain, no watch mode, no JWT (no `pgJwtTypes`, no `pgSettings`: it reads as the
// role of the connection string), a pool of 16 connections like convgraph's `serve`.

import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";
import { addPgTableCondition, jsonPgSmartTags } from "postgraphile/utils";
import { TYPES } from "postgraphile/@dataplan/pg";

// The interval of the dashboard and the export walk. The amber preset filters by equality only
// (`condition`); PostGraphile's documentation points to `addPgTableCondition` for anything
// more. A condition keeps `allConversations` with its `orderBy` and keyset cursors (the
// `after` page is `where (conversation_start, conversation_id) > (…)`, on the same index
// convgraph uses), where a `setof` function in another schema would page by row offsets.
const startCondition = (name, description, compare) =>
  addPgTableCondition(
    { schemaName: "public", tableName: "conversations" },
    name,
    (build) => ({ description, type: build.getTypeByName("Datetime") }),
    (value, { sql, sqlTableAlias, sqlValueWithCodec }) =>
      value == null
        ? null
        : compare(sql, sql`${sqlTableAlias}.conversation_start`, sqlValueWithCodec(value, TYPES.timestamptz)),
  );

const orderable = { tags: { behavior: ["+orderBy"] } };

const OF_SESSION = "conversation_id, participant_id, session_id";
const OF_SEGMENT = "conversation_id, participant_id, session_id, segment_index";
const references = (columns, table) => ({ foreignKey: `(${columns}) references ${table} (${columns})` });

export default {
  extends: [PostGraphileAmberPreset],
  plugins: [
    startCondition("startFrom", "Conversations that start at or after this instant.", (sql, start, value) => sql`${start} >= ${value}`),
    startCondition("startBefore", "Conversations that start before this instant.", (sql, start, value) => sql`${start} < ${value}`),
    // convgraph lists participants and sessions by `ordinal` and transfers by date; the amber
    // preset orders only by indexed columns unless a smart tag allows another.
    //
    // The graph's tables have no foreign keys between them (convgraph deletes a replaced
    // conversation's rows from each itself: migrations/…_graph_without_foreign_keys.sql), and
    // PostGraphile finds its relations from foreign keys: `foreignKey` tags declare the same
    // relations as the dropped constraints, with the same field names.
    jsonPgSmartTags({
      version: 1,
      config: {
        class: {
          participants: { tags: references("conversation_id", "conversations"), attribute: { ordinal: orderable } },
          sessions: { tags: references("conversation_id, participant_id", "participants"), attribute: { ordinal: orderable } },
          segments: { tags: references(OF_SESSION, "sessions") },
          session_metrics: { tags: references(OF_SESSION, "sessions") },
          flows: { tags: references(OF_SESSION, "sessions") },
          flow_outcomes: { tags: references(OF_SESSION, "flows") },
          proposed_agents: { tags: references(OF_SESSION, "sessions") },
          media_endpoint_stats: { tags: references(OF_SESSION, "sessions") },
          agent_groups: { tags: references(OF_SESSION, "sessions") },
          scored_agents: { tags: references(OF_SEGMENT, "segments") },
          segment_properties: { tags: references(OF_SEGMENT, "segments") },
          evaluations: { tags: references("conversation_id", "conversations") },
          surveys: { tags: references("conversation_id", "conversations") },
          resolutions: { tags: references("conversation_id", "conversations") },
          transfers: { tags: references("conversation_id", "conversations"), attribute: { date_issued: orderable } },
          division_entities: { tags: references("conversation_id", "conversations") },
          metric_facts: { tags: references("conversation_id", "conversations") },
        },
      },
    }),
  ],
  pgServices: [
    makePgService({
      connectionString: process.env.BENCH_PEER_DATABASE_URL,
      // bench_peer: the computed columns convgraph serves without a column of their own
      // (Conversation.divisions, durationMs); see bench/peer/bench_peer.sql.
      schemas: ["public", "bench_peer"],
      poolConfig: { max: 16 },
    }),
  ],
  grafserv: {
    host: "127.0.0.1",
    port: Number(process.env.BENCH_PEER_PORT),
    graphiql: false,
    watch: false,
  },
  grafast: { explain: false },
};
