//! The `host-harness` binary, as users run it.

use crate::common::TOKEN;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Output;

fn harness(args: &[&str]) -> Output {
    crate::common::harness_command()
        .args(args)
        .output()
        .expect("the binary runs")
}

async fn harness_async(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        harness(&args)
    })
    .await
    .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn the_demo_shows_all_six_events_accepted() {
    let out = harness(&["demo"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    for e in [
        "Lead",
        "Purchase",
        "PageView",
        "InitiateCheckout",
        "CompleteRegistration",
        "BookedDemo",
    ] {
        assert!(
            t.lines()
                .any(|l| l.trim_start().starts_with(e) && l.contains("event_id")),
            "{e} missing:\n{t}"
        );
    }
    assert!(
        t.contains("8 accepted, 0 skipped, 0 refused by Meta"),
        "{t}"
    );
    assert!(!t.contains(TOKEN), "the token was printed");
}

#[test]
fn describe_prints_the_settings_schema() {
    let out = harness(&["describe"]);
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["settings_schema"]["required"],
        json!(["pixel_id", "access_token", "event"])
    );
    assert!(doc["default_mappings"]["Purchase"]["custom_data.value"].is_string());
}

fn write_workflow(dir: &Path, token: &str) {
    std::fs::write(
        dir.join("purchase.toml"),
        format!(
            "name = \"Purchases\"\ntrigger = \"order_placed\"\n[[actions]]\n[actions.settings]\npixel_id = \"42\"\naccess_token = \"{token}\"\nevent = \"Purchase\"\naction_source = \"website\"\n"
        ),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_contacts_run_and_every_firing_is_accounted_for() {
    let d = crate::common::double().await;
    let dir = tempfile::tempdir().unwrap();
    let mut contacts = String::from(
        "id,email,phone,first_name,last_name,city,state,postal_code,country,date_of_birth,gender,plan\n",
    );
    let mut firings = String::new();
    let at = chrono::Utc::now() - chrono::Duration::minutes(5);
    for i in 0..1000 {
        writeln!(
            contacts,
            "c{i},user{i}@example.com,+1 650 555 {:04},First{i},Last,Menlo Park,CA,94025,US,1990-01-{:02},{},pro",
            i % 10_000,
            i % 28 + 1,
            if i % 2 == 0 { "f" } else { "m" }
        )
        .unwrap();
        writeln!(
            firings,
            r#"{{"id":"f{i}","type":"order_placed","contact_id":"c{i}","occurred_at":"{}","data":{{"order":{{"id":"o{i}","total":{}.5,"currency":"USD"}},"page":{{"url":"https://shop.example/ok"}},"client":{{"user_agent":"UA"}}}}}}"#,
            at.to_rfc3339(),
            i
        )
        .unwrap();
    }
    // Bad input among good: each is reported and the run goes on.
    contacts.push_str("c-bad,only,three\n");
    firings.push_str("{not json\n");
    firings.push_str(&format!(
        r#"{{"id":"f-ghost","type":"order_placed","contact_id":"nobody","occurred_at":"{}"}}"#,
        at.to_rfc3339()
    ));
    firings.push('\n');
    firings.push_str(&format!(
        r#"{{"id":"f-odd","type":"page_visited","contact_id":"c1","occurred_at":"{}"}}"#,
        at.to_rfc3339()
    ));
    firings.push('\n');
    // A firing for the contact whose row was refused is pointed to it.
    firings.push_str(&format!(
        r#"{{"id":"f-bad-row","type":"order_placed","contact_id":"c-bad","occurred_at":"{}"}}"#,
        at.to_rfc3339()
    ));
    firings.push('\n');
    std::fs::write(dir.path().join("contacts.csv"), contacts).unwrap();
    std::fs::write(dir.path().join("firings.jsonl"), firings).unwrap();
    write_workflow(dir.path(), TOKEN);
    let report_path = dir.path().join("report.json");

    let p = |name: &str| dir.path().join(name).display().to_string();
    let out = harness_async(vec![
        "run".into(),
        "--workflow".into(),
        p("purchase.toml"),
        "--contacts".into(),
        p("contacts.csv"),
        "--triggers".into(),
        p("firings.jsonl"),
        "--graph-url".into(),
        d.url(),
        "--report".into(),
        report_path.display().to_string(),
    ])
    .await;
    let t = text(&out);
    assert!(
        !out.status.success(),
        "bad input makes the exit status non-zero:\n{t}"
    );
    assert!(
        t.contains("contacts.csv:1002: the row has 3 fields but the header has 12"),
        "{t}"
    );
    assert!(t.contains("firings.jsonl:1001: not valid JSON"), "{t}");
    assert!(
        t.contains("firings.jsonl:1002: field `contact_id`: no contact with id `nobody`"),
        "{t}"
    );
    assert!(
        t.contains(
            "firings.jsonl:1003: field `type`: no workflow listens for trigger type `page_visited`"
        ),
        "{t}"
    );
    assert!(
        t.contains("firings.jsonl:1004: field `contact_id`: the contact with id `c-bad` is on line 1002 of ")
            && t.contains(
                "contacts.csv, which was left out: the row has 3 fields but the header has 12"
            ),
        "{t}"
    );
    assert!(!t.contains(TOKEN));

    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    let entries = report["firings"].as_array().unwrap();
    assert_eq!(entries.len(), 1004, "one entry per firing line");
    let accepted = entries.iter().filter(|f| f["status"] == "accepted").count();
    assert_eq!(accepted, 1000);
    assert_eq!(report["totals"]["accepted"], json!(1000));
    assert_eq!(report["totals"]["errors"], json!(4));
    assert_eq!(entries[7]["executions"][0]["event_id"], json!("o7"));
    assert_eq!(d.received().len(), 1000, "the double got each event once");
    let raw = std::fs::read_to_string(&report_path).unwrap();
    assert!(!raw.contains(TOKEN), "the token is in the report");
    assert!(
        !raw.contains("user7@example.com"),
        "raw emails are in the report"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_settings_name_the_file_line_and_field() {
    let d = crate::common::double().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("lead.toml"),
        "trigger = \"form_submitted\"\n[[actions]]\n[actions.settings]\npixel_id = \"my pixel\"\naccess_token = \"x\"\nevent = \"Lead\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("c.csv"), "id,email\nc1,a@example.com\n").unwrap();
    std::fs::write(
        dir.path().join("f.jsonl"),
        format!("{{\"id\":\"1\",\"type\":\"form_submitted\",\"contact_id\":\"c1\",\"occurred_at\":{}}}\n", crate::common::now()),
    )
    .unwrap();
    let p = |name: &str| dir.path().join(name).display().to_string();
    let out = harness_async(vec![
        "run".into(),
        "--workflow".into(),
        p("lead.toml"),
        "--contacts".into(),
        p("c.csv"),
        "--triggers".into(),
        p("f.jsonl"),
        "--graph-url".into(),
        d.url(),
    ])
    .await;
    let t = text(&out);
    assert!(!out.status.success());
    assert!(t.contains("lead.toml:4: field `settings/pixel_id`"), "{t}");
    assert!(d.requests().is_empty());
}

#[test]
fn a_file_refused_for_an_unset_variable_still_has_its_settings_checked() {
    let dir = tempfile::tempdir().unwrap();
    // One action's token is an unset variable and its pixel is not a
    // number; the other's id repeats the first's, its event is not text and
    // its pixel reads the environment where no setting may (said once, not
    // again as a pixel that is not a number).
    std::fs::write(
        dir.path().join("lead.toml"),
        "trigger = \"form_submitted\"\n\
         [[actions]]\n\
         id = \"a\"\n\
         [actions.settings]\n\
         pixel_id = \"my pixel\"\n\
         access_token = \"${NO_SUCH_TOKEN_VARIABLE}\"\n\
         event = \"Lead\"\n\
         [[actions]]\n\
         id = \"a\"\n\
         [actions.settings]\n\
         pixel_id = \"${PIXEL}\"\n\
         access_token = \"t\"\n\
         event = 5\n",
    )
    .unwrap();
    let out = harness(&[
        "validate",
        "--workflow",
        &dir.path().join("lead.toml").display().to_string(),
    ]);
    let t = text(&out);
    assert!(!out.status.success());
    let said: Vec<&str> = t
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix(&format!("{}:", dir.path().join("lead.toml").display()))
        })
        .collect();
    assert_eq!(said.len(), 5, "{t}");
    assert!(said[0].starts_with("5: field `settings/pixel_id`"), "{t}");
    assert!(said[1].starts_with("6: field `actions[0].settings/access_token`: the environment variable `NO_SUCH_TOKEN_VARIABLE` is not set"), "{t}");
    assert!(said[2].starts_with("9: field `actions[1].id`"), "{t}");
    assert!(
        said[3].starts_with("11: field `actions[1].settings/pixel_id`: `${…}` is read from the environment only in secret settings"),
        "{t}"
    );
    assert!(said[4].starts_with("13: field `settings/event`"), "{t}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_shows_the_exact_json_and_sends_nothing() {
    const APP_SECRET: &str = "5f1b6c0e9d2a4b7c8e3f1a2b3c4d5e6f";
    // Python: hmac.new(APP_SECRET, TOKEN, hashlib.sha256).hexdigest()
    const PROOF: &str = "b0bc01951658fc4a3e3f2a78b32db2b62186968c0a0d5050666fbe9546e6603f";
    let d = crate::common::double().await;
    let dir = tempfile::tempdir().unwrap();
    write_workflow(dir.path(), TOKEN);
    // The settings table is the file's last: the app's secret joins it.
    let workflow = dir.path().join("purchase.toml");
    let with_secret =
        std::fs::read_to_string(&workflow).unwrap() + &format!("app_secret = \"{APP_SECRET}\"\n");
    std::fs::write(&workflow, with_secret).unwrap();
    std::fs::write(
        dir.path().join("c.csv"),
        "id,email,first_name\nc1,Ada@Example.com,Ada\n",
    )
    .unwrap();
    let at = chrono::Utc::now().to_rfc3339();
    std::fs::write(
        dir.path().join("f.jsonl"),
        format!(
            r#"{{"id":"f1","type":"order_placed","contact_id":"c1","occurred_at":"{at}","data":{{"order":{{"id":"o1","total":5,"currency":"USD"}},"page":{{"url":"https://s.example/"}},"client":{{"user_agent":"UA"}}}}}}"#
        ) + "\n",
    )
    .unwrap();
    let p = |name: &str| dir.path().join(name).display().to_string();
    let out = harness_async(vec![
        "run".into(),
        "--dry-run".into(),
        "--workflow".into(),
        p("purchase.toml"),
        "--contacts".into(),
        p("c.csv"),
        "--triggers".into(),
        p("f.jsonl"),
        "--graph-url".into(),
        d.url(),
        "--report".into(),
        p("r.json"),
    ])
    .await;
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("Dry run: nothing was sent."));
    assert!(
        t.contains("POST https://graph.facebook.com/v24.0/42/events"),
        "{t}"
    );
    assert!(
        t.contains(&crate::common::sha("ada@example.com")),
        "the hash of the email is shown:\n{t}"
    );
    assert!(!t.contains("Ada@Example.com") && !t.contains(TOKEN), "{t}");
    assert!(d.requests().is_empty(), "a dry run sends nothing");
    let written = std::fs::read_to_string(dir.path().join("r.json")).unwrap();
    // Neither the app's secret nor its proof, which with the token acts as
    // the app, is shown or kept.
    for text in [&t, &written] {
        assert!(
            !text.contains(APP_SECRET) && !text.contains(PROOF),
            "{text}"
        );
    }
    let report: Value = serde_json::from_str(&written).unwrap();
    let e = &report["firings"][0]["executions"][0];
    assert_eq!(
        e["would_send"]["body"]["appsecret_proof"],
        json!("[redacted]")
    );
    assert_eq!(e["status"], json!("dry_run"));
    assert_eq!(
        e["would_send"]["body"]["data"][0]["custom_data"]["value"],
        json!(5.0)
    );
}

/// A platform that keys its contacts by email address or phone number
/// writes them as ids: the output shows them as the hash the event's
/// `external_id` carries, in the report, in every message and in the
/// exchanges recorded, so they can be matched without being read.
#[tokio::test(flavor = "multi_thread")]
async fn contact_ids_that_are_emails_or_phones_are_shown_hashed() {
    let d = crate::common::double().await;
    let dir = tempfile::tempdir().unwrap();
    write_workflow(dir.path(), TOKEN);
    const EMAIL: &str = "ada.lovelace@example.com";
    const PHONE: &str = "+33 6 12 34 56 78";
    const UNKNOWN: &str = "bo.ek@example.se";
    std::fs::write(
        dir.path().join("c.csv"),
        format!(
            "id,email,first_name\n{EMAIL},{EMAIL},Ada\n{PHONE},,Jean\n{EMAIL},other@example.com,Twin\n"
        ),
    )
    .unwrap();
    let at = chrono::Utc::now().to_rfc3339();
    let firing = |id: &str, contact: &str| {
        format!(
            r#"{{"id":"{id}","type":"order_placed","contact_id":"{contact}","occurred_at":"{at}","data":{{"order":{{"id":"{id}","total":5,"currency":"USD"}},"page":{{"url":"https://s.example/"}},"client":{{"user_agent":"UA"}}}}}}"#
        ) + "\n"
    };
    std::fs::write(
        dir.path().join("f.jsonl"),
        firing("f1", EMAIL) + &firing("f2", PHONE) + &firing("f3", UNKNOWN),
    )
    .unwrap();
    let p = |name: &str| dir.path().join(name).display().to_string();
    let out = harness_async(vec![
        "run".into(),
        "--workflow".into(),
        p("purchase.toml"),
        "--contacts".into(),
        p("c.csv"),
        "--triggers".into(),
        p("f.jsonl"),
        "--graph-url".into(),
        d.url(),
        "--record-requests".into(),
        "--report".into(),
        p("r.json"),
    ])
    .await;
    let t = text(&out);
    let written = std::fs::read_to_string(dir.path().join("r.json")).unwrap();
    let shown = |id: &str| format!("sha256:{}", crate::common::sha(id));
    for said in [&t, &written] {
        for id in [EMAIL, PHONE, UNKNOWN, "12 34 56 78"] {
            assert!(!said.contains(id), "{id} shown:\n{said}");
        }
    }
    assert!(
        t.contains(&format!(
            "c.csv:4: field `id`: a contact with id `{}` is already listed earlier",
            shown(EMAIL)
        )),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "f.jsonl:3: field `contact_id`: no contact with id `{}`",
            shown(UNKNOWN)
        )),
        "{t}"
    );
    let report: Value = serde_json::from_str(&written).unwrap();
    let firings = report["firings"].as_array().unwrap();
    let ids: Vec<&Value> = firings.iter().map(|f| &f["contact_id"]).collect();
    assert_eq!(
        ids,
        [
            &json!(shown(EMAIL)),
            &json!(shown(PHONE)),
            &json!(shown(UNKNOWN))
        ]
    );
    // The hash shown is the one Meta received as the event's external id.
    let mut sent: Vec<String> = d
        .received()
        .iter()
        .map(|got| {
            format!(
                "sha256:{}",
                got.event["user_data"]["external_id"].as_str().unwrap()
            )
        })
        .collect();
    sent.sort();
    let mut expected = [shown(EMAIL), shown(PHONE)];
    expected.sort();
    assert_eq!(sent, expected, "{t}");
}

#[test]
fn out_of_range_flags_are_refused_at_start() {
    for (flag, value, expect) in [
        ("--concurrency", "0", "0 is not in 1..=1024"),
        ("--concurrency", "100000", "100000 is not in 1..=1024"),
        (
            "--graph-url",
            "localhost:8080",
            "not an absolute http(s) URL",
        ),
        ("--graph-url", "/just/a/path", "not an absolute http(s) URL"),
        (
            "--graph-url",
            "ftp://127.0.0.1:21",
            "not an absolute http(s) URL",
        ),
    ] {
        let out = harness(&[
            "run",
            "--workflow",
            "w.toml",
            "--contacts",
            "c.csv",
            "--triggers",
            "f.jsonl",
            flag,
            value,
        ]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {t}");
        assert!(t.contains(expect), "{flag} {value}: {t}");
    }
}

#[test]
fn a_report_is_never_written_over_the_runs_own_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = |name: &str| d.join(name).display().to_string();
    std::fs::create_dir(d.join("flows")).unwrap();
    std::fs::write(d.join("flows/w.toml"), "trigger = \"t\"\n").unwrap();
    std::fs::write(d.join("c.csv"), "id,email\nc1,a@example.com\n").unwrap();
    std::fs::write(d.join("f.jsonl"), "{}\n").unwrap();
    std::fs::write(d.join("o.db"), "").unwrap();
    std::fs::hard_link(d.join("c.csv"), d.join("same-contacts.csv")).unwrap();
    let before: Vec<Vec<u8>> = ["flows/w.toml", "c.csv", "f.jsonl"]
        .iter()
        .map(|f| std::fs::read(d.join(f)).unwrap())
        .collect();
    for (report, expect) in [
        (p("c.csv"), "is the contacts file"),
        (p("same-contacts.csv"), "is the contacts file"),
        (p("f.jsonl"), "is the triggers file"),
        (p("flows/w.toml"), "is a workflow"),
        (p("o.db"), "is the outbox"),
        (p("flows/report.json"), "in the folder of workflows"),
    ] {
        let out = harness(&[
            "run",
            "--workflow",
            &p("flows"),
            "--workflow",
            &p("flows/w.toml"),
            "--contacts",
            &p("c.csv"),
            "--triggers",
            &p("f.jsonl"),
            "--outbox",
            &p("o.db"),
            "--report",
            &report,
        ]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{report}: {t}");
        assert!(t.contains(expect), "{report}: {t}");
    }
    let after: Vec<Vec<u8>> = ["flows/w.toml", "c.csv", "f.jsonl"]
        .iter()
        .map(|f| std::fs::read(d.join(f)).unwrap())
        .collect();
    assert_eq!(before, after, "no input was touched");
    assert!(!d.join("flows/report.json").exists());
}

/// A UTF-16 or gzip file is read from a copy in the temporary folder:
/// where that cannot be written, the problem says so, and blames neither
/// the file nor its lines.
#[test]
fn a_copy_the_temporary_folder_cannot_take_is_said_to_be_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = |name: &str| d.join(name).display().to_string();
    std::fs::write(
        d.join("w.toml"),
        "trigger = \"t\"\n[[actions]]\nsettings = {}\n",
    )
    .unwrap();
    std::fs::write(d.join("c.csv"), "id,email\nc1,a@example.com\n").unwrap();
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(
            "{\"id\":\"f1\",\"type\":\"t\",\"contact_id\":\"c1\",\"occurred_at\":1}\r\n"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    std::fs::write(d.join("f.jsonl"), utf16).unwrap();
    let out = crate::common::harness_command()
        .env("TMPDIR", d.join("no such folder"))
        .args([
            "run",
            "--dry-run",
            "--workflow",
            &p("w.toml"),
            "--contacts",
            &p("c.csv"),
            "--triggers",
            &p("f.jsonl"),
        ])
        .output()
        .unwrap();
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(
        t.contains(&format!(
            "{}: cannot read the file: its text is read from a copy, which cannot be written to the temporary folder {}",
            p("f.jsonl"),
            p("no such folder")
        )),
        "{t}"
    );
}

#[test]
fn contacts_or_firings_from_a_pipe_are_refused_not_lost() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = |name: &str| d.join(name).display().to_string();
    std::fs::write(d.join("w.toml"), "trigger = \"t\"\n").unwrap();
    std::fs::write(d.join("c.csv"), "id,email\nc1,a@example.com\n").unwrap();
    std::fs::write(d.join("f.jsonl"), "{}\n").unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(d.join("pipe"))
        .status()
        .unwrap();
    assert!(made.success());
    // A pipe's firings would reach the first pass only, and a run would
    // report none of them: it is refused before anything is read.
    for (flag, other, other_file) in [
        ("--triggers", "--contacts", "c.csv"),
        ("--contacts", "--triggers", "f.jsonl"),
    ] {
        for stream in [p("pipe"), "/dev/stdin".to_string()] {
            let out = harness(&[
                "run",
                "--workflow",
                &p("w.toml"),
                flag,
                &stream,
                other,
                &p(other_file),
                "--dry-run",
                "--report",
                &p("r.json"),
            ]);
            let t = text(&out);
            assert_eq!(out.status.code(), Some(2), "{flag} {stream}: {t}");
            assert!(t.contains("is not a file"), "{flag} {stream}: {t}");
            assert!(!d.join("r.json").exists(), "no report is left");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn files_that_start_with_a_byte_order_mark_are_read_whole() {
    let d = crate::common::double().await;
    let dir = tempfile::tempdir().unwrap();
    write_workflow(dir.path(), TOKEN);
    let at = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let bom = "\u{feff}";
    std::fs::write(
        dir.path().join("contacts.json"),
        format!(
            r#"{bom}[{{"id":"c1","email":"a@example.com"}},{{"id":"c2","email":"b@example.com"}}]"#
        ),
    )
    .unwrap();
    let line = |i: u32| {
        format!(
            r#"{{"id":"f{i}","type":"order_placed","contact_id":"c{i}","occurred_at":"{at}","data":{{"order":{{"id":"o{i}","total":5,"currency":"EUR"}},"page":{{"url":"https://s.example/"}},"client":{{"user_agent":"UA"}}}}}}"#
        )
    };
    std::fs::write(
        dir.path().join("firings.jsonl"),
        format!("{bom}{}\n{}\n", line(1), line(2)),
    )
    .unwrap();
    let p = |name: &str| dir.path().join(name).display().to_string();
    let out = harness_async(vec![
        "run".into(),
        "--workflow".into(),
        p("purchase.toml"),
        "--contacts".into(),
        p("contacts.json"),
        "--triggers".into(),
        p("firings.jsonl"),
        "--graph-url".into(),
        d.url(),
    ])
    .await;
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("2 accepted"), "{t}");
    assert_eq!(d.received().len(), 2);
}
