//! Switching from cargo-dist: its configuration (`dist-workspace.toml`'s
//! `[dist]`, or `[workspace.metadata.dist]`) read key by key into ours —
//! what maps is kept, every other key is named with why it does not carry
//! over. Pure: `cmd::migrate` reads the files and writes the result.

use toml::de::{DeTable, DeValue};

#[cfg(test)]
use crate::model::config::{self, cargo_dist::sign as cargo_dist_sign};
use crate::model::config::{cargo_dist, targets, toml_string};

/// The converted configuration and what became of each key.
#[derive(Debug)]
pub(crate) struct Migration {
    /// The new `dist-workspace.toml`.
    pub(crate) text: String,
    /// `(key, what it became)` for keys carried over.
    pub(crate) carried: Vec<(String, String)>,
    /// `(key, why not)` for keys that do not carry over.
    pub(crate) dropped: Vec<(String, String)>,
}

/// Converts cargo-dist's `[dist]` table for the app `app`.
pub(crate) fn from_cargo_dist(dist: &DeTable<'_>, app: &str) -> Migration {
    let mut out = Writer::default();
    let mut entries: Vec<_> = dist.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    for (key, value) in entries {
        let key: &str = key.get_ref();
        convert(key, value.get_ref(), &mut out);
    }
    let mut text = format!(
        "# Release configuration read by `cargo xtask dist`, migrated from cargo-dist's by\n\
         # `cargo xtask migrate`. Keys mean what cargo-dist's keys of the same name mean.\n\
         [dist]\napp = {}\n",
        toml_string(app)
    );
    text.push_str(&out.lines);
    Migration {
        text,
        carried: out.carried,
        dropped: out.dropped,
    }
}

#[derive(Default)]
struct Writer {
    lines: String,
    carried: Vec<(String, String)>,
    dropped: Vec<(String, String)>,
}

impl Writer {
    fn keep(&mut self, key: &str, line: String) {
        self.lines.push_str(&line);
        self.lines.push('\n');
        self.carried.push((key.to_owned(), line));
    }

    fn note(&mut self, key: &str, what: &str) {
        self.carried.push((key.to_owned(), what.to_owned()));
    }

    fn drop(&mut self, key: &str, why: impl Into<String>) {
        self.dropped.push((key.to_owned(), why.into()));
    }
}

