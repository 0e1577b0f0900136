//! A shared start: the wall-clock grid on which every shard of a run measures, so
//! the target sees all shards' load at once (issue 24).
//!
//! Every shard is given the same start time T0 (`tailgate run --start-at`). From
//! T0 and the run's config alone (the same on every shard: the config hash is
//! checked by `merge`) each shard lays out the same sequence of slots: first one
//! warm-up slot per side and endpoint (sides in the order base, head; endpoints in
//! config order; none when `warmup` is 0), then one slot per (round, side,
//! endpoint) in the drawn side order. A slot lasts its phase's time plus a margin
//! ([`margin`]) for the requests still in flight at its end; slot j starts at T0
//! plus the lengths of the slots before it, on every shard alike. A phase starts
//! at its slot's start, never on a shard's own clock; a slot reached more than a
//! fiftieth of its phase after it began (the phase before overran, or the machine
//! was too busy to wake the shard in time) is not measured but recorded as missed.
//!
//! A shard that reaches T0 late joins at the next slot's start: the slots it
//! missed are not measured (`tailgate merge` drops those rounds and says so). One
//! later than `--max-late` fails with a message saying by how much it was late.
//!
//! The grid is pure: it takes times in milliseconds since the Unix epoch and
//! returns times; the waiting is done by [`super::measure`].

use std::time::Duration;

use crate::config::Endpoint;
use crate::side::Side;

/// The shortest margin after a phase (for the requests in flight at its end).
pub const MIN_MARGIN: Duration = Duration::from_millis(500);

/// The margin after a phase of length `d`: a tenth of it, at least
/// [`MIN_MARGIN`].
pub fn margin(d: Duration) -> Duration {
    (d / 10).max(MIN_MARGIN)
}

/// When every shard starts, and how late one may join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedStart {
    /// T0, milliseconds since the Unix epoch (this machine's clock).
    pub start_ms: i64,
    /// T0 as given (`--start-at`), for messages.
    pub given: String,
    /// How late after T0 a shard may still join at the next slot.
    pub max_late: Duration,
}

/// What a slot is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotKind {
    /// The unrecorded warm-up of one side and endpoint.
    WarmUp,
    /// A measured phase: round `round` (0-based), at `position` in the round.
    Measure {
        /// The round.
        round: u32,
        /// 0 when its side goes first in the round, 1 when second.
        position: u8,
    },
}

/// One slot of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Warm-up or measured.
    pub kind: SlotKind,
    /// The side loaded.
    pub side: Side,
    /// Index of the endpoint in the measured endpoints.
    pub endpoint: usize,
    /// When it starts, ms since the Unix epoch.
    pub start_ms: i64,
    /// Its length (phase plus margin), ms.
    pub length_ms: i64,
}

/// Why a grid cannot be laid out or joined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GridError {
    /// An endpoint bounded by a request count alone: its phase has no known length.
    #[error("endpoint `{0}` is bounded by a request count alone: a shared start (--start-at) needs every endpoint's rounds to have a `duration`, so every shard knows when each round starts; set `load.duration`")]
    Unbounded(String),
    /// Arrived later than allowed.
    #[error("{who} reached the shared start {late} late (--start-at {start_at}); it may join at most {max_late} late (--max-late). Compute --start-at with a larger margin after the deploy (the time every shard needs to start, install and deploy), or raise --max-late to join at the next round")]
    TooLate {
        /// `shard 2/4`.
        who: String,
        /// How late, in words.
        late: String,
        /// T0 as given.
        start_at: String,
        /// The limit, in words.
        max_late: String,
    },
    /// Arrived after the last slot began.
    #[error("{who} reached the shared start {late} late (--start-at {start_at}), after the run's last round had begun ({total} of rounds): nothing left to measure together. Compute --start-at with a larger margin after the deploy")]
    Over {
        /// `shard 2/4`.
        who: String,
        /// How late, in words.
        late: String,
        /// T0 as given.
        start_at: String,
        /// The grid's length, in words.
        total: String,
    },
}

