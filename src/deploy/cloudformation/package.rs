//! Packaging a template for CloudFormation, as `aws cloudformation package` and
//! `sam deploy` do: local code (`CodeUri: src/`, `Code: dist/`, layer `ContentUri`)
//! is zipped and uploaded to S3 and the template points at the object; a template
//! over the inline limit is uploaded too and sent by URL.
//!
//! Objects are keyed `tailgate/<stack>/<sha256 of the content>.zip`, so a side's
//! code is uploaded once per content and base's and head's never collide. Each is
//! tagged like the stacks (`tailgate:repo`, `tailgate:pr`, `tailgate:expires`) and
//! registered for deletion before it is uploaded: removed with the stacks, and by
//! `tailgate cleanup --bucket` when a run could not.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::template::Node;

use super::stack::MAX_TEMPLATE_BODY;
use crate::aws::AwsError;
use crate::deploy::{BoxFuture, DeployError, Resource, TeardownList};

/// One property that names local files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalArtifact {
    /// Where it is in the template, e.g. `Resources.Fn.Properties.CodeUri`.
    pub at: String,
    /// The path as written (relative to the template's folder).
    pub path: String,
    /// The shape the S3 location takes: `Bucket`/`Key` (SAM) or `S3Bucket`/`S3Key`.
    pub sam: bool,
}

/// The resource properties that hold code, per resource type: `(type, property,
/// SAM-style location)`.
const CODE_PROPERTIES: [(&str, &str, bool); 4] = [
    ("AWS::Serverless::Function", "CodeUri", true),
    ("AWS::Serverless::LayerVersion", "ContentUri", true),
    ("AWS::Lambda::Function", "Code", false),
    ("AWS::Lambda::LayerVersion", "Content", false),
];

fn is_local(value: &Node) -> Option<&str> {
    let s = value.as_str()?;
    (!s.starts_with("s3://") && !s.starts_with("https://") && !s.trim().is_empty()).then_some(s)
}

/// The local artifacts of a template (JSON or YAML, plain or SAM).
pub fn local_artifacts(doc: &Node) -> Vec<LocalArtifact> {
    let mut out = Vec::new();
    if let Some(uri) = doc
        .get("Globals")
        .and_then(|g| g.get("Function"))
        .and_then(|f| f.get("CodeUri"))
        .and_then(is_local)
    {
        out.push(LocalArtifact {
            at: "Globals.Function.CodeUri".into(),
            path: uri.to_string(),
            sam: true,
        });
    }
    let Some(resources) = doc.get("Resources").and_then(Node::as_mapping) else {
        return out;
    };
    for (id, res) in resources {
        let (Some(id), Some(kind)) = (id.as_str(), res.get("Type").and_then(Node::as_str)) else {
            continue;
        };
        for (ty, prop, sam) in CODE_PROPERTIES {
            if kind != ty {
                continue;
            }
            if let Some(path) = res
                .get("Properties")
                .and_then(|p| p.get(prop))
                .and_then(is_local)
            {
                out.push(LocalArtifact {
                    at: format!("Resources.{id}.Properties.{prop}"),
                    path: path.to_string(),
                    sam,
                });
            }
        }
    }
    out
}

/// Replace the artifact at `at` with its S3 location.
fn point_at(doc: &mut Node, artifact: &LocalArtifact, bucket: &str, key: &str) {
    let mut v = Some(doc);
    for part in artifact.at.split('.') {
        v = v.and_then(|node| node.get_mut(part));
    }
    // `at` was found by `local_artifacts` in this document.
    let Some(v) = v else { return };
    let (b, k) = if artifact.sam {
        ("Bucket", "Key")
    } else {
        ("S3Bucket", "S3Key")
    };
    *v = Node::text_map(&[(b, bucket), (k, key)]);
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A zip of `path` that depends only on the files' names, contents and executable
/// bits (sorted, fixed timestamps), so the same code gives the same key. A `.zip` or
/// `.jar` file is taken as it is.
pub fn zip_artifact(path: &Path) -> Result<Vec<u8>, ZipError> {
    use std::os::unix::fs::PermissionsExt;

    let meta = std::fs::metadata(path).map_err(ZipError::read(path))?;
    let is_archive = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("zip") || e.eq_ignore_ascii_case("jar"));
    if meta.is_file() && is_archive {
        return std::fs::read(path).map_err(ZipError::read(path));
    }
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    if meta.is_file() {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        files.push((name, path.to_path_buf()));
    } else {
        let mut stack = vec![path.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let entries = std::fs::read_dir(&dir).map_err(ZipError::read(&dir))?;
            for entry in entries {
                let entry = entry.map_err(ZipError::read(&dir))?;
                let p = entry.path();
                let name = entry.file_name();
                if name == ".git" || name == ".aws-sam" {
                    continue;
                }
                if p.is_dir() {
                    stack.push(p);
                } else {
                    // `p` was found under `path`.
                    let rel = p
                        .strip_prefix(path)
                        .unwrap_or(&p)
                        .to_string_lossy()
                        .into_owned();
                    files.push((rel, p));
                }
            }
        }
    }
    files.sort();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, file) in files {
        let mode = std::fs::metadata(&file)
            .map_err(ZipError::read(&file))?
            .permissions()
            .mode();
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::DEFAULT)
            .unix_permissions(if mode & 0o111 != 0 { 0o755 } else { 0o644 });
        zip.start_file(name.as_str(), options)
            .map_err(ZipError::zip(&file))?;
        let bytes = std::fs::read(&file).map_err(ZipError::read(&file))?;
        zip.write_all(&bytes).map_err(|source| ZipError::Write {
            path: file.clone(),
            source,
        })?;
    }
    zip.finish()
        .map(std::io::Cursor::into_inner)
        .map_err(ZipError::zip(path))
}

