//! `host-harness run`: every firing of a triggers file through the
//! workflows that listen for it.

use super::{concurrency_range, load_engine};
use action_host::Reuse;
use anyhow::Result;
use host_harness::report::{FiringReport, Report, Status};
use host_harness::report_file::{ReportFile, ReportPart};
use host_harness::retry::RetryPolicy;
use host_harness::run::{DEFAULT_BATCH_BYTES, FiringSink, RunOptions, run_to};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
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
    /// Executions in flight at once (1 to 1024; default: 32 one event per
    /// request, 8 in batches, each of which holds a thousand events).
    #[arg(long, value_parser = concurrency_range())]
    concurrency: Option<u32>,
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
    /// A fresh instance for every execution, instead of one instance per
    /// action serving up to 1,000 executions (see the README's Performance).
    #[arg(long)]
    fresh_instances: bool,
    /// Events per request to Meta (1 to 1000): above 1, the firings of
    /// one action are sent in batches.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1000))]
    batch_size: u16,
    /// Threads that run executions (1 to 64; default: one per core). In
    /// batched runs they share one runtime: a batch is work enough to move
    /// between threads. One event per request, each thread takes stretches
    /// of the triggers file in turn, with its own runtime and share of
    /// `--concurrency`, since a single event is not (each crossing wakes a
    /// thread); the report stays in file order. A dry run takes one.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
    threads: Option<u16>,
}

impl Args {
    /// The threads this run asks for.
    fn threads(&self) -> usize {
        match self.threads {
            Some(n) => n.into(),
            None => std::thread::available_parallelism().map_or(1, |n| n.get().min(64)),
        }
    }

    /// Executions in flight at once. One event per request, each waits on
    /// its answer most of its time: a request to Meta takes tens to
    /// hundreds of milliseconds, and on loopback 8 in flight over two
    /// threads left them idle between answers.
    fn concurrency(&self) -> u32 {
        self.concurrency
            .unwrap_or(if self.batch_size > 1 { 8 } else { 32 })
    }

    /// The worker threads of the runtime that drives the run: all of them
    /// for batches, one otherwise.
    pub fn runtime_threads(&self) -> usize {
        if self.batch_size > 1 {
            self.threads()
        } else {
            1
        }
    }

    /// The threads that take stretches of the triggers file in turn: one
    /// for batches (their runtime's threads share the run), all of them
    /// otherwise.
    fn stretch_threads(&self) -> usize {
        if self.batch_size > 1 {
            1
        } else {
            self.threads()
        }
    }
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

/// Whether `a` and `b` are one file, under any names (links included).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        #[cfg(unix)]
        (Ok(a), Ok(b)) => {
            use std::os::unix::fs::MetadataExt;
            (a.dev(), a.ino()) == (b.dev(), b.ino())
        }
        #[cfg(not(unix))]
        (Ok(_), Ok(_)) => std::fs::canonicalize(a).ok() == std::fs::canonicalize(b).ok(),
        _ => false,
    }
}

/// Refuses a report that would be written over one of the run's files:
/// the report is created, empty, before they are read, so the input would
/// be lost. One written into a folder of workflows would be read as a
/// workflow by the next run.
fn refuse_report_over_inputs(args: &Args, report: &Path, outbox: Option<&Path>) -> Result<()> {
    let inputs = args
        .workflow
        .iter()
        .map(|w| ("a workflow", w.as_path()))
        .chain([
            ("the contacts file", args.contacts.as_path()),
            ("the triggers file", args.triggers.as_path()),
        ])
        .chain(outbox.map(|o| ("the outbox", o)))
        .chain(args.component.as_deref().map(|c| ("the component", c)));
    for (what, path) in inputs {
        anyhow::ensure!(
            !same_file(report, path),
            "--report {} is {what} ({}); a run never writes over its own files: give the report a path of its own",
            report.display(),
            path.display()
        );
    }
    let is_workflow_name = matches!(
        report.extension().and_then(|e| e.to_str()),
        Some("toml" | "json")
    );
    let folder = report.parent().map(|p| {
        if p.as_os_str().is_empty() {
            Path::new(".")
        } else {
            p
        }
    });
    if let Some(folder) = folder.filter(|_| is_workflow_name)
        && let Some(dir) = args
            .workflow
            .iter()
            .find(|w| w.is_dir() && same_file(w, folder))
    {
        anyhow::bail!(
            "--report {} is in the folder of workflows {}, where the next run would read it as a workflow: give the report a path outside it",
            report.display(),
            dir.display()
        );
    }
    Ok(())
}

pub async fn main(args: Args) -> Result<ExitCode> {
    let threads = args.stretch_threads();
    let concurrency = args.concurrency();
    let outbox = match (args.outbox.clone(), args.no_outbox) {
        (_, true) => None,
        (Some(path), false) => Some(path),
        (None, false) => Some(PathBuf::from(format!(
            "{}.outbox.db",
            args.triggers.display()
        ))),
    };
    if let Some(report) = &args.report {
        refuse_report_over_inputs(&args, report, outbox.as_deref())?;
    }
    let engine = load_engine(args.component.as_ref(), concurrency, !args.no_cache)?;
    let options = RunOptions {
        workflows: args.workflow,
        contacts: args.contacts,
        firings: args.triggers,
        graph_url: args.graph_url,
        concurrency: concurrency as usize,
        dry_run: args.dry_run,
        record_requests: args.record_requests,
        outbox,
        batch_size: args.batch_size.into(),
        batch_bytes: DEFAULT_BATCH_BYTES,
        reuse: if args.fresh_instances {
            Reuse::NEVER
        } else {
            Reuse::default()
        },
        retry: RetryPolicy {
            max_attempts: args.max_attempts.max(1),
            ..RetryPolicy::default()
        },
        threads,
    };
    // Before the report is created, so that a run refused leaves none.
    host_harness::run::refuse_streams(&options)?;
    let bar = progress_bar();
    let tick = |done: usize, total: usize| {
        if let Some(b) = &bar {
            b.set_length(total as u64);
            b.set_position(done as u64);
        }
    };
    let mut sink = Output {
        file: args.report.as_deref().map(ReportFile::create).transpose()?,
        dry_run: args.dry_run,
    };
    if args.dry_run {
        println!("Dry run: nothing was sent.\n");
    }
    let result = run_to(engine, &options, &tick, &mut sink).await?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    print!("{}", result.summary(50));
    if let Some(file) = sink.file {
        let path = file.path().to_path_buf();
        file.finish(&result)?;
        eprintln!("report written to {}", path.display());
    }
    Ok(if result.succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
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
/// Where each settled firing goes: the report file, and in a dry run the
/// terminal.
struct Output {
    file: Option<ReportFile>,
    dry_run: bool,
}

impl FiringSink for Output {
    /// A run shows a dry run's firings as it goes, in one stretch: only the
    /// report's firings are ever written in parts.
    type Part = Option<ReportPart>;

    fn part(&self) -> Result<Self::Part> {
        self.file.part()
    }

    fn append(&mut self, report: &Report, part: Self::Part) -> Result<()> {
        self.file.append(report, part)
    }

    fn firing(&mut self, report: &Report, firing: FiringReport) -> Result<()> {
        if self.dry_run {
            print_dry_run(&firing)?;
        }
        match &mut self.file {
            Some(file) => file.firing(report, &firing),
            None => Ok(()),
        }
    }
}

/// What one firing would send.
fn print_dry_run(f: &FiringReport) -> Result<()> {
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
    Ok(())
}
