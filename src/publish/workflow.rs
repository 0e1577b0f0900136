//! Workflow commands and files: the job summary (`$GITHUB_STEP_SUMMARY`), step
//! outputs (`$GITHUB_OUTPUT`) and `::error::`/`::warning::` annotations.
//! <https://docs.github.com/en/actions/reference/workflow-commands-for-github-actions>
//!
//! The functions that build text are pure; the two that write append to the files
//! the runner gave (other steps share them).

use std::io::Write as _;
use std::path::Path;

use serde_json::{Map, Value};

use crate::config::{ConfigError, Mode};
use crate::judge::verdict::{Level, Metric};
use crate::results::RunResults;

/// Every step output tailgate writes; `action.yml` declares exactly these.
pub const OUTPUTS: [&str; 6] = [
    "verdict",
    "exit_code",
    "p99_change",
    "results_path",
    "comment_url",
    "check_run_url",
];

/// GitHub's limit for one step's job summary (1 MiB).
pub const SUMMARY_LIMIT: usize = 1024 * 1024;

/// The severity of an annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// `::error`: red, on the run's page and the PR's checks.
    Error,
    /// `::warning`.
    Warning,
    /// `::notice`.
    Notice,
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One annotation line: `::error title=...::message`.
pub fn annotation(severity: Severity, title: &str, message: &str) -> String {
    let command = match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Notice => "notice",
    };
    format!(
        "::{command} title={}::{}",
        escape_property(title),
        escape_data(message)
    )
}

/// One annotation on a line of a file:
/// `::error file=tailgate.yml,line=3,col=5,title=...::message`. GitHub shows it
/// on that line of the file in the pull request's diff. `file` is relative to the
/// repository's root.
pub fn file_annotation(
    severity: Severity,
    file: &str,
    line: usize,
    column: usize,
    title: &str,
    message: &str,
) -> String {
    let command = match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Notice => "notice",
    };
    format!(
        "::{command} file={},line={line},col={column},title={}::{}",
        escape_property(file),
        escape_property(title),
        escape_data(message)
    )
}

/// One `::error` annotation per problem of a config file, at its line and column;
/// `file` is the config's path relative to the repository's root.
pub fn config_annotations(err: &ConfigError, file: &str) -> Vec<String> {
    err.problems
        .iter()
        .map(|p| {
            let title = if p.path.is_root() {
                "tailgate: config error".to_string()
            } else {
                format!("tailgate: config error in {}", p.path)
            };
            file_annotation(
                Severity::Error,
                file,
                p.pos.line,
                p.pos.column,
                &title,
                &format!("{}\nhelp: {}", p.message, p.help),
            )
        })
        .collect()
}

/// The job summary of a config that cannot be read: every problem, with its line.
/// `source` names the copy that gates (`tailgate.yml@f95f852`).
pub fn config_summary(err: &ConfigError, source: &str) -> String {
    let count = err.problems.len();
    let mut md = format!(
        "## tailgate: the config has {}\n\n`{}` could not be used, so nothing was measured (exit code 2).\n\n| line | field | problem | fix |\n|---:|---|---|---|\n",
        if count == 1 {
            "a problem".to_string()
        } else {
            format!("{count} problems")
        },
        cell(source),
    );
    for p in &err.problems {
        let field = if p.path.is_root() {
            "(top level)".to_string()
        } else {
            format!("`{}`", cell(&p.path.to_string()))
        };
        md.push_str(&format!(
            "| {}:{} | {field} | {} | {} |\n",
            p.pos.line,
            p.pos.column,
            cell(&p.message),
            cell(&p.help)
        ));
    }
    md
}

/// Text safe inside a markdown table cell.
pub fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The step outputs of a run that stopped before measuring (a config error):
/// `verdict=error` and the exit code.
pub fn error_outputs(exit_code: i32) -> Vec<(String, String)> {
    vec![
        ("verdict".into(), "error".into()),
        ("exit_code".into(), exit_code.to_string()),
    ]
}

