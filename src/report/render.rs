//! Rendering the view model with the templates compiled into the binary.

use minijinja::Environment;

use super::view::ReportView;

/// The comment / job summary template.
const COMMENT: &str = include_str!("../../templates/comment.md.j2");

/// A template failed to render (a bug in a template, not in the user's input).
#[derive(Debug, thiserror::Error)]
#[error("could not render the report template `{template}`: {source}")]
pub struct RenderError {
    template: &'static str,
    #[source]
    source: minijinja::Error,
}

fn environment() -> Result<Environment<'static>, RenderError> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.add_template("comment.md", COMMENT)
        .map_err(|source| RenderError {
            template: "comment.md",
            source,
        })?;
    Ok(env)
}

/// Render the markdown used for the PR comment, the job summary and the terminal.
pub fn render_markdown(view: &ReportView) -> Result<String, RenderError> {
    let env = environment()?;
    let template = env
        .get_template("comment.md")
        .map_err(|source| RenderError {
            template: "comment.md",
            source,
        })?;
    template.render(view).map_err(|source| RenderError {
        template: "comment.md",
        source,
    })
}
