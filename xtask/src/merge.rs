//! `cargo xtask merge`: gathers what the release workflow's build jobs made,
//! one directory per job, into one release directory with one SHA256SUMS and
//! one manifest — checking every archive against the job that made it.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::manifest::{self, Manifest, ManifestArtifact};
use crate::{atomic, checksum};

pub(crate) struct Options {
    /// A directory of job outputs (as actions/download-artifact leaves them),
    /// or one job's output.
    pub(crate) jobs: PathBuf,
    pub(crate) into: PathBuf,
}

/// An archive accepted from a job, with its bytes.
struct Accepted {
    artifact: ManifestArtifact,
    job: PathBuf,
    bytes: Vec<u8>,
}

pub(crate) fn run(options: Options) -> Result<()> {
    let jobs = job_dirs(&options.jobs)?;
    let mut release: Option<(Manifest, PathBuf)> = None;
    let mut accepted: Vec<Accepted> = Vec::new();
    for job in &jobs {
        let path = job.join(manifest::FILE_NAME);
        let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let manifest = Manifest::from_json(&text).with_context(|| format!("reading {}", path.display()))?;
        match &release {
            None => release = Some((manifest.clone(), job.clone())),
            Some((first, first_job)) => same_release(first, first_job, &manifest, job)?,
        }
        for artifact in manifest.artifacts {
            if let Some(other) = accepted.iter().find(|a| a.artifact.target == artifact.target) {
                bail!(
                    "{} was built twice, in {} and {}; each build job must build one target",
                    artifact.target,
                    other.job.display(),
                    job.display()
                );
            }
            let bytes = checked_archive(job, &artifact)?;
            eprintln!("    {} from {}", artifact.name, job.display());
            accepted.push(Accepted { artifact, job: job.clone(), bytes });
        }
    }
    let Some((first, _)) = release else { unreachable!("job_dirs returns at least one directory") };
    accepted.sort_by(|a, b| a.artifact.name.cmp(&b.artifact.name));
    write_release(&options.into, &first, &accepted)?;
    eprintln!("    merged {} archives from {} jobs into {}", accepted.len(), jobs.len(), options.into.display());
    Ok(())
}

