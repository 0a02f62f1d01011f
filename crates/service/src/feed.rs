//! The risk feed behind `WatchRisk`. The store numbers risk changes in commit order; the feed
//! only announces the newest committed number, and each subscriber reads what it has not yet
//! sent from the store. So a slow subscriber never loses changes, a reconnecting one resumes
//! from its last sequence number, and changes published out of order (two writers finishing
//! in the other order) still reach every subscriber in sequence order.

use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use xray_customs::{
    declaration::RiskChange,
    store::{Store, StoreError},
};
use xray_metrics::metrics;

use crate::Error;

/// Changes read from the store at a time.
const PAGE: usize = 256;

/// Changes buffered per subscriber before it waits for its client.
const SUBSCRIBER_BUFFER: usize = 64;

/// Announces committed risk changes; cheap to clone.
#[derive(Clone)]
pub struct RiskFeed {
    store: Arc<dyn Store>,
    /// The sequence number of the newest committed change.
    newest: Arc<watch::Sender<u64>>,
    /// Turns true when the server begins to shut down: every subscription then ends.
    stopping: watch::Receiver<bool>,
}

impl RiskFeed {
    pub fn new(store: Arc<dyn Store>, newest: u64, stopping: watch::Receiver<bool>) -> Self {
        Self {
            store,
            newest: Arc::new(watch::Sender::new(newest)),
            stopping,
        }
    }

    /// After `change` is committed.
    pub fn published(&self, change: &RiskChange) {
        self.newest.send_modify(|n| *n = (*n).max(change.sequence));
        metrics().risk_change(change.channel.as_str());
    }

    /// Another node committed the change numbered `sequence`.
    pub fn heard(&self, sequence: u64) {
        self.newest.send_modify(|n| *n = (*n).max(sequence));
    }

    /// Changes may have been committed unheard (the store's listener reconnected): every
    /// subscriber reads the store again.
    pub fn resync(&self) {
        self.newest.send_modify(|_| {});
    }

    /// Every change after `after` (none given: after the newest one now), in sequence order,
    /// for as long as the receiver is kept. When the server shuts down, what is committed is
    /// sent, then `ShuttingDown` with the sequence number to resume after.
    pub fn subscribe(&self, after: Option<u64>) -> mpsc::Receiver<Result<RiskChange, Error>> {
        let (tx, rx) = mpsc::channel(SUBSCRIBER_BUFFER);
        let mut newest = self.newest.subscribe();
        let store = Arc::clone(&self.store);
        let mut last = after.unwrap_or_else(|| *newest.borrow_and_update());
        let mut stopping = self.stopping.clone();
        tokio::spawn(async move {
            loop {
                let read = {
                    let store = Arc::clone(&store);
                    tokio::task::spawn_blocking(move || store.risk_changes_after(last, PAGE)).await
                };
                let changes = match read {
                    Ok(Ok(changes)) => changes,
                    Ok(Err(e)) => {
                        let _ = tx.send(Err(e.into())).await;
                        return;
                    }
                    Err(e) => {
                        let _ = tx
                            .send(Err(Error::Store(StoreError::Database(format!(
                                "risk feed task: {e}"
                            )))))
                            .await;
                        return;
                    }
                };
                if changes.is_empty() {
                    if *stopping.borrow() {
                        let _ = tx
                            .send(Err(Error::ShuttingDown(format!(
                                "resume WatchRisk with after_sequence {last}"
                            ))))
                            .await;
                        return;
                    }
                    tokio::select! {
                        changed = newest.changed() => if changed.is_err() { return },
                        _ = stopping.wait_for(|s| *s) => {}
                        _ = tx.closed() => return,
                    }
                    continue;
                }
                for change in changes {
                    last = change.sequence;
                    if tx.send(Ok(change)).await.is_err() {
                        return;
                    }
                }
            }
        });
        rx
    }
}
