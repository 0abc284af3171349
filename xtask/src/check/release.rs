//! The release directory as `dist` or `merge` left it: `SHA256SUMS`, the
//! manifest, every archive and installer, and nothing else in it.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use xtask_inspect::audit::DepList;
use xtask_inspect::format::ArchiveFormat;
use xtask_inspect::target::Target;
use xtask_inspect::unpack::Limits;

use crate::archive::files::read_regular;
use crate::archive::index::{self, Kind, ReleaseIndex, Source, plain_name};
use crate::archive::manifest;
use crate::archive::rebuilt::{self, Statement};
use crate::archive::{atomic, checksum, release};
use crate::check::Findings;
use crate::check::archive::{ExpectedArchive, check_archive, check_sidecar, stem_of};
use crate::check::deps::check_sbom;
use crate::check::package::check_package;
use crate::generate::published::ReleaseFiles;
use crate::model::smoke::SmokeRun;
use crate::model::workspace::{OLD_RELEASE_DIR, RELEASE_DIR};
use crate::run::smoke::Provenance;

/// What the configuration says a release directory must hold.
pub(crate) struct Expected {
    pub(crate) smoke: Vec<SmokeRun>,
    /// The installers the configuration makes of a release, byte for byte.
    pub(crate) release_files: ReleaseFiles,
    pub(crate) limits: Limits,
    /// Whether to list every crate each binary carries.
    pub(crate) list_deps: bool,
}

/// What to say of a release an older xtask left beside the release
/// directory `dir` (in `target/dist`, which cargo also writes to): that it is
/// not read. Empty when there is none.
fn older_release_beside(dir: &Path) -> String {
    let is_ours = dir.file_name().is_some_and(|n| n == RELEASE_DIR);
    let old = dir.with_file_name(OLD_RELEASE_DIR);
    if is_ours && old.join(manifest::FILE_NAME).is_file() {
        format!(
            " ({} holds a release of an older xtask, which wrote there; it is not read)",
            old.display()
        )
    } else {
        String::new()
    }
}

