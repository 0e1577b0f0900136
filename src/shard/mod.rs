//! Shards: one run's load spread over N machines (GitHub Actions matrix jobs), then
//! merged back into one exact result.
//!
//! `tailgate run --shard I/N` (1-based, like `strategy.matrix.shard: [1, 2, 3, 4]`)
//! measures the same endpoints, phases and round schedule as the whole run, with the
//! same seed (so every shard draws the same side order), but sends only its share of
//! the load: of every endpoint (and every step of a ladder) its share of the
//! connections of a closed loop, of the rate of an open loop, and of a per-round
//! request limit. Shares are whole connections (rates in steps of 0.001 req/s,
//! request limits in whole requests); the remainder goes one each to the first
//! shards, so the shares add up exactly to the total. A shard whose share would be
//! zero is refused before anything is deployed, by every shard alike: each shard must measure every
//! (round, side), or the merged rounds would not be the same rounds.
//!
//! Each shard records its (I, N) and a hash of the whole run's config
//! ([`crate::fingerprint::run`])
//! and seed; [`merge`] refuses shards that do not belong together and adds the rest
//! exactly: per endpoint and (round, side), histograms added and counters summed
//! ([`crate::bench::Recorder::merge`]). HdrHistograms add without loss, so the
//! merged percentiles are those of all requests pooled.

mod align;
mod merge;

use std::fmt;
use std::str::FromStr;

use crate::config::{Config, Profile};

pub use align::MIN_OVERLAP;
pub use merge::{merge, MergeError, MergeOptions};

/// Shard I of N, `1 <= I <= N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: u32,
    count: u32,
}

/// Why a `--shard` value or a split is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// `--shard` is not `I/N` with whole numbers.
    #[error("--shard `{0}` is not I/N (e.g. `--shard 2/4` for the second of four shards; I counts from 1)")]
    Syntax(String),
    /// N is zero.
    #[error("--shard `{0}`: the number of shards must be at least 1")]
    NoShards(String),
    /// I is outside `1..=N`.
    #[error("--shard `{value}`: the shard must be between 1 and {count} (I counts from 1, like a matrix of [1, 2, ..., {count}])")]
    OutOfRange {
        /// What was given.
        value: String,
        /// N.
        count: u32,
    },
    /// An endpoint's load is too small to give every shard a share.
    #[error("--shard {shard}: endpoint `{endpoint}` has {what}, too little to give each of {count} shards a share; use at most {most} shards, or raise it")]
    TooSmall {
        /// The shard.
        shard: Shard,
        /// The endpoint.
        endpoint: String,
        /// What is too small, in words (`3 connections`).
        what: String,
        /// N.
        count: u32,
        /// The most shards that load can be split into.
        most: u64,
    },
    /// A run split into shards needs a seed every shard shares.
    #[error("--shard {0} needs a seed shared by every shard, so they draw the same side order: pass --seed (e.g. --seed ${{{{ github.run_id }}}}) or set compare.seed")]
    NoSeed(Shard),
}

impl Shard {
    /// Shard `index` (1-based) of `count`.
    pub fn new(index: u32, count: u32) -> Result<Shard, ShardError> {
        let value = format!("{index}/{count}");
        if count == 0 {
            return Err(ShardError::NoShards(value));
        }
        if index == 0 || index > count {
            return Err(ShardError::OutOfRange { value, count });
        }
        Ok(Shard { index, count })
    }

    /// The 1-based index, I.
    pub fn index(self) -> u32 {
        self.index
    }

    /// The number of shards, N.
    pub fn count(self) -> u32 {
        self.count
    }

    /// This shard's share of `total`: `total / N`, plus one of the remainder for
    /// the first `total % N` shards. The shares of shards 1..=N add up to `total`.
    pub fn share(self, total: u64) -> u64 {
        let n = u64::from(self.count);
        let i = u64::from(self.index - 1);
        total / n + u64::from(i < total % n)
    }

    /// This shard's share of a rate in req/s, split in steps of 0.001 req/s.
    pub fn share_rate(self, rate: f64) -> f64 {
        let milli = (rate * 1000.0).round().max(0.0) as u64;
        self.share(milli) as f64 / 1000.0
    }

