//! The `local` deployer: each side runs on this machine, from a git worktree of its
//! ref, started by the user's command on a free loopback port.
//!
//! Per side: resolve the ref to a commit, `git worktree add --detach` it into a
//! temporary directory (or run in the repository itself when `worktree` is off),
//! start the command with `PORT` set, and poll the readiness path until it answers.
//! The worktree and the process are registered with the run's [`TeardownList`] as each
//! comes to exist; the cleanup stops the process before it removes the worktree.

use std::collections::BTreeMap;

use super::process::{free_port, ProcessSpec};
use super::worktree::{add_worktree, resolve_commit};
use super::{BoxFuture, DeployError, Deployer, Target, TeardownList};
use crate::config::LocalDeploy;
use crate::side::Side;

/// Starts base and head locally, each from its own git ref.
#[derive(Debug, Clone)]
pub struct LocalDeployer {
    cfg: LocalDeploy,
    base_ref: String,
    head_ref: String,
    traces: Option<crate::deploy::TraceExport>,
}

impl LocalDeployer {
    /// A deployer for `cfg` with the refs of the two sides already resolved from the
    /// config and the pull request (the `base_ref`/`head_ref` in `cfg` are not read).
    pub fn new(cfg: LocalDeploy, base_ref: String, head_ref: String) -> Self {
        LocalDeployer {
            cfg,
            base_ref,
            head_ref,
            traces: None,
        }
    }

    /// Tell each side's process where to export its spans (`OTEL_*`, issue 27).
    pub fn with_traces(mut self, traces: Option<crate::deploy::TraceExport>) -> Self {
        self.traces = traces;
        self
    }

    /// The git ref `side` is built from.
    pub fn git_ref(&self, side: Side) -> &str {
        match side {
            Side::Base => &self.base_ref,
            Side::Head => &self.head_ref,
        }
    }

    async fn deploy_side(&self, side: Side, cleanup: &TeardownList) -> Result<Target, DeployError> {
        let git_ref = self.git_ref(side);
        let (cwd, sha) = if self.cfg.worktree {
            let sha = resolve_commit(&self.cfg.repo, git_ref).await?;
            let path = add_worktree(&self.cfg.repo, side, &sha, cleanup).await?;
            (path, Some(sha))
        } else {
            (self.cfg.repo.clone(), None)
        };
        let worktree = sha.clone().map(|sha| super::Worktree {
            path: cwd.clone(),
            sha,
        });

        let port = free_port().map_err(|source| DeployError::Io {
            context: format!("finding a free port on 127.0.0.1 for {side}"),
            source,
        })?;
        let base_url = format!("http://127.0.0.1:{port}");
        let ready_url = if self.cfg.ready_path.starts_with('/') {
            format!("{base_url}{}", self.cfg.ready_path)
        } else {
            format!("{base_url}/{}", self.cfg.ready_path)
        };

        // The user's environment first: tailgate's own variables must win, since the
        // probe and the benchmark go to this PORT.
        let mut env = self.cfg.env.clone();
        env.push(("PORT".to_string(), port.to_string()));
        env.push(("TAILGATE_SIDE".to_string(), side.as_str().to_string()));
        env.push(("TAILGATE_REF".to_string(), git_ref.to_string()));
        if let Some(sha) = &sha {
            env.push(("TAILGATE_SHA".to_string(), sha.clone()));
        }
        if let Some(traces) = &self.traces {
            env.extend(traces.env(side, &self.cfg.env));
        }

        let label = match &sha {
            Some(sha) => format!("{git_ref} ({})", sha.get(..7).unwrap_or(sha)),
            None => git_ref.to_string(),
        };

        let process = ProcessSpec {
            command: self.cfg.command.clone(),
            cwd,
            env,
            side,
            label: label.clone(),
            stop_timeout: self.cfg.stop_timeout,
        }
        .start(cleanup)?;
        process
            .wait_ready(&ready_url, self.cfg.ready_timeout)
            .await?;

        Ok(Target {
            side,
            base_url,
            label,
            pid: Some(process.pid()),
            checkout: None,
            worktree,
            outputs: BTreeMap::new(),
            aws: None,
        })
    }
}

impl Deployer for LocalDeployer {
    fn name(&self) -> &'static str {
        "local"
    }

    fn deploy<'a>(
        &'a self,
        side: Side,
        cleanup: &'a TeardownList,
    ) -> BoxFuture<'a, Result<Target, DeployError>> {
        Box::pin(self.deploy_side(side, cleanup))
    }
}
