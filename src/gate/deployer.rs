//! The deployer a config asks for, with the refs in force.

use crate::config::{Config, DeployConfig};
use crate::deploy::{
    CloudFormationDeployer, CommandContext, CommandDeployer, Deployer, LocalDeployer, StackContext,
    UrlDeployer,
};

/// Where a run happens, for deployers that name or tag what they create.
#[derive(Debug, Clone, Default)]
pub struct RunSite {
    /// `owner/name`, when known.
    pub repo: Option<String>,
    /// The pull request, when there is one.
    pub pr: Option<u64>,
    /// traces (issue 27): what `local` and `command` sides are told to export to.
    pub traces: Option<crate::deploy::TraceExport>,
}

/// The deployer a config asks for, with the refs in force.
pub async fn deployer_for(
    config: &Config,
    base_ref: Option<String>,
    head_ref: Option<String>,
    site: &RunSite,
) -> (Box<dyn Deployer>, String, String) {
    let refs = |cfg_base: Option<String>, cfg_head: Option<String>| {
        (
            base_ref
                .clone()
                .or(cfg_base)
                .unwrap_or_else(|| "main".into()),
            head_ref
                .clone()
                .or(cfg_head)
                .unwrap_or_else(|| "HEAD".into()),
        )
    };
    let repo = site.repo.clone().unwrap_or_else(|| "local/repo".into());
    match &config.deploy {
        DeployConfig::Url { base, head, ready } => (
            Box::new(UrlDeployer::new(base.clone(), head.clone()).with_ready(ready.clone())),
            base.clone(),
            head.clone(),
        ),
        DeployConfig::Local(local) => {
            let (base_ref, head_ref) = refs(local.base_ref.clone(), local.head_ref.clone());
            (
                Box::new(
                    LocalDeployer::new(local.clone(), base_ref.clone(), head_ref.clone())
                        .with_traces(site.traces.clone()),
                ),
                base_ref,
                head_ref,
            )
        }
        DeployConfig::Command(command) => {
            let (base_ref, head_ref) = refs(None, None);
            let context = CommandContext {
                repo,
                pr: site.pr,
                base_ref: base_ref.clone(),
                head_ref: head_ref.clone(),
            };
            (
                Box::new(
                    CommandDeployer::new(command.clone(), config.base_dir.clone(), context)
                        .with_architecture(config.cost.architecture)
                        .with_traces(site.traces.clone()),
                ),
                base_ref,
                head_ref,
            )
        }
        DeployConfig::CloudFormation(stack) => {
            let (base_ref, head_ref) = refs(None, None);
            let clients = crate::aws::AwsClients::load(&crate::aws::ClientOptions {
                region: stack.region.clone(),
                ..Default::default()
            })
            .await;
            let context = StackContext {
                repo,
                pr: site.pr,
                base_sha: base_ref.clone(),
                head_sha: head_ref.clone(),
            };
            (
                Box::new(
                    CloudFormationDeployer::new(stack.clone(), context, clients)
                        .in_dir(config.base_dir.clone()),
                ),
                base_ref,
                head_ref,
            )
        }
    }
}