/// The slots of one run, the same on every shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid {
    slots: Vec<Slot>,
}

/// Where a shard joins the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Join {
    /// Index of the first slot it measures.
    pub first: usize,
    /// How late it arrived after T0, ms (0 when on time).
    pub late_ms: i64,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

impl Grid {
    /// The grid of `endpoints` measured in `order` from `start_ms`, sides without
    /// a target (`has` false) left out.
    pub fn new(
        start_ms: i64,
        endpoints: &[Endpoint],
        order: &[[Side; 2]],
        has: impl Fn(Side) -> bool,
    ) -> Result<Grid, GridError> {
        let mut phase = Vec::with_capacity(endpoints.len());
        for e in endpoints {
            let d = e
                .load
                .duration
                .ok_or_else(|| GridError::Unbounded(e.name.clone()))?;
            phase.push(ms(d + margin(d)));
        }
        let mut slots = Vec::new();
        let mut at = start_ms;
        let mut push = |kind, side, endpoint, length_ms| {
            slots.push(Slot {
                kind,
                side,
                endpoint,
                start_ms: at,
                length_ms,
            });
            at = at.saturating_add(length_ms);
        };
        for side in Side::BOTH.into_iter().filter(|s| has(*s)) {
            for (i, e) in endpoints.iter().enumerate() {
                if !e.load.warmup.is_zero() {
                    let w = e.load.warmup;
                    push(SlotKind::WarmUp, side, i, ms(w + margin(w)));
                }
            }
        }
        for (round, sides) in order.iter().enumerate() {
            for (position, &side) in sides.iter().filter(|s| has(**s)).enumerate() {
                for (i, &length) in phase.iter().enumerate() {
                    let kind = SlotKind::Measure {
                        round: round as u32,
                        position: position as u8,
                    };
                    push(kind, side, i, length);
                }
            }
        }
        Ok(Grid { slots })
    }

    /// Every slot, in order.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// When the last slot ends, ms since the Unix epoch.
    pub fn end_ms(&self) -> i64 {
        self.slots
            .last()
            .map_or(0, |s| s.start_ms.saturating_add(s.length_ms))
    }

