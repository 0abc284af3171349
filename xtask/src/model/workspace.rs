//! The cargo workspace as `cargo metadata` describes it: where things are,
//! what the app is. Pure: `project::workspace` runs cargo and reads files.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use xtask_inspect::suggest::did_you_mean;

/// The release directory's name in the target directory. It holds a `.`,
/// which cargo refuses in a profile name, so no cargo command writes there:
/// `target/dist/` is where cargo puts a `cargo build --profile dist`.
pub(crate) const RELEASE_DIR: &str = "dist.out";

/// Where versions of the xtask before `RELEASE_DIR` wrote releases: never
/// read as one (it may hold cargo's `dist` profile output).
pub(crate) const OLD_RELEASE_DIR: &str = "dist";

#[derive(Debug, Clone)]
pub(crate) struct Workspace {
    pub(crate) root: PathBuf,
    /// Cargo's target directory, honouring `CARGO_TARGET_DIR` and config.
    pub(crate) target_dir: PathBuf,
    pub(crate) packages: Vec<Package>,
}

#[derive(Debug, Clone)]
pub(crate) struct Package {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) manifest_path: PathBuf,
    pub(crate) bins: Vec<String>,
    /// `package.repository` from its Cargo.toml.
    pub(crate) repository: Option<String>,
    /// Its `[features]`, optional dependencies' implicit ones included.
    pub(crate) features: Vec<String>,
    /// What its Cargo.toml says about it, for system packages.
    pub(crate) about: About,
    /// `cargo publish` may upload it to crates.io: no `publish = false`,
    /// nor a `publish` list without `crates-io`.
    pub(crate) to_crates_io: bool,
}

/// `description`, `license`, `homepage` and `authors` of a Cargo.toml.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct About {
    pub(crate) description: Option<String>,
    pub(crate) license: Option<String>,
    pub(crate) homepage: Option<String>,
    pub(crate) authors: Vec<String>,
}

impl About {
    /// The description's first line without its final period: the one-line
    /// summary packages and formulae show.
    pub(crate) fn summary(&self) -> Option<&str> {
        self.description
            .as_deref()?
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(|l| l.trim_end_matches('.'))
    }
}

impl Package {
    /// Package `toolbox` 1.2.3 with one binary, `tb` (named unlike its
    /// package, as ripgrep's `rg` is), for tests.
    #[cfg(test)]
    pub(crate) fn sample() -> Package {
        Package {
            name: "toolbox".into(),
            version: "1.2.3".into(),
            manifest_path: "/w/crates/toolbox/Cargo.toml".into(),
            bins: vec!["tb".into()],
            repository: None,
            to_crates_io: true,
            features: vec!["fancy".into()],
            about: About {
                authors: vec!["Toolbox Maker <maker@example.com>".into()],
                ..About::default()
            },
        }
    }

    /// The binary that smoke tests and docs run by default, and whose name
    /// the installer reports: the one named like the package, else the first.
    pub(crate) fn main_bin(&self) -> &str {
        self.bins
            .iter()
            .find(|b| **b == self.name)
            .unwrap_or(&self.bins[0])
    }

    /// The binary a `bin` key of `[dist].<key>` names, or the main binary.
    pub(crate) fn binary<'a>(&'a self, bin: Option<&'a str>, key: &str) -> Result<&'a str> {
        match bin {
            None => Ok(self.main_bin()),
            Some(bin) if self.bins.iter().any(|b| b == bin) => Ok(bin),
            Some(bin) => bail!(
                "`[dist].{key}`: `bin = \"{bin}\"` is not a binary of {}{} (binaries: {})",
                self.name,
                did_you_mean(bin, self.bins.iter().map(String::as_str)),
                self.bins.join(", ")
            ),
        }
    }
}

impl Workspace {
    /// Where release artifacts go: [`RELEASE_DIR`] inside the target directory.
    pub(crate) fn dist_dir(&self) -> PathBuf {
        self.target_dir.join(RELEASE_DIR)
    }

    /// The package named `app`, which must have at least one binary.
    pub(crate) fn app(&self, app: &str) -> Result<&Package> {
        let Some(package) = self.packages.iter().find(|p| p.name == app) else {
            let names: Vec<&str> = self.packages.iter().map(|p| p.name.as_str()).collect();
            bail!(
                "`[dist].app = \"{app}\"` is not a package of this workspace{} (packages: {})",
                did_you_mean(app, names.iter().copied()),
                names.join(", ")
            );
        };
        if package.bins.is_empty() {
            bail!(
                "`[dist].app = \"{app}\"` has no binary target to release; add a `[[bin]]` or `src/main.rs`"
            );
        }
        Ok(package)
    }
}

