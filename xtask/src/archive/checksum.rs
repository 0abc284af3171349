//! SHA-256 sums in the format `sha256sum -c` and `shasum -a 256 -c` read.

use anyhow::{Result, bail};
use sha2::{Digest, Sha256};

pub(crate) const SUMS_FILE: &str = "SHA256SUMS";

/// `<name>.sha256`: the one-line sums file beside each release file.
pub(crate) fn sidecar_name(name: &str) -> String {
    format!("{name}.sha256")
}

/// Writes `name`'s sidecar in `dir`.
pub(crate) fn write_sidecar(dir: &std::path::Path, name: &str, sha256: &str) -> Result<()> {
    let text = format_sums(&[(sha256.to_owned(), name.to_owned())]);
    crate::archive::atomic::write(&dir.join(sidecar_name(name)), text.as_bytes())
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

/// `<hex>  <name>` lines (two spaces: text mode, as coreutils writes), sorted by name.
pub(crate) fn format_sums(entries: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = entries.iter().collect();
    sorted.sort_by(|a, b| a.1.cmp(&b.1));
    sorted
        .iter()
        .map(|(hex, name)| format!("{hex}  {name}\n"))
        .collect()
}

/// Parses a sums file into `(hex, name)` pairs, accepting text (`  `) and binary (` *`) markers.
pub(crate) fn parse_sums(text: &str) -> Result<Vec<(String, String)>> {
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let Some((hex, rest)) = line.split_once(' ') else {
            bail!(
                "line {}: expected `<sha256>  <file>`, found `{line}`",
                i + 1
            );
        };
        let name = rest
            .strip_prefix(' ')
            .or_else(|| rest.strip_prefix('*'))
            .unwrap_or(rest);
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) || name.is_empty() {
            bail!(
                "line {}: expected `<sha256>  <file>`, found `{line}`",
                i + 1
            );
        }
        entries.push((hex.to_ascii_lowercase(), name.to_owned()));
    }
    Ok(entries)
}

/// The hash a `<name>.sha256` file gives for `name`: it must hold exactly
/// one line, and that line must name the file. The installer reads it the same way.
pub(crate) fn parse_sidecar(text: &str, name: &str) -> Result<String, String> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() != 1 {
        return Err(format!(
            "must hold one line `<sha256>  {name}`, holds {}",
            lines.len()
        ));
    }
    let entries = parse_sums(lines[0]).map_err(|e| format!("{e:#}"))?;
    match entries.as_slice() {
        [(hex, named)] if named == name => Ok(hex.clone()),
        [(_, named)] => Err(format!("names `{named}`, not `{name}`")),
        _ => Err("is malformed".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn sums_round_trip_sorted() {
        let text = format_sums(&[
            ("b".repeat(64), "z.tar.xz".into()),
            ("a".repeat(64), "a.tar.xz".into()),
        ]);
        assert_eq!(
            text,
            format!(
                "{}  a.tar.xz\n{}  z.tar.xz\n",
                "a".repeat(64),
                "b".repeat(64)
            )
        );
        let parsed = parse_sums(&text).unwrap();
        assert_eq!(parsed[1], ("b".repeat(64), "z.tar.xz".to_owned()));
        assert_eq!(
            parse_sums(&format!("{} *bin.zip\n", "c".repeat(64))).unwrap()[0].1,
            "bin.zip"
        );
        assert!(parse_sums("nonsense\n").is_err());
    }

    #[test]
    fn a_sidecar_is_one_line_naming_its_file() {
        let hex = "a".repeat(64);
        assert_eq!(
            parse_sidecar(&format!("{hex}  x.tar.xz\n"), "x.tar.xz").unwrap(),
            hex
        );
        assert!(
            parse_sidecar(&format!("{hex}  y.tar.xz\n"), "x.tar.xz")
                .unwrap_err()
                .contains("names `y.tar.xz`")
        );
        let two = format!("{hex}  other\n{hex}  x.tar.xz\n");
        assert!(
            parse_sidecar(&two, "x.tar.xz")
                .unwrap_err()
                .contains("holds 2")
        );
    }
}
