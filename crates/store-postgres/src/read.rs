//! Reading the stored state: one async function per query, on whichever client asks (a
//! pooled one, or the one a write transaction holds, which must see its own writes).

use std::collections::HashSet;

use deadpool_postgres::ClientWrapper as Db;
use tokio_postgres::Row;
use xray_customs::{
    declaration::{
        Channel, CurrentRisk, Declaration, DeclarationState, DeclaredItem, DetectionVerdict,
        HsCode, RiskChange, StoredDetection, StoredScan,
    },
    principal::{Principal, Role},
    store::{
        AuditEntry, AuditQuery, ClassAccuracy, FlaggedQuery, FlaggedScan, ImageAt, KeptImage,
        StoreError,
    },
};
use xray_types::BoxXyxy;

use crate::{
    codec::{
        from_json, i64_of, parse_category, parse_channel, parse_decision, parse_encoding,
        parse_view, u32_of, u64_of,
    },
    error::Result,
};

pub async fn load_detections(db: &Db, uid: i64) -> Result<Vec<StoredDetection>> {
    let stmt = db
        .prepare_cached(
            "SELECT idx, class_name, category, confidence, x1, y1, x2, y2, alarm, verdict, verdict_by
             FROM detections WHERE scan_uid = $1 ORDER BY idx",
        )
        .await?;
    let mut out = Vec::new();
    for r in db.query(&stmt, &[&uid]).await? {
        let verdict: Option<String> = r.try_get(9)?;
        out.push(StoredDetection {
            id: u32_of(r.try_get(0)?, "detection index")?,
            class_name: r.try_get(1)?,
            category: parse_category(r.try_get(2)?)?,
            confidence: r.try_get::<_, f64>(3)? as f32,
            bbox: BoxXyxy {
                x1: r.try_get::<_, f64>(4)? as f32,
                y1: r.try_get::<_, f64>(5)? as f32,
                x2: r.try_get::<_, f64>(6)? as f32,
                y2: r.try_get::<_, f64>(7)? as f32,
            },
            alarm: r.try_get(8)?,
            verdict: verdict
                .map(|v| {
                    DetectionVerdict::parse(&v)
                        .ok_or_else(|| StoreError::Corrupt(format!("unknown verdict {v:?}")))
                })
                .transpose()?,
            verdict_by: r.try_get(10)?,
        });
    }
    Ok(out)
}

const SCAN_COLUMNS: &str = "uid, scan_id, declaration_id, portal_id, view, model, model_version, width, height, alarm, received_ms, decision, digest";

async fn scan_of(db: &Db, r: &Row) -> Result<StoredScan> {
    Ok(StoredScan {
        scan_id: r.try_get(1)?,
        declaration_id: r.try_get(2)?,
        portal_id: r.try_get(3)?,
        view: parse_view(r.try_get(4)?)?,
        model: r.try_get(5)?,
        model_version: r.try_get(6)?,
        width: u32_of(r.try_get(7)?, "width")?,
        height: u32_of(r.try_get(8)?, "height")?,
        alarm: r.try_get(9)?,
        received_ms: r.try_get(10)?,
        decision: parse_decision(r.try_get(11)?)?,
        detections: load_detections(db, r.try_get(0)?).await?,
        digest: r.try_get(12)?,
    })
}

pub async fn load_state(db: &Db, id: &str) -> Result<Option<DeclarationState>> {
    let stmt = db
        .prepare_cached(
            "SELECT declarant, origin_country, destination_country, transport_mode, prior_risk,
                    registered_ms, assessment, risk_sequence, risk_updated_ms
             FROM declarations WHERE id = $1",
        )
        .await?;
    let Some(d) = db.query_opt(&stmt, &[&id]).await? else {
        return Ok(None);
    };
    let stmt = db
        .prepare_cached(
            "SELECT hs_code, description, quantity, value FROM declared_items
             WHERE declaration_id = $1 ORDER BY line",
        )
        .await?;
    let mut items = Vec::new();
    for r in db.query(&stmt, &[&id]).await? {
        items.push(DeclaredItem {
            hs_code: HsCode::parse(r.try_get(0)?)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            description: r.try_get(1)?,
            quantity: r.try_get(2)?,
            value: r.try_get(3)?,
        });
    }
    let stmt = db
        .prepare_cached(&format!(
            "SELECT {SCAN_COLUMNS} FROM scans WHERE declaration_id = $1 ORDER BY uid"
        ))
        .await?;
    let mut scans = Vec::new();
    for r in db.query(&stmt, &[&id]).await? {
        scans.push(scan_of(db, &r).await?);
    }
    let transport: String = d.try_get(3)?;
    Ok(Some(DeclarationState {
        declaration: Declaration {
            id: id.to_string(),
            declarant: d.try_get(0)?,
            origin_country: d.try_get(1)?,
            destination_country: d.try_get(2)?,
            transport_mode: from_json(&format!("\"{transport}\""))?,
            items,
            prior_risk: d.try_get(4)?,
        },
        registered_ms: d.try_get(5)?,
        scans,
        risk: CurrentRisk {
            assessment: from_json(d.try_get(6)?)?,
            sequence: u64_of(d.try_get(7)?),
            updated_ms: d.try_get(8)?,
        },
    }))
}

