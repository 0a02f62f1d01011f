//! The review screen's security, end to end against the real server (the small risk model):
//! logging in, out and timing out in headless Chromium; text from scanners and declarants
//! shown as text, never run as HTML; and, over plain HTTP, the CSRF check on a browser
//! session's changes, the security headers, no CORS, the cookie's attributes and who may
//! log in or read `/metrics`.

mod common;

use std::{
    future::Future,
    path::{Path, PathBuf},
    time::Duration,
};

use common::{webdriver::*, *};
use serde_json::{Value, json};
use xray_proto::{
    Declaration, DeclaredItem, RegisterDeclarationRequest, Scan,
    declarations_client::DeclarationsClient,
};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

const WAIT: Duration = Duration::from_secs(30);

/// What the server sends on every answer.
const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
];

/// Markup that runs script if a page ever inserts it as HTML.
const IMG_PAYLOAD: &str = r#"<img src=x onerror="window.__xss=1">"#;
const SCRIPT_PAYLOAD: &str = "<script>window.__xss=2</script>";

/// The small risk model, served over plain HTTP; `extra` goes to `serve`.
fn start(extra: &[&str]) -> Server {
    Server::start(&repo("tests/fixtures/risk"), extra)
}

/// The review screen's address, `http://127.0.0.1:PORT/`.
fn base(server: &Server) -> String {
    format!("http://{}/", server.http_addr())
}

fn http_port(server: &Server) -> u16 {
    server
        .http_addr()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("the HTTP port")
}

fn declaration(id: &str, declarant: &str, descriptions: &[&str]) -> Declaration {
    Declaration {
        id: id.into(),
        declarant: declarant.into(),
        origin_country: "TR".into(),
        destination_country: "DE".into(),
        transport_mode: xray_proto::TransportMode::Road as i32,
        items: descriptions
            .iter()
            .map(|d| DeclaredItem {
                hs_code: "6109.10".into(),
                description: d.to_string(),
                quantity: 10.0,
                value: 100.0,
            })
            .collect(),
        prior_risk: 0.1,
    }
}

/// Registers `declaration` and sends a scan of it that the risk model flags (a red square:
/// a pistol, RED), from one of the test principal's portals.
async fn store_flagged(server: &Server, declaration: Declaration, scan_id: &str) {
    let declaration_id = declaration.id.clone();
    DeclarationsClient::new(server.channel().await)
        .register_declaration(RegisterDeclarationRequest {
            declaration: Some(declaration),
        })
        .await
        .expect("registers");
    let red = image::DynamicImage::ImageRgb8(image::ImageBuffer::from_pixel(
        64,
        64,
        image::Rgb([255, 0, 0]),
    ));
    let result = server
        .client()
        .await
        .inspect(Scan {
            scan_id: scan_id.into(),
            declaration_id,
            portal_id: "test-portal".into(),
            image: encode(&red, image::ImageFormat::Png).into(),
            ..Default::default()
        })
        .await
        .expect("inspects")
        .into_inner();
    assert!(result.alarm, "the red square is flagged: {result:?}");
}

