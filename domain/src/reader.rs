//! A path-tracking reader over one JSON object of a source document.
//!
//! Every value is read by its source key; what is read is remembered, so that whatever the
//! source sent that has no field of its own ends up in the row's `extra` object, never dropped.
//! Every error names the JSON path of the value that was wrong.

use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

use crate::error::DocumentError;

/// A JSON object being read, with its path in the document.
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
    used: BTreeSet<&'a str>,
}

impl<'a> Obj<'a> {
    /// Reads `value` as an object, failing with its path when it is something else.
    pub fn new(value: &'a Value, path: impl Into<String>) -> Result<Self, DocumentError> {
        let path = path.into();
        match value {
            Value::Object(map) => Ok(Self {
                map,
                path,
                used: BTreeSet::new(),
            }),
            other => Err(DocumentError::new(
                path,
                format!("expected an object, found {}", kind_of(other)),
            )),
        }
    }

    /// The path of this object, e.g. `$.participants[0].sessions[2]`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The path of `key` inside this object.
    pub fn path_of(&self, key: &str) -> String {
        format!("{}.{}", self.path, key)
    }

    /// The value at `key`, marking it read; JSON `null` counts as absent.
    fn take(&mut self, key: &str) -> Option<(&'a str, &'a Value)> {
        let (k, v) = self.map.get_key_value(key)?;
        self.used.insert(k.as_str());
        if v.is_null() { None } else { Some((k, v)) }
    }

    fn wrong(&self, key: &str, expected: &str, found: &Value) -> DocumentError {
        DocumentError::new(
            self.path_of(key),
            format!("expected {expected}, found {}", kind_of(found)),
        )
    }

    /// An optional string.
    pub fn str(&mut self, key: &str) -> Result<Option<String>, DocumentError> {
        match self.take(key) {
            None => Ok(None),
            Some((_, Value::String(s))) => Ok(Some(s.clone())),
            Some((_, v)) => Err(self.wrong(key, "a string", v)),
        }
    }

    /// A string that must be present and not empty (an id).
    pub fn required_str(&mut self, key: &str) -> Result<String, DocumentError> {
        match self.str(key)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            Some(_) => Err(DocumentError::new(self.path_of(key), "must not be empty")),
            None => Err(DocumentError::new(self.path_of(key), "is required")),
        }
    }

    /// A value of an open source enumeration, normalised to the analytics spelling:
    /// `"VOICE"` becomes `"voice"`, `"CONSULT_TRANSFER"` becomes `"consultTransfer"`;
    /// camelCase and unknown values are kept as they are.
    pub fn enumeration(&mut self, key: &str) -> Result<Option<String>, DocumentError> {
        Ok(self.str(key)?.map(|s| normalize_enum(&s)))
    }

    /// An optional timestamp; it must carry a zone (`Z` or an offset).
    pub fn time(&mut self, key: &str) -> Result<Option<DateTime<Utc>>, DocumentError> {
        match self.take(key) {
            None => Ok(None),
            Some((_, Value::String(s))) => parse_time(s)
                .map(Some)
                .map_err(|msg| DocumentError::new(self.path_of(key), msg)),
            Some((_, v)) => Err(self.wrong(key, "an ISO-8601 timestamp string", v)),
        }
    }

    /// An optional wall-clock time without a zone (a source's local time), as sent; a value
    /// with a zone keeps its wall-clock part.
    pub fn localtime(&mut self, key: &str) -> Result<Option<chrono::NaiveDateTime>, DocumentError> {
        match self.take(key) {
            None => Ok(None),
            Some((_, Value::String(s))) => parse_local_time(s)
                .map(Some)
                .map_err(|msg| DocumentError::new(self.path_of(key), msg)),
            Some((_, v)) => Err(self.wrong(key, "a local timestamp string", v)),
        }
    }

    /// An optional integer.
    pub fn int(&mut self, key: &str) -> Result<Option<i64>, DocumentError> {
        match self.take(key) {
            None => Ok(None),
            Some((_, Value::Number(n))) => match n.as_i64() {
                Some(i) => Ok(Some(i)),
                None => Err(DocumentError::new(
                    self.path_of(key),
                    format!("expected an integer, found {n}"),
                )),
            },
            Some((_, v)) => Err(self.wrong(key, "an integer", v)),
        }
    }

    /// An optional number.
    pub fn float(&mut self, key: &str) -> Result<Option<f64>, DocumentError> {
        match self.take(key) {
            None => Ok(None),
            Some((_, Value::Number(n))) => Ok(n.as_f64()),
            Some((_, v)) => Err(self.wrong(key, "a number", v)),
        }
    }

    /// An optional boolean.
    pub fn bool(&mut self, key: &str) -> Result<Option<bool>, DocumentError> {
        match self.take(key) {
            None => Ok(None),
            Some((_, Value::Bool(b))) => Ok(Some(*b)),
            Some((_, v)) => Err(self.wrong(key, "a boolean", v)),
        }
    }

    /// An optional list of strings.
    pub fn strs(&mut self, key: &str) -> Result<Option<Vec<String>>, DocumentError> {
        let Some(items) = self.array(key)? else {
            return Ok(None);
        };
        let path = self.path_of(key);
        items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(DocumentError::new(
                    format!("{path}[{i}]"),
                    format!("expected a string, found {}", kind_of(other)),
                )),
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// An optional list of integers.
    pub fn ints(&mut self, key: &str) -> Result<Option<Vec<i64>>, DocumentError> {
        let Some(items) = self.array(key)? else {
            return Ok(None);
        };
        let path = self.path_of(key);
        items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_i64().ok_or_else(|| {
                    DocumentError::new(
                        format!("{path}[{i}]"),
                        format!("expected an integer, found {}", kind_of(v)),
                    )
                })
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// Any JSON value kept as it is (objects with no table of their own).
    pub fn json(&mut self, key: &str) -> Result<Option<Value>, DocumentError> {
        Ok(self.take(key).map(|(_, v)| v.clone()))
    }

    /// An optional array, for lists of child objects.
    pub fn array(&mut self, key: &str) -> Result<Option<&'a Vec<Value>>, DocumentError> {
        match self.take(key) {
            None => Ok(None),
            Some((_, Value::Array(items))) => Ok(Some(items)),
            Some((_, v)) => Err(self.wrong(key, "an array", v)),
        }
    }

    /// An optional child object.
    pub fn object(&mut self, key: &str) -> Result<Option<Obj<'a>>, DocumentError> {
        let path = self.path_of(key);
        match self.take(key) {
            None => Ok(None),
            Some((_, v)) => Obj::new(v, path).map(Some),
        }
    }

    /// The child objects of the array at `key`, each with its own path.
    pub fn children(&mut self, key: &str) -> Result<Vec<Obj<'a>>, DocumentError> {
        let path = self.path_of(key);
        match self.array(key)? {
            None => Ok(Vec::new()),
            Some(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| Obj::new(v, format!("{path}[{i}]")))
                .collect(),
        }
    }

    /// Everything in this object that was not read: it goes to the row's `extra`.
    pub fn into_extra(self) -> Map<String, Value> {
        self.map
            .iter()
            .filter(|(k, _)| !self.used.contains(k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// Parses an ISO-8601 / RFC 3339 timestamp with a zone into UTC.
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    use chrono::Datelike as _;
    let parsed = DateTime::<FixedOffset>::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc));
    if let Ok(t) = parsed
        && !(1..=9999).contains(&t.year())
    {
        return Err(format!(
            "{s:?} is outside the supported years 0001 to 9999 (in UTC)"
        ));
    }
    parsed.map_err(|e| {
        let no_zone = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok();
        if no_zone {
            format!("timestamp {s:?} has no time zone (expected e.g. 2024-05-01T10:00:00Z)")
        } else {
            format!("{s:?} is not an ISO-8601 timestamp ({e})")
        }
    })
}

