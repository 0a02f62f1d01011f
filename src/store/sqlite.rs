//! The embedded store: one SQLite file under `--data-dir`, in WAL mode with
//! `synchronous=FULL`, so that a committed write survives the process being killed (and the
//! machine losing power). One connection writes (writes are serialised, which also numbers
//! risk changes in commit order); another reads alongside it.

use std::{
    path::{Path, PathBuf},
    sync::{Mutex, MutexGuard},
};

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{
    Assess, AuditEntry, AuditQuery, ClassAccuracy, FlaggedQuery, FlaggedScan, NewScan,
    Registration, RiskOutcome, Store, StoreError, VerdictRecord, alarm_categories, schema,
};
use crate::{
    declaration::{
        Assessment, Channel, CurrentRisk, Declaration, DeclarationState, DeclaredItem,
        DetectionVerdict, HsCode, RiskChange, ScanDecision, StoredDetection, StoredImage,
        StoredScan, TransportMode,
    },
    detect::BoxXyxy,
    model::Category,
};

/// The database file's name inside the data folder.
pub const DATABASE_FILE: &str = "xray-screen.db";

/// The SQLite implementation of [`Store`].
pub struct SqliteStore {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    path: PathBuf,
}

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
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
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
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

fn parse_category(s: &str) -> Result<Category, StoreError> {
    s.parse().map_err(StoreError::Corrupt)
}

fn parse_channel(s: &str) -> Result<Channel, StoreError> {
    Channel::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown channel {s:?}")))
}

fn parse_decision(s: Option<String>) -> Result<Option<ScanDecision>, StoreError> {
    s.map(|s| {
        ScanDecision::parse(&s)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown decision {s:?}")))
    })
    .transpose()
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn transport_name(t: TransportMode) -> Result<String, StoreError> {
    to_json(&t).map(|s| s.trim_matches('"').to_string())
}

fn u64_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn load_detections(conn: &Connection, uid: i64) -> Result<Vec<StoredDetection>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT idx, class_name, category, confidence, x1, y1, x2, y2, alarm, verdict, verdict_by
         FROM detections WHERE scan_uid = ?1 ORDER BY idx",
    )?;
    let rows = stmt.query_map([uid], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, f64>(3)?,
            [r.get::<_, f64>(4)?, r.get(5)?, r.get(6)?, r.get(7)?],
            r.get::<_, bool>(8)?,
            r.get::<_, Option<String>>(9)?,
            r.get::<_, String>(10)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (idx, class_name, category, confidence, b, alarm, verdict, verdict_by) = row?;
        out.push(StoredDetection {
            id: u32::try_from(idx).map_err(|_| StoreError::Corrupt("detection index".into()))?,
            class_name,
            category: parse_category(&category)?,
            confidence: confidence as f32,
            bbox: BoxXyxy {
                x1: b[0] as f32,
                y1: b[1] as f32,
                x2: b[2] as f32,
                y2: b[3] as f32,
            },
            alarm,
            verdict: verdict
                .map(|v| {
                    DetectionVerdict::parse(&v)
                        .ok_or_else(|| StoreError::Corrupt(format!("unknown verdict {v:?}")))
                })
                .transpose()?,
            verdict_by,
        });
    }
    Ok(out)
}

const SCAN_COLUMNS: &str = "uid, scan_id, declaration_id, portal_id, view, model, model_version, width, height, alarm, received_ms, decision";

fn scans_where(
    conn: &Connection,
    condition: &str,
    key: &str,
) -> Result<Vec<StoredScan>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {SCAN_COLUMNS} FROM scans WHERE {condition} ORDER BY uid"
    ))?;
    let rows = stmt.query_map([key], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            StoredScan {
                scan_id: r.get(1)?,
                declaration_id: r.get(2)?,
                portal_id: r.get(3)?,
                view: r.get(4)?,
                model: r.get(5)?,
                model_version: r.get(6)?,
                width: r.get(7)?,
                height: r.get(8)?,
                alarm: r.get(9)?,
                received_ms: r.get(10)?,
                decision: None,
                detections: Vec::new(),
            },
            r.get::<_, Option<String>>(11)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (uid, mut scan, decision) = row?;
        scan.decision = parse_decision(decision)?;
        scan.detections = load_detections(conn, uid)?;
        out.push(scan);
    }
    Ok(out)
}

