//! The paired round bootstrap, made fast.
//!
//! A resample draws R round indices with replacement; round `r` drawn `w_r` times
//! contributes `w_r` copies of its samples to the merged distribution of each side.
//! Instead of merging histograms per resample, each side's rounds are merged once into
//! value-sorted *events* (one per run of a round: value, count, round) with per-round
//! cumulative counts stored every [`STRIDE`] events (checkpoints). The merged
//! cumulative count up to a checkpoint under weights `w` is `Σ_r w_r · C_r(k)`, a sum
//! over the distinct drawn rounds only; a percentile is a short interpolation search
//! over checkpoints (starting at the full-sample answer) and a walk of at most
//! `STRIDE` events. No per-resample allocation, no histogram arithmetic.
//!
//! The hot loops are plain index loops on purpose: the crate is built without
//! optimisation in debug, and iterator adaptors there cost a call per element.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::input::{Percentile, RoundObs};

/// Events between two checkpoints.
const STRIDE: usize = 16;

/// Count and round of one event, packed as `count << 32 | round` so the walk reads
/// 8 bytes per event and buffers are zero-initialised cheaply.
pub(crate) type Tick = u64;

/// The count of a [`Tick`].
pub(crate) fn tick_count(t: Tick) -> u32 {
    (t >> 32) as u32
}

/// The runs of one side's rounds, sorted by value (ties in any order).
#[derive(Debug, Clone, Default)]
pub(crate) struct Merged {
    /// Latency in µs, ascending.
    pub values: Vec<u64>,
    /// Count and round of each value.
    pub ticks: Vec<Tick>,
}

impl Merged {
    /// All runs of `rounds` in one array sorted by value: a stable LSD radix sort
    /// (as many passes of at most 13 bits as the largest value needs). Linear time
    /// and branch-free, which beats merging the rounds' sorted lists.
    pub fn new(rounds: &[&RoundObs]) -> Merged {
        let total: usize = rounds.iter().map(|o| o.runs().len()).sum();
        let mut values_vec = vec![0u64; total];
        let mut ticks_vec = vec![0u64; total];
        let mut max = 0u64;
        {
            let (values, ticks): (&mut [u64], &mut [u64]) = (&mut values_vec, &mut ticks_vec);
            let mut j = 0;
            for (r, obs) in rounds.iter().enumerate() {
                let runs = obs.runs();
                let mut i = 0;
                while i < runs.len() {
                    let (value, count) = runs[i];
                    // RoundObs guarantees at most u32::MAX samples per round.
                    values[j] = value;
                    ticks[j] = (count << 32) | r as u64;
                    j += 1;
                    i += 1;
                }
                if let Some(&(last, _)) = runs.last() {
                    max = max.max(last);
                }
            }
        }
        let bits = (64 - max.leading_zeros()) as usize;
        let passes = bits.div_ceil(13);
        if passes > 0 && total > 1 {
            let digit = bits.div_ceil(passes);
            let buckets = 1usize << digit;
            let mask = (buckets - 1) as u64;
            let mut values_tmp = vec![0u64; total];
            let mut ticks_tmp = vec![0u64; total];
            let mut counts_vec = vec![0usize; buckets];
            let counts: &mut [usize] = &mut counts_vec;
            let mut pass = 0;
            while pass < passes {
                let shift = pass * digit;
                let (sv, st, dv, dt): (&[u64], &[u64], &mut [u64], &mut [u64]) = if pass % 2 == 0 {
                    (&values_vec, &ticks_vec, &mut values_tmp, &mut ticks_tmp)
                } else {
                    (&values_tmp, &ticks_tmp, &mut values_vec, &mut ticks_vec)
                };
                counts.fill(0);
                let mut i = 0;
                while i < total {
                    counts[((sv[i] >> shift) & mask) as usize] += 1;
                    i += 1;
                }
                let mut sum = 0;
                let mut b = 0;
                while b < buckets {
                    let here = counts[b];
                    counts[b] = sum;
                    sum += here;
                    b += 1;
                }
                let mut i = 0;
                while i < total {
                    let v = sv[i];
                    let slot = ((v >> shift) & mask) as usize;
                    let at = counts[slot];
                    dv[at] = v;
                    dt[at] = st[i];
                    counts[slot] = at + 1;
                    i += 1;
                }
                pass += 1;
            }
            if passes % 2 == 1 {
                values_vec = values_tmp;
                ticks_vec = ticks_tmp;
            }
        }
        Merged {
            values: values_vec,
            ticks: ticks_vec,
        }
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.values.len()
    }
}

