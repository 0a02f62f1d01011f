//! The batching queue, owned by the batching thread alone: one lane per priority, and within
//! a lane one FIFO per client, served in turn. A client that keeps many scans waiting (a
//! greedy stream) takes one place in each round, so a scan from another client joins the
//! next batch instead of waiting behind all of them.

use std::{collections::VecDeque, time::Instant};

use super::request::{DropReason, InferRequest};
use xray_types::Priority;

/// One client's waiting requests, in arrival order.
struct ClientQueue {
    client: u64,
    requests: VecDeque<InferRequest>,
}

/// The requests of one priority level: clients in turn, each in arrival order.
#[derive(Default)]
struct Lane {
    /// Clients with requests waiting; the front one gives the next request.
    clients: VecDeque<ClientQueue>,
    len: usize,
}

impl Lane {
    fn push(&mut self, request: InferRequest) {
        self.len += 1;
        let client = request.job.client;
        match self.clients.iter_mut().find(|c| c.client == client) {
            Some(queue) => queue.requests.push_back(request),
            None => self.clients.push_back(ClientQueue {
                client,
                requests: VecDeque::from([request]),
            }),
        }
    }

    /// The next request in turn: the front client's oldest, and that client goes to the back.
    fn pop(&mut self) -> Option<InferRequest> {
        let mut queue = self.clients.pop_front()?;
        let request = queue.requests.pop_front();
        if !queue.requests.is_empty() {
            self.clients.push_back(queue);
        }
        if request.is_some() {
            self.len -= 1;
        }
        request
    }

    fn requests(&self) -> impl Iterator<Item = &InferRequest> {
        self.clients.iter().flat_map(|c| c.requests.iter())
    }
}

/// Requests waiting for a batch, by priority.
#[derive(Default)]
pub(super) struct BatchQueue {
    lanes: [Lane; 2],
}

impl BatchQueue {
    pub fn push(&mut self, request: InferRequest) {
        self.lanes[request.admission.priority.index()].push(request);
    }

