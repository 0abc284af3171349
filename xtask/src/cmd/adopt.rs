//! `cargo xtask adopt DIR`, run from a template checkout: an existing
//! project (a root package, as fd's, or a workspace) gets the release
//! tooling — `xtask/`, `.ci/run`, the `cargo xtask` alias, a workspace
//! membership and the release profile in its Cargo.toml, and a first
//! dist-workspace.toml — and never loses a file of its own: its toolchain
//! pin, cargo config and workflows are kept, and what would have gone there
//! is said instead.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use toml::de::{DeTable, DeValue};
use xshell::{Shell, cmd};

use crate::archive::atomic;
use crate::cmd::{UsageError, choose_app};
use crate::generate::{self, adopt, binstall};
use crate::model::config::{self, toml_field};
use crate::project::{files, workspace};

pub(crate) struct Options {
    /// The project's root directory.
    pub(crate) dir: PathBuf,
    /// The package to release, when the project has several with binaries.
    pub(crate) app: Option<String>,
}

const ALIAS: &str = "run --locked --package xtask --quiet --";

pub(crate) fn run(options: Options) -> Result<()> {
    let sh = Shell::new()?;
    let template = workspace::load(&sh)?;
    let dir = options.dir.canonicalize().map_err(|e| {
        UsageError(format!(
            "{}: {e}; give the root of the project to adopt into",
            options.dir.display()
        ))
    })?;
    if dir == template.root {
        return Err(
            UsageError("that is this checkout; give the root of another project".into()).into(),
        );
    }
    let manifest_path = dir.join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path).map_err(|e| {
        UsageError(format!(
            "{}: {e}; adopt works on the root of a Rust project",
            manifest_path.display()
        ))
    })?;
    if dir.join("xtask").exists() {
        bail!(
            "{} already has xtask/; to update it, copy this checkout's xtask/ and .ci/ over it (README: \"Updating \
             a fork from the template\")",
            dir.display()
        );
    }
    let project = {
        let _in = sh.push_dir(&dir);
        workspace::load(&sh).with_context(|| format!("reading the project at {}", dir.display()))?
    };
    if project.root != dir {
        return Err(UsageError(format!(
            "{} is inside the workspace at {}: adopt at the workspace's root",
            dir.display(),
            project.root.display()
        ))
        .into());
    }
    let app = choose_app(&project, options.app.as_deref())?;
    let app_package = project.app(&app)?;

    // Everything is decided before anything is written.
    let template_manifest = std::fs::read_to_string(template.root.join("Cargo.toml"))
        .context("reading the template's Cargo.toml")?;
    let edit = adopt::manifest(&manifest, &template_manifest)
        .with_context(|| format!("adopting {}", manifest_path.display()))?;
    let mut copies: Vec<(PathBuf, PathBuf)> = files::project_files(&sh, &template.root)?
        .into_iter()
        .filter(|p| p.starts_with("xtask"))
        .map(|p| (template.root.join(&p), dir.join(&p)))
        .collect();
    let mut notes: Vec<String> = Vec::new();
    for own in [".ci/run", ".cargo/config.toml"] {
        if dir.join(own).exists() {
            notes.push(format!("kept your {own}"));
        } else {
            copies.push((template.root.join(own), dir.join(own)));
        }
    }
    if let Some(why) = alias_missing(&dir.join(".cargo/config.toml")) {
        notes.push(format!(
            "{why}: add `[alias] xtask = \"{ALIAS}\"` to .cargo/config.toml, or `cargo xtask` will not run"
        ));
    }
    match ["rust-toolchain.toml", "rust-toolchain"].iter().find(|f| dir.join(f).exists()) {
        Some(pin) => notes.push(format!(
            "kept your {pin}: releases are built with the toolchain it names"
        )),
        None => notes.push(
            "no toolchain pin written: a rust-toolchain.toml changes every contributor's toolchain. Copy the \
             template's to pin one; a release tag then names its compiler and `cargo xtask reproduce` can \
             rebuild it bit for bit"
                .into(),
        ),
    }
    let config_path = dir.join(config::FILE_NAME);
    let new_config = match std::fs::read_to_string(&config_path) {
        Err(_) => {
            let maintainer = maintainer(&sh, &dir, &app_package.about.authors);
            match &maintainer {
                adopt::Maintainer::Authors => {}
                adopt::Maintainer::Git(who) => notes.push(format!(
                    "the .deb and .rpm name {who} (git's user) as maintainer: Cargo.toml has no `authors`; change `maintainer` in {} if that is not right",
                    config::FILE_NAME
                )),
                adopt::Maintainer::Unknown => notes.push(format!(
                    "no .deb or .rpm yet (`packages = []`): Cargo.toml has no `authors` and git no user; set `maintainer` in {}",
                    config::FILE_NAME
                )),
            }
            Some(adopt::config(&app, &maintainer))
        }
        Ok(text) => {
            let cargo_dist = DeTable::parse(&text)
                .ok()
                .is_some_and(|doc| config::cargo_dist::sign(doc.get_ref()).is_some());
            notes.push(if cargo_dist {
                format!(
                    "{} is cargo-dist's: run `cargo xtask migrate` there next",
                    config::FILE_NAME
                )
            } else {
                format!("kept your {}", config::FILE_NAME)
            });
            None
        }
    };
    for workflow in ["release.yml", "build.yml", "ci.yml"] {
        let path = dir.join(".github/workflows").join(workflow);
        if let Ok(text) = std::fs::read_to_string(&path)
            && !generate::replaceable(&text)
        {
            notes.push(format!(
                ".github/workflows/{workflow} is yours: `cargo xtask codegen` will stop rather than replace it; \
                 move it aside (e.g. to tests.yml) before running codegen"
            ));
        }
    }
    // A root package's manifest as adoption leaves it; a member's as it is.
    let app_manifest = if app_package.manifest_path == manifest_path {
        edit.text.clone()
    } else {
        std::fs::read_to_string(&app_package.manifest_path).unwrap_or_default()
    };
    if let Some(line) = binstall::own_table_line(&app_manifest) {
        notes.push(format!(
            "{}:{line} has its own [package.metadata.binstall]: `cargo xtask codegen` stops on it until you \
             delete it or set `binstall-metadata = \"replace-own\"` in dist-workspace.toml",
            app_package.manifest_path.strip_prefix(&dir).unwrap_or(&app_package.manifest_path).display()
        ));
    }

    eprintln!(
        "==> adopting the release tooling into {} (app: {app})",
        dir.display()
    );
    for (from, to) in &copies {
        let parent = to.parent().expect("copied paths have a directory");
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
        std::fs::copy(from, to)
            .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    }
    let copied = |prefix: &str| {
        copies
            .iter()
            .filter(|(_, to)| to.starts_with(dir.join(prefix)))
            .count()
    };
    eprintln!("    wrote xtask/ ({} files)", copied("xtask"));
    for own in [".ci/run", ".cargo/config.toml"] {
        if copied(own) > 0 {
            eprintln!("    wrote {own}");
        }
    }
    atomic::write(&manifest_path, edit.text.as_bytes())?;
    for done in &edit.done {
        eprintln!("    Cargo.toml: {done}");
    }
    if let Some(text) = new_config {
        atomic::write(&config_path, text.as_bytes())?;
        eprintln!("    wrote {} (app = \"{app}\")", config::FILE_NAME);
    }
    // `cargo xtask` runs with --locked: the lock file needs the xtask's crates.
    {
        let _in = sh.push_dir(&dir);
        cmd!(sh, "cargo metadata --format-version 1")
            .quiet()
            .ignore_stdout()
            .run()
            .with_context(|| {
                format!(
                    "adding the xtask's crates to {}",
                    dir.join("Cargo.lock").display()
                )
            })?;
    }
    eprintln!("    Cargo.lock: the xtask's crates added");
    for note in &notes {
        eprintln!("    note: {note}");
    }
    eprintln!(
        "next, in {}: `cargo xtask codegen` (the workflows and binstall metadata), `cargo xtask dist`, then commit",
        dir.display()
    );
    Ok(())
}

