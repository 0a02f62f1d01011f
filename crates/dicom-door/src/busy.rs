//! An association over `max_associations` is rejected, not queued: its A-ASSOCIATE-RQ is
//! read (so that the rejection is not lost to a reset) and answered A-ASSOCIATE-RJ,
//! rejected-transient, service provider (presentation), local limit exceeded; a scanner
//! retries later. This runs on the runtime and holds no association slot.

use std::time::Duration;

use dicom_ul::{
    Pdu,
    pdu::{
        AssociationRJ, AssociationRJResult, AssociationRJServiceProviderPresentationReason,
        AssociationRJSource,
    },
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// The most of a refused request that is read: an A-ASSOCIATE-RQ is small.
const MAX_REQUEST: u64 = 64 << 10;
/// How long a refused peer has to send its request.
const READ_WITHIN: Duration = Duration::from_secs(5);

/// Answers one connection that found the door full.
pub async fn refuse(mut socket: TcpStream) {
    let peer = socket.peer_addr().ok();
    // PDU header: type, reserved, then the length of what follows (big endian).
    let mut header = [0u8; 6];
    let read = tokio::time::timeout(READ_WITHIN, async {
        socket.read_exact(&mut header).await?;
        let length = u64::from(u32::from_be_bytes([
            header[2], header[3], header[4], header[5],
        ]));
        let mut body = (&mut socket).take(length.min(MAX_REQUEST));
        tokio::io::copy(&mut body, &mut tokio::io::sink()).await
    })
    .await;
    if !matches!(read, Ok(Ok(_))) || header[0] != 0x01 {
        return;
    }
    let rejection = Pdu::AssociationRJ(AssociationRJ {
        result: AssociationRJResult::Transient,
        source: AssociationRJSource::ServiceProviderPresentation(
            AssociationRJServiceProviderPresentationReason::LocalLimitExceeded,
        ),
    });
    let mut bytes = Vec::new();
    if dicom_ul::write_pdu(&mut bytes, &rejection).is_ok() && socket.write_all(&bytes).await.is_ok()
    {
        // As PS3.8 has it, the requester closes the connection after an A-ASSOCIATE-RJ (the
        // acceptor waits, up to its ARTIM time): closing first can make a loaded peer see the
        // connection end before it has read the rejection.
        let _ = tokio::time::timeout(READ_WITHIN, async {
            let mut rest = [0u8; 1024];
            while matches!(socket.read(&mut rest).await, Ok(n) if n > 0) {}
        })
        .await;
        let _ = socket.shutdown().await;
    }
    tracing::info!(
        ?peer,
        "DICOM association rejected: the door serves its most associations at once"
    );
}
