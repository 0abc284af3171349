//! A rebuild against the release it rebuilt: whether the checkout is the
//! release's commit, which targets are compared, each rebuilt file against
//! the published hash, and for an archive that differs, which members
//! differ and how, and what most likely made them differ. Reads the
//! published archive only when its hash differs.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Result, bail};
use object::{Object, ObjectSection};
use xtask_inspect::format::ArchiveFormat;
use xtask_inspect::unpack::{self, Limits, Member};

use crate::archive::checksum;
use crate::archive::files::read_regular;
use crate::archive::index::{ReleaseIndex, Source};
use crate::archive::manifest::{self, Manifest, ManifestArtifact, Toolchain};
use crate::check::Findings;
use crate::generate::published::ReleaseFiles;
use crate::project::stamp::Checkout;

/// The checkout must be the release's app, version and commit, unchanged.
/// `checkout` asks git, only once the manifest names a commit.
pub(crate) fn check_checkout(
    manifest: &Manifest,
    app: (&str, &str),
    checkout: impl FnOnce() -> Result<Checkout>,
) -> Result<()> {
    if (manifest.app.as_str(), manifest.version.as_str()) != app {
        bail!(
            "the release is {} {}, but this checkout builds {} {}; check out the release's commit ({}) first",
            manifest.app,
            manifest.version,
            app.0,
            app.1,
            manifest.commit
        );
    }
    if manifest.commit == "unknown" {
        bail!(
            "the release's {} names no commit (it was built outside git); there is nothing to check this checkout against",
            manifest::FILE_NAME
        );
    }
    let checkout = checkout()?;
    if checkout.head != manifest.commit {
        bail!(
            "this checkout is commit {}, the release was built from {}; run `git checkout {}` first",
            checkout.head,
            manifest.commit,
            manifest.commit
        );
    }
    if !checkout.changed.is_empty() {
        let shown: Vec<&str> = checkout
            .changed
            .iter()
            .take(5)
            .map(String::as_str)
            .collect();
        let more = if checkout.changed.len() > shown.len() {
            ", …"
        } else {
            ""
        };
        bail!(
            "this checkout has changes to {} file(s) ({}{more}); a rebuild must start from the commit as it is: \
             commit or stash them first",
            checkout.changed.len(),
            shown.join(", "),
        );
    }
    Ok(())
}

/// The release's targets to rebuild: those asked for (all when `wanted` is
/// empty) that this checkout configures; one the checkout does not
/// configure is a problem.
pub(crate) fn select(
    manifest: &Manifest,
    wanted: &[String],
    configured: impl Fn(&str) -> bool,
    findings: &mut Findings<'_>,
) -> Vec<String> {
    let mut selected = Vec::new();
    for a in &manifest.artifacts {
        if !wanted.is_empty() && !wanted.contains(&a.target) {
            continue;
        }
        if !configured(&a.target) {
            findings.problem(format!(
                "{}: its target {} is not in [dist].targets of this checkout",
                a.name, a.target
            ));
            continue;
        }
        selected.push(a.target.clone());
    }
    selected
}

/// What this checkout rebuilt of a release.
pub(crate) struct Rebuilt<'a> {
    /// The release's targets compared.
    pub(crate) selected: &'a [String],
    /// Targets this machine could not build, with why.
    pub(crate) skipped: &'a [(String, String)],
    pub(crate) artifacts: &'a [ManifestArtifact],
    /// Where the rebuilt files are.
    pub(crate) dir: &'a Path,
    /// The installers this checkout's configuration makes of a release.
    pub(crate) release_files: &'a ReleaseFiles,
}