/// Weights of one resample over all rounds: `w[r]` copies of round `r`; `pairs`
/// lists `(r, w[r])` for the rounds with `w[r] > 0`.
#[derive(Debug, Clone)]
pub(crate) struct Weights {
    pub w: Vec<u32>,
    pub pairs: Vec<(u32, u32)>,
}

impl Weights {
    /// Every round once: the observed data.
    pub fn identity(n: usize) -> Weights {
        Weights {
            w: vec![1; n],
            pairs: (0..n as u32).map(|r| (r, 1)).collect(),
        }
    }

    /// The rounds in `set` once each, the other rounds not at all.
    pub fn subset(n: usize, set: &[u32]) -> Weights {
        let mut w = vec![0; n];
        for &r in set {
            w[r as usize] = 1;
        }
        Weights {
            w,
            pairs: set.iter().map(|&r| (r, 1)).collect(),
        }
    }

    /// `Σ_r w_r · x[offset + r]` (cannot overflow: u32 × u32 terms, fewer than 2^32
    /// of them).
    pub fn dot32(&self, x: &[u32], offset: usize) -> u64 {
        let pairs: &[(u32, u32)] = &self.pairs;
        let mut s = 0u64;
        let mut i = 0;
        while i < pairs.len() {
            let (r, w) = pairs[i];
            s = s.wrapping_add((w as u64).wrapping_mul(x[offset + r as usize] as u64));
            i += 1;
        }
        s
    }
}

/// Draws bootstrap weights: round indices uniformly with replacement, from a seeded
/// ChaCha8 stream, without modulo bias (Lemire's multiply-and-reject).
pub(crate) struct Resampler {
    rng: ChaCha8Rng,
    buf: Vec<u32>,
    pos: usize,
}

impl Resampler {
    /// A resampler on `stream` of the generator seeded with `seed`.
    pub fn new(seed: u64, stream: u64) -> Resampler {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Resampler {
            rng,
            buf: vec![0; 4096],
            pos: 4096,
        }
    }

    /// Overwrites `weights` with a fresh resample: `from.len()` draws with
    /// replacement from the (distinct) rounds listed in `from`; other rounds get
    /// weight 0.
    pub fn draw(&mut self, weights: &mut Weights, from: &[u32]) {
        let w: &mut [u32] = &mut weights.w;
        {
            let previous: &[(u32, u32)] = &weights.pairs;
            let mut i = 0;
            while i < previous.len() {
                w[previous[i].0 as usize] = 0;
                i += 1;
            }
        }
        let n = from.len() as u32;
        if n == 0 {
            weights.pairs.clear();
            return;
        }
        // Lemire: reject low words below 2^32 mod n, which leaves exactly
        // floor(2^32 / n) words per index.
        let threshold = n.wrapping_neg() % n;
        let mut k = 0;
        while k < n {
            if self.pos == self.buf.len() {
                self.rng.fill(&mut self.buf[..]);
                self.pos = 0;
            }
            let buf: &[u32] = &self.buf;
            let m = buf[self.pos] as u64 * n as u64;
            self.pos += 1;
            if (m as u32) >= threshold {
                w[from[(m >> 32) as usize] as usize] += 1;
                k += 1;
            }
        }
        let pairs = &mut weights.pairs;
        pairs.clear();
        let mut i = 0;
        while i < from.len() {
            let r = from[i];
            if w[r as usize] > 0 {
                pairs.push((r, w[r as usize]));
            }
            i += 1;
        }
    }
}

/// One side's latency events with checkpoints, ready for weighted percentiles.
#[derive(Debug, Clone)]
pub(crate) struct LatencyIndex {
    merged: Merged,
    nrounds: usize,
    /// Samples per round.
    totals: Vec<u32>,
    /// `ckpt[k * nrounds + r]`: samples of round `r` among events `< k * STRIDE`.
    ckpt: Vec<u32>,
    /// Number of checkpoints minus one: `ceil(events / STRIDE)`.
    last: usize,
    /// Per percentile (in `Percentile::ALL` order), the checkpoint just below the
    /// full-sample answer: where each search starts.
    start: [usize; 4],
}

