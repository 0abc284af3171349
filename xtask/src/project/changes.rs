//! What a change touches, as git tells it: the paths changed since a base
//! commit, and Cargo.lock on both sides (runs git).

use std::path::Path;

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::model::scope::Diff;

/// The change from `base` to the checked-out commit. `Ok(Err(why))` when
/// there is nothing to compare with: no base (a manual run), a new branch's
/// all-zero `before`, or a base this clone does not hold (history rewritten
/// by a force push, or a checkout too shallow).
pub(crate) fn since(sh: &Shell, root: &Path, base: &str) -> Result<Result<Diff, String>> {
    let _dir = sh.push_dir(root);
    let base = base.trim();
    if base.is_empty() {
        return Ok(Err("no base commit was given".to_owned()));
    }
    if base.bytes().all(|b| b == b'0') {
        return Ok(Err(
            "a new branch: there is no earlier commit to compare with".to_owned(),
        ));
    }
    if base.starts_with('-') {
        bail!("--base `{base}` is not a commit; give a commit id or a branch name");
    }
    let commit = format!("{base}^{{commit}}");
    let known = cmd!(sh, "git rev-parse --quiet --verify {commit}")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_ok();
    if !known {
        return Ok(Err(format!(
            "the base commit {base} is not in this clone (rewritten history, or a shallow checkout: \
             check out with `fetch-depth: 0`)"
        )));
    }
    let out = cmd!(sh, "git diff --name-only --no-renames -z {base} HEAD")
        .quiet()
        .output()
        .with_context(|| format!("listing the files changed since {base} (git diff)"))?;
    let paths = String::from_utf8_lossy(&out.stdout)
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    let lock_at = |rev: &str| {
        let spec = format!("{rev}:Cargo.lock");
        cmd!(sh, "git show {spec}")
            .quiet()
            .ignore_stderr()
            .read()
            .ok()
    };
    Ok(Ok(Diff {
        paths,
        old_lock: lock_at(base),
        new_lock: lock_at("HEAD"),
    }))
}