/// Holds each rebuilt file against the hash the release publishes for it:
/// the one in `SHA256SUMS`, which is what users check downloads against; a
/// manifest that disagrees is itself a problem.
pub(crate) fn compare(
    published: &Source,
    release: &ReleaseIndex,
    rebuilt: &Rebuilt<'_>,
    findings: &mut Findings<'_>,
) {
    let published_sum = |name: &str, manifest_sha: &str, findings: &mut Findings<'_>| {
        let listed = release.sum(name).map(str::to_owned);
        match &listed {
            None => findings.problem(format!("{name}: not listed in {}", checksum::SUMS_FILE)),
            Some(hex) if hex != manifest_sha => findings.problem(format!(
                "{name}: {} and {} give different hashes",
                checksum::SUMS_FILE,
                manifest::FILE_NAME
            )),
            Some(_) => {}
        }
        listed
    };
    for theirs in &release.manifest.artifacts {
        let name = &theirs.name;
        if !rebuilt.selected.contains(&theirs.target) {
            continue;
        }
        findings.heading(name.clone());
        if let Some((_, why)) = rebuilt.skipped.iter().find(|(t, _)| *t == theirs.target) {
            findings.note(format!("not rebuilt on this machine: {why}"));
            continue;
        }
        let Some(ours) = rebuilt.artifacts.iter().find(|r| r.name == *name) else {
            findings.problem(format!(
                "{name}: this checkout builds no archive of that name for {}",
                theirs.target
            ));
            continue;
        };
        let Some(expected) = published_sum(name, &theirs.sha256, findings) else {
            continue;
        };
        // Its SBOM is made from the same inputs: it must come out the same too.
        if let (Some(their_sbom), Some(our_sbom)) = (&theirs.sbom, &ours.sbom) {
            match published_sum(&their_sbom.name, &their_sbom.sha256, findings) {
                Some(listed) if listed == our_sbom.sha256 => {
                    findings.note(format!("{}: identical", their_sbom.name))
                }
                Some(_) => findings.problem(format!(
                    "{}: the rebuilt SBOM differs from the published one (compare {} with it)",
                    their_sbom.name,
                    rebuilt.dir.join(&our_sbom.name).display()
                )),
                None => {}
            }
        }
        // So are its packages.
        for their_package in &theirs.packages {
            let Some(our_package) = ours.packages.iter().find(|p| p.name == their_package.name)
            else {
                findings.problem(format!(
                    "{}: this checkout makes no package of that name",
                    their_package.name
                ));
                continue;
            };
            match published_sum(&their_package.name, &their_package.sha256, findings) {
                Some(listed) if listed == our_package.sha256 => {
                    findings.note(format!("{}: identical", their_package.name))
                }
                Some(_) => findings.problem(format!(
                    "{}: the rebuilt package differs from the published one (compare {} with it)",
                    their_package.name,
                    rebuilt.dir.join(&our_package.name).display()
                )),
                None => {}
            }
        }
        if ours.sha256 == expected {
            findings.note(format!("identical (sha256 {expected})"));
            continue;
        }
        let cause = likely_cause(&theirs.toolchain, &ours.toolchain);
        let how = differences(published, name, &expected, &rebuilt.dir.join(name));
        findings.problem(format!(
            "{name}: the rebuild differs (sha256 {} published, {} rebuilt): {how}. Likely cause: {cause}",
            &expected[..12.min(expected.len())],
            &ours.sha256[..12.min(ours.sha256.len())]
        ));
    }

    // The installers are the configuration's, with the published archives' hashes.
    for made in rebuilt.release_files.for_release(&release.manifest) {
        let Some(i) = release
            .manifest
            .installers
            .iter()
            .find(|i| i.name == made.name)
        else {
            continue;
        };
        findings.heading(made.name.clone());
        if let Some(expected) = published_sum(&i.name, &i.sha256, findings) {
            if checksum::sha256_hex(made.text.as_bytes()) == expected {
                findings.note("identical to what this checkout makes of the release".into());
            } else {
                findings.problem(format!(
                    "{}: differs from what this checkout's dist-workspace.toml makes of the release",
                    made.name
                ));
            }
        }
    }

    if rebuilt.artifacts.is_empty() {
        findings.problem(format!(
            "no archive of the release at {} could be rebuilt on this machine (reasons above)",
            published.describe()
        ));
    }
}

