//! Delivering executions: each in a worker of its action, retried with
//! backoff while worth it, alone or in batches of one request, with every
//! attempt recorded in the outbox.

use crate::contacts::empty_contact;
use crate::outbox::{Journal, Recorded, State};
use crate::report::{ErrorReport, ExecutionReport, Status};
use crate::retry::{self, RetryPolicy, Verdict};
use crate::run::RunOptions;
use crate::workflow::Workflow;
use action_host::{ActionEngine, EgressPolicy, HostFailure, Redactor, Reuse, Worker, wit};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// Finished executions: the firing's place in the run, the execution's
/// place among the firing's, and its report.
pub(crate) type Delivered = Vec<(usize, usize, ExecutionReport)>;

/// One execution to deliver: a firing through one action.
pub(crate) struct Job {
    /// Firing id, workflow name and action id: the outbox key.
    pub key: String,
    /// Digest of what defines the execution.
    pub digest: String,
    /// `file:line` of the firing.
    pub source: String,
    /// The firing's place in the run.
    pub seq: usize,
    /// The execution's place among the firing's.
    pub slot: usize,
    /// Which workflow, and which of its actions.
    pub workflow: usize,
    pub action: usize,
    /// Shared by the executions of every action the firing runs: a run
    /// holds each record once.
    pub firing: Arc<wit::Firing>,
    pub contact: Arc<wit::Contact>,
}

impl Job {
    /// The input the component receives for this job, bytes.
    pub fn size(&self) -> usize {
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

/// A firing with nothing in it, allocating nothing.
fn no_firing() -> wit::Firing {
    wit::Firing {
        id: String::new(),
        trigger_type: String::new(),
        occurred_at: 0,
        data: String::new(),
    }
}

/// What every execution of a run shares.
#[derive(Clone)]
pub(crate) struct Context {
    /// Where the component may send, and the secrets it must not leak.
    pub policy: Arc<EgressPolicy>,
    /// Where every attempt is recorded, when the run has an outbox.
    pub journal: Option<Journal>,
    /// Set, with the error, once the outbox cannot be written: nothing more
    /// is sent, since nothing more could be recorded.
    pub halted: Arc<OnceLock<String>>,
    /// Takes the secrets out of what is reported.
    pub redactor: Redactor,
}

/// What delivers a run's executions: one pool of idle workers per action,
/// and the bound on executions in flight.
pub(crate) struct Deliveries {
    attempts: Vec<Vec<Arc<Attempts>>>,
}

impl Deliveries {
    /// The deliveries of `workflows`' actions on `engine`.
    pub fn new(
        engine: Arc<ActionEngine>,
        workflows: &[Workflow],
        context: Context,
        options: &RunOptions,
    ) -> Deliveries {
        let semaphore = Arc::new(tokio::sync::Semaphore::new(options.concurrency.max(1)));
        // An instance only ever serves one action (and so one account).
        // Warm idle workers hold instance slots, so all the pools together
        // keep at most `concurrency` of them: with as many in flight, that
        // is the engine's pool (twice the concurrency).
        let warm_idle = Arc::new(AtomicUsize::new(0));
        let attempts = workflows
            .iter()
            .map(|w| {
                w.actions
                    .iter()
                    .map(|a| {
                        Arc::new(Attempts {
                            workers: Pool::default(),
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
                            action: a.name.clone(),
                            settings: a.settings.clone(),
                        })
                    })
                    .collect()
            })
            .collect();
        Deliveries { attempts }
    }

    /// Delivers `job` alone, waiting for room among the executions in
    /// flight.
    pub fn one(&self, job: Job) -> impl Future<Output = Delivered> + Send + 'static {
        let attempts = self.attempts[job.workflow][job.action].clone();
        async move { attempts.deliver(job).await }
    }

    /// Delivers `jobs`, all of one action, in one request (split when Meta
    /// or a host limit refuses it).
    pub fn batch(&self, jobs: Vec<Job>) -> impl Future<Output = Delivered> + Send + 'static {
        let first = &jobs[0];
        let attempts = self.attempts[first.workflow][first.action].clone();
        async move { attempts.deliver_batch(jobs).await }
    }
}

/// The idle workers of one action.
type Pool = std::sync::Mutex<Vec<Worker>>;

