//! The crates one target's build of the app is made from, read from
//! `cargo metadata --filter-platform <target>` with the release's features:
//! what every binary embeds (cargo-auditable's `.dep-v0`) and what its
//! archive's SBOM lists. Kinds follow cargo-auditable: a crate reached only
//! through build dependencies or proc macros is build-only; dev-dependencies
//! are left out. Pure.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::Value;
use xtask_inspect::audit::{DepList, Package as AuditPackage};

/// One crate of the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Crate {
    pub(crate) name: String,
    pub(crate) version: String,
    /// Cargo's source id (`registry+https://…`, `git+https://…#<commit>`);
    /// `None` for a path dependency or a workspace member.
    pub(crate) source: Option<String>,
    pub(crate) build_only: bool,
    /// Indices into [`Crates::list`].
    pub(crate) dependencies: Vec<usize>,
    pub(crate) root: bool,
    /// The SPDX expression of its `license` field.
    pub(crate) license: Option<String>,
    /// Its Cargo.toml, for a crate on this machine's disk (no source id):
    /// a change there may change the graph without changing Cargo.lock.
    pub(crate) manifest_path: Option<PathBuf>,
}

/// Every crate of one build, sorted by name and version: the same list,
/// in the same order, from any checkout path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Crates {
    pub(crate) list: Vec<Crate>,
}

const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

impl Crate {
    /// cargo-auditable's name for where it came from.
    pub(crate) fn source_kind(&self) -> &str {
        match self.source.as_deref() {
            None => "local",
            Some(CRATES_IO) => "crates.io",
            Some(other) => other.split('+').next().unwrap_or(other),
        }
    }
}

impl Crates {
    /// The crates of several builds of one app — a universal binary's
    /// slices, each for its CPU — as one list, as `DepList::union` joins
    /// what the slices embed: each crate once, its dependencies in any
    /// build, build-only only where it is so in every build it is in.
    pub(crate) fn union(builds: &[&Crates]) -> Crates {
        type Key = (String, String, Option<String>);
        let key = |c: &Crate| (c.name.clone(), c.version.clone(), c.source.clone());
        let mut merged: BTreeMap<Key, (Crate, BTreeSet<Key>)> = BTreeMap::new();
        for build in builds {
            for c in &build.list {
                let dependencies: BTreeSet<Key> = c
                    .dependencies
                    .iter()
                    .filter_map(|&i| build.list.get(i).map(key))
                    .collect();
                let (first, edges) = merged
                    .entry(key(c))
                    .or_insert_with(|| (c.clone(), BTreeSet::new()));
                first.build_only &= c.build_only;
                first.root |= c.root;
                edges.extend(dependencies);
            }
        }
        let keys: Vec<Key> = merged.keys().cloned().collect();
        let list = merged
            .into_values()
            .map(|(c, edges)| Crate {
                dependencies: edges
                    .iter()
                    .filter_map(|e| keys.binary_search(e).ok())
                    .collect(),
                ..c
            })
            .collect();
        Crates { list }
    }

    /// What the binaries embed.
    pub(crate) fn dep_list(&self) -> DepList {
        DepList {
            packages: self
                .list
                .iter()
                .map(|c| AuditPackage {
                    name: c.name.clone(),
                    version: c.version.clone(),
                    source: c.source_kind().to_owned(),
                    build_only: c.build_only,
                    dependencies: c.dependencies.clone(),
                    root: c.root,
                })
                .collect(),
        }
    }
}

/// How a crate is reached, weakest first: the strongest path wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reach {
    Dev,
    Build,
    Runtime,
}

