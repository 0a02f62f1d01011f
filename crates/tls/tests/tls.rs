//! Real TLS, end to end: the development PKI on disk, the accept loop on a loopback socket,
//! and tokio-rustls clients.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::Receiver;
use tokio_rustls::{TlsConnector, client, server};
use xray_tls::{
    DevPki, ReloadableTls, TlsError, TlsFiles, dev_files, ensure_dev_pki, issue_client_cert,
    peer_certificate, principal_name, spawn_tls_acceptor,
};

const WAIT: Duration = Duration::from_secs(5);

type Accepted = Receiver<(server::TlsStream<TcpStream>, SocketAddr)>;

fn pki(dir: &tempfile::TempDir) -> DevPki {
    ensure_dev_pki(&dir.path().join("pki")).expect("dev PKI")
}

async fn start(
    files: TlsFiles,
    handshake_timeout: Duration,
) -> (SocketAddr, Arc<ReloadableTls>, Accepted) {
    let tls = Arc::new(ReloadableTls::load(files, vec![b"h2".to_vec()]).expect("load"));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let rx = spawn_tls_acceptor(listener, Arc::clone(&tls), handshake_timeout);
    (addr, tls, rx)
}

/// A client trusting `ca` and presenting `identity` (certificate PEM, key PEM) if given.
#[allow(deprecated)]
fn client_config(ca: &Path, identity: Option<&(String, String)>) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).expect("ca file") {
        roots.add(cert.expect("ca cert")).expect("root");
    }
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let mut config = match identity {
        Some((cert, key)) => {
            let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .expect("client chain");
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("client key");
            builder
                .with_client_auth_cert(chain, key)
                .expect("client auth")
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(config)
}

async fn connect(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
) -> std::io::Result<client::TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").expect("server name");
    tokio::time::timeout(WAIT, TlsConnector::from(config).connect(name, tcp))
        .await
        .expect("client handshake finishes")
}

/// Answers every accepted stream by echoing what it reads.
fn serve_echo(mut rx: Accepted) {
    tokio::spawn(async move {
        while let Some((mut stream, _)) = rx.recv().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 64];
                while let Ok(n @ 1..) = stream.read(&mut buf).await {
                    if stream.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
}

async fn roundtrip(stream: &mut client::TlsStream<TcpStream>) {
    stream.write_all(b"ping").await.expect("write");
    let mut buf = [0u8; 4];
    tokio::time::timeout(WAIT, stream.read_exact(&mut buf))
        .await
        .expect("echo in time")
        .expect("read");
    assert_eq!(&buf, b"ping");
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn dev_pki_is_created_once_then_reused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = pki(&dir);
    assert!(first.created);
    let files = [
        &first.ca_cert,
        &first.ca_key,
        &first.server_cert,
        &first.server_key,
    ];
    let bytes: Vec<Vec<u8>> = files
        .iter()
        .map(|p| std::fs::read(p).expect("read"))
        .collect();
    #[cfg(unix)]
    {
        assert_eq!(mode(&first.dir), 0o700);
        assert_eq!(mode(&first.ca_key), 0o600);
        assert_eq!(mode(&first.server_key), 0o600);
    }

    let second = pki(&dir);
    assert!(!second.created);
    assert_eq!(second.ca_cert, first.ca_cert);
    let again: Vec<Vec<u8>> = files
        .iter()
        .map(|p| std::fs::read(p).expect("read"))
        .collect();
    assert_eq!(again, bytes);

    // One file gone: the whole PKI is made afresh.
    std::fs::remove_file(&first.server_key).expect("remove");
    let third = pki(&dir);
    assert!(third.created);
    assert_ne!(std::fs::read(&third.ca_cert).expect("read"), bytes[0]);
    ReloadableTls::load(dev_files(&third), vec![]).expect("the fresh PKI loads");
}

#[tokio::test]
async fn mutual_tls_handshake_names_the_client() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki(&dir);
    let (addr, _tls, mut rx) = start(dev_files(&pki), WAIT).await;
    let identity = issue_client_cert(&pki.ca_cert, &pki.ca_key, "gate-1", 30).expect("issue");

    let mut client = connect(addr, client_config(&pki.ca_cert, Some(&identity)))
        .await
        .expect("client handshake");
    assert_eq!(client.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));

    let (mut server, peer) = tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("accepted in time")
        .expect("a stream");
    assert_eq!(peer, client.get_ref().0.local_addr().expect("local addr"));
    let der = peer_certificate(&server).expect("a client certificate");
    assert_eq!(principal_name(&der).expect("principal"), "gate-1");

    client.write_all(b"ping").await.expect("client write");
    let mut buf = [0u8; 4];
    server.read_exact(&mut buf).await.expect("server read");
    assert_eq!(&buf, b"ping");
    server.write_all(b"pong").await.expect("server write");
    client.read_exact(&mut buf).await.expect("client read");
    assert_eq!(&buf, b"pong");
}

