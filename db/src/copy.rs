//! Bulk inserts with PostgreSQL's `COPY … FROM STDIN`: serde writes each row straight into
//! COPY's text format, in the table's own column types, so PostgreSQL reads each value once with
//! its type's input function and no JSON document is unpacked per row.
//!
//! A row is any `Serialize` struct whose field names are column names (the `row!` types, the
//! metric facts). The rules are those of `jsonb_populate_recordset`, which this replaces on the
//! write path: `None` (and a JSON `null`) is SQL `NULL`; a column the struct has no field for
//! takes its default; a non-finite float is `NULL`; a `json`/`jsonb` column takes the field as
//! JSON; an array column a sequence. A field without a column is an error, not silently dropped.

use crate::exec;
use serde::Serialize;
use serde::ser::{self, Impossible};
use sqlx::PgConnection;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, LazyLock, Mutex};

/// Inserts `rows` into `table` with one `COPY` statement (none when `rows` is empty) and says
/// how many rows went in.
pub async fn insert<T: Serialize>(
    conn: &mut PgConnection,
    table: &'static str,
    rows: &[&T],
) -> Result<u64, sqlx::Error> {
    if rows.is_empty() {
        return Ok(0);
    }
    let prepared = prepare(conn, table, rows).await?;
    send(conn, &prepared).await
}

/// A `COPY` statement and its data, ready to be sent.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub statement: String,
    pub data: Vec<u8>,
    /// Rows in `data`.
    pub rows: u64,
}

/// `rows` of `table` as one `COPY` statement and its data (the columns' kinds are read from
/// `conn`'s catalogue once per process). `rows` must not be empty.
pub async fn prepare<T: Serialize>(
    conn: &mut PgConnection,
    table: &'static str,
    rows: &[&T],
) -> Result<Prepared, sqlx::Error> {
    let columns = columns(conn, table).await?;
    let mut data = Vec::with_capacity(rows.len() * 256);
    let mut plan: Option<Vec<Option<Kind>>> = None;
    let mut names = Vec::new();
    for row in rows {
        write_row(&mut data, &columns, &mut plan, &mut names, *row).map_err(|e| {
            sqlx::Error::Encode(format!("a row of {table} cannot be written: {e}").into())
        })?;
    }
    Ok(Prepared::new(table, &names, data, rows.len()))
}

impl Prepared {
    /// `COPY into (names) FROM STDIN` with `data`, the COPY text of `rows` rows.
    fn new(into: &str, names: &[&str], data: Vec<u8>, rows: usize) -> Self {
        Prepared {
            statement: format!("copy {into} ({}) from stdin", quoted(names)),
            data,
            rows: rows as u64,
        }
    }
}

