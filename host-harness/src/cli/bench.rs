//! `host-harness bench`: the performance figures of the README, measured
//! on this machine.

use super::concurrency_range;
use anyhow::Result;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Iterations of the per-firing measurements.
    #[arg(long, default_value_t = 2000)]
    iterations: usize,
    /// Firings of each end-to-end run against the double.
    #[arg(long, default_value_t = 20_000)]
    firings: usize,
    /// Firings of the peak-memory run (0 skips it).
    #[arg(long, default_value_t = 1_000_000)]
    memory_firings: usize,
    /// Executions in flight in the end-to-end runs (1 to 1024).
    #[arg(long, default_value_t = 8, value_parser = concurrency_range())]
    concurrency: u32,
}

pub async fn main(args: Args) -> Result<ExitCode> {
    let options = host_harness::bench::BenchOptions {
        iterations: args.iterations,
        e2e_firings: args.firings,
        memory_firings: args.memory_firings,
        concurrency: args.concurrency as usize,
    };
    println!(
        "host-harness bench on {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    host_harness::bench::bench(&options, &mut |line| println!("  {line}")).await?;
    Ok(ExitCode::SUCCESS)
}
