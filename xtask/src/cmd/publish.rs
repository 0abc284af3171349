//! `cargo xtask publish DIR --tag TAG`: the GitHub release of a verified
//! release directory, through `gh`. A pre-release version is published as a
//! pre-release and never as the latest release (which the installer and
//! `releases/latest` links download). Running it again completes a release
//! a failed run left half-uploaded, and refuses to replace an asset whose
//! bytes differ from ours (runs gh).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::archive::checksum;
use crate::archive::index::{self, Source};
use crate::model::github;
use crate::project::Project;

pub(crate) struct Options {
    pub(crate) dir: PathBuf,
    pub(crate) tag: String,
}

pub(crate) fn run(project: &Project, options: Options) -> Result<()> {
    let Project { sh, config, .. } = project;
    let manifest = Source::Dir(options.dir.clone())
        .manifest()
        .context("run `cargo xtask merge` or `dist` first")?;
    let tag = options.tag;
    let expected = config.tag_pattern.tag_for(&manifest.version);
    if tag != expected {
        bail!(
            "--tag {tag} does not release {} {}, which {} holds: its tag is `{expected}`",
            manifest.app,
            manifest.version,
            options.dir.display()
        );
    }
    let files = index::published_files(&manifest);
    for name in &files {
        let path = options.dir.join(name);
        if !fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            bail!(
                "{} is missing or not a regular file; every file of the release is published",
                path.display()
            );
        }
    }
    let prerelease = github::is_prerelease(&manifest.version);
    let paths: Vec<PathBuf> = files.iter().map(|f| options.dir.join(f)).collect();

    match published_assets(sh, &tag)? {
        None => {
            let kind = if prerelease { "pre-release" } else { "release" };
            eprintln!("    creating the {kind} {tag} with {} files", files.len());
            let flags: &[&str] = if prerelease {
                &["--prerelease", "--latest=false"]
            } else {
                &[]
            };
            cmd!(sh, "gh release create {tag} --verify-tag --title {tag} --generate-notes {flags...} {paths...}")
                .run()
                .with_context(|| format!("`gh release create {tag}` failed; run the publish job again to finish"))?;
        }
        Some(assets) => {
            let scratch = tempdir_for(&options.dir)?;
            let to_upload = missing_assets(&files, &assets, |name| {
                let ours = fs::read(options.dir.join(name))?;
                let theirs = scratch.join(name);
                cmd!(
                    sh,
                    "gh release download {tag} --pattern {name} --output {theirs} --clobber"
                )
                .quiet()
                .run()
                .with_context(|| {
                    format!("downloading {name} of the published release {tag} to compare it")
                })?;
                let theirs = fs::read(&theirs)?;
                Ok(checksum::sha256_hex(&ours) == checksum::sha256_hex(&theirs))
            });
            let _ = fs::remove_dir_all(&scratch);
            let to_upload = to_upload?;
            if to_upload.is_empty() {
                eprintln!(
                    "    the release {tag} already holds all {} files, byte for byte",
                    files.len()
                );
                return Ok(());
            }
            eprintln!(
                "    the release {tag} exists; uploading the {} files it lacks",
                to_upload.len()
            );
            let paths: Vec<PathBuf> = to_upload.iter().map(|f| options.dir.join(f)).collect();
            cmd!(sh, "gh release upload {tag} {paths...}")
                .run()
                .with_context(|| {
                    format!("`gh release upload {tag}` failed; run the publish job again to finish")
                })?;
        }
    }
    eprintln!("    published {tag}");
    Ok(())
}

/// The files of `files` the release lacks. A file it has must be the same
/// (`same` compares one), or nothing is uploaded: a published asset people
/// may have downloaded is never replaced.
pub(crate) fn missing_assets(
    files: &[String],
    published: &[String],
    mut same: impl FnMut(&str) -> Result<bool>,
) -> Result<Vec<String>> {
    let mut missing = Vec::new();
    let mut differ = Vec::new();
    for name in files {
        if !published.contains(name) {
            missing.push(name.clone());
        } else if !same(name)? {
            differ.push(name.as_str());
        }
    }
    if !differ.is_empty() {
        bail!(
            "the published release already has {} with other bytes than this build; refusing to replace \
             what people may have downloaded. Delete those assets by hand if they are wrong, or release a new version",
            differ.join(", ")
        );
    }
    Ok(missing)
}

/// The asset names of the release of `tag`, or `None` when there is no such release.
fn published_assets(sh: &Shell, tag: &str) -> Result<Option<Vec<String>>> {
    let out = cmd!(
        sh,
        "gh release view {tag} --json assets --jq .assets[].name"
    )
    .quiet()
    .ignore_status()
    .output()
    .context("running `gh release view` (is the GitHub CLI installed?)")?;
    if out.status.success() {
        let names = String::from_utf8_lossy(&out.stdout);
        return Ok(Some(
            names
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
        ));
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("release not found") {
        return Ok(None);
    }
    bail!("`gh release view {tag}` failed: {}", stderr.trim())
}

fn tempdir_for(dir: &Path) -> Result<PathBuf> {
    let scratch = dir.with_file_name(format!(".publish-compare-{}", std::process::id()));
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    Ok(scratch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::manifest::{Manifest, ManifestArtifact, ManifestInstaller};

    fn manifest() -> Manifest {
        Manifest {
            app: "toolbox".into(),
            version: "1.2.3".into(),
            source_date_epoch: 0,
            commit: "0123abc".into(),
            artifacts: vec![ManifestArtifact {
                name: "toolbox-1.2.3-x86_64-unknown-linux-musl.tar.xz".into(),
                target: "x86_64-unknown-linux-musl".into(),
                size: 1,
                sha256: "0".repeat(64),
                binaries: vec![],
                linkage: "static".into(),
                toolchain: Default::default(),
                sbom: Some(crate::archive::manifest::Listed {
                    name: "toolbox-1.2.3-x86_64-unknown-linux-musl.tar.xz.cdx.json".into(),
                    size: 1,
                    sha256: "0".repeat(64),
                }),
                packages: vec![],
            }],
            installers: vec![ManifestInstaller {
                name: "toolbox-installer.sh".into(),
                size: 1,
                sha256: "0".repeat(64),
            }],
        }
    }

    #[test]
    fn a_rerun_uploads_what_is_missing_and_never_replaces() {
        let files = index::published_files(&manifest());
        let published = vec!["SHA256SUMS".to_owned(), "toolbox-installer.sh".to_owned()];
        let missing = missing_assets(&files, &published, |_| Ok(true)).unwrap();
        assert_eq!(missing.len(), files.len() - published.len());
        assert!(!missing.contains(&"SHA256SUMS".to_owned()));
        let err = missing_assets(&files, &published, |name| Ok(name != "SHA256SUMS")).unwrap_err();
        assert!(
            err.to_string()
                .contains("already has SHA256SUMS with other bytes"),
            "{err}"
        );
        assert!(
            missing_assets(&files, &files, |_| Ok(true))
                .unwrap()
                .is_empty()
        );
    }
}
