//! Random GraphQL selections over the conversation graph, and what the store says their answer
//! must be, computed without the API: the rows read with plain SQL, the scope and personal-data
//! rules applied here, each selection interpreted field by field. The property test in
//! `graph_walk.rs` compares the two.
//!
//! A selection mixes what a GraphQL executor must get right: aliases, a key selected twice
//! (its sub-selections merged), `__typename`, inline fragments with and without a type
//! condition, named fragments, `@include` / `@skip` driven by variables.

use async_graphql::Value as Gql;
use async_graphql::indexmap::IndexMap;
use serde_json::Value;
use std::collections::BTreeMap;

/// A small deterministic random source (xorshift64*), so that a failing case is replayed from
/// its seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A relation of the conversation graph, as this test understands it.
#[derive(Clone, Copy)]
struct Rel {
    name: &'static str,
    target: &'static str,
    many: bool,
}

/// The relations this test follows, per type (the conversation graph; the feed's own tests
/// cover the feed).
fn relations(type_name: &str) -> &'static [Rel] {
    const fn r(name: &'static str, target: &'static str, many: bool) -> Rel {
        Rel { name, target, many }
    }
    match type_name {
        "Conversation" => {
            static R: &[Rel] = &[
                r("participants", "Participant", true),
                r("evaluations", "Evaluation", true),
                r("surveys", "Survey", true),
                r("resolutions", "Resolution", true),
                r("transfers", "Transfer", true),
                r("divisionEntities", "DivisionEntity", true),
                r("divisions", "Division", true),
                r("associatedConversation", "Conversation", false),
                r("consultationConversations", "Conversation", true),
            ];
            R
        }
        "Participant" => {
            static R: &[Rel] = &[r("sessions", "Session", true)];
            R
        }
        "Session" => {
            static R: &[Rel] = &[
                r("segments", "Segment", true),
                r("metrics", "SessionMetric", true),
                r("flow", "Flow", false),
                r("proposedAgents", "ProposedAgent", true),
                r("mediaEndpointStats", "MediaEndpointStat", true),
                r("agentGroups", "AgentGroup", true),
                r("peer", "Session", false),
            ];
            R
        }
        "Segment" => {
            static R: &[Rel] = &[
                r("scoredAgents", "ScoredAgent", true),
                r("properties", "SegmentProperty", true),
            ];
            R
        }
        "Flow" => {
            static R: &[Rel] = &[r("outcomes", "FlowOutcome", true)];
            R
        }
        _ => &[],
    }
}

/// The store table of a type.
fn table(type_name: &str) -> &'static str {
    match type_name {
        "Conversation" => "conversations",
        "Participant" => "participants",
        "Session" => "sessions",
        "Segment" => "segments",
        "SessionMetric" => "session_metrics",
        "Flow" => "flows",
        "FlowOutcome" => "flow_outcomes",
        "ProposedAgent" => "proposed_agents",
        "MediaEndpointStat" => "media_endpoint_stats",
        "AgentGroup" => "agent_groups",
        "ScoredAgent" => "scored_agents",
        "SegmentProperty" => "segment_properties",
        "Evaluation" => "evaluations",
        "Survey" => "surveys",
        "Resolution" => "resolutions",
        "Transfer" => "transfers",
        "DivisionEntity" => "division_entities",
        "Division" => "divisions",
        other => panic!("no table for {other}"),
    }
}

