//! `cargo xtask ci-scope`: whether CI runs the xtask's own suite for this
//! change (`model::scope` decides), for ci.yml's `changes` job.

use anyhow::{Context, Result};

use crate::model::{github, scope};
use crate::project::Project;

pub(crate) struct Options {
    /// The commit to compare with; without it, under `--github-output`,
    /// the one GitHub's event names (`github::change_base`).
    pub(crate) base: Option<String>,
    /// Write `xtask=true|false` to `$GITHUB_OUTPUT`.
    pub(crate) github_output: bool,
}

/// `cargo xtask ci-scope`.
pub(crate) fn run(project: &Project, options: Options) -> Result<()> {
    let ws = &project.ws;
    let base = match options.base {
        Some(base) => base,
        None if options.github_output => event_base()?.unwrap_or_default(),
        None => String::new(),
    };
    let diff = crate::project::changes::since(&project.sh, &ws.root, &base)?;
    let xtask_dir = ws.root.join("xtask");
    let xtask_packages: Vec<&str> = ws
        .packages
        .iter()
        .filter(|p| p.manifest_path.starts_with(&xtask_dir))
        .map(|p| p.name.as_str())
        .collect();
    let scope = scope::decide(
        project.config.xtask_tests,
        diff.as_ref().map_err(String::as_str),
        &xtask_packages,
    );
    if scope.xtask {
        eprintln!("the xtask's suite runs: {}", scope.why);
    } else {
        eprintln!(
            "the xtask's suite is not needed: {}; fmt, clippy, the app's tests and `codegen --check` run",
            scope.why
        );
    }
    if options.github_output {
        crate::cmd::write_github_output(&format!("xtask={}\n", scope.xtask))?;
    }
    println!("xtask={}", scope.xtask);
    Ok(())
}

/// The base commit of the running GitHub Actions event, from the payload
/// GitHub writes to `GITHUB_EVENT_PATH`.
fn event_base() -> Result<Option<String>> {
    let Some(path) = std::env::var_os("GITHUB_EVENT_PATH") else {
        return Ok(None);
    };
    let name = std::env::var("GITHUB_EVENT_NAME").unwrap_or_default();
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading GitHub's event payload ({})", path.display()))?;
    let event: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("GitHub's event payload ({}) is not JSON", path.display()))?;
    Ok(github::change_base(&name, &event))
}
