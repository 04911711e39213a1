//! A misbehaving component is stopped with a clear error, and the host goes
//! on serving other firings. The fixture is `tests/fixtures/rogue-action`.

use crate::common::*;
use action_host::{
    ActionEngine, EgressCap, EgressPolicy, ExchangeResult, HostFailure, Limits, wit,
};
use host_harness::component::ROGUE_COMPONENT_PATH;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn rogue() -> ActionEngine {
    rogue_with(Limits {
        memory_bytes: 16 << 20,
        wall_clock: Duration::from_secs(2),
        cpu: Duration::from_millis(300),
        max_concurrency: 8,
    })
}

fn rogue_with(limits: Limits) -> ActionEngine {
    ActionEngine::new(&std::fs::read(ROGUE_COMPONENT_PATH).unwrap(), limits).unwrap()
}

async fn run(engine: &ActionEngine, behaviour: &str) -> action_host::Execution {
    run_with(engine, EgressPolicy::graph(None), behaviour).await
}

async fn run_with(
    engine: &ActionEngine,
    policy: EgressPolicy,
    behaviour: &str,
) -> action_host::Execution {
    engine
        .execute(
            Arc::new(policy),
            behaviour,
            &firing(behaviour, "t", json!({})),
            &contact(),
        )
        .await
}

/// The bytes the rogue wrote before the host stopped it, from its message.
fn written(exec: &action_host::Execution) -> usize {
    let text = match &exec.result {
        Ok(Err(wit::Failure {
            error: wit::ActionError::Transport(t),
            ..
        })) => t.message.clone(),
        other => panic!("{other:?}"),
    };
    text.strip_prefix("wrote ")
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text}"))
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
    assert_eq!(
        exec.result.as_ref().err(),
        Some(&HostFailure::Cpu(Duration::from_millis(300)))
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "stopped by the CPU cap, before the wall clock"
    );
    still_serves(&engine).await;
}

/// A handle with connections of its own, on another thread and runtime,
/// keeps the CPU limit after the engine it came from is gone: the epoch
/// ticker that stops a running guest lives as long as any handle.
#[test]
fn an_engine_handle_on_another_runtime_stops_an_endless_loop_after_its_engine_is_dropped() {
    let engine = rogue();
    let handle = engine.with_own_connections();
    drop(engine);
    let (done, stopped) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let exec = runtime.block_on(run(&handle, "loop"));
        let _ = done.send(exec.result.err());
        runtime.block_on(still_serves(&handle));
    });
    // Without the ticker nothing stops the guest, not even the wall clock:
    // this thread waits for it, not the looping one.
    let stopped = stopped
        .recv_timeout(Duration::from_secs(20))
        .expect("the loop was never stopped: the epoch ticker stopped with the engine");
    assert_eq!(stopped, Some(HostFailure::Cpu(Duration::from_millis(300))));
    thread.join().expect("the handle serves on after the stop");
}

#[tokio::test]
async fn grabbing_memory_is_stopped_by_the_memory_limit() {
    let engine = rogue();
    let exec = run(&engine, "grab-memory").await;
    assert_eq!(
        exec.result.as_ref().err(),
        Some(&HostFailure::Memory(16 << 20))
    );
    assert!(
        exec.result
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("memory limit reached"),
        "{:?}",
        exec.result
    );
    still_serves(&engine).await;
}

#[tokio::test]
async fn a_panic_is_contained() {
    let engine = rogue();
    let exec = run(&engine, "panic").await;
    assert_eq!(exec.result.as_ref().err(), Some(&HostFailure::Panic));
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
    let ExchangeResult::Denied { reason, .. } = &exec.exchanges[0].result else {
        panic!("{:?}", exec.exchanges)
    };
    assert!(reason.contains("exfiltrate.example.com"));
    still_serves(&engine).await;
}

