//! A small CSV reader for `items_file`, after RFC 4180: fields are separated by
//! commas and records by line breaks (LF, CRLF or CR); a field in double quotes
//! may hold commas, line breaks and quotes written twice (`""`). Blank lines are
//! skipped and a UTF-8 byte order mark is ignored. A quote inside an unquoted
//! field is kept as text (`5" screen`), as most spreadsheets write it.
//!
//! <https://www.rfc-editor.org/rfc/rfc4180>

/// One record: its fields and the line it starts on (from 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    /// The line the record starts on.
    pub line: usize,
    /// The fields, unquoted.
    pub fields: Vec<String>,
}

/// Why the text is not CSV, and on which line (from 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CsvError {
    /// The line of the problem.
    pub line: usize,
    /// What is wrong there.
    pub message: String,
}

/// Where the reader is within a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a field (nothing read yet).
    Start,
    /// In an unquoted field.
    Plain,
    /// In a quoted field.
    Quoted,
    /// Just after a quote inside a quoted field: the end, or the first of `""`.
    QuoteInQuoted,
}

/// Split `text` into records.
pub(crate) fn parse(text: &str) -> Result<Vec<Record>, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut state = State::Start;
    let mut line = 1;
    let mut record_line = 1;
    let mut quote_line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let crlf = c == '\r' && chars.peek() == Some(&'\n');
        if crlf {
            chars.next();
        }
        let line_break = c == '\n' || c == '\r';
        match (state, c) {
            (State::Quoted, '"') => state = State::QuoteInQuoted,
            (State::Quoted, _) => {
                // A line break inside quotes is part of the field, as written.
                field.push(c);
                if crlf {
                    field.push('\n');
                }
            }
            (State::QuoteInQuoted, '"') => {
                field.push('"');
                state = State::Quoted;
            }
            (State::Start, '"') => {
                state = State::Quoted;
                quote_line = line;
            }
            (State::Start | State::Plain | State::QuoteInQuoted, ',') => {
                fields.push(std::mem::take(&mut field));
                state = State::Start;
            }
            (State::Start | State::Plain | State::QuoteInQuoted, _) if line_break => {
                let blank = state == State::Start && fields.is_empty();
                if !blank {
                    fields.push(std::mem::take(&mut field));
                    records.push(Record {
                        line: record_line,
                        fields: std::mem::take(&mut fields),
                    });
                }
                state = State::Start;
            }
            (State::QuoteInQuoted, other) => {
                return Err(CsvError {
                    line,
                    message: format!(
                        "{other:?} after the closing quote of a field (a quote inside a quoted field is written twice: `\"\"`)"
                    ),
                });
            }
            (State::Start | State::Plain, _) => {
                field.push(c);
                state = State::Plain;
            }
        }
        if line_break {
            line += 1;
            if state == State::Start && fields.is_empty() {
                record_line = line;
            }
        }
    }
    match state {
        State::Quoted => Err(CsvError {
            line: quote_line,
            message: "a quoted field that starts here is never closed".to_string(),
        }),
        State::Start if fields.is_empty() => Ok(records),
        State::Start | State::Plain | State::QuoteInQuoted => {
            fields.push(field);
            records.push(Record {
                line: record_line,
                fields,
            });
            Ok(records)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<(usize, Vec<String>)> {
        parse(text)
            .unwrap_or_else(|e| panic!("{text:?}: {e:?}"))
            .into_iter()
            .map(|r| (r.line, r.fields))
            .collect()
    }

    fn row(line: usize, fields: &[&str]) -> (usize, Vec<String>) {
        (line, fields.iter().map(|f| f.to_string()).collect())
    }

    #[test]
    fn plain_records() {
        assert_eq!(
            rows("id,name\n1,ada\n2,grace\n"),
            vec![
                row(1, &["id", "name"]),
                row(2, &["1", "ada"]),
                row(3, &["2", "grace"]),
            ]
        );
        assert_eq!(
            rows("a,b\r\n1,2"),
            vec![row(1, &["a", "b"]), row(2, &["1", "2"])]
        );
        assert_eq!(rows("a\r1\r"), vec![row(1, &["a"]), row(2, &["1"])]);
        assert_eq!(rows("a,,\n"), vec![row(1, &["a", "", ""])]);
    }

    #[test]
    fn quoted_fields() {
        assert_eq!(
            rows("id,name\n1,\"Lovelace, Ada\"\n2,\"say \"\"hi\"\"\"\n"),
            vec![
                row(1, &["id", "name"]),
                row(2, &["1", "Lovelace, Ada"]),
                row(3, &["2", "say \"hi\""]),
            ]
        );
        assert_eq!(
            rows("a\n\"two\nlines\"\nb\n"),
            vec![row(1, &["a"]), row(2, &["two\nlines"]), row(4, &["b"])]
        );
        assert_eq!(rows("\"\"\n"), vec![row(1, &[""])]);
        assert_eq!(rows("5\" screen,x\n"), vec![row(1, &["5\" screen", "x"])]);
    }

    #[test]
    fn blank_lines_and_bom_are_skipped() {
        assert_eq!(
            rows("\u{feff}id\n\n1\n\n\n2"),
            vec![row(1, &["id"]), row(3, &["1"]), row(6, &["2"])]
        );
        assert!(rows("").is_empty());
        assert!(rows("\n\n").is_empty());
    }

    #[test]
    fn malformed_quotes_say_where() {
        assert_eq!(
            parse("id\n\"ada\"x\n"),
            Err(CsvError {
                line: 2,
                message: "'x' after the closing quote of a field (a quote inside a quoted field is written twice: `\"\"`)".to_string()
            })
        );
        let err = parse("id\n1\n\"open,\n2\n").expect_err("unclosed");
        assert_eq!(err.line, 3);
        assert!(err.message.contains("never closed"));
    }
}
