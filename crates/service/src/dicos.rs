//! Scans that come as DICOS DX objects: the ids the object gives its scan, and the Threat
//! Detection Report (TDR) the service answers with, as an ATR system does.

use xray_customs::declaration::StoredScan;
use xray_dicos::{DxIds, TdrSpec, TdrType, ThreatCategory, ThreatSpec};
use xray_engine::pipeline::Inspection;
use xray_types::{BoxXyxy, Category, Encoding};

use crate::{Error, screening::Scan};

/// What goes in a TDR's Threat Detection Algorithm and Version, before the model's version.
const MANUFACTURER: &str = "xray-screen";

/// The DICOS threat category of each of the project's categories: weapons are prohibited
/// items; drugs and undeclared goods are contraband (goods that may not cross undeclared);
/// anything else is OTHER. The class name goes in the threat's description.
pub fn threat_category(category: Category) -> ThreatCategory {
    match category {
        Category::Weapon => ThreatCategory::ProhibitedItem,
        Category::Drugs | Category::UndeclaredGoods => ThreatCategory::Contraband,
        Category::Other => ThreatCategory::Other,
    }
}

/// Whether a scan's bytes are a DICOS object (declared, or recognised by their signature).
fn is_dicos(scan: &Scan) -> bool {
    scan.request.encoding == Some(Encoding::Dicos)
        || (scan.request.encoding.is_none()
            && Encoding::sniff(&scan.request.image) == Some(Encoding::Dicos))
}

/// For a DICOS scan, reads its object's ids and fills what the request left empty: the SOP
/// Instance UID as its scan id, the Accession Number as its declaration. None for other
/// scans.
pub(crate) fn take_ids(scan: &mut Scan) -> Result<Option<DxIds>, Error> {
    if !is_dicos(scan) {
        return Ok(None);
    }
    let ids = xray_dicos::read_dx_ids(&scan.request.image)
        .map_err(|e| Error::Invalid(format!("the DICOS scan cannot be read: {e}")))?;
    if scan.request.scan_id.is_empty() {
        scan.request.scan_id = ids.sop_instance_uid.clone();
    }
    if scan.request.declaration_id.is_empty()
        && let Some(accession) = &ids.accession_number
    {
        scan.request.declaration_id = accession.clone();
    }
    Ok(Some(ids))
}

/// A fresh DICOM UID: "2.25." and a random 128-bit number (DICOM PS3.5 B.2), so that no
/// registered root is needed.
fn new_uid() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Internal(format!("no randomness for a UID: {e}")))?;
    Ok(format!("2.25.{}", u128::from_be_bytes(bytes)))
}

/// One detection as a TDR carries it.
pub(crate) struct Found {
    pub class_name: String,
    pub category: Category,
    pub confidence: f32,
    pub bbox: BoxXyxy,
    pub alarm: bool,
}

impl Found {
    pub(crate) fn of_inspection(i: &Inspection) -> Vec<Found> {
        i.detections
            .iter()
            .map(|d| Found {
                class_name: d.class_name.clone(),
                category: d.category,
                confidence: d.confidence,
                bbox: d.bbox,
                alarm: d.alarm,
            })
            .collect()
    }

    pub(crate) fn of_stored(s: &StoredScan) -> Vec<Found> {
        s.detections
            .iter()
            .map(|d| Found {
                class_name: d.class_name.clone(),
                category: d.category,
                confidence: d.confidence,
                bbox: d.bbox,
                alarm: d.alarm,
            })
            .collect()
    }
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
    let spec = TdrSpec {
        kind: TdrType::Machine,
        alarm: found.iter().any(|f| f.alarm),
        alarm_time_unix_ms: at_ms,
        algorithm: [
            MANUFACTURER.to_string(),
            model.to_string(),
            model_version.to_string(),
        ],
        operator: None,
        referenced_tdr_uid: None,
        processing_time_ms: processing_ms,
        dx_sop_class_uid: ids.sop_class_uid.clone(),
        dx_sop_instance_uid: ids.sop_instance_uid.clone(),
        dx_series_instance_uid: ids.series_instance_uid.clone(),
        study_instance_uid: ids.study_instance_uid.clone(),
        series_instance_uid: new_uid()?,
        sop_instance_uid: new_uid()?,
        threats: found
            .iter()
            .enumerate()
            .map(|(i, f)| ThreatSpec {
                id: i as u32,
                box_xyxy: [f.bbox.x1, f.bbox.y1, f.bbox.x2, f.bbox.y2],
                category: threat_category(f.category),
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
    use super::*;

    #[test]
    fn every_category_has_its_dicos_threat_category() {
        assert_eq!(
            threat_category(Category::Weapon),
            ThreatCategory::ProhibitedItem
        );
        assert_eq!(threat_category(Category::Drugs), ThreatCategory::Contraband);
        assert_eq!(
            threat_category(Category::UndeclaredGoods),
            ThreatCategory::Contraband
        );
        assert_eq!(threat_category(Category::Other), ThreatCategory::Other);
        let a = new_uid().expect("uid");
        assert!(a.starts_with("2.25.") && a.len() <= 64, "{a}");
        assert_ne!(a, new_uid().expect("uid"));
    }
}
