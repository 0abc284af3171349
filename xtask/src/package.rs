//! Release archives: written deterministically, read back defensively.
//!
//! Same inputs give the same bytes: entries sorted, fixed modes and owners,
//! mtime = SOURCE_DATE_EPOCH, a fixed compression preset.

use std::collections::BTreeSet;
use std::io::{Read, Write};

use anyhow::{Context, Result, bail};

/// The container and compression of an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArchiveFormat {
    TarXz,
    TarGz,
}

/// xz preset: 9 is within 1% of `xz -9e` on binaries and decompresses as fast.
const XZ_PRESET: u32 = 9;

impl ArchiveFormat {
    pub(crate) fn extension(self) -> &'static str {
        match self {
            ArchiveFormat::TarXz => ".tar.xz",
            ArchiveFormat::TarGz => ".tar.gz",
        }
    }

    pub(crate) fn from_extension(ext: &str) -> Option<ArchiveFormat> {
        [ArchiveFormat::TarXz, ArchiveFormat::TarGz].into_iter().find(|f| f.extension() == ext)
    }

    /// The format of an archive, judged by its file name.
    pub(crate) fn of_file(name: &str) -> Option<ArchiveFormat> {
        [ArchiveFormat::TarXz, ArchiveFormat::TarGz].into_iter().find(|f| name.ends_with(f.extension()))
    }
}

/// One file to put in an archive, below its top directory.
#[derive(Debug, Clone)]
pub(crate) struct ArchiveFile {
    /// Path relative to the top directory, with `/` separators.
    pub(crate) path: String,
    pub(crate) data: Vec<u8>,
    pub(crate) executable: bool,
}

/// Builds the archive bytes: `top_dir/` then every file below it, sorted.
pub(crate) fn write_archive(
    format: ArchiveFormat,
    top_dir: &str,
    files: &[ArchiveFile],
    mtime: u64,
) -> Result<Vec<u8>> {
    let tar = write_tar(top_dir, files, mtime).context("assembling the tar stream")?;
    match format {
        ArchiveFormat::TarXz => {
            let mut enc = xz2::write::XzEncoder::new(Vec::new(), XZ_PRESET);
            enc.write_all(&tar)?;
            enc.finish().context("finishing the xz stream")
        }
        ArchiveFormat::TarGz => {
            // No file name and a fixed mtime in the gzip header, so the bytes depend on content only.
            let mut enc = flate2::GzBuilder::new().mtime(0).write(Vec::new(), flate2::Compression::best());
            enc.write_all(&tar)?;
            enc.finish().context("finishing the gzip stream")
        }
    }
}

fn write_tar(top_dir: &str, files: &[ArchiveFile], mtime: u64) -> Result<Vec<u8>> {
    let mut sorted: Vec<&ArchiveFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    // Directories get their own entries so extraction gives them sane modes.
    let mut dirs = BTreeSet::from([String::new()]);
    for file in &sorted {
        let mut parent = file.path.as_str();
        while let Some((dir, _)) = parent.rsplit_once('/') {
            dirs.insert(dir.to_owned());
            parent = dir;
        }
    }

    let mut builder = tar::Builder::new(Vec::new());
    for dir in &dirs {
        let path = if dir.is_empty() { format!("{top_dir}/") } else { format!("{top_dir}/{dir}/") };
        let mut header = header(tar::EntryType::Directory, 0o755, 0, mtime);
        builder
            .append_data(&mut header, &path, std::io::empty())
            .with_context(|| format!("adding directory {path}"))?;
    }
    for file in sorted {
        if file.path.contains("//") || file.path.starts_with('/') || file.path.split('/').any(|p| p == "..") {
            bail!("archive path `{}` is not normalised", file.path);
        }
        let mode = if file.executable { 0o755 } else { 0o644 };
        let mut header = header(tar::EntryType::Regular, mode, file.data.len() as u64, mtime);
        let path = format!("{top_dir}/{}", file.path);
        builder.append_data(&mut header, &path, file.data.as_slice()).with_context(|| format!("adding {path}"))?;
    }
    Ok(builder.into_inner()?)
}