    /// The whole run's config cut down to this shard's share of the load. Ladders
    /// are expanded into their steps first (each step is split). An extension
    /// (`compare.extend`) is turned off: a shard judging its own share alone must
    /// not buy rounds the other shards do not measure.
    pub fn split(self, config: &Config) -> Result<Config, ShardError> {
        let mut out = config.clone();
        out.compare.extend = 0;
        // Nor does it stop early: the merged run is decided once, at the end.
        out.compare.min_rounds = out.compare.rounds;
        out.endpoints = crate::bench::expand_ladders(&config.endpoints);
        for e in &mut out.endpoints {
            let too_small = |what: String, most: u64| ShardError::TooSmall {
                shard: self,
                endpoint: e.name.clone(),
                what,
                count: self.count,
                most,
            };
            // Every shard of the run needs a share, whichever this one is: the
            // check is the same on all N, so none of them starts alone.
            let n = u64::from(self.count);
            let connections = |total: u32| -> Result<u32, ShardError> {
                if u64::from(total) < n {
                    return Err(too_small(
                        plural(u64::from(total), "connection"),
                        total.into(),
                    ));
                }
                Ok(self.share(u64::from(total)) as u32)
            };
            e.load.profile = match e.load.profile.clone() {
                Profile::Closed { connections: c } => Profile::Closed {
                    connections: connections(c)?,
                },
                Profile::Open {
                    rate,
                    connections: c,
                } => {
                    let share = self.share_rate(rate);
                    if ((rate * 1000.0).round() as u64) < n {
                        return Err(too_small(
                            format!("a rate of {} req/s", crate::format::rate(rate)),
                            (rate * 1000.0).round() as u64,
                        ));
                    }
                    // Every shard needs a connection to send on; the cap is split
                    // too, at least one each.
                    Profile::Open {
                        rate: share,
                        connections: (self.share(u64::from(c)) as u32).max(1),
                    }
                }
                Profile::Ladder { .. } => unreachable!("ladders were expanded above"),
            };
            if let Some(total) = e.load.requests {
                if total < n {
                    return Err(too_small(
                        format!("a limit of {} per round", plural(total, "request")),
                        total,
                    ));
                }
                e.load.requests = Some(self.share(total));
            }
        }
        Ok(out)
    }
}

