//! A run: every firing of a file through the workflows that listen for it,
//! executed by the component, concurrently up to a bound, into a report.
//!
//! A run is a pipeline with bounded memory, whatever the length of its
//! files: the contacts file is indexed, not loaded ([`contacts`]); firings
//! are read as room frees up, at most [`WINDOW`] of them (and
//! [`WINDOW_BYTES`] of their input) unsettled at once;
//! each chunk of them is written to the outbox before any of it is sent;
//! and each firing, once settled, goes to a [`FiringSink`] (the report
//! file) and into the running [`Tally`], in file order.
//!
//! A run on more than one thread cuts the firings file into stretches,
//! longest first ([`firings::Scan`]). Each thread, with a runtime of its
//! own, its own connections and its share of the executions in flight,
//! takes the next stretch once done with one, and runs it as above with an
//! outbox writer of its own: nothing crosses between threads per firing,
//! and the threads end close together, whichever ran faster. Each later
//! stretch writes into a part of the sink, appended in file order; the
//! outbox and its guarantees are the same.

use crate::contacts::{self, ContactBook, shown_id};
use crate::delivery::{Context, Delivered, Deliveries, Job};
use crate::firings::{self, BadFiring, FiringRecord, Scan};
use crate::input::InputError;
use crate::outbox::{Journal, NewEntry, Outbox};
use crate::report::{ComponentInfo, ExecutionReport, FiringReport, Report, Status};
use crate::retry::RetryPolicy;
use crate::tally::Tally;
use crate::workflow::{self, Workflow};
use action_host::{ActionEngine, EgressPolicy, Redactor, Reuse, Secret, wit};
use anyhow::{Context as _, Result};
use send_conversion_event::normalize::Sha256Digest;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// What to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Workflow files or folders.
    pub workflows: Vec<PathBuf>,
    /// The contacts file.
    pub contacts: PathBuf,
    /// The firings file.
    pub firings: PathBuf,
    /// Base URL that receives the Graph API requests instead of Meta.
    pub graph_url: Option<http::Uri>,
    /// Executions in flight at once.
    pub concurrency: usize,
    /// Build every request and send nothing.
    pub dry_run: bool,
    /// Keep the HTTP exchanges of accepted events in the report too (by
    /// default only failed executions keep theirs, so long runs stay small).
    pub record_requests: bool,
    /// The outbox file: executions are written there before they run, and
    /// a run started again over the same files resumes from it.
    pub outbox: Option<PathBuf>,
    /// Retries of failures worth retrying.
    pub retry: RetryPolicy,
    /// Events per request (1 to 1,000); above 1, firings of the same action
    /// go to Meta in batches.
    pub batch_size: usize,
    /// Most input (trigger data and contact fields) one batch carries,
    /// bytes, so that a batch stays well inside the component's memory.
    pub batch_bytes: usize,
    /// When an action's executions share an instance ([`Reuse::NEVER`]: a
    /// fresh instance for each). Instances are never shared across actions.
    pub reuse: Reuse,
    /// Threads that run the firings, at most (and no more than
    /// `concurrency`): each, with its own runtime, connections and share of
    /// `concurrency`, takes the next stretch of the firings file once done
    /// with one, so that no firing crosses between threads and the threads
    /// end close together. 1: the caller's runtime runs them all. A dry
    /// run, which shows each firing as it goes, takes one.
    pub threads: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            workflows: Vec::new(),
            contacts: PathBuf::new(),
            firings: PathBuf::new(),
            graph_url: None,
            concurrency: 8,
            dry_run: false,
            record_requests: false,
            outbox: None,
            retry: RetryPolicy::default(),
            batch_size: 1,
            batch_bytes: DEFAULT_BATCH_BYTES,
            reuse: Reuse::default(),
            threads: 1,
        }
    }
}

/// The input one batch carries by default. While it builds a batch the
/// component holds about 1 MiB plus 17 to 25 times the batch's input
/// (measured through `Execution::memory` with orders of 0 to 40 line
/// items), so a 1 MiB batch stays under a third of its default 64 MiB.
pub const DEFAULT_BATCH_BYTES: usize = 1 << 20;

/// Firings read but not yet settled, at most: what bounds a run's memory.
/// Executions still run in any order within it; a firing that waits (a
/// retry's backoff) holds the report's order, not the sending.
pub const WINDOW: usize = 8192;

/// The input of the firings read but not yet settled (their trigger data
/// and contacts, as the component receives them), at most, beyond the one
/// firing that goes past it: a window of [`WINDOW`] firings whose trigger
/// data are each near their cap of 1 MiB would hold 8 GiB.
pub const WINDOW_BYTES: usize = 64 << 20;

/// Firings whose executions go to the outbox in one transaction.
const CHUNK: usize = 1000;

/// Where a run puts each firing once it is settled, in file order.
pub trait FiringSink: Send {
    /// Where the firings of a later stretch of the file go while earlier
    /// ones are still being settled, to be appended after them.
    type Part: FiringSink + Send + 'static;

