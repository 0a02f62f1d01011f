//! A write transaction as the domain's [`UnitOfWork`]: the domain decides what is written
//! (`xray_customs::ledger`), this file says how it is kept in SQLite.

use rusqlite::{OptionalExtension, Transaction, params};
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
    codec::{Result, encoding_code, i64_of, to_json, transport_name, u64_of, view_code},
    read::load_state,
};

/// One open write transaction.
pub struct Writer<'a, 'c> {
    pub tx: &'a Transaction<'c>,
}

impl Writer<'_, '_> {
    fn scan_uid(&self, scan_id: &str) -> Result<Option<(i64, String)>> {
        Ok(self
            .tx
            .query_row(
                "SELECT uid, declaration_id FROM scans WHERE scan_id = ?1",
                [scan_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    fn insert_declaration(
        &self,
        declaration: &Declaration,
        registered_ms: i64,
        assessment: &Assessment,
    ) -> Result<()> {
        self.tx.execute(
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
                registered_ms,
                assessment.score,
                assessment.channel.as_str(),
                to_json(assessment)?
            ],
        )?;
        for (line, item) in declaration.items.iter().enumerate() {
            self.tx.execute(
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
        Ok(())
    }

    fn insert_scan(&self, new: &NewScan) -> Result<()> {
        let scan = &new.scan;
        let categories: String = alarm_categories(&scan.detections)
            .into_iter()
            .map(|c| format!(",{c}"))
            .collect::<String>()
            + ",";
        self.tx.execute(
            "INSERT INTO scans (scan_id, declaration_id, portal_id, view, model, model_version, width, height,
                alarm, received_ms, decision, categories, digest)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULL, ?11, ?12)",
            params![
                scan.scan_id,
                scan.declaration_id,
                scan.portal_id,
                view_code(scan.view),
                scan.model,
                scan.model_version,
                scan.width,
                scan.height,
                scan.alarm,
                scan.received_ms,
                categories,
                scan.digest
            ],
        )?;
        let uid = self.tx.last_insert_rowid();
        for d in &scan.detections {
            self.tx.execute(
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
            // A blob's row keeps empty bytes (the column is NOT NULL since migration 1).
            let (key, bytes): (Option<&str>, &[u8]) = match &image.at {
                ImageAt::Blob(key) => (Some(key), &[]),
                ImageAt::Inline(bytes) => (None, bytes),
            };
            self.tx.execute(
                "INSERT INTO scan_images (scan_uid, encoding, channels, bytes, blob_key, size)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    uid,
                    encoding_code(image.encoding),
                    image.channels,
                    bytes,
                    key,
                    i64_of(image.size)
                ],
            )?;
        }
        Ok(())
    }

    fn insert_verdict(&self, verdict: &VerdictRecord) -> Result<String> {
        let (uid, declaration_id) = self
            .scan_uid(&verdict.scan_id)?
            .ok_or_else(|| StoreError::UnknownScan(verdict.scan_id.clone()))?;
        for (idx, v) in &verdict.detections {
            let changed = self.tx.execute(
                "UPDATE detections SET verdict = ?1, verdict_by = ?2 WHERE scan_uid = ?3 AND idx = ?4",
                params![v.as_str(), verdict.inspector_id, uid, idx],
            )?;
            if changed != 1 {
                return Err(StoreError::Corrupt(format!(
                    "scan {} has no detection {idx}",
                    verdict.scan_id
                ))
                .into());
            }
        }
        if let Some(decision) = verdict.decision {
            self.tx.execute(
                "UPDATE scans SET decision = ?1 WHERE uid = ?2",
                params![decision.as_str(), uid],
            )?;
        }
        let judgements: Vec<serde_json::Value> = verdict
            .detections
            .iter()
            .map(|(idx, v)| serde_json::json!({"detection_id": idx, "verdict": v.as_str()}))
            .collect();
        self.tx.execute(
            "INSERT INTO verdicts (scan_uid, inspector_id, comment, decision, judgements, at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                uid,
                verdict.inspector_id,
                verdict.comment,
                verdict.decision.map(ScanDecision::as_str),
                serde_json::Value::Array(judgements).to_string(),
                verdict.at_ms
            ],
        )?;
        Ok(declaration_id)
    }

    fn append_risk_change(&self, mut change: RiskChange) -> Result<RiskChange> {
        self.tx.execute(
            "INSERT INTO risk_changes (declaration_id, score, channel, previous_score, previous_channel, reasons, cause, at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                change.declaration_id,
                change.score,
                change.channel.as_str(),
                change.previous.map(|p| p.0),
                change.previous.map(|p| p.1.as_str()),
                to_json(&change.reasons)?,
                change.cause,
                change.at_ms
            ],
        )?;
        change.sequence = u64_of(self.tx.last_insert_rowid());
        Ok(change)
    }

    fn set_risk(&self, declaration_id: &str, risk: &CurrentRisk) -> Result<()> {
        self.tx.execute(
            "UPDATE declarations SET score = ?1, channel = ?2, assessment = ?3, risk_sequence = ?4, risk_updated_ms = ?5
             WHERE id = ?6",
            params![
                risk.assessment.score,
                risk.assessment.channel.as_str(),
                to_json(&risk.assessment)?,
                i64_of(risk.sequence),
                risk.updated_ms,
                declaration_id
            ],
        )?;
        Ok(())
    }

    fn append_audit(&self, entry: &NewAuditEntry) -> Result<u64> {
        self.tx.execute(
            "INSERT INTO audit_log (at_ms, actor, action, declaration_id, scan_id, details)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                entry.at_ms,
                entry.actor,
                entry.action,
                entry.declaration_id,
                entry.scan_id,
                entry.details.to_string()
            ],
        )?;
        Ok(u64_of(self.tx.last_insert_rowid()))
    }
}

