//! A GitHub release as `publish` finds it, decided: which release of a tag
//! to complete (the published one, or the one draft), which files it lacks
//! or holds with other bytes, whether it becomes "latest", and what to say
//! when a published release cannot be completed. Read from GitHub's REST
//! listing (`GET /repos/{owner}/{repo}/releases`), so drafts, whose tag
//! does not exist yet, are seen beside published releases.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::model::config::TagPattern;
use crate::model::github::is_prerelease;

/// One release of the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RemoteRelease {
    pub(crate) id: u64,
    pub(crate) tag: String,
    pub(crate) draft: bool,
    pub(crate) prerelease: bool,
    /// Published in a repository with immutable releases: its assets and tag
    /// can no longer change (GitHub's `immutable` field, since 2025).
    pub(crate) immutable: bool,
    pub(crate) url: String,
    pub(crate) created_at: String,
    pub(crate) assets: Vec<RemoteAsset>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RemoteAsset {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) size: u64,
    /// `state: "uploaded"`; an upload cut off leaves `"open"`.
    pub(crate) uploaded: bool,
}

/// The releases in `text`: the output of `gh api --paginate`, one JSON
/// array per page, one after the other.
pub(crate) fn parse_listing(text: &str) -> Result<Vec<RemoteRelease>> {
    let mut releases = Vec::new();
    for page in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
        let page = page.context("reading GitHub's list of releases (not JSON)")?;
        let Value::Array(items) = page else {
            bail!(
                "GitHub's list of releases is not a JSON array: {}",
                clip(&page.to_string())
            );
        };
        for item in &items {
            releases.push(release_of(item).with_context(|| {
                format!(
                    "reading a release in GitHub's list: {}",
                    clip(&item.to_string())
                )
            })?);
        }
    }
    Ok(releases)
}

fn release_of(item: &Value) -> Result<RemoteRelease> {
    let text = |key: &str| {
        item[key]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("no `{key}`"))
    };
    let mut assets = Vec::new();
    for asset in item["assets"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        assets.push(RemoteAsset {
            id: asset["id"].as_u64().context("an asset has no `id`")?,
            name: asset["name"]
                .as_str()
                .context("an asset has no `name`")?
                .to_owned(),
            size: asset["size"].as_u64().unwrap_or_default(),
            uploaded: asset["state"].as_str().is_none_or(|s| s == "uploaded"),
        });
    }
    Ok(RemoteRelease {
        id: item["id"].as_u64().context("no `id`")?,
        tag: text("tag_name")?,
        draft: item["draft"].as_bool().unwrap_or(false),
        prerelease: item["prerelease"].as_bool().unwrap_or(false),
        immutable: item["immutable"].as_bool().unwrap_or(false),
        url: text("html_url").unwrap_or_default(),
        created_at: text("created_at").unwrap_or_default(),
        assets,
    })
}

fn clip(text: &str) -> String {
    text.chars().take(120).collect()
}

/// Which release of the tag there is to complete.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found<'a> {
    Nothing,
    Draft(&'a RemoteRelease),
    /// GitHub allows one published release per tag; drafts that also
    /// claim the tag are named, never used.
    Published(&'a RemoteRelease, Vec<&'a RemoteRelease>),
}

/// The release of `tag` among `releases`. Two drafts claiming one tag are
/// refused: which one gh finds by tag is not defined (it asks GraphQL for
/// "the" release of a tag), so completing one could publish the other.
pub(crate) fn find<'a>(releases: &'a [RemoteRelease], tag: &str) -> Result<Found<'a>> {
    let of_tag = releases.iter().filter(|r| r.tag == tag);
    let (drafts, published): (Vec<_>, Vec<_>) = of_tag.partition(|r| r.draft);
    if let Some(first) = published.first() {
        return Ok(Found::Published(first, drafts));
    }
    match drafts.as_slice() {
        [] => Ok(Found::Nothing),
        [one] => Ok(Found::Draft(one)),
        several => bail!(
            "{} draft releases claim the tag {tag}: {}. Delete all but one (or all: the next run \
             makes a new draft) on the repository's Releases page, then run the publish job again",
            several.len(),
            several
                .iter()
                .map(|r| describe(r))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    }
}

/// A release named for a person: its page, when it was made, what it holds.
pub(crate) fn describe(release: &RemoteRelease) -> String {
    format!(
        "{} (id {}, created {}, {} assets)",
        if release.url.is_empty() {
            "a draft"
        } else {
            &release.url
        },
        release.id,
        if release.created_at.is_empty() {
            "at an unknown time"
        } else {
            &release.created_at
        },
        release.assets.len()
    )
}

/// A release's files against ours.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Comparison {
    /// Ours, not on the release.
    pub(crate) missing: Vec<String>,
    /// On the release with other bytes.
    pub(crate) differ: Vec<String>,
    /// On the release, not ours.
    pub(crate) foreign: Vec<String>,
    /// Uploads that were cut off (`state: "open"`): ids to delete, then upload again.
    pub(crate) unfinished: Vec<(u64, String)>,
}

