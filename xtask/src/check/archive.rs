//! One archive, read as tar and unzip unpack it: safe to unpack, one top
//! directory, its binaries static and carrying their dependency list (and
//! the SBOM beside it matching); then, only if all passed, smoke-run.

use std::path::Path;

use xtask_inspect::format::ArchiveFormat;
use xtask_inspect::linkage::{LinkagePolicy, Report};
use xtask_inspect::report::escape;
use xtask_inspect::target::Target;
use xtask_inspect::unpack::{self, Limits, MemberKind};

use crate::archive::checksum;
use crate::archive::files::{read_regular, read_regular_following};
use crate::archive::index;
use crate::check::Findings;
use crate::check::binary::{check_binary, smoke_check};
use crate::check::deps::{check_embedded, check_sbom};
use crate::model::smoke::{SmokeRequest, SmokeRun};
use crate::run::smoke::Provenance;
use xtask_inspect::audit::DepList;

pub(crate) fn stem_of(name: &str) -> &str {
    ArchiveFormat::of_file(name)
        .and_then(|f| name.strip_suffix(f.extension()))
        .unwrap_or(name)
}

/// What an archive is expected to be, as far as its name and the release say.
pub(crate) struct ExpectedArchive<'a> {
    pub(crate) stem: &'a str,
    pub(crate) target: Option<Target>,
    /// The binaries' paths inside the archive (from the manifest), else every
    /// executable file is taken for one.
    pub(crate) binaries: Option<&'a [String]>,
    /// The release's version, else the one in the archive's name.
    pub(crate) version: Option<&'a str>,
    /// The configured smoke runs, else each binary's `--version`.
    pub(crate) smoke: Option<&'a [SmokeRun]>,
    pub(crate) provenance: Provenance,
    /// Whether to run the binaries at all.
    pub(crate) run: bool,
    /// Whether to list every crate the binaries carry.
    pub(crate) list_deps: bool,
    pub(crate) limits: Limits,
}

/// Unpacking, layout, linkage, dependency data, and — only when all of
/// those passed — smoke checks of one archive. `before` is how many
/// problems there were before this archive's checks began. Returns the
/// dependency list its binaries carry, for the SBOM beside it.
pub(crate) fn check_archive(
    name: &str,
    bytes: &[u8],
    expected: &ExpectedArchive<'_>,
    before: usize,
    findings: &mut Findings<'_>,
) -> Option<DepList> {
    let stem = expected.stem;
    let Some(format) = ArchiveFormat::of_file(name) else {
        findings.problem(format!("{name}: not a known archive type"));
        return None;
    };
    let unpacked = match unpack::read(format, bytes, expected.limits) {
        Ok(u) => u,
        Err(err) => {
            findings.problem(format!("{name}: cannot be unpacked safely: {err:#}"));
            return None;
        }
    };
    let members = unpacked.members;
    let layout: Vec<String> = unpacked
        .problems
        .into_iter()
        .chain(unpack::layout_problems(&members, stem))
        .collect();
    if layout.is_empty() {
        findings.note(format!(
            "layout: one top directory `{}/`, {} entries, as tar and unzip unpack it",
            escape(stem),
            members.len()
        ));
    }
    for problem in layout {
        findings.problem(format!("{name}: {problem}"));
    }

    // Which members are the binaries: the manifest says, else every executable file.
    let wanted: Vec<String> = match expected.binaries {
        Some(list) => list.to_vec(),
        None => members
            .iter()
            .filter(|m| {
                m.kind == MemberKind::File && (m.mode & 0o111 != 0 || m.path.ends_with(".exe"))
            })
            .map(|m| m.path.clone())
            .collect(),
    };
    if wanted.is_empty() {
        findings.problem(format!("{name}: holds no executable"));
    }
    let policy = LinkagePolicy {
        target: expected.target.clone(),
    };
    let mut checked: Vec<(&str, &[u8], Report)> = Vec::new();
    let mut carried: Option<DepList> = None;
    for path in &wanted {
        let Some(member) = members
            .iter()
            .find(|m| m.path == *path && m.kind == MemberKind::File)
        else {
            findings.problem(format!("{name}: binary `{path}` is missing"));
            continue;
        };
        // Windows has no execute bit; zips made there often carry no Unix mode at all.
        if member.mode & 0o111 == 0 && !path.ends_with(".exe") {
            findings.problem(format!(
                "{name}: `{path}` is not executable (mode {:o})",
                member.mode
            ));
        }
        let exe = path.rsplit('/').next().unwrap_or(path);
        let label = format!("{name}: {exe}");
        if let Some(report) = check_binary(&label, &member.data, &policy, findings) {
            let required = expected.provenance == Provenance::Ours;
            let deps = check_embedded(&label, &member.data, required, expected.list_deps, findings);
            // One package's binaries share one list; the SBOM is checked against it.
            carried = carried.or(deps);
            checked.push((exe, &member.data, report));
        }
    }

    // Nothing runs before every static check of the release passed.
    if findings.count() > before {
        findings.note("smoke test not run: the checks above failed".into());
        return carried;
    }
    if !expected.run {
        return carried;
    }
    // The version the binary must print: from the manifest, else from `<package>-<version>-<target>`.
    let version = expected.version.map(str::to_owned).or_else(|| {
        let triple = policy.target.as_ref()?.triple;
        version_in(stem.strip_suffix(&format!("-{triple}"))?).map(str::to_owned)
    });
    let exes: Vec<&str> = checked.iter().map(|(exe, ..)| *exe).collect();
    let requests = smoke_requests(
        expected.smoke,
        policy.target.as_ref(),
        &exes,
        version.as_deref(),
    );
    for request in requests {
        let Some((_, data, report)) = checked.iter().find(|(e, ..)| *e == request.exe) else {
            continue; // missing or unreadable: reported above
        };
        let label = format!("{name}: {}", request.exe);
        smoke_check(
            &label,
            data,
            report,
            &request,
            expected.provenance,
            findings,
        );
    }
    carried
}

