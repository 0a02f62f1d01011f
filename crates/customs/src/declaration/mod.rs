//! Customs declarations as the service keeps them: what the risk-management system declared,
//! the scans attached, inspectors' verdicts, and the checks a declaration must pass.

mod validate;

use serde::{Deserialize, Serialize};

use xray_types::{BoxXyxy, Category, Encoding, View};

pub use validate::{HsCode, InvalidDeclaration, MAX_DECLARATION_ID_BYTES, validate};

/// How the goods travel; mirrors `xray.v1.TransportMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportMode {
    Unspecified,
    Air,
    Sea,
    Road,
    Rail,
    Post,
    Courier,
    Passenger,
}

/// One declared line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeclaredItem {
    pub hs_code: HsCode,
    pub description: String,
    pub quantity: f64,
    pub value: f64,
}

/// A customs declaration, checked by [`validate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Declaration {
    pub id: String,
    pub declarant: String,
    pub origin_country: String,
    pub destination_country: String,
    pub transport_mode: TransportMode,
    pub items: Vec<DeclaredItem>,
    /// The risk the risk-management system assigned, 0 to 1.
    pub prior_risk: f64,
}

/// The inspection channel; ordered from release to physical inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Green,
    Yellow,
    Red,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Green => "green",
            Channel::Yellow => "yellow",
            Channel::Red => "red",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "green" => Some(Channel::Green),
            "yellow" => Some(Channel::Yellow),
            "red" => Some(Channel::Red),
            _ => None,
        }
    }
}

/// An inspector's judgement of one detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectionVerdict {
    Confirmed,
    FalseAlarm,
}

impl DetectionVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            DetectionVerdict::Confirmed => "confirmed",
            DetectionVerdict::FalseAlarm => "false_alarm",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "confirmed" => Some(DetectionVerdict::Confirmed),
            "false_alarm" => Some(DetectionVerdict::FalseAlarm),
            _ => None,
        }
    }
}

/// An inspector's decision on a whole scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanDecision {
    Cleared,
    Seized,
}

impl ScanDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanDecision::Cleared => "cleared",
            ScanDecision::Seized => "seized",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "cleared" => Some(ScanDecision::Cleared),
            "seized" => Some(ScanDecision::Seized),
            _ => None,
        }
    }
}

/// A detection as stored with its scan, with the latest verdict on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredDetection {
    /// Index in the scan's detections.
    pub id: u32,
    pub class_name: String,
    pub category: Category,
    pub confidence: f32,
    pub bbox: BoxXyxy,
    pub alarm: bool,
    pub verdict: Option<DetectionVerdict>,
    /// Who gave the verdict (empty without one).
    pub verdict_by: String,
}

/// A stored scan of a declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredScan {
    pub scan_id: String,
    pub declaration_id: String,
    pub portal_id: String,
    pub view: View,
    pub model: String,
    pub model_version: String,
    pub width: u32,
    pub height: u32,
    pub alarm: bool,
    pub received_ms: i64,
    pub decision: Option<ScanDecision>,
    pub detections: Vec<StoredDetection>,
    /// What makes it the same scan when its id comes again (hex SHA-256 of its image and
    /// metadata; empty for scans stored before digests were kept).
    pub digest: String,
}

/// A kept scan image, as the scanner sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredImage {
    /// As the scanner declared it; None: it did not say (the bytes tell).
    pub encoding: Option<Encoding>,
    /// Samples per pixel of a RAW_U16 image (0 otherwise).
    pub channels: u32,
    pub bytes: Vec<u8>,
}

/// What the store keeps of a scan's image: how to read it and where it is. The bytes
/// themselves live in a blob store beside the database (written before the transaction that
/// refers to them); only scans stored by an older version keep them in the database.
#[derive(Debug, Clone, PartialEq)]
pub struct KeptImage {
    /// As the scanner declared it; None: it did not say (the bytes tell).
    pub encoding: Option<Encoding>,
    /// Samples per pixel of a RAW_U16 image (0 otherwise).
    pub channels: u32,
    /// The image's length in bytes.
    pub size: u64,
    pub at: ImageAt,
}

/// Where a kept image's bytes are.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageAt {
    /// Content-addressed blob (lower-case hex SHA-256 of the bytes) in the blob store.
    Blob(String),
    /// Bytes kept in the database by an older version (SQLite rows stored before blob keys).
    Inline(Vec<u8>),
}

/// A detection that counts towards a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub scan_id: String,
    pub detection_id: u32,
    /// The model's confidence, or 1 once confirmed (or the scan seized).
    pub confidence: f32,
    pub bbox: BoxXyxy,
    pub verdict: Option<DetectionVerdict>,
}

/// What a declaration's scans show that raises its risk: one per detected class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub category: Category,
    pub class_name: String,
    pub confidence: f32,
    pub contribution: f64,
    pub reason: String,
    pub evidence: Vec<Evidence>,
}

/// A risk score with its channel, its reasons and the findings behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub score: f64,
    pub channel: Channel,
    pub reasons: Vec<String>,
    pub findings: Vec<Finding>,
}

/// A declaration's risk as last stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentRisk {
    pub assessment: Assessment,
    /// The risk change that set it.
    pub sequence: u64,
    pub updated_ms: i64,
}

/// Everything stored about one declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclarationState {
    pub declaration: Declaration,
    pub registered_ms: i64,
    pub scans: Vec<StoredScan>,
    pub risk: CurrentRisk,
}

/// One step of a declaration's risk, numbered across all declarations.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskChange {
    pub sequence: u64,
    pub declaration_id: String,
    pub score: f64,
    pub channel: Channel,
    /// None for the registration.
    pub previous: Option<(f64, Channel)>,
    pub reasons: Vec<String>,
    pub cause: String,
    pub at_ms: i64,
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