/// Column names as a list for SQL: each quoted, comma-separated.
pub fn quoted<S: AsRef<str>>(names: &[S]) -> String {
    names
        .iter()
        .map(|n| format!("\"{}\"", n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs a prepared `COPY` on `conn` and says how many rows went in.
pub async fn send(conn: &mut PgConnection, prepared: &Prepared) -> Result<u64, sqlx::Error> {
    exec::copy_in(conn, &prepared.statement, &prepared.data).await
}

/// How a column's values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `json` or `jsonb`: the field serialised as JSON.
    Json,
    /// An array type: a sequence as an array literal.
    Array,
    /// Anything else: the field's text.
    Scalar,
}

/// A table's columns, name -> kind, read once per process from the catalogue (the migrations
/// fix them: every database this process talks to has the same ones).
type Columns = Arc<HashMap<String, Kind>>;

/// A table's column names, in the table's order.
type Order = Arc<Vec<String>>;

/// The tables' column orders, read with [`columns`].
static ORDER: LazyLock<Mutex<HashMap<&'static str, Order>>> = LazyLock::new(Mutex::default);

/// The names of `table`'s columns, in the table's order (read once per process).
pub async fn column_names(
    conn: &mut PgConnection,
    table: &'static str,
) -> Result<Order, sqlx::Error> {
    if let Some(known) = ORDER.lock().expect("column cache").get(table) {
        return Ok(Arc::clone(known));
    }
    columns(conn, table).await?;
    ORDER
        .lock()
        .expect("column cache")
        .get(table)
        .cloned()
        .ok_or_else(|| sqlx::Error::Protocol(format!("no columns of {table}")))
}

static COLUMNS: LazyLock<Mutex<HashMap<&'static str, Columns>>> = LazyLock::new(Mutex::default);

async fn columns(conn: &mut PgConnection, table: &'static str) -> Result<Columns, sqlx::Error> {
    if let Some(known) = COLUMNS.lock().expect("column cache").get(table) {
        return Ok(Arc::clone(known));
    }
    let read: Vec<(String, String, String)> = sqlx::query_as(
        "select a.attname::text, t.typname::text, t.typcategory::text
         from pg_attribute a join pg_type t on t.oid = a.atttypid
         where a.attrelid = $1::text::regclass and a.attnum > 0 and not a.attisdropped
         order by a.attnum",
    )
    .bind(table)
    .fetch_all(exec::conn(conn))
    .await?;
    let order: Vec<String> = read.iter().map(|(name, _, _)| name.clone()).collect();
    ORDER
        .lock()
        .expect("column cache")
        .insert(table, Arc::new(order));
    let columns: Columns = Arc::new(
        read.into_iter()
            .map(|(name, type_name, category)| {
                let kind = match (type_name.as_str(), category.as_str()) {
                    ("json" | "jsonb", _) => Kind::Json,
                    (_, "A") => Kind::Array,
                    _ => Kind::Scalar,
                };
                (name, kind)
            })
            .collect(),
    );
    COLUMNS
        .lock()
        .expect("column cache")
        .insert(table, Arc::clone(&columns));
    Ok(columns)
}

/// Appends one row (a line of COPY text) to `out`. The first row fixes `plan` (the kind of each
/// field in order, `None` for none: every field must have a column) and `names` (the columns
/// written); later rows must have the same fields in the same order, as one struct type does.
fn write_row<T: Serialize>(
    out: &mut Vec<u8>,
    columns: &HashMap<String, Kind>,
    plan: &mut Option<Vec<Option<Kind>>>,
    names: &mut Vec<&'static str>,
    row: &T,
) -> Result<(), Error> {
    let first = plan.is_none();
    let mut fields = RowFields {
        out,
        columns,
        plan: plan.get_or_insert_with(Vec::new),
        names,
        first,
        position: 0,
    };
    row.serialize(RowSerializer(&mut fields))?;
    if !first && fields.position != fields.plan.len() {
        return Err(Error::new("a row has fewer fields than the first"));
    }
    fields.out.push(b'\n');
    Ok(())
}

/// The state of one row being written.
struct RowFields<'a> {
    out: &'a mut Vec<u8>,
    columns: &'a HashMap<String, Kind>,
    plan: &'a mut Vec<Option<Kind>>,
    names: &'a mut Vec<&'static str>,
    first: bool,
    position: usize,
}

impl RowFields<'_> {
    fn field<V: Serialize + ?Sized>(&mut self, name: &'static str, value: &V) -> Result<(), Error> {
        let kind = if self.first {
            let kind = *self
                .columns
                .get(name)
                .ok_or_else(|| Error::new(format!("field {name} has no column")))?;
            self.plan.push(Some(kind));
            self.names.push(name);
            kind
        } else {
            match self.names.get(self.position) {
                Some(&expected) if expected == name => {}
                _ => return Err(Error::new(format!("field {name} is out of order"))),
            }
            self.plan[self.position].ok_or_else(|| Error::new("a field without a column"))?
        };
        if self.position > 0 {
            self.out.push(b'\t');
        }
        self.position += 1;
        write_value(self.out, kind, name, value)
    }
}

/// Appends one field's value as COPY text for a column of `kind`: `\N` for a null.
fn write_value<V: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    kind: Kind,
    name: &str,
    value: &V,
) -> Result<(), Error> {
    if is_null(value)? {
        out.extend_from_slice(b"\\N");
        return Ok(());
    }
    match kind {
        Kind::Json => serde_json::to_writer(Escaped(&mut *out), value)
            .map_err(|e| Error::new(format!("field {name}: {e}"))),
        Kind::Array => value.serialize(ArrayValue(&mut *out)),
        Kind::Scalar => value.serialize(Scalar(&mut *out)),
    }
}

