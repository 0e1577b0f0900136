//! Request variables: the values of `{{item}}` (`items:` inline, or
//! `items_file:` a CSV or JSON file) and the checks that tie the variables used
//! in an endpoint's path, header values and body to them.
//!
//! The variables are the ones `bench/request.rs` fills in: `{{counter}}`,
//! `{{random_id}}` and `{{item}}` (spaces inside the braces are allowed); any
//! other `{{...}}` is sent as written. Every item is put into the path and the
//! header values that use it here, so an item that would make an invalid
//! request is reported at load time, at the item.

use std::path::Path;

use http::header::HeaderValue;
use http::uri::PathAndQuery;

use super::checker::Checker;
use super::csv;
use super::error::{list, nearest};
use super::index::FieldPath;

/// The variables a request can use.
const VARIABLES: [&str; 3] = ["counter", "random_id", "item"];

/// Help for a list of items that cannot be used.
const ITEMS_HELP: &str =
    "give the values as `items: [ada, grace, 42]`, or as `items_file:` a CSV file with a header row or a JSON array";

/// One value of `{{item}}` and where it was written.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// The text `{{item}}` becomes.
    pub value: String,
    origin: Origin,
}

/// Where an item was written, for errors about it.
#[derive(Debug, Clone)]
enum Origin {
    /// `items[i]`.
    Inline(usize),
    /// A line (CSV) or an index (JSON) of `items_file`, e.g. `users.csv line 4`.
    File(String),
}

/// The item keys of one endpoint, as written.
pub(crate) struct ItemKeys {
    /// `items:`, each scalar as written.
    pub items: Option<Vec<String>>,
    /// `items_file:`, relative to the config's directory.
    pub file: Option<String>,
    /// `items_column:`, a column of a CSV `items_file`.
    pub column: Option<String>,
}

/// The items of the endpoint at `path`: `Some(empty)` if it has none, `None`
/// if the keys have a problem (recorded).
pub(crate) fn items(
    keys: ItemKeys,
    path: &FieldPath,
    base_dir: &Path,
    check: &mut Checker,
) -> Option<Vec<Item>> {
    let items_path = path.key("items");
    let file_path = path.key("items_file");
    let column_path = path.key("items_column");
    let is_csv = keys.file.as_deref().is_some_and(|f| extension(f) == "csv");
    if keys.column.is_some() && !is_csv {
        let message = match &keys.file {
            Some(file) => {
                format!("`items_column` picks a CSV column, but {file} is not a .csv file")
            }
            None => {
                "`items_column` picks a column of a CSV `items_file`, and there is none".to_string()
            }
        };
        check.key(
            &column_path,
            message,
            "remove `items_column`, or read the items from a CSV file: `items_file: users.csv`",
        );
        return None;
    }
    let items = match (keys.items, keys.file) {
        (Some(_), Some(_)) => {
            let second = if check.key_pos(&file_path) > check.key_pos(&items_path) {
                file_path
            } else {
                items_path
            };
            check.key(
                &second,
                "both `items` and `items_file` are given",
                "keep one: `items` for a short inline list, `items_file` to read them from a file",
            );
            return None;
        }
        (Some(values), None) => values
            .into_iter()
            .enumerate()
            .map(|(i, value)| Item {
                value,
                origin: Origin::Inline(i),
            })
            .collect(),
        (None, Some(file)) => {
            let read = read_file(&file, keys.column.as_deref(), base_dir);
            match read {
                Ok(items) => items,
                Err(FileProblem::Column(message, help)) => {
                    check.value(&column_path, message, help);
                    return None;
                }
                Err(FileProblem::File(message, help)) => {
                    check.value(&file_path, message, help);
                    return None;
                }
            }
        }
        (None, None) => return Some(Vec::new()),
    };
    if items.is_empty() {
        let at = if check.written(&items_path) {
            items_path
        } else {
            file_path
        };
        check.value(&at, "the list of items is empty", ITEMS_HELP);
        return None;
    }
    Some(items)
}

/// A problem with `items_file`, reported at the file or at the column.
enum FileProblem {
    File(String, String),
    Column(String, String),
}

/// The lower-cased extension of a file name.
fn extension(file: &str) -> String {
    Path::new(file)
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}

fn read_file(file: &str, column: Option<&str>, base_dir: &Path) -> Result<Vec<Item>, FileProblem> {
    let bad = |message: String, help: &str| FileProblem::File(message, help.to_string());
    let kind = extension(file);
    if kind != "csv" && kind != "json" {
        return Err(bad(
            format!("cannot tell the format of {file:?} from its name"),
            "give a `.csv` file (with a header row) or a `.json` file (an array of strings or numbers)",
        ));
    }
    let full = base_dir.join(file);
    let bytes = std::fs::read(&full).map_err(|e| {
        bad(
            format!("cannot read {}: {e}", full.display()),
            "give a path relative to the config file's directory",
        )
    })?;
    if kind == "json" {
        return from_json(file, &bytes).map_err(|m| bad(m, JSON_HELP));
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        bad(
            format!("{file} is not UTF-8 text"),
            "save the CSV file as UTF-8",
        )
    })?;
    from_csv(file, &text, column)
}

