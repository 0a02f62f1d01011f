//! The SQLite schema, as numbered migrations: the database's `user_version` is the number of
//! migrations applied. Append new ones; never edit an applied one.

use rusqlite::Connection;

use xray_customs::store::StoreError;

use crate::codec::Result;

const MIGRATIONS: &[&str] = &[
    // 1: declarations, scans, detections, images, risk history, verdicts, the audit log.
    r#"
    CREATE TABLE declarations (
        id TEXT PRIMARY KEY,
        declarant TEXT NOT NULL,
        origin_country TEXT NOT NULL,
        destination_country TEXT NOT NULL,
        transport_mode TEXT NOT NULL,
        prior_risk REAL NOT NULL,
        registered_ms INTEGER NOT NULL,
        -- The current risk: score, channel, reasons and findings (JSON), and the change that set it.
        score REAL NOT NULL,
        channel TEXT NOT NULL,
        assessment TEXT NOT NULL,
        risk_sequence INTEGER NOT NULL,
        risk_updated_ms INTEGER NOT NULL
    );
    CREATE TABLE declared_items (
        declaration_id TEXT NOT NULL REFERENCES declarations(id),
        line INTEGER NOT NULL,
        hs_code TEXT NOT NULL,
        description TEXT NOT NULL,
        quantity REAL NOT NULL,
        value REAL NOT NULL,
        PRIMARY KEY (declaration_id, line)
    );
    CREATE TABLE scans (
        uid INTEGER PRIMARY KEY,
        scan_id TEXT NOT NULL UNIQUE,
        declaration_id TEXT NOT NULL REFERENCES declarations(id),
        portal_id TEXT NOT NULL,
        view INTEGER NOT NULL,
        model TEXT NOT NULL,
        model_version TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        alarm INTEGER NOT NULL,
        received_ms INTEGER NOT NULL,
        decision TEXT,
        categories TEXT NOT NULL
    );
    CREATE INDEX scans_by_declaration ON scans(declaration_id, uid);
    CREATE INDEX flagged_scans ON scans(alarm, received_ms);
    CREATE TABLE scan_images (
        scan_uid INTEGER PRIMARY KEY REFERENCES scans(uid),
        encoding INTEGER NOT NULL,
        channels INTEGER NOT NULL,
        bytes BLOB NOT NULL
    );
    CREATE TABLE detections (
        scan_uid INTEGER NOT NULL REFERENCES scans(uid),
        idx INTEGER NOT NULL,
        class_name TEXT NOT NULL,
        category TEXT NOT NULL,
        confidence REAL NOT NULL,
        x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,
        alarm INTEGER NOT NULL,
        verdict TEXT,
        verdict_by TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (scan_uid, idx)
    );
    CREATE TABLE risk_changes (
        sequence INTEGER PRIMARY KEY AUTOINCREMENT,
        declaration_id TEXT NOT NULL REFERENCES declarations(id),
        score REAL NOT NULL,
        channel TEXT NOT NULL,
        previous_score REAL,
        previous_channel TEXT,
        reasons TEXT NOT NULL,
        cause TEXT NOT NULL,
        at_ms INTEGER NOT NULL
    );
    CREATE TABLE verdicts (
        id INTEGER PRIMARY KEY,
        scan_uid INTEGER NOT NULL REFERENCES scans(uid),
        inspector_id TEXT NOT NULL,
        comment TEXT NOT NULL,
        decision TEXT,
        judgements TEXT NOT NULL,
        at_ms INTEGER NOT NULL
    );
    CREATE TABLE audit_log (
        sequence INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        declaration_id TEXT NOT NULL,
        scan_id TEXT NOT NULL,
        details TEXT NOT NULL
    );
    CREATE INDEX audit_by_declaration ON audit_log(declaration_id, sequence);
    -- Append-only: entries are never changed or removed.
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    "#,
    // 2: what makes a scan the same scan (its digest), to tell a retry from a reused id.
    // Scans stored before it have an empty digest.
    r#"
    ALTER TABLE scans ADD COLUMN digest TEXT NOT NULL DEFAULT '';
    "#,
    // 3: principals and the SHA-256 of their bearer tokens (never the tokens).
    r#"
    CREATE TABLE principals (
        name TEXT PRIMARY KEY,
        roles TEXT NOT NULL,
        portals TEXT NOT NULL,
        token_sha256 TEXT NOT NULL UNIQUE,
        created_ms INTEGER NOT NULL,
        expires_ms INTEGER,
        revoked_ms INTEGER
    );
    "#,
    // 4: the password an inspector may log in to the review screen with, as its Argon2id
    // PHC string (never the password).
    r#"
    ALTER TABLE principals ADD COLUMN password_phc TEXT;
    "#,
    // 5: images leave the database: a new row names its blob (the hex SHA-256 of the bytes,
    // in the blob store) and its size, with empty `bytes`; rows stored before keep their
    // bytes (blob_key NULL). Columns are added rather than the table rebuilt, so that
    // migrating a large database does not copy every image.
    r#"
    ALTER TABLE scan_images ADD COLUMN blob_key TEXT;
    ALTER TABLE scan_images ADD COLUMN size INTEGER;
    CREATE INDEX scan_images_by_blob ON scan_images(blob_key) WHERE blob_key IS NOT NULL;
    "#,
];

/// Brings the database up to the newest schema; refuses one written by a newer release.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_to(conn, MIGRATIONS.len())
}

/// Applies the migrations up to number `last` (tests build an older database with it).
pub fn migrate_to(conn: &mut Connection, last: usize) -> Result<()> {
    let applied: usize = conn
        .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))?
        .try_into()
        .map_err(|_| StoreError::Corrupt("negative schema version".into()))?;
    if applied > MIGRATIONS.len() {
        return Err(StoreError::Corrupt(format!(
            "the database has schema version {applied}; this release knows up to {}",
            MIGRATIONS.len()
        ))
        .into());
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().take(last).skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(i + 1).unwrap_or(i64::MAX),
        )?;
        tx.commit()?;
        tracing::info!(version = i + 1, "database schema migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_keeps_the_audit_log_append_only() {
        let mut conn = Connection::open_in_memory().expect("db");
        migrate(&mut conn).expect("first");
        migrate(&mut conn).expect("again is a no-op");
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(v, MIGRATIONS.len() as i64);
        conn.execute(
            "INSERT INTO audit_log (at_ms, actor, action, declaration_id, scan_id, details) VALUES (1, 'a', 'b', '', '', '{}')",
            [],
        )
        .expect("append");
        let e = conn
            .execute("DELETE FROM audit_log", [])
            .expect_err("append-only");
        assert!(e.to_string().contains("append-only"), "{e}");
        conn.pragma_update(None, "user_version", 99).expect("set");
        assert!(migrate(&mut conn).is_err());
    }
}
