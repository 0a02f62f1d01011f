//! Managing principals: each is made with a long random bearer token that is shown once and
//! kept only as its SHA-256; revoking one refuses its token (and its client certificate)
//! from then on. Checking a call's credential is [`crate::authentication`]'s.

use sha2::{Digest, Sha256};
use xray_customs::{
    declaration::now_ms,
    ledger,
    principal::{Principal, Role, validate},
};

use crate::{
    Error, Service,
    access::{Call, Caller, authorize},
};

/// Random bytes in a token (hex-encoded after its prefix).
const TOKEN_BYTES: usize = 32;

/// What tokens start with, so that a leaked one is easy to recognise and search for.
pub const TOKEN_PREFIX: &str = "xst_";

/// Shortest and longest password, in bytes.
pub const MIN_PASSWORD_BYTES: usize = 12;
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// `password` hashed with Argon2id and a random salt, as a PHC string.
fn hash_password(password: &str) -> Result<String, Error> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| Error::Internal(format!("no randomness for a salt: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Internal(format!("salt: {e}")))?;
    Ok(argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| Error::Internal(format!("cannot hash the password: {e}")))?
        .to_string())
}

/// Whether `password` is the one `phc` was made from (false for a malformed hash).
pub(crate) fn password_matches(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc).is_ok_and(|hash| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// A new principal as an administrator describes it.
#[derive(Debug, Clone)]
pub struct NewPrincipal {
    pub name: String,
    pub roles: Vec<Role>,
    pub portals: Vec<String>,
    /// How long until its credentials are refused; None: they do not expire.
    pub expires_after: Option<std::time::Duration>,
}

/// The hex SHA-256 of a token, as the store keeps it.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn new_token() -> Result<String, Error> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Internal(format!("no randomness for a token: {e}")))?;
    Ok(TOKEN_PREFIX.to_string() + &bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

impl Service {
    /// Makes a principal; answers it with its token, which nothing keeps: show it once.
    pub async fn add_principal(
        &self,
        caller: &Caller,
        new: NewPrincipal,
    ) -> Result<(Principal, String), Error> {
        let actor = authorize(caller, Call::ManagePrincipals)?.to_string();
        let created_ms = now_ms();
        let mut roles = new.roles;
        roles.sort();
        roles.dedup();
        let principal = Principal {
            name: new.name,
            roles,
            portals: new.portals,
            created_ms,
            expires_ms: new.expires_after.map(|d| {
                created_ms.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            }),
            revoked_ms: None,
        };
        validate(&principal).map_err(Error::Invalid)?;
        let token = new_token()?;
        let (stored, hash) = (principal.clone(), token_hash(&token));
        self.blocking(move |store| {
            store.transaction(|uow| {
                Ok::<_, Error>(ledger::add_principal(uow, &stored, &hash, &actor)?)
            })
        })
        .await?;
        Ok((principal, token))
    }

    /// Every principal, by name (no token is kept to show).
    pub async fn principals(&self, caller: &Caller) -> Result<Vec<Principal>, Error> {
        authorize(caller, Call::ManagePrincipals)?;
        self.blocking(|store| Ok(store.principals()?)).await
    }

    /// Sets the password an inspector or supervisor logs in to the review screen with (kept
    /// as its Argon2id hash; a new one replaces the old).
    pub async fn set_password(
        &self,
        caller: &Caller,
        name: &str,
        password: &str,
    ) -> Result<(), Error> {
        let actor = authorize(caller, Call::ManagePrincipals)?.to_string();
        if !(MIN_PASSWORD_BYTES..=MAX_PASSWORD_BYTES).contains(&password.len()) {
            return Err(Error::Invalid(format!(
                "a password is {MIN_PASSWORD_BYTES} to {MAX_PASSWORD_BYTES} bytes; this one is {}",
                password.len()
            )));
        }
        let name = name.to_string();
        let principal = self
            .blocking({
                let name = name.clone();
                move |store| Ok(store.principal_by_name(&name)?)
            })
            .await?
            .filter(|p| p.revoked_ms.is_none())
            .ok_or_else(|| Error::UnknownPrincipal(name.clone()))?;
        if !principal
            .roles
            .iter()
            .any(|r| Call::ListFlagged.roles().contains(r))
        {
            return Err(Error::Invalid(format!(
                "principal {name} is not an inspector or supervisor: only they log in to the review screen"
            )));
        }
        let phc = tokio::task::spawn_blocking({
            let password = password.to_string();
            move || hash_password(&password)
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        self.blocking(move |store| {
            let set = store.transaction(|uow| {
                Ok::<_, Error>(ledger::set_password(uow, &name, &phc, now_ms(), &actor)?)
            })?;
            if set {
                Ok(())
            } else {
                Err(Error::UnknownPrincipal(name))
            }
        })
        .await
    }

    /// Revokes a principal: its token is refused from now on.
    pub async fn revoke_principal(&self, caller: &Caller, name: &str) -> Result<(), Error> {
        let actor = authorize(caller, Call::ManagePrincipals)?.to_string();
        let name = name.to_string();
        let revoked = self
            .blocking(move |store| {
                let revoked = store.transaction(|uow| {
                    Ok::<_, Error>(ledger::revoke_principal(uow, &name, now_ms(), &actor)?)
                })?;
                if revoked {
                    Ok(())
                } else {
                    Err(Error::UnknownPrincipal(name))
                }
            })
            .await;
        // This process's cache must not outlive the revocation.
        self.authenticator.forget();
        revoked
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use xray_customs::risk::RiskPolicy;
    use xray_engine::imaging::ImageLimits;
    use xray_store_sqlite::SqliteStore;

    use super::*;
    use crate::{Credential, KeepImages};

    fn service() -> (tempfile::TempDir, Service) {
        let dir = tempfile::tempdir().expect("tmp");
        let store = SqliteStore::open(dir.path()).expect("store");
        let images = xray_blobs::LocalBlobs::open(dir.path().join("images")).expect("images");
        let service = Service::new(
            Arc::new(store),
            Arc::new(images),
            RiskPolicy::default(),
            KeepImages::None,
            ImageLimits::default(),
        )
        .expect("service");
        (dir, service)
    }

    fn new(name: &str, role: Role, expires_after: Option<std::time::Duration>) -> NewPrincipal {
        NewPrincipal {
            name: name.into(),
            roles: vec![role, role],
            portals: Vec::new(),
            expires_after,
        }
    }

    async fn who(service: &Service, credential: Credential) -> Result<String, Error> {
        Ok(service
            .authenticate(credential, None, "test")
            .await?
            .name()
            .to_string())
    }

    #[tokio::test]
    async fn a_token_finds_its_principal_until_it_is_revoked_or_expires() {
        let (_dir, service) = service();
        let admin = Caller::Operator("local:test".into());
        let (made, token) = service
            .add_principal(&admin, new("risk-1", Role::RiskSystem, None))
            .await
            .expect("added");
        assert_eq!(made.roles, [Role::RiskSystem]);
        assert_eq!(
            who(&service, Credential::Bearer(token.clone())).await.ok(),
            Some("risk-1".into())
        );
        assert_eq!(
            who(&service, Credential::Certificate("risk-1".into()))
                .await
                .ok(),
            Some("risk-1".into())
        );
        assert_eq!(
            who(&service, Credential::None).await.ok(),
            Some("anonymous".into())
        );
        for (credential, words) in [
            (Credential::Bearer("xst_00".into()), "not known"),
            (Credential::Bearer("hunter2".into()), "start with xst_"),
            (Credential::Certificate("gate-9".into()), "does not exist"),
            (Credential::Malformed("bad header"), "bad header"),
        ] {
            let e = who(&service, credential).await.expect_err(words);
            assert_eq!(e.kind(), crate::ErrorKind::Unauthenticated);
            assert!(e.to_string().contains(words), "{e}");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
        service
            .revoke_principal(&admin, "risk-1")
            .await
            .expect("revoked");
        let e = who(&service, Credential::Bearer(token))
            .await
            .expect_err("revoked");
        assert!(e.to_string().contains("risk-1 was revoked"), "{e}");
        assert!(matches!(
            service.revoke_principal(&admin, "risk-1").await,
            Err(Error::UnknownPrincipal(_))
        ));

        let brief = Some(std::time::Duration::from_millis(1));
        let (_, token) = service
            .add_principal(&admin, new("insp-1", Role::Inspector, brief))
            .await
            .expect("added");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let e = who(&service, Credential::Bearer(token))
            .await
            .expect_err("expired");
        assert!(e.to_string().contains("has expired"), "{e}");
    }

    #[tokio::test]
    async fn only_administrators_and_operators_manage_principals() {
        let (_dir, service) = service();
        let operator = Caller::Operator("local:test".into());
        let (_, token) = service
            .add_principal(&operator, new("boss", Role::Admin, None))
            .await
            .expect("added");
        let admin = service
            .authenticate(Credential::Bearer(token), None, "test")
            .await
            .expect("admin");
        let (inspector, _) = service
            .add_principal(&admin, new("insp-2", Role::Inspector, None))
            .await
            .expect("added by an admin");
        let e = service
            .principals(&Caller::Principal(inspector))
            .await
            .expect_err("an inspector lists no principals");
        assert_eq!(e.kind(), crate::ErrorKind::PermissionDenied);
        let names: Vec<String> = service
            .principals(&admin)
            .await
            .expect("listed")
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["boss", "insp-2"]);
    }

    #[tokio::test]
    async fn an_inspector_with_a_password_logs_in_with_it_and_nobody_else_does() {
        let (_dir, service) = service();
        let operator = Caller::Operator("local:test".into());
        service
            .add_principal(&operator, new("insp-3", Role::Inspector, None))
            .await
            .expect("added");
        service
            .add_principal(&operator, new("risk-3", Role::RiskSystem, None))
            .await
            .expect("added");
        let password = "correct horse battery";
        let e = service
            .set_password(&operator, "insp-3", "short")
            .await
            .expect_err("too short");
        assert!(e.to_string().contains("12 to 1024 bytes"), "{e}");
        let e = service
            .set_password(&operator, "risk-3", password)
            .await
            .expect_err("not a review-screen user");
        assert!(
            e.to_string().contains("not an inspector or supervisor"),
            "{e}"
        );
        service
            .set_password(&operator, "insp-3", password)
            .await
            .expect("set");
        let login = |name: &str, password: &str| Credential::Password {
            name: name.into(),
            password: password.into(),
        };
        assert_eq!(
            who(&service, login("insp-3", password)).await.ok(),
            Some("insp-3".into())
        );
        for (name, pw) in [("insp-3", "wrong horse battery"), ("nobody", password)] {
            let e = who(&service, login(name, pw)).await.expect_err("refused");
            assert!(e.to_string().contains("do not match"), "{e}");
            assert!(!e.to_string().contains("horse"), "{e}");
        }
        assert!(!format!("{:?}", login("insp-3", password)).contains("horse"));
        service
            .revoke_principal(&operator, "insp-3")
            .await
            .expect("revoked");
        let e = who(&service, Credential::Session("insp-3".into()))
            .await
            .expect_err("a revoked principal's session ends");
        assert!(e.to_string().contains("revoked"), "{e}");
    }
}
