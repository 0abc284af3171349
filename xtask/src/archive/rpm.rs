//! The .rpm of a Linux archive, written here (no rpmbuild needed): the
//! lead, a signature header with the SHA-256 digests rpm checks before
//! installing, the header (metadata and file list), and an xz-compressed
//! cpio payload; and read back, bounded, for `verify`.

use std::io::{Read, Write};

use anyhow::{Context, Result, bail};

use crate::archive::checksum::sha256_hex;
use crate::archive::cpio;
use crate::archive::package::xz_stream;
use crate::archive::syspkg::{DocFlag, PayloadFile};
use crate::model::package::PackageMeta;

const HEADER_MAGIC: [u8; 8] = [0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];

// Tag data types.
const INT16: u32 = 3;
const INT32: u32 = 4;
const STRING: u32 = 6;
const BIN: u32 = 7;
const STRING_ARRAY: u32 = 8;
const I18NSTRING: u32 = 9;

/// A tag's value.
enum Value {
    Int16(Vec<u16>),
    Int32(Vec<u32>),
    Str(String),
    I18n(String),
    Strings(Vec<String>),
}

/// An rpm header: tags sorted by number, with a region tag first, as
/// rpmbuild writes them.
fn header(region: u32, mut tags: Vec<(u32, Value)>) -> Vec<u8> {
    tags.sort_by_key(|(tag, _)| *tag);
    let count = tags.len() + 1;
    let mut index = Vec::new();
    let mut data = Vec::new();
    for (tag, value) in &tags {
        let (kind, align, n) = match value {
            Value::Int16(v) => (INT16, 2, v.len()),
            Value::Int32(v) => (INT32, 4, v.len()),
            Value::Str(_) => (STRING, 1, 1),
            Value::I18n(_) => (I18NSTRING, 1, 1),
            Value::Strings(v) => (STRING_ARRAY, 1, v.len()),
        };
        while !data.len().is_multiple_of(align) {
            data.push(0);
        }
        let offset = data.len();
        match value {
            Value::Int16(v) => v.iter().for_each(|x| data.extend(x.to_be_bytes())),
            Value::Int32(v) => v.iter().for_each(|x| data.extend(x.to_be_bytes())),
            Value::Str(s) | Value::I18n(s) => {
                data.extend(s.as_bytes());
                data.push(0);
            }
            Value::Strings(v) => v.iter().for_each(|s| {
                data.extend(s.as_bytes());
                data.push(0);
            }),
        }
        index.push(entry(*tag, kind, offset as i32, n as u32));
    }
    // The region's trailer: an entry pointing back over the whole index.
    let trailer_offset = data.len();
    data.extend(entry(region, BIN, -((count * 16) as i32), 16));
    let mut out = HEADER_MAGIC.to_vec();
    out.extend((count as u32).to_be_bytes());
    out.extend((data.len() as u32).to_be_bytes());
    out.extend(entry(region, BIN, trailer_offset as i32, 16));
    for e in index {
        out.extend(e);
    }
    out.extend(data);
    out
}

fn entry(tag: u32, kind: u32, offset: i32, count: u32) -> [u8; 16] {
    let mut e = [0; 16];
    e[0..4].copy_from_slice(&tag.to_be_bytes());
    e[4..8].copy_from_slice(&kind.to_be_bytes());
    e[8..12].copy_from_slice(&offset.to_be_bytes());
    e[12..16].copy_from_slice(&count.to_be_bytes());
    e
}

/// A file or directory of the package, in the header's order.
struct Entry<'a> {
    path: String,
    mode: u16,
    data: &'a [u8],
    flags: u32,
}

