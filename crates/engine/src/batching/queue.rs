//! The batching queue: one FIFO lane per priority, owned by the batching thread alone.

use std::{collections::VecDeque, time::Instant};

use super::request::{DropReason, InferRequest};
use xray_types::Priority;

/// Requests waiting for a batch, by priority.
#[derive(Default)]
pub(super) struct BatchQueue {
    lanes: [VecDeque<InferRequest>; 2],
}

impl BatchQueue {
    pub fn push(&mut self, request: InferRequest) {
        self.lanes[request.admission.priority.index()].push_back(request);
    }

    pub fn len(&self) -> usize {
        self.lanes.iter().map(VecDeque::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.lanes.iter().all(VecDeque::is_empty)
    }

    /// Requests waiting at one priority level.
    pub fn depth(&self, priority: Priority) -> usize {
        self.lanes[priority.index()].len()
    }

    /// When the longest-waiting request entered the queue.
    pub fn oldest(&self) -> Option<Instant> {
        self.lanes
            .iter()
            .filter_map(|lane| lane.front().map(|r| r.job.enqueued))
            .min()
    }

    /// The soonest deadline of any waiting request.
    pub fn earliest_deadline(&self) -> Option<Instant> {
        self.lanes
            .iter()
            .flat_map(|lane| lane.iter().filter_map(|r| r.job.deadline))
            .min()
    }

    /// Removes the requests that must not run at `now` (expired or abandoned).
    pub fn remove_unrunnable(&mut self, now: Instant) -> Vec<(InferRequest, DropReason)> {
        let mut removed = Vec::new();
        for lane in &mut self.lanes {
            if lane.iter().all(|r| r.job.unrunnable(now).is_none()) {
                continue;
            }
            let mut kept = VecDeque::with_capacity(lane.len());
            for request in lane.drain(..) {
                match request.job.unrunnable(now) {
                    Some(reason) => removed.push((request, reason)),
                    None => kept.push_back(request),
                }
            }
            *lane = kept;
        }
        removed
    }

    /// Takes up to `max` requests: live ones first, each lane in arrival order.
    pub fn take_batch(&mut self, max: usize) -> Vec<InferRequest> {
        let mut batch = Vec::with_capacity(max.min(self.len()));
        for lane in &mut self.lanes {
            while batch.len() < max {
                match lane.pop_front() {
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

    fn request(
        priority: Priority,
        tag: f32,
        deadline: Option<Instant>,
    ) -> (
        InferRequest,
        oneshot::Receiver<Result<crate::batching::ModelOutput, crate::batching::BatchError>>,
    ) {
        let held = Arc::new(AtomicUsize::new(0));
        let (reply, rx) = oneshot::channel();
        let request = InferRequest {
            job: Job {
                input: vec![tag],
                enqueued: Instant::now(),
                deadline,
                reply,
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
}
