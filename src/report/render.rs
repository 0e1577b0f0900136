//! Rendering the view model with the templates compiled into the binary.

use minijinja::Environment;

/// The comment / job summary template.
const COMMENT: &str = include_str!("../../templates/comment.md.j2");

/// The server-side section, included by the comment.
const SERVER_SIDE: &str = include_str!("../../templates/server_side.md.j2");

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
    for (name, source) in [("comment.md", COMMENT), ("server_side.md", SERVER_SIDE)] {
        env.add_template(name, source)
            .map_err(|source| RenderError {
                template: name,
                source,
            })?;
    }
    Ok(env)
}

/// Render the template `name` alone with `s` as its `s` (for a section the
/// comment includes, e.g. `server_side.md`).
pub(crate) fn render_template<S: serde::Serialize>(
    name: &'static str,
    s: &S,
) -> Result<String, RenderError> {
    let env = environment()?;
    let template = env.get_template(name).map_err(|source| RenderError {
        template: name,
        source,
    })?;
    template
        .render(minijinja::context! { s => minijinja::Value::from_serialize(s) })
        .map_err(|source| RenderError {
            template: name,
            source,
        })
}

/// Render the markdown used for the PR comment, the job summary and the terminal
/// from its view (`view::ReportView`; the templates know no Rust type).
pub(crate) fn render_comment<V: serde::Serialize>(view: &V) -> Result<String, RenderError> {
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
