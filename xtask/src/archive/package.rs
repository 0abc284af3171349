//! Release archives: written deterministically, read back defensively.
//!
//! Same inputs give the same bytes: entries sorted, fixed modes and owners,
//! mtime = SOURCE_DATE_EPOCH, a fixed compression preset.

use std::collections::BTreeSet;
use std::io::Write;

use anyhow::{Context, Result, bail};

use xtask_inspect::format::ArchiveFormat;
use xtask_inspect::zipfile;

/// xz preset: 9 is within 1% of `xz -9e` on binaries and decompresses as fast.
const XZ_PRESET: u32 = 9;

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
        ArchiveFormat::Zip => {
            write_zip(top_dir, files, mtime).context("assembling the zip archive")
        }
        ArchiveFormat::TarXz => {
            let tar = tar()?;
            let mut enc = xz2::write::XzEncoder::new_stream(Vec::new(), xz_stream(tar.len())?);
            enc.write_all(&tar)?;
            enc.finish().context("finishing the xz stream")
        }
        ArchiveFormat::TarGz => {
            // No file name and a fixed mtime in the gzip header, so the bytes depend on content only.
            let mut enc = flate2::GzBuilder::new()
                .mtime(0)
                .write(Vec::new(), flate2::Compression::best());
            enc.write_all(&tar()?)?;
            enc.finish().context("finishing the gzip stream")
        }
    }
}

/// Preset 9 with the dictionary cut to the input's size: a dictionary larger
/// than the data finds no more matches, but preset 9's 64 MiB one (and its
/// ~670 MiB match finder) must still be allocated and cleared, which costs
/// more than compressing a few MiB, and two at once thrash memory.
pub(crate) fn xz_stream(input_len: usize) -> Result<xz2::stream::Stream> {
    let mut options = xz2::stream::LzmaOptions::new_preset(XZ_PRESET).context("xz preset")?;
    let dict = (input_len as u64)
        .next_power_of_two()
        .clamp(1 << 16, 64 << 20) as u32;
    options.dict_size(dict);
    let mut filters = xz2::stream::Filters::new();
    filters.lzma2(&options);
    xz2::stream::Stream::new_stream_encoder(&filters, xz2::stream::Check::Crc64)
        .context("starting the xz encoder")
}

/// A digest of everything an archive is made from — format and its
/// settings, top directory, mtime, and each file's path, mode and bytes —
/// so an unchanged archive can be reused instead of compressed again.
pub(crate) fn input_key(
    format: ArchiveFormat,
    top_dir: &str,
    files: &[ArchiveFile],
    mtime: u64,
) -> String {
    let mut text = format!(
        "xtask-archive-v2 {} xz{XZ_PRESET} {top_dir} {mtime}\n",
        format.extension()
    );
    let (sorted, _) = layout(files);
    for file in sorted {
        let sha = crate::archive::checksum::sha256_hex(&file.data);
        text.push_str(&format!("{} {} {sha}\n", file.executable, file.path));
    }
    crate::archive::checksum::sha256_hex(text.as_bytes())
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
    if path.is_empty()
        || path.contains("//")
        || path.starts_with('/')
        || path.split('/').any(|p| p == "..")
    {
        bail!("archive path `{path}` is not a normalised relative path");
    }
    Ok(())
}

fn write_zip(top_dir: &str, files: &[ArchiveFile], mtime: u64) -> Result<Vec<u8>> {
    let (sorted, dirs) = layout(files);
    let (date, time) = zipfile::dos_timestamp(mtime);
    let mut entries = Vec::new();
    for dir in &dirs {
        let path = if dir.is_empty() {
            format!("{top_dir}/")
        } else {
            format!("{top_dir}/{dir}/")
        };
        entries.push(zipfile::Entry {
            path,
            mode: 0o040_755,
            data: Vec::new(),
        });
    }
    for file in sorted {
        check_path(&file.path)?;
        let mode = if file.executable {
            0o100_755
        } else {
            0o100_644
        };
        entries.push(zipfile::Entry {
            path: format!("{top_dir}/{}", file.path),
            mode,
            data: file.data.clone(),
        });
    }
    zipfile::write(&entries, date, time)
}

