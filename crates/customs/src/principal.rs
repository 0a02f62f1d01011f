//! Who calls the service: a named principal with roles, proving itself with a bearer token
//! that is kept only as its SHA-256 hash.

use std::fmt;

/// What a principal may do (the access policy maps each call and route to roles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Sends scans, for the portals it is bound to.
    Scanner,
    /// Lists, opens and judges flagged scans; reads declarations.
    Inspector,
    /// Registers declarations, reads them and their risk, watches the risk feed.
    RiskSystem,
    /// What an inspector does, plus the audit log and the model's accuracy.
    Supervisor,
    /// Manages principals.
    Admin,
    /// Health and metrics only.
    Observer,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Scanner,
        Role::Inspector,
        Role::RiskSystem,
        Role::Supervisor,
        Role::Admin,
        Role::Observer,
    ];

    /// The role's name in flags, the store and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Scanner => "scanner",
            Role::Inspector => "inspector",
            Role::RiskSystem => "risk-system",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
            Role::Observer => "observer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Longest principal name, in bytes.
pub const MAX_PRINCIPAL_NAME_BYTES: usize = 64;

/// A named caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub name: String,
    pub roles: Vec<Role>,
    /// The portals a scanner may send scans for (empty for other roles).
    pub portals: Vec<String>,
    pub created_ms: i64,
    /// After this instant its token is refused; None: it does not expire.
    pub expires_ms: Option<i64>,
    /// When it was revoked; its token is refused from then on.
    pub revoked_ms: Option<i64>,
}

impl Principal {
    /// Whether its token is accepted at `now_ms`.
    pub fn is_active(&self, now_ms: i64) -> bool {
        self.revoked_ms.is_none() && self.expires_ms.is_none_or(|e| now_ms < e)
    }
}

/// Checks a new principal: a name of letters, digits, `.`, `_` and `-`, at least one role,
/// and portals exactly when it is a scanner.
pub fn validate(principal: &Principal) -> Result<(), String> {
    let name = &principal.name;
    if name.is_empty() || name.len() > MAX_PRINCIPAL_NAME_BYTES {
        return Err(format!(
            "a principal's name is 1 to {MAX_PRINCIPAL_NAME_BYTES} bytes; {name:?} is {}",
            name.len()
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(format!(
            "principal name {name:?} may hold only letters, digits, '.', '_' and '-'"
        ));
    }
    if principal.roles.is_empty() {
        return Err(format!("principal {name} has no role"));
    }
    let scanner = principal.roles.contains(&Role::Scanner);
    if scanner && principal.portals.is_empty() {
        return Err(format!(
            "principal {name} is a scanner: name the portals it may send scans for (--portal)"
        ));
    }
    if !scanner && !principal.portals.is_empty() {
        return Err(format!(
            "principal {name} is not a scanner: only scanners are bound to portals"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(name: &str, roles: &[Role], portals: &[&str]) -> Principal {
        Principal {
            name: name.into(),
            roles: roles.to_vec(),
            portals: portals.iter().map(|p| p.to_string()).collect(),
            created_ms: 0,
            expires_ms: None,
            revoked_ms: None,
        }
    }

    #[test]
    fn roles_round_trip_and_bad_principals_are_named() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
        assert!(validate(&principal("insp-7", &[Role::Inspector], &[])).is_ok());
        assert!(validate(&principal("gate.3", &[Role::Scanner], &["portal-3"])).is_ok());
        for (bad, words) in [
            (principal("", &[Role::Inspector], &[]), "1 to 64 bytes"),
            (principal("a b", &[Role::Inspector], &[]), "only letters"),
            (principal("x", &[], &[]), "has no role"),
            (principal("s", &[Role::Scanner], &[]), "name the portals"),
            (principal("i", &[Role::Inspector], &["p"]), "only scanners"),
        ] {
            let e = validate(&bad).expect_err(words);
            assert!(e.contains(words), "{e}");
        }
    }

    #[test]
    fn expired_and_revoked_principals_are_not_active() {
        let mut p = principal("a", &[Role::Admin], &[]);
        assert!(p.is_active(10));
        p.expires_ms = Some(10);
        assert!(p.is_active(9) && !p.is_active(10));
        p.expires_ms = None;
        p.revoked_ms = Some(5);
        assert!(!p.is_active(1));
    }
}
