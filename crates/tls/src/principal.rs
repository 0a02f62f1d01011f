//! Which principal a verified client certificate speaks for.

use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::TlsError;

/// The principal name a client certificate speaks for. The rule, in order:
///
/// 1. the Subject's Common Name (the first one, if there are several), unless it is empty;
/// 2. otherwise the first DNS name of the Subject Alternative Name extension;
/// 3. otherwise an error: the certificate names no principal.
///
/// Other Subject attributes (O, OU, ...) and other SAN kinds (IP addresses, e-mail, URIs)
/// never name a principal. The certificate is parsed, not verified: call this only on a
/// certificate the TLS handshake has already verified (see `peer_certificate`).
pub fn principal_name(cert_der: &[u8]) -> Result<String, TlsError> {
    let (_, cert) =
        X509Certificate::from_der(cert_der).map_err(|e| TlsError::Certificate(e.to_string()))?;
    if let Some(cn) = cert.subject().iter_common_name().next() {
        let cn = cn.as_str().map_err(|e| {
            TlsError::Certificate(format!("its Subject Common Name is not text: {e}"))
        })?;
        if !cn.is_empty() {
            return Ok(cn.to_owned());
        }
    }
    let san = cert
        .subject_alternative_name()
        .map_err(|e| TlsError::Certificate(format!("its Subject Alternative Name: {e}")))?;
    san.and_then(|san| {
        san.value.general_names.iter().find_map(|name| match name {
            GeneralName::DNSName(dns) if !dns.is_empty() => Some((*dns).to_owned()),
            _ => None,
        })
    })
    .ok_or(TlsError::NoPrincipal)
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};

    use super::*;

    fn cert(cn: Option<&str>, other_dn: bool, sans: &[&str]) -> Vec<u8> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let sans = sans.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut params = CertificateParams::new(sans).expect("params");
        let mut dn = DistinguishedName::new();
        if other_dn {
            dn.push(DnType::OrganizationName, "Port Authority");
        }
        if let Some(cn) = cn {
            dn.push(DnType::CommonName, cn);
        }
        params.distinguished_name = dn;
        params.self_signed(&key).expect("cert").der().to_vec()
    }

    #[test]
    fn common_name_wins_over_san() {
        let der = cert(Some("gate-1"), true, &["scanner-7.port.example"]);
        assert_eq!(principal_name(&der).expect("principal"), "gate-1");
    }

    #[test]
    fn falls_back_to_first_dns_san() {
        let der = cert(
            None,
            true,
            &["10.0.0.7", "scanner-7.port.example", "other.example"],
        );
        assert_eq!(
            principal_name(&der).expect("principal"),
            "scanner-7.port.example"
        );
    }

    #[test]
    fn empty_common_name_counts_as_absent() {
        let der = cert(Some(""), false, &["scanner-7.port.example"]);
        assert_eq!(
            principal_name(&der).expect("principal"),
            "scanner-7.port.example"
        );
    }

    #[test]
    fn no_cn_and_no_dns_san_is_an_error() {
        for der in [cert(None, true, &[]), cert(None, false, &["10.0.0.7"])] {
            let err = principal_name(&der).expect_err("no principal");
            assert!(matches!(err, TlsError::NoPrincipal), "{err}");
            assert!(err.to_string().contains("names no principal"), "{err}");
        }
    }

    #[test]
    fn garbage_is_an_error() {
        let err = principal_name(b"not a certificate").expect_err("garbage");
        assert!(matches!(err, TlsError::Certificate(_)), "{err}");
    }
}
