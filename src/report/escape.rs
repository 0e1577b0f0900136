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
///
/// A backslash right before a `|` gets a zero-width space after it, so that the
/// pipe's escape is one backslash whichever way a parser pairs backslashes
/// (inside a code span they are literal, but GFM splits cells before that).
pub fn cell_code(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in code(s).chars() {
        if c == '|' {
            if out.ends_with('\\') {
                out.push(ZWSP);
            }
            out.push_str("\\|");
        } else {
            out.push(c);
        }
    }
    out
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
        break_www(&mut out, c);
    }
    out
}

/// `www.` starts an autolink in GFM (even without a scheme): a zero-width space
/// after every `www` breaks it, whatever the text that follows (a value may end
/// in `www` and the sentence around it add the dot).
fn break_www(out: &mut String, last: char) {
    if last.eq_ignore_ascii_case(&'w')
        && out.len() >= 3
        && out.as_bytes()[out.len() - 3..].eq_ignore_ascii_case(b"www")
    {
        out.push(ZWSP);
    }
}

/// Markdown that tailgate wrote around values (a check's reason, a hint, a cost
/// source): its code spans are kept (as [`cell_code`]), and the rest is made inert
/// like [`text`] except that emphasis (`*`, `_`) and plain punctuation stay: no
/// HTML, no link or image, no autolink, no mention or reference, no table
/// breakout, no line break. Safe in a table cell and in prose, whatever the text
/// is, because a results file is outside input.
pub fn inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let spans = s.matches('`').count();
    // An unpaired backtick would open a code span that swallows what follows.
    let paired = spans - spans % 2;
    let mut seen = 0;
    let mut in_code = false;
    let mut code_buf = String::new();
    // Whether `out` ends with a code span: a span right after it would make a
    // double backtick, which CommonMark pairs differently.
    let mut after_span = false;
    for c in s.chars() {
        if c == '`' && seen < paired {
            seen += 1;
            if in_code && !code_buf.is_empty() {
                if after_span {
                    out.push(ZWSP);
                }
                out.push('`');
                out.push_str(&cell_code(&code_buf));
                out.push('`');
                after_span = true;
            }
            code_buf.clear();
            in_code = !in_code;
            continue;
        }
        if in_code {
            code_buf.push(c);
            continue;
        }
        after_span = false;
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '@' | '#' => {
                out.push(c);
                out.push(ZWSP);
            }
            '\\' | '`' | '[' | ']' | '(' | ')' | '!' | '|' | '~' | '{' | '}' | ':' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
        break_www(&mut out, c);
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

/// The markdown of a report as plain text for a terminal or a job log: what
/// [`text`] escaped for GitHub reads as written again (backslash escapes outside
/// code spans dropped, `&lt;` `&gt;` `&amp;` back to characters, zero-width spaces
/// removed), so a log line says `perf-accepted`, not `perf\-accepted`. Code spans
/// and the rest of the markdown are left as they are.
pub fn plain(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    for line in markdown.split_inclusive('\n') {
        let mut in_code = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                ZWSP => {}
                '`' => {
                    in_code = !in_code;
                    out.push(c);
                }
                '\\' if !in_code && chars.peek().is_some_and(|n| n.is_ascii_punctuation()) => {
                    out.extend(chars.next());
                }
                '&' if !in_code => {
                    let rest: String = chars.clone().take(4).collect();
                    let entity = [("lt;", '<'), ("gt;", '>'), ("amp;", '&')]
                        .into_iter()
                        .find(|(e, _)| rest.starts_with(e));
                    match entity {
                        Some((e, ch)) => {
                            for _ in 0..e.len() {
                                chars.next();
                            }
                            out.push(ch);
                        }
                        None => out.push(c),
                    }
                }
                c => out.push(c),
            }
        }
    }
    out
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
    fn inline_markdown_keeps_code_spans_and_nothing_else() {
        assert_eq!(
            inline("raise `connections` or lower `rate`"),
            "raise `connections` or lower `rate`"
        );
        let out = inline(
            "p99 +35 % [+28 %, +41 %] @team <b>x</b> ![i](https://evil/x.png) | www.evil.com\nnext",
        );
        assert!(
            !out.contains("<b>") && !out.contains("@team") && !out.contains('\n'),
            "{out}"
        );
        assert!(
            !out.contains("![") && !out.contains("](") && !out.contains("www."),
            "{out}"
        );
        assert!(!out.contains(" | "), "{out}");
        // A code span's pipe is escaped for tables; an unpaired backtick is literal.
        assert_eq!(inline("`a|b` and `c"), "`a\\|b` and \\`c");
        // A backslash cannot un-escape what follows.
        assert_eq!(inline("\\|"), "\\\\\\|");
    }

    #[test]
    fn code_spans_and_cells() {
        assert_eq!(code("GET /a`b\nc"), "GET /a'b c");
        assert_eq!(cell_code("GET /a|b"), "GET /a\\|b");
        assert_eq!(mermaid_label("say \"hi\""), "\"say 'hi'\"");
    }

    #[test]
    fn plain_text_reads_as_written() {
        let line = format!(
            "⚠️ {}. Code `a\\-b` stays.\n",
            text("the label \"perf-accepted\" was added for an earlier commit: <x> & @team")
        );
        assert_eq!(
            plain(&line),
            "⚠️ the label \"perf-accepted\" was added for an earlier commit: <x> & @team. Code `a\\-b` stays.\n"
        );
    }
}
