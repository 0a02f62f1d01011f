//! Where declarations, scans, detections, findings, risk history, verdicts and the audit log
//! are kept. [`Store`] is the small interface the rest of the service uses; the
//! `xray-store-sqlite` crate (embedded, WAL, under `--data-dir`) is the default, and
//! `xray-store-postgres` lets several service nodes share one PostgreSQL database. Scan
//! images are not in the database: it keeps a reference to a blob in a blob store.
//!
//! Writes go through [`Store::write`]: one transaction, a [`UnitOfWork`] in which the caller
//! reads what it needs, the risk policy assesses and the result is written, all committed
//! together or not at all, so that a risk is always computed from, and stored with, exactly
//! the state it describes. The rules of what a write records (risk changes, audit entries)
//! are in [`crate::ledger`], written once against [`UnitOfWork`] for every storage engine.

use std::{collections::HashSet, sync::Arc};

use crate::declaration::{
    Assessment, CurrentRisk, Declaration, DeclarationState, DetectionVerdict, RiskChange,
    ScanDecision, StoredDetection, StoredScan,
};
pub use crate::declaration::{ImageAt, KeptImage};
use xray_types::Category;

use crate::principal::Principal;

/// Computes a declaration's risk from its stored state.
pub type Assess<'a> = &'a dyn Fn(&DeclarationState) -> Assessment;

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
    #[error("a principal named {0} exists already")]
    DuplicatePrincipal(String),
    #[error("storage failed: {0}")]
    Database(String),
    /// The database cannot be reached or did not answer in time; the sentence names it
    /// ("the database at HOST:PORT cannot be reached: ..."). Retrying later may succeed.
    #[error("{0}")]
    Unavailable(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The unit of work chose to roll back (its own error says why).
    #[error("the write was rolled back")]
    RolledBack,
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
    /// The image, when it is to be kept: where its bytes are (a blob written beforehand).
    pub image: Option<KeptImage>,
}

/// What [`Store::purge_images`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purged {
    /// How many scans lost their image.
    pub scans: usize,
    /// The blob keys that no scan refers to any more: the caller deletes those blobs.
    pub unreferenced: Vec<String>,
}

/// What another process committed, delivered by [`Store::listen`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A risk change with this sequence number was committed.
    RiskChanged { sequence: u64 },
    /// A message another process sent with [`Store::publish`].
    Message { topic: String, payload: String },
    /// The listener reconnected: changes may have been missed, re-read.
    Resync,
}

/// Where [`Store::listen`] delivers notices; called on the store's own background task, so it
/// must return quickly (hand the notice on, never block).
pub type NoticeSink = Arc<dyn Fn(Notice) + Send + Sync>;

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

/// One audit log entry to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub declaration_id: String,
    pub scan_id: String,
    pub details: serde_json::Value,
}

/// The stored side of the service. Calls block: callers on the async runtime run them on
/// blocking threads.
pub trait Store: Send + Sync {
    /// Runs `work` in one write transaction: what it wrote is committed when it returns Ok
    /// and rolled back when it returns Err. Risk changes and audit entries are numbered in
    /// commit order, without gaps. A store shared by several processes may run `work` again
    /// (a bounded number of times) when the database aborted the transaction to resolve a
    /// conflict with another one; `work` must then start afresh.
    fn write(
        &self,
        work: &mut dyn FnMut(&mut dyn UnitOfWork) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;

    fn declaration(&self, id: &str) -> Result<Option<DeclarationState>, StoreError>;

    /// Whether a declaration is registered (without reading its scans).
    fn is_registered(&self, id: &str) -> Result<bool, StoreError>;

    fn scan(&self, scan_id: &str) -> Result<Option<StoredScan>, StoreError>;

    /// The scan's kept image: where its bytes are (None: not kept, or purged).
    fn scan_image(&self, scan_id: &str) -> Result<Option<KeptImage>, StoreError>;

    /// Risk changes with a greater sequence number, oldest first, at most `limit`.
    fn risk_changes_after(&self, after: u64, limit: usize) -> Result<Vec<RiskChange>, StoreError>;

    /// The sequence number of the newest risk change (0: none yet).
    fn last_risk_sequence(&self) -> Result<u64, StoreError>;

    fn flagged(&self, query: &FlaggedQuery) -> Result<Vec<FlaggedScan>, StoreError>;

    fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError>;

    fn accuracy(&self, model: Option<&str>) -> Result<Vec<ClassAccuracy>, StoreError>;

    /// Drops the images of scans received before `before_ms`: answers how many scans lost
    /// theirs, and the blob keys no scan refers to any more (the caller deletes those blobs,
    /// after this has returned).
    fn purge_images(&self, before_ms: i64) -> Result<Purged, StoreError>;

    /// Which of `keys` (blob keys) a stored scan still refers to; for the blob store's
    /// orphan sweep.
    fn referenced_images(&self, keys: &[String]) -> Result<HashSet<String>, StoreError>;

    /// Starts delivering what other processes commit to `sink` (in a background task of the
    /// store); Ok(false) when the store is not shared (only this process writes: SQLite).
    fn listen(&self, sink: NoticeSink) -> Result<bool, StoreError> {
        let _ = sink;
        Ok(false)
    }

    /// Sends `payload` to every process's listener on `topic` (after the caller's commit).
    /// Default: nothing (no other process shares the store).
    fn publish(&self, topic: &str, payload: &str) -> Result<(), StoreError> {
        let _ = (topic, payload);
        Ok(())
    }

    /// Every principal, by name.
    fn principals(&self) -> Result<Vec<Principal>, StoreError>;

    /// The principal whose token hashes to `token_sha256` (hex), active or not.
    fn principal_by_token(&self, token_sha256: &str) -> Result<Option<Principal>, StoreError>;

    /// The principal named `name`, active or not (a client certificate names its principal).
    fn principal_by_name(&self, name: &str) -> Result<Option<Principal>, StoreError>;

    /// The password hash (a PHC string) of the principal named `name`, if it has one.
    fn password_of(&self, name: &str) -> Result<Option<String>, StoreError>;
}

impl dyn Store + '_ {
    /// Runs `work` in one write transaction and answers what it answered: committed when it
    /// returns Ok, rolled back when it returns Err (that error is the answer). A store may run
    /// `work` again in a new transaction when the database aborted the first (a serialization
    /// failure between nodes); the answer is that of the run that committed.
    pub fn transaction<T, E: From<StoreError>>(
        &self,
        mut work: impl FnMut(&mut dyn UnitOfWork) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut answer = None;
        let written = self.write(&mut |uow| {
            let result = work(uow);
            let ok = result.is_ok();
            answer = Some(result);
            if ok {
                Ok(())
            } else {
                Err(StoreError::RolledBack)
            }
        });
        match (written, answer) {
            (_, Some(Err(e))) => Err(e),
            (Ok(()), Some(Ok(value))) => Ok(value),
            (Err(e), _) => Err(e.into()),
            (Ok(()), None) => {
                Err(StoreError::Database("the unit of work did not run".into()).into())
            }
        }
    }
}

