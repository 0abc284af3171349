//! `adopt`'s edits, pure: an existing project's root Cargo.toml made a
//! workspace with the xtask as a member and the template's release
//! profiles, and its first `dist-workspace.toml`.

use anyhow::{Result, bail};
use toml::de::{DeTable, DeValue};

use crate::model::config::{toml_field, toml_string};

/// The root Cargo.toml after adoption, and what was done to it.
#[derive(Debug)]
pub(crate) struct ManifestEdit {
    pub(crate) text: String,
    pub(crate) done: Vec<String>,
}

/// `project` (the root Cargo.toml) with `xtask` a workspace member and the
/// `[profile.*]` tables of `template` (the template's root Cargo.toml) it
/// lacks appended. The project's own profiles are kept as they are.
pub(crate) fn manifest(project: &str, template: &str) -> Result<ManifestEdit> {
    let doc = parse(project, "the project's Cargo.toml")?;
    let mut text = project.to_owned();
    let mut done = Vec::new();
    match toml_field(doc.get_ref(), "workspace") {
        None => {
            text = format!(
                "{}\n\n[workspace]\nmembers = [\".\", \"xtask\"]\n",
                text.trim_end()
            );
            done.push("made it a workspace: `[workspace] members = [\".\", \"xtask\"]`".into());
        }
        Some(DeValue::Table(ws)) => {
            let members = ws.iter().find(|(k, _)| k.get_ref() == "members");
            match members.map(|(_, v)| (v.span(), v.get_ref())) {
                Some((span, DeValue::Array(items))) => {
                    let listed = items
                        .iter()
                        .any(|i| matches!(i.get_ref(), DeValue::String(s) if s.trim_end_matches('/') == "xtask"));
                    if !listed {
                        // Right after the array's `[`.
                        let at = span.start + 1;
                        let sep = if items.is_empty() { "" } else { ", " };
                        text.insert_str(at, &format!("\"xtask\"{sep}"));
                        done.push("added \"xtask\" to `[workspace].members`".into());
                    }
                }
                Some(_) => {
                    bail!("`[workspace].members` in the project's Cargo.toml is not an array")
                }
                None => {
                    let Some(line_end) = header_end(&text, "workspace") else {
                        bail!(
                            "the project's Cargo.toml defines `workspace` without a `[workspace]` header; \
                             add `members = [\"xtask\"]` to it by hand"
                        );
                    };
                    text.insert_str(line_end, "members = [\"xtask\"]\n");
                    done.push("added `members = [\"xtask\"]` to `[workspace]`".into());
                }
            }
        }
        Some(_) => bail!("`workspace` in the project's Cargo.toml is not a table"),
    }

    parse(template, "the template's Cargo.toml")?;
    let theirs = toml_field(doc.get_ref(), "profile");
    for (name, block) in profile_blocks(template) {
        if has_path(theirs, &name) {
            continue;
        }
        text = format!("{}\n\n{}\n", text.trim_end(), block.trim_end());
        done.push(format!("added the template's `[profile.{name}]`"));
    }
    parse(&text, "the adopted Cargo.toml")?;
    Ok(ManifestEdit { text, done })
}

fn parse<'t>(text: &'t str, what: &str) -> Result<toml::Spanned<DeTable<'t>>> {
    DeTable::parse(text)
        .map_err(|e| anyhow::anyhow!("{what} is not valid TOML: {}", e.message().trim_end()))
}

/// The offset just after the `[name]` header line.
fn header_end(text: &str, name: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let bare: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        if bare.starts_with(&format!("[{name}]")) {
            return Some(offset + line.len());
        }
        offset += line.len();
    }
    None
}

/// Whether `profile` (the project's `[profile]` table) has `path` (`dist`,
/// `dev.package.sha2`).
fn has_path(profile: Option<&DeValue<'_>>, path: &str) -> bool {
    let mut value = profile;
    for key in path.split('.') {
        value = match value {
            Some(DeValue::Table(t)) => toml_field(t, key),
            _ => None,
        };
    }
    value.is_some()
}

/// The template's `[profile.…]` tables with the comment lines above each,
/// by the path after `profile.`.
fn profile_blocks(template: &str) -> Vec<(String, String)> {
    let mut blocks: Vec<(String, String)> = Vec::new();
    let mut comments = String::new();
    let mut current: Option<usize> = None;
    for line in template.split_inclusive('\n') {
        let trimmed = line.trim();
        if let Some(header) = trimmed.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            current = header.strip_prefix("profile.").map(|name| {
                blocks.push((name.to_owned(), std::mem::take(&mut comments)));
                blocks.len() - 1
            });
            comments.clear();
            if let Some(i) = current {
                blocks[i].1.push_str(line);
            }
            continue;
        }
        if trimmed.starts_with('#') {
            comments.push_str(line);
            continue;
        }
        if trimmed.is_empty() {
            // A blank line ends a table's comments-to-be.
            comments.clear();
            continue;
        }
        match current {
            Some(i) => {
                // Comments inside a table belong to it.
                blocks[i].1.push_str(&std::mem::take(&mut comments));
                blocks[i].1.push_str(line);
            }
            None => comments.clear(),
        }
    }
    blocks
}

