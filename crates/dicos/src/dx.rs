//! DICOS DX (digital X-ray projection) objects: read a scanner's image into 16-bit
//! transmission frames, and write one from raw frames.

use std::borrow::Cow;

use dicom_core::dictionary::UidDictionary;
use dicom_core::value::Value;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::uids;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

use crate::error::DicosError;
use crate::object::{float, floats, open, required_text, text, transfer_syntax, uint};
use crate::tags::*;

/// How stored values map to brightness (Photometric Interpretation (0028,0004)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Photometric {
    /// The lowest value displays white: inverted relative to transmission.
    Monochrome1,
    /// The lowest value displays black.
    Monochrome2,
}

/// The display window the file suggests (Window Center/Width (0028,1050)/(0028,1051)), in
/// rescaled units. Kept for display only: it never changes [`DxScan::frames`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub center: f64,
    pub width: f64,
}

/// A DX image as read.
#[derive(Debug, Clone, PartialEq)]
pub struct DxScan {
    pub width: u32,
    pub height: u32,
    /// Row-major frames of 16-bit transmission values, 0 = opaque .. 65535 = full
    /// transmission: one per energy, low energy first.
    pub frames: Vec<Vec<u16>>,
    pub dual_energy: bool,
    pub sop_instance_uid: String,
    pub sop_class_uid: String,
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    pub accession_number: Option<String>,
    /// Pixel Spacing (0028,0030) in DICOM order: [between rows, between columns], in mm.
    pub pixel_spacing_mm: Option<[f64; 2]>,
    pub bits_stored: u16,
    pub transfer_syntax: String,
    pub photometric: Photometric,
    /// Rescale Slope and Intercept as found (1 and 0 when absent).
    pub rescale_slope: f64,
    pub rescale_intercept: f64,
    pub window: Option<Window>,
}

/// What [`write_dx`] writes: raw 16-bit frames (1, or 2 for dual energy, low first).
#[derive(Debug, Clone, PartialEq)]
pub struct DxSpec {
    pub width: u32,
    pub height: u32,
    pub frames: Vec<Vec<u16>>,
    pub sop_instance_uid: String,
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    pub accession_number: Option<String>,
    /// [between rows, between columns] in mm, as Pixel Spacing (0028,0030).
    pub pixel_spacing_mm: Option<[f64; 2]>,
}

/// Who a DX object is, read from its header alone (its pixel data is not read).
#[derive(Debug, Clone, PartialEq)]
pub struct DxIds {
    /// Columns and Rows: the image's size in pixels.
    pub width: u32,
    pub height: u32,
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    pub accession_number: Option<String>,
}

/// The ids of a DX object, from its header: what a scan's ids and a TDR's references come
/// from.
pub fn read_dx_ids(bytes: &[u8]) -> Result<DxIds, DicosError> {
    let header = open(bytes, true)?;
    let rows = uint(&header, ROWS, "Rows")?.ok_or(DicosError::Missing("Rows (0028,0010)"))?;
    let columns =
        uint(&header, COLUMNS, "Columns")?.ok_or(DicosError::Missing("Columns (0028,0011)"))?;
    Ok(DxIds {
        width: columns,
        height: rows,
        sop_class_uid: required_text(&header, SOP_CLASS_UID, "SOP Class UID")?,
        sop_instance_uid: required_text(&header, SOP_INSTANCE_UID, "SOP Instance UID")?,
        study_instance_uid: required_text(&header, STUDY_INSTANCE_UID, "Study Instance UID")?,
        series_instance_uid: required_text(&header, SERIES_INSTANCE_UID, "Series Instance UID")?,
        accession_number: text(&header, ACCESSION_NUMBER),
    })
}

