//! Several `serve` processes on one PostgreSQL database and one image store: the same answers
//! as one node, one risk feed, a review screen that sees every node's scans, nothing lost when
//! a node is killed, and UNAVAILABLE (then recovery, without a restart) while the database is
//! gone. The database is a private cluster (tools/postgres.sh), or the one `make test` starts.

mod common;

use std::{collections::HashSet, path::PathBuf, time::Duration};

use common::*;
use image::{DynamicImage, ImageBuffer, ImageFormat, Rgb};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_stream::StreamExt;
use tonic::Code;
use xray_proto::{
    self as proto, Declaration, DeclaredItem, GetDeclarationRequest, GetScanRequest,
    ListFlaggedRequest, RegisterDeclarationRequest, Scan, WatchRiskRequest,
    declarations_client::DeclarationsClient, inspection_client::InspectionClient,
    review_client::ReviewClient,
};
use xray_store_conformance::TestCluster;

fn risk_fixture() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/risk/cue-fixture")
}

/// What the colour-keyed fixture sees: red a pistol, green cigarettes, blue nothing.
fn image_of(rgb: [u8; 3]) -> Vec<u8> {
    let image = DynamicImage::ImageRgb8(ImageBuffer::from_pixel(64, 64, Rgb(rgb)));
    encode(&image, ImageFormat::Png)
}

const COLOURS: [[u8; 3]; 3] = [[255, 0, 0], [0, 255, 0], [0, 0, 255]];

fn scan_of(id: &str, declaration: &str, i: usize) -> Scan {
    Scan {
        scan_id: id.to_string(),
        declaration_id: declaration.to_string(),
        portal_id: "portal-4".to_string(),
        image: image_of(COLOURS[i % 3]).into(),
        ..Default::default()
    }
}

fn declaration(id: &str) -> Declaration {
    Declaration {
        id: id.to_string(),
        declarant: "Baltic Freight OY".to_string(),
        origin_country: "CN".to_string(),
        destination_country: "FI".to_string(),
        transport_mode: proto::TransportMode::Air as i32,
        items: vec![DeclaredItem {
            hs_code: "6109".to_string(),
            description: "cotton shirts".to_string(),
            quantity: 40.0,
            value: 300.0,
        }],
        prior_risk: 0.1,
    }
}

/// A node on the database at `url`, keeping every image in the shared `images` folder.
fn node(url: &str, images: &std::path::Path, extra: &[&str]) -> Server {
    let images = images.to_str().expect("utf-8 path");
    let mut args = vec![
        "--database-url",
        url,
        "--image-store",
        images,
        "--keep-images",
        "all",
    ];
    args.extend_from_slice(extra);
    Server::start(&risk_fixture(), &args)
}

async fn register(server: &Server, id: &str) {
    DeclarationsClient::new(server.channel().await)
        .register_declaration(RegisterDeclarationRequest {
            declaration: Some(declaration(id)),
        })
        .await
        .expect("registers");
}

async fn risk(server: &Server, id: &str) -> proto::Risk {
    DeclarationsClient::new(server.channel().await)
        .get_declaration(GetDeclarationRequest { id: id.to_string() })
        .await
        .expect("declaration")
        .into_inner()
        .risk
        .expect("risk")
}

async fn inspect(server: &Server, scan: Scan) -> Result<proto::InspectionResult, tonic::Status> {
    InspectionClient::new(server.channel().await)
        .inspect(scan)
        .await
        .map(|r| r.into_inner())
}

/// The scans of the concurrency test: twelve, a third of each colour.
const SCANS: usize = 12;

