//! Names and tags of tailgate's stacks.
//!
//! A stack's name is derived from the repository, the pull request (or the ref when
//! there is none) and the side, so a rerun finds and updates the same stack instead
//! of creating a second one. CloudFormation names are letters, digits and hyphens,
//! start with a letter and are at most 128 characters
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html>).
//! Too long a name is cut and a stable hash of the full name appended, so two long
//! names that share a prefix still differ.
//!
//! Every stack carries the tags in [`keys`]; `tailgate cleanup` finds stacks by them.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::aws::AwsError;
use crate::side::Side;

/// Tag keys on every stack tailgate creates.
pub mod keys {
    /// Always `true`: marks a stack as tailgate's.
    pub const MANAGED: &str = "tailgate:managed";
    /// `owner/name` of the repository.
    pub const REPO: &str = "tailgate:repo";
    /// The pull request number, or `none`.
    pub const PR: &str = "tailgate:pr";
    /// `base` or `head`.
    pub const SIDE: &str = "tailgate:side";
    /// The git ref or sha deployed.
    pub const REF: &str = "tailgate:ref";
    /// When the stack may be deleted by `tailgate cleanup` (RFC 3339, UTC).
    pub const EXPIRES: &str = "tailgate:expires";
}

/// The longest stack name CloudFormation accepts.
pub const MAX_STACK_NAME: usize = 128;

/// FNV-1a, 32 bits: a hash that is the same on every machine and Rust version.
fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// Lower-case `text`, map every run of other characters to one hyphen, trim hyphens.
pub fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// What a stack is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackIdentity {
    /// Name prefix (default `tailgate`); must start with a letter.
    pub prefix: String,
    /// `owner/name`.
    pub repo: String,
    /// The pull request, when the run is for one.
    pub pr: Option<u64>,
    /// The ref or sha of this side (names the stack when there is no pull request).
    pub git_ref: String,
    /// Which side.
    pub side: Side,
}

impl StackIdentity {
    /// The stack name: `<prefix>-<repo>-pr<N>-<side>`, or `<prefix>-<repo>-<ref>-<side>`.
    pub fn stack_name(&self) -> Result<String, AwsError> {
        let prefix = slug(&self.prefix);
        if !prefix.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(AwsError::StackName(format!(
                "the prefix `{}` must start with a letter",
                self.prefix
            )));
        }
        let which = match self.pr {
            Some(n) => format!("pr{n}"),
            None => slug(&self.git_ref),
        };
        let parts = [
            prefix,
            slug(&self.repo),
            which,
            self.side.as_str().to_string(),
        ];
        let full: String = parts
            .iter()
            .filter(|p| !p.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join("-");
        if full.len() <= MAX_STACK_NAME {
            return Ok(full);
        }
        // Keep the side at the end (it tells the two apart at a glance) and the hash.
        let tail = format!("-{:08x}-{}", fnv1a(&full), self.side.as_str());
        let keep = MAX_STACK_NAME - tail.len();
        let head = full[..keep].trim_end_matches('-');
        Ok(format!("{head}{tail}"))
    }

    /// The tags of the stack, expiring at `expires`.
    pub fn tags(&self, expires: OffsetDateTime) -> BTreeMap<String, String> {
        let expires = expires
            .replace_nanosecond(0)
            .unwrap_or(expires)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| expires.unix_timestamp().to_string());
        BTreeMap::from([
            (keys::MANAGED.to_string(), "true".to_string()),
            (keys::REPO.to_string(), self.repo.clone()),
            (
                keys::PR.to_string(),
                self.pr
                    .map_or_else(|| "none".to_string(), |n| n.to_string()),
            ),
            (keys::SIDE.to_string(), self.side.as_str().to_string()),
            (
                keys::REF.to_string(),
                self.git_ref.chars().take(256).collect(),
            ),
            (keys::EXPIRES.to_string(), expires),
        ])
    }
}

/// Whether `name` is a valid CloudFormation stack name.
pub fn is_valid_stack_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_STACK_NAME
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(repo: &str, pr: Option<u64>, git_ref: &str, side: Side) -> StackIdentity {
        StackIdentity {
            prefix: "tailgate".into(),
            repo: repo.into(),
            pr,
            git_ref: git_ref.into(),
            side,
        }
    }

    #[test]
    fn names_are_readable_and_stable() {
        let a = id("Acme/Orders_API", Some(42), "abc", Side::Head);
        assert_eq!(
            a.stack_name().unwrap(),
            "tailgate-acme-orders-api-pr42-head"
        );
        assert_eq!(a.stack_name().unwrap(), a.stack_name().unwrap());
        let b = id("acme/orders", None, "refs/heads/release/1.2", Side::Base);
        assert_eq!(
            b.stack_name().unwrap(),
            "tailgate-acme-orders-refs-heads-release-1-2-base"
        );
    }

    #[test]
    fn long_names_are_cut_hashed_and_valid() {
        let long = "o/".to_string() + &"x".repeat(300);
        let base = id(&long, Some(1), "", Side::Base).stack_name().unwrap();
        let head = id(&long, Some(1), "", Side::Head).stack_name().unwrap();
        let other = id(&(long.clone() + "y"), Some(1), "", Side::Base)
            .stack_name()
            .unwrap();
        for name in [&base, &head, &other] {
            assert!(is_valid_stack_name(name), "{name}");
            assert_eq!(name.len(), MAX_STACK_NAME);
        }
        assert!(base.ends_with("-base") && head.ends_with("-head"));
        assert_ne!(base, other);
    }

    #[test]
    fn a_prefix_must_start_with_a_letter() {
        let mut bad = id("a/b", Some(1), "", Side::Base);
        bad.prefix = "1x".into();
        assert!(bad.stack_name().is_err());
    }

    #[test]
    fn tags_carry_repo_pr_side_and_expiry() {
        let t = id("acme/orders", Some(7), "deadbeef", Side::Head)
            .tags(time::macros::datetime!(2030-01-02 03:04:05.678 UTC));
        assert_eq!(t[keys::MANAGED], "true");
        assert_eq!(t[keys::REPO], "acme/orders");
        assert_eq!(t[keys::PR], "7");
        assert_eq!(t[keys::SIDE], "head");
        assert_eq!(t[keys::EXPIRES], "2030-01-02T03:04:05Z");
    }
}
