//! What `tar -x` and `unzip` would unpack from an archive, read without
//! unpacking it: every record that tar programs read differently (duplicate
//! names, hardlinks, sparse members, PAX records that rename or resize a
//! member, global headers, extended attributes) and every member that would
//! land outside the top directory or with dangerous modes is refused, so
//! what `verify` checks is what any of them unpacks. Streams are read with
//! limits on the unpacked size and the decompressor's memory.

use std::collections::BTreeMap;
use std::io::{self, Read};

use anyhow::{Context, Result, bail};

use crate::format::ArchiveFormat;
use crate::zipfile;

/// Caps on what reading an archive may unpack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// All members together, and the tar stream itself.
    pub total: u64,
    /// One member.
    pub member: u64,
}

impl Default for Limits {
    /// Far above any CLI release (ripgrep's unpacks to 6 MiB), far below
    /// what would hurt a machine.
    fn default() -> Limits {
        Limits {
            total: 1 << 30,
            member: 512 << 20,
        }
    }
}

/// The decompressor may use this much memory: xz's preset 9 needs 65 MiB.
const XZ_MEMLIMIT: u64 = 256 << 20;

/// What an archive member is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberKind {
    File,
    Dir,
    Symlink(String),
}

/// A member as tar or unzip would unpack it.
#[derive(Debug, Clone)]
pub struct Member {
    /// As unpacked: `/`-separated, without `.` or empty parts or a trailing `/`.
    pub path: String,
    pub kind: MemberKind,
    pub mode: u32,
    pub data: Vec<u8>,
}

/// An archive read back: the members, and why it is refused, if it is.
#[derive(Debug, Clone, Default)]
pub struct Unpacked {
    pub members: Vec<Member>,
    pub problems: Vec<String>,
}

/// Reads `reader` as an archive of `format`.
pub fn read(format: ArchiveFormat, reader: impl Read, limits: Limits) -> Result<Unpacked> {
    match format {
        ArchiveFormat::Zip => {
            let mut bytes = Vec::new();
            Capped::new(reader, limits.total)
                .read_to_end(&mut bytes)
                .context("reading the zip archive")?;
            read_zip(&bytes, limits)
        }
        ArchiveFormat::TarXz => {
            // Concatenated streams, as `xz -d` reads them.
            let stream =
                xz2::stream::Stream::new_stream_decoder(XZ_MEMLIMIT, xz2::stream::CONCATENATED)
                    .context("starting the xz decoder")?;
            read_tar(xz2::read::XzDecoder::new_stream(reader, stream), limits)
                .context("reading the tar.xz archive")
        }
        ArchiveFormat::TarGz => {
            // Every gzip member, as `gzip -d` reads them: a second one hides nothing.
            read_tar(flate2::read::MultiGzDecoder::new(reader), limits)
                .context("reading the tar.gz archive")
        }
    }
}

