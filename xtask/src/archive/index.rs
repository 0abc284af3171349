//! The release index: which files a release holds, derived from its
//! manifest here and nowhere else, and the one bounded reader of a
//! release's manifest and `SHA256SUMS`, wherever it is (`dist`'s directory,
//! one build job's output, a published URL).

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};

use crate::archive::checksum;
use crate::archive::files::read_regular;
use crate::archive::manifest::{self, Manifest, ManifestArtifact};
use crate::archive::sbom;
use crate::run::download;

/// The largest manifest, `SHA256SUMS` or `.sha256` sidecar read; archives
/// have their own, larger limit.
pub(crate) const TEXT_LIMIT: u64 = 16 << 20;

/// The most bytes any one file of a release may have when it is read whole.
pub(crate) const FILE_LIMIT: u64 = 2 << 30;

/// What a file the manifest lists is. A new kind of release file is a new
/// variant: every `match` on it (the table `dist` prints, what `verify`
/// checks of it) is then pointed at by the compiler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind<'m> {
    /// An archive of one target's binaries.
    Archive(&'m ManifestArtifact),
    /// The CycloneDX SBOM beside the archive it describes.
    Sbom(&'m ManifestArtifact),
    /// A .deb or .rpm made of the archive's files.
    Package(&'m ManifestArtifact),
    /// An installer script: the configuration's, carrying the release's archive hashes.
    Installer,
}

/// A file the manifest lists, with the size and SHA-256 it gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReleaseFile<'m> {
    pub(crate) name: &'m str,
    pub(crate) size: u64,
    pub(crate) sha256: &'m str,
    pub(crate) kind: Kind<'m>,
}

/// Every file the manifest lists, in the order `SHA256SUMS` has them: each
/// archive followed by its SBOM and packages, then the installers.
pub(crate) fn listed(manifest: &Manifest) -> Vec<ReleaseFile<'_>> {
    let archives = manifest.artifacts.iter().flat_map(|a| {
        let archive = ReleaseFile {
            name: &a.name,
            size: a.size,
            sha256: &a.sha256,
            kind: Kind::Archive(a),
        };
        let sbom = a.sbom.iter().map(move |s| ReleaseFile {
            name: &s.name,
            size: s.size,
            sha256: &s.sha256,
            kind: Kind::Sbom(a),
        });
        let packages = a.packages.iter().map(move |p| ReleaseFile {
            name: &p.name,
            size: p.size,
            sha256: &p.sha256,
            kind: Kind::Package(a),
        });
        std::iter::once(archive).chain(sbom).chain(packages)
    });
    let installers = manifest.installers.iter().map(|i| ReleaseFile {
        name: &i.name,
        size: i.size,
        sha256: &i.sha256,
        kind: Kind::Installer,
    });
    archives.chain(installers).collect()
}

/// The files of one target: its archive, SBOM and packages.
pub(crate) fn of_target<'m>(manifest: &'m Manifest, target: &str) -> Vec<ReleaseFile<'m>> {
    listed(manifest)
        .into_iter()
        .filter(|f| match f.kind {
            Kind::Archive(a) | Kind::Sbom(a) | Kind::Package(a) => a.target == target,
            Kind::Installer => false,
        })
        .collect()
}

/// `dist-rebuild.json` (`archive::rebuilt`): a file of the release beside
/// the manifest, listed in `SHA256SUMS` only.
pub(crate) const REBUILD_FILE: &str = "dist-rebuild.json";

/// `(name, sha256)` of each archive: what an installer carries.
pub(crate) fn archive_sums(artifacts: &[ManifestArtifact]) -> Vec<(&str, &str)> {
    artifacts
        .iter()
        .map(|a| (a.name.as_str(), a.sha256.as_str()))
        .collect()
}

/// The `SHA256SUMS` lines of a release: `(sha256, name)` of every listed file.
pub(crate) fn sums(manifest: &Manifest) -> Vec<(String, String)> {
    listed(manifest)
        .iter()
        .map(|f| (f.sha256.to_owned(), f.name.to_owned()))
        .collect()
}

/// Every file a release publishes, sorted: each listed file and its
/// sidecar, `SHA256SUMS` and the manifest.
pub(crate) fn published_files(manifest: &Manifest) -> Vec<String> {
    let mut files: Vec<String> = listed(manifest)
        .iter()
        .flat_map(|f| [checksum::sidecar_name(f.name), f.name.to_owned()])
        .chain([
            checksum::SUMS_FILE.to_owned(),
            manifest::FILE_NAME.to_owned(),
        ])
        .collect();
    files.sort();
    files
}