/// Why an artifact could not be zipped.
#[derive(Debug, thiserror::Error)]
pub enum ZipError {
    /// A file or folder could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file's bytes could not be written into the zip.
    #[error("zipping {}: {source}", path.display())]
    Write {
        /// The file being added.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The zip could not be written.
    #[error("zipping {}: {source}", path.display())]
    Zip {
        /// The file being added (or the artifact, when finishing).
        path: PathBuf,
        /// The zip error.
        source: zip::result::ZipError,
    },
}

impl ZipError {
    fn read(path: &Path) -> impl FnOnce(std::io::Error) -> ZipError + '_ {
        move |source| ZipError::Read {
            path: path.to_path_buf(),
            source,
        }
    }

    fn zip(path: &Path) -> impl FnOnce(zip::result::ZipError) -> ZipError + '_ {
        move |source| ZipError::Zip {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Where and how objects of one stack are uploaded.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The S3 client.
    pub client: aws_sdk_s3::Client,
    /// The bucket, from `deploy.cloudformation.bucket`.
    pub bucket: String,
    /// The key prefix, `tailgate/<stack name>`.
    pub prefix: String,
    /// The object tags, like the stack's.
    pub tags: Vec<(String, String)>,
    /// The S3 endpoint when it is not AWS's (an emulator), for template URLs.
    pub endpoint: Option<String>,
    /// The region, for template URLs.
    pub region: Option<String>,
}

/// The template as CloudFormation gets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packaged {
    /// The template text (rewritten when something was uploaded).
    pub body: String,
    /// The template's URL, when it went to S3 for its size.
    pub url: Option<String>,
    /// The keys uploaded.
    pub keys: Vec<String>,
}

/// Package `body` (read from `template`): upload its local artifacts and, when it is
/// still too large, the template itself. Without `upload` a template that needs it
/// is an error naming `deploy.cloudformation.bucket`.
pub async fn package(
    template: &Path,
    body: &str,
    upload: Option<&Upload>,
    cleanup: &TeardownList,
) -> Result<Packaged, AwsError> {
    let err = |message: String| AwsError::Template {
        path: template.display().to_string(),
        message,
    };
    let mut doc = Node::parse(body).map_err(|e| err(format!("not YAML or JSON: {e}")))?;
    let artifacts = local_artifacts(&doc);
    let needs_url = body.len() > MAX_TEMPLATE_BODY;
    if artifacts.is_empty() && !needs_url {
        return Ok(Packaged {
            body: body.to_string(),
            url: None,
            keys: Vec::new(),
        });
    }
    let Some(upload) = upload else {
        let why = match artifacts.first() {
            Some(a) => format!("it has local code (`{}: {}`)", a.at, a.path),
            None => format!(
                "it is {} bytes, over the {MAX_TEMPLATE_BODY} bytes CloudFormation accepts inline",
                body.len()
            ),
        };
        return Err(err(format!(
            "{why}, so it must be packaged to S3: set `deploy.cloudformation.bucket` to a bucket \
             the deploy role can write (tailgate uploads there and deletes what it uploaded)"
        )));
    };
    let folder = template.parent().unwrap_or(Path::new("."));
    let mut keys = Vec::new();
    for artifact in &artifacts {
        let path = folder.join(&artifact.path);
        let bytes = zip_artifact(&path).map_err(|e| err(format!("`{}`: {e}", artifact.at)))?;
        let key = format!("{}/{}.zip", upload.prefix, sha256_hex(&bytes));
        put(upload, &key, bytes, cleanup).await?;
        point_at(&mut doc, artifact, &upload.bucket, &key);
        keys.push(key);
    }
    let body = if artifacts.is_empty() {
        body.to_string()
    } else {
        doc.to_yaml().map_err(|e| err(e.to_string()))?
    };
    let url = if body.len() > MAX_TEMPLATE_BODY {
        let key = format!("{}/{}.template", upload.prefix, sha256_hex(body.as_bytes()));
        put(upload, &key, body.as_bytes().to_vec(), cleanup).await?;
        keys.push(key.clone());
        Some(object_url(upload, &key))
    } else {
        None
    };
    Ok(Packaged { body, url, keys })
}

