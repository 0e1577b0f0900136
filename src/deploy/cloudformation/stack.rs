//! One CloudFormation stack: describe, create or update, wait, read, delete.
//!
//! Follows AWS's behaviour where emulators differ: an update that changes nothing is
//! answered with `ValidationError: No updates are to be performed.`, which is success;
//! a stack in `ROLLBACK_COMPLETE` cannot be updated, only deleted and created again;
//! a failed create or update ends in `*_FAILED` / `*ROLLBACK*` and the reasons are in
//! the stack events (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html>).

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_cloudformation::types::{Capability, Parameter, Tag, TemplateStage};
use aws_sdk_cloudformation::Client;

use crate::aws::{error_code, error_message, AwsError};

/// Largest template accepted inline (`TemplateBody`), in bytes.
pub const MAX_TEMPLATE_BODY: usize = 51_200;

/// What a stack should be.
#[derive(Debug, Clone)]
pub struct StackSpec {
    /// The stack name.
    pub name: String,
    /// The template text (JSON or YAML).
    pub template_body: String,
    /// Where the template was uploaded when it is too large to send inline
    /// (`TemplateURL`, an S3 object URL); wins over `template_body`.
    pub template_url: Option<String>,
    /// Parameter values by key.
    pub parameters: BTreeMap<String, String>,
    /// Capabilities to acknowledge (`CAPABILITY_IAM`, `CAPABILITY_AUTO_EXPAND` for SAM).
    pub capabilities: Vec<String>,
    /// Tags of the stack (propagated to its resources).
    pub tags: BTreeMap<String, String>,
}

/// How long and how often to poll a stack.
#[derive(Debug, Clone, Copy)]
pub struct Polling {
    /// Give up after this long.
    pub timeout: Duration,
    /// Time between two `DescribeStacks` calls.
    pub interval: Duration,
}

/// A stack as described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackInfo {
    /// Stack id (ARN).
    pub id: String,
    /// Stack name.
    pub name: String,
    /// Status (`CREATE_COMPLETE`).
    pub status: String,
    /// Status reason, when AWS gives one.
    pub reason: Option<String>,
    /// Outputs by key.
    pub outputs: BTreeMap<String, String>,
    /// Tags by key.
    pub tags: BTreeMap<String, String>,
}

impl StackInfo {
    /// Whether an operation is still running on the stack.
    pub fn in_progress(&self) -> bool {
        self.status.ends_with("_IN_PROGRESS")
            && self.status != "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
    }

    /// Whether the stack is usable (created or updated).
    pub fn is_ready(&self) -> bool {
        matches!(
            self.status.as_str(),
            "CREATE_COMPLETE"
                | "UPDATE_COMPLETE"
                | "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
                | "IMPORT_COMPLETE"
        )
    }
}

/// What [`apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Applied {
    /// The stack was created.
    Created,
    /// The stack existed and was updated.
    Updated,
    /// The stack existed and already matched ("No updates are to be performed.").
    Unchanged,
}

/// One resource of a stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackResource {
    /// The template's logical id.
    pub logical_id: String,
    /// The physical id (a function's name for `AWS::Lambda::Function`).
    pub physical_id: String,
    /// The resource type (`AWS::Lambda::Function`).
    pub resource_type: String,
}

fn is_missing(err_code: Option<&str>, message: Option<&str>) -> bool {
    err_code == Some("ValidationError") && message.is_some_and(|m| m.contains("does not exist"))
}

/// Describe `name`; `None` when no such stack exists (or it was deleted).
pub async fn describe(cf: &Client, name: &str) -> Result<Option<StackInfo>, AwsError> {
    let out = match cf.describe_stacks().stack_name(name).send().await {
        Ok(out) => out,
        Err(err) => {
            if is_missing(error_code(&err).as_deref(), error_message(&err).as_deref()) {
                return Ok(None);
            }
            return Err(AwsError::api("DescribeStacks", &err));
        }
    };
    let Some(stack) = out.stacks().first() else {
        return Ok(None);
    };
    let info = StackInfo {
        id: stack.stack_id().unwrap_or_default().to_string(),
        name: stack.stack_name().unwrap_or(name).to_string(),
        status: stack
            .stack_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        reason: stack.stack_status_reason().map(str::to_string),
        outputs: stack
            .outputs()
            .iter()
            .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
            .collect(),
        tags: stack
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
            .collect(),
    };
    if info.status == "DELETE_COMPLETE" {
        return Ok(None);
    }
    Ok(Some(info))
}

