//! `cargo xtask codegen` (alias `workflow`): writes every checked-in file
//! generated from `dist-workspace.toml` — the GitHub workflows and the
//! cargo-binstall metadata in the app's Cargo.toml — or, with `--check`,
//! fails with a diff when one differs (rust-analyzer's codegen check).

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::archive::atomic;
use crate::generate::{self, Generated};
use crate::project::Project;

pub(crate) struct Options {
    pub(crate) check: bool,
}

pub(crate) fn run(project: &Project, options: Options) -> Result<()> {
    let files = generated(project)?;
    let root = &project.ws.root;
    if options.check {
        check(root, &files)
    } else {
        write(root, &files)
    }
}

/// Every file generated from `project`'s configuration.
pub(crate) fn generated(project: &Project) -> Result<Vec<Generated>> {
    let repository = project.repository()?;
    generate::files(
        &project.ws,
        &project.config,
        project.app(),
        repository.as_deref(),
    )
}

fn write(root: &Path, files: &[Generated]) -> Result<()> {
    for file in files {
        let full = root.join(&file.path);
        if std::fs::read_to_string(&full).is_ok_and(|current| current == file.text) {
            eprintln!("    unchanged {}", file.path.display());
            continue;
        }
        let dir = full.parent().expect("generated paths have a directory");
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        atomic::write(&full, file.text.as_bytes())?;
        eprintln!("    wrote {}", file.path.display());
    }
    Ok(())
}

/// Prints a diff of every stale file; fails if there is one.
fn check(root: &Path, files: &[Generated]) -> Result<()> {
    let stale = generate::stale(root, files);
    for (_, diff) in &stale {
        eprint!("{diff}");
    }
    if !stale.is_empty() {
        let names: Vec<String> = stale.iter().map(|(p, _)| p.display().to_string()).collect();
        let verb = if names.len() == 1 { "is" } else { "are" };
        bail!(
            "{} {verb} out of date with dist-workspace.toml (diff above); run `cargo xtask codegen` and commit \
             the result. Edit dist-workspace.toml, not the generated text: only bumped action pins are kept",
            names.join(" and ")
        );
    }
    let names: Vec<String> = files.iter().map(|f| f.path.display().to_string()).collect();
    eprintln!("    up to date: {}", names.join(", "));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The codegen check: what is checked in is what the xtask writes.
    #[test]
    fn checked_in_generated_files_are_up_to_date() {
        let project = Project::load().unwrap();
        let files = generated(&project).unwrap();
        assert_eq!(files.len(), 5);
        if let Some((path, diff)) = generate::stale(&project.ws.root, &files).first() {
            panic!(
                "{} is stale; run `cargo xtask codegen`:\n{diff}",
                path.display()
            );
        }
    }
}
