//! Publish: the verdict where maintainers see it, through [`crate::github`].
//!
//! - one sticky PR comment, found again by a hidden marker and its author, updated in
//!   place ([`comment`]);
//! - a check run on the PR's head commit ([`check`]);
//! - the job summary, step outputs and `::error::`/`::warning::` annotations
//!   ([`workflow`]);
//! - what `tailgate publish` trusts in a results file from a fork ([`trust`]);
//! - the steps in order, each best-effort ([`publish`] never changes the exit code).

pub mod check;
pub mod comment;
mod post;
pub mod trust;
pub mod workflow;

pub use post::{
    adopt_context, client, marker_for, publish, publish_refusal, read_results, PublishOptions,
    PublishReport, StepOutcome,
};