/// `dir` itself if it holds a manifest, else its subdirectories that do.
fn job_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    if dir.join(manifest::FILE_NAME).is_file() {
        return Ok(vec![dir.to_owned()]);
    }
    let entries = fs::read_dir(dir).with_context(|| format!("listing the build outputs in {}", dir.display()))?;
    let mut jobs = Vec::new();
    for entry in entries {
        let path = entry?.path();
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
    let describe = |m: &Manifest| format!("{} {} (source date {})", m.app, m.version, m.source_date_epoch);
    if (&first.app, &first.version, first.source_date_epoch) != (&other.app, &other.version, other.source_date_epoch) {
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

/// The archive's bytes, if they match both its job's manifest and its sidecar.
fn checked_archive(job: &Path, artifact: &ManifestArtifact) -> Result<Vec<u8>> {
    let name = &artifact.name;
    if name.contains(['/', '\\']) || name.starts_with('.') {
        bail!("{}: artifact name `{name}` is not a plain file name", job.join(manifest::FILE_NAME).display());
    }
    let path = job.join(name);
    let bytes = fs::read(&path).with_context(|| format!("reading {}, listed in its job's manifest", path.display()))?;
    let actual = checksum::sha256_hex(&bytes);
    if actual != artifact.sha256 {
        bail!(
            "{} does not match the SHA-256 in its job's manifest (expected {}, found {actual}); \
             the upload or download was damaged: re-run the release",
            path.display(),
            artifact.sha256
        );
    }
    let sidecar = job.join(format!("{name}.sha256"));
    let text = fs::read_to_string(&sidecar).with_context(|| format!("reading {}", sidecar.display()))?;
    let sums = checksum::parse_sums(&text).with_context(|| format!("reading {}", sidecar.display()))?;
    if sums != [(actual.clone(), name.clone())] {
        bail!("{} does not match {name} (expected `{actual}  {name}`)", sidecar.display());
    }
    Ok(bytes)
}

/// Writes archives, sidecars, SHA256SUMS and the manifest into `into`, which
/// must be empty, so nothing from another release slips in.
fn write_release(into: &Path, first: &Manifest, accepted: &[Accepted]) -> Result<()> {
    fs::create_dir_all(into).with_context(|| format!("creating {}", into.display()))?;
    if let Some(entry) = fs::read_dir(into).with_context(|| format!("listing {}", into.display()))?.next() {
        bail!(
            "{} is not empty (it holds {}); merge into a new directory",
            into.display(),
            entry?.file_name().to_string_lossy()
        );
    }
    let mut sums = Vec::new();
    for a in accepted {
        let name = &a.artifact.name;
        atomic::write(&into.join(name), &a.bytes)?;
        let sidecar = checksum::format_sums(&[(a.artifact.sha256.clone(), name.clone())]);
        atomic::write(&into.join(format!("{name}.sha256")), sidecar.as_bytes())?;
        sums.push((a.artifact.sha256.clone(), name.clone()));
    }
    atomic::write(&into.join(checksum::SUMS_FILE), checksum::format_sums(&sums).as_bytes())?;
    let manifest = Manifest { artifacts: accepted.iter().map(|a| a.artifact.clone()).collect(), ..first.clone() };
    atomic::write(&into.join(manifest::FILE_NAME), manifest.to_json().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake job output: an "archive" with its sidecar and manifest.
    fn job(root: &Path, name: &str, target: &str, version: &str) -> PathBuf {
        let dir = root.join(format!("dist-{target}"));
        fs::create_dir_all(&dir).unwrap();
        let archive = format!("{name}-{version}-{target}.tar.xz");
        let bytes = format!("archive for {target}").into_bytes();
        let sha = checksum::sha256_hex(&bytes);
        fs::write(dir.join(&archive), &bytes).unwrap();
        fs::write(dir.join(format!("{archive}.sha256")), checksum::format_sums(&[(sha.clone(), archive.clone())]))
            .unwrap();
        let manifest = Manifest {
            app: name.into(),
            version: version.into(),
            source_date_epoch: 7,
            artifacts: vec![ManifestArtifact {
                name: archive,
                target: target.into(),
                size: bytes.len() as u64,
                sha256: sha,
                binaries: vec![],
                linkage: "static".into(),
            }],
        };
        fs::write(dir.join(manifest::FILE_NAME), manifest.to_json()).unwrap();
        dir
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-merge-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn merge(jobs: &Path, into: &Path) -> Result<()> {
        run(Options { jobs: jobs.to_owned(), into: into.to_owned() })
    }

    #[test]
    fn merges_jobs_into_one_sums_file_and_manifest() {
        let dir = scratch("ok");
        job(&dir.join("jobs"), "mycli", "x86_64-unknown-linux-musl", "1.0.0");
        job(&dir.join("jobs"), "mycli", "aarch64-apple-darwin", "1.0.0");
        merge(&dir.join("jobs"), &dir.join("out")).unwrap();
        let sums = fs::read_to_string(dir.join("out/SHA256SUMS")).unwrap();
        let names: Vec<String> = checksum::parse_sums(&sums).unwrap().into_iter().map(|(_, n)| n).collect();
        assert_eq!(names, ["mycli-1.0.0-aarch64-apple-darwin.tar.xz", "mycli-1.0.0-x86_64-unknown-linux-musl.tar.xz"]);
        let manifest = Manifest::from_json(&fs::read_to_string(dir.join("out/dist-manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest.artifacts.len(), 2);
        assert_eq!(manifest.source_date_epoch, 7);
        assert!(dir.join("out/mycli-1.0.0-aarch64-apple-darwin.tar.xz.sha256").is_file());
        // A second merge into the same place is refused, not mixed in.
        let err = merge(&dir.join("jobs"), &dir.join("out")).unwrap_err().to_string();
        assert!(err.contains("is not empty"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refuses_damaged_mixed_and_duplicate_builds() {
        let dir = scratch("bad");
        let a = job(&dir.join("jobs"), "mycli", "x86_64-unknown-linux-musl", "1.0.0");
        let b = job(&dir.join("jobs"), "mycli", "aarch64-apple-darwin", "1.0.1");
        let err = format!("{:#}", merge(&dir.join("jobs"), &dir.join("out1")).unwrap_err());
        assert!(err.contains("every job must build the same commit") && err.contains("mycli 1.0.1"), "{err}");
        fs::remove_dir_all(&b).unwrap();

        fs::write(a.join("mycli-1.0.0-x86_64-unknown-linux-musl.tar.xz"), b"tampered").unwrap();
        let err = format!("{:#}", merge(&dir.join("jobs"), &dir.join("out2")).unwrap_err());
        assert!(err.contains("mycli-1.0.0-x86_64-unknown-linux-musl.tar.xz does not match the SHA-256"), "{err}");
        assert!(!dir.join("out2").exists(), "nothing is written when a job is damaged");

        let dup = scratch("dup");
        job(&dup.join("jobs"), "mycli", "x86_64-unknown-linux-musl", "1.0.0");
        let other = job(&dup.join("jobs2"), "mycli", "x86_64-unknown-linux-musl", "1.0.0");
        fs::rename(&other, dup.join("jobs/dist-again")).unwrap();
        let err = format!("{:#}", merge(&dup.join("jobs"), &dup.join("out")).unwrap_err());
        assert!(err.contains("x86_64-unknown-linux-musl was built twice"), "{err}");

        let err = format!("{:#}", merge(&dup.join("jobs2"), &dup.join("out")).unwrap_err());
        assert!(err.contains("no build outputs in"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
        fs::remove_dir_all(&dup).unwrap();
    }
}