/// Rows given as JSON objects whose keys are column names of `table` (the Buzzeasy feed's rows,
/// flow metric records) as COPY text into `into` (`table` itself, or a table of its columns such
/// as a staging table). The columns written are every key of any row, in the order first seen;
/// a row without one of them writes `NULL` there, as `jsonb_populate_recordset` reads a missing
/// key. A key without a column is an error. `rows` must not be empty.
pub async fn prepare_objects(
    conn: &mut PgConnection,
    table: &'static str,
    into: &str,
    rows: &[&serde_json::Value],
) -> Result<Prepared, sqlx::Error> {
    let columns = columns(conn, table).await?;
    let fail =
        |e: Error| sqlx::Error::Encode(format!("a row of {table} cannot be written: {e}").into());
    let mut names: Vec<&str> = Vec::new();
    let mut kinds: Vec<Kind> = Vec::new();
    for row in rows {
        let object = row
            .as_object()
            .ok_or_else(|| fail(Error::new("a row must be a JSON object")))?;
        for key in object.keys() {
            if !names.contains(&key.as_str()) {
                let kind = *columns
                    .get(key)
                    .ok_or_else(|| fail(Error::new(format!("field {key} has no column"))))?;
                names.push(key);
                kinds.push(kind);
            }
        }
    }
    let mut data = Vec::with_capacity(rows.len() * 256);
    for row in rows {
        for (i, (name, kind)) in names.iter().zip(&kinds).enumerate() {
            if i > 0 {
                data.push(b'\t');
            }
            match row.get(*name) {
                None => data.extend_from_slice(b"\\N"),
                Some(value) => write_value(&mut data, *kind, name, value).map_err(fail)?,
            }
        }
        data.push(b'\n');
    }
    Ok(Prepared::new(into, &names, data, rows.len()))
}

/// The error of a row that cannot be written: a field without a column, a value its column
/// cannot take.
#[derive(Debug)]
pub struct Error(String);

impl Error {
    fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

/// Writes COPY text: a backslash, newline, carriage return or tab is escaped.
struct Escaped<'a>(&'a mut Vec<u8>);

