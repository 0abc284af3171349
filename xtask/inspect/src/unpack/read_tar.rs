//! Tar streams, record by record, as GNU tar, bsdtar, busybox and Python
//! would read them; any record they read differently is refused.

use std::io::Read;

use anyhow::{Context, Result, bail};

use super::*;

/// PAX records every tar reads the same way, or that change nothing `verify` checks.
const PAX_KEYS: &[&str] = &[
    "path",
    "linkpath",
    "mtime",
    "atime",
    "ctime",
    "uid",
    "gid",
    "uname",
    "gname",
    "comment",
    "charset",
    "hdrcharset",
    "SCHILY.dev",
    "SCHILY.ino",
    "SCHILY.nlink",
    "SCHILY.devmajor",
    "SCHILY.devminor",
    "LIBARCHIVE.creationtime",
];

/// What tar's extension headers set for the next member.
#[derive(Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Vec<(String, Vec<u8>)>,
    seen: bool,
}

/// Reads an uncompressed tar stream (what the compressed formats hold).
pub fn read_tar(reader: impl Read, limits: Limits) -> Result<Unpacked> {
    let mut capped = Capped::new(reader, limits.total);
    let mut unpacked = Unpacked::default();
    {
        let mut archive = tar::Archive::new(&mut capped);
        // Raw: GNU long names and PAX records come to us, to apply as GNU tar does.
        let entries = archive.entries().context("reading tar entries")?.raw(true);
        let mut pending = Pending::default();
        let mut kept: u64 = 0;
        for entry in entries {
            let mut entry = entry.context("reading a tar header")?;
            let header = entry.header().clone();
            let kind = header.entry_type();
            let size = entry.size();
            let raw_name = header.path_bytes().into_owned();
            let shown = String::from_utf8_lossy(&raw_name).into_owned();
            let mut extension = |limit: u64| -> Result<Vec<u8>> {
                if size > limit {
                    bail!("a {} byte extension header before `{shown}`", size);
                }
                let mut data = Vec::new();
                entry
                    .read_to_end(&mut data)
                    .context("reading an extension header")?;
                Ok(data)
            };
            match kind {
                tar::EntryType::GNULongName => {
                    let data = extension(64 << 10)?;
                    if pending.long_name.replace(trim_nul(data)).is_some() {
                        unpacked
                            .problems
                            .push("two GNU long-name records for one member".into());
                    }
                    pending.seen = true;
                    continue;
                }
                tar::EntryType::GNULongLink => {
                    let data = extension(64 << 10)?;
                    if pending.long_link.replace(trim_nul(data)).is_some() {
                        unpacked
                            .problems
                            .push("two GNU long-link records for one member".into());
                    }
                    pending.seen = true;
                    continue;
                }
                tar::EntryType::XHeader => {
                    let data = extension(1 << 20)?;
                    for record in tar::PaxExtensions::new(&data) {
                        let record = record.context("a malformed PAX record")?;
                        let key = record
                            .key()
                            .map_err(|_| anyhow::anyhow!("a PAX record key is not UTF-8"))?;
                        if key == "size" {
                            // Readers that ignore it find the next header elsewhere: a
                            // different archive for every tar program. Nothing after it can be trusted.
                            bail!(
                                "a PAX `size` record changes where `{shown}` ends; tar programs would unpack different members"
                            );
                        }
                        pending
                            .pax
                            .push((key.to_owned(), record.value_bytes().to_vec()));
                    }
                    pending.seen = true;
                    continue;
                }
                _ => {}
            }
            let pax_value = |key: &str| {
                pending
                    .pax
                    .iter()
                    .rev()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
            };
            // GNU tar's order: a PAX name, else a GNU long name, else the header's.
            let name_bytes = pax_value("path")
                .or_else(|| pending.long_name.clone())
                .unwrap_or(raw_name);
            let name = String::from_utf8_lossy(&name_bytes).into_owned();
            let link_bytes = pax_value("linkpath")
                .or_else(|| pending.long_link.clone())
                .or_else(|| header.link_name_bytes().map(|l| l.into_owned()));
            let link = link_bytes
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .unwrap_or_default();
            // GNU tar and busybox take the PAX record, bsdtar and Python the long name.
            if pending.long_name.is_some() && pax_value("path").is_some() {
                unpacked.problems.push(format!(
                    "`{name}` has both a GNU long name and a PAX `path`: tar programs disagree on which names it"
                ));
            }
            if pending.long_link.is_some() && pax_value("linkpath").is_some() {
                unpacked.problems.push(format!(
                    "`{name}` has both a GNU long link and a PAX `linkpath`: tar programs disagree on where it points"
                ));
            }
            for (key, _) in &pending.pax {
                if !PAX_KEYS.contains(&key.as_str()) {
                    let why = if key.starts_with("GNU.sparse") {
                        "a sparse member: GNU tar unpacks it under another name than other readers"
                    } else if key.contains("xattr") || key.contains("acl") {
                        "extended attributes or ACLs, which tar can apply on unpacking (capabilities among them)"
                    } else {
                        "a record not every tar reads the same way"
                    };
                    unpacked
                        .problems
                        .push(format!("`{name}` carries the PAX record `{key}`: {why}"));
                }
            }
            pending = Pending::default();
            let mode = header.mode().unwrap_or(0);
            let member_kind = match kind {
                tar::EntryType::Regular | tar::EntryType::Continuous => MemberKind::File,
                tar::EntryType::Directory => MemberKind::Dir,
                tar::EntryType::Symlink => MemberKind::Symlink(link.clone()),
                tar::EntryType::Link => {
                    unpacked.problems.push(format!(
                        "`{name}` is a hardlink (to `{link}`): tar programs resolve them differently, and releases have none"
                    ));
                    continue;
                }
                tar::EntryType::GNUSparse => {
                    unpacked.problems.push(format!(
                        "`{name}` is a GNU sparse member: readers disagree on what it holds"
                    ));
                    continue;
                }
                tar::EntryType::XGlobalHeader => {
                    unpacked.problems.push(
                        "a PAX global header: it changes every member after it, in some tar programs only".into(),
                    );
                    continue;
                }
                other => {
                    let what = match other {
                        tar::EntryType::Char => "a character device",
                        tar::EntryType::Block => "a block device",
                        tar::EntryType::Fifo => "a FIFO",
                        _ => "an entry of a kind tar programs treat differently",
                    };
                    unpacked.problems.push(format!(
                        "`{name}` is {what}, not a file, directory or symlink"
                    ));
                    continue;
                }
            };
            let mut data = Vec::new();
            if member_kind == MemberKind::File {
                if size > limits.member {
                    bail!(
                        "`{name}` unpacks to {} MiB, more than the {} MiB a member may (`verify --max-unpacked-mib` raises it)",
                        size >> 20,
                        limits.member >> 20
                    );
                }
                kept += size;
                if kept > limits.total {
                    bail!(
                        "it unpacks to more than {} MiB (`verify --max-unpacked-mib` raises it)",
                        limits.total >> 20
                    );
                }
                entry
                    .read_to_end(&mut data)
                    .with_context(|| format!("reading `{name}`"))?;
            }
            unpacked.members.push(Member {
                path: name,
                kind: member_kind,
                mode,
                data,
            });
        }
        if pending.seen {
            unpacked
                .problems
                .push("extension headers at the end describe no member".into());
        }
    }
    // After the end-of-archive blocks: nothing but zeros, or `tar -i` finds more.
    let mut rest = [0u8; 8192];
    loop {
        let n = capped
            .read(&mut rest)
            .context("reading past the end of the tar archive")?;
        if n == 0 {
            break;
        }
        if rest[..n].iter().any(|&b| b != 0) {
            unpacked.problems.push(
                "data follows the end of the tar archive (`tar --ignore-zeros` would unpack it)"
                    .into(),
            );
            break;
        }
    }
    Ok(unpacked)
}

fn trim_nul(mut data: Vec<u8>) -> Vec<u8> {
    while data.last() == Some(&0) {
        data.pop();
    }
    data
}
