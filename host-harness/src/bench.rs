//! `host-harness bench`: figures anyone can reproduce on their machine. Each
//! section prints what it measured and how; nothing here is asserted.

use crate::component::BUNDLED_COMPONENT;
use action_host::{ActionEngine, EgressPolicy, Limits, wit};
use anyhow::{Context as _, Result};
use graph_double::{DEFAULT_TOKEN, DoubleConfig, GraphDouble};
use serde_json::json;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Iterations of the per-firing measurements.
    pub iterations: usize,
    /// Firings of the end-to-end run.
    pub e2e_firings: usize,
    /// Firings of the peak-memory run (0 skips it).
    pub memory_firings: usize,
    /// Executions in flight in the end-to-end runs.
    pub concurrency: usize,
}

/// One contact of the benchmark population; the same formula as
/// `benches/python_sdk.py`, so both sides do the same work.
pub fn bench_contact(i: usize) -> wit::Contact {
    wit::Contact {
        id: format!("c{i}"),
        emails: vec![format!("User{i}@Example.com")],
        phones: vec![format!("(650) 555-{:04}", i % 10_000)],
        first_name: Some(format!("First{i}")),
        last_name: Some("Last".into()),
        gender: Some(
            if i.is_multiple_of(2) {
                "female"
            } else {
                "male"
            }
            .into(),
        ),
        date_of_birth: Some(format!("1990-01-{:02}", i % 28 + 1)),
        city: Some("Menlo Park".into()),
        state: Some("California".into()),
        postal_code: Some("94025-1234".into()),
        country: Some("US".into()),
        custom_fields: "{}".into(),
    }
}

/// The firing of contact `i`: a Purchase on the website.
pub fn bench_firing(i: usize, occurred_at: i64) -> wit::Firing {
    wit::Firing {
        id: format!("f{i}"),
        trigger_type: "order_placed".into(),
        occurred_at,
        data: json!({
            "order": {"id": format!("o{i}"), "total": 10.0 + i as f64, "currency": "USD"},
            "page": {"url": "https://shop.example/thanks"},
            "client": {"user_agent": "Mozilla/5.0", "ip_address": "203.0.113.9"}
        })
        .to_string(),
    }
}

