//! `cargo xtask reproduce [RELEASE]`: rebuild a published release from
//! this checkout and compare it, archive by archive, with what was
//! published. RELEASE is a directory or base URL holding the release's
//! `SHA256SUMS` and `dist-manifest.json`; by default the GitHub release of
//! the app's version. The checkout must be the manifest's commit, unchanged:
//! this command checks out nothing itself.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xtask_inspect::format::ArchiveFormat;
use xtask_inspect::target::Os;
use xtask_inspect::unpack::Limits;

use crate::archive::files::read_regular;
use crate::archive::manifest::{self, Manifest};
use crate::archive::{checksum, release};
use crate::build::{artifact, compile};
use crate::check::release::plain_name;
use crate::check::{Findings, rebuild};
use crate::cmd::{UsageError, show_finding};
use crate::generate::installer;
use crate::model::plan;
use crate::project::{Project, stamp};
use crate::run::download;
use crate::run::exec::on_path;

pub(crate) struct Options {
    /// A directory or an http(s) base URL; the GitHub release when absent.
    pub(crate) release: Option<String>,
    /// Only these targets of the release.
    pub(crate) targets: Vec<String>,
}

/// Where the published files are read from.
enum Published {
    Dir(PathBuf),
    Url(String),
}

impl Published {
    fn get(&self, name: &str, limit: u64) -> Result<Vec<u8>> {
        match self {
            Published::Dir(dir) => {
                let path = dir.join(name);
                read_regular(&path, limit)
                    .map_err(|why| anyhow::anyhow!("{} {why}", path.display()))
            }
            Published::Url(base) => {
                download::fetch(&format!("{base}/{name}"), limit).map_err(|e| {
                    let offline = e
                        .downcast_ref::<download::Failed>()
                        .is_some_and(|f| f.unreachable);
                    if offline {
                        anyhow::anyhow!(
                            "{e:#}; without network, download the release's files into a directory \
                         and give its path instead: `cargo xtask reproduce DIR`"
                        )
                    } else {
                        e
                    }
                })
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            Published::Dir(dir) => dir.display().to_string(),
            Published::Url(base) => base.clone(),
        }
    }
}

pub(crate) fn run(project: &Project, options: Options) -> Result<()> {
    let Project { ws, config, .. } = project;
    let app = project.app();
    let published = match options.release {
        Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
            Published::Url(url.trim_end_matches('/').to_owned())
        }
        Some(dir) => Published::Dir(PathBuf::from(dir)),
        None => match project.repository()? {
            Some(repository) => Published::Url(format!(
                "{repository}/releases/download/{}",
                config.tag_pattern.tag_for(&app.version)
            )),
            None => bail!(UsageError(
                "no repository in dist-workspace.toml or the app's Cargo.toml to find the release at; \
                 give the release's directory or URL: `cargo xtask reproduce <DIR|URL>`"
                    .into()
            )),
        },
    };
    let source = published.describe();
    eprintln!("==> reading the release at {source}");
    let text = |name: &str| -> Result<String> {
        let bytes = published.get(name, 16 << 20)?;
        String::from_utf8(bytes).with_context(|| format!("{source}/{name} is not UTF-8 text"))
    };
    let manifest = Manifest::from_json(&text(manifest::FILE_NAME)?)
        .with_context(|| format!("{source}/{} is malformed", manifest::FILE_NAME))?;
    let sums = checksum::parse_sums(&text(checksum::SUMS_FILE)?)
        .with_context(|| format!("{source}/{} is malformed", checksum::SUMS_FILE))?;

    check_checkout(project, &manifest)?;

    let mut show = show_finding;
    let mut findings = Findings::new(&mut show);
    // The published hash is the one in SHA256SUMS, which is what users check
    // downloads against; a manifest that disagrees is itself a finding.
    let published_sum = |name: &str, manifest_sha: &str, findings: &mut Findings<'_>| {
        let listed = sums.iter().find(|(_, n)| n == name).map(|(h, _)| h.clone());
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

    // The manifest's targets, as far as this checkout configures them and
    // this machine can build them.
    let mut selected = Vec::new();
    for a in &manifest.artifacts {
        if !options.targets.is_empty() && !options.targets.contains(&a.target) {
            continue;
        }
        if !config.targets.iter().any(|t| t.triple == a.target) {
            findings.problem(format!(
                "{}: its target {} is not in [dist].targets of this checkout",
                a.name, a.target
            ));
            continue;
        }
        selected.push(a.target.clone());
    }
    if let Some(unknown) = options
        .targets
        .iter()
        .find(|t| !manifest.artifacts.iter().any(|a| a.target == **t))
    {
        bail!(UsageError(format!(
            "the release at {source} has no archive for --target {unknown}"
        )));
    }
    let mut plan = project.plan(&selected, manifest.source_date_epoch)?;
    let skipped = plan::keep_buildable(&mut plan, false, Os::host(), on_path)?;
    // From scratch, in a target directory of its own: nothing a local
    // build left behind may stand in for the rebuild.
    let work = ws.target_dir.join("reproduce");
    let out = work.join("dist");
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let _lock = release::lock(&out)?;
    let cargo_target = work.join("target");
    if cargo_target.exists() {
        std::fs::remove_dir_all(&cargo_target)
            .with_context(|| format!("removing the last rebuild, {}", cargo_target.display()))?;
    }
    let rebuilt = if plan.artifacts.is_empty() {
        Vec::new()
    } else {
        let stamp = compile::Stamp {
            source_date_epoch: manifest.source_date_epoch,
            commit: manifest.commit.clone(),
        };
        artifact::build_archives(project, &plan, stamp, &cargo_target, &out)?
    };