/// The crates `app` (a workspace member's name) is built from, according to
/// `cargo metadata`'s JSON with its `resolve` graph.
pub(crate) fn from_metadata(json: &str, app: &str) -> Result<Crates> {
    let v: Value = serde_json::from_str(json).context("parsing `cargo metadata` output")?;
    let members: BTreeSet<&str> = v["workspace_members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let packages: BTreeMap<&str, &Value> = v["packages"]
        .as_array()
        .context("`cargo metadata` output has no packages")?
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    let root = packages
        .iter()
        .find(|(id, p)| members.contains(**id) && p["name"] == app)
        .map(|(id, _)| *id)
        .with_context(|| format!("`cargo metadata` does not list the package {app}"))?;
    let nodes: BTreeMap<&str, &Value> = v["resolve"]["nodes"]
        .as_array()
        .context("`cargo metadata` output has no resolve graph")?
        .iter()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let proc_macro = |id: &str| {
        packages.get(id).is_some_and(|p| {
            p["targets"].as_array().is_some_and(|t| {
                !t.is_empty()
                    && t.iter()
                        .all(|t| t["kind"].as_array().is_some_and(|k| k == &["proc-macro"]))
            })
        })
    };
    let edges = |id: &str| -> Vec<(&str, Reach)> {
        nodes
            .get(id)
            .and_then(|n| n["deps"].as_array())
            .into_iter()
            .flatten()
            .filter_map(|d| {
                let reach = d["dep_kinds"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|k| match k["kind"].as_str() {
                        Some("dev") => Reach::Dev,
                        Some("build") => Reach::Build,
                        _ => Reach::Runtime,
                    })
                    .max()
                    .unwrap_or(Reach::Runtime);
                Some((d["pkg"].as_str()?, reach))
            })
            .collect()
    };

    // Breadth first from the app, each crate at the strongest reach found:
    // what a build dependency needs is build-only too.
    let mut reach: BTreeMap<&str, Reach> = BTreeMap::from([(root, Reach::Runtime)]);
    let mut queue = vec![root];
    while let Some(parent) = queue.pop() {
        let parent_reach = reach[parent];
        for (child, edge) in edges(parent) {
            if edge == Reach::Dev {
                continue;
            }
            let mut r = edge.min(parent_reach);
            if proc_macro(child) {
                r = r.min(Reach::Build);
            }
            if reach.get(child).is_none_or(|old| r > *old) {
                reach.insert(child, r);
                queue.push(child);
            }
        }
    }

    let field = |id: &str, key: &str| packages.get(id).and_then(|p| p[key].as_str());
    let mut ids: Vec<&str> = reach.keys().copied().collect();
    // Name and version first; the source id (which for local crates holds
    // their path) only between crates equal in both.
    ids.sort_by_key(|id| {
        (
            field(id, "name"),
            field(id, "version"),
            field(id, "source"),
            *id,
        )
    });
    let index: BTreeMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let list = ids
        .iter()
        .map(|id| {
            let mut dependencies: Vec<usize> = edges(id)
                .into_iter()
                .filter(|(_, r)| *r != Reach::Dev)
                .filter_map(|(d, _)| index.get(d).copied())
                .collect();
            dependencies.sort_unstable();
            dependencies.dedup();
            Ok(Crate {
                name: field(id, "name")
                    .with_context(|| format!("package `{id}` has no name"))?
                    .to_owned(),
                version: field(id, "version")
                    .with_context(|| format!("package `{id}` has no version"))?
                    .to_owned(),
                source: field(id, "source").map(str::to_owned),
                build_only: reach[id] == Reach::Build,
                dependencies,
                root: *id == root,
                license: field(id, "license").map(str::to_owned),
                manifest_path: field(id, "source")
                    .is_none()
                    .then(|| field(id, "manifest_path").map(PathBuf::from))
                    .flatten(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Crates { list })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A workspace whose app uses `clap` (whose derive is a proc macro using
    /// `syn`), builds with `cc` (which needs `shlex`), tests with `tempfile`,
    /// and has a local helper crate.
    const METADATA: &str = r#"{
      "workspace_members": ["path+file:///w/app#0.1.0", "path+file:///w/helper#0.2.0"],
      "packages": [
        {"id": "path+file:///w/app#0.1.0", "name": "app", "version": "0.1.0", "source": null, "license": "MIT", "targets": [{"kind": ["bin"]}]},
        {"id": "path+file:///w/helper#0.2.0", "name": "helper", "version": "0.2.0", "source": null, "license": null, "targets": [{"kind": ["lib"]}]},
        {"id": "registry+https://github.com/rust-lang/crates.io-index#clap@4.5.0", "name": "clap", "version": "4.5.0", "source": "registry+https://github.com/rust-lang/crates.io-index", "license": "MIT OR Apache-2.0", "targets": [{"kind": ["lib"]}]},
        {"id": "registry+https://github.com/rust-lang/crates.io-index#clap_derive@4.5.0", "name": "clap_derive", "version": "4.5.0", "source": "registry+https://github.com/rust-lang/crates.io-index", "license": "MIT OR Apache-2.0", "targets": [{"kind": ["proc-macro"]}]},
        {"id": "registry+https://github.com/rust-lang/crates.io-index#syn@2.0.0", "name": "syn", "version": "2.0.0", "source": "registry+https://github.com/rust-lang/crates.io-index", "license": "MIT OR Apache-2.0", "targets": [{"kind": ["lib"]}]},
        {"id": "registry+https://github.com/rust-lang/crates.io-index#cc@1.0.0", "name": "cc", "version": "1.0.0", "source": "registry+https://github.com/rust-lang/crates.io-index", "license": "MIT OR Apache-2.0", "targets": [{"kind": ["lib"]}]},
        {"id": "registry+https://github.com/rust-lang/crates.io-index#shlex@1.3.0", "name": "shlex", "version": "1.3.0", "source": "registry+https://github.com/rust-lang/crates.io-index", "license": "MIT OR Apache-2.0", "targets": [{"kind": ["lib"]}]},
        {"id": "registry+https://github.com/rust-lang/crates.io-index#tempfile@3.0.0", "name": "tempfile", "version": "3.0.0", "source": "registry+https://github.com/rust-lang/crates.io-index", "license": "MIT", "targets": [{"kind": ["lib"]}]},
        {"id": "git+https://github.com/x/y?rev=abc#z@0.1.0", "name": "z", "version": "0.1.0", "source": "git+https://github.com/x/y?rev=abc#abcdef", "license": null, "targets": [{"kind": ["lib"]}]}
      ],
      "resolve": {"root": null, "nodes": [
        {"id": "path+file:///w/app#0.1.0", "deps": [
          {"pkg": "registry+https://github.com/rust-lang/crates.io-index#clap@4.5.0", "dep_kinds": [{"kind": null}]},
          {"pkg": "path+file:///w/helper#0.2.0", "dep_kinds": [{"kind": null}]},
          {"pkg": "registry+https://github.com/rust-lang/crates.io-index#cc@1.0.0", "dep_kinds": [{"kind": "build"}]},
          {"pkg": "registry+https://github.com/rust-lang/crates.io-index#tempfile@3.0.0", "dep_kinds": [{"kind": "dev"}]}
        ]},
        {"id": "path+file:///w/helper#0.2.0", "deps": [
          {"pkg": "registry+https://github.com/rust-lang/crates.io-index#shlex@1.3.0", "dep_kinds": [{"kind": null}]},
          {"pkg": "git+https://github.com/x/y?rev=abc#z@0.1.0", "dep_kinds": [{"kind": null}]}
        ]},
        {"id": "registry+https://github.com/rust-lang/crates.io-index#clap@4.5.0", "deps": [
          {"pkg": "registry+https://github.com/rust-lang/crates.io-index#clap_derive@4.5.0", "dep_kinds": [{"kind": null}]}
        ]},
        {"id": "registry+https://github.com/rust-lang/crates.io-index#clap_derive@4.5.0", "deps": [
          {"pkg": "registry+https://github.com/rust-lang/crates.io-index#syn@2.0.0", "dep_kinds": [{"kind": null}]}
        ]},
        {"id": "registry+https://github.com/rust-lang/crates.io-index#syn@2.0.0", "deps": []},
        {"id": "registry+https://github.com/rust-lang/crates.io-index#cc@1.0.0", "deps": [
          {"pkg": "registry+https://github.com/rust-lang/crates.io-index#shlex@1.3.0", "dep_kinds": [{"kind": null}]}
        ]},
        {"id": "registry+https://github.com/rust-lang/crates.io-index#shlex@1.3.0", "deps": []},
        {"id": "registry+https://github.com/rust-lang/crates.io-index#tempfile@3.0.0", "deps": []},
        {"id": "git+https://github.com/x/y?rev=abc#z@0.1.0", "deps": []}
      ]}
    }"#;

    fn named<'a>(crates: &'a Crates, name: &str) -> &'a Crate {
        crates.list.iter().find(|c| c.name == name).unwrap()
    }

    #[test]
    fn kinds_follow_the_strongest_path_and_dev_dependencies_are_left_out() {
        let crates = from_metadata(METADATA, "app").unwrap();
        let names: Vec<&str> = crates.list.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "app",
                "cc",
                "clap",
                "clap_derive",
                "helper",
                "shlex",
                "syn",
                "z"
            ]
        );
        assert!(named(&crates, "app").root);
        assert!(!named(&crates, "app").build_only);
        // A build dependency, a proc macro and what only they use: build-only.
        assert!(named(&crates, "cc").build_only);
        assert!(named(&crates, "clap_derive").build_only);
        assert!(named(&crates, "syn").build_only);
        // shlex is a build dependency's dependency, but helper uses it at run time.
        assert!(!named(&crates, "shlex").build_only);
        assert!(!named(&crates, "clap").build_only);
        // The app's edges: cc, clap, helper (sorted indices), not tempfile.
        assert_eq!(named(&crates, "app").dependencies, [1, 2, 4]);
        assert_eq!(crates.list.iter().filter(|c| c.root).count(), 1);
    }

    #[test]
    fn sources_are_named_as_cargo_auditable_names_them() {
        let crates = from_metadata(METADATA, "app").unwrap();
        assert_eq!(named(&crates, "clap").source_kind(), "crates.io");
        assert_eq!(named(&crates, "helper").source_kind(), "local");
        assert_eq!(named(&crates, "z").source_kind(), "git");
        let list = crates.dep_list();
        assert_eq!(list.packages.len(), 8);
        assert_eq!(
            named(&crates, "clap").license.as_deref(),
            Some("MIT OR Apache-2.0")
        );
    }

    #[test]
    fn an_app_cargo_does_not_list_is_an_error() {
        let err = from_metadata(METADATA, "nope").unwrap_err();
        assert!(
            err.to_string().contains("does not list the package nope"),
            "{err}"
        );
    }
}
