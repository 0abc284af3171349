//! What the .deb and .rpm of a Linux archive are: their names, versions and
//! CPU names as each format spells them, their metadata, and where each file
//! of the archive goes on the system. Pure: the writers are `archive::deb`
//! and `archive::rpm`.

use anyhow::{Result, bail};
use xtask_inspect::target::{Arch, Os, Target};

use crate::model::config::{self, DistConfig, PackageFormat};
use crate::model::install::{self, DocKind};
use crate::model::workspace::Package;

/// What both formats say about the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PackageMeta {
    /// A name both formats accept: lower case, `-` for `_`.
    pub(crate) name: String,
    /// The app's version as both formats order it (`1.2.3~rc.1`).
    pub(crate) version: String,
    /// `Name <email>`.
    pub(crate) maintainer: String,
    /// One line.
    pub(crate) summary: String,
    /// The SPDX expression of Cargo.toml's `license`, if any.
    pub(crate) license: Option<String>,
    pub(crate) homepage: Option<String>,
    /// The date every file and the changelog carry.
    pub(crate) source_date_epoch: u64,
}

/// The packages of one Linux archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PackagesPlan {
    pub(crate) formats: Vec<PackageFormat>,
    pub(crate) meta: PackageMeta,
}

/// A file a package installs, from a file of the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Placement {
    /// Absolute, `/usr/…`.
    pub(crate) path: String,
    pub(crate) executable: bool,
    /// Stored gzip-compressed (man pages, as Debian policy and rpm's
    /// brp scripts do); the path then ends in `.gz`.
    pub(crate) gzip: bool,
}

/// The packages `config` asks of `app`'s Linux archives; `None` for
/// `packages = []`. Fails, naming both places it can come from, when there
/// is no maintainer.
pub(crate) fn plan(
    config: &DistConfig,
    app: &Package,
    source_date_epoch: u64,
) -> Result<Option<PackagesPlan>> {
    if config.packages.is_empty() {
        return Ok(None);
    }
    let maintainer = match (&config.maintainer, app.about.authors.first()) {
        (Some(m), _) => m.clone(),
        (None, Some(author)) if config::check_maintainer(author).is_ok() => author.clone(),
        (None, author) => {
            let found = author
                .map(|a| format!(" (its first author, `{a}`, is not `Name <email>`)"))
                .unwrap_or_default();
            bail!(
                "`[dist].packages`: a .deb and an .rpm name their maintainer, and {} names none{found}; \
                 set `maintainer = \"Name <email>\"` in dist-workspace.toml or `authors` in {}, \
                 or `packages = []` to make none",
                app.name,
                app.manifest_path.display()
            );
        }
    };
    let summary = app.about.summary().map_or_else(
        || format!("the {} command-line tool", app.name),
        str::to_owned,
    );
    Ok(Some(PackagesPlan {
        formats: config.packages.clone(),
        meta: PackageMeta {
            name: package_name(&app.name),
            version: version(&app.version),
            maintainer,
            summary,
            license: app.about.license.clone(),
            homepage: match &app.about.homepage {
                Some(homepage) => Some(homepage.clone()),
                None => crate::model::github::repository(config, app)?,
            },
            source_date_epoch,
        },
    }))
}

