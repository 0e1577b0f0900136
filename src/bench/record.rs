//! Recording: what one worker saw, merged into what one (round, side, endpoint) saw.
//!
//! Latencies of successful requests go into an HdrHistogram in microseconds (3
//! significant digits: every recorded value is exact to 0.1 %). A failed request is a
//! sample too: it is counted by [`ErrorKind`], never dropped and never a crash.
//! Memory is constant in the number of requests.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use hdrhistogram::serialization::{
    Deserializer as HistDeserializer, Serializer as _, V2DeflateSerializer,
};
use hdrhistogram::Histogram;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tokio::time::Instant;

use super::http1::ResponseMeta;
use super::outcome::ErrorKind;
use super::request::RequestPlan;

/// Highest latency the histograms can hold (values above are clamped to it).
pub const MAX_LATENCY_US: u64 = 3_600_000_000;

/// A new latency histogram: 1 µs to one hour, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("static histogram bounds are valid")
}

/// One `Server-Timing` metric summed over requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TimingSum {
    /// Responses that carried this metric.
    pub count: u64,
    /// Sum of its `dur` values in milliseconds.
    pub total_ms: f64,
}

impl TimingSum {
    /// Mean duration per response that carried it, in milliseconds.
    pub fn mean_ms(&self) -> Option<f64> {
        (self.count > 0).then(|| self.total_ms / self.count as f64)
    }
}

/// Everything recorded for one (round, side, endpoint), or one worker of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recorder {
    /// Latency of successful requests, microseconds.
    #[serde(with = "histogram_base64")]
    pub latency: Histogram<u64>,
    /// Successful requests.
    pub ok: u64,
    /// Failed requests by kind.
    pub errors: BTreeMap<ErrorKind, u64>,
    /// Responses by status code (successful or not).
    pub statuses: BTreeMap<u16, u64>,
    /// Response body bytes received.
    pub bytes_in: u64,
    /// Request body bytes sent.
    pub bytes_out: u64,
    /// Response body bytes as sent (after transfer decoding, before content decoding).
    #[serde(default)]
    pub bytes_body: u64,
    /// Response body bytes after content decoding (gzip/deflate), where known.
    #[serde(default)]
    pub bytes_decoded: u64,
    /// `Server-Timing` metrics by name.
    pub server_timing: BTreeMap<String, TimingSum>,
    /// How late requests that waited for their due time were sent after it
    /// (open loop: the generator's timer and CPU jitter), microseconds.
    #[serde(with = "histogram_base64", default = "new_histogram")]
    pub lag: Histogram<u64>,
    /// Requests already due when a connection took them (open loop): they
    /// queued behind busy connections.
    #[serde(default)]
    pub queued: u64,
    /// Planned requests that were never sent because the phase's time ran out.
    #[serde(default)]
    pub unsent: u64,
    /// Requests sent, including those queued behind busy connections and sent in
    /// the grace period after the window (for the achieved rate).
    #[serde(default)]
    pub sent_in_window: u64,
    /// Kept (keep-alive) connections found closed by the server, or past its
    /// announced `Keep-Alive` limits, when a request wanted them, and replaced
    /// by a new connection: the client's housekeeping, not errors (see
    /// `bench::keepalive`).
    #[serde(default)]
    pub reconnects: u64,
    /// Requests sent again, once, on a new connection because the kept one they
    /// went out on was closed before any byte of their response (each is also a
    /// reconnect); their latency includes the replay.
    #[serde(default)]
    pub replays: u64,
    /// Per-second timeline of the phase.
    #[serde(default)]
    pub timeline: Timeline,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            latency: new_histogram(),
            ok: 0,
            errors: BTreeMap::new(),
            statuses: BTreeMap::new(),
            bytes_in: 0,
            bytes_out: 0,
            bytes_body: 0,
            bytes_decoded: 0,
            server_timing: BTreeMap::new(),
            lag: new_histogram(),
            queued: 0,
            unsent: 0,
            sent_in_window: 0,
            reconnects: 0,
            replays: 0,
            timeline: Timeline::default(),
        }
    }
}

/// How one request was sent, for [`Recorder::request`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sent {
    /// Its due time (open loop).
    pub(crate) due: Option<Instant>,
    /// It waited for its due time with a connection free (its lateness is lag).
    pub(crate) waited: bool,
    /// When it was sent.
    pub(crate) at: Instant,
    /// Request body bytes.
    pub(crate) body_len: u64,
}

