//! The wasmtime side: one engine, the component compiled once and
//! pre-instantiated, and a fresh, limited store for every execution.

use crate::egress::{EgressHooks, EgressPolicy, Exchange};
use anyhow::{Context as _, Result};
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, StoreLimits,
    StoreLimitsBuilder, UpdateDeadline,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

wasmtime::component::bindgen!({
    world: "send-conversion-event",
    path: "../wit",
    exports: { default: async },
});

/// The WIT types of the action, as the host sees them.
pub mod wit {
    pub use super::exports::hoop::workflow::action::{
        ActionError, ActionSource, BatchItem, Descriptor, EventPreview, Failure, MetaError,
        Outcome, Problem, TransportFailure, Warning,
    };
    pub use super::hoop::workflow::types::{Contact, Firing};
}

/// The Send Conversion Event component this host was built with.
pub static BUNDLED_COMPONENT: &[u8] = include_bytes!(env!("ACTION_COMPONENT_PATH"));

/// Path of a test fixture: a component with the action's contract that
/// misbehaves on purpose (its settings say how: `loop`, `grab-memory`,
/// `panic`, `forbidden-host`, `sleep`), to test the sandbox.
pub const ROGUE_COMPONENT_PATH: &str = env!("ROGUE_COMPONENT_PATH");

/// What one execution may use.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Linear memory of the component, bytes.
    pub memory_bytes: usize,
    /// Wall-clock time of one execution, HTTP wait included.
    pub wall_clock: Duration,
    /// Time the component may spend running wasm (not waiting on the host).
    pub cpu: Duration,
    /// How many executions may be in flight at once (sizes the instance pool).
    pub max_concurrency: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            wall_clock: Duration::from_secs(10),
            cpu: Duration::from_secs(2),
            max_concurrency: 16,
        }
    }
}

const EPOCH_TICK: Duration = Duration::from_millis(10);
/// How often (in ticks) a running guest is checked against its CPU limit
/// and yields to the other executions.
const CHECK_EVERY: u64 = 5;

/// Per-store state: WASI, wasi:http with our egress hooks, limits.
pub struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: EgressHooks,
    limits: StoreLimits,
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
    ticker_stop: Arc<AtomicBool>,
}

/// How the component was loaded.
#[derive(Debug, Clone, Copy)]
pub struct Loaded {
    /// Whether the compiled form came from the cache.
    pub from_cache: bool,
    /// Time to compile or load it, and pre-instantiate.
    pub elapsed: Duration,
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
}

/// The host stopped the component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostFailure {
    /// The execution ran past its wall-clock limit.
    WallClock(Duration),
    /// The component trapped: a panic, out of memory, out of CPU time.
    Trap(String),
}

impl std::fmt::Display for HostFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostFailure::WallClock(d) => {
                write!(f, "stopped after {} ms (wall-clock limit)", d.as_millis())
            }
            HostFailure::Trap(t) => write!(f, "the component crashed: {t}"),
        }
    }
}

impl ActionEngine {
    /// Compiles `component` (a component binary) with `limits`.
    pub fn new(component: &[u8], limits: Limits) -> Result<Self> {
        Ok(Self::load(component, limits, None)?.0)
    }

