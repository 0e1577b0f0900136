//! Cost: what a request costs on each side, as exact money.
//!
//! - [`money`]: [`Money`], an exact decimal with its currency (never `f64` dollars).
//! - [`pricing`]: the price book ([`CostModel`], [`Prices`]) with AWS's list prices as
//!   defaults and per-region overrides.
//! - [`compute`]: usage -> money, per round and per side ([`side_cost`]), pure.
//!
//! The CPU time of `local` targets (priced by the vCPU-hour) is read from `/proc` by
//! [`crate::server_side::cpu`]; this module only prices it, and does no I/O.
//!
//! Lambda usage comes from the `REPORT` log lines (`crate::server_side::report_line`): their
//! `Billed Duration` is the billing truth.

pub mod compute;
pub mod money;
pub mod pricing;

pub use compute::{
    cpu_comparison, per_million, price, side_cost, CostBreakdown, CostComparison, RoundCost,
    SideCost, Usage,
};
pub use money::{Currency, Money};
pub use pricing::{ApiGatewayKind, Architecture, CostModel, PriceOverrides, Prices};

/// Why a cost could not be computed or a price not read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CostError {
    /// Not a three-letter currency code.
    #[error("`{0}` is not a currency code; write a three-letter ISO 4217 code such as USD")]
    BadCurrency(String),
    /// Not a non-negative decimal amount.
    #[error(
        "`{0}` is not a price; write a non-negative decimal such as `$0.20` or `0.0000166667`"
    )]
    BadAmount(String),
    /// Two amounts of different currencies were combined.
    #[error(
        "cannot combine {0} and {1} amounts; give every price of the cost model in one currency"
    )]
    CurrencyMismatch(Currency, Currency),
    /// An amount is out of the representable range.
    #[error("a cost is too large to compute exactly")]
    Overflow,
    /// Reading a process's CPU time failed.
    #[error("cannot read the CPU time of process {pid}: {message}")]
    Proc {
        /// The process id.
        pid: u32,
        /// What went wrong.
        message: String,
    },
}
