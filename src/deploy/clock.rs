//! How far this machine's clock is from the target's, as far as a client can
//! tell: from the HTTP `Date` header (RFC 9110 §6.6.1), which every origin server
//! with a clock sends with each response.
//!
//! `Date` has a resolution of one second, so one response bounds the offset
//! (target clock minus ours) to an interval: the server wrote `D` at some moment
//! between our send `s` and our receipt `r`, while its clock read between `D` and
//! `D + 1 s`, so the offset lies in `[D - r, D + 1 s - s]`. Probes spread evenly
//! over a little more than one second see the target's second tick over between
//! two of them, and the intersection of their intervals narrows to about the
//! spacing of the probes plus a round trip: ±20 ms with [`PROBES`] probes
//! [`SPACING`] apart on a nearby target. That is the precision `tailgate merge`
//! reports beside each shard's offset; it says nothing finer than that (NTP-synced
//! runners are usually within a few ms of each other, which this cannot see).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Probes sent.
pub const PROBES: u32 = 28;

/// Time between the starts of two probes: 28 x 37 ms spans one second and a
/// little, so one of the target's ticks falls between two probes.
pub const SPACING: Duration = Duration::from_millis(37);

/// The target's clock minus ours, within bounds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClockOffset {
    /// Best estimate (the middle of the bounds), ms: positive when the target's
    /// clock is ahead of this machine's.
    pub offset_ms: f64,
    /// Half the width of the bounds, ms: the offset is within `offset_ms ±
    /// uncertainty_ms`.
    pub uncertainty_ms: f64,
    /// Responses with a `Date` header the bounds come from.
    pub samples: u32,
}

impl ClockOffset {
    /// The bounds, ms.
    pub fn bounds(&self) -> (f64, f64) {
        (
            self.offset_ms - self.uncertainty_ms,
            self.offset_ms + self.uncertainty_ms,
        )
    }
}

/// Intersect the bounds of `(sent_ms, received_ms, date_ms)` observations
/// (our clock at send and receipt, the target's `Date` in ms). `None` without
/// observations, or when they contradict each other (the target's clock moved, or
/// a cache served a stale `Date`).
pub fn offset_from(observations: &[(i64, i64, i64)]) -> Option<ClockOffset> {
    let mut lo = f64::NEG_INFINITY;
    let mut hi = f64::INFINITY;
    for &(sent, received, date) in observations {
        lo = lo.max((date - received) as f64);
        hi = hi.min((date + 1_000 - sent) as f64);
    }
    if observations.is_empty() || lo > hi {
        return None;
    }
    Some(ClockOffset {
        offset_ms: (lo + hi) / 2.0,
        uncertainty_ms: (hi - lo) / 2.0,
        samples: observations.len() as u32,
    })
}

/// Parse an HTTP date (IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`) into ms
/// since the Unix epoch.
pub fn parse_http_date(text: &str) -> Option<i64> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let t = time::PrimitiveDateTime::parse(text.trim(), format).ok()?;
    Some(t.assume_utc().unix_timestamp() * 1_000)
}

/// Probe `url` [`PROBES`] times, [`SPACING`] apart (stopping at `until_ms` on
/// our clock, ms since the Unix epoch, with the probes sent by then), and bound
/// the offset of its clock from ours. An error says why there is none (no usable
/// `Date` header).
pub async fn probe(
    client: &reqwest::Client,
    url: &str,
    until_ms: i64,
) -> Result<ClockOffset, String> {
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    };
    let mut observations = Vec::with_capacity(PROBES as usize);
    let mut last_error = None;
    let mut ticks = tokio::time::interval(SPACING);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for _ in 0..PROBES {
        ticks.tick().await;
        let sent = now();
        if sent >= until_ms {
            break;
        }
        let left = Duration::from_millis((until_ms - sent) as u64);
        match client.get(url).timeout(left).send().await {
            Ok(response) => {
                let received = now();
                let date = response
                    .headers()
                    .get(http::header::DATE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_http_date);
                match date {
                    Some(date) => observations.push((sent, received, date)),
                    None => last_error = Some("its responses carry no `Date` header".to_string()),
                }
            }
            Err(e) => last_error = Some(format!("a probe failed: {e}")),
        }
    }
    offset_from(&observations).ok_or_else(|| {
        last_error.unwrap_or_else(|| "its `Date` headers contradict each other".to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_parse() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777_000)
        );
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn probes_across_a_tick_narrow_the_offset() {
        // The target's clock is 250 ms ahead; round trips of 2 ms; probes every
        // 37 ms from t = 10 000 ms (ours).
        let truth = 250;
        let obs: Vec<(i64, i64, i64)> = (0..28)
            .map(|k| {
                let sent = 10_000 + 37 * k;
                let served = sent + 1 + truth; // target's clock when it wrote Date
                (sent, sent + 2, served / 1_000 * 1_000)
            })
            .collect();
        let o = offset_from(&obs).unwrap();
        let (lo, hi) = o.bounds();
        assert!(lo <= truth as f64 && truth as f64 <= hi, "{o:?}");
        assert!(o.uncertainty_ms <= 20.0, "{o:?}");
        assert_eq!(o.samples, 28);
        // One probe alone only bounds it within a second.
        let one = offset_from(&obs[..1]).unwrap();
        assert!(one.uncertainty_ms > 400.0, "{one:?}");
        // Contradicting dates (a clock that jumped) give no offset.
        assert_eq!(offset_from(&[(0, 1, 0), (0, 1, 5_000)]), None);
        assert_eq!(offset_from(&[]), None);
    }
}
