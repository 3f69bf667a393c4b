//! Reading source files as a stream of JSON documents, in bounded memory.
//!
//! A Genesys file is one of: JSON lines (one conversation a line), a query response
//! (`{"conversations": [ … ]}`), a JSON array of conversations, or a single conversation. The
//! container is detected from the content; a multi-gigabyte file is never held in memory whole,
//! only one document at a time. A Buzzeasy file is an OData page (`{"@odata.context": …,
//! "value": [ … ]}`, held whole: the feed pages its tables) or a CSV export (read a record at a
//! time); its rows are documents of the table the page's context, the file's name, its
//! directory's name or `--table` names.

use domain::buzzeasy::Table;
use domain::ingest::{IngestError, RejectCode};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// One document read from a file, or what stopped it from being read.
#[derive(Debug)]
pub struct RawDocument {
    pub file: Arc<PathBuf>,
    /// Where in the file: `line 12`, `$.conversations[3]`, `$[0]`, `$`, `$.value[4]`, `row 7`.
    pub locator: String,
    /// The Buzzeasy table of a feed row; `None` for a Genesys conversation document.
    pub table: Option<Table>,
    pub value: Result<Value, IngestError>,
}

/// What stopped a document from being read.
fn unreadable(code: RejectCode, message: String) -> IngestError {
    IngestError::new(code, None, message)
}

/// Counts the bytes read, for the progress bar.
pub struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Reads every document of `path`, handing each to `emit` as soon as it is complete.
/// `emit` returns false to stop early (the receiver has gone).
pub fn read_file(
    path: &Path,
    table: Option<Table>,
    bytes_read: Arc<AtomicU64>,
    emit: &mut dyn FnMut(RawDocument) -> bool,
) -> io::Result<()> {
    let file = Arc::new(path.to_path_buf());
    let csv = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if csv {
        let reader = Counting {
            inner: File::open(path)?,
            read: bytes_read,
        };
        read_csv(&file, table.or_else(|| table_of(path, None)), reader, emit);
        return Ok(());
    }
    let mut reader = BufReader::with_capacity(
        1 << 16,
        Counting {
            inner: File::open(path)?,
            read: bytes_read,
        },
    );
    match container(&mut reader)? {
        Container::Empty => Ok(()),
        Container::Lines => {
            read_lines(&file, reader, emit);
            Ok(())
        }
        Container::Whole => {
            read_whole(&file, table, reader, emit);
            Ok(())
        }
    }
}

enum Container {
    Empty,
    Lines,
    Whole,
}

/// JSON lines when the first non-blank line is a complete JSON object by itself and more
/// follows; otherwise one JSON text for the whole file.
fn container(reader: &mut BufReader<Counting<File>>) -> io::Result<Container> {
    let buf = reader.fill_buf()?;
    let Some(start) = buf.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Ok(if buf.is_empty() {
            Container::Empty
        } else {
            Container::Whole
        });
    };
    if buf[start] != b'{' {
        return Ok(Container::Whole);
    }
    let rest = &buf[start..];
    match rest.iter().position(|b| *b == b'\n') {
        Some(end) => {
            let first = &rest[..end];
            let tail_has_more = rest[end..].iter().any(|b| !b.is_ascii_whitespace());
            let complete = serde_json::from_slice::<de::IgnoredAny>(first).is_ok();
            // A buffer that ends right after the first line may hide what follows.
            let more_unseen = !tail_has_more && rest.len() == buf.len() - start;
            Ok(if complete && (tail_has_more || more_unseen) {
                Container::Lines
            } else {
                Container::Whole
            })
        }
        None => Ok(Container::Whole),
    }
}

fn read_lines(
    file: &Arc<PathBuf>,
    reader: BufReader<Counting<File>>,
    emit: &mut dyn FnMut(RawDocument) -> bool,
) {
    for (i, line) in reader.split(b'\n').enumerate() {
        let locator = format!("line {}", i + 1);
        let value = match line {
            Err(e) => Err(unreadable(
                RejectCode::MalformedJson,
                format!("cannot read: {e}"),
            )),
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => continue,
            Ok(bytes) => match std::str::from_utf8(&bytes) {
                Err(e) => Err(unreadable(
                    RejectCode::InvalidUtf8,
                    format!("not valid UTF-8 (byte {})", e.valid_up_to()),
                )),
                Ok(text) => serde_json::from_str::<Value>(text).map_err(|e| {
                    unreadable(
                        RejectCode::MalformedJson,
                        format!("malformed JSON: {}", strip_line(&e)),
                    )
                }),
            },
        };
        if !emit(RawDocument {
            file: file.clone(),
            locator,
            table: None,
            value,
        }) {
            return;
        }
    }
}

