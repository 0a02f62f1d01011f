//! Managing principals: each is made with a long random bearer token that is shown once and
//! kept only as its SHA-256; revoking one refuses its token from then on. (Checking a call's
//! token and roles against the access policy builds on this.)

use sha2::{Digest, Sha256};
use xray_customs::{
    declaration::now_ms,
    ledger,
    principal::{Principal, Role, validate},
};

use crate::{Error, Service};

/// Random bytes in a token (hex-encoded after its prefix).
const TOKEN_BYTES: usize = 32;

/// What tokens start with, so that a leaked one is easy to recognise and search for.
pub const TOKEN_PREFIX: &str = "xst_";

/// A new principal as an administrator describes it.
#[derive(Debug, Clone)]
pub struct NewPrincipal {
    pub name: String,
    pub roles: Vec<Role>,
    pub portals: Vec<String>,
    /// Days until its token is refused; None: it does not expire.
    pub expires_days: Option<u32>,
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
        new: NewPrincipal,
        actor: &str,
    ) -> Result<(Principal, String), Error> {
        let created_ms = now_ms();
        let mut roles = new.roles;
        roles.sort();
        roles.dedup();
        let principal = Principal {
            name: new.name,
            roles,
            portals: new.portals,
            created_ms,
            expires_ms: new
                .expires_days
                .map(|d| created_ms + i64::from(d) * 86_400_000),
            revoked_ms: None,
        };
        validate(&principal).map_err(Error::Invalid)?;
        let token = new_token()?;
        let (stored, hash, actor) = (principal.clone(), token_hash(&token), actor.to_string());
        self.blocking(move |store| {
            store.transaction(|uow| {
                Ok::<_, Error>(ledger::add_principal(uow, &stored, &hash, &actor)?)
            })
        })
        .await?;
        Ok((principal, token))
    }

    /// Every principal, by name (no token is kept to show).
    pub async fn principals(&self) -> Result<Vec<Principal>, Error> {
        self.blocking(|store| Ok(store.principals()?)).await
    }

    /// Revokes a principal: its token is refused from now on.
    pub async fn revoke_principal(&self, name: &str, actor: &str) -> Result<(), Error> {
        let (name, actor) = (name.to_string(), actor.to_string());
        self.blocking(move |store| {
            let revoked = store.transaction(|uow| {
                Ok::<_, Error>(ledger::revoke_principal(uow, &name, now_ms(), &actor)?)
            })?;
            if revoked {
                Ok(())
            } else {
                Err(Error::UnknownPrincipal(name))
            }
        })
        .await
    }

    /// The active principal a token belongs to (None: unknown, expired or revoked).
    pub async fn principal_for_token(&self, token: &str) -> Result<Option<Principal>, Error> {
        let hash = token_hash(token);
        let found = self
            .blocking(move |store| Ok(store.principal_by_token(&hash)?))
            .await?;
        Ok(found.filter(|p| p.is_active(now_ms())))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use xray_customs::risk::RiskPolicy;
    use xray_engine::imaging::ImageLimits;
    use xray_store_sqlite::SqliteStore;

    use super::*;
    use crate::KeepImages;

    #[tokio::test]
    async fn a_token_finds_its_principal_until_it_is_revoked() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = SqliteStore::open(dir.path()).expect("store");
        let service = Service::new(
            Arc::new(store),
            RiskPolicy::default(),
            KeepImages::None,
            ImageLimits::default(),
        )
        .expect("service");
        let (made, token) = service
            .add_principal(
                NewPrincipal {
                    name: "risk-1".into(),
                    roles: vec![Role::RiskSystem, Role::RiskSystem],
                    portals: Vec::new(),
                    expires_days: None,
                },
                "test",
            )
            .await
            .expect("added");
        assert_eq!(made.roles, [Role::RiskSystem]);
        let found = service.principal_for_token(&token).await.expect("lookup");
        assert_eq!(found.as_ref().map(|p| p.name.as_str()), Some("risk-1"));
        assert!(
            service
                .principal_for_token("xst_00")
                .await
                .expect("lookup")
                .is_none()
        );
        service
            .revoke_principal("risk-1", "test")
            .await
            .expect("revoked");
        assert!(
            service
                .principal_for_token(&token)
                .await
                .expect("lookup")
                .is_none()
        );
        assert!(matches!(
            service.revoke_principal("risk-1", "test").await,
            Err(Error::UnknownPrincipal(_))
        ));
    }
}