/// The columns marked personal, per type (the `row!` declarations).
fn personal(type_name: &str) -> &'static [&'static str] {
    use domain::graph::*;
    match type_name {
        "Conversation" => ConversationRow::PERSONAL,
        "Participant" => ParticipantRow::PERSONAL,
        "Session" => SessionRow::PERSONAL,
        "Segment" => SegmentRow::PERSONAL,
        "SessionMetric" => MetricRow::PERSONAL,
        "Flow" => FlowRow::PERSONAL,
        "FlowOutcome" => FlowOutcomeRow::PERSONAL,
        "ProposedAgent" => ProposedAgentRow::PERSONAL,
        "MediaEndpointStat" => MediaEndpointStatRow::PERSONAL,
        "AgentGroup" => AgentGroupRow::PERSONAL,
        "ScoredAgent" => ScoredAgentRow::PERSONAL,
        "SegmentProperty" => SegmentPropertyRow::PERSONAL,
        "Evaluation" => EvaluationRow::PERSONAL,
        "Survey" => SurveyRow::PERSONAL,
        "Resolution" => ResolutionRow::PERSONAL,
        "Transfer" => TransferRow::PERSONAL,
        "DivisionEntity" => DivisionEntityRow::PERSONAL,
        "Division" => DivisionRow::PERSONAL,
        _ => &[],
    }
}

/// `camelCase` -> `snake_case`.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The scalar fields of each type, from the served schema (introspection), in order.
pub type Scalars = BTreeMap<String, Vec<(String, bool)>>;

/// The scalar fields (name, non-null) of the graph's types, from introspection types.
pub fn scalars(types: &BTreeMap<String, Value>) -> Scalars {
    let mut out = Scalars::new();
    for name in [
        "Conversation",
        "Participant",
        "Session",
        "Segment",
        "SessionMetric",
        "Flow",
        "FlowOutcome",
        "ProposedAgent",
        "MediaEndpointStat",
        "AgentGroup",
        "ScoredAgent",
        "SegmentProperty",
        "Evaluation",
        "Survey",
        "Resolution",
        "Transfer",
        "DivisionEntity",
        "Division",
    ] {
        let fields = types[name]["fields"].as_array().expect("fields");
        let scalars = fields
            .iter()
            .filter(|f| {
                let (kind, _) = super::walk::named(&f["type"]);
                kind != "OBJECT"
            })
            .map(|f| {
                (
                    f["name"].as_str().expect("name").to_owned(),
                    f["type"]["kind"] == "NON_NULL",
                )
            })
            .collect();
        out.insert(name.to_owned(), scalars);
    }
    out
}

/// One item of a selection set.
#[derive(Clone, Debug)]
pub enum Item {
    Field {
        alias: Option<String>,
        name: String,
        /// `Some(true)`: kept by its directive; `Some(false)`: dropped by it.
        directive: Option<(bool, &'static str)>,
        items: Vec<Item>,
    },
    Inline {
        on: Option<String>,
        items: Vec<Item>,
    },
    Spread(String),
}

/// A random query and the fragments it uses.
pub struct Query {
    pub text: String,
    fragments: BTreeMap<String, (String, Vec<Item>)>,
    roots: Vec<Root>,
}

impl Query {
    /// The values of the variables the document declares.
    pub fn variables(&self, yes: bool) -> Value {
        serde_json::json!({"yes": yes, "no": !yes})
    }
}

enum Root {
    One {
        key: String,
        id: String,
        items: Vec<Item>,
    },
    Page {
        key: String,
        first: usize,
        edges: bool,
        items: Vec<Item>,
    },
}

/// Builds random selections.
pub struct Builder<'a> {
    pub rng: &'a mut Rng,
    pub scalars: &'a Scalars,
    fragments: BTreeMap<String, (String, Vec<Item>)>,
}

impl<'a> Builder<'a> {
    pub fn new(rng: &'a mut Rng, scalars: &'a Scalars) -> Self {
        Self {
            rng,
            scalars,
            fragments: BTreeMap::new(),
        }
    }

