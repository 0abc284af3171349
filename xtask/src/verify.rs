//! `cargo xtask verify`: prove that release archives are intact, safe to
//! unpack, static, and start on a machine without a dynamic loader, or
//! explain in plain words why any binary will not. It is pointed at
//! downloads people distrust: it opens regular files only, reads archives
//! as tar and unzip would unpack them with limits on size, shows no name
//! raw, and runs a binary only after every static check passed, only in the
//! sandbox, and — for anything `dist` did not build — only with `--run`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::Shell;

use crate::files::{read_regular, read_regular_following};
use crate::linkage::{self, LinkagePolicy, Report, Verdict};
use crate::manifest::{self, Manifest};
use crate::package::ArchiveFormat;
use crate::plan::{self, Expect, SmokeRun};
use crate::report::escape;
use crate::smoke::{self, Provenance, SmokeOutcome};
use crate::target::Target;
use crate::unpack::{self, Limits, MemberKind};
use crate::{atomic, checksum, installer};

pub(crate) struct Options {
    pub(crate) paths: Vec<PathBuf>,
    /// Run the binaries of given paths (in the sandbox) too.
    pub(crate) run: bool,
    /// Overrides the unpacked-size limits, in MiB.
    pub(crate) max_unpacked_mib: Option<u64>,
}

/// What the configuration says a release directory must hold.
pub(crate) struct Expected {
    pub(crate) smoke: Vec<SmokeRun>,
    /// The installer's name and the exact text the configuration generates.
    pub(crate) installer: (String, String),
    pub(crate) limits: Limits,
}

pub(crate) fn run(options: Options) -> Result<()> {
    let mut limits = Limits::default();
    if let Some(mib) = options.max_unpacked_mib {
        limits = Limits {
            total: mib << 20,
            member: mib << 20,
        };
    }
    if options.paths.is_empty() {
        let (ws, config) = plan::load(&Shell::new()?)?;
        let app = ws.app(&config.app)?;
        let smoke = plan::smoke(&config, app).map_err(|e| plan::config_error(&ws, e))?;
        let installer = installer::for_config(&config, app)?;
        return verify_dist_dir(
            &ws.dist_dir(),
            &Expected {
                smoke,
                installer,
                limits,
            },
        );
    }
    let mut problems = Problems::default();
    for path in &options.paths {
        verify_path(path, options.run, limits, &mut problems);
    }
    // Said only when a run could have followed: failed checks never run anything.
    if !options.run && problems.count() == 0 {
        eprintln!(
            "    (nothing was run: `verify --run PATH` starts the binaries too, in a sandbox)"
        );
    }
    problems.finish(&format!("{} path(s)", options.paths.len()))
}

/// Problems found so far; each names the file it is about, escaped.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn push(&mut self, problem: String) {
        let problem = escape(&problem);
        eprintln!("    FAIL {problem}");
        self.0.push(problem);
    }

    fn count(&self) -> usize {
        self.0.len()
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

/// A name `SHA256SUMS` or the manifest may hold: a plain file of the
/// release directory, not a path out of it.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control)
}

