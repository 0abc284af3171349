//! cpio `newc`, the payload format of an rpm: written in order, and read
//! back bounded for `verify`.

use anyhow::{Context, Result, bail};

/// One member: its path as stored (`./usr/bin/tool`), mode with file type.
pub(crate) struct Member<'a> {
    pub(crate) path: String,
    pub(crate) mode: u32,
    pub(crate) data: &'a [u8],
}

/// `members` in order, then the trailer, all dated `mtime`.
pub(crate) fn write(members: &[Member], mtime: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut put = |name: &str, mode: u32, ino: u32, data: &[u8], nlink: u32| {
        let fields = [
            ino,
            mode,
            0,
            0,
            nlink,
            mtime,
            data.len() as u32,
            0,
            0,
            0,
            0,
            name.len() as u32 + 1,
            0,
        ];
        out.extend(b"070701");
        for f in fields {
            out.extend(format!("{f:08x}").as_bytes());
        }
        out.extend(name.as_bytes());
        out.push(0);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        out.extend(data);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    };
    for (i, m) in members.iter().enumerate() {
        let nlink = if m.mode & 0o170_000 == 0o040_000 {
            2
        } else {
            1
        };
        put(&m.path, m.mode, i as u32 + 1, m.data, nlink);
    }
    put("TRAILER!!!", 0, 0, &[], 1);
    out
}

/// The regular files of a `newc` archive with `./` paths, as `(absolute
/// path, permissions, bytes)`, bounded by its own bytes; links, devices and
/// paths out of `/` are refused.
pub(crate) fn read(mut rest: &[u8]) -> Result<Vec<(String, u32, Vec<u8>)>> {
    let mut files = Vec::new();
    let mut at = 0usize;
    loop {
        let header = rest.get(..110).context("the payload is cut short")?;
        if &header[..6] != b"070701" {
            bail!("the payload is not cpio newc at byte {at}");
        }
        let field = |i: usize| -> Result<usize> {
            let hex = std::str::from_utf8(&header[6 + 8 * i..14 + 8 * i]).ok();
            hex.and_then(|h| usize::from_str_radix(h, 16).ok())
                .context("a cpio header field that is not hex")
        };
        let (mode, size, name_len) = (field(1)? as u32, field(6)?, field(11)?);
        let name_end = 110usize.checked_add(name_len).context("a cpio name size")?;
        let name = rest
            .get(110..name_end)
            .context("a cpio name is cut short")?;
        let name = std::str::from_utf8(name.strip_suffix(b"\0").unwrap_or(name))
            .context("a cpio name that is not UTF-8")?
            .to_owned();
        let data_start = name_end.div_ceil(4) * 4;
        let data_end = data_start.checked_add(size).context("a cpio size")?;
        let data = rest
            .get(data_start..data_end)
            .context("a cpio member is cut short")?;
        if name == "TRAILER!!!" {
            return Ok(files);
        }
        let Some(path) = name.strip_prefix('.').filter(|p| p.starts_with('/')) else {
            bail!("the payload's `{name}` is not below /");
        };
        if path.split('/').any(|c| c == "..") {
            bail!("the payload's `{name}` leaves /");
        }
        match mode & 0o170_000 {
            0o040_000 => {}
            0o100_000 => files.push((path.to_owned(), mode & 0o7777, data.to_vec())),
            _ => bail!("the payload's `{name}` is not a plain file or directory"),
        }
        let next = data_end.div_ceil(4) * 4;
        at += next;
        rest = rest.get(next..).unwrap_or_default();
    }
}