fn strings<'a>(value: &'a DeValue<'_>) -> Option<Vec<&'a str>> {
    match value {
        DeValue::String(s) => Some(vec![s.as_ref()]),
        DeValue::Array(items) => items
            .iter()
            .map(|i| match i.get_ref() {
                DeValue::String(s) => Some(s.as_ref()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| toml_string(s)).collect();
    format!("[{}]", quoted.join(", "))
}

fn convert(key: &str, value: &DeValue<'_>, out: &mut Writer) {
    let same = |out: &mut Writer| match value {
        DeValue::String(s) => out.keep(key, format!("{key} = {}", toml_string(s))),
        DeValue::Boolean(b) => out.keep(key, format!("{key} = {b}")),
        _ => out.drop(
            key,
            format!("expected a string or boolean, found {}", value.type_str()),
        ),
    };
    match key {
        "targets" => {
            let Some(triples) = strings(value) else {
                return out.drop(key, "expected an array of target triples");
            };
            let mut kept: Vec<String> = Vec::new();
            for triple in triples {
                // cargo-dist's glibc triples: ours builds their static musl twins.
                let musl = triple.replace("gnueabihf", "musleabihf").replace("linux-gnu", "linux-musl");
                match targets::parse(&musl) {
                    Ok(target) if !kept.iter().any(|k| k == target.triple) => {
                        if musl != triple {
                            out.note(
                                key,
                                &format!("{triple} → {musl}: static, runs on every Linux of its CPU"),
                            );
                        }
                        kept.push(target.triple.to_owned());
                    }
                    Ok(_) => {}
                    Err(why) => out.drop(&format!("targets: {triple}"), format!("{why:#}")),
                }
            }
            if !kept.is_empty() {
                out.keep(key, format!("targets = {}", list(&kept)));
            }
        }
        "include" | "features" => match strings(value) {
            Some(items) => {
                let items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
                out.keep(key, format!("{key} = {}", list(&items)));
                if key == "include" {
                    out.note(key, "paths are relative to the workspace root; a directory must be listed file by file");
                }
            }
            None => out.drop(key, "expected an array of strings"),
        },
        "default-features" | "all-features" | "github-attestations" => same(out),
        "pr-run-mode" => same(out),
        "unix-archive" | "windows-archive" => match value {
            DeValue::String(s) if matches!(s.as_ref(), ".tar.xz" | ".tar.gz" | ".zip") => same(out),
            DeValue::String(s) => out.drop(key, format!("`{s}` is not made here; the default is used (.tar.xz for Unix, .zip for Windows)")),
            _ => out.drop(key, "expected a string"),
        },
        "checksum" => match value {
            DeValue::String(s) if s.as_ref() == "sha256" => same(out),
            _ => out.drop(key, "SHA-256 sums are always written (SHA256SUMS and one .sha256 per file)"),
        },
        "tag-namespace" => match value {
            DeValue::String(ns) => {
                let pattern = format!("{ns}-v[0-9]+.[0-9]+.[0-9]+*");
                out.keep(key, format!("tag-pattern = {}", toml_string(&pattern)));
                out.note(key, &format!("release tags are `{ns}-v<version>`; change `tag-pattern`'s prefix if yours are spelled otherwise"));
            }
            _ => out.drop(key, "expected a string"),
        },
        "ci" => match strings(value).as_deref() {
            Some(["github"]) => out.note(key, "the generated workflows are GitHub's (release.yml, build.yml, ci.yml)"),
            _ => out.drop(key, "only GitHub Actions workflows are generated"),
        },
        "hosting" => match strings(value).as_deref() {
            Some(["github"]) => out.note(key, "releases are GitHub releases of `repository`"),
            _ => out.drop(key, "releases are GitHub releases of `repository` only"),
        },
        "installers" => {
            for installer in strings(value).unwrap_or_default() {
                match installer {
                    "shell" => out.note("installers: shell", "always made: `<app>-installer.sh`, checking the hashes it carries"),
                    "powershell" => out.note("installers: powershell", "made for the Windows targets: `<app>-installer.ps1`, checking the hashes it carries"),
                    "homebrew" => out.note("installers: homebrew", "always made: `<app>.rb`, a release file; `tap` pushes it"),
                    other => out.drop(
                        &format!("installers: {other}"),
                        "not made here; the shell and PowerShell installers, the formula, .deb/.rpm and `cargo binstall` are",
                    ),
                }
            }
        }
        "tap" => match value {
            DeValue::String(tap) => {
                out.keep(key, format!("homebrew-tap = {}", toml_string(tap)));
                out.note(key, "the release workflow pushes the formula there with the HOMEBREW_TAP_TOKEN secret, the name cargo-dist's workflow uses");
            }
            _ => out.drop(key, "expected a string `owner/repo`"),
        },
        "auto-includes" => match value {
            DeValue::Boolean(true) => out.note(key, "without `include`, the app's README, licence and changelog files ship"),
            _ => out.drop(key, "without `include`, the app's README, licence and changelog files ship; list exactly the files you want in `include`"),
        },
        _ => match cargo_dist::DROPPED.iter().find(|(k, _)| *k == key) {
            Some((_, why)) => out.drop(key, *why),
            None => out.drop(key, "not a cargo-dist key this migration knows; nothing carried"),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// What `dist init` writes (cargo-dist 0.28), with a few choices made.
    const INIT: &str = r#"[workspace]
members = ["cargo:."]

# Config for 'dist'
[dist]
# The preferred dist version to use in CI (Cargo.toml SemVer syntax)
cargo-dist-version = "0.28.0"
# CI backends to support
ci = "github"
# The installers to generate for each app
installers = ["shell", "powershell", "homebrew"]
# A GitHub repo to push Homebrew formulas to
tap = "owner/homebrew-tap"
# Target platforms to build apps for (Rust target-triple syntax)
targets = ["aarch64-apple-darwin", "aarch64-unknown-linux-gnu", "x86_64-apple-darwin", "x86_64-unknown-linux-gnu", "x86_64-unknown-linux-musl", "x86_64-pc-windows-msvc", "aarch64-pc-windows-msvc"]
# Path that installers should place binaries in
install-path = "CARGO_HOME"
# Publish jobs to run in CI
publish-jobs = ["homebrew"]
# Whether to install an updater program
install-updater = false
# Which actions to run on pull requests
pr-run-mode = "plan"
github-attestations = true
include = ["doc/tool.1"]
features = ["tls"]
unix-archive = ".tar.gz"
windows-archive = ".zip"
checksum = "sha512"
tag-namespace = "tool"
[dist.github-custom-runners]
aarch64-unknown-linux-gnu = "ubuntu-24.04-arm"
"#;

    #[test]
    fn a_dist_init_configuration_keeps_what_maps_and_names_every_other_key() {
        let doc = DeTable::parse(INIT).unwrap();
        assert_eq!(
            cargo_dist_sign(doc.get_ref()).as_deref(),
            Some("[workspace]")
        );
        let Some(DeValue::Table(dist)) = config::toml_field(doc.get_ref(), "dist") else {
            panic!()
        };
        let migration = from_cargo_dist(dist, "tool");
        let cfg = config::parse(&migration.text, Path::new("dist-workspace.toml"))
            .unwrap_or_else(|e| panic!("{e}\n{}", migration.text));
        assert_eq!(cfg.app, "tool");
        let triples: Vec<&str> = cfg.targets.iter().map(|t| t.triple).collect();
        assert_eq!(
            triples,
            [
                "aarch64-apple-darwin",
                "aarch64-unknown-linux-musl",
                "x86_64-apple-darwin",
                "x86_64-unknown-linux-musl",
                "x86_64-pc-windows-msvc",
                "aarch64-pc-windows-msvc"
            ]
        );
        assert_eq!(cfg.features.features, ["tls"]);
        assert_eq!(cfg.include.unwrap()[0].from, "doc/tool.1");
        assert_eq!(cfg.pr_run_mode, config::PrRunMode::Plan);
        assert_eq!(
            cfg.unix_archive,
            xtask_inspect::format::ArchiveFormat::TarGz
        );
        assert_eq!(cfg.tag_pattern.tag_for("1.2.0"), "tool-v1.2.0");
        assert_eq!(cfg.homebrew_tap.as_deref(), Some("owner/homebrew-tap"));
        let dropped: Vec<&str> = migration.dropped.iter().map(|(k, _)| k.as_str()).collect();
        for key in [
            "cargo-dist-version",
            "install-path",
            "publish-jobs",
            "install-updater",
            "checksum",
            "github-custom-runners",
        ] {
            assert!(dropped.contains(&key), "{key} not named in {dropped:?}");
        }
        // Every key of the input is accounted for, one way or the other.
        for (key, _) in dist.iter() {
            let key: &str = key.get_ref();
            let named = |list: &[(String, String)]| {
                list.iter()
                    .any(|(k, _)| k == key || k.starts_with(&format!("{key}: ")))
            };
            assert!(
                named(&migration.carried) || named(&migration.dropped),
                "{key} neither carried nor dropped"
            );
        }
        assert!(migration.dropped.iter().all(|(_, why)| !why.is_empty()));
    }

    #[test]
    fn our_own_configuration_is_not_taken_for_cargo_dists() {
        let ours = DeTable::parse(
            "[dist]\napp = \"tool\"\npr-run-mode = \"plan\"\ntargets = [\"x86_64-unknown-linux-musl\"]\n",
        )
        .unwrap();
        assert_eq!(cargo_dist_sign(ours.get_ref()), None);
        let old = DeTable::parse("[dist]\ncargo-dist-version = \"0.14.0\"\n").unwrap();
        assert_eq!(
            cargo_dist_sign(old.get_ref()).as_deref(),
            Some("[dist].cargo-dist-version")
        );
    }
}
