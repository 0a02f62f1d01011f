//! A write transaction as the domain's [`UnitOfWork`]. The unit of work is synchronous and
//! runs on the caller's thread; each of its statements is sent to the store's runtime with
//! the transaction's connection, and the caller waits for the answer (see [`crate::pg`]).
//!
//! Serialisation across nodes, in READ COMMITTED:
//! - [`UnitOfWork::declaration`] takes a transaction-scoped advisory lock on the declaration
//!   id (which also covers an id not registered yet, where a row lock has no row), then reads
//!   it; [`UnitOfWork::scan_owner`] then locks the scan id. Every write takes at most one of
//!   each, in that order, so writes to one declaration run one at a time and a scan id sent
//!   to two nodes at once is stored once (the second finds it, under the lock).
//! - The first risk change or audit entry of a transaction locks both rows of `counters`
//!   (in name order, so two writers never wait on each other in a cycle) and numbers from
//!   them; the lock is held until commit, so numbers are gap-free and committed in order.

use std::{future::Future, pin::Pin};

use deadpool_postgres::ClientWrapper as Db;
use xray_customs::{
    declaration::{
        Assessment, CurrentRisk, Declaration, DeclarationState, RiskChange, ScanDecision,
    },
    principal::Principal,
    store::{
        ImageAt, NewAuditEntry, NewScan, StoreError, UnitOfWork, VerdictRecord, alarm_categories,
    },
};

use crate::{
    codec::{encoding_code, i64_of, to_json, transport_name, u64_of, view_code},
    error::{Failure, Kind, Result},
    pg::{Conn, Inner},
    read,
};

/// The advisory lock classes (the first key of the two-key form).
const DECLARATION_LOCK: i32 = 1;
const SCAN_LOCK: i32 = 2;

/// The channel a committed risk change is announced on (payload: its sequence number).
pub const RISK_CHANNEL: &str = "xray_risk";

type Boxed<'c, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'c>>;

/// One open write transaction.
pub struct Writer<'s> {
    inner: &'s Inner,
    /// The transaction's connection; None once a statement timed out (it went with the task).
    conn: Option<Conn>,
    counters_locked: bool,
    /// A statement failed: the transaction is aborted and must not be reported committed.
    failed: bool,
    /// The database aborted the transaction to resolve a conflict: it may be run again.
    pub retry: bool,
}

impl<'s> Writer<'s> {
    /// Takes a connection and begins a transaction.
    pub fn begin(inner: &'s Inner) -> std::result::Result<Self, StoreError> {
        let pool = inner.pool.clone();
        let conn = inner
            .wait(async move {
                let mut conn = Conn::get(&pool).await?;
                conn.begin().await?;
                Ok::<_, Failure>(conn)
            })
            .and_then(|r| r)
            .map_err(|f| inner.error(f))?;
        Ok(Self {
            inner,
            conn: Some(conn),
            counters_locked: false,
            failed: false,
            retry: false,
        })
    }

    /// Runs one step of the transaction on the store's runtime and waits for it.
    fn run<T, F>(&mut self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c Db) -> Boxed<'c, T> + Send + 'static,
    {
        let Some(conn) = self.conn.take() else {
            return Err(self.failed(StoreError::Database(
                "the transaction's connection was lost after an earlier failure".into(),
            )));
        };
        let answer = self.inner.wait(async move {
            let r = f(conn.db()).await;
            (conn, r)
        });
        let r = match answer {
            Ok((conn, r)) => {
                self.conn = Some(conn);
                r
            }
            // The connection stayed with the abandoned statement: it is closed, not pooled.
            Err(timeout) => Err(timeout),
        };
        r.inspect_err(|f| {
            // A failure of the database aborts its transaction; one of ours (an unknown scan,
            // a corrupt row) does not, and the unit of work may go on.
            if !matches!(f, Failure::Store(_)) {
                self.failed = true;
            }
            if f.kind() == Kind::Retry {
                self.retry = true;
            }
        })
    }

