//! Scans that come as DICOS DX objects: the ids the object gives its scan, and the Threat
//! Detection Report (TDR) the service answers with, as an ATR system does.

use xray_customs::declaration::{DetectionVerdict, ScanDecision, StoredScan};
use xray_dicos::{DxIds, TdrSpec, TdrType, ThreatCategory, ThreatSpec};
use xray_types::Encoding;

use crate::{
    Error,
    screening::{Found, Scan},
};

/// What goes in a TDR's Threat Detection Algorithm and Version, before the model's version.
const MANUFACTURER: &str = "xray-screen";

/// Whether a scan's bytes are a DICOS object (declared, or recognised by their signature).
fn is_dicos(scan: &Scan) -> bool {
    scan.request.encoding == Some(Encoding::Dicos)
        || (scan.request.encoding.is_none()
            && Encoding::sniff(&scan.request.image) == Some(Encoding::Dicos))
}

/// Which attribute of a DX names the declaration its scan belongs to
/// (`--dicos-declaration-from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DeclarationFrom {
    /// Accession Number (0008,0050): where a site's systems put the declaration's number.
    #[default]
    AccessionNumber,
    /// None: a DX names no declaration; the request must (a scan without one is only
    /// screened).
    None,
}

/// For a DICOS scan, reads its object's ids and fills what the request left empty: the SOP
/// Instance UID as its scan id, and (as `declaration_from` says) its declaration. None for
/// other scans.
pub(crate) fn take_ids(
    scan: &mut Scan,
    declaration_from: DeclarationFrom,
) -> Result<Option<DxIds>, Error> {
    if !is_dicos(scan) {
        return Ok(None);
    }
    let ids = xray_dicos::read_dx_ids(&scan.request.image)
        .map_err(|e| Error::Invalid(format!("the DICOS scan cannot be read: {e}")))?;
    if scan.request.scan_id.is_empty() {
        scan.request.scan_id = ids.sop_instance_uid.clone();
    }
    if scan.request.declaration_id.is_empty()
        && declaration_from == DeclarationFrom::AccessionNumber
        && let Some(accession) = &ids.accession_number
    {
        scan.request.declaration_id = accession.clone();
    }
    Ok(Some(ids))
}

/// The UID of one of the reports about a DX: "2.25." and a 128-bit number (DICOM PS3.5
/// B.2, so that no registered root is needed) taken from a hash of the DX's SOP Instance UID
/// and what the UID is for. The same DX always gets the same TDR UIDs, so that its MACHINE
/// TDR is the same whenever it is written (at screening, from the store) and an OPERATOR TDR
/// can refer to it.
fn report_uid(dx_sop_instance_uid: &str, what: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{dx_sop_instance_uid}\0{what}").as_bytes());
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    format!("2.25.{}", u128::from_be_bytes(first))
}

/// The MACHINE TDR of a screened DX: the alarm decision, every detection as a potential
/// threat object over its box, and the DX it refers to.
pub(crate) fn machine_tdr(
    ids: &DxIds,
    found: &[Found],
    model_version: &str,
    model: &str,
    at_ms: i64,
    processing_ms: f64,
) -> Result<Vec<u8>, Error> {
    let report = Report {
        kind: TdrType::Machine,
        operator: None,
        alarm: found.iter().any(|f| f.alarm),
        algorithm: [
            MANUFACTURER.to_string(),
            model.to_string(),
            model_version.to_string(),
        ],
        at_ms,
        processing_ms,
    };
    tdr(ids, report, found)
}

