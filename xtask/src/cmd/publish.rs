//! `cargo xtask publish DIR --tag TAG`: the GitHub release of a verified
//! release directory, draft first and public last (runs gh). The tag's one
//! draft is found or made, given what it lacks, every asset is downloaded
//! back and `verify`ed as users will get it, and only then is it published
//! — as a pre-release for a pre-release version, and as the latest release
//! only when no published release has a higher version. A run cut off at
//! any point is finished by running it again; a published release is never
//! changed (with immutable releases it cannot be), only checked.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xtask_inspect::unpack::Limits;

use crate::archive::checksum;
use crate::archive::index::{self, ReleaseIndex, Source};
use crate::archive::rebuilt::{self, Statement};
use crate::check::{self, Findings};
use crate::cmd::{expected, show_finding};
use crate::model::github;
use crate::model::publication::{self, Found, RemoteRelease};
use crate::project::Project;
use crate::run::github::{Gh, Notes};

pub(crate) struct Options {
    pub(crate) dir: PathBuf,
    pub(crate) tag: String,
}

pub(crate) fn run(project: &Project, options: Options) -> Result<()> {
    let source = Source::Dir(options.dir.clone());
    let release = ReleaseIndex::read(&source).context("run `cargo xtask merge` or `dist` first")?;
    let manifest = &release.manifest;
    let tag = options.tag;
    let expected_tag = project.config.tag_pattern.tag_for(&manifest.version);
    if tag != expected_tag {
        bail!(
            "--tag {tag} does not release {} {}, which {} holds: its tag is `{expected_tag}`",
            manifest.app,
            manifest.version,
            options.dir.display()
        );
    }
    let mut ours = BTreeMap::new();
    for name in release.published_files() {
        let bytes = source
            .read(&name, index::FILE_LIMIT)
            .context("every file of the release is published")?;
        ours.insert(name, checksum::sha256_hex(&bytes));
    }

    let gh = Gh { sh: &project.sh };
    let scratch = Scratch::new(&options.dir)?;
    let releases = gh.releases()?;
    let draft = match publication::find(&releases, &tag)? {
        Found::Published(release, strays) => {
            for stray in strays {
                eprintln!(
                    "    note: a draft also claims {tag}, and is left alone: {}",
                    publication::describe(stray)
                );
            }
            return check_published(project, &gh, release, &ours, &scratch);
        }
        Found::Draft(draft) => {
            eprintln!(
                "    resuming the draft of {tag}: {}",
                publication::describe(draft)
            );
            draft.clone()
        }
        Found::Nothing => {
            let prerelease = github::is_prerelease(&manifest.version);
            let notes_file = scratch.notes.clone();
            let rebuild = rebuild_notes(project, &source, &release)?;
            let notes = match (project.release_notes(&manifest.version)?, rebuild) {
                (Some((changelog, text)), rebuild) => {
                    let text = match rebuild {
                        Some(rebuild) => format!("{}\n\n{rebuild}", text.trim_end()),
                        None => text,
                    };
                    fs::write(&notes_file, text).context("writing the release notes")?;
                    eprintln!(
                        "    release notes: {}'s section {}",
                        changelog.display(),
                        manifest.version
                    );
                    Notes::File(&notes_file)
                }
                (None, Some(rebuild)) => {
                    fs::write(&notes_file, rebuild).context("writing the release notes")?;
                    Notes::FileThenGenerated(&notes_file)
                }
                (None, None) => Notes::Generated,
            };
            let kind = if prerelease { "pre-release" } else { "release" };
            eprintln!("    making a draft {kind} {tag}");
            gh.create_draft(&tag, notes, prerelease)?;
            this_draft(&gh.releases()?, &tag)?
        }
    };

    // Fill the draft: what it holds must be ours, byte for byte.
    let mut theirs = download(&gh, &draft, &ours, &scratch.dir)?;
    let comparison = publication::compare(&ours, &draft, &theirs);
    if !comparison.differ.is_empty() || !comparison.foreign.is_empty() {
        let mut names = comparison.differ.clone();
        names.extend(comparison.foreign.iter().cloned());
        bail!(
            "the draft of {tag} holds {} with other bytes than this build (another run's upload?). \
             A draft is not public: delete it on {} and run the publish job again",
            names.join(", "),
            draft.url
        );
    }
    for (id, name) in &comparison.unfinished {
        eprintln!("    removing the cut-off upload of {name} from the draft");
        gh.delete_asset(*id, name)?;
    }
    if !comparison.missing.is_empty() {
        eprintln!(
            "    uploading {} of {} files to the draft",
            comparison.missing.len(),
            ours.len()
        );
        let paths: Vec<PathBuf> = comparison
            .missing
            .iter()
            .map(|f| options.dir.join(f))
            .collect();
        gh.upload(&tag, &paths)?;
    }

    // What users will download, downloaded and verified before anyone can.
    let draft = this_draft(&gh.releases()?, &tag)?;
    let fresh: BTreeMap<String, String> = ours
        .iter()
        .filter(|(name, _)| !theirs.contains_key(*name))
        .map(|(n, h)| (n.clone(), h.clone()))
        .collect();
    theirs.extend(download(&gh, &draft, &fresh, &scratch.dir)?);
    let comparison = publication::compare(&ours, &draft, &theirs);
    if !comparison.complete() {
        let mut names = comparison.missing.clone();
        names.extend(comparison.differ.iter().cloned());
        names.extend(comparison.unfinished.iter().map(|(_, n)| n.clone()));
        bail!(
            "after uploading, the draft of {tag} still lacks or differs in {}; nothing was published: run the publish job again",
            names.join(", ")
        );
    }
    verify_download(project, &scratch.dir, &tag)?;

    let latest =
        publication::becomes_latest(&manifest.version, &project.config.tag_pattern, &releases);
    gh.publish(&tag, latest, github::is_prerelease(&manifest.version))?;
    let releases = gh.releases()?;
    let Found::Published(release, _) = publication::find(&releases, &tag)? else {
        bail!(
            "{tag} was published but GitHub does not list it as published; run the publish job again"
        );
    };
    eprintln!(
        "    published {tag}{}: {}",
        if latest {
            " as the latest release"
        } else {
            ", not as the latest release"
        },
        release.url
    );
    attestation(&gh, release)
}

