//! Declarations, risk, review and storage end to end: the server binary with the colour-keyed
//! fixture model (a red image shows a pistol, a green one cigarettes, a blue one nothing),
//! called over real gRPC.

mod common;

use std::{collections::HashSet, path::PathBuf, time::Duration};

use common::*;
use image::{DynamicImage, ImageBuffer, ImageFormat, Rgb};
use tokio_stream::StreamExt;
use tonic::Code;
use xray_proto::{
    self as proto, Category, Channel, Declaration, DeclaredItem, DetectionJudgement,
    DetectionVerdict, GetDeclarationRequest, GetModelAccuracyRequest, GetScanRequest,
    ListAuditRequest, ListFlaggedRequest, RegisterDeclarationRequest, Scan, ScanDecision,
    SubmitVerdictRequest, WatchRiskRequest, declarations_client::DeclarationsClient,
    review_client::ReviewClient,
};

fn risk_fixture() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/risk/cue-fixture")
}

/// What the scanned bag shows to the colour-keyed fixture.
#[derive(Clone, Copy)]
enum Shows {
    Pistol,
    Cigarettes,
    Nothing,
}

fn image_showing(what: Shows) -> Vec<u8> {
    let rgb = match what {
        Shows::Pistol => [255, 0, 0],
        Shows::Cigarettes => [0, 255, 0],
        Shows::Nothing => [0, 0, 255],
    };
    let image = DynamicImage::ImageRgb8(ImageBuffer::from_pixel(64, 64, Rgb(rgb)));
    encode(&image, ImageFormat::Png)
}

fn scan_of(id: &str, declaration: &str, what: Shows) -> Scan {
    Scan {
        scan_id: id.to_string(),
        declaration_id: declaration.to_string(),
        portal_id: "portal-3".to_string(),
        image: image_showing(what).into(),
        ..Default::default()
    }
}

fn declaration(id: &str, hs_codes: &[&str], prior: f64) -> Declaration {
    Declaration {
        id: id.to_string(),
        declarant: "Nordic Textiles AB".to_string(),
        origin_country: "CN".to_string(),
        destination_country: "SE".to_string(),
        transport_mode: proto::TransportMode::Sea as i32,
        items: hs_codes
            .iter()
            .map(|hs| DeclaredItem {
                hs_code: hs.to_string(),
                description: format!("goods under {hs}"),
                quantity: 10.0,
                value: 100.0,
            })
            .collect(),
        prior_risk: prior,
    }
}

struct Clients {
    inspection: proto::inspection_client::InspectionClient<Authed>,
    declarations: DeclarationsClient<Authed>,
    review: ReviewClient<Authed>,
}

async fn clients(server: &Server) -> Clients {
    let channel = server.channel().await;
    Clients {
        inspection: proto::inspection_client::InspectionClient::new(channel.clone()),
        declarations: DeclarationsClient::new(channel.clone()),
        review: ReviewClient::new(channel),
    }
}

impl Clients {
    async fn register(&mut self, d: Declaration) -> proto::DeclarationView {
        self.declarations
            .register_declaration(RegisterDeclarationRequest {
                declaration: Some(d),
            })
            .await
            .expect("registers")
            .into_inner()
    }

    async fn get(&mut self, id: &str) -> proto::DeclarationView {
        self.declarations
            .get_declaration(GetDeclarationRequest { id: id.to_string() })
            .await
            .expect("declaration")
            .into_inner()
    }

    async fn watch(&mut self, after_sequence: Option<u64>) -> tonic::Streaming<proto::RiskChange> {
        self.declarations
            .watch_risk(WatchRiskRequest { after_sequence })
            .await
            .expect("subscribes")
            .into_inner()
    }

    async fn inspect(&mut self, scan: Scan) -> proto::InspectionResult {
        self.inspection
            .inspect(scan)
            .await
            .expect("inspects")
            .into_inner()
    }
}

fn risk_of(view: &proto::DeclarationView) -> proto::Risk {
    view.risk.clone().expect("risk")
}

fn start() -> Server {
    Server::start(&risk_fixture(), &[])
}

