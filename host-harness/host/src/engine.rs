//! The wasmtime side: one engine, the component compiled once (from a
//! verified cache) and pre-instantiated, and a fresh, limited store for
//! every execution.

use crate::bindings::{SendConversionEvent, SendConversionEventPre, wit};
use crate::cache::CacheUse;
use crate::connections::Connections;
use crate::egress::{EgressHooks, EgressPolicy, Exchange};
use crate::failure::HostFailure;
use crate::limits::{CpuMeter, ExecutionLimiter, Limits};
use anyhow::{Context as _, Result};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, UpdateDeadline,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

const EPOCH_TICK: Duration = Duration::from_millis(10);
/// How often (in ticks) a running guest is checked against its CPU limit
/// and yields to the other executions.
const CHECK_EVERY: u64 = 5;

/// Per-store state: WASI, wasi:http with the egress hooks, limits.
pub(crate) struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: EgressHooks,
    limiter: ExecutionLimiter,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// The loaded action: compile once, execute many times.
pub struct ActionEngine {
    engine: Engine,
    pre: SendConversionEventPre<HostState>,
    limits: Limits,
    /// Stops the epoch ticker once the last handle on the engine is gone.
    ticker: Arc<Ticker>,
    /// Connections to the Graph API kept open between executions.
    connections: Arc<Connections>,
}

/// The epoch ticker's stop switch, thrown when dropped.
struct Ticker(Arc<AtomicBool>);

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// How the component was loaded.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Whether the compiled form came from the cache, or why not.
    pub cache: CacheUse,
    /// Time to compile or load it, and pre-instantiate.
    pub elapsed: Duration,
}

impl Loaded {
    /// Whether the compiled form came from the cache.
    pub fn from_cache(&self) -> bool {
        self.cache == CacheUse::Hit
    }
}

/// What one execution returned, with every request it made.
#[derive(Debug)]
pub struct Execution<T = wit::Outcome> {
    /// The action's result, or why the host stopped it.
    pub result: Result<Result<T, wit::Failure>, HostFailure>,
    /// Every request the component made, in order, token redacted.
    pub exchanges: Vec<Exchange>,
    /// Wall-clock time of the execution.
    pub elapsed: Duration,
    /// CPU time it used: the time the thread spent in its polls.
    pub cpu: Duration,
    /// Linear memory it held at its peak, bytes, over all its memories.
    pub memory: usize,
    /// Whether it ran in an instance that had served earlier executions
    /// (see [`Worker`]).
    pub reused: bool,
}

impl ActionEngine {
    /// Compiles `component` (a component binary) with `limits`.
    pub fn new(component: &[u8], limits: Limits) -> Result<Self> {
        Ok(Self::load(component, limits, None)?.0)
    }

