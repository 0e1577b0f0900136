//! Schedules: when each request is due.
//!
//! One schedule feeds one worker path (see `engine.rs`): workers ask the schedule
//! for the next [`Slot`] and stop when there is none. A closed loop hands out slots
//! with no due time (the worker sends as soon as its last request ended); an open
//! loop will hand out due times, and latency is then counted from the due time, so a
//! stalled server cannot hide behind the requests it kept from being sent.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// One request's place in the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// 0-based index of the request in this phase.
    pub index: u64,
    /// When the request is due; `None` means "now" (closed loop).
    pub due: Option<Instant>,
}

/// How slots are handed out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// Closed loop: each worker sends its next request when its last one ended.
    Closed,
}

/// A bounded schedule, shared by the workers of one phase.
#[derive(Debug)]
pub struct Schedule {
    pacing: Pacing,
    deadline: Option<Instant>,
    limit: Option<u64>,
    issued: AtomicU64,
    stopped: AtomicBool,
}

impl Schedule {
    /// A schedule starting now, bounded by `duration` and/or `limit` requests.
    /// With neither bound it only ends through [`Schedule::stop`].
    pub fn new(pacing: Pacing, duration: Option<Duration>, limit: Option<u64>) -> Self {
        let start = Instant::now();
        Schedule {
            pacing,
            deadline: duration.map(|d| start + d),
            limit,
            issued: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
        }
    }

    /// The next slot, or `None` when the phase is over.
    pub fn next(&self) -> Option<Slot> {
        if self.stopped.load(Ordering::Relaxed) {
            return None;
        }
        if let Some(deadline) = self.deadline {
            if Instant::now() >= deadline {
                return None;
            }
        }
        let index = self.issued.fetch_add(1, Ordering::Relaxed);
        if self.limit.is_some_and(|limit| index >= limit) {
            return None;
        }
        match self.pacing {
            Pacing::Closed => Some(Slot { index, due: None }),
        }
    }

    /// End the phase early: no further slots are handed out.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }

    /// When the phase ends by time, if it does.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn request_limit_bounds_the_slots() {
        let s = Schedule::new(Pacing::Closed, None, Some(3));
        let got: Vec<u64> = std::iter::from_fn(|| s.next()).map(|s| s.index).collect();
        assert_eq!(got, vec![0, 1, 2]);
        assert!(s.next().is_none());
    }

    #[tokio::test]
    async fn stop_ends_an_unbounded_schedule() {
        let s = Schedule::new(Pacing::Closed, None, None);
        assert!(s.next().is_some());
        s.stop();
        assert!(s.next().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn deadline_ends_the_schedule() {
        let s = Schedule::new(Pacing::Closed, Some(Duration::from_millis(10)), None);
        assert!(s.next().is_some());
        tokio::time::advance(Duration::from_millis(11)).await;
        assert!(s.next().is_none());
    }
}
