//! A rebuilt archive against the published one: which members differ and
//! how, and what most likely made them differ. Pure.

use std::collections::BTreeMap;

use object::{Object, ObjectSection};
use xtask_inspect::format::ArchiveFormat;
use xtask_inspect::unpack::{self, Limits, Member};

use crate::archive::manifest::Toolchain;

/// How the members of `published` differ from those of `rebuilt`, one line
/// each; empty when both unpack to the same files (the archives may still
/// differ in dates, order or compression, which the caller says).
pub(crate) fn member_differences(
    format: ArchiveFormat,
    published: &[u8],
    rebuilt: &[u8],
    limits: Limits,
) -> Vec<String> {
    let read = |bytes: &[u8], which: &str| match unpack::read(format, bytes, limits) {
        Ok(unpacked) if unpacked.problems.is_empty() => Ok(unpacked.members),
        Ok(unpacked) => Err(format!(
            "the {which} archive is refused: {}",
            unpacked.problems[0]
        )),
        Err(err) => Err(format!("the {which} archive cannot be read: {err:#}")),
    };
    let (published, rebuilt) = match (read(published, "published"), read(rebuilt, "rebuilt")) {
        (Ok(p), Ok(r)) => (p, r),
        (Err(why), _) | (_, Err(why)) => return vec![why],
    };
    let by_path = |members: Vec<Member>| -> BTreeMap<String, Member> {
        members.into_iter().map(|m| (m.path.clone(), m)).collect()
    };
    let (published, rebuilt) = (by_path(published), by_path(rebuilt));
    let mut lines = Vec::new();
    for (path, p) in &published {
        let Some(r) = rebuilt.get(path) else {
            lines.push(format!("`{path}` is only in the published archive"));
            continue;
        };
        if p.kind != r.kind {
            lines.push(format!(
                "`{path}` is {:?} in the published archive, {:?} rebuilt",
                p.kind, r.kind
            ));
        } else if p.data != r.data {
            lines.push(format!("`{path}` {}", data_difference(&p.data, &r.data)));
        }
        if p.mode != r.mode {
            lines.push(format!(
                "`{path}` has mode {:o} in the published archive, {:o} rebuilt",
                p.mode, r.mode
            ));
        }
    }
    for path in rebuilt.keys().filter(|p| !published.contains_key(*p)) {
        lines.push(format!("`{path}` is only in the rebuilt archive"));
    }
    lines
}

/// How two versions of one file differ: sizes, where they part, and for
/// executables the compilers and linkers their `.comment` sections name.
fn data_difference(published: &[u8], rebuilt: &[u8]) -> String {
    let differing = published
        .iter()
        .zip(rebuilt)
        .filter(|(a, b)| a != b)
        .count()
        + published.len().abs_diff(rebuilt.len());
    let first = published
        .iter()
        .zip(rebuilt)
        .position(|(a, b)| a != b)
        .unwrap_or(published.len().min(rebuilt.len()));
    let mut text = if published.len() == rebuilt.len() {
        format!(
            "differs: {differing} of its {} bytes, the first at offset {first:#x}",
            published.len()
        )
    } else {
        format!(
            "differs: {} bytes published, {} rebuilt, the first difference at offset {first:#x}",
            published.len(),
            rebuilt.len()
        )
    };
    let (p, r) = (comment(published), comment(rebuilt));
    if p != r {
        text.push_str(&format!(
            "; its .comment (the tools that made it) says {} published, {} rebuilt",
            show_comment(&p),
            show_comment(&r)
        ));
    }
    text
}

/// The strings of an ELF `.comment` section: each compiler and linker that
/// contributed (`rustc version …`, `Linker: LLD …`, `GCC: (Debian …)`).
fn comment(data: &[u8]) -> Option<Vec<String>> {
    let file = object::File::parse(data).ok()?;
    let section = file.section_by_name(".comment")?;
    let mut strings: Vec<String> = section
        .data()
        .ok()?
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    strings.sort();
    strings.dedup();
    Some(strings)
}

