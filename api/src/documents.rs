//! Parsed GraphQL documents, kept by their text: a dashboard sends the same few documents over
//! and over, and parsing a full-depth one (about 500 fields) cost more CPU than the statement it
//! becomes. Parsing depends on the text alone, so a document parsed once serves every request
//! that sends the same text, whoever sends it; the limits, validation and scope still apply to
//! each request.
//!
//! Bounded: at most [`ENTRIES`] documents of at most [`LONGEST`] bytes each; when full, the
//! least recently used goes. A client that sends a new document each time only churns the
//! cache; it never grows it.

use async_graphql::parser::types::ExecutableDocument;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

/// Documents kept at most.
pub const ENTRIES: usize = 128;
/// The longest document text kept (longer ones are parsed every time).
pub const LONGEST: usize = 64 * 1024;

/// The process's cache.
static CACHE: LazyLock<Mutex<Cache>> = LazyLock::new(|| Mutex::new(Cache::default()));

/// The document `query` parses to, from the cache or parsed now (and kept); `None` when it
/// does not parse (the caller leaves the error to async-graphql's own parse step, which words
/// it).
pub fn parsed(query: &str) -> Option<Arc<ExecutableDocument>> {
    if let Some(document) = lock().get(query) {
        return Some(document);
    }
    let document = Arc::new(async_graphql::parser::parse_query(query).ok()?);
    if query.len() <= LONGEST {
        lock().insert(query, Arc::clone(&document));
    }
    Some(document)
}

fn lock() -> std::sync::MutexGuard<'static, Cache> {
    CACHE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Documents by text, each with the tick it was last used at.
#[derive(Default)]
struct Cache {
    documents: HashMap<String, (Arc<ExecutableDocument>, u64)>,
    tick: u64,
}

impl Cache {
    fn get(&mut self, query: &str) -> Option<Arc<ExecutableDocument>> {
        self.tick += 1;
        let tick = self.tick;
        self.documents.get_mut(query).map(|(document, used)| {
            *used = tick;
            Arc::clone(document)
        })
    }

    fn insert(&mut self, query: &str, document: Arc<ExecutableDocument>) {
        if self.documents.len() >= ENTRIES && !self.documents.contains_key(query) {
            let oldest = self
                .documents
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(text, _)| text.clone());
            if let Some(oldest) = oldest {
                self.documents.remove(&oldest);
            }
        }
        self.tick += 1;
        self.documents
            .insert(query.to_owned(), (document, self.tick));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(n: usize) -> (String, Arc<ExecutableDocument>) {
        let text = format!("query Q{n} {{ __typename }}");
        let document = Arc::new(async_graphql::parser::parse_query(&text).expect("parses"));
        (text, document)
    }

    #[test]
    fn the_least_recently_used_document_goes_first() {
        let mut cache = Cache::default();
        for n in 0..ENTRIES {
            let (text, document) = document(n);
            cache.insert(&text, document);
        }
        // The first is used again: the second is now the least recently used.
        assert!(cache.get(&document(0).0).is_some());
        let (text, extra) = document(ENTRIES);
        cache.insert(&text, extra);
        assert_eq!(cache.documents.len(), ENTRIES);
        assert!(cache.get(&document(0).0).is_some());
        assert!(cache.get(&document(1).0).is_none());
        assert!(cache.get(&text).is_some());
    }

    #[test]
    fn the_same_text_gives_the_same_document_and_a_bad_one_none() {
        let text = "query Same { __typename }";
        let first = parsed(text).expect("parses");
        let second = parsed(text).expect("parses");
        assert!(Arc::ptr_eq(&first, &second));
        assert!(parsed("query { ").is_none());
    }
}