    /// Loads `component`, reusing its compiled form from `cache` (a
    /// folder) when it holds one made by this engine configuration, and
    /// storing it there otherwise. Says whether the cache served it.
    pub fn load(component: &[u8], limits: Limits, cache: Option<&Path>) -> Result<(Self, Loaded)> {
        let started = Instant::now();
        let mut config = Config::new();
        config.epoch_interruption(true);
        let mut pool = PoolingAllocationConfig::new();
        let slots = limits.max_concurrency.max(1) * 2;
        pool.total_component_instances(slots)
            .total_core_instances(slots * 16)
            .total_memories(slots * 4)
            .total_tables(slots * 4)
            .max_memory_size(limits.memory_bytes)
            // Reset the first pages of a reused slot with memset rather than
            // madvise: the page faults that follow madvise cost more than the
            // copy for the little memory one execution touches.
            .linear_memory_keep_resident(2 << 20)
            .table_keep_resident(64 << 10);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config)?;
        let (component, from_cache) = compile(&engine, component, cache)?;
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
            from_cache,
            elapsed: started.elapsed(),
        };
        Ok((
            ActionEngine {
                engine,
                pre,
                limits,
                ticker_stop,
            },
            loaded,
        ))
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

    fn store(&self, policy: Arc<EgressPolicy>, log: Arc<Mutex<Vec<Exchange>>>) -> Store<HostState> {
        // Time spent waiting on HTTP is not the guest's: the egress hooks
        // add it here, and the CPU check subtracts it from the wall clock.
        let waiting = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let state = HostState {
            // No stdio, args, env, files or sockets: the action needs none.
            wasi: WasiCtx::builder().build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: EgressHooks::new(policy, log, waiting.clone()),
            limits: StoreLimitsBuilder::new()
                .memory_size(self.limits.memory_bytes)
                .instances(32)
                .trap_on_grow_failure(true)
                .build(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        let cpu = self.limits.cpu;
        store.set_epoch_deadline(CHECK_EVERY);
        store.epoch_deadline_callback(move |_| {
            let waited = Duration::from_nanos(waiting.load(Ordering::Relaxed));
            if started.elapsed().saturating_sub(waited) > cpu {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Yield(CHECK_EVERY))
            }
        });
        store
    }

    /// The action's descriptor.
    pub async fn describe(&self) -> Result<wit::Descriptor> {
        let mut store = self.store(Arc::new(EgressPolicy::deny_all()), Default::default());
        let instance = self.pre.instantiate_async(&mut store).await?;
        Ok(instance
            .hoop_workflow_action()
            .call_describe(&mut store)
            .await?)
    }

    /// Every problem of a settings document.
    pub async fn validate_settings(&self, settings: &str) -> Result<Vec<wit::Problem>> {
        let mut store = self.store(Arc::new(EgressPolicy::deny_all()), Default::default());
        let instance = self.pre.instantiate_async(&mut store).await?;
        Ok(instance
            .hoop_workflow_action()
            .call_validate_settings(&mut store, settings)
            .await?)
    }

    /// What the action would send for one firing; nothing is sent (egress
    /// is closed).
    pub async fn preview(
        &self,
        settings: &str,
        firing: &wit::Firing,
        contact: &wit::Contact,
    ) -> Execution<wit::EventPreview> {
        let started = Instant::now();
        let mut store = self.store(Arc::new(EgressPolicy::deny_all()), Default::default());
        let run = async {
            let instance = self.pre.instantiate_async(&mut store).await?;
            instance
                .hoop_workflow_action()
                .call_preview(&mut store, settings, firing, contact)
                .await
        };
        let result = self.bounded(run).await;
        Execution {
            result,
            exchanges: Vec::new(),
            elapsed: started.elapsed(),
        }
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
        let mut store = self.store(Arc::new(EgressPolicy::deny_all()), Default::default());
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
        let mut store = self.store(Arc::new(EgressPolicy::deny_all()), Default::default());
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
        let started = Instant::now();
        let log: Arc<Mutex<Vec<Exchange>>> = Default::default();
        let mut store = self.store(policy, log.clone());
        let run = async {
            let instance = self.pre.instantiate_async(&mut store).await?;
            instance
                .hoop_workflow_action()
                .call_execute_batch(&mut store, settings, items)
                .await
        };
        let result = self.bounded(run).await.map(Ok);
        let exchanges = std::mem::take(&mut *log.lock().unwrap());
        Execution {
            result,
            exchanges,
            elapsed: started.elapsed(),
        }
    }

    /// Runs the action once in a fresh store, egress under `policy`.
    pub async fn execute(
        &self,
        policy: Arc<EgressPolicy>,
        settings: &str,
        firing: &wit::Firing,
        contact: &wit::Contact,
    ) -> Execution {
        let started = Instant::now();
        let log: Arc<Mutex<Vec<Exchange>>> = Default::default();
        let mut store = self.store(policy, log.clone());
        let run = async {
            let instance = self.pre.instantiate_async(&mut store).await?;
            instance
                .hoop_workflow_action()
                .call_execute(&mut store, settings, firing, contact)
                .await
        };
        let result = self.bounded(run).await;
        let exchanges = std::mem::take(&mut *log.lock().unwrap());
        Execution {
            result,
            exchanges,
            elapsed: started.elapsed(),
        }
    }
}

