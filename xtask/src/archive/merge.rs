//! Merging what the release workflow's build jobs made, one directory per
//! job, into one release: every archive checked against the job that made
//! it (its manifest and sidecar), every job the same app, version and
//! commit, each target built once; then one SHA256SUMS and one manifest.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::archive::files::read_regular;
use crate::archive::index::{self, FILE_LIMIT, Kind, Source, TEXT_LIMIT, plain_name};
use crate::archive::manifest::{self, Manifest, ManifestArtifact, ManifestInstaller};
use crate::archive::rebuilt::{self, Statement};
use crate::archive::{atomic, checksum};
use crate::model::install::Installer;

/// An archive accepted from a job.
struct Accepted {
    artifact: ManifestArtifact,
    job: PathBuf,
}

/// An installer: every job writes the same one, so it is kept once.
struct AcceptedInstaller {
    installer: ManifestInstaller,
    /// Its text with the release's version and sums taken out.
    unreleased: String,
    job: PathBuf,
}

/// The release the jobs under `jobs` made, checked, ready to write.
pub(crate) struct Merged {
    pub(crate) manifest: Manifest,
    /// Every file the manifest lists, by name, as its job's manifest and
    /// sidecar vouched for it.
    files: BTreeMap<String, Vec<u8>>,
    /// The job directories read.
    pub(crate) jobs: Vec<PathBuf>,
    /// What the rebuild jobs rebuilt identical, when they ran.
    statement: Option<Statement>,
}

/// Reads and checks every job output under `jobs` (a directory of them, as
/// actions/download-artifact leaves them, or one job's output).
pub(crate) fn gather(jobs: &Path) -> Result<Merged> {
    let jobs = job_dirs(jobs)?;
    let mut release: Option<(Manifest, PathBuf)> = None;
    let mut accepted: Vec<Accepted> = Vec::new();
    let mut installers: Vec<AcceptedInstaller> = Vec::new();
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for job in &jobs {
        let manifest = Source::Dir(job.clone()).manifest()?;
        match &release {
            None => release = Some((manifest.clone(), job.clone())),
            Some((first, first_job)) => same_release(first, first_job, &manifest, job)?,
        }
        // Each file the job's manifest lists, checked against it and its
        // sidecar, then taken as what it is.
        for file in index::listed(&manifest) {
            // A formula holds the archives its job built; the whole
            // release's is made again (`set_installers`).
            if matches!(file.kind, Kind::Installer) && !file.name.ends_with(".sh") {
                continue;
            }
            let bytes = checked_file(job, file.name, file.sha256)?;
            match file.kind {
                Kind::Archive(artifact) => {
                    accept_archive(&accepted, artifact, job)?;
                    eprintln!("    {} from {}", artifact.name, job.display());
                    accepted.push(Accepted {
                        artifact: artifact.clone(),
                        job: job.clone(),
                    });
                }
                // Checked with its archive's bytes above; it travels with them.
                Kind::Sbom(_) | Kind::Package(_) => {}
                Kind::Installer => {
                    // Each job's carries its own archives' hashes; the rest
                    // comes from the configuration and must be the same.
                    let text = String::from_utf8_lossy(&bytes);
                    let unreleased = Installer {
                        name: file.name.to_owned(),
                        text: text.into_owned(),
                    }
                    .for_release("", &[]);
                    match installers.iter().find(|i| i.installer.name == file.name) {
                        Some(same) if same.unreleased == unreleased => {}
                        Some(other) => bail!(
                            "{} differs between {} and {}; every job must build the same commit with the same configuration",
                            file.name,
                            other.job.display(),
                            job.display()
                        ),
                        None => installers.push(AcceptedInstaller {
                            installer: ManifestInstaller {
                                name: file.name.to_owned(),
                                size: file.size,
                                sha256: file.sha256.to_owned(),
                            },
                            unreleased,
                            job: job.clone(),
                        }),
                    }
                }
            }
            files.entry(file.name.to_owned()).or_insert(bytes);
        }
    }
    let Some((first, _)) = release else {
        unreachable!("job_dirs returns at least one directory")
    };
    accepted.sort_by(|a, b| a.artifact.name.cmp(&b.artifact.name));
    let manifest = Manifest {
        artifacts: accepted.into_iter().map(|a| a.artifact).collect(),
        installers: installers.into_iter().map(|i| i.installer).collect(),
        ..first
    };
    Ok(Merged {
        manifest,
        files,
        jobs,
        statement: None,
    })
}

