//! `cargo xtask codegen` (alias `workflow`): writes every checked-in file
//! generated from `dist-workspace.toml` — the GitHub workflows and the
//! cargo-binstall metadata in the app's Cargo.toml — or, with `--check`,
//! fails with a diff when one differs (rust-analyzer's codegen check).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::Shell;

use crate::config::DistConfig;
use crate::workspace::{Package, Workspace};
use crate::{atomic, binstall, diff, plan, workflow};

pub(crate) struct Options {
    pub(crate) check: bool,
}

/// A generated file: its path relative to the workspace root and its text.
pub(crate) struct Generated {
    pub(crate) path: PathBuf,
    pub(crate) text: String,
}

pub(crate) fn run(options: Options) -> Result<()> {
    let sh = Shell::new()?;
    let (ws, config) = plan::load(&sh)?;
    let app = ws.app(&config.app)?;
    let files = generate(&ws, &config, app)?;
    if options.check {
        check(&ws.root, &files)
    } else {
        write(&ws.root, &files)
    }
}

/// Every generated file, with pins and hand-written Cargo.toml parts carried
/// over from what is on disk now.
pub(crate) fn generate(
    ws: &Workspace,
    config: &DistConfig,
    app: &Package,
) -> Result<Vec<Generated>> {
    let read = |path: &Path| std::fs::read_to_string(ws.root.join(path)).ok();
    let mut files: Vec<Generated> = workflow::generate(config, |p| read(Path::new(p)))
        .into_iter()
        .map(|(path, text)| Generated {
            path: path.into(),
            text,
        })
        .collect();

    let manifest = app
        .manifest_path
        .strip_prefix(&ws.root)
        .unwrap_or(&app.manifest_path)
        .to_owned();
    let current =
        read(&manifest).with_context(|| format!("reading {}", app.manifest_path.display()))?;
    let repository = plan::repository(config, app)?;
    let block = binstall::block(config, &app.name, repository.as_deref());
    let text = binstall::splice(&current, &block)
        .with_context(|| format!("in {}", app.manifest_path.display()))?;
    files.push(Generated {
        path: manifest,
        text,
    });
    files.push(Generated {
        path: GITATTRIBUTES.into(),
        text: include_str!("templates/gitattributes").to_owned(),
    });
    Ok(files)
}

/// Keeps shipped text files byte-identical on every runner.
pub(crate) const GITATTRIBUTES: &str = ".gitattributes";

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
    let stale = stale(root, files);
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

/// The stale files, each with `diff -u checked-in generated`.
pub(crate) fn stale<'f>(root: &Path, files: &'f [Generated]) -> Vec<(&'f Path, String)> {
    files
        .iter()
        .filter_map(|file| {
            let current = std::fs::read_to_string(root.join(&file.path)).unwrap_or_default();
            let name = file.path.display();
            let diff = diff::unified(
                &format!("{name} (checked in)"),
                &current,
                &format!("{name} (generated)"),
                &file.text,
            );
            (!diff.is_empty()).then_some((file.path.as_path(), diff))
        })
        .collect()
}

/// Fills `@name@` placeholders; panics on a placeholder left unfilled, which
/// the tests would catch.
pub(crate) fn fill(template: &str, values: &[(&str, String)]) -> String {
    let mut text = template.to_owned();
    for (name, value) in values {
        text = text.replace(&format!("@{name}@"), value);
    }
    assert!(
        unfilled(&text).is_none(),
        "unfilled placeholder {:?} in:\n{text}",
        unfilled(&text)
    );
    text
}

/// The first `@name@` left in `text`; action references (`owner/repo@sha`)
/// never match, as a SHA is not followed by `@`.
fn unfilled(text: &str) -> Option<&str> {
    text.match_indices('@').find_map(|(at, _)| {
        let rest = &text[at + 1..];
        let end = rest.find(|c: char| !(c.is_ascii_lowercase() || c == '-'))?;
        (end > 0 && rest[end..].starts_with('@')).then(|| &rest[..end])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The codegen check: what is checked in is what the xtask writes.
    #[test]
    fn checked_in_generated_files_are_up_to_date() {
        let ws = crate::workspace::load(&Shell::new().unwrap()).unwrap();
        let config = crate::config::load(&ws.root).unwrap();
        let app = ws.app(&config.app).unwrap();
        let files = generate(&ws, &config, app).unwrap();
        assert_eq!(files.len(), 4);
        if let Some((path, diff)) = stale(&ws.root, &files).first() {
            panic!(
                "{} is stale; run `cargo xtask codegen`:\n{diff}",
                path.display()
            );
        }
    }
}
