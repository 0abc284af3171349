//! `cargo xtask ci-scope`: whether CI runs the xtask's own suite for this
//! change (`model::scope` decides), for ci.yml's `changes` job.

use anyhow::Result;

use crate::model::scope;
use crate::project::Project;

pub(crate) struct Options {
    /// The commit to compare with: a pull request's base, a push's `before`.
    pub(crate) base: String,
    /// Write `xtask=true|false` to `$GITHUB_OUTPUT`.
    pub(crate) github_output: bool,
}

/// `cargo xtask ci-scope`.
pub(crate) fn run(project: &Project, options: Options) -> Result<()> {
    let ws = &project.ws;
    let diff = crate::project::changes::since(&project.sh, &ws.root, &options.base)?;
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
