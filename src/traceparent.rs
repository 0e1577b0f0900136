//! The trace ids tailgate hands out (a leaf shared by the load engine, which sends
//! them, and `crate::traces`, which reads them back): each W3C `traceparent` the load engine sends
//! (<https://www.w3.org/TR/trace-context/#traceparent-header>) says, in its own
//! trace id, which run, side, endpoint, round and request it belongs to, so a span
//! received later needs no lookup table to be placed.
//!
//! Trace id, 16 bytes: `run` tag (4) · side (1) · endpoint (4, FNV-1a of its name)
//! · round (3) · sequence within the round (4). The parent id, 8 bytes: `7467`
//! ("tg") · 2 zero bytes · the sequence (4): never all zero, as the spec requires.
//!
//! Requests that are not sampled carry a fixed `traceparent` with the flags `00`
//! (not sampled): a service with the SDK's default parent-based sampler then
//! records nothing for them, and the engine sends bytes rendered once.

use crate::side::Side;

/// What the engine needs to send `traceparent`s (`traces:` on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sampling {
    /// The run's tag (the first 4 bytes of each trace id).
    pub run: u32,
    /// Sampled requests per round, endpoint and side.
    pub per_round: u32,
    /// One request in `every` is sampled until `per_round` are.
    pub every: u32,
}

/// `traceparent: ` and the value's fixed length.
pub const HEADER: &str = "traceparent";

/// Length of a `traceparent` value: `00-` 32 hex `-` 16 hex `-` 2 hex.
pub const VALUE_LEN: usize = 55;

/// Where one traced request belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceRef {
    /// The endpoint's name hash ([`endpoint_hash`]).
    pub endpoint: u32,
    /// The side.
    pub side: Side,
    /// The round (0-based, < 2^24).
    pub round: u32,
    /// The request's number among the round's sampled ones.
    pub seq: u32,
}

/// The 32-bit FNV-1a hash of an endpoint's name.
pub fn endpoint_hash(name: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// The trace id of `r` in run `run`.
pub fn trace_id(run: u32, r: &TraceRef) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[0..4].copy_from_slice(&run.to_be_bytes());
    id[4] = match r.side {
        Side::Base => 0xba,
        Side::Head => 0x4e,
    };
    id[5..9].copy_from_slice(&r.endpoint.to_be_bytes());
    id[9..12].copy_from_slice(&r.round.to_be_bytes()[1..4]);
    id[12..16].copy_from_slice(&r.seq.to_be_bytes());
    id
}

/// The parent (span) id the engine sends with request `seq`.
pub fn parent_id(seq: u32) -> u64 {
    0x7467_0000_0000_0000 | u64::from(seq)
}

/// Where a received trace id belongs, when it is one of run `run`'s.
pub fn parse(run: u32, id: &[u8]) -> Option<TraceRef> {
    let id: &[u8; 16] = id.try_into().ok()?;
    if id[0..4] != run.to_be_bytes() {
        return None;
    }
    let side = match id[4] {
        0xba => Side::Base,
        0x4e => Side::Head,
        _ => return None,
    };
    let endpoint = u32::from_be_bytes([id[5], id[6], id[7], id[8]]);
    let round = u32::from_be_bytes([0, id[9], id[10], id[11]]);
    let seq = u32::from_be_bytes([id[12], id[13], id[14], id[15]]);
    Some(TraceRef {
        endpoint,
        side,
        round,
        seq,
    })
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_into(out: &mut [u8], bytes: &[u8]) {
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = HEX[usize::from(b >> 4)];
        out[2 * i + 1] = HEX[usize::from(b & 0xf)];
    }
}

/// Write the sampled `traceparent` value of `r` into `out` (exactly
/// [`VALUE_LEN`] bytes): no allocation, a few dozen byte stores.
pub fn write_sampled(out: &mut [u8], run: u32, r: &TraceRef) {
    out[0..3].copy_from_slice(b"00-");
    hex_into(&mut out[3..35], &trace_id(run, r));
    out[35] = b'-';
    hex_into(&mut out[36..52], &parent_id(r.seq).to_be_bytes());
    out[52..55].copy_from_slice(b"-01");
}

/// The value sent with every request that is not sampled (flags `00`).
pub fn unsampled(run: u32) -> String {
    let mut id = [0u8; 16];
    id[0..4].copy_from_slice(&run.to_be_bytes());
    id[15] = 1;
    let mut out = [0u8; VALUE_LEN];
    out[0..3].copy_from_slice(b"00-");
    hex_into(&mut out[3..35], &id);
    out[35] = b'-';
    hex_into(&mut out[36..52], &parent_id(0).to_be_bytes());
    out[52..55].copy_from_slice(b"-00");
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_id_round_trips_and_another_run_is_not_ours() {
        let r = TraceRef {
            endpoint: endpoint_hash("GET /orders"),
            side: Side::Head,
            round: 0x00ab_cdef,
            seq: 41,
        };
        let id = trace_id(0xdead_beef, &r);
        assert_eq!(parse(0xdead_beef, &id), Some(r));
        assert_eq!(parse(0xdead_bee0, &id), None);
        assert_eq!(parse(0xdead_beef, &id[..15]), None);
        let mut out = [0u8; VALUE_LEN];
        write_sampled(&mut out, 0xdead_beef, &r);
        let text = std::str::from_utf8(&out).unwrap();
        assert!(text.starts_with("00-deadbeef4e"), "{text}");
        assert!(text.ends_with("-7467000000000029-01"), "{text}");
        assert!(unsampled(7).ends_with("-00"));
        assert_eq!(unsampled(7).len(), VALUE_LEN);
    }
}
