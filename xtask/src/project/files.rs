//! The project's own files, for `rename`: listed as git sees them, checked
//! for uncommitted work, and directories moved (runs git).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

/// Refuses uncommitted changes: the rename should be one reviewable commit.
pub(crate) fn check_clean(sh: &Shell, root: &Path) -> Result<()> {
    let _dir = sh.push_dir(root);
    let status = cmd!(sh, "git status --porcelain")
        .quiet()
        .ignore_stderr()
        .output();
    match status {
        Ok(out) if out.status.success() => {
            let dirty = String::from_utf8_lossy(&out.stdout).lines().count();
            if dirty > 0 {
                bail!(
                    "the git tree at {} has {dirty} uncommitted change(s); commit or stash them first so the rename \
                     is one reviewable change, or pass --force",
                    root.display()
                );
            }
            Ok(())
        }
        _ => bail!(
            "{} is not a git checkout, so uncommitted work cannot be told apart from the rename; \
             run `git init` and commit first, or pass --force",
            root.display()
        ),
    }
}

/// The files of the project, relative to `root`: what git tracks or would
/// track, else everything outside `target/` and `.git/`.
pub(crate) fn project_files(sh: &Shell, root: &Path) -> Result<Vec<PathBuf>> {
    let _dir = sh.push_dir(root);
    let listed = cmd!(sh, "git ls-files -z --cached --others --exclude-standard")
        .quiet()
        .ignore_stderr()
        .output();
    if let Ok(out) = listed
        && out.status.success()
    {
        let mut files: Vec<PathBuf> = String::from_utf8_lossy(&out.stdout)
            .split('\0')
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .filter(|p| root.join(p).is_file())
            .collect();
        files.sort();
        files.dedup();
        return Ok(files);
    }
    let mut files = Vec::new();
    walk(root, Path::new(""), &mut files)?;
    files.sort();
    Ok(files)
}

fn walk(root: &Path, dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(root.join(dir))
        .with_context(|| format!("listing {}", root.join(dir).display()))?
    {
        let entry = entry?;
        let name = entry.file_name();
        let path = dir.join(&name);
        if dir.as_os_str().is_empty() && (name == "target" || name == ".git") {
            continue;
        }
        if entry.file_type()?.is_dir() {
            walk(root, &path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

/// Moves every directory named `old` among the files' parents to `new`.
pub(crate) fn rename_dirs(
    root: &Path,
    files: &[PathBuf],
    old: &str,
    new: &str,
) -> Result<Vec<(PathBuf, PathBuf)>> {
    let mut dirs: Vec<PathBuf> = files
        .iter()
        .flat_map(|f| {
            f.ancestors()
                .skip(1)
                .map(Path::to_path_buf)
                .collect::<Vec<_>>()
        })
        .filter(|d| d.file_name().is_some_and(|n| n == old))
        .collect();
    dirs.sort();
    dirs.dedup();
    // Deepest first, so a parent's move does not invalidate a child's path.
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    let mut moved = Vec::new();
    for dir in dirs {
        let to = dir.with_file_name(new);
        if root.join(&to).exists() {
            bail!(
                "cannot move {} to {}: it exists",
                dir.display(),
                to.display()
            );
        }
        fs::rename(root.join(&dir), root.join(&to))
            .with_context(|| format!("moving {} to {}", dir.display(), to.display()))?;
        moved.push((dir, to));
    }
    Ok(moved)
}
