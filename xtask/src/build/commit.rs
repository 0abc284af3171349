//! Build scripts that ask git for the commit without telling cargo
//! (ripgrep's runs `git rev-parse HEAD` and declares no `rerun-if`): cargo
//! reruns them only when a file of their package changes, so after a commit
//! that touched other files a release would carry the old commit's answer —
//! `cargo xtask reproduce` found ripgrep's `rg --version` and man page
//! naming the previous commit. So when the commit differs from the one the
//! target was last built at, the workspace's own packages are cleaned for
//! that target (their dependencies stay built) before building (runs cargo).
//! The same holds for the dependency data linked into every binary
//! (`build::audit`): cargo does not see that object change, so its digest is
//! recorded with the commit.

use std::fs;
use std::path::PathBuf;

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

use crate::build::cargo;
use crate::model::workspace::Workspace;

/// Where what `triple` was last built from (commit, dependency data) is kept.
fn record(ws: &Workspace, triple: &str) -> PathBuf {
    cargo::build_dir(ws).join(format!("commit-{triple}"))
}

/// Cleans the workspace's packages of `profile` for `triple` unless they
/// were last built from `built_from` (the commit and the data's digest). A clean that failed is returned, not
/// raised: the build that follows explains a stale Cargo.lock in one line
/// (`--locked` keeps the clean from rewriting it), and the caller fails
/// after it otherwise.
pub(crate) fn forget_other_commits(
    sh: &Shell,
    ws: &Workspace,
    profile: &str,
    triple: &str,
    built_from: &str,
) -> Option<String> {
    if fs::read_to_string(record(ws, triple)).is_ok_and(|last| last == built_from) {
        return None;
    }
    let packages: Vec<String> = ws
        .packages
        .iter()
        .flat_map(|p| ["--package".to_owned(), p.name.clone()])
        .collect();
    let build_dir_config = cargo::build_dir_config(ws);
    let target_dir = &ws.target_dir;
    let _dir = sh.push_dir(&ws.root);
    let out = cmd!(
        sh,
        "cargo clean --locked --quiet --profile {profile} --target {triple} {packages...} --target-dir {target_dir} --config {build_dir_config}"
    )
    .quiet()
    .ignore_status()
    .output();
    match out {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .find(|l| l.starts_with("error"))
                .unwrap_or("cargo clean failed")
                .to_owned(),
        ),
        Err(e) => Some(e.to_string()),
    }
}

/// The error when the clean before a build failed but the build did not.
pub(crate) fn unclean(triple: &str, why: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "cleaning the workspace's packages for {triple} before building a new commit failed ({why}); \
         without it a build script could embed the previous commit. Run `cargo clean` and try again"
    )
}

/// Notes that `triple` was built from `built_from`.
pub(crate) fn remember(ws: &Workspace, triple: &str, built_from: &str) -> Result<()> {
    let record = record(ws, triple);
    fs::create_dir_all(cargo::build_dir(ws))
        .and_then(|()| fs::write(&record, built_from))
        .with_context(|| format!("writing {}", record.display()))
}