/// What a write transaction may read and write; its reads see its own writes.
pub trait UnitOfWork {
    /// The declaration with its scans. A store shared by several processes locks the id
    /// (registered or not) until the transaction ends, so that writes to one declaration are
    /// serialised across processes.
    fn declaration(&mut self, id: &str) -> Result<Option<DeclarationState>, StoreError>;

    /// The declaration a stored scan id belongs to (None: the id is free). A shared store
    /// locks the id until the transaction ends (after the declaration's, never before).
    fn scan_owner(&mut self, scan_id: &str) -> Result<Option<String>, StoreError>;

    /// Stores a new declaration with its items and first assessment (risk sequence 0 until
    /// [`UnitOfWork::set_risk`]).
    fn insert_declaration(
        &mut self,
        declaration: &Declaration,
        registered_ms: i64,
        assessment: &Assessment,
    ) -> Result<(), StoreError>;

    /// Stores a scan of a registered declaration with its detections and, when kept, its
    /// image.
    fn insert_scan(&mut self, scan: &NewScan) -> Result<(), StoreError>;

    /// Applies a verdict to its stored scan (each judged detection, the decision) and keeps
    /// the verdict itself, having locked the scan's declaration as [`UnitOfWork::declaration`]
    /// does. `UnknownScan` when the scan is not stored.
    /// Answers the declaration the scan belongs to.
    fn insert_verdict(&mut self, verdict: &VerdictRecord) -> Result<String, StoreError>;

    /// Appends a risk change; answers it with the sequence number the store gave it.
    fn append_risk_change(&mut self, change: RiskChange) -> Result<RiskChange, StoreError>;

    /// Sets a declaration's current risk.
    fn set_risk(&mut self, declaration_id: &str, risk: &CurrentRisk) -> Result<(), StoreError>;

    /// Appends an entry to the audit log; answers its sequence number.
    fn append_audit(&mut self, entry: &NewAuditEntry) -> Result<u64, StoreError>;

    /// Stores a new principal with its token's hash; `DuplicatePrincipal` when the name is
    /// taken.
    fn insert_principal(
        &mut self,
        principal: &Principal,
        token_sha256: &str,
    ) -> Result<(), StoreError>;

    /// Marks a principal revoked at `at_ms`; false when there is no principal of that name
    /// (or it was revoked already).
    fn revoke_principal(&mut self, name: &str, at_ms: i64) -> Result<bool, StoreError>;

    /// Sets the password hash (a PHC string) of an active principal; false when there is
    /// none of that name.
    fn set_password(&mut self, name: &str, password_phc: &str) -> Result<bool, StoreError>;
}

/// The stored detections' alarm categories, deduplicated, in the order they first appear.
pub fn alarm_categories(detections: &[StoredDetection]) -> Vec<Category> {
    let mut out: Vec<Category> = Vec::new();
    for d in detections.iter().filter(|d| d.alarm) {
        if !out.contains(&d.category) {
            out.push(d.category);
        }
    }
    out
}