    /// A query of one or two roots over the conversations `ids`.
    pub fn query(mut self, ids: &[String]) -> Query {
        let mut roots = Vec::new();
        for i in 0..1 + self.rng.below(2) {
            let key = if self.rng.chance(50) {
                format!("root{i}")
            } else if i == 0 {
                "conversation".to_owned()
            } else {
                format!("again{i}")
            };
            let items = self.selection("Conversation", 0);
            if self.rng.chance(60) {
                let id = self.rng.pick(ids).clone();
                roots.push(Root::One { key, id, items });
            } else {
                roots.push(Root::Page {
                    key,
                    first: 1 + self.rng.below(5),
                    edges: self.rng.chance(50),
                    items,
                });
            }
        }
        // Both variables stay in use whatever their values: async-graphql drops the selections
        // a directive excludes before it validates, and a variable left unused is an error.
        let mut text = String::from(
            "query Q($yes: Boolean!, $no: Boolean!) { \
             y1: conversation(id: \"r-missing\") @include(if: $yes) { id } \
             y2: conversation(id: \"r-missing\") @skip(if: $yes) { id } \
             n1: conversation(id: \"r-missing\") @include(if: $no) { id } \
             n2: conversation(id: \"r-missing\") @skip(if: $no) { id }",
        );
        for root in &roots {
            match root {
                Root::One { key, id, items } => {
                    text.push_str(&format!(
                        " {key}: conversation(id: \"{id}\") {{ {} }}",
                        render(items)
                    ));
                }
                Root::Page {
                    key,
                    first,
                    edges,
                    items,
                } => {
                    let inner = render(items);
                    let page = if *edges {
                        format!("edges {{ node {{ {inner} }} }}")
                    } else {
                        format!("nodes {{ {inner} }}")
                    };
                    text.push_str(&format!(
                        " {key}: conversations(first: {first}) {{ {page} }}"
                    ));
                }
            }
        }
        text.push_str(" }");
        for (name, (on, items)) in &self.fragments {
            text.push_str(&format!(" fragment {name} on {on} {{ {} }}", render(items)));
        }
        Query {
            text,
            fragments: self.fragments,
            roots,
        }
    }

    /// A random selection of `type_name`, nested `depth` levels down already.
    fn selection(&mut self, type_name: &str, depth: usize) -> Vec<Item> {
        let scalars = &self.scalars[type_name];
        let mut items = Vec::new();
        for _ in 0..1 + self.rng.below(4) {
            let (name, _) = self.rng.pick(scalars).clone();
            items.push(self.field(name, Vec::new()));
        }
        if self.rng.chance(30) {
            // No directive on `__typename`: async-graphql's validation does not see a variable
            // used there, and refuses the document as declaring an unused variable.
            items.push(Item::Field {
                alias: self.rng.chance(30).then(|| "kind".to_owned()),
                name: "__typename".into(),
                directive: None,
                items: Vec::new(),
            });
        }
        let rels = relations(type_name);
        if depth < 3 && !rels.is_empty() {
            for _ in 0..self.rng.below(3) {
                let rel = *self.rng.pick(rels);
                let sub = self.selection(rel.target, depth + 1);
                items.push(self.field(rel.name.into(), sub));
                if self.rng.chance(25) {
                    // The same relation again under the same key: the two merge.
                    let sub = self.selection(rel.target, depth + 1);
                    items.push(Item::Field {
                        alias: None,
                        name: rel.name.into(),
                        directive: None,
                        items: sub,
                    });
                }
            }
        }
        if self.rng.chance(30) {
            // A scalar selected twice.
            let (name, _) = self.rng.pick(scalars).clone();
            items.push(Item::Field {
                alias: None,
                name: name.clone(),
                directive: None,
                items: Vec::new(),
            });
            items.push(Item::Field {
                alias: None,
                name,
                directive: None,
                items: Vec::new(),
            });
        }
        // Some of it behind fragments.
        if items.len() > 1 && self.rng.chance(40) {
            let cut = self.rng.below(items.len());
            let inner: Vec<Item> = items.drain(cut..).collect();
            if self.rng.chance(50) {
                let on = self.rng.chance(50).then(|| type_name.to_owned());
                items.push(Item::Inline { on, items: inner });
            } else {
                let name = format!("F{}", self.fragments.len());
                self.fragments
                    .insert(name.clone(), (type_name.to_owned(), inner));
                items.push(Item::Spread(name));
            }
        }
        items
    }