pub(crate) fn parse_metadata(json: &str) -> Result<Workspace> {
    let v: Value = serde_json::from_str(json).context("parsing `cargo metadata` output")?;
    let path = |v: &Value, key: &str| -> Result<PathBuf> {
        v[key]
            .as_str()
            .map(PathBuf::from)
            .with_context(|| format!("`cargo metadata` output has no `{key}`"))
    };
    let root = path(&v, "workspace_root")?;
    let target_dir = path(&v, "target_directory")?;
    let members: Vec<&str> = v["workspace_members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut packages = Vec::new();
    for p in v["packages"].as_array().into_iter().flatten() {
        if !members.contains(&p["id"].as_str().unwrap_or_default()) {
            continue;
        }
        let targets_of = |kind: &str| -> Vec<String> {
            p["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|t| {
                    t["kind"]
                        .as_array()
                        .is_some_and(|k| k.iter().any(|k| k == kind))
                })
                .filter_map(|t| t["name"].as_str().map(str::to_owned))
                .collect()
        };
        let bins = targets_of("bin");
        packages.push(Package {
            name: p["name"]
                .as_str()
                .context("package without a name")?
                .to_owned(),
            version: p["version"]
                .as_str()
                .context("package without a version")?
                .to_owned(),
            manifest_path: path(p, "manifest_path")?,
            bins,
            repository: p["repository"].as_str().map(str::to_owned),
            // cargo metadata: `null` for anywhere, else the registries allowed.
            to_crates_io: p["publish"]
                .as_array()
                .is_none_or(|r| r.iter().any(|r| r == "crates-io")),
            features: p["features"]
                .as_object()
                .map(|f| f.keys().cloned().collect())
                .unwrap_or_default(),
            about: About {
                description: p["description"].as_str().map(str::to_owned),
                license: p["license"].as_str().map(str::to_owned),
                homepage: p["homepage"].as_str().map(str::to_owned),
                authors: p["authors"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.as_str().map(str::to_owned))
                    .collect(),
            },
        });
    }
    Ok(Workspace {
        root,
        target_dir,
        packages,
    })
}

/// Whether package `from` depends, directly or not, on one of `names`
/// according to a Cargo.lock's text. Versions are ignored: it may say yes
/// too often, never no wrongly.
pub(crate) fn lock_reaches(lock: &str, from: &str, names: &[&str]) -> bool {
    use crate::model::config::toml_field as field;
    let Ok(doc) = toml::de::DeTable::parse(lock) else {
        return true;
    };
    let mut deps: Vec<(String, Vec<String>)> = Vec::new();
    if let Some(toml::de::DeValue::Array(packages)) = field(doc.get_ref(), "package") {
        for package in packages.iter() {
            let toml::de::DeValue::Table(package) = package.get_ref() else {
                continue;
            };
            let Some(name) = field(package, "name").and_then(|n| n.as_str().map(str::to_owned))
            else {
                continue;
            };
            let list = match field(package, "dependencies") {
                Some(toml::de::DeValue::Array(items)) => items
                    .iter()
                    .filter_map(|d| {
                        d.get_ref()
                            .as_str()
                            .and_then(|d| d.split(' ').next())
                            .map(str::to_owned)
                    })
                    .collect(),
                _ => Vec::new(),
            };
            deps.push((name, list));
        }
    }
    let mut seen = vec![from.to_owned()];
    let mut stack = vec![from.to_owned()];
    while let Some(name) = stack.pop() {
        if names.contains(&name.as_str()) {
            return true;
        }
        for (_, list) in deps.iter().filter(|(n, _)| *n == name) {
            for dep in list {
                if !seen.contains(dep) {
                    seen.push(dep.clone());
                    stack.push(dep.clone());
                }
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const METADATA: &str = r#"{
        "packages": [
            {"name": "toolbox", "version": "1.2.3", "id": "path+file:///w/crates/toolbox#1.2.3",
             "manifest_path": "/w/crates/toolbox/Cargo.toml",
             "targets": [{"kind": ["lib"], "name": "toolbox"}, {"kind": ["bin"], "name": "toolbox"},
                         {"kind": ["custom-build"], "name": "build-script-build"}]},
            {"name": "xtask", "version": "0.1.0", "id": "path+file:///w/xtask#0.1.0",
             "manifest_path": "/w/xtask/Cargo.toml", "targets": [{"kind": ["bin"], "name": "xtask"}]},
            {"name": "helper", "version": "0.1.0", "id": "path+file:///w/crates/helper#0.1.0",
             "manifest_path": "/w/crates/helper/Cargo.toml", "targets": [{"kind": ["lib"], "name": "helper"}]}
        ],
        "workspace_members": ["path+file:///w/crates/toolbox#1.2.3", "path+file:///w/xtask#0.1.0",
                              "path+file:///w/crates/helper#0.1.0"],
        "workspace_root": "/w",
        "target_directory": "/elsewhere/target"
    }"#;

    #[test]
    fn finds_app_bins_and_target_dir() {
        let ws = parse_metadata(METADATA).unwrap();
        assert_eq!(ws.dist_dir(), Path::new("/elsewhere/target/dist.out"));
        let app = ws.app("toolbox").unwrap();
        assert_eq!(
            (app.version.as_str(), app.bins.clone()),
            ("1.2.3", vec!["toolbox".to_owned()])
        );
    }

    #[test]
    fn the_lock_file_tells_whether_c_may_be_compiled() {
        let lock = r#"
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["zstd 0.13.3", "clap"]

[[package]]
name = "zstd"
version = "0.13.3"
dependencies = ["zstd-sys"]

[[package]]
name = "zstd-sys"
version = "2.0.1"
dependencies = ["cc"]

[[package]]
name = "cc"
version = "1.0.0"

[[package]]
name = "clap"
version = "4.5.0"

[[package]]
name = "tool"
version = "0.1.0"
dependencies = ["clap"]
"#;
        assert!(lock_reaches(lock, "app", &["cc", "cmake"]));
        assert!(!lock_reaches(lock, "tool", &["cc", "cmake"]));
        assert!(
            lock_reaches("not toml [", "tool", &["cc"]),
            "unreadable: assume it may"
        );
    }

    #[test]
    fn wrong_app_is_explained() {
        let ws = parse_metadata(METADATA).unwrap();
        let err = ws.app("xtsk").unwrap_err().to_string();
        assert!(err.contains("did you mean `xtask`"), "{err}");
        let err = ws.app("helper").unwrap_err().to_string();
        assert!(err.contains("has no binary target"), "{err}");
    }
}
