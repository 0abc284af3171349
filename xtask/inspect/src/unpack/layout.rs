//! The layout every release archive must have: one top directory, no path
//! or link out of it, no dangerous modes.

use std::collections::BTreeMap;

use super::*;

/// `path` as an extraction lays it out: `/`-separated parts without `.` or
/// empty ones; `None` when it is absolute or climbs with `..`.
fn parts(path: &str) -> Option<Vec<&str>> {
    if path.starts_with('/') {
        return None;
    }
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    (!parts.contains(&"..")).then_some(parts)
}

/// Problems that make an archive unsafe or surprising to unpack, beyond
/// those found while reading it.
pub fn layout_problems(members: &[Member], expected_top: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut tops: Vec<String> = Vec::new();
    // Every path once (case-folded too: macOS and Windows unpack without case).
    let mut seen: BTreeMap<String, (String, bool)> = BTreeMap::new();
    let mut links: BTreeMap<Vec<&str>, &str> = BTreeMap::new();
    for m in members {
        let Some(parts) = parts(&m.path) else {
            let why = if m.path.starts_with('/') {
                "is an absolute path"
            } else {
                "climbs out with `..`"
            };
            problems.push(format!("`{}` {why}", m.path));
            continue;
        };
        if parts.is_empty() {
            problems.push(format!(
                "`{}` names the directory the archive is unpacked into",
                m.path
            ));
            continue;
        }
        if !tops.contains(&parts[0].to_owned()) {
            tops.push(parts[0].to_owned());
        }
        let normal = parts.join("/");
        let folded = normal.to_lowercase();
        let is_dir = m.kind == MemberKind::Dir;
        match seen.get(&folded) {
            // A directory named twice unpacks to one directory.
            Some((other, true)) if *other == normal && is_dir => {}
            Some((other, _)) if *other == normal => problems.push(format!(
                "`{normal}` is in the archive twice: extractors keep one or the other, so what was checked may not be what lands"
            )),
            Some((other, _)) => problems.push(format!(
                "`{normal}` and `{other}` differ only in case: on macOS and Windows one overwrites the other"
            )),
            None => {
                seen.insert(folded, (normal.clone(), is_dir));
            }
        }
        if let MemberKind::Symlink(target) = &m.kind {
            links.insert(parts.clone(), target.as_str());
        }
        if m.mode & 0o7000 != 0 {
            problems.push(format!(
                "`{normal}` has mode {:o}: setuid, setgid or sticky bits are never needed in a release",
                m.mode
            ));
        }
        if m.mode & 0o002 != 0 {
            problems.push(format!("`{normal}` is world-writable (mode {:o})", m.mode));
        }
    }
    // Members unpacked through a symlink land wherever it points.
    for m in members {
        let Some(parts) = parts(&m.path) else {
            continue;
        };
        for depth in 1..parts.len() {
            if links.contains_key(&parts[..depth]) {
                problems.push(format!(
                    "`{}` would be unpacked through the symlink `{}`",
                    parts.join("/"),
                    parts[..depth].join("/")
                ));
                break;
            }
        }
    }
    for (at, target) in &links {
        if let Err(why) = resolve(&links, &at[..at.len() - 1], target, expected_top, 0) {
            problems.push(format!("symlink `{}` → `{target}` {why}", at.join("/")));
        }
    }
    match tops.len() {
        0 => problems.push("the archive is empty".to_owned()),
        1 if tops[0] == expected_top => {}
        1 => problems.push(format!(
            "the top directory is `{}`, expected `{expected_top}`",
            tops[0]
        )),
        _ => problems.push(format!(
            "expected one top directory `{expected_top}`, found {}",
            tops.join(", ")
        )),
    }
    problems
}

/// Follows `target` from directory `dir` through the archive's own links,
/// as the file system would after unpacking; fails if the path leaves `top`.
fn resolve(
    links: &BTreeMap<Vec<&str>, &str>,
    dir: &[&str],
    target: &str,
    top: &str,
    depth: usize,
) -> Result<Vec<String>, String> {
    if depth > 40 {
        return Err("is a loop or a chain of more than 40 links".into());
    }
    if target.starts_with('/') {
        return Err("points at an absolute path, outside the archive".into());
    }
    let mut at: Vec<String> = dir.iter().map(|s| (*s).to_owned()).collect();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if at.pop().is_none() {
                    return Err("points above the directory it is unpacked into".into());
                }
            }
            name => {
                at.push(name.to_owned());
                if at[0] != top {
                    return Err(format!(
                        "points outside the archive's top directory `{top}`"
                    ));
                }
                let key: Vec<&str> = at.iter().map(String::as_str).collect();
                if let Some(next) = links.get(&key) {
                    at = resolve(links, &key[..key.len() - 1], next, top, depth + 1)?;
                }
            }
        }
    }
    if at.first().map(String::as_str) != Some(top) {
        return Err(format!(
            "points outside the archive's top directory `{top}`"
        ));
    }
    Ok(at)
}