fn sdk_parameters(spec: &StackSpec) -> Vec<Parameter> {
    spec.parameters
        .iter()
        .map(|(k, v)| {
            Parameter::builder()
                .parameter_key(k)
                .parameter_value(v)
                .build()
        })
        .collect()
}

fn sdk_tags(spec: &StackSpec) -> Vec<Tag> {
    spec.tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn sdk_capabilities(spec: &StackSpec) -> Vec<Capability> {
    spec.capabilities
        .iter()
        .map(|c| Capability::from(c.as_str()))
        .collect()
}

/// Wait until no operation runs on `name`; `None` when the stack is gone.
pub async fn settle(
    cf: &Client,
    name: &str,
    polling: Polling,
) -> Result<Option<StackInfo>, AwsError> {
    let started = tokio::time::Instant::now();
    loop {
        let info = describe(cf, name).await?;
        match &info {
            Some(s) if s.in_progress() => {
                if started.elapsed() >= polling.timeout {
                    return Err(AwsError::Timeout {
                        stack: name.to_string(),
                        status: s.status.clone(),
                        waited: started.elapsed(),
                    });
                }
                tokio::time::sleep(polling.interval).await;
            }
            _ => return Ok(info),
        }
    }
}

/// Create `spec.name`, or update it when it exists; wait until it is ready.
///
/// The caller registers the stack for deletion *before* calling this: deleting a
/// stack that was never created is a no-op, and a create whose answer is lost may
/// still have created it.
pub async fn apply(
    cf: &Client,
    spec: &StackSpec,
    polling: Polling,
) -> Result<(Applied, StackInfo), AwsError> {
    let mut existing = settle(cf, &spec.name, polling).await?;
    if existing.as_ref().is_some_and(|s| {
        matches!(
            s.status.as_str(),
            "ROLLBACK_COMPLETE"
                | "ROLLBACK_FAILED"
                | "CREATE_FAILED"
                | "DELETE_FAILED"
                | "REVIEW_IN_PROGRESS"
        )
    }) {
        // AWS allows only deletion of a stack whose creation failed.
        delete(cf, &spec.name, polling).await?;
        existing = None;
    }
    let applied = match existing {
        None => {
            cf.create_stack()
                .stack_name(&spec.name)
                .set_template_body(
                    spec.template_url
                        .is_none()
                        .then(|| spec.template_body.clone()),
                )
                .set_template_url(spec.template_url.clone())
                .set_parameters(Some(sdk_parameters(spec)))
                .set_capabilities(Some(sdk_capabilities(spec)))
                .set_tags(Some(sdk_tags(spec)))
                .send()
                .await
                .map_err(|e| AwsError::api("CreateStack", &e))?;
            Applied::Created
        }
        Some(_) => {
            let result = cf
                .update_stack()
                .stack_name(&spec.name)
                .set_template_body(
                    spec.template_url
                        .is_none()
                        .then(|| spec.template_body.clone()),
                )
                .set_template_url(spec.template_url.clone())
                .set_parameters(Some(sdk_parameters(spec)))
                .set_capabilities(Some(sdk_capabilities(spec)))
                .set_tags(Some(sdk_tags(spec)))
                .send()
                .await;
            match result {
                Ok(_) => Applied::Updated,
                Err(err)
                    if error_message(&err)
                        .is_some_and(|m| m.contains("No updates are to be performed")) =>
                {
                    Applied::Unchanged
                }
                Err(err) => return Err(AwsError::api("UpdateStack", &err)),
            }
        }
    };
    let info = settle(cf, &spec.name, polling).await?;
    match info {
        Some(info) if info.is_ready() => Ok((applied, info)),
        Some(info) => Err(AwsError::StackFailed {
            reasons: failure_reasons(cf, &spec.name).await,
            stack: spec.name.clone(),
            status: info.status,
        }),
        None => Err(AwsError::StackFailed {
            reasons: failure_reasons(cf, &spec.name).await,
            stack: spec.name.clone(),
            status: "DELETE_COMPLETE".into(),
        }),
    }
}

/// The reasons of the failed resources of the latest operation, oldest first
/// (`Fn (AWS::Lambda::Function): Resource handler returned message: ...`). Best effort:
/// an error reading the events gives an empty list.
pub async fn failure_reasons(cf: &Client, name: &str) -> Vec<String> {
    let mut pages = cf
        .describe_stack_events()
        .stack_name(name)
        .into_paginator()
        .send();
    let mut resource_reasons = Vec::new();
    let mut stack_reasons = Vec::new();
    let mut pages_read = 0;
    'pages: while let Some(page) = pages.next().await {
        let Ok(page) = page else { break };
        pages_read += 1;
        // Newest first: stop at the event that started the latest operation.
        for event in page.stack_events() {
            let status = event.resource_status().map(|s| s.as_str()).unwrap_or("");
            let logical = event.logical_resource_id().unwrap_or("?");
            let kind = event.resource_type().unwrap_or("?");
            let reason = event.resource_status_reason().unwrap_or("");
            let is_stack = kind == "AWS::CloudFormation::Stack";
            if is_stack
                && reason == "User Initiated"
                && matches!(
                    status,
                    "CREATE_IN_PROGRESS" | "UPDATE_IN_PROGRESS" | "DELETE_IN_PROGRESS"
                )
            {
                break 'pages;
            }
            if !(status.ends_with("_FAILED") || status.contains("ROLLBACK")) || reason.is_empty() {
                continue;
            }
            let line = format!("{logical} ({kind}) {status}: {reason}");
            if is_stack {
                stack_reasons.push(line);
            } else if !reason.contains("cancelled") {
                resource_reasons.push(line);
            }
        }
        if pages_read >= 10 {
            break;
        }
    }
    let mut reasons = if resource_reasons.is_empty() {
        stack_reasons
    } else {
        resource_reasons
    };
    reasons.reverse();
    reasons
}

