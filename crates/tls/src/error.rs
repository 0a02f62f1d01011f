//! The one error type of the crate. Every variant that comes from a file names the file, so an
//! operator reading a failed start or a failed reload knows which of the PEM files to fix.

use std::path::PathBuf;

/// What went wrong loading, reloading or generating TLS material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read (missing, unreadable, not UTF-8 where text is needed).
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A file could not be written (development PKI only).
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The file is not well-formed PEM.
    #[error("{} is not valid PEM: {reason}", path.display())]
    Pem { path: PathBuf, reason: String },

    /// The certificate file holds no `CERTIFICATE` block.
    #[error("{} holds no certificate (expected a PEM \"CERTIFICATE\" block)", path.display())]
    NoCertificate { path: PathBuf },

    /// The key file holds no private key block.
    #[error(
        "{} holds no private key (expected a PEM \"PRIVATE KEY\", \"EC PRIVATE KEY\" or \"RSA PRIVATE KEY\" block)",
        path.display()
    )]
    NoPrivateKey { path: PathBuf },

    /// The private key is not the key of the certificate's public key.
    #[error("the private key in {} does not match the certificate in {}", key.display(), cert.display())]
    KeyMismatch { cert: PathBuf, key: PathBuf },

    /// The certificate and key were read but rustls refused them (unsupported key type, ...).
    #[error("the certificate in {} with the key in {} cannot be used: {reason}", cert.display(), key.display())]
    Unusable {
        cert: PathBuf,
        key: PathBuf,
        reason: String,
    },

    /// The client CA file holds no certificate.
    #[error("client CA file {} holds no certificate (expected PEM \"CERTIFICATE\" blocks)", path.display())]
    NoCaCertificate { path: PathBuf },

    /// A certificate of the client CA file cannot serve as a trust anchor.
    #[error("client CA file {} cannot be used: {reason}", path.display())]
    BadCa { path: PathBuf, reason: String },

    /// A CA certificate or key could not be loaded for signing (development PKI only).
    #[error("cannot sign with the CA in {}: {reason}", path.display())]
    BadIssuer { path: PathBuf, reason: String },

    /// rustls rejected the crypto provider's protocol versions; a build problem, not a file's.
    #[error("the TLS crypto provider cannot be used: {0}")]
    Provider(String),

    /// A certificate could not be generated (development PKI only).
    #[error("cannot generate the {what}: {source}")]
    Generate {
        what: &'static str,
        #[source]
        source: rcgen::Error,
    },

    /// `issue_client_cert` was asked for a certificate with an empty name.
    #[error("a client certificate needs a name (its Subject Common Name): the name given is empty")]
    EmptyClientName,

    /// A certificate handed to `principal_name` is not parseable X.509.
    #[error("the client certificate is not valid X.509: {0}")]
    Certificate(String),

    /// A certificate names no principal (no Common Name, no DNS Subject Alternative Name).
    #[error(
        "the client certificate names no principal: its Subject has no Common Name and it has no DNS Subject Alternative Name"
    )]
    NoPrincipal,
}
