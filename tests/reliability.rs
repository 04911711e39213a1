//! Delivery under faults and crashes: every event reaches the double once
//! (counted by event id, Meta-style deduplication aside), the right ones are
//! dead-lettered, a killed run resumes, and bad input never crashes a run.

use crate::common::*;
use graph_double::{Chaos, ChaosKind, DoubleConfig, Fault, GraphDouble, ReceivedEvent};
use host_harness::outbox::{Outbox, State};
use host_harness::report::{FiringReport, Report};
use host_harness::report_file::ReportFile;
use host_harness::retry::RetryPolicy;
use host_harness::run::{FiringSink, RunOptions, WINDOW, WINDOW_BYTES, run, run_to};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// Writes a Purchase workflow, `n` contacts and `n` firings; firings whose
/// index is in `broken` lack a currency (Meta would refuse them).
fn write_inputs(dir: &Path, n: usize, broken: impl Fn(usize) -> bool) {
    std::fs::write(
        dir.join("workflow.toml"),
        format!(
            "name = \"Purchases\"\ntrigger = \"order_placed\"\n[[actions]]\n[actions.settings]\npixel_id = \"1234567890\"\naccess_token = \"{TOKEN}\"\nevent = \"Purchase\"\naction_source = \"website\"\n"
        ),
    )
    .unwrap();
    let mut contacts = String::from("id,email,phone,country\n");
    let mut firings = String::new();
    let at = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    for i in 0..n {
        writeln!(
            contacts,
            "c{i},user{i}@example.com,(650) 555-{:04},US",
            i % 10_000
        )
        .unwrap();
        let currency = if broken(i) {
            String::new()
        } else {
            ",\"currency\":\"USD\"".into()
        };
        writeln!(
            firings,
            r#"{{"id":"f{i}","type":"order_placed","contact_id":"c{i}","occurred_at":"{at}","data":{{"order":{{"id":"o{i}","total":{i}{currency}}},"page":{{"url":"https://s.example/"}},"client":{{"user_agent":"UA"}}}}}}"#
        )
        .unwrap();
    }
    std::fs::write(dir.join("contacts.csv"), contacts).unwrap();
    std::fs::write(dir.join("firings.jsonl"), firings).unwrap();
}

fn options(dir: &Path, double: &GraphDouble) -> RunOptions {
    RunOptions {
        workflows: vec![dir.join("workflow.toml")],
        contacts: dir.join("contacts.csv"),
        firings: dir.join("firings.jsonl"),
        graph_url: Some(double.url().parse().unwrap()),
        concurrency: 16,
        dry_run: false,
        record_requests: false,
        outbox: Some(dir.join("outbox.db")),
        retry: RetryPolicy {
            max_attempts: 15,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(20),
            rate_limit_base: Duration::from_millis(3),
        },
        batch_size: 1,
        batch_bytes: host_harness::run::DEFAULT_BATCH_BYTES,
        reuse: action_host::Reuse::default(),
        threads: 1,
    }
}

/// A double injecting `chaos`.
async fn double_with(chaos: Chaos) -> GraphDouble {
    double_with_config(DoubleConfig {
        chaos,
        ..DoubleConfig::default()
    })
    .await
}

/// A double that takes `latency` to answer every request, and otherwise
/// behaves.
async fn double_answering_after(latency: Duration) -> GraphDouble {
    double_with(Chaos {
        rate: 0.0,
        kinds: Vec::new(),
        latency,
        seed: 1,
    })
    .await
}

/// The message of the first execution of `report` that failed, to say why
/// a count is not what a test expects.
fn first_error(report: &Report) -> Option<&str> {
    report
        .firings
        .iter()
        .flat_map(|f| &f.executions)
        .find_map(|e| e.error.as_ref().map(|e| e.message.as_str()))
}

/// Per event id, how many receipts the double kept as first (not
/// deduplicated) and in all.
fn receipts(received: &[ReceivedEvent]) -> HashMap<String, (usize, usize)> {
    let mut out: HashMap<String, (usize, usize)> = HashMap::new();
    for r in received {
        let e = out.entry(r.event_id.clone().unwrap()).or_default();
        e.1 += 1;
        if !r.deduplicated {
            e.0 += 1;
        }
    }
    out
}

