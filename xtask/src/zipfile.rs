//! The small part of the zip format releases need: writing deflated entries
//! with Unix modes and one fixed date, and reading any plain zip back. Ours
//! rather than the `zip` crate's, whose dependencies (typed-path, indexmap,
//! hashbrown) cost the xtask's cold build more than this file does.

use std::io::{Read, Write};

use anyhow::{Context, Result, bail};

/// One entry to write or one read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// `/`-separated; directories end in `/`.
    pub(crate) path: String,
    /// Unix mode including the file type bits (0o100644, 0o040755, 0o120777).
    pub(crate) mode: u32,
    pub(crate) data: Vec<u8>,
}

const LOCAL: u32 = 0x0403_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const END: u32 = 0x0605_4b50;
/// Bit 11: names are UTF-8.
const UTF8: u16 = 0x0800;
/// "Made by" Unix (3), spec version 2.0: the external attributes hold a Unix mode.
const MADE_BY_UNIX: u16 = (3 << 8) | 20;
const S_IFMT: u32 = 0o170_000;
const S_IFDIR: u32 = 0o040_000;

/// A deterministic zip: entries in the given order, every one dated
/// `dos_date`/`dos_time`, files deflated at level 9, no extra fields.
pub(crate) fn write(entries: &[Entry], dos_date: u16, dos_time: u16) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for entry in entries {
        let dir = entry.mode & S_IFMT == S_IFDIR;
        let (method, body) = if dir {
            (0u16, Vec::new())
        } else {
            let mut enc =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
            enc.write_all(&entry.data)?;
            (8u16, enc.finish()?)
        };
        let crc = crc32fast::hash(&entry.data);
        let offset = u32_of(out.len(), "the archive")?;
        let (size, csize) = (
            u32_of(entry.data.len(), &entry.path)?,
            u32_of(body.len(), &entry.path)?,
        );
        let name = entry.path.as_bytes();
        let name_len = u16::try_from(name.len()).context("a path longer than 65535 bytes")?;

        put32(&mut out, LOCAL);
        for v in [20, UTF8, method, dos_time, dos_date] {
            put16(&mut out, v);
        }
        for v in [crc, csize, size] {
            put32(&mut out, v);
        }
        put16(&mut out, name_len);
        put16(&mut out, 0);
        out.extend_from_slice(name);
        out.extend_from_slice(&body);

        put32(&mut central, CENTRAL);
        for v in [MADE_BY_UNIX, 20, UTF8, method, dos_time, dos_date] {
            put16(&mut central, v);
        }
        for v in [crc, csize, size] {
            put32(&mut central, v);
        }
        // name length, extra, comment, disk, internal attributes
        for v in [name_len, 0, 0, 0, 0] {
            put16(&mut central, v);
        }
        // External attributes: the Unix mode above, MS-DOS's directory bit below.
        put32(
            &mut central,
            (entry.mode << 16) | if dir { 0x10 } else { 0 },
        );
        put32(&mut central, offset);
        central.extend_from_slice(name);
    }
    let count = u16::try_from(entries.len()).context("more than 65535 entries need zip64")?;
    let central_offset = u32_of(out.len(), "the archive")?;
    let central_size = u32_of(central.len(), "the central directory")?;
    out.extend_from_slice(&central);
    put32(&mut out, END);
    for v in [0, 0, count, count] {
        put16(&mut out, v);
    }
    put32(&mut out, central_size);
    put32(&mut out, central_offset);
    put16(&mut out, 0);
    Ok(out)
}

