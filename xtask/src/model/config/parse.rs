//! `dist-workspace.toml` parsed: the `[dist]` table key by key, each
//! mistake one line naming the file, line and key.

use std::path::Path;

use toml::de::{DeTable, DeValue};
use xtask_inspect::format::ArchiveFormat;
use xtask_inspect::suggest::did_you_mean;
use xtask_inspect::target::Target;

use super::bench::workloads;
use super::cargo_dist;
use super::lists::{doc_files, includes, smoke_commands};
use super::runners;
use super::syntax::{Reader, sorted};
use super::*;

const DIST_KEYS: &[&str] = &[
    "app",
    "targets",
    "include",
    "checksum",
    "unix-archive",
    "windows-archive",
    "tag-pattern",
    "repository",
    "c-compiler",
    "features",
    "default-features",
    "all-features",
    "smoke",
    "docs",
    "bench",
    "github-attestations",
    "publish-crate",
    "rebuild-check",
    "rebuild-runner",
    "linux-arm-runner",
    "pr-run-mode",
    "xtask-tests",
    "binstall-metadata",
    "smoke-root",
    "packages",
    "maintainer",
    "homebrew-tap",
];

/// Parses configuration text; `file` only labels errors.
pub(crate) fn parse(text: &str, file: &Path) -> Result<DistConfig, ConfigError> {
    let reader = Reader { text, file };
    let doc = DeTable::parse(text).map_err(|err| {
        // toml's message is one sentence; the location goes in front, as for our own errors.
        let line = err.span().map(|s| reader.line_of(s.start));
        let message = format!(
            "invalid TOML: {}",
            err.message().trim_end().replace('\n', " ")
        );
        ConfigError {
            file: file.to_owned(),
            line,
            message,
        }
    })?;
    let doc = doc.get_ref();

    if let Some(sign) = cargo_dist::sign(doc) {
        return Err(ConfigError {
            file: file.to_owned(),
            line: None,
            message: format!(
                "this is cargo-dist's configuration (it has `{sign}`): run `cargo xtask migrate` to convert it, \
                 keeping what maps and naming every key that does not"
            ),
        });
    }

    for (key, _) in sorted(doc) {
        if key.get_ref() != "dist" {
            let hint = did_you_mean(key.get_ref(), ["dist"]);
            return Err(reader.error(
                key.span(),
                format!(
                    "unknown table `[{}]`{hint}; release settings go in [dist]",
                    key.get_ref()
                ),
            ));
        }
    }
    let Some((dist_key, dist)) = doc.iter().find(|(k, _)| k.get_ref() == "dist") else {
        return Err(reader.error(
            0..0,
            "no [dist] table; add one with at least `app = \"<package>\"`".into(),
        ));
    };
    let DeValue::Table(dist) = dist.get_ref() else {
        return Err(reader.error(
            dist_key.span(),
            "`dist` must be a table: write `[dist]` above its keys".into(),
        ));
    };

    for (key, _) in sorted(dist) {
        if !DIST_KEYS.contains(&key.get_ref().as_ref()) {
            let hint = if cargo_dist::DROPPED.iter().any(|(k, _)| k == key.get_ref()) {
                "; it is cargo-dist's: run `cargo xtask migrate` to convert cargo-dist's configuration, \
                 naming every key that does not carry over"
                    .to_owned()
            } else {
                did_you_mean(key.get_ref(), DIST_KEYS.iter().copied())
            };
            return Err(reader.error(
                key.span(),
                format!("unknown key `[dist].{}`{hint}", key.get_ref()),
            ));
        }
    }
    let get = |name: &str| {
        dist.iter()
            .find(|(k, _)| k.get_ref() == name)
            .map(|(_, v)| v)
    };

    let app = match get("app") {
        Some(v) => reader.string(v, "app")?.to_owned(),
        None => {
            return Err(reader.error(
                dist_key.span(),
                "missing `[dist].app`: name the package to release, e.g. `app = \"<package>\"`"
                    .into(),
            ));
        }
    };

    let targets = match get("targets") {
        None => targets::defaults(),
        Some(v) => {
            let items = reader.strings(v, "targets")?;
            if items.is_empty() {
                return Err(reader.error(
                    v.span(),
                    "`[dist].targets` is empty: list at least one target, or remove the key for the defaults".into(),
                ));
            }
            let mut targets: Vec<Target> = Vec::new();
            for (triple, span) in items {
                let target = targets::parse(triple)
                    .map_err(|e| reader.error(span.clone(), format!("`[dist].targets`: {e}")))?;
                if targets.contains(&target) {
                    return Err(
                        reader.error(span, format!("`[dist].targets` lists `{triple}` twice"))
                    );
                }
                targets.push(target);
            }
            targets
        }
    };

    let include = match get("include") {
        None => None,
        Some(v) => Some(includes(&reader, v)?),
    };

    let features = Features {
        features: match get("features") {
            None => Vec::new(),
            Some(v) => {
                let mut names: Vec<String> = Vec::new();
                for (name, span) in reader.strings(v, "features")? {
                    if name.is_empty() || name.contains([',', ' ']) {
                        let why = "one feature per string, e.g. `features = [\"a\", \"b\"]`";
                        return Err(
                            reader.error(span, format!("`[dist].features`: `{name}`: {why}"))
                        );
                    }
                    if names.iter().any(|n| n == name) {
                        return Err(
                            reader.error(span, format!("`[dist].features` lists `{name}` twice"))
                        );
                    }
                    names.push(name.to_owned());
                }
                names
            }
        },
        no_default_features: !get("default-features")
            .map(|v| reader.boolean(v, "default-features"))
            .transpose()?
            .unwrap_or(true),
        all_features: get("all-features")
            .map(|v| reader.boolean(v, "all-features"))
            .transpose()?
            .unwrap_or(false),
    };

    let smoke = match get("smoke") {
        None => None,
        Some(v) => Some(smoke_commands(&reader, v)?),
    };

    let docs = match get("docs") {
        None => Vec::new(),
        Some(v) => doc_files(&reader, v)?,
    };

    let bench = match get("bench") {
        None => Vec::new(),
        Some(v) => workloads(&reader, v)?,
    };

    if let Some(v) = get("checksum") {
        let algo = reader.string(v, "checksum")?;
        if algo != "sha256" {
            return Err(reader.error(
                v.span(),
                format!("`[dist].checksum = \"{algo}\"` is not supported; use \"sha256\""),
            ));
        }
    }

    let archive = |key: &str, default: ArchiveFormat| -> Result<ArchiveFormat, ConfigError> {
        let Some(v) = get(key) else {
            return Ok(default);
        };
        let ext = reader.string(v, key)?;
        ArchiveFormat::from_extension(ext).ok_or_else(|| {
            let hint = did_you_mean(ext, [".tar.xz", ".tar.gz", ".zip"]);
            let message =
                format!("`[dist].{key} = \"{ext}\"` is not supported{hint}; use \".tar.xz\", \".tar.gz\" or \".zip\"");
            reader.error(v.span(), message)
        })
    };
    let unix_archive = archive("unix-archive", ArchiveFormat::TarXz)?;
    let windows_archive = archive("windows-archive", ArchiveFormat::Zip)?;

    let tag_pattern = match get("tag-pattern") {
        None => TagPattern(DEFAULT_TAG_PATTERN.to_owned()),
        Some(v) => TagPattern::parse(reader.string(v, "tag-pattern")?)
            .map_err(|why| reader.error(v.span(), format!("`[dist].tag-pattern`: {why}")))?,
    };

    let repository = match get("repository") {
        None => None,
        Some(v) => Some(
            check_repository(reader.string(v, "repository")?)
                .map_err(|why| reader.error(v.span(), format!("`[dist].repository`: {why}")))?,
        ),
    };

    let c_compiler = match get("c-compiler") {
        None => CCompiler::Auto,
        Some(v) => match reader.string(v, "c-compiler")? {
            "auto" => CCompiler::Auto,
            "zig" => CCompiler::Zig,
            "musl-gcc" => CCompiler::MuslGcc,
            "none" => CCompiler::None,
            path if path.contains('/') => CCompiler::Path(PathBuf::from(path)),
            other => {
                let hint = did_you_mean(other, ["auto", "zig", "musl-gcc", "none"]);
                return Err(reader.error(
                    v.span(),
                    format!(
                        "`[dist].c-compiler = \"{other}\"` is not known{hint}; use \"auto\", \"zig\", \"musl-gcc\", \"none\" or a path such as \"/usr/bin/musl-gcc\""
                    ),
                ));
            }
        },
    };

    let flag = |key: &str, default: bool| {
        get(key)
            .map(|v| reader.boolean(v, key))
            .transpose()
            .map(|b| b.unwrap_or(default))
    };
    let github_attestations = flag("github-attestations", true)?;
    let publish_crate = flag("publish-crate", false)?;
    let rebuild_check = flag("rebuild-check", true)?;
    let (rebuild_runner, linux_arm_runner) =
        runners::parse(&reader, get("rebuild-runner"), get("linux-arm-runner"))?;
    let pr_run_mode = choice(&reader, get("pr-run-mode"), "pr-run-mode", &PrRunMode::ALL)?
        .unwrap_or(PrRunMode::Upload);
    let xtask_tests = choice(&reader, get("xtask-tests"), "xtask-tests", &XtaskTests::ALL)?
        .unwrap_or(XtaskTests::WhenChanged);
    let binstall_metadata = choice(
        &reader,
        get("binstall-metadata"),
        "binstall-metadata",
        &BinstallMetadata::ALL,
    )?
    .unwrap_or(BinstallMetadata::Generate);
    let mut smoke_root: Vec<RootItem> = Vec::new();
    if let Some(v) = get("smoke-root") {
        for (name, span) in reader.strings(v, "smoke-root")? {
            let Some((_, item)) = RootItem::ALL.iter().find(|(n, _)| *n == name) else {
                let names = RootItem::ALL.map(|(n, _)| n);
                let hint = did_you_mean(name, names);
                let quoted = names.map(|n| format!("\"{n}\"")).join(" or ");
                return Err(reader.error(
                    span,
                    format!(
                        "`[dist].smoke-root`: `{name}` is not known{hint}; use {quoted} \
                         (named parts of every Linux system; host paths are never given to smoke runs)"
                    ),
                ));
            };
            if !smoke_root.contains(item) {
                smoke_root.push(*item);
            }
        }
    }

    let packages = match get("packages") {
        None => PackageFormat::ALL.iter().map(|(_, f)| *f).collect(),
        Some(v) => {
            let mut packages: Vec<PackageFormat> = Vec::new();
            for (name, span) in reader.strings(v, "packages")? {
                let Some((_, format)) = PackageFormat::ALL.iter().find(|(n, _)| *n == name) else {
                    let names = PackageFormat::ALL.map(|(n, _)| n);
                    let hint = did_you_mean(name, names);
                    return Err(reader.error(
                        span,
                        format!(
                            "`[dist].packages`: `{name}` is not a package format made here{hint}; use \"deb\", \"rpm\", both, or `packages = []` for none"
                        ),
                    ));
                };
                if !packages.contains(format) {
                    packages.push(*format);
                }
            }
            packages.sort();
            packages
        }
    };
    let maintainer = get("maintainer")
        .map(|v| {
            let text = reader.string(v, "maintainer")?;
            check_maintainer(text)
                .map(|()| text.to_owned())
                .map_err(|why| reader.error(v.span(), format!("`[dist].maintainer`: {why}")))
        })
        .transpose()?;

    let homebrew_tap = get("homebrew-tap")
        .map(|v| {
            let text = reader.string(v, "homebrew-tap")?;
            let parts: Vec<&str> = text.split('/').collect();
            let name_ok = |p: &str| {
                !p.is_empty()
                    && !p.starts_with('.')
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            };
            if parts.len() == 2 && parts.iter().all(|p| name_ok(p)) {
                Ok(text.to_owned())
            } else {
                Err(reader.error(
                    v.span(),
                    format!(
                        "`[dist].homebrew-tap = \"{text}\"` is not a GitHub repository `owner/name`, such as \"you/homebrew-tap\""
                    ),
                ))
            }
        })
        .transpose()?;

    Ok(DistConfig {
        homebrew_tap,
        packages,
        maintainer,
        github_attestations,
        publish_crate,
        rebuild_check,
        rebuild_runner,
        linux_arm_runner,
        pr_run_mode,
        xtask_tests,
        binstall_metadata,
        smoke_root,
        app,
        targets,
        include,
        features,
        smoke,
        docs,
        bench,
        unix_archive,
        windows_archive,
        tag_pattern,
        repository,
        c_compiler,
    })
}

/// A key whose value is one of a few names.
fn choice<T: Copy>(
    reader: &Reader,
    value: Option<&toml::Spanned<DeValue>>,
    key: &str,
    choices: &[(&str, T)],
) -> Result<Option<T>, ConfigError> {
    let Some(v) = value else { return Ok(None) };
    let given = reader.string(v, key)?;
    if let Some((_, choice)) = choices.iter().find(|(name, _)| *name == given) {
        return Ok(Some(*choice));
    }
    let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
    let hint = did_you_mean(given, names.iter().copied());
    let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    Err(reader.error(
        v.span(),
        format!(
            "`[dist].{key} = \"{given}\"` is not known{hint}; use {}",
            quoted.join(" or ")
        ),
    ))
}
