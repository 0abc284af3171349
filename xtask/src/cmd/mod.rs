//! The commands: each sequences the layers below and talks to the user.

pub(crate) mod adopt;
pub(crate) mod bench;
pub(crate) mod ci_scope;
pub(crate) mod codegen;
pub(crate) mod dist;
pub(crate) mod lipo;
pub(crate) mod merge;
pub(crate) mod migrate;
pub(crate) mod plan;
pub(crate) mod publish;
pub(crate) mod publish_crate;
pub(crate) mod publish_tap;
pub(crate) mod rename;
pub(crate) mod reproduce;
pub(crate) mod setup;
pub(crate) mod try_install;
pub(crate) mod verify;

use anyhow::Result;
use xtask_inspect::unpack::Limits;

use crate::check::{self, Finding};
use crate::generate::published::ReleaseFiles;
use crate::model::plan::{Plan, Stamp};
use crate::model::workspace::Workspace;
use crate::project::Project;

/// A mistake on the command line found after parsing: exit code 2, like clap's.
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The package to release: the one named, else the only one with a binary
/// outside xtask/ (`migrate`, `adopt`).
pub(crate) fn choose_app(ws: &Workspace, named: Option<&str>) -> Result<String> {
    if let Some(name) = named {
        return Ok(ws
            .app(name)
            .map_err(|e| UsageError(format!("--app: {e:#}")))?
            .name
            .clone());
    }
    let xtask_dir = ws.root.join("xtask");
    let apps: Vec<&str> = ws
        .packages
        .iter()
        .filter(|p| !p.bins.is_empty() && !p.manifest_path.starts_with(&xtask_dir))
        .map(|p| p.name.as_str())
        .collect();
    match apps.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => Err(UsageError("no package of this workspace has a binary to release".into()).into()),
        several => Err(UsageError(format!(
            "several packages have binaries ({}); this xtask releases one app: name it with `--app <package>`",
            several.join(", ")
        ))
        .into()),
    }
}

/// Appends `lines` to the file GitHub Actions reads a step's outputs from.
pub(crate) fn write_github_output(lines: &str) -> Result<()> {
    use anyhow::Context;
    use std::io::Write;
    let path = std::env::var_os("GITHUB_OUTPUT")
        .context("--github-output needs GITHUB_OUTPUT to be set (GitHub Actions sets it)")?;
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .and_then(|mut f| f.write_all(lines.as_bytes()))
        .with_context(|| {
            format!(
                "writing the step's outputs to GITHUB_OUTPUT ({})",
                std::path::Path::new(&path).display()
            )
        })
}

/// How `verify` and `dist` show what the checks find.
pub(crate) fn show_finding(finding: &Finding) {
    match finding {
        Finding::Heading(text) => eprintln!("==> {text}"),
        Finding::Note(text) => {
            for line in text.lines() {
                eprintln!("    {line}");
            }
        }
        // Further lines (a failing command's output) indented under the first.
        Finding::Problem(text) => {
            let mut lines = text.lines();
            eprintln!("    FAIL {}", lines.next().unwrap_or_default());
            for line in lines {
                eprintln!("         | {line}");
            }
        }
    }
}

/// What `project`'s configuration says its release directory must hold.
pub(crate) fn expected(
    project: &Project,
    limits: Limits,
    list_deps: bool,
) -> Result<check::release::Expected> {
    Ok(check::release::Expected {
        smoke: project.smoke()?,
        release_files: ReleaseFiles::for_config(&project.config, project.app())?,
        limits,
        list_deps,
    })
}

/// The release plan of `project` for the `selected` targets (all when
/// empty), built with `stamp`.
pub(crate) fn release_plan(project: &Project, selected: &[String], stamp: Stamp) -> Result<Plan> {
    project.plan(selected, stamp)
}
