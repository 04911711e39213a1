//! `host-harness describe`: the component's descriptor, settings schema,
//! default mappings, merge fields and imports.

use super::load_engine;
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Describe this component instead of the bundled one.
    #[arg(long)]
    component: Option<PathBuf>,
}

pub async fn main(args: Args) -> Result<ExitCode> {
    let engine = load_engine(args.component.as_ref(), 1, true)?;
    let d = engine.describe().await?;
    let doc = serde_json::json!({
        "name": d.name,
        "title": d.title,
        "version": d.version,
        "description": d.description,
        "supported_events": d.supported_events,
        "secret_fields": d.secret_fields,
        "settings_schema": serde_json::from_str::<serde_json::Value>(&d.settings_schema)?,
        "default_mappings": serde_json::from_str::<serde_json::Value>(&d.default_mappings)?,
        "merge_fields": serde_json::from_str::<serde_json::Value>(&d.merge_fields)?,
        "imports": engine.imports(),
    });
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(ExitCode::SUCCESS)
}