/// A reader that fails once more than `limit` bytes came through it.
struct Capped<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: Read> Capped<R> {
    fn new(inner: R, limit: u64) -> Capped<R> {
        Capped {
            inner,
            left: limit,
            limit,
        }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf
            .len()
            .min(usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            return Err(io::Error::other(format!(
                "it unpacks to more than {} MiB (the limit; `verify --max-unpacked-mib` raises it)",
                self.limit >> 20
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// PAX records every tar reads the same way, or that change nothing `verify` checks.
const PAX_KEYS: &[&str] = &[
    "path",
    "linkpath",
    "mtime",
    "atime",
    "ctime",
    "uid",
    "gid",
    "uname",
    "gname",
    "comment",
    "charset",
    "hdrcharset",
    "SCHILY.dev",
    "SCHILY.ino",
    "SCHILY.nlink",
    "SCHILY.devmajor",
    "SCHILY.devminor",
    "LIBARCHIVE.creationtime",
];

/// What tar's extension headers set for the next member.
#[derive(Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Vec<(String, Vec<u8>)>,
    seen: bool,
}

/// Reads an uncompressed tar stream (what the compressed formats hold).
pub fn read_tar(reader: impl Read, limits: Limits) -> Result<Unpacked> {
    let mut capped = Capped::new(reader, limits.total);
    let mut unpacked = Unpacked::default();
    {
        let mut archive = tar::Archive::new(&mut capped);
        // Raw: GNU long names and PAX records come to us, to apply as GNU tar does.
        let entries = archive.entries().context("reading tar entries")?.raw(true);
        let mut pending = Pending::default();
        let mut kept: u64 = 0;
        for entry in entries {
            let mut entry = entry.context("reading a tar header")?;
            let header = entry.header().clone();
            let kind = header.entry_type();
            let size = entry.size();
            let raw_name = header.path_bytes().into_owned();
            let shown = String::from_utf8_lossy(&raw_name).into_owned();
            let mut extension = |limit: u64| -> Result<Vec<u8>> {
                if size > limit {
                    bail!("a {} byte extension header before `{shown}`", size);
                }
                let mut data = Vec::new();
                entry
                    .read_to_end(&mut data)
                    .context("reading an extension header")?;
                Ok(data)
            };
            match kind {
                tar::EntryType::GNULongName => {
                    let data = extension(64 << 10)?;
                    if pending.long_name.replace(trim_nul(data)).is_some() {
                        unpacked
                            .problems
                            .push("two GNU long-name records for one member".into());
                    }
                    pending.seen = true;
                    continue;
                }
                tar::EntryType::GNULongLink => {
                    let data = extension(64 << 10)?;
                    if pending.long_link.replace(trim_nul(data)).is_some() {
                        unpacked
                            .problems
                            .push("two GNU long-link records for one member".into());
                    }
                    pending.seen = true;
                    continue;
                }
                tar::EntryType::XHeader => {
                    let data = extension(1 << 20)?;
                    for record in tar::PaxExtensions::new(&data) {
                        let record = record.context("a malformed PAX record")?;
                        let key = record
                            .key()
                            .map_err(|_| anyhow::anyhow!("a PAX record key is not UTF-8"))?;
                        if key == "size" {
                            // Readers that ignore it find the next header elsewhere: a
                            // different archive for every tar program. Nothing after it can be trusted.
                            bail!(
                                "a PAX `size` record changes where `{shown}` ends; tar programs would unpack different members"
                            );
                        }
                        pending
                            .pax
                            .push((key.to_owned(), record.value_bytes().to_vec()));
                    }
                    pending.seen = true;
                    continue;
                }
                _ => {}
            }
            let pax_value = |key: &str| {
                pending
                    .pax
                    .iter()
                    .rev()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
            };
            // GNU tar's order: a PAX name, else a GNU long name, else the header's.
            let name_bytes = pax_value("path")
                .or_else(|| pending.long_name.clone())
                .unwrap_or(raw_name);
            let name = String::from_utf8_lossy(&name_bytes).into_owned();
            let link_bytes = pax_value("linkpath")
                .or_else(|| pending.long_link.clone())
                .or_else(|| header.link_name_bytes().map(|l| l.into_owned()));
            let link = link_bytes
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .unwrap_or_default();
            // GNU tar and busybox take the PAX record, bsdtar and Python the long name.
            if pending.long_name.is_some() && pax_value("path").is_some() {
                unpacked.problems.push(format!(
                    "`{name}` has both a GNU long name and a PAX `path`: tar programs disagree on which names it"
                ));
            }
            if pending.long_link.is_some() && pax_value("linkpath").is_some() {
                unpacked.problems.push(format!(
                    "`{name}` has both a GNU long link and a PAX `linkpath`: tar programs disagree on where it points"
                ));
            }
            for (key, _) in &pending.pax {
                if !PAX_KEYS.contains(&key.as_str()) {
                    let why = if key.starts_with("GNU.sparse") {
                        "a sparse member: GNU tar unpacks it under another name than other readers"
                    } else if key.contains("xattr") || key.contains("acl") {
                        "extended attributes or ACLs, which tar can apply on unpacking (capabilities among them)"
                    } else {
                        "a record not every tar reads the same way"
                    };
                    unpacked
                        .problems
                        .push(format!("`{name}` carries the PAX record `{key}`: {why}"));
                }
            }
            pending = Pending::default();
            let mode = header.mode().unwrap_or(0);
            let member_kind = match kind {
                tar::EntryType::Regular | tar::EntryType::Continuous => MemberKind::File,
                tar::EntryType::Directory => MemberKind::Dir,
                tar::EntryType::Symlink => MemberKind::Symlink(link.clone()),
                tar::EntryType::Link => {
                    unpacked.problems.push(format!(
                        "`{name}` is a hardlink (to `{link}`): tar programs resolve them differently, and releases have none"
                    ));
                    continue;
                }
                tar::EntryType::GNUSparse => {
                    unpacked.problems.push(format!(
                        "`{name}` is a GNU sparse member: readers disagree on what it holds"
                    ));
                    continue;
                }
                tar::EntryType::XGlobalHeader => {
                    unpacked.problems.push(
                        "a PAX global header: it changes every member after it, in some tar programs only".into(),
                    );
                    continue;
                }
                other => {
                    let what = match other {
                        tar::EntryType::Char => "a character device",
                        tar::EntryType::Block => "a block device",
                        tar::EntryType::Fifo => "a FIFO",
                        _ => "an entry of a kind tar programs treat differently",
                    };
                    unpacked.problems.push(format!(
                        "`{name}` is {what}, not a file, directory or symlink"
                    ));
                    continue;
                }
            };
            let mut data = Vec::new();
            if member_kind == MemberKind::File {
                if size > limits.member {
                    bail!(
                        "`{name}` unpacks to {} MiB, more than the {} MiB a member may (`verify --max-unpacked-mib` raises it)",
                        size >> 20,
                        limits.member >> 20
                    );
                }
                kept += size;
                if kept > limits.total {
                    bail!(
                        "it unpacks to more than {} MiB (`verify --max-unpacked-mib` raises it)",
                        limits.total >> 20
                    );
                }
                entry
                    .read_to_end(&mut data)
                    .with_context(|| format!("reading `{name}`"))?;
            }
            unpacked.members.push(Member {
                path: name,
                kind: member_kind,
                mode,
                data,
            });
        }
        if pending.seen {
            unpacked
                .problems
                .push("extension headers at the end describe no member".into());
        }
    }
    // After the end-of-archive blocks: nothing but zeros, or `tar -i` finds more.
    let mut rest = [0u8; 8192];
    loop {
        let n = capped
            .read(&mut rest)
            .context("reading past the end of the tar archive")?;
        if n == 0 {
            break;
        }
        if rest[..n].iter().any(|&b| b != 0) {
            unpacked.problems.push(
                "data follows the end of the tar archive (`tar --ignore-zeros` would unpack it)"
                    .into(),
            );
            break;
        }
    }
    Ok(unpacked)
}

fn trim_nul(mut data: Vec<u8>) -> Vec<u8> {
    while data.last() == Some(&0) {
        data.pop();
    }
    data
}

fn read_zip(bytes: &[u8], limits: Limits) -> Result<Unpacked> {
    let entries =
        zipfile::read(bytes, limits.member, limits.total).context("reading the zip archive")?;
    let mut unpacked = Unpacked::default();
    for e in entries {
        if e.path.contains('\\') {
            unpacked.problems.push(format!(
                "`{}` holds `\\`: unzip on Windows takes it for a directory separator",
                e.path
            ));
            continue;
        }
        let first = e.path.split('/').next().unwrap_or_default();
        if first.len() >= 2
            && first.as_bytes()[1] == b':'
            && first.as_bytes()[0].is_ascii_alphabetic()
        {
            unpacked
                .problems
                .push(format!("`{}` starts with a drive letter", e.path));
            continue;
        }
        let kind = match e.mode & 0o170_000 {
            0o040_000 => MemberKind::Dir,
            0o120_000 => MemberKind::Symlink(String::from_utf8_lossy(&e.data).into_owned()),
            _ if e.path.ends_with('/') => MemberKind::Dir,
            0o100_000 | 0 => MemberKind::File,
            other => {
                unpacked
                    .problems
                    .push(format!("`{}` is a special file (mode {other:o})", e.path));
                continue;
            }
        };
        let data = if kind == MemberKind::File {
            e.data
        } else {
            Vec::new()
        };
        unpacked.members.push(Member {
            path: e.path,
            kind,
            mode: e.mode & 0o7777,
            data,
        });
    }
    Ok(unpacked)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn member(path: &str, kind: MemberKind) -> Member {
        Member {
            path: path.into(),
            kind,
            mode: 0o644,
            data: vec![],
        }
    }

    fn problems(members: &[Member]) -> String {
        layout_problems(members, "top").join("; ")
    }

    #[test]
    fn unsafe_layouts_are_named() {
        let ok = vec![
            member("top/", MemberKind::Dir),
            member("top/a", MemberKind::File),
            member("top/l", MemberKind::Symlink("a".into())),
            member("top/d/", MemberKind::Dir),
            member("top/d/up", MemberKind::Symlink("../a".into())),
        ];
        assert_eq!(problems(&ok), "");
        let cases = [
            (member("/etc/passwd", MemberKind::File), "absolute"),
            (member("top/../../x", MemberKind::File), "`..`"),
            (
                member("top/x", MemberKind::Symlink("../../etc".into())),
                "above the directory",
            ),
            (
                member("top/x", MemberKind::Symlink("/etc/passwd".into())),
                "absolute path",
            ),
            (
                member("top/x", MemberKind::Symlink("../other".into())),
                "outside the archive's top directory",
            ),
            (member("other/x", MemberKind::File), "one top directory"),
            (
                member("top/./a", MemberKind::File),
                "`top/a` is in the archive twice",
            ),
            (member("top/A", MemberKind::File), "differ only in case"),
            (
                member("top/l/x", MemberKind::File),
                "through the symlink `top/l`",
            ),
            (
                Member {
                    mode: 0o4755,
                    ..member("top/s", MemberKind::File)
                },
                "setuid",
            ),
            (
                Member {
                    mode: 0o777,
                    ..member("top/w", MemberKind::File)
                },
                "world-writable",
            ),
        ];
        for (bad, why) in cases {
            let mut ms = ok.clone();
            ms.push(bad);
            let found = problems(&ms);
            assert!(found.contains(why), "{why}: {found}");
        }
    }

    #[test]
    fn chains_of_links_are_followed_as_the_file_system_would() {
        // s1 → ., s2 → s1/.. (the unpack directory), s3 → s2/.. (above it), passwd → s3/etc/passwd.
        let mut ms = vec![
            member("top/", MemberKind::Dir),
            member("top/s1", MemberKind::Symlink(".".into())),
        ];
        ms.push(member("top/s2", MemberKind::Symlink("s1/..".into())));
        ms.push(member("top/s3", MemberKind::Symlink("s2/..".into())));
        ms.push(member(
            "top/passwd",
            MemberKind::Symlink("s3/etc/passwd".into()),
        ));
        let found = problems(&ms);
        assert!(
            found.contains("symlink `top/passwd` → `s3/etc/passwd` points outside"),
            "{found}"
        );
        assert!(
            found.contains("symlink `top/s2` → `s1/..` points outside"),
            "{found}"
        );
        let looped = vec![
            member("top/a", MemberKind::Symlink("b".into())),
            member("top/b", MemberKind::Symlink("a".into())),
        ];
        assert!(problems(&looped).contains("loop"), "{}", problems(&looped));
    }

    fn tar_of(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        build(&mut builder);
        builder.into_inner().unwrap()
    }

    fn file(builder: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o755);
        h.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut h, path, data).unwrap();
    }

    fn read_plain_tar(bytes: &[u8]) -> Result<Unpacked> {
        read_tar(bytes, Limits::default())
    }

    #[test]
    fn pax_records_are_applied_as_gnu_tar_does_and_the_divisive_ones_refused() {
        let bytes = tar_of(|b| {
            b.append_pax_extensions([("path", b"top/renamed".as_slice())])
                .unwrap();
            file(b, "top/original", b"x");
            b.append_pax_extensions([("GNU.sparse.name", b"top/tool".as_slice())])
                .unwrap();
            file(b, "top/GNUSparseFile.0/tool", b"y");
            b.append_pax_extensions([("SCHILY.xattr.security.capability", b"\x01".as_slice())])
                .unwrap();
            file(b, "top/cap", b"z");
        });
        let read = read_plain_tar(&bytes).unwrap();
        let paths: Vec<&str> = read.members.iter().map(|m| m.path.as_str()).collect();
        assert_eq!(
            paths,
            ["top/renamed", "top/GNUSparseFile.0/tool", "top/cap"]
        );
        let problems = read.problems.join("; ");
        assert!(
            problems.contains("`GNU.sparse.name`") && problems.contains("sparse member"),
            "{problems}"
        );
        assert!(problems.contains("extended attributes"), "{problems}");

        let resized = tar_of(|b| {
            b.append_pax_extensions([("size", b"0".as_slice())])
                .unwrap();
            file(b, "top/x", b"hidden");
        });
        let err = read_plain_tar(&resized).unwrap_err();
        assert!(format!("{err:#}").contains("PAX `size` record"), "{err:#}");
    }

    #[test]
    fn a_long_name_and_a_pax_path_for_one_member_are_refused() {
        // `tar` writes a GNU long name for a long path; add a PAX path after it.
        let long = format!("top/{}", "n".repeat(120));
        let bytes = tar_of(|b| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::GNULongName);
            h.set_size(long.len() as u64);
            b.append_data(&mut h, "././@LongLink", long.as_bytes())
                .unwrap();
            b.append_pax_extensions([("path", b"top/other".as_slice())])
                .unwrap();
            file(b, "top/short", b"x");
        });
        let read = read_plain_tar(&bytes).unwrap();
        let problems = read.problems.join("; ");
        assert!(
            problems.contains("both a GNU long name and a PAX `path`"),
            "{problems}"
        );
    }

    #[test]
    fn hardlinks_special_files_and_trailing_data_are_refused() {
        let mut bytes = tar_of(|b| {
            file(b, "top/tool", b"x");
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Link);
            h.set_size(0);
            b.append_link(&mut h, "top/other", "top/tool").unwrap();
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Fifo);
            h.set_size(0);
            b.append_data(&mut h, "top/fifo", std::io::empty()).unwrap();
        });
        bytes.extend_from_slice(&tar_of(|b| file(b, "top/late", b"z")));
        let read = read_plain_tar(&bytes).unwrap();
        let problems = read.problems.join("; ");
        assert!(problems.contains("`top/other` is a hardlink"), "{problems}");
        assert!(problems.contains("`top/fifo` is a FIFO"), "{problems}");
        assert!(problems.contains("data follows the end"), "{problems}");
        assert_eq!(read.members.len(), 1);
    }

    #[test]
    fn unpacked_sizes_are_capped_before_anything_is_kept() {
        let big = vec![0u8; 3 << 20];
        let bytes = tar_of(|b| file(b, "top/big", &big));
        let small = Limits {
            total: 8 << 20,
            member: 1 << 20,
        };
        let err = read_tar(bytes.as_slice(), small).unwrap_err();
        assert!(
            format!("{err:#}").contains("more than the 1 MiB a member may"),
            "{err:#}"
        );
        let tiny = Limits {
            total: 2 << 20,
            member: 8 << 20,
        };
        let err = read_tar(bytes.as_slice(), tiny).unwrap_err();
        assert!(format!("{err:#}").contains("more than 2 MiB"), "{err:#}");
        // A compression bomb stops at the limit, not at the end of the stream.
        let mut xz = xz2::write::XzEncoder::new(Vec::new(), 9);
        std::io::Write::write_all(&mut xz, &vec![0u8; 64 << 20]).unwrap();
        let bomb = xz.finish().unwrap();
        assert!(bomb.len() < 64 << 10);
        let err = read(ArchiveFormat::TarXz, bomb.as_slice(), tiny).unwrap_err();
        assert!(format!("{err:#}").contains("more than 2 MiB"), "{err:#}");
    }

    /// Inputs the fuzz targets `tar`, `tar_xz` and `zip` (fuzz/) found
    /// interesting or crashing, replayed on every test run with the
    /// targets' own limits: read or refused, never a panic.
    #[test]
    fn fuzz_regressions_do_not_panic() {
        let limits = Limits {
            total: 8 << 20,
            member: 4 << 20,
        };
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
        for (target, format) in [
            ("tar", None),
            ("tar_xz", Some(ArchiveFormat::TarXz)),
            ("zip", Some(ArchiveFormat::Zip)),
        ] {
            let dir = root.join(target);
            let mut count = 0;
            for entry in std::fs::read_dir(&dir).expect("a directory of inputs per target") {
                let data = std::fs::read(entry.unwrap().path()).unwrap();
                let read = match format {
                    None => read_tar(data.as_slice(), limits),
                    Some(format) => read(format, data.as_slice(), limits),
                };
                if let Ok(unpacked) = read {
                    let _ = layout_problems(&unpacked.members, "top");
                }
                count += 1;
            }
            assert!(count > 0, "no regression inputs in {}", dir.display());
        }
    }

    #[test]
    fn concatenated_compressed_streams_are_read_whole() {
        // Two gzip members: gzip -d reads both, and so must we.
        let first = tar_of(|b| file(b, "top/a", b"a"));
        let mut gz = Vec::new();
        for part in [
            &first[..first.len() - 1024],
            &tar_of(|b| file(b, "top/b", b"b"))[..],
        ] {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut enc, part).unwrap();
            gz.extend(enc.finish().unwrap());
        }
        let read = read(ArchiveFormat::TarGz, gz.as_slice(), Limits::default()).unwrap();
        let paths: Vec<&str> = read.members.iter().map(|m| m.path.as_str()).collect();
        assert_eq!(paths, ["top/a", "top/b"]);
    }
}