    fn failed(&mut self, e: StoreError) -> Failure {
        self.failed = true;
        Failure::Store(e)
    }

    fn store<T>(&self, r: Result<T>) -> std::result::Result<T, StoreError> {
        r.map_err(|f| self.inner.error(f))
    }

    /// Commits; a transaction in which a statement failed is rolled back and reported so.
    pub fn commit(mut self) -> std::result::Result<(), StoreError> {
        if self.failed {
            self.rollback();
            return Err(StoreError::Database(
                "a statement of the transaction failed; nothing was written".into(),
            ));
        }
        let Some(mut conn) = self.conn.take() else {
            return Err(StoreError::Database(
                "the transaction's connection was lost".into(),
            ));
        };
        let answer = self.inner.wait(async move {
            let r = conn.end("COMMIT").await;
            (conn, r)
        });
        match answer {
            Ok((_, Ok(()))) => Ok(()),
            Ok((_, Err(f))) | Err(f) => {
                if f.kind() == Kind::Retry {
                    self.retry = true;
                }
                Err(self.inner.error(f))
            }
        }
    }

    /// Rolls back (a connection that cannot is closed, which rolls back too).
    pub fn rollback(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            let _ = self.inner.wait(async move {
                let _ = conn.end("ROLLBACK").await;
            });
        }
    }

    fn lock_counters(&mut self) -> Result<()> {
        if self.counters_locked {
            return Ok(());
        }
        self.run(|db| {
            Box::pin(async move {
                let stmt = db
                    .prepare_cached("SELECT value FROM counters ORDER BY name FOR UPDATE")
                    .await?;
                db.query(&stmt, &[]).await?;
                Ok(())
            })
        })?;
        self.counters_locked = true;
        Ok(())
    }
}

async fn lock(db: &Db, class: i32, key: &str) -> Result<()> {
    let stmt = db
        .prepare_cached("SELECT pg_advisory_xact_lock($1, hashtext($2))::TEXT")
        .await?;
    db.query(&stmt, &[&class, &key]).await?;
    Ok(())
}

async fn insert_declaration(
    db: &Db,
    declaration: &Declaration,
    registered_ms: i64,
    assessment: &Assessment,
) -> Result<()> {
    let stmt = db
        .prepare_cached(
            "INSERT INTO declarations (id, declarant, origin_country, destination_country, transport_mode,
                prior_risk, registered_ms, score, channel, assessment, risk_sequence, risk_updated_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $7)",
        )
        .await?;
    db.execute(
        &stmt,
        &[
            &declaration.id,
            &declaration.declarant,
            &declaration.origin_country,
            &declaration.destination_country,
            &transport_name(declaration.transport_mode)?,
            &declaration.prior_risk,
            &registered_ms,
            &assessment.score,
            &assessment.channel.as_str(),
            &to_json(assessment)?,
        ],
    )
    .await?;
    let stmt = db
        .prepare_cached(
            "INSERT INTO declared_items (declaration_id, line, hs_code, description, quantity, value)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .await?;
    for (line, item) in declaration.items.iter().enumerate() {
        db.execute(
            &stmt,
            &[
                &declaration.id,
                &i64_of(line as u64),
                &item.hs_code.digits(),
                &item.description,
                &item.quantity,
                &item.value,
            ],
        )
        .await?;
    }
    Ok(())
}