#[tokio::test]
async fn a_firearm_makes_the_declaration_red_with_a_weapon_finding() {
    let server = start();
    let mut c = clients(&server).await;
    let registered = c.register(declaration("D-GUN", &["6109.10"], 0.1)).await;
    let first = risk_of(&registered);
    assert_eq!(first.channel, Channel::Green as i32);
    assert!((first.score - 0.1).abs() < 1e-9);

    let result = c.inspect(scan_of("gun-1", "D-GUN", Shows::Pistol)).await;
    assert!(result.alarm);
    assert_eq!(result.declaration_id, "D-GUN");
    let risk = result
        .risk
        .expect("the result carries the declaration's risk");
    assert_eq!(risk.channel, Channel::Red as i32);
    // 1 - 0.9 x (1 - 0.9 severity x 0.9 confidence)
    assert!(
        (risk.score - (1.0 - 0.9 * (1.0 - 0.81))).abs() < 1e-6,
        "{}",
        risk.score
    );
    assert!(
        risk.reasons
            .iter()
            .any(|r| r == "channel RED: a weapon finding"),
        "{:?}",
        risk.reasons
    );

    let view = c.get("D-GUN").await;
    assert_eq!(risk_of(&view).channel, Channel::Red as i32);
    assert_eq!(view.findings.len(), 1);
    let finding = &view.findings[0];
    assert_eq!(finding.category, Category::Weapon as i32);
    assert_eq!(finding.class_name, "pistol");
    assert_eq!(finding.evidence[0].scan_id, "gun-1");
    assert_eq!(view.scans.len(), 1);
    assert!(view.scans[0].alarm);
}

#[tokio::test]
async fn declared_cigarettes_raise_nothing_and_undeclared_ones_raise_the_score() {
    let server = start();
    let mut c = clients(&server).await;
    c.register(declaration("D-TOBACCO", &["2402.20"], 0.1))
        .await;
    c.register(declaration("D-TEXTILES", &["6109.10", "6203"], 0.1))
        .await;

    let declared = c
        .inspect(scan_of("cig-1", "D-TOBACCO", Shows::Cigarettes))
        .await;
    assert!(declared.alarm, "the model still reports the cigarettes");
    let risk = declared.risk.expect("risk");
    assert_eq!(risk.channel, Channel::Green as i32);
    assert!((risk.score - 0.1).abs() < 1e-9);
    assert!(
        risk.reasons
            .iter()
            .any(|r| r.contains("is declared (item 1, HS 240220)")),
        "{:?}",
        risk.reasons
    );
    assert!(c.get("D-TOBACCO").await.findings.is_empty());

    let undeclared = c
        .inspect(scan_of("cig-2", "D-TEXTILES", Shows::Cigarettes))
        .await;
    let risk = undeclared.risk.expect("risk");
    let expected = 1.0 - 0.9 * (1.0 - 0.35 * 0.9);
    assert!((risk.score - expected).abs() < 1e-6, "{}", risk.score);
    assert_eq!(risk.channel, Channel::Yellow as i32);
    let view = c.get("D-TEXTILES").await;
    assert_eq!(view.findings.len(), 1);
    assert_eq!(view.findings[0].category, Category::UndeclaredGoods as i32);
    assert!(
        view.findings[0]
            .reason
            .contains("not covered by the declaration (declared: HS 610910, 6203)"),
        "{}",
        view.findings[0].reason
    );

    // A clean second view adds nothing; the finding stays.
    let clean = c
        .inspect(scan_of("cig-2-side", "D-TEXTILES", Shows::Nothing))
        .await;
    assert!(!clean.alarm);
    assert!((clean.risk.expect("risk").score - expected).abs() < 1e-6);
}

