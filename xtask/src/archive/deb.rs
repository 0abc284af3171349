//! The .deb of a Linux archive, written here (no dpkg-deb needed): an `ar`
//! of `debian-binary`, `control.tar.xz` and `data.tar.xz`, with the
//! `copyright` and `changelog.gz` Debian expects; and read back, bounded,
//! for `verify`.

use std::io::Write;

use anyhow::{Context, Result, bail};
use xtask_inspect::format::ArchiveFormat;
use xtask_inspect::unpack::{self, Limits, MemberKind};

use crate::archive::package::xz_stream;
use crate::archive::syspkg::{self, PayloadFile};
use crate::model::package::PackageMeta;

/// The package's bytes: same inputs, same bytes.
pub(crate) fn write(meta: &PackageMeta, arch: &str, payload: &[PayloadFile]) -> Result<Vec<u8>> {
    let doc_dir = format!("/usr/share/doc/{}", meta.name);
    let mut files: Vec<PayloadFile> = payload.to_vec();
    files.push(PayloadFile {
        path: lintian_overrides(&meta.name),
        data: overrides(&meta.name, payload).into_bytes(),
        executable: false,
        doc: syspkg::DocFlag::None,
    });
    for (name, data) in [
        ("copyright", copyright(meta, payload).into_bytes()),
        ("changelog.gz", syspkg::gzip(changelog(meta).as_bytes())?),
    ] {
        files.push(PayloadFile {
            path: format!("{doc_dir}/{name}"),
            data,
            executable: false,
            doc: syspkg::DocFlag::Doc,
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    // dpkg counts each file's size in KiB, rounded up.
    let installed_kib: u64 = files
        .iter()
        .map(|f| (f.data.len() as u64).div_ceil(1024))
        .sum();
    let mtime = meta.source_date_epoch;

    let mut data = TarWriter::new(mtime);
    for dir in syspkg::parents(files.iter().map(|f| f.path.as_str())) {
        data.dir(&format!(".{dir}/"))?;
    }
    for file in &files {
        let mode = if file.executable { 0o755 } else { 0o644 };
        data.file(&format!(".{}", file.path), mode, &file.data)?;
    }
    let mut control = TarWriter::new(mtime);
    control.file(
        "./control",
        0o644,
        control_file(meta, arch, installed_kib).as_bytes(),
    )?;

    let mut out = b"!<arch>\n".to_vec();
    ar_member(&mut out, "debian-binary", b"2.0\n", mtime);
    ar_member(&mut out, "control.tar.xz", &control.finish()?, mtime);
    ar_member(&mut out, "data.tar.xz", &data.finish()?, mtime);
    Ok(out)
}

/// Where lintian reads a package's overrides.
pub(crate) fn lintian_overrides(package: &str) -> String {
    format!("/usr/share/lintian/overrides/{package}")
}

/// lintian holds every static binary an error (it expects Debian's
/// libc); these are static on purpose, and say so.
fn overrides(package: &str, payload: &[PayloadFile]) -> String {
    let mut text = String::from(
        "# Static musl builds on purpose: they run on every Linux of their CPU,\n# with no libc to depend on.\n",
    );
    for file in payload.iter().filter(|f| f.path.starts_with("/usr/bin/")) {
        text.push_str(&format!(
            "{package}: statically-linked-binary [{}]\n",
            &file.path[1..]
        ));
    }
    text
}

fn control_file(meta: &PackageMeta, arch: &str, installed_kib: u64) -> String {
    let mut text = format!(
        "Package: {}\nVersion: {}\nArchitecture: {arch}\nMaintainer: {}\nInstalled-Size: {installed_kib}\nSection: utils\nPriority: optional\n",
        meta.name, meta.version, meta.maintainer
    );
    if let Some(homepage) = &meta.homepage {
        text.push_str(&format!("Homepage: {homepage}\n"));
    }
    text.push_str(&format!(
        "Description: {}\n {} {} as released: a statically linked build that runs on\n any Linux, with its shell completions and manual pages where it has them.\n",
        meta.summary, meta.name, meta.version
    ));
    text
}

/// The machine-readable copyright file (DEP-5), naming the licence as
/// Cargo.toml gives it and where its texts are.
fn copyright(meta: &PackageMeta, payload: &[PayloadFile]) -> String {
    let license = meta
        .license
        .as_deref()
        .map(|l| l.replace(" OR ", " or ").replace(" AND ", " and "))
        .unwrap_or_else(|| "unknown".into());
    let mut text = format!(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: {}\n",
        meta.name
    );
    if let Some(homepage) = &meta.homepage {
        text.push_str(&format!("Source: {homepage}\n"));
    }
    text.push_str(&format!(
        "\nFiles: *\nCopyright: {}\nLicense: {license}\n",
        meta.maintainer
    ));
    let texts: Vec<&str> = payload
        .iter()
        .filter(|f| f.doc == syspkg::DocFlag::License)
        .map(|f| f.path.as_str())
        .collect();
    if texts.is_empty() {
        text.push_str(" See the project's repository for the licence text.\n");
    } else {
        text.push_str(" The licence texts are in:\n");
        for path in texts {
            text.push_str(&format!(" {path}\n"));
        }
    }
    text
}

fn changelog(meta: &PackageMeta) -> String {
    format!(
        "{name} ({version}) unstable; urgency=medium\n\n  * Release {version}.\n\n -- {maintainer}  {date}\n",
        name = meta.name,
        version = meta.version,
        maintainer = meta.maintainer,
        date = syspkg::rfc2822(meta.source_date_epoch),
    )
}

/// One `ar` member: a 60-byte header, the data, a pad byte to an even offset.
fn ar_member(out: &mut Vec<u8>, name: &str, data: &[u8], mtime: u64) {
    let header = format!(
        "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
        name,
        mtime,
        0,
        0,
        "100644",
        data.len()
    );
    debug_assert_eq!(header.len(), 60);
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    if !data.len().is_multiple_of(2) {
        out.push(b'\n');
    }
}

/// A tar.xz written as dpkg-deb writes one: `./` paths, root-owned.
struct TarWriter {
    builder: tar::Builder<Vec<u8>>,
    mtime: u64,
}

impl TarWriter {
    fn new(mtime: u64) -> TarWriter {
        let mut writer = TarWriter {
            builder: tar::Builder::new(Vec::new()),
            mtime,
        };
        // Every tar dpkg-deb writes starts with `./`.
        writer.dir("./").expect("writing to memory");
        writer
    }

    fn header(&self, kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(self.mtime);
        h.set_uid(0);
        h.set_gid(0);
        let _ = h.set_username("root");
        let _ = h.set_groupname("root");
        h
    }

    fn dir(&mut self, path: &str) -> Result<()> {
        let h = self.header(tar::EntryType::Directory, 0o755, 0);
        self.append(h, path, &[])
    }

    fn file(&mut self, path: &str, mode: u32, data: &[u8]) -> Result<()> {
        let h = self.header(tar::EntryType::Regular, mode, data.len() as u64);
        self.append(h, path, data)
    }

    /// Keeps the `./` the tar crate's path setter would drop, as dpkg-deb
    /// writes it, where the name fits the header; a longer one gets a GNU
    /// long name without it, which dpkg reads the same.
    fn append(&mut self, mut h: tar::Header, path: &str, data: &[u8]) -> Result<()> {
        let appended = if path.len() <= 100 {
            h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
            h.set_cksum();
            self.builder.append(&h, data)
        } else {
            self.builder.append_data(&mut h, path, data)
        };
        appended.with_context(|| format!("adding {path}"))
    }

    fn finish(self) -> Result<Vec<u8>> {
        let tar = self.builder.into_inner()?;
        let mut enc = xz2::write::XzEncoder::new_stream(Vec::new(), xz_stream(tar.len())?);
        enc.write_all(&tar)?;
        enc.finish().context("finishing the xz stream")
    }
}

/// The files a .deb installs, as `(path, mode, bytes)` with absolute paths,
/// read as dpkg reads them; anything it would not unpack as written here
/// (another member order, links, devices, a path out of `/`) is refused.
pub(crate) fn read(bytes: &[u8], limits: Limits) -> Result<Vec<(String, u32, Vec<u8>)>> {
    let members = ar_members(bytes)?;
    let names: Vec<&str> = members.iter().map(|(n, _)| *n).collect();
    if names.first() != Some(&"debian-binary")
        || names.get(1).is_none_or(|n| !n.starts_with("control.tar"))
    {
        bail!(
            "not a .deb: its members are {names:?}, not debian-binary, control.tar.*, data.tar.*"
        );
    }
    let Some((_, data)) = members.iter().find(|(n, _)| *n == "data.tar.xz") else {
        bail!("the .deb has no data.tar.xz (members: {names:?})");
    };
    let read = unpack::read(ArchiveFormat::TarXz, *data, limits).context("reading data.tar.xz")?;
    if let Some(problem) = read.problems.first() {
        bail!("data.tar.xz: {problem}");
    }
    let mut files = Vec::new();
    for member in read.members {
        // The reader gives paths as tar -x writes them: relative, normalised.
        let path = format!("/{}", member.path.trim_start_matches("./"));
        match member.kind {
            MemberKind::Dir => {}
            MemberKind::File => files.push((path, member.mode, member.data)),
            _ => bail!(
                "data.tar.xz: `{}` is not a plain file or directory",
                member.path
            ),
        }
    }
    Ok(files)
}

/// The members of an `ar` archive, bounded by its own bytes.
fn ar_members(bytes: &[u8]) -> Result<Vec<(&str, &[u8])>> {
    let Some(mut rest) = bytes.strip_prefix(b"!<arch>\n") else {
        bail!("not an ar archive");
    };
    let mut members = Vec::new();
    while !rest.is_empty() {
        if rest.len() < 60 || &rest[58..60] != b"`\n" {
            bail!("a damaged ar member header");
        }
        let field =
            |range: std::ops::Range<usize>| std::str::from_utf8(&rest[range]).map(str::trim_end);
        let name = field(0..16).context("an ar member name that is not text")?;
        let size: usize = field(48..58)
            .ok()
            .and_then(|s| s.parse().ok())
            .context("an ar member size that is not a number")?;
        let body = &rest[60..];
        if size > body.len() {
            bail!("ar member `{name}` is cut short");
        }
        members.push((name.trim_end_matches('/'), &body[..size]));
        let next = size + size % 2;
        rest = body.get(next..).unwrap_or_default();
    }
    Ok(members)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::syspkg::DocFlag;

    fn meta() -> PackageMeta {
        PackageMeta {
            name: "toolbox".into(),
            version: "1.2.3~rc.1".into(),
            maintainer: "T <t@e.x>".into(),
            summary: "a tool".into(),
            license: Some("MIT OR Apache-2.0".into()),
            homepage: Some("https://example.com/toolbox".into()),
            source_date_epoch: 1_700_000_000,
        }
    }

    fn payload() -> Vec<PayloadFile> {
        vec![
            PayloadFile {
                path: "/usr/bin/tb".into(),
                data: b"\x7fELF tb".to_vec(),
                executable: true,
                doc: DocFlag::None,
            },
            PayloadFile {
                path: "/usr/share/doc/toolbox/LICENSE-MIT".into(),
                data: b"mit".to_vec(),
                executable: false,
                doc: DocFlag::License,
            },
        ]
    }

    #[test]
    fn written_and_read_back_with_the_files_debian_expects() {
        let deb = write(&meta(), "amd64", &payload()).unwrap();
        assert_eq!(
            deb,
            write(&meta(), "amd64", &payload()).unwrap(),
            "reproducible"
        );
        let files = read(&deb, Limits::default()).unwrap();
        let paths: Vec<(&str, u32)> = files.iter().map(|(p, m, _)| (p.as_str(), *m)).collect();
        assert_eq!(
            paths,
            [
                ("/usr/bin/tb", 0o755),
                ("/usr/share/doc/toolbox/LICENSE-MIT", 0o644),
                ("/usr/share/doc/toolbox/changelog.gz", 0o644),
                ("/usr/share/doc/toolbox/copyright", 0o644),
                ("/usr/share/lintian/overrides/toolbox", 0o644),
            ]
        );
        assert!(
            String::from_utf8_lossy(&files[4].2)
                .ends_with("\ntoolbox: statically-linked-binary [usr/bin/tb]\n")
        );
        assert_eq!(files[0].2, b"\x7fELF tb");
        let copyright = String::from_utf8(files[3].2.clone()).unwrap();
        assert!(
            copyright.contains("License: MIT or Apache-2.0\n"),
            "{copyright}"
        );
        assert!(
            copyright.contains(" /usr/share/doc/toolbox/LICENSE-MIT\n"),
            "{copyright}"
        );
        let control = control_file(&meta(), "amd64", 3);
        assert!(
            control.starts_with("Package: toolbox\nVersion: 1.2.3~rc.1\nArchitecture: amd64\n"),
            "{control}"
        );
        assert!(changelog(&meta()).ends_with(" -- T <t@e.x>  Tue, 14 Nov 2023 22:13:20 +0000\n"));
    }

    #[test]
    fn damaged_packages_are_refused_not_read() {
        let deb = write(&meta(), "amd64", &payload()).unwrap();
        for cut in [0, 8, 30, 68, deb.len() / 2, deb.len() - 1] {
            assert!(
                read(&deb[..cut], Limits::default()).is_err(),
                "cut at {cut}"
            );
        }
        assert!(read(b"!<arch>\n", Limits::default()).is_err());
    }
}