/// An archive from `job` may join the release only if no other job made
/// it, or another archive for its target.
fn accept_archive(accepted: &[Accepted], artifact: &ManifestArtifact, job: &Path) -> Result<()> {
    if let Some(other) = accepted.iter().find(|a| a.artifact.name == artifact.name) {
        let how = if other.artifact.sha256 == artifact.sha256 {
            "both"
        } else {
            "with other bytes in each"
        };
        bail!(
            "{} is in {} and in {}, {how}; each build job must build one target",
            artifact.name,
            other.job.display(),
            job.display()
        );
    }
    if let Some(other) = accepted
        .iter()
        .find(|a| a.artifact.target == artifact.target)
    {
        bail!(
            "{} was built twice, in {} and {}; each build job must build one target",
            artifact.target,
            other.job.display(),
            job.display()
        );
    }
    Ok(())
}

/// `dir` itself if it holds a manifest, else its subdirectories that do.
fn job_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    if dir.join(manifest::FILE_NAME).is_file() {
        return Ok(vec![dir.to_owned()]);
    }
    let entries = fs::read_dir(dir)
        .with_context(|| format!("listing the build outputs in {}", dir.display()))?;
    let mut jobs = Vec::new();
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_symlink() {
            bail!(
                "{} is a symbolic link; build outputs are directories of files",
                path.display()
            );
        }
        if path.join(manifest::FILE_NAME).is_file() {
            jobs.push(path);
        }
    }
    jobs.sort();
    if jobs.is_empty() {
        bail!(
            "no build outputs in {}: expected directories holding {}, as `cargo xtask dist` writes",
            dir.display(),
            manifest::FILE_NAME
        );
    }
    Ok(jobs)
}

/// All jobs must have built the same app, version and commit.
fn same_release(first: &Manifest, first_job: &Path, other: &Manifest, job: &Path) -> Result<()> {
    let describe = |m: &Manifest| {
        format!(
            "{} {} (commit {}, source date {})",
            m.app, m.version, m.commit, m.source_date_epoch
        )
    };
    let key = |m: &Manifest| {
        (
            m.app.clone(),
            m.version.clone(),
            m.commit.clone(),
            m.source_date_epoch,
        )
    };
    if key(first) != key(other) {
        bail!(
            "{} holds {} but {} holds {}; every job must build the same commit",
            job.display(),
            describe(other),
            first_job.display(),
            describe(first)
        );
    }
    Ok(())
}

/// A file's bytes, if they match both its job's manifest (`sha256`) and its sidecar.
fn checked_file(job: &Path, name: &str, sha256: &str) -> Result<Vec<u8>> {
    if !plain_name(name) {
        bail!(
            "{}: artifact name `{name}` is not a plain file name",
            job.join(manifest::FILE_NAME).display()
        );
    }
    let path = job.join(name);
    let bytes = read_regular(&path, FILE_LIMIT).map_err(|why| {
        anyhow::anyhow!("{}, listed in its job's manifest, {why}", path.display())
    })?;
    let actual = checksum::sha256_hex(&bytes);
    if actual != sha256 {
        bail!(
            "{} does not match the SHA-256 in its job's manifest (expected {sha256}, found {actual}); \
             the upload or download was damaged: re-run the release",
            path.display(),
        );
    }
    let sidecar = job.join(checksum::sidecar_name(name));
    let text = read_regular(&sidecar, TEXT_LIMIT)
        .map_err(|why| anyhow::anyhow!("{} {why}", sidecar.display()))?;
    let found = checksum::parse_sidecar(&String::from_utf8_lossy(&text), name)
        .map_err(|why| anyhow::anyhow!("{} {why}", sidecar.display()))?;
    if found != actual {
        bail!(
            "{} does not match {name} (expected `{actual}  {name}`)",
            sidecar.display()
        );
    }
    Ok(bytes)
}

impl Merged {
    pub(crate) fn archives(&self) -> usize {
        self.manifest.artifacts.len()
    }

