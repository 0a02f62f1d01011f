//! Where declarations, scans, detections, findings, risk history, verdicts and the audit log
//! are kept. [`Store`] is the small interface the rest of the service uses; [`SqliteStore`]
//! (embedded, WAL, under `--data-dir`) is the one implementation today, and a server
//! database can take its place behind the same trait.
//!
//! Every write that changes a declaration's risk takes the closure that computes the new
//! risk and runs it inside the write transaction, so that a risk is always computed from,
//! and stored with, exactly the state it describes.

mod schema;
mod sqlite;

use crate::{
    declaration::{
        Assessment, Declaration, DeclarationState, DetectionVerdict, RiskChange, ScanDecision,
        StoredDetection, StoredImage, StoredScan,
    },
    model::Category,
};

pub use sqlite::SqliteStore;

/// Computes a declaration's risk from its stored state.
pub type Assess<'a> = &'a (dyn Fn(&DeclarationState) -> Assessment + Sync);

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("declaration {0} is not registered")]
    UnknownDeclaration(String),
    #[error("scan {0} is not stored")]
    UnknownScan(String),
    #[error("scan {scan_id} is already stored for declaration {declaration_id}")]
    DuplicateScan {
        scan_id: String,
        declaration_id: String,
    },
    #[error("storage failed: {0}")]
    Database(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

/// What registering a declaration did.
#[derive(Debug)]
pub enum Registration {
    /// Stored, with its first risk.
    New {
        state: Box<DeclarationState>,
        change: RiskChange,
    },
    /// A declaration with this id was already stored (it may differ from the one sent).
    Existing(Box<DeclarationState>),
}

/// A screened scan to store.
#[derive(Debug, Clone)]
pub struct NewScan {
    pub scan: StoredScan,
    /// The image, when it is to be kept.
    pub image: Option<StoredImage>,
}

/// A declaration's risk after a write, and the change it made (none when nothing moved).
#[derive(Debug, Clone)]
pub struct RiskOutcome {
    pub state: DeclarationState,
    pub change: Option<RiskChange>,
}

/// An inspector's verdict on one scan.
#[derive(Debug, Clone)]
pub struct VerdictRecord {
    pub scan_id: String,
    pub detections: Vec<(u32, DetectionVerdict)>,
    pub decision: Option<ScanDecision>,
    pub inspector_id: String,
    pub comment: String,
    pub at_ms: i64,
}

/// Which flagged scans to list.
#[derive(Debug, Clone, Default)]
pub struct FlaggedQuery {
    pub channel: Option<crate::declaration::Channel>,
    pub portal_id: Option<String>,
    pub category: Option<Category>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub include_decided: bool,
    pub offset: usize,
    pub limit: usize,
}

/// One scan in the review queue.
#[derive(Debug, Clone, PartialEq)]
pub struct FlaggedScan {
    pub scan_id: String,
    pub declaration_id: String,
    pub portal_id: String,
    pub received_ms: i64,
    pub risk_score: f64,
    pub channel: crate::declaration::Channel,
    pub categories: Vec<Category>,
    pub alarms: u32,
    pub decision: Option<ScanDecision>,
}

/// Which audit entries to list.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub declaration_id: Option<String>,
    pub scan_id: Option<String>,
    pub after: u64,
    pub limit: usize,
}

/// One audit log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub sequence: u64,
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub declaration_id: String,
    pub scan_id: String,
    pub details: String,
}

/// Inspectors' verdicts on one class of one model.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassAccuracy {
    pub model: String,
    pub class_name: String,
    pub confirmed: u64,
    pub false_alarms: u64,
}

impl ClassAccuracy {
    /// Confirmed over judged alarms; 0 before any verdict.
    pub fn precision(&self) -> f64 {
        let judged = self.confirmed + self.false_alarms;
        if judged == 0 {
            0.0
        } else {
            self.confirmed as f64 / judged as f64
        }
    }
}

/// The stored side of the service. Calls block: callers on the async runtime run them on
/// blocking threads.
pub trait Store: Send + Sync {
    /// Stores a declaration with the risk `assess` gives it, or reports the stored one.
    fn register(
        &self,
        declaration: &Declaration,
        at_ms: i64,
        assess: Assess<'_>,
    ) -> Result<Registration, StoreError>;

    fn declaration(&self, id: &str) -> Result<Option<DeclarationState>, StoreError>;

    /// Whether a declaration is registered (without reading its scans).
    fn is_registered(&self, id: &str) -> Result<bool, StoreError>;

    fn scan(&self, scan_id: &str) -> Result<Option<StoredScan>, StoreError>;

    fn scan_image(&self, scan_id: &str) -> Result<Option<StoredImage>, StoreError>;

    /// Stores a scan and its detections, then re-computes its declaration's risk, in one
    /// transaction. `DuplicateScan` when the scan id is taken.
    fn record_scan(&self, scan: &NewScan, assess: Assess<'_>) -> Result<RiskOutcome, StoreError>;

    /// Applies a verdict (detections judged, the scan decided), appends it to the audit log
    /// and re-computes the risk, in one transaction; also returns the audit entry's number.
    fn record_verdict(
        &self,
        verdict: &VerdictRecord,
        assess: Assess<'_>,
    ) -> Result<(RiskOutcome, u64), StoreError>;

    /// Risk changes with a greater sequence number, oldest first, at most `limit`.
    fn risk_changes_after(&self, after: u64, limit: usize) -> Result<Vec<RiskChange>, StoreError>;

    /// The sequence number of the newest risk change (0: none yet).
    fn last_risk_sequence(&self) -> Result<u64, StoreError>;

    fn flagged(&self, query: &FlaggedQuery) -> Result<Vec<FlaggedScan>, StoreError>;

    fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError>;

    fn accuracy(&self, model: Option<&str>) -> Result<Vec<ClassAccuracy>, StoreError>;

    /// Drops the images of scans received before `before_ms`; returns how many.
    fn purge_images(&self, before_ms: i64) -> Result<usize, StoreError>;
}

/// The stored detections' alarm categories, deduplicated, in the order they first appear.
pub(crate) fn alarm_categories(detections: &[StoredDetection]) -> Vec<Category> {
    let mut out: Vec<Category> = Vec::new();
    for d in detections.iter().filter(|d| d.alarm) {
        if !out.contains(&d.category) {
            out.push(d.category);
        }
    }
    out
}