async fn insert_scan(db: &Db, new: &NewScan) -> Result<()> {
    let scan = &new.scan;
    let categories: String = alarm_categories(&scan.detections)
        .into_iter()
        .map(|c| format!(",{c}"))
        .collect::<String>()
        + ",";
    let stmt = db
        .prepare_cached(
            "INSERT INTO scans (scan_id, declaration_id, portal_id, view, model, model_version, width, height,
                alarm, received_ms, decision, categories, digest)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, $11, $12) RETURNING uid",
        )
        .await?;
    let uid: i64 = db
        .query_one(
            &stmt,
            &[
                &scan.scan_id,
                &scan.declaration_id,
                &scan.portal_id,
                &view_code(scan.view),
                &scan.model,
                &scan.model_version,
                &i64::from(scan.width),
                &i64::from(scan.height),
                &scan.alarm,
                &scan.received_ms,
                &categories,
                &scan.digest,
            ],
        )
        .await?
        .try_get(0)?;
    let stmt = db
        .prepare_cached(
            "INSERT INTO detections (scan_uid, idx, class_name, category, confidence, x1, y1, x2, y2, alarm)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .await?;
    for d in &scan.detections {
        db.execute(
            &stmt,
            &[
                &uid,
                &i64::from(d.id),
                &d.class_name,
                &d.category.to_string(),
                &f64::from(d.confidence),
                &f64::from(d.bbox.x1),
                &f64::from(d.bbox.y1),
                &f64::from(d.bbox.x2),
                &f64::from(d.bbox.y2),
                &d.alarm,
            ],
        )
        .await?;
    }
    if let Some(image) = &new.image {
        let ImageAt::Blob(key) = &image.at else {
            return Err(StoreError::Database(
                "the PostgreSQL store keeps images in the blob store: it takes a blob key, not the bytes"
                    .into(),
            )
            .into());
        };
        let stmt = db
            .prepare_cached(
                "INSERT INTO scan_images (scan_uid, encoding, channels, size, blob_key)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .await?;
        db.execute(
            &stmt,
            &[
                &uid,
                &encoding_code(image.encoding),
                &i64::from(image.channels),
                &i64_of(image.size),
                key,
            ],
        )
        .await?;
    }
    Ok(())
}

async fn insert_verdict(db: &Db, verdict: &VerdictRecord) -> Result<String> {
    let stmt = db
        .prepare_cached("SELECT uid, declaration_id FROM scans WHERE scan_id = $1")
        .await?;
    let Some(row) = db.query_opt(&stmt, &[&verdict.scan_id]).await? else {
        return Err(StoreError::UnknownScan(verdict.scan_id.clone()).into());
    };
    let (uid, declaration_id): (i64, String) = (row.try_get(0)?, row.try_get(1)?);
    // The declaration's lock before any change, as every write takes it first.
    lock(db, DECLARATION_LOCK, &declaration_id).await?;
    let stmt = db
        .prepare_cached(
            "UPDATE detections SET verdict = $1, verdict_by = $2 WHERE scan_uid = $3 AND idx = $4",
        )
        .await?;
    for (idx, v) in &verdict.detections {
        let changed = db
            .execute(
                &stmt,
                &[&v.as_str(), &verdict.inspector_id, &uid, &i64::from(*idx)],
            )
            .await?;
        if changed != 1 {
            return Err(StoreError::Corrupt(format!(
                "scan {} has no detection {idx}",
                verdict.scan_id
            ))
            .into());
        }
    }
    if let Some(decision) = verdict.decision {
        let stmt = db
            .prepare_cached("UPDATE scans SET decision = $1 WHERE uid = $2")
            .await?;
        db.execute(&stmt, &[&decision.as_str(), &uid]).await?;
    }
    let judgements: Vec<serde_json::Value> = verdict
        .detections
        .iter()
        .map(|(idx, v)| serde_json::json!({"detection_id": idx, "verdict": v.as_str()}))
        .collect();
    let stmt = db
        .prepare_cached(
            "INSERT INTO verdicts (scan_uid, inspector_id, comment, decision, judgements, at_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .await?;
    db.execute(
        &stmt,
        &[
            &uid,
            &verdict.inspector_id,
            &verdict.comment,
            &verdict.decision.map(ScanDecision::as_str),
            &serde_json::Value::Array(judgements).to_string(),
            &verdict.at_ms,
        ],
    )
    .await?;
    Ok(declaration_id)
}

async fn append_risk_change(db: &Db, change: &RiskChange) -> Result<u64> {
    // Numbered from the counter the transaction has locked; announced on commit.
    let stmt = db
        .prepare_cached(
            "WITH n AS (UPDATE counters SET value = value + 1 WHERE name = 'risk' RETURNING value),
                  i AS (INSERT INTO risk_changes (sequence, declaration_id, score, channel, previous_score,
                            previous_channel, reasons, cause, at_ms)
                        SELECT n.value, $1, $2, $3, $4, $5, $6, $7, $8 FROM n RETURNING sequence)
             SELECT sequence, pg_notify('xray_risk', sequence::TEXT)::TEXT FROM i",
        )
        .await?;
    let row = db
        .query_one(
            &stmt,
            &[
                &change.declaration_id,
                &change.score,
                &change.channel.as_str(),
                &change.previous.map(|p| p.0),
                &change.previous.map(|p| p.1.as_str()),
                &to_json(&change.reasons)?,
                &change.cause,
                &change.at_ms,
            ],
        )
        .await?;
    Ok(u64_of(row.try_get(0)?))
}

async fn set_risk(db: &Db, declaration_id: &str, risk: &CurrentRisk) -> Result<()> {
    let stmt = db
        .prepare_cached(
            "UPDATE declarations SET score = $1, channel = $2, assessment = $3, risk_sequence = $4,
                risk_updated_ms = $5
             WHERE id = $6",
        )
        .await?;
    db.execute(
        &stmt,
        &[
            &risk.assessment.score,
            &risk.assessment.channel.as_str(),
            &to_json(&risk.assessment)?,
            &i64_of(risk.sequence),
            &risk.updated_ms,
            &declaration_id,
        ],
    )
    .await?;
    Ok(())
}

async fn append_audit(db: &Db, entry: &NewAuditEntry) -> Result<u64> {
    let stmt = db
        .prepare_cached(
            "WITH n AS (UPDATE counters SET value = value + 1 WHERE name = 'audit' RETURNING value)
             INSERT INTO audit_log (sequence, at_ms, actor, action, declaration_id, scan_id, details)
             SELECT n.value, $1, $2, $3, $4, $5, $6 FROM n RETURNING sequence",
        )
        .await?;
    let row = db
        .query_one(
            &stmt,
            &[
                &entry.at_ms,
                &entry.actor,
                &entry.action,
                &entry.declaration_id,
                &entry.scan_id,
                &entry.details.to_string(),
            ],
        )
        .await?;
    Ok(u64_of(row.try_get(0)?))
}

async fn insert_principal(db: &Db, principal: &Principal, token_sha256: &str) -> Result<()> {
    let stmt = db
        .prepare_cached("SELECT 1 FROM principals WHERE name = $1")
        .await?;
    if db.query_opt(&stmt, &[&principal.name]).await?.is_some() {
        return Err(StoreError::DuplicatePrincipal(principal.name.clone()).into());
    }
    let roles: Vec<&str> = principal.roles.iter().map(|r| r.as_str()).collect();
    let stmt = db
        .prepare_cached(
            "INSERT INTO principals (name, roles, portals, token_sha256, created_ms, expires_ms, revoked_ms)
             VALUES ($1, $2, $3, $4, $5, $6, NULL)",
        )
        .await?;
    db.execute(
        &stmt,
        &[
            &principal.name,
            &roles.join(","),
            &to_json(&principal.portals)?,
            &token_sha256,
            &principal.created_ms,
            &principal.expires_ms,
        ],
    )
    .await?;
    Ok(())
}

impl UnitOfWork for Writer<'_> {
    fn declaration(
        &mut self,
        id: &str,
    ) -> std::result::Result<Option<DeclarationState>, StoreError> {
        let id = id.to_string();
        let r = self.run(move |db| {
            Box::pin(async move {
                lock(db, DECLARATION_LOCK, &id).await?;
                read::load_state(db, &id).await
            })
        });
        self.store(r)
    }

    fn scan_owner(&mut self, scan_id: &str) -> std::result::Result<Option<String>, StoreError> {
        let scan_id = scan_id.to_string();
        let r = self.run(move |db| {
            Box::pin(async move {
                lock(db, SCAN_LOCK, &scan_id).await?;
                let stmt = db
                    .prepare_cached("SELECT declaration_id FROM scans WHERE scan_id = $1")
                    .await?;
                Ok(match db.query_opt(&stmt, &[&scan_id]).await? {
                    Some(row) => Some(row.try_get(0)?),
                    None => None,
                })
            })
        });
        self.store(r)
    }

    fn insert_declaration(
        &mut self,
        declaration: &Declaration,
        registered_ms: i64,
        assessment: &Assessment,
    ) -> std::result::Result<(), StoreError> {
        let (declaration, assessment) = (declaration.clone(), assessment.clone());
        let r = self.run(move |db| {
            Box::pin(async move {
                insert_declaration(db, &declaration, registered_ms, &assessment).await
            })
        });
        self.store(r)
    }

    fn insert_scan(&mut self, scan: &NewScan) -> std::result::Result<(), StoreError> {
        let scan = scan.clone();
        let r = self.run(move |db| Box::pin(async move { insert_scan(db, &scan).await }));
        self.store(r)
    }

    fn insert_verdict(
        &mut self,
        verdict: &VerdictRecord,
    ) -> std::result::Result<String, StoreError> {
        let verdict = verdict.clone();
        let r = self.run(move |db| Box::pin(async move { insert_verdict(db, &verdict).await }));
        self.store(r)
    }

    fn append_risk_change(
        &mut self,
        mut change: RiskChange,
    ) -> std::result::Result<RiskChange, StoreError> {
        let r = self.lock_counters();
        self.store(r)?;
        let sent = change.clone();
        let r = self.run(move |db| Box::pin(async move { append_risk_change(db, &sent).await }));
        change.sequence = self.store(r)?;
        Ok(change)
    }

    fn set_risk(
        &mut self,
        declaration_id: &str,
        risk: &CurrentRisk,
    ) -> std::result::Result<(), StoreError> {
        let (id, risk) = (declaration_id.to_string(), risk.clone());
        let r = self.run(move |db| Box::pin(async move { set_risk(db, &id, &risk).await }));
        self.store(r)
    }

    fn append_audit(&mut self, entry: &NewAuditEntry) -> std::result::Result<u64, StoreError> {
        let r = self.lock_counters();
        self.store(r)?;
        let entry = entry.clone();
        let r = self.run(move |db| Box::pin(async move { append_audit(db, &entry).await }));
        self.store(r)
    }

    fn insert_principal(
        &mut self,
        principal: &Principal,
        token_sha256: &str,
    ) -> std::result::Result<(), StoreError> {
        let (principal, token) = (principal.clone(), token_sha256.to_string());
        let name = principal.name.clone();
        let r = self
            .run(move |db| Box::pin(async move { insert_principal(db, &principal, &token).await }));
        match r {
            // Added by another node since the check.
            Err(f) if f.kind() == Kind::Unique("principals_pkey".into()) => {
                Err(StoreError::DuplicatePrincipal(name))
            }
            r => self.store(r),
        }
    }

    fn revoke_principal(
        &mut self,
        name: &str,
        at_ms: i64,
    ) -> std::result::Result<bool, StoreError> {
        let name = name.to_string();
        let r = self.run(move |db| {
            Box::pin(async move {
                let stmt = db
                    .prepare_cached(
                        "UPDATE principals SET revoked_ms = $1 WHERE name = $2 AND revoked_ms IS NULL",
                    )
                    .await?;
                Ok(db.execute(&stmt, &[&at_ms, &name]).await? == 1)
            })
        });
        self.store(r)
    }

    fn set_password(
        &mut self,
        name: &str,
        password_phc: &str,
    ) -> std::result::Result<bool, StoreError> {
        let (name, phc) = (name.to_string(), password_phc.to_string());
        let r = self.run(move |db| {
            Box::pin(async move {
                let stmt = db
                    .prepare_cached(
                        "UPDATE principals SET password_phc = $1 WHERE name = $2 AND revoked_ms IS NULL",
                    )
                    .await?;
                Ok(db.execute(&stmt, &[&phc, &name]).await? == 1)
            })
        });
        self.store(r)
    }
}