/// `text` as one path segment (every byte but the unreserved ones percent-encoded), as the
/// page's `encodeURIComponent` sends it.
fn segment(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The status of `GET /api/session` fetched by the page itself (with whatever cookie the
/// browser holds), and the answer's body.
async fn session_from_page(browser: &Browser) -> (u64, String) {
    let answer = browser
        .eval(
            "return fetch('/api/session', { credentials: 'same-origin' })
               .then(async r => [r.status, await r.text()]);",
            json!([]),
        )
        .await;
    let status = answer[0].as_u64().expect("a status");
    let body = answer[1].as_str().expect("a body").to_string();
    (status, body)
}

/// Runs a browser test on a thread with room for it: its future (WebDriver calls inside
/// waits inside the test) overflows a test thread's stack in a debug build.
fn on_big_stack<F>(test: fn() -> F)
where
    F: Future<Output = ()> + 'static,
{
    std::thread::Builder::new()
        .stack_size(32 << 20)
        .spawn(move || {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(Box::pin(test()))
        })
        .expect("test thread")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
}

async fn wait_for_login_page(browser: &Browser, what: &str) {
    browser
        .wait_for(
            what,
            "return location.pathname === '/login' && document.readyState === 'complete'
               && document.getElementById('token') !== null",
            WAIT,
        )
        .await;
}

#[test]
fn the_browser_logs_in_with_a_token_and_out_again() {
    on_big_stack(the_browser_logs_in_with_a_token_and_out_again_flow);
}

async fn the_browser_logs_in_with_a_token_and_out_again_flow() {
    let server = start(&[]);
    let inspector = add_principal(&server.data_dir, "insp-7", &["inspector"], &[]);
    let base = base(&server);
    let driver = Driver::start();
    let browser = Browser::open(&driver, 1200, 800).await;

    // Without a session the screen sends the browser to log in.
    browser.goto(&base).await;
    wait_for_login_page(&browser, "the redirect from / to /login").await;

    // A token the server does not know: an error, still on the login page, no cookie.
    submit_token(&browser, &base, &format!("xst_{}", "0".repeat(64))).await;
    browser
        .wait_for(
            "the refusal of an unknown token",
            "return document.getElementById('login-status').textContent.startsWith('Not logged in: ')",
            WAIT,
        )
        .await;
    assert!(browser.url().await.ends_with("/login"));
    assert!(
        !browser
            .cookies()
            .await
            .iter()
            .any(|c| c["name"] == "xray_session"),
        "no session for a refused token"
    );

    log_in(&browser, &base, &inspector).await;
    browser
        .wait_for(
            "the principal's name on the screen",
            "return document.getElementById('principal').textContent === 'insp-7 (inspector)'",
            WAIT,
        )
        .await;
    let cookies = browser.cookies().await;
    let session = cookies
        .iter()
        .find(|c| c["name"] == "xray_session")
        .expect("the session cookie");
    assert_eq!(session["httpOnly"], true, "{session}");
    assert_eq!(session["sameSite"], "Strict", "{session}");
    assert_eq!(session["secure"], false, "plain HTTP: {session}");
    let session_id = session["value"].as_str().expect("a value").to_string();
    // HttpOnly in practice: the page's scripts cannot read the session id.
    let visible = browser.eval("return document.cookie", json!([])).await;
    assert!(
        !visible.as_str().expect("text").contains(&session_id),
        "{visible}"
    );

    browser
        .eval("document.getElementById('logout').click()", json!([]))
        .await;
    wait_for_login_page(&browser, "the login page after logging out").await;
    let (status, body) = session_from_page(&browser).await;
    assert_eq!(status, 401, "{body}");
    // The server ended the session, not just the browser's cookie: the old id is refused.
    let cookie = format!("xray_session={session_id}");
    let (status, _, body) = http_with(
        http_port(&server),
        "GET",
        "/api/session",
        &[("Cookie", cookie.as_str())],
        None,
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("the session has ended"), "{body}");
    browser.goto(&base).await;
    wait_for_login_page(&browser, "the redirect to /login after logging out").await;
    browser.close().await;
}

#[test]
fn an_idle_session_ends_and_the_browser_is_sent_to_log_in() {
    on_big_stack(an_idle_session_ends_and_the_browser_is_sent_to_log_in_flow);
}

async fn an_idle_session_ends_and_the_browser_is_sent_to_log_in_flow() {
    let server = start(&["--session-idle-secs", "2"]);
    let inspector = add_principal(&server.data_dir, "insp-8", &["inspector"], &[]);
    let base = base(&server);
    let driver = Driver::start();
    let browser = Browser::open(&driver, 1200, 800).await;
    log_in(&browser, &base, &inspector).await;
    let (status, body) = session_from_page(&browser).await;
    assert_eq!(status, 200, "in use, the session lives: {body}");

    // Left alone past the idle timeout (nothing on the empty screen calls the server): the
    // waiting is what is under test.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (status, body) = session_from_page(&browser).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("the session has ended"), "{body}");
    browser.goto(&base).await;
    wait_for_login_page(&browser, "the redirect to /login of an ended session").await;
    browser.close().await;
}

#[test]
fn text_from_scanners_and_declarants_shows_as_text_and_never_runs() {
    on_big_stack(text_from_scanners_and_declarants_shows_as_text_and_never_runs_flow);
}

async fn text_from_scanners_and_declarants_shows_as_text_and_never_runs_flow() {
    let server = start(&[]);
    let scan_id = format!("{IMG_PAYLOAD}{SCRIPT_PAYLOAD}");
    let declarant = format!("Evil {SCRIPT_PAYLOAD} Ltd {IMG_PAYLOAD}");
    store_flagged(
        &server,
        declaration(IMG_PAYLOAD, &declarant, &[SCRIPT_PAYLOAD, IMG_PAYLOAD]),
        &scan_id,
    )
    .await;
    // A verdict with a payload in its comment, through the API as a program would.
    let port = http_port(&server);
    let authorization = format!("Bearer {}", server.token);
    let bearer = [("Authorization", authorization.as_str())];
    let path = format!("/api/scans/{}", segment(&scan_id));
    let (status, _, scan) = http_with(port, "GET", &path, &bearer, None).await;
    assert_eq!(status, 200, "{scan}");
    let scan: Value = serde_json::from_str(&scan).expect("JSON");
    assert_eq!(scan["scan_id"], scan_id.as_str());
    let detection = scan["detections"]
        .as_array()
        .expect("detections")
        .iter()
        .find(|d| d["alarm"] == true)
        .expect("an alarm")["id"]
        .clone();
    let (status, _, answer) = http_with(
        port,
        "POST",
        &format!("{path}/verdict"),
        &bearer,
        Some(&json!({
            "detections": [{"detection_id": detection, "verdict": "confirmed"}],
            "comment": format!("{SCRIPT_PAYLOAD}{IMG_PAYLOAD}"),
        })),
    )
    .await;
    assert_eq!(status, 200, "{answer}");

    let inspector = add_principal(&server.data_dir, "insp-9", &["inspector"], &[]);
    let driver = Driver::start();
    let browser = Browser::open(&driver, 1400, 900).await;
    log_in(&browser, &base(&server), &inspector).await;
    browser
        .wait_for(
            "the scan, its verdict and its declaration on the screen",
            &format!(
                "const h = document.querySelector('#declaration h2');
                 return document.querySelectorAll('#queue li').length === 1
                   && document.getElementById('scan-title').textContent === 'Scan ' + {scan_id:?}
                   && [...document.querySelectorAll('#detections .verdict')]
                        .some(v => v.textContent.startsWith('confirmed by '))
                   && h !== null && h.textContent === 'Declaration ' + {IMG_PAYLOAD:?}"
            ),
            WAIT,
        )
        .await;
    let page = browser
        .eval(
            "return {
               xss: typeof window.__xss,
               injected: document.querySelectorAll('img[src=\"x\"], [onerror]').length,
               scripts: [...document.querySelectorAll('script')].map(s => s.getAttribute('src')),
               text: document.body.textContent,
             };",
            json!([]),
        )
        .await;
    // The Content-Security-Policy would stop an inline handler even if markup got in; these
    // look for the markup itself, the first wall.
    assert_eq!(page["xss"], "undefined", "a payload ran");
    assert_eq!(page["injected"], 0, "a payload became an element");
    assert_eq!(
        page["scripts"],
        json!(["/assets/review.js"]),
        "only the page's own script"
    );
    let text = page["text"].as_str().expect("text");
    for shown in [
        scan_id.as_str(),
        declarant.as_str(),
        SCRIPT_PAYLOAD,
        IMG_PAYLOAD,
    ] {
        assert!(text.contains(shown), "{shown:?} is not shown as text");
    }
    browser.close().await;
}

/// A request header: name and value.
type Header<'a> = (&'a str, &'a str);

fn assert_security_headers(what: &str, headers: &Headers) {
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(header(headers, name), Some(value), "{what}: {name}");
    }
    let cors: Vec<_> = headers
        .iter()
        .filter(|(k, _)| k.starts_with("access-control-"))
        .collect();
    assert!(cors.is_empty(), "{what}: CORS headers {cors:?}");
}

