//! The include files of a release, found and checked on disk: the
//! configured ones, else the app's README, licence and changelog files.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::model::config::{DistConfig, Include};
use crate::model::plan::IncludeFile;
use crate::model::workspace::Package;

/// The include files: those configured, else the app's README, licence
/// and changelog files, each kind from the workspace root where the app's
/// directory has none.
pub(crate) fn resolve(config: &DistConfig, app: &Package, root: &Path) -> Result<Vec<IncludeFile>> {
    let wanted: Vec<Include> = match &config.include {
        Some(list) => list.clone(),
        None => {
            let app_dir = app.manifest_path.parent().unwrap_or(root);
            default_includes(app_dir, root)
                .into_iter()
                .map(|source| {
                    let from = source.strip_prefix(root).unwrap_or(&source);
                    let name = source.file_name().unwrap_or_default().to_string_lossy();
                    Include {
                        from: from.to_string_lossy().into_owned(),
                        to: name.into_owned(),
                    }
                })
                .collect()
        }
    };
    let root_real = root
        .canonicalize()
        .with_context(|| format!("resolving {}", root.display()))?;
    // Paths are the workspace root's; a fork listing its app's files as the
    // app's own manifest sees them is pointed at the app's directory.
    let app_dir = app
        .manifest_path
        .parent()
        .and_then(|dir| dir.strip_prefix(root).ok())
        .filter(|dir| !dir.as_os_str().is_empty());
    let mut files = Vec::new();
    for include in wanted {
        let source = root.join(&include.from);
        let in_app = app_dir
            .map(|dir| dir.join(&include.from))
            .filter(|path| root.join(path).is_file());
        if let (Some(in_app), true) = (&in_app, config.include.is_some() && source.is_file()) {
            eprintln!(
                "note: `[dist].include`: `{}` is the workspace root's; the app's own is `{}`",
                include.from,
                slashed(in_app)
            );
        }
        check_include_source(&include.from, &source, &root_real, in_app.as_deref())?;
        files.push(IncludeFile {
            source,
            path: include.to,
        });
    }
    Ok(files)
}

/// Kinds of file an archive carries by default, by upper-case name prefix.
const DEFAULT_KINDS: &[&[&str]] = &[
    &["README"],
    &["LICENSE", "LICENCE", "COPYING", "UNLICENSE"],
    &["CHANGELOG"],
];

/// Files of each default kind in `app_dir`, else in `root`, sorted by name.
fn default_includes(app_dir: &Path, root: &Path) -> Vec<PathBuf> {
    let listing = |dir: &Path| -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        found.retain(|p| !p.is_dir());
        found.sort();
        found
    };
    let (in_app, in_root) = (listing(app_dir), listing(root));
    let of_kind = |files: &[PathBuf], prefixes: &[&str]| -> Vec<PathBuf> {
        files
            .iter()
            .filter(|p| {
                let name = p
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .to_uppercase();
                prefixes.iter().any(|prefix| name.starts_with(prefix))
            })
            .cloned()
            .collect()
    };
    let mut chosen = Vec::new();
    for prefixes in DEFAULT_KINDS {
        let mine = of_kind(&in_app, prefixes);
        chosen.extend(if mine.is_empty() {
            of_kind(&in_root, prefixes)
        } else {
            mine
        });
    }
    chosen
}

/// An include must be a regular file inside the workspace: a symlink may
/// point at one (a crate's LICENSE linking to the root's), never outside it,
/// where it could ship the build machine's secrets (`/proc/self/environ`).
fn check_include_source(
    from: &str,
    source: &Path,
    root_real: &Path,
    in_app: Option<&Path>,
) -> Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(source) else {
        let hint = in_app
            .map(|path| format!("; did you mean `{}`?", slashed(path)))
            .unwrap_or_default();
        bail!(
            "`[dist].include`: `{from}` does not exist in {} (paths are relative to the workspace root){hint}",
            root_real.display()
        );
    };
    let real = source
        .canonicalize()
        .with_context(|| format!("`[dist].include`: resolving `{from}`"))?;
    if !real.starts_with(root_real) {
        let to = std::fs::read_link(source).unwrap_or(real);
        bail!(
            "`[dist].include`: `{from}` is a link to {}, outside the workspace; include a file of the workspace",
            to.display()
        );
    }
    let target_meta =
        std::fs::metadata(&real).with_context(|| format!("`[dist].include`: reading `{from}`"))?;
    if target_meta.is_dir() {
        bail!("`[dist].include`: `{from}` is a directory (list its files instead)");
    }
    if !target_meta.is_file() {
        let what = if meta.file_type().is_symlink() {
            "links to something that"
        } else {
            ""
        };
        bail!(
            "`[dist].include`: `{from}` {what} is not a regular file (a FIFO, socket or device); include a file"
        );
    }
    Ok(())
}

