//! The S3 image store against a real S3-compatible server: moto's, from the tools venv
//! (`make setup` installs it), on a free port of 127.0.0.1.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant, SystemTime},
};

use xray_blobs::{BlobError, Blobs, S3Blobs, key_of};

struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn venv_bin(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../.venv/bin")
        .join(name)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A moto server with `bucket` in it.
fn moto(bucket: &str) -> Moto {
    let port = free_port();
    let child = Command::new(venv_bin("moto_server"))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server (run `make setup`)");
    let moto = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto_server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    boto3(&moto, &format!("s3.create_bucket(Bucket={bucket:?})"));
    moto
}

/// Runs a line of boto3 against the server, as an independent S3 client.
fn boto3(moto: &Moto, line: &str) {
    let script = format!(
        "import boto3\ns3 = boto3.client('s3', endpoint_url={:?}, aws_access_key_id='test', \
         aws_secret_access_key='test', region_name='us-east-1')\n{line}\n",
        moto.endpoint
    );
    let status = Command::new(venv_bin("python"))
        .args(["-c", &script])
        .status()
        .expect("python");
    assert!(status.success(), "boto3: {line}");
}

fn blobs(moto: &Moto, url: &str) -> S3Blobs {
    // SAFETY of set_var: the tests of this binary set the same values.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::set_var("AWS_ALLOW_HTTP", "true");
        std::env::set_var("AWS_ENDPOINT", &moto.endpoint);
    }
    S3Blobs::from_env(url).expect("an S3 image store")
}

#[test]
fn images_round_trip_through_an_s3_bucket() {
    let moto = moto("scans");
    let blobs = blobs(&moto, "s3://scans/portal-a");
    let image = vec![7u8; 300_000];
    let key = blobs.put(&image).unwrap();
    assert_eq!(key, key_of(&image));
    assert_eq!(blobs.get(&key).unwrap(), Some(image.clone()));
    assert_eq!(blobs.put(&image).unwrap(), key);

    // Under the prefix, in the key's two-digit folder, where another S3 client finds it.
    boto3(
        &moto,
        &format!(
            "assert s3.get_object(Bucket='scans', Key='portal-a/{}/{key}')['ContentLength'] == 300000",
            &key[..2]
        ),
    );

    // What the sweep may look at: blobs stored before a time.
    let later = SystemTime::now() + Duration::from_secs(5);
    assert_eq!(blobs.stored_before(later).unwrap(), vec![key.clone()]);
    let earlier = SystemTime::now() - Duration::from_secs(3600);
    assert!(blobs.stored_before(earlier).unwrap().is_empty());

    // An object altered behind the service's back is refused.
    boto3(
        &moto,
        &format!(
            "s3.put_object(Bucket='scans', Key='portal-a/{}/{key}', Body=b'x')",
            &key[..2]
        ),
    );
    assert!(matches!(blobs.get(&key), Err(BlobError::Corrupt { .. })));

    blobs.delete(&key).unwrap();
    assert_eq!(blobs.get(&key).unwrap(), None);
    blobs.delete(&key).unwrap();
    assert!(matches!(blobs.get("../x"), Err(BlobError::BadKey(_))));
}

#[test]
fn a_server_that_is_gone_is_an_error_not_a_hang() {
    let moto = moto("gone");
    let blobs = blobs(&moto, "s3://gone");
    blobs.put(b"first").unwrap();
    drop(moto);
    let started = Instant::now();
    match blobs.put(b"second") {
        Err(BlobError::Unavailable { location, reason }) => {
            assert_eq!(location, "s3://gone");
            assert!(!reason.is_empty());
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    // object_store retries with backoff before it gives up; bounded all the same.
    assert!(started.elapsed() < Duration::from_secs(120));
}