    /// Loads `component`, reusing its verified compiled form from `cache`
    /// (a folder) when it holds one made by this engine configuration, and
    /// storing it there otherwise. Says how the cache served it.
    pub fn load(component: &[u8], limits: Limits, cache: Option<&Path>) -> Result<(Self, Loaded)> {
        limits.validate()?;
        let started = Instant::now();
        let engine = Engine::new(&engine_config(&limits))?;
        let (component, cache) = crate::cache::load_or_compile(&engine, component, cache)?;
        let mut linker: Linker<HostState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        let pre = SendConversionEventPre::new(
            linker
                .instantiate_pre(&component)
                .map_err(anyhow::Error::from)
                .context("the component needs imports this host does not provide")?,
        )?;

        let ticker_stop = Arc::new(AtomicBool::new(false));
        let (stop, ticking) = (ticker_stop.clone(), engine.weak());
        std::thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match ticking.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })?;
        let loaded = Loaded {
            cache,
            elapsed: started.elapsed(),
        };
        Ok((
            ActionEngine {
                engine,
                pre,
                limits,
                ticker: Arc::new(Ticker(ticker_stop)),
                connections: Arc::default(),
            },
            loaded,
        ))
    }

    /// Another handle on the same compiled action, instance pool and
    /// limits, with kept-alive connections of its own: for executions
    /// driven by another runtime. A connection is driven by a task of the
    /// runtime that opened it, so one shared between runtimes would wake
    /// another thread for every request, and die with its runtime.
    pub fn with_own_connections(&self) -> ActionEngine {
        ActionEngine {
            engine: self.engine.clone(),
            pre: self.pre.clone(),
            limits: self.limits.clone(),
            ticker: self.ticker.clone(),
            connections: Arc::default(),
        }
    }

    /// The limits executions run under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The names of the interfaces the component imports.
    pub fn imports(&self) -> Vec<String> {
        let ty = self.pre.instance_pre().component().component_type();
        ty.imports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect()
    }

    fn store(
        &self,
        policy: Arc<EgressPolicy>,
        log: Arc<Mutex<Vec<Exchange>>>,
        cpu: Arc<CpuMeter>,
    ) -> Store<HostState> {
        let state = HostState {
            // No stdio, args, env, files or sockets: the action needs none.
            wasi: WasiCtx::builder().build(),
            http: {
                let mut http = WasiHttpCtx::new();
                http.set_field_size_limit(Limits::HEADER_BYTES);
                http
            },
            table: {
                let mut table = ResourceTable::new();
                table.set_max_capacity(Limits::RESOURCES);
                table
            },
            hooks: EgressHooks::new(policy, log, self.connections.clone()),
            limiter: ExecutionLimiter::new(self.limits.memory_bytes),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        // What the host copies out of one answer or host call: no more than
        // the component's own memory, even when its strings and lists point
        // at the same bytes again and again (wasmtime's default is 128 MiB).
        store.set_hostcall_fuel(self.limits.memory_bytes);
        let limit = self.limits.cpu;
        store.set_epoch_deadline(CHECK_EVERY);
        store.epoch_deadline_callback(move |_| {
            if cpu.used() > limit {
                cpu.hit.store(true, Ordering::Relaxed);
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Yield(CHECK_EVERY))
            }
        });
        store
    }

    /// Instantiates the component in a fresh store with egress under
    /// `policy` and runs `call` on it, under every limit.
    async fn run<T>(
        &self,
        policy: Arc<EgressPolicy>,
        call: impl AsyncFnOnce(
            &mut Store<HostState>,
            &SendConversionEvent,
        ) -> wasmtime::Result<Result<T, wit::Failure>>,
    ) -> Execution<T> {
        let mut live = self.fresh(policy);
        self.call_in(&mut live, call).await
    }

    /// A fresh store, not yet instantiated (the first call does that, under
    /// that call's limits).
    fn fresh(&self, policy: Arc<EgressPolicy>) -> Live {
        let log: Arc<Mutex<Vec<Exchange>>> = Default::default();
        let cpu = Arc::new(CpuMeter::default());
        Live {
            store: self.store(policy, log.clone(), cpu.clone()),
            action: None,
            log,
            cpu,
            calls: 0,
        }
    }

    /// Runs `call` in `live` (instantiating it first if it is new) under
    /// every limit of one execution: its own CPU clock, wall clock, egress
    /// request count.
    async fn call_in<T>(
        &self,
        live: &mut Live,
        call: impl AsyncFnOnce(
            &mut Store<HostState>,
            &SendConversionEvent,
        ) -> wasmtime::Result<Result<T, wit::Failure>>,
    ) -> Execution<T> {
        let started = Instant::now();
        live.calls += 1;
        live.cpu.reset();
        live.store.set_epoch_deadline(CHECK_EVERY);
        live.store.data_mut().hooks.begin_execution();
        let Live {
            store,
            action,
            cpu,
            log,
            ..
        } = live;
        let work = async {
            if action.is_none() {
                *action = Some(self.pre.instantiate_async(&mut *store).await?);
            }
            call(&mut *store, action.as_ref().expect("instantiated")).await
        };
        // Epochs stop running wasm; only a timer stops a guest waiting on
        // the host (an HTTP answer that never comes).
        let outcome = tokio::time::timeout(self.limits.wall_clock, cpu.meter(work)).await;
        let exchanges = std::mem::take(&mut *log.lock().unwrap());
        let cap = exchanges.iter().find_map(Exchange::cap);
        let result = match outcome {
            Err(_) => Err(HostFailure::WallClock(self.limits.wall_clock)),
            Ok(Err(e)) => Err(self.failure(&e, store, cpu)),
            // A request past a cap fails inside the guest, which may take it
            // for a network error worth retrying: the host knows better.
            Ok(Ok(_)) if cap.is_some() => Err(HostFailure::Egress(cap.expect("checked"))),
            Ok(Ok(r)) => Ok(r),
        };
        Execution {
            result,
            exchanges,
            elapsed: started.elapsed(),
            cpu: cpu.used(),
            memory: store.data().limiter.memory_used,
            reused: live.calls > 1,
        }
    }

    /// A worker that runs many executions of one action for one account in
    /// one instance, under `policy`, recycling it as `reuse` says.
    pub fn worker(self: &Arc<Self>, policy: Arc<EgressPolicy>, reuse: Reuse) -> Worker {
        Worker {
            engine: self.clone(),
            policy,
            reuse,
            live: None,
            instances: 0,
        }
    }

    fn failure(
        &self,
        e: &wasmtime::Error,
        store: &Store<HostState>,
        cpu: &CpuMeter,
    ) -> HostFailure {
        if let Some(found) = e.downcast_ref::<HostFailure>() {
            return found.clone();
        }
        if cpu.hit.load(Ordering::Relaxed) {
            return HostFailure::Cpu(self.limits.cpu);
        }
        if store.data().limiter.memory_hit {
            return HostFailure::Memory(self.limits.memory_bytes);
        }
        match e.downcast_ref::<wasmtime::Trap>() {
            Some(wasmtime::Trap::UnreachableCodeReached) => HostFailure::Panic,
            Some(trap) => HostFailure::Trap(trap.to_string()),
            None => HostFailure::Trap(format!("{e:#}")),
        }
    }

    /// The action's descriptor.
    pub async fn describe(&self) -> Result<wit::Descriptor> {
        let exec = self
            .run(Arc::new(EgressPolicy::deny_all()), async |store, action| {
                action
                    .hoop_workflow_action()
                    .call_describe(store)
                    .await
                    .map(Ok)
            })
            .await;
        exec.result
            .map_err(|h| anyhow::anyhow!("{h}"))?
            .map_err(|f: wit::Failure| anyhow::anyhow!("{f:?}"))
    }

    /// Every problem of a settings document.
    pub async fn validate_settings(&self, settings: &str) -> Result<Vec<wit::Problem>> {
        let exec = self
            .run(Arc::new(EgressPolicy::deny_all()), async |store, action| {
                action
                    .hoop_workflow_action()
                    .call_validate_settings(store, settings)
                    .await
                    .map(Ok)
            })
            .await;
        exec.result
            .map_err(|h| anyhow::anyhow!("{h}"))?
            .map_err(|f: wit::Failure| anyhow::anyhow!("{f:?}"))
    }

    /// What the action would send for one firing; nothing is sent (egress
    /// is closed).
    pub async fn preview(
        &self,
        settings: &str,
        firing: &wit::Firing,
        contact: &wit::Contact,
    ) -> Execution<wit::EventPreview> {
        self.run(Arc::new(EgressPolicy::deny_all()), async |store, action| {
            action
                .hoop_workflow_action()
                .call_preview(store, settings, firing, contact)
                .await
        })
        .await
    }

    /// Calls `preview` `n` times on one instance and returns the time taken:
    /// the component's own mapping, normalisation, hashing and
    /// serialisation, without instantiation.
    pub async fn preview_repeatedly(
        &self,
        settings: &str,
        firing: &wit::Firing,
        contact: &wit::Contact,
        n: usize,
    ) -> Result<Duration> {
        let mut store = self.store(
            Arc::new(EgressPolicy::deny_all()),
            Default::default(),
            Default::default(),
        );
        let instance = self.pre.instantiate_async(&mut store).await?;
        let action = instance.hoop_workflow_action();
        let started = Instant::now();
        for _ in 0..n {
            action
                .call_preview(&mut store, settings, firing, contact)
                .await?
                .map_err(|f| anyhow::anyhow!("preview failed: {f:?}"))?;
        }
        Ok(started.elapsed())
    }

    /// Store and instantiation alone, for measuring.
    pub async fn instantiate_only(&self) -> Result<()> {
        let mut store = self.store(
            Arc::new(EgressPolicy::deny_all()),
            Default::default(),
            Default::default(),
        );
        self.pre.instantiate_async(&mut store).await?;
        Ok(())
    }

    /// Runs the action once for many firings (one request per 1,000 events)
    /// in a fresh store, egress under `policy`.
    pub async fn execute_batch(
        &self,
        policy: Arc<EgressPolicy>,
        settings: &str,
        items: &[wit::BatchItem],
    ) -> Execution<Vec<Result<wit::Outcome, wit::Failure>>> {
        self.run(policy, async |store, action| {
            action
                .hoop_workflow_action()
                .call_execute_batch(store, settings, items)
                .await
                .and_then(|results| one_per_item(items.len(), results))
        })
        .await
    }

    /// Runs the action once in a fresh store, egress under `policy`.
    pub async fn execute(
        &self,
        policy: Arc<EgressPolicy>,
        settings: &str,
        firing: &wit::Firing,
        contact: &wit::Contact,
    ) -> Execution {
        self.run(policy, async |store, action| {
            action
                .hoop_workflow_action()
                .call_execute(store, settings, firing, contact)
                .await
        })
        .await
    }
}

