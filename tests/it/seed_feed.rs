//! `convgraph seed` stores the Buzzeasy feed around the generated conversations: every table of
//! the feed has rows, the rows agree with the stored conversations, and seeding again changes
//! nothing.

use convgraph::seed::seed;
use sqlx::PgPool;

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[tokio::test]
async fn seeding_stores_a_feed_that_agrees_with_the_conversations() {
    let db = db::testing::test_database().await;
    let pool = db.pool();
    let generator = convgraph::seed::generator(3);
    let bar = indicatif::ProgressBar::hidden();
    let first = seed(pool, generator.clone(), 600, 2, &bar)
        .await
        .expect("seed");
    assert_eq!(first.imported, 600);
    assert!(first.feed.imported > 3_000, "{first:?}");
    assert_eq!(first.feed.unchanged + first.feed.replaced, 0, "{first:?}");

    // Every division the conversations name is stored with the generator's name for it.
    let named: Vec<(String, Option<String>)> =
        sqlx::query_as("select division_id, name from divisions order by division_id")
            .fetch_all(pool)
            .await
            .expect("divisions");
    let mut expected: Vec<(String, Option<String>)> = generator
        .universe()
        .divisions()
        .iter()
        .map(|d| (d.id.clone(), Some(d.name.clone())))
        .collect();
    expected.sort();
    assert_eq!(named, expected);
    assert_eq!(
        count(
            pool,
            "select count(*) from (select unnest(division_ids) d from conversations) c
             where d not in (select division_id from divisions)"
        )
        .await,
        0
    );

    let tables = [
        "business_units",
        "agents",
        "users",
        "channels",
        "queues",
        "bot_steps",
        "campaigns",
        "agent_business_unit_changes",
        "agent_states",
        "bot_segments",
        "queue_segments",
        "rejected_enqueue_attempts",
        "captured_data",
        "workitems",
        "workitem_conversation_sessions",
        "collected_data",
        "workitem_evaluations",
        "workitem_evaluation_data",
        "campaign_records",
        "campaign_record_custom_fields",
        "campaign_record_phone_numbers",
        "campaign_record_registrations",
    ];
    let mut stored = 0;
    let mut counts = Vec::new();
    for table in tables {
        let n = count(pool, &format!("select count(*) from {table}")).await;
        assert!(n > 0, "{table} is empty");
        counts.push((table, n));
        stored += n;
    }
    eprintln!("rows per table for 600 conversations: {counts:?}");
    assert_eq!(u64::try_from(stored).expect("a count"), first.feed.imported);

    // Each check counts the rows that break a rule: none may.
    let checks = [
        (
            "a workitem per agent leg, with its agent, over the leg",
            "select count(*) from sessions s
             join participants p using (conversation_id, participant_id)
             where p.purpose = 'agent' and not exists (
               select from workitems w
               where w.primary_conversation_id = s.conversation_id and w.agent_id = p.user_id
                 and w.start_time = (select min(g.segment_start) from segments g
                                     where (g.conversation_id, g.participant_id, g.session_id)
                                         = (s.conversation_id, s.participant_id, s.session_id))
                 and w.end_time is not distinct from
                     (select g.segment_end from segments g
                      where (g.conversation_id, g.participant_id, g.session_id)
                          = (s.conversation_id, s.participant_id, s.session_id)
                      order by g.segment_start desc, g.segment_index desc limit 1))",
        ),
        (
            "no workitem without its conversation and agent",
            "select count(*) from workitems w
             where not exists (select from conversations c
                               where c.conversation_id = w.primary_conversation_id)
                or not exists (select from agents a where a.agent_id = w.agent_id)
                or not exists (select from business_units b
                               where b.business_unit_id = w.business_unit_id)
                or (w.queue_id is not null
                    and not exists (select from queues q where q.queue_id = w.queue_id))",
        ),
        (
            "hold counts are the leg's hold segments",
            "select count(*) from workitem_conversation_sessions ws
             join workitems w using (workitem_id)
             where ws.hold_count <> (
               select count(*) from segments g
               join participants p using (conversation_id, participant_id)
               where g.conversation_id = w.primary_conversation_id and p.user_id = w.agent_id
                 and g.segment_type = 'hold'
                 and g.segment_start between w.start_time and coalesce(w.end_time, 'infinity'))",
        ),
        (
            "a queue segment per queue leg",
            "select count(*) from segments g
             join participants p using (conversation_id, participant_id)
             where p.purpose = 'acd' and not exists (
               select from queue_segments q
               where q.conversation_id = g.conversation_id and q.queue_id = g.queue_id
                 and q.queued_at = g.segment_start
                 and q.dequeued_at is not distinct from g.segment_end)",
        ),
        (
            "queue segments are queue legs",
            "select (select count(*) from queue_segments)
                  - (select count(*) from segments g join participants p
                     using (conversation_id, participant_id) where p.purpose = 'acd')",
        ),
        (
            "a Busy state of its agent covers every workitem",
            "select count(*) from workitems w
             where not exists (
               select from agent_states s
               where s.agent_id = w.agent_id and s.state = 'Busy' and s.start_time <= w.start_time
                 and (w.end_time is null
                      or s.start_time + make_interval(secs => s.duration_in_seconds)
                         >= w.end_time))",
        ),
        (
            "evaluations point at workitems of the agent the conversation's evaluation names",
            "select count(*) from workitem_evaluations e
             where not exists (
               select from workitems w join evaluations ge
                 on ge.conversation_id = w.primary_conversation_id
               where w.workitem_id = e.workitem_id and ge.evaluation_id = e.evaluation_id
                 and ge.user_id = w.agent_id)",
        ),
        (
            "answers belong to evaluations",
            "select count(*) from workitem_evaluation_data d
             where not exists (select from workitem_evaluations e
                               where e.workitem_id = d.workitem_id
                                 and e.evaluation_id = d.evaluation_id)",
        ),
        (
            "collected data belongs to workitems that ran a script",
            "select count(*) from collected_data d
             where not exists (select from workitems w
                               where w.workitem_id = d.workitem_id and w.script_id is not null)",
        ),
        (
            "a campaign record behind every campaign call",
            "select (select count(distinct s.conversation_id) from sessions s
                     join participants p using (conversation_id, participant_id)
                     where p.purpose = 'agent' and s.outbound_campaign_id is not null)
                  - (select count(*) from campaign_records r join campaigns c using (campaign_id)
                     where c.campaign_type = 'Preview')",
        ),
        (
            "a campaign record behind every callback",
            "select (select count(distinct s.conversation_id) from sessions s
                     join participants p using (conversation_id, participant_id)
                     where p.purpose = 'customer' and s.media_type = 'callback')
                  - (select count(*) from campaign_records r join campaigns c using (campaign_id)
                     where c.campaign_type = 'Callback')",
        ),
        (
            "campaign records are of known campaigns",
            "select count(*) from campaign_records r
             where not exists (select from campaigns c where c.campaign_id = r.campaign_id)",
        ),
        (
            "queue, bot and rejected rows are of stored conversations, with known ids",
            "select (select count(*) from queue_segments q
                     where not exists (select from conversations c
                                       where c.conversation_id = q.conversation_id)
                        or not exists (select from channels ch where ch.channel_id = q.channel_id))
                  + (select count(*) from bot_segments b
                     where not exists (select from bot_steps s where s.bot_step_id = b.bot_step_id))
                  + (select count(*) from rejected_enqueue_attempts r
                     where not exists (select from queues q where q.queue_id = r.queue_id))",
        ),
        (
            "agents belong to the business unit of their workitems",
            "select count(*) from workitems w
             where not coalesce((
               select c.assigned from agent_business_unit_changes c
               where c.agent_id = w.agent_id and c.business_unit_id = w.business_unit_id
                 and c.timestamp <= w.start_time
               order by c.timestamp desc limit 1), false)",
        ),
    ];
    for (rule, sql) in checks {
        assert_eq!(count(pool, sql).await, 0, "{rule}");
    }

    // Seeding again changes nothing.
    let again = seed(pool, generator, 600, 2, &bar).await.expect("seed");
    assert_eq!(again.unchanged, 600, "{again:?}");
    assert_eq!(again.feed.unchanged, first.feed.imported, "{again:?}");
    assert_eq!(again.feed.imported + again.feed.replaced, 0, "{again:?}");
}