impl std::io::Write for Escaped<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        escape_into(self.0, buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// An array element's text inside its quotes, then escaped for COPY: a backslash becomes four, a
/// quote a COPY-escaped backslash and the quote.
fn escape_element_into(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'\\' => b"\\\\\\\\",
            b'"' => b"\\\\\"",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

fn unsupported(what: &str) -> Error {
    Error::new(format!("a {what} cannot be written to this column"))
}

/// Answers whether a value is SQL `NULL` (`None`, unit, JSON `null`) without writing it; any
/// other value stops the probe at its first call.
struct NullProbe;

impl ser::Serializer for NullProbe {
    type Ok = bool;
    type Error = Error;
    type SerializeSeq = Impossible<bool, Error>;
    type SerializeTuple = Impossible<bool, Error>;
    type SerializeTupleStruct = Impossible<bool, Error>;
    type SerializeTupleVariant = Impossible<bool, Error>;
    type SerializeMap = Impossible<bool, Error>;
    type SerializeStruct = Impossible<bool, Error>;
    type SerializeStructVariant = Impossible<bool, Error>;

    fn serialize_none(self) -> Result<bool, Error> {
        Ok(true)
    }
    fn serialize_unit(self) -> Result<bool, Error> {
        Ok(true)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<bool, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<bool, Error> {
        value.serialize(self)
    }
    fn serialize_f32(self, v: f32) -> Result<bool, Error> {
        Ok(!v.is_finite())
    }
    fn serialize_f64(self, v: f64) -> Result<bool, Error> {
        Ok(!v.is_finite())
    }
    fn serialize_bool(self, _: bool) -> Result<bool, Error> {
        Ok(false)
    }
    fn serialize_i8(self, _: i8) -> Result<bool, Error> {
        Ok(false)
    }
    fn serialize_i16(self, _: i16) -> Result<bool, Error> {
        Ok(false)
    }
    fn serialize_i32(self, _: i32) -> Result<bool, Error> {
        Ok(false)
    }
    fn serialize_i64(self, _: i64) -> Result<bool, Error> {
        Ok(false)
    }
    fn serialize_u8(self, _: u8) -> Result<bool, Error> {
        Ok(false)
    }
    fn serialize_u16(self, _: u16) -> Result<bool, Error> {
        Ok(false)
    }
    fn serialize_u32(self, _: u32) -> Result<bool, Error> {
        Ok(false)
    }
    fn serialize_u64(self, _: u64) -> Result<bool, Error> {
        Ok(false)
    }
    fn serialize_char(self, _: char) -> Result<bool, Error> {
        Ok(false)
    }
    fn serialize_str(self, _: &str) -> Result<bool, Error> {
        Ok(false)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<bool, Error> {
        Ok(false)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<bool, Error> {
        Ok(true)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<bool, Error> {
        Ok(false)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<bool, Error> {
        Ok(false)
    }
    // A compound value is not NULL: the error ends the probe and says so.
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(Error::new(NOT_NULL))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(Error::new(NOT_NULL))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(Error::new(NOT_NULL))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(Error::new(NOT_NULL))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(Error::new(NOT_NULL))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(Error::new(NOT_NULL))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(Error::new(NOT_NULL))
    }
}

const NOT_NULL: &str = "not null";

/// Whether `value` is written as SQL `NULL`.
fn is_null<T: Serialize + ?Sized>(value: &T) -> Result<bool, Error> {
    match value.serialize(NullProbe) {
        Err(e) if e.0 == NOT_NULL => Ok(false),
        other => other,
    }
}

/// Serialises the row struct: each field goes to [`RowFields::field`].
struct RowSerializer<'r, 'a>(&'r mut RowFields<'a>);

impl<'r, 'a> ser::Serializer for RowSerializer<'r, 'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Error> {
        Ok(self)
    }

    fn serialize_bool(self, _: bool) -> Result<(), Error> {
        Err(not_a_row())
    }
    fn serialize_i8(self, _: i8) -> Result<(), Error> {
        Err(not_a_row())
    }
    fn serialize_i16(self, _: i16) -> Result<(), Error> {
        Err(not_a_row())
    }
    fn serialize_i32(self, _: i32) -> Result<(), Error> {
        Err(not_a_row())
    }
    fn serialize_i64(self, _: i64) -> Result<(), Error> {
        Err(not_a_row())
    }
    fn serialize_u8(self, _: u8) -> Result<(), Error> {
        Err(not_a_row())
    }
    fn serialize_u16(self, _: u16) -> Result<(), Error> {
        Err(not_a_row())
    }
    fn serialize_u32(self, _: u32) -> Result<(), Error> {
        Err(not_a_row())
    }
    fn serialize_u64(self, _: u64) -> Result<(), Error> {
        Err(not_a_row())
    }
    fn serialize_f32(self, _: f32) -> Result<(), Error> {
        Err(not_a_row())
    }
    fn serialize_f64(self, _: f64) -> Result<(), Error> {
        Err(not_a_row())
    }
    fn serialize_char(self, _: char) -> Result<(), Error> {
        Err(not_a_row())
    }
    fn serialize_str(self, _: &str) -> Result<(), Error> {
        Err(not_a_row())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        Err(not_a_row())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(not_a_row())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Error> {
        Err(not_a_row())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(not_a_row())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        Err(not_a_row())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Error> {
        Err(not_a_row())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        Err(not_a_row())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(not_a_row())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(not_a_row())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(not_a_row())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(not_a_row())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(not_a_row())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(not_a_row())
    }
}

fn not_a_row() -> Error {
    Error::new("a row must be a struct whose fields are columns")
}

impl ser::SerializeStruct for RowSerializer<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.0.field(key, value)
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), Error> {
        Err(Error::new(format!(
            "field {key} was skipped: every row must write every field"
        )))
    }

    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

/// Writes a scalar column's text.
struct Scalar<'a>(&'a mut Vec<u8>);

/// Writes numbers and scalars shared by [`Scalar`] and array elements.
macro_rules! write_scalars {
    () => {
        fn serialize_bool(self, v: bool) -> Result<(), Error> {
            self.0.push(if v { b't' } else { b'f' });
            Ok(())
        }
        fn serialize_i8(self, v: i8) -> Result<(), Error> {
            self.serialize_i64(i64::from(v))
        }
        fn serialize_i16(self, v: i16) -> Result<(), Error> {
            self.serialize_i64(i64::from(v))
        }
        fn serialize_i32(self, v: i32) -> Result<(), Error> {
            self.serialize_i64(i64::from(v))
        }
        fn serialize_i64(self, v: i64) -> Result<(), Error> {
            self.0
                .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
            Ok(())
        }
        fn serialize_u8(self, v: u8) -> Result<(), Error> {
            self.serialize_u64(u64::from(v))
        }
        fn serialize_u16(self, v: u16) -> Result<(), Error> {
            self.serialize_u64(u64::from(v))
        }
        fn serialize_u32(self, v: u32) -> Result<(), Error> {
            self.serialize_u64(u64::from(v))
        }
        fn serialize_u64(self, v: u64) -> Result<(), Error> {
            self.0
                .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
            Ok(())
        }
        fn serialize_f32(self, v: f32) -> Result<(), Error> {
            self.serialize_f64(f64::from(v))
        }
        fn serialize_f64(self, v: f64) -> Result<(), Error> {
            // Non-finite values were written as NULL by the probe.
            self.0
                .extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
            Ok(())
        }
        fn serialize_char(self, v: char) -> Result<(), Error> {
            self.serialize_str(v.encode_utf8(&mut [0; 4]))
        }
        fn serialize_unit_variant(
            self,
            _: &'static str,
            _: u32,
            variant: &'static str,
        ) -> Result<(), Error> {
            self.serialize_str(variant)
        }
        fn serialize_newtype_struct<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            value: &T,
        ) -> Result<(), Error> {
            value.serialize(self)
        }
        fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
            value.serialize(self)
        }
        fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
            Err(unsupported("byte string"))
        }
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<(), Error> {
            Err(unsupported("enum with data"))
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
            Err(unsupported("tuple"))
        }
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct, Error> {
            Err(unsupported("tuple"))
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, Error> {
            Err(unsupported("tuple"))
        }
        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
            Err(unsupported("map"))
        }
        fn serialize_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStruct, Error> {
            Err(unsupported("struct"))
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, Error> {
            Err(unsupported("struct"))
        }
    };
}

impl ser::Serializer for Scalar<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    write_scalars!();

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        escape_into(self.0, v.as_bytes());
        Ok(())
    }
    // NULLs were written by the probe.
    fn serialize_none(self) -> Result<(), Error> {
        self.0.extend_from_slice(b"\\N");
        Ok(())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_none()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(unsupported("sequence"))
    }
}

/// Writes an array column's literal, `{…}`, from a sequence.
struct ArrayValue<'a>(&'a mut Vec<u8>);