#[tokio::test]
async fn there_is_no_way_out_but_the_graph_api() {
    // A component with raw sockets could send the contact's data anywhere
    // without the egress policy seeing it; with the host's environment it
    // could read the secrets the harness resolves from it.
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = tcp.local_addr().unwrap().port();
    let udp = std::net::UdpSocket::bind(("127.0.0.1", port)).unwrap();
    tcp.set_nonblocking(true).unwrap();
    udp.set_nonblocking(true).unwrap();
    assert!(
        std::env::vars_os().next().is_some(),
        "the host has an environment"
    );

    let engine = rogue();
    let exec = run(&engine, &format!("around-the-host:{port}")).await;
    let Ok(Err(wit::Failure {
        error: wit::ActionError::Transport(t),
        ..
    })) = &exec.result
    else {
        panic!("{:?}", exec.result)
    };
    let said: std::collections::HashMap<&str, &str> = t
        .message
        .split("; ")
        .filter_map(|part| part.split_once(' '))
        .collect();
    assert!(said["tcp"].ends_with(":access-denied"), "{}", t.message);
    assert!(said["udp"].ends_with(":access-denied"), "{}", t.message);
    // `localhost` always resolves where lookups are allowed.
    assert!(said["lookup"].starts_with("resolve:"), "{}", t.message);
    assert_eq!(
        (said["env"], said["args"], said["dirs"], said["cwd"]),
        ("0", "0", "0", "None"),
        "{}",
        t.message
    );
    assert!(exec.exchanges.is_empty(), "{:?}", exec.exchanges);

    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        tcp.accept().map(|_| ()).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock,
        "a connection arrived"
    );
    assert_eq!(
        udp.recv(&mut [0; 64]).map(|_| ()).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock,
        "a datagram arrived"
    );
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

#[tokio::test]
async fn a_huge_body_to_a_denied_host_is_refused_from_its_head_and_never_kept() {
    let engine = rogue_with(Limits {
        cpu: Duration::from_secs(20),
        wall_clock: Duration::from_secs(30),
        ..Limits::default()
    });
    let exec = run(&engine, &format!("huge-body-denied:{}", 1u64 << 30)).await;
    let sent = written(&exec);
    assert!(
        sent <= 10 << 20,
        "the host read {sent} bytes of a body it had refused; it stops at the 8 MiB cap"
    );
    let ExchangeResult::Denied { reason, cap } = &exec.exchanges[0].result else {
        panic!("{:?}", exec.exchanges)
    };
    assert!(reason.contains("exfiltrate.example.com"), "{reason}");
    assert_eq!(*cap, None);
    assert!(exec.exchanges[0].request_body.is_empty());
    still_serves(&engine).await;
}

#[tokio::test]
async fn a_body_past_the_cap_fails_the_execution_with_an_error_naming_the_cap() {
    let d = double().await;
    let engine = rogue_with(Limits {
        cpu: Duration::from_secs(20),
        wall_clock: Duration::from_secs(30),
        ..Limits::default()
    });
    let mut policy = EgressPolicy::graph(Some(d.url().parse().unwrap()));
    policy.max_request_body = 2 << 20;
    let exec = run_with(&engine, policy, &format!("huge-body-graph:{}", 1u64 << 30)).await;
    let Err(failure) = &exec.result else {
        panic!("{:?}", exec.result)
    };
    assert_eq!(
        failure,
        &HostFailure::Egress(EgressCap::RequestBody { limit: 2 << 20 })
    );
    assert!(
        failure
            .to_string()
            .contains("more than 2 MiB (max_request_body)"),
        "{failure}"
    );
    assert!(
        d.requests().is_empty(),
        "nothing past the cap was forwarded"
    );
}

#[tokio::test]
async fn a_guest_computing_behind_an_open_request_is_stopped_by_its_cpu_limit() {
    let (silent, _hold) = silent_server().await;
    let engine = rogue_with(Limits {
        memory_bytes: 16 << 20,
        wall_clock: Duration::from_secs(20),
        cpu: Duration::from_millis(300),
        max_concurrency: 4,
    });
    let mut policy = EgressPolicy::graph(Some(silent.parse().unwrap()));
    policy.first_byte_timeout = Duration::from_secs(60);
    let started = Instant::now();
    let exec = run_with(&engine, policy, "loop-with-request-open").await;
    assert_eq!(
        exec.result.as_ref().err(),
        Some(&HostFailure::Cpu(Duration::from_millis(300))),
        "{:?}",
        exec.result
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopped by its CPU limit, not by the 20 s wall clock ({:?})",
        started.elapsed()
    );
}

