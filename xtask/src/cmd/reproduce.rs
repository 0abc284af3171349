//! `cargo xtask reproduce [RELEASE]`: rebuild a published release from
//! this checkout and compare it, archive by archive, with what was
//! published. RELEASE is a directory or base URL holding the release's
//! `SHA256SUMS` and `dist-manifest.json`; by default the GitHub release of
//! the app's version. The checkout must be the manifest's commit, unchanged:
//! this command checks out nothing itself.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use xtask_inspect::target::Os;

use crate::archive::index::{ReleaseIndex, Source};
use crate::archive::manifest::Manifest;
use crate::archive::rebuilt::{self, Statement};
use crate::archive::{atomic, release};
use crate::build::{artifact, toolchain};
use crate::check::Findings;
use crate::check::rebuild::{self, Rebuilt};
use crate::cmd::{UsageError, release_plan, show_finding};
use crate::generate::published::ReleaseFiles;
use crate::model::plan::{self, Stamp};
use crate::project::{Project, stamp};
use crate::run::exec::on_path;

pub(crate) struct Options {
    /// A directory or an http(s) base URL; the GitHub release when absent.
    pub(crate) release: Option<String>,
    /// Only these targets of the release.
    pub(crate) targets: Vec<String>,
    /// Where to write which files rebuilt identical (`merge --rebuilt` reads it).
    pub(crate) statement: Option<PathBuf>,
    /// The image this runs in, for the statement.
    pub(crate) image: Option<String>,
}

pub(crate) fn run(project: &Project, options: Options) -> Result<()> {
    let Project { ws, config, .. } = project;
    let app = project.app();
    let published = match options.release {
        Some(given) => Source::parse(&given),
        None => match project.repository()? {
            Some(repository) => Source::Url(format!(
                "{repository}/releases/download/{}",
                config.tag_pattern.tag_for(&app.version)
            )),
            None => bail!(UsageError(
                "no repository in dist-workspace.toml or the app's Cargo.toml to find the release at; \
                 give the release's directory or URL: `cargo xtask reproduce <DIR|URL>`"
                    .into()
            )),
        },
    };
    let source = published.describe();
    eprintln!("==> reading the release at {source}");
    let release = ReleaseIndex::read(&published)?;
    let manifest = &release.manifest;
    rebuild::check_checkout(manifest, (&app.name, &app.version), || {
        stamp::checkout(&project.sh, &ws.root)
    })?;
    eprintln!("==> checkout is {}, unchanged", manifest.commit);
    // The system's own name for itself: what the statement and the release
    // notes say the rebuild ran on.
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| rebuilt::os_name(&text))
        .unwrap_or_else(|| std::env::consts::OS.to_owned());
    eprintln!("==> rebuilding on {os}");

    let mut show = show_finding;
    let mut findings = Findings::new(&mut show);
    if let Some(unknown) = options
        .targets
        .iter()
        .find(|t| !manifest.artifacts.iter().any(|a| a.target == **t))
    {
        bail!(UsageError(format!(
            "the release at {source} has no archive for --target {unknown}"
        )));
    }
    let configured = |t: &str| config.targets.iter().any(|c| c.triple == t);
    let selected = rebuild::select(manifest, &options.targets, configured, &mut findings);
    same_compiler(project, manifest, &selected)?;
    let stamp = Stamp {
        source_date_epoch: manifest.source_date_epoch,
        commit: manifest.commit.clone(),
    };
    let mut plan = release_plan(project, &selected, stamp)?;
    let skipped = plan::keep_buildable(&mut plan, false, Os::host(), on_path)?;
    // From scratch, in a target directory of its own: nothing a local
    // build left behind may stand in for the rebuild.
    let work = ws.target_dir.join("reproduce");
    let out = work.join("dist");
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let _lock = release::lock(&out)?;
    let cargo_target = work.join("target");
    if cargo_target.exists() {
        std::fs::remove_dir_all(&cargo_target)
            .with_context(|| format!("removing the last rebuild, {}", cargo_target.display()))?;
    }
    let artifacts = if plan.artifacts.is_empty() {
        Vec::new()
    } else {
        artifact::build_archives(project, &plan, &cargo_target, &out)?
    };
    let release_files = ReleaseFiles::for_config(&project.config, project.app())?;
    let rebuilt = Rebuilt {
        selected: &selected,
        skipped: &skipped,
        artifacts: &artifacts,
        dir: &out,
        release_files: &release_files,
    };
    rebuild::compare(&published, &release, &rebuilt, &mut findings);
    findings.finish(&format!(
        "the rebuild of {} {} against {source}",
        manifest.app, manifest.version
    ))?;
    if let Some(path) = &options.statement {
        // A statement speaks for every target asked for, or is not written.
        if let Some((target, why)) = skipped.first() {
            bail!("no statement written: {target} was not rebuilt on this machine ({why})");
        }
        let done: Vec<&str> = selected.iter().map(String::as_str).collect();
        let image = options.image.as_deref().unwrap_or_default();
        let statement = Statement::of(manifest, &done, &os, image);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        atomic::write(path, statement.to_json().as_bytes())?;
        eprintln!(
            "    wrote {}: {} rebuilt identical on {os}",
            path.display(),
            done.join(", ")
        );
    }
    Ok(())
}

/// Rebuilds with the release's Rust compiler: a checkout that pins one in
/// rust-toolchain.toml gets it already; one that does not would otherwise
/// build with whatever this machine has (another runner image's stable,
/// say), and differ for that alone. A stable release is installed with
/// rustup and used; any other is left to the comparison's likely cause.
fn same_compiler(project: &Project, manifest: &Manifest, selected: &[String]) -> Result<()> {
    let mut compilers: Vec<&String> = manifest
        .artifacts
        .iter()
        .filter(|a| selected.contains(&a.target))
        .map(|a| &a.toolchain.rustc)
        .collect();
    compilers.sort();
    compilers.dedup();
    // Archives built by several compilers (runners without a pin) are
    // rebuilt one at a time (`--target`); here the comparison says which.
    let [theirs] = compilers[..] else {
        return Ok(());
    };
    if std::env::var_os("RUSTC").is_some() {
        return Ok(()); // a compiler chosen by hand is used as given
    }
    let ours = toolchain::rustc_version(&project.sh, &project.ws.root)?;
    if ours == *theirs {
        return Ok(());
    }
    let Some(version) = toolchain::stable_release(theirs) else {
        return Ok(());
    };
    eprintln!(
        "==> the release was built with `{theirs}`, this checkout's is `{ours}`: rebuilding with Rust {version} (rustup)"
    );
    toolchain::use_release(&project.sh, version)
}
