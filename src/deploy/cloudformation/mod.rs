//! The `cloudformation` deployer: one stack per side from a template file.
//!
//! The stack is registered for deletion *before* it is created (deleting a stack that
//! does not exist is a no-op), so a run that fails or is cancelled at any point still
//! deletes it. Names are stable across reruns, so a rerun updates the stack ("No
//! updates are to be performed" is success). The URL comes from a named output; the
//! stack's Lambda functions, their architectures and the API Gateway kind are read from
//! its resources and processed template (or the template sent, with `Ref`s to the
//! stack's parameters resolved) and put in [`Target::aws`] for the server-side
//! metrics and the cost model ([`functions_of`], [`gateway_of`]); an architecture
//! nothing says is carried as unknown, never guessed.

pub mod package;
pub mod reap;
pub mod stack;
pub mod tags;
pub mod template;

use std::collections::BTreeMap;
use std::time::Duration;

use time::OffsetDateTime;

use crate::aws::{AwsClients, AwsError};
use crate::config::CloudFormationDeploy;
use crate::cost::{ApiGatewayKind, Architecture};
use crate::deploy::url::normalise_url;
use crate::deploy::{BoxFuture, DeployError, Deployer, Resource, Target, TeardownList};
use crate::side::Side;
use stack::{Polling, StackSpec};
use tags::StackIdentity;
use template::Node;

pub use crate::deploy::{AwsTarget, FunctionInfo};

/// What this run is, for stack names and tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackContext {
    /// `owner/name` of the repository.
    pub repo: String,
    /// The pull request, when there is one.
    pub pr: Option<u64>,
    /// The git sha (or ref) of base.
    pub base_sha: String,
    /// The git sha (or ref) of head.
    pub head_sha: String,
}

/// Stands up a stack per side.
#[derive(Debug, Clone)]
pub struct CloudFormationDeployer {
    settings: CloudFormationDeploy,
    context: StackContext,
    clients: AwsClients,
    /// The config's folder: `template` is read at the same place in each side's checkout.
    dir: std::path::PathBuf,
}

impl CloudFormationDeployer {
    /// A deployer with `settings` (template path already resolved) for `context`.
    pub fn new(settings: CloudFormationDeploy, context: StackContext, clients: AwsClients) -> Self {
        let dir = settings
            .template
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        CloudFormationDeployer {
            settings,
            context,
            clients,
            dir,
        }
    }

