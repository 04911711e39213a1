//! Two or more builds of the component, compared on one batch: each runs
//! `Worker::execute_batch` over the same 1,000 bench events in turn, round
//! after round in one process, so that the machine's slow phases fall on
//! all of them alike. Prints each build's fastest, first-quartile and
//! median batch, per event.
//!
//! ```text
//! cargo run --release -p host-harness --example compare_components -- \
//!     before.wasm after.wasm [--rounds 80]
//! ```
//!
//! The README's "best of 77 batches" figures are this example's fastest
//! batch with the default 80 rounds (the first three are left out).

use action_host::{ActionEngine, EgressPolicy, Limits, Reuse, wit};
use anyhow::{Context, Result};
use host_harness::bench::{bench_contact, bench_firing, bench_settings};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Rounds left out at the start: the first batches fill caches and heaps.
const WARM_UP: usize = 3;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let mut paths = Vec::new();
    let mut rounds = 80;
    while let Some(arg) = args.next() {
        if arg == "--rounds" {
            rounds = args
                .next()
                .and_then(|n| n.parse().ok())
                .context("--rounds takes a number")?;
        } else {
            paths.push(arg);
        }
    }
    anyhow::ensure!(
        !paths.is_empty() && rounds > WARM_UP,
        "usage: compare_components A.wasm [B.wasm ...] [--rounds N] (N > {WARM_UP})"
    );

    let settings = bench_settings();
    let at = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64 - 60;
    let batch: Vec<wit::BatchItem> = (0..1000)
        .map(|i| wit::BatchItem {
            firing: bench_firing(i, at),
            contact: bench_contact(i),
        })
        .collect();
    let ack = r#"{"events_received":1000,"messages":[],"fbtrace_id":"bench"}"#;
    let policy = Arc::new(EgressPolicy::graph(None).answered_locally_for_benchmarks(200, ack));
    let mut workers = Vec::new();
    for path in &paths {
        let bytes = std::fs::read(path).with_context(|| format!("reading {path}"))?;
        let (engine, _) = ActionEngine::load(&bytes, Limits::default(), None)
            .with_context(|| format!("loading {path}"))?;
        workers.push(Arc::new(engine).worker(policy.clone(), Reuse::default()));
    }

    let mut samples = vec![Vec::new(); paths.len()];
    for round in 0..rounds {
        for (worker, samples) in workers.iter_mut().zip(&mut samples) {
            let t = Instant::now();
            let exec = worker.execute_batch(&settings, &batch).await;
            let per_event = t.elapsed().as_secs_f64() * 1e6 / batch.len() as f64;
            anyhow::ensure!(
                matches!(&exec.result, Ok(Ok(r)) if r.iter().all(Result::is_ok)),
                "a batch failed: {:?}",
                exec.result
            );
            if round >= WARM_UP {
                samples.push(per_event);
            }
        }
    }
    for (path, mut s) in paths.iter().zip(samples) {
        s.sort_by(f64::total_cmp);
        println!(
            "{path}: fastest {:.2}, first quartile {:.2}, median {:.2} µs per event over {} batches",
            s[0],
            s[s.len() / 4],
            s[s.len() / 2],
            s.len()
        );
    }
    Ok(())
}
