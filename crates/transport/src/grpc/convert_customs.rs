//! Between the wire types of the Declarations and Review services and the customs types.

use xray_customs::declaration::{
    Channel, CurrentRisk, Declaration, DeclarationState, DeclaredItem, DetectionVerdict, Evidence,
    Finding, HsCode, RiskChange, ScanDecision, StoredDetection, StoredScan, TransportMode,
};
use xray_proto as proto;
use xray_service::{
    Error,
    review::{AuditEntry, ClassAccuracy, FlaggedScan},
};
use xray_types::Category;

use super::convert::{bounding_box, category, view_value};

fn invalid(m: String) -> Error {
    Error::Invalid(m)
}

/// A `Declaration` off the wire; refuses unknown enum values and malformed HS codes.
pub fn declaration(d: proto::Declaration) -> Result<Declaration, Error> {
    let transport_mode = match proto::TransportMode::try_from(d.transport_mode) {
        Ok(proto::TransportMode::Unspecified) => TransportMode::Unspecified,
        Ok(proto::TransportMode::Air) => TransportMode::Air,
        Ok(proto::TransportMode::Sea) => TransportMode::Sea,
        Ok(proto::TransportMode::Road) => TransportMode::Road,
        Ok(proto::TransportMode::Rail) => TransportMode::Rail,
        Ok(proto::TransportMode::Post) => TransportMode::Post,
        Ok(proto::TransportMode::Courier) => TransportMode::Courier,
        Ok(proto::TransportMode::Passenger) => TransportMode::Passenger,
        Err(_) => {
            return Err(invalid(format!(
                "declaration.transport_mode {} is not a known TransportMode",
                d.transport_mode
            )));
        }
    };
    let items = d
        .items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            Ok(DeclaredItem {
                hs_code: HsCode::parse(&item.hs_code)
                    .map_err(|e| invalid(format!("declaration.items[{i}].hs_code: {e}")))?,
                description: item.description,
                quantity: item.quantity,
                value: item.value,
            })
        })
        .collect::<Result<_, Error>>()?;
    Ok(Declaration {
        id: d.id,
        declarant: d.declarant,
        origin_country: d.origin_country,
        destination_country: d.destination_country,
        transport_mode,
        items,
        prior_risk: d.prior_risk,
    })
}

fn transport(t: TransportMode) -> proto::TransportMode {
    match t {
        TransportMode::Unspecified => proto::TransportMode::Unspecified,
        TransportMode::Air => proto::TransportMode::Air,
        TransportMode::Sea => proto::TransportMode::Sea,
        TransportMode::Road => proto::TransportMode::Road,
        TransportMode::Rail => proto::TransportMode::Rail,
        TransportMode::Post => proto::TransportMode::Post,
        TransportMode::Courier => proto::TransportMode::Courier,
        TransportMode::Passenger => proto::TransportMode::Passenger,
    }
}

pub fn channel(c: Channel) -> proto::Channel {
    match c {
        Channel::Green => proto::Channel::Green,
        Channel::Yellow => proto::Channel::Yellow,
        Channel::Red => proto::Channel::Red,
    }
}

/// A channel filter: unset means any.
pub fn channel_filter(value: i32) -> Result<Option<Channel>, Error> {
    match proto::Channel::try_from(value) {
        Ok(proto::Channel::Unspecified) => Ok(None),
        Ok(proto::Channel::Green) => Ok(Some(Channel::Green)),
        Ok(proto::Channel::Yellow) => Ok(Some(Channel::Yellow)),
        Ok(proto::Channel::Red) => Ok(Some(Channel::Red)),
        Err(_) => Err(invalid(format!(
            "channel {value} is not a known Channel (GREEN=1, YELLOW=2, RED=3)"
        ))),
    }
}

pub fn detection_verdict(v: Option<DetectionVerdict>) -> proto::DetectionVerdict {
    match v {
        None => proto::DetectionVerdict::Unspecified,
        Some(DetectionVerdict::Confirmed) => proto::DetectionVerdict::Confirmed,
        Some(DetectionVerdict::FalseAlarm) => proto::DetectionVerdict::FalseAlarm,
    }
}

pub fn scan_decision(d: Option<ScanDecision>) -> proto::ScanDecision {
    match d {
        None => proto::ScanDecision::Unspecified,
        Some(ScanDecision::Cleared) => proto::ScanDecision::Cleared,
        Some(ScanDecision::Seized) => proto::ScanDecision::Seized,
    }
}

pub fn risk(r: &CurrentRisk) -> proto::Risk {
    proto::Risk {
        score: r.assessment.score,
        channel: channel(r.assessment.channel) as i32,
        reasons: r.assessment.reasons.clone(),
        sequence: r.sequence,
        updated_unix_ms: r.updated_ms,
    }
}

fn evidence(e: &Evidence) -> proto::Evidence {
    proto::Evidence {
        scan_id: e.scan_id.clone(),
        detection_id: e.detection_id,
        confidence: e.confidence,
        r#box: Some(bounding_box(e.bbox)),
        verdict: detection_verdict(e.verdict) as i32,
    }
}

fn finding(f: &Finding) -> proto::Finding {
    proto::Finding {
        category: category(f.category) as i32,
        class_name: f.class_name.clone(),
        confidence: f.confidence,
        contribution: f.contribution,
        reason: f.reason.clone(),
        evidence: f.evidence.iter().map(evidence).collect(),
    }
}

