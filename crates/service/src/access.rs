//! The access policy: which roles may make each call of every front door, in one table, and
//! the one check of a caller against it. Every use case starts with it, so a door cannot
//! forget it: the door authenticates its caller ([`crate::authentication`]) and hands the
//! [`Caller`] over with the request.

use xray_customs::principal::{Principal, Role};

use crate::Error;

/// Who makes a call, as its door authenticated it.
#[derive(Debug, Clone, PartialEq)]
pub enum Caller {
    /// No credential was presented: only refusals with UNAUTHENTICATED.
    Anonymous,
    /// A principal that proved itself with a bearer token or a client certificate.
    Principal(Principal),
    /// Someone at this machine's command line (`xray-screen principals`), whose authority
    /// is access to the data directory: it may manage principals and nothing else.
    Operator(String),
}

impl Caller {
    /// The name the audit log gives this caller.
    pub fn name(&self) -> &str {
        match self {
            Caller::Anonymous => "anonymous",
            Caller::Principal(p) => &p.name,
            Caller::Operator(name) => name,
        }
    }
}

/// Everything a caller can ask of the service, whatever the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    /// xray.v1.Inspection/Inspect and StreamScans, and the inference protocol's encoded-scan
    /// inputs: send scans (for the principal's portals).
    SendScans,
    /// The inference protocol's ready-tensor inputs: run a model on a preprocessed tensor.
    InferTensors,
    /// The models' metadata, configuration and readiness (the inference protocol).
    ReadModels,
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
    /// The Prometheus metrics and the inference protocol's model statistics.
    Metrics,
}

impl Call {
    pub const ALL: [Call; 14] = [
        Call::SendScans,
        Call::InferTensors,
        Call::ReadModels,
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
            Call::InferTensors => "running a model on ready tensors",
            Call::ReadModels => "reading the models' metadata",
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
            Call::SendScans | Call::InferTensors => &[Scanner],
            Call::RegisterDeclaration | Call::WatchRisk => &[RiskSystem],
            Call::ReadDeclaration => &[RiskSystem, Inspector, Supervisor],
            Call::ListFlagged | Call::ReadScan | Call::SubmitVerdict => &[Inspector, Supervisor],
            Call::ReadAudit | Call::ReadAccuracy => &[Supervisor],
            Call::ManagePrincipals => &[Admin],
            Call::Health | Call::ReadModels => {
                &[Scanner, Inspector, RiskSystem, Supervisor, Admin, Observer]
            }
            Call::Metrics => &[Observer, Supervisor, Admin],
        }
    }
}

fn role_list(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Whether `caller` may make `call`; answers the name the audit log gives it.
/// UNAUTHENTICATED for an anonymous caller and PERMISSION_DENIED for a principal without the
/// role, each naming the roles that may.
pub fn authorize(caller: &Caller, call: Call) -> Result<&str, Error> {
    let allowed = call.roles();
    match caller {
        Caller::Anonymous => Err(Error::Unauthenticated(format!(
            "{} needs a principal with the role {}: send `authorization: Bearer <token>` (an administrator makes one with `xray-screen principals add`) or a client certificate",
            call.as_str(),
            role_list(allowed)
        ))),
        Caller::Principal(principal) if principal.roles.iter().any(|r| allowed.contains(r)) => {
            Ok(&principal.name)
        }
        Caller::Principal(principal) => Err(Error::PermissionDenied(format!(
            "principal {} may not make this call ({}): it needs the role {}",
            principal.name,
            call.as_str(),
            role_list(allowed)
        ))),
        Caller::Operator(name) if call == Call::ManagePrincipals => Ok(name),
        Caller::Operator(name) => Err(Error::PermissionDenied(format!(
            "{name} at the command line may only manage principals, not make this call ({})",
            call.as_str()
        ))),
    }
}

/// Whether a scanner may send a scan that names `portal_id`: only for its own portals.
pub fn authorize_portal<'c>(caller: &'c Caller, portal_id: &str) -> Result<&'c str, Error> {
    let name = authorize(caller, Call::SendScans)?;
    let portals: &[String] = match caller {
        Caller::Principal(p) => &p.portals,
        _ => &[],
    };
    if portals.iter().any(|p| p == portal_id) {
        return Ok(name);
    }
    if portal_id.is_empty() {
        return Err(Error::PermissionDenied(format!(
            "portal_id is empty: principal {name} must name the portal of each scan ({})",
            portals.join(", ")
        )));
    }
    Err(Error::PermissionDenied(format!(
        "principal {name} may send scans only for its portals ({}), not for {portal_id:?}",
        portals.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(role: Role) -> Caller {
        Caller::Principal(Principal {
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
        })
    }

    /// The whole table, every call for every role: `X` allowed, `.` refused.
    #[test]
    fn every_call_for_every_role() {
        // Columns: scanner, inspector, risk-system, supervisor, admin, observer.
        let table = [
            (Call::SendScans, "X....."),
            (Call::InferTensors, "X....."),
            (Call::ReadModels, "XXXXXX"),
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
                let caller = with(role);
                let decision = authorize(&caller, call);
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
        let inspector = with(Role::Inspector);
        let e = authorize_portal(&inspector, "portal-3").expect_err("no role");
        assert!(e.to_string().contains("needs the role scanner"), "{e}");
        let observer = with(Role::Observer);
        let e = authorize(&observer, Call::ListFlagged).expect_err("observer");
        assert!(e.to_string().contains("inspector or supervisor"), "{e}");
    }

    #[test]
    fn anonymous_callers_are_unauthenticated_and_operators_only_manage_principals() {
        for call in Call::ALL {
            let e = authorize(&Caller::Anonymous, call).expect_err("anonymous");
            assert_eq!(e.kind(), crate::ErrorKind::Unauthenticated);
            assert!(e.to_string().contains("authorization: Bearer"), "{e}");
            let operator = Caller::Operator("local:root".into());
            let decision = authorize(&operator, call);
            if call == Call::ManagePrincipals {
                assert_eq!(decision.ok(), Some("local:root"));
            } else {
                let e = decision.expect_err("operator");
                assert_eq!(e.kind(), crate::ErrorKind::PermissionDenied);
            }
        }
    }
}
