//! Files generated from the configuration: workflows, installer, binstall metadata.

pub(crate) mod binstall;
pub(crate) mod diff;
pub(crate) mod installer;
pub(crate) mod pins;
pub(crate) mod rewrite;
pub(crate) mod template;
pub(crate) mod workflow;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::model::config::DistConfig;
use crate::model::workspace::{Package, Workspace};

/// A generated file: its path relative to the workspace root and its text.
pub(crate) struct Generated {
    pub(crate) path: PathBuf,
    pub(crate) text: String,
}

/// Every generated file, with pins and hand-written Cargo.toml parts carried
/// over from what is on disk now.
/// `repository` is where releases are published (`github::repository`).
pub(crate) fn files(
    ws: &Workspace,
    config: &DistConfig,
    app: &Package,
    repository: Option<&str>,
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
    let block = binstall::block(config, &app.name, repository);
    let text = binstall::splice(&current, &block, config.binstall_metadata)
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
