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
    /// Windows' own format: Explorer opens it without extra tools.
    Zip,
}

const ALL_FORMATS: [ArchiveFormat; 3] = [ArchiveFormat::TarXz, ArchiveFormat::TarGz, ArchiveFormat::Zip];

/// xz preset: 9 is within 1% of `xz -9e` on binaries and decompresses as fast.
const XZ_PRESET: u32 = 9;

impl ArchiveFormat {
    pub(crate) fn extension(self) -> &'static str {
        match self {
            ArchiveFormat::TarXz => ".tar.xz",
            ArchiveFormat::TarGz => ".tar.gz",
            ArchiveFormat::Zip => ".zip",
        }
    }

    pub(crate) fn from_extension(ext: &str) -> Option<ArchiveFormat> {
        ALL_FORMATS.into_iter().find(|f| f.extension() == ext)
    }

    /// The format of an archive, judged by its file name.
    pub(crate) fn of_file(name: &str) -> Option<ArchiveFormat> {
        ALL_FORMATS.into_iter().find(|f| name.ends_with(f.extension()))
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
    let tar = || write_tar(top_dir, files, mtime).context("assembling the tar stream");
    match format {
        ArchiveFormat::Zip => write_zip(top_dir, files, mtime).context("assembling the zip archive"),
        ArchiveFormat::TarXz => {
            let mut enc = xz2::write::XzEncoder::new(Vec::new(), XZ_PRESET);
            enc.write_all(&tar()?)?;
            enc.finish().context("finishing the xz stream")
        }
        ArchiveFormat::TarGz => {
            // No file name and a fixed mtime in the gzip header, so the bytes depend on content only.
            let mut enc = flate2::GzBuilder::new().mtime(0).write(Vec::new(), flate2::Compression::best());
            enc.write_all(&tar()?)?;
            enc.finish().context("finishing the gzip stream")
        }
    }
}

/// Files sorted by path, and every directory above them ("" for the top).
fn layout(files: &[ArchiveFile]) -> (Vec<&ArchiveFile>, BTreeSet<String>) {
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
    (sorted, dirs)
}

fn check_path(path: &str) -> Result<()> {
    if path.is_empty() || path.contains("//") || path.starts_with('/') || path.split('/').any(|p| p == "..") {
        bail!("archive path `{path}` is not a normalised relative path");
    }
    Ok(())
}

fn write_zip(top_dir: &str, files: &[ArchiveFile], mtime: u64) -> Result<Vec<u8>> {
    let (sorted, dirs) = layout(files);
    let (y, mo, d, h, mi, s) = civil_time(mtime);
    // DOS time has 2-second steps and starts in 1980.
    let time = zip::DateTime::from_date_and_time(y.clamp(1980, 2107) as u16, mo, d, h, mi, s & !1)
        .map_err(|e| anyhow::anyhow!("SOURCE_DATE_EPOCH {mtime} cannot be a zip date: {e}"))?;
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9))
        .last_modified_time(time);
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for dir in &dirs {
        let path = if dir.is_empty() { format!("{top_dir}/") } else { format!("{top_dir}/{dir}/") };
        writer.add_directory(&path, options.unix_permissions(0o755)).with_context(|| format!("adding {path}"))?;
    }
    for file in sorted {
        check_path(&file.path)?;
        let path = format!("{top_dir}/{}", file.path);
        let mode = if file.executable { 0o755 } else { 0o644 };
        writer.start_file(&path, options.unix_permissions(mode)).with_context(|| format!("adding {path}"))?;
        writer.write_all(&file.data)?;
    }
    Ok(writer.finish()?.into_inner())
}

/// UTC calendar date and time of a Unix timestamp (Howard Hinnant's algorithm).
fn civil_time(secs: u64) -> (i64, u8, u8, u8, u8, u8) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, (rem / 3600) as u8, (rem % 3600 / 60) as u8, (rem % 60) as u8)
}

fn write_tar(top_dir: &str, files: &[ArchiveFile], mtime: u64) -> Result<Vec<u8>> {
    let (sorted, dirs) = layout(files);

    let mut builder = tar::Builder::new(Vec::new());
    for dir in &dirs {
        let path = if dir.is_empty() { format!("{top_dir}/") } else { format!("{top_dir}/{dir}/") };
        let mut header = header(tar::EntryType::Directory, 0o755, 0, mtime);
        builder
            .append_data(&mut header, &path, std::io::empty())
            .with_context(|| format!("adding directory {path}"))?;
    }
    for file in sorted {
        check_path(&file.path)?;
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
        ArchiveFormat::Zip => return read_zip(bytes),
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

fn read_zip(bytes: &[u8]) -> Result<Vec<Member>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).context("reading the zip directory")?;
    let mut members = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).with_context(|| format!("reading zip entry {i}"))?;
        let path = entry.name().to_owned();
        let mode = entry.unix_mode().unwrap_or(0o644);
        let mut data = Vec::new();
        let kind = if entry.is_dir() {
            MemberKind::Dir
        } else {
            entry.read_to_end(&mut data).with_context(|| format!("reading {path}"))?;
            if entry.is_symlink() {
                MemberKind::Symlink(String::from_utf8_lossy(&data).into_owned())
            } else {
                MemberKind::File
            }
        };
        members.push(Member { path, kind, mode: mode & 0o7777, data });
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
                ArchiveFormat::Zip => unreachable!(),
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
    fn zip_round_trips_deterministically_with_modes() {
        let a = write_archive(ArchiveFormat::Zip, "mycli-1-x86_64-pc-windows-gnu", &files(), 1_700_000_000).unwrap();
        let members = read_archive(ArchiveFormat::Zip, &a).unwrap();
        assert!(layout_problems(&members, "mycli-1-x86_64-pc-windows-gnu").is_empty());
        let exe = members.iter().find(|m| m.path.ends_with("/mycli")).unwrap();
        assert_eq!((exe.mode, exe.data.as_slice()), (0o755, &b"\x7fELF..."[..]));
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&a)).unwrap();
        let first = zip.by_index(0).unwrap();
        let t = first.last_modified().unwrap();
        assert_eq!((t.year(), t.month(), t.day(), t.hour(), t.minute()), (2023, 11, 14, 22, 13));
    }

    #[test]
    fn civil_time_matches_known_dates() {
        assert_eq!(civil_time(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil_time(315_532_800), (1980, 1, 1, 0, 0, 0));
        assert_eq!(civil_time(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(civil_time(1_700_000_000), (2023, 11, 14, 22, 13, 20));
    }

    #[test]
    fn same_input_same_bytes_regardless_of_order() {
        let mut reversed = files();
        reversed.reverse();
        for format in ALL_FORMATS {
            // Zip stores DOS time in 2-second steps, so the dates differ by more than that.
            let a = write_archive(format, "t", &files(), 1_700_000_000).unwrap();
            let b = write_archive(format, "t", &reversed, 1_700_000_000).unwrap();
            assert_eq!(a, b, "{format:?}");
            let c = write_archive(format, "t", &files(), 1_700_000_010).unwrap();
            assert_ne!(a, c, "{format:?}: mtime must be part of the output");
        }
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