    /// The release's installers, made for the whole release (every job's
    /// archives' hashes), replacing the jobs' own.
    pub(crate) fn set_installers(&mut self, installers: Vec<Installer>) {
        for old in &self.manifest.installers {
            self.files.remove(&old.name);
        }
        self.manifest.installers = installers
            .into_iter()
            .map(|Installer { name, text }| {
                let listed = ManifestInstaller {
                    name: name.clone(),
                    size: text.len() as u64,
                    sha256: checksum::sha256_hex(text.as_bytes()),
                };
                self.files.insert(name, text.into_bytes());
                listed
            })
            .collect();
    }

    /// The rebuild jobs' statements (`(where, statement)`), joined: every
    /// Linux archive of the release, its SBOM and packages rebuilt with
    /// the bytes the build jobs made, or the release is not merged.
    pub(crate) fn set_rebuilt(&mut self, parts: Vec<(String, Statement)>) -> Result<()> {
        let statement = Statement::join(parts)?;
        let sums = index::sums(&self.manifest);
        if let Some(problem) = statement.problems(&self.manifest, &sums).first() {
            bail!("{problem}: the rebuild was not of these builds");
        }
        let missing = statement.not_rebuilt(&self.manifest);
        if !missing.is_empty() {
            bail!(
                "no rebuild statement for {}: each Linux target's rebuild job must have \
                 rebuilt it identical before it is published",
                missing.join(", ")
            );
        }
        self.statement = Some(statement);
        Ok(())
    }

