//! Where a record and an acceptance live in the store: key segments that sort
//! and never escape their folder.

/// `main` -> `main`, `release/1.x` -> `release_1.x`: a branch as one key segment.
pub(super) fn branch_segment(branch: &str) -> String {
    branch
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_matches('.')
        .to_string()
}

pub(super) fn sha_segment(sha: &str) -> Option<String> {
    let s = sha.trim();
    (!s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| s.to_ascii_lowercase())
}

/// `2026-12-03T12:00:00.123456Z` -> `20261203T120000123Z`: sorts in time order,
/// to the millisecond (two runs recorded in one second keep their order; keys of
/// earlier versions, to the second, sort with their second).
pub(super) fn time_segment(rfc3339: &str) -> String {
    let digits: String = rfc3339
        .chars()
        .take_while(|c| *c != '.' && *c != '+' && *c != 'Z')
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let millis: String = rfc3339
        .split_once('.')
        .map(|(_, f)| f.chars().take_while(char::is_ascii_digit).take(3).collect())
        .unwrap_or_default();
    format!("{digits}{millis:0<3}Z")
}
