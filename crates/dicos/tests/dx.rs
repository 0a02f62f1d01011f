mod common;

use common::{dx, edit, pattern, spec};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use xray_dicos::{DicosError, Photometric, Window, read_dx, write_dx};

const MAX: u64 = 10_000_000;

fn put(obj: &mut dicom_object::mem::InMemDicomObject, tag: dicom_core::Tag, vr: VR, v: &str) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
}

fn put_us(obj: &mut dicom_object::mem::InMemDicomObject, tag: dicom_core::Tag, v: u16) {
    obj.put(DataElement::new(tag, VR::US, PrimitiveValue::from(v)));
}

#[test]
fn one_frame_round_trips() {
    let s = spec(37, 23, 1);
    let scan = read_dx(&write_dx(&s).unwrap(), MAX).unwrap();
    assert_eq!((scan.width, scan.height), (37, 23));
    assert_eq!(scan.frames, s.frames);
    assert!(!scan.dual_energy);
    assert_eq!(scan.sop_instance_uid, "2.25.1001");
    assert_eq!(scan.study_instance_uid, "2.25.1002");
    assert_eq!(scan.series_instance_uid, "2.25.1003");
    assert_eq!(scan.sop_class_uid, "1.2.840.10008.5.1.4.1.1.501.2.2");
    assert_eq!(scan.accession_number.as_deref(), Some("ACC-42"));
    assert_eq!(scan.pixel_spacing_mm, Some([0.5, 0.25]));
    assert_eq!(scan.bits_stored, 16);
    assert_eq!(scan.transfer_syntax, "1.2.840.10008.1.2.1");
    assert_eq!(scan.photometric, Photometric::Monochrome2);
    assert_eq!(scan.window, None);
}

#[test]
fn dual_energy_round_trips_low_first() {
    let s = spec(16, 9, 2);
    let scan = read_dx(&write_dx(&s).unwrap(), MAX).unwrap();
    assert!(scan.dual_energy);
    assert_eq!(scan.frames, s.frames);
}

#[test]
fn energy_attributes_decide_which_frame_is_low() {
    let s = spec(4, 4, 2);
    let swapped = edit(&write_dx(&s).unwrap(), |o| {
        put(o, tags::LOW_ENERGY_DETECTORS, VR::CS, "2");
        put(o, tags::HIGH_ENERGY_DETECTORS, VR::CS, "1");
    });
    let scan = read_dx(&swapped, MAX).unwrap();
    assert_eq!(scan.frames[0], s.frames[1]);
    assert_eq!(scan.frames[1], s.frames[0]);
}

#[test]
fn reads_without_preamble_and_implicit_vr() {
    let bytes = dx(5, 3, 1);
    let scan = read_dx(&bytes[128..], MAX).unwrap();
    assert_eq!(scan.frames[0], pattern(5, 3, 1));

    let implicit = edit(&bytes, |o| {
        o.meta_mut().transfer_syntax = "1.2.840.10008.1.2".into();
        o.meta_mut().update_information_group_length();
    });
    assert_ne!(implicit, bytes, "the data set is re-encoded");
    let scan = read_dx(&implicit, MAX).unwrap();
    assert_eq!(scan.transfer_syntax, "1.2.840.10008.1.2");
    assert_eq!(scan.frames[0], pattern(5, 3, 1));
}

#[test]
fn monochrome1_is_inverted_and_rescale_applied() {
    let mut s = spec(3, 1, 1);
    s.frames = vec![vec![0, 2048, 4095]];
    let bytes = edit(&write_dx(&s).unwrap(), |o| {
        put(o, tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME1");
        put_us(o, tags::BITS_STORED, 12);
        put_us(o, tags::HIGH_BIT, 11);
        put(o, tags::RESCALE_SLOPE, VR::DS, "2");
        put(o, tags::RESCALE_INTERCEPT, VR::DS, "-100");
        put(o, tags::WINDOW_CENTER, VR::DS, "4000");
        put(o, tags::WINDOW_WIDTH, VR::DS, "8000");
    });
    let scan = read_dx(&bytes, MAX).unwrap();
    assert_eq!(scan.photometric, Photometric::Monochrome1);
    assert_eq!((scan.rescale_slope, scan.rescale_intercept), (2.0, -100.0));
    assert_eq!(
        scan.window,
        Some(Window {
            center: 4000.0,
            width: 8000.0
        })
    );
    assert_eq!(scan.bits_stored, 12);
    // Rescaled range -100..8090 stretched to 0..65535, then inverted.
    let mid = 65535 - (2048.0 * 2.0 / 8190.0 * 65535.0_f64).round() as u16;
    assert_eq!(scan.frames[0], vec![65535, mid, 0]);
}

#[test]
fn eight_bit_pixels_are_stretched_to_sixteen() {
    let bytes = edit(&dx(3, 3, 1), |o| {
        put_us(o, tags::BITS_ALLOCATED, 8);
        put_us(o, tags::BITS_STORED, 8);
        put_us(o, tags::HIGH_BIT, 7);
        o.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PrimitiveValue::U8((0u8..9).map(|v| v * 30).collect()),
        ));
    });
    let scan = read_dx(&bytes, MAX).unwrap();
    let expected: Vec<u16> = (0u16..9).map(|v| v * 30 * 257).collect();
    assert_eq!(scan.frames[0], expected);
}