/// Position of `p` in `Percentile::ALL`.
fn slot(p: Percentile) -> usize {
    match p {
        Percentile::P50 => 0,
        Percentile::P95 => 1,
        Percentile::P99 => 2,
        Percentile::P999 => 3,
    }
}

impl LatencyIndex {
    pub fn new(merged: Merged, nrounds: usize) -> LatencyIndex {
        let e = merged.len();
        let last = e.div_ceil(STRIDE);
        let mut ckpt_vec = vec![0u32; (last + 1) * nrounds];
        let mut running_vec = vec![0u32; nrounds];
        {
            let ckpt: &mut [u32] = &mut ckpt_vec;
            let running: &mut [u32] = &mut running_vec;
            let ticks: &[Tick] = &merged.ticks;
            let mut k = 1;
            let mut i = 0;
            while i < e {
                let t = ticks[i];
                running[t as u32 as usize] += (t >> 32) as u32;
                i += 1;
                if i % STRIDE == 0 || i == e {
                    ckpt[k * nrounds..(k + 1) * nrounds].copy_from_slice(running);
                    k += 1;
                }
            }
        }
        let (ckpt, running) = (ckpt_vec, running_vec);
        let mut index = LatencyIndex {
            merged,
            nrounds,
            totals: running,
            ckpt,
            last,
            start: [0; 4],
        };
        if e > 0 {
            let w = Weights::identity(nrounds);
            let n = w.dot32(&index.totals, 0);
            for p in Percentile::ALL {
                index.start[slot(p)] = index.search(&w, n, p).1;
            }
        }
        index
    }

    /// The merged events.
    pub fn merged(&self) -> &Merged {
        &self.merged
    }

    /// Samples per round.
    pub fn totals(&self) -> &[u32] {
        &self.totals
    }

    /// The nearest-rank percentile `p` of the merged distribution under `w`, in µs,
    /// given the weighted sample count `n = Σ w_r · totals_r` (at least 1).
    pub fn percentile(&self, w: &Weights, n: u64, p: Percentile) -> u64 {
        self.merged.values[self.search(w, n, p).0]
    }

