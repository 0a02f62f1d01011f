//! The numbers under which every store keeps views and image encodings. They are on disk in
//! every engine's database: never change one, only add.

use xray_types::{Encoding, View};

use crate::store::StoreError;

/// A view's stored code.
pub fn view_code(view: View) -> i64 {
    match view {
        View::Unspecified => 0,
        View::Single => 1,
        View::Top => 2,
        View::Side => 3,
    }
}

pub fn parse_view(code: i64) -> Result<View, StoreError> {
    View::ALL
        .into_iter()
        .find(|v| view_code(*v) == code)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown view code {code}")))
}

/// A kept image's declared encoding's stored code, 0 for none.
pub fn encoding_code(encoding: Option<Encoding>) -> i64 {
    match encoding {
        None => 0,
        Some(Encoding::Png) => 1,
        Some(Encoding::Jpeg) => 2,
        Some(Encoding::Tiff) => 3,
        Some(Encoding::RawU16) => 4,
        Some(Encoding::Dicos) => 5,
    }
}

pub fn parse_encoding(code: i64) -> Result<Option<Encoding>, StoreError> {
    [
        None,
        Some(Encoding::Png),
        Some(Encoding::Jpeg),
        Some(Encoding::Tiff),
        Some(Encoding::RawU16),
        Some(Encoding::Dicos),
    ]
    .into_iter()
    .find(|e| encoding_code(*e) == code)
    .ok_or_else(|| StoreError::Corrupt(format!("unknown image encoding code {code}")))
}