pub async fn is_registered(db: &Db, id: &str) -> Result<bool> {
    let stmt = db
        .prepare_cached("SELECT 1 FROM declarations WHERE id = $1")
        .await?;
    Ok(db.query_opt(&stmt, &[&id]).await?.is_some())
}

pub async fn scan(db: &Db, scan_id: &str) -> Result<Option<StoredScan>> {
    let stmt = db
        .prepare_cached(&format!(
            "SELECT {SCAN_COLUMNS} FROM scans WHERE scan_id = $1"
        ))
        .await?;
    match db.query_opt(&stmt, &[&scan_id]).await? {
        Some(r) => Ok(Some(scan_of(db, &r).await?)),
        None => Ok(None),
    }
}

pub async fn scan_image(db: &Db, scan_id: &str) -> Result<Option<KeptImage>> {
    let stmt = db
        .prepare_cached(
            "SELECT i.encoding, i.channels, i.size, i.blob_key FROM scan_images i
             JOIN scans s ON s.uid = i.scan_uid WHERE s.scan_id = $1",
        )
        .await?;
    let Some(r) = db.query_opt(&stmt, &[&scan_id]).await? else {
        return Ok(None);
    };
    Ok(Some(KeptImage {
        encoding: parse_encoding(r.try_get(0)?)?,
        channels: u32_of(r.try_get(1)?, "channels")?,
        size: u64_of(r.try_get(2)?),
        at: ImageAt::Blob(r.try_get(3)?),
    }))
}

pub async fn referenced_images(db: &Db, keys: &[String]) -> Result<HashSet<String>> {
    let stmt = db
        .prepare_cached("SELECT DISTINCT blob_key FROM scan_images WHERE blob_key = ANY($1)")
        .await?;
    let mut out = HashSet::new();
    for r in db.query(&stmt, &[&keys]).await? {
        out.insert(r.try_get(0)?);
    }
    Ok(out)
}

pub async fn risk_changes_after(db: &Db, after: u64, limit: usize) -> Result<Vec<RiskChange>> {
    let stmt = db
        .prepare_cached(
            "SELECT sequence, declaration_id, score, channel, previous_score, previous_channel, reasons, cause, at_ms
             FROM risk_changes WHERE sequence > $1 ORDER BY sequence LIMIT $2",
        )
        .await?;
    let mut out = Vec::new();
    for r in db
        .query(&stmt, &[&i64_of(after), &i64_of(limit as u64)])
        .await?
    {
        let previous_score: Option<f64> = r.try_get(4)?;
        let previous_channel: Option<String> = r.try_get(5)?;
        let previous = match (previous_score, previous_channel) {
            (Some(s), Some(c)) => Some((s, parse_channel(&c)?)),
            _ => None,
        };
        out.push(RiskChange {
            sequence: u64_of(r.try_get(0)?),
            declaration_id: r.try_get(1)?,
            score: r.try_get(2)?,
            channel: parse_channel(r.try_get(3)?)?,
            previous,
            reasons: from_json(r.try_get(6)?)?,
            cause: r.try_get(7)?,
            at_ms: r.try_get(8)?,
        });
    }
    Ok(out)
}

pub async fn last_risk_sequence(db: &Db) -> Result<u64> {
    let stmt = db
        .prepare_cached("SELECT COALESCE(MAX(sequence), 0) FROM risk_changes")
        .await?;
    Ok(u64_of(db.query_one(&stmt, &[]).await?.try_get(0)?))
}

pub async fn flagged(db: &Db, q: &FlaggedQuery) -> Result<Vec<FlaggedScan>> {
    let stmt = db
        .prepare_cached(
            "SELECT s.scan_id, s.declaration_id, s.portal_id, s.received_ms, d.score, d.channel, s.categories,
                    (SELECT COUNT(*) FROM detections x WHERE x.scan_uid = s.uid AND x.alarm), s.decision
             FROM scans s JOIN declarations d ON d.id = s.declaration_id
             WHERE s.alarm
               AND ($1::TEXT IS NULL OR d.channel = $1)
               AND ($2::TEXT IS NULL OR s.portal_id = $2)
               AND ($3::BIGINT IS NULL OR s.received_ms >= $3)
               AND ($4::BIGINT IS NULL OR s.received_ms < $4)
               AND ($5 OR s.decision IS NULL)
               AND ($6::TEXT IS NULL OR strpos(s.categories, $6) > 0)
             ORDER BY d.score DESC, s.received_ms DESC, s.uid DESC
             LIMIT $7 OFFSET $8",
        )
        .await?;
    let channel = q.channel.map(Channel::as_str);
    let category = q.category.map(|c| format!(",{c},"));
    let rows = db
        .query(
            &stmt,
            &[
                &channel,
                &q.portal_id,
                &q.from_ms,
                &q.to_ms,
                &q.include_decided,
                &category,
                &i64_of(q.limit as u64),
                &i64_of(q.offset as u64),
            ],
        )
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let categories: String = r.try_get(6)?;
        out.push(FlaggedScan {
            scan_id: r.try_get(0)?,
            declaration_id: r.try_get(1)?,
            portal_id: r.try_get(2)?,
            received_ms: r.try_get(3)?,
            risk_score: r.try_get(4)?,
            channel: parse_channel(r.try_get(5)?)?,
            categories: categories
                .split(',')
                .filter(|c| !c.is_empty())
                .map(parse_category)
                .collect::<Result<_>>()?,
            alarms: u32::try_from(r.try_get::<_, i64>(7)?).unwrap_or(u32::MAX),
            decision: parse_decision(r.try_get(8)?)?,
        });
    }
    Ok(out)
}

