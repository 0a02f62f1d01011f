//! Reading a server's `/metrics` page: an HTTP/1.0 GET, plain or over TLS, with a bearer
//! token (no client library needed for one page on loopback or a LAN), and a parser for
//! the sample lines of the text format.

use std::{collections::BTreeMap, sync::Arc};

use anyhow::{Context, bail};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use xray_tls::tokio_rustls::{TlsConnector, rustls};

/// How to fetch a page: the token to send and, for `https://`, the TLS client config.
#[derive(Debug, Clone, Default)]
pub struct FetchAuth {
    pub token: Option<String>,
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &str,
) -> anyhow::Result<Vec<u8>> {
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    // A server may close a TLS connection without close_notify once it has answered.
    match stream.read_to_end(&mut response).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !response.is_empty() => {}
        Err(e) => return Err(e.into()),
    }
    Ok(response)
}

/// Fetches `url` (`http://HOST:PORT/PATH` or `https://...`) and returns the body.
pub async fn fetch(url: &str, auth: &FetchAuth) -> anyhow::Result<String> {
    let (tls, rest) = match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
        (Some(rest), _) => (false, rest),
        (_, Some(rest)) => (true, rest),
        _ => bail!("{url}: only http:// and https:// URLs are supported"),
    };
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/metrics"),
    };
    let stream = tokio::net::TcpStream::connect(host)
        .await
        .with_context(|| format!("cannot connect to {host} for {url}"))?;
    let authorization = auth
        .token
        .as_ref()
        .map(|t| format!("Authorization: Bearer {}\r\n", t.trim()))
        .unwrap_or_default();
    let request =
        format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n{authorization}Connection: close\r\n\r\n");
    let response = if tls {
        let config = auth
            .tls
            .clone()
            .with_context(|| format!("{url}: an https:// page needs a CA to trust"))?;
        let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
        let name =
            rustls::pki_types::ServerName::try_from(name.trim_matches(['[', ']']).to_string())
                .with_context(|| format!("{url}: {name} is not a host name"))?;
        let stream = TlsConnector::from(config)
            .connect(name, stream)
            .await
            .with_context(|| format!("TLS handshake with {host} failed"))?;
        exchange(stream, &request).await?
    } else {
        exchange(stream, &request).await?
    };
    let text = String::from_utf8(response).context("the metrics page is not UTF-8")?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .with_context(|| format!("{url}: malformed HTTP response"))?;
    let status = head.lines().next().unwrap_or_default();
    if !status.contains(" 200 ") {
        bail!("{url}: {status}");
    }
    Ok(body.to_string())
}

/// The samples of one scrape: `name{labels}` (labels as written by the server) to value.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    values: BTreeMap<String, f64>,
}

impl Samples {
    /// Adds another server's samples to these, series by series.
    pub fn add(&mut self, other: &Samples) {
        for (series, value) in &other.values {
            *self.values.entry(series.clone()).or_insert(0.0) += value;
        }
    }
}

impl std::fmt::Display for Samples {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (series, value) in &self.values {
            writeln!(f, "{series} {value}")?;
        }
        Ok(())
    }
}

impl Samples {
    /// Parses the sample lines of the Prometheus or OpenMetrics text format.
    pub fn parse(text: &str) -> Self {
        let values = text
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .filter_map(|line| {
                let (series, value) = line.rsplit_once(' ')?;
                Some((series.to_string(), value.trim().parse::<f64>().ok()?))
            })
            .collect();
        Self { values }
    }

    /// Fetches and parses `url`.
    pub async fn scrape(url: &str, auth: &FetchAuth) -> anyhow::Result<Self> {
        Ok(Self::parse(&fetch(url, auth).await?))
    }

    /// The sum of every series of metric `name` whose labels include each `key="value"` of
    /// `labels` (0 when none matches).
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.values
            .iter()
            .filter(|(series, _)| {
                let (metric, rest) = series.split_once('{').unwrap_or((series.as_str(), ""));
                metric == name
                    && labels
                        .iter()
                        .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
            })
            .map(|(_, v)| v)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_series_by_label() {
        let samples = Samples::parse(
            "# TYPE xray_requests counter\n\
             xray_requests_total{model=\"a\",outcome=\"success\"} 3\n\
             xray_requests_total{model=\"a\",outcome=\"rejected\"} 2\n\
             xray_requests_total{model=\"b\",outcome=\"success\"} 5\n\
             xray_models_ready 1\n# EOF\n",
        );
        assert_eq!(samples.sum("xray_requests_total", &[]), 10.0);
        assert_eq!(samples.sum("xray_requests_total", &[("model", "a")]), 5.0);
        assert_eq!(
            samples.sum("xray_requests_total", &[("outcome", "success")]),
            8.0
        );
        assert_eq!(samples.sum("xray_models_ready", &[]), 1.0);
        assert_eq!(samples.sum("xray_missing", &[]), 0.0);
    }
}
