//! The PostgreSQL schema, as numbered migrations recorded in `schema_migrations`. Append new
//! ones; never edit an applied one. All pending migrations run in one transaction under an
//! advisory lock, so that two nodes starting at once do not both migrate.

use deadpool_postgres::ClientWrapper;

use crate::error::{Failure, Result};
use xray_customs::store::StoreError;

/// The advisory lock key that migrations hold ("xray" in ASCII).
const MIGRATION_LOCK: i64 = 0x7872_6179;

const MIGRATIONS: &[&str] = &[
    // 1: declarations, scans, detections, image references, risk history, verdicts, the
    // audit log, principals, and the counters that number risk changes and audit entries.
    r#"
    CREATE TABLE declarations (
        id TEXT PRIMARY KEY,
        declarant TEXT NOT NULL,
        origin_country TEXT NOT NULL,
        destination_country TEXT NOT NULL,
        transport_mode TEXT NOT NULL,
        prior_risk DOUBLE PRECISION NOT NULL,
        registered_ms BIGINT NOT NULL,
        score DOUBLE PRECISION NOT NULL,
        channel TEXT NOT NULL,
        assessment TEXT NOT NULL,
        risk_sequence BIGINT NOT NULL,
        risk_updated_ms BIGINT NOT NULL
    );
    CREATE TABLE declared_items (
        declaration_id TEXT NOT NULL REFERENCES declarations(id),
        line BIGINT NOT NULL,
        hs_code TEXT NOT NULL,
        description TEXT NOT NULL,
        quantity DOUBLE PRECISION NOT NULL,
        value DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (declaration_id, line)
    );
    CREATE TABLE scans (
        uid BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        scan_id TEXT NOT NULL UNIQUE,
        declaration_id TEXT NOT NULL REFERENCES declarations(id),
        portal_id TEXT NOT NULL,
        view BIGINT NOT NULL,
        model TEXT NOT NULL,
        model_version TEXT NOT NULL,
        width BIGINT NOT NULL,
        height BIGINT NOT NULL,
        alarm BOOLEAN NOT NULL,
        received_ms BIGINT NOT NULL,
        decision TEXT,
        categories TEXT NOT NULL,
        digest TEXT NOT NULL
    );
    CREATE INDEX scans_by_declaration ON scans(declaration_id, uid);
    CREATE INDEX flagged_scans ON scans(alarm, received_ms);
    -- Images are blobs in the blob store: a row names one by its key.
    CREATE TABLE scan_images (
        scan_uid BIGINT PRIMARY KEY REFERENCES scans(uid),
        encoding BIGINT NOT NULL,
        channels BIGINT NOT NULL,
        size BIGINT NOT NULL,
        blob_key TEXT NOT NULL
    );
    CREATE INDEX scan_images_by_blob ON scan_images(blob_key);
    CREATE TABLE detections (
        scan_uid BIGINT NOT NULL REFERENCES scans(uid),
        idx BIGINT NOT NULL,
        class_name TEXT NOT NULL,
        category TEXT NOT NULL,
        confidence DOUBLE PRECISION NOT NULL,
        x1 DOUBLE PRECISION NOT NULL, y1 DOUBLE PRECISION NOT NULL,
        x2 DOUBLE PRECISION NOT NULL, y2 DOUBLE PRECISION NOT NULL,
        alarm BOOLEAN NOT NULL,
        verdict TEXT,
        verdict_by TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (scan_uid, idx)
    );
    -- Numbered from the `risk` counter, in commit order (not a sequence object, which would
    -- leave gaps and commit out of order).
    CREATE TABLE risk_changes (
        sequence BIGINT PRIMARY KEY,
        declaration_id TEXT NOT NULL REFERENCES declarations(id),
        score DOUBLE PRECISION NOT NULL,
        channel TEXT NOT NULL,
        previous_score DOUBLE PRECISION,
        previous_channel TEXT,
        reasons TEXT NOT NULL,
        cause TEXT NOT NULL,
        at_ms BIGINT NOT NULL
    );
    CREATE TABLE verdicts (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        scan_uid BIGINT NOT NULL REFERENCES scans(uid),
        inspector_id TEXT NOT NULL,
        comment TEXT NOT NULL,
        decision TEXT,
        judgements TEXT NOT NULL,
        at_ms BIGINT NOT NULL
    );
    CREATE TABLE audit_log (
        sequence BIGINT PRIMARY KEY,
        at_ms BIGINT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        declaration_id TEXT NOT NULL,
        scan_id TEXT NOT NULL,
        details TEXT NOT NULL
    );
    CREATE INDEX audit_by_declaration ON audit_log(declaration_id, sequence);
    -- Append-only: entries are never changed or removed.
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
    CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
    CREATE TABLE principals (
        name TEXT PRIMARY KEY,
        roles TEXT NOT NULL,
        portals TEXT NOT NULL,
        token_sha256 TEXT NOT NULL UNIQUE,
        created_ms BIGINT NOT NULL,
        expires_ms BIGINT,
        revoked_ms BIGINT,
        password_phc TEXT
    );
    -- The last number given to a risk change and to an audit entry. A write locks both rows
    -- (in name order) at its first append and updates them before it commits: numbers are
    -- gap-free and commits that append are ordered by that lock.
    CREATE TABLE counters (
        name TEXT PRIMARY KEY,
        value BIGINT NOT NULL
    );
    INSERT INTO counters (name, value) VALUES ('audit', 0), ('risk', 0);
    "#,
];

/// Brings the database up to the newest schema; refuses one written by a newer release.
pub async fn migrate(client: &mut ClientWrapper) -> Result<()> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version BIGINT PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .await?;
    let applied: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .await?
        .try_get(0)?;
    let applied = usize::try_from(applied)
        .map_err(|_| StoreError::Corrupt("negative schema version".into()))?;
    if applied > MIGRATIONS.len() {
        return Err(Failure::Store(StoreError::Corrupt(format!(
            "the database has schema version {applied}; this release knows up to {}",
            MIGRATIONS.len()
        ))));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        tx.batch_execute(sql).await?;
        let version = i64::try_from(i + 1).unwrap_or(i64::MAX);
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&version],
        )
        .await?;
        tracing::info!(version, "PostgreSQL schema migrated");
    }
    tx.commit().await?;
    Ok(())
}
