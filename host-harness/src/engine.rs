//! The wasmtime side: one engine, the component compiled once and
//! pre-instantiated, and a fresh, limited store for every execution.

pub use crate::cache::CacheUse;
use crate::egress::{EgressCap, EgressHooks, EgressPolicy, Exchange, human_bytes};
use anyhow::{Context as _, Result};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter, Store,
    UpdateDeadline,
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
    /// Linear memory of one execution, bytes: the sum over every memory of
    /// every instance the component creates.
    pub memory_bytes: usize,
    /// Wall-clock time of one execution, HTTP wait included.
    pub wall_clock: Duration,
    /// CPU time the execution may use: the thread time spent polling it
    /// (running wasm and the host calls it makes), not its waits.
    pub cpu: Duration,
    /// How many executions may be in flight at once (sizes the instance
    /// pool), 1 to [`Limits::MAX_CONCURRENCY`].
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

impl Limits {
    /// The most executions one engine runs at once.
    pub const MAX_CONCURRENCY: u32 = 1024;
    /// The least and most linear memory an execution may be given.
    pub const MEMORY_RANGE: std::ops::RangeInclusive<usize> = (1 << 20)..=(4 << 30);

    /// Checks that the limits make sense, naming the one that does not.
    pub fn validate(&self) -> Result<()> {
        anyhow::ensure!(
            (1..=Self::MAX_CONCURRENCY).contains(&self.max_concurrency),
            "max_concurrency must be between 1 and {} (got {})",
            Self::MAX_CONCURRENCY,
            self.max_concurrency
        );
        anyhow::ensure!(
            Self::MEMORY_RANGE.contains(&self.memory_bytes),
            "memory_bytes must be between 1 MiB and 4 GiB (got {})",
            self.memory_bytes
        );
        anyhow::ensure!(
            !self.cpu.is_zero() && !self.wall_clock.is_zero(),
            "the CPU and wall-clock limits must be above zero"
        );
        Ok(())
    }
}

const EPOCH_TICK: Duration = Duration::from_millis(10);
/// How often (in ticks) a running guest is checked against its CPU limit
/// and yields to the other executions.
const CHECK_EVERY: u64 = 5;
/// Instances, memories and tables one execution may create; the action
/// needs a handful of each.
const MAX_INSTANCES: usize = 32;
const MAX_MEMORIES: usize = 16;
const MAX_TABLES: usize = 64;
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// Per-store state: WASI, wasi:http with our egress hooks, limits.
pub struct HostState {
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

/// Bounds what one execution allocates, summed over all its instances:
/// `StoreLimits` bounds each memory on its own, so a component declaring
/// many memories could otherwise take many times the limit.
struct ExecutionLimiter {
    memory_cap: usize,
    memory_used: usize,
    memory_hit: bool,
}

impl ResourceLimiter for ExecutionLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self
            .memory_used
            .saturating_add(desired.saturating_sub(current));
        if total > self.memory_cap {
            self.memory_hit = true;
            // Trap rather than let the guest see a failed grow: a guest
            // that handles it would only try again.
            return Err(wasmtime::format_err!(
                "memory limit reached: the execution asked for {total} bytes of linear memory, more than its {} (memory_bytes)",
                self.memory_cap
            ));
        }
        self.memory_used = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }
}

/// The CPU time an execution used: the thread's CPU time inside the polls
/// of its own future. Time spent waiting (HTTP, other executions on the
/// same thread, the OS running something else) is never charged.
#[derive(Default)]
struct CpuMeter {
    /// Nanoseconds of finished polls.
    spent: AtomicU64,
    /// Thread CPU clock at the start of the poll under way; 0 when none is.
    poll_started: AtomicU64,
    /// Whether the limit stopped the execution.
    hit: std::sync::atomic::AtomicBool,
}

impl CpuMeter {
    fn used(&self) -> Duration {
        let started = self.poll_started.load(Ordering::Relaxed);
        let current = if started == 0 {
            0
        } else {
            thread_cpu_nanos().saturating_sub(started)
        };
        Duration::from_nanos(self.spent.load(Ordering::Relaxed) + current)
    }

    /// Polls `fut`, charging the time each poll takes.
    async fn meter<F: Future>(&self, fut: F) -> F::Output {
        let mut fut = std::pin::pin!(fut);
        std::future::poll_fn(|cx| {
            let start = thread_cpu_nanos().max(1);
            self.poll_started.store(start, Ordering::Relaxed);
            let r = fut.as_mut().poll(cx);
            self.poll_started.store(0, Ordering::Relaxed);
            self.spent
                .fetch_add(thread_cpu_nanos().saturating_sub(start), Ordering::Relaxed);
            r
        })
        .await
    }
}

/// This thread's CPU time, nanoseconds.
fn thread_cpu_nanos() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write to.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The loaded action: compile once, execute many times.
pub struct ActionEngine {
    engine: Engine,
    pre: SendConversionEventPre<HostState>,
    limits: Limits,
    ticker_stop: Arc<std::sync::atomic::AtomicBool>,
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
    /// CPU time it used.
    pub cpu: Duration,
    /// Linear memory it held at its peak, bytes, over all its memories.
    pub memory: usize,
}