    /// Takes one settled firing; `report` is the run's report so far (its
    /// component, target and start; no firings, no counts yet).
    fn firing(&mut self, report: &Report, firing: FiringReport) -> Result<()>;

    /// An empty part.
    fn part(&self) -> Result<Self::Part>;

    /// Takes the firings of `part`, in their order, after those taken so
    /// far.
    fn append(&mut self, report: &Report, part: Self::Part) -> Result<()>;
}

/// Keeps every firing: the whole report in memory.
impl FiringSink for Vec<FiringReport> {
    type Part = Vec<FiringReport>;

    fn firing(&mut self, _: &Report, firing: FiringReport) -> Result<()> {
        self.push(firing);
        Ok(())
    }

    fn part(&self) -> Result<Self::Part> {
        Ok(Vec::new())
    }

    fn append(&mut self, _: &Report, mut part: Self::Part) -> Result<()> {
        self.append(&mut part);
        Ok(())
    }
}

/// Gives each firing to the sink when there is one.
impl<S: FiringSink> FiringSink for Option<S> {
    type Part = Option<S::Part>;

    fn firing(&mut self, report: &Report, firing: FiringReport) -> Result<()> {
        match self {
            Some(sink) => sink.firing(report, firing),
            None => Ok(()),
        }
    }

    fn part(&self) -> Result<Self::Part> {
        self.as_ref().map(S::part).transpose()
    }

    fn append(&mut self, report: &Report, part: Self::Part) -> Result<()> {
        match (self, part) {
            (Some(sink), Some(part)) => sink.append(report, part),
            _ => Ok(()),
        }
    }
}

