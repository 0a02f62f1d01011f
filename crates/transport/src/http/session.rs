//! The review screen's sessions: an inspector logs in once, with a bearer token or a name
//! and password, and the browser then holds only a random session id in an HttpOnly cookie.
//! The token stays on the server, and every request authenticates again (the token through
//! the use-case layer's short cache, a password login by its principal's name), so revoking
//! a principal ends its sessions too. A session ends at logout, after
//! `--session-idle-secs` without a request, or [`MAX_SESSION_AGE`] after login.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// The cookie's name.
pub const COOKIE: &str = "xray_session";

/// The longest a session lasts, however busy.
pub const MAX_SESSION_AGE: Duration = Duration::from_secs(12 * 3600);

/// Sessions open at once; past it, logging in is refused until some end.
const MAX_SESSIONS: usize = 10_000;

/// How a session proves itself again on each request.
#[derive(Clone)]
pub enum SessionLogin {
    /// The bearer token it logged in with (never sent back to the browser).
    Token(String),
    /// The principal that logged in with its password.
    Password(String),
}

impl std::fmt::Debug for SessionLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionLogin::Token(_) => f.write_str("Token(<secret>)"),
            SessionLogin::Password(name) => write!(f, "Password({name:?})"),
        }
    }
}

/// One logged-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    pub login: SessionLogin,
    /// What the page sends back in `X-CSRF-Token` with every change it asks for.
    pub csrf: String,
    started: Instant,
    last_seen: Instant,
}

/// Every open session, by id.
#[derive(Debug)]
pub struct Sessions {
    idle: Duration,
    open: Mutex<HashMap<String, Session>>,
}

/// 32 random bytes in hex, for a session id or a CSRF token.
fn random_hex() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl Sessions {
    pub fn new(idle: Duration) -> Self {
        Self {
            idle,
            open: Mutex::default(),
        }
    }

    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // Sessions are plain data: a map a panicking thread left is still usable.
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn live(&self, s: &Session, now: Instant) -> bool {
        now.duration_since(s.last_seen) < self.idle
            && now.duration_since(s.started) < MAX_SESSION_AGE
    }

    /// Opens a session for `token`; answers its id and CSRF token, or None when no
    /// randomness is to be had or too many sessions are open.
    pub fn start(&self, login: SessionLogin) -> Option<(String, Session)> {
        let now = Instant::now();
        let mut open = self.open();
        if open.len() >= MAX_SESSIONS {
            open.retain(|_, s| self.live(s, now));
            if open.len() >= MAX_SESSIONS {
                return None;
            }
        }
        let session = Session {
            login,
            csrf: random_hex()?,
            started: now,
            last_seen: now,
        };
        let id = random_hex()?;
        open.insert(id.clone(), session.clone());
        Some((id, session))
    }

    /// The session `id` names, if it is open and live; a request through it counts as use.
    pub fn touch(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut open = self.open();
        let live = open.get(id).map(|s| self.live(s, now))?;
        if !live {
            open.remove(id);
            return None;
        }
        let session = open.get_mut(id)?;
        session.last_seen = now;
        Some(session.clone())
    }

    /// Ends the session `id`.
    pub fn end(&self, id: &str) {
        self.open().remove(id);
    }
}

/// The session id in a `Cookie` header, if there is one.
pub fn session_id(cookie_header: &str) -> Option<&str> {
    cookie_header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// The `Set-Cookie` value that opens a session (Secure when the port has TLS).
pub fn set_cookie(id: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes it.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_lives_while_used_and_ends_idle_or_at_logout() {
        let sessions = Sessions::new(Duration::from_millis(200));
        let token = || SessionLogin::Token("xst_t".into());
        let (id, session) = sessions.start(token()).expect("started");
        assert_eq!(id.len(), 64);
        assert_ne!(session.csrf, id);
        assert!(matches!(
            sessions.touch(&id).map(|s| s.login),
            Some(SessionLogin::Token(t)) if t == "xst_t"
        ));
        assert!(!format!("{session:?}").contains("xst_t"));
        assert!(sessions.touch("not-a-session").is_none());
        std::thread::sleep(Duration::from_millis(250));
        assert!(sessions.touch(&id).is_none(), "idle past the timeout");
        let (id, _) = sessions
            .start(SessionLogin::Password("insp-1".into()))
            .expect("started");
        sessions.end(&id);
        assert!(sessions.touch(&id).is_none(), "logged out");
    }

    #[test]
    fn cookies_are_read_and_written_with_their_attributes() {
        assert_eq!(session_id("a=1; xray_session=abc; b=2"), Some("abc"));
        assert_eq!(session_id("xray_sessionx=abc"), None);
        let cookie = set_cookie("abc", true);
        for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
            assert!(cookie.contains(attribute), "{cookie}");
        }
        assert!(!set_cookie("abc", false).contains("Secure"));
        assert!(clear_cookie(false).contains("Max-Age=0"));
    }
}