pub async fn audit(db: &Db, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
    let stmt = db
        .prepare_cached(
            "SELECT sequence, at_ms, actor, action, declaration_id, scan_id, details FROM audit_log
             WHERE ($1::TEXT IS NULL OR declaration_id = $1) AND ($2::TEXT IS NULL OR scan_id = $2)
               AND sequence > $3
             ORDER BY sequence LIMIT $4",
        )
        .await?;
    let rows = db
        .query(
            &stmt,
            &[
                &q.declaration_id,
                &q.scan_id,
                &i64_of(q.after),
                &i64_of(q.limit as u64),
            ],
        )
        .await?;
    let mut out = Vec::new();
    for r in rows {
        out.push(AuditEntry {
            sequence: u64_of(r.try_get(0)?),
            at_ms: r.try_get(1)?,
            actor: r.try_get(2)?,
            action: r.try_get(3)?,
            declaration_id: r.try_get(4)?,
            scan_id: r.try_get(5)?,
            details: r.try_get(6)?,
        });
    }
    Ok(out)
}

pub async fn accuracy(db: &Db, model: Option<&str>) -> Result<Vec<ClassAccuracy>> {
    let stmt = db
        .prepare_cached(
            "SELECT s.model, d.class_name,
                    COUNT(*) FILTER (WHERE d.verdict = 'confirmed'),
                    COUNT(*) FILTER (WHERE d.verdict = 'false_alarm')
             FROM detections d JOIN scans s ON s.uid = d.scan_uid
             WHERE d.verdict IS NOT NULL AND ($1::TEXT IS NULL OR s.model = $1)
             GROUP BY s.model, d.class_name ORDER BY s.model, d.class_name",
        )
        .await?;
    let mut out = Vec::new();
    for r in db.query(&stmt, &[&model]).await? {
        out.push(ClassAccuracy {
            model: r.try_get(0)?,
            class_name: r.try_get(1)?,
            confirmed: u64_of(r.try_get(2)?),
            false_alarms: u64_of(r.try_get(3)?),
        });
    }
    Ok(out)
}

const PRINCIPAL_COLUMNS: &str = "name, roles, portals, created_ms, expires_ms, revoked_ms";

fn principal_of(r: &Row) -> Result<Principal> {
    let roles: String = r.try_get(1)?;
    let roles = roles
        .split(',')
        .filter(|r| !r.is_empty())
        .map(|r| Role::parse(r).ok_or_else(|| StoreError::Corrupt(format!("unknown role {r:?}"))))
        .collect::<std::result::Result<_, _>>()?;
    Ok(Principal {
        name: r.try_get(0)?,
        roles,
        portals: from_json(r.try_get(2)?)?,
        created_ms: r.try_get(3)?,
        expires_ms: r.try_get(4)?,
        revoked_ms: r.try_get(5)?,
    })
}

pub async fn principals(db: &Db) -> Result<Vec<Principal>> {
    let stmt = db
        .prepare_cached(&format!(
            "SELECT {PRINCIPAL_COLUMNS} FROM principals ORDER BY name"
        ))
        .await?;
    db.query(&stmt, &[])
        .await?
        .iter()
        .map(principal_of)
        .collect()
}

pub async fn principal_by_token(db: &Db, token_sha256: &str) -> Result<Option<Principal>> {
    let stmt = db
        .prepare_cached(&format!(
            "SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE token_sha256 = $1"
        ))
        .await?;
    db.query_opt(&stmt, &[&token_sha256])
        .await?
        .as_ref()
        .map(principal_of)
        .transpose()
}

pub async fn principal_by_name(db: &Db, name: &str) -> Result<Option<Principal>> {
    let stmt = db
        .prepare_cached(&format!(
            "SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE name = $1"
        ))
        .await?;
    db.query_opt(&stmt, &[&name])
        .await?
        .as_ref()
        .map(principal_of)
        .transpose()
}

pub async fn password_of(db: &Db, name: &str) -> Result<Option<String>> {
    let stmt = db
        .prepare_cached("SELECT password_phc FROM principals WHERE name = $1")
        .await?;
    Ok(match db.query_opt(&stmt, &[&name]).await? {
        Some(r) => r.try_get(0)?,
        None => None,
    })
}
