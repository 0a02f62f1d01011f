//! The connections both doors serve: accepted on a port, over TLS when the server has it
//! (handshakes run beside one another, so a slow or hostile client holds up no other), and
//! carrying who is at the other end: its address and the principal its verified client
//! certificate names. gRPC (tonic) and HTTP (axum) take the same [`Connection`]s.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::mpsc,
};
use xray_service::Credential;
use xray_tls::{
    ReloadableTls, peer_certificate, principal_name, spawn_tls_acceptor,
    tokio_rustls::server::TlsStream,
};

/// How long a client may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections accepted but not yet taken by the server.
const ACCEPTED: usize = 64;

/// Who is at the other end of a connection.
#[derive(Debug, Clone)]
pub struct Peer {
    pub addr: SocketAddr,
    /// The principal named by the client certificate that the TLS layer verified against
    /// `--tls-client-ca` (None: no certificate; Err: it names none).
    pub certificate: Option<Result<String, String>>,
}

impl Peer {
    /// The credential a call presents: its `authorization` header when it has one, else the
    /// connection's client certificate.
    pub fn credential(&self, authorization: Option<&[u8]>) -> Credential {
        match (authorization, &self.certificate) {
            (Some(_), _) | (None, None) => Credential::from_authorization(authorization),
            (None, Some(Ok(name))) => Credential::Certificate(name.clone()),
            (None, Some(Err(_))) => Credential::Malformed(
                "the client certificate names no principal (it has no subject common name and no DNS name)",
            ),
        }
    }
}

enum Io {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// One accepted connection.
pub struct Connection {
    io: Io,
    peer: Peer,
}

impl Connection {
    pub fn peer(&self) -> &Peer {
        &self.peer
    }
}

/// Accepts connections on `listener`, through TLS when `tls` is given; the receiver yields
/// them until it is dropped.
pub fn accept(
    listener: TcpListener,
    tls: Option<Arc<ReloadableTls>>,
) -> mpsc::Receiver<Connection> {
    let (tx, rx) = mpsc::channel(ACCEPTED);
    match tls {
        Some(tls) => {
            let mut handshaken = spawn_tls_acceptor(listener, tls, HANDSHAKE_TIMEOUT);
            tokio::spawn(async move {
                while let Some((stream, addr)) = handshaken.recv().await {
                    let certificate = peer_certificate(&stream)
                        .map(|der| principal_name(&der).map_err(|e| e.to_string()));
                    let connection = Connection {
                        io: Io::Tls(Box::new(stream)),
                        peer: Peer { addr, certificate },
                    };
                    if tx.send(connection).await.is_err() {
                        break;
                    }
                }
            });
        }
        None => {
            tokio::spawn(async move {
                loop {
                    let (stream, addr) = tokio::select! {
                        accepted = listener.accept() => match accepted {
                            Ok(accepted) => accepted,
                            Err(e) => {
                                // Out of descriptors and the like: wait rather than spin.
                                tracing::warn!(error = %e, "cannot accept a connection");
                                tokio::time::sleep(Duration::from_millis(100)).await;
                                continue;
                            }
                        },
                        _ = tx.closed() => break,
                    };
                    // Answers go out in several small HTTP/2 frames (headers, data,
                    // trailers); without TCP_NODELAY, Nagle's algorithm holds the later
                    // ones until the client's delayed ACK, about 40 ms on Linux.
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::warn!(error = %e, "cannot set TCP_NODELAY on a connection");
                    }
                    let connection = Connection {
                        io: Io::Plain(stream),
                        peer: Peer {
                            addr,
                            certificate: None,
                        },
                    };
                    if tx.send(connection).await.is_err() {
                        break;
                    }
                }
            });
        }
    }
    rx
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.io {
            Io::Plain(s) => s.is_write_vectored(),
            Io::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// tonic hands each request of a connection its [`Peer`] (in the request's extensions).
impl tonic::transport::server::Connected for Connection {
    type ConnectInfo = Peer;

    fn connect_info(&self) -> Peer {
        self.peer.clone()
    }
}

/// The accepted connections as axum's listener.
pub struct Connections {
    pub accepted: mpsc::Receiver<Connection>,
    pub local: SocketAddr,
}

impl axum::serve::Listener for Connections {
    type Io = Connection;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Connection, SocketAddr) {
        match self.accepted.recv().await {
            Some(c) => {
                let addr = c.peer.addr;
                (c, addr)
            }
            // The accept loop ended (the port is closed): nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// axum hands each request of a connection its [`Peer`] (`ConnectInfo<Peer>`).
impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, Connections>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, Connections>) -> Peer {
        stream.io().peer.clone()
    }
}
