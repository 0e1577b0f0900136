//! History: what runs of the default branch measured, kept between runs.
//!
//! Runs on the history branch (`history.branch`, by default the repository's
//! default branch) append a [`Record`]: the whole results file, keyed by commit and
//! config hash, with the environment it ran in. From the records a run reads back:
//! - the **stored baseline** of a pull request (`history.baseline: stored`): the
//!   record of its merge-base, or of the nearest earlier stored commit;
//! - the **trend** of each endpoint's p50 and p99 over the last runs, with every
//!   change point larger than the metric's noise floor ([`changepoint`],
//!   [`trends`]);
//! - **learned noise floors**: per endpoint and metric, from the run-to-run changes
//!   between stored runs with no change point between them (the noise between two
//!   deployments of the same code), never below the A/A split inside the runs
//!   ([`floors`], [`learned_floors`]).
//!
//! Acceptances of a known regression (the `accept_label` on a pull request) are
//! recorded next to the runs, per head commit (and in the PR comment's marker:
//! `gate/accept.rs`).

pub mod changepoint;
pub mod floors;
mod layout;
mod plan;
mod record;
mod series;
mod store;

use crate::config::{HistoryConfig, StoreLocation};
use crate::results::Acceptance;

use layout::{branch_segment, sha_segment, time_segment};
pub use plan::{candidates, plan, Plan};
pub use record::{
    baseline_rounds, points_of, record_of, Environment, Point, Record, KEPT, RECORD_SCHEMA,
    TREND_METRICS,
};
pub use series::{beyond_floor, learned_floors, trends, LearnedFloor};
pub use store::{DirStore, S3Store, Store, StoreError};

/// Why the history could not be used.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored document is not a record.
    #[error("history store {store}: `{key}` is not a tailgate history record: {message}")]
    Bad {
        /// The store.
        store: String,
        /// The key.
        key: String,
        /// Why.
        message: String,
    },
}

/// An opened history.
pub struct History {
    store: Box<dyn Store>,
    branch: String,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History")
            .field("store", &self.store.describe())
            .field("branch", &self.branch)
            .finish()
    }
}

impl History {
    /// The history of `branch` in `store`.
    pub fn new(store: Box<dyn Store>, branch: impl Into<String>) -> History {
        History {
            store,
            branch: branch.into(),
        }
    }

    /// The history `config` names, for `default_branch` when the config names none;
    /// `None` when the config keeps no history.
    pub async fn open(config: &HistoryConfig, default_branch: Option<&str>) -> Option<History> {
        let store: Box<dyn Store> = match config.store.as_ref()? {
            StoreLocation::Dir(path) => Box::new(DirStore::new(path.clone())),
            StoreLocation::S3 {
                bucket,
                prefix,
                region,
            } => {
                let clients = crate::aws::AwsClients::load(&crate::aws::ClientOptions {
                    region: region.clone(),
                    ..Default::default()
                })
                .await;
                Box::new(S3Store::new(clients.s3, bucket.clone(), prefix.clone()))
            }
        };
        let branch = config
            .branch
            .clone()
            .or_else(|| default_branch.map(str::to_string))
            .unwrap_or_else(|| "main".into());
        Some(History::new(store, branch))
    }

    /// The branch whose runs are recorded.
    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// The store in words.
    pub fn describe(&self) -> String {
        self.store.describe()
    }

    fn runs_prefix(&self) -> String {
        format!("runs/{}/", branch_segment(&self.branch))
    }

    /// Append `record`; returns its key.
    pub async fn append(&self, record: &Record) -> Result<String, HistoryError> {
        let sha = sha_segment(&record.commit).ok_or_else(|| HistoryError::Bad {
            store: self.describe(),
            key: String::new(),
            message: format!("`{}` is not a commit sha", record.commit),
        })?;
        let key = format!(
            "{}{}-{sha}-{}.json",
            self.runs_prefix(),
            time_segment(&record.recorded_at),
            record.config_hash
        );
        let body = serde_json::to_vec(record).map_err(|e| HistoryError::Bad {
            store: self.describe(),
            key: key.clone(),
            message: e.to_string(),
        })?;
        self.store.put(&key, body).await?;
        Ok(key)
    }

