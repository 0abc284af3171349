//! `dist-rebuild.json`: which files of a release were rebuilt bit for bit
//! before it was published, from which commit, on which machine. A file of
//! its own beside the manifest, listed in `SHA256SUMS` (so attested with
//! the rest), never a change to the manifest, whose bytes the attestations
//! and users' `reproduce` rely on. `reproduce --statement` writes one per
//! rebuild job; `merge --rebuilt` joins them and holds the release to them.

use std::collections::BTreeSet;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use xtask_inspect::target::{Os, Target};

use crate::archive::index;
use crate::archive::manifest::{self, Manifest};

pub(crate) const FILE_NAME: &str = index::REBUILD_FILE;

/// What was rebuilt identical, as the rebuild jobs said it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statement {
    pub(crate) app: String,
    pub(crate) version: String,
    pub(crate) commit: String,
    /// One per target, sorted by target.
    pub(crate) rebuilds: Vec<Rebuild>,
}

/// One target's rebuild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rebuild {
    pub(crate) target: String,
    /// The rebuilding system's own name for itself (`PRETTY_NAME` of its
    /// /etc/os-release).
    pub(crate) os: String,
    /// The image the workflow ran the rebuild in, as it names it; empty
    /// when none was given (a rebuild at home).
    pub(crate) image: String,
    /// `(name, sha256)` of each file rebuilt identical: the archive, its
    /// SBOM and packages.
    pub(crate) files: Vec<(String, String)>,
}

/// `(name, sha256)` of every file of `target` the release publishes.
fn files_of(manifest: &Manifest, target: &str) -> Vec<(String, String)> {
    index::of_target(manifest, target)
        .iter()
        .map(|f| (f.name.to_owned(), f.sha256.to_owned()))
        .collect()
}

/// `PRETTY_NAME` of an /etc/os-release text, unquoted.
pub(crate) fn os_name(os_release: &str) -> Option<String> {
    let value = os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))?
        .trim();
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    (!value.is_empty()).then(|| value.to_owned())
}

impl Statement {
    /// The statement of a rebuild that matched: every file of each target
    /// of `rebuilt`, with the hashes the release gives them.
    pub(crate) fn of(manifest: &Manifest, rebuilt: &[&str], os: &str, image: &str) -> Statement {
        let mut rebuilds: Vec<Rebuild> = manifest
            .artifacts
            .iter()
            .filter(|a| rebuilt.contains(&a.target.as_str()))
            .map(|a| Rebuild {
                target: a.target.clone(),
                os: os.to_owned(),
                image: image.to_owned(),
                files: files_of(manifest, &a.target),
            })
            .collect();
        rebuilds.sort_by(|a, b| a.target.cmp(&b.target));
        Statement {
            app: manifest.app.clone(),
            version: manifest.version.clone(),
            commit: manifest.commit.clone(),
            rebuilds,
        }
    }

    /// The rebuild jobs' statements as one: the same app, version and
    /// commit, each target rebuilt once. `parts` are `(where, statement)`.
    pub(crate) fn join(parts: Vec<(String, Statement)>) -> Result<Statement> {
        let mut parts = parts.into_iter();
        let Some((first_from, mut joined)) = parts.next() else {
            bail!("no rebuild statement to join");
        };
        for (from, part) in parts {
            let theirs = (&part.app, &part.version, &part.commit);
            if theirs != (&joined.app, &joined.version, &joined.commit) {
                bail!(
                    "{from} states a rebuild of {} {} at {}, {first_from} of {} {} at {}: \
                     they are not of one release",
                    part.app,
                    part.version,
                    part.commit,
                    joined.app,
                    joined.version,
                    joined.commit
                );
            }
            for rebuild in part.rebuilds {
                if joined.rebuilds.iter().any(|r| r.target == rebuild.target) {
                    bail!(
                        "{from} states a second rebuild of {}; keep one statement per target",
                        rebuild.target
                    );
                }
                joined.rebuilds.push(rebuild);
            }
        }
        joined.rebuilds.sort_by(|a, b| a.target.cmp(&b.target));
        Ok(joined)
    }

    /// How the statement disagrees with the release it is published in:
    /// another app, version or commit, a target it does not have, a file
    /// that is not that target's or has another hash than `sums` gives,
    /// or a file of a rebuilt target left out. One line each.
    pub(crate) fn problems(&self, manifest: &Manifest, sums: &[(String, String)]) -> Vec<String> {
        let mut problems = Vec::new();
        let ours = (&manifest.app, &manifest.version, &manifest.commit);
        if (&self.app, &self.version, &self.commit) != ours {
            problems.push(format!(
                "{FILE_NAME}: states a rebuild of {} {} at {}, but the release is {} {} at {}",
                self.app, self.version, self.commit, ours.0, ours.1, ours.2
            ));
            return problems;
        }
        for rebuild in &self.rebuilds {
            let Some(artifact) = manifest
                .artifacts
                .iter()
                .find(|a| a.target == rebuild.target)
            else {
                problems.push(format!(
                    "{FILE_NAME}: states a rebuild of {}, which the release has no archive of",
                    rebuild.target
                ));
                continue;
            };
            let released = files_of(manifest, &artifact.target);
            for (name, sha256) in &rebuild.files {
                if !released.iter().any(|(n, _)| n == name) {
                    problems.push(format!(
                        "{FILE_NAME}: names {name} as rebuilt for {}, which is not a file of that target",
                        rebuild.target
                    ));
                } else if !sums.iter().any(|(h, n)| n == name && h == sha256) {
                    problems.push(format!(
                        "{FILE_NAME}: gives {name} another hash than SHA256SUMS does"
                    ));
                }
            }
            for (name, _) in &released {
                if !rebuild.files.iter().any(|(n, _)| n == name) {
                    problems.push(format!(
                        "{FILE_NAME}: leaves out {name}, a file of the rebuilt {}",
                        rebuild.target
                    ));
                }
            }
        }
        problems
    }