/// The URL CloudFormation reads a template object from.
fn object_url(upload: &Upload, key: &str) -> String {
    match &upload.endpoint {
        Some(endpoint) => format!("{}/{}/{key}", endpoint.trim_end_matches('/'), upload.bucket),
        None => match upload.region.as_deref() {
            Some(region) => format!("https://{}.s3.{region}.amazonaws.com/{key}", upload.bucket),
            None => format!("https://{}.s3.amazonaws.com/{key}", upload.bucket),
        },
    }
}

fn tagging(tags: &[(String, String)]) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    tags.iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

async fn put(
    upload: &Upload,
    key: &str,
    bytes: Vec<u8>,
    cleanup: &TeardownList,
) -> Result<(), AwsError> {
    // Registered first: a cancelled upload is deleted too (deleting a missing key
    // is not an error in S3).
    cleanup.register(Box::new(ObjectTeardown {
        client: upload.client.clone(),
        bucket: upload.bucket.clone(),
        key: key.to_string(),
    }));
    upload
        .client
        .put_object()
        .bucket(&upload.bucket)
        .key(key)
        .tagging(tagging(&upload.tags))
        .body(bytes.into())
        .send()
        .await
        .map_err(|e| AwsError::api("PutObject", &e))?;
    Ok(())
}

/// An uploaded object, deleted at teardown.
struct ObjectTeardown {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
}

impl Resource for ObjectTeardown {
    fn describe(&self) -> String {
        format!("S3 object s3://{}/{}", self.bucket, self.key)
    }

    fn teardown(self: Box<Self>) -> BoxFuture<'static, Result<(), DeployError>> {
        Box::pin(async move {
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| DeployError::Teardown {
                    what: format!("s3://{}/{}", self.bucket, self.key),
                    message: AwsError::api("DeleteObject", &e).to_string(),
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_local_code_of_sam_and_plain_templates() {
        let doc = Node::parse(
            "Globals: { Function: { CodeUri: app/ } }\nResources:\n  A: { Type: AWS::Serverless::Function, Properties: { CodeUri: src/ } }\n  B: { Type: AWS::Serverless::Function, Properties: { CodeUri: s3://b/k.zip } }\n  C: { Type: AWS::Lambda::Function, Properties: { Code: dist } }\n  D: { Type: AWS::Lambda::Function, Properties: { Code: { ZipFile: x } } }\n  L: { Type: AWS::Serverless::LayerVersion, Properties: { ContentUri: layer/ } }\n",
        )
        .unwrap();
        let found: Vec<(String, String, bool)> = local_artifacts(&doc)
            .into_iter()
            .map(|a| (a.at, a.path, a.sam))
            .collect();
        assert_eq!(
            found,
            [
                ("Globals.Function.CodeUri".into(), "app/".into(), true),
                ("Resources.A.Properties.CodeUri".into(), "src/".into(), true),
                ("Resources.C.Properties.Code".into(), "dist".into(), false),
                (
                    "Resources.L.Properties.ContentUri".into(),
                    "layer/".into(),
                    true
                ),
            ]
        );
        let mut doc = doc;
        let c = &local_artifacts(&doc)[2].clone();
        point_at(&mut doc, c, "bkt", "tailgate/s/abc.zip");
        assert_eq!(
            doc.get("Resources")
                .and_then(|r| r.get("C"))
                .and_then(|c| c.get("Properties"))
                .and_then(|p| p.get("Code"))
                .and_then(|c| c.get("S3Key"))
                .and_then(Node::as_str),
            Some("tailgate/s/abc.zip")
        );
    }

    #[test]
    fn zips_are_the_same_for_the_same_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("lib")).unwrap();
        std::fs::write(dir.path().join("app.py"), "X = 1\n").unwrap();
        std::fs::write(dir.path().join("lib/util.py"), "").unwrap();
        let a = zip_artifact(dir.path()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(dir.path().join("app.py"), "X = 1\n").unwrap();
        assert_eq!(a, zip_artifact(dir.path()).unwrap(), "mtimes do not matter");
        std::fs::write(dir.path().join("app.py"), "X = 2\n").unwrap();
        assert_ne!(a, zip_artifact(dir.path()).unwrap());
        let archive = zip::ZipArchive::new(std::io::Cursor::new(a)).unwrap();
        let names: Vec<String> = archive
            .file_names()
            .map(|n| n.unwrap().into_owned())
            .collect();
        assert_eq!(names, ["app.py", "lib/util.py"]);
    }

    #[test]
    fn tags_are_url_encoded() {
        assert_eq!(
            tagging(&[("tailgate:repo".into(), "acme/orders".into())]),
            "tailgate%3Arepo=acme%2Forders"
        );
    }
}
