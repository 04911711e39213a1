//! `host-harness`: run Send Conversion Event workflows locally. One file per
//! subcommand in `cli/`; the work is in the library.

mod allocator;
mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "host-harness",
    version,
    about = "Runs the Send Conversion Event component in wasmtime, with a local double of Meta's Graph API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Execute every trigger firing through the workflows that listen for it.
    Run(cli::run::Args),
    /// List the outbox of a run, send dead-lettered events again, or purge.
    Outbox(cli::outbox::Args),
    /// Serve the local Graph API double until interrupted.
    GraphDouble(cli::graph_double::Args),
    /// Run the bundled examples against the double and print a summary.
    Demo(cli::demo::Args),
    /// Check workflow files and their actions' settings; list every problem.
    Validate(cli::validate::Args),
    /// Measure the host and the component and print the figures.
    Bench(cli::bench::Args),
    /// Print the component's descriptor and settings schema.
    Describe(cli::describe::Args),
}

fn main() -> ExitCode {
    allocator::configure();
    let command = Cli::parse().command;
    let threads = match &command {
        Command::Run(args) => args.runtime_threads(),
        _ => 1,
    };
    // One thread drives every execution unless a batched run asks for more
    // (see `run --threads`); a run of single events starts a runtime of its
    // own on each of its other threads. A guest that computes long yields
    // every 50 ms (see the host's limits), so it cannot starve the others.
    let runtime = if threads > 1 {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match command {
            Command::Run(args) => cli::run::main(args).await,
            Command::Outbox(args) => cli::outbox::main(args),
            Command::GraphDouble(args) => cli::graph_double::main(args).await,
            Command::Demo(args) => cli::demo::main(args).await,
            Command::Validate(args) => cli::validate::main(args).await,
            Command::Bench(args) => cli::bench::main(args).await,
            Command::Describe(args) => cli::describe::main(args).await,
        }
    });
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::from(2)
    })
}
