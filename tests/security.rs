//! Security end to end, over real TLS gRPC: the server with its development certificate,
//! principals made with `xray-screen principals`, and tonic clients that trust the
//! development CA. The whole access table, call by call and role by role; anonymous,
//! expired, revoked, unknown and malformed credentials; mutual TLS (a client certificate of
//! the development CA names its principal, one of another CA is refused at the handshake);
//! a plaintext client on the TLS port; a scanner claiming another portal; failed attempts
//! counted and slowed; the certificate reloaded on SIGHUP.

mod common;

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use common::*;
use image::{DynamicImage, ImageBuffer, ImageFormat, Rgb};
use tokio_stream::StreamExt;
use tonic::{
    Code, Status,
    service::interceptor::InterceptedService,
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity},
};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use xray_load::{Bearer, FetchAuth, Samples};
use xray_proto::{
    Declaration, DeclaredItem, GetDeclarationRequest, GetModelAccuracyRequest, GetScanRequest,
    ListAuditRequest, ListFlaggedRequest, RegisterDeclarationRequest, Scan, SubmitVerdictRequest,
    WatchRiskRequest, declarations_client::DeclarationsClient, inspection_client::InspectionClient,
    review_client::ReviewClient,
};

fn risk_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/risk/cue-fixture")
}

/// A red bag: the colour-keyed fixture sees a pistol.
fn red_bag() -> Vec<u8> {
    let image = DynamicImage::ImageRgb8(ImageBuffer::from_pixel(64, 64, Rgb([255, 0, 0])));
    encode(&image, ImageFormat::Png)
}

fn declaration(id: &str) -> Declaration {
    Declaration {
        id: id.into(),
        declarant: "Nordic Textiles AB".into(),
        origin_country: "CN".into(),
        destination_country: "SE".into(),
        transport_mode: xray_proto::TransportMode::Sea as i32,
        items: vec![DeclaredItem {
            hs_code: "6109".into(),
            description: "T-shirts".into(),
            quantity: 10.0,
            value: 100.0,
        }],
        prior_risk: 0.1,
    }
}

/// TLS trusting the development CA of `server`, optionally with a client certificate.
fn tls(server: &Server, identity: Option<(String, String)>) -> ClientTlsConfig {
    let ca = std::fs::read(server.ca_cert()).expect("the development CA");
    let config = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("localhost");
    match identity {
        Some((cert, key)) => config.identity(Identity::from_pem(cert, key)),
        None => config,
    }
}

async fn connect(
    server: &Server,
    tls: ClientTlsConfig,
) -> Result<Channel, tonic::transport::Error> {
    Endpoint::from_shared(format!("https://{}", server.addr))
        .expect("url")
        .tls_config(tls)
        .expect("tls")
        .connect()
        .await
}

/// A client certificate for `name` from the CA in `tls_dir`.
fn client_cert(tls_dir: &Path, name: &str) -> (String, String) {
    xray_tls::issue_client_cert(&tls_dir.join("ca.pem"), &tls_dir.join("ca.key"), name, 1)
        .expect("a client certificate")
}

/// The status of a call that failed, or OK.
fn code<T>(result: Result<T, Status>) -> (Code, String) {
    match result {
        Ok(_) => (Code::Ok, String::new()),
        Err(s) => (s.code(), s.message().to_string()),
    }
}