fn load_state(conn: &Connection, id: &str) -> Result<Option<DeclarationState>, StoreError> {
    let row = conn
        .query_row(
            "SELECT declarant, origin_country, destination_country, transport_mode, prior_risk,
                    registered_ms, assessment, risk_sequence, risk_updated_ms
             FROM declarations WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, f64>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, i64>(7)?,
                    r.get::<_, i64>(8)?,
                ))
            },
        )
        .optional()?;
    let Some((
        declarant,
        origin,
        destination,
        transport,
        prior,
        registered_ms,
        assessment,
        seq,
        updated,
    )) = row
    else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT hs_code, description, quantity, value FROM declared_items
         WHERE declaration_id = ?1 ORDER BY line",
    )?;
    let items = stmt
        .query_map([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, f64>(2)?,
                r.get::<_, f64>(3)?,
            ))
        })?
        .map(|row| {
            let (hs, description, quantity, value) = row?;
            Ok(DeclaredItem {
                hs_code: HsCode::parse(&hs).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                description,
                quantity,
                value,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Some(DeclarationState {
        declaration: Declaration {
            id: id.to_string(),
            declarant,
            origin_country: origin,
            destination_country: destination,
            transport_mode: from_json(&format!("\"{transport}\""))?,
            items,
            prior_risk: prior,
        },
        registered_ms,
        scans: scans_where(conn, "declaration_id = ?1", id)?,
        risk: CurrentRisk {
            assessment: from_json(&assessment)?,
            sequence: u64_of(seq),
            updated_ms: updated,
        },
    }))
}

fn append_audit(
    tx: &Transaction<'_>,
    at_ms: i64,
    actor: &str,
    action: &str,
    declaration_id: &str,
    scan_id: &str,
    details: &serde_json::Value,
) -> Result<u64, StoreError> {
    tx.execute(
        "INSERT INTO audit_log (at_ms, actor, action, declaration_id, scan_id, details)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            at_ms,
            actor,
            action,
            declaration_id,
            scan_id,
            details.to_string()
        ],
    )?;
    Ok(u64_of(tx.last_insert_rowid()))
}

fn insert_risk_change(
    tx: &Transaction<'_>,
    declaration_id: &str,
    assessment: &Assessment,
    previous: Option<(f64, Channel)>,
    cause: &str,
    at_ms: i64,
) -> Result<RiskChange, StoreError> {
    tx.execute(
        "INSERT INTO risk_changes (declaration_id, score, channel, previous_score, previous_channel, reasons, cause, at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            declaration_id,
            assessment.score,
            assessment.channel.as_str(),
            previous.map(|p| p.0),
            previous.map(|p| p.1.as_str()),
            to_json(&assessment.reasons)?,
            cause,
            at_ms
        ],
    )?;
    Ok(RiskChange {
        sequence: u64_of(tx.last_insert_rowid()),
        declaration_id: declaration_id.to_string(),
        score: assessment.score,
        channel: assessment.channel,
        previous,
        reasons: assessment.reasons.clone(),
        cause: cause.to_string(),
        at_ms,
    })
}

