//! The embedded store: one SQLite file under `--data-dir`, in WAL mode with
//! `synchronous=FULL`, so that a committed write survives the process being killed (and the
//! machine losing power). One connection writes (writes are serialised, which also numbers
//! risk changes in commit order); another reads alongside it.

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    sync::{Mutex, MutexGuard},
};

use rusqlite::Connection;
use xray_customs::{
    declaration::{DeclarationState, RiskChange, StoredScan},
    principal::Principal,
    store::{
        AuditEntry, AuditQuery, ClassAccuracy, FlaggedQuery, FlaggedScan, KeptImage, Purged, Store,
        StoreError, UnitOfWork,
    },
};

use crate::{
    codec::{Failure, Result},
    read, schema,
    write::Writer,
};

/// The database file's name inside the data folder.
pub const DATABASE_FILE: &str = "xray-screen.db";

/// The SQLite implementation of [`Store`].
pub struct SqliteStore {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    path: PathBuf,
}

fn open_connection(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(conn)
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic inside a transaction rolled it back when the guard dropped: the connection is fine.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SqliteStore {
    /// Opens (creating it and its folder if needed) the database in `dir`, migrated to the
    /// newest schema.
    pub fn open(dir: &Path) -> std::result::Result<Self, StoreError> {
        Ok(Self::open_inner(dir)?)
    }

    fn open_inner(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Database(format!(
                "cannot create the data folder {}: {e}",
                dir.display()
            ))
        })?;
        let path = dir.join(DATABASE_FILE);
        let mut writer = open_connection(&path)?;
        schema::migrate(&mut writer)?;
        let reader = open_connection(&path)?;
        Ok(Self {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Store for SqliteStore {
    fn write(
        &self,
        work: &mut dyn FnMut(&mut dyn UnitOfWork) -> std::result::Result<(), StoreError>,
    ) -> std::result::Result<(), StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction().map_err(Failure::from)?;
        // Dropping the transaction without a commit rolls it back.
        work(&mut Writer { tx: &tx })?;
        tx.commit().map_err(Failure::from)?;
        Ok(())
    }

    fn declaration(&self, id: &str) -> std::result::Result<Option<DeclarationState>, StoreError> {
        Ok(read::load_state(&lock(&self.reader), id)?)
    }

    fn is_registered(&self, id: &str) -> std::result::Result<bool, StoreError> {
        Ok(read::is_registered(&lock(&self.reader), id)?)
    }

    fn scan(&self, scan_id: &str) -> std::result::Result<Option<StoredScan>, StoreError> {
        Ok(read::scan(&lock(&self.reader), scan_id)?)
    }

    fn scan_image(&self, scan_id: &str) -> std::result::Result<Option<KeptImage>, StoreError> {
        Ok(read::scan_image(&lock(&self.reader), scan_id)?)
    }

    fn risk_changes_after(
        &self,
        after: u64,
        limit: usize,
    ) -> std::result::Result<Vec<RiskChange>, StoreError> {
        Ok(read::risk_changes_after(&lock(&self.reader), after, limit)?)
    }

    fn last_risk_sequence(&self) -> std::result::Result<u64, StoreError> {
        Ok(read::last_risk_sequence(&lock(&self.reader))?)
    }

    fn flagged(&self, q: &FlaggedQuery) -> std::result::Result<Vec<FlaggedScan>, StoreError> {
        Ok(read::flagged(&lock(&self.reader), q)?)
    }

    fn audit(&self, q: &AuditQuery) -> std::result::Result<Vec<AuditEntry>, StoreError> {
        Ok(read::audit(&lock(&self.reader), q)?)
    }

    fn accuracy(&self, model: Option<&str>) -> std::result::Result<Vec<ClassAccuracy>, StoreError> {
        Ok(read::accuracy(&lock(&self.reader), model)?)
    }

    fn principals(&self) -> std::result::Result<Vec<Principal>, StoreError> {
        Ok(read::principals(&lock(&self.reader))?)
    }

    fn principal_by_token(
        &self,
        token_sha256: &str,
    ) -> std::result::Result<Option<Principal>, StoreError> {
        Ok(read::principal_by_token(&lock(&self.reader), token_sha256)?)
    }

    fn principal_by_name(&self, name: &str) -> std::result::Result<Option<Principal>, StoreError> {
        Ok(read::principal_by_name(&lock(&self.reader), name)?)
    }

    fn password_of(&self, name: &str) -> std::result::Result<Option<String>, StoreError> {
        Ok(read::password_of(&lock(&self.reader), name)?)
    }

    fn purge_images(&self, before_ms: i64) -> std::result::Result<Purged, StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction().map_err(Failure::from)?;
        let purged = purge(&tx, before_ms)?;
        tx.commit().map_err(Failure::from)?;
        Ok(purged)
    }

    fn referenced_images(
        &self,
        keys: &[String],
    ) -> std::result::Result<HashSet<String>, StoreError> {
        Ok(read::referenced_images(&lock(&self.reader), keys)?)
    }
}

/// Deletes the image rows of scans received before `before_ms` and answers which of their
/// blobs no row names any more (the same bytes kept for two scans are one blob).
fn purge(tx: &rusqlite::Transaction<'_>, before_ms: i64) -> Result<Purged> {
    const OLD: &str = "scan_uid IN (SELECT uid FROM scans WHERE received_ms < ?1)";
    let keys: Vec<String> = tx
        .prepare(&format!(
            "SELECT DISTINCT blob_key FROM scan_images WHERE blob_key IS NOT NULL AND {OLD}"
        ))?
        .query_map([before_ms], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let scans = tx.execute(&format!("DELETE FROM scan_images WHERE {OLD}"), [before_ms])?;
    let still = read::referenced_images(tx, &keys)?;
    let unreferenced = keys.into_iter().filter(|k| !still.contains(k)).collect();
    Ok(Purged {
        scans,
        unreferenced,
    })
}
