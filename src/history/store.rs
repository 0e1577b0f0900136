//! Where history records live: one small key-value trait, a folder and an S3
//! bucket behind it.
//!
//! Keys are `/`-separated relative names made by [`super`] (never user text as is);
//! values are whole JSON documents, written at once.

use std::path::{Path, PathBuf};

use crate::deploy::BoxFuture;

/// Why the store could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("history store {store}: {message}")]
pub struct StoreError {
    /// The store, as configured (`.tailgate-history`, `s3://bucket/prefix`).
    pub store: String,
    /// What failed.
    pub message: String,
}

/// A place to keep history records.
pub trait Store: Send + Sync {
    /// The store in words, for messages and the report.
    fn describe(&self) -> String;
    /// Write `body` under `key`, replacing what was there.
    fn put<'a>(&'a self, key: &'a str, body: Vec<u8>) -> BoxFuture<'a, Result<(), StoreError>>;
    /// The value under `key`, or `None` when there is none.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>>;
    /// Every key that starts with `prefix`, sorted.
    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, StoreError>>;
}

/// Whether `key` is one this module would make: relative, no `..`, plain characters.
fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with('/')
        && key.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
}

/// A folder: for `actions/cache`, an artifact, or a shared disk.
#[derive(Debug, Clone)]
pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    /// The store in `root` (created on the first write).
    pub fn new(root: impl Into<PathBuf>) -> DirStore {
        DirStore { root: root.into() }
    }

    fn err(&self, message: impl Into<String>) -> StoreError {
        StoreError {
            store: self.describe(),
            message: message.into(),
        }
    }

    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        if !valid_key(key) {
            return Err(self.err(format!("`{key}` is not a valid key")));
        }
        Ok(self.root.join(key))
    }
}

fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        // Half-written files of an interrupted writer.
        if name.starts_with(".tmp-") {
            continue;
        }
        let key = if rel.is_empty() {
            name.to_string()
        } else {
            format!("{rel}/{name}")
        };
        if entry.file_type()?.is_dir() {
            walk(&entry.path(), &key, out)?;
        } else {
            out.push(key);
        }
    }
    Ok(())
}

impl Store for DirStore {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn put<'a>(&'a self, key: &'a str, body: Vec<u8>) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let path = self.path(key)?;
            let dir = path.parent().unwrap_or(&self.root).to_path_buf();
            let write = move || -> std::io::Result<()> {
                std::fs::create_dir_all(&dir)?;
                // Whole files only: a reader never sees half a record.
                let tmp = dir.join(format!(
                    ".tmp-{}-{}",
                    std::process::id(),
                    rand::random::<u32>()
                ));
                std::fs::write(&tmp, &body)?;
                std::fs::rename(&tmp, &path)
            };
            tokio::task::spawn_blocking(write)
                .await
                .map_err(|e| self.err(e.to_string()))?
                .map_err(|e| self.err(format!("writing `{key}`: {e}")))
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(async move {
            let path = self.path(key)?;
            match tokio::fs::read(&path).await {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(self.err(format!("reading `{key}`: {e}"))),
            }
        })
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        Box::pin(async move {
            let root = self.root.clone();
            let mut keys = tokio::task::spawn_blocking(move || {
                let mut out = Vec::new();
                walk(&root, "", &mut out).map(|()| out)
            })
            .await
            .map_err(|e| self.err(e.to_string()))?
            .map_err(|e| self.err(format!("listing: {e}")))?;
            keys.retain(|k| k.starts_with(prefix));
            keys.sort();
            Ok(keys)
        })
    }
}

/// An S3 bucket (and key prefix): for teams that keep history across runners.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
}

impl S3Store {
    /// The store at `s3://bucket/prefix`.
    pub fn new(client: aws_sdk_s3::Client, bucket: String, prefix: String) -> S3Store {
        S3Store {
            client,
            bucket,
            prefix: prefix.trim_matches('/').to_string(),
        }
    }

    fn object_key(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}/{key}", self.prefix)
        }
    }

    fn err(&self, message: impl Into<String>) -> StoreError {
        StoreError {
            store: self.describe(),
            message: message.into(),
        }
    }
}

impl Store for S3Store {
    fn describe(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    fn put<'a>(&'a self, key: &'a str, body: Vec<u8>) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            if !valid_key(key) {
                return Err(self.err(format!("`{key}` is not a valid key")));
            }
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(self.object_key(key))
                .content_type("application/json")
                .body(body.into())
                .send()
                .await
                .map_err(|e| self.err(crate::aws::AwsError::api("PutObject", &e).to_string()))?;
            Ok(())
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(async move {
            if !valid_key(key) {
                return Err(self.err(format!("`{key}` is not a valid key")));
            }
            let out = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(self.object_key(key))
                .send()
                .await;
            let out = match out {
                Ok(out) => out,
                Err(e) => {
                    if e.as_service_error().is_some_and(|s| s.is_no_such_key()) {
                        return Ok(None);
                    }
                    return Err(self.err(crate::aws::AwsError::api("GetObject", &e).to_string()));
                }
            };
            let bytes = out
                .body
                .collect()
                .await
                .map_err(|e| self.err(format!("reading `{key}`: {e}")))?;
            Ok(Some(bytes.into_bytes().to_vec()))
        })
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        Box::pin(async move {
            let full = self.object_key(prefix);
            let strip = if self.prefix.is_empty() {
                String::new()
            } else {
                format!("{}/", self.prefix)
            };
            let mut keys = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let page = self
                    .client
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .prefix(&full)
                    .set_continuation_token(token.take())
                    .send()
                    .await
                    .map_err(|e| {
                        self.err(crate::aws::AwsError::api("ListObjectsV2", &e).to_string())
                    })?;
                for object in page.contents() {
                    if let Some(key) = object.key().and_then(|k| k.strip_prefix(&strip)) {
                        keys.push(key.to_string());
                    }
                }
                match page.next_continuation_token() {
                    Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                    _ => break,
                }
            }
            keys.sort();
            Ok(keys)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_relative_and_plain() {
        assert!(valid_key("runs/main/20261203T120000Z-abc-123.json"));
        for bad in ["", "/etc/passwd", "runs/../x", "runs//x", "a b", "runs/./x"] {
            assert!(!valid_key(bad), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_folder_store_round_trips_and_lists_by_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path().join("h"));
        assert!(store.list("runs/").await.unwrap().is_empty());
        assert_eq!(store.get("runs/main/a.json").await.unwrap(), None);
        store.put("runs/main/b.json", b"2".to_vec()).await.unwrap();
        store.put("runs/main/a.json", b"1".to_vec()).await.unwrap();
        store.put("accepted/x.json", b"3".to_vec()).await.unwrap();
        assert_eq!(
            store.list("runs/").await.unwrap(),
            vec!["runs/main/a.json", "runs/main/b.json"]
        );
        assert_eq!(
            store.get("runs/main/a.json").await.unwrap(),
            Some(b"1".to_vec())
        );
        assert!(store.put("../escape.json", vec![]).await.is_err());
    }
}