/// Stores `assessment` as the declaration's risk when it differs from the stored one.
fn apply_assessment(
    tx: &Transaction<'_>,
    state: &mut DeclarationState,
    assessment: Assessment,
    cause: &str,
    at_ms: i64,
) -> Result<Option<RiskChange>, StoreError> {
    let current = &state.risk.assessment;
    if current.score == assessment.score
        && current.channel == assessment.channel
        && current.reasons == assessment.reasons
    {
        // The findings may carry new evidence for an unchanged risk.
        if current.findings != assessment.findings {
            tx.execute(
                "UPDATE declarations SET assessment = ?1 WHERE id = ?2",
                params![to_json(&assessment)?, state.declaration.id],
            )?;
            state.risk.assessment = assessment;
        }
        return Ok(None);
    }
    let id = state.declaration.id.clone();
    let change = insert_risk_change(
        tx,
        &id,
        &assessment,
        Some((current.score, current.channel)),
        cause,
        at_ms,
    )?;
    tx.execute(
        "UPDATE declarations SET score = ?1, channel = ?2, assessment = ?3, risk_sequence = ?4, risk_updated_ms = ?5
         WHERE id = ?6",
        params![
            assessment.score,
            assessment.channel.as_str(),
            to_json(&assessment)?,
            i64_of(change.sequence),
            at_ms,
            id
        ],
    )?;
    append_audit(
        tx,
        at_ms,
        "service",
        "risk.changed",
        &id,
        "",
        &serde_json::json!({
            "sequence": change.sequence,
            "score": change.score,
            "channel": change.channel.as_str(),
            "previous_score": current.score,
            "previous_channel": current.channel.as_str(),
            "cause": cause,
        }),
    )?;
    state.risk = CurrentRisk {
        assessment,
        sequence: change.sequence,
        updated_ms: at_ms,
    };
    Ok(Some(change))
}