/// What to run on an archive's binaries `exes`: the configured smoke runs
/// (`smoke`), each for its binary's executable name on `target`; without
/// them, each binary's `--version`. `version` is the release's, if known.
fn smoke_requests(
    smoke: Option<&[SmokeRun]>,
    target: Option<&Target>,
    exes: &[&str],
    version: Option<&str>,
) -> Vec<SmokeRequest> {
    match smoke {
        Some(runs) => runs
            .iter()
            .map(|run| {
                let exe = match target {
                    Some(target) => target.exe_name(&run.bin),
                    None => run.bin.clone(),
                };
                run.request(exe, version)
            })
            .collect(),
        None => exes
            .iter()
            .map(|exe| SmokeRun::version_of(exe).request((*exe).to_owned(), version))
            .collect(),
    }
}

/// The version in `<package>-<version>`: from the first `-` followed by
/// `<digits>.<digits>.<digits>`, as package names never hold that.
fn version_in(name_and_version: &str) -> Option<&str> {
    name_and_version.match_indices('-').find_map(|(i, _)| {
        let rest = &name_and_version[i + 1..];
        let mut parts = rest.splitn(3, '.');
        let numeric = |p: Option<&str>| {
            p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        };
        let patch_digits = parts
            .clone()
            .nth(2)
            .map(|p| p.split(['-', '+']).next().unwrap_or(p));
        (numeric(parts.next()) && numeric(parts.next()) && numeric(patch_digits)).then_some(rest)
    })
}

/// What `verify` does beyond reading: run the binaries, list their crates.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Look {
    pub(crate) run: bool,
    pub(crate) list_deps: bool,
}

