//! The one tracing subscriber of the test binary, shared by the tests that read what the code
//! reports through tracing: it counts the SQL statements sqlx reports (`sqlx::query` events) and
//! keeps the INFO log lines. A process has one global subscriber, and tracing caches whether a
//! callsite is enabled from whichever thread reaches it first, so both live in one, installed
//! once.
//!
//! Statements are counted per thread: a `#[tokio::test]` runs its runtime, and the server it
//! starts, on the test's own thread, so a test's count holds its own statements and none of the
//! tests running beside it.

use std::cell::Cell;
use std::sync::{Arc, Mutex, OnceLock};
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;

thread_local! {
    static STATEMENTS: Cell<usize> = const { Cell::new(0) };
}

/// Counts `sqlx::query` events on the thread they happen on.
struct CountStatements;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountStatements {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() == "sqlx::query" {
            STATEMENTS.with(|n| n.set(n.get() + 1));
        }
    }
}

/// The INFO log lines of every test of the binary; a test looks for the lines of its own
/// request.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("logs").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    pub fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().expect("logs").clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// Installs the subscriber (once) and gives its log lines.
pub fn install() -> &'static Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let writer = logs.clone();
        let lines = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .with_filter(tracing_subscriber::filter::LevelFilter::INFO);
        let statements = CountStatements.with_filter(
            tracing_subscriber::filter::Targets::new()
                .with_target("sqlx::query", tracing::Level::TRACE),
        );
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(statements).with(lines),
        )
        .expect("the only global subscriber of the test binary");
        logs
    })
}

/// The statements sqlx has reported on this thread since the last call (the subscriber
/// installed first).
pub fn take_statements() -> usize {
    install();
    STATEMENTS.with(|n| n.replace(0))
}