#[tokio::test]
async fn two_nodes_on_one_database_answer_as_one_node_and_share_one_feed() {
    let url = TestCluster::shared().database();
    let images = tempfile::tempdir().expect("image folder");
    let a = node(&url, images.path(), &[]);
    let b = node(&url, images.path(), &[]);

    let mut feed = DeclarationsClient::new(a.channel().await)
        .watch_risk(WatchRiskRequest {
            after_sequence: Some(0),
        })
        .await
        .expect("subscribes on node A")
        .into_inner();

    // Node B registers; both nodes screen the declaration's scans at once, and both get the
    // same scan id at the same moment.
    register(&b, "D-TWO").await;
    let mut sent = Vec::new();
    for i in 0..SCANS {
        let on = if i % 2 == 0 { &a } else { &b };
        sent.push(inspect(on, scan_of(&format!("two-{i}"), "D-TWO", i)));
    }
    let twice = [
        inspect(&a, scan_of("two-same", "D-TWO", 0)),
        inspect(&b, scan_of("two-same", "D-TWO", 0)),
    ];
    let (answers, twice) = tokio::join!(
        futures_util::future::join_all(sent),
        futures_util::future::join_all(twice)
    );
    for answer in answers.into_iter().chain(twice) {
        answer.expect("every scan is answered");
    }

    // The same scans one at a time on one node (SQLite) give the same risk.
    let single = Server::start(&risk_fixture(), &[]);
    register(&single, "D-TWO").await;
    for i in 0..SCANS {
        inspect(&single, scan_of(&format!("two-{i}"), "D-TWO", i))
            .await
            .expect("screened");
    }
    inspect(&single, scan_of("two-same", "D-TWO", 0))
        .await
        .expect("screened");
    let alone = risk(&single, "D-TWO").await;
    for on in [&a, &b] {
        let shared = risk(on, "D-TWO").await;
        assert!(
            (shared.score - alone.score).abs() < 1e-9,
            "{} on two nodes, {} on one",
            shared.score,
            alone.score
        );
        assert_eq!(shared.channel, alone.channel);
        assert_eq!(shared.sequence, alone.sequence, "as many risk changes");
    }
    let view = DeclarationsClient::new(a.channel().await)
        .get_declaration(GetDeclarationRequest {
            id: "D-TWO".to_string(),
        })
        .await
        .expect("declaration")
        .into_inner();
    assert_eq!(
        view.scans.len(),
        SCANS + 1,
        "the scan sent twice is stored once"
    );

    // Node A's feed has every change, node B's included, numbered 1, 2, 3... in order.
    let newest = alone.sequence;
    let mut seen = Vec::new();
    while seen.len() < newest as usize {
        let change = tokio::time::timeout(Duration::from_secs(30), feed.next())
            .await
            .expect("a change within 30 s")
            .expect("the feed stays open")
            .expect("a change");
        seen.push(change);
    }
    let sequences: Vec<u64> = seen.iter().map(|c| c.sequence).collect();
    assert_eq!(sequences, (1..=newest).collect::<Vec<_>>());
    assert_eq!(seen[0].cause, "registered");

    // The review queue on node A lists the scans node B took, with their images (in the
    // shared image store), and so does the review screen's API.
    let flagged = ReviewClient::new(a.channel().await)
        .list_flagged(ListFlaggedRequest {
            page_size: 100,
            ..Default::default()
        })
        .await
        .expect("lists")
        .into_inner();
    let listed: HashSet<String> = flagged.scans.iter().map(|s| s.scan_id.clone()).collect();
    for i in (1..SCANS).step_by(2).filter(|i| i % 3 != 2) {
        let id = format!("two-{i}");
        assert!(
            listed.contains(&id),
            "{id}, flagged on node B, is in node A's queue"
        );
        let record = ReviewClient::new(a.channel().await)
            .get_scan(GetScanRequest {
                scan_id: id.clone(),
                without_image: false,
            })
            .await
            .expect("node A reads node B's scan")
            .into_inner();
        assert_eq!(
            record.image,
            image_of(COLOURS[i % 3]),
            "{id}'s image as sent"
        );
    }
    let page = http_get(&a, "/api/flagged?limit=100").await;
    assert!(page.contains("\"two-1\""), "{page}");
}

/// GET `path` on the server's HTTP port with its test token; answers the body (the head and
/// body, for a stream read until `until` appears).
async fn http_read(server: &Server, path: &str, until: Option<&str>) -> String {
    let mut stream = tokio::net::TcpStream::connect(server.http_addr())
        .await
        .expect("HTTP port");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        server.token
    );
    stream.write_all(request.as_bytes()).await.expect("sent");
    let mut read = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let n = tokio::time::timeout_at(deadline, stream.read(&mut buf))
            .await
            .expect("the answer within 30 s")
            .expect("reads");
        if n == 0 {
            break;
        }
        read.extend_from_slice(&buf[..n]);
        if until.is_some_and(|u| String::from_utf8_lossy(&read).contains(u)) {
            break;
        }
    }
    String::from_utf8_lossy(&read).into_owned()
}

async fn http_get(server: &Server, path: &str) -> String {
    let answer = http_read(server, path, None).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    answer
}