impl Comparison {
    pub(crate) fn complete(&self) -> bool {
        self.missing.is_empty()
            && self.differ.is_empty()
            && self.foreign.is_empty()
            && self.unfinished.is_empty()
    }
}

/// `ours` (name → SHA-256) against `release`, whose uploaded assets hash
/// as `theirs` says (name → SHA-256, from a download).
pub(crate) fn compare(
    ours: &BTreeMap<String, String>,
    release: &RemoteRelease,
    theirs: &BTreeMap<String, String>,
) -> Comparison {
    let mut out = Comparison::default();
    for asset in &release.assets {
        if !asset.uploaded {
            out.unfinished.push((asset.id, asset.name.clone()));
        } else if !ours.contains_key(&asset.name) {
            out.foreign.push(asset.name.clone());
        } else if theirs.get(&asset.name) != ours.get(&asset.name) {
            out.differ.push(asset.name.clone());
        }
    }
    let on_release = |name: &str| release.assets.iter().any(|a| a.name == name && a.uploaded);
    out.missing = ours.keys().filter(|n| !on_release(n)).cloned().collect();
    out
}

/// Why a published release that is not complete stays so, and what to do.
pub(crate) fn published_incomplete(release: &RemoteRelease, comparison: &Comparison) -> String {
    let mut what = Vec::new();
    if !comparison.missing.is_empty() {
        what.push(format!("lacks {}", comparison.missing.join(", ")));
    }
    if !comparison.differ.is_empty() {
        what.push(format!(
            "holds {} with other bytes than this build",
            comparison.differ.join(", ")
        ));
    }
    if !comparison.foreign.is_empty() {
        what.push(format!(
            "holds {}, which this release does not list",
            comparison.foreign.join(", ")
        ));
    }
    let unfinished: Vec<&str> = comparison
        .unfinished
        .iter()
        .map(|(_, n)| n.as_str())
        .collect();
    if !unfinished.is_empty() {
        what.push(format!(
            "has unfinished uploads of {}",
            unfinished.join(", ")
        ));
    }
    let how = if release.immutable {
        "It is an immutable release: its files can never change. Release a new version (bump \
         `version`, tag it) instead"
            .to_owned()
    } else {
        let mut steps = Vec::new();
        let mut upload: Vec<&str> = comparison.missing.iter().map(String::as_str).collect();
        upload.extend(comparison.differ.iter().map(String::as_str));
        upload.extend(unfinished.iter().copied());
        if !upload.is_empty() {
            steps.push(format!(
                "`gh release upload {} {} --clobber`",
                release.tag,
                upload.join(" ")
            ));
        }
        for name in &comparison.foreign {
            steps.push(format!("`gh release delete-asset {} {name}`", release.tag));
        }
        format!(
            "Publishing never changes a published release, as people may have downloaded it. \
             Release a new version, or finish this one by hand from the verified release \
             directory: {}",
            steps.join(", then ")
        )
    };
    format!(
        "the published release {} {}. {how}",
        release.tag,
        what.join("; ")
    )
}

/// Whether publishing `version` makes it the "latest" release, the one
/// `releases/latest` links and the installers download: only when no
/// published release has a higher version, so a backport (1.2.4 after
/// 2.0.0) never replaces it. Tags that do not parse as versions are ignored.
pub(crate) fn becomes_latest(
    version: &str,
    pattern: &TagPattern,
    releases: &[RemoteRelease],
) -> bool {
    let Some(ours) = numeric(version) else {
        return false;
    };
    if is_prerelease(version) {
        return false;
    }
    !releases
        .iter()
        .filter(|r| !r.draft && !r.prerelease)
        .filter_map(|r| r.tag.strip_prefix(pattern.prefix()))
        .filter(|v| !is_prerelease(v))
        .filter_map(numeric)
        .any(|theirs| theirs > ours)
}