    for published_artifact in &manifest.artifacts {
        let name = &published_artifact.name;
        if !selected.contains(&published_artifact.target) {
            continue;
        }
        findings.heading(name.clone());
        if let Some((_, why)) = skipped
            .iter()
            .find(|(t, _)| *t == published_artifact.target)
        {
            findings.note(format!("not rebuilt on this machine: {why}"));
            continue;
        }
        let Some(ours) = rebuilt.iter().find(|r| r.name == *name) else {
            findings.problem(format!(
                "{name}: this checkout builds no archive of that name for {}",
                published_artifact.target
            ));
            continue;
        };
        let Some(expected) = published_sum(name, &published_artifact.sha256, &mut findings) else {
            continue;
        };
        // Its SBOM is made from the same inputs: it must come out the same too.
        if let (Some(theirs), Some(mine)) = (&published_artifact.sbom, &ours.sbom) {
            match published_sum(&theirs.name, &theirs.sha256, &mut findings) {
                Some(listed) if listed == mine.sha256 => {
                    findings.note(format!("{}: identical", theirs.name))
                }
                Some(_) => findings.problem(format!(
                    "{}: the rebuilt SBOM differs from the published one (compare {} with it)",
                    theirs.name,
                    out.join(&mine.name).display()
                )),
                None => {}
            }
        }
        if ours.sha256 == expected {
            findings.note(format!("identical (sha256 {expected})"));
            continue;
        }
        let cause = rebuild::likely_cause(&published_artifact.toolchain, &ours.toolchain);
        let how = differences(&published, name, &expected, &out.join(name));
        findings.problem(format!(
            "{name}: the rebuild differs (sha256 {} published, {} rebuilt): {how}. Likely cause: {cause}",
            &expected[..12.min(expected.len())],
            &ours.sha256[..12]
        ));
    }

    // The installer is made from the configuration alone.
    let (installer_name, installer_text) = installer::for_config(config, app)?;
    if let Some(i) = manifest
        .installers
        .iter()
        .find(|i| i.name == installer_name)
    {
        findings.heading(installer_name.clone());
        if let Some(expected) = published_sum(&i.name, &i.sha256, &mut findings) {
            if checksum::sha256_hex(installer_text.as_bytes()) == expected {
                findings.note("identical to the installer this checkout generates".into());
            } else {
                findings.problem(format!(
                    "{installer_name}: differs from the installer this checkout's dist-workspace.toml generates"
                ));
            }
        }
    }

    if rebuilt.is_empty() {
        findings.problem(format!(
            "no archive of the release at {source} could be rebuilt on this machine (reasons above)"
        ));
    }
    findings.finish(&format!(
        "the rebuild of {} {} against {source}",
        manifest.app, manifest.version
    ))
}

/// The checkout must be the release's app, version and commit, unchanged.
fn check_checkout(project: &Project, manifest: &Manifest) -> Result<()> {
    let app = project.app();
    if (manifest.app.as_str(), manifest.version.as_str())
        != (app.name.as_str(), app.version.as_str())
    {
        bail!(
            "the release is {} {}, but this checkout builds {} {}; check out the release's commit ({}) first",
            manifest.app,
            manifest.version,
            app.name,
            app.version,
            manifest.commit
        );
    }
    if manifest.commit == "unknown" {
        bail!(
            "the release's {} names no commit (it was built outside git); there is nothing to check this checkout against",
            manifest::FILE_NAME
        );
    }
    let checkout = stamp::checkout(&project.sh, &project.ws.root)?;
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
        bail!(
            "this checkout has changes to {} file(s) ({}{}); a rebuild must start from the commit as it is: \
             commit or stash them first",
            checkout.changed.len(),
            shown.join(", "),
            if checkout.changed.len() > shown.len() {
                ", …"
            } else {
                ""
            }
        );
    }
    eprintln!("==> checkout is {}, unchanged", manifest.commit);
    Ok(())
}

/// Which members of the published archive differ from the rebuilt one,
/// in a sentence.
fn differences(published: &Published, name: &str, expected: &str, rebuilt: &Path) -> String {
    let Some(format) = ArchiveFormat::of_file(name) else {
        return "not an archive this tool reads".into();
    };
    if !plain_name(name) {
        return "not a plain file name, so it was not downloaded".into();
    }
    let limits = Limits::default();
    let published_bytes = match published.get(name, limits.total) {
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
    let lines = rebuild::member_differences(format, &published_bytes, &rebuilt_bytes, limits);
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
