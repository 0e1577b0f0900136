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
    /// Open loop: requests are due at a constant rate (per second), whether or not
    /// earlier ones have completed; requests due while every connection is busy
    /// wait in the schedule (they are not skipped) and their latency counts from
    /// the time they were due.
    Open {
        /// Requests per second.
        rate: f64,
    },
}

/// A bounded schedule, shared by the workers of one phase.
#[derive(Debug)]
pub struct Schedule {
    pacing: Pacing,
    start: Instant,
    deadline: Option<Instant>,
    /// Open loop: after this, due requests are no longer sent but counted as unsent.
    hard_deadline: Option<Instant>,
    limit: Option<u64>,
    issued: AtomicU64,
    stopped: AtomicBool,
}

impl Schedule {
    /// A schedule starting now, bounded by `duration` and/or `limit` requests.
    /// With neither bound it only ends through [`Schedule::stop`].
    ///
    /// An open loop plans `rate x duration` requests (or `limit`, whichever is
    /// smaller); requests still queued when the time is up are sent during a grace
    /// period of `grace` (normally the request timeout), and any left after it are
    /// counted as unsent, never silently dropped.
    pub fn new(
        pacing: Pacing,
        duration: Option<Duration>,
        limit: Option<u64>,
        grace: Duration,
    ) -> Self {
        let start = Instant::now();
        let deadline = duration.map(|d| start + d);
        let limit = match (pacing, duration) {
            (Pacing::Open { rate }, Some(d)) => {
                let planned = (rate * d.as_secs_f64()).floor() as u64;
                Some(limit.map_or(planned, |l| l.min(planned)))
            }
            _ => limit,
        };
        Schedule {
            pacing,
            start,
            deadline,
            hard_deadline: deadline.map(|d| d + grace),
            limit,
            issued: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
        }
    }

    /// How requests are paced.
    pub fn pacing(&self) -> Pacing {
        self.pacing
    }

    /// The phase's time window, when it is bounded by time.
    pub fn window(&self) -> Option<Duration> {
        self.deadline.map(|d| d - self.start)
    }

    /// When the schedule started.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Requests planned, when the schedule is bounded by count.
    pub fn planned(&self) -> Option<u64> {
        self.limit
    }

    /// Slots handed out so far (capped at the plan).
    pub fn issued(&self) -> u64 {
        let issued = self.issued.load(Ordering::Relaxed);
        self.limit.map_or(issued, |l| issued.min(l))
    }

    /// The next slot, or `None` when the phase is over.
    pub fn next(&self) -> Option<Slot> {
        self.next_at(Instant::now())
    }

    /// The next slot as of `now` (a time the caller has just read from the
    /// clock), or `None` when the phase is over.
    pub fn next_at(&self, now: Instant) -> Option<Slot> {
        if self.stopped.load(Ordering::Relaxed) {
            return None;
        }
        match self.pacing {
            Pacing::Closed => {
                if self.deadline.is_some_and(|d| now >= d) {
                    return None;
                }
                let index = self.issued.fetch_add(1, Ordering::Relaxed);
                if self.limit.is_some_and(|limit| index >= limit) {
                    return None;
                }
                Some(Slot { index, due: None })
            }
            Pacing::Open { rate } => {
                // Queued requests are drained after the deadline, until the grace ends.
                if self.hard_deadline.is_some_and(|d| now >= d) {
                    return None;
                }
                let index = self.issued.fetch_add(1, Ordering::Relaxed);
                if self.limit.is_some_and(|limit| index >= limit) {
                    return None;
                }
                let due = self.start + Duration::from_secs_f64(index as f64 / rate);
                if self.limit.is_none() && self.deadline.is_some_and(|d| due >= d) {
                    return None;
                }
                Some(Slot {
                    index,
                    due: Some(due),
                })
            }
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
        let s = Schedule::new(Pacing::Closed, None, Some(3), Duration::ZERO);
        let got: Vec<u64> = std::iter::from_fn(|| s.next()).map(|s| s.index).collect();
        assert_eq!(got, vec![0, 1, 2]);
        assert!(s.next().is_none());
    }

    #[tokio::test]
    async fn stop_ends_an_unbounded_schedule() {
        let s = Schedule::new(Pacing::Closed, None, None, Duration::ZERO);
        assert!(s.next().is_some());
        s.stop();
        assert!(s.next().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn deadline_ends_the_schedule() {
        let s = Schedule::new(
            Pacing::Closed,
            Some(Duration::from_millis(10)),
            None,
            Duration::ZERO,
        );
        assert!(s.next().is_some());
        tokio::time::advance(Duration::from_millis(11)).await;
        assert!(s.next().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn open_loop_plans_rate_times_duration_with_due_times() {
        let s = Schedule::new(
            Pacing::Open { rate: 100.0 },
            Some(Duration::from_secs(1)),
            None,
            Duration::from_secs(1),
        );
        assert_eq!(s.planned(), Some(100));
        let start = s.start();
        let slots: Vec<Slot> = std::iter::from_fn(|| s.next()).collect();
        assert_eq!(slots.len(), 100);
        assert_eq!(slots[0].due, Some(start));
        assert_eq!(slots[50].due, Some(start + Duration::from_millis(500)));
    }

    #[tokio::test(start_paused = true)]
    async fn open_loop_queues_late_requests_until_the_grace_ends() {
        let s = Schedule::new(
            Pacing::Open { rate: 10.0 },
            Some(Duration::from_secs(1)),
            None,
            Duration::from_millis(500),
        );
        // Everything is late: still handed out during the grace period...
        tokio::time::advance(Duration::from_millis(1200)).await;
        assert_eq!(s.next().map(|s| s.index), Some(0));
        // ...and not after it; the rest is unsent.
        tokio::time::advance(Duration::from_millis(400)).await;
        assert!(s.next().is_none());
        assert_eq!(s.planned(), Some(10));
    }
}