/// The engine's configuration: epoch interruption for the CPU limit, and
/// a pooling allocator sized for `limits`.
pub(crate) fn engine_config(limits: &Limits) -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let mut pool = PoolingAllocationConfig::new();
    let slots = limits.max_concurrency * 2;
    pool.total_component_instances(slots)
        .total_core_instances(slots * 16)
        .total_memories(slots * 4)
        .total_tables(slots * 4)
        // Each execution in flight runs on a fiber stack of the pool;
        // wasmtime's default of 1,000 would fail executions past it.
        .total_stacks(slots)
        .max_memory_size(limits.memory_bytes)
        // Reset the pages a reused slot touched with memset rather than
        // madvise: the page faults that follow madvise cost more than the
        // copy for the little memory one execution touches. Where Linux
        // has PAGEMAP_SCAN (6.7 and later), only the pages actually
        // resident are reset.
        .linear_memory_keep_resident(2 << 20)
        .table_keep_resident(64 << 10)
        .pagemap_scan(wasmtime::Enabled::Auto);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

/// A store and, once the first call made it, its instance.
struct Live {
    store: Store<HostState>,
    action: Option<SendConversionEvent>,
    log: Arc<Mutex<Vec<Exchange>>>,
    cpu: Arc<CpuMeter>,
    calls: u32,
}