/// Runs `options` on `engine` into a report that holds every firing;
/// `progress(settled, total)` is called as firings are settled.
pub async fn run(
    engine: Arc<ActionEngine>,
    options: &RunOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Report> {
    let mut firings = Vec::new();
    let mut report = run_to(engine, options, progress, &mut firings).await?;
    report.firings = firings;
    Ok(report)
}

/// Runs `options` on `engine`, giving each settled firing to `sink` in file
/// order; the report returned has the counts and no firings.
///
/// With more than one of `options.threads`, the first stretch of the
/// firings runs on the caller's runtime and goes straight to `sink`; each
/// other runs on whichever thread (the caller's included) is free next,
/// into a part of `sink`, appended in file order as soon as it and those
/// before it are done and the caller's thread is between two stretches of
/// its own, or at the end.
pub async fn run_to<S: FiringSink>(
    engine: Arc<ActionEngine>,
    options: &RunOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
    sink: &mut S,
) -> Result<Report> {
    refuse_streams(options)?;
    let started = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    // Past the engine's pool, executions would fail for want of an
    // instance, each one a firing not delivered.
    let pool = engine.limits().max_concurrency as usize;
    anyhow::ensure!(
        options.concurrency <= pool,
        "a run of {} executions at once needs an engine whose `Limits::max_concurrency` is at least as much; this engine's is {pool}",
        options.concurrency
    );
    let descriptor = engine.describe().await?;
    let mut input_errors = Vec::new();

    let loaded = workflow::load_all(&options.workflows, &descriptor.secret_fields);
    let workflows = loaded.workflows;
    input_errors.extend(loaded.errors);
    input_errors.extend(refused_settings_problems(&engine, &loaded.refused, &input_errors).await?);
    if workflows.is_empty() && input_errors.is_empty() {
        input_errors.push(InputError::new(
            &options.workflows.first().cloned().unwrap_or_default(),
            None,
            None,
            "no workflow found",
        ));
    }

    // Settings are checked once per action, not once per firing.
    let (settings_problems, errors) = check_settings(&engine, &workflows).await?;
    input_errors.extend(errors);
    // Each action's settings are split once into its secrets and what
    // defines its executions, secrets aside: a new token is the same
    // action, a new mapping is not.
    let mut secrets: Vec<Secret> = Vec::new();
    let public_settings: Vec<Vec<String>> = workflows
        .iter()
        .map(|w| {
            w.actions
                .iter()
                .map(|a| {
                    let pointers = secret_pointers(&a.settings, &descriptor.secret_fields);
                    secrets.extend(
                        secret_values(&a.settings, &pointers)
                            .into_iter()
                            .map(Secret::new),
                    );
                    without_secrets(&a.settings, &pointers)
                })
                .collect()
        })
        .collect();
    let redactor = Redactor::new(&secrets);
    let policy = Arc::new(EgressPolicy::graph(options.graph_url.clone()).with_secrets(&secrets));

    // No more threads than executions in flight: each takes its share.
    let threads = if options.dry_run {
        1
    } else {
        options.threads.clamp(1, options.concurrency.max(1))
    };
    let first_pass = || {
        firings::scan(&options.firings, threads).and_then(|scan| {
            let readers = scan
                .stretches()
                .iter()
                .map(|s| firings::Reader::open_stretch(scan.text(), s))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((scan, readers))
        })
    };
    // The firings file's first pass runs beside the contacts' indexing:
    // two files, each read whole once before anything is sent.
    let ((book, errors), scanned) = std::thread::scope(|scope| {
        let scanning = std::thread::Builder::new()
            .name("run-first-pass".into())
            .spawn_scoped(scope, first_pass);
        let loaded = contacts::load(&options.contacts);
        let scanned = match scanning {
            Ok(scanning) => scanning
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => first_pass(),
        };
        (loaded, scanned)
    });
    input_errors.extend(errors);
    let (scan, readers) = match scanned {
        Ok(read) => read,
        Err(e) => {
            input_errors.push(e);
            (Scan::default(), Vec::new())
        }
    };
    let outbox = match (&options.outbox, options.dry_run) {
        (Some(path), false) => Some(Arc::new(Outbox::open(path)?)),
        _ => None,
    };
    let halted: Arc<OnceLock<String>> = Default::default();
    let mut report = Report {
        component: ComponentInfo {
            name: descriptor.name,
            version: descriptor.version,
        },
        graph_url: options.graph_url.as_ref().map(|u| u.to_string()),
        started_at,
        firings: Vec::new(),
        elapsed_ms: 0,
        totals: Default::default(),
        match_quality: Default::default(),
        input_errors: Vec::new(),
        tally: Tally::default(),
    };
    let plan = Arc::new(Plan {
        listened: workflows.iter().map(|w| w.trigger.clone()).collect(),
        file: options.firings.display().to_string(),
        options: options.clone(),
        workflows,
        settings_problems,
        public_settings,
        scan,
        outbox,
        halted: halted.clone(),
        policy,
        redactor: redactor.clone(),
    });

    let total = plan.scan.lines;
    let stretches = readers.len().max(1);
    let threads = threads.min(stretches);
    let shares = shares(options.concurrency.max(1), threads);
    let settled: Arc<Vec<AtomicUsize>> =
        Arc::new((0..stretches).map(|_| AtomicUsize::new(0)).collect());
    let all_settled = || {
        settled
            .iter()
            .map(|n| n.load(Ordering::Relaxed))
            .sum::<usize>()
    };
    let mut readers = readers.into_iter();
    let first = readers.next();
    // Everything a later stretch needs is made before any starts, so that
    // what cannot be made stops the run before anything is sent.
    let mut queue = VecDeque::new();
    for (i, reader) in readers.enumerate() {
        queue.push_back((i + 1, reader, sink.part()?));
    }
    let queue = Arc::new(StretchQueue {
        waiting: std::sync::Mutex::new(queue),
        finished: Default::default(),
    });
    let mut runners = Vec::new();
    for (t, &concurrency) in shares.iter().enumerate().skip(1) {
        runners.push(Runner {
            plan: plan.clone(),
            book: book
                .another_reader()
                .with_context(|| format!("cannot read {} again", options.contacts.display()))?,
            engine: Arc::new(engine.with_own_connections()),
            concurrency,
            settled: settled.clone(),
            thread: t,
        });
    }
    let mut failure = None;
    let mut others = Vec::new();
    for runner in runners {
        let (done, result) = tokio::sync::oneshot::channel();
        let (queue, header) = (queue.clone(), report.clone());
        let started = std::thread::Builder::new()
            .name(format!("run-thread-{}", runner.thread))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                let failed = match runtime {
                    Ok(runtime) => runtime.block_on(runner.run_queued::<S>(
                        &queue,
                        &header,
                        &|_| {},
                        &mut || {},
                    )),
                    Err(_) => None,
                };
                let _ = done.send(failed);
            });
        // A thread that cannot be started, or cannot build its runtime,
        // takes no stretch: the others, the caller's at least, take them all.
        if started.is_ok() {
            others.push(result);
        }
    }
    let main = Runner {
        plan: plan.clone(),
        book,
        engine,
        concurrency: shares[0],
        settled: settled.clone(),
        thread: 0,
    };
    let on_main = &|_| progress(all_settled(), total);
    // The sink takes the stretches after the first in file order, as soon
    // as each and those before it are done and this thread is between two
    // of its own (none of its executions is then in flight).
    let mut next = 1;
    let mut take_finished =
        |sink: &mut S, report: &mut Report, failure: &mut Option<anyhow::Error>| {
            if failure.is_some() {
                return;
            }
            while let Some((tally, part)) = queue.take(next) {
                if let Err(e) = sink.append(report, part) {
                    queue.close();
                    *failure = Some(e);
                    return;
                }
                report.tally.append(tally);
                next += 1;
            }
        };
    let header = report.clone();
    match main.run(0, first, header.clone(), sink, on_main).await {
        Ok(tally) => {
            report.tally = tally;
            let failed = main
                .run_queued::<S>(&queue, &header, on_main, &mut || {
                    take_finished(sink, &mut report, &mut failure)
                })
                .await;
            if let Some(e) = failed {
                failure.get_or_insert(e);
            }
        }
        Err(e) => {
            queue.close();
            failure.get_or_insert(e);
        }
    }
    // Every thread is waited for, even after one failed: none is left
    // sending behind the caller's back.
    for mut result in others {
        let done = loop {
            tokio::select! {
                done = &mut result => break done,
                _ = tokio::time::sleep(std::time::Duration::from_millis(100)) => {
                    progress(all_settled(), total)
                }
            }
        };
        match done {
            Ok(failed) => {
                if let Some(e) = failed {
                    failure.get_or_insert(e);
                }
            }
            // What its stretch did not settle stays pending in the outbox,
            // or unread, and the next run sends it.
            Err(_) => {
                queue.close();
                failure.get_or_insert(anyhow::anyhow!("a thread of the run stopped unexpectedly"));
            }
        }
    }
    take_finished(sink, &mut report, &mut failure);
    progress(all_settled(), total);
    if let Some(e) = failure {
        return Err(e);
    }

    if let (Some(error), Some(path)) = (halted.get(), &options.outbox) {
        input_errors.push(InputError::new(
            path,
            None,
            None,
            format!(
                "the outbox could not be written ({error}); the run stopped sending. What it could not record stays pending and the next run sends it again, with the same event ids, so Meta keeps one of each"
            ),
        ));
    }
    for e in &mut input_errors {
        redactor.scrub(&mut e.message);
    }
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    report.totals = report.tally.totals(input_errors.len());
    report.match_quality = report.tally.match_quality();
    report.input_errors = input_errors;
    Ok(report)
}