/// A Cargo package name as both formats accept it: `[a-z0-9+.-]`,
/// starting with a letter or digit.
pub(crate) fn package_name(cargo_name: &str) -> String {
    cargo_name
        .chars()
        .map(|c| match c {
            '_' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// A SemVer version as both formats order it: a pre-release sorts before
/// its release with `~` (`1.2.3-rc.1` → `1.2.3~rc.1`); dpkg would read a
/// `-` as the Debian revision and rpm forbids it.
pub(crate) fn version(semver: &str) -> String {
    let (core, build) = match semver.split_once('+') {
        Some((core, build)) => (core, Some(build)),
        None => (semver, None),
    };
    let mut out = match core.split_once('-') {
        Some((release, pre)) => format!("{release}~{}", pre.replace('-', ".")),
        None => core.to_owned(),
    };
    if let Some(build) = build {
        out.push('+');
        out.push_str(&build.replace('-', "."));
    }
    out
}

/// The CPU as `format` names it; `None` for targets it has no packages of.
pub(crate) fn arch(format: PackageFormat, target: &Target) -> Option<&'static str> {
    if target.os != Os::Linux {
        return None;
    }
    Some(match (format, target.arch) {
        (PackageFormat::Deb, Arch::X86_64) => "amd64",
        (PackageFormat::Deb, Arch::Aarch64) => "arm64",
        (PackageFormat::Deb, Arch::I686) => "i386",
        (PackageFormat::Deb, Arch::Armv7) => "armhf",
        (PackageFormat::Deb, Arch::Riscv64) => "riscv64",
        (PackageFormat::Deb, Arch::Powerpc64le) => "ppc64el",
        (PackageFormat::Rpm, Arch::X86_64) => "x86_64",
        (PackageFormat::Rpm, Arch::Aarch64) => "aarch64",
        (PackageFormat::Rpm, Arch::I686) => "i686",
        (PackageFormat::Rpm, Arch::Armv7) => "armv7hl",
        (PackageFormat::Rpm, Arch::Riscv64) => "riscv64",
        (PackageFormat::Rpm, Arch::Powerpc64le) => "ppc64le",
    })
}

/// The package's file name, as each format's tools name them.
pub(crate) fn file_name(format: PackageFormat, meta: &PackageMeta, arch: &str) -> String {
    match format {
        PackageFormat::Deb => format!("{}_{}_{arch}.deb", meta.name, meta.version),
        PackageFormat::Rpm => format!("{}-{}-1.{arch}.rpm", meta.name, meta.version),
    }
}

/// Where the archive's file at `path` (below its top directory) is
/// installed; `None` for files no package installs.
pub(crate) fn placement(path: &str, bins: &[String], package: &str) -> Option<Placement> {
    if bins.iter().any(|b| b == path) {
        return Some(Placement {
            path: format!("/usr/bin/{path}"),
            executable: true,
            gzip: false,
        });
    }
    let file = path.rsplit('/').next().unwrap_or(path);
    let placed = |path: String, gzip: bool| {
        Some(Placement {
            path,
            executable: false,
            gzip,
        })
    };
    if let Some(doc) = install::classify(path) {
        let name = &doc.name;
        return match doc.kind {
            DocKind::Bash => placed(
                format!("/usr/share/bash-completion/completions/{name}"),
                false,
            ),
            DocKind::Zsh => placed(format!("/usr/share/zsh/vendor-completions/{name}"), false),
            DocKind::Fish => placed(
                format!("/usr/share/fish/vendor_completions.d/{name}"),
                false,
            ),
            DocKind::Man(section) => match name.strip_suffix(".gz") {
                Some(_) => placed(format!("/usr/share/man/man{section}/{name}"), false),
                None => placed(format!("/usr/share/man/man{section}/{name}.gz"), true),
            },
        };
    }
    let upper = file.to_ascii_uppercase();
    let is_doc = [
        "LICENSE",
        "LICENCE",
        "COPYING",
        "README",
        "CHANGELOG",
        "NOTICE",
    ]
    .iter()
    .any(|p| upper.starts_with(p));
    // `copyright` and `changelog.gz` are the package's own.
    (is_doc && !path.contains('/') && file != "copyright")
        .then(|| placed(format!("/usr/share/doc/{package}/{file}"), false))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_as_semver_in_both_formats() {
        assert_eq!(version("1.2.3"), "1.2.3");
        assert_eq!(version("1.2.3-rc.1"), "1.2.3~rc.1");
        assert_eq!(version("1.0.0-alpha-1+build-5"), "1.0.0~alpha.1+build.5");
    }

    #[test]
    fn names_and_cpus_as_each_format_spells_them() {
        assert_eq!(package_name("My_Tool"), "my-tool");
        let x86 = Target::parse("x86_64-unknown-linux-musl").unwrap();
        let arm = Target::parse("aarch64-unknown-linux-musl").unwrap();
        let mac = Target::parse("aarch64-apple-darwin").unwrap();
        assert_eq!(arch(PackageFormat::Deb, &x86), Some("amd64"));
        assert_eq!(arch(PackageFormat::Rpm, &arm), Some("aarch64"));
        assert_eq!(arch(PackageFormat::Deb, &mac), None);
        let ppc = Target::parse("powerpc64le-unknown-linux-musl").unwrap();
        assert_eq!(arch(PackageFormat::Deb, &ppc), Some("ppc64el"));
        assert_eq!(arch(PackageFormat::Rpm, &ppc), Some("ppc64le"));
        let meta = PackageMeta {
            name: "my-tool".into(),
            version: "1.2.3~rc.1".into(),
            maintainer: "A <a@b.c>".into(),
            summary: "s".into(),
            license: None,
            homepage: None,
            source_date_epoch: 0,
        };
        assert_eq!(
            file_name(PackageFormat::Deb, &meta, "amd64"),
            "my-tool_1.2.3~rc.1_amd64.deb"
        );
        assert_eq!(
            file_name(PackageFormat::Rpm, &meta, "aarch64"),
            "my-tool-1.2.3~rc.1-1.aarch64.rpm"
        );
    }

    #[test]
    fn each_archive_file_goes_where_its_system_looks() {
        let bins = ["fd".to_owned()];
        let at = |p: &str| placement(p, &bins, "fd-find").map(|p| (p.path, p.gzip));
        assert_eq!(at("fd"), Some(("/usr/bin/fd".into(), false)));
        assert_eq!(
            at("autocomplete/fd.bash"),
            Some(("/usr/share/bash-completion/completions/fd".into(), false))
        );
        assert_eq!(
            at("autocomplete/_fd"),
            Some(("/usr/share/zsh/vendor-completions/_fd".into(), false))
        );
        assert_eq!(
            at("autocomplete/fd.fish"),
            Some(("/usr/share/fish/vendor_completions.d/fd.fish".into(), false))
        );
        assert_eq!(
            at("doc/fd.1"),
            Some(("/usr/share/man/man1/fd.1.gz".into(), true))
        );
        assert_eq!(
            at("LICENSE-MIT"),
            Some(("/usr/share/doc/fd-find/LICENSE-MIT".into(), false))
        );
        assert_eq!(at("autocomplete/fd.ps1"), None);
        assert_eq!(at("doc/notes.txt"), None);
    }

    #[test]
    fn a_maintainer_is_name_and_email() {
        assert!(config::check_maintainer("Ada Lovelace <ada@example.com>").is_ok());
        for bad in ["ada@example.com", "Ada", "<ada@example.com>", "Ada <ada>"] {
            assert!(config::check_maintainer(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn without_a_maintainer_the_error_names_both_places_and_the_way_out() {
        let config =
            crate::model::config::parse("[dist]\napp = \"toolbox\"\n", std::path::Path::new("d"))
                .unwrap();
        let nameless = Package {
            about: Default::default(),
            ..Package::sample()
        };
        let err = plan(&config, &nameless, 0).unwrap_err().to_string();
        assert!(
            err.contains("set `maintainer = \"Name <email>\"` in dist-workspace.toml or `authors` in /w/crates/toolbox/Cargo.toml, or `packages = []`"),
            "{err}"
        );
        let config = crate::model::config::parse(
            "[dist]\napp = \"toolbox\"\npackages = []\n",
            std::path::Path::new("d"),
        )
        .unwrap();
        assert_eq!(plan(&config, &Package::sample(), 0).unwrap(), None);
        let config = crate::model::config::parse(
            "[dist]\napp = \"toolbox\"\nmaintainer = \"T <t@e.x>\"\npackages = [\"rpm\"]\n",
            std::path::Path::new("d"),
        )
        .unwrap();
        let planned = plan(&config, &Package::sample(), 0).unwrap().unwrap();
        assert_eq!(planned.formats, [PackageFormat::Rpm]);
        assert_eq!(planned.meta.maintainer, "T <t@e.x>");
        assert_eq!(planned.meta.summary, "the toolbox command-line tool");
        let config =
            crate::model::config::parse("[dist]\napp = \"toolbox\"\n", std::path::Path::new("d"))
                .unwrap();
        let planned = plan(&config, &Package::sample(), 0).unwrap().unwrap();
        assert_eq!(planned.formats, [PackageFormat::Deb, PackageFormat::Rpm]);
        assert_eq!(planned.meta.maintainer, "Toolbox Maker <maker@example.com>");
    }
}