#[test]
fn refuses_bytes_that_are_not_dicom() {
    let err = read_dx(b"GIF89a not a scan at all", MAX).unwrap_err();
    assert!(matches!(err, DicosError::NotDicom(_)), "{err}");
    let mut truncated = dx(4, 4, 1);
    truncated.truncate(200);
    let err = read_dx(&truncated, MAX).unwrap_err();
    assert!(matches!(err, DicosError::NotDicom(_)), "{err}");
}

#[test]
fn refuses_another_sop_class_naming_it() {
    let ct = edit(&dx(4, 4, 1), |o| {
        put(o, tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.2");
    });
    let err = read_dx(&ct, MAX).unwrap_err();
    assert!(matches!(err, DicosError::NotDx { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("1.2.840.10008.5.1.4.1.1.2 (CT Image Storage)"),
        "{err}"
    );
}

#[test]
fn accepts_medical_dx_classes() {
    let medical = edit(&dx(4, 4, 1), |o| {
        put(
            o,
            tags::SOP_CLASS_UID,
            VR::UI,
            "1.2.840.10008.5.1.4.1.1.1.1",
        );
    });
    assert_eq!(read_dx(&medical, MAX).unwrap().frames[0], pattern(4, 4, 1));
}

#[test]
fn refuses_missing_pixel_data() {
    let bytes = edit(&dx(4, 4, 1), |o| {
        o.remove_element(tags::PIXEL_DATA);
    });
    let err = read_dx(&bytes, MAX).unwrap_err();
    assert!(matches!(err, DicosError::Missing(_)), "{err}");
    assert!(err.to_string().contains("Pixel Data"), "{err}");
}

#[test]
fn refuses_compressed_transfer_syntax() {
    // Same length as 1.2.840.10008.1.2.1, so the meta group stays valid: RLE Lossless.
    let mut bytes = dx(4, 4, 1);
    let from = b"1.2.840.10008.1.2.1\0";
    let at = bytes[..400]
        .windows(from.len())
        .position(|w| w == from)
        .expect("transfer syntax in the meta group");
    bytes[at..at + from.len()].copy_from_slice(b"1.2.840.10008.1.2.5\0");
    let err = read_dx(&bytes, MAX).unwrap_err();
    assert!(
        matches!(err, DicosError::UnsupportedTransferSyntax(_)),
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains("1.2.840.10008.1.2.5"), "{text}");
    assert!(text.contains("1.2.840.10008.1.2)") && text.contains("1.2.840.10008.1.2.1)"));
}

#[test]
fn refuses_frames_that_disagree_with_the_data() {
    let bytes = edit(&dx(4, 4, 1), |o| {
        put(o, tags::NUMBER_OF_FRAMES, VR::IS, "2");
    });
    let err = read_dx(&bytes, MAX).unwrap_err();
    match err {
        DicosError::PixelLength {
            expected, actual, ..
        } => {
            assert_eq!((expected, actual), (64, 32));
        }
        other => panic!("expected a length refusal, got {other}"),
    }
}

#[test]
fn refuses_a_huge_header_before_reading_pixels() {
    let bytes = edit(&dx(4, 4, 1), |o| {
        put_us(o, tags::ROWS, 60000);
        put_us(o, tags::COLUMNS, 60000);
    });
    let err = read_dx(&bytes, 50_000_000).unwrap_err();
    assert!(
        matches!(
            err,
            DicosError::TooLarge {
                pixels: 3_600_000_000,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("60000 rows x 60000 columns x 1 frames"),
        "{err}"
    );
    assert!(err.to_string().contains("50000000"), "{err}");
}

#[test]
fn refuses_unsupported_pixel_formats() {
    let twelve = edit(&dx(4, 4, 1), |o| put_us(o, tags::BITS_ALLOCATED, 12));
    let err = read_dx(&twelve, MAX).unwrap_err();
    assert!(err.to_string().contains("Bits Allocated is 12"), "{err}");

    let rgb = edit(&dx(4, 4, 1), |o| put_us(o, tags::SAMPLES_PER_PIXEL, 3));
    let err = read_dx(&rgb, MAX).unwrap_err();
    assert!(err.to_string().contains("Samples per Pixel is 3"), "{err}");

    let three = edit(&dx(4, 4, 1), |o| {
        put(o, tags::NUMBER_OF_FRAMES, VR::IS, "3")
    });
    let err = read_dx(&three, MAX).unwrap_err();
    assert!(err.to_string().contains("Number of Frames is 3"), "{err}");
}

#[test]
fn writer_refuses_inconsistent_specs() {
    let mut s = spec(4, 4, 1);
    s.frames[0].pop();
    assert!(matches!(write_dx(&s), Err(DicosError::Invalid(_))));
    let mut s = spec(4, 4, 1);
    s.frames = vec![];
    assert!(matches!(write_dx(&s), Err(DicosError::Invalid(_))));
    let mut s = spec(4, 4, 1);
    s.sop_instance_uid.clear();
    assert!(matches!(write_dx(&s), Err(DicosError::Invalid(_))));
}
