//! Whether an encoded image is all there. Decoders are lenient: a JPEG cut short decodes into
//! an image whose missing part is grey, and a model that screens it sees only part of the bag.
//! A scan the service did not fully see must never come back as screened, so each format's
//! structure is walked to its end marker before it is decoded.

use xray_types::Encoding;

use super::ImagingError;

/// Refuses an image whose bytes end before the format's end marker (JPEG without its
/// end-of-image marker after the last scan, PNG without its IEND chunk) as truncated, and one
/// whose structure breaks before that as corrupt. TIFF and raw data are checked against the
/// sizes their headers (or layout) give, where they are decoded.
pub fn check_complete(format: Encoding, bytes: &[u8]) -> Result<(), ImagingError> {
    let result = match format {
        Encoding::Jpeg => jpeg_ends(bytes),
        Encoding::Png => png_ends(bytes),
        // A DICOS object's pixel data is checked against its header when it is read.
        Encoding::Tiff | Encoding::RawU16 | Encoding::Dicos => Ok(()),
    };
    result.map_err(|problem| match problem {
        Problem::Cut(reason) => ImagingError::Truncated {
            format,
            size: bytes.len(),
            reason,
        },
        Problem::Malformed(reason) => ImagingError::Corrupt { format, reason },
    })
}

/// What is wrong with an image's structure.
enum Problem {
    /// It ends before its end marker.
    Cut(String),
    /// Its structure is broken before that.
    Malformed(String),
}

fn cut(what: &str, marker: &str) -> Problem {
    Problem::Cut(format!("the data ends inside {what}, before the {marker}"))
}

/// Walks a JPEG's segments from SOI to EOI, through the entropy-coded data of every scan.
fn jpeg_ends(bytes: &[u8]) -> Result<(), Problem> {
    const EOI: &str = "end-of-image marker";
    let mut pos = 2; // after SOI
    let mut scans = 0;
    loop {
        // A marker: 0xFF (fill bytes allowed), then its code.
        match bytes.get(pos) {
            None => return Err(cut("the segment list", EOI)),
            Some(0xFF) => {}
            Some(other) => {
                return Err(Problem::Malformed(format!(
                    "byte {pos} should start a marker but is {other:#04x}"
                )));
            }
        }
        while bytes.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let Some(&code) = bytes.get(pos) else {
            return Err(cut("a marker", EOI));
        };
        pos += 1;
        match code {
            0xD9 if scans > 0 => return Ok(()),
            0xD9 => {
                return Err(Problem::Malformed(
                    "it ends before any image data (no scan)".into(),
                ));
            }
            // Markers without a length: restart markers, TEM.
            0xD0..=0xD7 | 0x01 => continue,
            _ => {}
        }
        let Some(length) = bytes.get(pos..pos + 2) else {
            return Err(cut("a segment header", EOI));
        };
        let length = usize::from(u16::from_be_bytes([length[0], length[1]]));
        if length < 2 {
            return Err(Problem::Malformed(format!(
                "the segment at byte {pos} has length {length}"
            )));
        }
        if pos + length > bytes.len() {
            return Err(cut("a segment", EOI));
        }
        pos += length;
        if code != 0xDA {
            continue;
        }
        // Start of scan: entropy-coded data up to the next marker that is not a stuffed
        // 0xFF00 or a restart marker.
        scans += 1;
        loop {
            match bytes.get(pos..pos + 2) {
                None => return Err(cut("the image data", EOI)),
                Some([0xFF, 0x00 | 0xD0..=0xD7]) => pos += 2,
                Some([0xFF, 0xFF]) => pos += 1,
                Some([0xFF, _]) => break,
                Some(_) => pos += 1,
            }
        }
    }
}

/// Walks a PNG's chunks (length, type, data, CRC) to IEND.
fn png_ends(bytes: &[u8]) -> Result<(), Problem> {
    const IEND: &str = "IEND chunk";
    let mut pos = 8; // after the signature
    loop {
        let Some(header) = bytes.get(pos..pos + 8) else {
            return Err(cut("the chunk list", IEND));
        };
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let kind = [header[4], header[5], header[6], header[7]];
        // Every PNG starts with its 13-byte IHDR chunk.
        let first_is_header = pos > 8 || (&kind == b"IHDR" && length == 13);
        if !first_is_header || !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(Problem::Malformed(format!(
                "the chunk at byte {pos} has no valid type"
            )));
        }
        let next = usize::try_from(length)
            .ok()
            .and_then(|l| (pos + 12).checked_add(l))
            .filter(|&next| next <= bytes.len());
        let Some(next) = next else {
            let name = format!("the {} chunk", String::from_utf8_lossy(&kind));
            return Err(cut(&name, IEND));
        };
        if &kind == b"IEND" {
            return Ok(());
        }
        pos = next;
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use image::{DynamicImage, ImageBuffer, ImageFormat, Rgb};

    use super::*;

    fn encoded(format: ImageFormat) -> Vec<u8> {
        let image = ImageBuffer::from_fn(64, 48, |x, y| Rgb([(x * 4) as u8, (y * 5) as u8, 90]));
        let mut out = Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(image)
            .write_to(&mut out, format)
            .expect("encode");
        out.into_inner()
    }

    #[test]
    fn whole_images_pass_and_every_cut_is_refused() {
        for (format, encoding) in [
            (ImageFormat::Jpeg, Encoding::Jpeg),
            (ImageFormat::Png, Encoding::Png),
        ] {
            let bytes = encoded(format);
            check_complete(encoding, &bytes).expect("a whole image");
            for cut in 2..bytes.len() {
                assert!(
                    check_complete(encoding, &bytes[..cut]).is_err(),
                    "{encoding} cut to {cut} of {} bytes passed",
                    bytes.len()
                );
            }
        }
    }

    #[test]
    fn a_jpeg_ending_right_after_its_headers_has_no_image() {
        // SOI, then EOI straight away.
        let e = check_complete(Encoding::Jpeg, &[0xFF, 0xD8, 0xFF, 0xD9]).expect_err("no scan");
        assert!(e.to_string().contains("no scan"), "{e}");
    }
}