    pub fn len(&self) -> usize {
        self.lanes.iter().map(|lane| lane.len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Requests waiting at one priority level.
    pub fn depth(&self, priority: Priority) -> usize {
        self.lanes[priority.index()].len
    }

    /// When the longest-waiting request entered the queue.
    pub fn oldest(&self) -> Option<Instant> {
        self.lanes
            .iter()
            .flat_map(|lane| lane.clients.iter())
            .filter_map(|c| c.requests.front().map(|r| r.job.enqueued))
            .min()
    }

    /// The soonest deadline of any waiting request.
    pub fn earliest_deadline(&self) -> Option<Instant> {
        self.lanes
            .iter()
            .flat_map(Lane::requests)
            .filter_map(|r| r.job.deadline)
            .min()
    }

    /// Removes the requests that must not run at `now` (expired or abandoned).
    pub fn remove_unrunnable(&mut self, now: Instant) -> Vec<(InferRequest, DropReason)> {
        let mut removed = Vec::new();
        for lane in &mut self.lanes {
            if lane.requests().all(|r| r.job.unrunnable(now).is_none()) {
                continue;
            }
            for queue in &mut lane.clients {
                let mut kept = VecDeque::with_capacity(queue.requests.len());
                for request in queue.requests.drain(..) {
                    match request.job.unrunnable(now) {
                        Some(reason) => removed.push((request, reason)),
                        None => kept.push_back(request),
                    }
                }
                queue.requests = kept;
            }
            lane.clients.retain(|c| !c.requests.is_empty());
            lane.len = lane.clients.iter().map(|c| c.requests.len()).sum();
        }
        removed
    }

    /// Takes up to `max` requests: live ones first; within a level, clients in turn.
    pub fn take_batch(&mut self, max: usize) -> Vec<InferRequest> {
        let mut batch = Vec::with_capacity(max.min(self.len()));
        for lane in &mut self.lanes {
            while batch.len() < max {
                match lane.pop() {
                    Some(request) => batch.push(request),
                    None => break,
                }
            }
        }
        batch
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{Arc, atomic::AtomicUsize},
        time::Duration,
    };

    use tokio::sync::oneshot;

    use super::*;
    use crate::batching::request::{Admission, Job};

    /// A queued request and the receiver its answer would go to.
    type Queued = (
        InferRequest,
        oneshot::Receiver<Result<crate::batching::ModelOutput, crate::batching::BatchError>>,
    );

    fn request(priority: Priority, tag: f32, deadline: Option<Instant>) -> Queued {
        from_client(0, priority, tag, deadline)
    }

    fn from_client(client: u64, priority: Priority, tag: f32, deadline: Option<Instant>) -> Queued {
        let held = Arc::new(AtomicUsize::new(0));
        let (reply, rx) = oneshot::channel();
        let request = InferRequest {
            job: Job {
                input: vec![tag],
                enqueued: Instant::now(),
                deadline,
                reply,
                client,
            },
            admission: Admission::try_take(priority, &held, 1).expect("place"),
        };
        (request, rx)
    }

    #[test]
    fn live_requests_go_first_and_each_lane_keeps_its_order() {
        let mut queue = BatchQueue::default();
        let mut receivers = Vec::new();
        for (priority, tag) in [
            (Priority::Backoffice, 1.0),
            (Priority::Live, 2.0),
            (Priority::Backoffice, 3.0),
            (Priority::Live, 4.0),
        ] {
            let (r, rx) = request(priority, tag, None);
            receivers.push(rx);
            queue.push(r);
        }
        assert_eq!(queue.depth(Priority::Live), 2);
        let batch: Vec<f32> = queue.take_batch(3).iter().map(|r| r.job.input[0]).collect();
        assert_eq!(batch, [2.0, 4.0, 1.0]);
        assert_eq!(queue.len(), 1);
    }

    #[test]
    fn expired_and_abandoned_requests_are_removed() {
        let mut queue = BatchQueue::default();
        let now = Instant::now();
        let (expired, _rx1) = request(Priority::Live, 1.0, Some(now));
        let (abandoned, rx2) = request(Priority::Live, 2.0, None);
        let (waiting, _rx3) = request(Priority::Live, 3.0, Some(now + Duration::from_secs(60)));
        drop(rx2);
        queue.push(expired);
        queue.push(abandoned);
        queue.push(waiting);
        let removed: Vec<(f32, DropReason)> = queue
            .remove_unrunnable(now)
            .iter()
            .map(|(r, why)| (r.job.input[0], *why))
            .collect();
        assert_eq!(
            removed,
            [(1.0, DropReason::Deadline), (2.0, DropReason::Cancelled)]
        );
        assert_eq!(queue.len(), 1);
        assert_eq!(
            queue.earliest_deadline(),
            Some(now + Duration::from_secs(60))
        );
    }

    #[test]
    fn clients_take_turns_within_a_priority_and_keep_their_own_order() {
        let mut queue = BatchQueue::default();
        let mut receivers = Vec::new();
        // A greedy client queues six scans, then a polite one queues one, then a third.
        for tag in 1..=6 {
            let (r, rx) = from_client(7, Priority::Live, tag as f32, None);
            receivers.push(rx);
            queue.push(r);
        }
        for (client, tag) in [(8, 10.0), (9, 20.0)] {
            let (r, rx) = from_client(client, Priority::Live, tag, None);
            receivers.push(rx);
            queue.push(r);
        }
        let (r, rx) = from_client(8, Priority::Backoffice, 30.0, None);
        receivers.push(rx);
        queue.push(r);
        let tags = |batch: Vec<InferRequest>| -> Vec<f32> {
            batch.iter().map(|r| r.job.input[0]).collect()
        };
        assert_eq!(tags(queue.take_batch(4)), [1.0, 10.0, 20.0, 2.0]);
        assert_eq!(tags(queue.take_batch(4)), [3.0, 4.0, 5.0, 6.0]);
        assert_eq!(tags(queue.take_batch(4)), [30.0]);
        assert!(queue.is_empty());
    }
}