/// The settings every measurement uses.
pub fn bench_settings() -> String {
    json!({"pixel_id": "1234567890", "access_token": DEFAULT_TOKEN, "event": "Purchase"})
        .to_string()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn native_contact(c: &wit::Contact) -> send_conversion_event::input::Contact {
    send_conversion_event::input::Contact {
        id: c.id.clone(),
        emails: c.emails.clone(),
        phones: c.phones.clone(),
        first_name: c.first_name.clone(),
        last_name: c.last_name.clone(),
        gender: c.gender.clone(),
        date_of_birth: c.date_of_birth.clone(),
        city: c.city.clone(),
        state: c.state.clone(),
        postal_code: c.postal_code.clone(),
        country: c.country.clone(),
        custom_fields: Default::default(),
    }
}

fn native_firing(f: &wit::Firing) -> Result<send_conversion_event::input::Firing> {
    Ok(send_conversion_event::input::Firing {
        id: f.id.clone(),
        trigger_type: f.trigger_type.clone(),
        occurred_at: f.occurred_at,
        data: send_conversion_event::json_tree::JsonTree::parse(&f.data)?,
    })
}

/// Times `n` executions after 50 to warm up; each must be accepted.
async fn timed<T: std::fmt::Debug, F: std::fmt::Debug>(
    n: usize,
    mut execute: impl AsyncFnMut() -> Result<Result<T, F>, action_host::HostFailure>,
) -> Result<Vec<Duration>> {
    let mut samples = Vec::with_capacity(n);
    for i in 0..n + 50 {
        let t = Instant::now();
        let result = execute().await;
        if i >= 50 {
            samples.push(t.elapsed());
        }
        anyhow::ensure!(matches!(result, Ok(Ok(_))), "execution failed: {result:?}");
    }
    Ok(samples)
}

/// Runs every measurement and returns the printed figures.
pub async fn bench(options: &BenchOptions, out: &mut dyn FnMut(&str)) -> Result<()> {
    let settings = bench_settings();
    let limits = Limits {
        max_concurrency: options.concurrency.max(1) as u32,
        ..Limits::default()
    };
    out(&format!(
        "component: {} bytes (bundled, `guest` profile)",
        BUNDLED_COMPONENT.len()
    ));

    // Loading: compile versus the on-disk cache.
    let cache = tempfile::tempdir()?;
    let (_, first) = ActionEngine::load(BUNDLED_COMPONENT, limits.clone(), Some(cache.path()))?;
    let (engine, second) =
        ActionEngine::load(BUNDLED_COMPONENT, limits.clone(), Some(cache.path()))?;
    anyhow::ensure!(
        !first.from_cache() && second.from_cache(),
        "the cache did not serve the second load"
    );
    out(&format!(
        "load: compile + pre-instantiate {:.1} ms; from the compiled cache {:.2} ms",
        first.elapsed.as_secs_f64() * 1e3,
        second.elapsed.as_secs_f64() * 1e3
    ));
    let engine = Arc::new(engine);

    // Instantiation alone.
    let n = options.iterations;
    for _ in 0..50 {
        engine.instantiate_only().await?;
    }
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        engine.instantiate_only().await?;
        samples.push(t.elapsed());
    }
    let (median, p99) = percentiles(samples);
    out(&format!(
        "instantiate (fresh store + instance, pooling): median {}, p99 {} over {n}",
        us(median),
        us(p99)
    ));

    // Per firing: store + instantiate + execute, the HTTP answer served by
    // the egress hook itself.
    let policy = Arc::new(EgressPolicy::graph(None).answered_locally_for_benchmarks(
        200,
        r#"{"events_received":1,"messages":[],"fbtrace_id":"bench"}"#,
    ));
    let contact = bench_contact(7);
    let firing = bench_firing(7, now() - 60);
    let samples = timed(n, async || {
        engine
            .execute(policy.clone(), &settings, &firing, &contact)
            .await
            .result
    })
    .await?;
    let (median, p99) = percentiles(samples);
    out(&format!(
        "per firing, host overhead (store + instantiate + execute, answer from the egress hook, no socket): median {}, p99 {} over {n}",
        us(median),
        us(p99)
    ));

    // The same with instance reuse: one worker, as `run` does by default.
    let mut worker = engine.worker(policy.clone(), action_host::Reuse::default());
    let samples = timed(n, async || {
        worker.execute(&settings, &firing, &contact).await.result
    })
    .await?;
    let (median, p99) = percentiles(samples);
    out(&format!(
        "per firing, host overhead with a reused instance (a worker; execute, answer from the egress hook, no socket): median {}, p99 {} over {n} ({} instances)",
        us(median),
        us(p99),
        worker.instances()
    ));

    // The same mapping + normalisation + hashing + serialisation, natively
    // and inside the component.
    let reps = n.max(1000);
    let native_f = native_firing(&firing)?;
    let native_c = native_contact(&contact);
    let t = Instant::now();
    for _ in 0..reps {
        let p = send_conversion_event::preview(&settings, &native_f, &native_c, now())
            .map_err(|f| anyhow::anyhow!("{f:?}"))?;
        std::hint::black_box(p);
    }
    let native = t.elapsed() / reps as u32;
    let inside = engine
        .preview_repeatedly(&settings, &firing, &contact, reps)
        .await?
        / reps as u32;
    out(&format!(
        "mapping + normalisation + hashing + JSON of one event: native {}, in the component {} (ratio {:.2})",
        us(native),
        us(inside),
        inside.as_secs_f64() / native.as_secs_f64()
    ));

    // Per event in a batch: the settings read once, 1,000 events built and
    // serialised into one request, Meta's acknowledgement read for each.
    // Natively, then in the component in a reused instance (the answer
    // from the egress hook, so the figure holds the host's plumbing too).
    let at = now() - 60;
    let batch: Vec<wit::BatchItem> = (0..1000)
        .map(|i| wit::BatchItem {
            firing: bench_firing(i, at),
            contact: bench_contact(i),
        })
        .collect();
    let native_batch: Vec<_> = batch
        .iter()
        .map(|item| Ok((native_firing(&item.firing)?, native_contact(&item.contact))))
        .collect::<Result<_>>()?;
    let ack = r#"{"events_received":1000,"messages":[],"fbtrace_id":"bench"}"#;
    let rounds = (n / 100).max(5);
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds + 1 {
        let t = Instant::now();
        let results =
            send_conversion_event::execute_batch(&settings, &native_batch, now(), &mut |_| {
                Ok((200, ack.to_string()))
            });
        samples.push(t.elapsed() / batch.len() as u32);
        anyhow::ensure!(results.iter().all(|r| r.is_ok()), "a native event failed");
    }
    let (native_batched, _) = percentiles(samples.split_off(1));
    let batch_policy =
        Arc::new(EgressPolicy::graph(None).answered_locally_for_benchmarks(200, ack));
    let mut worker = engine.worker(batch_policy, action_host::Reuse::default());
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds + 1 {
        let t = Instant::now();
        let exec = worker.execute_batch(&settings, &batch).await;
        samples.push(t.elapsed() / batch.len() as u32);
        let failed = match &exec.result {
            Ok(Ok(results)) => results
                .iter()
                .find_map(|r| r.as_ref().err())
                .map(|f| format!("{f:?}")),
            Ok(Err(f)) => Some(format!("{f:?}")),
            Err(h) => Some(h.to_string()),
        };
        anyhow::ensure!(failed.is_none(), "a batched event failed: {failed:?}");
    }
    let (inside_batched, _) = percentiles(samples.split_off(1));
    out(&format!(
        "per event in batches of 1,000 (settings read once, one request, each acknowledgement read): native {}, in the component with a reused instance and the host's plumbing {} (medians over {rounds} batches)",
        us(native_batched),
        us(inside_batched)
    ));

    // The Python SDK comparison's counterpart: 10,000 contacts turned into
    // events by the component in the host, a fresh instance each.
    let count = 10_000;
    let t = Instant::now();
    let at = now() - 60;
    for i in 0..count {
        let exec = engine
            .preview(&settings, &bench_firing(i, at), &bench_contact(i))
            .await;
        anyhow::ensure!(matches!(exec.result, Ok(Ok(_))), "preview failed");
    }
    let elapsed = t.elapsed();
    out(&format!(
        "10,000 contacts to Meta events (normalise, hash, serialise; no network) by the component in the host: {:.0} events/s",
        count as f64 / elapsed.as_secs_f64()
    ));

    // Whole `host-harness run` processes against the double served by this
    // process, each from the compiled cache the first cold start fills.
    let exe = std::env::current_exe()?;
    let dir = tempfile::tempdir()?;
    let double = GraphDouble::start("127.0.0.1:0".parse()?, DoubleConfig::default()).await?;
    let cache = tempfile::tempdir()?;
    write_run_files(dir.path(), 1)?;
    let mut cold = String::new();
    for label in ["first run (compiles)", "second run (cached)"] {
        let t = Instant::now();
        run_child(
            &exe,
            dir.path(),
            &double.url(),
            &["--no-outbox"],
            cache.path(),
            false,
        )
        .await
        .context("the cold-start run")?;
        let _ = write!(cold, "{label} {:.1} ms; ", t.elapsed().as_secs_f64() * 1e3);
    }
    out(&format!(
        "cold start of `host-harness run` until its first firing is done: {}",
        cold.trim_end_matches("; ")
    ));

    // End to end, as a platform runs it: the outbox and the report on, the
    // process's start from the cache included.
    write_run_files(dir.path(), options.e2e_firings)?;
    let concurrency = options.concurrency.to_string();
    let report = dir.path().join("report.json").display().to_string();
    // One event per request, `run` keeps 32 in flight by default (a thread
    // waits on each answer); 8, the batched default, is measured too, as
    // every earlier release was.
    let wide = (options.concurrency * 4).min(1024).to_string();
    for (label, in_flight, extra) in [
        ("one event per request", &concurrency, &[][..]),
        ("one event per request", &wide, &[][..]),
        (
            "`--batch-size 1000`",
            &concurrency,
            &["--batch-size", "1000"][..],
        ),
        (
            "`--batch-size 1000 --threads 1`",
            &concurrency,
            &["--batch-size", "1000", "--threads", "1"][..],
        ),
    ] {
        // Each run starts from nothing: no outbox, and no earlier report
        // for it to truncate (freeing a report's pages is the file
        // system's work, not the run's).
        let _ = std::fs::remove_file(dir.path().join("firings.jsonl.outbox.db"));
        let _ = std::fs::remove_file(&report);
        let mut args = vec!["--concurrency", in_flight, "--report", &report];
        args.extend_from_slice(extra);
        let t = Instant::now();
        run_child(&exe, dir.path(), &double.url(), &args, cache.path(), false)
            .await
            .with_context(|| format!("the end-to-end run, {label}"))?;
        let elapsed = t.elapsed();
        out(&format!(
            "end to end, `run` {label} against the loopback double, outbox and report on, concurrency {in_flight}: {:.0} firings/s ({} firings in {:.2} s)",
            options.e2e_firings as f64 / elapsed.as_secs_f64(),
            options.e2e_firings,
            elapsed.as_secs_f64()
        ));
    }

    if options.memory_firings > 0 {
        // Flat memory: a whole process over a large run, with its outbox
        // and its report, in batches (the mode that holds the most at once).
        write_run_files(dir.path(), options.memory_firings)?;
        let _ = std::fs::remove_file(dir.path().join("firings.jsonl.outbox.db"));
        let _ = std::fs::remove_file(&report);
        let t = Instant::now();
        let peak = run_child(
            &exe,
            dir.path(),
            &double.url(),
            &[
                "--concurrency",
                &concurrency,
                "--batch-size",
                "1000",
                "--report",
                &report,
            ],
            cache.path(),
            true,
        )
        .await
        .context("the memory run")?;
        let peak = peak.map_or("not measured on this system".into(), |kib| {
            format!(
                "{:.0} MiB (its resident set's high-water mark)",
                kib as f64 / 1024.0
            )
        });
        out(&format!(
            "peak memory of `host-harness run --batch-size 1000` (outbox and report on) over {} firings and as many contacts: {peak}, {:.1} s",
            options.memory_firings,
            t.elapsed().as_secs_f64()
        ));
    }
    Ok(())
}