#[tokio::test]
async fn the_live_review_queue_on_one_node_shows_a_scan_flagged_on_another() {
    let url = TestCluster::shared().database();
    let images = tempfile::tempdir().expect("image folder");
    let a = node(&url, images.path(), &[]);
    let b = node(&url, images.path(), &[]);
    register(&a, "D-LIVE").await;

    // Node A's screen is listening before node B takes the scan.
    let (events, screened) =
        tokio::join!(http_read(&a, "/api/events", Some("live-pistol")), async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            inspect(&b, scan_of("live-pistol", "D-LIVE", 0)).await
        });
    screened.expect("screened on node B");
    assert!(
        events.contains("live-pistol"),
        "the event reached node A: {events}"
    );
    assert!(events.contains("flagged"), "{events}");
}

#[tokio::test]
async fn a_node_killed_mid_stream_loses_no_acknowledged_scan() {
    let url = TestCluster::shared().database();
    let images = tempfile::tempdir().expect("image folder");
    let mut a = node(&url, images.path(), &[]);
    let b = node(&url, images.path(), &[]);
    register(&a, "D-KILL").await;

    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let mut results = InspectionClient::new(a.channel().await)
        .stream_scans(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .expect("stream opens")
        .into_inner();
    for i in 0..60 {
        tx.send(scan_of(&format!("kill-{i}"), "D-KILL", i))
            .await
            .expect("queued");
    }
    let mut acknowledged = Vec::new();
    while acknowledged.len() < 20 {
        let result = results.next().await.expect("open").expect("result");
        assert!(result.error.is_none(), "{:?}", result.error);
        acknowledged.push(result);
    }
    a.kill(); // scans still in flight
    drop(tx);

    let view = DeclarationsClient::new(b.channel().await)
        .get_declaration(GetDeclarationRequest {
            id: "D-KILL".to_string(),
        })
        .await
        .expect("node B reads the declaration")
        .into_inner();
    let stored: HashSet<&str> = view.scans.iter().map(|s| s.scan_id.as_str()).collect();
    for result in &acknowledged {
        assert!(
            stored.contains(result.scan_id.as_str()),
            "{} was acknowledged by node A but is lost",
            result.scan_id
        );
        let record = ReviewClient::new(b.channel().await)
            .get_scan(GetScanRequest {
                scan_id: result.scan_id.clone(),
                without_image: false,
            })
            .await
            .expect("node B reads it")
            .into_inner();
        let i: usize = result.scan_id["kill-".len()..].parse().expect("index");
        assert_eq!(record.image, image_of(COLOURS[i % 3]));
        let detections: Vec<_> = record
            .detections
            .iter()
            .filter_map(|d| d.detection.clone())
            .collect();
        assert_eq!(detections, result.detections, "{}", result.scan_id);
    }
    // The newest risk acknowledged is no newer than what the database holds.
    let newest = acknowledged
        .iter()
        .filter_map(|r| r.risk.as_ref())
        .map(|r| r.sequence)
        .max()
        .expect("risks");
    assert!(view.risk.expect("risk").sequence >= newest);
}

#[tokio::test]
async fn a_database_that_goes_away_answers_unavailable_and_comes_back_without_a_restart() {
    let cluster = TestCluster::private();
    let url = cluster.database();
    let images = tempfile::tempdir().expect("image folder");
    let a = node(
        &url,
        images.path(),
        &[
            "--database-connect-timeout-secs",
            "2",
            "--database-statement-timeout-secs",
            "3",
        ],
    );
    register(&a, "D-GONE").await;
    inspect(&a, scan_of("gone-0", "D-GONE", 0))
        .await
        .expect("screened while the database is up");

    cluster.pause();
    let started = std::time::Instant::now();
    let refused = inspect(&a, scan_of("gone-1", "D-GONE", 1))
        .await
        .expect_err("no database, no answer");
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    assert!(
        refused.message().contains("database"),
        "the sentence says what is missing: {}",
        refused.message()
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "refused, not hung"
    );
    let read = DeclarationsClient::new(a.channel().await)
        .get_declaration(GetDeclarationRequest {
            id: "D-GONE".to_string(),
        })
        .await
        .expect_err("no database, no declaration");
    assert_eq!(read.code(), Code::Unavailable, "{read:?}");

    cluster.resume();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        match inspect(&a, scan_of("gone-1", "D-GONE", 1)).await {
            Ok(result) => {
                assert_eq!(result.scan_id, "gone-1");
                break;
            }
            Err(status) if status.code() == Code::Unavailable => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the node did not recover: {status:?}"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(status) => panic!("{status:?}"),
        }
    }
    let view = DeclarationsClient::new(a.channel().await)
        .get_declaration(GetDeclarationRequest {
            id: "D-GONE".to_string(),
        })
        .await
        .expect("the same node reads again")
        .into_inner();
    assert_eq!(view.scans.len(), 2);
}
