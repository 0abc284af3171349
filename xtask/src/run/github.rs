//! GitHub releases through the GitHub CLI (`gh`, which the runners carry
//! and which reads GH_TOKEN and GH_REPO): the repository's releases
//! listed, a draft made and filled, its assets fetched back, then published.
//! Releases are found in the REST listing and assets fetched by id, so a
//! draft and a published release of one tag are never confused.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::model::publication::{self, RemoteAsset, RemoteRelease};

/// The REST path of the repository's releases; gh fills in `{owner}` and
/// `{repo}` from GH_REPO.
const RELEASES: &str = "repos/{owner}/{repo}/releases";

/// Where the release notes of a new draft come from.
pub(crate) enum Notes<'a> {
    /// A file of Markdown (a CHANGELOG section).
    File(&'a Path),
    /// GitHub's list of merged pull requests.
    Generated,
    /// A file of Markdown above GitHub's list (gh joins them: create.go,
    /// `opts.Body + "\n" + generatedNotes.Body`).
    FileThenGenerated(&'a Path),
}

pub(crate) struct Gh<'a> {
    pub(crate) sh: &'a Shell,
}

impl Gh<'_> {
    /// Every release of the repository, drafts included (they are listed
    /// to those who may push, as the token may).
    pub(crate) fn releases(&self) -> Result<Vec<RemoteRelease>> {
        let list = format!("{RELEASES}?per_page=100");
        let out = cmd!(self.sh, "gh api --paginate {list}")
            .quiet()
            .ignore_status()
            .output()
            .context("running `gh api` to list the releases (is the GitHub CLI installed?)")?;
        if !out.status.success() {
            bail!(
                "listing the repository's releases with `gh api` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        publication::parse_listing(&String::from_utf8_lossy(&out.stdout))
    }

    /// A new draft release of `tag`, which must exist on GitHub already.
    pub(crate) fn create_draft(&self, tag: &str, notes: Notes, prerelease: bool) -> Result<()> {
        let notes: Vec<String> = match notes {
            Notes::File(path) => vec!["--notes-file".into(), path.display().to_string()],
            Notes::Generated => vec!["--generate-notes".into()],
            Notes::FileThenGenerated(path) => vec![
                "--notes-file".into(),
                path.display().to_string(),
                "--generate-notes".into(),
            ],
        };
        let pre: &[&str] = if prerelease { &["--prerelease"] } else { &[] };
        cmd!(
            self.sh,
            "gh release create {tag} --draft --verify-tag --title {tag} {notes...} {pre...}"
        )
        .quiet()
        .ignore_stdout()
        .run()
        .with_context(|| format!("`gh release create {tag} --draft` failed"))
    }

    /// `paths` uploaded to the release gh finds by `tag` (the one draft:
    /// `publish` has made sure there is no other).
    pub(crate) fn upload(&self, tag: &str, paths: &[PathBuf]) -> Result<()> {
        cmd!(self.sh, "gh release upload {tag} {paths...}")
            .quiet()
            .run()
            .with_context(|| format!("`gh release upload {tag}` failed; run the publish job again to finish the draft"))
    }

    /// An asset's bytes (a draft's too, which only the token may read).
    pub(crate) fn download(&self, asset: &RemoteAsset) -> Result<Vec<u8>> {
        let id = asset.id.to_string();
        let path = format!("{RELEASES}/assets/{id}");
        let accept = "Accept: application/octet-stream";
        let out = cmd!(self.sh, "gh api -H {accept} {path}")
            .quiet()
            .ignore_status()
            .output()
            .with_context(|| format!("running `gh api` to download {}", asset.name))?;
        if !out.status.success() {
            bail!(
                "downloading {} (asset {id}) failed: {}",
                asset.name,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(out.stdout)
    }

    /// Removes an asset whose upload was cut off, from a draft.
    pub(crate) fn delete_asset(&self, id: u64, name: &str) -> Result<()> {
        let path = format!("{RELEASES}/assets/{id}");
        cmd!(self.sh, "gh api -X DELETE {path}")
            .quiet()
            .ignore_stdout()
            .run()
            .with_context(|| {
                format!("deleting the unfinished upload of {name} (asset {id}) from the draft")
            })
    }

    /// The draft of `tag` published; `latest` is said explicitly, as
    /// GitHub's default would make a backport the latest release, and so
    /// is `prerelease`, whoever made the draft.
    pub(crate) fn publish(&self, tag: &str, latest: bool, prerelease: bool) -> Result<()> {
        let latest = format!("--latest={latest}");
        let prerelease = format!("--prerelease={prerelease}");
        cmd!(
            self.sh,
            "gh release edit {tag} --draft=false {prerelease} {latest}"
        )
        .quiet()
        .ignore_stdout()
        .run()
        .with_context(|| format!("publishing the draft of {tag} failed; run the publish job again"))
    }

    /// `gh release verify TAG`'s verdict on an immutable release's
    /// attestation, or `None` when this gh has no such command.
    pub(crate) fn verify(&self, tag: &str) -> Result<Option<(bool, String)>> {
        let help = cmd!(self.sh, "gh release verify --help")
            .quiet()
            .ignore_status()
            .ignore_stdout()
            .ignore_stderr()
            .output()
            .context("running `gh release verify --help`")?;
        if !help.status.success() {
            return Ok(None);
        }
        let out = cmd!(self.sh, "gh release verify {tag}")
            .quiet()
            .ignore_status()
            .output()
            .context("running `gh release verify`")?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(Some((out.status.success(), text.trim().to_owned())))
    }
}
