//! `tailgate cleanup`: find tailgate's stacks through the Resource Groups Tagging API
//! and delete those past their expiry or belonging to a closed pull request.
//!
//! `GetResources` with `ResourceTypeFilters = [cloudformation:stack]` and the tag
//! `tailgate:managed = true` (every page,
//! <https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html>).
//! The tagging API can still list a stack for a while after it was deleted, so each
//! candidate is described by its id first and skipped when gone.

use std::collections::BTreeMap;

use aws_sdk_resourcegroupstagging::types::TagFilter;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::stack::{self, Polling};
use super::tags::keys;
use crate::aws::{AwsClients, AwsError};

/// Which stacks to delete.
#[derive(Debug, Clone)]
pub struct ReapRequest {
    /// Only stacks of this repository (`owner/name`); `None`: every repository.
    pub repo: Option<String>,
    /// Pull requests that are closed: their stacks go whatever their expiry.
    pub closed_prs: Vec<u64>,
    /// Delete stacks whose expiry is before this instant.
    pub now: OffsetDateTime,
    /// List what would be deleted, delete nothing.
    pub dry_run: bool,
}

/// Why a stack is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReapReason {
    /// Its `tailgate:expires` is in the past.
    Expired,
    /// Its pull request is closed.
    PrClosed,
}

/// What happened to one stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReapAction {
    /// Deleted (and waited for).
    Deleted,
    /// Dry run: would be deleted.
    WouldDelete,
    /// The delete failed; the message says why.
    Failed(String),
}

/// One swept stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReapedStack {
    /// Stack name.
    pub name: String,
    /// Stack id (ARN).
    pub id: String,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// Why it is swept.
    pub reason: ReapReason,
    /// What was done.
    pub action: ReapAction,
}

/// Decide from a stack's tags whether it goes. Pure.
pub fn reason_to_delete(
    tags: &BTreeMap<String, String>,
    request: &ReapRequest,
) -> Option<ReapReason> {
    if tags.get(keys::MANAGED).map(String::as_str) != Some("true") {
        return None;
    }
    if let Some(repo) = &request.repo {
        if tags.get(keys::REPO) != Some(repo) {
            return None;
        }
    }
    let pr = tags.get(keys::PR).and_then(|p| p.parse::<u64>().ok());
    if pr.is_some_and(|n| request.closed_prs.contains(&n)) {
        return Some(ReapReason::PrClosed);
    }
    let expires = tags
        .get(keys::EXPIRES)
        .and_then(|e| OffsetDateTime::parse(e, &Rfc3339).ok());
    match expires {
        Some(at) if at <= request.now => Some(ReapReason::Expired),
        // No readable expiry on a managed stack: treat it as expired rather than keep it forever.
        None => Some(ReapReason::Expired),
        Some(_) => None,
    }
}

/// The stack name inside a stack ARN (`arn:aws:cloudformation:r:a:stack/NAME/uuid`).
pub fn stack_name_from_arn(arn: &str) -> Option<&str> {
    arn.split_once(":stack/")
        .and_then(|(_, rest)| rest.split('/').next())
        .filter(|n| !n.is_empty())
}

/// Every stack tagged as tailgate's, as `(arn, tags)`.
pub async fn managed_stacks(
    clients: &AwsClients,
    repo: Option<&str>,
) -> Result<Vec<(String, BTreeMap<String, String>)>, AwsError> {
    let mut filters = vec![TagFilter::builder()
        .key(keys::MANAGED)
        .values("true")
        .build()];
    if let Some(repo) = repo {
        filters.push(TagFilter::builder().key(keys::REPO).values(repo).build());
    }
    let mut pages = clients
        .tagging
        .get_resources()
        .resource_type_filters("cloudformation:stack")
        .set_tag_filters(Some(filters))
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::api("GetResources", &e))?;
        for mapping in page.resource_tag_mapping_list() {
            let Some(arn) = mapping.resource_arn() else {
                continue;
            };
            let tags = mapping
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            out.push((arn.to_string(), tags));
        }
    }
    Ok(out)
}

