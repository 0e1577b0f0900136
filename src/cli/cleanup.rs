//! `tailgate cleanup`: delete tailgate's AWS stacks past their expiry or of closed
//! pull requests (found through the tagging API).

use std::path::PathBuf;

use crate::judge::verdict::exit;

/// `tailgate cleanup`.
#[derive(Debug, clap::Args)]
pub struct CleanupArgs {
    /// Only stacks of this repository (`owner/name`).
    #[arg(long, env = "GITHUB_REPOSITORY")]
    pub repo: Option<String>,
    /// Also delete the stacks of this closed pull request (repeatable).
    #[arg(long = "pr")]
    pub prs: Vec<u64>,
    /// A GitHub event payload; a `pull_request` `closed` event adds its pull request.
    #[arg(long, env = "GITHUB_EVENT_PATH")]
    pub event: Option<PathBuf>,
    /// List what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// AWS region (default from the environment or profile).
    #[arg(long)]
    pub region: Option<String>,
    /// Seconds to wait for each stack's deletion.
    #[arg(long, default_value_t = 1200)]
    pub timeout_secs: u64,
}

/// The pull request closed by a `pull_request` event payload, if that is what it is.
pub fn closed_pr_of_event(payload: &str) -> Option<u64> {
    let event: serde_json::Value = serde_json::from_str(payload).ok()?;
    if event.get("action")?.as_str()? != "closed" {
        return None;
    }
    event.get("pull_request")?.get("number")?.as_u64()
}

pub(crate) async fn cleanup(args: CleanupArgs) -> i32 {
    use crate::deploy::cloudformation::reap::ReapRequest;
    use crate::deploy::cloudformation::stack::Polling;

    let mut closed_prs = args.prs.clone();
    if let Some(path) = &args.event {
        if let Some(pr) = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| closed_pr_of_event(&text))
        {
            closed_prs.push(pr);
        }
    }
    let clients = crate::aws::AwsClients::load(&crate::aws::ClientOptions {
        region: args.region.clone(),
        ..Default::default()
    })
    .await;
    let request = ReapRequest {
        repo: args.repo.clone(),
        closed_prs,
        now: time::OffsetDateTime::now_utc(),
        dry_run: args.dry_run,
    };
    let polling = Polling {
        timeout: std::time::Duration::from_secs(args.timeout_secs),
        interval: std::time::Duration::from_secs(5),
    };
    if crate::deploy::cloudformation::reap::reap_and_print(&clients, &request, polling).await {
        exit::PASS
    } else {
        exit::ERROR
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    #[test]
    fn a_closed_pull_request_event_names_its_pr() {
        let closed =
            r#"{"action": "closed", "number": 17, "pull_request": {"number": 17, "merged": true}}"#;
        assert_eq!(closed_pr_of_event(closed), Some(17));
        let opened = r#"{"action": "opened", "number": 17, "pull_request": {"number": 17}}"#;
        assert_eq!(closed_pr_of_event(opened), None);
        assert_eq!(closed_pr_of_event(r#"{"action": "closed"}"#), None);
        assert_eq!(closed_pr_of_event("not json"), None);
    }

    #[test]
    fn cleanup_parses_its_flags() {
        let cli = Cli::try_parse_from([
            "tailgate",
            "cleanup",
            "--dry-run",
            "--pr",
            "3",
            "--pr",
            "4",
            "--repo",
            "acme/orders",
        ])
        .unwrap();
        let Command::Cleanup(args) = cli.command else {
            panic!("not cleanup");
        };
        assert!(args.dry_run);
        assert_eq!(args.prs, vec![3, 4]);
        assert_eq!(args.repo.as_deref(), Some("acme/orders"));
    }
}