    /// `(event index of the answer, checkpoint below it)`.
    ///
    /// Finds the last checkpoint `lo` with `prefix(lo) < target`, where
    /// `prefix(k) = Σ w_r · ckpt[k][r]`, by a safeguarded interpolation search: the
    /// first probe is the full-sample answer, each later probe interpolates the
    /// target linearly between the bracket ends, and a probe that fails to halve the
    /// bracket is followed by a bisection. Then walks at most `STRIDE` events.
    /// Written without helper calls: this is the innermost loop of the bootstrap.
    fn search(&self, w: &Weights, n: u64, p: Percentile) -> (usize, usize) {
        let target = p.rank(n);
        let pairs: &[(u32, u32)] = &w.pairs;
        let ckpt: &[u32] = &self.ckpt;
        let nrounds = self.nrounds;
        // Invariant: prefix(lo) < target <= prefix(hi); prefix(0) = 0, prefix(last) = n.
        let (mut lo, mut plo) = (0usize, 0u64);
        let (mut hi, mut phi) = (self.last, n);
        let mut k = self.start[slot(p)];
        let mut bisect = false;
        while hi - lo > 1 {
            if bisect {
                k = lo + (hi - lo) / 2;
            } else if k <= lo {
                k = lo + 1;
            } else if k >= hi {
                k = hi - 1;
            }
            let row = k * nrounds;
            let mut pk = 0u64;
            let mut i = 0;
            while i < pairs.len() {
                let (r, c) = pairs[i];
                // u32 · u32 fits in u64, and fewer than 2^32 such terms are summed.
                pk = pk.wrapping_add((c as u64).wrapping_mul(ckpt[row + r as usize] as u64));
                i += 1;
            }
            let width = hi - lo;
            if pk < target {
                lo = k;
                plo = pk;
            } else {
                hi = k;
                phi = pk;
            }
            bisect = !bisect && 2 * (hi - lo) > width;
            // Regula falsi: where `target` falls between the bracket ends.
            k = lo + ((target - plo) as f64 / (phi - plo) as f64 * (hi - lo) as f64) as usize;
        }
        let ticks: &[Tick] = &self.merged.ticks;
        let weights: &[u32] = &w.w;
        let mut acc = plo;
        let mut e = lo * STRIDE;
        while e < ticks.len() {
            let t = ticks[e];
            acc = acc.wrapping_add((weights[t as u32 as usize] as u64).wrapping_mul(t >> 32));
            if acc >= target {
                return (e, lo);
            }
            e += 1;
        }
        // Unreachable when n > 0: prefix(last) = n >= target.
        (ticks.len() - 1, lo)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::stats::input::RoundCounters;

    fn obs(values: &[u64]) -> RoundObs {
        let mut v = values.to_vec();
        v.sort_unstable();
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for x in v {
            match runs.last_mut() {
                Some(last) if last.0 == x => last.1 += 1,
                _ => runs.push((x, 1)),
            }
        }
        let n = values.len() as u64;
        RoundObs::from_runs(
            runs,
            RoundCounters {
                requests: n,
                errors: 0,
                elapsed: Duration::from_secs(1),
            },
        )
        .unwrap()
    }

    /// Nearest-rank percentile of the weighted multiset, the slow obvious way.
    fn brute(rounds: &[Vec<u64>], w: &[u32], p: Percentile) -> u64 {
        let mut all = Vec::new();
        for (r, vals) in rounds.iter().enumerate() {
            for _ in 0..w[r] {
                all.extend_from_slice(vals);
            }
        }
        all.sort_unstable();
        all[p.rank(all.len() as u64) as usize - 1]
    }

    #[test]
    fn weighted_percentiles_match_brute_force() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for trial in 0..40 {
            let nrounds = 1 + trial % 9;
            let rounds: Vec<Vec<u64>> = (0..nrounds)
                .map(|r| {
                    let n = rng.gen_range(1..200);
                    // Few distinct values so ties across rounds are common.
                    (0..n)
                        .map(|_| rng.gen_range(1..60) * (1 + r as u64 % 3))
                        .collect()
                })
                .collect();
            let observed: Vec<RoundObs> = rounds.iter().map(|v| obs(v)).collect();
            let refs: Vec<&RoundObs> = observed.iter().collect();
            let index = LatencyIndex::new(Merged::new(&refs), nrounds);
            let mut resampler = Resampler::new(trial as u64, 0);
            let mut w = Weights::identity(nrounds);
            let from: Vec<u32> = (0..nrounds as u32).collect();
            for draw in 0..30 {
                if draw > 0 {
                    resampler.draw(&mut w, &from);
                }
                let n = w.dot32(index.totals(), 0);
                for p in Percentile::ALL {
                    assert_eq!(
                        index.percentile(&w, n, p),
                        brute(&rounds, &w.w, p),
                        "trial {trial} draw {draw} {p:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn resampler_is_uniform_and_reproducible() {
        let from: Vec<u32> = vec![2, 3, 5, 7, 11, 13, 17];
        let (mut a, mut b) = (Resampler::new(42, 0), Resampler::new(42, 0));
        let (mut wa, mut wb) = (Weights::subset(20, &from), Weights::subset(20, &from));
        let mut hits = [0u32; 20];
        for _ in 0..10_000 {
            a.draw(&mut wa, &from);
            b.draw(&mut wb, &from);
            assert_eq!(wa.w, wb.w);
            assert_eq!(wa.pairs.iter().map(|p| p.1).sum::<u32>(), 7);
            for (r, &w) in wa.w.iter().enumerate() {
                hits[r] += w;
            }
        }
        for (r, &h) in hits.iter().enumerate() {
            if from.contains(&(r as u32)) {
                assert!((9_500..10_500).contains(&h), "{hits:?}");
            } else {
                assert_eq!(h, 0);
            }
        }
        // Another stream, another sequence.
        let mut c = Resampler::new(42, 1);
        let mut wc = Weights::subset(20, &from);
        c.draw(&mut wc, &from);
        let (mut d, mut wd) = (Resampler::new(42, 0), Weights::subset(20, &from));
        d.draw(&mut wd, &from);
        assert_ne!(wc.w, wd.w);
    }
}