/// Every event the double received (order `o<i>`, from firing `f<i>`) has
/// its execution in the outbox: nothing was sent unrecorded.
fn assert_every_receipt_recorded<V, E>(
    at_double: &HashMap<String, V>,
    recorded: &HashMap<String, E>,
) {
    for id in at_double.keys() {
        let i: usize = id.trim_start_matches("o").parse().unwrap();
        assert!(
            recorded
                .keys()
                .any(|k| k.starts_with(&format!("f{i}\u{1f}"))),
            "{id} was sent unrecorded"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_firings_through_twenty_percent_faults_are_each_delivered_once() {
    ten_thousand_firings_through_faults(action_host::Reuse::default(), 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_firings_through_faults_in_fresh_instances_are_each_delivered_once() {
    ten_thousand_firings_through_faults(action_host::Reuse::NEVER, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_firings_through_faults_on_three_threads_are_each_delivered_once() {
    ten_thousand_firings_through_faults(action_host::Reuse::default(), 3).await;
}

async fn ten_thousand_firings_through_faults(reuse: action_host::Reuse, threads: usize) {
    let chaos = Chaos {
        rate: 0.2,
        kinds: vec![
            ChaosKind::ServerError,
            ChaosKind::Unavailable,
            ChaosKind::RateLimited,
            ChaosKind::Drop,
            ChaosKind::Cut,
        ],
        latency: Duration::ZERO,
        seed: 42,
    };
    let double = double_with(chaos).await;
    let dir = tempfile::tempdir().unwrap();
    let broken = |i: usize| i % 200 == 7;
    write_inputs(dir.path(), 10_000, broken);
    let options = RunOptions {
        reuse,
        threads,
        ..options(dir.path(), &double)
    };
    let report = run(engine(), &options, &|_, _| {}).await.unwrap();

    assert_eq!(report.totals.accepted, 9_950, "{:?}", report.totals);
    for (i, f) in report.firings.iter().enumerate() {
        assert!(
            f.source.ends_with(&format!(":{}", i + 1)),
            "{i}: {}",
            f.source
        );
    }
    assert_eq!(report.totals.invalid, 50);
    assert!(
        report.firings.iter().any(|f| f.executions[0].attempts > 1),
        "faults were retried"
    );
    let counts = Outbox::open_shared(&dir.path().join("outbox.db"))
        .unwrap()
        .counts()
        .unwrap();
    assert_eq!(
        (counts["delivered"], counts["dead"], counts["pending"]),
        (9_950, 50, 0)
    );

    let at_double = receipts(&double.received());
    assert_eq!(
        at_double.len(),
        9_950,
        "every good event reached the double"
    );
    for (id, (first, _)) in &at_double {
        assert_eq!(*first, 1, "event {id} was kept {first} times");
    }
    let cut_resends: usize = at_double.values().map(|(_, all)| all - 1).sum();
    assert!(
        cut_resends > 0,
        "answers cut after acceptance were resent and deduplicated"
    );
    for i in (0..10_000).filter(|i| broken(*i)) {
        assert!(
            !at_double.contains_key(&format!("o{i}")),
            "a refused event was sent"
        );
    }
    let faults = double.requests().iter().filter(|r| r.status != 200).count();
    assert!(faults > 1_500, "the double injected {faults} faults");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_refusals_are_dead_lettered_with_metas_message() {
    let chaos = Chaos {
        rate: 1.0,
        kinds: vec![ChaosKind::Refused],
        latency: Duration::ZERO,
        seed: 1,
    };
    let double = double_with(chaos).await;
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path(), 5, |_| false);
    let report = run(engine(), &options(dir.path(), &double), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(report.totals.rejected, 5);
    assert!(
        report.firings.iter().all(|f| f.executions[0].attempts == 1),
        "a permanent refusal is not retried"
    );
    let outbox = Outbox::open_shared(&dir.path().join("outbox.db")).unwrap();
    let dead = outbox.list(Some(State::Dead)).unwrap();
    assert_eq!(dead.len(), 5);
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("[code 100/2804050]"),
        "{:?}",
        dead[0]
    );
    assert!(dead[0].fbtrace_id.is_some());

    // Dead letters are not sent again by the next run, until retried.
    let again = run(engine(), &options(dir.path(), &double), &|_, _| {})
        .await
        .unwrap();
    assert!(again.firings.iter().all(|f| f.executions[0].from_outbox));
    assert_eq!(again.totals.rejected, 5, "still counted as refused by Meta");
    assert_eq!(double.requests().len(), 5);
    assert_eq!(outbox.requeue_dead().unwrap(), 5);
    let _ = run(engine(), &options(dir.path(), &double), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(double.requests().len(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_midway_resumes_and_sends_nothing_acknowledged_twice() {
    a_run_killed_midway_resumes(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_on_two_threads_killed_midway_resumes_and_sends_nothing_acknowledged_twice() {
    a_run_killed_midway_resumes(2).await;
}

async fn a_run_killed_midway_resumes(threads: usize) {
    let chaos = Chaos {
        rate: 0.0,
        kinds: vec![],
        latency: Duration::from_millis(3),
        seed: 1,
    };
    let double = double_with(chaos).await;
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path(), 2_000, |_| false);
    let p = |name: &str| dir.path().join(name).display().to_string();
    let args = [
        "run",
        "--workflow",
        &p("workflow.toml"),
        "--contacts",
        &p("contacts.csv"),
        "--triggers",
        &p("firings.jsonl"),
        "--graph-url",
        &double.url(),
        "--concurrency",
        "4",
        "--threads",
        &threads.to_string(),
    ]
    .map(str::to_string);
    let mut child = harness_command()
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it (SIGKILL) once it is well into the run.
    let outbox_path = dir.path().join("firings.jsonl.outbox.db");
    let started = std::time::Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if double.received().len() >= 300 || started.elapsed() > Duration::from_secs(30) {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = double.received().len();
    assert!(
        before < 2_000,
        "the run was killed before the end ({before} received)"
    );
    let counts = Outbox::open_shared(&outbox_path).unwrap().counts().unwrap();
    assert!(
        counts["pending"] > 0 && counts["delivered"] > 0,
        "{counts:?}"
    );

    let out = tokio::task::spawn_blocking(move || harness_command().args(&args).output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let counts = Outbox::open_shared(&outbox_path).unwrap().counts().unwrap();
    assert_eq!((counts["delivered"], counts["pending"]), (2_000, 0));

    let at_double = receipts(&double.received());
    assert_eq!(at_double.len(), 2_000, "nothing was lost");
    assert!(at_double.values().all(|(first, _)| *first == 1));
    let resent: usize = at_double.values().map(|(_, all)| all - 1).sum();
    // Only what was in flight when the run died (its answer never recorded)
    // can go twice, and Meta deduplicates it by event id.
    assert!(resent <= 4, "{resent} events were sent again");
}

#[test]
fn a_corpus_of_bad_input_gets_clear_errors_and_no_crash() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("w.toml"),
        format!("trigger = \"order_placed\"\n[[actions]]\n[actions.settings]\npixel_id = \"1\"\naccess_token = \"{TOKEN}\"\nevent = \"Lead\"\naction_source = \"email\"\n"),
    )
    .unwrap();
    let mut contacts =
        b"id,email,first_name\nc1,a@example.com,Ada\nc2,\xff\xfe@example.com,Bad\n".to_vec();
    contacts
        .extend_from_slice(format!("c3,{}@example.com,Huge\n", "x".repeat(2_000_000)).as_bytes());
    std::fs::write(d.join("bad-utf8.csv"), &contacts).unwrap();
    std::fs::write(
        d.join("contacts.csv"),
        format!(
            "id,email,first_name\nc1,a@example.com,Ada\n\"c2,unclosed\nc3,{}@x.com,Huge\n",
            "y".repeat(1_000_000)
        ),
    )
    .unwrap();
    let at = chrono::Utc::now().to_rfc3339();
    let big = "z".repeat(10 << 20);
    let lines = [
        format!(r#"{{"id":"ok","type":"order_placed","contact_id":"c1","occurred_at":"{at}"}}"#),
        "not json at all".to_string(),
        r#"{"id": 7, "type": ["order_placed"], "contact_id": "c1", "occurred_at": "now"}"#
            .to_string(),
        format!(
            r#"{{"id":"big","type":"order_placed","contact_id":"c1","occurred_at":"{at}","data":{{"blob":"{big}"}}}}"#
        ),
        format!(
            r#"{{"id":"deep","type":"order_placed","contact_id":"c1","occurred_at":"{at}","data":{}}}"#,
            "[".repeat(200) + &"]".repeat(200)
        ),
        "[1,2,3]".to_string(),
    ];
    let mut firings = lines.join("\n").into_bytes();
    firings.extend_from_slice(b"\n{\"id\":\"\xc3\x28\"}\n");
    std::fs::write(d.join("firings.jsonl"), firings).unwrap();

    for contacts_file in ["bad-utf8.csv", "contacts.csv"] {
        let p = |name: &str| d.join(name).display().to_string();
        let out = harness_command()
            .args([
                "run",
                "--workflow",
                &p("w.toml"),
                "--contacts",
                &p(contacts_file),
                "--triggers",
                &p("firings.jsonl"),
                "--no-outbox",
            ])
            .args(["--graph-url", "http://127.0.0.1:9", "--max-attempts", "1"])
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "a clean failure, not a crash:\n{text}"
        );
        if contacts_file == "bad-utf8.csv" {
            assert!(
                text.contains("bad-utf8.csv:3: field `email`: not UTF-8 text")
                    && text.contains("the encoding its bytes look like"),
                "{text}"
            );
        } else {
            assert!(text.contains("contacts.csv"), "{text}");
        }
        assert!(text.contains("firings.jsonl:2: not valid JSON"), "{text}");
        assert!(text.contains("firings.jsonl:3: field `type`"), "{text}");
        assert!(
            text.contains("firings.jsonl:4: field `data`: the trigger's data is 10.5 MB"),
            "{text}"
        );
        assert!(
            text.contains("firings.jsonl:6: a firing must be a JSON object"),
            "{text}"
        );
        assert!(
            text.contains("firings.jsonl:5: nested more than 128 levels deep at line 1"),
            "{text}"
        );
        assert!(
            text.contains("firings.jsonl:7: the line is not valid UTF-8 text"),
            "{text}"
        );
        assert!(
            text.contains("firings.jsonl:1 firing ok → Lead (transport)"),
            "the good firing still ran:\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_carry_many_events_per_request_and_set_aside_the_bad_ones() {
    let double = double().await;
    let dir = tempfile::tempdir().unwrap();
    let broken = |i: usize| i % 500 == 3;
    write_inputs(dir.path(), 2_500, broken);
    let options = RunOptions {
        batch_size: 1000,
        ..options(dir.path(), &double)
    };
    let report = run(engine(), &options, &|_, _| {}).await.unwrap();
    assert_eq!(
        (report.totals.accepted, report.totals.invalid),
        (2_495, 5),
        "{:?}",
        report.totals
    );
    let requests = double.requests();
    assert_eq!(
        requests.len(),
        3,
        "1,000 + 1,000 + 500 firings, the 5 broken ones set aside before sending"
    );
    assert_eq!(requests.iter().map(|r| r.events).sum::<usize>(), 2_495);
    assert!(
        receipts(&double.received())
            .values()
            .all(|(first, all)| (*first, *all) == (1, 1))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_meta_refuses_is_split_until_the_event_at_fault_is_alone() {
    let double = double().await;
    double.inject(Fault {
        status: 400,
        code: Some(100),
        subcode: None,
        is_transient: false,
        message: Some("(#100) Invalid parameter".into()),
        times: 1,
        when_event_id: Some("o123".into()),
        when_user_data: None,
    });
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path(), 1_000, |_| false);
    let options = RunOptions {
        batch_size: 1000,
        ..options(dir.path(), &double)
    };
    let report = run(engine(), &options, &|_, _| {}).await.unwrap();
    assert_eq!(
        (report.totals.accepted, report.totals.rejected),
        (999, 1),
        "{:?}",
        report.totals
    );
    let at_fault = report
        .firings
        .iter()
        .find(|f| f.status != host_harness::report::Status::Accepted)
        .unwrap();
    assert_eq!(at_fault.firing_id.as_deref(), Some("f123"));
    let dead = Outbox::open_shared(&dir.path().join("outbox.db"))
        .unwrap()
        .list(Some(State::Dead))
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].event_id.as_deref(), Some("o123"));
    let requests = double.requests().len();
    assert!(
        requests <= 21,
        "halving 1,000 events isolates one in about 2 log2(1000) requests, not {requests}"
    );
    assert_eq!(double.received().len(), 999);
}

/// Meta refuses an event whose click id it reads as malformed (2804001)
/// and takes it without: the event goes again without its `fbc`, alone or
/// after its batch is split down to it, and every other event keeps its
/// own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_whose_click_id_meta_refuses_is_delivered_without_it() {
    for batch_size in [1, 100] {
        let double = double().await;
        double.inject(Fault {
            status: 400,
            code: Some(100),
            subcode: Some(2804001),
            is_transient: false,
            message: Some("Invalid parameter".into()),
            times: 1,
            when_event_id: Some("o7".into()),
            when_user_data: Some("fbc".into()),
        });
        let dir = tempfile::tempdir().unwrap();
        write_inputs(dir.path(), 100, |_| false);
        let firings = dir.path().join("firings.jsonl");
        let clicked = std::fs::read_to_string(&firings)
            .unwrap()
            .replace("https://s.example/", "https://s.example/?fbclid=IwAbC");
        std::fs::write(&firings, clicked).unwrap();
        let options = RunOptions {
            batch_size,
            ..options(dir.path(), &double)
        };
        let report = run(engine(), &options, &|_, _| {}).await.unwrap();
        assert_eq!(
            report.totals.accepted, 100,
            "batch size {batch_size}: {:?}",
            report.totals
        );
        let received = double.received();
        assert_eq!(received.len(), 100);
        for r in &received {
            let has_fbc = r.event["user_data"].get("fbc").is_some();
            assert_eq!(
                has_fbc,
                r.event_id.as_deref() != Some("o7"),
                "batch size {batch_size}: {:?}",
                r.event_id
            );
        }
        let at_fault = report
            .firings
            .iter()
            .find(|f| f.firing_id.as_deref() == Some("f7"))
            .unwrap();
        assert!(
            at_fault.executions[0]
                .warnings
                .iter()
                .any(|w| w.field == "user_data.fbc" && w.message.contains("2804001")),
            "{:?}",
            at_fault.executions[0].warnings
        );
    }
}

/// A Purchase workflow over `n` contacts and firings whose orders carry
/// `items` line items each.
fn write_large_orders(dir: &Path, n: usize, items: usize) {
    write_inputs(dir, n, |_| false);
    let at = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let mut firings = String::new();
    for i in 0..n {
        let lines: Vec<String> = (0..items)
            .map(|k| {
                format!(
                    r#"{{"sku":"SKU-{i}-{k}","name":"Item number {k} of order {i}","quantity":{},"price":{}.99,"category":"garden/tools"}}"#,
                    k % 3 + 1,
                    k + 5
                )
            })
            .collect();
        writeln!(
            firings,
            r#"{{"id":"f{i}","type":"order_placed","contact_id":"c{i}","occurred_at":"{at}","data":{{"order":{{"id":"o{i}","total":{i},"currency":"USD","items":[{}]}},"page":{{"url":"https://s.example/"}},"client":{{"user_agent":"UA"}}}}}}"#,
            lines.join(",")
        )
        .unwrap();
    }
    std::fs::write(dir.join("firings.jsonl"), firings).unwrap();
}

/// Large batches never turn a host limit into lost events: batches are
/// sized by bytes, and a batch that still fails on a host limit is split
/// until its events go through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_past_a_host_limit_is_split_and_nothing_is_dead_lettered() {
    let double = double().await;
    let dir = tempfile::tempdir().unwrap();
    // 200 line items an order: a 1,000-event batch of them is past the
    // host's limits (its request body alone is past 8 MiB).
    write_large_orders(dir.path(), 1_000, 200);
    for (batch_bytes, reuse) in [
        (
            host_harness::run::DEFAULT_BATCH_BYTES,
            action_host::Reuse::default(),
        ),
        (usize::MAX, action_host::Reuse::default()),
        (usize::MAX, action_host::Reuse::NEVER),
    ] {
        double.reset();
        let _ = std::fs::remove_file(dir.path().join("outbox.db"));
        let options = RunOptions {
            batch_size: 1000,
            batch_bytes,
            reuse,
            ..options(dir.path(), &double)
        };
        let report = run(engine(), &options, &|_, _| {}).await.unwrap();
        assert_eq!(
            (report.totals.accepted, report.totals.errors),
            (1_000, 0),
            "batch_bytes {batch_bytes}: {:?}",
            report.totals
        );
        let at_double = receipts(&double.received());
        assert_eq!(at_double.len(), 1_000);
        let counts = Outbox::open_shared(&dir.path().join("outbox.db"))
            .unwrap()
            .counts()
            .unwrap();
        assert_eq!((counts["delivered"], counts["dead"]), (1_000, 0));
        if batch_bytes == usize::MAX {
            assert!(
                double.requests().len() > 1,
                "one 1,000-event batch of 200 items each is past a host limit: it was split"
            );
        }
    }
}

/// Under load, a batch is charged only its own CPU time: 16,000 Purchases of
/// 20 items, 1,000 per request, 16 at once, are all delivered, as they are
/// one at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_batches_are_not_charged_for_each_others_cpu_time() {
    let double = double().await;
    let dir = tempfile::tempdir().unwrap();
    write_large_orders(dir.path(), 16_000, 20);
    let options = RunOptions {
        batch_size: 1000,
        concurrency: 16,
        ..options(dir.path(), &double)
    };
    let report = run(engine(), &options, &|_, _| {}).await.unwrap();
    assert_eq!(
        (
            report.totals.accepted,
            report.totals.errors,
            report.totals.rejected
        ),
        (16_000, 0, 0),
        "{:?}",
        report.totals
    );
}

fn workflow_file(dir: &Path, actions: &[(&str, &str)]) {
    let mut text = String::from("name = \"Orders\"\ntrigger = \"order_placed\"\n");
    for (event, extra) in actions {
        write!(
            text,
            "[[actions]]\n[actions.settings]\npixel_id = \"1234567890\"\naccess_token = \"{TOKEN}\"\nevent = \"{event}\"\naction_source = \"website\"\n{extra}"
        )
        .unwrap();
    }
    std::fs::write(dir.join("workflow.toml"), text).unwrap();
}

/// Inserting an action before one that already ran: the new action's
/// executions are sent, never reported from the other's outbox entries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inserted_action_is_sent_not_mistaken_for_the_one_it_displaced() {
    let double = double().await;
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path(), 20, |_| false);
    workflow_file(dir.path(), &[("Purchase", "")]);
    let first = run(engine(), &options(dir.path(), &double), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(first.totals.accepted, 20);

    workflow_file(dir.path(), &[("InitiateCheckout", ""), ("Purchase", "")]);
    let second = run(engine(), &options(dir.path(), &double), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(second.totals.accepted, 40, "{:?}", second.totals);
    for f in &second.firings {
        let by_event: HashMap<_, _> = f
            .executions
            .iter()
            .map(|e| (e.event_name.clone().unwrap(), e.from_outbox))
            .collect();
        assert!(!by_event["InitiateCheckout"], "the new action was sent");
        assert!(by_event["Purchase"], "the old one was not sent again");
    }
    let checkouts = double
        .received()
        .iter()
        .filter(|e| e.event_name == "InitiateCheckout")
        .count();
    assert_eq!(checkouts, 20, "every new execution reached Meta");
}

/// A firing whose data changed since a run delivered it is a new
/// execution: sent again, never reported as the earlier one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execution_whose_inputs_changed_is_sent_again() {
    let double = double().await;
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path(), 3, |_| false);
    let first = run(engine(), &options(dir.path(), &double), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(first.totals.accepted, 3);
    let firings = std::fs::read_to_string(dir.path().join("firings.jsonl")).unwrap();
    std::fs::write(
        dir.path().join("firings.jsonl"),
        firings.replace(r#""total":1,"#, r#""total":1001,"#),
    )
    .unwrap();
    let second = run(engine(), &options(dir.path(), &double), &|_, _| {})
        .await
        .unwrap();
    let from_outbox: Vec<bool> = second
        .firings
        .iter()
        .map(|f| f.executions[0].from_outbox)
        .collect();
    assert_eq!(
        from_outbox,
        [true, false, true],
        "only the changed firing was sent"
    );
    let values: Vec<f64> = double
        .received()
        .iter()
        .filter(|e| e.event_id.as_deref() == Some("o1"))
        .map(|e| e.event["custom_data"]["value"].as_f64().unwrap())
        .collect();
    assert_eq!(values, [1.0, 1001.0]);
}

/// Two firings with one id in a file: the second is an input error naming
/// both lines, and is never reported as sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_firing_id_is_an_input_error_naming_both_lines() {
    let double = double().await;
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path(), 3, |_| false);
    let firings = std::fs::read_to_string(dir.path().join("firings.jsonl")).unwrap();
    let third = firings
        .lines()
        .nth(2)
        .unwrap()
        .replace(r#""id":"f2""#, r#""id":"f0""#);
    let lines: Vec<&str> = firings.lines().take(2).chain([third.as_str()]).collect();
    std::fs::write(dir.path().join("firings.jsonl"), lines.join("\n")).unwrap();
    let report = run(engine(), &options(dir.path(), &double), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(report.totals.accepted, 2);
    let repeated = &report.firings[2];
    assert!(repeated.executions.is_empty());
    let error = repeated.error.as_ref().unwrap().to_string();
    assert!(
        error.ends_with(
            "firings.jsonl:3: field `id`: the firing id `f0` is already used on line 1; each firing needs its own id (this line was not run)"
        ),
        "{error}"
    );
    assert!(!report.succeeded());
    assert_eq!(double.received().len(), 2);
}

/// An outbox that cannot be written (a full disk, simulated by SQLite
/// refusing writes after 50 results) ends the run with a report and a
/// non-zero exit; the next run delivers the rest and nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbox_that_cannot_be_written_stops_the_run_with_its_report_and_loses_nothing() {
    let double = double().await;
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path(), 300, |_| false);
    let outbox = dir.path().join("firings.jsonl.outbox.db");
    drop(Outbox::open(&outbox).unwrap());
    let conn = rusqlite::Connection::open(&outbox).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER full BEFORE UPDATE OF state ON executions
         WHEN (SELECT COUNT(*) FROM executions WHERE state = 'delivered') >= 50
         BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
    )
    .unwrap();
    drop(conn);
    let p = |name: &str| dir.path().join(name).display().to_string();
    let args: Vec<String> = [
        "run",
        "--workflow",
        &p("workflow.toml"),
        "--contacts",
        &p("contacts.csv"),
        "--triggers",
        &p("firings.jsonl"),
        "--graph-url",
        &double.url(),
        "--report",
        &p("report.json"),
        // Two stretches: both stop sending, and the report has both.
        "--threads",
        "2",
    ]
    .map(str::to_string)
    .to_vec();
    let run_cli = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || harness_command().args(&args).output().unwrap())
    };
    let out = run_cli(args.clone()).await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("the outbox could not be written") && text.contains("disk is full"),
        "{text}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(
        report["firings"].as_array().unwrap().len(),
        300,
        "every firing is accounted for"
    );
    let not_sent = report["totals"]["failed"].as_u64().unwrap();
    assert!(not_sent > 0, "the run stopped sending");

    let conn = rusqlite::Connection::open(&outbox).unwrap();
    conn.execute_batch("DROP TRIGGER full").unwrap();
    drop(conn);
    let again = run_cli(args).await.unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    let at_double = receipts(&double.received());
    assert_eq!(at_double.len(), 300, "nothing was lost");
    assert!(at_double.values().all(|(first, _)| *first == 1));
}

/// The outbox fails while a long run admits its later firings (no room for
/// a new entry past 1,500): nothing unrecorded is sent, the report still
/// has every firing, and the next run delivers the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbox_full_before_the_last_firings_are_admitted_sends_none_of_them() {
    an_outbox_full_before_the_last_firings_are_admitted(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbox_full_on_two_threads_sends_none_of_the_firings_it_could_not_admit() {
    an_outbox_full_before_the_last_firings_are_admitted(2).await;
}

async fn an_outbox_full_before_the_last_firings_are_admitted(threads: usize) {
    let double = double().await;
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path(), 3_000, |_| false);
    let path = dir.path().join("outbox.db");
    drop(Outbox::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER full BEFORE INSERT ON executions
         WHEN (SELECT COUNT(*) FROM executions) >= 1500
         BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
    )
    .unwrap();
    drop(conn);
    let options = RunOptions {
        threads,
        ..options(dir.path(), &double)
    };
    let report = run(engine(), &options, &|_, _| {}).await.unwrap();
    assert_eq!(report.firings.len(), 3_000, "every firing is accounted for");
    assert!(!report.succeeded());
    assert!(
        report
            .input_errors
            .iter()
            .any(|e| e.message.contains("the outbox could not be written")),
        "{:?}",
        report.input_errors
    );
    let recorded = Outbox::open_shared(&path).unwrap().all().unwrap();
    // Only what the outbox holds went out.
    let at_double = receipts(&double.received());
    assert!(at_double.len() <= recorded.len() && recorded.len() < 3_000);
    assert_every_receipt_recorded(&at_double, &recorded);
    assert_eq!(report.totals.accepted + report.totals.failed, 3_000);

    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("DROP TRIGGER full").unwrap();
    drop(conn);
    let again = run(engine(), &options, &|_, _| {}).await.unwrap();
    assert!(again.succeeded(), "{}", again.summary(5));
    let at_double = receipts(&double.received());
    assert_eq!(at_double.len(), 3_000, "nothing was lost");
    assert!(at_double.values().all(|(first, _)| *first == 1));
}

/// Where a run's firings go, failing at the `fail_at`th firing of the
/// first part made: a report that cannot be written partway through a
/// later stretch.
struct FailingSink {
    parts: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    fail_at: Option<usize>,
    taken: usize,
}

impl FiringSink for FailingSink {
    type Part = FailingSink;

    fn firing(&mut self, _: &Report, _: FiringReport) -> anyhow::Result<()> {
        self.taken += 1;
        anyhow::ensure!(
            Some(self.taken) != self.fail_at,
            "the report's disk is full"
        );
        Ok(())
    }

    fn part(&self) -> anyhow::Result<FailingSink> {
        let made = self.parts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(FailingSink {
            parts: self.parts.clone(),
            fail_at: (made == 0).then_some(50),
            taken: 0,
        })
    }

    fn append(&mut self, _: &Report, part: FailingSink) -> anyhow::Result<()> {
        self.taken += part.taken;
        Ok(())
    }
}

/// A stretch that fails on one of three threads (its part of the report
/// cannot be written) ends the run with the error: the other threads take
/// no stretch more, and what was sent is in the outbox, so that the next
/// run sends the rest and Meta has each event once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stretch_failing_on_one_thread_stops_the_others_and_loses_nothing() {
    let n = 6_000;
    let double = double().await;
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path(), n, |_| false);
    let options = RunOptions {
        threads: 3,
        ..options(dir.path(), &double)
    };
    let mut sink = FailingSink {
        parts: Default::default(),
        fail_at: None,
        taken: 0,
    };
    let error = run_to(engine(), &options, &|_, _| {}, &mut sink)
        .await
        .expect_err("the run fails with its report");
    assert!(
        format!("{error:#}").contains("the report's disk is full"),
        "{error:#}"
    );
    assert!(
        sink.parts.load(std::sync::atomic::Ordering::SeqCst) > 3,
        "the file was cut into more stretches than threads"
    );

    let recorded = Outbox::open_shared(options.outbox.as_ref().unwrap())
        .unwrap()
        .all()
        .unwrap();
    assert!(
        recorded.len() < n,
        "the stretches not yet taken were left: {} of {n} admitted",
        recorded.len()
    );
    assert_every_receipt_recorded(&receipts(&double.received()), &recorded);

    let sent = double.requests().len();
    let again = run(engine(), &options, &|_, _| {}).await.unwrap();
    assert!(again.succeeded(), "{}", again.summary(5));
    let at_double = receipts(&double.received());
    assert_eq!(at_double.len(), n, "nothing was lost");
    assert!(at_double.values().all(|(first, _)| *first == 1));
    // Only the executions in flight on the failing thread when it stopped
    // can go twice, as after a kill.
    assert!(
        double.requests().len() <= n + options.concurrency,
        "{sent} then {}",
        double.requests().len()
    );
}

/// Two runs over one outbox at once: the second refuses, naming the first
/// one's pid, and nothing is sent twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_over_one_outbox_never_send_twice() {
    let double = double_with(Chaos {
        latency: Duration::from_millis(5),
        ..Chaos::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path(), 200, |_| false);
    let p = |name: &str| dir.path().join(name).display().to_string();
    let args: Vec<String> = [
        "run",
        "--workflow",
        &p("workflow.toml"),
        "--contacts",
        &p("contacts.csv"),
        "--triggers",
        &p("firings.jsonl"),
        "--graph-url",
        &double.url(),
        "--concurrency",
        "2",
        // Executions on two threads: the outbox and its lock hold there too.
        "--threads",
        "2",
    ]
    .map(str::to_string)
    .to_vec();
    let spawn = || {
        harness_command()
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = spawn();
    let started = std::time::Instant::now();
    while double.received().is_empty() && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let second = spawn();
    let second = tokio::task::spawn_blocking(move || spawn_output(second))
        .await
        .unwrap();
    let first_pid = first.id();
    let first = tokio::task::spawn_blocking(move || spawn_output(first))
        .await
        .unwrap();
    assert!(first.status.success());
    assert_eq!(second.status.code(), Some(2));
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(
        said.contains(&format!("is in use by another run (pid {first_pid})")),
        "{said}"
    );
    assert_eq!(double.requests().len(), 200, "every event was sent once");
    assert_eq!(double.received().len(), 200);
}

fn spawn_output(child: std::process::Child) -> std::process::Output {
    child.wait_with_output().unwrap()
}

/// When the server quotes the token back (Meta does for a malformed one),
/// it appears nowhere: not on the console, in the report, the outbox, or
/// the double's own records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_quoted_back_by_the_server_never_leaks() {
    let double = double().await;
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path(), 3, |_| false);
    let secret = "EAABsecretTOKENquotedBack42";
    let workflow = std::fs::read_to_string(dir.path().join("workflow.toml"))
        .unwrap()
        .replace(TOKEN, "${LEAKY_TOKEN}");
    std::fs::write(dir.path().join("workflow.toml"), workflow).unwrap();
    let p = |name: &str| dir.path().join(name).display().to_string();
    let out = harness_command()
        .args([
            "run",
            "--workflow",
            &p("workflow.toml"),
            "--contacts",
            &p("contacts.csv"),
            "--triggers",
            &p("firings.jsonl"),
            "--graph-url",
            &double.url(),
            "--report",
            &p("report.json"),
            "--record-requests",
        ])
        .env("LEAKY_TOKEN", secret)
        .output()
        .unwrap();
    let console = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{console}");
    assert!(
        console.contains("Malformed access token [redacted]"),
        "{console}"
    );
    let answered = double.requests();
    assert!(!answered.is_empty());
    let report = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
    let outbox = Outbox::open_shared(&dir.path().join("firings.jsonl.outbox.db"))
        .unwrap()
        .list(None)
        .unwrap();
    let kept = format!(
        "{}{}",
        serde_json::to_string(&outbox).unwrap(),
        serde_json::to_string(&answered).unwrap()
    );
    for (place, text) in [
        ("console", &console),
        ("report", &report),
        ("outbox and double", &kept),
    ] {
        assert!(
            !text.contains(secret),
            "the token leaked to the {place}: {text}"
        );
    }
    assert!(report.contains("[redacted]"));
}

/// Reused instances hold slots of the engine's pool: however many actions a
/// run has, the warm workers it keeps idle stay within the pool, so twelve
/// actions at concurrency 2 all deliver.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_actions_at_low_concurrency_stay_within_the_instance_pool() {
    many_actions_at_low_concurrency(1).await;
}

