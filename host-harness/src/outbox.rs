//! The durable outbox: every execution a run will make is written here
//! before it runs, and marked only once Meta has answered. A run killed at
//! any moment and started again resumes from it: what Meta acknowledged is
//! not sent again, and nothing is lost. SQLite (bundled), in WAL mode.
//!
//! Rows hold ids, states and Meta's answers, never the access token nor the
//! contact's data: a resumed run reads those from its input files again.
//!
//! An execution is keyed by firing id, workflow name and action id, and
//! carries a digest of what defines it (the settings without secrets, the
//! firing, the contact): when a later run brings the same key with other
//! inputs, it is a new execution and is sent again, never reported from the
//! earlier one. A run holds the outbox exclusively (an advisory lock on
//! `<outbox>.lock`, released by the system even when the run is killed), so
//! two runs never send the same executions at once.

use anyhow::{Context as _, Result};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Where an execution stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Not yet acknowledged by Meta: the next run sends it.
    Pending,
    /// Meta acknowledged it.
    Delivered,
    /// Deliberately not sent (consent).
    Skipped,
    /// Sending again cannot help; kept with Meta's message.
    Dead,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Delivered => "delivered",
            State::Skipped => "skipped",
            State::Dead => "dead",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<State> {
        [
            State::Pending,
            State::Delivered,
            State::Skipped,
            State::Dead,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// One execution in the outbox.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Firing id, workflow name and action id.
    pub key: String,
    /// Digest of the execution's inputs (settings without secrets, firing,
    /// contact).
    pub digest: Option<String>,
    /// The firing's id.
    pub firing_id: String,
    /// The workflow's name.
    pub workflow: String,
    /// The action's name.
    pub action: String,
    /// Where the firing was read (`file:line`).
    pub source: String,
    /// Where it stands.
    pub state: State,
    /// Attempts so far, over every run.
    pub attempts: u32,
    /// The event name, once known.
    pub event_name: Option<String>,
    /// The event id, once known.
    pub event_id: Option<String>,
    /// Meta's trace id of the last answer.
    pub fbtrace_id: Option<String>,
    /// The last error, for pending and dead entries.
    pub last_error: Option<String>,
    /// Unix seconds of the last change.
    pub updated_at: i64,
}

/// What [`Outbox::enqueue`] found of the executions it wrote.
#[derive(Debug, Default)]
pub struct Enqueued {
    /// Keys whose inputs changed since an earlier run: pending again.
    pub changed: Vec<String>,
    /// Entries an earlier run settled (delivered, dead or skipped) with the
    /// same inputs, by key: not to be sent again.
    pub settled: HashMap<String, Entry>,
}

/// One execution a run is about to make.
#[derive(Debug, Clone, Copy)]
pub struct NewEntry<'a> {
    /// Firing id, workflow name and action id.
    pub key: &'a str,
    /// Digest of its inputs.
    pub digest: &'a str,
    /// The firing's id.
    pub firing_id: &'a str,
    /// The workflow's name.
    pub workflow: &'a str,
    /// The action's name.
    pub action: &'a str,
    /// Where the firing was read (`file:line`).
    pub source: &'a str,
}

/// The result of one attempt, as the outbox keeps it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The execution's key.
    pub key: String,
    /// Where it stands now.
    pub state: State,
    /// The event name, once known.
    pub event_name: Option<String>,
    /// The event id, once known.
    pub event_id: Option<String>,
    /// Meta's trace id.
    pub fbtrace_id: Option<String>,
    /// The error, redacted.
    pub last_error: Option<String>,
}

/// Results of attempts written together: whatever attempts finish while one
/// transaction commits go in the next, so a run of many single executions
/// commits many results at a time instead of one each. Each attempt still
/// waits until its own result is committed before it counts as recorded.
#[derive(Clone)]
pub struct Journal {
    queue: tokio::sync::mpsc::UnboundedSender<(Vec<Recorded>, Committed)>,
}

/// Where the writer says whether a group was committed.
type Committed = tokio::sync::oneshot::Sender<Result<(), String>>;