/// Runs `host-harness run` over the files of `dir` to its end, off the
/// runtime's thread so that the double in this process keeps answering it.
/// With `watch_memory`, gives the run's peak resident memory, KiB, where the
/// system tells it; without, waits for the run's end as it comes, so that
/// timed runs do not carry the 5 ms of a poll. A run that does not succeed
/// is an error carrying what it wrote to stderr.
async fn run_child(
    exe: &Path,
    dir: &Path,
    graph_url: &str,
    extra: &[&str],
    cache: &Path,
    watch_memory: bool,
) -> Result<Option<u64>> {
    let mut command = Command::new(exe);
    command
        .arg("run")
        .arg("--workflow")
        .arg(dir.join("workflow.toml"))
        .arg("--contacts")
        .arg(dir.join("contacts.csv"))
        .arg("--triggers")
        .arg(dir.join("firings.jsonl"))
        .args(["--graph-url", graph_url])
        .args(extra)
        .env("HOST_HARNESS_CACHE", cache)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let (status, stderr, peak) = tokio::task::spawn_blocking(move || -> Result<_> {
        let mut child = command.spawn()?;
        let mut stderr = child.stderr.take().context("the run's stderr")?;
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
            text
        });
        let mut peak = None;
        let status = loop {
            if !watch_memory {
                break child.wait()?;
            }
            if let Some(status) = child.try_wait()? {
                break status;
            }
            peak = peak.max(peak_rss_kib(child.id()));
            std::thread::sleep(Duration::from_millis(5));
        };
        Ok((status, reader.join().unwrap_or_default(), peak))
    })
    .await??;
    anyhow::ensure!(
        status.success(),
        "`host-harness run {}` ended with {status}: {}",
        extra.join(" "),
        stderr.trim()
    );
    Ok(peak)
}

