//! The capacity ladder in the report: for each ladder endpoint, the highest step up
//! to which its SLOs hold, on base and on head ("headroom").

use serde::Serialize;

use super::escape;
use crate::judge::verdict::{slo_holds, EndpointComparison};
use crate::results::RunResults;
use crate::side::Side;

/// One ladder's row.
#[derive(Debug, Clone, Serialize)]
pub struct LadderRow {
    /// The endpoint (before ` @ step`), escaped for a table cell.
    pub name: String,
    /// Base's capacity in words.
    pub base: String,
    /// Head's capacity in words, marked when it is lower than base's.
    pub head: String,
}

/// One step of a ladder: its label, its comparison, its SLOs.
type Step<'a> = (&'a str, &'a EndpointComparison, &'a crate::config::Slo);

/// The step a side holds up to: every step up to it meets the SLOs.
fn holds_up_to(steps: &[Step<'_>], side: Side) -> Option<Option<usize>> {
    let mut last = None;
    for (i, (_, cmp, slo)) in steps.iter().enumerate() {
        match slo_holds(slo, cmp, side) {
            None => return None,
            Some(true) => last = Some(i),
            Some(false) => break,
        }
    }
    Some(last)
}

/// The ladders of `results` with SLOs, base vs head. Ladder steps are the endpoints
/// named `NAME @ STEP`, in the order measured.
pub fn rows(results: &RunResults) -> Vec<LadderRow> {
    let release = results.context.kind == "release";
    let mut groups: Vec<(&str, Vec<Step<'_>>)> = Vec::new();
    for cmp in &results.comparisons {
        let Some((name, step)) = cmp.endpoint.rsplit_once(" @ ") else {
            continue;
        };
        let Some(limits) = results.limits.iter().find(|l| l.name == cmp.endpoint) else {
            continue;
        };
        match groups.iter_mut().find(|(n, _)| *n == name) {
            Some((_, steps)) => steps.push((step, cmp, &limits.slo)),
            None => groups.push((name, vec![(step, cmp, &limits.slo)])),
        }
    }
    groups
        .into_iter()
        .filter(|(_, steps)| steps.len() >= 2)
        .filter_map(|(name, steps)| {
            let head = holds_up_to(&steps, Side::Head)?;
            let base = if release {
                None
            } else {
                holds_up_to(&steps, Side::Base)
            };
            let words = |at: Option<usize>| match at {
                Some(i) => escape::text(steps[i].0),
                None => format!("below {}", escape::text(steps[0].0)),
            };
            let lower =
                base.is_some_and(|b| head.map_or(-1, |h| h as i64) < b.map_or(-1, |b| b as i64));
            Some(LadderRow {
                name: escape::cell_code(name),
                base: base.map_or("—".into(), words),
                head: format!("{}{}", words(head), if lower { " 🔻" } else { "" }),
            })
        })
        .collect()
}