/// The annotations of a run: failed checks as errors (warnings in advisory mode),
/// warnings as warnings, a failed run as an error.
pub fn annotations(results: &RunResults) -> Vec<String> {
    let verdict = &results.verdict;
    let mut lines = Vec::new();
    if let Some(err) = &verdict.error {
        lines.push(annotation(Severity::Error, "tailgate: the run failed", err));
    }
    let fail = match verdict.mode {
        Mode::Blocking => Severity::Error,
        Mode::Advisory => Severity::Warning,
    };
    // Failures the PR's label accepted are no errors: one notice says what was
    // accepted, for which commit.
    let accepted = results
        .acceptance
        .as_ref()
        .filter(|_| verdict.error.is_none());
    if let Some(a) = accepted {
        let failing: Vec<String> = verdict
            .checks
            .iter()
            .filter(|c| c.level == Level::Fail)
            .map(|c| format!("{} {}", c.endpoint, crate::report::checks::reason(c)))
            .collect();
        lines.push(annotation(
            Severity::Notice,
            &format!("tailgate: accepted by the label \"{}\"", a.label),
            &format!(
                "the failing checks of {} are accepted for this commit only: {}",
                a.head_sha.chars().take(7).collect::<String>(),
                failing.join("; ")
            ),
        ));
    }
    for check in &verdict.checks {
        let severity = match check.level {
            Level::Fail if accepted.is_some() => continue,
            Level::Fail | Level::Error => fail,
            Level::Warn => Severity::Warning,
            Level::Pass => continue,
        };
        lines.push(annotation(
            severity,
            &format!(
                "tailgate: {} ({})",
                check.endpoint,
                crate::report::checks::limit(check)
            ),
            &crate::report::checks::reason(check),
        ));
    }
    lines
}

/// Append `markdown` to the job summary, cut to [`SUMMARY_LIMIT`].
pub fn append_summary(path: &Path, markdown: &str) -> std::io::Result<()> {
    let text = super::check::cut(markdown, SUMMARY_LIMIT / 4);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")
}

/// The step outputs of a run: `verdict`, `exit_code`, `p99_change` (JSON: endpoint
/// -> relative change of p99, `null` without data) and `results_path`.
pub fn outputs(results: &RunResults, results_path: Option<&Path>) -> Vec<(String, String)> {
    let mut p99 = Map::new();
    for cmp in &results.comparisons {
        let change = cmp
            .get(Metric::P99)
            .and_then(|m| m.change)
            .map(|c| c.relative())
            .filter(|v| v.is_finite())
            .map(|v| Value::from((v * 10_000.0).round() / 10_000.0))
            .unwrap_or(Value::Null);
        p99.insert(cmp.endpoint.clone(), change);
    }
    let mut out = vec![
        ("verdict".into(), results.verdict.level.as_str().to_string()),
        ("exit_code".into(), results.verdict.exit_code().to_string()),
        ("p99_change".into(), Value::Object(p99).to_string()),
    ];
    if let Some(path) = results_path {
        out.push(("results_path".into(), path.display().to_string()));
    }
    out
}

/// The `$GITHUB_OUTPUT` text of `pairs`: `name=value`, or a heredoc with a
/// delimiter that is not in the value for multi-line values.
pub fn output_text(pairs: &[(String, String)]) -> String {
    let mut text = String::new();
    for (name, value) in pairs {
        if value.contains('\n') || value.contains('\r') {
            let mut delimiter = "ghadelimiter_tailgate".to_string();
            while value.contains(&delimiter) {
                delimiter.push('_');
            }
            text.push_str(&format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"));
        } else {
            text.push_str(&format!("{name}={value}\n"));
        }
    }
    text
}

/// Append `pairs` to the outputs file.
pub fn write_outputs(path: &Path, pairs: &[(String, String)]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(output_text(pairs).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_declared() {
        let results: RunResults = crate::results::empty_for_tests();
        for (name, _) in outputs(&results, Some(Path::new("r.json"))) {
            assert!(OUTPUTS.contains(&name.as_str()), "{name}");
        }
    }

    #[test]
    fn annotations_are_escaped() {
        assert_eq!(
            annotation(Severity::Error, "a: b, c", "100% bad\nreally"),
            "::error title=a%3A b%2C c::100%25 bad%0Areally"
        );
    }

    #[test]
    fn multiline_outputs_use_a_heredoc() {
        let text = output_text(&[
            ("a".into(), "1".into()),
            ("b".into(), "x\nghadelimiter_tailgate".into()),
        ]);
        assert_eq!(
            text,
            "a=1\nb<<ghadelimiter_tailgate_\nx\nghadelimiter_tailgate\nghadelimiter_tailgate_\n"
        );
    }
}
