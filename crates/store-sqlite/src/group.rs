//! Group commit: the one write connection commits the work of several writers at once, so that
//! under load the writers share one fsync instead of queueing for one each. A writer runs its
//! work inside a savepoint of the open transaction (its failure undoes its work alone), then
//! either commits the group, when nobody else is waiting to write or the group is full, or
//! leaves the transaction open for the next writer and waits. Nobody is answered before the
//! commit that holds its work: the durability of one transaction per write is kept.

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{
        Arc, Condvar, Mutex, MutexGuard, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
};

use rusqlite::Connection;
use xray_customs::store::StoreError;

use crate::codec::Failure;

/// The most writers one commit holds: bounds how long the first of them waits.
pub const MAX_GROUP: usize = 64;

/// How one group's commit ended (the error's text when it failed).
type Outcome = Arc<OnceLock<Result<(), String>>>;

struct Side {
    conn: Connection,
    /// Whether a transaction is open.
    open: bool,
    /// Writers whose committed-to-be work is in the open transaction.
    pending: usize,
    /// Where the open group's commit will be told.
    outcome: Outcome,
}

pub struct GroupCommit {
    side: Mutex<Side>,
    committed: Condvar,
    /// Writers waiting for the connection: while there are any, a group stays open for them.
    queued: AtomicUsize,
    /// Commits made (of groups with work in them).
    commits: AtomicUsize,
}

impl GroupCommit {
    pub fn new(conn: Connection) -> Self {
        Self {
            side: Mutex::new(Side {
                conn,
                open: false,
                pending: 0,
                outcome: Outcome::default(),
            }),
            committed: Condvar::new(),
            queued: AtomicUsize::new(0),
            commits: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Side> {
        // Work runs under catch_unwind, so a poisoned lock still guards a sound connection.
        self.side.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `work` in the write transaction; answers once it is committed (or failed).
    pub fn run<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let mut side = self.lock();
        self.queued.fetch_sub(1, Ordering::SeqCst);
        if !side.open {
            if let Err(e) = side.conn.execute_batch("BEGIN IMMEDIATE") {
                return Err(Failure::from(e).into());
            }
            side.open = true;
        }
        let result = run_in_savepoint(&side.conn, work);
        let outcome = Arc::clone(&side.outcome);
        if result.is_ok() {
            side.pending += 1;
        }
        if self.queued.load(Ordering::SeqCst) == 0 || side.pending >= MAX_GROUP {
            self.close_group(&mut side);
        }
        let value = result?;
        // Wait (letting the next writers in) until the group holding this work is committed.
        while outcome.get().is_none() {
            side = self.committed.wait(side).unwrap_or_else(|p| p.into_inner());
        }
        drop(side);
        match outcome.get() {
            Some(Ok(())) => Ok(value),
            Some(Err(e)) => Err(StoreError::Database(e.clone())),
            None => Err(StoreError::Database("a group commit was not told".into())),
        }
    }

    /// Commits the open group (or rolls back a transaction with no work in it) and wakes its
    /// writers.
    fn close_group(&self, side: &mut Side) {
        let ended = if side.pending == 0 {
            side.conn
                .execute_batch("ROLLBACK")
                .map_err(|e| e.to_string())
        } else {
            self.commits.fetch_add(1, Ordering::Relaxed);
            side.conn.execute_batch("COMMIT").map_err(|e| {
                // A failed COMMIT may leave the transaction open: end it, so the next
                // writer starts clean.
                let _ = side.conn.execute_batch("ROLLBACK");
                format!("the commit failed: {e}")
            })
        };
        let _ = side.outcome.set(ended);
        side.outcome = Outcome::default();
        side.open = false;
        side.pending = 0;
        self.committed.notify_all();
    }
}

/// `work` inside a savepoint: its failure (or panic) undoes its own writes and nothing else.
fn run_in_savepoint<T>(
    conn: &Connection,
    work: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.execute_batch("SAVEPOINT unit")
        .map_err(Failure::from)?;
    let result = catch_unwind(AssertUnwindSafe(|| work(conn)))
        .unwrap_or_else(|_| Err(StoreError::Database("a unit of work panicked".into())));
    let ended = match &result {
        Ok(_) => conn.execute_batch("RELEASE unit"),
        Err(_) => conn.execute_batch("ROLLBACK TO unit; RELEASE unit"),
    };
    ended.map_err(Failure::from)?;
    result
}

#[cfg(test)]
mod tests {
    use std::{sync::Arc, thread};

    use super::*;

    fn open(path: &std::path::Path) -> Connection {
        let conn = Connection::open(path).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn
    }

    /// Many writers at once, some failing, one panicking: each one answered Ok is committed
    /// when it is answered (another connection reads it), each failure undid only its own
    /// work, and the groups really held several writers.
    #[test]
    fn concurrent_writers_share_commits_and_fail_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.db");
        let conn = open(&path);
        conn.execute_batch("CREATE TABLE t (writer INTEGER, n INTEGER)")
            .unwrap();
        let group = Arc::new(GroupCommit::new(conn));
        let threads: Vec<_> = (0..16)
            .map(|w| {
                let (group, path) = (Arc::clone(&group), path.clone());
                thread::spawn(move || {
                    let reader = open(&path);
                    let mut ok = 0;
                    for n in 0..40 {
                        let result = group.run(|conn| {
                            conn.execute("INSERT INTO t VALUES (?1, ?2)", [w, n])
                                .map_err(Failure::from)?;
                            if n % 7 == 3 {
                                return Err(StoreError::RolledBack);
                            }
                            if w == 5 && n == 20 {
                                panic!("a bug in a unit of work");
                            }
                            Ok(n)
                        });
                        match result {
                            Ok(got) => {
                                assert_eq!(got, n);
                                ok += 1;
                                let seen: i64 = reader
                                    .query_row(
                                        "SELECT COUNT(*) FROM t WHERE writer = ?1 AND n = ?2",
                                        [w, n],
                                        |r| r.get(0),
                                    )
                                    .unwrap();
                                assert_eq!(seen, 1, "answered before its commit");
                            }
                            Err(StoreError::RolledBack) => assert_eq!(n % 7, 3),
                            Err(StoreError::Database(e)) => {
                                assert!((w, n) == (5, 20) && e.contains("panicked"), "{e}")
                            }
                            Err(e) => panic!("{e}"),
                        }
                    }
                    ok
                })
            })
            .collect();
        let answered_ok: i64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
        let reader = open(&path);
        let rows: i64 = reader
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, answered_ok);
        let failed: i64 = reader
            .query_row(
                "SELECT COUNT(*) FROM t WHERE n % 7 = 3 OR (writer = 5 AND n = 20)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(failed, 0);
        assert_eq!(answered_ok, 16 * 40 - 16 * 6 - 1);
        let commits = group.commits.load(Ordering::Relaxed) as i64;
        assert!(
            commits < answered_ok,
            "{commits} commits for {answered_ok} writes"
        );
        eprintln!("{answered_ok} writes in {commits} commits");
    }
}
