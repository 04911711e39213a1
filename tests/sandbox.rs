//! A misbehaving component is stopped with a clear error, and the host goes
//! on serving other firings. The fixture is `tests/fixtures/rogue-action`.

mod common;

use common::*;
use host_harness::egress::{EgressPolicy, ExchangeResult};
use host_harness::engine::{ActionEngine, HostFailure, Limits, ROGUE_COMPONENT_PATH, wit};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn rogue() -> ActionEngine {
    let limits = Limits {
        memory_bytes: 16 << 20,
        wall_clock: Duration::from_secs(2),
        cpu: Duration::from_millis(300),
        max_concurrency: 4,
    };
    ActionEngine::new(&std::fs::read(ROGUE_COMPONENT_PATH).unwrap(), limits).unwrap()
}

async fn run(engine: &ActionEngine, behaviour: &str) -> host_harness::engine::Execution {
    engine
        .execute(
            Arc::new(EgressPolicy::graph(None)),
            behaviour,
            &firing(behaviour, "t", json!({})),
            &contact(),
        )
        .await
}

async fn still_serves(engine: &ActionEngine) {
    let exec = run(engine, "behave").await;
    assert!(
        matches!(exec.result, Ok(Ok(_))),
        "the host stopped serving: {:?}",
        exec.result
    );
}

#[tokio::test]
async fn an_endless_loop_is_stopped_by_the_cpu_limit() {
    let engine = rogue();
    let started = Instant::now();
    let exec = run(&engine, "loop").await;
    let Err(HostFailure::Trap(why)) = &exec.result else {
        panic!("{:?}", exec.result)
    };
    assert!(why.contains("CPU time limit"), "{why}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "stopped by the CPU cap, before the wall clock"
    );
    still_serves(&engine).await;
}

#[tokio::test]
async fn grabbing_memory_is_stopped_by_the_memory_limit() {
    let engine = rogue();
    let exec = run(&engine, "grab-memory").await;
    let Err(HostFailure::Trap(why)) = &exec.result else {
        panic!("{:?}", exec.result)
    };
    assert!(why.contains("memory"), "{why}");
    still_serves(&engine).await;
}

#[tokio::test]
async fn a_panic_is_contained() {
    let engine = rogue();
    let exec = run(&engine, "panic").await;
    let Err(HostFailure::Trap(why)) = &exec.result else {
        panic!("{:?}", exec.result)
    };
    assert!(why.contains("panicked"), "{why}");
    still_serves(&engine).await;
}

#[tokio::test]
async fn a_forbidden_host_is_refused() {
    let engine = rogue();
    let exec = run(&engine, "forbidden-host").await;
    let Ok(Err(wit::Failure {
        error: wit::ActionError::Transport(t),
        ..
    })) = &exec.result
    else {
        panic!("{:?}", exec.result)
    };
    assert!(t.message.contains("HttpRequestDenied"), "{}", t.message);
    let ExchangeResult::Denied { reason } = &exec.exchanges[0].result else {
        panic!("{:?}", exec.exchanges)
    };
    assert!(reason.contains("exfiltrate.example.com"));
    still_serves(&engine).await;
}

#[tokio::test]
async fn a_request_that_never_answers_is_cut_by_the_wall_clock() {
    let (silent, _hold) = silent_server().await;
    let engine = rogue();
    let mut policy = EgressPolicy::graph(Some(silent.parse().unwrap()));
    policy.first_byte_timeout = Duration::from_secs(60);
    let started = Instant::now();
    let exec = engine
        .execute(
            Arc::new(policy),
            "sleep",
            &firing("s", "t", json!({})),
            &contact(),
        )
        .await;
    assert!(
        matches!(exec.result, Err(HostFailure::WallClock(_))),
        "{:?}",
        exec.result
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    still_serves(&engine).await;
}

#[tokio::test]
async fn misbehaving_firings_do_not_stop_concurrent_good_ones() {
    let engine = Arc::new(rogue());
    let mut tasks = Vec::new();
    for behaviour in ["loop", "behave", "panic", "behave", "grab-memory", "behave"] {
        let engine = engine.clone();
        tasks.push(tokio::spawn(async move {
            (behaviour, run(&engine, behaviour).await)
        }));
    }
    for t in tasks {
        let (behaviour, exec) = t.await.unwrap();
        assert_eq!(
            behaviour == "behave",
            matches!(exec.result, Ok(Ok(_))),
            "{behaviour}: {:?}",
            exec.result
        );
    }
}
