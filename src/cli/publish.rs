//! `tailgate publish`: the privileged half of the fork-safe workflow pair.

use std::path::PathBuf;

use crate::context::Context;
use crate::github::{self, CommentPolicy, PublishOptions};
use crate::report::{build_view, render_markdown};
use crate::verdict::exit;

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
    let mut results = match github::read_results(&path) {
        Ok(results) => results,
        Err(err) => {
            eprintln!("tailgate: {err}");
            return exit::USAGE;
        }
    };
    github::adopt_context(&ctx, &mut results);
    let markdown = match render_markdown(&build_view(&results)) {
        Ok(markdown) => markdown,
        Err(err) => {
            eprintln!("tailgate: {err}");
            return exit::ERROR;
        }
    };
    let mut options = PublishOptions::from_context(&ctx);
    if let Some(policy) = args.comment {
        options.comment = policy;
    }
    if args.no_check_run {
        options.check_run = false;
    }
    options.results_path = Some(path);
    github::publish(&ctx, &results, &markdown, &options).await;
    results.verdict.exit_code()
}