/// `total` split into `parts` shares as even as can be, each at least 1.
fn shares(total: usize, parts: usize) -> Vec<usize> {
    (0..parts)
        .map(|i| (total / parts + usize::from(i < total % parts)).max(1))
        .collect()
}

/// What every stretch of a run reads and none changes, and what they share.
struct Plan {
    options: RunOptions,
    workflows: Vec<Workflow>,
    settings_problems: Vec<Vec<Vec<wit::Problem>>>,
    public_settings: Vec<Vec<String>>,
    scan: Scan,
    listened: BTreeSet<String>,
    /// The firings file's path as the report names it, written once.
    file: String,
    outbox: Option<Arc<Outbox>>,
    /// Set, with the error, once the outbox cannot be written.
    halted: Arc<OnceLock<String>>,
    policy: Arc<EgressPolicy>,
    redactor: Redactor,
}

/// The stretches of the firings file after the first, with the parts of
/// the sink they go to, for whichever thread is free next; and those run to
/// their end, until the sink takes them.
struct StretchQueue<P> {
    waiting: std::sync::Mutex<VecDeque<(usize, firings::Reader, P)>>,
    finished: std::sync::Mutex<BTreeMap<usize, (Tally, P)>>,
}

impl<P> StretchQueue<P> {
    /// The next stretch, its place among them, and its part.
    fn next(&self) -> Option<(usize, firings::Reader, P)> {
        self.waiting.lock().unwrap().pop_front()
    }

    /// Leaves the stretches not yet taken unread, once one has failed: their
    /// firings are not in the outbox, and the next run sends them.
    fn close(&self) {
        self.waiting.lock().unwrap().clear();
    }

    /// Keeps stretch `index`, run to its end, for the sink.
    fn finish(&self, index: usize, tally: Tally, part: P) {
        self.finished.lock().unwrap().insert(index, (tally, part));
    }

    /// Stretch `index` once it is finished.
    fn take(&self, index: usize) -> Option<(Tally, P)> {
        self.finished.lock().unwrap().remove(&index)
    }
}

/// One thread of a run: it runs stretches of the firings, one after the
/// other, on the runtime that awaits it.
struct Runner {
    plan: Arc<Plan>,
    /// The contacts, read through a file handle of the thread's own.
    book: ContactBook,
    engine: Arc<ActionEngine>,
    /// Its share of the run's executions in flight.
    concurrency: usize,
    /// Firings settled so far, per stretch.
    settled: Arc<Vec<AtomicUsize>>,
    /// Its place among the run's threads.
    thread: usize,
}

impl Runner {
    /// Runs the stretches `queue` gives, each into its part, until none is
    /// left or one fails, calling `finished` after each is kept in `queue`;
    /// `report` is the run's report before any firing. Returns why it
    /// stopped, when a stretch failed.
    async fn run_queued<S: FiringSink>(
        &self,
        queue: &StretchQueue<S::Part>,
        report: &Report,
        progress: &dyn Fn(usize),
        finished: &mut dyn FnMut(),
    ) -> Option<anyhow::Error> {
        while let Some((index, reader, mut part)) = queue.next() {
            match self
                .run(index, Some(reader), report.clone(), &mut part, progress)
                .await
            {
                Ok(tally) => {
                    queue.finish(index, tally, part);
                    finished();
                }
                Err(e) => {
                    queue.close();
                    return Some(e);
                }
            }
        }
        None
    }

