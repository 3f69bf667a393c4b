//! `db::copy` against a real PostgreSQL: rows written with `COPY` (as structs, and as JSON
//! objects like the feed's rows) read back exactly as the same rows written the old way, through
//! `jsonb_populate_recordset`, for random rows full of the characters COPY and array literals
//! treat specially.

use chrono::{DateTime, NaiveDateTime, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::PgPool;
use sqlx::types::Json;

#[derive(Debug, Clone, Serialize)]
struct Row {
    id: i32,
    t: String,
    tn: Option<String>,
    arr: Option<Vec<String>>,
    ints: Option<Vec<i64>>,
    j: Option<Value>,
    extra: Map<String, Value>,
    ts: Option<DateTime<Utc>>,
    lt: Option<NaiveDateTime>,
    n: Option<i64>,
    i: Option<i32>,
    f: Option<f64>,
    b: Option<bool>,
}

const COLUMNS: &str = "(id int primary key, t text not null, tn text, arr text[], ints bigint[],
    j jsonb, extra jsonb not null default '{}', ts timestamptz, lt timestamp, n bigint, i int,
    f double precision, b boolean)";

/// Text with what COPY escapes (backslash, tab, newline, return), what array literals quote
/// (quotes, braces, commas, spaces, `NULL`), `\N`, and any other character but NUL.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        r#"[\\"\t\n\r{}, NUL\\Néa-z😀]{0,10}"#,
        any::<String>().prop_map(|s| s.replace('\0', "")),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("-0 is 0 once it has been a JSON number", |f| {
            *f != 0.0 || f.is_sign_positive()
        }),
        Just(f64::NAN),
        Just(f64::INFINITY),
    ]
}

fn time() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..4_102_444_800, 0u32..1_000_000_000)
        .prop_map(|(s, n)| DateTime::from_timestamp(s, n).expect("in range"))
}

fn row() -> impl Strategy<Value = Row> {
    (
        text(),
        proptest::option::of(text()),
        proptest::option::of(prop::collection::vec(text(), 0..4)),
        proptest::option::of(prop::collection::vec(any::<i64>(), 0..4)),
        proptest::option::of(json()),
        prop::collection::btree_map(text(), json(), 0..3),
        proptest::option::of(time()),
        proptest::option::of(time()),
        (
            proptest::option::of(any::<i64>()),
            proptest::option::of(any::<i32>()),
            proptest::option::of(float()),
            proptest::option::of(any::<bool>()),
        ),
    )
        .prop_map(|(t, tn, arr, ints, j, extra, ts, lt, (n, i, f, b))| Row {
            id: 0,
            t,
            tn,
            arr,
            ints,
            j,
            extra: extra.into_iter().collect(),
            ts,
            lt: lt.map(|t| t.naive_utc()),
            n,
            i,
            f,
            b,
        })
}

async fn stored(pool: &PgPool, table: &str) -> Value {
    sqlx::query_scalar(&format!(
        "select coalesce(jsonb_agg(to_jsonb(t) order by id), '[]') from {table} t"
    ))
    .fetch_one(pool)
    .await
    .expect("read back")
}