const JSON_HELP: &str = "write a JSON array of strings or numbers, e.g. `[\"ada\", \"grace\", 42]`";

fn from_json(file: &str, bytes: &[u8]) -> Result<Vec<Item>, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("{file} is not valid JSON: {e}"))?;
    let serde_json::Value::Array(values) = value else {
        return Err(format!("{file} holds {}, not an array", json_kind(&value)));
    };
    let mut items = Vec::with_capacity(values.len());
    for (i, value) in values.into_iter().enumerate() {
        let text = match value {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            other => {
                return Err(format!(
                    "{file}[{i}] is {}; items are strings or numbers",
                    json_kind(&other)
                ))
            }
        };
        items.push(Item {
            value: text,
            origin: Origin::File(format!("{file}[{i}]")),
        });
    }
    Ok(items)
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

const CSV_HELP: &str =
    "write a header row, then one row per item; quote a field that holds a comma: `\"Lovelace, Ada\"`";

fn from_csv(file: &str, text: &str, column: Option<&str>) -> Result<Vec<Item>, FileProblem> {
    let bad = |message: String| FileProblem::File(message, CSV_HELP.to_string());
    let records =
        csv::parse(text).map_err(|e| bad(format!("{file} line {}: {}", e.line, e.message)))?;
    let mut rows = records.into_iter();
    let Some(header) = rows.next() else {
        return Err(bad(format!("{file} is empty")));
    };
    let names: Vec<&str> = header.fields.iter().map(|n| n.trim()).collect();
    let at = match column {
        None => 0,
        Some(wanted) => {
            let wanted = wanted.trim();
            let found: Vec<usize> = (0..names.len())
                .filter(|&i| names.get(i) == Some(&wanted))
                .collect();
            match found.as_slice() {
                [one] => *one,
                [] => {
                    let message = match nearest(wanted, &names) {
                        Some(near) => {
                            format!("{file} has no column `{wanted}`; did you mean `{near}`?")
                        }
                        None => format!("{file} has no column `{wanted}`"),
                    };
                    return Err(FileProblem::Column(
                        message,
                        format!("the columns of {file} are {}", list(&names)),
                    ));
                }
                _ => {
                    return Err(FileProblem::Column(
                        format!("{file} has {} columns named `{wanted}`", found.len()),
                        "rename one of them in the header row".to_string(),
                    ))
                }
            }
        }
    };
    let mut items = Vec::new();
    for row in rows {
        if row.fields.len() != names.len() {
            let count = row.fields.len();
            return Err(bad(format!(
                "{file} line {} has {count} field{}, but the header row has {}",
                row.line,
                if count == 1 { "" } else { "s" },
                names.len()
            )));
        }
        let value = row.fields.into_iter().nth(at).unwrap_or_default();
        items.push(Item {
            value,
            origin: Origin::File(format!("{file} line {}", row.line)),
        });
    }
    if items.is_empty() {
        return Err(bad(format!("{file} has a header row and no items")));
    }
    Ok(items)
}

/// Where a template is written in the endpoint, and what it is.
pub(crate) struct Template<'a> {
    /// The key holding it (`path`, `headers.X-Id`, `body`, `body_file`).
    pub at: FieldPath,
    /// What it makes: the path, a header value or the body.
    pub role: Role,
    /// The text as written, with its `{{variables}}`.
    pub text: &'a str,
}

/// What a template makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The request path and query.
    Path,
    /// A header value.
    Header,
    /// The request body.
    Body,
}

/// Check the variables of an endpoint's templates against its items: a near
/// miss of a variable's name, `{{item}}` without items, items without
/// `{{item}}`, and items that make an invalid path or header value.
pub(crate) fn check_variables(
    templates: &[Template],
    items: &[Item],
    path: &FieldPath,
    check: &mut Checker,
) {
    // The path's names were checked before the path itself (see `check_names`).
    for template in templates.iter().filter(|t| t.role != Role::Path) {
        check_names(template.text, &template.at, check);
    }
    let users: Vec<&Template> = templates
        .iter()
        .filter(|t| names(t.text).contains(&"item"))
        .collect();
    let Some(first) = users.first() else {
        if !items.is_empty() {
            let items_path = path.key("items");
            let at = if check.written(&items_path) {
                items_path
            } else {
                path.key("items_file")
            };
            check.key(
                &at,
                "items are given, but nothing uses `{{item}}`",
                "put `{{item}}` in the path, a header value or the body, e.g. `path: /users/{{item}}`, or remove the items",
            );
        }
        return;
    };
    if items.is_empty() {
        check.value(
            &first.at,
            "`{{item}}` is used, but the endpoint has no items",
            format!("{ITEMS_HELP}; or remove `{{{{item}}}}`"),
        );
        return;
    }
    for template in users {
        let bad = items.iter().find_map(|item| {
            let rendered = render(template.text, &item.value);
            let reason = match template.role {
                Role::Path => rendered
                    .parse::<PathAndQuery>()
                    .err()
                    .map(|e| format!("it cannot go in the path: {e}")),
                Role::Header => HeaderValue::from_str(&rendered).err().map(|_| {
                    "it cannot go in a header value: it has a line break or a control character"
                        .to_string()
                }),
                Role::Body => None,
            };
            reason.map(|r| (item, r))
        });
        let Some((item, reason)) = bad else { continue };
        let shown = short(&item.value);
        let help = match template.role {
            Role::Path => "percent-encode the item, e.g. `%20` for a space",
            _ => "remove line breaks and control characters from the item",
        };
        match &item.origin {
            Origin::Inline(i) => check.value(
                &path.key("items").index(*i),
                format!(
                    "the item {shown} is used in `{}`, but {reason}",
                    template.at
                ),
                help,
            ),
            Origin::File(place) => check.value(
                &path.key("items_file"),
                format!(
                    "{place}: the item {shown} is used in `{}`, but {reason}",
                    template.at
                ),
                help,
            ),
        }
    }
}

