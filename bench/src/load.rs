//! The load generator: closed-loop workers, each running its next unit of work as soon as the
//! previous one finished, until a deadline; every latency is kept.

use futures::future::BoxFuture;
use rand::{Rng as _, SeedableRng as _};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one unit of work (a request, or a walk of several requests) did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// HTTP requests or SQL round trips it made.
    pub requests: u32,
    /// The latencies of its parts (the pages of a walk); empty for a single request.
    pub parts: Vec<Duration>,
}

/// One unit of work; the argument is a random number for choosing what to ask for.
pub type Op = Arc<dyn Fn(u64) -> BoxFuture<'static, anyhow::Result<Outcome>> + Send + Sync>;

/// What a run measured.
#[derive(Debug, Default)]
pub struct Run {
    /// From the start until the last worker finished its last unit.
    pub elapsed: Duration,
    /// The latency of every unit that succeeded.
    pub latencies: Vec<Duration>,
    /// The latencies of their parts.
    pub parts: Vec<Duration>,
    /// Requests made by the units that succeeded.
    pub requests: u64,
    pub errors: u64,
    pub first_error: Option<String>,
}

/// Runs `op` on `concurrency` workers until `duration` has passed (units in flight then
/// finish and count). `seed` makes the random choices repeatable.
pub async fn drive(op: &Op, concurrency: usize, duration: Duration, seed: u64) -> Run {
    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|worker| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ ((worker as u64) << 32));
                let mut run = Run::default();
                while Instant::now() < deadline {
                    let pick = rng.random::<u64>();
                    let t0 = Instant::now();
                    match op(pick).await {
                        Ok(outcome) => {
                            run.latencies.push(t0.elapsed());
                            run.parts.extend(outcome.parts);
                            run.requests += u64::from(outcome.requests);
                        }
                        Err(e) => {
                            run.errors += 1;
                            run.first_error.get_or_insert_with(|| format!("{e:#}"));
                            // A failing target fails fast; do not spin on it.
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                }
                run
            })
        })
        .collect();
    let mut total = Run::default();
    for worker in workers {
        match worker.await {
            Ok(run) => {
                total.latencies.extend(run.latencies);
                total.parts.extend(run.parts);
                total.requests += run.requests;
                total.errors += run.errors;
                if total.first_error.is_none() {
                    total.first_error = run.first_error;
                }
            }
            Err(e) => {
                total.errors += 1;
                total.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    total.elapsed = started.elapsed();
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_unit_is_recorded_with_its_parts_and_failures_apart() {
        let op: Op = Arc::new(|pick| {
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(2)).await;
                anyhow::ensure!(pick % 4 != 0, "unlucky {pick}");
                Ok(Outcome {
                    requests: 2,
                    parts: vec![Duration::from_millis(1); 2],
                })
            })
        });
        let run = drive(&op, 3, Duration::from_millis(100), 7).await;
        let units = run.latencies.len() as u64;
        assert!(units > 0 && run.errors > 0, "{run:?}");
        assert_eq!(run.requests, 2 * units);
        assert_eq!(run.parts.len() as u64, 2 * units);
        assert!(run.latencies.iter().all(|l| *l >= Duration::from_millis(2)));
        assert!(run.first_error.is_some_and(|e| e.starts_with("unlucky")));
        assert!(run.elapsed >= Duration::from_millis(100));
    }
}