/// A published release is only checked: complete and verified, or an error
/// saying it cannot be completed here.
fn check_published(
    project: &Project,
    gh: &Gh,
    release: &RemoteRelease,
    ours: &BTreeMap<String, String>,
    scratch: &Scratch,
) -> Result<()> {
    let theirs = download(gh, release, ours, &scratch.dir)?;
    let comparison = publication::compare(ours, release, &theirs);
    if !comparison.complete() {
        bail!(
            "{}",
            publication::published_incomplete(release, &comparison)
        );
    }
    verify_download(project, &scratch.dir, &release.tag)?;
    eprintln!(
        "    the release {} is published and holds all {} files, byte for byte: nothing to do",
        release.tag,
        ours.len()
    );
    attestation(gh, release)
}

/// The one draft of `tag`, just made or filled.
fn this_draft(releases: &[RemoteRelease], tag: &str) -> Result<RemoteRelease> {
    match publication::find(releases, tag)? {
        Found::Draft(draft) => Ok(draft.clone()),
        Found::Nothing => {
            bail!("GitHub does not list the draft of {tag} just made; run the publish job again")
        }
        Found::Published(release, _) => bail!(
            "{tag} was published by someone else while this job ran ({}); run the publish job again to check it",
            release.url
        ),
    }
}

/// The release's uploaded assets among `wanted` downloaded into `dir`: name → SHA-256.
fn download(
    gh: &Gh,
    release: &RemoteRelease,
    wanted: &BTreeMap<String, String>,
    dir: &Path,
) -> Result<BTreeMap<String, String>> {
    let mut hashes = BTreeMap::new();
    for asset in release
        .assets
        .iter()
        .filter(|a| a.uploaded && wanted.contains_key(&a.name))
    {
        let bytes = gh.download(asset)?;
        let path = dir.join(&asset.name);
        fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
        hashes.insert(asset.name.clone(), checksum::sha256_hex(&bytes));
    }
    Ok(hashes)
}

/// `verify` of the downloaded release, as of a local one.
fn verify_download(project: &Project, dir: &Path, tag: &str) -> Result<()> {
    eprintln!("==> verifying {tag} as downloaded from GitHub");
    let expected = expected(project, Limits::default(), false)?;
    let mut show = show_finding;
    let mut findings = Findings::new(&mut show);
    check::release::check(dir, &expected, &mut findings)?;
    findings
        .finish(&format!("{tag} as downloaded"))
        .with_context(|| {
            format!("the files of {tag} on GitHub do not verify; nothing was published")
        })
}

/// `gh release verify` of an immutable release, where gh has it.
fn attestation(gh: &Gh, release: &RemoteRelease) -> Result<()> {
    if !release.immutable {
        eprintln!(
            "    (not an immutable release, so GitHub made no release attestation for `gh release verify`)"
        );
        return Ok(());
    }
    match gh.verify(&release.tag)? {
        None => eprintln!(
            "    (this gh has no `gh release verify`; a newer one checks the release attestation)"
        ),
        Some((true, text)) => {
            eprintln!("    gh release verify {}:\n{}", release.tag, indent(&text))
        }
        Some((false, text)) => bail!(
            "`gh release verify {}` failed:\n{}",
            release.tag,
            indent(&text)
        ),
    }
    Ok(())
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("      {l}\n")).collect()
}

/// A fresh directory beside the release for what is downloaded, removed
/// afterwards, and the notes file.
struct Scratch {
    dir: PathBuf,
    notes: PathBuf,
}

impl Scratch {
    fn new(release: &Path) -> Result<Scratch> {
        let id = std::process::id();
        let dir = release.with_file_name(format!(".publish-download-{id}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let notes = release.with_file_name(format!(".publish-notes-{id}.md"));
        Ok(Scratch { dir, notes })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
        let _ = fs::remove_file(&self.notes);
    }
}

/// What the release notes say of the rebuild, when the release has its
/// statement (`merge --rebuilt`): which files, from which commit, where.
fn rebuild_notes(
    project: &Project,
    source: &Source,
    release: &ReleaseIndex,
) -> Result<Option<String>> {
    if release.sum(rebuilt::FILE_NAME).is_none() {
        return Ok(None);
    }
    let statement = Statement::from_json(&source.text(rebuilt::FILE_NAME)?)
        .with_context(|| format!("{} is not a rebuild statement", rebuilt::FILE_NAME))?;
    let built_on = |triple: &str| {
        project
            .config
            .targets
            .iter()
            .find(|t| t.triple == triple)
            .map_or_else(
                || "its build job".to_owned(),
                |t| github::runner(&project.config, t).to_owned(),
            )
    };
    eprintln!(
        "    release notes: the rebuild of {}",
        statement
            .rebuilds
            .iter()
            .map(|r| r.target.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(Some(statement.notes(&release.manifest, built_on)))
}
