//! The CycloneDX SBOM beside each archive (`<archive>.cdx.json`): the
//! archive with its SHA-256, the app, and every crate of that target's build
//! with version, licence, package URL, whether it ships in the binary
//! (`scope: required`) or only builds it (`excluded`), and the dependency
//! graph. Made from the same list the binaries embed, dated by
//! SOURCE_DATE_EPOCH and numbered from the archive's hash, so a rebuild
//! writes the same bytes. Pure.

use serde_json::{Value, json};
use xtask_inspect::zipfile::civil_time;

use crate::model::deps::{Crate, Crates};

/// What follows the archive's name in its SBOM's.
pub(crate) const SUFFIX: &str = ".cdx.json";

/// The CycloneDX version written, whose JSON schema the tests check against.
pub(crate) const SPEC_VERSION: &str = "1.5";

/// The SBOM's file name for an archive.
pub(crate) fn file_name(archive: &str) -> String {
    format!("{archive}{SUFFIX}")
}

/// The archive an SBOM describes, by its own metadata.
pub(crate) struct Subject<'a> {
    pub(crate) archive: &'a str,
    pub(crate) sha256: &'a str,
    pub(crate) triple: &'a str,
    pub(crate) source_date_epoch: u64,
}

/// The SBOM of `subject`, whose binaries were built from `crates`.
pub(crate) fn document(subject: &Subject<'_>, crates: &Crates, repository: Option<&str>) -> String {
    let refs = bom_refs(crates);
    let components: Vec<Value> = crates
        .list
        .iter()
        .zip(&refs)
        .map(|(c, r)| component(c, r, repository))
        .collect();
    let root = crates.list.iter().position(|c| c.root);
    let mut dependencies = vec![json!({
        "ref": ARCHIVE_REF,
        "dependsOn": root.map(|i| vec![refs[i].clone()]).unwrap_or_default(),
    })];
    dependencies.extend(crates.list.iter().zip(&refs).map(|(c, r)| {
        let on: Vec<&String> = c.dependencies.iter().map(|&d| &refs[d]).collect();
        json!({ "ref": r, "dependsOn": on })
    }));
    let (y, mo, d, h, mi, s) = civil_time(subject.source_date_epoch);
    let doc = json!({
        "$schema": format!("http://cyclonedx.org/schema/bom-{SPEC_VERSION}.schema.json"),
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": serial_number(subject.sha256),
        "version": 1,
        "metadata": {
            "timestamp": format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"),
            "tools": { "components": [{ "type": "application", "name": "cargo xtask dist" }] },
            "component": {
                "type": "file",
                "bom-ref": ARCHIVE_REF,
                "name": subject.archive,
                "hashes": [{ "alg": "SHA-256", "content": subject.sha256 }],
                "properties": [{ "name": "cargo:target", "value": subject.triple }],
            },
        },
        "components": components,
        "dependencies": dependencies,
    });
    let mut text = serde_json::to_string_pretty(&doc).expect("JSON values always serialise");
    text.push('\n');
    text
}

const ARCHIVE_REF: &str = "archive";

fn component(c: &Crate, bom_ref: &str, repository: Option<&str>) -> Value {
    let mut v = json!({
        "type": if c.root { "application" } else { "library" },
        "bom-ref": bom_ref,
        "name": c.name,
        "version": c.version,
        // Build scripts and proc macros run while building; they are not in the binary.
        "scope": if c.build_only { "excluded" } else { "required" },
        "purl": purl(c, repository),
    });
    if let Some(license) = &c.license {
        // Cargo once allowed `MIT/Apache-2.0`; SPDX writes it `MIT OR Apache-2.0`.
        let expression = license.replace('/', " OR ");
        v["licenses"] = json!([{ "expression": expression }]);
    }
    v
}

/// `name@version`, made unique where two crates share both.
fn bom_refs(crates: &Crates) -> Vec<String> {
    let plain: Vec<String> = crates
        .list
        .iter()
        .map(|c| format!("{}@{}", c.name, c.version))
        .collect();
    plain
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if plain.iter().filter(|p| *p == r).count() > 1 {
                format!("{r}#{i}")
            } else {
                r.clone()
            }
        })
        .collect()
}

/// The package URL: `pkg:cargo` for crates from a registry or git; a crate
/// of this workspace is `pkg:generic` (a `pkg:cargo` name would point at
/// whatever crates.io holds under it), with the repository where known.
pub(crate) fn purl(c: &Crate, repository: Option<&str>) -> String {
    let base = |kind: &str| format!("pkg:{kind}/{}@{}", encode(&c.name), encode(&c.version));
    match (c.source.as_deref(), c.source_kind()) {
        (None, _) => match repository {
            Some(repo) => format!(
                "{}?vcs_url={}",
                base("generic"),
                encode(&format!("git+{repo}"))
            ),
            None => base("generic"),
        },
        (Some(_), "crates.io") => base("cargo"),
        (Some(source), _) => match source.split_once('+') {
            Some(("git", url)) => {
                // `git+https://host/repo?rev=x#<commit>`: the commit pins it.
                let (url, commit) = url.split_once('#').unwrap_or((url, ""));
                let url = url.split('?').next().unwrap_or(url);
                let vcs = if commit.is_empty() {
                    format!("git+{url}")
                } else {
                    format!("git+{url}@{commit}")
                };
                format!("{}?vcs_url={}", base("cargo"), encode(&vcs))
            }
            Some((_, url)) => format!("{}?repository_url={}", base("cargo"), encode(url)),
            None => base("cargo"),
        },
    }
}