    /// Runs stretch `index`, the firings `reader` gives, into `sink`,
    /// calling `progress` as they are settled; returns their tally.
    /// `report` is the run's report before any firing, which the sink is
    /// shown and the tally starts in.
    async fn run<S: FiringSink>(
        &self,
        index: usize,
        reader: Option<firings::Reader>,
        mut report: Report,
        sink: &mut S,
        progress: &dyn Fn(usize),
    ) -> Result<Tally> {
        let plan = &*self.plan;
        let (journal, writer) = match &plan.outbox {
            Some(outbox) => {
                let (journal, writer) = Journal::start(outbox.clone());
                (Some(journal), Some(writer))
            }
            None => (None, None),
        };
        let options = RunOptions {
            concurrency: self.concurrency,
            ..plan.options.clone()
        };
        let deliveries = Deliveries::new(
            self.engine.clone(),
            &plan.workflows,
            Context {
                policy: plan.policy.clone(),
                journal,
                halted: plan.halted.clone(),
                redactor: plan.redactor.clone(),
            },
            &options,
        );
        let mut pipeline = Pipeline {
            admission: Admission {
                plan,
                book: &self.book,
            },
            deliveries,
            batch_size: if options.batch_size > 1 && !options.dry_run {
                options.batch_size.min(1000)
            } else {
                1
            },
            open: BTreeMap::new(),
            tasks: tokio::task::JoinSet::new(),
            ready: VecDeque::new(),
            max_tasks: self.concurrency * 4,
            unsettled: VecDeque::new(),
            unsettled_bytes: 0,
            first: 0,
        };
        let settled = &self.settled[index];
        let ran = pipeline
            .run(reader, &mut report, sink, &|n| {
                settled.store(n, Ordering::Relaxed);
                progress(n)
            })
            .await;
        // Every result is committed; the writer ends with the last handle
        // to it, and with it the stretch's hold on the outbox.
        drop(pipeline);
        if let Some(writer) = writer {
            writer.await?;
        }
        ran.map(|()| report.tally)
    }
}

/// Turns the lines of the firings file into firing reports waiting for
/// their executions, and the jobs that will fill them.
struct Admission<'a> {
    plan: &'a Plan,
    book: &'a ContactBook,
}

impl Admission<'_> {
    /// The firing on one line as the `seq`th of the run: its report, with a
    /// slot per action it runs, and the jobs that fill the empty slots.
    fn admit(
        &self,
        seq: usize,
        line: Result<FiringRecord, BadFiring>,
        jobs: &mut Vec<Job>,
    ) -> Unsettled {
        let plan = self.plan;
        let file = &plan.file;
        let rec = match line {
            Err(bad) => {
                return Unsettled::done(FiringReport {
                    firing_id: bad.id,
                    source: format!("{file}:{}", bad.error.line.unwrap_or(0)),
                    trigger_type: None,
                    contact_id: None,
                    status: Status::Error,
                    error: Some(bad.error),
                    executions: Vec::new(),
                });
            }
            Ok(rec) => rec,
        };
        let source = format!("{file}:{}", rec.line);
        let mut report = FiringReport {
            firing_id: Some(rec.firing.id.clone()),
            source: source.clone(),
            trigger_type: Some(rec.firing.trigger_type.clone()),
            contact_id: Some(shown_id(&rec.contact_id).into_owned()),
            status: Status::Error,
            error: None,
            executions: Vec::new(),
        };
        let at = |field: &str, message: String| {
            Some(InputError::new(
                &plan.options.firings,
                Some(rec.line),
                Some(field),
                message,
            ))
        };
        if let Some(first) = plan.scan.first_line_of(&rec.firing.id)
            && first != rec.line
        {
            // The id keys the firing's executions: a second firing with it
            // would pass for the first.
            report.error = at(
                "id",
                format!(
                    "the firing id `{}` is already used on line {first}; each firing needs its own id (this line was not run)",
                    rec.firing.id
                ),
            );
            return Unsettled::done(report);
        }
        if !plan.listened.contains(rec.firing.trigger_type.as_str()) {
            let listened = if plan.listened.is_empty() {
                "no workflow could be read".to_string()
            } else {
                let types: Vec<&str> = plan.listened.iter().map(String::as_str).collect();
                format!("workflows listen for: {}", types.join(", "))
            };
            report.error = at(
                "type",
                format!(
                    "no workflow listens for trigger type `{}` ({listened})",
                    rec.firing.trigger_type,
                ),
            );
            return Unsettled::done(report);
        }
        let contact = match self.book.get(&rec.contact_id) {
            Ok(Some(contact)) => contact,
            Ok(None) => {
                let contacts = plan.options.contacts.display();
                // As the report shows it.
                let id = report.contact_id.as_deref().unwrap_or_default();
                report.error = at(
                    "contact_id",
                    match self.book.refused(&rec.contact_id) {
                        Some(row) => format!(
                            "the contact with id `{id}` is on line {} of {contacts}, which was left out: {}",
                            row.line, row.why
                        ),
                        None if self.book.may_have_lost(&rec.contact_id) => format!(
                            "no contact with id `{id}` in {contacts}, some of whose ids a spreadsheet \
                             wrote in scientific notation, losing their last digits (see its problems)",
                        ),
                        None => format!("no contact with id `{id}` in {contacts}"),
                    },
                );
                return Unsettled::done(report);
            }
            Err(why) => {
                report.error = at("contact_id", why);
                return Unsettled::done(report);
            }
        };
        let firing = Arc::new(rec.firing);
        let listening = || {
            plan.workflows
                .iter()
                .enumerate()
                .filter(|(_, w)| w.trigger == firing.trigger_type)
        };
        // An execution report is large: room for exactly the firing's
        // executions, not the four a first push would make.
        let mut slots = Vec::with_capacity(listening().map(|(_, w)| w.actions.len()).sum());
        for (wi, w) in listening() {
            for (ai, a) in w.actions.iter().enumerate() {
                let problems = &plan.settings_problems[wi][ai];
                if problems.is_empty() {
                    jobs.push(Job {
                        key: execution_key(&firing.id, &w.name, &a.id),
                        digest: execution_digest(&plan.public_settings[wi][ai], &firing, &contact),
                        source: source.clone(),
                        seq,
                        slot: slots.len(),
                        workflow: wi,
                        action: ai,
                        firing: firing.clone(),
                        contact: contact.clone(),
                    });
                    slots.push(None);
                } else {
                    slots.push(Some(ExecutionReport::invalid_settings(
                        &w.name, &a.name, problems,
                    )));
                }
            }
        }
        Unsettled {
            waiting: slots.iter().filter(|s| s.is_none()).count(),
            slots,
            report,
            bytes: 0,
        }
    }
}