/// Reads a DICOS (or DICOM) DX object of 8- or 16-bit monochrome pixels, one frame or two
/// (dual energy).
///
/// Rows x Columns x Number of Frames is checked against `max_pixels` from the header, before
/// the pixel data is read, so a hostile header cannot make us allocate.
pub fn read_dx(bytes: &[u8], max_pixels: u64) -> Result<DxScan, DicosError> {
    let header = open(bytes, true)?;

    let sop_class_uid = text(&header, SOP_CLASS_UID)
        .or_else(|| {
            let meta = header.meta().media_storage_sop_class_uid();
            let meta = meta.trim_matches(|c: char| c == '\0' || c.is_whitespace());
            (!meta.is_empty()).then(|| meta.to_string())
        })
        .ok_or(DicosError::Missing("SOP Class UID (0008,0016)"))?;
    if !DX_SOP_CLASSES.contains(&sop_class_uid.as_str()) {
        let name = dicom_dictionary_std::sop_class::registry()
            .by_uid(&sop_class_uid)
            .map_or_else(
                || "an unknown SOP class".to_string(),
                |e| e.name.to_string(),
            );
        return Err(DicosError::NotDx {
            sop_class: sop_class_uid,
            name,
        });
    }

    let ts = transfer_syntax(&header);
    if ts != IMPLICIT_VR_LITTLE_ENDIAN && ts != EXPLICIT_VR_LITTLE_ENDIAN {
        return Err(DicosError::UnsupportedTransferSyntax(ts));
    }

    let samples = uint(&header, SAMPLES_PER_PIXEL, "Samples per Pixel")?
        .ok_or(DicosError::Missing("Samples per Pixel (0028,0002)"))?;
    if samples != 1 {
        return Err(unsupported("Samples per Pixel", samples, "1"));
    }
    let bits_allocated = uint(&header, BITS_ALLOCATED, "Bits Allocated")?
        .ok_or(DicosError::Missing("Bits Allocated (0028,0100)"))?;
    if bits_allocated != 8 && bits_allocated != 16 {
        return Err(unsupported("Bits Allocated", bits_allocated, "8 or 16"));
    }
    let bits_stored = uint(&header, BITS_STORED, "Bits Stored")?.unwrap_or(bits_allocated);
    if bits_stored == 0 || bits_stored > bits_allocated {
        return Err(unsupported(
            "Bits Stored",
            bits_stored,
            "1 up to Bits Allocated",
        ));
    }
    if uint(&header, PIXEL_REPRESENTATION, "Pixel Representation")?.unwrap_or(0) != 0 {
        return Err(unsupported(
            "Pixel Representation",
            "signed (1)",
            "unsigned (0)",
        ));
    }
    let photometric = match text(&header, PHOTOMETRIC_INTERPRETATION).as_deref() {
        Some("MONOCHROME1") => Photometric::Monochrome1,
        Some("MONOCHROME2") => Photometric::Monochrome2,
        Some(other) => {
            return Err(unsupported(
                "Photometric Interpretation",
                other,
                "MONOCHROME1 or MONOCHROME2",
            ));
        }
        None => {
            return Err(DicosError::Missing(
                "Photometric Interpretation (0028,0004)",
            ));
        }
    };
    let rows = uint(&header, ROWS, "Rows")?.ok_or(DicosError::Missing("Rows (0028,0010)"))?;
    let columns =
        uint(&header, COLUMNS, "Columns")?.ok_or(DicosError::Missing("Columns (0028,0011)"))?;
    if rows == 0 || columns == 0 {
        return Err(unsupported(
            "image size",
            format!("{rows} x {columns}"),
            "at least 1 x 1",
        ));
    }
    let frames = uint(&header, NUMBER_OF_FRAMES, "Number of Frames")?.unwrap_or(1);
    if frames != 1 && frames != 2 {
        return Err(unsupported(
            "Number of Frames",
            frames,
            "1, or 2 for dual energy",
        ));
    }
    let pixels = u64::from(rows) * u64::from(columns) * u64::from(frames);
    if pixels > max_pixels {
        return Err(DicosError::TooLarge {
            rows,
            columns,
            frames,
            pixels,
            max_pixels,
        });
    }

    let slope = float(&header, RESCALE_SLOPE, "Rescale Slope")?.unwrap_or(1.0);
    let intercept = float(&header, RESCALE_INTERCEPT, "Rescale Intercept")?.unwrap_or(0.0);
    if slope == 0.0 || !slope.is_finite() || !intercept.is_finite() {
        return Err(DicosError::BadAttribute {
            name: "Rescale Slope/Intercept",
            reason: format!("slope {slope} and intercept {intercept} do not map values"),
        });
    }
    let window = match (
        float(&header, WINDOW_CENTER, "Window Center")?,
        float(&header, WINDOW_WIDTH, "Window Width")?,
    ) {
        (Some(center), Some(width)) => Some(Window { center, width }),
        _ => None,
    };
    let pixel_spacing_mm = match floats(&header, PIXEL_SPACING, "Pixel Spacing")? {
        Some(v) if v.len() >= 2 => Some([v[0], v[1]]),
        _ => None,
    };

    // The header is sane and small enough: now read the pixels.
    let full = open(bytes, false)?;
    let element = full
        .get(PIXEL_DATA)
        .ok_or(DicosError::Missing("Pixel Data (7FE0,0010)"))?;
    let data: Cow<'_, [u8]> = match element.value() {
        Value::Primitive(PrimitiveValue::U8(v)) => Cow::Borrowed(&v[..]),
        Value::Primitive(PrimitiveValue::U16(v)) => {
            Cow::Owned(v.iter().flat_map(|w| w.to_le_bytes()).collect())
        }
        Value::Primitive(PrimitiveValue::Empty) => {
            return Err(DicosError::Missing("Pixel Data (7FE0,0010) value"));
        }
        Value::PixelSequence(_) => return Err(DicosError::Encapsulated),
        _ => {
            return Err(DicosError::BadAttribute {
                name: "Pixel Data",
                reason: "it is neither OB nor OW".into(),
            });
        }
    };
    let bytes_per_pixel = bits_allocated / 8;
    let expected = pixels * u64::from(bytes_per_pixel);
    let actual = data.len() as u64;
    // 8-bit data of odd length is padded with one byte to an even length.
    let padded = expected % 2 == 1 && actual == expected + 1;
    if actual != expected && !padded {
        return Err(DicosError::PixelLength {
            rows,
            columns,
            frames,
            bytes_per_pixel,
            expected,
            actual,
        });
    }

    let lut = transmission_lut(bits_stored, slope, intercept, photometric);
    let mask = lut.len() - 1;
    let per_frame = rows as usize * columns as usize;
    let mut decoded: Vec<Vec<u16>> = (0..frames as usize)
        .map(|f| {
            let at = f * per_frame;
            (0..per_frame)
                .map(|i| {
                    let raw = if bytes_per_pixel == 1 {
                        usize::from(data[at + i])
                    } else {
                        let b = 2 * (at + i);
                        usize::from(u16::from_le_bytes([data[b], data[b + 1]]))
                    };
                    // Bits above Bits Stored may carry overlays; they are not pixel value.
                    lut[raw & mask]
                })
                .collect()
        })
        .collect();

    if frames == 2 && high_energy_first(&header) {
        decoded.swap(0, 1);
    }

    Ok(DxScan {
        width: columns,
        height: rows,
        frames: decoded,
        dual_energy: frames == 2,
        sop_instance_uid: required_text(&header, SOP_INSTANCE_UID, "SOP Instance UID")?,
        sop_class_uid,
        study_instance_uid: required_text(&header, STUDY_INSTANCE_UID, "Study Instance UID")?,
        series_instance_uid: required_text(&header, SERIES_INSTANCE_UID, "Series Instance UID")?,
        accession_number: text(&header, ACCESSION_NUMBER),
        pixel_spacing_mm,
        bits_stored: bits_stored as u16,
        transfer_syntax: ts,
        photometric,
        rescale_slope: slope,
        rescale_intercept: intercept,
        window,
    })
}