impl Recorder {
    /// Record one request that ended at `end` (`start`: the phase's start), the
    /// one recording both drivers use. A request that waited for its due time
    /// counts from its send (its lateness is lag); one already due when a
    /// connection took it queued behind busy connections and counts from its due
    /// time, so a stalled server shows in the percentiles. A status the plan does
    /// not expect is a failure of its kind; every request counts as sent.
    pub(crate) fn request(
        &mut self,
        sent: Sent,
        result: &Result<ResponseMeta, ErrorKind>,
        end: Instant,
        start: Instant,
        plan: &RequestPlan,
    ) {
        let second = end.saturating_duration_since(start).as_secs() as u32;
        let origin = match sent.due {
            Some(due) if sent.waited => {
                self.lag(sent.at.saturating_duration_since(due));
                sent.at
            }
            Some(due) => {
                self.queued += 1;
                due
            }
            None => sent.at,
        };
        // Every slot of a bounded open loop is due within its window; one sent
        // after the window end was queued behind busy connections (a stall of the
        // server), which its latency shows. It was delivered, not dropped.
        self.sent_in_window += 1;
        match result {
            Ok(meta) => {
                self.status(meta.status);
                self.bytes_out += sent.body_len;
                self.bytes_in += meta.wire_bytes;
                self.bytes_body += meta.body_bytes;
                self.bytes_decoded += meta.decoded_bytes.unwrap_or(meta.body_bytes);
                if let Some(timing) = &meta.server_timing {
                    self.server_timing(timing);
                }
                if plan.is_expected(meta.status) {
                    self.success(end.saturating_duration_since(origin), second);
                } else {
                    self.failure(ErrorKind::for_status(meta.status), second);
                }
            }
            Err(kind) => self.failure(*kind, second),
        }
    }

    /// Record a successful request that completed `second` whole seconds into the phase.
    pub fn success(&mut self, latency: Duration, second: u32) {
        let us = micros(latency);
        self.latency.saturating_record(us);
        self.ok += 1;
        self.timeline.record(second, Some(us));
    }

    /// Record a failed request.
    pub fn failure(&mut self, kind: ErrorKind, second: u32) {
        *self.errors.entry(kind).or_default() += 1;
        self.timeline.record(second, None);
    }

    /// Record how late a request was sent after it was due.
    pub fn lag(&mut self, lag: Duration) {
        self.lag.saturating_record(micros(lag));
    }

    /// Record a response's status code.
    pub fn status(&mut self, status: u16) {
        *self.statuses.entry(status).or_default() += 1;
    }

    /// Record the `Server-Timing` header values of one response.
    pub fn server_timing(&mut self, header: &str) {
        for (name, dur) in parse_server_timing(header) {
            add_timing(&mut self.server_timing, name, 1, dur);
        }
    }

    /// Failed requests of every kind.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// All requests, successful or failed.
    pub fn total(&self) -> u64 {
        self.ok + self.error_count()
    }

    /// Add another recorder's data to this one.
    pub fn merge(&mut self, other: &Recorder) {
        // Both histograms share the same bounds, so `add` cannot fail.
        let _ = self.latency.add(&other.latency);
        self.ok += other.ok;
        for (kind, n) in &other.errors {
            *self.errors.entry(*kind).or_default() += n;
        }
        for (status, n) in &other.statuses {
            *self.statuses.entry(*status).or_default() += n;
        }
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.bytes_body += other.bytes_body;
        self.bytes_decoded += other.bytes_decoded;
        let _ = self.lag.add(&other.lag);
        self.queued += other.queued;
        self.unsent += other.unsent;
        self.sent_in_window += other.sent_in_window;
        self.reconnects += other.reconnects;
        self.replays += other.replays;
        self.timeline.merge(&other.timeline);
        for (name, sum) in &other.server_timing {
            add_timing(&mut self.server_timing, name, sum.count, sum.total_ms);
        }
    }
}

/// Distinct `Server-Timing` names kept per recorder: a server cannot grow the
/// client's memory, the results or the report by sending endless new names.
pub const MAX_TIMING_NAMES: usize = 32;

/// The longest `Server-Timing` name kept (longer ones are dropped).
pub const MAX_TIMING_NAME: usize = 64;

fn add_timing(map: &mut BTreeMap<String, TimingSum>, name: &str, count: u64, total_ms: f64) {
    if name.len() > MAX_TIMING_NAME {
        return;
    }
    if let Some(sum) = map.get_mut(name) {
        sum.count += count;
        sum.total_ms += total_ms;
    } else if map.len() < MAX_TIMING_NAMES {
        map.insert(name.to_string(), TimingSum { count, total_ms });
    }
}

/// A duration in whole microseconds, clamped to the histogram's range.
pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros())
        .unwrap_or(MAX_LATENCY_US)
        .clamp(1, MAX_LATENCY_US)
}

/// One second of a phase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Second {
    /// Requests completed in this second (successful or not).
    pub requests: u64,
    /// Failed requests among them.
    pub errors: u64,
    /// Latency of the successful ones, microseconds (2 significant digits).
    #[serde(with = "histogram_base64_coarse")]
    pub latency: Histogram<u64>,
}