impl Journal {
    /// A writer of `outbox`'s results, on a task of its own, and the task:
    /// it ends, releasing the outbox, once the last handle is dropped.
    pub fn start(outbox: Arc<Outbox>) -> (Journal, tokio::task::JoinHandle<()>) {
        let (queue, mut waiting) =
            tokio::sync::mpsc::unbounded_channel::<(Vec<Recorded>, Committed)>();
        let writer = tokio::spawn(async move {
            while let Some(first) = waiting.recv().await {
                let mut group = vec![first];
                while let Ok(more) = waiting.try_recv() {
                    group.push(more);
                }
                let result = outbox
                    .record_all(group.iter().flat_map(|(rows, _)| rows))
                    .map_err(|e| format!("{e:#}"));
                for (_, committed) in group {
                    let _ = committed.send(result.clone());
                }
            }
        });
        (Journal { queue }, writer)
    }

    /// Records `results`, with whatever else is waiting, in one
    /// transaction; returns once it is committed, or why it was not.
    pub async fn record(&self, results: Vec<Recorded>) -> Result<(), String> {
        let stopped = || "the outbox writer stopped".to_string();
        let (committed, done) = tokio::sync::oneshot::channel();
        self.queue
            .send((results, committed))
            .map_err(|_| stopped())?;
        done.await.map_err(|_| stopped())?
    }
}

/// The outbox file.
pub struct Outbox {
    conn: Mutex<Connection>,
    _lock: Option<RunLock>,
}

/// The exclusive hold of a run on an outbox: an advisory lock on a file
/// beside it, which holds the run's pid for the next one to name.
struct RunLock {
    _file: std::fs::File,
}

impl RunLock {
    fn take(outbox: &Path) -> Result<RunLock> {
        use std::io::{Read, Seek, Write};
        let path = PathBuf::from(format!("{}.lock", outbox.display()));
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open the outbox lock {}", path.display()))?;
        if !lock_exclusive(&file) {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            anyhow::bail!(
                "the outbox {} is in use by another run{}; wait for it to end, or give this run another --outbox",
                outbox.display(),
                if holder.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {holder})")
                }
            );
        }
        file.set_len(0)?;
        file.rewind()?;
        write!(file, "{}", std::process::id())?;
        file.flush()?;
        Ok(RunLock { _file: file })
    }
}

#[cfg(unix)]
fn lock_exclusive(file: &std::fs::File) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is open for the call's duration.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

#[cfg(not(unix))]
fn lock_exclusive(_file: &std::fs::File) -> bool {
    true
}

/// The columns [`entry`] reads, in its order.
const COLUMNS: &str = "key, firing_id, workflow, action, source, state, attempts, event_name, event_id, fbtrace_id, last_error, updated_at, digest";