impl<'a> ser::Serializer for ArrayValue<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Elements<'a>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_seq(self, _: Option<usize>) -> Result<Elements<'a>, Error> {
        self.0.push(b'{');
        Ok(Elements {
            out: self.0,
            first: true,
        })
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.0.extend_from_slice(b"\\N");
        Ok(())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.serialize_none()
    }
    fn serialize_bool(self, _: bool) -> Result<(), Error> {
        Err(not_an_array())
    }
    fn serialize_i8(self, _: i8) -> Result<(), Error> {
        Err(not_an_array())
    }
    fn serialize_i16(self, _: i16) -> Result<(), Error> {
        Err(not_an_array())
    }
    fn serialize_i32(self, _: i32) -> Result<(), Error> {
        Err(not_an_array())
    }
    fn serialize_i64(self, _: i64) -> Result<(), Error> {
        Err(not_an_array())
    }
    fn serialize_u8(self, _: u8) -> Result<(), Error> {
        Err(not_an_array())
    }
    fn serialize_u16(self, _: u16) -> Result<(), Error> {
        Err(not_an_array())
    }
    fn serialize_u32(self, _: u32) -> Result<(), Error> {
        Err(not_an_array())
    }
    fn serialize_u64(self, _: u64) -> Result<(), Error> {
        Err(not_an_array())
    }
    fn serialize_f32(self, _: f32) -> Result<(), Error> {
        Err(not_an_array())
    }
    fn serialize_f64(self, _: f64) -> Result<(), Error> {
        Err(not_an_array())
    }
    fn serialize_char(self, _: char) -> Result<(), Error> {
        Err(not_an_array())
    }
    fn serialize_str(self, _: &str) -> Result<(), Error> {
        Err(not_an_array())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        Err(not_an_array())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_none()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Error> {
        Err(not_an_array())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        Err(not_an_array())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(not_an_array())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(not_an_array())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(not_an_array())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(not_an_array())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(not_an_array())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(not_an_array())
    }
}