/// Percent-encoding for a package URL part: all but unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A UUID-shaped serial number taken from the archive's hash (version 5's
/// bits set, as for a name-based UUID): the same archive, the same number.
fn serial_number(sha256: &str) -> String {
    let hex: String = sha256
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(32)
        .collect();
    let hex = format!("{hex:0<32}");
    let variant = u8::from_str_radix(&hex[16..17], 16).unwrap_or(0) & 0x3 | 0x8;
    format!(
        "urn:uuid:{}-{}-5{}-{variant:x}{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn krate(name: &str, version: &str, source: Option<&str>) -> Crate {
        Crate {
            name: name.into(),
            version: version.into(),
            source: source.map(str::to_owned),
            build_only: false,
            dependencies: vec![],
            root: false,
            license: Some("MIT/Apache-2.0".into()),
            manifest_path: None,
        }
    }

    const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

    #[test]
    fn package_urls_name_where_each_crate_came_from() {
        let repo = Some("https://github.com/o/app");
        assert_eq!(
            purl(&krate("clap", "4.5.0", Some(CRATES_IO)), repo),
            "pkg:cargo/clap@4.5.0"
        );
        assert_eq!(
            purl(
                &krate("zstd-sys", "2.0.16+zstd.1.5.7", Some(CRATES_IO)),
                None
            ),
            "pkg:cargo/zstd-sys@2.0.16%2Bzstd.1.5.7"
        );
        assert_eq!(
            purl(
                &krate(
                    "z",
                    "0.1.0",
                    Some("git+https://github.com/x/y?rev=abc#abcdef")
                ),
                None
            ),
            "pkg:cargo/z@0.1.0?vcs_url=git%2Bhttps%3A%2F%2Fgithub.com%2Fx%2Fy%40abcdef"
        );
        assert_eq!(
            purl(&krate("app", "1.0.0", None), repo),
            "pkg:generic/app@1.0.0?vcs_url=git%2Bhttps%3A%2F%2Fgithub.com%2Fo%2Fapp"
        );
        assert_eq!(
            purl(&krate("app", "1.0.0", None), None),
            "pkg:generic/app@1.0.0"
        );
        assert_eq!(
            purl(
                &krate("x", "1.0.0", Some("sparse+https://my.registry/index/")),
                None
            ),
            "pkg:cargo/x@1.0.0?repository_url=https%3A%2F%2Fmy.registry%2Findex%2F"
        );
    }

    #[test]
    fn the_document_names_the_archive_every_crate_and_the_graph() {
        let mut app = krate("app", "1.0.0", None);
        app.root = true;
        app.dependencies = vec![1, 2];
        let mut cc = krate("cc", "1.0.0", Some(CRATES_IO));
        cc.build_only = true;
        let crates = Crates {
            list: vec![app, cc, krate("libc", "0.2.0", Some(CRATES_IO))],
        };
        let sha = "ab".repeat(32);
        let subject = Subject {
            archive: "app-1.0.0-x86_64-unknown-linux-musl.tar.xz",
            sha256: &sha,
            triple: "x86_64-unknown-linux-musl",
            source_date_epoch: 1_700_000_000,
        };
        let text = document(&subject, &crates, None);
        assert_eq!(text, document(&subject, &crates, None), "deterministic");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["specVersion"], "1.5");
        assert_eq!(v["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
        assert_eq!(
            v["metadata"]["component"]["hashes"][0]["content"],
            sha.as_str()
        );
        assert_eq!(
            v["serialNumber"],
            "urn:uuid:abababab-abab-5bab-abab-abababababab"
        );
        let components = v["components"].as_array().unwrap();
        assert_eq!(components.len(), 3);
        assert_eq!(components[0]["type"], "application");
        assert_eq!(components[1]["scope"], "excluded");
        assert_eq!(components[2]["scope"], "required");
        assert_eq!(
            components[2]["licenses"][0]["expression"],
            "MIT OR Apache-2.0"
        );
        assert_eq!(v["dependencies"][0]["dependsOn"][0], "app@1.0.0");
        assert_eq!(
            v["dependencies"][1]["dependsOn"],
            json!(["cc@1.0.0", "libc@0.2.0"])
        );
    }

    #[test]
    fn two_crates_of_one_name_and_version_get_refs_of_their_own() {
        let crates = Crates {
            list: vec![
                krate("x", "1.0.0", Some(CRATES_IO)),
                krate("x", "1.0.0", Some("git+https://h/x#1")),
            ],
        };
        assert_eq!(bom_refs(&crates), ["x@1.0.0#0", "x@1.0.0#1"]);
    }
}
