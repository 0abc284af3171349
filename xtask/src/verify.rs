//! `cargo xtask verify`: prove that release archives are intact, safe to
//! unpack, static, and start on a machine without a dynamic loader, or
//! explain in plain words why any binary will not.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::Shell;

use crate::linkage::{self, LinkagePolicy, Report, Verdict};
use crate::manifest::{self, Manifest};
use crate::package::{self, ArchiveFormat, MemberKind};
use crate::plan::{self, Expect, SmokeRun};
use crate::smoke::{self, SmokeOutcome};
use crate::target::{Os, Target};
use crate::{atomic, checksum, installer};

pub(crate) fn run(paths: Vec<PathBuf>) -> Result<()> {
    if paths.is_empty() {
        let (ws, config) = plan::load(&Shell::new()?)?;
        let app = ws.app(&config.app)?;
        let smoke = plan::smoke(&config, app).map_err(|e| plan::config_error(&ws, e))?;
        return verify_dist_dir(&ws.dist_dir(), &smoke);
    }
    let mut problems = Problems::default();
    for path in &paths {
        verify_path(path, &mut problems);
    }
    problems.finish(&format!("{} path(s)", paths.len()))
}

/// Problems found so far; each names the file it is about.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn push(&mut self, problem: String) {
        eprintln!("    FAIL {problem}");
        self.0.push(problem);
    }

    fn finish(self, what: &str) -> Result<()> {
        if self.0.is_empty() {
            eprintln!("==> {what}: all checks passed");
            return Ok(());
        }
        let first = &self.0[0];
        let more = if self.0.len() > 1 {
            format!(" (and {} more above)", self.0.len() - 1)
        } else {
            String::new()
        };
        bail!("verification of {what} failed: {first}{more}")
    }
}

