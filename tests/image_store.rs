//! Kept images in the image store, over the real binary: each one a file named by its SHA-256
//! under `--data-dir/images`, none in the database; at start (and hourly) the retention purge
//! deletes the blobs of scans past `--image-retention-days`, and the sweep deletes blobs that
//! no scan refers to once they are an hour old, sparing younger ones.

mod common;

use std::{
    fs::File,
    path::{Path, PathBuf},
    time::{Duration, Instant, SystemTime},
};

use common::*;
use image::{DynamicImage, ImageBuffer, ImageFormat, Rgb};
use sha2::{Digest, Sha256};
use tonic::Code;
use xray_proto::{
    Declaration, DeclaredItem, GetScanRequest, RegisterDeclarationRequest, Scan,
    declarations_client::DeclarationsClient, review_client::ReviewClient,
};

fn risk_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/risk/cue-fixture")
}

fn image_of(rgb: [u8; 3]) -> Vec<u8> {
    let image = DynamicImage::ImageRgb8(ImageBuffer::from_pixel(64, 64, Rgb(rgb)));
    encode(&image, ImageFormat::Png)
}

fn key_of(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn blob_path(data_dir: &Path, key: &str) -> PathBuf {
    data_dir.join("images").join(&key[..2]).join(key)
}

fn age(path: &Path, by: Duration) {
    File::options()
        .write(true)
        .open(path)
        .expect("blob file")
        .set_modified(SystemTime::now() - by)
        .expect("mtime set");
}

async fn scan(server: &Server, id: &str, image: Vec<u8>) {
    server
        .client()
        .await
        .inspect(Scan {
            scan_id: id.to_string(),
            declaration_id: "D-IMG".to_string(),
            portal_id: "portal-5".to_string(),
            image: image.into(),
            ..Default::default()
        })
        .await
        .expect("screened");
}

#[tokio::test]
async fn kept_images_live_in_the_image_store_and_are_purged_and_swept() {
    let data = tempfile::tempdir().expect("data folder");
    let data_dir = data.path().to_str().expect("utf-8").to_string();
    let (old_image, new_image) = (image_of([255, 0, 0]), image_of([0, 255, 0]));
    let server = Server::start(
        &risk_fixture(),
        &["--data-dir", &data_dir, "--keep-images", "all"],
    );
    DeclarationsClient::new(server.channel().await)
        .register_declaration(RegisterDeclarationRequest {
            declaration: Some(Declaration {
                id: "D-IMG".to_string(),
                declarant: "Adriatic Lines d.o.o.".to_string(),
                origin_country: "TR".to_string(),
                destination_country: "HR".to_string(),
                transport_mode: xray_proto::TransportMode::Road as i32,
                items: vec![DeclaredItem {
                    hs_code: "6109".to_string(),
                    description: "shirts".to_string(),
                    quantity: 1.0,
                    value: 1.0,
                }],
                prior_risk: 0.1,
            }),
        })
        .await
        .expect("registers");
    scan(&server, "img-old", old_image.clone()).await;
    scan(&server, "img-new", new_image.clone()).await;

    // Each image is one file named by its hash, holding the bytes as sent; the database does
    // not hold them.
    let (old_key, new_key) = (key_of(&old_image), key_of(&new_image));
    assert_eq!(
        std::fs::read(blob_path(data.path(), &old_key)).unwrap(),
        old_image
    );
    assert_eq!(
        std::fs::read(blob_path(data.path(), &new_key)).unwrap(),
        new_image
    );
    let db = rusqlite::Connection::open(data.path().join("xray-screen.db")).expect("database");
    let inline: i64 = db
        .query_row(
            "SELECT COALESCE(SUM(LENGTH(bytes)), 0) FROM scan_images",
            [],
            |r| r.get(0),
        )
        .expect("image rows");
    assert_eq!(inline, 0, "no image bytes in the database");
    drop(server);

    // One scan is made old; two blobs no scan refers to are left behind, one an hour old.
    db.execute(
        "UPDATE scans SET received_ms = 0 WHERE scan_id = 'img-old'",
        [],
    )
    .expect("scan aged");
    let orphan_old = key_of(b"left by a write that failed");
    let orphan_young = key_of(b"a scan whose transaction is still open");
    for key in [&orphan_old, &orphan_young] {
        let path = blob_path(data.path(), key);
        std::fs::create_dir_all(path.parent().expect("folder")).expect("folder");
        std::fs::write(&path, key.as_bytes()).expect("orphan written");
    }
    age(
        &blob_path(data.path(), &orphan_old),
        Duration::from_secs(2 * 3600),
    );

    // At start, the purge and the sweep run.
    let server = Server::start(
        &risk_fixture(),
        &["--data-dir", &data_dir, "--image-retention-days", "1"],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while blob_path(data.path(), &old_key).exists() || blob_path(data.path(), &orphan_old).exists()
    {
        assert!(
            Instant::now() < deadline,
            "the purge and the sweep did not run"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        blob_path(data.path(), &orphan_young).exists(),
        "a young blob is spared"
    );
    assert!(
        blob_path(data.path(), &new_key).exists(),
        "a kept image stays"
    );

    let mut review = ReviewClient::new(server.channel().await);
    let kept = review
        .get_scan(GetScanRequest {
            scan_id: "img-new".to_string(),
            without_image: false,
        })
        .await
        .expect("the new scan")
        .into_inner();
    assert_eq!(kept.image, new_image);
    let purged = review
        .get_scan(GetScanRequest {
            scan_id: "img-old".to_string(),
            without_image: false,
        })
        .await;
    match purged {
        Ok(record) => assert!(
            record.into_inner().image.is_empty(),
            "the old scan's image is gone"
        ),
        Err(status) => assert_eq!(status.code(), Code::NotFound, "{status:?}"),
    }
    // The scan's record and detections stay.
    let record = review
        .get_scan(GetScanRequest {
            scan_id: "img-old".to_string(),
            without_image: true,
        })
        .await
        .expect("the old scan's record")
        .into_inner();
    assert!(!record.detections.is_empty());
}