/// Which members of the published archive differ from the rebuilt one,
/// in a sentence.
fn differences(published: &Source, name: &str, expected: &str, rebuilt: &Path) -> String {
    let Some(format) = ArchiveFormat::of_file(name) else {
        return "not an archive this tool reads".into();
    };
    let limits = Limits::default();
    let published_bytes = match published.read(name, limits.total) {
        Ok(bytes) => bytes,
        Err(err) => return format!("the published archive cannot be read: {err:#}"),
    };
    if checksum::sha256_hex(&published_bytes) != expected {
        return format!(
            "the published archive does not match its line in {}",
            checksum::SUMS_FILE
        );
    }
    let rebuilt_bytes = match read_regular(rebuilt, limits.total) {
        Ok(bytes) => bytes,
        Err(why) => return format!("{} {why}", rebuilt.display()),
    };
    let lines = member_differences(format, &published_bytes, &rebuilt_bytes, limits);
    if lines.is_empty() {
        return "every member unpacks the same; the archive itself differs (dates, order or compression)".into();
    }
    let shown = lines.len().min(5);
    let more = match lines.len() - shown {
        0 => String::new(),
        n => format!("; and {n} more"),
    };
    format!("{}{more}", lines[..shown].join("; "))
}

/// How the members of `published` differ from those of `rebuilt`, one line
/// each; empty when both unpack to the same files (the archives may still
/// differ in dates, order or compression, which the caller says).
pub(crate) fn member_differences(
    format: ArchiveFormat,
    published: &[u8],
    rebuilt: &[u8],
    limits: Limits,
) -> Vec<String> {
    let read = |bytes: &[u8], which: &str| match unpack::read(format, bytes, limits) {
        Ok(unpacked) if unpacked.problems.is_empty() => Ok(unpacked.members),
        Ok(unpacked) => Err(format!(
            "the {which} archive is refused: {}",
            unpacked.problems[0]
        )),
        Err(err) => Err(format!("the {which} archive cannot be read: {err:#}")),
    };
    let (published, rebuilt) = match (read(published, "published"), read(rebuilt, "rebuilt")) {
        (Ok(p), Ok(r)) => (p, r),
        (Err(why), _) | (_, Err(why)) => return vec![why],
    };
    let by_path = |members: Vec<Member>| -> BTreeMap<String, Member> {
        members.into_iter().map(|m| (m.path.clone(), m)).collect()
    };
    let (published, rebuilt) = (by_path(published), by_path(rebuilt));
    let mut lines = Vec::new();
    for (path, p) in &published {
        let Some(r) = rebuilt.get(path) else {
            lines.push(format!("`{path}` is only in the published archive"));
            continue;
        };
        if p.kind != r.kind {
            lines.push(format!(
                "`{path}` is {:?} in the published archive, {:?} rebuilt",
                p.kind, r.kind
            ));
        } else if p.data != r.data {
            lines.push(format!("`{path}` {}", data_difference(&p.data, &r.data)));
        }
        if p.mode != r.mode {
            lines.push(format!(
                "`{path}` has mode {:o} in the published archive, {:o} rebuilt",
                p.mode, r.mode
            ));
        }
    }
    for path in rebuilt.keys().filter(|p| !published.contains_key(*p)) {
        lines.push(format!("`{path}` is only in the rebuilt archive"));
    }
    lines
}