/// Two stretches share one engine's instance pool, each with its share of
/// the concurrency.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_actions_on_two_threads_stay_within_the_instance_pool() {
    many_actions_at_low_concurrency(2).await;
}

async fn many_actions_at_low_concurrency(threads: usize) {
    let double = double().await;
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path(), 30, |_| false);
    let events: Vec<String> = (0..12).map(|i| format!("Custom{i}")).collect();
    let actions: Vec<(&str, &str)> = events.iter().map(|e| (e.as_str(), "")).collect();
    workflow_file(dir.path(), &actions);
    let engine = std::sync::Arc::new(
        action_host::ActionEngine::new(
            host_harness::component::BUNDLED_COMPONENT,
            action_host::Limits {
                max_concurrency: 2,
                ..Default::default()
            },
        )
        .unwrap(),
    );
    let options = RunOptions {
        concurrency: 2,
        threads,
        ..options(dir.path(), &double)
    };
    let report = run(engine, &options, &|_, _| {}).await.unwrap();
    assert_eq!(
        (report.totals.accepted, report.totals.errors),
        (360, 0),
        "{:?}: {:?}",
        report.totals,
        first_error(&report)
    );
}

/// A run far longer than the firings it holds at once (20,000 firings,
/// more than twice its window), with executions finishing out of order
/// (retries of injected server errors): the report, written as the run
/// goes, has every line in file order, a repeated id is caught windows
/// apart, every event reaches the double once, and a second run over the
/// same outbox sends nothing again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_longer_than_its_window_reports_every_firing_in_file_order() {
    a_run_longer_than_its_window(1).await;
}

