//! The small part of the zip format releases need: writing deflated entries
//! with Unix modes and one fixed date, and reading any plain zip back. Ours
//! rather than the `zip` crate's, whose dependencies (typed-path, indexmap,
//! hashbrown) cost the xtask's cold build more than this file does.

use std::io::{Read, Write};

use anyhow::{Context, Result, bail};

/// One entry to write or one read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `/`-separated; directories end in `/`.
    pub path: String,
    /// Unix mode including the file type bits (0o100644, 0o040755, 0o120777).
    pub mode: u32,
    pub data: Vec<u8>,
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
pub fn write(entries: &[Entry], dos_date: u16, dos_time: u16) -> Result<Vec<u8>> {
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
pub fn read(bytes: &[u8], member_limit: u64, total_limit: u64) -> Result<Vec<Entry>> {
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
    // Every central entry takes at least 46 bytes: a count beyond that is a lie.
    if count > bytes.len() / 46 {
        bail!("the central directory claims {count} entries, more than the file can hold");
    }
    let mut entries = Vec::with_capacity(count);
    // Where each entry's local header and data lie, to find entries sharing data.
    let mut spans: Vec<(usize, usize, String)> = Vec::with_capacity(count);
    let mut total: u64 = 0;
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
        // Sizes are checked before anything is allocated for them.
        if size as u64 > member_limit {
            bail!(
                "{path} claims to unpack to {} MiB, more than the {} MiB a member may",
                size >> 20,
                member_limit >> 20
            );
        }
        total += size as u64;
        if total > total_limit {
            bail!("it claims to unpack to more than {} MiB", total_limit >> 20);
        }

        if le32(bytes, local) != Some(LOCAL) {
            bail!("{path}: local header is damaged");
        }
        let local16 = |off: usize| le16(bytes, local + off).context("local header is truncated");
        let (local_method, local_name_len, local_extra_len) =
            (local16(8)?, local16(26)?, local16(28)?);
        let local_name = bytes
            .get(local + 30..local + 30 + local_name_len as usize)
            .context("local header is truncated")?;
        // Extractors that read local headers (streaming ones) must see what unzip sees.
        if local_name != name || local_method != method {
            bail!(
                "{path}: its local header names `{}` or another method: extractors would disagree",
                String::from_utf8_lossy(local_name)
            );
        }
        let start = local + 30 + local_name_len as usize + local_extra_len as usize;
        let body = bytes
            .get(start..start + csize)
            .with_context(|| format!("{path}: data is truncated"))?;
        spans.push((local, start + csize, path.clone()));
        let data = match method {
            0 => body.to_vec(),
            8 => {
                let mut data = Vec::new();
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
    spans.sort();
    for pair in spans.windows(2) {
        if pair[1].0 < pair[0].1 {
            bail!(
                "{} and {} share data: a zip bomb, or an archive extractors read differently",
                pair[0].2,
                pair[1].2
            );
        }
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

/// A Unix timestamp as a zip entry's DOS date and time (UTC; DOS time has
/// 2-second steps and runs from 1980 to 2107).
pub fn dos_timestamp(secs: u64) -> (u16, u16) {
    let (y, mo, d, h, mi, s) = civil_time(secs);
    let year = y.clamp(1980, 2107) as u16;
    let date = ((year - 1980) << 9) | (u16::from(mo) << 5) | u16::from(d);
    let time = (u16::from(h) << 11) | (u16::from(mi) << 5) | u16::from(s / 2);
    (date, time)
}

/// UTC calendar date and time of a Unix timestamp (Howard Hinnant's
/// algorithm): year, month, day, hour, minute, second.
pub fn civil_time(secs: u64) -> (i64, u8, u8, u8, u8, u8) {
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
    (
        year,
        month,
        day,
        (rem / 3600) as u8,
        (rem % 3600 / 60) as u8,
        (rem % 60) as u8,
    )
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

    fn read_all(bytes: &[u8]) -> Result<Vec<Entry>> {
        read(bytes, 1 << 30, 1 << 30)
    }

    /// The offset of the central directory's first record.
    fn central(zip: &[u8]) -> usize {
        let end = zip.len() - 22;
        le32(zip, end + 16).unwrap() as usize
    }

    #[test]
    fn round_trips_and_is_deterministic() {
        let a = write(&entries(), 0x5721, 0x0000).unwrap();
        assert_eq!(read_all(&a).unwrap(), entries());
        assert_eq!(write(&entries(), 0x5721, 0x0000).unwrap(), a);
    }

    #[test]
    fn damage_is_an_error_not_a_panic() {
        let good = write(&entries(), 0x5721, 0).unwrap();
        for cut in [0, 10, good.len() / 2, good.len() - 1] {
            let _ = read_all(&good[..cut]);
        }
        let mut flipped = good.clone();
        flipped[80] ^= 0xff;
        assert!(
            read_all(&flipped).is_err(),
            "a flipped byte in deflated data must fail the CRC check"
        );
        assert!(read_all(b"not a zip at all, but long enough to scan").is_err());
    }

    #[test]
    fn declared_sizes_are_checked_before_anything_is_allocated() {
        let mut zip = write(&entries(), 0x5721, 0).unwrap();
        let first = central(&zip);
        // The first file's record (after the directory's): claim 4 GiB.
        let second = first + 46 + "top/".len();
        zip[second + 24..second + 28].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
        let err = read_all(&zip).unwrap_err().to_string();
        assert!(err.contains("claims to unpack to 4095 MiB"), "{err}");
        // A count of entries the file cannot hold.
        let mut zip = write(&entries(), 0x5721, 0).unwrap();
        let end = zip.len() - 22;
        zip[end + 10..end + 12].copy_from_slice(&0xfff0u16.to_le_bytes());
        assert!(
            read_all(&zip)
                .unwrap_err()
                .to_string()
                .contains("more than the file can hold")
        );
    }

    #[test]
    fn entries_sharing_data_are_refused() {
        // A zip bomb's trick: a second central record pointing at the first's data.
        let one = vec![Entry {
            path: "top/a".into(),
            mode: 0o100_644,
            data: vec![7; 1000],
        }];
        let zip = write(&one, 0x5721, 0).unwrap();
        let at = central(&zip);
        let record = zip[at..zip.len() - 22].to_vec();
        let mut bombed = zip[..zip.len() - 22].to_vec();
        bombed.extend_from_slice(&record);
        let mut end = zip[zip.len() - 22..].to_vec();
        end[8..10].copy_from_slice(&2u16.to_le_bytes());
        end[10..12].copy_from_slice(&2u16.to_le_bytes());
        end[12..16].copy_from_slice(&((record.len() * 2) as u32).to_le_bytes());
        bombed.extend_from_slice(&end);
        let err = read_all(&bombed).unwrap_err().to_string();
        assert!(err.contains("share data"), "{err}");
    }

    #[test]
    fn civil_time_matches_known_dates() {
        assert_eq!(civil_time(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil_time(315_532_800), (1980, 1, 1, 0, 0, 0));
        assert_eq!(civil_time(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(civil_time(1_700_000_000), (2023, 11, 14, 22, 13, 20));
    }
}