/// Why `cargo xtask` would not run with this cargo config, if it would not.
fn alias_missing(config: &Path) -> Option<String> {
    let text = std::fs::read_to_string(config).ok()?;
    let doc = DeTable::parse(&text).ok()?;
    let has = matches!(toml_field(doc.get_ref(), "alias"), Some(DeValue::Table(a)) if toml_field(a, "xtask").is_some());
    (!has).then(|| "your .cargo/config.toml has no `xtask` alias".to_owned())
}

/// Who the packages will name: the app's authors if one is `Name <email>`,
/// else git's user in the project's repository.
fn maintainer(sh: &xshell::Shell, dir: &Path, authors: &[String]) -> adopt::Maintainer {
    if authors
        .first()
        .is_some_and(|a| config::check_maintainer(a).is_ok())
    {
        return adopt::Maintainer::Authors;
    }
    let _dir = sh.push_dir(dir);
    let get = |key: &str| {
        xshell::cmd!(sh, "git config --get {key}")
            .quiet()
            .ignore_stderr()
            .read()
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    match (get("user.name"), get("user.email")) {
        (Some(name), Some(email)) => {
            let who = format!("{name} <{email}>");
            if config::check_maintainer(&who).is_ok() {
                adopt::Maintainer::Git(who)
            } else {
                adopt::Maintainer::Unknown
            }
        }
        _ => adopt::Maintainer::Unknown,
    }
}