/// Checks a release directory as `dist` or `merge` left it: sums,
/// manifest, archives, binaries, the installer, and nothing else in it.
pub(crate) fn verify_dist_dir(dir: &Path, expected: &Expected) -> Result<()> {
    if !dir.is_dir() {
        bail!(
            "{} does not exist; run `cargo xtask dist` first",
            dir.display()
        );
    }
    let mut problems = Problems::default();
    let text_limit = 16 << 20;
    let read_text = |name: &str| -> Result<String> {
        let path = dir.join(name);
        let bytes = read_regular(&path, text_limit)
            .map_err(|why| anyhow::anyhow!("{} {why}", path.display()))
            .with_context(|| "run `cargo xtask dist` first".to_owned())?;
        String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8 text", path.display()))
    };
    let manifest = Manifest::from_json(&read_text(manifest::FILE_NAME)?)
        .with_context(|| format!("{} is malformed", dir.join(manifest::FILE_NAME).display()))?;
    let sums = checksum::parse_sums(&read_text(checksum::SUMS_FILE)?)
        .with_context(|| format!("{} is malformed", dir.join(checksum::SUMS_FILE).display()))?;

    // Every file of the directory must belong to the release.
    let mut known: Vec<String> = vec![manifest::FILE_NAME.into(), checksum::SUMS_FILE.into()];
    for name in manifest
        .artifacts
        .iter()
        .map(|a| &a.name)
        .chain(manifest.installers.iter().map(|i| &i.name))
    {
        if !plain_name(name) {
            problems.push(format!(
                "{}: names `{name}`, which is not a plain file name",
                manifest::FILE_NAME
            ));
            continue;
        }
        known.push(name.clone());
        known.push(format!("{name}.sha256"));
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
            problems.push(format!(
                "{name}: left half-written by an interrupted run; run `cargo xtask dist` again"
            ));
        } else if kind.is_dir() || known.contains(name) || ours_to_ignore(name) {
        } else {
            problems.push(format!(
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
    for (hex, name) in &sums {
        if !plain_name(name) {
            problems.push(format!(
                "{}: names `{name}`, which is not a plain file name",
                checksum::SUMS_FILE
            ));
            continue;
        }
        match files.get(name) {
            Ok((_, actual)) if actual == hex => {}
            Ok(_) => problems.push(format!(
                "{name}: does not match its line in {}",
                checksum::SUMS_FILE
            )),
            Err(err) => problems.push(format!(
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
            problems.push(format!(
                "{name}: not listed in {}; it is not part of this release",
                checksum::SUMS_FILE
            ));
        }
        if !manifest.artifacts.iter().any(|a| a.name == *name) {
            problems.push(format!("{name}: not listed in {}", manifest::FILE_NAME));
        }
    }

    for artifact in manifest.artifacts.iter().filter(|a| plain_name(&a.name)) {
        eprintln!("==> {}", artifact.name);
        let before = problems.count();
        let (bytes, hex) = match files.get(&artifact.name) {
            Ok(read) => read,
            Err(err) => {
                problems.push(format!(
                    "{}: listed in {} but it {err}",
                    artifact.name,
                    manifest::FILE_NAME
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
        check_sidecar(dir, &artifact.name, hex, &mut problems);
        let target = match Target::parse(&artifact.target) {
            Ok(t) => Some(t),
            Err(err) => {
                problems.push(format!("{}: {err:#}", artifact.name));
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
            limits: expected.limits,
        };
        check_archive(
            &artifact.name,
            bytes,
            &expected_archive,
            before,
            &mut problems,
        );
    }

    let (installer_name, installer_text) = &expected.installer;
    for installer in manifest.installers.iter().filter(|i| plain_name(&i.name)) {
        eprintln!("==> {}", installer.name);
        let (bytes, hex) = match files.get(&installer.name) {
            Ok(read) => read,
            Err(err) => {
                problems.push(format!(
                    "{}: listed in {} but it {err}",
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
        check_sidecar(dir, &installer.name, hex, &mut problems);
        // It is generated from the configuration alone: any other byte is a change someone made.
        if installer.name != *installer_name {
            problems.push(format!(
                "{}: the configuration's installer is {installer_name}",
                installer.name
            ));
        } else if bytes != installer_text.as_bytes() {
            problems.push(format!(
                "{}: differs from the installer dist-workspace.toml generates; it was changed after `dist` wrote it",
                installer.name
            ));
        } else {
            eprintln!("    byte for byte the installer dist-workspace.toml generates");
        }
    }
    problems.finish(&dir.display().to_string())
}

/// Files `dist` keeps in its output directory that are not published.
fn ours_to_ignore(name: &str) -> bool {
    name == ".cargo-lock"
        || name == crate::dist::LOCK_FILE
        || (name.starts_with('.') && name.ends_with(".inputs"))
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

/// `<name>.sha256` next to the file must hold exactly one line naming it,
/// with its hash: the installer reads it the same way.
fn check_sidecar(dir: &Path, name: &str, hex: &str, problems: &mut Problems) {
    let sidecar = format!("{name}.sha256");
    let text = match read_regular(&dir.join(&sidecar), 1 << 16) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(why) => return problems.push(format!("{sidecar}: {why}")),
    };
    match checksum::parse_sidecar(&text, name) {
        Ok(found) if found == hex => eprintln!("    checksums match"),
        Ok(_) => problems.push(format!("{name}: does not match {sidecar}")),
        Err(why) => problems.push(format!("{sidecar}: {why}")),
    }
}

fn stem_of(name: &str) -> &str {
    ArchiveFormat::of_file(name)
        .and_then(|f| name.strip_suffix(f.extension()))
        .unwrap_or(name)
}

/// What an archive is expected to be, as far as its name and the release say.
struct ExpectedArchive<'a> {
    stem: &'a str,
    target: Option<Target>,
    /// The binaries' paths inside the archive (from the manifest), else every
    /// executable file is taken for one.
    binaries: Option<&'a [String]>,
    /// The release's version, else the one in the archive's name.
    version: Option<&'a str>,
    /// The configured smoke runs, else each binary's `--version`.
    smoke: Option<&'a [SmokeRun]>,
    provenance: Provenance,
    /// Whether to run the binaries at all.
    run: bool,
    limits: Limits,
}

/// Unpacking, layout, linkage, and — only when all of those passed —
/// smoke checks of one archive. `before` is how many problems there were
/// before this archive's checks began.
fn check_archive(
    name: &str,
    bytes: &[u8],
    expected: &ExpectedArchive<'_>,
    before: usize,
    problems: &mut Problems,
) {
    let stem = expected.stem;
    let Some(format) = ArchiveFormat::of_file(name) else {
        problems.push(format!("{name}: not a known archive type"));
        return;
    };
    let unpacked = match unpack::read(format, bytes, expected.limits) {
        Ok(u) => u,
        Err(err) => {
            problems.push(format!("{name}: cannot be unpacked safely: {err:#}"));
            return;
        }
    };
    let members = unpacked.members;
    let layout: Vec<String> = unpacked
        .problems
        .into_iter()
        .chain(unpack::layout_problems(&members, stem))
        .collect();
    if layout.is_empty() {
        eprintln!(
            "    layout: one top directory `{}/`, {} entries, as tar and unzip unpack it",
            escape(stem),
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

    // Nothing runs before every static check of the release passed.
    if problems.count() > before {
        eprintln!("    smoke test not run: the checks above failed");
        return;
    }
    if !expected.run {
        return;
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
        let label = format!("{name}: {exe}");
        smoke_check(
            &label,
            data,
            report,
            &exe,
            &args,
            expect.as_deref(),
            expected.provenance,
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
            if let (Some(target), Some(h)) = (&policy.target, &report.hardening)
                && target.is_musl()
                && !h.pie
                && !target.static_pie()
            {
                eprintln!(
                    "      note:        Rust links {} as a fixed-address executable (its target has no static-pie, \
                     unlike x86_64-unknown-linux-musl): no ASLR for this program",
                    target.triple
                );
            }
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

#[allow(clippy::too_many_arguments)]
fn smoke_check(
    label: &str,
    data: &[u8],
    report: &Report,
    exe: &str,
    args: &[String],
    expect: Option<&str>,
    provenance: Provenance,
    problems: &mut Problems,
) {
    match smoke::run(
        data,
        report.arch(),
        report.os(),
        exe,
        args,
        expect,
        provenance,
    ) {
        SmokeOutcome::Passed(line) => {
            eprintln!("    smoke: {line} (sandboxed: an empty root, no network)")
        }
        SmokeOutcome::NotApplicable(why) => eprintln!("    smoke test not run here: {why}"),
        SmokeOutcome::Skipped(why) if smoke::skips_fail() => problems.push(format!(
            "{label}: smoke test could not run under CI=true: {why}"
        )),
        SmokeOutcome::Skipped(why) => eprintln!("    smoke test SKIPPED: {}", escape(&why)),
        SmokeOutcome::Failed(why) => problems.push(format!("{label}: smoke test failed: {why}")),
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

/// A path on the command line: an archive, or any binary on the machine.
fn verify_path(path: &Path, run: bool, limits: Limits, problems: &mut Problems) {
    let shown = path.display().to_string();
    eprintln!("==> {}", escape(&shown));
    if path.is_dir() {
        return problems.push(format!(
            "{shown}: is a directory; pass a binary or a release archive (or no path to check target/dist)"
        ));
    }
    // A link given on the command line is followed, but only to a regular file.
    let bytes = match read_regular_following(path, limits.total) {
        Ok(b) => b,
        Err(err) => return problems.push(format!("{shown}: {err}")),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let before = problems.count();
    if ArchiveFormat::of_file(&name).is_some() {
        let hex = checksum::sha256_hex(&bytes);
        let dir = path.parent().unwrap_or(Path::new("."));
        if dir.join(format!("{name}.sha256")).exists() {
            check_sidecar(dir, &name, &hex, problems);
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
            limits,
        };
        check_archive(&name, &bytes, &expected, before, problems);
    } else if let Some(report) =
        check_binary(&shown, &bytes, &LinkagePolicy { target: None }, problems)
        && run
        && problems.count() == before
    {
        let exe = if name.is_empty() {
            "binary".to_owned()
        } else {
            name
        };
        let args = ["--version".to_owned()];
        smoke_check(
            &shown,
            &bytes,
            &report,
            &exe,
            &args,
            None,
            Provenance::Untrusted,
            problems,
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn only_plain_names_of_the_release_directory() {
        for ok in ["SHA256SUMS", "tool-1.0.0-x86_64-unknown-linux-musl.tar.xz"] {
            assert!(plain_name(ok), "{ok}");
        }
        for bad in [
            "../../etc/shadow",
            "/etc/shadow",
            "a/b",
            "a\\b",
            ".hidden",
            "..",
            "",
            "x\ny",
        ] {
            assert!(!plain_name(bad), "{bad:?}");
        }
    }
}