/// The high-water mark of a running process's resident memory, KiB
/// (Linux's `VmHWM`); `None` where the system does not tell it.
///
/// Not `getrusage` of the children: a child started with `posix_spawn`, as
/// `std::process::Command` starts it, is charged at its `exec` with the
/// high-water mark of the process that started it, so the bench's own
/// memory (the double's history of every event the end-to-end runs sent)
/// would pass for the run's.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()
}

/// Writes a workflow, `n` contacts and `n` firings for a run.
pub fn write_run_files(dir: &Path, n: usize) -> Result<()> {
    use std::io::Write;
    std::fs::write(
        dir.join("workflow.toml"),
        format!(
            "trigger = \"order_placed\"\n[[actions]]\n[actions.settings]\npixel_id = \"1234567890\"\naccess_token = \"{DEFAULT_TOKEN}\"\nevent = \"Purchase\"\n"
        ),
    )?;
    let mut contacts = std::io::BufWriter::new(std::fs::File::create(dir.join("contacts.csv"))?);
    writeln!(
        contacts,
        "id,email,phone,first_name,last_name,gender,date_of_birth,city,state,postal_code,country"
    )?;
    let mut firings = std::io::BufWriter::new(std::fs::File::create(dir.join("firings.jsonl"))?);
    let at = chrono::DateTime::from_timestamp(now() - 60, 0)
        .context("time")?
        .to_rfc3339();
    for i in 0..n {
        let c = bench_contact(i);
        let o = |s: &Option<String>| s.clone().unwrap_or_default();
        writeln!(
            contacts,
            "{},{},{},{},{},{},{},{},{},{},{}",
            c.id,
            c.emails[0],
            c.phones[0],
            o(&c.first_name),
            o(&c.last_name),
            o(&c.gender),
            o(&c.date_of_birth),
            o(&c.city),
            o(&c.state),
            o(&c.postal_code),
            o(&c.country)
        )?;
        let f = bench_firing(i, 0);
        writeln!(
            firings,
            "{{\"id\":\"{}\",\"type\":\"order_placed\",\"contact_id\":\"{}\",\"occurred_at\":\"{at}\",\"data\":{}}}",
            f.id, c.id, f.data
        )?;
    }
    contacts.flush()?;
    firings.flush()?;
    Ok(())
}
