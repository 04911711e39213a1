//! The subcommands, one file each, and what they share: loading the
//! component and writing a report.

pub mod bench;
pub mod demo;
pub mod describe;
pub mod graph_double;
pub mod outbox;
pub mod run;
pub mod validate;

use action_host::{ActionEngine, CacheUse, Limits};
use anyhow::{Context as _, Result};
use host_harness::component::{BUNDLED_COMPONENT, default_cache_dir};
use host_harness::report::Report;
use host_harness::report_file::ReportFile;
use std::path::PathBuf;
use std::sync::Arc;

/// Loads `component` (the bundled one by default) for `concurrency`
/// executions at once, through the compiled-component cache unless told
/// not to; says on stderr when the cache was not used, and why.
pub fn load_engine(
    component: Option<&PathBuf>,
    concurrency: u32,
    cache: bool,
) -> Result<Arc<ActionEngine>> {
    let bytes = match component {
        Some(path) => std::fs::read(path)
            .with_context(|| format!("cannot read the component {}", path.display()))?,
        None => BUNDLED_COMPONENT.to_vec(),
    };
    let limits = Limits {
        max_concurrency: concurrency,
        ..Limits::default()
    };
    let cache_dir = if cache { default_cache_dir() } else { None };
    let (engine, loaded) = ActionEngine::load(&bytes, limits, cache_dir.as_deref())?;
    match &loaded.cache {
        CacheUse::Rejected(why) => {
            eprintln!("warning: compiled afresh, the cached component was not trusted: {why}")
        }
        CacheUse::Unusable(why) => {
            eprintln!("warning: the compiled-component cache is not used: {why}")
        }
        CacheUse::Off | CacheUse::Hit | CacheUse::Miss => {}
    }
    Ok(Arc::new(engine))
}

/// Writes the JSON report to `path`, when given.
pub fn write_report(report: &Report, path: Option<&PathBuf>) -> Result<()> {
    if let Some(path) = path {
        ReportFile::write(path, report)?;
        eprintln!("report written to {}", path.display());
    }
    Ok(())
}

/// `--concurrency`: 1 to the most executions one engine runs at once.
pub fn concurrency_range() -> clap::builder::RangedI64ValueParser<u32> {
    clap::value_parser!(u32).range(1..=i64::from(Limits::MAX_CONCURRENCY))
}
