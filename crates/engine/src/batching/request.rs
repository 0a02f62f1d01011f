//! What travels through the batcher: an admitted, preprocessed image and its reply channel.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::sync::oneshot;

use super::BatchError;
use xray_types::Priority;

/// One image's raw model output and how it was produced.
#[derive(Debug, Clone)]
pub struct ModelOutput {
    /// The image's output tensor without the batch dimension, row-major.
    pub data: Vec<f32>,
    /// Its two dimensions (layout-dependent, see `OutputLayout`).
    pub dims: [usize; 2],
    /// From entering the batching queue to the start of its batch's run.
    pub queue_time: Duration,
    /// The model run of the whole batch.
    pub inference_time: Duration,
    pub batch_size: usize,
}

/// A place held against a priority level's queue bound, from admission (before decoding)
/// until the request leaves the queue in a batch or is dropped. Dropping it frees the place.
#[derive(Debug)]
pub struct Admission {
    pub(super) priority: Priority,
    held: Arc<AtomicUsize>,
    /// The client's own count of places, when it is bounded.
    client: Option<(Arc<ClientPlaces>, u64)>,
}

/// The places each client holds at one priority level, so that one client cannot take them
/// all.
#[derive(Debug, Default)]
pub(super) struct ClientPlaces(Mutex<HashMap<u64, usize>>);

impl ClientPlaces {
    /// Takes one of `client`'s places if it holds fewer than `share`.
    pub(super) fn take(&self, client: u64, share: usize) -> bool {
        let mut held = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let count = held.entry(client).or_default();
        if *count >= share {
            return false;
        }
        *count += 1;
        true
    }

    /// Gives back one of `client`'s places.
    pub(super) fn give_back(&self, client: u64) {
        let mut held = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = held.get_mut(&client) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.remove(&client);
            }
        }
    }
}

impl Admission {
    /// Takes a place if fewer than `bound` are held; `None` when the level is full.
    pub(super) fn try_take(
        priority: Priority,
        held: &Arc<AtomicUsize>,
        bound: usize,
    ) -> Option<Self> {
        held.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < bound).then_some(n + 1)
        })
        .ok()
        .map(|_| Admission {
            priority,
            held: Arc::clone(held),
            client: None,
        })
    }

    /// Counts this place as one of `client`'s too: it is given back with the place.
    pub(super) fn for_client(mut self, places: &Arc<ClientPlaces>, client: u64) -> Self {
        self.client = Some((Arc::clone(places), client));
        self
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.held.fetch_sub(1, Ordering::AcqRel);
        if let Some((places, client)) = &self.client {
            places.give_back(*client);
        }
    }
}

/// The reply a request's caller waits for.
pub(super) type Reply = oneshot::Sender<Result<ModelOutput, BatchError>>;

/// An image waiting for a batch: a job plus its place in the queue bound.
pub(super) struct InferRequest {
    pub job: Job,
    pub admission: Admission,
}

/// An image on its way to the model, once it has left the queue.
pub(super) struct Job {
    /// The letterboxed image, `3 x H x W` floats.
    pub input: Vec<f32>,
    pub enqueued: Instant,
    /// After this instant nobody waits for the result.
    pub deadline: Option<Instant>,
    pub reply: Reply,
    /// Who sent it: clients take turns in the queue.
    pub client: u64,
}

/// Why a request left the queue without being run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DropReason {
    /// Its deadline passed.
    Deadline,
    /// Its caller went away (the reply's receiver was dropped).
    Cancelled,
}

impl DropReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Deadline => "deadline",
            DropReason::Cancelled => "cancelled",
        }
    }
}

impl Job {
    /// Why this job must not be run at `now`, if so.
    pub fn unrunnable(&self, now: Instant) -> Option<DropReason> {
        if self.deadline.is_some_and(|d| now >= d) {
            Some(DropReason::Deadline)
        } else if self.reply.is_closed() {
            Some(DropReason::Cancelled)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_is_bounded_and_freed_on_drop() {
        let held = Arc::new(AtomicUsize::new(0));
        let a = Admission::try_take(Priority::Live, &held, 2).expect("first");
        let b = Admission::try_take(Priority::Live, &held, 2).expect("second");
        assert!(Admission::try_take(Priority::Live, &held, 2).is_none());
        drop(a);
        let c = Admission::try_take(Priority::Live, &held, 2).expect("freed place");
        drop((b, c));
        assert_eq!(held.load(Ordering::Acquire), 0);
    }

    #[test]
    fn a_client_holds_at_most_its_share_and_gets_it_back() {
        let places = Arc::new(ClientPlaces::default());
        let held = Arc::new(AtomicUsize::new(0));
        let take = |client| {
            places.take(client, 2).then(|| {
                Admission::try_take(Priority::Live, &held, 10)
                    .expect("room")
                    .for_client(&places, client)
            })
        };
        let first = take(1).expect("first of client 1");
        let _second = take(1).expect("second of client 1");
        assert!(take(1).is_none(), "client 1 holds its share");
        let _other = take(2).expect("client 2 is not held back");
        drop(first);
        assert!(take(1).is_some(), "the place came back");
    }
}
