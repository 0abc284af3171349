//! `cargo xtask publish-crate [--dry-run]`: the app on crates.io, once its
//! GitHub release is public (runs cargo). `--dry-run` packages and builds
//! it as crates.io would, which every run of the workflows does before a
//! tag is published; a version crates.io has already is reported and
//! skipped, so a re-run of the publish job finishes a release.

use anyhow::{Context, Result, bail};
use xshell::cmd;

use crate::project::Project;

pub(crate) struct Options {
    pub(crate) dry_run: bool,
}

/// The secret the release workflow passes, as cargo reads it.
pub(crate) const TOKEN: &str = "CARGO_REGISTRY_TOKEN";

pub(crate) fn run(project: &Project, options: Options) -> Result<()> {
    let app = project.app();
    if !project.config.publish_crate {
        bail!(
            "dist-workspace.toml does not publish the crate; set `publish-crate = true` in [dist] to publish {} to crates.io",
            app.name
        );
    }
    if !app.to_crates_io {
        bail!(
            "{} says `publish = false` (or lists registries without crates-io), but dist-workspace.toml has \
             `publish-crate = true`: remove one of them",
            app.manifest_path.display()
        );
    }
    let sh = &project.sh;
    let name = &app.name;
    let version = &app.version;
    if options.dry_run {
        cmd!(sh, "cargo publish --package {name} --locked --dry-run")
            .run()
            .with_context(|| {
                format!("`cargo publish --dry-run` of {name} failed: crates.io would refuse it")
            })?;
        eprintln!(
            "    {name} {version} packages and builds as crates.io would (dry run: nothing uploaded)"
        );
        return Ok(());
    }
    if std::env::var(TOKEN).unwrap_or_default().trim().is_empty() {
        bail!(
            "no {TOKEN}: add a crates.io API token (scopes publish-new and publish-update, crate {name}) as the repository \
             secret {TOKEN}, then re-run the publish job; the GitHub release is out already and stays as it is"
        );
    }
    let out = cmd!(sh, "cargo publish --package {name} --locked")
        .ignore_status()
        .output()
        .context("running `cargo publish`")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprint!("{stderr}");
    if out.status.success() {
        eprintln!(
            "    published {name} {version} on crates.io: `cargo install {name}`, `cargo binstall {name}`"
        );
        return Ok(());
    }
    // cargo looks the version up in the index before uploading.
    if already_published(&stderr) {
        eprintln!(
            "    {name} {version} is on crates.io already: skipped (a version there never changes)"
        );
        return Ok(());
    }
    bail!(
        "`cargo publish` of {name} {version} failed; fix what cargo says and re-run the publish job"
    )
}

/// cargo's words for a version the registry has (cargo 1.66 and later:
/// "crate NAME@VERSION already exists on crates.io index").
fn already_published(stderr: &str) -> bool {
    stderr
        .lines()
        .any(|l| l.contains("already exists on") && l.contains("index"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn recognises_cargo_s_already_published_error() {
        // cargo 1.95.0 publishing itoa 1.0.0 again.
        assert!(super::already_published(
            "    Updating crates.io index\nerror: crate itoa@1.0.0 already exists on crates.io index\n"
        ));
        assert!(!super::already_published(
            "error: failed to publish: 403 Forbidden\n"
        ));
    }
}