/// A firing read and not yet settled.
struct Unsettled {
    report: FiringReport,
    /// Its executions, in workflow and action order, as they finish.
    slots: Vec<Option<ExecutionReport>>,
    /// Executions not finished.
    waiting: usize,
    /// The input its executions hold until they finish, bytes.
    bytes: usize,
}

impl Unsettled {
    /// A firing that runs nothing.
    fn done(report: FiringReport) -> Unsettled {
        Unsettled {
            report,
            slots: Vec::new(),
            waiting: 0,
            bytes: 0,
        }
    }

    fn fill(&mut self, slot: usize, exec: ExecutionReport) {
        self.slots[slot] = Some(exec);
        self.waiting -= 1;
    }
}

/// The run's moving parts: firings read and waiting, executions in flight,
/// batches being filled.
struct Pipeline<'a> {
    admission: Admission<'a>,
    deliveries: Deliveries,
    /// Events per request (1: one execution per request).
    batch_size: usize,
    /// Per action, the batch being filled and the input it carries.
    open: BTreeMap<(usize, usize), (Vec<Job>, usize)>,
    tasks: tokio::task::JoinSet<Delivered>,
    /// Executions waiting for a task, and how many tasks at most: a task
    /// holds an execution's whole state, so they start as room frees up
    /// (a few times the concurrency, so that executions waiting out a
    /// retry's backoff leave room for others).
    ready: VecDeque<Job>,
    max_tasks: usize,
    /// Firings read and not yet given to the sink, in file order.
    unsettled: VecDeque<Unsettled>,
    /// The input they hold, bytes.
    unsettled_bytes: usize,
    /// The place in the run of the first of them.
    first: usize,
}

