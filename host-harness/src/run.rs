//! A run: every firing of a file through the workflows that listen for it,
//! executed by the component, concurrently up to a bound, into a report.

use crate::contacts;
use crate::firings;
use crate::input::InputError;
use crate::outbox::{NewEntry, Outbox, Recorded, State};
use crate::report::{
    ComponentInfo, ErrorReport, ExecutionReport, FiringReport, Report, Status, Totals,
};
use crate::retry::{self, RetryPolicy, Verdict};
use crate::workflow::{self, Workflow};
use action_host::{ActionEngine, EgressPolicy, HostFailure, Redactor, Reuse, Secret, Worker, wit};
use anyhow::Result;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
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
        }
    }
}

/// The input one batch carries by default. While it builds a batch the
/// component holds about 1 MiB plus 17 to 25 times the batch's input
/// (measured through `Execution::memory` with orders of 0 to 40 line
/// items), so a 1 MiB batch stays under a third of its default 64 MiB.
pub const DEFAULT_BATCH_BYTES: usize = 1 << 20;

#[derive(Clone)]
struct Job {
    /// Firing id, workflow name and action id: the outbox key.
    key: String,
    /// Digest of what defines the execution.
    digest: String,
    source: String,
    firing_index: usize,
    workflow: usize,
    action: usize,
    /// Shared by the executions of every action the firing runs, and with
    /// the contact book: a run holds each record once.
    firing: Arc<wit::Firing>,
    contact: Arc<wit::Contact>,
}

impl Job {
    /// The input the component receives for this job, bytes.
    fn size(&self) -> usize {
        let c = &self.contact;
        let optional = [
            &c.first_name,
            &c.last_name,
            &c.gender,
            &c.date_of_birth,
            &c.city,
            &c.state,
            &c.postal_code,
            &c.country,
        ];
        self.firing.data.len()
            + self.firing.id.len()
            + c.id.len()
            + c.custom_fields.len()
            + c.emails
                .iter()
                .chain(&c.phones)
                .map(String::len)
                .sum::<usize>()
            + optional
                .iter()
                .filter_map(|o| o.as_ref())
                .map(String::len)
                .sum::<usize>()
            + 256
    }
}