#[tokio::test]
async fn one_execution_may_make_only_so_many_requests() {
    let d = double().await;
    let engine = rogue();
    let exec = run_with(
        &engine,
        EgressPolicy::graph(Some(d.url().parse().unwrap())),
        "many-requests:50",
    )
    .await;
    assert_eq!(
        exec.result.as_ref().err(),
        Some(&HostFailure::Egress(EgressCap::Requests { limit: 8 })),
        "{:?}",
        exec.result
    );
    assert_eq!(
        d.requests().len(),
        8,
        "the ninth request never left the host"
    );
}

/// Eight executions that each need about half the CPU limit, run at once on
/// one thread: each is charged its own time only, so none is stopped, as
/// none is when run alone.
#[tokio::test]
async fn each_execution_is_charged_only_its_own_cpu_time() {
    let limit = Duration::from_millis(400);
    let engine = Arc::new(rogue_with(Limits {
        memory_bytes: 16 << 20,
        wall_clock: Duration::from_secs(30),
        cpu: limit,
        max_concurrency: 8,
    }));
    // The fastest of three probes: a probe the machine slowed down would
    // make the executions too short to overlap for longer than the limit.
    let mut probes = Vec::new();
    for _ in 0..3 {
        let probe = run(&engine, "spin:2000000").await;
        assert!(matches!(probe.result, Ok(Ok(_))), "{:?}", probe.result);
        probes.push(probe.cpu);
    }
    let per_round = probes.iter().min().unwrap().as_secs_f64() / 2_000_000.0;
    // A third of the limit each: together they take more than the limit,
    // and each has room for the machine to run it three times slower than
    // the probe (the meter charges a poll the time the OS took from it).
    let rounds = ((limit.as_secs_f64() / 3.0) / per_round) as u64;
    let alone = run(&engine, &format!("spin:{rounds}")).await;
    assert!(
        matches!(alone.result, Ok(Ok(_))),
        "alone: {:?}",
        alone.result
    );

    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let engine = engine.clone();
        let behaviour = format!("spin:{rounds}");
        tasks.push(tokio::spawn(async move { run(&engine, &behaviour).await }));
    }
    for t in tasks {
        let exec = t.await.unwrap();
        assert!(
            matches!(exec.result, Ok(Ok(_))),
            "charged for others' time: {:?} (cpu {:?})",
            exec.result,
            exec.cpu
        );
        assert!(exec.cpu < limit, "{:?}", exec.cpu);
    }
    assert!(
        started.elapsed() > limit,
        "the executions did overlap for longer than one limit, or the test proves nothing"
    );
}

/// Loading a compiled artifact runs its native code: a cached file the host
/// did not write for this component is never loaded.
#[tokio::test]
async fn a_replaced_compiled_component_in_the_cache_is_refused_and_recompiled() {
    use action_host::CacheUse;
    use host_harness::component::BUNDLED_COMPONENT;
    use std::os::unix::fs::PermissionsExt;
    let rogue_bytes = std::fs::read(ROGUE_COMPONENT_PATH).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().join("compiled");

    let (_, loaded) = ActionEngine::load(&rogue_bytes, Limits::default(), Some(&dir)).unwrap();
    assert_eq!(loaded.cache, CacheUse::Miss);
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700,
        "the folder is private"
    );
    let rogue_file = artifacts(&dir).pop().unwrap();
    let (_, loaded) = ActionEngine::load(BUNDLED_COMPONENT, Limits::default(), Some(&dir)).unwrap();
    assert_eq!(loaded.cache, CacheUse::Miss);
    let action_file = artifacts(&dir)
        .into_iter()
        .find(|p| *p != rogue_file)
        .unwrap();

    // Another component's genuine artifact, put in place of this one's.
    std::fs::copy(&rogue_file, &action_file).unwrap();
    let (engine, loaded) =
        ActionEngine::load(BUNDLED_COMPONENT, Limits::default(), Some(&dir)).unwrap();
    assert!(
        matches!(loaded.cache, CacheUse::Rejected(_)),
        "{:?}",
        loaded.cache
    );
    assert_eq!(
        engine.describe().await.unwrap().name,
        "send-conversion-event"
    );
    let (_, loaded) = ActionEngine::load(BUNDLED_COMPONENT, Limits::default(), Some(&dir)).unwrap();
    assert_eq!(loaded.cache, CacheUse::Hit, "rewritten after the mismatch");

    // A flipped byte in the native code.
    let mut bytes = std::fs::read(&action_file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&action_file, bytes).unwrap();
    let (_, loaded) = ActionEngine::load(BUNDLED_COMPONENT, Limits::default(), Some(&dir)).unwrap();
    assert!(
        matches!(loaded.cache, CacheUse::Rejected(_)),
        "{:?}",
        loaded.cache
    );

    // A folder others may write is not trusted.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (engine, loaded) =
        ActionEngine::load(BUNDLED_COMPONENT, Limits::default(), Some(&dir)).unwrap();
    assert!(
        matches!(loaded.cache, CacheUse::Unusable(_)),
        "{:?}",
        loaded.cache
    );
    assert_eq!(
        engine.describe().await.unwrap().name,
        "send-conversion-event"
    );

    // Nor one owned by another user (only root can make one to test with).
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
        let (_, loaded) =
            ActionEngine::load(BUNDLED_COMPONENT, Limits::default(), Some(&dir)).unwrap();
        let CacheUse::Unusable(why) = &loaded.cache else {
            panic!("{:?}", loaded.cache)
        };
        assert!(why.contains("belongs to another user"), "{why}");
    }
}