impl Default for Second {
    fn default() -> Self {
        Second {
            requests: 0,
            errors: 0,
            latency: new_coarse_histogram(),
        }
    }
}

impl Second {
    /// Median latency in milliseconds, if anything succeeded.
    pub fn p50_ms(&self) -> Option<f64> {
        crate::stats::quantile_ms(&self.latency, 500)
    }

    /// p99 latency in milliseconds, if anything succeeded.
    pub fn p99_ms(&self) -> Option<f64> {
        crate::stats::quantile_ms(&self.latency, 990)
    }
}

/// A histogram for the per-second timeline: 2 significant digits keep a second's
/// histogram small; the timeline is for spotting slow windows, not for verdicts.
pub fn new_coarse_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 2).expect("static histogram bounds are valid")
}

/// A per-second timeline (rate, latency, errors). Memory grows with the phase's
/// duration, never with its number of requests.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timeline {
    /// Index = whole seconds since the phase started.
    pub seconds: Vec<Second>,
}

impl Timeline {
    /// Longest timeline kept (a longer phase folds into its last second).
    pub const MAX_SECONDS: usize = 3600;

    fn slot(&mut self, second: u32) -> &mut Second {
        let i = (second as usize).min(Self::MAX_SECONDS - 1);
        if self.seconds.len() <= i {
            self.seconds.resize_with(i + 1, Second::default);
        }
        &mut self.seconds[i]
    }

    /// Record one completed request; `latency_us` is `None` for a failure.
    pub fn record(&mut self, second: u32, latency_us: Option<u64>) {
        let slot = self.slot(second);
        slot.requests += 1;
        match latency_us {
            Some(us) => slot.latency.saturating_record(us),
            None => slot.errors += 1,
        }
    }

    /// Add another timeline second by second.
    pub fn merge(&mut self, other: &Timeline) {
        for (i, s) in other.seconds.iter().enumerate() {
            let mine = self.slot(i as u32);
            mine.requests += s.requests;
            mine.errors += s.errors;
            let _ = mine.latency.add(&s.latency);
        }
    }
}

/// Parse a `Server-Timing` header value (W3C Server Timing) into `(name, dur ms)`
/// pairs. Entries without a `dur` are skipped; malformed ones are ignored.
pub fn parse_server_timing(header: &str) -> impl Iterator<Item = (&str, f64)> {
    header.split(',').filter_map(|entry| {
        let mut parts = entry.split(';');
        let name = parts.next()?.trim();
        if name.is_empty() {
            return None;
        }
        let dur = parts.find_map(|p| {
            let (key, value) = p.split_once('=')?;
            if key.trim().eq_ignore_ascii_case("dur") {
                value.trim().trim_matches('"').parse::<f64>().ok()
            } else {
                None
            }
        })?;
        (dur.is_finite() && dur >= 0.0).then_some((name, dur))
    })
}

/// Histograms in JSON as base64 of HdrHistogram's compressed V2 encoding
/// (`V2DeflateSerializer`: the V2 payload, zlib-deflated, behind its own cookie), the
/// format every HdrHistogram implementation reads (Java's
/// `encodeIntoCompressedByteBuffer`, HdrHistogram_c's `hdr_log_encode`). Reading
/// takes both the compressed and the plain V2 encoding, so results files written
/// before the switch still load.
mod histogram_base64 {
    use super::*;

    pub fn serialize<S: Serializer>(hist: &Histogram<u64>, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = Vec::new();
        V2DeflateSerializer::new()
            .serialize(hist, &mut buf)
            .map_err(serde::ser::Error::custom)?;
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(buf))
    }

    pub fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Histogram<u64>, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)?;
        HistDeserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| serde::de::Error::custom(format!("bad histogram: {e:?}")))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Histogram<u64>, D::Error> {
        let hist = decode(d)?;
        let mut out = new_histogram();
        out.add(&hist)
            .map_err(|e| serde::de::Error::custom(format!("{e:?}")))?;
        Ok(out)
    }
}

/// Coarse (2-digit) timeline histograms in JSON, same encoding.
mod histogram_base64_coarse {
    use super::*;