/// The OPERATOR TDR of a DX an inspector has judged: the inspector's identity, the alarm as
/// the inspector left it (a seized scan alarms; otherwise each detection alarms when it was
/// confirmed, or unjudged and alarming), referring to the MACHINE TDR. None before any
/// verdict.
pub(crate) fn operator_tdr(ids: &DxIds, scan: &StoredScan) -> Result<Option<Vec<u8>>, Error> {
    let Some(operator) = scan
        .detections
        .iter()
        .map(|d| d.verdict_by.as_str())
        .find(|by| !by.is_empty())
    else {
        return Ok(None);
    };
    let seized = scan.decision == Some(ScanDecision::Seized);
    let cleared = scan.decision == Some(ScanDecision::Cleared);
    let found: Vec<Found> = scan
        .detections
        .iter()
        .map(|d| Found {
            class_id: None,
            class_name: d.class_name.clone(),
            category: d.category,
            confidence: d.confidence,
            bbox: d.bbox,
            alarm: match d.verdict {
                Some(DetectionVerdict::Confirmed) => true,
                Some(DetectionVerdict::FalseAlarm) => false,
                None => d.alarm && (seized || !cleared),
            },
        })
        .collect();
    // A seizure alarms whatever the detections say.
    let alarm = seized || found.iter().any(|f| f.alarm);
    let report = Report {
        kind: TdrType::Operator,
        operator: Some(operator.to_string()),
        alarm,
        algorithm: [
            MANUFACTURER.to_string(),
            scan.model.clone(),
            scan.model_version.clone(),
        ],
        at_ms: scan.received_ms,
        processing_ms: 0.0,
    };
    tdr(ids, report, &found).map(Some)
}

/// What a TDR says beside its threats and the DX it refers to.
struct Report {
    kind: TdrType,
    operator: Option<String>,
    alarm: bool,
    algorithm: [String; 3],
    at_ms: i64,
    processing_ms: f64,
}

fn tdr(ids: &DxIds, report: Report, found: &[Found]) -> Result<Vec<u8>, Error> {
    let Report {
        kind,
        operator,
        alarm,
        algorithm,
        at_ms,
        processing_ms,
    } = report;
    let which = match kind {
        TdrType::Machine => "machine",
        TdrType::Operator => "operator",
        TdrType::GroundTruth => "ground-truth",
    };
    let spec = TdrSpec {
        kind,
        alarm,
        alarm_time_unix_ms: at_ms,
        algorithm,
        referenced_tdr_uid: (kind == TdrType::Operator)
            .then(|| report_uid(&ids.sop_instance_uid, "machine-tdr")),
        operator,
        processing_time_ms: processing_ms,
        dx_sop_class_uid: ids.sop_class_uid.clone(),
        dx_sop_instance_uid: ids.sop_instance_uid.clone(),
        dx_series_instance_uid: ids.series_instance_uid.clone(),
        study_instance_uid: ids.study_instance_uid.clone(),
        series_instance_uid: report_uid(&ids.sop_instance_uid, "tdr-series"),
        sop_instance_uid: report_uid(&ids.sop_instance_uid, &format!("{which}-tdr")),
        threats: found
            .iter()
            .enumerate()
            .map(|(i, f)| ThreatSpec {
                id: i as u32,
                box_xyxy: [f.bbox.x1, f.bbox.y1, f.bbox.x2, f.bbox.y2],
                category: ThreatCategory::of(f.category),
                description: f.class_name.clone(),
                probability: f.confidence,
                alarm: f.alarm,
            })
            .collect(),
    };
    xray_dicos::write_tdr(&spec).map_err(|e| Error::Internal(format!("cannot write the TDR: {e}")))
}

#[cfg(test)]
mod tests {
    use xray_types::Category;

    use super::*;

    #[test]
    fn every_category_has_its_dicos_threat_category_and_reports_their_uids() {
        use ThreatCategory as T;
        assert_eq!(T::of(Category::Weapon), T::ProhibitedItem);
        assert_eq!(T::of(Category::Drugs), T::Contraband);
        assert_eq!(T::of(Category::UndeclaredGoods), T::Contraband);
        assert_eq!(T::of(Category::Other), T::Other);
        let a = report_uid("1.2.3", "machine-tdr");
        assert!(a.starts_with("2.25.") && a.len() <= 64, "{a}");
        assert_eq!(
            a,
            report_uid("1.2.3", "machine-tdr"),
            "the same DX, the same UID"
        );
        assert_ne!(a, report_uid("1.2.4", "machine-tdr"));
        assert_ne!(a, report_uid("1.2.3", "operator-tdr"));
    }
}