fn not_an_array() -> Error {
    Error::new("an array column takes a sequence")
}

/// The elements of an array literal.
struct Elements<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl ser::SerializeSeq for Elements<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        if is_null(value)? {
            self.out.extend_from_slice(b"NULL");
            return Ok(());
        }
        value.serialize(Element(&mut *self.out))
    }

    fn end(self) -> Result<(), Error> {
        self.out.push(b'}');
        Ok(())
    }
}

/// Writes one array element: strings quoted, numbers and booleans bare.
struct Element<'a>(&'a mut Vec<u8>);

impl ser::Serializer for Element<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    write_scalars!();

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.0.push(b'"');
        escape_element_into(self.0, v);
        self.0.push(b'"');
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.0.extend_from_slice(b"NULL");
        Ok(())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_none()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(unsupported("nested sequence"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_what_copy_reads_as_delimiters() {
        let mut out = Vec::new();
        escape_into(&mut out, "a\tb\nc\\d\re".as_bytes());
        assert_eq!(out, b"a\\tb\\nc\\\\d\\re");
    }

    #[test]
    fn array_elements_are_quoted_and_escaped_twice() {
        let mut out = Vec::new();
        escape_element_into(&mut out, r#"x"y\z"#);
        assert_eq!(out, br#"x\\"y\\\\z"#);
    }

    #[test]
    fn a_struct_becomes_one_line_in_field_order() {
        #[derive(Serialize)]
        struct Row {
            id: String,
            tags: Vec<String>,
            n: Option<i64>,
            extra: serde_json::Value,
            f: f64,
        }
        let columns: HashMap<String, Kind> = [
            ("id", Kind::Scalar),
            ("tags", Kind::Array),
            ("n", Kind::Scalar),
            ("extra", Kind::Json),
            ("f", Kind::Scalar),
        ]
        .into_iter()
        .map(|(n, k)| (n.to_owned(), k))
        .collect();
        let row = Row {
            id: "a\tb".into(),
            tags: vec!["x".into(), "NULL".into()],
            n: None,
            extra: serde_json::json!({"k": "v\n"}),
            f: f64::NAN,
        };
        let (mut out, mut plan, mut names) = (Vec::new(), None, Vec::new());
        write_row(&mut out, &columns, &mut plan, &mut names, &row).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a\\tb\t{\"x\",\"NULL\"}\t\\N\t{\"k\":\"v\\\\n\"}\t\\N\n"
        );
        assert_eq!(names, ["id", "tags", "n", "extra", "f"]);
    }

    #[test]
    fn a_field_without_a_column_is_an_error() {
        #[derive(Serialize)]
        struct Row {
            id: String,
            nowhere: i32,
        }
        let columns: HashMap<String, Kind> = [("id".to_owned(), Kind::Scalar)].into();
        let (mut out, mut plan, mut names) = (Vec::new(), None, Vec::new());
        let row = Row {
            id: "a".into(),
            nowhere: 1,
        };
        let e = write_row(&mut out, &columns, &mut plan, &mut names, &row).unwrap_err();
        assert_eq!(e.to_string(), "field nowhere has no column");
    }
}