    pub fn serialize<S: Serializer>(hist: &Histogram<u64>, s: S) -> Result<S::Ok, S::Error> {
        histogram_base64::serialize(hist, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Histogram<u64>, D::Error> {
        let hist = histogram_base64::decode(d)?;
        let mut out = new_coarse_histogram();
        out.add(&hist)
            .map_err(|e| serde::de::Error::custom(format!("{e:?}")))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_timing_parses_names_and_durations() {
        let got: Vec<_> = parse_server_timing(
            r#"db;dur=53.2, cache;desc="Cache Read";dur=23.2, miss, total;dur=x"#,
        )
        .collect();
        assert_eq!(got, vec![("db", 53.2), ("cache", 23.2)]);
    }

    #[test]
    fn merge_adds_everything() {
        let mut a = Recorder::default();
        a.success(Duration::from_millis(5), 0);
        a.failure(ErrorKind::Timeout, 1);
        a.server_timing("db;dur=2");
        a.reconnects = 2;
        a.replays = 1;
        let mut b = Recorder {
            reconnects: 3,
            replays: 1,
            ..Recorder::default()
        };
        b.success(Duration::from_millis(7), 0);
        b.failure(ErrorKind::Timeout, 2);
        b.server_timing("db;dur=4");
        a.merge(&b);
        assert_eq!(a.ok, 2);
        assert_eq!((a.reconnects, a.replays), (5, 2));
        assert_eq!(a.errors[&ErrorKind::Timeout], 2);
        assert_eq!(a.latency.len(), 2);
        assert_eq!(a.server_timing["db"].mean_ms(), Some(3.0));
        assert_eq!(a.timeline.seconds.len(), 3);
        assert_eq!(a.timeline.seconds[0].requests, 2);
        assert_eq!(a.timeline.seconds[2].errors, 1);
    }

    #[test]
    fn histogram_round_trips_through_json() {
        let mut r = Recorder::default();
        for ms in 1..=100 {
            r.success(Duration::from_millis(ms), 0);
        }
        let json = serde_json::to_string(&r).unwrap();
        let back: Recorder = serde_json::from_str(&json).unwrap();
        assert_eq!(back.latency.len(), 100);
        assert_eq!(
            back.latency.value_at_quantile(0.99),
            r.latency.value_at_quantile(0.99)
        );
    }

    /// The cookie that opens HdrHistogram's compressed V2 encoding.
    const V2_COMPRESSED_COOKIE: [u8; 4] = [0x1c, 0x84, 0x93, 0x14];

    fn encoded_latency(json: &serde_json::Value) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(json["latency"].as_str().unwrap())
            .unwrap()
    }

    #[test]
    fn histograms_are_written_compressed() {
        let mut r = Recorder::default();
        for us in (1..=50_000u64).step_by(7) {
            r.latency.record(us).unwrap();
        }
        let json = serde_json::to_value(&r).unwrap();
        let compressed = encoded_latency(&json);
        assert_eq!(compressed[..4], V2_COMPRESSED_COOKIE);
        let mut plain = Vec::new();
        hdrhistogram::serialization::V2Serializer::new()
            .serialize(&r.latency, &mut plain)
            .unwrap();
        assert!(
            compressed.len() < plain.len(),
            "compressed {} bytes, plain {}",
            compressed.len(),
            plain.len()
        );
        let back: Recorder = serde_json::from_value(json).unwrap();
        assert_eq!(back.latency, r.latency);
    }

    #[test]
    fn plain_v2_histograms_of_older_files_still_read() {
        let mut r = Recorder::default();
        for ms in [1, 2, 3, 50, 900] {
            r.success(Duration::from_millis(ms), 0);
        }
        let mut json = serde_json::to_value(&r).unwrap();
        let mut plain = Vec::new();
        hdrhistogram::serialization::V2Serializer::new()
            .serialize(&r.latency, &mut plain)
            .unwrap();
        assert_ne!(plain[..4], V2_COMPRESSED_COOKIE);
        json["latency"] = base64::engine::general_purpose::STANDARD
            .encode(&plain)
            .into();
        let back: Recorder = serde_json::from_value(json).unwrap();
        assert_eq!(back.latency, r.latency);
        assert_eq!(back.latency.max(), r.latency.max());
    }

    #[test]
    fn results_written_before_reconnects_were_counted_still_load() {
        let mut json = serde_json::to_value(Recorder::default()).unwrap();
        let map = json.as_object_mut().unwrap();
        assert!(map.remove("reconnects").is_some());
        assert!(map.remove("replays").is_some());
        let back: Recorder = serde_json::from_value(json).unwrap();
        assert_eq!((back.reconnects, back.replays), (0, 0));
    }

    #[test]
    fn a_corrupt_histogram_is_an_error_not_a_panic() {
        let mut json = serde_json::to_value(Recorder::default()).unwrap();
        json["latency"] = base64::engine::general_purpose::STANDARD
            .encode([0x1c, 0x84, 0x93, 0x14, 0, 0, 0, 9, 1, 2])
            .into();
        let err = serde_json::from_value::<Recorder>(json).unwrap_err();
        assert!(err.to_string().contains("bad histogram"), "{err}");
    }
}