/// The compiled components kept in a cache folder.
fn artifacts(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    found.sort();
    found
}

fn worker_engine(cpu: Duration) -> Arc<ActionEngine> {
    Arc::new(rogue_with(Limits {
        memory_bytes: 16 << 20,
        wall_clock: Duration::from_secs(10),
        cpu,
        max_concurrency: 4,
    }))
}

async fn in_worker(worker: &mut action_host::Worker, behaviour: &str) -> action_host::Execution {
    worker
        .execute(behaviour, &firing(behaviour, "t", json!({})), &contact())
        .await
}

/// A reused instance gives each execution its own CPU clock: five
/// executions of about a third of the limit each (more than the limit
/// together) all pass in one instance.
#[tokio::test]
async fn a_worker_gives_each_execution_its_own_cpu_clock() {
    let limit = Duration::from_millis(400);
    let engine = worker_engine(limit);
    let mut worker = engine.worker(Arc::new(EgressPolicy::graph(None)), Default::default());
    let mut probes = Vec::new();
    for _ in 0..3 {
        probes.push(in_worker(&mut worker, "spin:2000000").await.cpu);
    }
    let per_round = probes.iter().min().unwrap().as_secs_f64() / 2_000_000.0;
    let rounds = ((limit.as_secs_f64() / 3.0) / per_round) as u64;
    for i in 0..5 {
        let exec = in_worker(&mut worker, &format!("spin:{rounds}")).await;
        assert!(
            matches!(exec.result, Ok(Ok(_))),
            "execution {i}: {:?}",
            exec.result
        );
        assert!(exec.reused);
    }
    assert_eq!(worker.instances(), 1, "one instance served them all");
}

/// After a trap or a limit, the next execution gets a fresh instance and
/// behaves as it would alone.
#[tokio::test]
async fn a_worker_starts_a_fresh_instance_after_any_host_failure() {
    let engine = worker_engine(Duration::from_millis(300));
    let mut worker = engine.worker(Arc::new(EgressPolicy::graph(None)), Default::default());
    let mut failures = Vec::new();
    for behaviour in [
        "behave",
        "loop",
        "behave",
        "panic",
        "behave",
        "grab-memory",
        "behave",
    ] {
        let exec = in_worker(&mut worker, behaviour).await;
        match &exec.result {
            Ok(Ok(_)) => assert_eq!(behaviour, "behave"),
            Err(f) => failures.push(f.clone()),
            other => panic!("{behaviour}: {other:?}"),
        }
    }
    assert_eq!(
        failures,
        [
            HostFailure::Cpu(Duration::from_millis(300)),
            HostFailure::Panic,
            HostFailure::Memory(16 << 20)
        ]
    );
    assert_eq!(worker.instances(), 4, "a fresh instance after each failure");
}

