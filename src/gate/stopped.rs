//! A run that stopped before measuring still leaves the job summary and the
//! step outputs right.

use crate::config::ConfigError;
use crate::context::Context;
use crate::judge::verdict::exit;
use crate::publish::workflow;

/// A config that cannot be used: every problem on stderr; on GitHub Actions also
/// one `::error file=…,line=…,col=…` annotation per problem (GitHub shows it at that
/// line of the file), the list in the job summary and the step outputs
/// `verdict=error` and `exit_code=2`. `file` is the config's path relative to the
/// repository's root, `source` the copy that gates (`tailgate.yml@f95f852`).
/// Returns the exit code, [`exit::USAGE`].
pub fn config_failed(ctx: &Context, err: &ConfigError, file: &str, source: &str) -> i32 {
    eprintln!("{err}");
    if ctx.actions {
        for line in workflow::config_annotations(err, file) {
            println!("{line}");
        }
        stopped_early(ctx, &workflow::config_summary(err, source));
    }
    exit::USAGE
}

/// The job summary and the outputs (`verdict=error`, `exit_code=2`) of a run that
/// stopped before measuring; best effort, like every job summary.
pub fn stopped_early(ctx: &Context, summary: &str) {
    if let Some(path) = &ctx.step_summary {
        if let Err(e) = workflow::append_summary(path, summary) {
            eprintln!("tailgate: could not write the job summary: {e}");
        }
    }
    if let Some(path) = &ctx.output {
        if let Err(e) = workflow::write_outputs(path, &workflow::error_outputs(exit::USAGE)) {
            eprintln!("tailgate: could not write the step outputs: {e}");
        }
    }
}
