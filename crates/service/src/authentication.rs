//! Who is calling: a door hands over the credential its caller presented (a bearer token,
//! or the principal named by a client certificate its TLS layer verified) and gets a
//! [`Caller`] back, or UNAUTHENTICATED with a sentence that never repeats the secret. Every
//! refusal is counted (`xray_auth_failures_total`) and a source that keeps failing is slowed
//! down ([`crate::throttle`]).
//!
//! Tokens found are remembered for [`AccessSettings::cache_ttl`], so that a scan does not
//! cost a database read; a token revoked by another process is refused once that has passed.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use xray_customs::{declaration::now_ms, principal::Principal};
use xray_metrics::metrics;

use crate::{
    Error, Service,
    access::Caller,
    principals::{TOKEN_PREFIX, password_matches, token_hash},
    throttle::{FailureThrottle, ThrottleSettings},
};

/// What a caller presented. Its `Debug` never shows a secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// Nothing: the call is anonymous (and refused by every use case but none).
    None,
    /// A bearer token (`authorization: Bearer <token>`).
    Bearer(String),
    /// The principal name read from a client certificate that the TLS layer verified
    /// against `--tls-client-ca`.
    Certificate(String),
    /// A name and password, typed on the review screen's login page.
    Password { name: String, password: String },
    /// The principal of a review-screen session opened with its password: it must still be
    /// active.
    Session(String),
    /// A credential that could not be read; the sentence says why.
    Malformed(&'static str),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::None => f.write_str("None"),
            Credential::Bearer(_) => f.write_str("Bearer(<secret>)"),
            Credential::Certificate(name) => write!(f, "Certificate({name:?})"),
            Credential::Password { name, .. } => write!(f, "Password({name:?}, <secret>)"),
            Credential::Session(name) => write!(f, "Session({name:?})"),
            Credential::Malformed(why) => write!(f, "Malformed({why:?})"),
        }
    }
}

impl Credential {
    /// Reads an `authorization` header's value (gRPC metadata or HTTP), if there is one.
    pub fn from_authorization(value: Option<&[u8]>) -> Credential {
        let Some(value) = value else {
            return Credential::None;
        };
        let Ok(value) = std::str::from_utf8(value) else {
            return Credential::Malformed("the authorization header is not text");
        };
        let mut parts = value.trim().splitn(2, ' ');
        match (parts.next(), parts.next().map(str::trim)) {
            (Some(scheme), Some(token)) if scheme.eq_ignore_ascii_case("bearer") => {
                if token.is_empty() {
                    Credential::Malformed("the authorization header's bearer token is empty")
                } else {
                    Credential::Bearer(token.to_string())
                }
            }
            _ => Credential::Malformed("the authorization header must read `Bearer <token>`"),
        }
    }
}

/// How callers are authenticated (the `--auth-*` settings).
#[derive(Debug, Clone, Copy)]
pub struct AccessSettings {
    /// How long a token found in the store is trusted without asking it again: the longest
    /// a revoked token made by another process stays accepted.
    pub cache_ttl: Duration,
    pub throttle: ThrottleSettings,
}

impl Default for AccessSettings {
    fn default() -> Self {
        Self {
            cache_ttl: Duration::from_secs(5),
            throttle: ThrottleSettings::default(),
        }
    }
}

/// Tokens remembered at once; past it the cache starts again empty.
const MAX_CACHED_TOKENS: usize = 10_000;

/// The service's authentication state: the token cache and the failure throttle.
#[derive(Debug, Default)]
pub(crate) struct Authenticator {
    settings: AccessSettings,
    /// Token hash to the principal it belongs to, and when it was read from the store.
    tokens: Mutex<HashMap<String, (Principal, Instant)>>,
    throttle: FailureThrottle,
}

impl Authenticator {
    pub(crate) fn new(settings: AccessSettings) -> Self {
        Self {
            settings,
            tokens: Mutex::default(),
            throttle: FailureThrottle::new(settings.throttle),
        }
    }

