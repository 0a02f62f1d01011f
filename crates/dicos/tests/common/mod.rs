//! Builders shared by the integration tests.
#![allow(dead_code)]

use dicom_object::FileDicomObject;
use dicom_object::mem::InMemDicomObject;
use xray_dicos::{DxSpec, TdrSpec, TdrType, ThreatCategory, ThreatSpec, write_dx};

/// A deterministic frame whose values span most of 16 bits.
pub fn pattern(width: u32, height: u32, seed: u32) -> Vec<u16> {
    (0..width * height)
        .map(|i| ((i.wrapping_mul(7919).wrapping_add(seed * 104_729)) % 65536) as u16)
        .collect()
}

pub fn spec(width: u32, height: u32, frames: usize) -> DxSpec {
    DxSpec {
        width,
        height,
        frames: (0..frames)
            .map(|f| pattern(width, height, f as u32 + 1))
            .collect(),
        sop_instance_uid: "2.25.1001".into(),
        study_instance_uid: "2.25.1002".into(),
        series_instance_uid: "2.25.1003".into(),
        accession_number: Some("ACC-42".into()),
        pixel_spacing_mm: Some([0.5, 0.25]),
    }
}

pub fn dx(width: u32, height: u32, frames: usize) -> Vec<u8> {
    write_dx(&spec(width, height, frames)).expect("a valid spec writes")
}

/// Parses a written file with dicom-object, lets `f` change it, and writes it again.
pub fn edit(bytes: &[u8], f: impl FnOnce(&mut FileDicomObject<InMemDicomObject>)) -> Vec<u8> {
    let mut obj = dicom_object::from_reader(&bytes[128..]).expect("test input parses");
    f(&mut obj);
    let mut out = Vec::new();
    obj.write_all(&mut out).expect("edited object writes");
    out
}

/// A MACHINE TDR about the DX that `spec` describes: one alarming knife, one clear carton.
pub fn machine_tdr() -> TdrSpec {
    TdrSpec {
        kind: TdrType::Machine,
        alarm: true,
        alarm_time_unix_ms: 1_709_210_096_789,
        algorithm: ["Acme".into(), "xray-screen".into(), "0.1.0".into()],
        operator: None,
        referenced_tdr_uid: None,
        processing_time_ms: 12.5,
        dx_sop_class_uid: "1.2.840.10008.5.1.4.1.1.501.2.2".into(),
        dx_sop_instance_uid: "2.25.1001".into(),
        dx_series_instance_uid: "2.25.1003".into(),
        study_instance_uid: "2.25.1002".into(),
        series_instance_uid: "2.25.2003".into(),
        sop_instance_uid: "2.25.2001".into(),
        threats: vec![
            ThreatSpec {
                id: 1,
                box_xyxy: [10.0, 20.5, 110.0, 64.0],
                category: ThreatCategory::ProhibitedItem,
                description: "knife".into(),
                probability: 0.875,
                alarm: true,
            },
            ThreatSpec {
                id: 2,
                box_xyxy: [1.0, 2.0, 3.0, 4.0],
                category: ThreatCategory::Contraband,
                description: "cigarettes".into(),
                probability: 0.25,
                alarm: false,
            },
        ],
    }
}
