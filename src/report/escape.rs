//! Escaping user-supplied strings (endpoint names, paths, `Server-Timing` names
//! from the target's responses, error messages, branch names) so that they cannot
//! inject markdown, HTML, mentions or issue references into a comment.
//!
//! Two forms: [`code`] puts a string in a code span, where GitHub interprets
//! neither markdown, HTML, mentions nor references (only the backtick needs care);
//! [`text`] escapes prose: markdown punctuation is backslash-escaped, `<`, `>` and
//! `&` become entities, and `@`/`#` get a zero-width space so `@team` pings nobody
//! and `#123` links nothing. Per CommonMark §2.4, any ASCII punctuation may be
//! backslash-escaped (<https://spec.commonmark.org/0.31.2/#backslash-escapes>).

/// Zero-width space: breaks mentions and references without a visible change.
const ZWSP: char = '\u{200B}';

/// The body of a code span: backticks become `'`, line breaks spaces. Not for
/// table cells: use [`cell_code`].
pub fn code(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '`' => '\'',
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// The body of a code span inside a table cell: as [`code`], and `|` escaped, which
/// GFM tables require even inside code spans.
pub fn cell_code(s: &str) -> String {
    code(s).replace('|', "\\|")
}

/// Prose that renders exactly as written: no markdown, no HTML, no mentions.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '@' | '#' => {
                out.push(c);
                out.push(ZWSP);
            }
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '{' | '}' | '!' | '|' | '~' | '+'
            | '-' | '=' | ':' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A Mermaid string label: inside double quotes, so `"` becomes `'`; `<` and `>`
/// become `‹` and `›` (Mermaid may render labels as HTML); no line breaks (which
/// could end the code fence).
pub fn mermaid_label(s: &str) -> String {
    let label: String = code(s)
        .chars()
        .map(|c| match c {
            '"' => '\'',
            '<' => '‹',
            '>' => '›',
            c => c,
        })
        .collect();
    format!("\"{}\"", label.replace("```", "'''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_is_inert() {
        let hostile = "@octocat see #1 <img src=x onerror=alert(1)> [x](https://evil) **b**\n# h";
        let out = text(hostile);
        assert!(!out.contains("<img"), "{out}");
        assert!(!out.contains("@octocat"), "{out}");
        assert!(!out.contains("#1"), "{out}");
        assert!(out.contains("\\[x\\]\\(https\\://evil\\)"), "{out}");
        assert!(!out.contains('\n'));
    }

    #[test]
    fn code_spans_and_cells() {
        assert_eq!(code("GET /a`b\nc"), "GET /a'b c");
        assert_eq!(cell_code("GET /a|b"), "GET /a\\|b");
        assert_eq!(mermaid_label("say \"hi\""), "\"say 'hi'\"");
    }
}