    /// Deploy each side from the checkout of its commit that stands for `dir` (the
    /// config's folder); default: the template's folder.
    pub fn in_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.dir = dir.into();
        self
    }

    fn polling(&self) -> Polling {
        Polling {
            timeout: self.settings.timeout,
            interval: self.settings.poll_interval,
        }
    }

    /// The identity (name and tags) of `side`'s stack.
    pub fn identity(&self, side: Side) -> StackIdentity {
        StackIdentity {
            prefix: self.settings.stack_prefix.clone(),
            repo: self.context.repo.clone(),
            pr: self.context.pr,
            git_ref: match side {
                Side::Base => self.context.base_sha.clone(),
                Side::Head => self.context.head_sha.clone(),
            },
            side,
        }
    }

    /// The stack `side` would get: name, template, parameters, capabilities, tags,
    /// from the template in the run's own checkout (unpackaged).
    pub fn spec(&self, side: Side, now: OffsetDateTime) -> Result<StackSpec, AwsError> {
        self.spec_at(side, &self.settings.template, now)
    }

    /// [`Self::spec`] with the template at `path` (the side's checkout).
    fn spec_at(
        &self,
        side: Side,
        path: &std::path::Path,
        now: OffsetDateTime,
    ) -> Result<StackSpec, AwsError> {
        let identity = self.identity(side);
        let template_body = std::fs::read_to_string(path).map_err(|e| AwsError::Template {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let mut parameters: BTreeMap<String, String> =
            self.settings.parameters.iter().cloned().collect();
        if let Some(p) = &self.settings.sha_parameter {
            parameters.insert(p.clone(), identity.git_ref.clone());
        }
        let expires = now + self.settings.ttl;
        let mut tags = identity.tags(expires);
        for (k, v) in &self.settings.tags {
            tags.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Ok(StackSpec {
            name: identity.stack_name()?,
            template_body,
            template_url: None,
            parameters,
            capabilities: self.settings.capabilities.clone(),
            tags,
        })
    }

    async fn deploy_side(
        &self,
        side: Side,
        side_dir: &crate::deploy::checkout::SideDir,
        cleanup: &TeardownList,
    ) -> Result<Target, AwsError> {
        let template = side_dir.map(&self.dir, &self.settings.template);
        let mut spec = self.spec_at(side, &template, OffsetDateTime::now_utc())?;
        let upload = self.settings.bucket.as_ref().map(|bucket| {
            let expires = OffsetDateTime::now_utc() + self.settings.ttl;
            crate::deploy::cloudformation::package::Upload {
                client: self.clients.s3.clone(),
                bucket: bucket.clone(),
                prefix: format!("tailgate/{}", spec.name),
                tags: self.identity(side).tags(expires).into_iter().collect(),
                endpoint: self.clients.endpoint.clone(),
                region: self.clients.region.clone(),
            }
        });
        let packaged = crate::deploy::cloudformation::package::package(
            &template,
            &spec.template_body,
            upload.as_ref(),
            cleanup,
        )
        .await?;
        spec.template_body = packaged.body;
        spec.template_url = packaged.url;
        let cf = &self.clients.cloudformation;
        cleanup.register(Box::new(StackTeardown {
            client: cf.clone(),
            name: spec.name.clone(),
            polling: Polling {
                timeout: self.settings.timeout.max(MIN_DELETE_TIMEOUT),
                ..self.polling()
            },
        }));
        let (applied, info) = stack::apply(cf, &spec, self.polling()).await?;
        let Some(url) = info.outputs.get(&self.settings.url_output) else {
            return Err(AwsError::MissingOutput {
                stack: spec.name.clone(),
                output: self.settings.url_output.clone(),
                available: info.outputs.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        };
        let resources = stack::resources(cf, &spec.name).await?;
        // The processed template says which architecture each function has; without it
        // (an emulator, a denied GetTemplate) the template we sent says the same for
        // the functions it declares. `!Ref` is resolved with the stack's parameters;
        // what stays unknown is carried as unknown, never priced as a guess.
        let sent = analyze_template(&spec.template_body, &spec.parameters);
        let facts = stack::processed_template(cf, &spec.name)
            .await
            .map(|body| analyze_template(&body, &spec.parameters))
            .unwrap_or_else(|_| sent.clone());
        let functions: Vec<FunctionInfo> = resources
            .iter()
            .filter(|r| r.resource_type == "AWS::Lambda::Function" && !r.physical_id.is_empty())
            .map(|r| FunctionInfo {
                name: r.physical_id.clone(),
                logical_id: r.logical_id.clone(),
                architecture: facts
                    .functions
                    .get(&r.logical_id)
                    .or_else(|| sent.functions.get(&r.logical_id))
                    .copied()
                    .flatten(),
            })
            .collect();
        let aws = AwsTarget {
            stack: Some(spec.name.clone()),
            region: self.clients.region.clone(),
            functions,
            gateway: Some(facts.gateway.unwrap_or(ApiGatewayKind::None)),
            applied: Some(applied),
            packaged: packaged.keys.clone(),
        };
        let base_url = normalise_url(side, url).map_err(|e| AwsError::Template {
            path: self.settings.template.display().to_string(),
            message: format!("output `{}`: {e}", self.settings.url_output),
        })?;
        Ok(Target {
            side,
            base_url,
            label: format!("{} ({})", self.identity(side).git_ref, spec.name),
            pid: None,
            checkout: Some(side_dir.note.clone()),
            worktree: None,
            outputs: info.outputs.clone(),
            aws: Some(aws),
        })
    }
}

/// The Lambda functions of a target on AWS (none for others).
pub fn functions_of(target: &Target) -> &[FunctionInfo] {
    target.aws.as_ref().map_or(&[], |a| a.functions.as_slice())
}

/// The API Gateway kind in front of a target on AWS, when its deployer knows.
pub fn gateway_of(target: &Target) -> Option<ApiGatewayKind> {
    target.aws.as_ref()?.gateway
}

/// What a template says that the cost model needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateFacts {
    /// Lambda functions by logical id, with their architecture: written literally,
    /// a `Ref` to a parameter, or absent (Lambda's default, x86_64); `None` when the
    /// template computes it in a way not resolved here.
    pub functions: BTreeMap<String, Option<Architecture>>,
    /// The API Gateway kind, when the template has one (REST wins over HTTP when both).
    pub gateway: Option<ApiGatewayKind>,
}

/// What a template's `Architectures` says: absent is Lambda's default (x86_64), a
/// literal or a `Ref` to a parameter (`!Ref Arch`, `{"Ref": "Arch"}`, on the list or
/// its first item) is read, anything else is unknown (`None`).
fn first_arch(value: Option<&Node>, parameters: &BTreeMap<String, String>) -> Option<Architecture> {
    let Some(value) = value else {
        return Some(Architecture::X86_64);
    };
    let resolved = |v: &Node| -> Option<String> {
        let name = match (&v.value, v.tag.as_deref()) {
            (template::Value::Str(s), None) => return Some(s.clone()),
            (template::Value::Str(s), Some("!Ref")) => s.as_str(),
            (template::Value::Map(m), None) if m.len() == 1 => v.get("Ref")?.as_str()?,
            _ => return None,
        };
        parameters.get(name).cloned()
    };
    let text = match value.as_sequence() {
        Some(items) => resolved(items.first()?)?,
        // A `CommaDelimitedList` parameter: its first item.
        None => resolved(value)?.split(',').next()?.to_string(),
    };
    Architecture::parse(&text)
}

/// The parameter values a stack is created with: `given`, then the template's
/// `Default`s for the others.
fn stack_parameters(doc: &Node, given: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut out = given.clone();
    let declared = doc.get("Parameters").and_then(Node::as_mapping);
    for (name, decl) in declared.into_iter().flatten() {
        let (Some(name), Some(default)) = (name.as_str(), decl.get("Default")) else {
            continue;
        };
        let default = match &default.value {
            template::Value::Str(s) => s.clone(),
            template::Value::Seq(items) => items
                .iter()
                .filter_map(Node::as_str)
                .collect::<Vec<_>>()
                .join(","),
            _ => continue,
        };
        out.entry(name.to_string()).or_insert(default);
    }
    out
}

/// Read functions and the gateway kind from a template (JSON or YAML, plain or SAM).
/// A `Ref` in `Architectures` is resolved with `parameters` (the values the stack
/// is deployed with) and the template's defaults; other intrinsic functions count
/// as unknown.
pub fn analyze_template(body: &str, parameters: &BTreeMap<String, String>) -> TemplateFacts {
    let mut facts = TemplateFacts::default();
    let Ok(doc) = Node::parse(body) else {
        return facts;
    };
    let parameters = stack_parameters(&doc, parameters);
    let global = doc
        .get("Globals")
        .and_then(|g| g.get("Function"))
        .and_then(|f| f.get("Architectures"));
    let Some(resources) = doc.get("Resources").and_then(Node::as_mapping) else {
        return facts;
    };
    let (mut rest, mut http) = (false, false);
    for (id, res) in resources {
        let (Some(id), Some(kind)) = (id.as_str(), res.get("Type").and_then(Node::as_str)) else {
            continue;
        };
        let props = res.get("Properties");
        match kind {
            "AWS::Lambda::Function" => {
                let arch = first_arch(props.and_then(|p| p.get("Architectures")), &parameters);
                facts.functions.insert(id.to_string(), arch);
            }
            "AWS::Serverless::Function" => {
                let own = props.and_then(|p| p.get("Architectures"));
                let arch = first_arch(own.or(global), &parameters);
                facts.functions.insert(id.to_string(), arch);
                let events = props
                    .and_then(|p| p.get("Events"))
                    .and_then(Node::as_mapping);
                for (_, event) in events.into_iter().flatten() {
                    match event.get("Type").and_then(Node::as_str) {
                        Some("Api") => rest = true,
                        Some("HttpApi") => http = true,
                        _ => {}
                    }
                }
            }
            "AWS::ApiGateway::RestApi" | "AWS::Serverless::Api" => rest = true,
            "AWS::ApiGatewayV2::Api" | "AWS::Serverless::HttpApi" => http = true,
            _ => {}
        }
    }
    facts.gateway = match (rest, http) {
        (true, _) => Some(ApiGatewayKind::Rest),
        (false, true) => Some(ApiGatewayKind::Http),
        (false, false) => None,
    };
    facts
}

impl Deployer for CloudFormationDeployer {
    fn name(&self) -> &'static str {
        "cloudformation"
    }

    fn readiness(&self) -> Option<&crate::config::RemoteReady> {
        Some(&self.settings.ready)
    }

    fn aws_clients(&self) -> Option<&AwsClients> {
        Some(&self.clients)
    }

    fn parallel_sides(&self) -> bool {
        true
    }

    fn deploy<'a>(
        &'a self,
        side: Side,
        cleanup: &'a TeardownList,
    ) -> BoxFuture<'a, Result<Target, DeployError>> {
        Box::pin(async move {
            let git_ref = self.identity(side).git_ref;
            let env = [
                ("TAILGATE_SIDE".to_string(), side.as_str().to_string()),
                ("TAILGATE_REF".to_string(), git_ref.clone()),
            ];
            let side_dir = crate::deploy::checkout::prepare(
                &self.dir,
                &self.settings.sides,
                side,
                &git_ref,
                &env,
                cleanup,
            )
            .await?;
            self.deploy_side(side, &side_dir, cleanup)
                .await
                .map_err(|source| DeployError::Aws { side, source })
        })
    }
}