    fn tokens(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Principal, Instant)>> {
        self.tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn cached(&self, hash: &str) -> Option<Principal> {
        let tokens = self.tokens();
        let (principal, at) = tokens.get(hash)?;
        (at.elapsed() < self.settings.cache_ttl && principal.is_active(now_ms()))
            .then(|| principal.clone())
    }

    fn remember(&self, hash: String, principal: &Principal) {
        let mut tokens = self.tokens();
        if tokens.len() >= MAX_CACHED_TOKENS {
            tokens.clear();
        }
        tokens.insert(hash, (principal.clone(), Instant::now()));
    }

    /// Forgets every cached token: a principal was revoked by this process.
    pub(crate) fn forget(&self) {
        self.tokens().clear();
    }
}

/// Why a principal found for a credential is not accepted, if it is not.
fn inactive(principal: &Principal, now: i64) -> Option<(&'static str, String)> {
    if principal.revoked_ms.is_some() {
        return Some((
            "revoked",
            format!("principal {} was revoked", principal.name),
        ));
    }
    if principal.expires_ms.is_some_and(|e| now >= e) {
        return Some((
            "expired",
            format!(
                "the credential of principal {} has expired; an administrator makes a new one",
                principal.name
            ),
        ));
    }
    None
}

impl Service {
    /// Authenticates a call that came through `door` from `source`: the caller it is, or
    /// UNAUTHENTICATED. A source past its free failures waits before it is answered.
    pub async fn authenticate(
        &self,
        credential: Credential,
        source: Option<IpAddr>,
        door: &'static str,
    ) -> Result<Caller, Error> {
        let auth = &self.authenticator;
        if credential != Credential::None
            && let Some(source) = source
        {
            let wait = auth.throttle.delay(source);
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
        let found = match credential {
            Credential::None => return Ok(Caller::Anonymous),
            Credential::Malformed(why) => Err(("malformed", why.to_string())),
            Credential::Bearer(token) => self.token_principal(token).await?,
            Credential::Certificate(name) => self.named_principal(name, "certificate").await?,
            Credential::Session(name) => self.named_principal(name, "session").await?,
            Credential::Password { name, password } => {
                self.password_principal(name, password).await?
            }
        };
        match found {
            Ok(principal) => Ok(Caller::Principal(principal)),
            Err((reason, sentence)) => {
                metrics().auth_failure(door, reason);
                if let Some(source) = source {
                    auth.throttle.failed(source);
                }
                tracing::info!(door, reason, source = ?source, "credential refused");
                Err(Error::Unauthenticated(sentence))
            }
        }
    }

    /// The active principal a bearer token belongs to, or why not (a metric reason and a
    /// sentence).
    async fn token_principal(&self, token: String) -> Result<Found, Error> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Ok(Err((
                "malformed",
                format!(
                    "the bearer token is not one of this service's (they start with {TOKEN_PREFIX})"
                ),
            )));
        }
        let hash = token_hash(&token);
        if let Some(principal) = self.authenticator.cached(&hash) {
            return Ok(Ok(principal));
        }
        let key = hash.clone();
        let found = self
            .blocking(move |store| Ok(store.principal_by_token(&key)?))
            .await?;
        Ok(match found {
            None => Err((
                "unknown",
                "the bearer token is not known to this service".to_string(),
            )),
            Some(p) => match inactive(&p, now_ms()) {
                Some(why) => Err(why),
                None => {
                    self.authenticator.remember(hash, &p);
                    Ok(p)
                }
            },
        })
    }

    /// The active principal a verified client certificate (`by` "certificate") or a
    /// password session (`by` "session") names, or why not.
    async fn named_principal(&self, name: String, by: &'static str) -> Result<Found, Error> {
        let key = name.clone();
        let found = self
            .blocking(move |store| Ok(store.principal_by_name(&key)?))
            .await?;
        Ok(match found {
            None if by == "certificate" => Err((
                by,
                format!(
                    "the client certificate names principal {name:?}, which does not exist; an administrator adds it with `xray-screen principals add --name {name}`"
                ),
            )),
            None => Err((by, format!("principal {name:?} no longer exists"))),
            Some(p) => inactive(&p, now_ms()).map_or(Ok(p), Err),
        })
    }

    /// The active principal whose name and password these are, or why not; an unknown name
    /// and a wrong password get the same answer.
    async fn password_principal(&self, name: String, password: String) -> Result<Found, Error> {
        let key = name.clone();
        let (found, phc) = self
            .blocking(move |store| Ok((store.principal_by_name(&key)?, store.password_of(&key)?)))
            .await?;
        // Argon2 takes tens of milliseconds of CPU on purpose: not on the async runtime.
        let matches = match phc {
            Some(phc) => tokio::task::spawn_blocking(move || password_matches(&password, &phc))
                .await
                .map_err(|e| Error::Internal(e.to_string()))?,
            None => false,
        };
        Ok(match found {
            Some(p) if matches => inactive(&p, now_ms()).map_or(Ok(p), Err),
            _ => Err((
                "password",
                format!(
                    "the name {name:?} and that password do not match a principal with a password"
                ),
            )),
        })
    }
}

/// A principal found for a credential, or why it is refused: the metric's reason and the
/// caller's sentence.
type Found = Result<Principal, (&'static str, String)>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_headers_are_read_without_echoing_them() {
        assert_eq!(Credential::from_authorization(None), Credential::None);
        assert_eq!(
            Credential::from_authorization(Some(b"Bearer xst_ab")),
            Credential::Bearer("xst_ab".into())
        );
        assert_eq!(
            Credential::from_authorization(Some(b"bearer  xst_ab ")),
            Credential::Bearer("xst_ab".into())
        );
        for bad in [
            &b"Basic dXNlcjpwYXNz"[..],
            b"Bearer",
            b"Bearer  ",
            b"\xff\xfe",
        ] {
            match Credential::from_authorization(Some(bad)) {
                Credential::Malformed(why) => assert!(!why.contains("dXNlcjpwYXNz"), "{why}"),
                other => panic!("{bad:?} read as {other:?}"),
            }
        }
    }
}
