//! Between SQLite's values and the domain's: the store's own text and integer codes, JSON
//! columns, and the one error type of this crate's internals.

use xray_customs::{
    declaration::{Channel, ScanDecision, TransportMode},
    store::StoreError,
};
use xray_types::{Category, Encoding, View};

/// A failure inside the store: SQLite's own, or one the domain names. The [`Store`] methods
/// answer it as a [`StoreError`].
///
/// [`Store`]: xray_customs::store::Store
#[derive(Debug)]
pub enum Failure {
    Sql(rusqlite::Error),
    Store(StoreError),
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Failure::Sql(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

impl From<Failure> for StoreError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Sql(e) => StoreError::Database(e.to_string()),
            Failure::Store(e) => e,
        }
    }
}

/// The result of this crate's internals.
pub type Result<T> = std::result::Result<T, Failure>;

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

// The codes are every store's (xray_customs::stored_codes); these read them into this store's
// errors.
pub use xray_customs::stored_codes::{encoding_code, view_code};

pub fn parse_view(code: i64) -> Result<View> {
    Ok(xray_customs::stored_codes::parse_view(code)?)
}

pub fn parse_encoding(code: i64) -> Result<Option<Encoding>> {
    Ok(xray_customs::stored_codes::parse_encoding(code)?)
}
