//! The action's inputs: the `INPUT_*` variables the runner sets for a Docker
//! action (`INPUT_` + the input's id in upper case), parsed and validated once.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use super::{ContextError, Env};

/// Every action input the binary reads, as the runner passes it (`INPUT_` + the
/// input's id in upper case). `action.yml` declares exactly these;
/// `scripts/check-action-inputs.sh` checks both directions.
pub const ACTION_INPUTS: [&str; 13] = [
    "INPUT_COMMAND",
    "INPUT_CONFIG",
    "INPUT_GITHUB_TOKEN",
    "INPUT_COMMENT",
    "INPUT_CHECK_RUN",
    "INPUT_RESULTS",
    "INPUT_OUT_DIR",
    "INPUT_BASE_URL",
    "INPUT_HEAD_URL",
    "INPUT_SHARD",
    "INPUT_SEED",
    "INPUT_START_AT",
    "INPUT_MAX_LATE",
];

/// The action's inputs (`INPUT_*`), parsed. An empty input is absent (the runner
/// passes every declared input, empty when unset and without default).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionInputs {
    /// `command`: `run`, `merge`, `publish` or `cleanup`.
    pub command: Option<String>,
    /// `config`: path of `tailgate.yml`.
    pub config: Option<String>,
    /// `comment`: when to post the PR comment.
    pub comment: Option<CommentPolicy>,
    /// `check_run`: whether to create a check run.
    pub check_run: Option<bool>,
    /// `results`: the results file `publish` reads; for `merge`, the shards'
    /// files or a folder of them (one folder per shard, as artifacts download).
    pub results: Option<PathBuf>,
    /// `out_dir`: where `run` writes its report and results.
    pub out_dir: Option<PathBuf>,
    /// `base_url`: base's URL for the `url` deployer (a preview of an earlier step).
    pub base_url: Option<String>,
    /// `head_url`: head's URL for the `url` deployer.
    pub head_url: Option<String>,
    /// `shard`: `I/N`, this job's shard of the run (checked by `run`).
    pub shard: Option<String>,
    /// `seed`: the seed of the side order and the bootstrap, shared by shards.
    pub seed: Option<u64>,
    /// `start_at`: the shared start of every shard (RFC 3339; checked by `run`).
    pub start_at: Option<String>,
    /// `max_late`: how late after `start_at` a shard may still join (checked by
    /// `run`).
    pub max_late: Option<String>,
}

impl ActionInputs {
    /// Parse the inputs of `env`. `INPUT_GITHUB_TOKEN` is read into
    /// [`Context::token`], not here.
    pub fn from_env(env: &Env) -> Result<ActionInputs, ContextError> {
        let get = |name: &str| {
            env.get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let command = match get("INPUT_COMMAND") {
            Some(c) if ["run", "merge", "publish", "cleanup"].contains(&c.as_str()) => Some(c),
            Some(other) => {
                return Err(ContextError::Input {
                    input: "command",
                    value: other,
                    expected: "`run`, `merge`, `publish` or `cleanup`",
                })
            }
            None => None,
        };
        let seed = match get("INPUT_SEED") {
            Some(v) => Some(v.parse::<u64>().map_err(|_| ContextError::Input {
                input: "seed",
                value: v,
                expected:
                    "a whole number from 0 to 18446744073709551615, e.g. the run's `github.run_id`",
            })?),
            None => None,
        };
        let comment = match get("INPUT_COMMENT") {
            Some(v) => Some(
                v.parse::<CommentPolicy>()
                    .map_err(|_| ContextError::Input {
                        input: "comment",
                        value: v,
                        expected: "`always`, `on-change`, `on-failure` or `never`",
                    })?,
            ),
            None => None,
        };
        let check_run = match get("INPUT_CHECK_RUN") {
            Some(v) => Some(match v.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => true,
                "false" | "no" | "0" => false,
                _ => {
                    return Err(ContextError::Input {
                        input: "check_run",
                        value: v,
                        expected: "`true` or `false`",
                    })
                }
            }),
            None => None,
        };
        Ok(ActionInputs {
            command,
            config: get("INPUT_CONFIG"),
            comment,
            check_run,
            results: get("INPUT_RESULTS").map(PathBuf::from),
            out_dir: get("INPUT_OUT_DIR").map(PathBuf::from),
            base_url: get("INPUT_BASE_URL"),
            head_url: get("INPUT_HEAD_URL"),
            shard: get("INPUT_SHARD"),
            seed,
            start_at: get("INPUT_START_AT"),
            max_late: get("INPUT_MAX_LATE"),
        })
    }
}

/// The arguments to parse: `args` as given, or, when only the program name is
/// given (the Docker action passes no arguments), the program name and the
/// `command` input (`INPUT_COMMAND`, `run` by default when it is set but empty).
pub fn action_args(
    args: Vec<std::ffi::OsString>,
    input_command: Option<String>,
) -> Vec<std::ffi::OsString> {
    match (args.len(), input_command) {
        (1, Some(command)) => {
            let command = command.trim();
            let command = if command.is_empty() { "run" } else { command };
            vec![args[0].clone(), command.into()]
        }
        _ => args,
    }
}

/// When to post (or update) the PR comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CommentPolicy {
    /// On every run: create it, or update it in place.
    #[default]
    Always,
    /// Only when performance changed (a regression, an improvement, a warning or a
    /// failure) or the verdict differs from the existing comment's; an existing
    /// comment is always kept current.
    OnChange,
    /// Only when the verdict is `fail` or `error`; an existing comment is always
    /// kept current (so a fixed PR does not keep showing a failure).
    OnFailure,
    /// Never.
    Never,
}

impl FromStr for CommentPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "always" | "true" => Ok(CommentPolicy::Always),
            "on-change" => Ok(CommentPolicy::OnChange),
            "on-failure" => Ok(CommentPolicy::OnFailure),
            "never" | "false" => Ok(CommentPolicy::Never),
            other => Err(format!(
                "unknown comment policy `{other}`: use always, on-change, on-failure or never"
            )),
        }
    }
}

impl fmt::Display for CommentPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CommentPolicy::Always => "always",
            CommentPolicy::OnChange => "on-change",
            CommentPolicy::OnFailure => "on-failure",
            CommentPolicy::Never => "never",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::context::tests::env;

    #[test]
    fn inputs_are_validated() {
        let err =
            ActionInputs::from_env(&env(&[("INPUT_COMMENT", "sometimes")])).expect_err("invalid");
        assert!(err.to_string().contains("on-failure"), "{err}");
        let ok = ActionInputs::from_env(&env(&[
            ("INPUT_COMMENT", "on-change"),
            ("INPUT_CHECK_RUN", "false"),
            ("INPUT_CONFIG", " "),
        ]))
        .expect("valid");
        assert_eq!(ok.comment, Some(CommentPolicy::OnChange));
        assert_eq!(ok.check_run, Some(false));
        assert_eq!(ok.config, None);
    }

    #[test]
    fn command_input_picks_the_subcommand() {
        let args = |v: &[&str]| v.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert_eq!(
            action_args(args(&["tailgate"]), Some("publish".into())),
            args(&["tailgate", "publish"])
        );
        assert_eq!(
            action_args(args(&["tailgate"]), Some(String::new())),
            args(&["tailgate", "run"])
        );
        assert_eq!(
            action_args(args(&["tailgate", "demo"]), Some("publish".into())),
            args(&["tailgate", "demo"])
        );
    }
}
