//! The server's TLS configuration, built from its files and swapped in whole on reload, so a
//! certificate renewed on disk takes effect without a restart and without dropping connections
//! (a handshake in flight keeps the config it started with).

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use tokio_rustls::TlsAcceptor;

use crate::{TlsError, pem};

/// The PEM files of a TLS server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server's certificate chain, leaf first.
    pub cert: PathBuf,
    /// The server certificate's private key.
    pub key: PathBuf,
    /// CA certificates that client certificates must be signed by (mutual TLS). A client
    /// certificate is verified when one is presented but not required, because other clients
    /// authenticate with bearer tokens. `None`: no client certificate is asked for.
    pub client_ca: Option<PathBuf>,
}

/// A server config that can be re-read from its files while the server runs.
#[derive(Debug)]
pub struct ReloadableTls {
    files: TlsFiles,
    alpn: Vec<Vec<u8>>,
    current: RwLock<Arc<ServerConfig>>,
}

impl ReloadableTls {
    /// Reads the files and builds the config. `alpn` is offered to clients in order, e.g.
    /// `vec![b"h2".to_vec()]` for gRPC or `vec![b"http/1.1".to_vec()]` for HTTP.
    pub fn load(files: TlsFiles, alpn: Vec<Vec<u8>>) -> Result<Self, TlsError> {
        let config = build(&files, &alpn)?;
        Ok(Self {
            files,
            alpn,
            current: RwLock::new(Arc::new(config)),
        })
    }

    /// Re-reads the files and swaps the new config in. On error the old config stays in use.
    pub fn reload(&self) -> Result<(), TlsError> {
        let config = Arc::new(build(&self.files, &self.alpn)?);
        // The lock only guards an Arc swap, which cannot leave it half-written, so a poisoned
        // lock still holds a whole config.
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = config;
        Ok(())
    }

    /// An acceptor on the current config.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.config())
    }

    /// The current config.
    pub fn config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The files the config is read from.
    pub fn files(&self) -> &TlsFiles {
        &self.files
    }
}

/// The crate's one crypto provider. Passed explicitly rather than installed process-wide, so
/// nothing depends on which crate happened to install a default first.
///
/// rustls 0.23.48 deprecates the ring provider for lacking post-quantum key exchange; the
/// alternative, aws-lc-rs, needs cmake and a C toolchain on every build machine, which this
/// workspace does not require. Revisit when the doors need post-quantum key exchange.
#[allow(deprecated)]
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn build(files: &TlsFiles, alpn: &[Vec<u8>]) -> Result<ServerConfig, TlsError> {
    let chain = pem::chain(&files.cert)?;
    let key = pem::private_key(&files.key)?;
    let provider = provider();
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Provider(e.to_string()))?;
    let builder = match &files.client_ca {
        Some(ca) => {
            let roots = pem::client_roots(ca)?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| TlsError::BadCa {
                    path: ca.clone(),
                    reason: e.to_string(),
                })?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| match e {
        rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
            TlsError::KeyMismatch {
                cert: files.cert.clone(),
                key: files.key.clone(),
            }
        }
        other => TlsError::Unusable {
            cert: files.cert.clone(),
            key: files.key.clone(),
            reason: other.to_string(),
        },
    })?;
    config.alpn_protocols = alpn.to_vec();
    Ok(config)
}

/// A client's TLS config that trusts the CAs in `ca` (PEM) and speaks `alpn`: for the tools
/// and tests that call the doors (the load harness's metrics scrape, for one).
pub fn client_config(
    ca: &std::path::Path,
    alpn: Vec<Vec<u8>>,
) -> Result<rustls::ClientConfig, TlsError> {
    let roots = pem::client_roots(ca)?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Provider(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn;
    Ok(config)
}