/// Runs `options` on `engine`; `progress(done, total)` is called as
/// executions finish.
pub async fn run(
    engine: Arc<ActionEngine>,
    options: &RunOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Report> {
    let started = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let descriptor = engine.describe().await?;
    let mut input_errors = Vec::new();

    let (workflows, errors) = workflow::load_all(&options.workflows, &descriptor.secret_fields);
    input_errors.extend(errors);
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
    let secrets: Vec<Secret> = workflows
        .iter()
        .flat_map(|w| &w.actions)
        .flat_map(|a| secret_values(&a.settings, &descriptor.secret_fields))
        .map(Secret::new)
        .collect();
    let redactor = Redactor::new(&secrets);
    let policy = Arc::new(EgressPolicy::graph(options.graph_url.clone()).with_secrets(&secrets));
    // What defines each action's executions, secrets aside: a new token is
    // the same action, a new mapping is not.
    let public_settings: Vec<Vec<String>> = workflows
        .iter()
        .map(|w| {
            w.actions
                .iter()
                .map(|a| without_secrets(&a.settings, &descriptor.secret_fields))
                .collect()
        })
        .collect();

    let (book, errors) = contacts::load(&options.contacts);
    input_errors.extend(errors);

    let listened: BTreeSet<&str> = workflows.iter().map(|w| w.trigger.as_str()).collect();
    let mut reports = Vec::new();
    let mut jobs: Vec<Job> = Vec::new();
    let lines = match firings::load(&options.firings) {
        Ok(l) => l,
        Err(e) => {
            input_errors.push(e);
            Vec::new()
        }
    };
    let mut first_line_of: HashMap<String, usize> = HashMap::new();
    for line in lines {
        let index = reports.len();
        let file = options.firings.display();
        match line {
            Err(bad) => reports.push(FiringReport {
                firing_id: bad.id,
                source: format!("{file}:{}", bad.error.line.unwrap_or(0)),
                trigger_type: None,
                contact_id: None,
                status: Status::Error,
                error: Some(bad.error),
                executions: Vec::new(),
            }),
            Ok(rec) => {
                let mut report = FiringReport {
                    firing_id: Some(rec.firing.id.clone()),
                    source: format!("{file}:{}", rec.line),
                    trigger_type: Some(rec.firing.trigger_type.clone()),
                    contact_id: Some(rec.contact_id.clone()),
                    status: Status::Error,
                    error: None,
                    executions: Vec::new(),
                };
                let at = |field: &str, message: String| {
                    Some(InputError::new(
                        &options.firings,
                        Some(rec.line),
                        Some(field),
                        message,
                    ))
                };
                if let Some(first) = first_line_of.get(&rec.firing.id) {
                    // The id keys the firing's executions: a second firing
                    // with it would pass for the first.
                    report.error = at(
                        "id",
                        format!(
                            "the firing id `{}` is already used on line {first}; each firing needs its own id (this line was not run)",
                            rec.firing.id
                        ),
                    );
                } else if !listened.contains(rec.firing.trigger_type.as_str()) {
                    first_line_of.insert(rec.firing.id.clone(), rec.line);
                    report.error = at(
                        "type",
                        format!(
                            "no workflow listens for trigger type `{}` (workflows listen for: {})",
                            rec.firing.trigger_type,
                            listened.iter().copied().collect::<Vec<_>>().join(", ")
                        ),
                    );
                } else if let Some(contact) = book.get(&rec.contact_id) {
                    first_line_of.insert(rec.firing.id.clone(), rec.line);
                    let firing = Arc::new(rec.firing.clone());
                    for (wi, w) in workflows
                        .iter()
                        .enumerate()
                        .filter(|(_, w)| w.trigger == rec.firing.trigger_type)
                    {
                        for (ai, a) in w.actions.iter().enumerate() {
                            if settings_problems[wi][ai].is_empty() {
                                jobs.push(Job {
                                    key: execution_key(&rec.firing.id, &w.name, &a.id),
                                    digest: execution_digest(
                                        &public_settings[wi][ai],
                                        &rec.firing,
                                        contact,
                                    ),
                                    source: format!("{}:{}", options.firings.display(), rec.line),
                                    firing_index: index,
                                    workflow: wi,
                                    action: ai,
                                    firing: firing.clone(),
                                    contact: contact.clone(),
                                });
                            } else {
                                report.executions.reserve_exact(1);
                                report.executions.push(ExecutionReport::invalid_settings(
                                    &w.name,
                                    &a.name,
                                    &settings_problems[wi][ai],
                                ));
                            }
                        }
                    }
                } else {
                    first_line_of.insert(rec.firing.id.clone(), rec.line);
                    report.error = at(
                        "contact_id",
                        format!(
                            "no contact with id `{}` in {}",
                            rec.contact_id,
                            options.contacts.display()
                        ),
                    );
                }
                reports.push(report);
            }
        }
    }

    // Every execution is in the outbox before any runs; those an earlier
    // run settled with the same inputs are reported from it and not sent
    // again.
    let outbox = match (&options.outbox, options.dry_run) {
        (Some(path), false) => {
            let outbox = Arc::new(Outbox::open(path)?);
            outbox.enqueue(jobs.iter().map(|j| {
                let (w, a) = (
                    &workflows[j.workflow],
                    &workflows[j.workflow].actions[j.action],
                );
                NewEntry {
                    key: &j.key,
                    digest: &j.digest,
                    firing_id: &j.firing.id,
                    workflow: &w.name,
                    action: &a.name,
                    source: &j.source,
                }
            }))?;
            let known = outbox.settled()?;
            jobs.retain(|j| match known.get(&j.key) {
                Some(entry)
                    if entry.state != State::Pending
                        && entry.digest.as_deref() == Some(j.digest.as_str()) =>
                {
                    let w = &workflows[j.workflow];
                    reports[j.firing_index]
                        .executions
                        .push(ExecutionReport::from_outbox(
                            &w.name,
                            &w.actions[j.action].name,
                            entry,
                        ));
                    false
                }
                _ => true,
            });
            Some(outbox)
        }
        _ => None,
    };
    let total = jobs.len();
    let halted: Arc<OnceLock<String>> = Default::default();
    let results = execute_all(
        engine,
        &workflows,
        Context {
            policy,
            outbox,
            halted: halted.clone(),
            redactor: redactor.clone(),
        },
        jobs,
        options,
        total,
        progress,
    )
    .await?;
    for (index, exec) in results {
        // Most firings run one action: no room kept for more.
        reports[index].executions.reserve_exact(1);
        reports[index].executions.push(exec);
    }
    for r in &mut reports {
        r.settle();
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
    let mut report = Report {
        component: ComponentInfo {
            name: descriptor.name,
            version: descriptor.version,
        },
        graph_url: options.graph_url.as_ref().map(|u| u.to_string()),
        started_at,
        elapsed_ms: started.elapsed().as_millis() as u64,
        totals: Totals::default(),
        match_quality: Default::default(),
        input_errors,
        firings: reports,
    };
    report.tally();
    Ok(report)
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
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The settings document without its secret fields, keys sorted.
fn without_secrets(settings: &str, pointers: &[String]) -> String {
    let Ok(mut doc) = serde_json::from_str::<Value>(settings) else {
        return settings.to_string();
    };
    for p in pointers {
        let (parent, key) = p.rsplit_once('/').unwrap_or(("", p));
        let parent = if parent.is_empty() {
            Some(&mut doc)
        } else {
            doc.pointer_mut(parent)
        };
        if let Some(Value::Object(m)) = parent {
            m.remove(key);
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

/// What every execution of a run shares.
#[derive(Clone)]
struct Context {
    policy: Arc<EgressPolicy>,
    outbox: Option<Arc<Outbox>>,
    /// Set, with the error, once the outbox cannot be written: nothing more
    /// is sent, since nothing more could be recorded.
    halted: Arc<OnceLock<String>>,
    redactor: Redactor,
}

/// Cuts an action's jobs, in file order, into batches of at most `count`
/// events and `bytes` of input (a batch always takes at least one job).
fn batches(jobs: Vec<Job>, count: usize, bytes: usize) -> Vec<Vec<Job>> {
    let mut out: Vec<Vec<Job>> = Vec::new();
    let mut size = 0;
    for job in jobs {
        let s = job.size();
        match out.last_mut() {
            Some(last) if last.len() < count && size + s <= bytes => {
                size += s;
                last.push(job);
            }
            _ => {
                size = s;
                out.push(vec![job]);
            }
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
async fn execute_all(
    engine: Arc<ActionEngine>,
    workflows: &[Workflow],
    context: Context,
    jobs: Vec<Job>,
    options: &RunOptions,
    total: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<(usize, ExecutionReport)>> {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(options.concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    let mut out = Vec::with_capacity(jobs.len());
    // Idle workers per action: an instance only ever serves one action (and
    // so one account). Warm idle workers hold instance slots, so all the
    // pools together keep at most `concurrency` of them: with as many in
    // flight, that is the engine's pool (twice the concurrency).
    let pools: Vec<Vec<Pool>> = workflows
        .iter()
        .map(|w| w.actions.iter().map(|_| Pool::default()).collect())
        .collect();
    let warm_idle = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let attempts = |workflow: usize, action: usize| {
        let w = &workflows[workflow];
        Attempts {
            workers: pools[workflow][action].clone(),
            warm_idle: warm_idle.clone(),
            max_warm_idle: options.concurrency.max(1),
            reuse: options.reuse,
            engine: engine.clone(),
            context: context.clone(),
            semaphore: semaphore.clone(),
            retry: options.retry.clone(),
            dry_run: options.dry_run,
            record_requests: options.record_requests,
            workflow: w.name.clone(),
            action: w.actions[action].name.clone(),
            settings: w.actions[action].settings.clone(),
        }
    };
    if options.batch_size > 1 && !options.dry_run {
        // Firings of the same action share requests, in file order.
        let mut groups: std::collections::BTreeMap<(usize, usize), Vec<Job>> = Default::default();
        for job in jobs {
            groups
                .entry((job.workflow, job.action))
                .or_default()
                .push(job);
        }
        let mut tasks = tokio::task::JoinSet::new();
        for ((workflow, action), jobs) in groups {
            for batch in batches(jobs, options.batch_size.min(1000), options.batch_bytes) {
                let ctx = attempts(workflow, action);
                tasks.spawn(async move { ctx.deliver_batch(batch).await });
            }
        }
        let mut out = Vec::with_capacity(total);
        while let Some(done) = tasks.join_next().await {
            out.extend(done.expect("batch tasks do not panic")?);
            progress(out.len(), total);
        }
        out.sort_by_key(|(index, _)| *index);
        return Ok(out);
    }
    for (order, job) in jobs.into_iter().enumerate() {
        let permit = semaphore
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore stays open");
        let ctx = attempts(job.workflow, job.action);
        set.spawn(async move {
            let report = ctx.deliver(&job, permit).await?;
            Ok::<_, anyhow::Error>((order, job.firing_index, report))
        });
        while let Some(done) = set.try_join_next() {
            out.push(done.expect("execution tasks do not panic")?);
            progress(out.len(), total);
        }
    }
    while let Some(done) = set.join_next().await {
        out.push(done.expect("execution tasks do not panic")?);
        progress(out.len(), total);
    }
    // Executions finish in any order; the report keeps the file's.
    out.sort_by_key(|(order, _, _)| *order);
    Ok(out
        .into_iter()
        .map(|(_, index, exec)| (index, exec))
        .collect())
}

/// The idle workers of one action.
type Pool = Arc<std::sync::Mutex<Vec<Worker>>>;

/// What one execution needs to be delivered, retries included.
struct Attempts {
    workers: Pool,
    /// Warm idle workers over every action's pool, and their bound.
    warm_idle: Arc<std::sync::atomic::AtomicUsize>,
    max_warm_idle: usize,
    reuse: Reuse,
    engine: Arc<ActionEngine>,
    context: Context,
    semaphore: Arc<tokio::sync::Semaphore>,
    retry: RetryPolicy,
    dry_run: bool,
    record_requests: bool,
    workflow: String,
    action: String,
    settings: String,
}

impl Attempts {
    /// An idle worker of this action, or a new one.
    fn worker(&self) -> Worker {
        match self.workers.lock().unwrap().pop() {
            Some(w) => {
                self.warm_idle.fetch_sub(1, Ordering::Relaxed);
                w
            }
            None => self.engine.worker(self.context.policy.clone(), self.reuse),
        }
    }

    /// Keeps a warm worker for the next execution of this action, unless
    /// enough are idle already (a cold one is cheaper to make anew).
    fn give_back(&self, worker: Worker) {
        if !worker.is_warm() {
            return;
        }
        if self.warm_idle.fetch_add(1, Ordering::Relaxed) < self.max_warm_idle {
            self.workers.lock().unwrap().push(worker);
        } else {
            self.warm_idle.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Runs one execution in a worker of this action. A memory limit reached
    /// in a reused instance may be the earlier executions' heap: the
    /// execution runs again in a fresh instance before it counts.
    async fn execute(&self, job: &Job) -> action_host::Execution {
        let mut worker = self.worker();
        let mut exec = worker
            .execute(&self.settings, &job.firing, &job.contact)
            .await;
        if exec.reused && matches!(exec.result, Err(HostFailure::Memory(_))) {
            exec = worker
                .execute(&self.settings, &job.firing, &job.contact)
                .await;
        }
        self.give_back(worker);
        exec
    }

    /// The report of an execution not sent because the outbox failed.
    fn not_sent(&self, error: &str) -> ExecutionReport {
        let mut r = ExecutionReport::invalid_settings(&self.workflow, &self.action, &[]);
        r.status = Status::Failed;
        r.error = Some(ErrorReport {
            class: "outbox",
            message: format!(
                "not sent: the outbox cannot be written ({error}); the next run sends it"
            ),
            retriable: true,
            ..ErrorReport::default()
        });
        r
    }

    /// Executes `job` until Meta has it, it is dead, or the attempts of this
    /// run are spent; the outbox follows every attempt.
    async fn deliver(
        &self,
        job: &Job,
        mut permit: tokio::sync::OwnedSemaphorePermit,
    ) -> Result<ExecutionReport> {
        if self.dry_run {
            let exec = self
                .engine
                .preview(&self.settings, &job.firing, &job.contact)
                .await;
            let mut r = ExecutionReport::from_preview(&self.workflow, &self.action, exec);
            r.redact(&self.context.redactor);
            return Ok(r);
        }
        let mut attempt = 0;
        loop {
            if let Some(error) = self.context.halted.get() {
                return Ok(self.not_sent(error));
            }
            attempt += 1;
            let exec = self.execute(job).await;
            drop(permit);
            let verdict = retry::verdict(&exec.result);
            let mut r = ExecutionReport::from_execution(&self.workflow, &self.action, exec);
            r.attempts = attempt;
            r.redact(&self.context.redactor);
            let spent = attempt >= self.retry.max_attempts;
            self.record(&[(job.key.as_str(), &r, verdict)]);
            match verdict {
                Verdict::Retry { rate_limited } if !spent => {
                    tokio::time::sleep(self.retry.backoff(attempt, rate_limited, retry::jitter()))
                        .await;
                    permit = self
                        .semaphore
                        .clone()
                        .acquire_owned()
                        .await
                        .expect("semaphore stays open");
                }
                _ => return Ok(self.settle(r, verdict)),
            }
        }
    }

    /// Delivers `jobs` in batches of one request each: the component sets
    /// aside what cannot go, retriable failures are sent again (as a smaller
    /// batch), and a batch that Meta refuses as invalid, or that runs past a
    /// host limit, is split in halves until the event at fault is alone, so
    /// that the others are delivered.
    async fn deliver_batch(&self, jobs: Vec<Job>) -> Result<Vec<(usize, ExecutionReport)>> {
        let mut done = Vec::with_capacity(jobs.len());
        let mut queue: Vec<(Vec<Job>, u32)> = vec![(jobs, 1)];
        while let Some((group, attempt)) = queue.pop() {
            if let Some(error) = self.context.halted.get() {
                done.extend(group.iter().map(|j| (j.firing_index, self.not_sent(error))));
                continue;
            }
            let items: Vec<wit::BatchItem> = group
                .iter()
                .map(|j| wit::BatchItem {
                    firing: (*j.firing).clone(),
                    contact: (*j.contact).clone(),
                })
                .collect();
            let permit = self
                .semaphore
                .clone()
                .acquire_owned()
                .await
                .expect("semaphore stays open");
            let mut worker = self.worker();
            let exec = worker.execute_batch(&self.settings, &items).await;
            self.give_back(worker);
            drop(permit);
            let results: Vec<_> = match exec.result {
                Ok(Ok(per_item)) => per_item.into_iter().map(Ok).collect(),
                Ok(Err(f)) => vec![Ok(Err(f)); group.len()],
                // A host limit says nothing of any one event: halves may
                // stay within it, and only an event that fails alone is
                // given up.
                Err(host) if group.len() > 1 && host.is_limit() => {
                    let mut first = group;
                    let second = first.split_off(first.len() / 2);
                    queue.push((second, attempt));
                    queue.push((first, attempt));
                    continue;
                }
                Err(host) => {
                    vec![Err::<Result<wit::Outcome, wit::Failure>, HostFailure>(host); group.len()]
                }
            };
            let mut retry = Vec::new();
            let mut refused_together = Vec::new();
            // A batch body is large: the report keeps the exchange once per
            // event only for failures, and without the request body.
            let summaries: Vec<_> = exec
                .exchanges
                .iter()
                .map(|x| x.without_request_body())
                .collect();
            let mut settled = Vec::with_capacity(group.len());
            for (job, result) in group.into_iter().zip(results) {
                let accepted = matches!(result, Ok(Ok(_)));
                let verdict = retry::verdict(&result);
                let refused_as_invalid = retry::refused_as_invalid(&result);
                let exchanges = if accepted && !self.record_requests {
                    Vec::new()
                } else {
                    summaries.clone()
                };
                let mut r = ExecutionReport::from_result(
                    &self.workflow,
                    &self.action,
                    result,
                    exchanges,
                    exec.elapsed,
                );
                r.attempts = attempt;
                r.redact(&self.context.redactor);
                if refused_as_invalid {
                    refused_together.push((job, r));
                    continue;
                }
                settled.push((job, r, verdict));
            }
            if refused_together.len() > 1 {
                // One bad event makes Meta refuse the whole request.
                let mut jobs: Vec<Job> = refused_together.into_iter().map(|(j, _)| j).collect();
                let second = jobs.split_off(jobs.len() / 2);
                queue.push((second, attempt));
                queue.push((jobs, attempt));
            } else if let Some((job, r)) = refused_together.pop() {
                settled.push((job, r, Verdict::Dead));
            }
            // One transaction for the whole batch.
            self.record(
                &settled
                    .iter()
                    .map(|(j, r, v)| (j.key.as_str(), r, *v))
                    .collect::<Vec<_>>(),
            );
            for (job, r, verdict) in settled {
                match verdict {
                    Verdict::Retry { rate_limited } if attempt < self.retry.max_attempts => {
                        retry.push((job, rate_limited));
                    }
                    _ => done.push((job.firing_index, self.settle(r, verdict))),
                }
            }
            if !retry.is_empty() {
                let rate_limited = retry.iter().any(|(_, rl)| *rl);
                tokio::time::sleep(self.retry.backoff(attempt, rate_limited, retry::jitter()))
                    .await;
                queue.push((retry.into_iter().map(|(j, _)| j).collect(), attempt + 1));
            }
        }
        Ok(done)
    }

    /// Writes attempts' results to the outbox, in one transaction. When it
    /// cannot, the run stops sending: an execution whose result is not
    /// recorded stays pending and is sent again by the next run.
    fn record(&self, results: &[(&str, &ExecutionReport, Verdict)]) {
        let Some(outbox) = &self.context.outbox else {
            return;
        };
        let errors: Vec<Option<String>> = results
            .iter()
            .map(|(_, r, _)| r.error.as_ref().map(|e| e.summary()))
            .collect();
        let rows = results
            .iter()
            .zip(&errors)
            .map(|((key, r, verdict), error)| {
                let state = match verdict {
                    Verdict::Done if r.status == Status::Skipped => State::Skipped,
                    Verdict::Done => State::Delivered,
                    Verdict::Dead => State::Dead,
                    Verdict::Retry { .. } => State::Pending,
                };
                Recorded {
                    key,
                    state,
                    event_name: r.event_name.as_deref(),
                    event_id: r.event_id.as_deref(),
                    fbtrace_id: r
                        .answer
                        .as_ref()
                        .map(|a| a.fbtrace_id.as_str())
                        .or(r.error.as_ref().and_then(|e| e.fbtrace_id.as_deref())),
                    last_error: error.as_deref(),
                }
            });
        if let Err(e) = outbox.record_all(rows) {
            let _ = self.context.halted.set(format!("{e:#}"));
        }
    }

    /// The final report of an execution.
    fn settle(&self, mut r: ExecutionReport, verdict: Verdict) -> ExecutionReport {
        if matches!(verdict, Verdict::Retry { .. })
            && let Some(e) = &mut r.error
        {
            e.message = format!(
                "{} (gave up after {} attempts; the next run tries again)",
                e.message, r.attempts
            );
        }
        if !self.record_requests && r.status == Status::Accepted {
            r.requests = Vec::new();
        }
        r
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
        for a in &w.actions {
            let problems = engine.validate_settings(&a.settings).await?;
            for p in &problems {
                located.push(InputError::new(
                    &w.file,
                    w.line_of_field(&p.path),
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
