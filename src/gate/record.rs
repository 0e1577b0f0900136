//! Runs of the history branch are recorded for the runs after them.

use crate::config::Config;
use crate::context::{Context, Trigger};
use crate::judge::verdict::Level;
use crate::progress::Progress;

/// Whether this run is a push to (or a manual run on) the history branch.
pub(super) fn on_history_branch(ctx: &Context, branch: &str) -> bool {
    matches!(&ctx.trigger, Trigger::Release { git_ref: Some(r), .. } if r.strip_prefix("refs/heads/") == Some(branch))
}

/// Record `results` in `history` as a run of its branch (not a failed run: it
/// measured nothing to compare with). Returns whether the results changed.
pub(super) async fn record(
    config: &Config,
    history: &crate::history::History,
    repo_dir: &std::path::Path,
    head_ref: Option<&str>,
    results: &mut crate::results::RunResults,
    progress: &Progress,
) -> bool {
    if results.verdict.level == Level::Error || results.endpoints.is_empty() {
        progress.log("history: a failed run is not recorded");
        return false;
    }
    let commit = match results.context.head_sha.clone() {
        Some(sha) => Some(sha),
        None => {
            let spec = format!("{}^{{commit}}", head_ref.unwrap_or("HEAD"));
            crate::git::run(repo_dir, &["rev-parse", "--verify", &spec])
                .await
                .ok()
        }
    };
    let note = results
        .history
        .get_or_insert_with(|| crate::results::HistoryNote {
            store: history.describe(),
            branch: history.branch().to_string(),
            ..Default::default()
        });
    let Some(commit) = commit else {
        note.warnings.push(
            "not recorded: the commit measured is not known (run in a git repository, or pass --head-ref)"
                .into(),
        );
        return true;
    };
    let record = crate::history::record_of(config, results, &commit, history.branch());
    match history.append(&record).await {
        Ok(key) => {
            progress.log(&format!(
                "history: recorded as {key} in {}",
                history.describe()
            ));
            if let Some(note) = results.history.as_mut() {
                note.recorded = Some(key);
            }
        }
        Err(e) => {
            let message = config.secrets.redact(&e.to_string());
            eprintln!("tailgate: history: {message}");
            if let Some(note) = results.history.as_mut() {
                note.warnings.push(message);
            }
        }
    }
    true
}