/// Delete `name` and wait until it is gone. Deleting a stack that does not exist is
/// success. A create in progress is cancelled by the delete (as AWS does); an update
/// in progress is cancelled first (`CancelUpdateStack`); a rollback is waited for.
pub async fn delete(cf: &Client, name: &str, polling: Polling) -> Result<(), AwsError> {
    let Some(info) = describe(cf, name).await? else {
        return Ok(());
    };
    let status = info.status.as_str();
    if status != "DELETE_IN_PROGRESS" {
        if status == "UPDATE_IN_PROGRESS" {
            // Best effort: if the update finished meanwhile, there is nothing to cancel.
            let _ = cf.cancel_update_stack().stack_name(name).send().await;
        }
        if info.in_progress()
            && status != "CREATE_IN_PROGRESS"
            && settle(cf, name, polling).await?.is_none()
        {
            return Ok(());
        }
        cf.delete_stack()
            .stack_name(name)
            .send()
            .await
            .map_err(|e| AwsError::api("DeleteStack", &e))?;
    }
    match settle(cf, name, polling).await? {
        None => Ok(()),
        Some(info) => Err(AwsError::StackFailed {
            reasons: failure_reasons(cf, name).await,
            stack: name.to_string(),
            status: info.status,
        }),
    }
}

/// Every resource of the stack.
pub async fn resources(cf: &Client, name: &str) -> Result<Vec<StackResource>, AwsError> {
    let mut pages = cf
        .list_stack_resources()
        .stack_name(name)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::api("ListStackResources", &e))?;
        for r in page.stack_resource_summaries() {
            out.push(StackResource {
                logical_id: r.logical_resource_id().unwrap_or_default().to_string(),
                physical_id: r.physical_resource_id().unwrap_or_default().to_string(),
                resource_type: r.resource_type().unwrap_or_default().to_string(),
            });
        }
    }
    Ok(out)
}

/// The template as CloudFormation processed it (after SAM and other transforms).
pub async fn processed_template(cf: &Client, name: &str) -> Result<String, AwsError> {
    let out = cf
        .get_template()
        .stack_name(name)
        .template_stage(TemplateStage::Processed)
        .send()
        .await
        .map_err(|e| AwsError::api("GetTemplate", &e))?;
    Ok(out.template_body().unwrap_or_default().to_string())
}