/// Which of two frames holds the high energy.
///
/// We read Low Energy Detectors (4010,0001) and High Energy Detectors (4010,0002) as the
/// 1-based frame each energy is in (what [`write_dx`] writes). When they are absent or say
/// something else, frame 1 is low and frame 2 high: the usual order of dual-energy scanners,
/// and the order of the frames in this crate's API.
fn high_energy_first(header: &InMemDicomObject) -> bool {
    let low = text(header, LOW_ENERGY_DETECTORS);
    let high = text(header, HIGH_ENERGY_DETECTORS);
    low.as_deref() == Some("2") && high.as_deref() == Some("1")
}

/// Stored value to transmission, for every value Bits Stored allows.
///
/// The rescaled (modality) value range that Bits Stored can express is stretched onto
/// 0..65535, so 16-bit data with the identity rescale passes unchanged. Higher rescaled
/// values mean more transmission for MONOCHROME2 (they display brighter, as the empty belt
/// does on a baggage scanner) and less for MONOCHROME1, which is therefore inverted.
fn transmission_lut(bits_stored: u32, slope: f64, intercept: f64, p: Photometric) -> Vec<u16> {
    let max_raw = (1u32 << bits_stored) - 1;
    let at_zero = intercept;
    let at_max = f64::from(max_raw) * slope + intercept;
    let low = at_zero.min(at_max);
    let span = (at_max - at_zero).abs();
    (0..=max_raw)
        .map(|raw| {
            let value = f64::from(raw) * slope + intercept;
            let t = (((value - low) / span).clamp(0.0, 1.0) * 65535.0).round() as u16;
            match p {
                Photometric::Monochrome2 => t,
                Photometric::Monochrome1 => 65535 - t,
            }
        })
        .collect()
}

