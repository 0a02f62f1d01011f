//! The access policy: which roles may make each call of every front door, in one table, and
//! the one check of a principal against it. (The doors will ask it for every call and route
//! once they authenticate their callers.)

use xray_customs::principal::{Principal, Role};

use crate::Error;

/// Everything a caller can ask of the service, whatever the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    /// xray.v1.Inspection/Inspect and StreamScans: send scans (for the principal's portals).
    SendScans,
    /// Declarations/RegisterDeclaration.
    RegisterDeclaration,
    /// Declarations/GetDeclaration.
    ReadDeclaration,
    /// Declarations/WatchRisk.
    WatchRisk,
    /// Review/ListFlagged, the review screen's queue and its live events.
    ListFlagged,
    /// Review/GetScan and the review screen's scan and image routes.
    ReadScan,
    /// Review/SubmitVerdict and the review screen's verdict route.
    SubmitVerdict,
    /// Review/ListAudit.
    ReadAudit,
    /// Review/GetModelAccuracy.
    ReadAccuracy,
    /// Making, listing and revoking principals.
    ManagePrincipals,
    /// grpc.health.v1.Health.
    Health,
    /// The Prometheus metrics.
    Metrics,
}

impl Call {
    pub const ALL: [Call; 12] = [
        Call::SendScans,
        Call::RegisterDeclaration,
        Call::ReadDeclaration,
        Call::WatchRisk,
        Call::ListFlagged,
        Call::ReadScan,
        Call::SubmitVerdict,
        Call::ReadAudit,
        Call::ReadAccuracy,
        Call::ManagePrincipals,
        Call::Health,
        Call::Metrics,
    ];

    /// The call as messages name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Call::SendScans => "sending scans",
            Call::RegisterDeclaration => "registering declarations",
            Call::ReadDeclaration => "reading declarations",
            Call::WatchRisk => "watching the risk feed",
            Call::ListFlagged => "listing flagged scans",
            Call::ReadScan => "reading stored scans",
            Call::SubmitVerdict => "submitting verdicts",
            Call::ReadAudit => "reading the audit log",
            Call::ReadAccuracy => "reading the model's accuracy",
            Call::ManagePrincipals => "managing principals",
            Call::Health => "health checks",
            Call::Metrics => "metrics",
        }
    }

    /// The roles that may make this call: the policy, in one place.
    pub fn roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            Call::SendScans => &[Scanner],
            Call::RegisterDeclaration | Call::WatchRisk => &[RiskSystem],
            Call::ReadDeclaration => &[RiskSystem, Inspector, Supervisor],
            Call::ListFlagged | Call::ReadScan | Call::SubmitVerdict => &[Inspector, Supervisor],
            Call::ReadAudit | Call::ReadAccuracy => &[Supervisor],
            Call::ManagePrincipals => &[Admin],
            Call::Health => &[Scanner, Inspector, RiskSystem, Supervisor, Admin, Observer],
            Call::Metrics => &[Observer, Supervisor, Admin],
        }
    }
}

/// Whether `principal` may make `call`; PERMISSION_DENIED names the roles that may.
pub fn authorize(principal: &Principal, call: Call) -> Result<(), Error> {
    let allowed = call.roles();
    if principal.roles.iter().any(|r| allowed.contains(r)) {
        return Ok(());
    }
    Err(Error::PermissionDenied(format!(
        "principal {} may not make this call ({}): it needs the role {}",
        principal.name,
        call.as_str(),
        allowed
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(" or ")
    )))
}

/// Whether a scanner may send a scan that names `portal_id`: only for its own portals.
pub fn authorize_portal(principal: &Principal, portal_id: &str) -> Result<(), Error> {
    authorize(principal, Call::SendScans)?;
    if principal.portals.iter().any(|p| p == portal_id) {
        return Ok(());
    }
    Err(Error::PermissionDenied(format!(
        "principal {} may send scans only for its portals ({}), not for {portal_id:?}",
        principal.name,
        principal.portals.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(role: Role) -> Principal {
        Principal {
            name: format!("a-{role}"),
            roles: vec![role],
            portals: if role == Role::Scanner {
                vec!["portal-3".into()]
            } else {
                Vec::new()
            },
            created_ms: 0,
            expires_ms: None,
            revoked_ms: None,
        }
    }

    /// The whole table, every call for every role: `X` allowed, `.` refused.
    #[test]
    fn every_call_for_every_role() {
        // Columns: scanner, inspector, risk-system, supervisor, admin, observer.
        let table = [
            (Call::SendScans, "X....."),
            (Call::RegisterDeclaration, "..X..."),
            (Call::ReadDeclaration, ".XXX.."),
            (Call::WatchRisk, "..X..."),
            (Call::ListFlagged, ".X.X.."),
            (Call::ReadScan, ".X.X.."),
            (Call::SubmitVerdict, ".X.X.."),
            (Call::ReadAudit, "...X.."),
            (Call::ReadAccuracy, "...X.."),
            (Call::ManagePrincipals, "....X."),
            (Call::Health, "XXXXXX"),
            (Call::Metrics, "...XXX"),
        ];
        assert_eq!(table.len(), Call::ALL.len());
        for (call, row) in table {
            for (role, mark) in Role::ALL.into_iter().zip(row.chars()) {
                let decision = authorize(&with(role), call);
                match mark {
                    'X' => assert!(decision.is_ok(), "{role} {call:?}: {decision:?}"),
                    _ => {
                        let e = decision.expect_err(&format!("{role} {call:?}"));
                        assert_eq!(e.kind(), crate::ErrorKind::PermissionDenied);
                        assert!(e.to_string().contains(call.as_str()), "{e}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_scanner_sends_only_for_its_portals_and_messages_name_the_role() {
        let scanner = with(Role::Scanner);
        assert!(authorize_portal(&scanner, "portal-3").is_ok());
        let e = authorize_portal(&scanner, "portal-9").expect_err("another portal");
        assert!(
            e.to_string().contains("only for its portals (portal-3)"),
            "{e}"
        );
        let e = authorize_portal(&with(Role::Inspector), "portal-3").expect_err("no role");
        assert!(e.to_string().contains("needs the role scanner"), "{e}");
        let e = authorize(&with(Role::Observer), Call::ListFlagged).expect_err("observer");
        assert!(e.to_string().contains("inspector or supervisor"), "{e}");
    }
}
