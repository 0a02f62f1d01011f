//! A generated scan as DICOS objects (`synth --dicos`): its dual-energy samples as a DX (two
//! frames, low then high) and its labels as a Threat Detection Report of type GROUND_TRUTH
//! referring to that DX, as a scanner and an annotator would deliver them.

use xray_dicos::{DxSpec, TdrSpec, TdrType, ThreatCategory, ThreatSpec, tags};

use super::{CLASSES, GENERATOR_VERSION, SynthScan};

/// A UID for one of a scan's objects: "2.25." and a number made of the data set's seed, the
/// scan's index and which object it is, so that a data set's UIDs are the same each time it
/// is generated and never repeat within it.
fn uid(scan: &SynthScan, object: u128) -> String {
    let number = ((u128::from(scan.seed) << 64) | u128::from(scan.index)) * 8 + object;
    format!("2.25.{number}")
}

const DX: u128 = 1;
const STUDY: u128 = 2;
const DX_SERIES: u128 = 3;
const TDR: u128 = 4;
const TDR_SERIES: u128 = 5;

/// The scan's DX object and its ground-truth TDR, as Part 10 files.
pub fn dicos_objects(scan: &SynthScan) -> Result<(Vec<u8>, Vec<u8>), xray_dicos::DicosError> {
    let low = scan.samples.iter().step_by(2).copied().collect();
    let high = scan.samples.iter().skip(1).step_by(2).copied().collect();
    let mm_per_pixel = f64::from(1.0 / scan.pixels_per_mm);
    let dx = xray_dicos::write_dx(&DxSpec {
        width: scan.width,
        height: scan.height,
        frames: vec![low, high],
        sop_instance_uid: uid(scan, DX),
        study_instance_uid: uid(scan, STUDY),
        series_instance_uid: uid(scan, DX_SERIES),
        accession_number: None,
        pixel_spacing_mm: Some([mm_per_pixel, mm_per_pixel]),
    })?;
    let tdr = xray_dicos::write_tdr(&TdrSpec {
        kind: TdrType::GroundTruth,
        alarm: scan.labels.iter().any(|l| CLASSES[l.class_id].1.alarming()),
        alarm_time_unix_ms: 0,
        algorithm: [
            "xray-screen".to_string(),
            "synth".to_string(),
            GENERATOR_VERSION.to_string(),
        ],
        operator: None,
        referenced_tdr_uid: None,
        processing_time_ms: 0.0,
        dx_sop_class_uid: tags::DICOS_DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PROCESSING.to_string(),
        dx_sop_instance_uid: uid(scan, DX),
        dx_series_instance_uid: uid(scan, DX_SERIES),
        study_instance_uid: uid(scan, STUDY),
        series_instance_uid: uid(scan, TDR_SERIES),
        sop_instance_uid: uid(scan, TDR),
        threats: scan
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let (name, category) = CLASSES[l.class_id];
                ThreatSpec {
                    id: i as u32,
                    box_xyxy: l.bbox.map(|v| v as f32),
                    category: ThreatCategory::of(category),
                    description: name.to_string(),
                    probability: 1.0,
                    alarm: category.alarming(),
                }
            })
            .collect(),
    })?;
    Ok((dx, tdr))
}
