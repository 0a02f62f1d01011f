//! How the harness reaches a server: its gRPC address (`https://` for TLS, trusting
//! `--ca-cert`), the bearer token it sends with every call and scrape, and the metrics page
//! (plain or over TLS).

use std::{path::PathBuf, sync::Arc};

use anyhow::Context;
use tonic::{
    metadata::{Ascii, MetadataValue},
    service::Interceptor,
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint},
};

/// A server and the credentials to call it with.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http://HOST:PORT` or `https://HOST:PORT`.
    pub address: String,
    /// A bearer token (`xst_...`) sent with every call; none: calls are anonymous.
    pub token: Option<String>,
    /// The CA to trust for `https://` addresses [default: none, so https needs it].
    pub ca_cert: Option<PathBuf>,
}

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Debug, Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

impl Target {
    /// The interceptor that sends this target's token.
    pub fn bearer(&self) -> anyhow::Result<Bearer> {
        let value = self
            .token
            .as_ref()
            .map(|t| {
                format!("Bearer {}", t.trim())
                    .parse::<MetadataValue<Ascii>>()
                    .context("the token is not printable ASCII")
            })
            .transpose()?;
        Ok(Bearer(value))
    }

    /// A connected channel (one HTTP/2 connection).
    pub async fn channel(&self) -> anyhow::Result<Channel> {
        let mut endpoint = Endpoint::from_shared(self.address.clone())
            .with_context(|| format!("{} is not a valid address", self.address))?;
        if self.address.starts_with("https://") {
            let mut tls = ClientTlsConfig::new();
            if let Some(ca) = &self.ca_cert {
                let pem = std::fs::read(ca)
                    .with_context(|| format!("cannot read the CA certificate {}", ca.display()))?;
                tls = tls.ca_certificate(Certificate::from_pem(pem));
            }
            endpoint = endpoint
                .tls_config(tls)
                .context("the TLS settings cannot be used")?;
        }
        endpoint
            .connect()
            .await
            .with_context(|| format!("cannot connect to {}", self.address))
    }

    /// The TLS client config for an `https://` metrics page.
    pub fn metrics_tls(&self) -> anyhow::Result<Arc<xray_tls::tokio_rustls::rustls::ClientConfig>> {
        let ca = self
            .ca_cert
            .as_ref()
            .context("an https:// metrics page needs --ca-cert")?;
        Ok(Arc::new(xray_tls::client_config(
            ca,
            vec![b"http/1.1".to_vec()],
        )?))
    }
}