/// Checks a release directory as `dist` or `merge` left it: sums,
/// manifest, archives, binaries, the installer, and nothing else in it.
/// An error only when it holds no release to check (no directory, no
/// readable manifest or sums), else problems are findings.
pub(crate) fn check(dir: &Path, expected: &Expected, findings: &mut Findings<'_>) -> Result<()> {
    if !dir.is_dir() {
        bail!(
            "{} does not exist{}; run `cargo xtask dist` first",
            dir.display(),
            older_release_beside(dir)
        );
    }
    let index =
        ReleaseIndex::read(&Source::Dir(dir.to_owned())).context("run `cargo xtask dist` first")?;
    let (manifest, sums) = (&index.manifest, &index.sums);

    // Every file of the directory must belong to the release.
    let mut known: Vec<String> = vec![manifest::FILE_NAME.into(), checksum::SUMS_FILE.into()];
    for file in index::listed(manifest) {
        if !plain_name(file.name) {
            findings.problem(format!(
                "{}: names `{}`, which is not a plain file name",
                manifest::FILE_NAME,
                file.name
            ));
            continue;
        }
        known.push(file.name.to_owned());
        known.push(checksum::sidecar_name(file.name));
    }
    // The rebuild's statement, when the release workflow's rebuild ran.
    let statement = sums.iter().any(|(_, n)| n == rebuilt::FILE_NAME);
    if statement {
        known.push(rebuilt::FILE_NAME.into());
        known.push(checksum::sidecar_name(rebuilt::FILE_NAME));
    }
    let mut entries: Vec<(String, fs::FileType)> = fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            Some((
                e.file_name().to_string_lossy().into_owned(),
                e.file_type().ok()?,
            ))
        })
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, kind) in &entries {
        if atomic::is_partial(name) {
            findings.problem(format!(
                "{name}: left half-written by an interrupted run; run `cargo xtask dist` again"
            ));
        } else if kind.is_dir() || known.contains(name) || release::is_bookkeeping(name) {
        } else {
            findings.problem(format!(
                "{name}: is in {} but not part of this release",
                dir.display()
            ));
        }
    }

    // Each file is read and hashed once, whichever list names it first.
    let mut files = HashedFiles {
        dir,
        limit: expected.limits.total,
        read: BTreeMap::new(),
    };
    for (hex, name) in sums {
        if !plain_name(name) {
            findings.problem(format!(
                "{}: names `{name}`, which is not a plain file name",
                checksum::SUMS_FILE
            ));
            continue;
        }
        match files.get(name) {
            Ok((_, actual)) if actual == hex => {}
            Ok(_) => findings.problem(format!(
                "{name}: does not match its line in {}",
                checksum::SUMS_FILE
            )),
            Err(err) => findings.problem(format!(
                "{name}: listed in {} but it {err}",
                checksum::SUMS_FILE
            )),
        }
    }
    for name in entries
        .iter()
        .map(|(n, _)| n)
        .filter(|n| ArchiveFormat::of_file(n).is_some() && !atomic::is_partial(n))
    {
        if !sums.iter().any(|(_, n)| n == name) {
            findings.problem(format!(
                "{name}: not listed in {}; it is not part of this release",
                checksum::SUMS_FILE
            ));
        }
        if !manifest.artifacts.iter().any(|a| a.name == *name) {
            findings.problem(format!("{name}: not listed in {}", manifest::FILE_NAME));
        }
    }

    // Each file the manifest lists, checked as what it is. An archive's SBOM
    // follows it in the list, and is checked against the archive's hash and
    // the crates its binaries carry.
    let installers = expected.release_files.for_release(manifest);
    for missing in installers
        .iter()
        .filter(|i| !manifest.installers.iter().any(|l| l.name == i.name))
    {
        findings.problem(format!(
            "{}: missing from {}; `cargo xtask dist` writes it",
            missing.name,
            manifest::FILE_NAME
        ));
    }
    let mut archives: BTreeMap<&str, (String, Option<DepList>)> = BTreeMap::new();
    let mut unpacked: BTreeMap<&str, Option<Vec<crate::archive::package::ArchiveFile>>> =
        BTreeMap::new();
    for file in index::listed(manifest)
        .into_iter()
        .filter(|f| plain_name(f.name))
    {
        match file.kind {
            Kind::Archive(artifact) => {
                findings.heading(artifact.name.clone());
                let before = findings.count();
                let Some((bytes, archive_sha)) =
                    read_listed(&mut files, file.name, file.sha256, sums, findings)
                else {
                    continue;
                };
                let target = match Target::parse(&artifact.target) {
                    Ok(t) => Some(t),
                    Err(err) => {
                        findings.problem(format!("{}: {err:#}", artifact.name));
                        None
                    }
                };
                let expected_archive = ExpectedArchive {
                    stem: stem_of(&artifact.name),
                    target,
                    binaries: Some(&artifact.binaries),
                    version: Some(manifest.version.as_str()),
                    smoke: Some(&expected.smoke),
                    provenance: Provenance::Ours,
                    run: true,
                    list_deps: expected.list_deps,
                    limits: expected.limits,
                };
                let archive_sha = archive_sha.clone();
                let carried =
                    check_archive(&artifact.name, bytes, &expected_archive, before, findings);
                if artifact.sbom.is_none() {
                    findings.problem(format!(
                        "{}: has no SBOM in {}; `cargo xtask dist` writes `{}` beside every archive",
                        artifact.name,
                        manifest::FILE_NAME,
                        crate::archive::sbom::file_name(&artifact.name)
                    ));
                }
                archives.insert(file.name, (archive_sha, carried));
            }
            Kind::Sbom(artifact) => {
                // An archive that could not be read was reported; its SBOM has nothing to match.
                let Some((archive_sha, carried)) = archives.get(artifact.name.as_str()) else {
                    continue;
                };
                if let Some((text, _)) =
                    read_listed(&mut files, file.name, file.sha256, sums, findings)
                {
                    check_sbom(
                        file.name,
                        text,
                        &artifact.name,
                        archive_sha,
                        carried.as_ref(),
                        findings,
                    );
                }
            }
            Kind::Package(artifact) => {
                // An archive that could not be read was reported; its package has nothing to match.
                if !archives.contains_key(artifact.name.as_str()) {
                    continue;
                }
                // Unpacked once for all of the archive's packages.
                if !unpacked.contains_key(artifact.name.as_str()) {
                    let read = match files.get(&artifact.name) {
                        Ok((bytes, _)) => release::ArchiveInput::read_back(artifact, bytes)
                            .map(|input| input.files)
                            .ok(),
                        Err(_) => None,
                    };
                    unpacked.insert(artifact.name.as_str(), read);
                }
                let Some(Some(archive_files)) = unpacked.get(artifact.name.as_str()) else {
                    continue;
                };
                if let Some((bytes, _)) =
                    read_listed(&mut files, file.name, file.sha256, sums, findings)
                {
                    check_package(
                        file.name,
                        bytes,
                        artifact,
                        archive_files,
                        &manifest.app,
                        expected.limits,
                        findings,
                    );
                }
            }
            Kind::Installer => {
                findings.heading(file.name.to_owned());
                let Some((bytes, _)) =
                    read_listed(&mut files, file.name, file.sha256, sums, findings)
                else {
                    continue;
                };
                // The configuration's, with the manifest's archive hashes: any other byte is a change someone made.
                match installers.iter().find(|i| i.name == file.name) {
                    None => findings.problem(format!(
                        "{}: the configuration makes no such installer (it makes {})",
                        file.name,
                        expected.release_files.names().join(", ")
                    )),
                    Some(made) if *bytes != made.text.as_bytes() => findings.problem(format!(
                        "{}: differs from what dist-workspace.toml makes of this release; it was changed after `dist` wrote it",
                        file.name
                    )),
                    Some(_) => findings.note(
                        "byte for byte what dist-workspace.toml makes of this release".into(),
                    ),
                }
            }
        }
    }
    if statement {
        check_statement(&mut files, manifest, sums, findings);
    }
    Ok(())
}