    /// Keys of the branch's runs, oldest first.
    pub async fn keys(&self) -> Result<Vec<String>, HistoryError> {
        let mut keys = self.store.list(&self.runs_prefix()).await?;
        keys.retain(|k| k.ends_with(".json"));
        Ok(keys)
    }

    /// The record under `key`.
    pub async fn load(&self, key: &str) -> Result<Record, HistoryError> {
        let bad = |message: String| HistoryError::Bad {
            store: self.describe(),
            key: key.to_string(),
            message,
        };
        let bytes = self
            .store
            .get(key)
            .await?
            .ok_or_else(|| bad("it is gone".into()))?;
        let mut record: Record = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        if record.schema != RECORD_SCHEMA {
            return Err(bad(format!(
                "schema `{}` is not `{RECORD_SCHEMA}`",
                record.schema
            )));
        }
        record.fill_points();
        Ok(record)
    }

    /// The last `n` records of the branch with `config_hash` (any hash when `None`),
    /// oldest first. Records that cannot be read are reported in `warnings` and
    /// skipped.
    pub async fn recent(
        &self,
        n: usize,
        config_hash: Option<&str>,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<Record>, HistoryError> {
        let keys = self.keys().await?;
        let mut out = Vec::new();
        for key in keys.iter().rev() {
            if out.len() >= n {
                break;
            }
            if let Some(hash) = config_hash {
                if !key.ends_with(&format!("-{hash}.json")) {
                    continue;
                }
            }
            match self.load(key).await {
                Ok(r) => out.push(r),
                Err(e) => warnings.push(e.to_string()),
            }
        }
        out.reverse();
        Ok(out)
    }

    /// The newest record of the first commit of `candidates` (in order: the
    /// merge-base, then its ancestors) that has one with `config_hash`, else with
    /// any hash. `None` when no candidate has a record.
    pub async fn find(
        &self,
        candidates: &[String],
        config_hash: &str,
    ) -> Result<Option<(usize, Record)>, HistoryError> {
        let keys = self.keys().await?;
        // Key: `<time>-<sha>-<hash>.json` under the branch prefix.
        let parsed: Vec<(&str, &str, &String)> = keys
            .iter()
            .filter_map(|k| {
                let name = k.rsplit('/').next()?.strip_suffix(".json")?;
                let mut parts = name.splitn(3, '-');
                let _time = parts.next()?;
                Some((parts.next()?, parts.next()?, k))
            })
            .collect();
        for (i, commit) in candidates.iter().enumerate() {
            let Some(sha) = sha_segment(commit) else {
                continue;
            };
            let matching: Vec<_> = parsed.iter().filter(|(s, _, _)| *s == sha).collect();
            let pick = matching
                .iter()
                .rev()
                .find(|(_, h, _)| *h == config_hash)
                .or_else(|| matching.last());
            if let Some((_, _, key)) = pick {
                return Ok(Some((i, self.load(key).await?)));
            }
        }
        Ok(None)
    }

    fn acceptance_key(&self, head_sha: &str) -> Option<String> {
        sha_segment(head_sha).map(|sha| format!("accepted/{sha}.json"))
    }

    /// Record `acceptance`.
    pub async fn accept(&self, acceptance: &Acceptance) -> Result<(), HistoryError> {
        let key = self
            .acceptance_key(&acceptance.head_sha)
            .ok_or_else(|| HistoryError::Bad {
                store: self.describe(),
                key: String::new(),
                message: format!("`{}` is not a commit sha", acceptance.head_sha),
            })?;
        let body = serde_json::to_vec_pretty(acceptance).unwrap_or_default();
        self.store.put(&key, body).await?;
        Ok(())
    }

    /// The acceptance recorded for `head_sha`, if any.
    pub async fn acceptance(&self, head_sha: &str) -> Result<Option<Acceptance>, HistoryError> {
        let Some(key) = self.acceptance_key(head_sha) else {
            return Ok(None);
        };
        let Some(bytes) = self.store.get(&key).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| HistoryError::Bad {
                store: self.describe(),
                key,
                message: e.to_string(),
            })
    }
}

