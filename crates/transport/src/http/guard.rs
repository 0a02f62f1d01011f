//! What stands in front of every HTTP route: who the caller is (a bearer token in the
//! `authorization` header, the client certificate of its connection, or the review
//! screen's session cookie), the CSRF check on every change a browser session asks for,
//! and the security headers on every answer. What a caller may do is decided by the use
//! cases; this only finds out who it is.

use std::{sync::Arc, time::Duration};

use axum::{
    Json,
    extract::{ConnectInfo, FromRef, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use serde::{Deserialize, Serialize};
use xray_service::{Call, Caller, Credential, Service, access::authorize};

use super::{
    error::WebError,
    session::{self, SessionLogin, Sessions},
};
use crate::connection::Peer;

/// The door's name in the auth-failure metric.
const DOOR: &str = "http";

/// The header a browser session sends its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// What the HTTP routes share.
#[derive(Clone)]
pub struct HttpState {
    pub service: Service,
    pub sessions: Arc<Sessions>,
    /// The port has TLS: cookies are Secure and browsers are told to keep to HTTPS.
    pub tls: bool,
    /// The largest request body an inference call may send (413 beyond it).
    pub max_body: usize,
}

impl HttpState {
    pub fn new(service: Service, session_idle: Duration, tls: bool) -> Self {
        Self {
            service,
            sessions: Arc::new(Sessions::new(session_idle)),
            tls,
            max_body: DEFAULT_MAX_BODY,
        }
    }

    /// With `max_body` as the inference calls' body limit.
    pub fn with_max_body(self, max_body: usize) -> Self {
        Self { max_body, ..self }
    }
}

/// The inference calls' body limit until the server sets its own (`with_max_body`): small,
/// so that a state made without it cannot be sent large bodies.
const DEFAULT_MAX_BODY: usize = 4 << 20;

impl FromRef<HttpState> for Service {
    fn from_ref(state: &HttpState) -> Service {
        state.service.clone()
    }
}

/// A browser session's id, when the request carries one.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(session::session_id)
        .map(str::to_string)
}

fn changes_something(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Authenticates the request and hands its [`Caller`] to the route; refuses a bad
/// credential (401) and a browser session's change without its CSRF token (403).
pub async fn authenticate(
    State(state): State<HttpState>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<Peer>>()
        .map(|c| c.0.clone());
    let headers = request.headers();
    let authorization = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
    let cookie = session_cookie(headers);
    let credential = match (authorization, &cookie) {
        (None, Some(id)) => match state.sessions.touch(id) {
            Some(session) => {
                if changes_something(request.method())
                    && headers.get(CSRF_HEADER).map(HeaderValue::as_bytes)
                        != Some(session.csrf.as_bytes())
                {
                    return WebError(
                        StatusCode::FORBIDDEN,
                        format!(
                            "this change needs the session's {CSRF_HEADER} header: reload the page"
                        ),
                    )
                    .into_response();
                }
                match session.login {
                    SessionLogin::Token(token) => Credential::Bearer(token),
                    SessionLogin::Password(name) => Credential::Session(name),
                }
            }
            None => {
                return WebError(
                    StatusCode::UNAUTHORIZED,
                    "the session has ended (logged out, idle too long, or the server restarted): log in again".into(),
                )
                .into_response();
            }
        },
        _ => match &peer {
            Some(peer) => peer.credential(authorization),
            None => Credential::from_authorization(authorization),
        },
    };
    let source = peer.map(|p| p.addr.ip());
    match state.service.authenticate(credential, source, DOOR).await {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(e) => WebError::from(e).into_response(),
    }
}

/// The security headers on every answer: no sniffing, no framing, no referrer, a
/// Content-Security-Policy that allows only the page's own script and style, and (over
/// TLS) HTTPS from now on. No CORS header is ever sent: other origins get nothing.
pub async fn security_headers(
    State(state): State<HttpState>,
    request: Request,
    next: Next,
) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let fixed = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// The page needs a session: a browser without one goes to the login page.
pub async fn page_needs_session(
    State(state): State<HttpState>,
    request: Request,
    next: Next,
) -> Response {
    let live =
        session_cookie(request.headers()).is_some_and(|id| state.sessions.touch(&id).is_some());
    if live {
        next.run(request).await
    } else {
        Redirect::to("/login").into_response()
    }
}

/// A login: a bearer token, or a name and password (`principals set-password`).
#[derive(Deserialize)]
#[serde(untagged)]
pub enum Login {
    Token { token: String },
    Password { name: String, password: String },
}

/// Who the session is, and the token the page sends with its changes.
#[derive(Debug, Serialize)]
pub struct SessionView {
    principal: String,
    roles: Vec<String>,
    csrf: String,
}

fn view(caller: &Caller, csrf: String) -> SessionView {
    let roles = match caller {
        Caller::Principal(p) => p.roles.iter().map(|r| r.as_str().to_string()).collect(),
        _ => Vec::new(),
    };
    SessionView {
        principal: caller.name().to_string(),
        roles,
        csrf,
    }
}

/// `POST /api/login {"token": ...}` or `{"name": ..., "password": ...}`: logs in a
/// principal that may use the review screen, and sets the session cookie.
pub async fn login(
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    Json(login): Json<Login>,
) -> Result<Response, WebError> {
    let (credential, again) = match login {
        Login::Token { token } => {
            let token = token.trim().to_string();
            (
                Credential::Bearer(token.clone()),
                SessionLogin::Token(token),
            )
        }
        Login::Password { name, password } => {
            let name = name.trim().to_string();
            (
                Credential::Password {
                    name: name.clone(),
                    password,
                },
                SessionLogin::Password(name),
            )
        }
    };
    let caller = state
        .service
        .authenticate(credential, Some(peer.addr.ip()), DOOR)
        .await?;
    authorize(&caller, Call::ListFlagged)?;
    let (id, session) = state.sessions.start(again).ok_or_else(|| {
        WebError(
            StatusCode::SERVICE_UNAVAILABLE,
            "no session can be opened now (too many are open); try again shortly".into(),
        )
    })?;
    tracing::info!(principal = caller.name(), "review screen login");
    Ok((
        [(header::SET_COOKIE, session::set_cookie(&id, state.tls))],
        Json(view(&caller, session.csrf)),
    )
        .into_response())
}

/// `GET /api/session`: who this browser is logged in as.
pub async fn current(
    State(state): State<HttpState>,
    axum::Extension(caller): axum::Extension<Caller>,
    headers: HeaderMap,
) -> Result<Json<SessionView>, WebError> {
    authorize(&caller, Call::ListFlagged)?;
    let csrf = session_cookie(&headers)
        .and_then(|id| state.sessions.touch(&id))
        .map(|s| s.csrf)
        .unwrap_or_default();
    Ok(Json(view(&caller, csrf)))
}

/// `POST /api/logout`: logs out (the CSRF check has passed by now).
pub async fn logout(State(state): State<HttpState>, headers: HeaderMap) -> Response {
    if let Some(id) = session_cookie(&headers) {
        state.sessions.end(&id);
    }
    (
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, session::clear_cookie(state.tls))],
    )
        .into_response()
}
