//! `host-harness outbox`: what a run's outbox holds, dead letters sent
//! again, settled entries purged.

use anyhow::{Context as _, Result};
use host_harness::outbox::{Outbox, State};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The outbox file (`<triggers>.outbox.db` by default of `run`).
    #[arg(long)]
    db: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Counts per state and the entries (all, or of one state).
    List {
        /// pending, delivered, skipped or dead.
        #[arg(long)]
        state: Option<String>,
    },
    /// Move dead-lettered entries back to pending: the next `run` over the
    /// same files sends them again, with the same event ids.
    Retry,
    /// Delete the entries of one state (delivered, skipped or dead).
    Purge {
        /// The state to delete.
        #[arg(long)]
        state: String,
    },
}

pub fn main(args: Args) -> Result<ExitCode> {
    if !args.db.is_file() {
        anyhow::bail!("{} is not an outbox file", args.db.display());
    }
    // Looking needs no hold on the outbox; changing it does.
    let outbox = match &args.command {
        Command::List { .. } => Outbox::open_shared(&args.db)?,
        _ => Outbox::open(&args.db)?,
    };
    let parse = |s: &str| {
        State::parse(s)
            .with_context(|| format!("`{s}` is not a state (pending, delivered, skipped, dead)"))
    };
    match args.command {
        Command::List { state } => {
            let state = state.as_deref().map(parse).transpose()?;
            let counts = outbox.counts()?;
            println!(
                "{}: {} pending, {} delivered, {} skipped, {} dead",
                args.db.display(),
                counts["pending"],
                counts["delivered"],
                counts["skipped"],
                counts["dead"]
            );
            for e in outbox.list(state)? {
                println!(
                    "  {:<9} {} → {} ({}) event_id {} attempts {}{}",
                    format!("{:?}", e.state).to_lowercase(),
                    e.source,
                    e.event_name.as_deref().unwrap_or(&e.action),
                    e.workflow,
                    e.event_id.as_deref().unwrap_or("-"),
                    e.attempts,
                    e.last_error
                        .map(|m| format!("\n            {m}"))
                        .unwrap_or_default()
                );
            }
        }
        Command::Retry => {
            let n = outbox.requeue_dead()?;
            println!(
                "{n} dead-lettered entries are pending again; the next `host-harness run` over the same files sends them"
            );
        }
        Command::Purge { state } => {
            let state = parse(&state)?;
            anyhow::ensure!(
                state != State::Pending,
                "pending entries are not delivered yet; purging them would lose events"
            );
            println!("{} entries deleted", outbox.purge(state)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