fn write_tar(top_dir: &str, files: &[ArchiveFile], mtime: u64) -> Result<Vec<u8>> {
    let (sorted, dirs) = layout(files);

    let mut builder = tar::Builder::new(Vec::new());
    for dir in &dirs {
        let path = if dir.is_empty() {
            format!("{top_dir}/")
        } else {
            format!("{top_dir}/{dir}/")
        };
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
        builder
            .append_data(&mut header, &path, file.data.as_slice())
            .with_context(|| format!("adding {path}"))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use xtask_inspect::format::ALL_FORMATS;

    use xtask_inspect::unpack::{self, Limits};

    fn read_archive(format: ArchiveFormat, bytes: &[u8]) -> Vec<unpack::Member> {
        let read = unpack::read(format, bytes, Limits::default()).unwrap();
        assert!(read.problems.is_empty(), "{:?}", read.problems);
        read.members
    }

    fn files() -> Vec<ArchiveFile> {
        vec![
            ArchiveFile {
                path: "README.md".into(),
                data: b"# hi\n".to_vec(),
                executable: false,
            },
            ArchiveFile {
                path: "toolbox".into(),
                data: b"\x7fELF...".to_vec(),
                executable: true,
            },
            ArchiveFile {
                path: "doc/toolbox.1".into(),
                data: b".TH".to_vec(),
                executable: false,
            },
        ]
    }

    #[test]
    fn archive_is_sorted_owned_by_root_and_dated() {
        for format in [ArchiveFormat::TarXz, ArchiveFormat::TarGz] {
            let bytes = write_archive(format, "toolbox-1.0.0-x", &files(), 1_700_000_000).unwrap();
            let mut tar_bytes = Vec::new();
            match format {
                ArchiveFormat::TarXz => xz2::read::XzDecoder::new(&bytes[..])
                    .read_to_end(&mut tar_bytes)
                    .unwrap(),
                ArchiveFormat::TarGz => flate2::read::GzDecoder::new(&bytes[..])
                    .read_to_end(&mut tar_bytes)
                    .unwrap(),
                ArchiveFormat::Zip => unreachable!(),
            };
            let mut archive = tar::Archive::new(&tar_bytes[..]);
            let mut seen = Vec::new();
            for e in archive.entries().unwrap() {
                let e = e.unwrap();
                let h = e.header();
                assert_eq!(
                    (h.uid().unwrap(), h.gid().unwrap(), h.mtime().unwrap()),
                    (0, 0, 1_700_000_000)
                );
                assert_eq!(h.username().unwrap(), Some(""));
                seen.push((e.path().unwrap().display().to_string(), h.mode().unwrap()));
            }
            let expect = [
                ("toolbox-1.0.0-x/", 0o755),
                ("toolbox-1.0.0-x/doc/", 0o755),
                ("toolbox-1.0.0-x/README.md", 0o644),
                ("toolbox-1.0.0-x/doc/toolbox.1", 0o644),
                ("toolbox-1.0.0-x/toolbox", 0o755),
            ];
            let seen: Vec<_> = seen.iter().map(|(p, m)| (p.as_str(), *m)).collect();
            assert_eq!(seen, expect);
        }
    }

    #[test]
    fn zip_round_trips_deterministically_with_modes() {
        let a = write_archive(
            ArchiveFormat::Zip,
            "toolbox-1-x86_64-pc-windows-gnu",
            &files(),
            1_700_000_000,
        )
        .unwrap();
        let members = read_archive(ArchiveFormat::Zip, &a);
        assert!(unpack::layout_problems(&members, "toolbox-1-x86_64-pc-windows-gnu").is_empty());
        let exe = members
            .iter()
            .find(|m| m.path.ends_with("/toolbox"))
            .unwrap();
        assert_eq!((exe.mode, exe.data.as_slice()), (0o755, &b"\x7fELF..."[..]));
        // The first local header's DOS time and date fields.
        let (time, date) = (
            u16::from_le_bytes([a[10], a[11]]),
            u16::from_le_bytes([a[12], a[13]]),
        );
        let when = (
            (date >> 9) + 1980,
            (date >> 5) & 0xf,
            date & 0x1f,
            time >> 11,
            (time >> 5) & 0x3f,
        );
        assert_eq!(when, (2023, 11, 14, 22, 13));
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
        fs.push(ArchiveFile {
            path: format!("{}/x", "d".repeat(150)),
            data: vec![1, 2, 3],
            executable: false,
        });
        let bytes = write_archive(ArchiveFormat::TarXz, "top", &fs, 0).unwrap();
        let members = read_archive(ArchiveFormat::TarXz, &bytes);
        assert!(unpack::layout_problems(&members, "top").is_empty());
        let long = members.iter().find(|m| m.path.ends_with("/x")).unwrap();
        assert_eq!(long.data, vec![1, 2, 3]);
        assert_eq!(
            members
                .iter()
                .find(|m| m.path == "top/toolbox")
                .unwrap()
                .mode,
            0o755
        );
    }

    #[test]
    fn any_changed_input_changes_the_key() {
        let files = vec![
            ArchiveFile {
                path: "bin".into(),
                data: b"elf".to_vec(),
                executable: true,
            },
            ArchiveFile {
                path: "README.md".into(),
                data: b"hi".to_vec(),
                executable: false,
            },
        ];
        let key = |f: &[ArchiveFile], format, top: &str, mtime| input_key(format, top, f, mtime);
        let base = key(&files, ArchiveFormat::TarXz, "top", 1);
        let mut reordered = files.clone();
        reordered.reverse();
        assert_eq!(
            key(&reordered, ArchiveFormat::TarXz, "top", 1),
            base,
            "order is not an input"
        );
        let mut changed = files.clone();
        changed[1].data = b"hi!".to_vec();
        let mut mode = files.clone();
        mode[1].executable = true;
        let mut renamed = files.clone();
        renamed[1].path = "README".into();
        for other in [
            key(&changed, ArchiveFormat::TarXz, "top", 1),
            key(&mode, ArchiveFormat::TarXz, "top", 1),
            key(&renamed, ArchiveFormat::TarXz, "top", 1),
            key(&files, ArchiveFormat::TarGz, "top", 1),
            key(&files, ArchiveFormat::TarXz, "top2", 1),
            key(&files, ArchiveFormat::TarXz, "top", 2),
        ] {
            assert_ne!(other, base);
        }
    }
}