#[tokio::test]
async fn client_certificate_is_optional() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki(&dir);
    let (addr, _tls, mut rx) = start(dev_files(&pki), WAIT).await;
    let _client = connect(addr, client_config(&pki.ca_cert, None))
        .await
        .expect("client handshake");
    let (server, _) = tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("accepted in time")
        .expect("a stream");
    assert_eq!(peer_certificate(&server), None);
}

#[tokio::test]
async fn client_certificate_of_another_ca_is_refused() {
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
    );
    let (pki_a, pki_b) = (pki(&dir_a), pki(&dir_b));
    let (addr, _tls, mut rx) = start(dev_files(&pki_a), WAIT).await;
    let stranger = issue_client_cert(&pki_b.ca_cert, &pki_b.ca_key, "gate-9", 30).expect("issue");

    // In TLS 1.3 the client finishes its side before the server has checked its certificate,
    // so the refusal may arrive as the handshake's error or as the first read's.
    let refused = match connect(addr, client_config(&pki_a.ca_cert, Some(&stranger))).await {
        Err(_) => true,
        Ok(mut client) => {
            let _ = client.write_all(b"ping").await;
            let mut buf = [0u8; 4];
            match tokio::time::timeout(WAIT, client.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => true,
                Ok(Ok(_)) => false,
                Err(_) => panic!("the refused client was neither answered nor closed"),
            }
        }
    };
    assert!(refused, "the client got an answer");
    let yielded = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await;
    assert!(yielded.is_err(), "the server yielded the refused stream");
}

#[tokio::test]
async fn plaintext_and_silent_clients_do_not_block_others() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki(&dir);
    let (addr, _tls, rx) = start(dev_files(&pki), Duration::from_secs(30)).await;
    serve_echo(rx);

    let _silent = TcpStream::connect(addr).await.expect("silent connect");
    let mut plain = TcpStream::connect(addr).await.expect("plaintext connect");
    plain
        .write_all(b"GET / HTTP/1.1\r\n\r\n")
        .await
        .expect("plaintext write");

    let mut client = tokio::time::timeout(WAIT, connect(addr, client_config(&pki.ca_cert, None)))
        .await
        .expect("TLS client not blocked")
        .expect("client handshake");
    roundtrip(&mut client).await;

    // The plaintext client is answered (an alert) and closed, not left hanging.
    let mut buf = Vec::new();
    tokio::time::timeout(WAIT, plain.read_to_end(&mut buf))
        .await
        .expect("plaintext client closed in time")
        .ok();
}

#[tokio::test]
async fn handshake_timeout_closes_silent_clients() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki(&dir);
    let (addr, _tls, _rx) = start(dev_files(&pki), Duration::from_millis(200)).await;
    let mut silent = TcpStream::connect(addr).await.expect("connect");
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(WAIT, silent.read(&mut buf))
        .await
        .expect("closed after the handshake timeout");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