/// The host stopped the component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostFailure {
    /// The execution ran past its wall-clock limit (HTTP wait included).
    WallClock(Duration),
    /// The execution used up its CPU time.
    Cpu(Duration),
    /// The execution asked for more linear memory than it may have.
    Memory(usize),
    /// A request went past a cap of the egress policy.
    Egress(EgressCap),
    /// The component panicked.
    Panic,
    /// The component trapped otherwise, or could not be instantiated.
    Trap(String),
}

impl HostFailure {
    /// Whether the same execution may succeed later: only a wall-clock
    /// stop, which a slow network causes.
    pub fn retriable(&self) -> bool {
        matches!(self, HostFailure::WallClock(_))
    }

    /// Whether the failure is a host limit that a smaller batch may stay
    /// within.
    pub fn is_limit(&self) -> bool {
        !matches!(self, HostFailure::Panic | HostFailure::Trap(_))
    }
}

impl std::fmt::Display for HostFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostFailure::WallClock(d) => {
                write!(f, "stopped after {} ms (wall-clock limit)", d.as_millis())
            }
            HostFailure::Cpu(d) => write!(
                f,
                "CPU time limit reached: the component computed for more than {} ms",
                d.as_millis()
            ),
            HostFailure::Memory(cap) => write!(
                f,
                "memory limit reached: the component asked for more than {} of linear memory",
                human_bytes(*cap)
            ),
            HostFailure::Egress(cap) => write!(f, "{cap}"),
            HostFailure::Panic => f.write_str("the component panicked"),
            HostFailure::Trap(t) => write!(f, "the component crashed: {t}"),
        }
    }
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

        let ticker_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
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

    fn store(
        &self,
        policy: Arc<EgressPolicy>,
        log: Arc<Mutex<Vec<Exchange>>>,
        cpu: Arc<CpuMeter>,
    ) -> Store<HostState> {
        let state = HostState {
            // No stdio, args, env, files or sockets: the action needs none.
            wasi: WasiCtx::builder().build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: EgressHooks::new(policy, log),
            limiter: ExecutionLimiter {
                memory_cap: self.limits.memory_bytes,
                memory_used: 0,
                memory_hit: false,
            },
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
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
        let started = Instant::now();
        let log: Arc<Mutex<Vec<Exchange>>> = Default::default();
        let cpu = Arc::new(CpuMeter::default());
        let mut store = self.store(policy, log.clone(), cpu.clone());
        let work = async {
            let instance = self.pre.instantiate_async(&mut store).await?;
            call(&mut store, &instance).await
        };
        // Epochs stop running wasm; only a timer stops a guest waiting on
        // the host (an HTTP answer that never comes).
        let outcome = tokio::time::timeout(self.limits.wall_clock, cpu.meter(work)).await;
        let exchanges = std::mem::take(&mut *log.lock().unwrap());
        let cap = exchanges.iter().find_map(Exchange::cap);
        let result = match outcome {
            Err(_) => Err(HostFailure::WallClock(self.limits.wall_clock)),
            Ok(Err(e)) => Err(self.failure(&e, &store, &cpu)),
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
        }
    }

    fn failure(
        &self,
        e: &wasmtime::Error,
        store: &Store<HostState>,
        cpu: &CpuMeter,
    ) -> HostFailure {
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
                .map(Ok)
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
fn engine_config(limits: &Limits) -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let mut pool = PoolingAllocationConfig::new();
    let slots = limits.max_concurrency * 2;
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
    config
}

impl Drop for ActionEngine {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_bounded_over_every_memory_of_an_execution() {
        let limits = Limits {
            memory_bytes: 16 << 20,
            max_concurrency: 4,
            ..Limits::default()
        };
        let engine = Engine::new(&engine_config(&limits)).unwrap();
        // Each instance has its own 4 MiB memory, within the per-memory
        // limit: only their sum can be refused.
        let module =
            wasmtime::Module::new(&engine, r#"(module (memory (export "m") 64))"#).unwrap();
        let mut store = Store::new(
            &engine,
            ExecutionLimiter {
                memory_cap: limits.memory_bytes,
                memory_used: 0,
                memory_hit: false,
            },
        );
        store.limiter(|l| l);
        let made = (0..10)
            .take_while(|_| wasmtime::Instance::new(&mut store, &module, &[]).is_ok())
            .count();
        assert_eq!(
            made, 4,
            "four memories of 4 MiB fill 16 MiB; the fifth is refused"
        );
        assert!(store.data().memory_hit);
    }

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

    #[test]
    fn thread_cpu_time_advances_with_work_not_with_sleep() {
        let meter = CpuMeter::default();
        let before = meter.used();
        std::thread::sleep(Duration::from_millis(50));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(meter.meter(async { tokio::time::sleep(Duration::from_millis(100)).await }));
        assert!(
            meter.used() - before < Duration::from_millis(40),
            "waiting was charged: {:?}",
            meter.used()
        );
        rt.block_on(meter.meter(async {
            let start = thread_cpu_nanos();
            while thread_cpu_nanos() - start < 30_000_000 {
                std::hint::black_box(0u64);
            }
        }));
        assert!(
            meter.used() >= Duration::from_millis(30),
            "{:?}",
            meter.used()
        );
    }
}
