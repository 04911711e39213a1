//! `host-harness`: run Send Conversion Event workflows locally.

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use host_harness::engine::{ActionEngine, BUNDLED_COMPONENT, CacheUse, Limits, default_cache_dir};
use host_harness::graph_double::{Chaos, ChaosKind, DEFAULT_TOKEN, DoubleConfig, GraphDouble};
use host_harness::outbox::{Outbox, State};
use host_harness::report::Report;
use host_harness::report::Status;
use host_harness::retry::RetryPolicy;
use host_harness::run::{RunOptions, run};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "host-harness",
    version,
    about = "Runs the Send Conversion Event component in wasmtime, with a local double of Meta's Graph API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// Counts per state and the entries (all, or of one state).
    List {
        /// pending, delivered, skipped or dead.
        #[arg(long)]
        state: Option<String>,
    },
    /// Move dead-lettered entries back to pending: the next `run` over the
    /// same files sends them again, with the same event ids.
    Retry,
    /// Delete the entries of one state (delivered, skipped or dead).
    Purge {
        /// The state to delete.
        #[arg(long)]
        state: String,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Execute every trigger firing through the workflows that listen for it.
    Run {
        /// A workflow file (TOML or JSON) or a folder of them; repeatable.
        #[arg(long, required = true)]
        workflow: Vec<PathBuf>,
        /// Contacts: CSV with a header row, a JSON array, or JSON lines.
        #[arg(long)]
        contacts: PathBuf,
        /// Trigger firings, JSON lines.
        #[arg(long)]
        triggers: PathBuf,
        /// Send Graph API requests here instead of graph.facebook.com
        /// (e.g. a local double: http://127.0.0.1:8080).
        #[arg(long, value_parser = parse_graph_url)]
        graph_url: Option<http::Uri>,
        /// Write the full JSON report here.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Run this component instead of the bundled one.
        #[arg(long)]
        component: Option<PathBuf>,
        /// Executions in flight at once (1 to 1024).
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=i64::from(Limits::MAX_CONCURRENCY)))]
        concurrency: u32,
        /// Show the exact JSON each firing would send (hashes, no token) and
        /// send nothing.
        #[arg(long)]
        dry_run: bool,
        /// Keep the HTTP exchanges of accepted events in the report too
        /// (failed ones always keep theirs).
        #[arg(long)]
        record_requests: bool,
        /// Compile the component afresh instead of using the cache of
        /// compiled components.
        #[arg(long)]
        no_cache: bool,
        /// The outbox (SQLite) that makes the run resumable; default: the
        /// triggers file's path with `.outbox.db` added.
        #[arg(long)]
        outbox: Option<PathBuf>,
        /// Run without an outbox: a killed run starts over.
        #[arg(long, conflicts_with = "outbox")]
        no_outbox: bool,
        /// Attempts per execution in this run before it waits for the next.
        #[arg(long, default_value_t = 6)]
        max_attempts: u32,
        /// Events per request to Meta (1 to 1000): above 1, the firings of
        /// one action are sent in batches.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1000))]
        batch_size: u16,
    },
    /// List the outbox of a run, send dead-lettered events again, or purge.
    Outbox {
        /// The outbox file (`<triggers>.outbox.db` by default of `run`).
        #[arg(long)]
        db: PathBuf,
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// Serve the local Graph API double until interrupted.
    GraphDouble {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// An access token the double accepts; repeatable.
        #[arg(long = "token", default_value = DEFAULT_TOKEN)]
        tokens: Vec<String>,
        /// A pixel id that exists; repeatable (default: any id of digits).
        #[arg(long = "pixel")]
        pixels: Vec<String>,
        /// Share of `/events` requests that fail at random (0 to 1).
        #[arg(long, default_value_t = 0.0)]
        fault_rate: f64,
        /// Kinds of failure drawn from, comma-separated: 500, 503, 429,
        /// drop, cut (accepted, then the answer is cut), 400 (default: all).
        #[arg(long, value_delimiter = ',')]
        faults: Vec<String>,
        /// Added to every `/events` answer, milliseconds.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// Seed of the random failures.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Received events and requests kept (each); older ones are dropped
        /// and counted in `/_double/stats`.
        #[arg(long, default_value_t = 100_000)]
        max_kept: usize,
    },
    /// Run the bundled examples against the double and print a summary.
    Demo {
        /// Write the full JSON report here.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Keep the double and its Test Events page up after the demo,
        /// until interrupted.
        #[arg(long)]
        keep_serving: bool,
    },
    /// Check workflow files and their actions' settings; list every problem.
    Validate {
        /// A workflow file or a folder of them; repeatable.
        #[arg(long, required = true)]
        workflow: Vec<PathBuf>,
    },
    /// Measure the host and the component and print the figures.
    Bench {
        /// Iterations of the per-firing measurements.
        #[arg(long, default_value_t = 2000)]
        iterations: usize,
        /// Firings of the end-to-end run against the double.
        #[arg(long, default_value_t = 5000)]
        firings: usize,
        /// Firings of the peak-memory run (0 skips it).
        #[arg(long, default_value_t = 100_000)]
        memory_firings: usize,
        /// Executions in flight in the end-to-end runs (1 to 1024).
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=i64::from(Limits::MAX_CONCURRENCY)))]
        concurrency: u32,
    },
    /// Print the component's descriptor and settings schema.
    Describe {
        /// Describe this component instead of the bundled one.
        #[arg(long)]
        component: Option<PathBuf>,
    },
}