impl Pipeline<'_> {
    async fn run<S: FiringSink>(
        &mut self,
        mut reader: Option<firings::Reader>,
        report: &mut Report,
        sink: &mut S,
        progress: &dyn Fn(usize),
    ) -> Result<()> {
        loop {
            while let Some(lines) = reader.as_mut()
                && !self.window_full()
            {
                if !self.admit_chunk(lines)? {
                    reader = None;
                }
            }
            if reader.is_none() || self.window_full() {
                // Nothing more joins the batches being filled: send them.
                for (_, (jobs, _)) in std::mem::take(&mut self.open) {
                    if !jobs.is_empty() {
                        self.tasks.spawn(self.deliveries.batch(jobs));
                    }
                }
            }
            while self.tasks.len() < self.max_tasks
                && let Some(job) = self.ready.pop_front()
            {
                self.tasks.spawn(self.deliveries.one(job));
            }
            let before = self.first;
            while self.unsettled.front().is_some_and(|u| u.waiting == 0) {
                let u = self.unsettled.pop_front().expect("front is there");
                self.unsettled_bytes -= u.bytes;
                let mut firing = u.report;
                firing.executions = u.slots.into_iter().flatten().collect();
                firing.settle();
                report.tally.add(&firing);
                sink.firing(report, firing)?;
                self.first += 1;
            }
            if self.first != before {
                progress(self.first);
            }
            if reader.is_none() && self.unsettled.is_empty() {
                return Ok(());
            }
            if let Some(done) = self.tasks.join_next().await {
                for (seq, slot, exec) in done.expect("delivery tasks do not panic") {
                    self.unsettled[seq - self.first].fill(slot, exec);
                }
            }
        }
    }

    /// Whether no more firings may be read until some are settled.
    fn window_full(&self) -> bool {
        self.unsettled.len() >= WINDOW || self.unsettled_bytes >= WINDOW_BYTES
    }

    /// Reads up to [`CHUNK`] firings, writes their executions to the
    /// outbox, and starts those not settled by an earlier run. Returns
    /// false at the end of the file.
    fn admit_chunk(&mut self, lines: &mut firings::Reader) -> Result<bool> {
        let mut jobs = Vec::with_capacity(CHUNK);
        let mut more = true;
        for _ in 0..CHUNK {
            // A chunk is read whole past the window's count (its executions
            // go to the outbox in one transaction), not past its bytes.
            if self.unsettled_bytes >= WINDOW_BYTES {
                break;
            }
            let Some(line) = lines.next() else {
                more = false;
                break;
            };
            let seq = self.first + self.unsettled.len();
            let before = jobs.len();
            let mut unsettled = self.admission.admit(seq, line, &mut jobs);
            // The executions of a firing share its input.
            unsettled.bytes = jobs.get(before).map_or(0, Job::size);
            self.unsettled_bytes += unsettled.bytes;
            self.unsettled.push_back(unsettled);
        }
        let plan = self.admission.plan;
        if let Some(outbox) = &plan.outbox
            && plan.halted.get().is_none()
        {
            // Every execution is in the outbox before it runs; those an
            // earlier run settled with the same inputs are reported from it
            // and not sent again.
            let workflows = &plan.workflows;
            let enqueued = outbox.enqueue(jobs.iter().map(|j| NewEntry {
                key: &j.key,
                digest: &j.digest,
                firing_id: &j.firing.id,
                workflow: &workflows[j.workflow].name,
                action: &workflows[j.workflow].actions[j.action].name,
                source: &j.source,
            }));
            match enqueued {
                Ok(enqueued) => {
                    let first = self.first;
                    let unsettled = &mut self.unsettled;
                    jobs.retain(|j| match enqueued.settled.get(&j.key) {
                        Some(entry) => {
                            let w = &workflows[j.workflow];
                            let exec = ExecutionReport::from_outbox(
                                &w.name,
                                &w.actions[j.action].name,
                                entry,
                            );
                            unsettled[j.seq - first].fill(j.slot, exec);
                            false
                        }
                        None => true,
                    });
                }
                // What cannot be recorded must not be sent: the run stops
                // sending, and these executions, reported as not sent, go
                // with the next run.
                Err(e) => {
                    let _ = plan.halted.set(format!("{e:#}"));
                }
            }
        }
        for job in jobs {
            self.dispatch(job);
        }
        Ok(more)
    }

    /// Queues `job` to start alone, or adds it to its action's batch,
    /// which starts once full (in events or in input bytes).
    fn dispatch(&mut self, job: Job) {
        if self.batch_size <= 1 {
            self.ready.push_back(job);
            return;
        }
        let size = job.size();
        let capacity = self.batch_size;
        // A batch is allocated whole once, not grown job by job.
        let next = || Vec::with_capacity(capacity);
        let (jobs, bytes) = self
            .open
            .entry((job.workflow, job.action))
            .or_insert_with(|| (next(), 0));
        if !jobs.is_empty() && *bytes + size > self.admission.plan.options.batch_bytes {
            let full = std::mem::replace(jobs, next());
            *bytes = 0;
            self.tasks.spawn(self.deliveries.batch(full));
        }
        *bytes += size;
        jobs.push(job);
        if jobs.len() >= self.batch_size {
            let full = std::mem::replace(jobs, next());
            *bytes = 0;
            self.tasks.spawn(self.deliveries.batch(full));
        }
    }
}

/// The outbox key of an execution: the firing, the workflow, the action.
fn execution_key(firing_id: &str, workflow: &str, action_id: &str) -> String {
    format!("{firing_id}\u{1f}{workflow}\u{1f}{action_id}")
}

/// A digest of everything that decides what an execution sends.
fn execution_digest(public_settings: &str, firing: &wit::Firing, contact: &wit::Contact) -> String {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        // Length-prefixed, so that no two inputs hash alike by shifting bytes.
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(public_settings.as_bytes());
    field(firing.id.as_bytes());
    field(firing.trigger_type.as_bytes());
    field(&firing.occurred_at.to_le_bytes());
    field(firing.data.as_bytes());
    field(contact.id.as_bytes());
    for list in [&contact.emails, &contact.phones] {
        field(&(list.len() as u64).to_le_bytes());
        for v in list {
            field(v.as_bytes());
        }
    }
    for o in [
        &contact.first_name,
        &contact.last_name,
        &contact.gender,
        &contact.date_of_birth,
        &contact.city,
        &contact.state,
        &contact.postal_code,
        &contact.country,
    ] {
        match o {
            Some(v) => field(v.as_bytes()),
            None => field(b"\xff"),
        }
    }
    field(contact.custom_fields.as_bytes());
    // The first 16 bytes, as 32 hex digits.
    let hex = Sha256Digest(h.finalize().into()).hex();
    std::str::from_utf8(&hex[..32])
        .expect("hex digits are ASCII")
        .to_string()
}

