//! Opening Part 10 bytes and reading single attributes, shared by the DX and TDR readers.

use std::io::Cursor;

use dicom_core::Tag;
use dicom_object::file::ReadPreamble;
use dicom_object::{DefaultDicomObject, InMemDicomObject, OpenFileOptions};

use crate::error::DicosError;
use crate::tags::PIXEL_DATA;

/// Parses Part 10 bytes, with or without the 128-byte preamble. With `header_only` it stops
/// before the Pixel Data, so the size of an image can be judged before its pixels are read.
pub(crate) fn open(bytes: &[u8], header_only: bool) -> Result<DefaultDicomObject, DicosError> {
    // Decide the preamble ourselves rather than let dicom-object guess: the magic code sits
    // at byte 128 of a file and at byte 0 of a stream that drops the preamble.
    let body = if bytes.get(128..132) == Some(b"DICM") {
        &bytes[128..]
    } else if bytes.get(..4) == Some(b"DICM") {
        bytes
    } else {
        return Err(DicosError::NotDicom(
            "there is no \"DICM\" magic code at byte 128 or byte 0".into(),
        ));
    };
    let mut options = OpenFileOptions::new().read_preamble(ReadPreamble::Never);
    if header_only {
        options = options.read_until(PIXEL_DATA);
    }
    options
        .from_reader(Cursor::new(body))
        .map_err(|e| DicosError::NotDicom(e.to_string()))
}

/// The transfer syntax UID of the file meta group, without its padding.
pub(crate) fn transfer_syntax(obj: &DefaultDicomObject) -> String {
    trim(&obj.meta().transfer_syntax)
}

fn trim(s: &str) -> String {
    s.trim_matches(|c: char| c == '\0' || c.is_whitespace())
        .to_string()
}

/// A text attribute, trimmed; `None` when absent or empty.
pub(crate) fn text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let value = obj.get(tag)?.to_str().ok()?;
    let value = trim(&value);
    (!value.is_empty()).then_some(value)
}

/// A text attribute that must be there.
pub(crate) fn required_text(
    obj: &InMemDicomObject,
    tag: Tag,
    name: &'static str,
) -> Result<String, DicosError> {
    text(obj, tag).ok_or(DicosError::Missing(name))
}

/// All values of a multi-valued text attribute (LO 1-n), trimmed.
pub(crate) fn texts(obj: &InMemDicomObject, tag: Tag) -> Vec<String> {
    match obj.get(tag).map(|e| e.value().to_multi_str()) {
        Some(Ok(values)) => values.iter().map(|v| trim(v)).collect(),
        _ => Vec::new(),
    }
}

/// An integer attribute (US or IS); `None` when absent or empty.
pub(crate) fn uint(
    obj: &InMemDicomObject,
    tag: Tag,
    name: &'static str,
) -> Result<Option<u32>, DicosError> {
    let Some(element) = obj.get(tag) else {
        return Ok(None);
    };
    if element.value().multiplicity() == 0 {
        return Ok(None);
    }
    element
        .to_int::<u32>()
        .map(Some)
        .map_err(|e| DicosError::BadAttribute {
            name,
            reason: e.to_string(),
        })
}

/// All values of a numeric attribute (DS, FL, ...); `None` when absent or empty.
pub(crate) fn floats(
    obj: &InMemDicomObject,
    tag: Tag,
    name: &'static str,
) -> Result<Option<Vec<f64>>, DicosError> {
    let Some(element) = obj.get(tag) else {
        return Ok(None);
    };
    if element.value().multiplicity() == 0 {
        return Ok(None);
    }
    element
        .to_multi_float64()
        .map(Some)
        .map_err(|e| DicosError::BadAttribute {
            name,
            reason: e.to_string(),
        })
}

/// The first value of a numeric attribute.
pub(crate) fn float(
    obj: &InMemDicomObject,
    tag: Tag,
    name: &'static str,
) -> Result<Option<f64>, DicosError> {
    Ok(floats(obj, tag, name)?.and_then(|v| v.first().copied()))
}