impl Writer<'_, '_> {
    fn insert_principal(&self, principal: &Principal, token_sha256: &str) -> Result<()> {
        let taken: Option<i64> = self
            .tx
            .query_row(
                "SELECT 1 FROM principals WHERE name = ?1",
                [&principal.name],
                |r| r.get(0),
            )
            .optional()?;
        if taken.is_some() {
            return Err(StoreError::DuplicatePrincipal(principal.name.clone()).into());
        }
        let roles: Vec<&str> = principal.roles.iter().map(|r| r.as_str()).collect();
        self.tx.execute(
            "INSERT INTO principals (name, roles, portals, token_sha256, created_ms, expires_ms, revoked_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)",
            params![
                principal.name,
                roles.join(","),
                to_json(&principal.portals)?,
                token_sha256,
                principal.created_ms,
                principal.expires_ms
            ],
        )?;
        Ok(())
    }

    fn revoke_principal(&self, name: &str, at_ms: i64) -> Result<bool> {
        Ok(self.tx.execute(
            "UPDATE principals SET revoked_ms = ?1 WHERE name = ?2 AND revoked_ms IS NULL",
            params![at_ms, name],
        )? == 1)
    }

    fn set_password(&self, name: &str, password_phc: &str) -> Result<bool> {
        Ok(self.tx.execute(
            "UPDATE principals SET password_phc = ?1 WHERE name = ?2 AND revoked_ms IS NULL",
            params![password_phc, name],
        )? == 1)
    }
}

impl UnitOfWork for Writer<'_, '_> {
    fn declaration(
        &mut self,
        id: &str,
    ) -> std::result::Result<Option<DeclarationState>, StoreError> {
        Ok(load_state(self.tx, id)?)
    }

    fn scan_owner(&mut self, scan_id: &str) -> std::result::Result<Option<String>, StoreError> {
        Ok(self.scan_uid(scan_id)?.map(|(_, declaration)| declaration))
    }

    fn insert_declaration(
        &mut self,
        declaration: &Declaration,
        registered_ms: i64,
        assessment: &Assessment,
    ) -> std::result::Result<(), StoreError> {
        Ok(Writer::insert_declaration(
            self,
            declaration,
            registered_ms,
            assessment,
        )?)
    }

    fn insert_scan(&mut self, scan: &NewScan) -> std::result::Result<(), StoreError> {
        Ok(Writer::insert_scan(self, scan)?)
    }

    fn insert_verdict(
        &mut self,
        verdict: &VerdictRecord,
    ) -> std::result::Result<String, StoreError> {
        Ok(Writer::insert_verdict(self, verdict)?)
    }

    fn append_risk_change(
        &mut self,
        change: RiskChange,
    ) -> std::result::Result<RiskChange, StoreError> {
        Ok(Writer::append_risk_change(self, change)?)
    }

    fn set_risk(
        &mut self,
        declaration_id: &str,
        risk: &CurrentRisk,
    ) -> std::result::Result<(), StoreError> {
        Ok(Writer::set_risk(self, declaration_id, risk)?)
    }

    fn append_audit(&mut self, entry: &NewAuditEntry) -> std::result::Result<u64, StoreError> {
        Ok(Writer::append_audit(self, entry)?)
    }

    fn insert_principal(
        &mut self,
        principal: &Principal,
        token_sha256: &str,
    ) -> std::result::Result<(), StoreError> {
        Ok(Writer::insert_principal(self, principal, token_sha256)?)
    }

    fn revoke_principal(
        &mut self,
        name: &str,
        at_ms: i64,
    ) -> std::result::Result<bool, StoreError> {
        Ok(Writer::revoke_principal(self, name, at_ms)?)
    }

    fn set_password(
        &mut self,
        name: &str,
        password_phc: &str,
    ) -> std::result::Result<bool, StoreError> {
        Ok(Writer::set_password(self, name, password_phc)?)
    }
}