fn plural(n: u64, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Shard, ShardError> {
        let syntax = || ShardError::Syntax(s.to_string());
        let (i, n) = s.trim().split_once('/').ok_or_else(syntax)?;
        let number = |t: &str| {
            let t = t.trim();
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(syntax());
            }
            t.parse::<u32>().map_err(|_| syntax())
        };
        Shard::new(number(i)?, number(n)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_validates() {
        assert_eq!("2/4".parse::<Shard>().unwrap(), Shard::new(2, 4).unwrap());
        assert_eq!(" 1/1 ".parse::<Shard>().unwrap().to_string(), "1/1");
        for bad in ["x/y", "2", "2/", "/4", "-1/4", "1/4/2", "1.5/4", ""] {
            assert!(
                matches!(bad.parse::<Shard>(), Err(ShardError::Syntax(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            "0/0".parse::<Shard>(),
            Err(ShardError::NoShards(_))
        ));
        let err = "5/4".parse::<Shard>().unwrap_err();
        assert!(matches!(err, ShardError::OutOfRange { count: 4, .. }));
        assert!(err.to_string().contains("between 1 and 4"), "{err}");
        assert!(matches!(
            "0/4".parse::<Shard>(),
            Err(ShardError::OutOfRange { .. })
        ));
    }

    #[test]
    fn shares_add_up_to_the_total() {
        for n in 1..=9u32 {
            for total in [0u64, 1, 3, 4, 10, 11, 97, 1000] {
                let shares: Vec<u64> = (1..=n)
                    .map(|i| Shard::new(i, n).unwrap().share(total))
                    .collect();
                assert_eq!(shares.iter().sum::<u64>(), total, "{total} over {n}");
                let (lo, hi) = (shares.iter().min(), shares.iter().max());
                assert!(hi.unwrap() - lo.unwrap() <= 1, "{shares:?}");
                // The remainder goes to the first shards.
                assert!(shares.windows(2).all(|w| w[0] >= w[1]), "{shares:?}");
            }
        }
        let rates: f64 = (1..=3)
            .map(|i| Shard::new(i, 3).unwrap().share_rate(100.0))
            .sum();
        assert!((rates - 100.0).abs() < 1e-9, "{rates}");
        assert_eq!(Shard::new(1, 3).unwrap().share_rate(100.0), 33.334);
        assert_eq!(Shard::new(3, 3).unwrap().share_rate(100.0), 33.333);
    }

    fn config(text: &str) -> Config {
        crate::config::parse(text, "tailgate.yml", std::path::Path::new(".")).unwrap()
    }

    const CONFIG: &str = r#"
deploy: { url: { base: "http://127.0.0.1:1", head: "http://127.0.0.1:2" } }
load: { connections: 10, requests: 1001, duration: 1s, warmup: 0s }
compare: { rounds: 4, seed: 3, extend: 4 }
endpoints:
  - name: closed
    path: /a
  - name: open
    path: /b
    load: { rate: 100/s, connections: 3 }
  - name: steps
    path: /c
    load: { ladder: [4, 8] }
"#;

    #[test]
    fn every_endpoint_and_step_is_split_and_the_shares_add_up() {
        let whole = config(CONFIG);
        let shards: Vec<Config> = (1..=4)
            .map(|i| Shard::new(i, 4).unwrap().split(&whole).unwrap())
            .collect();
        let names: Vec<&str> = shards[0]
            .endpoints
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "closed",
                "open",
                "steps @ 4 connections",
                "steps @ 8 connections"
            ]
        );
        let connections = |e: usize| -> Vec<u32> {
            shards
                .iter()
                .map(|c| match c.endpoints[e].load.profile {
                    Profile::Closed { connections } | Profile::Open { connections, .. } => {
                        connections
                    }
                    Profile::Ladder { .. } => panic!("a ladder left"),
                })
                .collect()
        };
        assert_eq!(connections(0), [3, 3, 2, 2]);
        assert_eq!(connections(2), [1, 1, 1, 1]);
        assert_eq!(connections(3), [2, 2, 2, 2]);
        // An open loop's connections are a cap: at least one each.
        assert_eq!(connections(1), [1, 1, 1, 1]);
        let rates: f64 = shards
            .iter()
            .map(|c| match c.endpoints[1].load.profile {
                Profile::Open { rate, .. } => rate,
                _ => panic!("not open"),
            })
            .sum();
        assert!((rates - 100.0).abs() < 1e-9);
        let requests: Vec<u64> = shards
            .iter()
            .map(|c| c.endpoints[0].load.requests.unwrap())
            .collect();
        assert_eq!(requests, [251, 250, 250, 250]);
        for c in &shards {
            // `extend: 4` adds to the most rounds; a shard decides once, at the end.
            assert_eq!(c.compare.extend, 0, "a shard never extends alone");
            assert_eq!(c.compare.rounds, 8);
            assert_eq!(c.compare.min_rounds, 8, "a shard never stops alone");
        }
    }

    #[test]
    fn too_little_load_is_refused_and_the_hash_sees_the_config_and_seed() {
        let whole = config(CONFIG);
        // The ladder's first step has 4 connections: 5 shards cannot share it, and
        // shard 1 says so as well as shard 5 (whose share would be 0).
        for i in [1, 5] {
            let err = Shard::new(i, 5).unwrap().split(&whole).unwrap_err();
            assert!(err.to_string().contains("each of 5 shards"), "{err}");
        }
        let err = Shard::new(5, 5).unwrap().split(&whole).unwrap_err();
        assert!(
            err.to_string()
                .contains("`steps @ 4 connections` has 4 connections"),
            "{err}"
        );
        assert!(err.to_string().contains("use at most 4 shards"), "{err}");
        let h = crate::fingerprint::run(&whole, "url", 3);
        assert_eq!(h, crate::fingerprint::run(&config(CONFIG), "url", 3));
        assert_ne!(h, crate::fingerprint::run(&whole, "url", 4));
        assert_ne!(h, crate::fingerprint::run(&whole, "local", 3));
        let other = config(&CONFIG.replace("connections: 10", "connections: 11"));
        assert_ne!(h, crate::fingerprint::run(&other, "url", 3));
        // Where the sides are is not part of it: each shard may deploy its own.
        let elsewhere = config(&CONFIG.replace("127.0.0.1:2", "127.0.0.1:9"));
        assert_eq!(h, crate::fingerprint::run(&elsewhere, "url", 3));
    }
}
