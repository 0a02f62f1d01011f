//! A development PKI, so a fresh machine serves TLS with nothing to configure: one CA, one
//! server certificate for the loopback names, and client certificates issued on demand.
//! Not for production: the CA key lies next to the server's, readable by whoever runs it.

use std::io::Write;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

use crate::{TlsError, TlsFiles};

const CA_NAME: &str = "xray-screen development CA";
const CA_DAYS: i64 = 3650;
const SERVER_DAYS: i64 = 730;
const SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];
/// Certificates start this long before they are made, so a client whose clock is a little
/// behind still accepts them.
const BACKDATE: Duration = Duration::hours(1);

/// The development PKI's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevPki {
    pub dir: PathBuf,
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// Whether this call generated the files (false: they were already there and reused).
    pub created: bool,
}

/// The development PKI in `dir`: `ca.pem`, `ca.key`, `server.pem`, `server.key`.
///
/// When all four exist they are reused as they are. Otherwise the directory is created (mode
/// 0700 on Unix) and all four are written afresh: an ECDSA P-256 CA valid ten years, and a
/// server certificate it signs for `localhost`, `127.0.0.1` and `::1`, valid two years. Keys
/// are written with mode 0600. A fresh CA invalidates client certificates of the old one.
pub fn ensure_dev_pki(dir: &Path) -> Result<DevPki, TlsError> {
    let mut pki = DevPki {
        dir: dir.to_path_buf(),
        ca_cert: dir.join("ca.pem"),
        ca_key: dir.join("ca.key"),
        server_cert: dir.join("server.pem"),
        server_key: dir.join("server.key"),
        created: false,
    };
    let all_there = [&pki.ca_cert, &pki.ca_key, &pki.server_cert, &pki.server_key]
        .iter()
        .all(|p| p.is_file());
    if all_there {
        return Ok(pki);
    }
    create_private_dir(dir)?;
    let now = OffsetDateTime::now_utc();

    let ca_key = new_key("development CA key")?;
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = name(CA_NAME);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params.not_before = now - BACKDATE;
    ca_params.not_after = now + Duration::days(CA_DAYS);
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .map_err(|source| TlsError::Generate {
            what: "development CA certificate",
            source,
        })?;
    let issuer = Issuer::new(ca_params, &ca_key);

    let server_key = new_key("development server key")?;
    let server_names = SERVER_NAMES.map(String::from).to_vec();
    let mut server_params =
        CertificateParams::new(server_names).map_err(|source| TlsError::Generate {
            what: "development server certificate",
            source,
        })?;
    server_params.distinguished_name = name("localhost");
    server_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server_params.use_authority_key_identifier_extension = true;
    server_params.not_before = now - BACKDATE;
    server_params.not_after = now + Duration::days(SERVER_DAYS);
    let server_cert = server_params
        .signed_by(&server_key, &issuer)
        .map_err(|source| TlsError::Generate {
            what: "development server certificate",
            source,
        })?;

    write_file(&pki.ca_key, ca_key.serialize_pem().as_bytes(), true)?;
    write_file(&pki.ca_cert, ca_cert.pem().as_bytes(), false)?;
    write_file(&pki.server_key, server_key.serialize_pem().as_bytes(), true)?;
    write_file(&pki.server_cert, server_cert.pem().as_bytes(), false)?;
    pki.created = true;
    Ok(pki)
}

/// The server files of the development PKI, with its CA as the client CA, so client
/// certificates from `issue_client_cert` are accepted.
pub fn dev_files(pki: &DevPki) -> TlsFiles {
    TlsFiles {
        cert: pki.server_cert.clone(),
        key: pki.server_key.clone(),
        client_ca: Some(pki.ca_cert.clone()),
    }
}

/// Issues a client certificate signed by the CA in `ca_cert_pem` / `ca_key_pem`: Subject CN
/// `name` (the principal, see `principal_name`), extended key usage clientAuth, valid for
/// `days` days from now. Returns (certificate PEM, private key PEM); the key is a new ECDSA
/// P-256 key that is not written anywhere.
pub fn issue_client_cert(
    ca_cert_pem: &Path,
    ca_key_pem: &Path,
    name: &str,
    days: u32,
) -> Result<(String, String), TlsError> {
    if name.is_empty() {
        return Err(TlsError::EmptyClientName);
    }
    let ca_key_text = read_text(ca_key_pem)?;
    let ca_key = KeyPair::from_pem(&ca_key_text).map_err(|e| TlsError::BadIssuer {
        path: ca_key_pem.to_path_buf(),
        reason: format!("not a usable PEM private key: {e}"),
    })?;
    let ca_cert_text = read_text(ca_cert_pem)?;
    let issuer =
        Issuer::from_ca_cert_pem(&ca_cert_text, &ca_key).map_err(|e| TlsError::BadIssuer {
            path: ca_cert_pem.to_path_buf(),
            reason: format!("not a usable PEM CA certificate: {e}"),
        })?;

    let now = OffsetDateTime::now_utc();
    let key = new_key("client key")?;
    let mut params = CertificateParams::default();
    params.distinguished_name = self::name(name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = now - BACKDATE;
    params.not_after = now + Duration::days(i64::from(days));
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(|source| TlsError::Generate {
            what: "client certificate",
            source,
        })?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn
}

fn new_key(what: &'static str) -> Result<KeyPair, TlsError> {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(|source| TlsError::Generate { what, source })
}

fn read_text(path: &Path) -> Result<String, TlsError> {
    std::fs::read_to_string(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn create_private_dir(dir: &Path) -> Result<(), TlsError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| TlsError::Write {
        path: dir.to_path_buf(),
        source,
    })
}

/// Writes through a temporary file and a rename, so an interrupted run never leaves a
/// half-written file that the next run would take as present. A `private` file is created
/// 0600 before any byte is in it.
fn write_file(path: &Path, bytes: &[u8], private: bool) -> Result<(), TlsError> {
    let err = |source| TlsError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(&tmp).map_err(err)?;
    file.write_all(bytes).map_err(err)?;
    file.sync_all().map_err(err)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(err)
}