/// The settings document without its secret fields, keys sorted.
fn without_secrets(settings: &str, pointers: &[String]) -> String {
    let Ok(mut doc) = serde_json::from_str::<Value>(settings) else {
        return settings.to_string();
    };
    for p in pointers {
        let (parent, key) = p.rsplit_once('/').unwrap_or(("", p));
        let key = key.replace("~1", "/").replace("~0", "~");
        let parent = if parent.is_empty() {
            Some(&mut doc)
        } else {
            doc.pointer_mut(parent)
        };
        if let Some(Value::Object(m)) = parent {
            m.remove(&key);
        }
    }
    canonical(&doc)
}

/// JSON text with object keys sorted, whatever the map's own order.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<_> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&m[k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// Every action's settings problems (per workflow, per action), and the
/// same located in the workflow files.
pub async fn check_settings(
    engine: &ActionEngine,
    workflows: &[Workflow],
) -> Result<(Vec<Vec<Vec<wit::Problem>>>, Vec<InputError>)> {
    let mut all = Vec::new();
    let mut located = Vec::new();
    for w in workflows {
        let mut per_action = Vec::new();
        for (i, a) in w.actions.iter().enumerate() {
            let problems = engine.validate_settings(&a.settings).await?;
            for p in &problems {
                located.push(InputError::new(
                    &w.file,
                    w.line_of_field(i, &p.path),
                    Some(&format!("settings{}", p.path)),
                    format!("{} ({})", p.message, a.name),
                ));
            }
            per_action.push(problems);
        }
        all.push(per_action);
    }
    Ok((all, located))
}

/// Refuses contacts or firings that are not files (a pipe, a terminal):
/// a run reads each twice, the contacts to index them and then by their
/// place, the firings in a first pass and then to run them, and a pipe
/// would give its firings to the first pass only, so that they would be
/// lost without a word.
pub fn refuse_streams(options: &RunOptions) -> Result<()> {
    for (flag, path) in [
        ("contacts", &options.contacts),
        ("triggers", &options.firings),
    ] {
        if let Ok(meta) = std::fs::metadata(path) {
            anyhow::ensure!(
                meta.is_file(),
                "--{flag} {} is not a file (a pipe or a device?): a run reads it twice, and \
                 resumes from it, so it must be a file: write it to one first",
                path.display()
            );
        }
    }
    Ok(())
}

/// The settings problems of workflow files refused for other problems
/// (`said`), but those of a setting already said: a file's problems are
/// said at once, not one kind per attempt.
pub async fn refused_settings_problems(
    engine: &ActionEngine,
    refused: &[Workflow],
    said: &[InputError],
) -> Result<Vec<InputError>> {
    let (_, located) = check_settings(engine, refused).await?;
    Ok(located
        .into_iter()
        .filter(|p| {
            !said.iter().any(|s| {
                s.file == p.file
                    && s.line == p.line
                    && p.field.as_ref().is_some_and(|field| {
                        s.field
                            .as_ref()
                            .is_some_and(|f| f.ends_with(&format!(".{field}")))
                    })
            })
        })
        .collect())
}

/// The JSON pointers of a settings document's secrets: those the component
/// declares, and every top-level setting named like a secret (`…token…`,
/// `…secret…`, `…password…`, `api_key`) even when it does not, so that no
/// component can keep a credential out of redaction by leaving it
/// undeclared.
fn secret_pointers(settings: &str, declared: &[String]) -> Vec<String> {
    let mut pointers = declared.to_vec();
    if let Ok(Value::Object(doc)) = serde_json::from_str::<Value>(settings) {
        for key in doc.keys() {
            let name = key.to_ascii_lowercase();
            let secret = ["token", "secret", "password", "passwd", "api_key", "apikey"]
                .iter()
                .any(|word| name.contains(word));
            let pointer = format!("/{}", key.replace('~', "~0").replace('/', "~1"));
            if secret && !pointers.contains(&pointer) {
                pointers.push(pointer);
            }
        }
    }
    pointers
}

/// The values of `settings` at the secret JSON pointers.
fn secret_values(settings: &str, pointers: &[String]) -> Vec<String> {
    let Ok(doc) = serde_json::from_str::<Value>(settings) else {
        return Vec::new();
    };
    pointers
        .iter()
        .filter_map(|p| doc.pointer(p).and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An outbox keeps the digests of earlier runs: the digest of the same
    /// inputs must not change from one release to the next, or every
    /// execution would look changed and be sent again.
    #[test]
    fn an_execution_digest_is_the_same_from_release_to_release() {
        let firing = crate::bench::bench_firing(7, 1_795_687_200);
        let contact = crate::bench::bench_contact(7);
        let digest = execution_digest(r#"{"event":"Purchase"}"#, &firing, &contact);
        assert_eq!(digest, "f6aaaf94193a3461e23be2b1b3671b59");
        let mut other = contact.clone();
        other.city = None;
        assert_ne!(
            execution_digest(r#"{"event":"Purchase"}"#, &firing, &other),
            digest
        );
    }
}