/// A stack to delete at teardown.
struct StackTeardown {
    client: aws_sdk_cloudformation::Client,
    name: String,
    polling: Polling,
}

impl Resource for StackTeardown {
    fn describe(&self) -> String {
        format!("CloudFormation stack {}", self.name)
    }

    fn teardown(self: Box<Self>) -> BoxFuture<'static, Result<(), DeployError>> {
        Box::pin(async move {
            stack::delete(&self.client, &self.name, self.polling)
                .await
                .map_err(|source| DeployError::Teardown {
                    what: format!("stack {}", self.name),
                    message: source.to_string(),
                })
        })
    }
}

/// Deletion waits at least this long, whatever the deploy timeout.
pub const MIN_DELETE_TIMEOUT: Duration = Duration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_cloudformation() {
        let facts = analyze_template(
            r#"{"Resources":{"Fn":{"Type":"AWS::Lambda::Function","Properties":{"Architectures":["arm64"]}},
              "Other":{"Type":"AWS::Lambda::Function","Properties":{}},
              "Api":{"Type":"AWS::ApiGatewayV2::Api"}}}"#,
            &BTreeMap::new(),
        );
        assert_eq!(facts.functions["Fn"], Some(Architecture::Arm64));
        // No `Architectures`: Lambda's default.
        assert_eq!(facts.functions["Other"], Some(Architecture::X86_64));
        assert_eq!(facts.gateway, Some(ApiGatewayKind::Http));
    }

    #[test]
    fn reads_sam_with_globals_and_short_tags() {
        let facts = analyze_template(
            "Transform: AWS::Serverless-2016-10-31\nGlobals:\n  Function:\n    Architectures: [arm64]\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Handler: !Sub '${AWS::Region}'\n      Events:\n        Get:\n          Type: Api\n",
            &BTreeMap::new(),
        );
        assert_eq!(facts.functions["Fn"], Some(Architecture::Arm64));
        assert_eq!(facts.gateway, Some(ApiGatewayKind::Rest));
        assert_eq!(
            analyze_template(": not yaml [", &BTreeMap::new()),
            TemplateFacts::default()
        );
    }

    #[test]
    fn resolves_a_ref_with_the_stack_parameters_or_says_unknown() {
        let yaml = "Parameters:\n  Arch:\n    Type: String\n    Default: arm64\n  Other:\n    Type: String\nResources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Architectures: [!Ref Arch]\n  Unset:\n    Type: AWS::Lambda::Function\n    Properties:\n      Architectures: [!Ref Other]\n  Computed:\n    Type: AWS::Lambda::Function\n    Properties:\n      Architectures: [!If [IsArm, arm64, x86_64]]\n";
        let facts = analyze_template(yaml, &BTreeMap::new());
        assert_eq!(facts.functions["Fn"], Some(Architecture::Arm64));
        assert_eq!(facts.functions["Unset"], None);
        assert_eq!(facts.functions["Computed"], None);
        let given = BTreeMap::from([
            ("Arch".to_string(), "x86_64".to_string()),
            ("Other".to_string(), "arm64".to_string()),
        ]);
        let facts = analyze_template(yaml, &given);
        assert_eq!(facts.functions["Fn"], Some(Architecture::X86_64));
        assert_eq!(facts.functions["Unset"], Some(Architecture::Arm64));
        // The processed template's JSON form.
        let json = r#"{"Resources":{"Fn":{"Type":"AWS::Lambda::Function","Properties":{"Architectures":[{"Ref":"Arch"}]}}}}"#;
        let arm = BTreeMap::from([("Arch".to_string(), "arm64".to_string())]);
        assert_eq!(
            analyze_template(json, &arm).functions["Fn"],
            Some(Architecture::Arm64)
        );
    }

    #[test]
    fn reads_functions_and_gateway_of_a_target() {
        let target = Target {
            side: Side::Head,
            base_url: "http://x".into(),
            label: String::new(),
            pid: None,
            checkout: None,
            worktree: None,
            outputs: BTreeMap::new(),
            aws: Some(AwsTarget {
                stack: None,
                region: None,
                functions: vec![FunctionInfo {
                    name: "a".into(),
                    logical_id: String::new(),
                    architecture: Some(Architecture::Arm64),
                }],
                gateway: Some(ApiGatewayKind::Http),
                applied: None,
                packaged: Vec::new(),
            }),
        };
        assert_eq!(
            functions_of(&target)[0].architecture,
            Some(Architecture::Arm64)
        );
        assert_eq!(gateway_of(&target), Some(ApiGatewayKind::Http));
    }
}