/// `dist-rebuild.json` against the release it is in: its line in the sums
/// and its sidecar, then every file it says was rebuilt identical.
fn check_statement(
    files: &mut HashedFiles<'_>,
    manifest: &manifest::Manifest,
    sums: &[(String, String)],
    findings: &mut Findings<'_>,
) {
    findings.heading(rebuilt::FILE_NAME.to_owned());
    let dir = files.dir;
    // A missing or changed file was reported with the sums.
    let Ok((bytes, hex)) = files.get(rebuilt::FILE_NAME) else {
        return;
    };
    check_sidecar(dir, rebuilt::FILE_NAME, hex, findings);
    let statement = match std::str::from_utf8(bytes)
        .map_err(anyhow::Error::from)
        .and_then(Statement::from_json)
    {
        Ok(statement) => statement,
        Err(err) => {
            return findings.problem(format!(
                "{}: not a rebuild statement: {err:#}",
                rebuilt::FILE_NAME
            ));
        }
    };
    let problems = statement.problems(manifest, sums);
    if problems.is_empty() {
        for rebuild in &statement.rebuilds {
            findings.note(format!(
                "{}: {} files rebuilt identical on {}",
                rebuild.target,
                rebuild.files.len(),
                rebuild.os
            ));
        }
    }
    for problem in problems {
        findings.problem(problem);
    }
}

/// A file the manifest lists with `sha256`: read (once), its hash checked
/// against the manifest, `SHA256SUMS` and its `.sha256` sidecar. `None`
/// when it cannot be read at all.
fn read_listed<'f>(
    files: &'f mut HashedFiles<'_>,
    name: &str,
    sha256: &str,
    sums: &[(String, String)],
    findings: &mut Findings<'_>,
) -> Option<&'f (Vec<u8>, String)> {
    let dir = files.dir;
    let read = match files.get(name) {
        Ok(read) => read,
        Err(err) => {
            findings.problem(format!(
                "{name}: listed in {} but it {err}",
                manifest::FILE_NAME
            ));
            return None;
        }
    };
    if read.1 != sha256 {
        findings.problem(format!(
            "{name}: sha256 differs from {}",
            manifest::FILE_NAME
        ));
    }
    // A line that is there but wrong was reported with the sums.
    if !sums.iter().any(|(_, n)| n == name) {
        findings.problem(format!("{name}: not listed in {}", checksum::SUMS_FILE));
    }
    check_sidecar(dir, name, &read.1, findings);
    Some(read)
}

/// Files of the release directory with their SHA-256, read on first use.
struct HashedFiles<'d> {
    dir: &'d Path,
    limit: u64,
    read: BTreeMap<String, Result<(Vec<u8>, String), String>>,
}

impl HashedFiles<'_> {
    fn get(&mut self, name: &str) -> Result<&(Vec<u8>, String), &str> {
        let (dir, limit) = (self.dir, self.limit);
        let entry = self.read.entry(name.to_owned()).or_insert_with(|| {
            let bytes = read_regular(&dir.join(name), limit)?;
            let hex = checksum::sha256_hex(&bytes);
            Ok((bytes, hex))
        });
        entry.as_ref().map_err(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_an_older_xtask_left_in_target_dist_is_named_not_read() {
        let target = std::env::temp_dir().join(format!("xtask-old-release-{}", std::process::id()));
        let _ = fs::remove_dir_all(&target);
        let old = target.join(OLD_RELEASE_DIR);
        fs::create_dir_all(&old).unwrap();
        let dir = target.join(RELEASE_DIR);
        assert_eq!(
            older_release_beside(&dir),
            "",
            "target/dist without a release"
        );
        fs::write(old.join(manifest::FILE_NAME), "{}").unwrap();
        let said = older_release_beside(&dir);
        assert!(
            said.contains("holds a release of an older xtask") && said.contains("not read"),
            "{said}"
        );
        assert_eq!(older_release_beside(&target.join("elsewhere")), "");
        fs::remove_dir_all(&target).unwrap();
    }
}
