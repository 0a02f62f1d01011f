//! What other nodes commit, delivered to a [`NoticeSink`]: a dedicated connection (not a
//! pooled one) LISTENs on the risk and message channels; when the database goes away it
//! reconnects with backoff and then delivers [`Notice::Resync`], since notices sent while it
//! was away are lost.

use std::{sync::mpsc::SyncSender, time::Duration};

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};
use xray_customs::store::{Notice, NoticeSink};

use crate::{error::Failure, write::RISK_CHANNEL};

/// The channel [`Store::publish`](xray_customs::store::Store::publish) sends on (payload:
/// JSON `{"topic", "payload"}`).
pub const MESSAGE_CHANNEL: &str = "xray_message";

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const LONGEST_BACKOFF: Duration = Duration::from_secs(5);

/// Listens until the store's runtime stops; the first connection's outcome goes to `ready`
/// (a listener that cannot start at all ends there).
pub async fn run(
    config: tokio_postgres::Config,
    target: String,
    sink: NoticeSink,
    ready: SyncSender<Result<(), Failure>>,
) {
    let mut ready = Some(ready);
    let mut backoff = FIRST_BACKOFF;
    loop {
        match connect(&config).await {
            Ok((client, mut messages)) => {
                match ready.take() {
                    Some(ready) => {
                        let _ = ready.send(Ok(()));
                    }
                    None => {
                        tracing::info!(database = %target, "listening again for other nodes' changes");
                        sink(Notice::Resync);
                    }
                }
                backoff = FIRST_BACKOFF;
                while let Some(n) = messages.recv().await {
                    if let Some(notice) = notice_of(n.channel(), n.payload()) {
                        sink(notice);
                    }
                }
                drop(client);
                tracing::warn!(database = %target, "the listening connection closed; reconnecting");
            }
            Err(e) => {
                if let Some(ready) = ready.take() {
                    let _ = ready.send(Err(e));
                    return;
                }
                tracing::debug!(database = %target, error = ?e, "cannot listen yet");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(LONGEST_BACKOFF);
    }
}

/// A connection that LISTENs on both channels, and its notifications (the receiver ends
/// when the connection does).
async fn connect(
    config: &tokio_postgres::Config,
) -> Result<
    (
        tokio_postgres::Client,
        mpsc::UnboundedReceiver<tokio_postgres::Notification>,
    ),
    Failure,
> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let (tx, rx) = mpsc::unbounded_channel();
    // The connection is driven here; its notifications are handed on.
    tokio::spawn(async move {
        let mut stream = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = stream.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if tx.send(n).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "the listening connection failed");
                    return;
                }
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN {RISK_CHANNEL}; LISTEN {MESSAGE_CHANNEL}"))
        .await?;
    Ok((client, rx))
}

fn notice_of(channel: &str, payload: &str) -> Option<Notice> {
    if channel == RISK_CHANNEL {
        match payload.parse() {
            Ok(sequence) => Some(Notice::RiskChanged { sequence }),
            Err(_) => {
                tracing::warn!(payload, "a risk notice without a sequence number");
                None
            }
        }
    } else if channel == MESSAGE_CHANNEL {
        #[derive(serde::Deserialize)]
        struct Message {
            topic: String,
            payload: String,
        }
        match serde_json::from_str::<Message>(payload) {
            Ok(m) => Some(Notice::Message {
                topic: m.topic,
                payload: m.payload,
            }),
            Err(e) => {
                tracing::warn!(error = %e, "a message notice that is not one");
                None
            }
        }
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_are_read_from_their_channels() {
        assert_eq!(
            notice_of(RISK_CHANNEL, "42"),
            Some(Notice::RiskChanged { sequence: 42 })
        );
        assert_eq!(notice_of(RISK_CHANNEL, "x"), None);
        assert_eq!(
            notice_of(MESSAGE_CHANNEL, r#"{"topic":"t","payload":"p"}"#),
            Some(Notice::Message {
                topic: "t".into(),
                payload: "p".into()
            })
        );
        assert_eq!(notice_of(MESSAGE_CHANNEL, "{"), None);
        assert_eq!(notice_of("other", "1"), None);
    }
}