/// Find and (unless dry run) delete stacks per `request`. A failed delete is reported
/// in its row and the reaping goes on.
pub async fn reap(
    clients: &AwsClients,
    request: &ReapRequest,
    polling: Polling,
) -> Result<Vec<ReapedStack>, AwsError> {
    let mut out = Vec::new();
    for (arn, tags) in managed_stacks(clients, request.repo.as_deref()).await? {
        let Some(reason) = reason_to_delete(&tags, request) else {
            continue;
        };
        let Some(name) = stack_name_from_arn(&arn).map(str::to_string) else {
            continue;
        };
        // Deleted stacks linger in the tagging API: skip what is already gone.
        if stack::describe(&clients.cloudformation, &arn)
            .await?
            .is_none()
        {
            continue;
        }
        let action = if request.dry_run {
            ReapAction::WouldDelete
        } else {
            match stack::delete(&clients.cloudformation, &arn, polling).await {
                Ok(()) => ReapAction::Deleted,
                Err(err) => ReapAction::Failed(err.to_string()),
            }
        };
        out.push(ReapedStack {
            name,
            id: arn,
            tags,
            reason,
            action,
        });
    }
    Ok(out)
}

/// Reap the stacks of `request` and print a line per stack; `false` when the reaping
/// or a deletion failed. `tailgate cleanup`, and `tailgate run` on a closed pull
/// request.
pub async fn reap_and_print(
    clients: &crate::aws::AwsClients,
    request: &ReapRequest,
    polling: super::stack::Polling,
) -> bool {
    let swept = match reap(clients, request, polling).await {
        Ok(swept) => swept,
        Err(err) => {
            eprintln!("tailgate cleanup: {err}");
            return false;
        }
    };
    if swept.is_empty() {
        println!("no tailgate stacks to delete");
    }
    let mut failed = false;
    for s in &swept {
        let action = match &s.action {
            ReapAction::Deleted => "deleted".to_string(),
            ReapAction::WouldDelete => "would delete".to_string(),
            ReapAction::Failed(why) => {
                failed = true;
                format!("FAILED ({why})")
            }
        };
        let tag = |k: &str| s.tags.get(k).map_or("-", String::as_str);
        println!(
            "{action}: {} (repo {}, pr {}, side {}, expires {}, reason {:?})",
            s.name,
            tag(super::tags::keys::REPO),
            tag(super::tags::keys::PR),
            tag(super::tags::keys::SIDE),
            tag(super::tags::keys::EXPIRES),
            s.reason
        );
    }
    !failed
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn tags(pr: &str, expires: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            (keys::MANAGED.to_string(), "true".to_string()),
            (keys::REPO.to_string(), "acme/orders".to_string()),
            (keys::PR.to_string(), pr.to_string()),
            (keys::EXPIRES.to_string(), expires.to_string()),
        ])
    }

    fn request(closed: Vec<u64>) -> ReapRequest {
        ReapRequest {
            repo: Some("acme/orders".into()),
            closed_prs: closed,
            now: datetime!(2030-01-01 12:00 UTC),
            dry_run: true,
        }
    }

    #[test]
    fn expired_and_closed_go_the_rest_stay() {
        let r = request(vec![7]);
        assert_eq!(
            reason_to_delete(&tags("1", "2030-01-01T11:00:00Z"), &r),
            Some(ReapReason::Expired)
        );
        assert_eq!(
            reason_to_delete(&tags("1", "2030-01-01T13:00:00Z"), &r),
            None
        );
        assert_eq!(
            reason_to_delete(&tags("7", "2030-01-02T00:00:00Z"), &r),
            Some(ReapReason::PrClosed)
        );
        assert_eq!(
            reason_to_delete(&tags("1", "garbage"), &r),
            Some(ReapReason::Expired)
        );
    }

    #[test]
    fn other_repos_and_unmanaged_stacks_stay() {
        let r = request(vec![]);
        let mut other = tags("1", "2000-01-01T00:00:00Z");
        other.insert(keys::REPO.into(), "someone/else".into());
        assert_eq!(reason_to_delete(&other, &r), None);
        let mut unmanaged = tags("1", "2000-01-01T00:00:00Z");
        unmanaged.remove(keys::MANAGED);
        assert_eq!(reason_to_delete(&unmanaged, &r), None);
    }

    #[test]
    fn names_come_from_arns() {
        assert_eq!(
            stack_name_from_arn(
                "arn:aws:cloudformation:us-east-1:123456789012:stack/tailgate-a-pr1-base/0b1c-2d"
            ),
            Some("tailgate-a-pr1-base")
        );
        assert_eq!(stack_name_from_arn("arn:aws:s3:::bucket"), None);
    }
}
