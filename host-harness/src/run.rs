//! A run: every firing of a file through the workflows that listen for it,
//! executed by the component, concurrently up to a bound, into a report.

use crate::contacts;
use crate::egress::EgressPolicy;
use crate::engine::{ActionEngine, wit};
use crate::firings;
use crate::input::InputError;
use crate::outbox::{Outbox, State};
use crate::report::{ComponentInfo, ExecutionReport, FiringReport, Report, Status, Totals};
use crate::retry::{self, RetryPolicy, Verdict};
use crate::workflow::{self, Workflow};
use anyhow::Result;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
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
}

#[derive(Clone)]
struct Job {
    key: String,
    source: String,
    firing_index: usize,
    workflow: usize,
    action: usize,
    firing: wit::Firing,
    contact: wit::Contact,
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

    let (workflows, errors) = workflow::load_all(&options.workflows);
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
    let secrets = workflows
        .iter()
        .flat_map(|w| &w.actions)
        .flat_map(|a| secret_values(&a.settings, &descriptor.secret_fields));
    let policy = Arc::new(EgressPolicy::graph(options.graph_url.clone()).with_secrets(secrets));

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
                if !listened.contains(rec.firing.trigger_type.as_str()) {
                    report.error = at(
                        "type",
                        format!(
                            "no workflow listens for trigger type `{}` (workflows listen for: {})",
                            rec.firing.trigger_type,
                            listened.iter().copied().collect::<Vec<_>>().join(", ")
                        ),
                    );
                } else if let Some(contact) = book.get(&rec.contact_id) {
                    for (wi, w) in workflows
                        .iter()
                        .enumerate()
                        .filter(|(_, w)| w.trigger == rec.firing.trigger_type)
                    {
                        for (ai, a) in w.actions.iter().enumerate() {
                            if settings_problems[wi][ai].is_empty() {
                                jobs.push(Job {
                                    // Unique per execution and stable across runs.
                                    key: format!("{}\u{1f}{}\u{1f}{ai}", rec.firing.id, w.name),
                                    source: format!("{}:{}", options.firings.display(), rec.line),
                                    firing_index: index,
                                    workflow: wi,
                                    action: ai,
                                    firing: rec.firing.clone(),
                                    contact: contact.clone(),
                                });
                            } else {
                                report.executions.push(ExecutionReport::invalid_settings(
                                    &w.name,
                                    &a.name,
                                    &settings_problems[wi][ai],
                                ));
                            }
                        }
                    }
                } else {
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

    // Every execution is in the outbox before any runs; those finished by
    // an earlier run are reported from it and not sent again.
    let outbox = match (&options.outbox, options.dry_run) {
        (Some(path), false) => {
            let outbox = Arc::new(Outbox::open(path)?);
            outbox.enqueue(jobs.iter().map(|j| {
                let (w, a) = (
                    &workflows[j.workflow],
                    &workflows[j.workflow].actions[j.action],
                );
                (
                    j.key.as_str(),
                    j.firing.id.as_str(),
                    w.name.as_str(),
                    a.name.as_str(),
                    j.source.as_str(),
                )
            }))?;
            let known = outbox.all()?;
            jobs.retain(|j| match known.get(&j.key) {
                Some(entry) if entry.state != State::Pending => {
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
    let results = execute_all(
        engine, &workflows, policy, jobs, options, outbox, total, progress,
    )
    .await?;
    for (index, exec) in results {
        reports[index].executions.push(exec);
    }
    for r in &mut reports {
        r.settle();
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

#[allow(clippy::too_many_arguments)]
async fn execute_all(
    engine: Arc<ActionEngine>,
    workflows: &[Workflow],
    policy: Arc<EgressPolicy>,
    jobs: Vec<Job>,
    options: &RunOptions,
    outbox: Option<Arc<Outbox>>,
    total: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<(usize, ExecutionReport)>> {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(options.concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    let mut out = Vec::with_capacity(jobs.len());
    let attempts = |workflow: usize, action: usize| {
        let w = &workflows[workflow];
        Attempts {
            engine: engine.clone(),
            policy: policy.clone(),
            outbox: outbox.clone(),
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
        let mut batches = tokio::task::JoinSet::new();
        for ((workflow, action), jobs) in groups {
            for chunk in jobs.chunks(options.batch_size.min(1000)) {
                let ctx = attempts(workflow, action);
                let chunk = chunk.to_vec();
                batches.spawn(async move { ctx.deliver_batch(chunk).await });
            }
        }
        let mut out = Vec::with_capacity(total);
        while let Some(done) = batches.join_next().await {
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

/// What one execution needs to be delivered, retries included.
struct Attempts {
    engine: Arc<ActionEngine>,
    policy: Arc<EgressPolicy>,
    outbox: Option<Arc<Outbox>>,
    semaphore: Arc<tokio::sync::Semaphore>,
    retry: RetryPolicy,
    dry_run: bool,
    record_requests: bool,
    workflow: String,
    action: String,
    settings: String,
}

impl Attempts {
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
            return Ok(ExecutionReport::from_preview(
                &self.workflow,
                &self.action,
                exec,
            ));
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let exec = self
                .engine
                .execute(
                    self.policy.clone(),
                    &self.settings,
                    &job.firing,
                    &job.contact,
                )
                .await;
            drop(permit);
            let mut r = ExecutionReport::from_execution(&self.workflow, &self.action, exec);
            r.attempts = attempt;
            let verdict = retry::verdict(&r);
            let spent = attempt >= self.retry.max_attempts;
            self.record(&job.key, &r, verdict)?;
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
    /// batch), and a batch Meta refuses as invalid is split in halves until
    /// the event at fault is alone, so that the others are delivered.
    async fn deliver_batch(&self, jobs: Vec<Job>) -> Result<Vec<(usize, ExecutionReport)>> {
        let mut done = Vec::with_capacity(jobs.len());
        let mut queue: Vec<(Vec<Job>, u32)> = vec![(jobs, 1)];
        while let Some((group, attempt)) = queue.pop() {
            let items: Vec<wit::BatchItem> = group
                .iter()
                .map(|j| wit::BatchItem {
                    firing: j.firing.clone(),
                    contact: j.contact.clone(),
                })
                .collect();
            let permit = self
                .semaphore
                .clone()
                .acquire_owned()
                .await
                .expect("semaphore stays open");
            let exec = self
                .engine
                .execute_batch(self.policy.clone(), &self.settings, &items)
                .await;
            drop(permit);
            let results: Vec<_> = match exec.result {
                Ok(Ok(per_item)) => per_item.into_iter().map(Ok).collect(),
                Ok(Err(f)) => vec![Ok(Err(f)); group.len()],
                Err(host) => vec![Err(host); group.len()],
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
            for (job, result) in group.into_iter().zip(results) {
                let accepted = matches!(result, Ok(Ok(_)));
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
                let verdict = retry::verdict(&r);
                let refused_as_invalid = r
                    .error
                    .as_ref()
                    .is_some_and(|e| e.class == "rejected" && e.code == Some(100) && !e.retriable);
                if refused_as_invalid {
                    refused_together.push((job, r));
                    continue;
                }
                self.record(&job.key, &r, verdict)?;
                match verdict {
                    Verdict::Retry { rate_limited } if attempt < self.retry.max_attempts => {
                        retry.push((job, rate_limited));
                    }
                    _ => done.push((job.firing_index, self.settle(r, verdict))),
                }
            }
            if refused_together.len() > 1 {
                // One bad event makes Meta refuse the whole request.
                let mut jobs: Vec<Job> = refused_together.into_iter().map(|(j, _)| j).collect();
                let second = jobs.split_off(jobs.len() / 2);
                queue.push((second, attempt));
                queue.push((jobs, attempt));
            } else if let Some((job, r)) = refused_together.pop() {
                self.record(&job.key, &r, Verdict::Dead)?;
                done.push((job.firing_index, self.settle(r, Verdict::Dead)));
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

    /// Writes an attempt's result to the outbox.
    fn record(&self, key: &str, r: &ExecutionReport, verdict: Verdict) -> Result<()> {
        let Some(outbox) = &self.outbox else {
            return Ok(());
        };
        let error = r.error.as_ref().map(|e| e.summary());
        let state = match verdict {
            Verdict::Done if r.status == Status::Skipped => State::Skipped,
            Verdict::Done => State::Delivered,
            Verdict::Dead => State::Dead,
            Verdict::Retry { .. } => State::Pending,
        };
        let fbtrace = r
            .answer
            .as_ref()
            .map(|a| a.fbtrace_id.as_str())
            .or(r.error.as_ref().and_then(|e| e.fbtrace_id.as_deref()));
        outbox.record(
            key,
            state,
            r.event_name.as_deref(),
            r.event_id.as_deref(),
            fbtrace,
            error.as_deref(),
        )
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