/// Checks `target/dist` as `dist` left it: sums, manifest, archives, binaries.
pub(crate) fn verify_dist_dir(dir: &Path, smoke: &[SmokeRun]) -> Result<()> {
    if !dir.is_dir() {
        bail!(
            "{} does not exist; run `cargo xtask dist` first",
            dir.display()
        );
    }
    let mut problems = Problems::default();
    let mut names: Vec<String> = fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names.iter().filter(|n| atomic::is_partial(n)) {
        problems.push(format!(
            "{name}: left half-written by an interrupted run; run `cargo xtask dist` again"
        ));
    }

    let manifest_path = dir.join(manifest::FILE_NAME);
    let manifest = fs::read_to_string(&manifest_path)
        .with_context(|| {
            format!(
                "reading {}; run `cargo xtask dist` first",
                manifest_path.display()
            )
        })
        .and_then(|text| {
            Manifest::from_json(&text)
                .with_context(|| format!("{} is malformed", manifest_path.display()))
        })?;
    let sums_path = dir.join(checksum::SUMS_FILE);
    let sums = fs::read_to_string(&sums_path)
        .with_context(|| format!("reading {}", sums_path.display()))
        .and_then(|text| {
            checksum::parse_sums(&text)
                .with_context(|| format!("{} is malformed", sums_path.display()))
        })?;

    // Each file is read and hashed once, whichever list names it first.
    let mut files = HashedFiles {
        dir,
        read: BTreeMap::new(),
    };
    for (hex, name) in &sums {
        match files.get(name) {
            Ok((_, actual)) if actual == hex => {}
            Ok(_) => problems.push(format!(
                "{name}: does not match its line in {}",
                checksum::SUMS_FILE
            )),
            Err(err) => problems.push(format!(
                "{name}: listed in {} but cannot be read ({err})",
                checksum::SUMS_FILE
            )),
        }
    }
    for name in names
        .iter()
        .filter(|n| ArchiveFormat::of_file(n).is_some() && !atomic::is_partial(n))
    {
        if !sums.iter().any(|(_, n)| n == name) {
            problems.push(format!(
                "{name}: not listed in {}; it is not part of this release",
                checksum::SUMS_FILE
            ));
        }
        if !manifest.artifacts.iter().any(|a| a.name == *name) {
            problems.push(format!("{name}: not listed in {}", manifest::FILE_NAME));
        }
    }

    for artifact in &manifest.artifacts {
        eprintln!("==> {}", artifact.name);
        let path = dir.join(&artifact.name);
        let (bytes, hex) = match files.get(&artifact.name) {
            Ok(read) => read,
            Err(err) => {
                let listed = manifest::FILE_NAME;
                problems.push(format!(
                    "{}: listed in {listed} but cannot be read ({err})",
                    artifact.name
                ));
                continue;
            }
        };
        if *hex != artifact.sha256 {
            problems.push(format!(
                "{}: sha256 differs from {}",
                artifact.name,
                manifest::FILE_NAME
            ));
        }
        // A line that is there but wrong was reported above.
        if !sums.iter().any(|(_, n)| *n == artifact.name) {
            problems.push(format!(
                "{}: not listed in {}",
                artifact.name,
                checksum::SUMS_FILE
            ));
        }
        check_sidecar(&path, &artifact.name, hex, &mut problems);
        let target = match Target::parse(&artifact.target) {
            Ok(t) => Some(t),
            Err(err) => {
                problems.push(format!("{}: {err:#}", artifact.name));
                None
            }
        };
        let stem = stem_of(&artifact.name);
        let version = manifest.version.as_str();
        let expected = Expected {
            stem,
            target,
            binaries: Some(&artifact.binaries),
            version: Some(version),
            smoke: Some(smoke),
        };
        check_archive(&artifact.name, bytes, &expected, &mut problems);
    }

    for installer in &manifest.installers {
        eprintln!("==> {}", installer.name);
        let (bytes, hex) = match files.get(&installer.name) {
            Ok(read) => read,
            Err(err) => {
                problems.push(format!(
                    "{}: listed in {} but cannot be read ({err})",
                    installer.name,
                    manifest::FILE_NAME
                ));
                continue;
            }
        };
        if *hex != installer.sha256 {
            problems.push(format!(
                "{}: sha256 differs from {}",
                installer.name,
                manifest::FILE_NAME
            ));
        }
        if !sums.iter().any(|(_, n)| *n == installer.name) {
            problems.push(format!(
                "{}: not listed in {}",
                installer.name,
                checksum::SUMS_FILE
            ));
        }
        check_sidecar(
            &dir.join(&installer.name),
            &installer.name,
            hex,
            &mut problems,
        );
        check_installer(&installer.name, bytes, &manifest, &mut problems);
    }
    problems.finish(&dir.display().to_string())
}

/// The installer must be ours and must be able to install every Linux and
/// macOS archive of the release.
fn check_installer(name: &str, bytes: &[u8], manifest: &Manifest, problems: &mut Problems) {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.lines();
    if lines.next() != Some("#!/bin/sh") || lines.next() != Some(installer::HEADER) {
        problems.push(format!(
            "{name}: not an installer written by `cargo xtask dist`"
        ));
        return;
    }
    let mut installs = Vec::new();
    for artifact in &manifest.artifacts {
        let Ok(target) = Target::parse(&artifact.target) else {
            continue;
        };
        if target.os == Os::Windows {
            continue;
        }
        if text.contains(&format!(") echo {} ;;", target.triple)) {
            installs.push(target.triple);
        } else {
            problems.push(format!(
                "{name}: cannot install {}, which this release has",
                artifact.name
            ));
        }
    }
    eprintln!(
        "    installs: {}",
        if installs.is_empty() {
            "nothing from this directory".into()
        } else {
            installs.join(", ")
        }
    );
}

/// Files of the release directory with their SHA-256, read on first use.
struct HashedFiles<'d> {
    dir: &'d Path,
    read: BTreeMap<String, Result<(Vec<u8>, String), String>>,
}