impl ActionEngine {
    /// Runs `call` under the wall-clock limit. Epochs stop running wasm;
    /// only a timer stops a guest waiting on the host (an HTTP answer that
    /// never comes).
    async fn bounded<T>(
        &self,
        call: impl Future<Output = wasmtime::Result<T>>,
    ) -> Result<T, HostFailure> {
        match tokio::time::timeout(self.limits.wall_clock, call).await {
            Err(_) => Err(HostFailure::WallClock(self.limits.wall_clock)),
            Ok(Err(e)) => Err(HostFailure::Trap(describe_trap(&e))),
            Ok(Ok(r)) => Ok(r),
        }
    }
}

impl Drop for ActionEngine {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

/// Compiles the component, or loads its compiled form from `cache`.
fn compile(engine: &Engine, bytes: &[u8], cache: Option<&Path>) -> Result<(Component, bool)> {
    let invalid = "the file is not a loadable component";
    let Some(dir) = cache else {
        return Ok((
            Component::new(engine, bytes)
                .map_err(anyhow::Error::from)
                .context(invalid)?,
            false,
        ));
    };
    let mut compat = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut compat);
    let digest = Sha256::digest(bytes);
    let key: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    let path = dir.join(format!("{key}-{:016x}.cwasm", compat.finish()));
    if path.is_file() {
        // SAFETY: only this function writes that folder, with bytes from
        // `precompile_component`; the name binds them to this component and
        // to this engine's configuration and version.
        if let Ok(c) = unsafe { Component::deserialize_file(engine, &path) } {
            return Ok((c, true));
        }
    }
    let compiled = engine
        .precompile_component(bytes)
        .map_err(anyhow::Error::from)
        .context(invalid)?;
    // SAFETY: the bytes were produced just now by this engine.
    let component =
        unsafe { Component::deserialize(engine, &compiled) }.map_err(anyhow::Error::from)?;
    // A cache that cannot be written only costs the next start a compile.
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::create_dir_all(dir)
        .and_then(|_| std::fs::write(&tmp, &compiled))
        .and_then(|_| std::fs::rename(&tmp, &path))
        .is_err()
    {
        let _ = std::fs::remove_file(&tmp);
    }
    Ok((component, false))
}

/// The default folder for compiled components: `$HOST_HARNESS_CACHE`, else
/// `$XDG_CACHE_HOME/send-conversion-event`, else `~/.cache/send-conversion-event`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("HOST_HARNESS_CACHE") {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("send-conversion-event"))
}

fn describe_trap(e: &wasmtime::Error) -> String {
    if let Some(trap) = e.downcast_ref::<wasmtime::Trap>() {
        return match trap {
            wasmtime::Trap::Interrupt => {
                "CPU time limit reached (the component ran too long)".into()
            }
            wasmtime::Trap::UnreachableCodeReached => "the component panicked".into(),
            other => other.to_string(),
        };
    }
    let text = format!("{e:#}");
    if text.contains("memory") && text.contains("limit") || text.contains("grow") {
        format!("memory limit reached: {text}")
    } else {
        text
    }
}