/// When a [`Worker`] starts a fresh instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reuse {
    /// Executions one instance serves before it is replaced.
    pub max_executions: u32,
    /// Linear memory past which an instance is replaced after an execution,
    /// bytes (its heap never shrinks, and holds earlier contacts' data).
    pub max_memory: usize,
}

impl Default for Reuse {
    fn default() -> Self {
        Reuse {
            max_executions: 1_000,
            max_memory: 16 << 20,
        }
    }
}

impl Reuse {
    /// No reuse: a fresh instance for every execution.
    pub const NEVER: Reuse = Reuse {
        max_executions: 1,
        max_memory: 0,
    };
}

/// Runs many executions of **one action for one account** in one instance,
/// which saves the instantiation of each (see the README's Performance).
/// Each execution keeps its own limits: its own CPU clock, wall clock and
/// egress request count. The instance is replaced after any host failure
/// (a trap, a limit), after [`Reuse::max_executions`], or once its memory
/// passes [`Reuse::max_memory`]. A reused heap still holds earlier
/// executions' data, so never share a worker across accounts or actions:
/// make one per action and account.
pub struct Worker {
    engine: Arc<ActionEngine>,
    policy: Arc<EgressPolicy>,
    reuse: Reuse,
    live: Option<Live>,
    instances: u64,
}

impl Worker {
    /// How many instances this worker has started.
    pub fn instances(&self) -> u64 {
        self.instances
    }

    /// Whether it holds a live instance (which occupies a slot of the
    /// engine's pool until the worker is dropped).
    pub fn is_warm(&self) -> bool {
        self.live.is_some()
    }

    /// Runs the action once for one firing.
    pub async fn execute(
        &mut self,
        settings: &str,
        firing: &wit::Firing,
        contact: &wit::Contact,
    ) -> Execution {
        self.call(async |store, action| {
            action
                .hoop_workflow_action()
                .call_execute(store, settings, firing, contact)
                .await
        })
        .await
    }

    /// Runs the action once for many firings (one request per 1,000 events).
    pub async fn execute_batch(
        &mut self,
        settings: &str,
        items: &[wit::BatchItem],
    ) -> Execution<Vec<Result<wit::Outcome, wit::Failure>>> {
        self.call(async |store, action| {
            action
                .hoop_workflow_action()
                .call_execute_batch(store, settings, items)
                .await
                .and_then(|results| one_per_item(items.len(), results))
        })
        .await
    }

    async fn call<T>(
        &mut self,
        call: impl AsyncFnOnce(
            &mut Store<HostState>,
            &SendConversionEvent,
        ) -> wasmtime::Result<Result<T, wit::Failure>>,
    ) -> Execution<T> {
        let engine = self.engine.clone();
        let mut live = match self.live.take() {
            Some(live) => live,
            None => {
                self.instances += 1;
                engine.fresh(self.policy.clone())
            }
        };
        let exec = engine.call_in(&mut live, call).await;
        let spent = live.calls >= self.reuse.max_executions
            || live.store.data().limiter.memory_used > self.reuse.max_memory;
        // A trap or a limit leaves the instance in no state to go on.
        if exec.result.is_ok() && !spent {
            self.live = Some(live);
        }
        exec
    }
}

/// A batch's results, one per item as `execute-batch` promises; a component
/// that answers another number breaks the contract, and its instance is not
/// reused.
fn one_per_item<T>(
    items: usize,
    results: Vec<T>,
) -> wasmtime::Result<Result<Vec<T>, wit::Failure>> {
    if results.len() == items {
        Ok(Ok(results))
    } else {
        Err(wasmtime::Error::new(HostFailure::BatchResults {
            items,
            results: results.len(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_out_of_range_are_refused_before_anything_is_reserved() {
        for bad in [
            Limits {
                max_concurrency: 0,
                ..Limits::default()
            },
            Limits {
                max_concurrency: u32::MAX,
                ..Limits::default()
            },
            Limits {
                memory_bytes: 1024,
                ..Limits::default()
            },
        ] {
            let e = ActionEngine::new(b"not even a component", bad)
                .err()
                .unwrap();
            let text = format!("{e:#}");
            assert!(text.contains("must be between"), "{text}");
        }
    }
}