/// Parses a local wall-clock time (`2024-05-01T10:00:00`, `2024-05-01 10:00:00.123`); a
/// timestamp with a zone gives its wall-clock part.
pub fn parse_local_time(s: &str) -> Result<chrono::NaiveDateTime, String> {
    let t = s.trim();
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(t, f).ok())
    .or_else(|| {
        DateTime::<FixedOffset>::parse_from_rfc3339(t)
            .ok()
            .map(|d| d.naive_local())
    })
    .ok_or_else(|| format!("{s:?} is not a timestamp (expected e.g. 2024-05-01T10:00:00)"))
}

/// Normalises a source enumeration value to the analytics (camelCase) spelling:
/// UPPER_SNAKE (detail events) and PascalCase (platform objects) become camelCase.
pub fn normalize_enum(s: &str) -> String {
    let mut chars = s.chars();
    if let Some(first) = chars.next() {
        let rest = chars.as_str();
        let pascal = first.is_ascii_uppercase()
            && rest.chars().any(|c| c.is_ascii_lowercase())
            && rest.chars().all(|c| c.is_ascii_alphanumeric());
        if pascal {
            return first.to_ascii_lowercase().to_string() + rest;
        }
    }
    let is_upper = s.chars().any(|c| c.is_ascii_uppercase())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !is_upper {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    for (i, word) in s.split('_').filter(|w| !w.is_empty()).enumerate() {
        let lower = word.to_ascii_lowercase();
        if i == 0 {
            out.push_str(&lower);
        } else {
            let mut chars = lower.chars();
            if let Some(first) = chars.next() {
                out.push(first.to_ascii_uppercase());
                out.extend(chars);
            }
        }
    }
    out
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn upper_snake_enums_become_camel_case() {
        assert_eq!(normalize_enum("VOICE"), "voice");
        assert_eq!(normalize_enum("CONSULT_TRANSFER"), "consultTransfer");
        assert_eq!(normalize_enum("consultTransfer"), "consultTransfer");
        assert_eq!(normalize_enum("brandNewValue"), "brandNewValue");
        assert_eq!(normalize_enum("Interact"), "interact");
        assert_eq!(normalize_enum("ConsultTransfer"), "consultTransfer");
        assert_eq!(normalize_enum(""), "");
    }

    #[test]
    fn timestamp_without_zone_is_named_as_such() {
        let err = parse_time("2024-05-01T10:00:00").unwrap_err();
        assert!(err.contains("has no time zone"), "{err}");
        assert!(parse_time("2024-05-01T12:00:00+02:00").is_ok());
        assert!(
            parse_time("yesterday")
                .unwrap_err()
                .contains("not an ISO-8601")
        );
    }

    #[test]
    fn unread_keys_land_in_extra_and_nulls_are_absent() {
        let v = json!({"a": "x", "b": null, "c": {"d": 1}});
        let mut o = Obj::new(&v, "$").unwrap();
        assert_eq!(o.str("a").unwrap().as_deref(), Some("x"));
        assert_eq!(o.str("b").unwrap(), None);
        let extra = o.into_extra();
        assert_eq!(Value::Object(extra), json!({"c": {"d": 1}}));
    }

    #[test]
    fn wrong_type_names_the_path() {
        let v = json!({"list": ["a", 3]});
        let mut o = Obj::new(&v, "$.x[1]").unwrap();
        let err = o.strs("list").unwrap_err();
        assert_eq!(err.path, "$.x[1].list[1]");
        assert_eq!(err.message, "expected a string, found a number");
    }
}
