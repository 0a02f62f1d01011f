//! Reading the stored state: one function per query, on whichever connection asks (the
//! reader, or a write transaction that must see its own writes).

use std::collections::HashSet;

use rusqlite::{Connection, OptionalExtension, params};
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
use xray_types::{BoxXyxy, View};

use crate::codec::{
    Result, from_json, i64_of, parse_category, parse_channel, parse_decision, parse_encoding,
    parse_view, u64_of,
};

pub fn load_detections(conn: &Connection, uid: i64) -> Result<Vec<StoredDetection>> {
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

const SCAN_COLUMNS: &str = "uid, scan_id, declaration_id, portal_id, view, model, model_version, width, height, alarm, received_ms, decision, digest";

pub fn scans_where(conn: &Connection, condition: &str, key: &str) -> Result<Vec<StoredScan>> {
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
                view: View::Unspecified,
                model: r.get(5)?,
                model_version: r.get(6)?,
                width: r.get(7)?,
                height: r.get(8)?,
                alarm: r.get(9)?,
                received_ms: r.get(10)?,
                decision: None,
                detections: Vec::new(),
                digest: r.get(12)?,
            },
            r.get::<_, Option<String>>(11)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (uid, mut scan, decision, view) = row?;
        scan.view = parse_view(view)?;
        scan.decision = parse_decision(decision)?;
        scan.detections = load_detections(conn, uid)?;
        out.push(scan);
    }
    Ok(out)
}

pub fn load_state(conn: &Connection, id: &str) -> Result<Option<DeclarationState>> {
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
        .collect::<Result<Vec<_>>>()?;
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

pub fn is_registered(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn
        .query_row("SELECT 1 FROM declarations WHERE id = ?1", [id], |_| Ok(()))
        .optional()?
        .is_some())
}

pub fn scan(conn: &Connection, scan_id: &str) -> Result<Option<StoredScan>> {
    Ok(scans_where(conn, "scan_id = ?1", scan_id)?
        .into_iter()
        .next())
}

pub fn scan_image(conn: &Connection, scan_id: &str) -> Result<Option<KeptImage>> {
    let row = conn
        .query_row(
            "SELECT i.encoding, i.channels, i.blob_key, i.size, i.bytes FROM scan_images i
             JOIN scans s ON s.uid = i.scan_uid WHERE s.scan_id = ?1",
            [scan_id],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, Vec<u8>>(4)?,
                ))
            },
        )
        .optional()?;
    row.map(|(encoding, channels, key, size, bytes)| {
        let (size, at) = match key {
            Some(key) => (u64_of(size.unwrap_or(0)), ImageAt::Blob(key)),
            // Stored before migration 5: the bytes are the image.
            None => (bytes.len() as u64, ImageAt::Inline(bytes)),
        };
        Ok(KeptImage {
            encoding: parse_encoding(encoding)?,
            channels,
            size,
            at,
        })
    })
    .transpose()
}

/// Which of `keys` a kept image still names.
pub fn referenced_images(conn: &Connection, keys: &[String]) -> Result<HashSet<String>> {
    let mut stmt = conn.prepare_cached("SELECT 1 FROM scan_images WHERE blob_key = ?1 LIMIT 1")?;
    let mut out = HashSet::new();
    for key in keys {
        if stmt.exists([key])? {
            out.insert(key.clone());
        }
    }
    Ok(out)
}

pub fn risk_changes_after(conn: &Connection, after: u64, limit: usize) -> Result<Vec<RiskChange>> {
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
        let (seq, declaration_id, score, channel, prev_score, prev_channel, reasons, cause, at_ms) =
            row?;
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

pub fn last_risk_sequence(conn: &Connection) -> Result<u64> {
    let seq: Option<i64> =
        conn.query_row("SELECT MAX(sequence) FROM risk_changes", [], |r| r.get(0))?;
    Ok(seq.map_or(0, u64_of))
}

pub fn flagged(conn: &Connection, q: &FlaggedQuery) -> Result<Vec<FlaggedScan>> {
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
                .collect::<std::result::Result<_, _>>()?,
            alarms: u32::try_from(alarms).unwrap_or(u32::MAX),
            decision: parse_decision(decision)?,
        });
    }
    Ok(out)
}

pub fn audit(conn: &Connection, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
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
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

pub fn accuracy(conn: &Connection, model: Option<&str>) -> Result<Vec<ClassAccuracy>> {
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
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

const PRINCIPAL_COLUMNS: &str = "name, roles, portals, created_ms, expires_ms, revoked_ms";

/// A principals row: name, roles, portals (JSON), created, expires and revoked (ms).
type PrincipalRow = (String, String, String, i64, Option<i64>, Option<i64>);

fn principal_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PrincipalRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn principal_of(
    (name, roles, portals, created_ms, expires_ms, revoked_ms): PrincipalRow,
) -> Result<Principal> {
    let roles = roles
        .split(',')
        .filter(|r| !r.is_empty())
        .map(|r| Role::parse(r).ok_or_else(|| StoreError::Corrupt(format!("unknown role {r:?}"))))
        .collect::<std::result::Result<_, _>>()?;
    Ok(Principal {
        name,
        roles,
        portals: from_json(&portals)?,
        created_ms,
        expires_ms,
        revoked_ms,
    })
}

pub fn principals(conn: &Connection) -> Result<Vec<Principal>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PRINCIPAL_COLUMNS} FROM principals ORDER BY name"
    ))?;
    let rows = stmt.query_map([], principal_row)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(principal_of(row?)?);
    }
    Ok(out)
}

pub fn principal_by_token(conn: &Connection, token_sha256: &str) -> Result<Option<Principal>> {
    principal_where(conn, "token_sha256", token_sha256)
}

pub fn principal_by_name(conn: &Connection, name: &str) -> Result<Option<Principal>> {
    principal_where(conn, "name", name)
}

pub fn password_of(conn: &Connection, name: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT password_phc FROM principals WHERE name = ?1",
            [name],
            |r| r.get::<_, Option<String>>(0),
        )
        .optional()?
        .flatten())
}

/// The one principal whose `column` (a unique one) holds `value`.
fn principal_where(conn: &Connection, column: &str, value: &str) -> Result<Option<Principal>> {
    let row = conn
        .query_row(
            &format!("SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE {column} = ?1"),
            [value],
            principal_row,
        )
        .optional()?;
    row.map(principal_of).transpose()
}
