//! The durable outbox: every execution a run will make is written here
//! before it runs, and marked only once Meta has answered. A run killed at
//! any moment and started again resumes from it: what Meta acknowledged is
//! not sent again, and nothing is lost. SQLite (bundled), in WAL mode.
//!
//! Rows hold ids, states and Meta's answers, never the access token nor the
//! contact's data: a resumed run reads those from its input files again.

use anyhow::{Context as _, Result};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

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
    /// `firing id`, workflow name and action index.
    pub key: String,
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

/// The outbox file.
pub struct Outbox {
    conn: Mutex<Connection>,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Outbox {
    /// Opens (or creates) the outbox at `path`.
    pub fn open(path: &Path) -> Result<Outbox> {
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open the outbox {}", path.display()))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA busy_timeout = 5000;
             CREATE TABLE IF NOT EXISTS executions (
                 key TEXT PRIMARY KEY,
                 firing_id TEXT NOT NULL,
                 workflow TEXT NOT NULL,
                 action TEXT NOT NULL,
                 source TEXT NOT NULL,
                 state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'skipped', 'dead')),
                 attempts INTEGER NOT NULL DEFAULT 0,
                 event_name TEXT,
                 event_id TEXT,
                 fbtrace_id TEXT,
                 last_error TEXT,
                 created_at INTEGER NOT NULL,
                 updated_at INTEGER NOT NULL
             );
             CREATE INDEX IF NOT EXISTS executions_state ON executions (state);",
        )
        .with_context(|| format!("{} is not an outbox", path.display()))?;
        Ok(Outbox {
            conn: Mutex::new(conn),
        })
    }

    /// Writes the executions a run is about to make, leaving those already
    /// there as they are. One transaction: all or nothing.
    pub fn enqueue<'a>(
        &self,
        entries: impl IntoIterator<Item = (&'a str, &'a str, &'a str, &'a str, &'a str)>,
    ) -> Result<()> {
        let mut conn = self.conn.lock().unwrap();
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO executions (key, firing_id, workflow, action, source, state, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?6)",
            )?;
            let at = now();
            for (key, firing_id, workflow, action, source) in entries {
                insert.execute(params![key, firing_id, workflow, action, source, at])?;
            }
        }
        tx.commit()?;
        Ok(())
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
        let conn = self.conn.lock().unwrap();
        let mut stmt = conn.prepare_cached(
            "SELECT key, firing_id, workflow, action, source, state, attempts, event_name, event_id, fbtrace_id, last_error, updated_at
             FROM executions WHERE (?1 IS NULL OR state = ?1) ORDER BY created_at, rowid",
        )?;
        let rows = stmt.query_map(params![state.map(State::as_str)], |r| {
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
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records the result of one attempt.
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &self,
        key: &str,
        state: State,
        event_name: Option<&str>,
        event_id: Option<&str>,
        fbtrace_id: Option<&str>,
        last_error: Option<&str>,
    ) -> Result<()> {
        let conn = self.conn.lock().unwrap();
        conn.prepare_cached(
            "UPDATE executions SET state = ?2, attempts = attempts + 1,
                 event_name = COALESCE(?3, event_name), event_id = COALESCE(?4, event_id),
                 fbtrace_id = COALESCE(?5, fbtrace_id), last_error = ?6, updated_at = ?7
             WHERE key = ?1",
        )?
        .execute(params![
            key,
            state.as_str(),
            event_name,
            event_id,
            fbtrace_id,
            last_error,
            now()
        ])?;
        Ok(())
    }

    /// How many entries are in each state.
    pub fn counts(&self) -> Result<HashMap<&'static str, u64>> {
        let conn = self.conn.lock().unwrap();
        let mut out = HashMap::new();
        for st in [
            State::Pending,
            State::Delivered,
            State::Skipped,
            State::Dead,
        ] {
            let n: u64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM executions WHERE state = ?1",
                    [st.as_str()],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or(0);
            out.insert(st.as_str(), n);
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

    #[test]
    fn entries_survive_reopening_and_move_between_states() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.db");
        {
            let o = Outbox::open(&path).unwrap();
            o.enqueue([
                ("k1", "f1", "w", "a", "f.jsonl:1"),
                ("k2", "f2", "w", "a", "f.jsonl:2"),
            ])
            .unwrap();
            o.record(
                "k1",
                State::Delivered,
                Some("Lead"),
                Some("f1"),
                Some("T"),
                None,
            )
            .unwrap();
            o.record(
                "k2",
                State::Dead,
                Some("Lead"),
                Some("f2"),
                None,
                Some("code 190"),
            )
            .unwrap();
        }
        let o = Outbox::open(&path).unwrap();
        o.enqueue([("k1", "f1", "w", "a", "f.jsonl:1")]).unwrap();
        let all = o.all().unwrap();
        assert_eq!(
            all["k1"].state,
            State::Delivered,
            "enqueue leaves existing entries alone"
        );
        assert_eq!(all["k2"].last_error.as_deref(), Some("code 190"));
        assert_eq!(o.requeue_dead().unwrap(), 1);
        assert_eq!(o.counts().unwrap()["pending"], 1);
        assert_eq!(o.purge(State::Delivered).unwrap(), 1);
        assert_eq!(o.list(None).unwrap().len(), 1);
    }
}