    /// Where a shard that is ready at `now_ms` joins: the first slot when on
    /// time, else the first slot that starts at or after `now_ms` (when at most
    /// `start.max_late` late). `who` (`shard 2/4`) is for the message.
    pub fn join(&self, now_ms: i64, start: &SharedStart, who: &str) -> Result<Join, GridError> {
        let start_at = start.given.as_str();
        let late_ms = now_ms - start.start_ms;
        if late_ms <= 0 {
            return Ok(Join {
                first: 0,
                late_ms: 0,
            });
        }
        let late = crate::format::duration(Duration::from_millis(late_ms as u64));
        if late_ms > ms(start.max_late) {
            return Err(GridError::TooLate {
                who: who.to_string(),
                late,
                start_at: start_at.to_string(),
                max_late: crate::format::duration(start.max_late),
            });
        }
        match self.slots.iter().position(|s| s.start_ms >= now_ms) {
            Some(first) => Ok(Join { first, late_ms }),
            None => Err(GridError::Over {
                who: who.to_string(),
                late,
                start_at: start_at.to_string(),
                total: crate::format::duration(Duration::from_millis(
                    (self.end_ms() - start.start_ms).max(0) as u64,
                )),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(warmup_ms: u64, durations_ms: &[u64]) -> Vec<Endpoint> {
        let config = crate::config::parse(
            r#"
deploy: { url: { base: "http://127.0.0.1:1", head: "http://127.0.0.1:2" } }
endpoints:
  - name: a
    path: /a
"#,
            "tailgate.yml",
            std::path::Path::new("."),
        )
        .unwrap();
        durations_ms
            .iter()
            .enumerate()
            .map(|(i, &d)| {
                let mut e = config.endpoints[0].clone();
                e.name = format!("e{i}");
                e.load.duration = Some(Duration::from_millis(d));
                e.load.warmup = Duration::from_millis(warmup_ms);
                e
            })
            .collect()
    }

    const ORDER: [[Side; 2]; 2] = [[Side::Head, Side::Base], [Side::Base, Side::Head]];

    #[test]
    fn slots_follow_warmups_then_rounds_and_add_up() {
        let grid = Grid::new(10_000, &endpoints(1_000, &[2_000, 6_000]), &ORDER, |_| true).unwrap();
        let s = grid.slots();
        // 2 sides x 2 endpoints of warm-up, then 2 rounds x 2 sides x 2 endpoints.
        assert_eq!(s.len(), 4 + 8);
        assert_eq!(s[0].kind, SlotKind::WarmUp);
        assert_eq!(
            (s[0].side, s[0].start_ms, s[0].length_ms),
            (Side::Base, 10_000, 1_500)
        );
        assert_eq!(s[3].side, Side::Head);
        // The first round goes head first; 2 s + 0.5 s, then 6 s + 0.6 s.
        assert_eq!(
            s[4].kind,
            SlotKind::Measure {
                round: 0,
                position: 0
            }
        );
        assert_eq!(
            (s[4].side, s[4].start_ms, s[4].length_ms),
            (Side::Head, 16_000, 2_500)
        );
        assert_eq!((s[5].start_ms, s[5].length_ms), (18_500, 6_600));
        assert_eq!(s[6].side, Side::Base);
        for w in s.windows(2) {
            assert_eq!(w[0].start_ms + w[0].length_ms, w[1].start_ms);
        }
        assert_eq!(grid.end_ms(), 16_000 + 2 * 2 * 9_100);
        // Head alone (a release gate): no base slots.
        let head = Grid::new(0, &endpoints(0, &[1_000]), &ORDER, |s| s == Side::Head).unwrap();
        assert_eq!(head.slots().len(), 2);
        assert!(head.slots().iter().all(|s| s.side == Side::Head));
    }

    #[test]
    fn a_late_shard_joins_at_the_next_slot_or_is_told_how_late() {
        let grid = Grid::new(10_000, &endpoints(0, &[1_000]), &ORDER, |_| true).unwrap();
        let start = SharedStart {
            start_ms: 10_000,
            given: "T0".into(),
            max_late: Duration::from_secs(3),
        };
        let join = |now| grid.join(now, &start, "shard 2/2");
        assert_eq!(
            join(9_000).unwrap(),
            Join {
                first: 0,
                late_ms: 0
            }
        );
        // 1.5 s per slot: 1.6 s late joins slot 2 (starting at 13.0 s).
        assert_eq!(
            join(11_600).unwrap(),
            Join {
                first: 2,
                late_ms: 1_600
            }
        );
        assert_eq!(join(11_500).unwrap().first, 1);
        let err = join(13_500).unwrap_err();
        assert!(matches!(err, GridError::TooLate { .. }));
        let text = err.to_string();
        assert!(
            text.contains("shard 2/2 reached the shared start 3.5 s late"),
            "{text}"
        );
        assert!(text.contains("at most 3 s late (--max-late)"), "{text}");
        let lenient = SharedStart {
            max_late: Duration::from_secs(60),
            ..start.clone()
        };
        let err = grid.join(16_000, &lenient, "shard 2/2").unwrap_err();
        assert!(matches!(err, GridError::Over { .. }), "{err}");
        let err = Grid::new(
            0,
            &[{
                let mut e = endpoints(0, &[1])[0].clone();
                e.load.duration = None;
                e.load.requests = Some(10);
                e
            }],
            &ORDER,
            |_| true,
        )
        .unwrap_err();
        assert!(err
            .to_string()
            .contains("`e0` is bounded by a request count alone"));
    }
}
