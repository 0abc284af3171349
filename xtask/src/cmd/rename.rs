//! `cargo xtask rename <new-name>`: turns the template into your own CLI.
//! Renames the app's crate directory, package and binary, rewrites every
//! mention of the old name in the tracked files, sets repository,
//! description and author, and regenerates the generated files through
//! `codegen`. Refuses a dirty git tree (unless `--force`), so the result is
//! one reviewable change.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use xshell::cmd;

use crate::archive::atomic;
use crate::cmd::UsageError;
use crate::generate;
use crate::generate::rewrite::{
    Names, check_name, package_metadata, replace_sample_blocks, rewrite, set_key,
};
use crate::model::config;
use crate::model::config::XtaskTests;
use crate::model::config::toml_string;
use crate::project::Project;
use crate::project::files::{check_clean, project_files, rename_dirs};

/// The xtask's own directory, which renaming leaves alone.
const XTASK_DIR: &str = "xtask";

pub(crate) struct Options {
    pub(crate) name: String,
    pub(crate) force: bool,
    pub(crate) repository: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) author: Option<String>,
}

pub(crate) fn run(project: &Project, options: Options) -> Result<()> {
    check_name(&options.name).map_err(|why| {
        usage_error(format!(
            "`{}` cannot be a package name: {why}",
            options.name
        ))
    })?;
    let repository = match &options.repository {
        Some(url) => Some(
            config::check_repository(url)
                .map_err(|why| usage_error(format!("--repository: {why}")))?,
        ),
        None => None,
    };
    let Project { sh, ws, .. } = project;
    let app = project.app();
    let old = Names::of(&app.name);
    let new = Names::of(&options.name);
    let renaming = old != new;
    if !renaming
        && repository.is_none()
        && options.description.is_none()
        && options.author.is_none()
    {
        eprintln!("    the app is already called {}: nothing to do", new.kebab);
        return Ok(());
    }
    if !options.force {
        check_clean(sh, &ws.root)?;
    }

    // The xtask is the template's, not the app's: a fork takes its updates
    // by copying `xtask/` over, so renaming must never touch it.
    let files: Vec<PathBuf> = project_files(sh, &ws.root)?
        .into_iter()
        .filter(|p| !p.starts_with(XTASK_DIR))
        .collect();
    // A renamed app is no longer the sample: its description must not say it is.
    let description = options
        .description
        .clone()
        .or_else(|| renaming.then(|| format!("The {} command-line tool", new.kebab)));
    let old_repository = project.repository()?;
    let manifest = app
        .manifest_path
        .strip_prefix(&ws.root)
        .unwrap_or(&app.manifest_path)
        .to_owned();
    let mut changes: Vec<(PathBuf, String)> = Vec::new();
    for path in &files {
        let Ok(text) = fs::read_to_string(ws.root.join(path)) else {
            continue;
        }; // binary files
        let mut updated = text.clone();
        if renaming && path.extension().is_some_and(|e| e == "md") {
            let description = description.as_deref().unwrap_or_default();
            updated = replace_sample_blocks(&updated, &new.kebab, description)
                .with_context(|| format!("in {}", path.display()))?;
        }
        if let (Some(from), Some(to)) = (&old_repository, &repository) {
            updated = updated.replace(from.as_str(), to);
        }
        if renaming {
            let rust = path.extension().is_some_and(|e| e == "rs");
            updated = rewrite(&updated, rust, &old, &new);
        }
        if *path == manifest {
            updated = package_metadata(
                &updated,
                repository.as_deref(),
                description.as_deref(),
                options.author.as_deref(),
            )?;
        }
        if path.as_path() == Path::new(config::FILE_NAME) {
            if let Some(url) = &repository {
                updated = set_key(&updated, "[dist]", "repository", &toml_string(url), "app")?;
            }
            // The packages name the fork's author, not the template's maintainer.
            if let (Some(author), Some(_)) = (&options.author, &project.config.maintainer) {
                if config::check_maintainer(author).is_ok() {
                    updated = set_key(
                        &updated,
                        "[dist]",
                        "maintainer",
                        &toml_string(author),
                        "app",
                    )?;
                } else {
                    eprintln!(
                        "    note: `{author}` is not `Name <email>`; set `maintainer` in {} for the .deb and .rpm",
                        config::FILE_NAME
                    );
                }
            }
            // The template tests its xtask on every change; a fork's CI
            // spends its minutes on the fork's app (`model::scope`).
            if project.config.xtask_tests == XtaskTests::Always {
                updated = set_key(
                    &updated,
                    "[dist]",
                    "xtask-tests",
                    &toml_string("when-changed"),
                    "app",
                )?;
            }
        }
        if updated != text {
            changes.push((path.clone(), updated));
        }
    }
    for (path, text) in &changes {
        atomic::write(&ws.root.join(path), text.as_bytes())?;
    }
    let moved = if renaming {
        rename_dirs(&ws.root, &files, &old.kebab, &new.kebab)?
    } else {
        Vec::new()
    };

    // Regenerate through the same code as `cargo xtask codegen`, from the renamed tree.
    let renamed = Project::load().context("reading the renamed workspace")?;
    let ws = &renamed.ws;
    let repository = renamed.repository()?;
    let generated = generate::files(ws, &renamed.config, renamed.app(), repository.as_deref())?;
    for file in &generated {
        atomic::write(&ws.root.join(&file.path), file.text.as_bytes())?;
    }

    // Names of another length move line breaks; leave the tree as `cargo fmt
    // --check` wants it, the xtask aside.
    let _dir = sh.push_dir(&ws.root);
    let packages: Vec<String> = ws
        .packages
        .iter()
        .filter(|p| !p.manifest_path.starts_with(ws.root.join(XTASK_DIR)))
        .flat_map(|p| ["-p".to_owned(), p.name.clone()])
        .collect();
    if cmd!(sh, "cargo fmt {packages...}").quiet().run().is_err() {
        eprintln!("    note: `cargo fmt` did not run; run it before committing");
    }

    for (from, to) in &moved {
        eprintln!("    moved {} -> {}", from.display(), to.display());
    }
    eprintln!(
        "    rewrote {} files; regenerated {} files",
        changes.len(),
        generated.len()
    );
    eprintln!(
        "==> now: review `git status`, run `cargo test --workspace` and `cargo xtask dist`, then commit"
    );
    Ok(())
}

fn usage_error(message: String) -> UsageError {
    UsageError(message)
}