fn read_whole(
    file: &Arc<PathBuf>,
    table: Option<Table>,
    reader: BufReader<Counting<File>>,
    emit: &mut dyn FnMut(RawDocument) -> bool,
) {
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut streamed = 0usize;
    let mut stop = false;
    let mut sink = Sink {
        file,
        emit,
        streamed: &mut streamed,
        stop: &mut stop,
    };
    let result = TopLevel { sink: &mut sink }
        .deserialize(&mut de)
        .and_then(|single| de.end().map(|()| single));
    match result {
        Ok(Some(doc)) if is_odata_page(&doc) => read_page(file, table, doc, emit),
        Ok(Some(doc)) => {
            emit(RawDocument {
                file: file.clone(),
                locator: "$".into(),
                table: None,
                value: Ok(doc),
            });
        }
        Ok(None) => {}
        Err(_) if stop => {}
        Err(e) => {
            let message = if streamed > 0 {
                format!(
                    "malformed JSON after {streamed} complete document(s), which were read: {e}"
                )
            } else {
                format!("malformed JSON: {e}")
            };
            emit(RawDocument {
                file: file.clone(),
                locator: "$".into(),
                table: None,
                value: Err(unreadable(RejectCode::MalformedJson, message)),
            });
        }
    }
}

/// An OData page: an object with a `value` array and an `@odata.context` (or nothing else but
/// OData annotations).
fn is_odata_page(doc: &Value) -> bool {
    let Some(map) = doc.as_object() else {
        return false;
    };
    map.get("value").is_some_and(Value::is_array)
        && (map.contains_key("@odata.context")
            || map.keys().all(|k| k == "value" || k.starts_with("@odata.")))
}

/// The table a Buzzeasy file holds: named by its OData context, its name, or its directory's.
fn table_of(path: &Path, context: Option<&str>) -> Option<Table> {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    Table::detect(context, stem).or_else(|| {
        let dir = path.parent()?.file_name()?.to_str()?;
        Table::detect(None, dir)
    })
}

fn unknown_table(file: &Arc<PathBuf>, locator: &str, emit: &mut dyn FnMut(RawDocument) -> bool) {
    emit(RawDocument {
        file: file.clone(),
        locator: locator.into(),
        table: None,
        value: Err(unreadable(
            RejectCode::InvalidDocument,
            format!(
                "cannot tell which Buzzeasy table this file holds (from its OData context, its name or its directory's): name it with --table (one of {})",
                Table::ALL.map(Table::name).join(", ")
            ),
        )),
    });
}

/// Every row of an OData page, as documents of its table.
fn read_page(
    file: &Arc<PathBuf>,
    table: Option<Table>,
    mut page: Value,
    emit: &mut dyn FnMut(RawDocument) -> bool,
) {
    let context = page
        .get("@odata.context")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let Some(table) = table.or_else(|| table_of(file, context.as_deref())) else {
        return unknown_table(file, "$", emit);
    };
    let rows = match page.get_mut("value").map(Value::take) {
        Some(Value::Array(rows)) => rows,
        _ => Vec::new(),
    };
    for (i, row) in rows.into_iter().enumerate() {
        let go_on = emit(RawDocument {
            file: file.clone(),
            locator: format!("$.value[{i}]"),
            table: Some(table),
            value: Ok(row),
        });
        if !go_on {
            return;
        }
    }
}