/// What the executions of one action need to be delivered, retries
/// included.
struct Attempts {
    workers: Pool,
    /// Warm idle workers over every action's pool, and their bound.
    warm_idle: Arc<AtomicUsize>,
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
        let exec = exec.require_acknowledgement();
        self.give_back_unless_it_lied(worker, &exec.result);
        exec
    }

    /// Gives `worker` back for later executions, unless its instance
    /// claimed an acknowledgement Meta never gave: like any host failure,
    /// that ends the instance.
    fn give_back_unless_it_lied<T>(
        &self,
        worker: Worker,
        result: &Result<Result<T, wit::Failure>, HostFailure>,
    ) {
        if !matches!(result, Err(HostFailure::Unacknowledged { .. })) {
            self.give_back(worker);
        }
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
    async fn deliver(&self, job: Job) -> Delivered {
        let report = self.deliver_one(&job).await;
        vec![(job.seq, job.slot, report)]
    }

    async fn deliver_one(&self, job: &Job) -> ExecutionReport {
        let mut permit = self
            .semaphore
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore stays open");
        if self.dry_run {
            let exec = self
                .engine
                .preview(&self.settings, &job.firing, &job.contact)
                .await;
            let mut r = ExecutionReport::from_preview(&self.workflow, &self.action, exec);
            r.redact(&self.context.redactor);
            return r;
        }
        let mut attempt = 0;
        loop {
            if let Some(error) = self.context.halted.get() {
                return self.not_sent(error);
            }
            attempt += 1;
            let exec = self.execute(job).await;
            let verdict = retry::verdict(&exec.result);
            let mut r = ExecutionReport::from_execution(&self.workflow, &self.action, exec);
            r.attempts = attempt;
            // What the report does not keep need not be scrubbed.
            if !self.record_requests && r.status == Status::Accepted {
                r.requests = Vec::new();
            }
            r.redact(&self.context.redactor);
            let spent = attempt >= self.retry.max_attempts;
            self.record(&[(job.key.as_str(), &r, verdict)]).await;
            // Held until the result is committed: answered executions not
            // yet recorded (the ones a killed run sends again) stay within
            // the concurrency.
            drop(permit);
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
                _ => return self.settle(r, verdict),
            }
        }
    }

    /// Delivers `jobs` in batches of one request each: the component sets
    /// aside what cannot go, retriable failures are sent again (as a smaller
    /// batch), and a batch that Meta refuses as invalid, or that runs past a
    /// host limit, is split in halves until the event at fault is alone, so
    /// that the others are delivered.
    async fn deliver_batch(&self, jobs: Vec<Job>) -> Delivered {
        let mut done = Vec::with_capacity(jobs.len());
        let mut queue: Vec<(Vec<Job>, u32)> = vec![(jobs, 1)];
        while let Some((mut group, attempt)) = queue.pop() {
            if let Some(error) = self.context.halted.get() {
                done.extend(group.iter().map(|j| (j.seq, j.slot, self.not_sent(error))));
                continue;
            }
            // The records move into the batch and back, copied only when
            // another action's execution of the same firing holds them too;
            // meanwhile each job holds an empty placeholder.
            let (no_firing, no_contact) = (Arc::new(no_firing()), Arc::new(empty_contact()));
            let items: Vec<wit::BatchItem> = group
                .iter_mut()
                .map(|j| wit::BatchItem {
                    firing: Arc::unwrap_or_clone(std::mem::replace(
                        &mut j.firing,
                        no_firing.clone(),
                    )),
                    contact: Arc::unwrap_or_clone(std::mem::replace(
                        &mut j.contact,
                        no_contact.clone(),
                    )),
                })
                .collect();
            let permit = self
                .semaphore
                .clone()
                .acquire_owned()
                .await
                .expect("semaphore stays open");
            let mut worker = self.worker();
            let exec = worker
                .execute_batch(&self.settings, &items)
                .await
                .require_acknowledgement();
            self.give_back_unless_it_lied(worker, &exec.result);
            for (job, item) in group.iter_mut().zip(items) {
                job.firing = Arc::new(item.firing);
                job.contact = Arc::new(item.contact);
            }
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
            )
            .await;
            // Held until the results are committed, as for one execution.
            drop(permit);
            for (job, r, verdict) in settled {
                match verdict {
                    Verdict::Retry { rate_limited } if attempt < self.retry.max_attempts => {
                        retry.push((job, rate_limited));
                    }
                    _ => done.push((job.seq, job.slot, self.settle(r, verdict))),
                }
            }
            if !retry.is_empty() {
                let rate_limited = retry.iter().any(|(_, rl)| *rl);
                tokio::time::sleep(self.retry.backoff(attempt, rate_limited, retry::jitter()))
                    .await;
                queue.push((retry.into_iter().map(|(j, _)| j).collect(), attempt + 1));
            }
        }
        done
    }

    /// Writes attempts' results to the outbox, in one transaction, and
    /// returns once they are committed. When they cannot be, the run stops
    /// sending: an execution whose result is not recorded stays pending and
    /// is sent again by the next run.
    async fn record(&self, results: &[(&str, &ExecutionReport, Verdict)]) {
        let Some(journal) = &self.context.journal else {
            return;
        };
        let rows = results
            .iter()
            .map(|(key, r, verdict)| Recorded {
                key: key.to_string(),
                state: match verdict {
                    Verdict::Done if r.status == Status::Skipped => State::Skipped,
                    Verdict::Done => State::Delivered,
                    Verdict::Dead => State::Dead,
                    Verdict::Retry { .. } => State::Pending,
                },
                event_name: r.event_name.clone(),
                event_id: r.event_id.clone(),
                fbtrace_id: r
                    .answer
                    .as_ref()
                    .map(|a| a.fbtrace_id.clone())
                    .or(r.error.as_ref().and_then(|e| e.fbtrace_id.clone())),
                last_error: r.error.as_ref().map(|e| e.summary()),
            })
            .collect();
        if let Err(e) = journal.record(rows).await {
            let _ = self.context.halted.set(e);
        }
    }

    /// The final report of an execution.
    fn settle(&self, mut r: ExecutionReport, verdict: Verdict) -> ExecutionReport {
        if matches!(verdict, Verdict::Retry { .. })
            && let Some(e) = &mut r.error
        {
            let attempts = match r.attempts {
                1 => "1 attempt".to_string(),
                n => format!("{n} attempts"),
            };
            e.message = format!(
                "{} (gave up after {attempts}; the next run tries again)",
                e.message
            );
        }
        r
    }
}
