//! A .deb or .rpm of the release, read back as its package manager would
//! unpack it: every file it installs must be byte for byte the archive's
//! (the binary first), and it installs nothing the archive does not hold
//! but a .deb's own `copyright`, `changelog.gz` and lintian overrides.

use crate::archive::manifest::ManifestArtifact;
use crate::archive::package::ArchiveFile;
use crate::archive::{deb, rpm, syspkg};
use crate::check::Findings;
use crate::model::package;
use xtask_inspect::unpack::Limits;

/// Checks package `name` against the files of the archive it was made of.
pub(crate) fn check_package(
    name: &str,
    bytes: &[u8],
    artifact: &ManifestArtifact,
    archive_files: &[ArchiveFile],
    app: &str,
    limits: Limits,
    findings: &mut Findings<'_>,
) {
    let read = if name.ends_with(".deb") {
        deb::read(bytes, limits)
    } else {
        rpm::read(bytes, limits.total)
    };
    let installed = match read {
        Ok(files) => files,
        Err(err) => {
            findings.problem(format!("{name}: cannot be read: {err:#}"));
            return;
        }
    };
    // A path twice: the package manager installs the last, a check the first.
    let mut paths: Vec<&str> = installed.iter().map(|(p, _, _)| p.as_str()).collect();
    paths.sort_unstable();
    if let Some(twice) = paths.windows(2).find(|w| w[0] == w[1]) {
        findings.problem(format!("{name}: holds {} twice", twice[0]));
        return;
    }
    let bins = syspkg::bin_names(
        &artifact.binaries,
        crate::check::archive::stem_of(&artifact.name),
    );
    let package_name = package::package_name(app);
    let expected = match syspkg::payload(archive_files, &bins, &package_name) {
        Ok(expected) => expected,
        Err(err) => {
            findings.problem(format!("{name}: {}: {err:#}", artifact.name));
            return;
        }
    };
    let before = findings.count();
    for file in &expected {
        let mode = if file.executable { 0o755 } else { 0o644 };
        match installed.iter().find(|(path, _, _)| *path == file.path) {
            None => findings.problem(format!(
                "{name}: does not install {}, which {} holds",
                file.path, artifact.name
            )),
            Some((_, _, data)) if *data != file.data => findings.problem(format!(
                "{name}: {} is not byte for byte the one in {}",
                file.path, artifact.name
            )),
            Some((_, got, _)) if *got != mode => findings.problem(format!(
                "{name}: {} has mode {got:o}, not {mode:o}",
                file.path
            )),
            Some(_) => {}
        }
    }
    let own = [
        format!("/usr/share/doc/{package_name}/copyright"),
        format!("/usr/share/doc/{package_name}/changelog.gz"),
        deb::lintian_overrides(&package_name),
    ];
    for (path, _, _) in &installed {
        let from_archive = expected.iter().any(|f| f.path == *path);
        let debian_own = name.ends_with(".deb") && own.contains(path);
        if !from_archive && !debian_own {
            findings.problem(format!(
                "{name}: installs {path}, which is not from {}",
                artifact.name
            ));
        }
    }
    if findings.count() == before {
        findings.note(format!(
            "{name}: installs {} files of {}, each byte for byte (the binaries in /usr/bin)",
            expected.len(),
            artifact.name
        ));
    }
}