    /// Writes archives, sidecars, SHA256SUMS and the manifest into `into`, which
    /// must be empty, so nothing from another release slips in.
    pub(crate) fn write(&self, into: &Path) -> Result<()> {
        fs::create_dir_all(into).with_context(|| format!("creating {}", into.display()))?;
        if let Some(entry) = fs::read_dir(into)
            .with_context(|| format!("listing {}", into.display()))?
            .next()
        {
            bail!(
                "{} is not empty (it holds {}); merge into a new directory",
                into.display(),
                entry?.file_name().to_string_lossy()
            );
        }
        for file in index::listed(&self.manifest) {
            atomic::write(&into.join(file.name), &self.files[file.name])?;
            checksum::write_sidecar(into, file.name, file.sha256)?;
        }
        let mut beside = Vec::new();
        if let Some(statement) = &self.statement {
            let text = statement.to_json();
            let sha256 = checksum::sha256_hex(text.as_bytes());
            atomic::write(&into.join(rebuilt::FILE_NAME), text.as_bytes())?;
            checksum::write_sidecar(into, rebuilt::FILE_NAME, &sha256)?;
            beside.push((sha256, rebuilt::FILE_NAME.to_owned()));
        }
        crate::archive::release::write_index_with(into, &self.manifest, &beside)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake job output: an "archive" and its SBOM with their sidecars, and the manifest.
    fn job(root: &Path, target: &str, version: &str) -> PathBuf {
        let name = "toolbox";
        let dir = root.join(format!("dist-{target}"));
        fs::create_dir_all(&dir).unwrap();
        let archive = format!("{name}-{version}-{target}.tar.xz");
        let bytes = format!("archive for {target}").into_bytes();
        let sha = checksum::sha256_hex(&bytes);
        fs::write(dir.join(&archive), &bytes).unwrap();
        fs::write(
            dir.join(format!("{archive}.sha256")),
            checksum::format_sums(&[(sha.clone(), archive.clone())]),
        )
        .unwrap();
        let sbom_name = format!("{archive}.cdx.json");
        let sbom_text = format!("{{\"about\": \"{archive}\"}}");
        let sbom = crate::archive::manifest::Listed {
            name: sbom_name.clone(),
            size: sbom_text.len() as u64,
            sha256: checksum::sha256_hex(sbom_text.as_bytes()),
        };
        fs::write(dir.join(&sbom_name), &sbom_text).unwrap();
        fs::write(
            dir.join(format!("{sbom_name}.sha256")),
            checksum::format_sums(&[(sbom.sha256.clone(), sbom_name.clone())]),
        )
        .unwrap();
        let script = format!("#!/bin/sh\n# installs {name}\n");
        let installer = ManifestInstaller {
            name: format!("{name}-installer.sh"),
            size: script.len() as u64,
            sha256: checksum::sha256_hex(script.as_bytes()),
        };
        fs::write(dir.join(&installer.name), &script).unwrap();
        let sidecar = checksum::format_sums(&[(installer.sha256.clone(), installer.name.clone())]);
        fs::write(dir.join(format!("{}.sha256", installer.name)), sidecar).unwrap();
        let manifest = Manifest {
            app: name.into(),
            version: version.into(),
            source_date_epoch: 7,
            commit: "0123abc".into(),
            artifacts: vec![ManifestArtifact {
                name: archive,
                target: target.into(),
                size: bytes.len() as u64,
                sha256: sha,
                binaries: vec![],
                linkage: "static".into(),
                toolchain: Default::default(),
                sbom: Some(sbom),
                packages: vec![],
            }],
            installers: vec![installer],
        };
        fs::write(dir.join(manifest::FILE_NAME), manifest.to_json()).unwrap();
        dir
    }

    /// Why merging `jobs` into `into` failed, with its causes.
    fn merge_error(jobs: &Path, into: &Path) -> String {
        format!("{:#}", merge(jobs, into).unwrap_err())
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-merge-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn merge(jobs: &Path, into: &Path) -> Result<()> {
        gather(jobs)?.write(into)
    }

    #[test]
    fn merges_jobs_into_one_sums_file_and_manifest() {
        let dir = scratch("ok");
        job(&dir.join("jobs"), "x86_64-unknown-linux-musl", "1.0.0");
        job(&dir.join("jobs"), "aarch64-apple-darwin", "1.0.0");
        merge(&dir.join("jobs"), &dir.join("out")).unwrap();
        let sums = fs::read_to_string(dir.join("out/SHA256SUMS")).unwrap();
        let names: Vec<String> = checksum::parse_sums(&sums)
            .unwrap()
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        assert_eq!(
            names,
            [
                "toolbox-1.0.0-aarch64-apple-darwin.tar.xz",
                "toolbox-1.0.0-aarch64-apple-darwin.tar.xz.cdx.json",
                "toolbox-1.0.0-x86_64-unknown-linux-musl.tar.xz",
                "toolbox-1.0.0-x86_64-unknown-linux-musl.tar.xz.cdx.json",
                "toolbox-installer.sh"
            ]
        );
        let manifest =
            Manifest::from_json(&fs::read_to_string(dir.join("out/dist-manifest.json")).unwrap())
                .unwrap();
        assert_eq!(manifest.artifacts.len(), 2);
        assert_eq!(
            manifest.installers.len(),
            1,
            "the installer every job wrote is kept once"
        );
        assert_eq!(manifest.source_date_epoch, 7);
        assert!(
            dir.join("out/toolbox-1.0.0-aarch64-apple-darwin.tar.xz.sha256")
                .is_file()
        );
        // The SBOM travels with its archive, checked and with its sidecar.
        assert_eq!(
            fs::read_to_string(dir.join("out/toolbox-1.0.0-aarch64-apple-darwin.tar.xz.cdx.json"))
                .unwrap(),
            "{\"about\": \"toolbox-1.0.0-aarch64-apple-darwin.tar.xz\"}"
        );
        assert!(
            dir.join("out/toolbox-1.0.0-aarch64-apple-darwin.tar.xz.cdx.json.sha256")
                .is_file()
        );
        // A second merge into the same place is refused, not mixed in.
        let err = merge(&dir.join("jobs"), &dir.join("out"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not empty"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refuses_damaged_mixed_and_duplicate_builds() {
        let dir = scratch("bad");
        let a = job(&dir.join("jobs"), "x86_64-unknown-linux-musl", "1.0.0");
        let b = job(&dir.join("jobs"), "aarch64-apple-darwin", "1.0.1");
        let err = merge_error(&dir.join("jobs"), &dir.join("out1"));
        assert!(
            err.contains("every job must build the same commit") && err.contains("toolbox 1.0.1"),
            "{err}"
        );
        fs::remove_dir_all(&b).unwrap();

        // Same version, another commit: a job of an older run of the workflow.
        let c = job(&dir.join("jobs"), "aarch64-apple-darwin", "1.0.0");
        let text = fs::read_to_string(c.join(manifest::FILE_NAME)).unwrap();
        fs::write(
            c.join(manifest::FILE_NAME),
            text.replace("0123abc", "4567def"),
        )
        .unwrap();
        let err = merge_error(&dir.join("jobs"), &dir.join("out1"));
        assert!(err.contains("commit 4567def"), "{err}");
        fs::remove_dir_all(&c).unwrap();

        fs::write(
            a.join("toolbox-1.0.0-x86_64-unknown-linux-musl.tar.xz"),
            b"tampered",
        )
        .unwrap();
        let err = merge_error(&dir.join("jobs"), &dir.join("out2"));
        assert!(
            err.contains(
                "toolbox-1.0.0-x86_64-unknown-linux-musl.tar.xz does not match the SHA-256"
            ),
            "{err}"
        );
        assert!(
            !dir.join("out2").exists(),
            "nothing is written when a job is damaged"
        );

        let dup = scratch("dup");
        job(&dup.join("jobs"), "x86_64-unknown-linux-musl", "1.0.0");
        let other = job(&dup.join("jobs2"), "x86_64-unknown-linux-musl", "1.0.0");
        fs::rename(&other, dup.join("jobs/dist-again")).unwrap();
        let err = merge_error(&dup.join("jobs"), &dup.join("out"));
        assert!(
            err.contains("toolbox-1.0.0-x86_64-unknown-linux-musl.tar.xz is in")
                && err.contains("dist-again")
                && err.contains("dist-x86_64-unknown-linux-musl"),
            "both jobs are named: {err}"
        );

        let err = merge_error(&dup.join("jobs2"), &dup.join("out"));
        assert!(err.contains("no build outputs in"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
        fs::remove_dir_all(&dup).unwrap();
    }

    #[test]
    fn two_jobs_with_one_archive_name_and_other_bytes_are_named_not_merged() {
        let dir = scratch("clash");
        let a = job(&dir.join("jobs"), "x86_64-unknown-linux-musl", "1.0.0");
        // Another job claims the same archive name for another target, with other bytes.
        let b = job(&dir.join("jobs"), "aarch64-unknown-linux-musl", "1.0.0");
        let name = "toolbox-1.0.0-x86_64-unknown-linux-musl.tar.xz";
        let bytes = b"other bytes".to_vec();
        fs::write(b.join(name), &bytes).unwrap();
        let sha = checksum::sha256_hex(&bytes);
        fs::write(
            b.join(format!("{name}.sha256")),
            checksum::format_sums(&[(sha.clone(), name.into())]),
        )
        .unwrap();
        let mut manifest =
            Manifest::from_json(&fs::read_to_string(b.join(manifest::FILE_NAME)).unwrap()).unwrap();
        manifest.artifacts[0].name = name.into();
        manifest.artifacts[0].sha256 = sha;
        fs::write(b.join(manifest::FILE_NAME), manifest.to_json()).unwrap();
        let err = merge_error(&dir.join("jobs"), &dir.join("out"));
        assert!(
            err.contains(&format!("{name} is in")) && err.contains("with other bytes in each"),
            "{err}"
        );
        assert!(
            err.contains(&a.display().to_string()) && err.contains(&b.display().to_string()),
            "{err}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_job_naming_a_file_with_a_control_character_is_refused_as_verify_refuses_it() {
        // merge once took any name without `/`, `\\` or a leading dot; the
        // release index's rule, which verify applies, is the stricter one.
        let dir = scratch("control");
        let job = job(&dir.join("jobs"), "x86_64-unknown-linux-musl", "1.0.0");
        let mut manifest =
            Manifest::from_json(&fs::read_to_string(job.join(manifest::FILE_NAME)).unwrap())
                .unwrap();
        manifest.artifacts[0].name = "toolbox\x1b[2J.tar.xz".into();
        fs::write(job.join(manifest::FILE_NAME), manifest.to_json()).unwrap();
        let err = merge_error(&dir.join("jobs"), &dir.join("out"));
        assert!(err.contains("is not a plain file name"), "{err}");
        assert!(!dir.join("out").exists(), "nothing is written");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn links_and_fifos_in_a_job_are_refused_not_followed() {
        let dir = scratch("links");
        let job = job(&dir.join("jobs"), "x86_64-unknown-linux-musl", "1.0.0");
        let name = "toolbox-1.0.0-x86_64-unknown-linux-musl.tar.xz";
        fs::remove_file(job.join(name)).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", job.join(name)).unwrap();
        let err = merge_error(&dir.join("jobs"), &dir.join("out"));
        assert!(err.contains("is a symbolic link"), "{err}");
        fs::remove_file(job.join(name)).unwrap();
        assert!(
            std::process::Command::new("mkfifo")
                .arg(job.join(name))
                .status()
                .unwrap()
                .success()
        );
        let err = merge_error(&dir.join("jobs"), &dir.join("out"));
        assert!(err.contains("is not a regular file"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
