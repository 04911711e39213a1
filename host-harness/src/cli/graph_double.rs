//! `host-harness graph-double`: the local double of Meta's Graph API,
//! served until interrupted.

use anyhow::{Context as _, Result};
use graph_double::{Chaos, ChaosKind, DEFAULT_TOKEN, DoubleConfig, GraphDouble};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// An access token the double accepts; repeatable.
    #[arg(long = "token", default_value = DEFAULT_TOKEN)]
    tokens: Vec<String>,
    /// A pixel id that exists; repeatable (default: any id of digits).
    #[arg(long = "pixel")]
    pixels: Vec<String>,
    /// Share of `/events` requests that fail at random (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// Kinds of failure drawn from, comma-separated: 500, 503, 429,
    /// drop, cut (accepted, then the answer is cut), 400 (default: all).
    #[arg(long, value_delimiter = ',')]
    faults: Vec<String>,
    /// Added to every `/events` answer, milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Seed of the random failures.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Received events and requests kept (each); older ones are dropped
    /// and counted in `/_double/stats`.
    #[arg(long, default_value_t = 100_000)]
    max_kept: usize,
    /// The app secret of the tokens' app, as when its "Require App Secret"
    /// is on: every request must carry its `appsecret_proof`.
    #[arg(long)]
    app_secret: Option<String>,
}

pub async fn main(args: Args) -> Result<ExitCode> {
    let kinds = args
        .faults
        .iter()
        .map(|k| {
            ChaosKind::parse(k).with_context(|| {
                format!("`{k}` is not a fault kind (500, 503, 429, drop, cut, 400)")
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let config = DoubleConfig {
        tokens: args.tokens,
        pixels: (!args.pixels.is_empty()).then_some(args.pixels),
        chaos: Chaos {
            rate: args.fault_rate,
            kinds,
            latency: std::time::Duration::from_millis(args.latency_ms),
            seed: args.seed,
        },
        max_kept: args.max_kept,
        app_secret: args.app_secret,
    };
    let double = GraphDouble::start(args.listen, config).await?;
    let url = double.url();
    println!("Graph API double listening on {url}");
    println!("  Test Events page: {url}/");
    println!("  POST {url}/v24.0/<pixel id>/events   (Meta's route)");
    println!("  GET  {url}/_double/events            (what it received)");
    println!("  GET  {url}/_double/requests          (every request and answer)");
    println!("  GET  {url}/_double/stats             (what it keeps and dropped)");
    println!("  POST {url}/_double/faults            (queue failures)");
    tokio::signal::ctrl_c().await?;
    Ok(ExitCode::SUCCESS)
}