impl HashedFiles<'_> {
    fn get(&mut self, name: &str) -> Result<&(Vec<u8>, String), &str> {
        let dir = self.dir;
        let entry = self.read.entry(name.to_owned()).or_insert_with(|| {
            let bytes = fs::read(dir.join(name)).map_err(|e| e.to_string())?;
            let hex = checksum::sha256_hex(&bytes);
            Ok((bytes, hex))
        });
        entry.as_ref().map_err(String::as_str)
    }
}

/// `<archive>.sha256` next to the archive must name it and match.
fn check_sidecar(path: &Path, name: &str, hex: &str, problems: &mut Problems) {
    let sidecar = format!("{name}.sha256");
    match fs::read_to_string(path.with_file_name(&sidecar)).map(|t| checksum::parse_sums(&t)) {
        Ok(Ok(entries)) if entries.iter().any(|(h, n)| h == hex && n == name) => {
            eprintln!("    checksums match")
        }
        Ok(Ok(_)) => problems.push(format!("{name}: does not match {sidecar}")),
        Ok(Err(err)) => problems.push(format!("{sidecar}: {err:#}")),
        Err(err) => problems.push(format!("{sidecar}: cannot be read ({err})")),
    }
}

fn stem_of(name: &str) -> &str {
    ArchiveFormat::of_file(name)
        .and_then(|f| name.strip_suffix(f.extension()))
        .unwrap_or(name)
}

/// What an archive is expected to be, as far as its name and the release say.
struct Expected<'a> {
    stem: &'a str,
    target: Option<Target>,
    /// The binaries' paths inside the archive (from the manifest), else every
    /// executable file is taken for one.
    binaries: Option<&'a [String]>,
    /// The release's version, else the one in the archive's name.
    version: Option<&'a str>,
    /// The configured smoke runs, else each binary's `--version`.
    smoke: Option<&'a [SmokeRun]>,
}