impl Store for SqliteStore {
    fn register(
        &self,
        declaration: &Declaration,
        at_ms: i64,
        assess: Assess<'_>,
    ) -> Result<Registration, StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        if let Some(existing) = load_state(&tx, &declaration.id)? {
            return Ok(Registration::Existing(Box::new(existing)));
        }
        let mut state = DeclarationState {
            declaration: declaration.clone(),
            registered_ms: at_ms,
            scans: Vec::new(),
            risk: CurrentRisk {
                assessment: Assessment {
                    score: declaration.prior_risk,
                    channel: Channel::Green,
                    reasons: Vec::new(),
                    findings: Vec::new(),
                },
                sequence: 0,
                updated_ms: at_ms,
            },
        };
        let assessment = assess(&state);
        tx.execute(
            "INSERT INTO declarations (id, declarant, origin_country, destination_country, transport_mode,
                prior_risk, registered_ms, score, channel, assessment, risk_sequence, risk_updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, ?7)",
            params![
                declaration.id,
                declaration.declarant,
                declaration.origin_country,
                declaration.destination_country,
                transport_name(declaration.transport_mode)?,
                declaration.prior_risk,
                at_ms,
                assessment.score,
                assessment.channel.as_str(),
                to_json(&assessment)?
            ],
        )?;
        for (line, item) in declaration.items.iter().enumerate() {
            tx.execute(
                "INSERT INTO declared_items (declaration_id, line, hs_code, description, quantity, value)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    declaration.id,
                    i64_of(line as u64),
                    item.hs_code.digits(),
                    item.description,
                    item.quantity,
                    item.value
                ],
            )?;
        }
        let change =
            insert_risk_change(&tx, &declaration.id, &assessment, None, "registered", at_ms)?;
        tx.execute(
            "UPDATE declarations SET risk_sequence = ?1 WHERE id = ?2",
            params![i64_of(change.sequence), declaration.id],
        )?;
        append_audit(
            &tx,
            at_ms,
            "risk-management",
            "declaration.registered",
            &declaration.id,
            "",
            &serde_json::to_value(declaration).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        )?;
        tx.commit()?;
        state.risk = CurrentRisk {
            assessment,
            sequence: change.sequence,
            updated_ms: at_ms,
        };
        Ok(Registration::New {
            state: Box::new(state),
            change,
        })
    }

    fn declaration(&self, id: &str) -> Result<Option<DeclarationState>, StoreError> {
        load_state(&lock(&self.reader), id)
    }

    fn is_registered(&self, id: &str) -> Result<bool, StoreError> {
        Ok(lock(&self.reader)
            .query_row("SELECT 1 FROM declarations WHERE id = ?1", [id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn scan(&self, scan_id: &str) -> Result<Option<StoredScan>, StoreError> {
        Ok(scans_where(&lock(&self.reader), "scan_id = ?1", scan_id)?
            .into_iter()
            .next())
    }

    fn scan_image(&self, scan_id: &str) -> Result<Option<StoredImage>, StoreError> {
        Ok(lock(&self.reader)
            .query_row(
                "SELECT i.encoding, i.channels, i.bytes FROM scan_images i
                 JOIN scans s ON s.uid = i.scan_uid WHERE s.scan_id = ?1",
                [scan_id],
                |r| {
                    Ok(StoredImage {
                        encoding: r.get(0)?,
                        channels: r.get(1)?,
                        bytes: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    fn record_scan(&self, new: &NewScan, assess: Assess<'_>) -> Result<RiskOutcome, StoreError> {
        let scan = &new.scan;
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        let taken: Option<String> = tx
            .query_row(
                "SELECT declaration_id FROM scans WHERE scan_id = ?1",
                [&scan.scan_id],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(declaration_id) = taken {
            return Err(StoreError::DuplicateScan {
                scan_id: scan.scan_id.clone(),
                declaration_id,
            });
        }
        let mut state = load_state(&tx, &scan.declaration_id)?
            .ok_or_else(|| StoreError::UnknownDeclaration(scan.declaration_id.clone()))?;
        let categories: String = alarm_categories(&scan.detections)
            .into_iter()
            .map(|c| format!(",{c}"))
            .collect::<String>()
            + ",";
        tx.execute(
            "INSERT INTO scans (scan_id, declaration_id, portal_id, view, model, model_version, width, height,
                alarm, received_ms, decision, categories)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULL, ?11)",
            params![
                scan.scan_id,
                scan.declaration_id,
                scan.portal_id,
                scan.view,
                scan.model,
                scan.model_version,
                scan.width,
                scan.height,
                scan.alarm,
                scan.received_ms,
                categories
            ],
        )?;
        let uid = tx.last_insert_rowid();
        for d in &scan.detections {
            tx.execute(
                "INSERT INTO detections (scan_uid, idx, class_name, category, confidence, x1, y1, x2, y2, alarm)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    uid,
                    d.id,
                    d.class_name,
                    d.category.to_string(),
                    f64::from(d.confidence),
                    f64::from(d.bbox.x1),
                    f64::from(d.bbox.y1),
                    f64::from(d.bbox.x2),
                    f64::from(d.bbox.y2),
                    d.alarm
                ],
            )?;
        }
        if let Some(image) = &new.image {
            tx.execute(
                "INSERT INTO scan_images (scan_uid, encoding, channels, bytes) VALUES (?1, ?2, ?3, ?4)",
                params![uid, image.encoding, image.channels, image.bytes],
            )?;
        }
        append_audit(
            &tx,
            scan.received_ms,
            &format!("scanner:{}", scan.portal_id),
            "scan.stored",
            &scan.declaration_id,
            &scan.scan_id,
            &serde_json::json!({
                "model": scan.model,
                "model_version": scan.model_version,
                "alarm": scan.alarm,
                "detections": scan.detections.len(),
                "image_kept": new.image.is_some(),
            }),
        )?;
        let mut stored = scan.clone();
        stored.decision = None;
        state.scans.push(stored);
        let assessment = assess(&state);
        let change = apply_assessment(
            &tx,
            &mut state,
            assessment,
            &format!("scan {}", scan.scan_id),
            scan.received_ms,
        )?;
        tx.commit()?;
        Ok(RiskOutcome { state, change })
    }

    fn record_verdict(
        &self,
        verdict: &VerdictRecord,
        assess: Assess<'_>,
    ) -> Result<(RiskOutcome, u64), StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        let (uid, declaration_id): (i64, String) = tx
            .query_row(
                "SELECT uid, declaration_id FROM scans WHERE scan_id = ?1",
                [&verdict.scan_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| StoreError::UnknownScan(verdict.scan_id.clone()))?;
        for (idx, v) in &verdict.detections {
            let changed = tx.execute(
                "UPDATE detections SET verdict = ?1, verdict_by = ?2 WHERE scan_uid = ?3 AND idx = ?4",
                params![v.as_str(), verdict.inspector_id, uid, idx],
            )?;
            if changed != 1 {
                return Err(StoreError::Corrupt(format!(
                    "scan {} has no detection {idx}",
                    verdict.scan_id
                )));
            }
        }
        if let Some(decision) = verdict.decision {
            tx.execute(
                "UPDATE scans SET decision = ?1 WHERE uid = ?2",
                params![decision.as_str(), uid],
            )?;
        }
        let judgements: Vec<serde_json::Value> = verdict
            .detections
            .iter()
            .map(|(idx, v)| serde_json::json!({"detection_id": idx, "verdict": v.as_str()}))
            .collect();
        tx.execute(
            "INSERT INTO verdicts (scan_uid, inspector_id, comment, decision, judgements, at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                uid,
                verdict.inspector_id,
                verdict.comment,
                verdict.decision.map(ScanDecision::as_str),
                serde_json::Value::Array(judgements.clone()).to_string(),
                verdict.at_ms
            ],
        )?;
        let audit_seq = append_audit(
            &tx,
            verdict.at_ms,
            &verdict.inspector_id,
            "verdict",
            &declaration_id,
            &verdict.scan_id,
            &serde_json::json!({
                "detections": judgements,
                "decision": verdict.decision.map(ScanDecision::as_str),
                "comment": verdict.comment,
            }),
        )?;
        let mut state = load_state(&tx, &declaration_id)?
            .ok_or_else(|| StoreError::UnknownDeclaration(declaration_id.clone()))?;
        let assessment = assess(&state);
        let change = apply_assessment(
            &tx,
            &mut state,
            assessment,
            &format!("verdict on {} by {}", verdict.scan_id, verdict.inspector_id),
            verdict.at_ms,
        )?;
        tx.commit()?;
        Ok((RiskOutcome { state, change }, audit_seq))
    }

    fn risk_changes_after(&self, after: u64, limit: usize) -> Result<Vec<RiskChange>, StoreError> {
        let conn = lock(&self.reader);
        let mut stmt = conn.prepare_cached(
            "SELECT sequence, declaration_id, score, channel, previous_score, previous_channel, reasons, cause, at_ms
             FROM risk_changes WHERE sequence > ?1 ORDER BY sequence LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![i64_of(after), i64_of(limit as u64)], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, f64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<f64>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, i64>(8)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (
                seq,
                declaration_id,
                score,
                channel,
                prev_score,
                prev_channel,
                reasons,
                cause,
                at_ms,
            ) = row?;
            let previous = match (prev_score, prev_channel) {
                (Some(s), Some(c)) => Some((s, parse_channel(&c)?)),
                _ => None,
            };
            out.push(RiskChange {
                sequence: u64_of(seq),
                declaration_id,
                score,
                channel: parse_channel(&channel)?,
                previous,
                reasons: from_json(&reasons)?,
                cause,
                at_ms,
            });
        }
        Ok(out)
    }

    fn last_risk_sequence(&self) -> Result<u64, StoreError> {
        let seq: Option<i64> =
            lock(&self.reader)
                .query_row("SELECT MAX(sequence) FROM risk_changes", [], |r| r.get(0))?;
        Ok(seq.map_or(0, u64_of))
    }

    fn flagged(&self, q: &FlaggedQuery) -> Result<Vec<FlaggedScan>, StoreError> {
        let conn = lock(&self.reader);
        let mut stmt = conn.prepare_cached(
            "SELECT s.scan_id, s.declaration_id, s.portal_id, s.received_ms, d.score, d.channel, s.categories,
                    (SELECT COUNT(*) FROM detections x WHERE x.scan_uid = s.uid AND x.alarm = 1), s.decision
             FROM scans s JOIN declarations d ON d.id = s.declaration_id
             WHERE s.alarm = 1
               AND (?1 IS NULL OR d.channel = ?1)
               AND (?2 IS NULL OR s.portal_id = ?2)
               AND (?3 IS NULL OR s.received_ms >= ?3)
               AND (?4 IS NULL OR s.received_ms < ?4)
               AND (?5 OR s.decision IS NULL)
               AND (?6 IS NULL OR instr(s.categories, ?6) > 0)
             ORDER BY d.score DESC, s.received_ms DESC, s.uid DESC
             LIMIT ?7 OFFSET ?8",
        )?;
        let rows = stmt.query_map(
            params![
                q.channel.map(Channel::as_str),
                q.portal_id,
                q.from_ms,
                q.to_ms,
                q.include_decided,
                q.category.map(|c| format!(",{c},")),
                i64_of(q.limit as u64),
                i64_of(q.offset as u64)
            ],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, f64>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, i64>(7)?,
                    r.get::<_, Option<String>>(8)?,
                ))
            },
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (
                scan_id,
                declaration_id,
                portal_id,
                received_ms,
                risk_score,
                channel,
                cats,
                alarms,
                decision,
            ) = row?;
            out.push(FlaggedScan {
                scan_id,
                declaration_id,
                portal_id,
                received_ms,
                risk_score,
                channel: parse_channel(&channel)?,
                categories: cats
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(parse_category)
                    .collect::<Result<_, _>>()?,
                alarms: u32::try_from(alarms).unwrap_or(u32::MAX),
                decision: parse_decision(decision)?,
            });
        }
        Ok(out)
    }

    fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let conn = lock(&self.reader);
        let mut stmt = conn.prepare_cached(
            "SELECT sequence, at_ms, actor, action, declaration_id, scan_id, details FROM audit_log
             WHERE (?1 IS NULL OR declaration_id = ?1) AND (?2 IS NULL OR scan_id = ?2) AND sequence > ?3
             ORDER BY sequence LIMIT ?4",
        )?;
        let rows = stmt.query_map(
            params![
                q.declaration_id,
                q.scan_id,
                i64_of(q.after),
                i64_of(q.limit as u64)
            ],
            |r| {
                Ok(AuditEntry {
                    sequence: u64_of(r.get(0)?),
                    at_ms: r.get(1)?,
                    actor: r.get(2)?,
                    action: r.get(3)?,
                    declaration_id: r.get(4)?,
                    scan_id: r.get(5)?,
                    details: r.get(6)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn accuracy(&self, model: Option<&str>) -> Result<Vec<ClassAccuracy>, StoreError> {
        let conn = lock(&self.reader);
        let mut stmt = conn.prepare_cached(
            "SELECT s.model, d.class_name,
                    SUM(d.verdict = 'confirmed'), SUM(d.verdict = 'false_alarm')
             FROM detections d JOIN scans s ON s.uid = d.scan_uid
             WHERE d.verdict IS NOT NULL AND (?1 IS NULL OR s.model = ?1)
             GROUP BY s.model, d.class_name ORDER BY s.model, d.class_name",
        )?;
        let rows = stmt.query_map(params![model], |r| {
            Ok(ClassAccuracy {
                model: r.get(0)?,
                class_name: r.get(1)?,
                confirmed: u64_of(r.get(2)?),
                false_alarms: u64_of(r.get(3)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn purge_images(&self, before_ms: i64) -> Result<usize, StoreError> {
        Ok(lock(&self.writer).execute(
            "DELETE FROM scan_images WHERE scan_uid IN (SELECT uid FROM scans WHERE received_ms < ?1)",
            [before_ms],
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        declaration::{DeclaredItem, HsCode},
        risk::{RiskPolicy, Taxonomies},
    };

    fn declaration(id: &str, prior: f64) -> Declaration {
        Declaration {
            id: id.into(),
            declarant: "ACME".into(),
            origin_country: "CN".into(),
            destination_country: "DE".into(),
            transport_mode: TransportMode::Post,
            items: vec![DeclaredItem {
                hs_code: HsCode::parse("6109").expect("hs"),
                description: "shirts".into(),
                quantity: 1.0,
                value: 2.0,
            }],
            prior_risk: prior,
        }
    }

    fn assess(s: &DeclarationState) -> Assessment {
        RiskPolicy::default().assess(&s.declaration, &s.scans, &Taxonomies::new())
    }

    fn scan(
        id: &str,
        declaration: &str,
        portal: &str,
        at: i64,
        class: Option<Category>,
    ) -> NewScan {
        let detections = class
            .map(|category| StoredDetection {
                id: 0,
                class_name: category.to_string(),
                category,
                confidence: 0.5,
                bbox: BoxXyxy {
                    x1: 1.0,
                    y1: 2.0,
                    x2: 3.0,
                    y2: 4.0,
                },
                alarm: true,
                verdict: None,
                verdict_by: String::new(),
            })
            .into_iter()
            .collect::<Vec<_>>();
        NewScan {
            scan: StoredScan {
                scan_id: id.into(),
                declaration_id: declaration.into(),
                portal_id: portal.into(),
                view: 1,
                model: "m".into(),
                model_version: "1".into(),
                width: 10,
                height: 10,
                alarm: !detections.is_empty(),
                received_ms: at,
                decision: None,
                detections,
            },
            image: Some(StoredImage {
                encoding: 1,
                channels: 0,
                bytes: vec![1, 2, 3],
            }),
        }
    }

    fn ids(found: &[FlaggedScan]) -> Vec<&str> {
        found.iter().map(|f| f.scan_id.as_str()).collect()
    }

    #[test]
    fn the_review_queue_orders_filters_and_pages() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = SqliteStore::open(dir.path()).expect("open");
        for (id, prior) in [("LOW", 0.1), ("HIGH", 0.5)] {
            store
                .register(&declaration(id, prior), 1, &assess)
                .expect("registered");
        }
        let rows = [
            ("a", "LOW", "p1", 100, Some(Category::UndeclaredGoods)),
            ("b", "LOW", "p2", 200, Some(Category::Weapon)),
            ("c", "HIGH", "p1", 150, Some(Category::Drugs)),
            ("d", "HIGH", "p2", 300, None),
        ];
        for (id, d, portal, at, class) in rows {
            store
                .record_scan(&scan(id, d, portal, at, class), &assess)
                .expect("stored");
        }
        let all = |q: FlaggedQuery| {
            store
                .flagged(&FlaggedQuery { limit: 10, ..q })
                .expect("listed")
        };
        // Both declarations are RED (weapon, drugs); HIGH scores higher; then newest first.
        assert_eq!(ids(&all(FlaggedQuery::default())), ["c", "b", "a"]);
        assert_eq!(
            ids(&all(FlaggedQuery {
                portal_id: Some("p1".into()),
                ..Default::default()
            })),
            ["c", "a"]
        );
        assert_eq!(
            ids(&all(FlaggedQuery {
                category: Some(Category::Weapon),
                ..Default::default()
            })),
            ["b"]
        );
        assert_eq!(
            ids(&all(FlaggedQuery {
                from_ms: Some(150),
                to_ms: Some(250),
                ..Default::default()
            })),
            ["c", "b"]
        );
        assert_eq!(
            ids(&all(FlaggedQuery {
                channel: Some(Channel::Green),
                ..Default::default()
            })),
            Vec::<&str>::new()
        );
        let page = store
            .flagged(&FlaggedQuery {
                offset: 1,
                limit: 1,
                ..Default::default()
            })
            .expect("page");
        assert_eq!(ids(&page), ["b"]);

        // A decision takes the scan out of the default queue (a and b share LOW's score, so
        // the newer b comes first when decided scans are listed); verdicts feed the accuracy.
        let verdict = VerdictRecord {
            scan_id: "b".into(),
            detections: vec![(0, DetectionVerdict::FalseAlarm)],
            decision: Some(ScanDecision::Cleared),
            inspector_id: "insp".into(),
            comment: String::new(),
            at_ms: 400,
        };
        let (outcome, audit_seq) = store.record_verdict(&verdict, &assess).expect("verdict");
        // LOW keeps only a's goods: 1 - 0.9 x (1 - 0.35 x 0.5) = 0.2575, under YELLOW's 0.3.
        assert_eq!(outcome.state.risk.assessment.channel, Channel::Green);
        assert!((outcome.state.risk.assessment.score - 0.2575).abs() < 1e-9);
        assert_eq!(ids(&all(FlaggedQuery::default())), ["c", "a"]);
        assert_eq!(
            ids(&all(FlaggedQuery {
                include_decided: true,
                ..Default::default()
            })),
            ["c", "b", "a"]
        );
        let accuracy = store.accuracy(Some("m")).expect("accuracy");
        assert_eq!(accuracy.len(), 1);
        assert_eq!((accuracy[0].confirmed, accuracy[0].false_alarms), (0, 1));
        let audit = store
            .audit(&AuditQuery {
                scan_id: Some("b".into()),
                after: 0,
                limit: 10,
                ..Default::default()
            })
            .expect("audit");
        assert!(
            audit
                .iter()
                .any(|e| e.sequence == audit_seq && e.action == "verdict")
        );

        // Risk history in order, numbered from 1; images go after their retention.
        let changes = store.risk_changes_after(0, 100).expect("changes");
        let sequences: Vec<u64> = changes.iter().map(|c| c.sequence).collect();
        assert_eq!(sequences, (1..=changes.len() as u64).collect::<Vec<_>>());
        assert_eq!(
            store.last_risk_sequence().expect("last"),
            changes.len() as u64
        );
        assert_eq!(store.purge_images(160).expect("purged"), 2);
        assert!(store.scan_image("a").expect("read").is_none());
        assert!(store.scan_image("b").expect("read").is_some());
    }

    #[test]
    fn a_reopened_store_has_everything_and_refuses_a_taken_scan_id() {
        let dir = tempfile::tempdir().expect("tmp");
        {
            let store = SqliteStore::open(dir.path()).expect("open");
            store
                .register(&declaration("D", 0.2), 1, &assess)
                .expect("registered");
            store
                .record_scan(&scan("s", "D", "p", 5, Some(Category::Weapon)), &assess)
                .expect("stored");
        }
        let store = SqliteStore::open(dir.path()).expect("reopen");
        let state = store.declaration("D").expect("read").expect("there");
        assert_eq!(state.declaration, declaration("D", 0.2));
        assert_eq!(state.scans.len(), 1);
        assert_eq!(state.risk.assessment.channel, Channel::Red);
        assert!(matches!(
            store.record_scan(&scan("s", "D", "p", 6, None), &assess),
            Err(StoreError::DuplicateScan { .. })
        ));
        assert!(matches!(
            store.record_scan(&scan("t", "NOPE", "p", 6, None), &assess),
            Err(StoreError::UnknownDeclaration(_))
        ));
        match store
            .register(&declaration("D", 0.2), 9, &assess)
            .expect("again")
        {
            Registration::Existing(s) => assert_eq!(s.registered_ms, 1),
            Registration::New { .. } => panic!("registered twice"),
        }
    }
}