/// Every entry of a zip, contents inflated and checked against their CRC.
/// Zips made on Windows carry no Unix modes: files read as 0o100644.
pub(crate) fn read(bytes: &[u8]) -> Result<Vec<Entry>> {
    let end = (0..bytes.len().saturating_sub(21))
        .rev()
        .take(65_535 + 22)
        .find(|&i| le32(bytes, i) == Some(END))
        .context("no end of central directory: not a zip file")?;
    let count = le16(bytes, end + 10).context("truncated end record")? as usize;
    let mut at = le32(bytes, end + 16).context("truncated end record")? as usize;
    if count == 0xffff || at == 0xffff_ffff_usize {
        bail!("zip64 archives are not supported");
    }
    let mut entries = Vec::with_capacity(count);
    for i in 0..count {
        let field16 = |off: usize| {
            le16(bytes, at + off).with_context(|| format!("central entry {i} is truncated"))
        };
        let field32 = |off: usize| {
            le32(bytes, at + off).with_context(|| format!("central entry {i} is truncated"))
        };
        if field32(0)? != CENTRAL {
            bail!("central entry {i} is damaged");
        }
        let made_by = field16(4)?;
        let flags = field16(8)?;
        let method = field16(10)?;
        let (crc, csize, size) = (field32(16)?, field32(20)? as usize, field32(24)? as usize);
        let (name_len, extra_len, comment_len) = (
            field16(28)? as usize,
            field16(30)? as usize,
            field16(32)? as usize,
        );
        let external = field32(38)?;
        let local = field32(42)? as usize;
        let name = bytes
            .get(at + 46..at + 46 + name_len)
            .with_context(|| format!("central entry {i} is truncated"))?;
        let path = String::from_utf8_lossy(name).into_owned();
        at += 46 + name_len + extra_len + comment_len;
        if flags & 1 != 0 {
            bail!("{path} is encrypted");
        }

        if le32(bytes, local) != Some(LOCAL) {
            bail!("{path}: local header is damaged");
        }
        let skip = le16(bytes, local + 26)
            .zip(le16(bytes, local + 28))
            .context("local header is truncated")?;
        let start = local + 30 + skip.0 as usize + skip.1 as usize;
        let body = bytes
            .get(start..start + csize)
            .with_context(|| format!("{path}: data is truncated"))?;
        let data = match method {
            0 => body.to_vec(),
            8 => {
                let mut data = Vec::with_capacity(size);
                flate2::read::DeflateDecoder::new(body)
                    .take(size as u64 + 1)
                    .read_to_end(&mut data)
                    .with_context(|| format!("{path}: cannot inflate"))?;
                data
            }
            other => bail!(
                "{path}: compression method {other} is not supported (only stored and deflate)"
            ),
        };
        if data.len() != size || crc32fast::hash(&data) != crc {
            bail!("{path}: contents do not match the size and CRC recorded for them");
        }
        let unix = made_by >> 8 == 3 && external >> 16 != 0;
        let mode = match (unix, path.ends_with('/')) {
            (true, _) => external >> 16,
            (false, true) => S_IFDIR | 0o755,
            (false, false) => 0o100_644,
        };
        entries.push(Entry { path, mode, data });
    }
    Ok(entries)
}

fn u32_of(n: usize, what: &str) -> Result<u32> {
    u32::try_from(n).with_context(|| format!("{what} is over 4 GiB, which needs zip64"))
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<Entry> {
        vec![
            Entry {
                path: "top/".into(),
                mode: 0o040_755,
                data: vec![],
            },
            Entry {
                path: "top/tool.exe".into(),
                mode: 0o100_755,
                data: b"MZ binary ".repeat(100),
            },
            Entry {
                path: "top/README.md".into(),
                mode: 0o100_644,
                data: b"# hi\n".to_vec(),
            },
        ]
    }

    #[test]
    fn round_trips_and_is_deterministic() {
        let a = write(&entries(), 0x5721, 0x0000).unwrap();
        assert_eq!(read(&a).unwrap(), entries());
        assert_eq!(write(&entries(), 0x5721, 0x0000).unwrap(), a);
    }

    #[test]
    fn damage_is_an_error_not_a_panic() {
        let good = write(&entries(), 0x5721, 0).unwrap();
        for cut in [0, 10, good.len() / 2, good.len() - 1] {
            let _ = read(&good[..cut]);
        }
        let mut flipped = good.clone();
        flipped[80] ^= 0xff;
        assert!(
            read(&flipped).is_err(),
            "a flipped byte in deflated data must fail the CRC check"
        );
        assert!(read(b"not a zip at all, but long enough to scan").is_err());
    }
}