/// The first 7 characters of a commit.
pub fn short(sha: &str) -> String {
    sha.chars().take(7).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::verdict::Metric;

    fn env(runner: &str) -> Environment {
        Environment {
            runner: Some(runner.into()),
            region: None,
            deployer: "url".into(),
            tailgate_version: "0.1.0".into(),
        }
    }

    #[test]
    fn environments_say_how_they_differ() {
        assert!(env("Linux X64").differences(&env("Linux X64")).is_empty());
        let diff = env("Linux X64").differences(&Environment {
            region: Some("eu-west-1".into()),
            tailgate_version: "0.2.0".into(),
            ..env("Linux ARM64")
        });
        assert_eq!(
            diff,
            [
                "runner `Linux X64` vs `Linux ARM64`",
                "region `unknown` vs `eu-west-1`",
                "tailgate 0.1.0 vs 0.2.0"
            ]
        );
    }

    #[test]
    fn keys_sort_in_time_and_name_their_commit() {
        assert_eq!(
            time_segment("2026-12-03T12:00:05.123456Z"),
            "20261203T120005123Z"
        );
        assert_eq!(
            time_segment("2026-12-03T12:00:05.5Z"),
            "20261203T120005500Z"
        );
        assert_eq!(time_segment("2026-12-03T12:00:05Z"), "20261203T120005000Z");
        assert!(time_segment("2026-12-03T12:00:05.999Z") < time_segment("2026-12-03T12:00:06Z"));
        assert_eq!(branch_segment("release/1.x"), "release_1.x");
        assert_eq!(branch_segment("../main"), "_main");
        assert_eq!(sha_segment("ABCDEF0123"), Some("abcdef0123".into()));
        assert_eq!(sha_segment("HEAD"), None);
        assert_eq!(sha_segment("../x"), None);
    }

    /// A stored run of `users` with this p99 (and half of it as p50).
    pub(super) fn record(commit: &str, p99: f64) -> Record {
        Record {
            schema: RECORD_SCHEMA.into(),
            commit: commit.into(),
            branch: "main".into(),
            config_hash: "abc".into(),
            recorded_at: "2026-12-03T12:00:00Z".into(),
            environment: env("Linux X64"),
            points: vec![Point {
                endpoint: "users".into(),
                requests: 100,
                p99_ms: Some(p99),
                aa_p99: Some(0.01),
                values: [(Metric::P50, p99 / 2.0), (Metric::P99, p99)].into(),
                aa: [(Metric::P50, 0.01), (Metric::P99, 0.01)].into(),
            }],
            results: serde_json::from_value(serde_json::json!({
                "schema": crate::results::SCHEMA, "tool_version": "0.1.0",
                "started_at": "2026-12-03T12:00:00Z",
                "context": { "kind": "release", "base_label": "", "head_label": "main", "run_url": null },
                "settings": { "config_source": "tailgate.yml", "mode": "blocking", "deployer": "url",
                    "rounds": 2, "noise_floor": 0.02, "confidence": 0.95, "resamples": 2000, "seed": 1 },
                "targets": [], "order": [], "endpoints": [], "comparisons": [],
                "verdict": { "level": "pass", "mode": "blocking", "checks": [], "error": null }
            }))
            .expect("a minimal results file"),
        }
    }

    #[tokio::test]
    async fn the_merge_base_wins_else_the_nearest_earlier_commit() {
        let dir = tempfile::tempdir().unwrap();
        let history = History::new(Box::new(DirStore::new(dir.path())), "main");
        let (old, newer) = ("a".repeat(40), "b".repeat(40));
        history.append(&record(&old, 10.0)).await.unwrap();
        history.append(&record(&newer, 11.0)).await.unwrap();
        let wanted = "c".repeat(40);
        let found = history
            .find(&[wanted.clone(), newer.clone(), old.clone()], "abc")
            .await
            .unwrap()
            .expect("a record");
        assert_eq!((found.0, found.1.commit.as_str()), (1, newer.as_str()));
        let found = history
            .find(std::slice::from_ref(&old), "other")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.1.commit, old, "another config hash is the fallback");
        assert!(history.find(&[wanted], "abc").await.unwrap().is_none());
        let mut warnings = Vec::new();
        let recent = history
            .recent(10, Some("abc"), &mut warnings)
            .await
            .unwrap();
        assert_eq!(recent.len(), 2);
        assert!(warnings.is_empty());
    }
}