/// A relative path as written in dist-workspace.toml, `/`-separated.
fn slashed(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::config;
    use crate::model::plan::{Plan, Stamp, make};

    /// A workspace on disk with the files include rules look at: a root
    /// README and licence, and the app's own README and changelog.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir =
                std::env::temp_dir().join(format!("xtask-plan-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let app_dir = dir.join("crates/toolbox");
            std::fs::create_dir_all(app_dir.join("doc")).unwrap();
            for (path, text) in [
                ("README.md", "workspace"),
                ("LICENSE-MIT", "mit"),
                ("crates/toolbox/README.md", "app"),
                ("crates/toolbox/CHANGELOG.md", "changes"),
                ("crates/toolbox/doc/GUIDE.md", "guide"),
            ] {
                std::fs::write(dir.join(path), text).unwrap();
            }
            Scratch(dir)
        }

        fn app(&self) -> Package {
            Package {
                manifest_path: self.0.join("crates/toolbox/Cargo.toml"),
                ..Package::sample()
            }
        }

        fn plan(&self, config_text: &str, selected: &[&str]) -> Result<Plan> {
            let config = config::parse(
                &format!("[dist]\napp = \"toolbox\"\n{config_text}"),
                Path::new("x"),
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            let selected: Vec<String> = selected.iter().map(|s| s.to_string()).collect();
            let includes = resolve(&config, &self.app(), &self.0)?;
            let root = &self.0;
            make(
                &config,
                &self.app(),
                includes,
                root,
                &selected,
                Stamp::none(),
            )
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn paths(plan: &Plan) -> Vec<(String, String)> {
        plan.artifacts[0]
            .includes
            .iter()
            .map(|i| {
                (
                    i.source.file_name().unwrap().to_string_lossy().into_owned(),
                    i.path.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn by_default_the_app_s_own_readme_and_changelog_ship_with_the_root_s_licence() {
        let ws = Scratch::new("defaults");
        let plan = ws.plan("", &[]).unwrap();
        let includes = plan.artifacts[0].includes.clone();
        let sources: Vec<&Path> = includes
            .iter()
            .map(|i| i.source.strip_prefix(&ws.0).unwrap())
            .collect();
        // Compared as paths: Windows separates them with `\`.
        let expected = [
            "crates/toolbox/README.md",
            "LICENSE-MIT",
            "crates/toolbox/CHANGELOG.md",
        ];
        assert_eq!(sources, expected.map(Path::new));
        let to: Vec<&str> = includes.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(to, ["README.md", "LICENSE-MIT", "CHANGELOG.md"]);
        // An app with a licence of its own ships that one instead.
        std::fs::write(ws.0.join("crates/toolbox/COPYING"), "gpl").unwrap();
        let plan = ws.plan("", &[]).unwrap();
        assert!(paths(&plan).contains(&("COPYING".into(), "COPYING".into())));
        assert!(!paths(&plan).iter().any(|(name, _)| name == "LICENSE-MIT"));
    }

    #[test]
    fn include_entries_flatten_or_go_where_they_are_told() {
        let ws = Scratch::new("include");
        let plan = ws
            .plan(
                "include = [\"crates/toolbox/doc/GUIDE.md\", { from = \"crates/toolbox/CHANGELOG.md\", to = \"doc/CHANGELOG.md\" }]\n",
                &[],
            )
            .unwrap();
        assert_eq!(
            paths(&plan),
            [
                ("GUIDE.md".into(), "GUIDE.md".into()),
                ("CHANGELOG.md".into(), "doc/CHANGELOG.md".into())
            ]
        );
    }

    #[test]
    fn include_refuses_what_is_not_a_file_of_the_workspace() {
        let ws = Scratch::new("refuse");
        let err = |config: &str| ws.plan(config, &[]).unwrap_err().to_string();
        assert!(err("include = [\"NOPE.md\"]\n").contains("`NOPE.md` does not exist"));
        // A path of the app's directory, written as the app's manifest sees it.
        let e = err("include = [\"doc/GUIDE.md\"]\n");
        assert!(
            e.contains("(paths are relative to the workspace root); did you mean `crates/toolbox/doc/GUIDE.md`?"),
            "{e}"
        );
        assert!(err("include = [\"crates\"]\n").contains("is a directory"));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/proc/self/environ", ws.0.join("LICENSE-ENV")).unwrap();
            let e = err("include = [\"LICENSE-ENV\"]\n");
            assert!(
                e.contains("`LICENSE-ENV` is a link to /proc/self/environ, outside the workspace"),
                "{e}"
            );
            // The default set refuses it too, rather than ship the build machine's environment.
            assert!(ws.plan("", &[]).is_err());
            std::fs::remove_file(ws.0.join("LICENSE-ENV")).unwrap();
            // A link to a file inside the workspace is fine: a crate's licence linking to the root's.
            std::os::unix::fs::symlink(
                "../../LICENSE-MIT",
                ws.0.join("crates/toolbox/LICENSE-MIT"),
            )
            .unwrap();
            assert!(
                paths(&ws.plan("", &[]).unwrap())
                    .contains(&("LICENSE-MIT".into(), "LICENSE-MIT".into()))
            );
        }
    }

    #[test]
    fn one_archive_path_holds_one_thing() {
        let ws = Scratch::new("clash");
        let err = ws
            .plan("include = [{ from = \"README.md\", to = \"tb\" }]\n", &[])
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("include `README.md` and binary `tb` both want `tb`"),
            "{err}"
        );
        let err = ws
            .plan("include = [{ from = \"README.md\", to = \"doc\" }]\n[dist.docs]\n\"doc/tb.1\" = [\"man\"]\n", &[])
            .unwrap_err();
        assert!(err.to_string().contains("both want `doc/tb.1`"), "{err}");
    }
}