    /// The release's Linux targets no rebuild covers: a release workflow
    /// with `rebuild-check` on must not publish any.
    pub(crate) fn not_rebuilt<'m>(&self, manifest: &'m Manifest) -> Vec<&'m str> {
        manifest
            .artifacts
            .iter()
            .filter(|a| is_linux(&a.target))
            .filter(|a| !self.rebuilds.iter().any(|r| r.target == a.target))
            .map(|a| a.target.as_str())
            .collect()
    }

    /// What the release notes say of it: which files were rebuilt bit for
    /// bit, from which commit, where; `built_on` names a target's build
    /// machine. The targets not rebuilt are named too.
    pub(crate) fn notes(&self, manifest: &Manifest, built_on: impl Fn(&str) -> String) -> String {
        let short = &self.commit[..12.min(self.commit.len())];
        let mut text = format!(
            "### Rebuilt bit for bit\n\n\
             Before this release was published, these files were built a second time from \
             commit `{short}` on another machine, and came out identical, byte for byte:\n\n"
        );
        for rebuild in &self.rebuilds {
            let names: Vec<String> = rebuild
                .files
                .iter()
                .map(|(n, _)| format!("`{n}`"))
                .collect();
            let image = if rebuild.image.is_empty() {
                String::new()
            } else {
                format!(", image `{}`", rebuild.image)
            };
            text.push_str(&format!(
                "- {}: built on {}, rebuilt on {}{image}: {}\n",
                rebuild.target,
                built_on(&rebuild.target),
                rebuild.os,
                names.join(", ")
            ));
        }
        let others: BTreeSet<&str> = manifest
            .artifacts
            .iter()
            .filter(|a| !self.rebuilds.iter().any(|r| r.target == a.target))
            .map(|a| a.target.as_str())
            .collect();
        if !others.is_empty() {
            text.push_str(&format!(
                "\nNot rebuilt: {}.\n",
                others.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        text.push_str(&format!(
            "\n`{FILE_NAME}` lists each file with its SHA-256. To rebuild it yourself, check out \
             the tag and run `cargo xtask reproduce`.\n"
        ));
        text
    }

    pub(crate) fn to_json(&self) -> String {
        let rebuilds: Vec<Value> = self
            .rebuilds
            .iter()
            .map(|r| {
                json!({
                    "target": r.target,
                    "os": r.os,
                    "image": r.image,
                    "files": r.files.iter().map(|(name, sha256)| json!({
                        "name": name, "sha256": sha256,
                    })).collect::<Vec<Value>>(),
                })
            })
            .collect();
        let doc = json!({
            "app": self.app,
            "version": self.version,
            "commit": self.commit,
            "rebuilt_identical": rebuilds,
        });
        manifest::pretty(&doc)
    }

    pub(crate) fn from_json(text: &str) -> Result<Statement> {
        let v: Value = serde_json::from_str(text).context("not valid JSON")?;
        let s = manifest::string;
        let rebuilds = v["rebuilt_identical"]
            .as_array()
            .context("missing `rebuilt_identical`")?
            .iter()
            .map(|r| {
                let files = r["files"]
                    .as_array()
                    .context("missing `files`")?
                    .iter()
                    .map(|f| Ok((s(f, "name")?, s(f, "sha256")?)))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Rebuild {
                    target: s(r, "target")?,
                    os: s(r, "os")?,
                    image: s(r, "image")?,
                    files,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Statement {
            app: s(&v, "app")?,
            version: s(&v, "version")?,
            commit: s(&v, "commit")?,
            rebuilds,
        })
    }
}

fn is_linux(triple: &str) -> bool {
    Target::parse(triple).is_ok_and(|t| t.os == Os::Linux)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::manifest::{Listed, ManifestArtifact};

    fn manifest() -> Manifest {
        let listed = |name: String, sha: &str| Listed {
            name,
            size: 3,
            sha256: sha.repeat(64),
        };
        let archive = |target: &str, sha: &str, packages: bool| {
            let name = format!("tool-1.0.0-{target}.tar.xz");
            ManifestArtifact {
                sbom: Some(listed(format!("{name}.cdx.json"), "5")),
                packages: if packages {
                    vec![listed(format!("tool_1.0.0_{target}.deb"), "6")]
                } else {
                    vec![]
                },
                name,
                target: target.into(),
                size: 10,
                sha256: sha.repeat(64),
                binaries: vec![],
                linkage: "static".into(),
                toolchain: Default::default(),
            }
        };
        Manifest {
            app: "tool".into(),
            version: "1.0.0".into(),
            source_date_epoch: 1,
            commit: "c0ffee".repeat(6),
            artifacts: vec![
                archive("x86_64-unknown-linux-musl", "a", true),
                archive("aarch64-unknown-linux-musl", "b", true),
                archive("aarch64-apple-darwin", "c", false),
            ],
            installers: vec![],
        }
    }

    fn sums(m: &Manifest) -> Vec<(String, String)> {
        crate::archive::index::sums(m)
    }

    const OS: &str = "Debian GNU/Linux 13 (trixie)";

    #[test]
    fn a_joined_statement_reads_back_and_agrees_with_its_release() {
        let m = manifest();
        let x86 = Statement::of(&m, &["x86_64-unknown-linux-musl"], OS, "rust:1-trixie");
        let arm = Statement::of(&m, &["aarch64-unknown-linux-musl"], OS, "rust:1-trixie");
        assert_eq!(x86.rebuilds[0].files.len(), 3, "archive, SBOM, package");
        let joined = Statement::join(vec![("b".into(), arm), ("a".into(), x86)]).unwrap();
        assert_eq!(Statement::from_json(&joined.to_json()).unwrap(), joined);
        assert_eq!(joined.rebuilds[0].target, "aarch64-unknown-linux-musl");
        assert!(joined.problems(&m, &sums(&m)).is_empty());
        assert!(joined.not_rebuilt(&m).is_empty(), "macOS is not asked for");
        let notes = joined.notes(&m, |_| "ubuntu-latest".into());
        assert!(
            notes.contains(&format!("commit `{}`", &m.commit[..12])),
            "{notes}"
        );
        assert!(
            notes.contains("- x86_64-unknown-linux-musl: built on ubuntu-latest, rebuilt on Debian GNU/Linux 13 (trixie), image `rust:1-trixie`: `tool-1.0.0-x86_64-unknown-linux-musl.tar.xz`, `tool-1.0.0-x86_64-unknown-linux-musl.tar.xz.cdx.json`, `tool_1.0.0_x86_64-unknown-linux-musl.deb`"),
            "{notes}"
        );
        assert!(
            notes.contains("Not rebuilt: aarch64-apple-darwin."),
            "{notes}"
        );
    }

    #[test]
    fn statements_of_two_releases_or_one_target_twice_do_not_join() {
        let m = manifest();
        let x86 = Statement::of(&m, &["x86_64-unknown-linux-musl"], OS, "");
        let mut other = x86.clone();
        other.commit = "beef".into();
        let err = Statement::join(vec![
            ("a.json".into(), x86.clone()),
            ("b.json".into(), other),
        ])
        .unwrap_err();
        assert!(
            format!("{err}").contains("b.json states a rebuild of tool 1.0.0 at beef"),
            "{err}"
        );
        let err = Statement::join(vec![("a.json".into(), x86.clone()), ("b.json".into(), x86)])
            .unwrap_err();
        assert!(
            format!("{err}")
                .contains("b.json states a second rebuild of x86_64-unknown-linux-musl"),
            "{err}"
        );
    }

    #[test]
    fn a_statement_that_claims_too_much_or_too_little_is_named() {
        let m = manifest();
        let mut s = Statement::of(&m, &["x86_64-unknown-linux-musl"], OS, "");
        assert_eq!(s.not_rebuilt(&m), ["aarch64-unknown-linux-musl"]);
        s.rebuilds[0].files[0].1 = "f".repeat(64);
        s.rebuilds[0].files.remove(2);
        s.rebuilds[0].files.push((
            "tool-1.0.0-aarch64-apple-darwin.tar.xz".into(),
            "c".repeat(64),
        ));
        let problems = s.problems(&m, &sums(&m)).join("\n");
        assert!(
            problems.contains("gives tool-1.0.0-x86_64-unknown-linux-musl.tar.xz another hash"),
            "{problems}"
        );
        assert!(
            problems.contains("leaves out tool_1.0.0_x86_64-unknown-linux-musl.deb"),
            "{problems}"
        );
        assert!(
            problems.contains("names tool-1.0.0-aarch64-apple-darwin.tar.xz as rebuilt for x86_64"),
            "{problems}"
        );
        let mut other = m.clone();
        other.version = "1.0.1".into();
        let problems = s.problems(&other, &sums(&other)).join("\n");
        assert!(
            problems.contains("but the release is tool 1.0.1"),
            "{problems}"
        );
    }

    #[test]
    fn the_os_is_named_as_os_release_names_it() {
        assert_eq!(
            os_name("NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\n")
                .as_deref(),
            Some("Debian GNU/Linux 13 (trixie)")
        );
        assert_eq!(os_name("PRETTY_NAME=Alpine\n").as_deref(), Some("Alpine"));
        assert_eq!(os_name("ID=x\n"), None);
    }
}