/// Every call of the policy table, made through `channel`; the code each answered.
async fn every_call(
    server: &Server,
    channel: InterceptedService<Channel, Bearer>,
    token: &str,
) -> Vec<(&'static str, Code, String)> {
    let mut inspection = InspectionClient::new(channel.clone());
    let mut declarations = DeclarationsClient::new(channel.clone());
    let mut review = ReviewClient::new(channel.clone());
    let mut health = HealthClient::new(channel.clone());
    let mut out = Vec::new();
    let scan = Scan {
        scan_id: format!("table-{}", token.get(4..12).unwrap_or_default()),
        declaration_id: "D-TABLE".into(),
        portal_id: "portal-3".into(),
        image: red_bag().into(),
        ..Default::default()
    };
    let (c, m) = code(inspection.inspect(scan).await);
    out.push(("SendScans", c, m));
    let (c, m) = code(
        declarations
            .register_declaration(RegisterDeclarationRequest {
                declaration: Some(declaration("D-TABLE")),
            })
            .await,
    );
    out.push(("RegisterDeclaration", c, m));
    let (c, m) = code(
        declarations
            .get_declaration(GetDeclarationRequest {
                id: "D-TABLE".into(),
            })
            .await,
    );
    out.push(("ReadDeclaration", c, m));
    let (c, m) = code(
        declarations
            .watch_risk(WatchRiskRequest {
                after_sequence: Some(0),
            })
            .await,
    );
    out.push(("WatchRisk", c, m));
    let (c, m) = code(review.list_flagged(ListFlaggedRequest::default()).await);
    out.push(("ListFlagged", c, m));
    let (c, m) = code(
        review
            .get_scan(GetScanRequest {
                scan_id: "seed-1".into(),
                without_image: true,
            })
            .await,
    );
    out.push(("ReadScan", c, m));
    // A verdict that judges nothing: allowed callers get INVALID_ARGUMENT, not a change.
    let (c, m) = code(
        review
            .submit_verdict(SubmitVerdictRequest {
                scan_id: "seed-1".into(),
                ..Default::default()
            })
            .await,
    );
    out.push(("SubmitVerdict", c, m));
    let (c, m) = code(review.list_audit(ListAuditRequest::default()).await);
    out.push(("ReadAudit", c, m));
    let (c, m) = code(
        review
            .get_model_accuracy(GetModelAccuracyRequest::default())
            .await,
    );
    out.push(("ReadAccuracy", c, m));
    let (c, m) = code(
        health
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await,
    );
    out.push(("Health", c, m));
    let metrics = Samples::scrape(
        &server.metrics_url,
        &FetchAuth {
            token: Some(token.to_string()),
            tls: Some(server.target(None).metrics_tls().expect("CA")),
        },
    )
    .await;
    let c = match metrics {
        Ok(_) => Code::Ok,
        Err(e) if e.to_string().contains(" 403 ") => Code::PermissionDenied,
        Err(e) if e.to_string().contains(" 401 ") => Code::Unauthenticated,
        Err(e) => panic!("metrics: {e:#}"),
    };
    out.push(("Metrics", c, String::new()));
    out
}