#[tokio::test]
async fn a_false_alarm_verdict_lowers_the_score_and_is_audited() {
    let server = start();
    let mut c = clients(&server).await;
    c.register(declaration("D-FA", &["6109"], 0.2)).await;
    c.inspect(scan_of("fa-1", "D-FA", Shows::Pistol)).await;

    let flagged = c
        .review
        .list_flagged(ListFlaggedRequest {
            channel: Channel::Red as i32,
            ..Default::default()
        })
        .await
        .expect("lists")
        .into_inner();
    assert_eq!(flagged.scans.len(), 1);
    assert_eq!(flagged.scans[0].scan_id, "fa-1");
    assert_eq!(flagged.scans[0].categories, vec![Category::Weapon as i32]);

    let record = c
        .review
        .get_scan(GetScanRequest {
            scan_id: "fa-1".into(),
            without_image: false,
        })
        .await
        .expect("scan")
        .into_inner();
    assert_eq!(
        record.image,
        image_showing(Shows::Pistol),
        "the flagged image is kept as sent"
    );
    let pistol = record
        .detections
        .iter()
        .filter_map(|d| d.detection.as_ref())
        .find(|d| d.class_name == "pistol")
        .expect("pistol stored");

    // The verdict is the authenticated inspector's: nobody can sign it for another.
    let false_alarm = SubmitVerdictRequest {
        scan_id: "fa-1".into(),
        detections: vec![DetectionJudgement {
            detection_id: pistol.detection_id,
            verdict: DetectionVerdict::FalseAlarm as i32,
        }],
        decision: ScanDecision::Cleared as i32,
        inspector_id: "insp-7".into(),
        comment: "hair dryer".into(),
    };
    refused(
        c.review.submit_verdict(false_alarm.clone()).await,
        Code::InvalidArgument,
        &format!("the call is authenticated as {}", server.principal),
    );
    let insp_7 = add_principal(&server.data_dir, "insp-7", &["inspector"], &[]);
    let answer = ReviewClient::new(server.channel_as(&insp_7).await)
        .submit_verdict(SubmitVerdictRequest {
            inspector_id: String::new(),
            ..false_alarm
        })
        .await
        .expect("verdict stored")
        .into_inner();
    let risk = answer.risk.expect("risk");
    assert!((risk.score - 0.2).abs() < 1e-9, "{}", risk.score);
    assert_eq!(risk.channel, Channel::Green as i32);
    assert!(
        risk.reasons
            .iter()
            .any(|r| r.contains("false alarm by insp-7"))
    );

    let audit = c
        .review
        .list_audit(ListAuditRequest {
            declaration_id: "D-FA".into(),
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner()
        .entries;
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "declaration.registered",
            "scan.stored",
            "risk.changed",
            "verdict",
            "risk.changed"
        ]
    );
    let verdict = audit
        .iter()
        .find(|e| e.action == "verdict")
        .expect("verdict audited");
    assert_eq!(verdict.actor, "insp-7");
    assert_eq!(verdict.sequence, answer.audit_sequence);
    assert!(verdict.details.contains("hair dryer") && verdict.details.contains("false_alarm"));

    // Decided: out of the default queue, still listed on request.
    let queue = c
        .review
        .list_flagged(ListFlaggedRequest::default())
        .await
        .expect("lists")
        .into_inner();
    assert!(queue.scans.is_empty());
    let all = c
        .review
        .list_flagged(ListFlaggedRequest {
            include_decided: true,
            ..Default::default()
        })
        .await
        .expect("lists")
        .into_inner();
    assert_eq!(all.scans[0].decision, ScanDecision::Cleared as i32);

    let accuracy = c
        .review
        .get_model_accuracy(GetModelAccuracyRequest::default())
        .await
        .expect("accuracy")
        .into_inner()
        .classes;
    assert_eq!(accuracy.len(), 1);
    assert_eq!(
        (
            accuracy[0].class_name.as_str(),
            accuracy[0].confirmed,
            accuracy[0].false_alarms
        ),
        ("pistol", 0, 1)
    );
    let metrics = server.metrics().await;
    let precision = metrics.to_string();
    assert!(
        precision
            .lines()
            .any(|l| l.starts_with("xray_model_precision{") && l.contains("class=\"pistol\"")),
        "{precision}"
    );
    assert_eq!(
        metrics.sum("xray_model_precision", &[("class", "pistol")]),
        0.0
    );
    assert_eq!(
        metrics.sum(
            "xray_verdicts_total",
            &[("class", "pistol"), ("verdict", "false_alarm")]
        ),
        1.0
    );
}

/// Asserts that a call failed with `code` and a message containing `words`.
fn refused<T: std::fmt::Debug>(result: Result<T, tonic::Status>, code: Code, words: &str) {
    let e = result.expect_err(words);
    assert_eq!(e.code(), code, "{}", e.message());
    assert!(
        e.message().contains(words),
        "{:?} lacks {words:?}",
        e.message()
    );
}

