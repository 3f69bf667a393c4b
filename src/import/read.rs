//! Reading source files as a stream of JSON documents, in bounded memory.
//!
//! A file is one of: JSON lines (one conversation a line), a query response
//! (`{"conversations": [ … ]}`), a JSON array of conversations, or a single conversation. The
//! container is detected from the content; a multi-gigabyte file is never held in memory whole,
//! only one document at a time.

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
    /// Where in the file: `line 12`, `$.conversations[3]`, `$[0]` or `$`.
    pub locator: String,
    pub value: Result<Value, String>,
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
    bytes_read: Arc<AtomicU64>,
    emit: &mut dyn FnMut(RawDocument) -> bool,
) -> io::Result<()> {
    let file = Arc::new(path.to_path_buf());
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
            read_whole(&file, reader, emit);
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
            Err(e) => Err(format!("cannot read: {e}")),
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => continue,
            Ok(bytes) => match std::str::from_utf8(&bytes) {
                Err(e) => Err(format!("not valid UTF-8 (byte {})", e.valid_up_to())),
                Ok(text) => serde_json::from_str::<Value>(text)
                    .map_err(|e| format!("malformed JSON: {}", strip_line(&e))),
            },
        };
        if !emit(RawDocument {
            file: file.clone(),
            locator,
            value,
        }) {
            return;
        }
    }
}

fn read_whole(
    file: &Arc<PathBuf>,
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
        Ok(Some(doc)) => {
            emit(RawDocument {
                file: file.clone(),
                locator: "$".into(),
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
                value: Err(message),
            });
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
