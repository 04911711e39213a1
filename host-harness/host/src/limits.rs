//! What one execution may use, and how the host holds it to that: a memory
//! limiter summed over every memory of an execution, and a CPU meter that
//! charges an execution only the thread time of its own polls.

use anyhow::Result;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use wasmtime::ResourceLimiter;

/// What one execution may use.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Linear memory of one execution, bytes: the sum over every memory of
    /// every instance the component creates. Also the most the host copies
    /// out of one answer or host call of the component.
    pub memory_bytes: usize,
    /// Wall-clock time of one execution, HTTP wait included.
    pub wall_clock: Duration,
    /// CPU time the execution may use: the time the thread spends polling
    /// it (running wasm and the host calls it makes), not its waits.
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
    /// The most resources of the host's (header maps, requests, bodies,
    /// streams, pollables) one instance may hold at once. One request to
    /// Meta takes about ten; wasmtime's default is a million, each of which
    /// the host keeps in its own memory, outside the instance's limit.
    pub const RESOURCES: usize = 1024;
    /// The most bytes one header map may hold (wasi-http's default is
    /// 128 KiB): with [`Limits::RESOURCES`], what a component can make the
    /// host hold in header maps stays near the default memory limit.
    pub const HEADER_BYTES: usize = 64 << 10;
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

/// Instances, memories and tables one execution may create; the action
/// needs a handful of each.
const MAX_INSTANCES: usize = 32;
const MAX_MEMORIES: usize = 16;
const MAX_TABLES: usize = 64;
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// Bounds what one execution allocates, summed over all its instances:
/// `StoreLimits` bounds each memory on its own, so a component declaring
/// many memories could otherwise take many times the limit.
pub(crate) struct ExecutionLimiter {
    memory_cap: usize,
    pub(crate) memory_used: usize,
    pub(crate) memory_hit: bool,
}

impl ExecutionLimiter {
    /// A limiter allowing `memory_cap` bytes of linear memory in all.
    pub(crate) fn new(memory_cap: usize) -> Self {
        ExecutionLimiter {
            memory_cap,
            memory_used: 0,
            memory_hit: false,
        }
    }
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

/// The CPU time an execution used: the time inside the polls of its own
/// future, while the thread runs it. Time spent waiting (HTTP, other
/// executions on the same thread) is never charged.
///
/// Polls are timed on the monotonic clock, which is read without a system
/// call, where the thread's own CPU clock is a system call at both ends of
/// every poll (about 3 % of the host's time with one event per request).
/// A poll during which the OS ran something else is charged in full, so
/// the meter errs towards stopping an execution, never towards letting one
/// run past its limit.
#[derive(Default)]
pub(crate) struct CpuMeter {
    /// Nanoseconds of finished polls.
    spent: AtomicU64,
    /// Monotonic clock at the start of the poll under way; 0 when none is.
    poll_started: AtomicU64,
    /// Whether the limit stopped the execution.
    pub(crate) hit: AtomicBool,
}

impl CpuMeter {
    /// Starts a new execution's clock (a reused instance's).
    pub(crate) fn reset(&self) {
        self.spent.store(0, Ordering::Relaxed);
        self.hit.store(false, Ordering::Relaxed);
    }

    pub(crate) fn used(&self) -> Duration {
        let started = self.poll_started.load(Ordering::Relaxed);
        let current = if started == 0 {
            0
        } else {
            monotonic_nanos().saturating_sub(started)
        };
        Duration::from_nanos(self.spent.load(Ordering::Relaxed) + current)
    }

    /// Polls `fut`, charging the time each poll takes.
    pub(crate) async fn meter<F: Future>(&self, fut: F) -> F::Output {
        let mut fut = std::pin::pin!(fut);
        std::future::poll_fn(|cx| {
            let start = monotonic_nanos().max(1);
            self.poll_started.store(start, Ordering::Relaxed);
            let r = fut.as_mut().poll(cx);
            self.poll_started.store(0, Ordering::Relaxed);
            self.spent
                .fetch_add(monotonic_nanos().saturating_sub(start), Ordering::Relaxed);
            r
        })
        .await
    }
}

/// Nanoseconds since the first call, on the monotonic clock.
fn monotonic_nanos() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let start = *START.get_or_init(std::time::Instant::now);
    // Over 500 years before it saturates.
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// This thread's CPU time, nanoseconds.
#[cfg(test)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::{Engine, Store};

    #[test]
    fn memory_is_bounded_over_every_memory_of_an_execution() {
        let limits = Limits {
            memory_bytes: 16 << 20,
            max_concurrency: 4,
            ..Limits::default()
        };
        let engine = Engine::new(&crate::engine::engine_config(&limits)).unwrap();
        // Each instance has its own 4 MiB memory, within the per-memory
        // limit: only their sum can be refused.
        let module =
            wasmtime::Module::new(&engine, r#"(module (memory (export "m") 64))"#).unwrap();
        let mut store = Store::new(&engine, ExecutionLimiter::new(limits.memory_bytes));
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
