//! What `tar -x` and `unzip` would unpack from an archive, read without
//! unpacking it: every record that tar programs read differently (duplicate
//! names, hardlinks, sparse members, PAX records that rename or resize a
//! member, global headers, extended attributes) and every member that would
//! land outside the top directory or with dangerous modes is refused, so
//! what `verify` checks is what any of them unpacks. Streams are read with
//! limits on the unpacked size and the decompressor's memory.

use std::io::{self, Read};

use anyhow::{Context, Result};

mod layout;
mod read_tar;

pub use self::layout::layout_problems;
pub use self::read_tar::read_tar;

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