#[tokio::test]
async fn a_session_changes_nothing_without_its_csrf_token_and_answers_carry_security_headers() {
    let server = start(&[]);
    store_flagged(
        &server,
        declaration("D-CSRF", "Baltic Freight", &["shirts"]),
        "csrf-1",
    )
    .await;
    let port = http_port(&server);
    let inspector = add_principal(&server.data_dir, "insp-c", &["inspector"], &[]);
    let scanner = add_principal(&server.data_dir, "scan-c", &["scanner"], &["portal-1"]);
    let login = |token: &str| json!({ "token": token });

    // Who may log in: an unknown token no, a scanner no, an inspector yes.
    let unknown = format!("xst_{}", "0".repeat(64));
    let (status, _, body) =
        http_with(port, "POST", "/api/login", &[], Some(&login(&unknown))).await;
    assert_eq!(status, 401, "{body}");
    let (status, headers, body) =
        http_with(port, "POST", "/api/login", &[], Some(&login(&scanner))).await;
    assert_eq!(status, 403, "{body}");
    assert!(header(&headers, "set-cookie").is_none());
    let (status, headers, body) =
        http_with(port, "POST", "/api/login", &[], Some(&login(&inspector))).await;
    assert_eq!(status, 200, "{body}");
    let set_cookie = header(&headers, "set-cookie").expect("a session cookie");
    let attributes: Vec<&str> = set_cookie.split(';').map(str::trim).collect();
    for wanted in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(attributes.contains(&wanted), "{set_cookie}");
    }
    assert!(!attributes.contains(&"Secure"), "plain HTTP: {set_cookie}");
    let cookie = attributes[0].to_string();
    assert!(
        cookie.starts_with("xray_session=") && cookie.len() == 13 + 64,
        "{cookie}"
    );
    let session: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(session["principal"], "insp-c");
    assert_eq!(session["roles"], json!(["inspector"]));
    let csrf = session["csrf"].as_str().expect("a CSRF token").to_string();
    assert_eq!(csrf.len(), 64);

    // A change through the session: refused without the CSRF token or with another one,
    // and nothing is stored; with it, stored.
    let verdict = json!({ "decision": "cleared" });
    let wrong = "0".repeat(64);
    for (what, headers) in [
        ("no x-csrf-token", vec![("Cookie", cookie.as_str())]),
        (
            "a wrong x-csrf-token",
            vec![
                ("Cookie", cookie.as_str()),
                ("X-CSRF-Token", wrong.as_str()),
            ],
        ),
    ] {
        let (status, _, body) = http_with(
            port,
            "POST",
            "/api/scans/csrf-1/verdict",
            &headers,
            Some(&verdict),
        )
        .await;
        assert_eq!(status, 403, "{what}: {body}");
        assert!(body.contains("x-csrf-token"), "{what}: {body}");
    }
    let (status, _, queue) = http_with(
        port,
        "GET",
        "/api/flagged",
        &[("Cookie", cookie.as_str())],
        None,
    )
    .await;
    assert_eq!(status, 200, "{queue}");
    let queue: Value = serde_json::from_str(&queue).expect("JSON");
    assert_eq!(queue[0]["scan_id"], "csrf-1", "still undecided: {queue}");
    let (status, _, body) = http_with(
        port,
        "POST",
        "/api/scans/csrf-1/verdict",
        &[("Cookie", cookie.as_str()), ("X-CSRF-Token", csrf.as_str())],
        Some(&verdict),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, _, queue) = http_with(
        port,
        "GET",
        "/api/flagged",
        &[("Cookie", cookie.as_str())],
        None,
    )
    .await;
    assert_eq!(queue, "[]", "cleared, it left the queue");

    // Another origin gets no CORS header, on a read or on a preflight.
    let evil = ("Origin", "http://evil.example");
    let (status, headers, _) = http_with(
        port,
        "GET",
        "/api/flagged",
        &[("Cookie", cookie.as_str()), evil],
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_security_headers("a read from another origin", &headers);
    let (_, headers, _) = http_with(
        port,
        "OPTIONS",
        "/api/scans/csrf-1/verdict",
        &[
            evil,
            ("Access-Control-Request-Method", "POST"),
            (
                "Access-Control-Request-Headers",
                "x-csrf-token, content-type",
            ),
        ],
        None,
    )
    .await;
    assert_security_headers("a preflight from another origin", &headers);

    // The security headers are on pages, API answers and refusals alike.
    let with_session = [("Cookie", cookie.as_str())];
    let answers: [(&str, &str, &[Header], u16); 5] = [
        ("the page", "/", &with_session, 200),
        ("the page without a session", "/", &[], 303),
        ("the login page", "/login", &[], 200),
        ("the queue", "/api/flagged", &with_session, 200),
        ("the queue without a credential", "/api/flagged", &[], 401),
    ];
    for (what, path, headers, want) in answers {
        let (status, answer, body) = http_with(port, "GET", path, headers, None).await;
        assert_eq!(status, want, "{what}: {body}");
        assert_security_headers(what, &answer);
        if path.starts_with("/api/") {
            assert_eq!(header(&answer, "cache-control"), Some("no-store"), "{what}");
        }
        if status == 303 {
            assert_eq!(header(&answer, "location"), Some("/login"), "{what}");
        }
    }

    // /metrics: a credential, and a role that may read it.
    let as_inspector = format!("Bearer {inspector}");
    let as_tester = format!("Bearer {}", server.token);
    for (what, headers, want) in [
        ("no credential", vec![], 401),
        (
            "an inspector",
            vec![("Authorization", as_inspector.as_str())],
            403,
        ),
        (
            "an observer",
            vec![("Authorization", as_tester.as_str())],
            200,
        ),
    ] {
        let (status, _, body) = http_with(port, "GET", "/metrics", &headers, None).await;
        assert_eq!(status, want, "/metrics as {what}: {body}");
    }
}
