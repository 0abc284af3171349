//! A version's release notes, taken from a CHANGELOG.md in the forms "Keep a
//! Changelog", git-cliff and release-please write: a heading naming the
//! version, its section running to the next heading of the same or a higher
//! level.

/// The body of `version`'s section in `text`, or `None` when there is no
/// such section or it says nothing.
pub(crate) fn section(text: &str, version: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let all = headings(&lines);
    let (at, found) = all
        .iter()
        .enumerate()
        .find(|(_, h)| names(h.title, version))?;
    let end = all[at + 1..]
        .iter()
        .find(|h| h.level <= found.level)
        .map_or(lines.len(), |h| h.line);
    let mut body: Vec<&str> = lines[found.body..end].to_vec();
    // The last section runs into the file's link definitions (`[1.2.3]: https://…`).
    while body
        .last()
        .is_some_and(|l| l.trim().is_empty() || is_link_definition(l))
    {
        body.pop();
    }
    while body.first().is_some_and(|l| l.trim().is_empty()) {
        body.remove(0);
    }
    if body.is_empty() {
        return None;
    }
    Some(body.join("\n") + "\n")
}

/// Whether `text` has an `Unreleased` section (Keep a Changelog's place
/// for what the next version brings), which becomes the notes once its
/// heading names the version.
pub(crate) fn has_unreleased(text: &str) -> bool {
    let lines: Vec<&str> = text.lines().collect();
    headings(&lines).iter().any(|h| {
        h.title
            .trim_start_matches('[')
            .get(..10)
            .is_some_and(|t| t.eq_ignore_ascii_case("unreleased"))
    })
}

/// A heading of a changelog.
struct Heading<'t> {
    /// Its (first) line.
    line: usize,
    level: usize,
    title: &'t str,
    /// The line its section's text starts at.
    body: usize,
}

/// Every heading of `lines`: ATX (`## 1.2.3`) and setext (`1.2.3` over a
/// line of `=` or `-`, as ripgrep's changelog has them) — the latter only
/// as a line of its own after a blank line, so a paragraph over a rule
/// is not taken for one.
fn headings<'t>(lines: &[&'t str]) -> Vec<Heading<'t>> {
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some((level, title)) = atx(line) {
            found.push(Heading {
                line: i,
                level,
                title,
                body: i + 1,
            });
            continue;
        }
        let alone = i == 0 || lines[i - 1].trim().is_empty();
        let text = line.trim();
        let plain = !text.is_empty()
            && !line.starts_with("    ")
            && !text.starts_with(['-', '*', '+', '>', '|', '`']);
        let level = match lines.get(i + 1).map(|u| u.trim_end()) {
            Some(u) if !u.is_empty() && u.bytes().all(|b| b == b'=') => 1,
            Some(u) if u.len() >= 3 && u.bytes().all(|b| b == b'-') => 2,
            _ => continue,
        };
        if alone && plain {
            found.push(Heading {
                line: i,
                level,
                title: text,
                body: i + 2,
            });
        }
    }
    found
}

/// An ATX heading's level and text: `## [1.2.3] - 2024-05-01` → (2, "[1.2.3] - 2024-05-01").
fn atx(line: &str) -> Option<(usize, &str)> {
    let level = line.bytes().take_while(|&b| b == b'#').count();
    let rest = &line[level..];
    if !(1..=6).contains(&level) || !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    Some((level, rest.trim()))
}

/// Whether a heading's text names `version`: `1.2.3`, `v1.2.3`, `[1.2.3]`,
/// `[v1.2.3](https://…)`, each optionally followed by a date or a name.
fn names(title: &str, version: &str) -> bool {
    let title = title.trim_start_matches('[');
    let title = title.strip_prefix('v').unwrap_or(title);
    let Some(after) = title.strip_prefix(version) else {
        return false;
    };
    // `1.2.3` must not match `1.2.30` or `1.2.3-rc.1`.
    after.is_empty() || after.starts_with([']', ' ', '(', '\t'])
}