/// `1.2.3` (build metadata ignored) as numbers to compare.
fn numeric(version: &str) -> Option<(u64, u64, u64)> {
    let core = version.split(['+', '-']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    let triple = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(triple)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(id: u64, tag: &str, draft: bool, assets: &[(&str, bool)]) -> RemoteRelease {
        RemoteRelease {
            id,
            tag: tag.into(),
            draft,
            prerelease: tag.contains('-'),
            immutable: false,
            url: format!("https://github.com/you/toolbox/releases/{id}"),
            created_at: "2026-12-01T10:00:00Z".into(),
            assets: assets
                .iter()
                .enumerate()
                .map(|(i, (name, uploaded))| RemoteAsset {
                    id: 100 + i as u64,
                    name: (*name).into(),
                    size: 1,
                    uploaded: *uploaded,
                })
                .collect(),
        }
    }

    #[test]
    fn reads_the_rest_listing_page_after_page() {
        let text = r#"[{"id":7,"tag_name":"v1.0.0","draft":true,"prerelease":false,"html_url":"https://github.com/a/b/releases/tag/untagged-1","created_at":"2026-12-01T10:00:00Z","assets":[{"id":70,"name":"SHA256SUMS","size":3,"state":"uploaded"},{"id":71,"name":"a.tar.xz","size":0,"state":"open"}]}]
[{"id":6,"tag_name":"v0.9.0","draft":false,"prerelease":false,"immutable":true,"html_url":"u","created_at":"c","assets":[]}]"#;
        let releases = parse_listing(text).unwrap();
        assert_eq!(releases.len(), 2);
        assert!(
            releases[0].draft && !releases[0].assets[1].uploaded && releases[0].assets[0].uploaded
        );
        assert!(releases[1].immutable && !releases[1].draft);
        let err = parse_listing(r#"{"message":"Not Found"}"#).unwrap_err();
        assert!(err.to_string().contains("not a JSON array"), "{err}");
        assert!(parse_listing("[{\"tag_name\":\"v1\"}]").is_err());
        assert!(parse_listing("").unwrap().is_empty());
    }

    #[test]
    fn finds_the_published_release_else_the_one_draft() {
        let releases = vec![
            release(3, "v1.0.0", true, &[]),
            release(2, "v1.0.0", false, &[]),
            release(1, "v0.9.0", false, &[]),
        ];
        assert_eq!(
            find(&releases, "v1.0.0").unwrap(),
            Found::Published(&releases[1], vec![&releases[0]])
        );
        assert_eq!(
            find(&releases[..1], "v1.0.0").unwrap(),
            Found::Draft(&releases[0])
        );
        assert_eq!(find(&releases, "v2.0.0").unwrap(), Found::Nothing);
        let two = vec![
            release(3, "v1.0.0", true, &[("a", true)]),
            release(4, "v1.0.0", true, &[]),
        ];
        let err = find(&two, "v1.0.0").unwrap_err().to_string();
        assert!(
            err.starts_with("2 draft releases claim the tag v1.0.0"),
            "{err}"
        );
        assert!(
            err.contains("releases/3 (id 3, created 2026-12-01T10:00:00Z, 1 assets)"),
            "{err}"
        );
        assert!(err.contains("releases/4"), "{err}");
    }

    #[test]
    fn compares_by_name_and_hash() {
        let ours: BTreeMap<String, String> = [("a", "1"), ("b", "2"), ("c", "3")]
            .map(|(n, h)| (n.into(), h.into()))
            .into();
        let draft = release(
            1,
            "v1.0.0",
            true,
            &[("a", true), ("b", true), ("c", false), ("x", true)],
        );
        let theirs: BTreeMap<String, String> = [("a", "1"), ("b", "9"), ("x", "0")]
            .map(|(n, h)| (n.into(), h.into()))
            .into();
        let c = compare(&ours, &draft, &theirs);
        assert_eq!(c.missing, ["c"]);
        assert_eq!(c.differ, ["b"]);
        assert_eq!(c.foreign, ["x"]);
        assert_eq!(c.unfinished, [(102, "c".to_owned())]);
        assert!(!c.complete());
        let done = release(1, "v1.0.0", false, &[("a", true), ("b", true), ("c", true)]);
        let same: BTreeMap<String, String> = ours.clone();
        assert!(compare(&ours, &done, &same).complete());
        let message = published_incomplete(
            &done,
            &compare(&ours, &release(1, "v1.0.0", false, &[("a", true)]), &same),
        );
        assert!(
            message.starts_with("the published release v1.0.0 lacks b, c."),
            "{message}"
        );
        assert!(
            message.ends_with(
                "from the verified release directory: `gh release upload v1.0.0 b c --clobber`"
            ),
            "{message}"
        );
        let mut with_foreign = compare(
            &ours,
            &release(
                1,
                "v1.0.0",
                false,
                &[("a", true), ("b", true), ("c", true), ("x", true)],
            ),
            &same,
        );
        with_foreign.differ.push("a".into());
        let message = published_incomplete(&done, &with_foreign);
        assert!(
            message.ends_with(
                "`gh release upload v1.0.0 a --clobber`, then `gh release delete-asset v1.0.0 x`"
            ),
            "{message}"
        );
        let mut immutable = done.clone();
        immutable.immutable = true;
        assert!(
            published_incomplete(&immutable, &c)
                .contains("immutable release: its files can never change. Release a new version")
        );
    }

    #[test]
    fn latest_follows_the_highest_version_not_the_date() {
        let pattern = TagPattern::parse("v[0-9]*").unwrap();
        let releases = vec![
            release(5, "v3.0.0-rc.1", false, &[]),
            release(4, "v9.0.0", true, &[]),
            release(3, "v2.0.0", false, &[]),
            release(2, "nightly", false, &[]),
            release(1, "v1.2.3", false, &[]),
        ];
        assert!(!becomes_latest("1.2.4", &pattern, &releases), "a backport");
        assert!(
            becomes_latest("2.0.1", &pattern, &releases),
            "drafts and pre-releases do not count"
        );
        assert!(
            becomes_latest("2.0.0", &pattern, &releases),
            "a re-run of the latest"
        );
        assert!(
            becomes_latest("10.0.0", &pattern, &releases),
            "numbers, not text"
        );
        assert!(
            !becomes_latest("3.0.0-rc.2", &pattern, &releases),
            "a pre-release never"
        );
        assert!(becomes_latest("0.1.0", &pattern, &[]));
    }
}