/// How two versions of one file differ: sizes, where they part, and for
/// executables the compilers and linkers their `.comment` sections name.
fn data_difference(published: &[u8], rebuilt: &[u8]) -> String {
    let differing = published
        .iter()
        .zip(rebuilt)
        .filter(|(a, b)| a != b)
        .count()
        + published.len().abs_diff(rebuilt.len());
    let first = published
        .iter()
        .zip(rebuilt)
        .position(|(a, b)| a != b)
        .unwrap_or(published.len().min(rebuilt.len()));
    let mut text = if published.len() == rebuilt.len() {
        format!(
            "differs: {differing} of its {} bytes, the first at offset {first:#x}",
            published.len()
        )
    } else {
        format!(
            "differs: {} bytes published, {} rebuilt, the first difference at offset {first:#x}",
            published.len(),
            rebuilt.len()
        )
    };
    let (p, r) = (comment(published), comment(rebuilt));
    if p != r {
        text.push_str(&format!(
            "; its .comment (the tools that made it) says {} published, {} rebuilt",
            show_comment(&p),
            show_comment(&r)
        ));
    }
    text
}

/// The strings of an ELF `.comment` section: each compiler and linker that
/// contributed (`rustc version …`, `Linker: LLD …`, `GCC: (Debian …)`).
fn comment(data: &[u8]) -> Option<Vec<String>> {
    let file = object::File::parse(data).ok()?;
    let section = file.section_by_name(".comment")?;
    let mut strings: Vec<String> = section
        .data()
        .ok()?
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    strings.sort();
    strings.dedup();
    Some(strings)
}

fn show_comment(strings: &Option<Vec<String>>) -> String {
    match strings {
        Some(strings) if !strings.is_empty() => format!("\"{}\"", strings.join("; ")),
        _ => "nothing".into(),
    }
}

