//! The demo: the Graph double on a loopback port, the bundled example
//! workflows (the five events of the seed and a custom one) over the
//! bundled contacts, and a readable summary.

use crate::report::Report;
use crate::run::{RunOptions, run};
use action_host::ActionEngine;
use anyhow::{Context as _, Result};
use graph_double::{DoubleConfig, GraphDouble};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The bundled example files, by name.
pub const FILES: [(&str, &str); 8] = [
    (
        "contacts.csv",
        include_str!("../../examples/demo/contacts.csv"),
    ),
    (
        "firings.jsonl",
        include_str!("../../examples/demo/firings.jsonl"),
    ),
    (
        "workflows/lead.toml",
        include_str!("../../examples/demo/workflows/lead.toml"),
    ),
    (
        "workflows/purchase.toml",
        include_str!("../../examples/demo/workflows/purchase.toml"),
    ),
    (
        "workflows/page-view.toml",
        include_str!("../../examples/demo/workflows/page-view.toml"),
    ),
    (
        "workflows/initiate-checkout.toml",
        include_str!("../../examples/demo/workflows/initiate-checkout.toml"),
    ),
    (
        "workflows/complete-registration.toml",
        include_str!("../../examples/demo/workflows/complete-registration.toml"),
    ),
    (
        "workflows/booked-demo.toml",
        include_str!("../../examples/demo/workflows/booked-demo.toml"),
    ),
];

/// Writes the example files into `dir`, moving the firings into the last
/// minutes so that Meta's 7-day limit accepts them.
pub fn write_examples(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir.join("workflows"))?;
    for (name, content) in FILES {
        let content = if name == "firings.jsonl" {
            rebase_times(content)?
        } else {
            content.to_string()
        };
        std::fs::write(dir.join(name), content)?;
    }
    Ok(())
}

fn rebase_times(jsonl: &str) -> Result<String> {
    let mut lines: Vec<Value> = jsonl
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let times: Vec<i64> = lines
        .iter()
        .map(|l| {
            chrono::DateTime::parse_from_rfc3339(l["occurred_at"].as_str().unwrap_or_default())
                .map(|t| t.timestamp())
                .context("bundled firing times are RFC 3339")
        })
        .collect::<Result<_>>()?;
    let shift = chrono::Utc::now().timestamp() - 60 - times.iter().max().copied().unwrap_or(0);
    for (line, t) in lines.iter_mut().zip(times) {
        let at = chrono::DateTime::from_timestamp(t + shift, 0).context("time in range")?;
        line["occurred_at"] = Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    }
    Ok(lines.iter().map(|l| l.to_string() + "\n").collect())
}

/// Runs the demo; returns the report and the double (still serving).
pub async fn demo(engine: Arc<ActionEngine>, dir: &Path) -> Result<(Report, GraphDouble)> {
    write_examples(dir)?;
    let double = GraphDouble::start("127.0.0.1:0".parse()?, DoubleConfig::default()).await?;
    let options = RunOptions {
        workflows: vec![dir.join("workflows")],
        contacts: dir.join("contacts.csv"),
        firings: dir.join("firings.jsonl"),
        graph_url: Some(double.url().parse()?),
        concurrency: 4,
        dry_run: false,
        record_requests: true,
        outbox: None,
        retry: crate::retry::RetryPolicy::default(),
        batch_size: 1,
        batch_bytes: crate::run::DEFAULT_BATCH_BYTES,
        reuse: action_host::Reuse::default(),
        threads: 1,
    };
    let report = run(engine, &options, &|_, _| {}).await?;
    Ok((report, double))
}

/// A scratch folder for the demo's files.
pub fn scratch_dir() -> PathBuf {
    std::env::temp_dir().join(format!("send-conversion-event-demo-{}", std::process::id()))
}