/// The entry of a row of [`COLUMNS`].
fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    Ok(Entry {
        key: r.get(0)?,
        firing_id: r.get(1)?,
        workflow: r.get(2)?,
        action: r.get(3)?,
        source: r.get(4)?,
        state: State::parse(&r.get::<_, String>(5)?).unwrap_or(State::Pending),
        attempts: r.get(6)?,
        event_name: r.get(7)?,
        event_id: r.get(8)?,
        fbtrace_id: r.get(9)?,
        last_error: r.get(10)?,
        updated_at: r.get(11)?,
        digest: r.get(12)?,
    })
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Outbox {
    /// Opens (or creates) the outbox at `path` for a run, holding it
    /// exclusively until dropped. Fails, naming the other run's pid, when
    /// another run holds it.
    pub fn open(path: &Path) -> Result<Outbox> {
        let lock = RunLock::take(path)?;
        Self::open_with(path, Some(lock))
    }

    /// Opens the outbox to look at it, beside a run that may hold it.
    pub fn open_shared(path: &Path) -> Result<Outbox> {
        Self::open_with(path, None)
    }

    fn open_with(path: &Path, lock: Option<RunLock>) -> Result<Outbox> {
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open the outbox {}", path.display()))?;
        // Every execution is written twice per run (enqueued, then its
        // result), so the table is kept cheap to write: the state check is
        // spelled as comparisons (an `IN` list in a check makes SQLite build
        // a temporary table for every statement), and there is no index on
        // the state (only the `outbox` command reads by state, and it scans).
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA busy_timeout = 5000;
             CREATE TABLE IF NOT EXISTS executions (
                 key TEXT PRIMARY KEY,
                 digest TEXT,
                 firing_id TEXT NOT NULL,
                 workflow TEXT NOT NULL,
                 action TEXT NOT NULL,
                 source TEXT NOT NULL,
                 state TEXT NOT NULL CHECK (
                     state = 'pending' OR state = 'delivered' OR state = 'skipped' OR state = 'dead'
                 ),
                 attempts INTEGER NOT NULL DEFAULT 0,
                 event_name TEXT,
                 event_id TEXT,
                 fbtrace_id TEXT,
                 last_error TEXT,
                 created_at INTEGER NOT NULL,
                 updated_at INTEGER NOT NULL
             );
             DROP INDEX IF EXISTS executions_state;",
        )
        .with_context(|| format!("{} is not an outbox", path.display()))?;
        // Outboxes written before executions carried a digest gain the column.
        let has_digest = conn
            .prepare("SELECT digest FROM executions LIMIT 0")
            .is_ok();
        if !has_digest {
            conn.execute_batch("ALTER TABLE executions ADD COLUMN digest TEXT")
                .with_context(|| format!("cannot upgrade the outbox {}", path.display()))?;
        }
        Ok(Outbox {
            conn: Mutex::new(conn),
            _lock: lock,
        })
    }

    /// Writes the executions a run is about to make. An entry already there
    /// with the same inputs is left as it is; one whose inputs changed is a
    /// new execution: pending again, its earlier result kept only in its
    /// note. One transaction: all or nothing. A new entry costs one
    /// statement; only entries already there are read back.
    pub fn enqueue<'a>(&self, entries: impl IntoIterator<Item = NewEntry<'a>>) -> Result<Enqueued> {
        let mut conn = self.conn.lock().unwrap();
        let tx = conn.transaction()?;
        let mut out = Enqueued::default();
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO executions (key, digest, firing_id, workflow, action, source, state, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?7)",
            )?;
            let mut existing =
                tx.prepare_cached(&format!("SELECT {COLUMNS} FROM executions WHERE key = ?1"))?;
            let mut renew = tx.prepare_cached(
                "UPDATE executions SET digest = ?2, source = ?3, state = 'pending', attempts = 0,
                     event_name = NULL, event_id = NULL, fbtrace_id = NULL,
                     last_error = 'its inputs changed since an earlier run (' || state || ' then): sent as a new execution',
                     updated_at = ?4
                 WHERE key = ?1",
            )?;
            let at = now();
            for e in entries {
                let params = params![
                    e.key,
                    e.digest,
                    e.firing_id,
                    e.workflow,
                    e.action,
                    e.source,
                    at
                ];
                if insert.execute(params)? > 0 {
                    continue;
                }
                let Some(entry) = existing.query_row([e.key], entry).optional()? else {
                    continue;
                };
                if entry.digest.as_deref() != Some(e.digest) {
                    renew.execute(params![e.key, e.digest, e.source, at])?;
                    out.changed.push(e.key.to_string());
                } else if entry.state != State::Pending {
                    out.settled.insert(entry.key.clone(), entry);
                }
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// Every entry, by key.
    pub fn all(&self) -> Result<HashMap<String, Entry>> {
        Ok(self
            .list(None)?
            .into_iter()
            .map(|e| (e.key.clone(), e))
            .collect())
    }

    /// Entries in `state` (all when `None`), oldest first.
    pub fn list(&self, state: Option<State>) -> Result<Vec<Entry>> {
        self.select(
            "WHERE (?1 IS NULL OR state = ?1)",
            params![state.map(State::as_str)],
        )
    }

    /// The entries `filter` (a `WHERE` clause over `params`) keeps.
    fn select(&self, filter: &str, params: impl rusqlite::Params) -> Result<Vec<Entry>> {
        let conn = self.conn.lock().unwrap();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM executions {filter} ORDER BY created_at, rowid"
        ))?;
        let rows = stmt.query_map(params, entry)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records the result of one attempt.
    pub fn record(&self, result: Recorded) -> Result<()> {
        self.record_all([&result])
    }

    /// Records the results of many attempts in one transaction.
    pub fn record_all<'a>(&self, results: impl IntoIterator<Item = &'a Recorded>) -> Result<()> {
        let mut conn = self.conn.lock().unwrap();
        let tx = conn.transaction()?;
        {
            let mut update = tx.prepare_cached(
                "UPDATE executions SET state = ?2, attempts = attempts + 1,
                     event_name = COALESCE(?3, event_name), event_id = COALESCE(?4, event_id),
                     fbtrace_id = COALESCE(?5, fbtrace_id), last_error = ?6, updated_at = ?7
                 WHERE key = ?1",
            )?;
            let at = now();
            for r in results {
                update.execute(params![
                    r.key,
                    r.state.as_str(),
                    r.event_name,
                    r.event_id,
                    r.fbtrace_id,
                    r.last_error,
                    at
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// How many entries are in each state.
    pub fn counts(&self) -> Result<HashMap<&'static str, u64>> {
        let conn = self.conn.lock().unwrap();
        let mut out: HashMap<&'static str, u64> = [
            State::Pending,
            State::Delivered,
            State::Skipped,
            State::Dead,
        ]
        .iter()
        .map(|st| (st.as_str(), 0))
        .collect();
        let mut stmt = conn.prepare("SELECT state, COUNT(*) FROM executions GROUP BY state")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))?;
        for row in rows {
            let (state, n) = row?;
            if let Some(count) = out.get_mut(state.as_str()) {
                *count = n;
            }
        }
        Ok(out)
    }

    /// Moves every dead entry back to pending, so the next run sends it
    /// again (with the same event id). Returns how many.
    pub fn requeue_dead(&self) -> Result<usize> {
        let conn = self.conn.lock().unwrap();
        Ok(conn.execute(
            "UPDATE executions SET state = 'pending', updated_at = ?1 WHERE state = 'dead'",
            [now()],
        )?)
    }

    /// Deletes the entries in `state`. Returns how many.
    pub fn purge(&self, state: State) -> Result<usize> {
        let conn = self.conn.lock().unwrap();
        Ok(conn.execute("DELETE FROM executions WHERE state = ?1", [state.as_str()])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new<'a>(key: &'a str, digest: &'a str) -> NewEntry<'a> {
        NewEntry {
            key,
            digest,
            firing_id: key,
            workflow: "w",
            action: "a",
            source: "f.jsonl:1",
        }
    }

    fn done(key: &str, state: State, error: Option<&str>) -> Recorded {
        Recorded {
            key: key.into(),
            state,
            event_name: Some("Lead".into()),
            event_id: Some(key.into()),
            fbtrace_id: Some("T".into()),
            last_error: error.map(str::to_string),
        }
    }

    #[test]
    fn entries_survive_reopening_and_move_between_states() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.db");
        {
            let o = Outbox::open(&path).unwrap();
            o.enqueue([new("k1", "d1"), new("k2", "d2")]).unwrap();
            o.record(done("k1", State::Delivered, None)).unwrap();
            o.record(done("k2", State::Dead, Some("code 190"))).unwrap();
        }
        let o = Outbox::open(&path).unwrap();
        let again = o.enqueue([new("k1", "d1")]).unwrap();
        assert!(again.changed.is_empty());
        assert_eq!(again.settled["k1"].state, State::Delivered);
        let all = o.all().unwrap();
        assert_eq!(
            all["k1"].state,
            State::Delivered,
            "enqueue leaves entries with the same inputs alone"
        );
        assert_eq!(all["k2"].last_error.as_deref(), Some("code 190"));
        o.enqueue([new("k3", "d3")]).unwrap();
        let settled = o
            .enqueue([new("k1", "d1"), new("k2", "d2"), new("k3", "d3")])
            .unwrap()
            .settled;
        assert_eq!(
            (settled.len(), settled["k2"].state),
            (2, State::Dead),
            "a pending entry is not a settled one"
        );
        assert_eq!(o.requeue_dead().unwrap(), 1);
        assert_eq!(o.counts().unwrap()["pending"], 2);
        assert_eq!(o.purge(State::Delivered).unwrap(), 1);
        assert_eq!(o.list(None).unwrap().len(), 2);
    }

    #[test]
    fn an_outbox_of_an_earlier_release_keeps_its_entries_and_loses_its_state_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.db");
        {
            // The table as earlier releases made it: an `IN` check and an
            // index on the state.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE executions (
                     key TEXT PRIMARY KEY, digest TEXT, firing_id TEXT NOT NULL,
                     workflow TEXT NOT NULL, action TEXT NOT NULL, source TEXT NOT NULL,
                     state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'skipped', 'dead')),
                     attempts INTEGER NOT NULL DEFAULT 0, event_name TEXT, event_id TEXT,
                     fbtrace_id TEXT, last_error TEXT,
                     created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
                 );
                 CREATE INDEX executions_state ON executions (state);
                 INSERT INTO executions (key, digest, firing_id, workflow, action, source, state, created_at, updated_at)
                     VALUES ('k1', 'd1', 'k1', 'w', 'a', 'f.jsonl:1', 'delivered', 1, 1);",
            )
            .unwrap();
        }
        let o = Outbox::open(&path).unwrap();
        let indexes: i64 = o
            .conn
            .lock()
            .unwrap()
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'executions_state'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 0, "the index on the state is dropped");
        let again = o.enqueue([new("k1", "d1"), new("k2", "d2")]).unwrap();
        assert_eq!(again.settled["k1"].state, State::Delivered);
        o.record(done("k2", State::Dead, Some("code 190"))).unwrap();
        let counts = o.counts().unwrap();
        assert_eq!(
            (counts["delivered"], counts["dead"], counts["pending"]),
            (1, 1, 0)
        );
    }

    #[test]
    fn the_state_column_takes_only_the_four_states() {
        let dir = tempfile::tempdir().unwrap();
        let o = Outbox::open(&dir.path().join("outbox.db")).unwrap();
        o.enqueue([new("k1", "d1")]).unwrap();
        let conn = o.conn.lock().unwrap();
        for state in ["delivered", "skipped", "dead", "pending"] {
            conn.execute("UPDATE executions SET state = ?1", [state])
                .unwrap();
        }
        assert!(
            conn.execute("UPDATE executions SET state = 'sent'", [])
                .is_err(),
            "an unknown state is refused"
        );
    }

    #[test]
    fn an_execution_whose_inputs_changed_is_a_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let o = Outbox::open(&dir.path().join("outbox.db")).unwrap();
        o.enqueue([new("k1", "d1")]).unwrap();
        o.record(done("k1", State::Delivered, None)).unwrap();
        let changed = o.enqueue([new("k1", "d2")]).unwrap();
        assert_eq!(changed.changed, ["k1"]);
        assert!(changed.settled.is_empty());
        let e = &o.all().unwrap()["k1"];
        assert_eq!(e.state, State::Pending);
        assert_eq!(e.attempts, 0);
        assert_eq!(
            e.event_id, None,
            "nothing of the earlier answer passes for this one"
        );
        assert!(
            e.last_error.as_deref().unwrap().contains("inputs changed"),
            "{e:?}"
        );
    }

    /// Records `state` for each of `keys`, every one from a task of its own
    /// at once, and what each was told.
    async fn record_each_at_once(
        journal: &Journal,
        keys: &[String],
        state: State,
    ) -> Vec<Result<(), String>> {
        let waiting: Vec<_> = keys
            .iter()
            .map(|k| {
                let journal = journal.clone();
                let row = done(k, state, None);
                tokio::spawn(async move { journal.record(vec![row]).await })
            })
            .collect();
        let mut told = Vec::new();
        for w in waiting {
            told.push(w.await.unwrap());
        }
        told
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn results_recorded_together_are_each_committed_or_each_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.db");
        let keys: Vec<String> = (0..200).map(|i| format!("k{i}")).collect();
        let outbox = Arc::new(Outbox::open(&path).unwrap());
        outbox.enqueue(keys.iter().map(|k| new(k, "d"))).unwrap();
        let (journal, writer) = Journal::start(outbox.clone());
        for recorded in record_each_at_once(&journal, &keys, State::Delivered).await {
            recorded.unwrap();
        }
        // Each returned once its result was committed.
        assert_eq!(outbox.counts().unwrap()["delivered"], 200);

        // A refused transaction reaches every attempt that waited on it.
        outbox
            .conn
            .lock()
            .unwrap()
            .execute_batch(
                "CREATE TRIGGER full BEFORE UPDATE ON executions
                 BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
            )
            .unwrap();
        for recorded in record_each_at_once(&journal, &keys, State::Dead).await {
            let refused = recorded.unwrap_err();
            assert!(refused.contains("disk is full"), "{refused}");
        }
        assert_eq!(outbox.counts().unwrap()["delivered"], 200);
        // The writer ends with the last handle, and lets the outbox go.
        drop(journal);
        writer.await.unwrap();
        assert_eq!(Arc::strong_count(&outbox), 1);
    }

    #[test]
    fn one_run_at_a_time_holds_the_outbox() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.db");
        let first = Outbox::open(&path).unwrap();
        let refused = Outbox::open(&path).err().expect("a second run is refused");
        let message = format!("{refused:#}");
        assert!(
            message.contains(&format!(
                "in use by another run (pid {})",
                std::process::id()
            )),
            "{message}"
        );
        assert!(Outbox::open_shared(&path).is_ok(), "looking is allowed");
        drop(first);
        assert!(Outbox::open(&path).is_ok(), "free again once the run ends");
    }
}