/// The files `dist` writes for an archive it is about to pack, before any
/// manifest exists: the archive, its SBOM and both sidecars.
pub(crate) fn files_of_archive(archive: &str) -> [String; 4] {
    let sbom = sbom::file_name(archive);
    [
        checksum::sidecar_name(archive),
        archive.to_owned(),
        checksum::sidecar_name(&sbom),
        sbom,
    ]
}

/// A name `SHA256SUMS` or a manifest may hold: a plain, visible file of the
/// release directory, never a path out of it or a control character.
pub(crate) fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control)
}

/// Where a release's files are read from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// A directory as `dist` or `merge` wrote it, or one build job's output.
    Dir(PathBuf),
    /// The base URL files are downloaded from (a GitHub release's).
    Url(String),
}

impl Source {
    /// A directory, or an `http(s)://` base URL.
    pub(crate) fn parse(given: &str) -> Source {
        if given.starts_with("https://") || given.starts_with("http://") {
            Source::Url(given.trim_end_matches('/').to_owned())
        } else {
            Source::Dir(PathBuf::from(given))
        }
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            Source::Dir(dir) => dir.display().to_string(),
            Source::Url(base) => base.clone(),
        }
    }

    /// The file `name` of the release, at most `limit` bytes. A name that
    /// is not plain is refused before anything is read: it comes from a
    /// manifest nobody checked yet.
    pub(crate) fn read(&self, name: &str, limit: u64) -> Result<Vec<u8>> {
        if !plain_name(name) {
            bail!(
                "{}: `{name}` is not a plain file name of the release",
                self.describe()
            );
        }
        match self {
            Source::Dir(dir) => {
                let path = dir.join(name);
                read_regular(&path, limit).map_err(|why| anyhow!("{} {why}", path.display()))
            }
            Source::Url(base) => download::fetch(&format!("{base}/{name}"), limit).map_err(|e| {
                let offline = e
                    .downcast_ref::<download::Failed>()
                    .is_some_and(|f| f.unreachable);
                if offline {
                    anyhow!(
                        "{e:#}; without network, download the release's files into a directory \
                         and give its path instead (`cargo xtask reproduce DIR`)"
                    )
                } else {
                    e
                }
            }),
        }
    }

    /// A text file of the release (a manifest, `SHA256SUMS`, a sidecar).
    pub(crate) fn text(&self, name: &str) -> Result<String> {
        let bytes = self.read(name, TEXT_LIMIT)?;
        String::from_utf8(bytes)
            .map_err(|_| anyhow!("{}/{name} is not UTF-8 text", self.describe()))
    }

    /// The release's `dist-manifest.json`.
    pub(crate) fn manifest(&self) -> Result<Manifest> {
        let text = self.text(manifest::FILE_NAME)?;
        Manifest::from_json(&text)
            .with_context(|| format!("{}/{} is malformed", self.describe(), manifest::FILE_NAME))
    }
}

/// A release's manifest and `SHA256SUMS`, read.
#[derive(Debug, Clone)]
pub(crate) struct ReleaseIndex {
    pub(crate) manifest: Manifest,
    /// `(sha256, name)`, as the file has them.
    pub(crate) sums: Vec<(String, String)>,
}

impl ReleaseIndex {
    pub(crate) fn read(source: &Source) -> Result<ReleaseIndex> {
        let manifest = source.manifest()?;
        let sums = checksum::parse_sums(&source.text(checksum::SUMS_FILE)?).with_context(|| {
            format!("{}/{} is malformed", source.describe(), checksum::SUMS_FILE)
        })?;
        Ok(ReleaseIndex { manifest, sums })
    }

    /// Every file the release publishes: `published_files`, and the
    /// rebuild's statement with its sidecar when `SHA256SUMS` lists it.
    pub(crate) fn published_files(&self) -> Vec<String> {
        let mut files = published_files(&self.manifest);
        if self.sum(REBUILD_FILE).is_some() {
            files.push(REBUILD_FILE.to_owned());
            files.push(checksum::sidecar_name(REBUILD_FILE));
            files.sort();
        }
        files
    }