/// `--graph-url`: an absolute `http` or `https` URL, checked before any
/// work starts.
fn parse_graph_url(text: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = text
        .parse()
        .map_err(|e| format!("`{text}` is not a URL: {e}"))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(host)) if !host.is_empty() => {}
        _ => {
            return Err(format!(
                "`{text}` is not an absolute http(s) URL such as http://127.0.0.1:8080"
            ));
        }
    }
    if uri.query().is_some() {
        return Err(format!("`{text}` has a query; give a base URL"));
    }
    Ok(uri)
}

fn load_engine(
    component: Option<&PathBuf>,
    concurrency: u32,
    cache: bool,
) -> Result<Arc<ActionEngine>> {
    let bytes = match component {
        Some(path) => std::fs::read(path)
            .with_context(|| format!("cannot read the component {}", path.display()))?,
        None => BUNDLED_COMPONENT.to_vec(),
    };
    let limits = Limits {
        max_concurrency: concurrency,
        ..Limits::default()
    };
    let cache_dir = if cache { default_cache_dir() } else { None };
    let (engine, loaded) = ActionEngine::load(&bytes, limits, cache_dir.as_deref())?;
    match &loaded.cache {
        CacheUse::Rejected(why) => {
            eprintln!("warning: compiled afresh, the cached component was not trusted: {why}")
        }
        CacheUse::Unusable(why) => {
            eprintln!("warning: the compiled-component cache is not used: {why}")
        }
        CacheUse::Off | CacheUse::Hit | CacheUse::Miss => {}
    }
    Ok(Arc::new(engine))
}

fn write_report(report: &Report, path: Option<&PathBuf>) -> Result<()> {
    if let Some(path) = path {
        std::fs::write(path, serde_json::to_string_pretty(report)?)
            .with_context(|| format!("cannot write the report to {}", path.display()))?;
        eprintln!("report written to {}", path.display());
    }
    Ok(())
}