/// What most likely made a rebuild differ, from the compilers the manifest
/// recorded for the published archive and those of the rebuild.
pub(crate) fn likely_cause(published: &Toolchain, rebuilt: &Toolchain) -> String {
    let mut causes = Vec::new();
    if published.rustc != rebuilt.rustc {
        causes.push(format!(
            "a different Rust compiler: the release was built with `{}`, this machine has `{}` \
             (install the release's toolchain, `rustup toolchain install`, and run again)",
            published.rustc, rebuilt.rustc
        ));
    }
    if published.c_compiler != rebuilt.c_compiler {
        let show = |c: &Option<String>| c.clone().unwrap_or_else(|| "none".into());
        causes.push(format!(
            "a different C compiler for build scripts: `{}` for the release, `{}` here",
            show(&published.c_compiler),
            show(&rebuilt.c_compiler)
        ));
    }
    if causes.is_empty() {
        return "the same rustc and C compiler as the release's, so either the published \
                archive was changed after it was built, or the build's inputs differ: \
                a linker or RUSTFLAGS set in the environment or a cargo config, or a build \
                script that reads the machine or the clock"
            .into();
    }
    causes.join("; and ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::package::{ArchiveFile, write_archive};

    fn archive(files: &[(&str, &[u8], bool)]) -> Vec<u8> {
        let files: Vec<ArchiveFile> = files
            .iter()
            .map(|(path, data, executable)| ArchiveFile {
                path: (*path).into(),
                data: data.to_vec(),
                executable: *executable,
            })
            .collect();
        write_archive(ArchiveFormat::TarXz, "tool-1.0", &files, 0).unwrap()
    }

    use crate::check::Finding;

    /// The problems and notes `f` reports, as `! problem` and `  note`.
    fn said(f: impl FnOnce(&mut Findings<'_>)) -> Vec<String> {
        let mut seen = Vec::new();
        let mut show = |finding: &Finding| match finding {
            Finding::Problem(p) => seen.push(format!("! {p}")),
            Finding::Note(n) => seen.push(format!("  {n}")),
            Finding::Heading(_) => {}
        };
        let mut findings = Findings::new(&mut show);
        f(&mut findings);
        drop(findings);
        seen
    }

    fn artifact(target: &str, bytes: &[u8]) -> ManifestArtifact {
        ManifestArtifact {
            name: format!("tool-1.0-{target}.tar.xz"),
            target: target.into(),
            size: bytes.len() as u64,
            sha256: checksum::sha256_hex(bytes),
            binaries: vec![],
            linkage: "static".into(),
            toolchain: Toolchain {
                rustc: "rustc 1.95.0".into(),
                c_compiler: None,
            },
            sbom: None,
            packages: vec![],
        }
    }

    fn release(artifacts: Vec<ManifestArtifact>) -> Manifest {
        Manifest {
            app: "tool".into(),
            version: "1.0".into(),
            source_date_epoch: 1,
            commit: "abc123".into(),
            artifacts,
            installers: vec![],
        }
    }

    #[test]
    fn the_checkout_must_be_the_release_commit_unchanged_and_git_is_asked_last() {
        let m = release(vec![]);
        let clean = || {
            Ok(Checkout {
                head: "abc123".into(),
                changed: vec![],
            })
        };
        check_checkout(&m, ("tool", "1.0"), clean).unwrap();
        let err = check_checkout(&m, ("tool", "1.1"), || panic!("git is not asked"));
        assert!(
            err.unwrap_err()
                .to_string()
                .contains("this checkout builds tool 1.1")
        );
        let unknown = Manifest {
            commit: "unknown".into(),
            ..m.clone()
        };
        let err = check_checkout(&unknown, ("tool", "1.0"), || panic!("git is not asked"));
        assert!(err.unwrap_err().to_string().contains("names no commit"));
        let other = || {
            Ok(Checkout {
                head: "def456".into(),
                changed: vec![],
            })
        };
        let err = check_checkout(&m, ("tool", "1.0"), other).unwrap_err();
        assert!(
            err.to_string().contains("run `git checkout abc123` first"),
            "{err}"
        );
        let changed = || {
            Ok(Checkout {
                head: "abc123".into(),
                changed: (1..=7).map(|i| format!("f{i}")).collect(),
            })
        };
        let err = check_checkout(&m, ("tool", "1.0"), changed).unwrap_err();
        assert!(
            err.to_string()
                .contains("changes to 7 file(s) (f1, f2, f3, f4, f5, …)"),
            "{err}"
        );
    }

    #[test]
    fn only_the_asked_and_configured_targets_are_rebuilt() {
        let m = release(vec![
            artifact("x86_64-unknown-linux-musl", b"a"),
            artifact("aarch64-apple-darwin", b"b"),
        ]);
        let mut selected = Vec::new();
        let problems = said(|f| {
            selected = select(&m, &[], |t| t.contains("linux"), f);
        });
        assert_eq!(selected, ["x86_64-unknown-linux-musl"]);
        assert_eq!(
            problems,
            [
                "! tool-1.0-aarch64-apple-darwin.tar.xz: its target aarch64-apple-darwin is not in [dist].targets of this checkout"
            ]
        );
        let wanted = ["aarch64-apple-darwin".to_owned()];
        let problems = said(|f| selected = select(&m, &wanted, |_| true, f));
        assert_eq!((selected.as_slice(), problems.len()), (&wanted[..], 0));
    }

    #[test]
    fn each_rebuilt_archive_is_held_against_the_published_sum_and_a_difference_is_explained() {
        let dir = std::env::temp_dir().join(format!("xtask-rebuild-{}", std::process::id()));
        let (published_dir, rebuilt_dir) = (dir.join("published"), dir.join("rebuilt"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&published_dir).unwrap();
        std::fs::create_dir_all(&rebuilt_dir).unwrap();
        let same = archive(&[("tool", b"same", true)]);
        let theirs = archive(&[("tool", b"published", true)]);
        let ours = archive(&[("tool", b"rebuilt!!", true)]);
        let linux = artifact("x86_64-unknown-linux-musl", &same);
        let arm = artifact("aarch64-unknown-linux-musl", &theirs);
        let mac = artifact("aarch64-apple-darwin", b"mac");
        let m = release(vec![linux.clone(), arm.clone(), mac.clone()]);
        std::fs::write(published_dir.join(&arm.name), &theirs).unwrap();
        let mut rebuilt_arm = artifact("aarch64-unknown-linux-musl", &ours);
        rebuilt_arm.toolchain.rustc = "rustc 1.96.0".into();
        std::fs::write(rebuilt_dir.join(&arm.name), &ours).unwrap();
        let index = ReleaseIndex {
            sums: crate::archive::index::sums(&m),
            manifest: m,
        };
        let selected: Vec<String> = index
            .manifest
            .artifacts
            .iter()
            .map(|a| a.target.clone())
            .collect();
        let skipped = [(mac.target.clone(), "needs a Mac".to_owned())];
        let rebuilt = Rebuilt {
            selected: &selected,
            skipped: &skipped,
            artifacts: &[linux.clone(), rebuilt_arm],
            dir: &rebuilt_dir,
            release_files: &ReleaseFiles {
                installer: crate::model::install::Installer {
                    name: "tool-installer.sh".into(),
                    text: String::new(),
                },
                powershell: None,
                formula: None,
            },
        };
        let source = Source::Dir(published_dir);
        let lines = said(|f| compare(&source, &index, &rebuilt, f));
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(lines[0].starts_with("  identical (sha256 "), "{}", lines[0]);
        assert!(
            lines[1]
                .starts_with("! tool-1.0-aarch64-unknown-linux-musl.tar.xz: the rebuild differs")
                && lines[1].contains("tool-1.0/tool")
                && lines[1].contains("a different Rust compiler"),
            "{}",
            lines[1]
        );
        assert_eq!(lines[2], "  not rebuilt on this machine: needs a Mac");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn names_each_member_that_differs_and_how() {
        let published = archive(&[
            ("tool", b"\x7fELF one", true),
            ("README.md", b"same", false),
            ("old.txt", b"gone", false),
        ]);
        let rebuilt = archive(&[
            ("tool", b"\x7fELF two", true),
            ("README.md", b"same", false),
            ("new.txt", b"added", false),
        ]);
        let lines = member_differences(
            ArchiveFormat::TarXz,
            &published,
            &rebuilt,
            Limits::default(),
        );
        assert_eq!(
            lines,
            [
                "`tool-1.0/old.txt` is only in the published archive",
                "`tool-1.0/tool` differs: 3 of its 8 bytes, the first at offset 0x5",
                "`tool-1.0/new.txt` is only in the rebuilt archive",
            ]
        );
        let same = archive(&[("tool", b"x", true)]);
        assert!(
            member_differences(ArchiveFormat::TarXz, &same, &same, Limits::default()).is_empty()
        );
        let lines = member_differences(ArchiveFormat::TarXz, b"not xz", &same, Limits::default());
        assert!(
            lines[0].starts_with("the published archive cannot be read"),
            "{lines:?}"
        );
    }

    #[test]
    fn the_cause_named_is_the_compiler_that_changed() {
        let rustc = |v: &str| Toolchain {
            rustc: format!("rustc {v}"),
            c_compiler: None,
        };
        let cause = likely_cause(&rustc("1.95.0"), &rustc("1.96.0"));
        assert!(
            cause.contains("`rustc 1.95.0`") && cause.contains("`rustc 1.96.0`"),
            "{cause}"
        );
        let with_c = Toolchain {
            c_compiler: Some("zig cc: 0.17.1".into()),
            ..rustc("1.95.0")
        };
        let cause = likely_cause(&with_c, &rustc("1.95.0"));
        assert!(
            cause.contains("`zig cc: 0.17.1` for the release, `none` here"),
            "{cause}"
        );
        assert!(!cause.contains("Rust compiler"), "{cause}");
        assert!(likely_cause(&with_c, &with_c).contains("changed after it was built"));
    }
}
