//! What CI checks for a change: the xtask's own suite (its integration
//! tests, and the tools only they need) runs when the change can affect the
//! xtask — its files, CI's, the toolchain, or its crates in Cargo.lock — and
//! not for a change to the app alone. Pure: the diff comes from `project`.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::config::XtaskTests;

/// Directories whose files are the xtask's or CI's: a change there can
/// break the release tooling or the way CI runs it.
const XTASK_DIRS: &[&str] = &["xtask/", ".ci/", ".github/", ".cargo/", "fuzz/"];

/// Files at the root that the xtask is built with: the workspace manifest
/// (profiles, lints, shared dependencies) and the pinned toolchain.
const XTASK_FILES: &[&str] = &["Cargo.toml", "rust-toolchain.toml", "rust-toolchain"];

const LOCK: &str = "Cargo.lock";

/// A change as git gives it: the paths it touches, and Cargo.lock before
/// and after (None where the file does not exist).
#[derive(Debug, Clone, Default)]
pub(crate) struct Diff {
    pub(crate) paths: Vec<String>,
    pub(crate) old_lock: Option<String>,
    pub(crate) new_lock: Option<String>,
}

/// Whether the xtask's suite runs, and why: one line a CI log shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    pub(crate) xtask: bool,
    pub(crate) why: String,
}

/// Decides for `diff`, or for no diff (why there is nothing to compare
/// with, e.g. a new branch's first push), given `xtask_packages`, the
/// workspace packages of the xtask.
pub(crate) fn decide(
    setting: XtaskTests,
    diff: Result<&Diff, &str>,
    xtask_packages: &[&str],
) -> Scope {
    let all = |why: String| Scope { xtask: true, why };
    if setting == XtaskTests::Always {
        return all("`xtask-tests = \"always\"` in dist-workspace.toml".to_owned());
    }
    let diff = match diff {
        Ok(diff) => diff,
        Err(why) => return all(why.to_owned()),
    };
    if let Some(path) = diff.paths.iter().find(|p| touches_xtask(p)) {
        return all(format!("{path} changed"));
    }
    if diff.paths.iter().any(|p| p == LOCK) {
        let (Some(old), Some(new)) = (&diff.old_lock, &diff.new_lock) else {
            return all("Cargo.lock was added or removed".to_owned());
        };
        match lock_change(old, new, xtask_packages) {
            Ok(None) => {}
            Ok(Some(moved)) => {
                return all(format!("Cargo.lock moves {moved}, a crate of the xtask"));
            }
            Err(why) => return all(format!("Cargo.lock could not be compared ({why})")),
        }
    }
    Scope {
        xtask: false,
        why: format!(
            "{} changed file(s), none of them the xtask's, CI's or its crates",
            diff.paths.len()
        ),
    }
}

fn touches_xtask(path: &str) -> bool {
    XTASK_DIRS.iter().any(|dir| path.starts_with(dir)) || XTASK_FILES.contains(&path)
}

/// One `[[package]]` of a lock file, as it identifies a crate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Locked {
    name: String,
    version: String,
    source: String,
    checksum: String,
}

impl Locked {
    fn label(&self) -> String {
        format!("{} {}", self.name, self.version)
    }
}

/// The lock's packages and, for each, the ones it depends on.
struct LockGraph {
    packages: Vec<Locked>,
    deps: Vec<Vec<usize>>,
}

/// The first crate of the xtask's (in either lock) that the change adds,
/// removes or moves, as `name old → new`; None when it moves none.
fn lock_change(old: &str, new: &str, roots: &[&str]) -> Result<Option<String>, String> {
    let (old, new) = (LockGraph::parse(old)?, LockGraph::parse(new)?);
    let (old_set, new_set): (BTreeSet<&Locked>, BTreeSet<&Locked>) =
        (old.packages.iter().collect(), new.packages.iter().collect());
    let mut of_xtask = old.closure(roots);
    of_xtask.extend(new.closure(roots));
    let moved = old_set
        .symmetric_difference(&new_set)
        .find(|p| of_xtask.contains(*p));
    Ok(moved.map(|p| {
        let before = old.packages.iter().find(|o| o.name == p.name && o != p);
        let after = new.packages.iter().find(|n| n.name == p.name && n != p);
        match (old_set.contains(p), before.or(after)) {
            (true, Some(other)) => format!("{} {} → {}", p.name, p.version, other.version),
            (false, Some(other)) => format!("{} {} → {}", p.name, other.version, p.version),
            (true, None) => format!("{} (removed)", p.label()),
            (false, None) => format!("{} (added)", p.label()),
        }
    }))
}

