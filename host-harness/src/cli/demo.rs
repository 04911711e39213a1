//! `host-harness demo`: the bundled example workflows against the double,
//! with what was sent and what the double answered.

use super::{load_engine, write_report};
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Write the full JSON report here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Keep the double and its Test Events page up after the demo,
    /// until interrupted.
    #[arg(long)]
    keep_serving: bool,
}

pub async fn main(args: Args) -> Result<ExitCode> {
    let engine = load_engine(None, 4, true)?;
    let dir = host_harness::demo::scratch_dir();
    let (result, double) = host_harness::demo::demo(engine, &dir).await?;
    println!(
        "Send Conversion Event demo: bundled workflows against the Graph API double at {}\n",
        double.url()
    );
    for f in &result.firings {
        for e in &f.executions {
            let what = match (&e.answer, &e.error) {
                (Some(a), _) => format!("accepted, fbtrace_id {}", a.fbtrace_id),
                (_, Some(err)) => format!("{:?}: {}", e.status, err.message),
                _ => format!("{:?}", e.status),
            };
            println!(
                "  {:<22} event_id {:<10} match keys [{}]\n  {:<22} {what}",
                e.event_name.as_deref().unwrap_or("?"),
                e.event_id.as_deref().unwrap_or("-"),
                e.match_keys.names().collect::<Vec<_>>().join(" "),
                ""
            );
            for w in &e.warnings {
                println!("  {:<22} warning: {}: {}", "", w.field, w.message);
            }
        }
    }
    println!("\n{}", result.summary(20));
    let received = double.received();
    println!(
        "The double received {} events: {}",
        received.len(),
        received
            .iter()
            .map(|r| r.event_name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("Example files: {}", dir.display());
    println!("Test Events page: {}/", double.url());
    write_report(&result, args.report.as_ref())?;
    if args.keep_serving {
        println!("Serving the double until interrupted (Ctrl-C).");
        tokio::signal::ctrl_c().await?;
    } else {
        println!("  (it closes with the demo; `host-harness demo --keep-serving` keeps it open)");
    }
    Ok(if result.succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