#[tokio::test]
async fn accept_loop_stops_when_the_receiver_is_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki(&dir);
    let (addr, _tls, rx) = start(dev_files(&pki), WAIT).await;
    drop(rx);
    // The loop notices, returns, and drops the listener: the port stops accepting.
    let deadline = tokio::time::Instant::now() + WAIT;
    while TcpStream::connect(addr).await.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "still listening");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn reload_swaps_the_certificate_and_keeps_the_old_on_error() {
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
    );
    let (pki_a, pki_b) = (pki(&dir_a), pki(&dir_b));
    let (addr, tls, rx) = start(dev_files(&pki_a), WAIT).await;
    serve_echo(rx);
    let trusts_b = client_config(&pki_b.ca_cert, None);

    assert!(
        connect(addr, Arc::clone(&trusts_b)).await.is_err(),
        "B's client trusted A's server"
    );

    std::fs::copy(&pki_b.server_cert, &pki_a.server_cert).expect("copy cert");
    std::fs::copy(&pki_b.server_key, &pki_a.server_key).expect("copy key");
    tls.reload().expect("reload");
    let mut client = connect(addr, Arc::clone(&trusts_b))
        .await
        .expect("new certificate");
    roundtrip(&mut client).await;

    std::fs::write(&pki_a.server_key, "garbage\n").expect("write garbage");
    let err = tls.reload().expect_err("garbage key");
    assert!(matches!(err, TlsError::NoPrivateKey { .. }), "{err}");
    let key_path = pki_a.server_key.display().to_string();
    assert!(err.to_string().contains(&key_path), "{err}");
    let mut client = connect(addr, Arc::clone(&trusts_b))
        .await
        .expect("old config kept");
    roundtrip(&mut client).await;

    // A's key with B's certificate: a mismatch, named as such.
    std::fs::copy(&pki_a.ca_key, &pki_a.server_key).expect("copy other key");
    let err = tls.reload().expect_err("mismatched key");
    assert!(matches!(err, TlsError::KeyMismatch { .. }), "{err}");
    assert!(err.to_string().contains(&key_path), "{err}");
}

#[test]
fn load_errors_name_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki(&dir);

    let missing = dir.path().join("nowhere.pem");
    let files = TlsFiles {
        cert: missing.clone(),
        ..dev_files(&pki)
    };
    let err = ReloadableTls::load(files, vec![]).expect_err("missing cert");
    assert!(matches!(err, TlsError::Read { .. }), "{err}");
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{err}"
    );

    let files = TlsFiles {
        cert: pki.server_key.clone(),
        ..dev_files(&pki)
    };
    let err = ReloadableTls::load(files, vec![]).expect_err("key as cert");
    assert!(matches!(err, TlsError::NoCertificate { .. }), "{err}");

    let files = TlsFiles {
        key: pki.server_cert.clone(),
        ..dev_files(&pki)
    };
    let err = ReloadableTls::load(files, vec![]).expect_err("cert as key");
    assert!(matches!(err, TlsError::NoPrivateKey { .. }), "{err}");

    let files = TlsFiles {
        client_ca: Some(pki.ca_key.clone()),
        ..dev_files(&pki)
    };
    let err = ReloadableTls::load(files, vec![]).expect_err("key as CA");
    assert!(matches!(err, TlsError::NoCaCertificate { .. }), "{err}");
    assert!(
        err.to_string().contains(&pki.ca_key.display().to_string()),
        "{err}"
    );

    let files = TlsFiles {
        client_ca: None,
        ..dev_files(&pki)
    };
    ReloadableTls::load(files, vec![]).expect("no client CA is fine");

    let err = issue_client_cert(&pki.ca_cert, &pki.ca_key, "", 1).expect_err("empty name");
    assert!(matches!(err, TlsError::EmptyClientName), "{err}");
    let err = issue_client_cert(&pki.ca_key, &pki.ca_key, "gate-1", 1).expect_err("key as CA cert");
    assert!(matches!(err, TlsError::BadIssuer { .. }), "{err}");
}