/// The package's bytes: same inputs, same bytes.
pub(crate) fn write(meta: &PackageMeta, arch: &str, payload: &[PayloadFile]) -> Result<Vec<u8>> {
    // The package owns its own doc directory, so erasing it removes that too.
    let doc_dir = format!("/usr/share/doc/{}", meta.name);
    let mut entries: Vec<Entry> = payload
        .iter()
        .map(|f| Entry {
            path: f.path.clone(),
            mode: if f.executable { 0o100_755 } else { 0o100_644 },
            data: &f.data,
            flags: match f.doc {
                DocFlag::None => 0,
                DocFlag::Doc => 1 << 1,
                DocFlag::License => 1 << 7,
            },
        })
        .collect();
    if payload
        .iter()
        .any(|f| f.path.starts_with(&format!("{doc_dir}/")))
    {
        entries.push(Entry {
            path: doc_dir,
            mode: 0o040_755,
            data: &[],
            flags: 0,
        });
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let mtime = meta.source_date_epoch as u32;

    let members: Vec<cpio::Member> = entries
        .iter()
        .map(|e| cpio::Member {
            path: format!(".{}", e.path),
            mode: u32::from(e.mode),
            data: e.data,
        })
        .collect();
    let cpio = cpio::write(&members, mtime);
    let mut enc = xz2::write::XzEncoder::new_stream(Vec::new(), xz_stream(cpio.len())?);
    enc.write_all(&cpio)?;
    let compressed = enc.finish().context("finishing the xz stream")?;

    let mut dirs: Vec<String> = Vec::new();
    let mut dir_indexes = Vec::new();
    let mut basenames = Vec::new();
    for e in &entries {
        let (dir, base) = e.path.rsplit_once('/').unwrap_or(("", &e.path));
        let dir = format!("{dir}/");
        let index = match dirs.iter().position(|d| *d == dir) {
            Some(i) => i,
            None => {
                dirs.push(dir);
                dirs.len() - 1
            }
        };
        dir_indexes.push(index as u32);
        basenames.push(base.to_owned());
    }
    let n = entries.len();
    let evr = format!("{}-1", meta.version);
    let strings = |s: &str| Value::Strings(vec![s.to_owned(); n]);
    let rpmlib = [
        ("rpmlib(CompressedFileNames)", "3.0.4-1"),
        ("rpmlib(FileDigests)", "4.6.0-1"),
        ("rpmlib(PayloadFilesHavePrefix)", "4.0-1"),
        ("rpmlib(PayloadIsXz)", "5.2-1"),
    ];
    // RPMSENSE_LESS | RPMSENSE_EQUAL | RPMSENSE_RPMLIB
    const RPMLIB_LE: u32 = 0x0100_000a;
    const EQUAL: u32 = 0x8;
    let provides_arch = format!("{}({})", meta.name, provides_cpu(arch));
    let mut tags = vec![
        (100, Value::Strings(vec!["C".into()])),
        (1000, Value::Str(meta.name.clone())),
        (1001, Value::Str(meta.version.clone())),
        (1002, Value::Str("1".into())),
        (1004, Value::I18n(meta.summary.clone())),
        (
            1005,
            Value::I18n(format!(
                "{} {} as released: a statically linked build that runs on any Linux,\nwith its shell completions and manual pages where it has them.",
                meta.name, meta.version
            )),
        ),
        (1006, Value::Int32(vec![mtime])),
        (1007, Value::Str("localhost".into())),
        (
            1009,
            Value::Int32(vec![entries.iter().map(|e| e.data.len() as u32).sum()]),
        ),
        (
            1014,
            Value::Str(meta.license.clone().unwrap_or_else(|| "unknown".into())),
        ),
        (1015, Value::Str(meta.maintainer.clone())),
        (1016, Value::I18n("Applications/System".into())),
        (1021, Value::Str("linux".into())),
        (1022, Value::Str(arch.into())),
        (
            1028,
            Value::Int32(entries.iter().map(|e| e.data.len() as u32).collect()),
        ),
        (1030, Value::Int16(entries.iter().map(|e| e.mode).collect())),
        (1033, Value::Int16(vec![0; n])),
        (1034, Value::Int32(vec![mtime; n])),
        (
            1035,
            Value::Strings(
                entries
                    .iter()
                    .map(|e| {
                        if e.mode & 0o170_000 == 0o100_000 {
                            sha256_hex(e.data)
                        } else {
                            String::new()
                        }
                    })
                    .collect(),
            ),
        ),
        (1036, strings("")),
        (
            1037,
            Value::Int32(entries.iter().map(|e| e.flags).collect()),
        ),
        (1039, strings("root")),
        (1040, strings("root")),
        (1044, Value::Str(format!("{}-{evr}.src.rpm", meta.name))),
        (1045, Value::Int32(vec![u32::MAX; n])),
        (1047, Value::Strings(vec![meta.name.clone(), provides_arch])),
        (1048, Value::Int32(vec![RPMLIB_LE; rpmlib.len()])),
        (
            1049,
            Value::Strings(rpmlib.iter().map(|(n, _)| (*n).to_owned()).collect()),
        ),
        (
            1050,
            Value::Strings(rpmlib.iter().map(|(_, v)| (*v).to_owned()).collect()),
        ),
        (1095, Value::Int32(vec![1; n])),
        (1096, Value::Int32((1..=n as u32).collect())),
        (1097, strings("")),
        (1112, Value::Int32(vec![EQUAL; 2])),
        (1113, Value::Strings(vec![evr.clone(); 2])),
        (1116, Value::Int32(dir_indexes)),
        (1117, Value::Strings(basenames)),
        (1118, Value::Strings(dirs)),
        (1124, Value::Str("cpio".into())),
        (1125, Value::Str("xz".into())),
        (1126, Value::Str("9".into())),
        // SHA-256 for file digests (PGPHASHALGO_SHA256).
        (5011, Value::Int32(vec![8])),
        (5092, Value::Strings(vec![sha256_hex(&compressed)])),
        (5093, Value::Int32(vec![8])),
    ];
    if let Some(url) = &meta.homepage {
        tags.push((1020, Value::Str(url.clone())));
    }
    let main = header(63, tags);
    let signature = header(
        62,
        vec![
            // RPMSIGTAG_SHA256: the header's digest, checked before anything is read from it.
            (273, Value::Str(sha256_hex(&main))),
            (
                1000,
                Value::Int32(vec![(main.len() + compressed.len()) as u32]),
            ),
            (1007, Value::Int32(vec![cpio.len() as u32])),
        ],
    );

    let mut out = lead(&format!("{}-{evr}", meta.name));
    out.extend(&signature);
    while !out.len().is_multiple_of(8) {
        out.push(0);
    }
    out.extend(main);
    out.extend(compressed);
    Ok(out)
}

/// How rpm's `provides` names a CPU: `name(x86-64)` for 64-bit x86.
fn provides_cpu(arch: &str) -> String {
    arch.replace('_', "-")
}

/// The 96-byte lead rpm still reads first.
fn lead(nevr: &str) -> Vec<u8> {
    let mut lead = vec![0xed, 0xab, 0xee, 0xdb, 3, 0, 0, 0, 0, 1];
    let mut name = [0u8; 66];
    let bytes = &nevr.as_bytes()[..nevr.len().min(65)];
    name[..bytes.len()].copy_from_slice(bytes);
    lead.extend(name);
    lead.extend(1u16.to_be_bytes()); // Linux
    lead.extend(5u16.to_be_bytes()); // the signature is a header
    lead.extend([0; 16]);
    lead
}

/// The files an .rpm installs, as `(path, mode, bytes)`: the payload's
/// regular files, read bounded; anything else (links, devices, paths out
/// of `/`) is refused.
pub(crate) fn read(bytes: &[u8], limit: u64) -> Result<Vec<(String, u32, Vec<u8>)>> {
    if bytes.get(..4) != Some(&[0xed, 0xab, 0xee, 0xdb]) || bytes.len() < 96 {
        bail!("not an rpm: no lead");
    }
    let signature_end = 96 + header_len(&bytes[96..]).context("the signature header")?;
    let main_start = signature_end.div_ceil(8) * 8;
    let main = bytes
        .get(main_start..)
        .context("the rpm ends after its signature")?;
    let payload = &main[header_len(main).context("the header")?..];
    let mut cpio = Vec::new();
    xz2::read::XzDecoder::new(payload)
        .take(limit + 1)
        .read_to_end(&mut cpio)
        .context("the payload is not xz")?;
    if cpio.len() as u64 > limit {
        bail!("the payload unpacks to more than {limit} bytes");
    }
    cpio::read(&cpio)
}

/// The length of the header at the start of `bytes`, checked to be within it.
fn header_len(bytes: &[u8]) -> Result<usize> {
    if bytes.get(..8) != Some(&HEADER_MAGIC[..]) {
        bail!("no header magic");
    }
    let word = |at: usize| -> Option<usize> {
        Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize)
    };
    let (count, data) = (
        word(8).context("cut short")?,
        word(12).context("cut short")?,
    );
    let len = count
        .checked_mul(16)
        .and_then(|i| i.checked_add(16 + data))
        .context("a header size that overflows")?;
    if len > bytes.len() {
        bail!("cut short");
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> PackageMeta {
        PackageMeta {
            name: "toolbox".into(),
            version: "1.2.3~rc.1".into(),
            maintainer: "T <t@e.x>".into(),
            summary: "a tool".into(),
            license: Some("MIT".into()),
            homepage: None,
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
                path: "/usr/share/doc/toolbox/LICENSE".into(),
                data: b"mit".to_vec(),
                executable: false,
                doc: DocFlag::License,
            },
        ]
    }

    #[test]
    fn written_and_read_back() {
        let rpm = write(&meta(), "x86_64", &payload()).unwrap();
        assert_eq!(
            rpm,
            write(&meta(), "x86_64", &payload()).unwrap(),
            "reproducible"
        );
        let files = read(&rpm, 1 << 20).unwrap();
        let got: Vec<(&str, u32, &[u8])> = files
            .iter()
            .map(|(p, m, d)| (p.as_str(), *m, d.as_slice()))
            .collect();
        assert_eq!(
            got,
            [
                ("/usr/bin/tb", 0o755, &b"\x7fELF tb"[..]),
                ("/usr/share/doc/toolbox/LICENSE", 0o644, &b"mit"[..]),
            ]
        );
        assert!(read(&rpm, 10).is_err(), "the limit holds");
    }

    #[test]
    fn damaged_packages_are_refused_not_read() {
        let rpm = write(&meta(), "x86_64", &payload()).unwrap();
        for cut in [0, 50, 96, 120, rpm.len() / 2, rpm.len() - 1] {
            assert!(read(&rpm[..cut], 1 << 20).is_err(), "cut at {cut}");
        }
    }
}
