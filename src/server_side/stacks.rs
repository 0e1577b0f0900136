//! The server-side stage in one call: after the benchmark, read both sides' REPORT
//! lines (and X-Ray traces when asked), summarise them, price them per round and
//! derive the hints. The stage calls [`read`] with the deployed targets and
//! the rounds' wall-clock windows.

use std::time::Duration;

use super::lambda::{self, RoundWindow, WINDOW_GRACE_MS};
use super::view::{self, ServerSide, SideInsights};
use super::{insights, logs, xray};
use crate::aws::{AwsClients, AwsError};
use crate::cost::{self, ApiGatewayKind, CostComparison, CostModel};
use crate::deploy::cloudformation::{functions_of, gateway_of};
use crate::deploy::Target;
use crate::side::Side;

/// How patient to be with CloudWatch Logs and whether to read X-Ray.
#[derive(Debug, Clone, Copy)]
pub struct ServerSideOptions {
    /// How long to wait for REPORT lines to arrive (they lag the invocations).
    pub logs_patience: Duration,
    /// Time between two reads while waiting.
    pub poll_interval: Duration,
    /// Read X-Ray trace summaries for the slowest downstream calls.
    pub xray: bool,
    /// When to run a Logs Insights query over each side's window.
    pub insights: InsightsMode,
}

/// When the server-side stage asks Logs Insights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InsightsMode {
    /// When `FilterLogEvents` read fewer REPORT lines than requests were sent
    /// (a window too large to page through in the patience given).
    #[default]
    WhenIncomplete,
    /// For every side, to name its slowest minute.
    Always,
    /// Never.
    Never,
}

impl Default for ServerSideOptions {
    fn default() -> Self {
        ServerSideOptions {
            logs_patience: Duration::from_secs(60),
            poll_interval: Duration::from_secs(5),
            xray: true,
            insights: InsightsMode::default(),
        }
    }
}

/// The wall-clock span covering `side`'s windows, padded for log latency.
fn span(windows: &[RoundWindow], side: Side) -> Option<(i64, i64)> {
    let mine = windows.iter().filter(|w| w.side == side);
    let start = mine.clone().map(|w| w.start_ms).min()?;
    let end = mine.map(|w| w.end_ms).max()?;
    Some((start - WINDOW_GRACE_MS, end + WINDOW_GRACE_MS))
}

/// Read, summarise and price both sides. Targets without Lambda functions (not
/// deployed by the `cloudformation` deployer) give no Lambda rows and no cost.
/// X-Ray errors (no permission, tracing off) are not fatal: the calls stay empty.
pub async fn read(
    clients: &AwsClients,
    base: &Target,
    head: &Target,
    windows: &[RoundWindow],
    model: &CostModel,
    head_p99_ms: Option<f64>,
    options: ServerSideOptions,
) -> Result<ServerSide, AwsError> {
    let mut out = ServerSide {
        lambda: Vec::new(),
        cost: None,
        head_calls: Vec::new(),
        base_calls: Vec::new(),
        hints: Vec::new(),
        insights: Vec::new(),
        insights_error: None,
        cost_error: None,
        window_costs: vec![None; windows.len()],
    };
    let mut priced = Vec::new();
    let region = head.aws.as_ref().and_then(|a| a.region.as_deref());
    let prices = model.prices_for(region);
    // A release gate has head alone: then `base` is `head`, read once.
    let sides: Vec<&Target> = if std::ptr::eq(base, head) {
        vec![head]
    } else {
        vec![base, head]
    };
    for target in sides {
        let side = target.side;
        let functions = functions_of(target);
        let Some((start, end)) = span(windows, side) else {
            continue;
        };
        if functions.is_empty() {
            continue;
        }
        let names: Vec<String> = functions.iter().map(|f| f.name.clone()).collect();
        let expected = windows
            .iter()
            .filter(|w| w.side == side)
            .map(|w| w.requests)
            .sum();
        let fetched = logs::fetch_settled(
            &clients.logs,
            &names,
            start,
            end,
            expected,
            options.logs_patience,
            options.poll_interval,
        )
        .await?;
        let incomplete = (fetched.events.len() as u64) < expected;
        let ask = match options.insights {
            InsightsMode::Always => true,
            InsightsMode::WhenIncomplete => incomplete,
            InsightsMode::Never => false,
        };
        if ask {
            match insights::query_window(
                &clients.logs,
                &names,
                start,
                end,
                options.poll_interval,
                options.logs_patience.max(Duration::from_secs(30)),
            )
            .await
            {
                Ok(summary) => out.insights.push(SideInsights { side, summary }),
                Err(e) => out.insights_error = Some(e.to_string()),
            }
        }
        out.lambda.push(lambda::summarize(
            side,
            &names,
            &fetched.events,
            fetched.rejected,
            windows,
        ));
        let gateway = gateway_of(target)
            .filter(|g| *g != ApiGatewayKind::None)
            .or(model.api_gateway)
            .unwrap_or(ApiGatewayKind::None);
        let per_window = match lambda::window_usage(
            side,
            &fetched.events,
            windows,
            functions,
            model.architecture,
            gateway,
        ) {
            Ok(per_window) => per_window,
            Err(e) => {
                let why = format!("{side}: {e}");
                out.cost_error = Some(match out.cost_error.take() {
                    Some(earlier) => format!("{earlier}; {why}"),
                    None => why,
                });
                Vec::new()
            }
        };
        for (slot, usage) in out.window_costs.iter_mut().zip(&per_window) {
            if let Some(usage) = usage {
                *slot = cost::price(usage, &prices).ok().map(|b| b.total);
            }
        }
        let rounds = lambda::usage_by_round(windows, &per_window);
        if out.cost_error.is_none() {
            priced.push(
                cost::side_cost(side, &rounds, &prices, model.monthly_requests).map_err(|e| {
                    AwsError::Api {
                        operation: "cost",
                        message: e.to_string(),
                    }
                })?,
            );
        }
        if options.xray {
            let calls = xray::slowest_calls(&clients.xray, start, end, &names)
                .await
                .unwrap_or_default();
            match side {
                Side::Base => out.base_calls = calls,
                Side::Head => out.head_calls = calls,
            }
        }
    }
    if out.cost_error.is_some() {
        out.window_costs = vec![None; windows.len()];
    }
    if let [b, h] = priced.as_slice() {
        out.cost = Some(CostComparison {
            currency: model.currency,
            monthly_requests: model.monthly_requests,
            source: "Lambda REPORT lines".into(),
            base: b.clone(),
            head: h.clone(),
        });
    }
    if let Some(h) = out.lambda.iter().find(|l| l.side == Side::Head) {
        let head_cost = out.cost.as_ref().map(|c| &c.head);
        out.hints = view::hints(h, head_cost, &prices, head_p99_ms);
    }
    Ok(out)
}