impl LockGraph {
    fn parse(text: &str) -> Result<LockGraph, String> {
        use toml::de::{DeTable, DeValue};
        let doc = DeTable::parse(text).map_err(|e| {
            let message = e.message().lines().next().unwrap_or("invalid TOML");
            format!("not TOML: {message}")
        })?;
        let doc = doc.get_ref();
        let entries = match doc.get("package").map(|v| v.get_ref()) {
            None => &[][..],
            Some(DeValue::Array(items)) => &items[..],
            Some(_) => return Err("`package` is not an array of tables".to_owned()),
        };
        let mut packages = Vec::new();
        let mut dep_names = Vec::new();
        for entry in entries {
            let DeValue::Table(table) = entry.get_ref() else {
                return Err("a `[[package]]` is not a table".to_owned());
            };
            let field = |key: &str| match table.get(key).map(|v| v.get_ref()) {
                Some(DeValue::String(s)) => s.to_string(),
                _ => String::new(),
            };
            let name = field("name");
            if name.is_empty() {
                return Err("a `[[package]]` has no name".to_owned());
            }
            packages.push(Locked {
                version: field("version"),
                source: field("source"),
                checksum: field("checksum"),
                name,
            });
            let deps: Vec<String> = match table.get("dependencies").map(|v| v.get_ref()) {
                Some(DeValue::Array(items)) => items
                    .iter()
                    .filter_map(|i| match i.get_ref() {
                        DeValue::String(s) => Some(s.to_string()),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            dep_names.push(deps);
        }
        // A dependency is written `name`, `name version` or
        // `name version (source)`: as much as tells it apart.
        let mut by_name: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, p) in packages.iter().enumerate() {
            by_name.entry(p.name.as_str()).or_default().push(i);
        }
        let mut deps = Vec::new();
        for names in &dep_names {
            let mut resolved = Vec::new();
            for spec in names {
                let mut parts = spec.splitn(3, ' ');
                let name = parts.next().unwrap_or_default();
                let version = parts.next();
                let source = parts
                    .next()
                    .map(|s| s.trim_start_matches('(').trim_end_matches(')'));
                let found = by_name.get(name).into_iter().flatten().copied().find(|&i| {
                    version.is_none_or(|v| packages[i].version == v)
                        && source.is_none_or(|s| packages[i].source == s)
                });
                resolved.push(found.ok_or_else(|| format!("`{spec}` is not a locked package"))?);
            }
            deps.push(resolved);
        }
        Ok(LockGraph { packages, deps })
    }

    /// The packages `roots` (workspace packages: no source) depend on, themselves included.
    fn closure(&self, roots: &[&str]) -> BTreeSet<&Locked> {
        let mut todo: Vec<usize> = (0..self.packages.len())
            .filter(|&i| {
                let p = &self.packages[i];
                p.source.is_empty() && roots.contains(&p.name.as_str())
            })
            .collect();
        let mut seen = BTreeSet::new();
        while let Some(i) = todo.pop() {
            if seen.insert(i) {
                todo.extend(&self.deps[i]);
            }
        }
        seen.into_iter().map(|i| &self.packages[i]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const XTASK: &[&str] = &["xtask", "xtask-inspect"];

    /// A lock with the xtask on `sha2 <sha2>` (and `libc`, which the app
    /// shares) and the app on `regex <regex>`.
    fn lock(sha2: &str, regex: &str) -> String {
        let registry = "registry+https://github.com/rust-lang/crates.io-index";
        format!(
            "version = 4\n\n\
             [[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"libc\", \"regex\"]\n\n\
             [[package]]\nname = \"libc\"\nversion = \"0.2.1\"\nsource = \"{registry}\"\nchecksum = \"aa\"\n\n\
             [[package]]\nname = \"regex\"\nversion = \"{regex}\"\nsource = \"{registry}\"\nchecksum = \"r{regex}\"\n\n\
             [[package]]\nname = \"sha2\"\nversion = \"{sha2}\"\nsource = \"{registry}\"\nchecksum = \"s{sha2}\"\n\n\
             [[package]]\nname = \"xtask\"\nversion = \"0.1.0\"\ndependencies = [\"sha2 {sha2} ({registry})\", \"xtask-inspect\"]\n\n\
             [[package]]\nname = \"xtask-inspect\"\nversion = \"0.1.0\"\ndependencies = [\"libc\"]\n"
        )
    }

    fn diff(paths: &[&str], old_lock: Option<String>, new_lock: Option<String>) -> Diff {
        Diff {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
            old_lock,
            new_lock,
        }
    }

    #[test]
    fn the_xtask_suite_runs_only_where_a_change_can_reach_the_xtask() {
        let base = lock("0.10.8", "1.10.0");
        let table: &[(&str, Diff, bool, &str)] = &[
            (
                "an app file",
                diff(&["crates/app/src/main.rs", "README.md"], None, None),
                false,
                "2 changed file(s), none of them",
            ),
            (
                "the release configuration",
                diff(&["dist-workspace.toml"], None, None),
                false,
                "none of them",
            ),
            (
                "an xtask file",
                diff(&["crates/app/src/main.rs", "xtask/src/main.rs"], None, None),
                true,
                "xtask/src/main.rs changed",
            ),
            (
                "CI's script",
                diff(&[".ci/run"], None, None),
                true,
                ".ci/run changed",
            ),
            (
                "a workflow",
                diff(&[".github/workflows/ci.yml"], None, None),
                true,
                "ci.yml changed",
            ),
            (
                "the toolchain",
                diff(&["rust-toolchain.toml"], None, None),
                true,
                "rust-toolchain.toml changed",
            ),
            (
                "a crate only the xtask uses, bumped",
                diff(
                    &["Cargo.lock"],
                    Some(base.clone()),
                    Some(lock("0.10.9", "1.10.0")),
                ),
                true,
                "Cargo.lock moves sha2 0.10.8 → 0.10.9, a crate of the xtask",
            ),
            (
                "a crate only the app uses, bumped",
                diff(
                    &["Cargo.lock", "crates/app/Cargo.toml"],
                    Some(base.clone()),
                    Some(lock("0.10.8", "1.11.0")),
                ),
                false,
                "none of them",
            ),
            (
                "a crate both use, bumped",
                diff(
                    &["Cargo.lock"],
                    Some(base.clone()),
                    Some(base.replace("0.2.1", "0.2.2")),
                ),
                true,
                "libc 0.2.1 → 0.2.2",
            ),
            (
                "a lock that cannot be read",
                diff(
                    &["Cargo.lock"],
                    Some(base.clone()),
                    Some("[[package]\n".into()),
                ),
                true,
                "could not be compared",
            ),
            (
                "a lock just added",
                diff(&["Cargo.lock"], None, Some(base.clone())),
                true,
                "added or removed",
            ),
        ];
        for (what, diff, xtask, why) in table {
            let scope = decide(XtaskTests::WhenChanged, Ok(diff), XTASK);
            assert_eq!(scope.xtask, *xtask, "{what}: {}", scope.why);
            assert!(scope.why.contains(why), "{what}: {}", scope.why);
        }
    }

    #[test]
    fn no_base_or_the_template_itself_runs_everything() {
        let scope = decide(XtaskTests::WhenChanged, Err("no earlier commit"), XTASK);
        assert!(
            scope.xtask && scope.why.contains("no earlier commit"),
            "{scope:?}"
        );
        let app_only = diff(&["crates/app/src/main.rs"], None, None);
        let scope = decide(XtaskTests::Always, Ok(&app_only), XTASK);
        assert!(
            scope.xtask && scope.why.contains("xtask-tests = \"always\""),
            "{scope:?}"
        );
    }

    #[test]
    fn a_crate_the_xtask_gains_or_loses_counts_too() {
        let base = lock("0.10.8", "1.10.0");
        let hex = "[[package]]\nname = \"hex\"\nversion = \"0.4.3\"\nsource = \"registry+x\"\n\n";
        let gained = base
            .replace(
                "[[package]]\nname = \"libc\"",
                &format!("{hex}[[package]]\nname = \"libc\""),
            )
            .replace("\"xtask-inspect\"]", "\"xtask-inspect\", \"hex\"]");
        let added = lock_change(&base, &gained, XTASK).unwrap();
        assert_eq!(added.as_deref(), Some("hex 0.4.3 (added)"));
        let removed = lock_change(&gained, &base, XTASK).unwrap();
        assert_eq!(removed.as_deref(), Some("hex 0.4.3 (removed)"));
        // The same crate gained by the app only: not the xtask's.
        let app_gained = base
            .replace(
                "[[package]]\nname = \"libc\"",
                &format!("{hex}[[package]]\nname = \"libc\""),
            )
            .replace("[\"libc\", \"regex\"]", "[\"libc\", \"regex\", \"hex\"]");
        assert_eq!(lock_change(&base, &app_gained, XTASK).unwrap(), None);
    }
}