/// An instance serves at most `max_executions`, and each execution has its
/// own egress request count.
#[tokio::test]
async fn a_worker_recycles_its_instance_and_counts_requests_per_execution() {
    let d = double().await;
    let engine = worker_engine(Duration::from_secs(2));
    let reuse = action_host::Reuse {
        max_executions: 3,
        max_memory: 64 << 20,
    };
    let mut worker = engine.worker(
        Arc::new(EgressPolicy::graph(Some(d.url().parse().unwrap()))),
        reuse,
    );
    for i in 0..7 {
        let exec = in_worker(&mut worker, "many-requests:5").await;
        assert!(
            matches!(exec.result, Ok(Ok(_))),
            "execution {i}: {:?}",
            exec.result
        );
        assert_eq!(exec.reused, i % 3 != 0, "execution {i}");
    }
    assert_eq!(worker.instances(), 3);
    assert_eq!(d.requests().len(), 35);
}

/// A batch answered with more or fewer results than items cannot be matched
/// to its firings: it is a typed host failure, never a silent shortfall, and
/// the next batch gets a fresh instance.
#[tokio::test]
async fn a_batch_answered_with_another_number_of_results_is_a_host_failure() {
    let engine = worker_engine(Duration::from_secs(2));
    let mut worker = engine.worker(Arc::new(EgressPolicy::graph(None)), Default::default());
    let items: Vec<wit::BatchItem> = (0..5)
        .map(|i| wit::BatchItem {
            firing: firing(&format!("f{i}"), "t", json!({})),
            contact: contact(),
        })
        .collect();
    for (answered, reused) in [(5, false), (3, true), (7, false), (0, false), (5, false)] {
        let exec = worker
            .execute_batch(&format!("batch-results:{answered}"), &items)
            .await;
        assert_eq!(exec.reused, reused, "{answered} results");
        match exec.result {
            Ok(Ok(results)) => assert_eq!(results.len(), 5),
            Err(failure) => {
                assert_eq!(
                    failure,
                    HostFailure::BatchResults {
                        items: 5,
                        results: answered
                    }
                );
                assert_eq!(
                    failure.to_string(),
                    format!(
                        "the component broke the action contract: it answered {answered} results for a batch of 5"
                    )
                );
                assert!(!failure.retriable() && !failure.is_limit());
            }
            other => panic!("{answered} results: {other:?}"),
        }
    }
    assert_eq!(worker.instances(), 4, "a fresh instance after each breach");
}

/// An answer whose strings all point at the same bytes would make the host
/// copy far more than the component's memory: the host lifts at most the
/// execution's memory limit from one answer (16 MiB here), aliases counted.
#[tokio::test]
async fn an_answer_pointing_many_strings_at_the_same_bytes_is_cut_at_the_memory_limit() {
    let engine = rogue();
    let within = run(&engine, "alias:8").await;
    match &within.result {
        Ok(Ok(o)) => assert_eq!(o.messages.len(), 8),
        Ok(Err(f)) => panic!("8 MiB lifted is within the limit: {:?}", f.error),
        Err(h) => panic!("8 MiB lifted is within the limit: {h}"),
    }
    let exec = run(&engine, "alias:40").await;
    match &exec.result {
        Err(HostFailure::Trap(t)) => assert!(t.contains("too much data"), "{t}"),
        Err(h) => panic!("40 MiB lifted from 1: {h}"),
        Ok(answer) => panic!(
            "40 MiB lifted from 1: {} messages",
            answer.as_ref().map_or(0, |o| o.messages.len())
        ),
    }
    still_serves(&engine).await;
}

/// The host-side state a component can make the host hold (header maps,
/// requests, streams: resources of the host's) is bounded too: a component
/// hoarding header maps of 32 KiB is stopped past `Limits::RESOURCES`, where
/// the host would otherwise hold 5,000 of them (160 MiB).
#[tokio::test]
async fn hoarding_the_hosts_resources_is_stopped() {
    let engine = rogue();
    let few = run(&engine, "hoard-fields:10").await;
    match &few.result {
        Ok(Ok(o)) => assert_eq!(o.messages, ["327680 bytes of headers held"]),
        other => panic!("ten header maps: {other:?}"),
    }
    let exec = run(&engine, "hoard-fields:5000").await;
    match &exec.result {
        Err(HostFailure::Trap(t)) => assert!(t.contains("resource table"), "{t}"),
        other => panic!("5,000 header maps held: {other:?}"),
    }
    still_serves(&engine).await;
}
