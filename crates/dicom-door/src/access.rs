//! Who may associate: DICOM has no tokens, so the calling AE title names a principal. An
//! association is accepted only when its calling AE title (trimmed) is the name of an active
//! principal with the scanner role; any other is rejected (A-ASSOCIATE-RJ, rejected-permanent,
//! service user, calling AE title not recognized). An unknown, expired or revoked name is
//! counted by `Service::authenticate` (door "dicom") like any refused credential, and slows
//! that source down; a known principal without the scanner role is counted as reason "role".
//! The scans of an association are sent for the principal's first portal.
//!
//! dicom-ul asks its access control synchronously while it negotiates; the association runs
//! on a blocking thread (see `association.rs`), so the check waits there for the service's
//! asynchronous `authenticate` on the runtime.

use std::{
    net::IpAddr,
    sync::{Arc, Mutex},
};

use dicom_ul::{
    association::server::AccessControl, pdu::AssociationRJServiceUserReason, pdu::UserIdentity,
};
use tokio::runtime::Handle;
use xray_customs::principal::{Principal, Role};
use xray_metrics::metrics;
use xray_service::{Caller, Credential, Service};

/// The door's name in the authentication metrics and logs.
pub const DOOR: &str = "dicom";

/// The access control of one association: it authenticates the calling AE title and keeps
/// the principal it names for the association's scans.
#[derive(Clone)]
pub struct ScannerAccess {
    service: Service,
    runtime: Handle,
    peer: IpAddr,
    admitted: Arc<Mutex<Option<Principal>>>,
}

impl ScannerAccess {
    pub fn new(service: Service, runtime: Handle, peer: IpAddr) -> Self {
        Self {
            service,
            runtime,
            peer,
            admitted: Arc::new(Mutex::new(None)),
        }
    }

    /// The principal the accepted association's calling AE title named.
    pub fn principal(&self) -> Option<Principal> {
        self.admitted
            .lock()
            .map(|p| p.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// The scanner principal `calling_ae_title` names, or None.
    fn scanner(&self, calling_ae_title: &str) -> Option<Principal> {
        let name = calling_ae_title.trim().to_string();
        let answer = self.runtime.block_on(self.service.authenticate(
            Credential::Certificate(name.clone()),
            Some(self.peer),
            DOOR,
        ));
        match answer {
            Ok(Caller::Principal(p)) if p.roles.contains(&Role::Scanner) => Some(p),
            Ok(_) => {
                metrics().auth_failure(DOOR, "role");
                tracing::info!(calling_ae = %name, peer = %self.peer, "the calling AE title names a principal without the scanner role");
                None
            }
            // authenticate has counted and logged it.
            Err(_) => None,
        }
    }
}

impl AccessControl for ScannerAccess {
    fn check_access(
        &self,
        _this_ae_title: &str,
        calling_ae_title: &str,
        _called_ae_title: &str,
        _user_identity: Option<&UserIdentity>,
    ) -> Result<(), AssociationRJServiceUserReason> {
        let found = self.scanner(calling_ae_title);
        let admitted = found.is_some();
        match self.admitted.lock() {
            Ok(mut slot) => *slot = found,
            Err(poisoned) => *poisoned.into_inner() = found,
        }
        if admitted {
            Ok(())
        } else {
            Err(AssociationRJServiceUserReason::CallingAETitleNotRecognized)
        }
    }
}