/// Who the first configuration names as the packages' maintainer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Maintainer {
    /// The app's first `authors` entry will do: nothing to write.
    Authors,
    /// Nobody in Cargo.toml; this from the repository's git configuration.
    Git(String),
    /// Nobody known: no packages until one is named.
    Unknown,
}

/// The first `dist-workspace.toml` of an adopted project releasing `app`.
pub(crate) fn config(app: &str, maintainer: &Maintainer) -> String {
    let packages = match maintainer {
        Maintainer::Authors => {
            "# The .deb and .rpm name the app's first `authors` entry as maintainer.\n".to_owned()
        }
        Maintainer::Git(who) => format!(
            "# The .deb and .rpm name their maintainer; Cargo.toml has no `authors`,\n\
             # so this is git's user.name and user.email here.\n\
             maintainer = {}\n",
            toml_string(who)
        ),
        Maintainer::Unknown => {
            "# A .deb and an .rpm of every Linux archive need a maintainer: set\n\
             # `maintainer = \"Name <email>\"` (or `authors` in Cargo.toml) and remove this.\n\
             packages = []\n"
                .to_owned()
        }
    };
    format!(
        "# Release configuration read by `cargo xtask dist`; keys mean what\n\
         # cargo-dist's keys of the same name mean (the xtask's README lists them).\n\
         # Without `targets`: static musl Linux (x86_64, aarch64), Windows and macOS.\n\
         [dist]\n\
         app = {}\n\
         # Files shipped in every archive, relative to this file's directory.\n\
         # Without this key: the app's README, LICENSE*/COPYING* and CHANGELOG*.\n\
         # include = [\"README.md\", \"LICENSE\"]\n\
         {packages}\
         # ci.yml runs the xtask's own tests only when a change can affect it.\n\
         xtask-tests = \"when-changed\"\n",
        toml_string(app)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "[workspace]\nmembers = [\"crates/*\", \"xtask\"]\n\n# The profile releases use.\n[profile.dist]\ninherits = \"release\"\n# Small.\nstrip = true\n\n# Fast hashing.\n[profile.dev.package.sha2]\nopt-level = 3\n";

    fn members(text: &str) -> Vec<String> {
        let doc = DeTable::parse(text).unwrap();
        let Some(DeValue::Table(ws)) = toml_field(doc.get_ref(), "workspace") else {
            panic!("no workspace in {text}")
        };
        let Some(DeValue::Array(items)) = toml_field(ws, "members") else {
            panic!("no members in {text}")
        };
        items
            .iter()
            .map(|i| match i.get_ref() {
                DeValue::String(s) => s.to_string(),
                _ => panic!(),
            })
            .collect()
    }

    #[test]
    fn a_root_package_becomes_a_workspace_and_keeps_its_own_profiles() {
        let fd = "[package]\nname = \"fd-find\"\n\n[profile.release]\nlto = true\n\n[profile.dist]\ninherits = \"release\"\n";
        let edit = manifest(fd, TEMPLATE).unwrap();
        assert_eq!(members(&edit.text), [".", "xtask"]);
        assert!(edit.text.starts_with(fd.trim_end()), "{}", edit.text);
        // Its own [profile.dist] stays; the template's other profile comes, with its comment.
        assert_eq!(edit.text.matches("[profile.dist]").count(), 1);
        assert!(
            edit.text
                .contains("# Fast hashing.\n[profile.dev.package.sha2]\nopt-level = 3\n"),
            "{}",
            edit.text
        );
        let again = manifest(&edit.text, TEMPLATE).unwrap();
        assert_eq!(again.text, edit.text, "adopting twice changes nothing");
        assert!(again.done.is_empty());
    }

    #[test]
    fn a_workspace_gains_the_xtask_as_a_member() {
        let ws = "[workspace]\nmembers = [\"crates/a\", \"crates/b\"]\nresolver = \"2\"\n";
        let edit = manifest(ws, TEMPLATE).unwrap();
        assert_eq!(members(&edit.text), ["xtask", "crates/a", "crates/b"]);
        assert!(
            edit.text
                .contains("[profile.dist]\ninherits = \"release\"\n# Small.\nstrip = true\n")
        );
        let bare = "[package]\nname = \"a\"\n\n[workspace]\n\n[dependencies]\n";
        let edit = manifest(bare, TEMPLATE).unwrap();
        assert_eq!(members(&edit.text), ["xtask"]);
        assert!(manifest("[package\n", TEMPLATE).is_err());
    }

    #[test]
    fn the_first_config_names_the_app_and_parses() {
        let parse = |m: &Maintainer| {
            crate::model::config::parse(&config("fd-find", m), std::path::Path::new("x")).unwrap()
        };
        let cfg = parse(&Maintainer::Authors);
        assert_eq!(cfg.app, "fd-find");
        assert_eq!((cfg.maintainer, cfg.packages.len()), (None, 2));
        let cfg = parse(&Maintainer::Git("Ada <ada@example.com>".into()));
        assert_eq!(cfg.maintainer.as_deref(), Some("Ada <ada@example.com>"));
        assert!(parse(&Maintainer::Unknown).packages.is_empty());
    }
}
