//! The image encodings a scanner may send, recognised by their magic bytes.

use std::fmt;

/// The encodings a scanner may send; mirrors `xray.v1.ImageEncoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Png,
    Jpeg,
    Tiff,
    RawU16,
    /// A DICOS (or DICOM) DX object: one energy or two (low, high) as frames.
    Dicos,
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encoding::Png => "PNG",
            Encoding::Jpeg => "JPEG",
            Encoding::Tiff => "TIFF",
            Encoding::RawU16 => "RAW_U16",
            Encoding::Dicos => "DICOS",
        })
    }
}

impl Encoding {
    /// Recognises PNG, JPEG, TIFF and DICOM Part 10 files (DICOS: "DICM" after the 128-byte
    /// preamble) by their magic bytes; raw data has none.
    pub fn sniff(bytes: &[u8]) -> Option<Encoding> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Encoding::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Encoding::Jpeg)
        } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
            Some(Encoding::Tiff)
        } else if bytes.get(128..132) == Some(b"DICM") {
            Some(Encoding::Dicos)
        } else {
            None
        }
    }

    /// Guesses from a file name, for the offline `inspect` command.
    pub fn from_extension(ext: &str) -> Option<Encoding> {
        match ext.to_ascii_lowercase().as_str() {
            "png" => Some(Encoding::Png),
            "jpg" | "jpeg" => Some(Encoding::Jpeg),
            "tif" | "tiff" => Some(Encoding::Tiff),
            "raw" | "u16" => Some(Encoding::RawU16),
            "dcm" | "dicos" => Some(Encoding::Dicos),
            _ => None,
        }
    }
}

/// The first bytes of an unrecognised image, in hex, for the error message.
pub fn magic_hex(bytes: &[u8]) -> String {
    let shown: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
    if shown.is_empty() {
        "nothing".to_string()
    } else {
        shown.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_magic_bytes() {
        assert_eq!(
            Encoding::sniff(b"\x89PNG\r\n\x1a\nrest"),
            Some(Encoding::Png)
        );
        assert_eq!(
            Encoding::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(Encoding::Jpeg)
        );
        assert_eq!(Encoding::sniff(b"II*\0...."), Some(Encoding::Tiff));
        assert_eq!(Encoding::sniff(b"MM\0*...."), Some(Encoding::Tiff));
        assert_eq!(Encoding::sniff(b"GIF89a"), None);
        assert_eq!(magic_hex(b"GIF89a"), "47 49 46 38 39 61");
    }
}
