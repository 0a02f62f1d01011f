//! The TLS accept loop. Handshakes run in their own tasks under a deadline, so a client that
//! is slow, silent, or not speaking TLS at all costs one task for at most the deadline and
//! never holds up the connections behind it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;

use crate::ReloadableTls;

/// How many finished handshakes may wait for the server to take them.
const READY_QUEUE: usize = 64;

/// After a failed `accept` (out of file descriptors, most likely) the loop waits this long
/// instead of spinning on the same error.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Spawns the accept loop on the current Tokio runtime and returns the channel of established
/// TLS streams with their peers' addresses.
///
/// Every connection gets `TCP_NODELAY` and a handshake on the config current when it arrived
/// (so a `reload` applies to the next connection). A handshake that fails or outlasts
/// `handshake_timeout` is logged at debug level with the peer and the reason, and dropped.
/// The loop ends when the receiver is dropped.
///
/// # Panics
///
/// Outside a Tokio runtime, as `tokio::spawn` does.
pub fn spawn_tls_acceptor(
    listener: TcpListener,
    tls: Arc<ReloadableTls>,
    handshake_timeout: Duration,
) -> mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)> {
    let (tx, rx) = mpsc::channel(READY_QUEUE);
    tokio::spawn(accept_loop(listener, tls, handshake_timeout, tx));
    rx
}

async fn accept_loop(
    listener: TcpListener,
    tls: Arc<ReloadableTls>,
    handshake_timeout: Duration,
    tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let accepted = tokio::select! {
            () = tx.closed() => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "accepting a TCP connection failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(%peer, error = %e, "cannot set TCP_NODELAY");
        }
        let acceptor = tls.acceptor();
        let tx = tx.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => {
                    // A send error means the server stopped listening; the stream just closes.
                    let _ = tx.send((stream, peer)).await;
                }
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                }
                Err(_) => {
                    tracing::debug!(%peer, timeout = ?handshake_timeout, "TLS handshake timed out");
                }
            }
        });
    }
    tracing::debug!("TLS accept loop stopped: nobody takes its connections");
}

/// The DER of the client's leaf certificate, if it presented one. With a client CA
/// configured, a certificate here has been verified against it.
pub fn peer_certificate(stream: &TlsStream<TcpStream>) -> Option<Vec<u8>> {
    let (_, connection) = stream.get_ref();
    connection
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|leaf| leaf.as_ref().to_vec())
}