/// The access table, every call for every role, over TLS: `X` allowed, `.` refused with
/// PERMISSION_DENIED naming the role needed (as `crates/service/src/access.rs` states it).
#[tokio::test]
async fn every_call_for_every_role_over_tls() {
    let server = Server::start_tls(&risk_fixture(), &[]);
    // A flagged scan to read and judge, stored by the test principal.
    let mut seed = server.client().await;
    DeclarationsClient::new(server.channel().await)
        .register_declaration(RegisterDeclarationRequest {
            declaration: Some(declaration("D-TABLE")),
        })
        .await
        .expect("registers");
    seed.inspect(Scan {
        scan_id: "seed-1".into(),
        declaration_id: "D-TABLE".into(),
        portal_id: "portal-3".into(),
        image: red_bag().into(),
        ..Default::default()
    })
    .await
    .expect("stored");

    // Columns: scanner, inspector, risk-system, supervisor, admin, observer.
    let table = [
        ("SendScans", "X....."),
        ("RegisterDeclaration", "..X..."),
        ("ReadDeclaration", ".XXX.."),
        ("WatchRisk", "..X..."),
        ("ListFlagged", ".X.X.."),
        ("ReadScan", ".X.X.."),
        ("SubmitVerdict", ".X.X.."),
        ("ReadAudit", "...X.."),
        ("ReadAccuracy", "...X.."),
        ("Health", "XXXXXX"),
        ("Metrics", "...XXX"),
    ];
    let roles = [
        "scanner",
        "inspector",
        "risk-system",
        "supervisor",
        "admin",
        "observer",
    ];
    for (column, role) in roles.iter().enumerate() {
        let portals: &[&str] = if *role == "scanner" {
            &["portal-3"]
        } else {
            &[]
        };
        let token = add_principal(&server.data_dir, &format!("only-{role}"), &[role], portals);
        let answers = every_call(&server, server.channel_as(&token).await, &token).await;
        for ((call, row), (name, code, message)) in table.iter().zip(&answers) {
            assert_eq!(call, name);
            let allowed = row.as_bytes()[column] == b'X';
            if allowed {
                assert!(
                    !matches!(code, Code::PermissionDenied | Code::Unauthenticated),
                    "{role} {call}: {code:?} {message}"
                );
            } else {
                assert_eq!(*code, Code::PermissionDenied, "{role} {call}: {message}");
                assert!(
                    message.is_empty() || message.contains("it needs the role"),
                    "{role} {call}: {message}"
                );
            }
        }
    }

    // Anonymous: every call is UNAUTHENTICATED and says how to authenticate.
    let anonymous = InterceptedService::new(
        server.raw_channel().await,
        server.target(None).bearer().expect("no token"),
    );
    let answers = every_call(&server, anonymous, "").await;
    for (call, code, message) in &answers {
        assert_eq!(*code, Code::Unauthenticated, "{call}: {message}");
        assert!(
            *call == "Metrics" || message.contains("authorization: Bearer"),
            "{call}: {message}"
        );
    }
}