/// Writes `rows` the three ways (`COPY` of the structs, `COPY` of the rows as JSON objects, the
/// JSON through `jsonb_populate_recordset`) and says what each table holds.
async fn three_ways(pool: &PgPool, rows: &[Row]) -> (Value, Value, Value) {
    sqlx::query("truncate copied, objects, populated")
        .execute(pool)
        .await
        .expect("truncate");
    let mut conn = pool.acquire().await.expect("connection");
    let refs: Vec<&Row> = rows.iter().collect();
    let n = db::copy::insert(&mut conn, "copied", &refs)
        .await
        .expect("copy");
    assert_eq!(n, rows.len() as u64);
    // As JSON objects, the feed's rows: every other row leaves out its null fields (a missing
    // key reads as null), so that rows name different columns in a batch.
    let objects: Vec<Value> = rows
        .iter()
        .map(|row| {
            let mut object = serde_json::to_value(row).expect("a row is JSON");
            if row.id % 2 == 1 {
                object
                    .as_object_mut()
                    .expect("an object")
                    .retain(|_, v| !v.is_null());
            }
            object
        })
        .collect();
    let refs: Vec<&Value> = objects.iter().collect();
    let prepared = db::copy::prepare_objects(&mut conn, "objects", "objects", &refs)
        .await
        .expect("prepare objects");
    let n = db::copy::send(&mut conn, &prepared)
        .await
        .expect("copy objects");
    assert_eq!(n, rows.len() as u64);
    sqlx::query(
        "insert into populated select * from jsonb_populate_recordset(null::populated, $1)",
    )
    .bind(Json(rows))
    .execute(pool)
    .await
    .expect("jsonb_populate_recordset");
    (
        stored(pool, "copied").await,
        stored(pool, "objects").await,
        stored(pool, "populated").await,
    )
}

#[test]
fn copy_stores_what_jsonb_populate_recordset_stored() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let db = rt.block_on(db::testing::test_database());
    let pool = db.pool().clone();
    rt.block_on(async {
        for table in ["copied", "objects", "populated"] {
            sqlx::query(&format!("create table {table} {COLUMNS}"))
                .execute(&pool)
                .await
                .expect("create");
        }
    });
    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    runner
        .run(&prop::collection::vec(row(), 1..12), |mut rows| {
            for (id, row) in rows.iter_mut().enumerate() {
                row.id = id as i32;
            }
            let (copied, objects, populated) = rt.block_on(three_ways(&pool, &rows));
            prop_assert_eq!(&copied, &populated);
            prop_assert_eq!(&objects, &populated);
            Ok(())
        })
        .expect("every random batch is stored alike");
}

#[test]
fn a_nul_character_is_refused_by_postgresql_with_its_code_and_nothing_is_stored() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let db = db::testing::test_database().await;
        let pool = db.pool();
        sqlx::query(&format!("create table copied_nul {COLUMNS}"))
            .execute(pool)
            .await
            .expect("create");
        let row = Row {
            id: 1,
            t: "a\0b".into(),
            tn: None,
            arr: None,
            ints: None,
            j: None,
            extra: Map::new(),
            ts: None,
            lt: None,
            n: None,
            i: None,
            f: None,
            b: None,
        };
        let mut conn = pool.acquire().await.expect("connection");
        let error = db::copy::insert(&mut conn, "copied_nul", &[&row])
            .await
            .expect_err("PostgreSQL refuses NUL in text");
        let refusal = db::ingest::store_error(&error);
        assert!(
            refusal.to_string().contains("\\u0000"),
            "the sender is told why: {refusal}"
        );
        // The connection is usable afterwards, and nothing went in.
        let count: i64 = sqlx::query_scalar("select count(*) from copied_nul")
            .fetch_one(&mut *conn)
            .await
            .expect("the connection survives a refused COPY");
        assert_eq!(count, 0);
    });
}

#[test]
fn a_field_without_a_column_is_refused_before_anything_is_sent() {
    #[derive(Serialize)]
    struct Stray {
        id: i32,
        t: String,
        nowhere: bool,
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let db = db::testing::test_database().await;
        let pool = db.pool();
        sqlx::query(&format!("create table copied_stray {COLUMNS}"))
            .execute(pool)
            .await
            .expect("create");
        let mut conn = pool.acquire().await.expect("connection");
        let row = Stray {
            id: 1,
            t: "x".into(),
            nowhere: true,
        };
        let error = db::copy::insert(&mut conn, "copied_stray", &[&row])
            .await
            .expect_err("a stray field is an error");
        assert!(
            error.to_string().contains("field nowhere has no column"),
            "{error}"
        );
    });
}