// One thread drives every execution: the work is mostly waiting on HTTP,
// and wakeups across threads cost more than a second core gains (measured
// with `host-harness bench`: 234 µs per firing with the multi-thread
// runtime, 122 µs with this one). A guest that computes long yields every
// 50 ms (see engine), so it cannot starve the others.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match real_main().await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn real_main() -> Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            workflow,
            contacts,
            triggers,
            graph_url,
            report,
            component,
            concurrency,
            dry_run,
            record_requests,
            no_cache,
            outbox,
            no_outbox,
            max_attempts,
            batch_size,
        } => {
            let outbox = match (outbox, no_outbox) {
                (_, true) => None,
                (Some(path), false) => Some(path),
                (None, false) => Some(PathBuf::from(format!("{}.outbox.db", triggers.display()))),
            };
            let engine = load_engine(component.as_ref(), concurrency, !no_cache)?;
            let options = RunOptions {
                workflows: workflow,
                contacts,
                firings: triggers,
                graph_url,
                concurrency: concurrency as usize,
                dry_run,
                record_requests,
                outbox,
                batch_size: batch_size.into(),
                batch_bytes: host_harness::run::DEFAULT_BATCH_BYTES,
                retry: RetryPolicy {
                    max_attempts: max_attempts.max(1),
                    ..RetryPolicy::default()
                },
            };
            let bar = progress_bar();
            let tick = |done: usize, total: usize| {
                if let Some(b) = &bar {
                    b.set_length(total as u64);
                    b.set_position(done as u64);
                }
            };
            let result = run(engine, &options, &tick).await?;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            if dry_run {
                print_dry_run(&result)?;
            }
            print!("{}", result.summary(50));
            write_report(&result, report.as_ref())?;
            Ok(if result.succeeded() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::GraphDouble {
            listen,
            tokens,
            pixels,
            fault_rate,
            faults,
            latency_ms,
            seed,
            max_kept,
        } => {
            let kinds = faults
                .iter()
                .map(|k| {
                    ChaosKind::parse(k).with_context(|| {
                        format!("`{k}` is not a fault kind (500, 503, 429, drop, cut, 400)")
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let config = DoubleConfig {
                tokens,
                pixels: (!pixels.is_empty()).then_some(pixels),
                chaos: Chaos {
                    rate: fault_rate,
                    kinds,
                    latency: std::time::Duration::from_millis(latency_ms),
                    seed,
                },
                max_kept,
            };
            let double = GraphDouble::start(listen, config).await?;
            println!("Graph API double listening on {}", double.url());
            println!("  Test Events page: {}/", double.url());
            println!(
                "  POST {}/v24.0/<pixel id>/events   (Meta's route)",
                double.url()
            );
            println!(
                "  GET  {}/_double/events            (what it received)",
                double.url()
            );
            println!(
                "  GET  {}/_double/requests          (every request and answer)",
                double.url()
            );
            println!(
                "  POST {}/_double/faults            (queue failures)",
                double.url()
            );
            tokio::signal::ctrl_c().await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo {
            report,
            keep_serving,
        } => {
            let engine = load_engine(None, 4, true)?;
            let dir = host_harness::demo::scratch_dir();
            let (result, double) = host_harness::demo::demo(engine, &dir).await?;
            println!(
                "Send Conversion Event demo: bundled workflows against the Graph API double at {}\n",
                double.url()
            );
            for f in &result.firings {
                for e in &f.executions {
                    let what = match (&e.answer, &e.error) {
                        (Some(a), _) => format!("accepted, fbtrace_id {}", a.fbtrace_id),
                        (_, Some(err)) => format!("{:?}: {}", e.status, err.message),
                        _ => format!("{:?}", e.status),
                    };
                    println!(
                        "  {:<22} event_id {:<10} match keys [{}]\n  {:<22} {what}",
                        e.event_name.as_deref().unwrap_or("?"),
                        e.event_id.as_deref().unwrap_or("-"),
                        e.match_keys.join(" "),
                        ""
                    );
                    for w in &e.warnings {
                        println!("  {:<22} warning: {}: {}", "", w.field, w.message);
                    }
                }
            }
            println!("\n{}", result.summary(20));
            let received = double.received();
            println!(
                "The double received {} events: {}",
                received.len(),
                received
                    .iter()
                    .map(|r| r.event_name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            println!("Example files: {}", dir.display());
            println!("Test Events page: {}/", double.url());
            write_report(&result, report.as_ref())?;
            if keep_serving {
                println!("Serving the double until interrupted (Ctrl-C).");
                tokio::signal::ctrl_c().await?;
            } else {
                println!(
                    "  (it closes with the demo; `host-harness demo --keep-serving` keeps it open)"
                );
            }
            Ok(if result.succeeded() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Bench {
            iterations,
            firings,
            memory_firings,
            concurrency,
        } => {
            let options = host_harness::bench::BenchOptions {
                iterations,
                e2e_firings: firings,
                memory_firings,
                concurrency: concurrency as usize,
            };
            println!(
                "host-harness bench on {} cores",
                std::thread::available_parallelism().map_or(1, |n| n.get())
            );
            host_harness::bench::bench(&options, &mut |line| println!("  {line}")).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Outbox { db, command } => {
            if !db.is_file() {
                anyhow::bail!("{} is not an outbox file", db.display());
            }
            // Looking needs no hold on the outbox; changing it does.
            let outbox = match &command {
                OutboxCommand::List { .. } => Outbox::open_shared(&db)?,
                _ => Outbox::open(&db)?,
            };
            let parse = |s: &str| {
                State::parse(s).with_context(|| {
                    format!("`{s}` is not a state (pending, delivered, skipped, dead)")
                })
            };
            match command {
                OutboxCommand::List { state } => {
                    let state = state.as_deref().map(parse).transpose()?;
                    let counts = outbox.counts()?;
                    println!(
                        "{}: {} pending, {} delivered, {} skipped, {} dead",
                        db.display(),
                        counts["pending"],
                        counts["delivered"],
                        counts["skipped"],
                        counts["dead"]
                    );
                    for e in outbox.list(state)? {
                        println!(
                            "  {:<9} {} → {} ({}) event_id {} attempts {}{}",
                            format!("{:?}", e.state).to_lowercase(),
                            e.source,
                            e.event_name.as_deref().unwrap_or(&e.action),
                            e.workflow,
                            e.event_id.as_deref().unwrap_or("-"),
                            e.attempts,
                            e.last_error
                                .map(|m| format!("\n            {m}"))
                                .unwrap_or_default()
                        );
                    }
                }
                OutboxCommand::Retry => {
                    let n = outbox.requeue_dead()?;
                    println!(
                        "{n} dead-lettered entries are pending again; the next `host-harness run` over the same files sends them"
                    );
                }
                OutboxCommand::Purge { state } => {
                    let state = parse(&state)?;
                    anyhow::ensure!(
                        state != State::Pending,
                        "pending entries are not delivered yet; purging them would lose events"
                    );
                    println!("{} entries deleted", outbox.purge(state)?);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate { workflow } => {
            let engine = load_engine(None, 1, true)?;
            let descriptor = engine.describe().await?;
            let (workflows, mut errors) =
                host_harness::workflow::load_all(&workflow, &descriptor.secret_fields);
            let (_, problems) = host_harness::run::check_settings(&engine, &workflows).await?;
            errors.extend(problems);
            for w in &workflows {
                println!(
                    "{}: workflow \"{}\", trigger {}, {} action(s)",
                    w.file.display(),
                    w.name,
                    w.trigger,
                    w.actions.len()
                );
            }
            for e in &errors {
                println!("  {e}");
            }
            println!("{} problem(s)", errors.len());
            Ok(if errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Describe { component } => {
            let engine = load_engine(component.as_ref(), 1, true)?;
            let d = engine.describe().await?;
            let doc = serde_json::json!({
                "name": d.name,
                "title": d.title,
                "version": d.version,
                "description": d.description,
                "supported_events": d.supported_events,
                "secret_fields": d.secret_fields,
                "settings_schema": serde_json::from_str::<serde_json::Value>(&d.settings_schema)?,
                "default_mappings": serde_json::from_str::<serde_json::Value>(&d.default_mappings)?,
                "merge_fields": serde_json::from_str::<serde_json::Value>(&d.merge_fields)?,
                "imports": engine.imports(),
            });
            println!("{}", serde_json::to_string_pretty(&doc)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A progress bar on a terminal; none when output goes elsewhere.
fn progress_bar() -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} firings {per_sec} eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}

/// Per firing, what would be sent.
fn print_dry_run(report: &Report) -> Result<()> {
    println!("Dry run: nothing was sent.\n");
    for f in &report.firings {
        for e in &f.executions {
            println!(
                "{} firing {} → {} (event_id {})",
                f.source,
                f.firing_id.as_deref().unwrap_or("?"),
                e.event_name.as_deref().unwrap_or(&e.action),
                e.event_id.as_deref().unwrap_or("-")
            );
            if let Some(w) = &e.would_send {
                println!("  POST {}\n  Authorization: Bearer [redacted]", w.url);
                for line in serde_json::to_string_pretty(&w.body)?.lines() {
                    println!("  {line}");
                }
            }
            if e.status == Status::Skipped {
                println!("  skipped: {}", e.skipped.as_deref().unwrap_or_default());
            }
            if let Some(err) = &e.error {
                println!("  not sendable ({}): {}", err.class, err.message);
            }
            for w in &e.warnings {
                println!("  warning: {}: {}", w.field, w.message);
            }
            println!();
        }
    }
    Ok(())
}
