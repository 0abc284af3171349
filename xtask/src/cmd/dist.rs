//! `cargo xtask dist`: build, package, checksum and verify release archives.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use xtask_inspect::target::Os;

use crate::archive::index::{self, Kind};
use crate::archive::manifest::{self, Manifest, ManifestInstaller};
use crate::archive::release::{self, Release, human_size};
use crate::archive::{atomic, checksum};
use crate::build::artifact;
use crate::check::{self, Findings};
use crate::cmd::{release_plan, show_finding};
use crate::generate::installer;
use crate::generate::published::ReleaseFiles;
use crate::model::install::Installer;
use crate::model::plan::{self, Plan};
use crate::project::Project;
use crate::run::exec::on_path;

pub(crate) struct Options {
    pub(crate) targets: Vec<String>,
    pub(crate) json: bool,
}

pub(crate) fn run(project: &Project, options: Options) -> Result<()> {
    let ws = &project.ws;
    let mut plan = release_plan(project, &options.targets, project.stamp()?)?;
    let explicit = !options.targets.is_empty();
    let skipped = plan::keep_buildable(&mut plan, explicit, Os::host(), on_path)?;
    for (triple, why) in &skipped {
        eprintln!("==> skipping {triple}: {why}");
    }
    if plan.artifacts.is_empty() {
        bail!("none of the configured targets can be built on this machine; see the reasons above");
    }

    let dist_dir = project.dist_dir();
    fs::create_dir_all(&dist_dir).with_context(|| format!("creating {}", dist_dir.display()))?;
    let _lock = release::lock(&dist_dir)?;
    let release_files = ReleaseFiles::for_config(&project.config, project.app())?;
    let keep: Vec<String> = plan
        .artifacts
        .iter()
        .flat_map(|a| std::iter::once(a.file_name()).chain(a.package_names()))
        .chain(release_files.names())
        .collect();
    release::remove_stale(&dist_dir, &keep)?;

    let artifacts = artifact::build_archives(project, &plan, &ws.target_dir, &dist_dir)?;
    let mut release = Release {
        app: plan.app.clone(),
        version: plan.version.clone(),
        source_date_epoch: plan.stamp.source_date_epoch,
        commit: plan.stamp.commit.clone(),
        artifacts,
        installers: vec![],
    };
    release.installers = write_installers(project, &plan, &release_files, &release, &dist_dir)?;
    release::write_index(&dist_dir, &release)?;

    // What was just written is checked as `verify` would, against the plan.
    let expected = check::release::Expected {
        smoke: plan.smoke.clone(),
        release_files,
        limits: Default::default(),
        list_deps: false,
    };
    let mut show = show_finding;
    let mut findings = Findings::new(&mut show);
    findings.heading(format!("verifying {}", dist_dir.display()));
    check::release::check(&dist_dir, &expected, &mut findings)?;
    findings.finish(&dist_dir.display().to_string())?;

    if options.json {
        print!("{}", release.to_json());
    } else {
        print_table(&release, &dist_dir, &skipped);
    }
    Ok(())
}

/// Writes `<package>-installer.sh` for every configured Unix target (not only
/// the ones built here: the installer serves the whole release) and the
/// Homebrew formula, each carrying the hashes of the archives built here
/// (`merge` gives them every job's), with their sidecars.
fn write_installers(
    project: &Project,
    plan: &Plan,
    release_files: &ReleaseFiles,
    release: &Release,
    dist_dir: &Path,
) -> Result<Vec<ManifestInstaller>> {
    let app = project.app();
    if plan.repository.is_none() {
        eprintln!(
            "    note: no repository in dist-workspace.toml or {}: the installer needs {}_DOWNLOAD_URL to find releases, and there is no Homebrew formula",
            app.manifest_path.display(),
            installer::env_prefix(&app.name)
        );
    }
    let mut listed = Vec::new();
    for Installer { name, text } in release_files.for_release(release) {
        let sha256 = checksum::sha256_hex(text.as_bytes());
        atomic::write(&dist_dir.join(&name), text.as_bytes())?;
        checksum::write_sidecar(dist_dir, &name, &sha256)?;
        listed.push(ManifestInstaller {
            name,
            size: text.len() as u64,
            sha256,
        });
    }
    // The formula of an earlier run that had a macOS or Linux archive, when
    // this one has neither: not part of this release.
    for name in release_files.names() {
        if listed.iter().any(|l| l.name == name) {
            continue;
        }
        for file in [checksum::sidecar_name(&name), name] {
            let path = dist_dir.join(&file);
            if path.is_file() {
                eprintln!("    removing stale {file}");
                fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
            }
        }
    }
    Ok(listed)
}

fn print_table(manifest: &Manifest, dist_dir: &Path, skipped: &[(String, String)]) {
    // Each archive, then its SBOM, then the installers: name, size, hash, what it is.
    let rows: Vec<(&str, u64, &str, &str)> = index::listed(manifest)
        .into_iter()
        .map(|f| {
            let what = match f.kind {
                Kind::Archive(a) => a.linkage.as_str(),
                Kind::Sbom(_) => "SBOM (CycloneDX)",
                Kind::Package(_) if f.name.ends_with(".deb") => "Debian package",
                Kind::Package(_) => "RPM package",
                Kind::Installer if f.name.ends_with(".rb") => "Homebrew formula",
                Kind::Installer if f.name.ends_with(".ps1") => "PowerShell installer",
                Kind::Installer => "installer",
            };
            (f.name, f.size, f.sha256, what)
        })
        .collect();
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(4).max(4);
    println!(
        "{:<width$}  {:>10}  {:<12}  linkage",
        "file", "size", "sha256"
    );
    for (name, size, sha256, what) in rows {
        println!(
            "{:<width$}  {:>10}  {:<12}  {what}",
            name,
            human_size(size),
            &sha256[..12]
        );
    }
    println!(
        "in {} (with {} and {})",
        dist_dir.display(),
        checksum::SUMS_FILE,
        manifest::FILE_NAME
    );
    for (triple, why) in skipped {
        println!("not built here: {triple}: {why}");
    }
}
