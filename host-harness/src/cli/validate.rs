//! `host-harness validate`: every problem of workflow files and their
//! actions' settings, located.

use super::load_engine;
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// A workflow file or a folder of them; repeatable.
    #[arg(long, required = true)]
    workflow: Vec<PathBuf>,
}

pub async fn main(args: Args) -> Result<ExitCode> {
    let engine = load_engine(None, 1, true)?;
    let descriptor = engine.describe().await?;
    let loaded = host_harness::workflow::load_all(&args.workflow, &descriptor.secret_fields);
    let (workflows, mut errors) = (loaded.workflows, loaded.errors);
    let refused =
        host_harness::run::refused_settings_problems(&engine, &loaded.refused, &errors).await?;
    errors.extend(refused);
    let (_, problems) = host_harness::run::check_settings(&engine, &workflows).await?;
    errors.extend(problems);
    // Each file's problems in the order of its lines.
    errors.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    for w in &workflows {
        println!(
            "{}: workflow \"{}\", trigger {}, {} action(s)",
            w.file.display(),
            w.name,
            w.trigger,
            w.actions.len()
        );
    }
    for e in &errors {
        println!("  {e}");
    }
    println!("{} problem(s)", errors.len());
    Ok(if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