/// A path on the command line: an archive, or any binary on the machine.
pub(crate) fn check_path(path: &Path, look: Look, limits: Limits, findings: &mut Findings<'_>) {
    let Look { run, list_deps } = look;
    let shown = path.display().to_string();
    findings.heading(escape(&shown));
    if path.is_dir() {
        return findings.problem(format!(
            "{shown}: is a directory; pass a binary or a release archive (or no path to check target/dist.out)"
        ));
    }
    // A link given on the command line is followed, but only to a regular file.
    let bytes = match read_regular_following(path, limits.total) {
        Ok(b) => b,
        Err(err) => return findings.problem(format!("{shown}: {err}")),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let before = findings.count();
    if ArchiveFormat::of_file(&name).is_some() {
        let hex = checksum::sha256_hex(&bytes);
        let dir = path.parent().unwrap_or(Path::new("."));
        if dir.join(checksum::sidecar_name(&name)).exists() {
            check_sidecar(dir, &name, &hex, findings);
        }
        let stem = stem_of(&name);
        let expected = ExpectedArchive {
            stem,
            target: triple_in(stem).and_then(|t| Target::parse(t).ok()),
            binaries: None,
            version: None,
            smoke: None,
            provenance: Provenance::Untrusted,
            run,
            list_deps,
            limits,
        };
        let carried = check_archive(&name, &bytes, &expected, before, findings);
        // A downloaded SBOM beside it: it must be about these bytes.
        let sbom = crate::archive::sbom::file_name(&name);
        if let Ok(text) = read_regular(&dir.join(&sbom), index::TEXT_LIMIT) {
            check_sbom(&sbom, &text, &name, &hex, carried.as_ref(), findings);
        }
    } else if let Some(report) =
        check_binary(&shown, &bytes, &LinkagePolicy { target: None }, findings)
    {
        check_embedded(&shown, &bytes, false, list_deps, findings);
        if !run || findings.count() > before {
            return;
        }
        let exe = if name.is_empty() {
            "binary".to_owned()
        } else {
            name
        };
        // Whose version it is, nobody says: exiting with 0 is the check.
        let request = SmokeRun::version_of(&exe).request(exe.clone(), None);
        smoke_check(
            &shown,
            &bytes,
            &report,
            &request,
            Provenance::Untrusted,
            findings,
        );
    }
}

/// The target triple an archive name ends with, if any: `<package>-<version>-<triple>`.
fn triple_in(stem: &str) -> Option<&str> {
    // Triples have three or four dash-separated parts; try the longer first.
    let parts: Vec<&str> = stem.split('-').collect();
    [4, 3]
        .into_iter()
        .filter(|&n| parts.len() > n)
        .find_map(|n| {
            let start = stem.len() - parts[parts.len() - n..].join("-").len();
            let candidate = &stem[start..];
            Target::parse(candidate).is_ok().then_some(candidate)
        })
}

/// `<name>.sha256` next to the file must hold exactly one line naming it,
/// with its hash: the installer reads it the same way.
pub(crate) fn check_sidecar(dir: &Path, name: &str, hex: &str, findings: &mut Findings<'_>) {
    let sidecar = checksum::sidecar_name(name);
    let text = match read_regular(&dir.join(&sidecar), 1 << 16) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(why) => return findings.problem(format!("{sidecar}: {why}")),
    };
    match checksum::parse_sidecar(&text, name) {
        Ok(found) if found == hex => findings.note("checksums match".into()),
        Ok(_) => findings.problem(format!("{name}: does not match {sidecar}")),
        Err(why) => findings.problem(format!("{sidecar}: {why}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_smoke_runs_name_the_target_s_executable_and_else_every_binary_shows_its_version()
    {
        let windows = Target::parse("x86_64-pc-windows-gnu").ok();
        let runs = [SmokeRun {
            bin: "tb".into(),
            args: vec!["check".into()],
            expect: crate::model::smoke::Expect::Success,
            root: Vec::new(),
        }];
        let got = smoke_requests(Some(&runs), windows.as_ref(), &["tb.exe"], Some("1.0.0"));
        assert_eq!(
            got,
            [SmokeRequest {
                exe: "tb.exe".into(),
                args: vec!["check".into()],
                expect: None,
                root: Vec::new(),
            }]
        );
        let got = smoke_requests(
            None,
            windows.as_ref(),
            &["tb.exe", "tbx.exe"],
            Some("1.0.0"),
        );
        assert_eq!(got.len(), 2);
        assert_eq!(
            (
                got[1].exe.as_str(),
                got[1].args.as_slice(),
                got[1].expect.as_deref()
            ),
            ("tbx.exe", &["--version".to_owned()][..], Some("1.0.0"))
        );
    }

    #[test]
    fn finds_triple_and_version_in_archive_names() {
        assert_eq!(
            triple_in("toolbox-0.1.0-x86_64-unknown-linux-musl"),
            Some("x86_64-unknown-linux-musl")
        );
        assert_eq!(
            triple_in("my-cli-1.0.0-rc-1-x86_64-unknown-linux-musl"),
            Some("x86_64-unknown-linux-musl")
        );
        assert_eq!(triple_in("something"), None);
        assert_eq!(stem_of("a-1-x.tar.xz"), "a-1-x");
        assert_eq!(version_in("ripgrep-15.2.0"), Some("15.2.0"));
        assert_eq!(version_in("my-tool2-1.0.0-rc.1"), Some("1.0.0-rc.1"));
        assert_eq!(version_in("tool"), None);
    }
}