    fn field(&mut self, name: String, items: Vec<Item>) -> Item {
        let alias = self
            .rng
            .chance(25)
            .then(|| format!("a{}_{name}", self.rng.below(3)));
        let directive = match self.rng.below(10) {
            0 => Some((true, "@include(if: $yes)")),
            1 => Some((false, "@include(if: $no)")),
            2 => Some((false, "@skip(if: $yes)")),
            3 => Some((true, "@skip(if: $no)")),
            _ => None,
        };
        Item::Field {
            alias,
            name,
            directive,
            items,
        }
    }
}

fn render(items: &[Item]) -> String {
    items
        .iter()
        .map(|item| match item {
            Item::Field {
                alias,
                name,
                directive,
                items,
            } => {
                let mut s = match alias {
                    Some(a) => format!("{a}: {name}"),
                    None => name.clone(),
                };
                if let Some((_, d)) = directive {
                    s.push(' ');
                    s.push_str(d);
                }
                if !items.is_empty() {
                    s.push_str(&format!(" {{ {} }}", render(items)));
                }
                s
            }
            Item::Inline { on, items } => match on {
                Some(on) => format!("... on {on} {{ {} }}", render(items)),
                None => format!("... {{ {} }}", render(items)),
            },
            Item::Spread(name) => format!("...{name}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The store, read with plain SQL: every row of every graph table, by table.
pub struct Store {
    tables: BTreeMap<&'static str, Vec<Row>>,
}

/// A stored row, its JSON objects in the order PostgreSQL keeps them.
type Row = IndexMap<async_graphql::Name, Gql>;

/// The value of `column` (null when the row has no such column).
fn get<'r>(row: &'r Row, column: &str) -> &'r Gql {
    const NULL: &Gql = &Gql::Null;
    row.get(column).unwrap_or(NULL)
}

impl Store {
    pub async fn load(pool: &sqlx::PgPool) -> Self {
        let mut tables = BTreeMap::new();
        for t in [
            "conversations",
            "participants",
            "sessions",
            "segments",
            "session_metrics",
            "flows",
            "flow_outcomes",
            "proposed_agents",
            "media_endpoint_stats",
            "agent_groups",
            "scored_agents",
            "segment_properties",
            "evaluations",
            "surveys",
            "resolutions",
            "transfers",
            "division_entities",
            "divisions",
        ] {
            let rows: Vec<String> =
                sqlx::query_scalar(&format!("select to_jsonb(t)::text from {t} t"))
                    .fetch_all(pool)
                    .await
                    .expect("rows");
            tables.insert(
                t,
                rows.iter()
                    .map(|r| match serde_json::from_str::<Gql>(r).expect("a row") {
                        Gql::Object(row) => row,
                        other => panic!("not a row: {other}"),
                    })
                    .collect(),
            );
        }
        Store { tables }
    }

    fn rows(&self, table: &str) -> &[Row] {
        &self.tables[table]
    }
}

/// Who reads: the divisions it may see (`None`: all) and whether it may read personal data.
#[derive(Clone, Debug)]
pub struct Reader {
    pub divisions: Option<Vec<String>>,
    pub personal: bool,
}

impl Reader {
    fn sees(&self, conversation: &Row) -> bool {
        match (&self.divisions, get(conversation, "division_ids")) {
            (None, _) => true,
            (Some(mine), Gql::List(ds)) => ds
                .iter()
                .any(|d| mine.iter().any(|m| *d == Gql::String(m.clone()))),
            _ => false,
        }
    }
}

/// The answer the query must get, as the store and the rules say.
pub fn expected(
    query: &Query,
    store: &Store,
    scalars: &Scalars,
    reader: &Reader,
    yes: bool,
) -> Gql {
    let mut out = IndexMap::new();
    out.insert(name(if yes { "y1" } else { "y2" }), Gql::Null);
    out.insert(name(if yes { "n2" } else { "n1" }), Gql::Null);
    let interpreter = Interpreter {
        store,
        scalars,
        reader,
        fragments: &query.fragments,
        yes,
    };
    for root in &query.roots {
        match root {
            Root::One { key, id, items } => {
                let value = store
                    .rows("conversations")
                    .iter()
                    .find(|c| *get(c, "conversation_id") == Gql::String(id.clone()))
                    .filter(|c| reader.sees(c))
                    .map_or(Gql::Null, |c| {
                        interpreter.object("Conversation", c, &[items])
                    });
                insert(&mut out, key, value);
            }
            Root::Page {
                key,
                first,
                edges,
                items,
            } => {
                let mut visible: Vec<&Row> = store
                    .rows("conversations")
                    .iter()
                    .filter(|c| reader.sees(c) && *get(c, "conversation_start") != Gql::Null)
                    .collect();
                visible.sort_by_key(|c| {
                    (
                        instant(get(c, "conversation_start")),
                        get(c, "conversation_id").to_string(),
                    )
                });
                let nodes: Vec<Gql> = visible
                    .iter()
                    .take(*first)
                    .map(|c| interpreter.object("Conversation", c, &[items]))
                    .collect();
                let page = if *edges {
                    let edges = nodes
                        .into_iter()
                        .map(|n| Gql::Object(IndexMap::from([(name("node"), n)])))
                        .collect();
                    IndexMap::from([(name("edges"), Gql::List(edges))])
                } else {
                    IndexMap::from([(name("nodes"), Gql::List(nodes))])
                };
                insert(&mut out, key, Gql::Object(page));
            }
        }
    }
    Gql::Object(out)
}

fn name(s: &str) -> async_graphql::Name {
    async_graphql::Name::new(s)
}

fn insert(out: &mut IndexMap<async_graphql::Name, Gql>, key: &str, value: Gql) {
    out.entry(name(key)).or_insert(value);
}

fn instant(v: &Gql) -> chrono::DateTime<chrono::Utc> {
    let Gql::String(s) = v else {
        panic!("not a time: {v}");
    };
    chrono::DateTime::parse_from_rfc3339(s)
        .expect("rfc3339")
        .to_utc()
}

struct Interpreter<'a> {
    store: &'a Store,
    scalars: &'a Scalars,
    reader: &'a Reader,
    fragments: &'a BTreeMap<String, (String, Vec<Item>)>,
    yes: bool,
}

impl Interpreter<'_> {
    /// The fields the item lists select for an object of `type_name`, in order, grouped by
    /// response key.
    fn collect<'i>(
        &'i self,
        type_name: &str,
        lists: &[&'i Vec<Item>],
        out: &mut Vec<(String, Vec<&'i Item>)>,
    ) {
        for list in lists {
            for item in list.iter() {
                match item {
                    Item::Field {
                        alias,
                        name,
                        directive,
                        ..
                    } => {
                        if let Some((_, d)) = directive
                            && !self.kept(d)
                        {
                            continue;
                        }
                        let key = alias.clone().unwrap_or_else(|| name.clone());
                        match out.iter_mut().find(|(k, _)| *k == key) {
                            Some((_, items)) => items.push(item),
                            None => out.push((key, vec![item])),
                        }
                    }
                    Item::Inline { on, items } => {
                        if on.as_deref().is_none_or(|on| on == type_name) {
                            self.collect(type_name, &[items], out);
                        }
                    }
                    Item::Spread(fragment) => {
                        let (on, items) = &self.fragments[fragment];
                        if on == type_name {
                            self.collect(type_name, &[items], out);
                        }
                    }
                }
            }
        }
    }

    /// Whether a directive keeps its field, with `$yes` and `$no` as the request sets them.
    fn kept(&self, directive: &str) -> bool {
        let value = if directive.contains("$yes") {
            self.yes
        } else {
            !self.yes
        };
        if directive.starts_with("@include") {
            value
        } else {
            !value
        }
    }

    fn object(&self, type_name: &str, row: &Row, lists: &[&Vec<Item>]) -> Gql {
        let mut groups = Vec::new();
        self.collect(type_name, lists, &mut groups);
        let mut out = IndexMap::new();
        for (key, items) in groups {
            let Item::Field { name: field, .. } = items[0] else {
                continue;
            };
            let subs: Vec<&Vec<Item>> = items
                .iter()
                .filter_map(|i| match i {
                    Item::Field { items, .. } => Some(items),
                    _ => None,
                })
                .collect();
            let value = self.field(type_name, row, field, &subs);
            out.insert(name(&key), value);
        }
        Gql::Object(out)
    }

    fn field(&self, type_name: &str, row: &Row, field: &str, subs: &[&Vec<Item>]) -> Gql {
        if field == "__typename" {
            return Gql::String(type_name.to_owned());
        }
        if let Some(rel) = relations(type_name).iter().find(|r| r.name == field) {
            let children = self.children(type_name, row, rel);
            let values: Vec<Gql> = children
                .iter()
                .map(|c| self.object(rel.target, c, subs))
                .collect();
            return if rel.many {
                Gql::List(values)
            } else {
                values.into_iter().next().unwrap_or(Gql::Null)
            };
        }
        let column = match (type_name, field) {
            ("Conversation", "id") => "conversation_id".to_owned(),
            ("Participant", "id") => "participant_id".to_owned(),
            ("Session", "id") => "session_id".to_owned(),
            (_, "durationMs") => {
                let (start, end) = match type_name {
                    "Conversation" => ("conversation_start", "conversation_end"),
                    _ => ("segment_start", "segment_end"),
                };
                return match (get(row, start), get(row, end)) {
                    (Gql::Null, _) | (_, Gql::Null) => Gql::Null,
                    (s, e) => Gql::from((instant(e) - instant(s)).num_milliseconds()),
                };
            }
            (_, "extra") => {
                return match get(row, "extra") {
                    extra @ Gql::Object(_) if self.reader.personal => extra.clone(),
                    _ => Gql::Object(IndexMap::new()),
                };
            }
            _ => snake(field),
        };
        if !self.reader.personal && personal(type_name).contains(&column.as_str()) {
            // Withheld: null, or the empty value where the schema promises one.
            let required = self.scalars[type_name]
                .iter()
                .any(|(name, non_null)| name == field && *non_null);
            return match get(row, &column) {
                Gql::String(_) if required => Gql::String(String::new()),
                Gql::Number(_) if required => Gql::from(0),
                _ => Gql::Null,
            };
        }
        get(row, &column).clone()
    }

    fn children(&self, type_name: &str, row: &Row, rel: &Rel) -> Vec<Row> {
        let same = |keys: &[&str], child: &Row| keys.iter().all(|k| get(child, k) == get(row, k));
        let sorted = |mut rows: Vec<Row>, by: &[&str]| {
            rows.sort_by(|a, b| {
                for k in by {
                    let o = order(get(a, k), get(b, k));
                    if o != std::cmp::Ordering::Equal {
                        return o;
                    }
                }
                std::cmp::Ordering::Equal
            });
            rows
        };
        let of = |keys: &[&str], by: &[&str]| {
            let rows = self
                .store
                .rows(table(rel.target))
                .iter()
                .filter(|c| same(keys, c))
                .cloned()
                .collect();
            sorted(rows, by)
        };
        const C: &[&str] = &["conversation_id"];
        const P: &[&str] = &["conversation_id", "participant_id"];
        const S: &[&str] = &["conversation_id", "participant_id", "session_id"];
        const G: &[&str] = &[
            "conversation_id",
            "participant_id",
            "session_id",
            "segment_index",
        ];
        let visible_conversation = |id: &Gql| {
            self.store
                .rows("conversations")
                .iter()
                .find(|c| get(c, "conversation_id") == id && self.reader.sees(c))
                .cloned()
        };
        let list = |column: &str| match get(row, column) {
            Gql::List(items) => items.clone(),
            _ => Vec::new(),
        };
        match (type_name, rel.name) {
            ("Conversation", "participants") => of(C, &["ordinal"]),
            ("Conversation", "evaluations") => of(C, &["evaluation_id"]),
            ("Conversation", "surveys") => of(C, &["survey_index"]),
            ("Conversation", "resolutions") => of(C, &["resolution_index"]),
            ("Conversation", "transfers") => of(C, &["date_issued", "transfer_id"]),
            ("Conversation", "divisionEntities") => of(C, &["division_id", "entity_index"]),
            ("Conversation", "divisions") => list("division_ids")
                .iter()
                .map(|id| {
                    self.store
                        .rows("divisions")
                        .iter()
                        .find(|d| get(d, "division_id") == id)
                        .cloned()
                        .unwrap_or_else(|| Row::from_iter([(name("division_id"), id.clone())]))
                })
                .collect(),
            ("Conversation", "associatedConversation") => {
                visible_conversation(get(row, "associated_conversation_id"))
                    .into_iter()
                    .collect()
            }
            ("Conversation", "consultationConversations") => list("consultation_conversation_ids")
                .iter()
                .filter_map(visible_conversation)
                .collect(),
            ("Participant", "sessions") => of(P, &["ordinal"]),
            ("Session", "segments") => of(S, &["segment_index"]),
            ("Session", "metrics") => of(S, &["metric_index"]),
            ("Session", "flow") => of(S, &[]),
            ("Session", "proposedAgents") => of(S, &["proposed_index"]),
            ("Session", "mediaEndpointStats") => of(S, &["stat_index"]),
            ("Session", "agentGroups") => of(S, &["group_index"]),
            ("Session", "peer") => {
                let rows = self
                    .store
                    .rows("sessions")
                    .iter()
                    .filter(|s| {
                        get(s, "conversation_id") == get(row, "conversation_id")
                            && get(s, "session_id") == get(row, "peer_id")
                    })
                    .cloned()
                    .collect();
                sorted(rows, &["participant_id"])
                    .into_iter()
                    .take(1)
                    .collect()
            }
            ("Segment", "scoredAgents") => of(G, &["scored_index"]),
            ("Segment", "properties") => of(G, &["property_index"]),
            ("Flow", "outcomes") => of(S, &["outcome_index"]),
            other => panic!("no relation {other:?}"),
        }
    }
}

/// SQL's ascending order of two JSON values of one column (nulls last).
fn order(a: &Gql, b: &Gql) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a, b) {
        (Gql::Null, Gql::Null) => Equal,
        (Gql::Null, _) => Greater,
        (_, Gql::Null) => Less,
        (Gql::Number(x), Gql::Number(y)) => x
            .as_f64()
            .unwrap_or(0.0)
            .total_cmp(&y.as_f64().unwrap_or(0.0)),
        (Gql::String(x), Gql::String(y)) => match (
            chrono::DateTime::parse_from_rfc3339(x),
            chrono::DateTime::parse_from_rfc3339(y),
        ) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => x.as_bytes().cmp(y.as_bytes()),
        },
        _ => Equal,
    }
}

/// Whether two answers are the same: the root fields in any order (async-graphql writes them in
/// the order they complete), every object under them with its keys in the same order, numbers
/// equal as numbers (the store writes `4` where GraphQL writes the Float `4.0`).
pub fn same_answer(a: &Gql, b: &Gql) -> bool {
    match (a, b) {
        (Gql::Object(x), Gql::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => same(a, b),
    }
}

fn same(a: &Gql, b: &Gql) -> bool {
    match (a, b) {
        (Gql::Object(x), Gql::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|((kx, vx), (ky, vy))| kx == ky && same(vx, vy))
        }
        (Gql::List(x), Gql::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Gql::Number(x), Gql::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}
