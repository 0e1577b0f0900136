//! `tailgate publish`: the privileged half of the fork-safe workflow pair.

use std::path::PathBuf;

use crate::context::CommentPolicy;
use crate::context::Context;
use crate::judge::verdict::exit;
use crate::publish::{self, PublishOptions};
use crate::report::{build_view, render_markdown};

/// `tailgate publish`.
#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    /// The results file (default: the `results` input, else
    /// `tailgate-out/tailgate-results.json`).
    pub results: Option<PathBuf>,
    /// When to post the PR comment: always, on-change, on-failure, never (default:
    /// the `comment` input, else always).
    #[arg(long, value_parser = parse_comment_policy)]
    pub comment: Option<CommentPolicy>,
    /// Do not create a check run.
    #[arg(long)]
    pub no_check_run: bool,
}

fn parse_comment_policy(s: &str) -> Result<CommentPolicy, String> {
    s.parse()
}

pub(crate) async fn publish(args: PublishArgs) -> i32 {
    let ctx = match Context::from_process() {
        Ok(ctx) => ctx,
        Err(err) => {
            eprintln!("tailgate: {err}");
            return exit::USAGE;
        }
    };
    let path = args
        .results
        .or_else(|| ctx.inputs.results.clone())
        .unwrap_or_else(|| PathBuf::from("tailgate-out/tailgate-results.json"));
    let mut options = PublishOptions::from_context(&ctx);
    if let Some(policy) = args.comment {
        options.comment = policy;
    }
    if args.no_check_run {
        options.check_run = false;
    }
    let mut results = match publish::read_results(&path) {
        Ok(results) => results,
        Err(err) => {
            eprintln!("tailgate: {err}");
            // A file that does not even decode (a histogram edited by hand, say) is
            // refused like any other tampered one.
            if ctx.actions {
                publish::publish_refusal(&ctx, &err.to_string(), &options).await;
            }
            return exit::USAGE;
        }
    };
    publish::adopt_context(&ctx, &mut results);
    // The file's conclusions are never posted, whatever the event: what its measured
    // rounds say under the gate's config (on a pull request the base commit's copy;
    // from a `workflow_run` the copy of this workflow's commit, as a fork's workflow
    // may have written the file), for the commit and PR the event and the API name.
    let gh = publish::client(&ctx, options.retry);
    results = match publish::trust::verify(&ctx, gh.as_ref(), results).await {
        Ok(verified) => {
            for notice in &verified.notices {
                eprintln!("{notice}");
            }
            verified.results
        }
        Err(refusal) => {
            let why = refusal.to_string();
            eprintln!("tailgate: {why}");
            publish::publish_refusal(&ctx, &why, &options).await;
            return exit::USAGE;
        }
    };
    let markdown = match render_markdown(&build_view(&results)) {
        Ok(markdown) => markdown,
        Err(err) => {
            eprintln!("tailgate: {err}");
            return exit::ERROR;
        }
    };
    options.results_path = Some(path);
    publish::publish(&ctx, &results, &markdown, &options).await;
    results.verdict.exit_code()
}
