//! What dates and names a build: SOURCE_DATE_EPOCH and the commit, from the
//! environment or git (runs git).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

/// The latest date every tar reads: the 11 octal digits of a tar header's
/// mtime (year 2242). Beyond it GNU tar refuses the archive.
const LAST_DATE: u64 = 0o77_777_777_777;

/// SOURCE_DATE_EPOCH from the environment, else the last commit's time.
pub(crate) fn source_date_epoch(sh: &Shell, root: &Path) -> Result<u64> {
    if let Ok(value) = std::env::var("SOURCE_DATE_EPOCH") {
        let usage = |why: &str| crate::model::config::ConfigError {
            file: PathBuf::from("SOURCE_DATE_EPOCH"),
            line: None,
            message: format!(
                "`{value}` {why}; give seconds since 1970 from 0 to {LAST_DATE} (the year 2242)"
            ),
        };
        let seconds: u64 = value
            .trim()
            .parse()
            .map_err(|_| usage("is not a whole number of seconds"))?;
        if seconds > LAST_DATE {
            return Err(usage("is later than any tar can date a file").into());
        }
        return Ok(seconds);
    }
    let _dir = sh.push_dir(root);
    let out = cmd!(sh, "git log -1 --format=%ct")
        .quiet()
        .ignore_stderr()
        .ignore_status()
        .output();
    match out {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            text.trim()
                .parse()
                .with_context(|| format!("`git log -1 --format=%ct` printed `{}`", text.trim()))
        }
        _ => {
            // Not a git checkout (e.g. a source tarball): a fixed date keeps builds reproducible.
            eprintln!("    note: no SOURCE_DATE_EPOCH and no git history; dating files 1980-01-01");
            Ok(315_532_800)
        }
    }
}

/// The commit being released: GIT_COMMIT from the environment (a source
/// tarball's builder knows it), else git's HEAD, else `unknown`.
pub(crate) fn commit(sh: &Shell, root: &Path) -> String {
    if let Ok(commit) = std::env::var("GIT_COMMIT")
        && !commit.trim().is_empty()
    {
        return commit.trim().to_owned();
    }
    let _dir = sh.push_dir(root);
    match cmd!(sh, "git rev-parse HEAD")
        .quiet()
        .ignore_stderr()
        .read()
    {
        Ok(commit) if !commit.trim().is_empty() => commit.trim().to_owned(),
        _ => "unknown".to_owned(),
    }
}

/// The checkout as git sees it: the commit checked out and the tracked
/// files changed since (untracked files are not built unless the build
/// names them, and then they are in the sums' differences anyway).
pub(crate) struct Checkout {
    pub(crate) head: String,
    pub(crate) changed: Vec<String>,
}

/// Asks git what `root` holds; an error outside a git checkout.
pub(crate) fn checkout(sh: &Shell, root: &Path) -> Result<Checkout> {
    let _dir = sh.push_dir(root);
    let head = cmd!(sh, "git rev-parse HEAD")
        .quiet()
        .ignore_stderr()
        .read()
        .with_context(|| format!("{} is not a git checkout", root.display()))?;
    let status = cmd!(sh, "git status --porcelain --untracked-files=no")
        .quiet()
        .read()
        .context("asking git which files changed")?;
    Ok(Checkout {
        head: head.trim().to_owned(),
        changed: status
            .lines()
            .map(|l| l.get(3..).unwrap_or(l).to_owned())
            .collect(),
    })
}