#[tokio::test]
async fn expired_revoked_unknown_and_malformed_credentials_are_refused() {
    let server = Server::start_tls(&risk_fixture(), &["--auth-cache-secs", "0"]);
    let brief = {
        let out = Command::new(BIN)
            .args(["principals", "--data-dir"])
            .arg(&server.data_dir)
            .args([
                "add",
                "--name",
                "brief",
                "--role",
                "observer",
                "--expires-in",
                "1s",
            ])
            .output()
            .expect("runs");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .expect("token")
            .trim()
            .to_string()
    };
    let revoked = add_principal(&server.data_dir, "gone", &["observer"], &[]);
    let health = |channel| async move {
        code(
            HealthClient::new(channel)
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await,
        )
    };
    assert_eq!(health(server.channel_as(&revoked).await).await.0, Code::Ok);
    let out = Command::new(BIN)
        .args(["principals", "--data-dir"])
        .arg(&server.data_dir)
        .args(["revoke", "--name", "gone"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let unknown = format!("xst_{}", "0".repeat(64));
    for (token, words) in [
        (brief.as_str(), "principal brief has expired"),
        (revoked.as_str(), "principal gone was revoked"),
        (unknown.as_str(), "not known to this service"),
        ("hunter2", "start with xst_"),
    ] {
        let (c, message) = health(server.channel_as(token).await).await;
        assert_eq!(c, Code::Unauthenticated, "{token}: {message}");
        assert!(message.contains(words), "{message} lacks {words:?}");
        assert!(!message.contains(token), "the secret is echoed: {message}");
    }
    let metrics = server.metrics().await;
    for reason in ["expired", "revoked", "unknown", "malformed"] {
        assert!(
            metrics.sum(
                "xray_auth_failures_total",
                &[("door", "grpc"), ("reason", reason)]
            ) >= 1.0,
            "{reason}: {metrics}"
        );
    }
}

#[tokio::test]
async fn a_source_that_keeps_failing_is_slowed_down() {
    let server = Server::start_tls(
        &risk_fixture(),
        &["--auth-failures-free", "2", "--auth-max-delay-ms", "400"],
    );
    let wrong = format!("xst_{}", "1".repeat(64));
    let channel = server.channel_as(&wrong).await;
    let mut waits = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let (c, _) = code(
            HealthClient::new(channel.clone())
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await,
        );
        assert_eq!(c, Code::Unauthenticated);
        waits.push(started.elapsed());
    }
    // After two free failures the attempts wait 100, 200, then 400 ms (lower bounds only:
    // a slow machine adds to them).
    for (i, least) in [(2, 100), (3, 200), (4, 400)] {
        assert!(
            waits[i] >= Duration::from_millis(least),
            "attempt {i} waited {:?} ({waits:?})",
            waits[i]
        );
    }
    // A good token from the same source is slowed too, but answered.
    let (c, m) = code(
        HealthClient::new(server.channel().await)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await,
    );
    assert_eq!(c, Code::Ok, "{m}");
}

#[tokio::test]
async fn client_certificates_name_their_principal_and_other_cas_are_refused() {
    let server = Server::start_tls(&risk_fixture(), &[]);
    let tls_dir = server.data_dir.join("tls");
    add_principal(&server.data_dir, "gate-3", &["scanner"], &["portal-3"]);
    DeclarationsClient::new(server.channel().await)
        .register_declaration(RegisterDeclarationRequest {
            declaration: Some(declaration("D-MTLS")),
        })
        .await
        .expect("registers");

    // gate-3's certificate: it sends scans for its portal without a token, and the audit
    // log names it.
    let channel = connect(&server, tls(&server, Some(client_cert(&tls_dir, "gate-3"))))
        .await
        .expect("a certificate of the development CA is accepted");
    let mut gate = InspectionClient::new(channel);
    let scan = |id: &str, portal: &str| Scan {
        scan_id: id.into(),
        declaration_id: "D-MTLS".into(),
        portal_id: portal.into(),
        image: red_bag().into(),
        ..Default::default()
    };
    gate.inspect(scan("m-1", "portal-3"))
        .await
        .expect("gate-3 screens for portal-3");
    let (c, message) = code(gate.inspect(scan("m-2", "portal-9")).await);
    assert_eq!(c, Code::PermissionDenied, "{message}");
    assert!(
        message.contains("only for its portals (portal-3), not for \"portal-9\""),
        "{message}"
    );
    let audit = ReviewClient::new(server.channel().await)
        .list_audit(ListAuditRequest {
            scan_id: "m-1".into(),
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner()
        .entries;
    assert!(
        audit
            .iter()
            .any(|e| e.action == "scan.stored" && e.actor == "gate-3"),
        "{audit:?}"
    );

    // A certificate of the development CA for a principal that does not exist.
    let channel = connect(&server, tls(&server, Some(client_cert(&tls_dir, "nobody"))))
        .await
        .expect("the handshake passes");
    let (c, message) = code(
        InspectionClient::new(channel)
            .inspect(scan("m-3", "portal-3"))
            .await,
    );
    assert_eq!(c, Code::Unauthenticated, "{message}");
    assert!(
        message.contains("names principal \"nobody\", which does not exist"),
        "{message}"
    );

    // A certificate from another CA, for the same name: refused at the handshake.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let other = xray_tls::ensure_dev_pki(elsewhere.path()).expect("another CA");
    let forged = client_cert(&other.dir, "gate-3");
    // With TLS 1.3 the client may finish its side of the handshake before the server refuses
    // the certificate: the first call then fails on the transport (the code tonic gives a
    // reset connection varies with timing: UNAVAILABLE, UNKNOWN, INTERNAL, CANCELLED), never
    // with an answer of the service's.
    let answered = match connect(&server, tls(&server, Some(forged))).await {
        Err(_) => None,
        Ok(channel) => match InspectionClient::new(channel)
            .inspect(scan("m-4", "portal-3"))
            .await
        {
            Ok(result) => Some(format!("answered {result:?}")),
            Err(s) if s.message().contains("principal") || s.message().contains("scan") => {
                Some(format!("the service answered {s:?}"))
            }
            Err(s) => {
                assert!(
                    matches!(
                        s.code(),
                        Code::Unavailable | Code::Unknown | Code::Internal | Code::Cancelled
                    ),
                    "{s:?}"
                );
                None
            }
        },
    };
    assert_eq!(answered, None, "a certificate of another CA was accepted");

    // A plaintext client on the TLS port gets no answer.
    let plain = Endpoint::from_shared(format!("http://{}", server.addr))
        .expect("url")
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(5));
    let answered = match plain.connect().await {
        Err(_) => false,
        Ok(channel) => HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .is_ok(),
    };
    assert!(!answered, "a plaintext client was served on the TLS port");
}

#[tokio::test]
async fn sighup_reloads_the_certificate_without_a_restart() {
    let server = Server::start_tls(&risk_fixture(), &[]);
    let tls_dir = server.data_dir.join("tls");
    let bearer = server.target(Some(&server.token)).bearer().expect("token");
    let health = |channel: Channel| {
        let bearer = bearer.clone();
        async move {
            code(
                HealthClient::new(InterceptedService::new(channel, bearer))
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await,
            )
        }
    };
    let first = connect(&server, tls(&server, None))
        .await
        .expect("connects");
    assert_eq!(health(first.clone()).await.0, Code::Ok);

    // A new certificate from another CA takes the old one's place on disk; SIGHUP.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let next = xray_tls::ensure_dev_pki(elsewhere.path()).expect("another CA");
    std::fs::copy(&next.server_cert, tls_dir.join("server.pem")).expect("copy");
    std::fs::copy(&next.server_key, tls_dir.join("server.key")).expect("copy");
    let sent = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());

    // New connections get the new certificate: trusted through the new CA, not the old.
    let trusting_next = || {
        ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(
                std::fs::read(&next.ca_cert).expect("CA"),
            ))
            .domain_name("localhost")
    };
    let until = Instant::now() + Duration::from_secs(20);
    let reloaded = loop {
        if let Ok(channel) = connect(&server, trusting_next()).await {
            break channel;
        }
        assert!(Instant::now() < until, "the certificate was not reloaded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(health(reloaded).await.0, Code::Ok);
    assert!(
        connect(&server, tls(&server, None)).await.is_err(),
        "a new connection still got the old certificate"
    );
    // The connection made before the reload goes on.
    assert_eq!(health(first).await.0, Code::Ok);

    // A key that cannot be used keeps the certificate being served.
    std::fs::write(tls_dir.join("server.key"), "not a key").expect("write");
    let sent = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(connect(&server, trusting_next()).await.is_ok());
}

/// The risk feed's stream is refused for a role without it before anything is streamed.
#[tokio::test]
async fn watch_risk_needs_the_risk_system_role() {
    let server = Server::start_tls(&risk_fixture(), &[]);
    let inspector = add_principal(&server.data_dir, "insp-1", &["inspector"], &[]);
    let (c, message) = code(
        DeclarationsClient::new(server.channel_as(&inspector).await)
            .watch_risk(WatchRiskRequest::default())
            .await,
    );
    assert_eq!(c, Code::PermissionDenied, "{message}");
    assert!(message.contains("needs the role risk-system"), "{message}");
    // The test principal has it: the stream opens.
    let mut stream = DeclarationsClient::new(server.channel().await)
        .watch_risk(WatchRiskRequest {
            after_sequence: Some(0),
        })
        .await
        .expect("the stream opens")
        .into_inner();
    DeclarationsClient::new(server.channel().await)
        .register_declaration(RegisterDeclarationRequest {
            declaration: Some(declaration("D-FEED")),
        })
        .await
        .expect("registers");
    let first = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("a change arrives")
        .expect("one")
        .expect("ok");
    assert_eq!(first.declaration_id, "D-FEED");
}