fn is_link_definition(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with('[') && line.contains("]: ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ripgrep's CHANGELOG.md: setext headings, `TBD` for the next one.
    const RIPGREP: &str = "\
TBD
===
Unreleased changes.

14.1.1 (2024-09-08)
===================
This is a minor release.

Bug fixes:

* [BUG #2884](https://github.com/BurntSushi/ripgrep/issues/2884):
  Fix a bug.

Internal
--------
a paragraph of two lines
over a line of `=`, not a heading
===

14.1.0 (2024-01-06)
===================
Older.
";

    #[test]
    fn setext_headings_as_ripgrep_writes_them() {
        let notes = section(RIPGREP, "14.1.1").unwrap();
        assert!(notes.starts_with("This is a minor release.\n"), "{notes}");
        // Its own subsections stay in it, and a paragraph is no heading.
        assert!(
            notes.contains("  Fix a bug.\n\nInternal\n--------\na paragraph"),
            "{notes}"
        );
        assert!(notes.contains("not a heading\n===\n"), "{notes}");
        assert!(!notes.contains("Older"), "{notes}");
        assert_eq!(section(RIPGREP, "14.1.0").unwrap(), "Older.\n");
        assert_eq!(section(RIPGREP, "14.1"), None);
    }

    const KEEP_A_CHANGELOG: &str = "\
# Changelog
All notable changes to this project will be documented in this file.

## [Unreleased]
### Added
- Something not yet released.

## [1.2.3] - 2026-11-30
### Fixed
- The `--color` flag is read again.

### Added
- `toolbox walk`.

## [1.2.2] - 2026-10-01
### Fixed
- A crash on empty input.

[unreleased]: https://github.com/you/toolbox/compare/v1.2.3...HEAD
[1.2.3]: https://github.com/you/toolbox/compare/v1.2.2...v1.2.3
[1.2.2]: https://github.com/you/toolbox/releases/tag/v1.2.2
";

    #[test]
    fn keep_a_changelog_sections_end_at_the_next_version() {
        assert_eq!(
            section(KEEP_A_CHANGELOG, "1.2.3").unwrap(),
            "### Fixed\n- The `--color` flag is read again.\n\n### Added\n- `toolbox walk`.\n"
        );
        // The last section stops before the link definitions.
        assert_eq!(
            section(KEEP_A_CHANGELOG, "1.2.2").unwrap(),
            "### Fixed\n- A crash on empty input.\n"
        );
        assert_eq!(section(KEEP_A_CHANGELOG, "1.2.4"), None);
        assert_eq!(section(KEEP_A_CHANGELOG, "1.2"), None);
    }

    #[test]
    fn other_common_headings() {
        for (text, version) in [
            (
                "## v0.4.0 (2026-01-02)\n\n- one\n\n## v0.3.0\n- two\n",
                "0.4.0",
            ),
            ("## 0.4.0 - 2026-01-02\n- one\n## 0.3.0\n- two\n", "0.4.0"),
            (
                "## [0.4.0](https://github.com/a/b/compare/v0.3.0...v0.4.0) (2026-01-02)\n- one\n",
                "0.4.0",
            ),
            ("# Changes\n\n# 0.4.0\n- one\n# 0.3.0\n- two\n", "0.4.0"),
            ("## [0.4.0-rc.1]\n- one\n## [0.4.0]\n- no\n", "0.4.0-rc.1"),
        ] {
            assert_eq!(section(text, version).as_deref(), Some("- one\n"), "{text}");
        }
        // A pre-release's section is not its final version's, nor the reverse.
        assert_eq!(section("## [0.4.0-rc.1]\n- one\n", "0.4.0"), None);
        assert_eq!(section("## 0.4.10\n- one\n", "0.4.1"), None);
        // An empty section gives no notes: GitHub's generated ones are better.
        assert_eq!(section("## 0.4.0\n\n## 0.3.0\n- two\n", "0.4.0"), None);
        // `#hashtag` is not a heading.
        assert_eq!(section("#0.4.0\n- one\n", "0.4.0"), None);
        assert!(has_unreleased(KEEP_A_CHANGELOG));
        assert!(has_unreleased("## Unreleased\n- x\n"));
        assert!(!has_unreleased("## 0.4.0\nNothing unreleased.\n"));
    }
}