fn header(kind: tar::EntryType, mode: u32, size: u64, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(mtime);
    h.set_uid(0);
    h.set_gid(0);
    // Empty names: no trace of the build machine's users.
    let _ = h.set_username("");
    let _ = h.set_groupname("");
    h
}

/// What one archive entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MemberKind {
    File,
    Dir,
    Symlink(String),
    Hardlink(String),
    Other,
}

/// An entry read back from an archive.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) path: String,
    pub(crate) kind: MemberKind,
    pub(crate) mode: u32,
    pub(crate) data: Vec<u8>,
}

/// Every entry of an archive, file contents included.
pub(crate) fn read_archive(format: ArchiveFormat, bytes: &[u8]) -> Result<Vec<Member>> {
    let mut tar_bytes = Vec::new();
    match format {
        ArchiveFormat::TarXz => {
            xz2::read::XzDecoder::new(bytes).read_to_end(&mut tar_bytes).context("decompressing xz")?
        }
        ArchiveFormat::TarGz => {
            flate2::read::GzDecoder::new(bytes).read_to_end(&mut tar_bytes).context("decompressing gzip")?
        }
    };
    let mut archive = tar::Archive::new(tar_bytes.as_slice());
    let mut members = Vec::new();
    for entry in archive.entries().context("reading tar entries")? {
        let mut entry = entry.context("reading a tar entry")?;
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let link = || entry.link_name_bytes().map(|l| String::from_utf8_lossy(&l).into_owned()).unwrap_or_default();
        let kind = match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => MemberKind::File,
            tar::EntryType::Directory => MemberKind::Dir,
            tar::EntryType::Symlink => MemberKind::Symlink(link()),
            tar::EntryType::Link => MemberKind::Hardlink(link()),
            _ => MemberKind::Other,
        };
        let mode = entry.header().mode().unwrap_or(0);
        let mut data = Vec::new();
        if kind == MemberKind::File {
            entry.read_to_end(&mut data).with_context(|| format!("reading {path}"))?;
        }
        members.push(Member { path, kind, mode, data });
    }
    Ok(members)
}

/// Problems that make an archive unsafe or surprising to unpack.
pub(crate) fn layout_problems(members: &[Member], expected_top: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut tops = BTreeSet::new();
    for m in members {
        let path = m.path.trim_end_matches('/');
        if path.starts_with('/') {
            problems.push(format!("`{}` is an absolute path", m.path));
            continue;
        }
        let parts: Vec<&str> = path.split('/').collect();
        if parts.contains(&"..") {
            problems.push(format!("`{}` climbs out with `..`", m.path));
            continue;
        }
        tops.insert(parts[0].to_owned());
        match &m.kind {
            MemberKind::Symlink(target) | MemberKind::Hardlink(target) => {
                let base = if matches!(m.kind, MemberKind::Symlink(_)) { &parts[..parts.len() - 1] } else { &[][..] };
                if !stays_inside(base, target) {
                    problems
                        .push(format!("link `{}` points outside the archive's top directory (to `{target}`)", m.path));
                }
            }
            MemberKind::Other => problems.push(format!("`{}` is neither a file, a directory nor a link", m.path)),
            MemberKind::File | MemberKind::Dir => {}
        }
    }
    match tops.len() {
        0 => problems.push("the archive is empty".to_owned()),
        1 if tops.contains(expected_top) => {}
        1 => problems.push(format!("the top directory is `{}`, expected `{expected_top}`", tops.first().unwrap())),
        _ => problems.push(format!(
            "expected one top directory `{expected_top}`, found {}",
            tops.into_iter().collect::<Vec<_>>().join(", ")
        )),
    }
    problems
}

