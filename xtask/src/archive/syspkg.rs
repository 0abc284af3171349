//! What a .deb or .rpm of an archive holds: the archive's own files placed
//! where the system looks for them (`model::package::placement`), man pages
//! gzipped, every byte fixed by the inputs. The formats are `deb` and `rpm`.

use std::io::Write;

use anyhow::{Context, Result, bail};

use crate::archive::package::ArchiveFile;
use crate::model::package;

/// A file a package installs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PayloadFile {
    /// Absolute: `/usr/bin/tool`.
    pub(crate) path: String,
    pub(crate) data: Vec<u8>,
    pub(crate) executable: bool,
    /// A licence, README or changelog: rpm marks it `%doc`/`%license`.
    pub(crate) doc: DocFlag,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocFlag {
    None,
    Doc,
    License,
}

/// The archive's `files` as a package installs them, sorted by path. At
/// least every binary: a package without its binary is refused.
pub(crate) fn payload(
    files: &[ArchiveFile],
    bins: &[String],
    package: &str,
) -> Result<Vec<PayloadFile>> {
    let mut out: Vec<PayloadFile> = Vec::new();
    for file in files {
        let Some(place) = package::placement(&file.path, bins, package) else {
            continue;
        };
        if out.iter().any(|f| f.path == place.path) {
            bail!(
                "two files of the archive would be installed as {}; rename one",
                place.path
            );
        }
        let data = if place.gzip {
            gzip(&file.data)?
        } else {
            file.data.clone()
        };
        let upper = file.path.to_ascii_uppercase();
        let doc = if place.path.starts_with("/usr/share/doc/") {
            if upper.starts_with("LICEN") || upper.starts_with("COPYING") {
                DocFlag::License
            } else {
                DocFlag::Doc
            }
        } else if place.path.starts_with("/usr/share/man/") {
            DocFlag::Doc
        } else {
            DocFlag::None
        };
        out.push(PayloadFile {
            path: place.path,
            data,
            executable: place.executable,
            doc,
        });
    }
    for bin in bins {
        if !out.iter().any(|f| f.path == format!("/usr/bin/{bin}")) {
            bail!("the archive has no binary `{bin}` to package");
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// The archive's binaries (`stem/exe` paths) as paths below its top
/// directory, as its files are given to [`payload`].
pub(crate) fn bin_names(binaries: &[String], stem: &str) -> Vec<String> {
    let top = format!("{stem}/");
    binaries
        .iter()
        .map(|b| b.strip_prefix(&top).unwrap_or(b).to_owned())
        .collect()
}

/// gzip with no name and no date in its header, at the best level, as
/// `gzip -9n`: the bytes depend on the content only.
pub(crate) fn gzip(data: &[u8]) -> Result<Vec<u8>> {
    let mut enc = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    enc.write_all(data)?;
    enc.finish().context("finishing a gzip stream")
}

/// Every directory above `paths` (absolute), shallowest first, without `/`.
pub(crate) fn parents<'a>(paths: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut dirs = std::collections::BTreeSet::new();
    for path in paths {
        let mut parent = path;
        while let Some((dir, _)) = parent.rsplit_once('/') {
            if dir.is_empty() {
                break;
            }
            dirs.insert(dir.to_owned());
            parent = dir;
        }
    }
    dirs.into_iter().collect()
}

/// `Thu, 01 Jan 1970 00:00:00 +0000` for a Unix time, as Debian changelogs
/// date their entries.
pub(crate) fn rfc2822(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = xtask_inspect::zipfile::civil_time(secs);
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let weekday = DAYS[((secs / 86_400) % 7) as usize];
    let month = MONTHS[usize::from(mo - 1)];
    format!("{weekday}, {d:02} {month} {y} {h:02}:{mi:02}:{s:02} +0000")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, data: &[u8]) -> ArchiveFile {
        ArchiveFile {
            path: path.into(),
            data: data.to_vec(),
            executable: false,
        }
    }

    #[test]
    fn the_payload_places_files_and_gzips_man_pages() {
        let files = [
            file("tb", b"\x7fELF"),
            file("doc/tb.1", b".TH TB 1"),
            file("LICENSE-MIT", b"mit"),
            file("complete/tb.ps1", b"ps"),
        ];
        let payload = payload(&files, &["tb".into()], "toolbox").unwrap();
        let paths: Vec<(&str, DocFlag)> =
            payload.iter().map(|f| (f.path.as_str(), f.doc)).collect();
        assert_eq!(
            paths,
            [
                ("/usr/bin/tb", DocFlag::None),
                ("/usr/share/doc/toolbox/LICENSE-MIT", DocFlag::License),
                ("/usr/share/man/man1/tb.1.gz", DocFlag::Doc),
            ]
        );
        let mut page = String::new();
        use std::io::Read;
        flate2::read::GzDecoder::new(payload[2].data.as_slice())
            .read_to_string(&mut page)
            .unwrap();
        assert_eq!(page, ".TH TB 1");
        assert_eq!(gzip(b"x").unwrap(), gzip(b"x").unwrap());
        let err = super::payload(&files[1..], &["tb".into()], "toolbox").unwrap_err();
        assert!(err.to_string().contains("no binary `tb`"), "{err}");
    }

    #[test]
    fn dates_and_parents() {
        assert_eq!(rfc2822(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc2822(1_700_000_000), "Tue, 14 Nov 2023 22:13:20 +0000");
        assert_eq!(
            parents(["/usr/bin/a", "/usr/share/man/man1/a.1.gz"].into_iter()),
            [
                "/usr",
                "/usr/bin",
                "/usr/share",
                "/usr/share/man",
                "/usr/share/man/man1"
            ]
        );
    }
}