/// Every record of a CSV export (a header line, then one row a record), as documents of its
/// table: objects of the header's names and the cells' text.
fn read_csv(
    file: &Arc<PathBuf>,
    table: Option<Table>,
    reader: Counting<File>,
    emit: &mut dyn FnMut(RawDocument) -> bool,
) {
    let Some(table) = table else {
        return unknown_table(file, "line 1", emit);
    };
    // Any `\n` ends a record, so that positions count lines alike in LF and CRLF files (a
    // trailing `\r` is cut from the last cell).
    let mut csv = csv::ReaderBuilder::new()
        .flexible(false)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(reader);
    let headers = match csv.headers() {
        Ok(h) => h
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_owned())
            .collect::<Vec<_>>(),
        Err(e) => {
            emit(RawDocument {
                file: file.clone(),
                locator: "line 1".into(),
                table: Some(table),
                value: Err(unreadable(
                    RejectCode::InvalidDocument,
                    format!("malformed CSV header: {e}"),
                )),
            });
            return;
        }
    };
    let mut record = csv::StringRecord::new();
    loop {
        let read = csv.read_record(&mut record);
        let line = match &read {
            Ok(_) => record.position().map_or(0, |p| p.line()),
            Err(e) => e.position().map_or(0, |p| p.line()),
        };
        let value = match read {
            Ok(false) => return,
            Ok(true) => Ok(Value::Object(
                headers
                    .iter()
                    .zip(record.iter())
                    .map(|(h, cell)| {
                        (
                            h.clone(),
                            Value::String(cell.trim_end_matches('\r').to_owned()),
                        )
                    })
                    .collect::<Map<String, Value>>(),
            )),
            Err(e) => Err(match e.kind() {
                csv::ErrorKind::UnequalLengths {
                    expected_len, len, ..
                } => unreadable(
                    RejectCode::InvalidDocument,
                    format!("the row has {len} fields, the header {expected_len}"),
                ),
                csv::ErrorKind::Utf8 { err, .. } => unreadable(
                    RejectCode::InvalidUtf8,
                    format!("not valid UTF-8 (field {})", err.field() + 1),
                ),
                _ => unreadable(RejectCode::InvalidDocument, format!("malformed CSV: {e}")),
            }),
        };
        let stop_after = matches!(&value, Err(e) if e.message.starts_with("malformed CSV"));
        let go_on = emit(RawDocument {
            file: file.clone(),
            locator: format!("line {line}"),
            table: Some(table),
            value,
        });
        if !go_on || stop_after {
            return;
        }
    }
}

struct Sink<'a, 'e> {
    file: &'a Arc<PathBuf>,
    emit: &'e mut dyn FnMut(RawDocument) -> bool,
    streamed: &'a mut usize,
    stop: &'a mut bool,
}

impl Sink<'_, '_> {
    fn send(&mut self, locator: String, value: Value) -> bool {
        *self.streamed += 1;
        let go_on = (self.emit)(RawDocument {
            file: self.file.clone(),
            locator,
            table: None,
            value: Ok(value),
        });
        if !go_on {
            *self.stop = true;
        }
        go_on
    }
}

/// The top level of a whole-file JSON text: streams `conversations` (or a top-level array)
/// element by element; anything else is a single document, returned whole.
struct TopLevel<'s, 'a, 'e> {
    sink: &'s mut Sink<'a, 'e>,
}

impl<'de> DeserializeSeed<'de> for TopLevel<'_, '_, '_> {
    type Value = Option<Value>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopLevel<'_, '_, '_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a conversation, a list of conversations or {\"conversations\": [...]}")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        stream_elements(seq, self.sink, "$")?;
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut rest = Map::new();
        let mut streamed = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "conversations" && !streamed {
                map.next_value_seed(Elements {
                    sink: &mut *self.sink,
                    prefix: "$.conversations",
                })?;
                streamed = true;
            } else {
                rest.insert(key, map.next_value()?);
            }
        }
        // Query responses carry paging fields beside the conversations: nothing to import.
        Ok(if streamed {
            None
        } else {
            Some(Value::Object(rest))
        })
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Err(E::custom(
            "expected a JSON object or array at the top level, found a string",
        ))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Err(E::custom(
            "expected a JSON object or array at the top level, found a number",
        ))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Err(E::custom(
            "expected a JSON object or array at the top level, found a number",
        ))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Err(E::custom(
            "expected a JSON object or array at the top level, found a number",
        ))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Err(E::custom(
            "expected a JSON object or array at the top level, found a boolean",
        ))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Err(E::custom(
            "expected a JSON object or array at the top level, found null",
        ))
    }
}

struct Elements<'s, 'a, 'e> {
    sink: &'s mut Sink<'a, 'e>,
    prefix: &'static str,
}

impl<'de> DeserializeSeed<'de> for Elements<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Elements<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of conversations")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        stream_elements(seq, self.sink, self.prefix)
    }
}

fn stream_elements<'de, A: SeqAccess<'de>>(
    mut seq: A,
    sink: &mut Sink<'_, '_>,
    prefix: &str,
) -> Result<(), A::Error> {
    let mut i = 0usize;
    while let Some(value) = seq.next_element::<Value>()? {
        if !sink.send(format!("{prefix}[{i}]"), value) {
            return Err(de::Error::custom("stopped"));
        }
        i += 1;
    }
    Ok(())
}

/// serde_json's message says "at line 1 column 9"; on a JSON line only the column matters.
fn strip_line(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(at) => format!("{} at column {}", &text[..at], e.column()),
        None => text,
    }
}