    /// The SHA-256 `SHA256SUMS` gives `name`: what users check downloads against.
    pub(crate) fn sum(&self, name: &str) -> Option<&str> {
        self.sums
            .iter()
            .find(|(_, n)| n == name)
            .map(|(h, _)| h.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::manifest::Listed;

    fn manifest() -> Manifest {
        let file = |name: &str, sha: &str| Listed {
            name: name.into(),
            size: 3,
            sha256: sha.repeat(64),
        };
        let archive = |target: &str, sha: &str| ManifestArtifact {
            name: format!("tool-1.0.0-{target}.tar.xz"),
            target: target.into(),
            size: 10,
            sha256: sha.repeat(64),
            binaries: vec!["tool-1.0.0-{target}/tool".into()],
            linkage: "static".into(),
            toolchain: Default::default(),
            sbom: Some(file(&format!("tool-1.0.0-{target}.tar.xz.cdx.json"), "b")),
            packages: vec![],
        };
        Manifest {
            app: "tool".into(),
            version: "1.0.0".into(),
            source_date_epoch: 1,
            commit: "abc".into(),
            artifacts: vec![
                archive("x86_64-unknown-linux-musl", "a"),
                archive("aarch64-apple-darwin", "c"),
            ],
            installers: vec![file("tool-installer.sh", "d")],
        }
    }

    #[test]
    fn a_release_lists_each_archive_then_its_sbom_then_the_installers() {
        let m = manifest();
        let kinds: Vec<(&str, &str)> = listed(&m)
            .iter()
            .map(|f| {
                let kind = match f.kind {
                    Kind::Archive(_) => "archive",
                    Kind::Sbom(_) => "sbom",
                    Kind::Package(_) => "package",
                    Kind::Installer => "installer",
                };
                (f.name, kind)
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("tool-1.0.0-x86_64-unknown-linux-musl.tar.xz", "archive"),
                (
                    "tool-1.0.0-x86_64-unknown-linux-musl.tar.xz.cdx.json",
                    "sbom"
                ),
                ("tool-1.0.0-aarch64-apple-darwin.tar.xz", "archive"),
                ("tool-1.0.0-aarch64-apple-darwin.tar.xz.cdx.json", "sbom"),
                ("tool-installer.sh", "installer"),
            ]
        );
        assert_eq!(sums(&m)[1].0, "b".repeat(64));
        // What is published is exactly the listed files, their sidecars and the two indexes.
        let published = published_files(&m);
        assert_eq!(published.len(), 5 * 2 + 2);
        assert!(published.contains(&"tool-installer.sh.sha256".to_owned()));
        assert!(published.contains(&checksum::SUMS_FILE.to_owned()));
        assert!(published.is_sorted());
        let mut one = m.clone();
        one.artifacts.truncate(1);
        assert_eq!(
            published_files(&one),
            [
                "SHA256SUMS",
                "dist-manifest.json",
                "tool-1.0.0-x86_64-unknown-linux-musl.tar.xz",
                "tool-1.0.0-x86_64-unknown-linux-musl.tar.xz.cdx.json",
                "tool-1.0.0-x86_64-unknown-linux-musl.tar.xz.cdx.json.sha256",
                "tool-1.0.0-x86_64-unknown-linux-musl.tar.xz.sha256",
                "tool-installer.sh",
                "tool-installer.sh.sha256",
            ]
        );
        // dist's list for one archive it is about to pack is the same files.
        for name in files_of_archive("tool-1.0.0-aarch64-apple-darwin.tar.xz") {
            assert!(published.contains(&name), "{name}");
        }
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

    #[test]
    fn a_release_is_read_within_limits_and_names_out_of_it_are_refused() {
        let dir = std::env::temp_dir().join(format!("xtask-index-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let source = Source::Dir(dir.clone());
        let err = format!("{:#}", ReleaseIndex::read(&source).unwrap_err());
        assert!(err.contains("dist-manifest.json cannot be read"), "{err}");
        let m = manifest();
        std::fs::write(dir.join(manifest::FILE_NAME), m.to_json()).unwrap();
        std::fs::write(
            dir.join(checksum::SUMS_FILE),
            checksum::format_sums(&sums(&m)),
        )
        .unwrap();
        let index = ReleaseIndex::read(&source).unwrap();
        assert_eq!(index.manifest, m);
        assert_eq!(
            index.sum("tool-installer.sh"),
            Some("d".repeat(64).as_str())
        );
        let err = format!("{:#}", source.read("../outside", 1).unwrap_err());
        assert!(err.contains("not a plain file name"), "{err}");
        // A manifest past the limit is not read into memory whole.
        let big = std::fs::File::create(dir.join(manifest::FILE_NAME)).unwrap();
        big.set_len(TEXT_LIMIT + 1).unwrap();
        let err = format!("{:#}", source.manifest().unwrap_err());
        assert!(err.contains("is larger than 16 MiB"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_url_or_a_directory() {
        assert!(matches!(
            Source::parse("https://example.com/r/"),
            Source::Url(u) if u == "https://example.com/r"
        ));
        assert!(matches!(Source::parse("target/dist.out"), Source::Dir(_)));
    }
}