fn verdict(scan_id: &str, detection: Option<u32>, inspector: &str) -> SubmitVerdictRequest {
    SubmitVerdictRequest {
        scan_id: scan_id.into(),
        detections: detection
            .map(|detection_id| DetectionJudgement {
                detection_id,
                verdict: DetectionVerdict::Confirmed as i32,
            })
            .into_iter()
            .collect(),
        decision: if detection.is_none() {
            ScanDecision::Seized as i32
        } else {
            0
        },
        inspector_id: inspector.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn bad_input_gets_a_clear_error() {
    let server = start();
    let mut c = clients(&server).await;
    c.register(declaration("D-OK", &["6109"], 0.1)).await;
    c.inspect(scan_of("ok-1", "D-OK", Shows::Pistol)).await;
    let register = |d: Declaration| RegisterDeclarationRequest {
        declaration: Some(d),
    };

    refused(
        c.inspection
            .inspect(scan_of("x-1", "D-NOPE", Shows::Pistol))
            .await,
        Code::NotFound,
        "declaration D-NOPE is not registered",
    );
    let mut long_portal = scan_of("x-2", "D-OK", Shows::Pistol);
    long_portal.portal_id = "p".repeat(200);
    refused(
        c.inspection.inspect(long_portal).await,
        Code::InvalidArgument,
        "portal_id is 200 bytes; at most 128 are allowed",
    );
    refused(
        c.inspection
            .inspect(scan_of("", "D-OK", Shows::Pistol))
            .await,
        Code::InvalidArgument,
        "scan_id is empty",
    );
    let mut bad_hs = declaration("D-BAD", &["6109"], 0.1);
    bad_hs.items[0].hs_code = "24A2".into();
    refused(
        c.declarations.register_declaration(register(bad_hs)).await,
        Code::InvalidArgument,
        "declaration.items[0].hs_code: \"24A2\" is not an HS code",
    );
    refused(
        c.declarations
            .register_declaration(register(declaration("D-P", &[], 1.5)))
            .await,
        Code::InvalidArgument,
        "prior_risk 1.5 is outside 0..1",
    );
    // The same declaration again is a safe retry; other content under its id is refused.
    c.register(declaration("D-OK", &["6109"], 0.1)).await;
    refused(
        c.declarations
            .register_declaration(register(declaration("D-OK", &["6109"], 0.5)))
            .await,
        Code::AlreadyExists,
        "declaration D-OK is already registered with other content",
    );
    let refused_registrations = c
        .review
        .list_audit(ListAuditRequest {
            declaration_id: "D-OK".into(),
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner()
        .entries
        .into_iter()
        .filter(|e| e.action == "declaration.refused")
        .count();
    assert_eq!(refused_registrations, 1);
    assert_eq!(
        server
            .metrics()
            .await
            .sum("xray_declaration_conflicts_total", &[]),
        1.0
    );
    refused(
        c.review.submit_verdict(verdict("ok-1", Some(9), "")).await,
        Code::InvalidArgument,
        "scan ok-1 has no detection 9",
    );
    refused(
        c.review
            .submit_verdict(verdict("ok-1", None, "insp-1"))
            .await,
        Code::InvalidArgument,
        "inspector_id is \"insp-1\" but the call is authenticated as",
    );
    refused(
        c.review.submit_verdict(verdict("nope", None, "")).await,
        Code::NotFound,
        "scan nope is not stored",
    );
    refused(
        c.declarations
            .get_declaration(GetDeclarationRequest {
                id: "D-NOPE".into(),
            })
            .await,
        Code::NotFound,
        "declaration D-NOPE is not registered",
    );
    refused(
        c.review
            .list_flagged(ListFlaggedRequest {
                page_token: "abc".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "page_token \"abc\"",
    );

    // A scan id already stored for another declaration is refused; for its own declaration
    // the stored result comes back without a second count.
    c.register(declaration("D-OTHER", &[], 0.1)).await;
    refused(
        c.inspection
            .inspect(scan_of("ok-1", "D-OTHER", Shows::Pistol))
            .await,
        Code::AlreadyExists,
        "scan_id ok-1 is already stored for declaration D-OK",
    );
    let before = c.get("D-OK").await;
    let again = c.inspect(scan_of("ok-1", "D-OK", Shows::Pistol)).await;
    assert_eq!(again.batch_size, 0, "answered from the store");
    assert_eq!(again.risk, before.risk);
    assert_eq!(c.get("D-OK").await.scans.len(), 1);
}

#[tokio::test]
async fn a_reused_scan_id_with_another_image_is_refused_audited_and_counted() {
    let server = start();
    let mut c = clients(&server).await;
    c.register(declaration("D-REUSE", &[], 0.1)).await;
    let first = c.inspect(scan_of("bag-1", "D-REUSE", Shows::Nothing)).await;
    assert!(!first.alarm);
    // A retry of the same scan is answered from the store.
    let retry = c.inspect(scan_of("bag-1", "D-REUSE", Shows::Nothing)).await;
    assert_eq!(retry.batch_size, 0, "answered from the store");
    assert_eq!(retry.detections, first.detections);

    // Another image under the stored id (a pistol this time) is refused, not answered with
    // the stored clean result; so is the same image from another portal.
    refused(
        c.inspection
            .inspect(scan_of("bag-1", "D-REUSE", Shows::Pistol))
            .await,
        Code::AlreadyExists,
        "scan_id bag-1 is already stored for declaration D-REUSE with another image or other metadata",
    );
    let mut other_portal = scan_of("bag-1", "D-REUSE", Shows::Nothing);
    other_portal.portal_id = "portal-9".into();
    refused(
        c.inspection.inspect(other_portal).await,
        Code::AlreadyExists,
        "with another image or other metadata",
    );
    // The model, the confidence floor and the priority are not what the scan is.
    let mut other_options = scan_of("bag-1", "D-REUSE", Shows::Nothing);
    other_options.min_confidence = Some(0.9);
    other_options.priority = proto::Priority::Backoffice as i32;
    assert_eq!(c.inspect(other_options).await.batch_size, 0);
    c.register(declaration("D-ELSE", &[], 0.1)).await;
    refused(
        c.inspection
            .inspect(scan_of("bag-1", "D-ELSE", Shows::Nothing))
            .await,
        Code::AlreadyExists,
        "scan_id bag-1 is already stored for declaration D-REUSE",
    );

    let view = c.get("D-REUSE").await;
    assert_eq!(view.scans.len(), 1);
    assert_eq!(risk_of(&view).channel, Channel::Green as i32);
    let audit = c
        .review
        .list_audit(ListAuditRequest {
            scan_id: "bag-1".into(),
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner()
        .entries;
    let refusals: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "scan.refused")
        .collect();
    assert_eq!(refusals.len(), 3, "{audit:?}");
    // Each names the principal that sent the scan, whatever portal the scan claims.
    assert_eq!(refusals[0].actor, server.principal);
    assert_eq!(refusals[1].actor, server.principal);
    assert!(
        refusals[0].details.contains("\"reason\":\"other_content\""),
        "{}",
        refusals[0].details
    );
    assert!(
        refusals[2]
            .details
            .contains("\"reason\":\"other_declaration\""),
        "{}",
        refusals[2].details
    );
    assert_eq!(refusals[2].declaration_id, "D-ELSE");
    let metrics = server.metrics().await;
    assert_eq!(
        metrics.sum("xray_scan_conflicts_total", &[("reason", "other_content")]),
        2.0
    );
    assert_eq!(
        metrics.sum(
            "xray_scan_conflicts_total",
            &[("reason", "other_declaration")]
        ),
        1.0
    );
}

/// Reads `n` changes from a WatchRisk stream (at most 30 s).
async fn take_changes(
    stream: &mut tonic::Streaming<proto::RiskChange>,
    n: usize,
) -> Vec<proto::RiskChange> {
    let mut out = Vec::new();
    while out.len() < n {
        let next = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("a change within 30 s")
            .expect("the stream stays open")
            .expect("a change");
        out.push(next);
    }
    out
}

#[tokio::test]
async fn watch_risk_streams_changes_in_order_and_a_resumed_subscriber_misses_none() {
    let server = start();
    let mut c = clients(&server).await;
    let mut live = c.watch(None).await;
    let mut first = c.watch(Some(0)).await;

    // Each registration and each risk-moving scan is one change: 3 + 2 x 3 = 9.
    for d in ["W-1", "W-2", "W-3"] {
        c.register(declaration(d, &["6109"], 0.05)).await;
    }
    for d in ["W-1", "W-2", "W-3"] {
        c.inspect(scan_of(&format!("{d}-a"), d, Shows::Cigarettes))
            .await;
        c.inspect(scan_of(&format!("{d}-b"), d, Shows::Pistol))
            .await;
    }
    let seen = take_changes(&mut first, 4).await;
    drop(first);
    let expected: Vec<u64> = (1..=9).collect();
    let sequences: Vec<u64> = seen.iter().map(|c| c.sequence).collect();
    assert_eq!(sequences, expected[..4]);
    assert_eq!(seen[0].cause, "registered");

    // More changes while it is away.
    c.register(declaration("W-4", &[], 0.5)).await;
    let resumed_from = seen.last().expect("some").sequence;
    let mut resumed = c.watch(Some(resumed_from)).await;
    let rest = take_changes(&mut resumed, 6).await;
    let all: Vec<u64> = seen.iter().chain(&rest).map(|c| c.sequence).collect();
    assert_eq!(all, (1..=10).collect::<Vec<u64>>());
    let last = rest.last().expect("W-4");
    assert_eq!(
        (last.declaration_id.as_str(), last.cause.as_str()),
        ("W-4", "registered")
    );
    let gun = rest
        .iter()
        .find(|c| c.cause == "scan W-2-b")
        .expect("the pistol scan");
    assert_eq!(gun.channel, Channel::Red as i32);
    assert_eq!(gun.previous_channel, Channel::Yellow as i32);

    // The live subscriber saw the same ten, in order.
    let live_seen: Vec<u64> = take_changes(&mut live, 10)
        .await
        .iter()
        .map(|c| c.sequence)
        .collect();
    assert_eq!(live_seen, all);
}

#[tokio::test]
async fn a_killed_server_loses_no_acknowledged_scan() {
    let data = tempfile::tempdir().expect("data folder");
    let data_dir = data.path().to_str().expect("utf-8 path").to_string();
    let server = Server::start(&risk_fixture(), &["--data-dir", &data_dir]);
    let mut c = clients(&server).await;
    c.register(declaration("D-KILL", &["6109"], 0.1)).await;

    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let mut results = c
        .inspection
        .stream_scans(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .expect("stream opens")
        .into_inner();
    let kinds = [Shows::Pistol, Shows::Cigarettes, Shows::Nothing];
    for i in 0..60 {
        tx.send(scan_of(&format!("k-{i}"), "D-KILL", kinds[i % 3]))
            .await
            .expect("queued");
    }
    let mut acknowledged = Vec::new();
    while acknowledged.len() < 20 {
        let result = results.next().await.expect("open").expect("result");
        assert!(result.error.is_none(), "{:?}", result.error);
        acknowledged.push(result);
    }
    drop(server); // SIGKILL, scans still in flight
    drop(tx);

    let server = Server::start(&risk_fixture(), &["--data-dir", &data_dir]);
    let mut c = clients(&server).await;
    let view = c.get("D-KILL").await;
    let stored: HashSet<&str> = view.scans.iter().map(|s| s.scan_id.as_str()).collect();
    for result in &acknowledged {
        assert!(
            stored.contains(result.scan_id.as_str()),
            "{} was acknowledged but is lost",
            result.scan_id
        );
        let record = c
            .review
            .get_scan(GetScanRequest {
                scan_id: result.scan_id.clone(),
                without_image: true,
            })
            .await
            .expect("stored scan")
            .into_inner();
        let detections: Vec<_> = record
            .detections
            .iter()
            .filter_map(|d| d.detection.clone())
            .collect();
        assert_eq!(detections, result.detections, "{}", result.scan_id);
    }
    // Every risk the server acknowledged is in the history, and the stored risk is the newest.
    let newest = acknowledged
        .iter()
        .filter_map(|r| r.risk.as_ref())
        .map(|r| r.sequence)
        .max()
        .expect("risks");
    let risk = risk_of(&view);
    assert!(risk.sequence >= newest);
    assert_eq!(risk.channel, Channel::Red as i32);
    let mut history = c.watch(Some(0)).await;
    let changes = take_changes(&mut history, usize::try_from(risk.sequence).expect("small")).await;
    assert_eq!(changes.last().map(|c| c.sequence), Some(risk.sequence));
    // The restarted server goes on storing.
    let after = c
        .inspect(scan_of("k-after", "D-KILL", Shows::Nothing))
        .await;
    assert_eq!(after.risk.expect("risk").channel, Channel::Red as i32);
}