/// Whether `target`, resolved from directory `base`, stays below the first path component.
fn stays_inside(base: &[&str], target: &str) -> bool {
    if target.starts_with('/') {
        return false;
    }
    let mut stack: Vec<&str> = base.to_vec();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                stack.pop();
                if stack.is_empty() {
                    return false;
                }
            }
            p => stack.push(p),
        }
    }
    !stack.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Vec<ArchiveFile> {
        vec![
            ArchiveFile { path: "README.md".into(), data: b"# hi\n".to_vec(), executable: false },
            ArchiveFile { path: "mycli".into(), data: b"\x7fELF...".to_vec(), executable: true },
            ArchiveFile { path: "doc/mycli.1".into(), data: b".TH".to_vec(), executable: false },
        ]
    }

    #[test]
    fn archive_is_sorted_owned_by_root_and_dated() {
        for format in [ArchiveFormat::TarXz, ArchiveFormat::TarGz] {
            let bytes = write_archive(format, "mycli-1.0.0-x", &files(), 1_700_000_000).unwrap();
            let mut tar_bytes = Vec::new();
            match format {
                ArchiveFormat::TarXz => xz2::read::XzDecoder::new(&bytes[..]).read_to_end(&mut tar_bytes).unwrap(),
                ArchiveFormat::TarGz => flate2::read::GzDecoder::new(&bytes[..]).read_to_end(&mut tar_bytes).unwrap(),
            };
            let mut archive = tar::Archive::new(&tar_bytes[..]);
            let mut seen = Vec::new();
            for e in archive.entries().unwrap() {
                let e = e.unwrap();
                let h = e.header();
                assert_eq!((h.uid().unwrap(), h.gid().unwrap(), h.mtime().unwrap()), (0, 0, 1_700_000_000));
                assert_eq!(h.username().unwrap(), Some(""));
                seen.push((e.path().unwrap().display().to_string(), h.mode().unwrap()));
            }
            let expect = [
                ("mycli-1.0.0-x/", 0o755),
                ("mycli-1.0.0-x/doc/", 0o755),
                ("mycli-1.0.0-x/README.md", 0o644),
                ("mycli-1.0.0-x/doc/mycli.1", 0o644),
                ("mycli-1.0.0-x/mycli", 0o755),
            ];
            let seen: Vec<_> = seen.iter().map(|(p, m)| (p.as_str(), *m)).collect();
            assert_eq!(seen, expect);
        }
    }

    #[test]
    fn same_input_same_bytes_regardless_of_order() {
        let a = write_archive(ArchiveFormat::TarXz, "t", &files(), 5).unwrap();
        let mut reversed = files();
        reversed.reverse();
        let b = write_archive(ArchiveFormat::TarXz, "t", &reversed, 5).unwrap();
        assert_eq!(a, b);
        let c = write_archive(ArchiveFormat::TarXz, "t", &files(), 6).unwrap();
        assert_ne!(a, c, "mtime must be part of the output");
    }

    #[test]
    fn round_trip_and_long_names() {
        let mut fs = files();
        fs.push(ArchiveFile { path: format!("{}/x", "d".repeat(150)), data: vec![1, 2, 3], executable: false });
        let bytes = write_archive(ArchiveFormat::TarXz, "top", &fs, 0).unwrap();
        let members = read_archive(ArchiveFormat::TarXz, &bytes).unwrap();
        assert!(layout_problems(&members, "top").is_empty());
        let long = members.iter().find(|m| m.path.ends_with("/x")).unwrap();
        assert_eq!(long.data, vec![1, 2, 3]);
        assert_eq!(members.iter().find(|m| m.path == "top/mycli").unwrap().mode, 0o755);
    }

    fn member(path: &str, kind: MemberKind) -> Member {
        Member { path: path.into(), kind, mode: 0o644, data: vec![] }
    }

    #[test]
    fn unsafe_layouts_are_named() {
        let ok = vec![
            member("top/", MemberKind::Dir),
            member("top/a", MemberKind::File),
            member("top/l", MemberKind::Symlink("a".into())),
        ];
        assert!(layout_problems(&ok, "top").is_empty());
        let cases = [
            (member("/etc/passwd", MemberKind::File), "absolute"),
            (member("top/../../x", MemberKind::File), "`..`"),
            (member("top/l", MemberKind::Symlink("../../etc".into())), "points outside"),
            (member("top/l", MemberKind::Symlink("/etc/passwd".into())), "points outside"),
            (member("other/x", MemberKind::File), "one top directory"),
        ];
        for (bad, why) in cases {
            let mut ms = ok.clone();
            ms.push(bad);
            let problems = layout_problems(&ms, "top").join("; ");
            assert!(problems.contains(why), "{why}: {problems}");
        }
        assert!(layout_problems(&[member("x/a", MemberKind::File)], "top").join("").contains("expected `top`"));
    }
}
