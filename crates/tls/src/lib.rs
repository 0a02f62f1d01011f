//! TLS for xray-screen's doors.
//!
//! - [`ReloadableTls`]: a rustls server config read from PEM files ([`TlsFiles`]), optionally
//!   verifying client certificates against a CA (mutual TLS, certificates optional), and
//!   re-read on demand without a restart.
//! - [`spawn_tls_acceptor`]: the accept loop that turns a `TcpListener` into a channel of
//!   established TLS streams; [`peer_certificate`] and [`principal_name`] say who a client
//!   certificate speaks for.
//! - [`ensure_dev_pki`]: a development CA and server certificate, so a fresh machine runs
//!   with TLS and nothing to configure; [`issue_client_cert`] issues client certificates.
//!
//! Every config is built on rustls' `ring` provider, passed explicitly: nothing here installs
//! or relies on a process-wide default provider.

mod accept;
mod config;
mod dev_pki;
mod error;
mod pem;
mod principal;

pub use accept::{peer_certificate, spawn_tls_acceptor};
pub use config::{ReloadableTls, TlsFiles, client_config};
pub use dev_pki::{DevPki, dev_files, ensure_dev_pki, issue_client_cert};
pub use error::TlsError;
pub use principal::principal_name;
// The stream types in this crate's API are tokio-rustls's: the doors name them through it.
pub use tokio_rustls;
