//! Between PostgreSQL's values and the domain's: the text and integer codes (the same as the
//! SQLite store's, so that data reads the same in both) and JSON columns.

use xray_customs::{
    declaration::{Channel, ScanDecision, TransportMode},
    store::StoreError,
};
use xray_types::{Category, Encoding, View};

use crate::error::Result;

pub fn parse_category(s: &str) -> Result<Category> {
    Ok(s.parse().map_err(StoreError::Corrupt)?)
}

pub fn parse_channel(s: &str) -> Result<Channel> {
    Ok(Channel::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown channel {s:?}")))?)
}

pub fn parse_decision(s: Option<String>) -> Result<Option<ScanDecision>> {
    Ok(s.map(|s| {
        ScanDecision::parse(&s)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown decision {s:?}")))
    })
    .transpose()?)
}

pub fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    Ok(serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))?)
}

pub fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    Ok(serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))?)
}

pub fn transport_name(t: TransportMode) -> Result<String> {
    to_json(&t).map(|s| s.trim_matches('"').to_string())
}

pub fn u64_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub fn u32_of(v: i64, what: &str) -> Result<u32> {
    Ok(u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} {v} out of range")))?)
}

// The codes are every store's (xray_customs::stored_codes); these read them into this store's
// errors.
pub use xray_customs::stored_codes::{encoding_code, view_code};

pub fn parse_view(code: i64) -> Result<View> {
    Ok(xray_customs::stored_codes::parse_view(code)?)
}

pub fn parse_encoding(code: i64) -> Result<Option<Encoding>> {
    Ok(xray_customs::stored_codes::parse_encoding(code)?)
}