/// Three threads, each taking the next of a score of stretches of the file
/// once done with one: the report is still in file order, and an id
/// repeated in a later stretch is still refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_on_three_threads_reports_every_firing_in_file_order() {
    a_run_longer_than_its_window(3).await;
}

/// Firings whose trigger data are large are held by their bytes as well as
/// their count: 100 firings of 0.9 MB each (90 MB) are read about 75 at a
/// time (64 MiB), where the count alone would have let all of them in
/// (every firing's executions are in the outbox before any of them runs,
/// so the outbox shows how far the run has read while the double holds its
/// answers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_holds_large_firings_by_their_bytes() {
    let n = 100;
    let pad = 900_000;
    let double = double_answering_after(Duration::from_secs(1)).await;
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path(), n, |_| false);
    let path = dir.path().join("firings.jsonl");
    let notes = format!(r#""notes":"{}","total""#, "x".repeat(pad));
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(r#""total""#, &notes);
    std::fs::write(&path, text).unwrap();
    let options = RunOptions {
        threads: 1,
        ..options(dir.path(), &double)
    };
    // What the run has read once it stops reading: nothing settles while
    // the double holds its first answers.
    let outbox = options.outbox.clone().unwrap();
    let admitted = || {
        Outbox::open_shared(&outbox)
            .and_then(|o| o.counts())
            .map_or(0, |c| c.values().sum::<u64>())
    };
    let watch = async {
        let mut seen = (0, std::time::Instant::now());
        while seen.0 == 0 || seen.1.elapsed() < Duration::from_millis(400) {
            let now = admitted();
            if now != seen.0 {
                seen = (now, std::time::Instant::now());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        seen.0
    };
    let (report, read_at_once) = tokio::join!(run(engine(), &options, &|_, _| {}), watch);
    let most = (WINDOW_BYTES / pad) as u64 + 1;
    assert!(most < n as u64, "the firings hold more than the window");
    assert!(
        read_at_once <= most,
        "{read_at_once} of {n} firings read at once, more than the {most} that {WINDOW_BYTES} bytes hold"
    );
    let report = report.unwrap();
    assert_eq!(
        report.totals.accepted,
        n,
        "{:?}: {:?}",
        report.totals,
        first_error(&report)
    );
    assert_eq!(receipts(&double.received()).len(), n);
}

/// An accepted execution's report keeps its HTTP exchanges only when asked
/// (`--record-requests`), one event per request and in batches; failed
/// ones always keep theirs. Kept exchanges never show the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_executions_keep_their_exchanges_only_when_asked() {
    for batch_size in [1, 10] {
        for record_requests in [false, true] {
            let double = double().await;
            double.inject(Fault {
                status: 400,
                code: Some(100),
                subcode: Some(2804050),
                is_transient: false,
                message: None,
                times: 1,
                when_event_id: Some("o1".into()),
                when_user_data: None,
            });
            let dir = tempfile::tempdir().unwrap();
            write_inputs(dir.path(), 3, |_| false);
            let options = RunOptions {
                batch_size,
                record_requests,
                ..options(dir.path(), &double)
            };
            let report = run(engine(), &options, &|_, _| {}).await.unwrap();
            let executions: Vec<_> = report.firings.iter().flat_map(|f| &f.executions).collect();
            let case = format!("batches of {batch_size}, record_requests {record_requests}");
            assert_eq!(executions.len(), 3, "{case}");
            for e in executions {
                let accepted = e.status == host_harness::report::Status::Accepted;
                assert_eq!(
                    !e.requests.is_empty(),
                    record_requests || !accepted,
                    "{case}: {e:?}"
                );
                let text = serde_json::to_string(&e.requests).unwrap();
                assert!(!text.contains(TOKEN), "{case}: {text}");
            }
        }
    }
}

/// A run asked for more executions at once than its engine's pool holds
/// is refused before it sends anything, not failed an execution at a time.
#[tokio::test]
async fn a_run_past_its_engines_pool_is_refused_at_start() {
    let double = double_with(Chaos::default()).await;
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path(), 3, |_| false);
    let pool = engine().limits().max_concurrency as usize;
    let options = RunOptions {
        concurrency: pool + 1,
        ..options(dir.path(), &double)
    };
    let refused = run(engine(), &options, &|_, _| {}).await.unwrap_err();
    assert!(
        refused.to_string().contains("`Limits::max_concurrency`"),
        "{refused}"
    );
    assert!(double.received().is_empty());
    assert!(!dir.path().join("outbox.db").exists());
}

async fn a_run_longer_than_its_window(threads: usize) {
    let n = 20_000;
    assert!(n > 2 * WINDOW);
    let double = double_with(Chaos {
        rate: 0.05,
        kinds: vec![ChaosKind::ServerError, ChaosKind::Unavailable],
        latency: Duration::ZERO,
        seed: 11,
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let broken = |i: usize| i % 2_999 == 5;
    write_inputs(dir.path(), n, broken);
    let path = dir.path().join("firings.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[15_000] = lines[15_000].replace(r#""id":"f15000""#, r#""id":"f3""#);
    lines[12_000] = lines[12_000].replace(r#""contact_id":"c12000""#, r#""contact_id":"nobody""#);
    lines[19_000] = "{not json".into();
    std::fs::write(&path, lines.join("\n")).unwrap();
    let edited = [12_000, 15_000, 19_000];

    let options = RunOptions {
        threads,
        ..options(dir.path(), &double)
    };
    let report_path = dir.path().join("report.json");
    let mut file = ReportFile::create(&report_path).unwrap();
    let report = run_to(engine(), &options, &|_, _| {}, &mut file)
        .await
        .unwrap();
    assert!(report.firings.is_empty(), "the firings went to the file");
    file.finish(&report).unwrap();

    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    let firings = written["firings"].as_array().unwrap();
    assert_eq!(firings.len(), n);
    for (i, f) in firings.iter().enumerate() {
        let source = f["source"].as_str().unwrap();
        assert!(
            source.ends_with(&format!("firings.jsonl:{}", i + 1)),
            "{i}: {source}"
        );
    }
    let error = |i: usize| firings[i]["error"]["message"].as_str().unwrap().to_string();
    assert!(
        error(15_000).contains("`f3` is already used on line 4"),
        "{}",
        error(15_000)
    );
    assert!(
        error(12_000).contains("no contact with id `nobody`"),
        "{}",
        error(12_000)
    );
    assert!(
        error(19_000).contains("not valid JSON"),
        "{}",
        error(19_000)
    );
    let refused = (0..n).filter(|i| broken(*i) && !edited.contains(i)).count();
    let accepted = n - edited.len() - refused;
    assert_eq!(written["totals"]["firings"], n);
    assert_eq!(written["totals"]["accepted"], accepted);
    // Without a currency the component refuses the event before sending.
    assert_eq!(written["totals"]["invalid"], refused);
    assert_eq!(written["totals"]["errors"], edited.len());

    let at_double = receipts(&double.received());
    assert_eq!(
        at_double.len(),
        accepted,
        "every accepted event reached the double"
    );
    assert!(at_double.values().all(|(first, _)| *first == 1));

    // The same files again: every execution is settled in the outbox.
    let sent = double.requests().len();
    let again = run(
        engine(),
        &RunOptions {
            batch_size: 1000,
            ..options
        },
        &|_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(double.requests().len(), sent, "nothing was sent again");
    assert_eq!(again.firings.len(), n);
    let executions: Vec<_> = again.firings.iter().flat_map(|f| &f.executions).collect();
    assert_eq!(executions.len(), n - edited.len());
    assert!(executions.iter().all(|e| e.from_outbox));
    assert_eq!(again.totals.accepted, accepted);
}

/// A component whose batches answer fewer results than firings (a broken
/// or hostile build) loses none of them: every firing is reported with the
/// breach, none is taken as delivered, and the outbox keeps each one dead,
/// as after a panic, to be requeued once the component is sound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_answered_short_is_reported_for_every_firing_and_kept() {
    let double = double().await;
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path(), 30, |_| false);
    workflow_file(dir.path(), &[("Purchase", "rogue = \"batch-results:7\"\n")]);
    let rogue = rogue_engine();
    let options = RunOptions {
        batch_size: 1000,
        ..options(dir.path(), &double)
    };
    let report = run(rogue.clone(), &options, &|_, _| {}).await.unwrap();
    assert_eq!(
        (report.totals.executions, report.totals.accepted),
        (30, 0),
        "{:?}",
        report.totals
    );
    assert_eq!(report.firings.len(), 30);
    for f in &report.firings {
        let e = &f.executions[0];
        let message = &e.error.as_ref().expect("each one failed").message;
        assert!(
            message.contains(
                "the component broke the action contract: it answered 7 results for a batch of 30"
            ),
            "{message}"
        );
    }
    let outbox = Outbox::open_shared(options.outbox.as_ref().unwrap()).unwrap();
    let counts = outbox.counts().unwrap();
    assert_eq!(
        (counts["delivered"], counts["dead"], counts["pending"]),
        (0, 30, 0)
    );

    // The next run reports them from the outbox as the host's errors, not
    // as refused by Meta.
    let again = run(rogue.clone(), &options, &|_, _| {}).await.unwrap();
    assert!(again.firings.iter().all(|f| f.executions[0].from_outbox));
    assert_eq!(
        (again.totals.errors, again.totals.rejected),
        (30, 0),
        "{:?}",
        again.totals
    );
    assert_eq!(outbox.requeue_dead().unwrap(), 30, "each can be sent again");
}

/// At the highest concurrency the pool has a stack for every execution in
/// flight: 1,100 firings against a double that answers after 300 ms, up to
/// 1,024 at once, are all delivered (wasmtime's default pool of 1,000
/// stacks failed the executions past it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_highest_concurrency_has_room_for_every_execution_in_flight() {
    the_highest_concurrency(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_highest_concurrency_on_two_threads_has_room_for_every_execution_in_flight() {
    the_highest_concurrency(2).await;
}

async fn the_highest_concurrency(threads: usize) {
    let double = double_answering_after(Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path(), 1100, |_| false);
    let limits = action_host::Limits {
        max_concurrency: action_host::Limits::MAX_CONCURRENCY,
        ..action_host::Limits::default()
    };
    let engine = std::sync::Arc::new(
        action_host::ActionEngine::new(host_harness::component::BUNDLED_COMPONENT, limits).unwrap(),
    );
    let options = RunOptions {
        concurrency: action_host::Limits::MAX_CONCURRENCY as usize,
        threads,
        ..options(dir.path(), &double)
    };
    let report = run(engine, &options, &|_, _| {}).await.unwrap();
    assert_eq!(
        (report.totals.accepted, report.totals.errors),
        (1100, 0),
        "{:?}",
        report.totals
    );
}

/// The deliberately misbehaving fixture component (`tests/fixtures/rogue-action`).
fn rogue_engine() -> std::sync::Arc<action_host::ActionEngine> {
    std::sync::Arc::new(
        action_host::ActionEngine::new(
            &std::fs::read(host_harness::component::ROGUE_COMPONENT_PATH).unwrap(),
            action_host::Limits::default(),
        )
        .unwrap(),
    )
}

/// A component that reports events accepted without sending them (a
/// broken or hostile build) has none of them counted as delivered: no
/// answer the host saw names its trace id, so every firing is reported with
/// the breach and kept dead in the outbox, to be requeued once the
/// component is sound. One event per request and in batches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledgement_no_request_received_is_not_a_delivery() {
    let double = double().await;
    for batch_size in [1, 1000] {
        let dir = tempfile::tempdir().unwrap();
        write_inputs(dir.path(), 20, |_| false);
        workflow_file(dir.path(), &[("Purchase", "rogue = \"behave\"\n")]);
        let options = RunOptions {
            batch_size,
            ..options(dir.path(), &double)
        };
        let report = run(rogue_engine(), &options, &|_, _| {}).await.unwrap();
        assert_eq!(
            (
                report.totals.executions,
                report.totals.accepted,
                report.totals.errors
            ),
            (20, 0, 20),
            "batch size {batch_size}: {:?}",
            report.totals
        );
        for f in &report.firings {
            let error = f.executions[0].error.as_ref().expect("each one failed");
            assert_eq!(error.class, "host");
            assert!(
                error.message.contains(
                    "it reported an event as accepted by Meta (fbtrace_id `rogue`), but none of its requests was answered so"
                ),
                "{}",
                error.message
            );
        }
        assert!(double.requests().is_empty(), "the component sent nothing");
        let counts = Outbox::open_shared(options.outbox.as_ref().unwrap())
            .unwrap()
            .counts()
            .unwrap();
        assert_eq!(
            (counts["delivered"], counts["dead"], counts["pending"]),
            (0, 20, 0),
            "batch size {batch_size}"
        );
    }
}

/// The instance that claimed a delivery Meta never acknowledged serves no
/// other execution, as after any host failure: through a component whose
/// instance lies on its first call and fails every later one with its count
/// of calls, one at a time, each execution (and each batch of two) meets a
/// fresh instance, so each is the lie, caught, and none is a later call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_claimed_an_acknowledgement_serves_no_other_execution() {
    let double = double().await;
    for batch_size in [1, 2] {
        let dir = tempfile::tempdir().unwrap();
        write_inputs(dir.path(), 6, |_| false);
        workflow_file(dir.path(), &[("Purchase", "rogue = \"claim-once\"\n")]);
        let options = RunOptions {
            batch_size,
            concurrency: 1,
            threads: 1,
            ..options(dir.path(), &double)
        };
        let report = run(rogue_engine(), &options, &|_, _| {}).await.unwrap();
        let messages: Vec<&str> = report
            .firings
            .iter()
            .map(|f| {
                let error = f.executions[0].error.as_ref().expect("none is accepted");
                error.message.as_str()
            })
            .collect();
        assert_eq!(messages.len(), 6);
        for m in &messages {
            assert!(
                m.contains("reported an event as accepted by Meta"),
                "batch size {batch_size}: {messages:?}"
            );
        }
    }
}

/// A component that leaves its token out of its declared secret fields
/// still cannot get it into the report: a setting named like a secret is
/// redacted whatever the component declares.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_component_does_not_declare_secret_is_still_redacted() {
    let double = double().await;
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path(), 3, |_| false);
    workflow_file(dir.path(), &[("Purchase", "rogue = \"echo-settings\"\n")]);
    let report = run(rogue_engine(), &options(dir.path(), &double), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(report.totals.failed, 3, "{:?}", report.totals);
    let text = serde_json::to_string(&report).unwrap();
    assert!(text.contains("echo-settings"), "the settings were echoed");
    assert!(text.contains("[redacted]"), "the token was redacted");
    assert!(!text.contains(TOKEN), "the token leaked into the report");
}