fn scan_summary(s: &StoredScan) -> proto::ScanSummary {
    proto::ScanSummary {
        scan_id: s.scan_id.clone(),
        portal_id: s.portal_id.clone(),
        view: view_value(s.view),
        received_unix_ms: s.received_ms,
        alarm: s.alarm,
        detections: u32::try_from(s.detections.len()).unwrap_or(u32::MAX),
        decision: scan_decision(s.decision) as i32,
    }
}

pub fn declaration_view(s: &DeclarationState) -> proto::DeclarationView {
    let d = &s.declaration;
    proto::DeclarationView {
        declaration: Some(proto::Declaration {
            id: d.id.clone(),
            declarant: d.declarant.clone(),
            origin_country: d.origin_country.clone(),
            destination_country: d.destination_country.clone(),
            transport_mode: transport(d.transport_mode) as i32,
            items: d
                .items
                .iter()
                .map(|i| proto::DeclaredItem {
                    hs_code: i.hs_code.to_string(),
                    description: i.description.clone(),
                    quantity: i.quantity,
                    value: i.value,
                })
                .collect(),
            prior_risk: d.prior_risk,
        }),
        risk: Some(risk(&s.risk)),
        findings: s.risk.assessment.findings.iter().map(finding).collect(),
        scans: s.scans.iter().map(scan_summary).collect(),
        registered_unix_ms: s.registered_ms,
    }
}

pub fn risk_change(c: RiskChange) -> proto::RiskChange {
    proto::RiskChange {
        sequence: c.sequence,
        declaration_id: c.declaration_id,
        score: c.score,
        channel: channel(c.channel) as i32,
        previous_score: c.previous.map_or(0.0, |p| p.0),
        previous_channel: c
            .previous
            .map_or(proto::Channel::Unspecified, |p| channel(p.1)) as i32,
        reasons: c.reasons,
        cause: c.cause,
        changed_unix_ms: c.at_ms,
    }
}

/// A stored detection as the Inspection service reports it.
pub fn stored_detection(d: &StoredDetection) -> proto::Detection {
    proto::Detection {
        class_name: d.class_name.clone(),
        category: category(d.category) as i32,
        confidence: d.confidence,
        r#box: Some(bounding_box(d.bbox)),
        alarm: d.alarm,
        detection_id: d.id,
    }
}

pub fn reviewed_detection(d: &StoredDetection) -> proto::ReviewedDetection {
    proto::ReviewedDetection {
        detection: Some(stored_detection(d)),
        verdict: detection_verdict(d.verdict) as i32,
        inspector_id: d.verdict_by.clone(),
    }
}

pub fn flagged_scan(f: FlaggedScan) -> proto::FlaggedScan {
    proto::FlaggedScan {
        scan_id: f.scan_id,
        declaration_id: f.declaration_id,
        portal_id: f.portal_id,
        received_unix_ms: f.received_ms,
        risk_score: f.risk_score,
        channel: channel(f.channel) as i32,
        categories: f
            .categories
            .into_iter()
            .map(|c| category(c) as i32)
            .collect(),
        alarms: f.alarms,
        decision: scan_decision(f.decision) as i32,
    }
}

pub fn audit_entry(e: AuditEntry) -> proto::AuditEntry {
    proto::AuditEntry {
        sequence: e.sequence,
        at_unix_ms: e.at_ms,
        actor: e.actor,
        action: e.action,
        declaration_id: e.declaration_id,
        scan_id: e.scan_id,
        details: e.details,
    }
}

pub fn class_accuracy(c: ClassAccuracy) -> proto::ClassAccuracy {
    proto::ClassAccuracy {
        precision: c.precision(),
        model: c.model,
        class_name: c.class_name,
        confirmed: c.confirmed,
        false_alarms: c.false_alarms,
    }
}

/// A category filter: unset means any.
pub fn category_filter(value: i32) -> Result<Option<Category>, Error> {
    match proto::Category::try_from(value) {
        Ok(proto::Category::Unspecified) => Ok(None),
        Ok(proto::Category::Weapon) => Ok(Some(Category::Weapon)),
        Ok(proto::Category::Drugs) => Ok(Some(Category::Drugs)),
        Ok(proto::Category::UndeclaredGoods) => Ok(Some(Category::UndeclaredGoods)),
        Ok(proto::Category::Other) => Ok(Some(Category::Other)),
        Err(_) => Err(invalid(format!("category {value} is not a known Category"))),
    }
}

/// A judgement of one detection off the wire.
pub fn judgement(j: &proto::DetectionJudgement) -> Result<(u32, DetectionVerdict), Error> {
    match proto::DetectionVerdict::try_from(j.verdict) {
        Ok(proto::DetectionVerdict::Confirmed) => Ok((j.detection_id, DetectionVerdict::Confirmed)),
        Ok(proto::DetectionVerdict::FalseAlarm) => {
            Ok((j.detection_id, DetectionVerdict::FalseAlarm))
        }
        _ => Err(invalid(format!(
            "detection {}: verdict {} is not CONFIRMED (1) or FALSE_ALARM (2)",
            j.detection_id, j.verdict
        ))),
    }
}

/// A scan decision off the wire: unset means none.
pub fn decision(value: i32) -> Result<Option<ScanDecision>, Error> {
    match proto::ScanDecision::try_from(value) {
        Ok(proto::ScanDecision::Unspecified) => Ok(None),
        Ok(proto::ScanDecision::Cleared) => Ok(Some(ScanDecision::Cleared)),
        Ok(proto::ScanDecision::Seized) => Ok(Some(ScanDecision::Seized)),
        Err(_) => Err(invalid(format!(
            "decision {value} is not a known ScanDecision (CLEARED=1, SEIZED=2)"
        ))),
    }
}
