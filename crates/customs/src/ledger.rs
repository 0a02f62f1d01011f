//! What each write records, the same for every storage engine: registering a declaration,
//! storing a scan and recording a verdict, each with the risk it leads to, the numbered risk
//! change when that risk moved, and its audit entries. Every function runs inside one
//! [`UnitOfWork`], so that all of it is committed together or not at all.

use crate::{
    declaration::{
        Assessment, Channel, CurrentRisk, Declaration, DeclarationState, RiskChange, ScanDecision,
        StoredScan,
    },
    principal::Principal,
    store::{
        Assess, NewAuditEntry, NewScan, Registration, RiskOutcome, StoreError, UnitOfWork,
        VerdictRecord,
    },
};

/// Who the audit log names for writes the service makes on its own.
const SERVICE_ACTOR: &str = "service";

/// Stores a declaration with the risk `assess` gives it, or reports the stored one; the
/// audit log names `actor`, the principal that registered it.
pub fn register(
    uow: &mut dyn UnitOfWork,
    declaration: &Declaration,
    at_ms: i64,
    actor: &str,
    assess: Assess<'_>,
) -> Result<Registration, StoreError> {
    if let Some(existing) = uow.declaration(&declaration.id)? {
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
    uow.insert_declaration(declaration, at_ms, &assessment)?;
    let change = set_risk(uow, &mut state, assessment, None, "registered", at_ms)?;
    uow.append_audit(&NewAuditEntry {
        at_ms,
        actor: actor.into(),
        action: "declaration.registered".into(),
        declaration_id: declaration.id.clone(),
        scan_id: String::new(),
        details: serde_json::to_value(declaration)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
    })?;
    Ok(Registration::New {
        state: Box::new(state),
        change,
    })
}

/// Stores a screened scan and its detections, then re-computes its declaration's risk; the
/// audit log names `actor`, the principal that sent it. `DuplicateScan` when the scan id is
/// taken, `UnknownDeclaration` when its declaration is not registered.
pub fn record_scan(
    uow: &mut dyn UnitOfWork,
    new: &NewScan,
    actor: &str,
    assess: Assess<'_>,
) -> Result<RiskOutcome, StoreError> {
    let scan = &new.scan;
    // The declaration first: a store shared by several nodes locks it here, so that the scan
    // id is checked (and a retry sent to another node found) under that lock.
    let state = uow.declaration(&scan.declaration_id)?;
    if let Some(declaration_id) = uow.scan_owner(&scan.scan_id)? {
        return Err(StoreError::DuplicateScan {
            scan_id: scan.scan_id.clone(),
            declaration_id,
        });
    }
    let mut state =
        state.ok_or_else(|| StoreError::UnknownDeclaration(scan.declaration_id.clone()))?;
    uow.insert_scan(new)?;
    uow.append_audit(&scanner_entry(
        scan,
        actor,
        "scan.stored",
        serde_json::json!({
            "model": scan.model,
            "model_version": scan.model_version,
            "alarm": scan.alarm,
            "detections": scan.detections.len(),
            "image_kept": new.image.is_some(),
        }),
    ))?;
    let mut stored = scan.clone();
    stored.decision = None;
    state.scans.push(stored);
    let assessment = assess(&state);
    let change = reassess(
        uow,
        &mut state,
        assessment,
        &format!("scan {}", scan.scan_id),
        scan.received_ms,
    )?;
    Ok(RiskOutcome { state, change })
}

/// Applies a verdict (detections judged, the scan decided), appends it to the audit log and
/// re-computes the risk; also answers the audit entry's number.
pub fn record_verdict(
    uow: &mut dyn UnitOfWork,
    verdict: &VerdictRecord,
    assess: Assess<'_>,
) -> Result<(RiskOutcome, u64), StoreError> {
    let declaration_id = uow.insert_verdict(verdict)?;
    let judgements: Vec<serde_json::Value> = verdict
        .detections
        .iter()
        .map(|(idx, v)| serde_json::json!({"detection_id": idx, "verdict": v.as_str()}))
        .collect();
    let audit_seq = uow.append_audit(&NewAuditEntry {
        at_ms: verdict.at_ms,
        actor: verdict.inspector_id.clone(),
        action: "verdict".into(),
        declaration_id: declaration_id.clone(),
        scan_id: verdict.scan_id.clone(),
        details: serde_json::json!({
            "detections": judgements,
            "decision": verdict.decision.map(ScanDecision::as_str),
            "comment": verdict.comment,
        }),
    })?;
    let mut state = uow
        .declaration(&declaration_id)?
        .ok_or_else(|| StoreError::UnknownDeclaration(declaration_id.clone()))?;
    let assessment = assess(&state);
    let change = reassess(
        uow,
        &mut state,
        assessment,
        &format!("verdict on {} by {}", verdict.scan_id, verdict.inspector_id),
        verdict.at_ms,
    )?;
    Ok((RiskOutcome { state, change }, audit_seq))
}

/// Why a scan was refused for its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanIdConflict {
    /// The id is stored for this declaration with another image or other metadata.
    OtherContent,
    /// The id is stored for another declaration.
    OtherDeclaration,
}

impl ScanIdConflict {
    /// The name in the audit log and the metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ScanIdConflict::OtherContent => "other_content",
            ScanIdConflict::OtherDeclaration => "other_declaration",
        }
    }
}