fn show_comment(strings: &Option<Vec<String>>) -> String {
    match strings {
        Some(strings) if !strings.is_empty() => format!("\"{}\"", strings.join("; ")),
        _ => "nothing".into(),
    }
}

/// What most likely made a rebuild differ, from the compilers the manifest
/// recorded for the published archive and those of the rebuild.
pub(crate) fn likely_cause(published: &Toolchain, rebuilt: &Toolchain) -> String {
    let mut causes = Vec::new();
    if published.rustc != rebuilt.rustc {
        causes.push(format!(
            "a different Rust compiler: the release was built with `{}`, this machine has `{}` \
             (install the release's toolchain, `rustup toolchain install`, and run again)",
            published.rustc, rebuilt.rustc
        ));
    }
    if published.c_compiler != rebuilt.c_compiler {
        let show = |c: &Option<String>| c.clone().unwrap_or_else(|| "none".into());
        causes.push(format!(
            "a different C compiler for build scripts: `{}` for the release, `{}` here",
            show(&published.c_compiler),
            show(&rebuilt.c_compiler)
        ));
    }
    if causes.is_empty() {
        return "the same rustc and C compiler as the release's, so either the published \
                archive was changed after it was built, or the build's inputs differ: \
                a linker or RUSTFLAGS set in the environment or a cargo config, or a build \
                script that reads the machine"
            .into();
    }
    causes.join("; and ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::package::{ArchiveFile, write_archive};

    fn archive(files: &[(&str, &[u8], bool)]) -> Vec<u8> {
        let files: Vec<ArchiveFile> = files
            .iter()
            .map(|(path, data, executable)| ArchiveFile {
                path: (*path).into(),
                data: data.to_vec(),
                executable: *executable,
            })
            .collect();
        write_archive(ArchiveFormat::TarXz, "tool-1.0", &files, 0).unwrap()
    }

    #[test]
    fn names_each_member_that_differs_and_how() {
        let published = archive(&[
            ("tool", b"\x7fELF one", true),
            ("README.md", b"same", false),
            ("old.txt", b"gone", false),
        ]);
        let rebuilt = archive(&[
            ("tool", b"\x7fELF two", true),
            ("README.md", b"same", false),
            ("new.txt", b"added", false),
        ]);
        let lines = member_differences(
            ArchiveFormat::TarXz,
            &published,
            &rebuilt,
            Limits::default(),
        );
        assert_eq!(
            lines,
            [
                "`tool-1.0/old.txt` is only in the published archive",
                "`tool-1.0/tool` differs: 3 of its 8 bytes, the first at offset 0x5",
                "`tool-1.0/new.txt` is only in the rebuilt archive",
            ]
        );
        let same = archive(&[("tool", b"x", true)]);
        assert!(
            member_differences(ArchiveFormat::TarXz, &same, &same, Limits::default()).is_empty()
        );
        let lines = member_differences(ArchiveFormat::TarXz, b"not xz", &same, Limits::default());
        assert!(
            lines[0].starts_with("the published archive cannot be read"),
            "{lines:?}"
        );
    }

    #[test]
    fn the_cause_named_is_the_compiler_that_changed() {
        let rustc = |v: &str| Toolchain {
            rustc: format!("rustc {v}"),
            c_compiler: None,
        };
        let cause = likely_cause(&rustc("1.95.0"), &rustc("1.96.0"));
        assert!(
            cause.contains("`rustc 1.95.0`") && cause.contains("`rustc 1.96.0`"),
            "{cause}"
        );
        let with_c = Toolchain {
            c_compiler: Some("zig cc: 0.17.1".into()),
            ..rustc("1.95.0")
        };
        let cause = likely_cause(&with_c, &rustc("1.95.0"));
        assert!(
            cause.contains("`zig cc: 0.17.1` for the release, `none` here"),
            "{cause}"
        );
        assert!(!cause.contains("Rust compiler"), "{cause}");
        assert!(likely_cause(&with_c, &with_c).contains("changed after it was built"));
    }
}