fn unsupported(name: &'static str, value: impl ToString, supported: &'static str) -> DicosError {
    DicosError::Unsupported {
        name,
        value: value.to_string(),
        supported,
    }
}

/// Writes a DICOS DX "For Processing" Part 10 object (explicit VR little endian) holding
/// `spec`'s raw frames as 16-bit MONOCHROME2 pixels, identity rescale.
pub fn write_dx(spec: &DxSpec) -> Result<Vec<u8>, DicosError> {
    let pixels = u64::from(spec.width) * u64::from(spec.height);
    if pixels == 0 || spec.width > u32::from(u16::MAX) || spec.height > u32::from(u16::MAX) {
        return Err(DicosError::Invalid(format!(
            "an image of {} x {} pixels cannot be a DX object (1 to 65535 each way)",
            spec.width, spec.height
        )));
    }
    if spec.frames.is_empty() || spec.frames.len() > 2 {
        return Err(DicosError::Invalid(format!(
            "a DX object holds 1 frame or 2 (dual energy), not {}",
            spec.frames.len()
        )));
    }
    if let Some(bad) = spec.frames.iter().find(|f| f.len() as u64 != pixels) {
        return Err(DicosError::Invalid(format!(
            "a frame holds {} pixels but {} x {} needs {pixels}",
            bad.len(),
            spec.width,
            spec.height
        )));
    }
    for (name, uid) in [
        ("SOP Instance UID", &spec.sop_instance_uid),
        ("Study Instance UID", &spec.study_instance_uid),
        ("Series Instance UID", &spec.series_instance_uid),
    ] {
        if uid.is_empty() {
            return Err(DicosError::Invalid(format!("the {name} is empty")));
        }
    }

    let mut obj = InMemDicomObject::new_empty();
    let mut put_str = |tag, vr, value: &str| {
        obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
    };
    put_str(
        SOP_CLASS_UID,
        VR::UI,
        DICOS_DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PROCESSING,
    );
    put_str(SOP_INSTANCE_UID, VR::UI, &spec.sop_instance_uid);
    put_str(STUDY_INSTANCE_UID, VR::UI, &spec.study_instance_uid);
    put_str(SERIES_INSTANCE_UID, VR::UI, &spec.series_instance_uid);
    put_str(MODALITY, VR::CS, "DX");
    if let Some(accession) = &spec.accession_number {
        put_str(ACCESSION_NUMBER, VR::SH, accession);
    }
    put_str(PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2");
    put_str(NUMBER_OF_FRAMES, VR::IS, &spec.frames.len().to_string());
    put_str(RESCALE_INTERCEPT, VR::DS, "0");
    put_str(RESCALE_SLOPE, VR::DS, "1");
    if spec.frames.len() == 2 {
        // The 1-based frame of each energy (see `high_energy_first`).
        put_str(LOW_ENERGY_DETECTORS, VR::CS, "1");
        put_str(HIGH_ENERGY_DETECTORS, VR::CS, "2");
    }
    if let Some([row, column]) = spec.pixel_spacing_mm {
        put_str(PIXEL_SPACING, VR::DS, &format!("{row}\\{column}"));
    }
    let mut put_us = |tag, value: u32| {
        obj.put(DataElement::new(
            tag,
            VR::US,
            PrimitiveValue::from(value as u16),
        ));
    };
    put_us(SAMPLES_PER_PIXEL, 1);
    put_us(ROWS, spec.height);
    put_us(COLUMNS, spec.width);
    put_us(BITS_ALLOCATED, 16);
    put_us(BITS_STORED, 16);
    put_us(HIGH_BIT, 15);
    put_us(PIXEL_REPRESENTATION, 0);
    let data: Vec<u16> = spec.frames.iter().flatten().copied().collect();
    obj.put(DataElement::new(
        PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(data.into()),
    ));
    encode(obj)
}

/// Wraps a data set in a Part 10 file (preamble, meta group, explicit VR little endian).
pub(crate) fn encode(obj: InMemDicomObject) -> Result<Vec<u8>, DicosError> {
    let file = obj
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
        .map_err(|e| DicosError::Encode(e.to_string()))?;
    let mut out = Vec::new();
    file.write_all(&mut out)
        .map_err(|e| DicosError::Encode(e.to_string()))?;
    Ok(out)
}