/// Record a problem for each `{{name}}` in `text` that looks like a misspelt
/// variable; `false` if there was one.
pub(crate) fn check_names(text: &str, at: &FieldPath, check: &mut Checker) -> bool {
    let mut ok = true;
    for name in names(text) {
        if VARIABLES.contains(&name) {
            continue;
        }
        let plain = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if let Some(near) = nearest(name, &VARIABLES).filter(|_| plain) {
            check.value(
                at,
                format!("unknown variable `{{{{{name}}}}}`; did you mean `{{{{{near}}}}}`?"),
                "the variables are `{{counter}}`, `{{random_id}}` and `{{item}}`; other `{{...}}` text is sent as written",
            );
            ok = false;
        }
    }
    ok
}

/// `text` with the variables filled in as the engine would, `{{item}}` with
/// `item`. Other `{{...}}` text stays as written.
pub(crate) fn render(text: &str, item: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((before, name, after)) = next_variable(rest) {
        out.push_str(before);
        match name.trim() {
            "counter" => out.push('0'),
            "random_id" => out.push_str("0000000000000000"),
            "item" => out.push_str(item),
            _ => {
                let written = rest
                    .get(before.len()..rest.len() - after.len())
                    .unwrap_or("");
                out.push_str(written);
            }
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The names of the `{{...}}` in `text`, trimmed, known or not.
fn names(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some((_, name, after)) = next_variable(rest) {
        found.push(name.trim());
        rest = after;
    }
    found
}

/// The first `{{name}}` in `text`: the text before it, the name, the text after.
fn next_variable(text: &str) -> Option<(&str, &str, &str)> {
    let start = text.find("{{")?;
    let inner = text.get(start + 2..)?;
    let len = inner.find("}}")?;
    Some((text.get(..start)?, inner.get(..len)?, inner.get(len + 2..)?))
}

/// A value for a message: quoted, and cut if long.
fn short(value: &str) -> String {
    const MAX: usize = 60;
    if value.chars().count() > MAX {
        let cut: String = value.chars().take(MAX).collect();
        format!("{cut:?}...")
    } else {
        format!("{value:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendering_matches_the_engine() {
        assert_eq!(render("/u/{{item}}/{{ counter }}", "ada"), "/u/ada/0");
        assert_eq!(render("{{random_id}}", ""), "0000000000000000");
        assert_eq!(render("/x/{{nope}}/{{item}}", "1"), "/x/{{nope}}/1");
        assert_eq!(render("/open/{{item", "1"), "/open/{{item");
        assert_eq!(render("{{}}{{item}}}}", "é"), "{{}}é}}");
    }

    #[test]
    fn names_are_trimmed() {
        assert_eq!(
            names("{{ item }}-{{counter}}{{x y}}"),
            vec!["item", "counter", "x y"]
        );
        assert!(names("{ {item} }").is_empty());
    }

    #[test]
    fn json_numbers_keep_their_digits() {
        let items = from_json("ids.json", br#"["ada", 42, -7, 1.5]"#).expect("valid");
        let values: Vec<&str> = items.iter().map(|i| i.value.as_str()).collect();
        assert_eq!(values, ["ada", "42", "-7", "1.5"]);
    }

    #[test]
    fn csv_takes_the_named_or_the_first_column() {
        let text = "id,name\n1,\"Lovelace, Ada\"\n2,Grace\n";
        let values = |column| {
            from_csv("u.csv", text, column)
                .map(|items| items.into_iter().map(|i| i.value).collect::<Vec<_>>())
                .map_err(|_| ())
        };
        assert_eq!(values(None), Ok(vec!["1".to_string(), "2".to_string()]));
        assert_eq!(
            values(Some("name")),
            Ok(vec!["Lovelace, Ada".to_string(), "Grace".to_string()])
        );
        assert!(values(Some("nope")).is_err());
    }
}