/// Layout, linkage and smoke checks of one archive's contents.
fn check_archive(name: &str, bytes: &[u8], expected: &Expected<'_>, problems: &mut Problems) {
    let stem = expected.stem;
    let Some(format) = ArchiveFormat::of_file(name) else {
        problems.push(format!("{name}: not a known archive type"));
        return;
    };
    let members = match package::read_archive(format, bytes) {
        Ok(m) => m,
        Err(err) => {
            problems.push(format!("{name}: cannot be unpacked: {err:#}"));
            return;
        }
    };
    let layout = package::layout_problems(&members, stem);
    if layout.is_empty() {
        eprintln!(
            "    layout: one top directory `{stem}/`, {} entries",
            members.len()
        );
    }
    for problem in layout {
        problems.push(format!("{name}: {problem}"));
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
        problems.push(format!("{name}: holds no executable"));
    }
    let policy = LinkagePolicy {
        target: expected.target.clone(),
    };
    let mut checked: Vec<(&str, &[u8], Report)> = Vec::new();
    for path in &wanted {
        let Some(member) = members
            .iter()
            .find(|m| m.path == *path && m.kind == MemberKind::File)
        else {
            problems.push(format!("{name}: binary `{path}` is missing"));
            continue;
        };
        // Windows has no execute bit; zips made there often carry no Unix mode at all.
        if member.mode & 0o111 == 0 && !path.ends_with(".exe") {
            problems.push(format!(
                "{name}: `{path}` is not executable (mode {:o})",
                member.mode
            ));
        }
        let exe = path.rsplit('/').next().unwrap_or(path);
        if let Some(report) =
            check_binary(&format!("{name}: {exe}"), &member.data, &policy, problems)
        {
            checked.push((exe, &member.data, report));
        }
    }

    // The version the binary must print: from the manifest, else from `<package>-<version>-<target>`.
    let version = expected.version.map(str::to_owned).or_else(|| {
        let triple = policy.target.as_ref()?.triple;
        version_in(stem.strip_suffix(&format!("-{triple}"))?).map(str::to_owned)
    });
    let runs: Vec<(String, Vec<String>, Option<String>)> = match expected.smoke {
        Some(runs) => runs
            .iter()
            .map(|run| {
                let exe = match &policy.target {
                    Some(target) => target.exe_name(&run.bin),
                    None => run.bin.clone(),
                };
                let expect = match &run.expect {
                    Expect::Success => None,
                    // `{version}` stands for the release's version.
                    Expect::Text(text) => Some(match &version {
                        Some(v) => text.replace("{version}", v),
                        None => text.clone(),
                    }),
                    Expect::Version => version.clone(),
                };
                (exe, run.args.clone(), expect)
            })
            .collect(),
        None => checked
            .iter()
            .map(|(exe, ..)| {
                (
                    (*exe).to_owned(),
                    vec!["--version".to_owned()],
                    version.clone(),
                )
            })
            .collect(),
    };
    for (exe, args, expect) in runs {
        let Some((_, data, report)) = checked.iter().find(|(e, ..)| *e == exe) else {
            continue; // missing or unreadable: reported above
        };
        if expect.is_none() && expected.smoke.is_none() {
            eprintln!(
                "    smoke test skipped for {exe}: the archive name does not say which version to expect"
            );
            continue;
        }
        let label = format!("{name}: {exe}");
        smoke_check(
            &label,
            data,
            report,
            &exe,
            &args,
            expect.as_deref(),
            problems,
        );
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

/// Prints the linkage report and verdict of one binary; returns the report
/// unless the file could not be read as a binary at all.
fn check_binary(
    label: &str,
    data: &[u8],
    policy: &LinkagePolicy,
    problems: &mut Problems,
) -> Option<Report> {
    match linkage::inspect(data) {
        Ok(report) => {
            let verdict = policy.judge(&report);
            eprint!("{}", indent(&linkage::render(label, &report, &verdict)));
            if let Verdict::Fail(reasons) = verdict {
                problems.push(format!("{label}: {}", reasons.join("; ")));
            }
            Some(report)
        }
        Err(err) => {
            problems.push(format!("{label}: {err:#}"));
            None
        }
    }
}

fn smoke_check(
    label: &str,
    data: &[u8],
    report: &Report,
    exe: &str,
    args: &[String],
    expect: Option<&str>,
    problems: &mut Problems,
) {
    match smoke::run(data, report.arch(), report.os(), exe, args, expect) {
        SmokeOutcome::Passed(line) => eprintln!("    smoke: {line} (from an empty root)"),
        SmokeOutcome::NotApplicable(why) => eprintln!("    smoke test not run here: {why}"),
        SmokeOutcome::Skipped(why) if smoke::skips_fail() => problems.push(format!(
            "{label}: smoke test could not run under CI=true: {why}"
        )),
        SmokeOutcome::Skipped(why) => eprintln!("    smoke test SKIPPED: {why}"),
        SmokeOutcome::Failed(why) => problems.push(format!("{label}: smoke test failed: {why}")),
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

/// A path on the command line: an archive, or any binary on the machine.
fn verify_path(path: &Path, problems: &mut Problems) {
    let shown = path.display().to_string();
    eprintln!("==> {shown}");
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(err) => return problems.push(format!("{shown}: cannot be read ({err})")),
    };
    if meta.is_dir() {
        return problems.push(format!(
            "{shown}: is a directory; pass a binary or a release archive (or no path to check target/dist)"
        ));
    }
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(err) => return problems.push(format!("{shown}: cannot be read ({err})")),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if ArchiveFormat::of_file(&name).is_some() {
        let hex = checksum::sha256_hex(&bytes);
        if path.with_file_name(format!("{name}.sha256")).exists() {
            check_sidecar(path, &name, &hex, problems);
        }
        let stem = stem_of(&name);
        let target = triple_in(stem).and_then(|t| Target::parse(t).ok());
        let expected = Expected {
            stem,
            target,
            binaries: None,
            version: None,
            smoke: None,
        };
        check_archive(&name, &bytes, &expected, problems);
    } else {
        check_binary(&shown, &bytes, &LinkagePolicy { target: None }, problems);
    }
}

/// The target triple an archive name ends with, if any: `<bin>-<version>-<triple>`.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_triple_in_archive_names() {
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
    }
}
