//! The run's teardown list: everything a deployer created, torn down last-in first-out.

use std::sync::Mutex;

use super::{BoxFuture, DeployError};

/// Something a deployer created that must not outlive the run.
pub trait Resource: Send {
    /// What this is, for logs (`process 1234 (head)`, `worktree /tmp/...`).
    fn describe(&self) -> String;

    /// Remove it. Must be safe to call when the resource is already gone.
    fn teardown(self: Box<Self>) -> BoxFuture<'static, Result<(), DeployError>>;
}

/// The teardown list of one run. Shared by reference with the deployers.
#[derive(Default)]
pub struct TeardownList {
    items: Mutex<Vec<Box<dyn Resource>>>,
}

impl TeardownList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Register a resource the moment it exists.
    pub fn register(&self, resource: Box<dyn Resource>) {
        self.items
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(resource);
    }

    /// How many resources are registered and not yet torn down.
    pub fn len(&self) -> usize {
        self.items
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len()
    }

    /// Whether nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Tear everything down, newest first. Every resource is attempted even when an
    /// earlier one fails; the failures are returned as `(description, error)`.
    pub async fn teardown_all(&self) -> Vec<(String, DeployError)> {
        let items: Vec<Box<dyn Resource>> = std::mem::take(
            &mut *self
                .items
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        let mut failures = Vec::new();
        for item in items.into_iter().rev() {
            let what = item.describe();
            if let Err(err) = item.teardown().await {
                failures.push((what, err));
            }
        }
        failures
    }
}
