//! `cargo xtask migrate`: a project that releases with cargo-dist switches.
//! Its configuration (`dist-workspace.toml`, or `[workspace.metadata.dist]`
//! in Cargo.toml) becomes ours — what maps is kept, every other key is
//! named with why — and the old file is left for git to show the change.

use anyhow::{Context, Result, bail};
use toml::de::{DeTable, DeValue};
use xshell::Shell;

use crate::archive::atomic;
use crate::cmd::choose_app;
use crate::model::config::{self, toml_field};
use crate::model::migrate;
use crate::project::workspace;

pub(crate) struct Options {
    /// The package to release, when the workspace has several with binaries.
    pub(crate) app: Option<String>,
    /// Print the result and the key-by-key account; write nothing.
    pub(crate) dry_run: bool,
}

pub(crate) fn run(options: Options) -> Result<()> {
    let sh = Shell::new()?;
    let ws = workspace::load(&sh)?;
    let ours = ws.root.join(config::FILE_NAME);
    let manifest = ws.root.join("Cargo.toml");
    let (source, text) = match std::fs::read_to_string(&ours) {
        Ok(text) => (ours.clone(), text),
        Err(_) => (
            manifest.clone(),
            std::fs::read_to_string(&manifest)
                .with_context(|| format!("reading {}", manifest.display()))?,
        ),
    };
    let doc = DeTable::parse(&text)
        .map_err(|e| anyhow::anyhow!("{}: invalid TOML: {}", source.display(), e.message()))?;
    let dist = if source == ours {
        if config::cargo_dist::sign(doc.get_ref()).is_none() {
            bail!(
                "{} is not cargo-dist's configuration (no [workspace], `cargo-dist-version`, `installers` or `ci`): \
                 nothing to migrate",
                ours.display()
            );
        }
        toml_field(doc.get_ref(), "dist")
    } else {
        toml_field(doc.get_ref(), "workspace")
            .and_then(|w| match w {
                DeValue::Table(t) => toml_field(t, "metadata"),
                _ => None,
            })
            .and_then(|m| match m {
                DeValue::Table(t) => toml_field(t, "dist"),
                _ => None,
            })
    };
    let empty = DeTable::default();
    let dist = match dist {
        Some(DeValue::Table(dist)) => dist,
        None if source == ours => &empty,
        _ => bail!(
            "no cargo-dist configuration here: neither {} nor [workspace.metadata.dist] in {}",
            ours.display(),
            manifest.display()
        ),
    };
    let app = choose_app(&ws, options.app.as_deref())?;
    let mut migration = migrate::from_cargo_dist(dist, &app);
    if source == ours && toml_field(doc.get_ref(), "workspace").is_some() {
        migration.dropped.insert(
            0,
            (
                "[workspace]".into(),
                "cargo-dist's list of packages to consider; the app is named by `app`".into(),
            ),
        );
    }
    // What we write, we can read: a mistake here is ours, not the user's.
    config::parse(&migration.text, &ours).map_err(|e| {
        anyhow::anyhow!("the migrated configuration does not parse ({e}); please report this")
    })?;

    eprintln!("==> cargo-dist's configuration in {}", source.display());
    for (key, what) in &migration.carried {
        eprintln!("    kept     {key}: {what}");
    }
    for (key, why) in &migration.dropped {
        eprintln!("    not kept {key}: {why}");
    }
    if options.dry_run {
        print!("{}", migration.text);
        eprintln!("    dry run: nothing written");
        return Ok(());
    }
    atomic::write(&ours, migration.text.as_bytes())?;
    eprintln!("    wrote {}", ours.display());
    if source == manifest {
        eprintln!(
            "    [workspace.metadata.dist] in Cargo.toml is no longer read; delete it when you have checked the above"
        );
    }
    eprintln!(
        "next: `cargo xtask codegen` (replaces cargo-dist's release.yml with the generated workflows), then `cargo xtask dist`"
    );
    Ok(())
}