/// Records in the audit log that a scan was refused because its id is taken: a misconfigured
/// workstation, or an attempt to hide a threat behind a stored result.
pub fn refuse_scan(
    uow: &mut dyn UnitOfWork,
    sent: &StoredScan,
    actor: &str,
    stored: &StoredScan,
    conflict: ScanIdConflict,
) -> Result<u64, StoreError> {
    uow.append_audit(&scanner_entry(
        sent,
        actor,
        "scan.refused",
        serde_json::json!({
            "reason": conflict.as_str(),
            "sent_digest": sent.digest,
            "stored_digest": stored.digest,
            "stored_declaration_id": stored.declaration_id,
            "stored_portal_id": stored.portal_id,
        }),
    ))
}

/// An audit entry about a scan, in the name of the principal that sent it.
fn scanner_entry(
    scan: &StoredScan,
    actor: &str,
    action: &str,
    details: serde_json::Value,
) -> NewAuditEntry {
    NewAuditEntry {
        at_ms: scan.received_ms,
        actor: actor.into(),
        action: action.into(),
        declaration_id: scan.declaration_id.clone(),
        scan_id: scan.scan_id.clone(),
        details,
    }
}

/// Records in the audit log that a registration was refused because its id is registered
/// with other content (the stored declaration is kept as it is).
pub fn refuse_declaration(
    uow: &mut dyn UnitOfWork,
    sent: &Declaration,
    at_ms: i64,
    actor: &str,
) -> Result<u64, StoreError> {
    uow.append_audit(&NewAuditEntry {
        at_ms,
        actor: actor.into(),
        action: "declaration.refused".into(),
        declaration_id: sent.id.clone(),
        scan_id: String::new(),
        details: serde_json::json!({
            "reason": "other_content",
            "sent": sent,
        }),
    })
}

/// Adds a principal with its token's hash, and says so in the audit log (never the token).
pub fn add_principal(
    uow: &mut dyn UnitOfWork,
    principal: &Principal,
    token_sha256: &str,
    actor: &str,
) -> Result<(), StoreError> {
    uow.insert_principal(principal, token_sha256)?;
    uow.append_audit(&NewAuditEntry {
        at_ms: principal.created_ms,
        actor: actor.into(),
        action: "principal.added".into(),
        declaration_id: String::new(),
        scan_id: String::new(),
        details: serde_json::json!({
            "name": principal.name,
            "roles": principal.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            "portals": principal.portals,
            "expires_ms": principal.expires_ms,
        }),
    })?;
    Ok(())
}

/// Revokes a principal and says so in the audit log; false when there was none to revoke.
pub fn revoke_principal(
    uow: &mut dyn UnitOfWork,
    name: &str,
    at_ms: i64,
    actor: &str,
) -> Result<bool, StoreError> {
    if !uow.revoke_principal(name, at_ms)? {
        return Ok(false);
    }
    uow.append_audit(&NewAuditEntry {
        at_ms,
        actor: actor.into(),
        action: "principal.revoked".into(),
        declaration_id: String::new(),
        scan_id: String::new(),
        details: serde_json::json!({ "name": name }),
    })?;
    Ok(true)
}

/// Sets a principal's review-screen password (its hash) and says so in the audit log (never
/// the password or its hash); false when there is no active principal of that name.
pub fn set_password(
    uow: &mut dyn UnitOfWork,
    name: &str,
    password_phc: &str,
    at_ms: i64,
    actor: &str,
) -> Result<bool, StoreError> {
    if !uow.set_password(name, password_phc)? {
        return Ok(false);
    }
    uow.append_audit(&NewAuditEntry {
        at_ms,
        actor: actor.into(),
        action: "principal.password_set".into(),
        declaration_id: String::new(),
        scan_id: String::new(),
        details: serde_json::json!({ "name": name }),
    })?;
    Ok(true)
}

/// Keeps `assessment` as the declaration's risk. A risk that moved (score, channel or
/// reasons) is a numbered risk change with an audit entry; findings with new evidence for an
/// unchanged risk are kept without one.
fn reassess(
    uow: &mut dyn UnitOfWork,
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
        if current.findings != assessment.findings {
            state.risk.assessment = assessment;
            uow.set_risk(&state.declaration.id, &state.risk)?;
        }
        return Ok(None);
    }
    let id = state.declaration.id.clone();
    let (previous_score, previous_channel) = (current.score, current.channel);
    let previous = Some((previous_score, previous_channel));
    let change = set_risk(uow, state, assessment, previous, cause, at_ms)?;
    uow.append_audit(&NewAuditEntry {
        at_ms,
        actor: SERVICE_ACTOR.into(),
        action: "risk.changed".into(),
        declaration_id: id,
        scan_id: String::new(),
        details: serde_json::json!({
            "sequence": change.sequence,
            "score": change.score,
            "channel": change.channel.as_str(),
            "previous_score": previous_score,
            "previous_channel": previous_channel.as_str(),
            "cause": cause,
        }),
    })?;
    Ok(Some(change))
}

/// Appends the numbered risk change to `assessment` and makes it the declaration's risk.
fn set_risk(
    uow: &mut dyn UnitOfWork,
    state: &mut DeclarationState,
    assessment: Assessment,
    previous: Option<(f64, Channel)>,
    cause: &str,
    at_ms: i64,
) -> Result<RiskChange, StoreError> {
    let change = uow.append_risk_change(RiskChange {
        sequence: 0,
        declaration_id: state.declaration.id.clone(),
        score: assessment.score,
        channel: assessment.channel,
        previous,
        reasons: assessment.reasons.clone(),
        cause: cause.to_string(),
        at_ms,
    })?;
    state.risk = CurrentRisk {
        assessment,
        sequence: change.sequence,
        updated_ms: at_ms,
    };
    uow.set_risk(&state.declaration.id, &state.risk)?;
    Ok(change)
}
