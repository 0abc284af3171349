//! What a binary says it is made of: the dependency list it carries
//! (cargo-auditable's `.dep-v0`, which `cargo audit bin`, Trivy, Grype and
//! Syft read), and the CycloneDX SBOM beside its archive, checked against
//! each other and the archive's hash. Names come from the file: escaped.

use std::collections::BTreeSet;

use serde_json::Value;
use xtask_inspect::audit::{self, DepList};
use xtask_inspect::report::escape;

use crate::check::Findings;

/// Reports the dependency list of one binary (every crate with `list`).
/// `required`: a binary `dist` built must carry one.
pub(crate) fn check_embedded(
    label: &str,
    data: &[u8],
    required: bool,
    list: bool,
    findings: &mut Findings<'_>,
) -> Option<DepList> {
    match audit::read(data) {
        Ok(Some(deps)) => {
            let total = deps.packages.len();
            let shipped = deps.runtime().count();
            let crates = if total == 1 { "crate" } else { "crates" };
            findings.note(format!(
                "  dependencies: {total} {crates} ({shipped} in the binary, {} only to build it), \
                 in cargo-auditable's format (`cargo audit bin` and SBOM scanners read it)",
                total - shipped
            ));
            if list {
                for p in &deps.packages {
                    let build = if p.build_only { ", build only" } else { "" };
                    findings.note(escape(&format!(
                        "    {} {} ({}{build})",
                        p.name, p.version, p.source
                    )));
                }
            }
            Some(deps)
        }
        Ok(None) if required => {
            findings.problem(format!(
                "{label}: carries no dependency data (no `{}` section); `cargo xtask dist` links it into every binary",
                audit::SECTION
            ));
            None
        }
        Ok(None) => {
            findings.note(format!(
                "  dependencies: no dependency data (no `{}` section): it was not built with \
                 cargo-auditable or `cargo xtask dist`, and scanners cannot tell which crates it holds",
                audit::SECTION
            ));
            None
        }
        Err(err) => {
            findings.problem(format!(
                "{label}: its dependency data is unreadable: {err:#}"
            ));
            None
        }
    }
}

/// Checks an archive's SBOM: CycloneDX, about this archive (name and
/// SHA-256), listing exactly the crates its binaries carry.
pub(crate) fn check_sbom(
    name: &str,
    bytes: &[u8],
    archive: &str,
    archive_sha256: &str,
    embedded: Option<&DepList>,
    findings: &mut Findings<'_>,
) {
    let doc: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(err) => return findings.problem(format!("{name}: not JSON: {err}")),
    };
    if doc["bomFormat"] != "CycloneDX" {
        return findings.problem(format!("{name}: not a CycloneDX SBOM"));
    }
    let subject = &doc["metadata"]["component"];
    let hash = subject["hashes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|h| h["alg"] == "SHA-256")
        .and_then(|h| h["content"].as_str());
    if subject["name"].as_str() != Some(archive) || hash != Some(archive_sha256) {
        findings.problem(format!(
            "{name}: describes `{}` with SHA-256 {}, not {archive} ({archive_sha256})",
            subject["name"].as_str().unwrap_or("nothing"),
            hash.unwrap_or("none")
        ));
    }
    let listed: BTreeSet<(String, String)> = doc["components"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            Some((
                c["name"].as_str()?.to_owned(),
                c["version"].as_str()?.to_owned(),
            ))
        })
        .collect();
    let Some(embedded) = embedded else {
        findings.note(format!(
            "{name}: {} components; no binary dependency data to compare them with",
            listed.len()
        ));
        return;
    };
    let carried: BTreeSet<(String, String)> = embedded
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    let show = |(n, v): &(String, String)| format!("{n} {v}");
    if let Some(extra) = listed.difference(&carried).next() {
        findings.problem(format!(
            "{name}: lists {}, which the binaries' dependency data does not",
            show(extra)
        ));
    } else if let Some(missing) = carried.difference(&listed).next() {
        findings.problem(format!(
            "{name}: does not list {}, which the binaries were built from",
            show(missing)
        ));
    } else {
        let n = listed.len();
        let components = if n == 1 { "component" } else { "components" };
        findings.note(format!(
            "{name}: CycloneDX, {n} {components}, the same crates the binaries carry, about this archive's SHA-256"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Finding;
    use xtask_inspect::audit::Package;

    fn deps(names: &[&str]) -> DepList {
        DepList {
            packages: names
                .iter()
                .map(|n| Package {
                    name: (*n).into(),
                    version: "1.0.0".into(),
                    source: "crates.io".into(),
                    build_only: false,
                    dependencies: vec![],
                    root: false,
                })
                .collect(),
        }
    }

    fn sbom(archive: &str, sha: &str, names: &[&str]) -> Vec<u8> {
        let components: Vec<Value> = names
            .iter()
            .map(|n| serde_json::json!({ "name": n, "version": "1.0.0" }))
            .collect();
        serde_json::json!({
            "bomFormat": "CycloneDX",
            "metadata": { "component": { "name": archive, "hashes": [{ "alg": "SHA-256", "content": sha }] } },
            "components": components,
        })
        .to_string()
        .into_bytes()
    }

    fn problems(f: impl FnOnce(&mut Findings<'_>)) -> Vec<String> {
        let mut seen = Vec::new();
        let mut show = |finding: &Finding| {
            if let Finding::Problem(p) = finding {
                seen.push(p.clone());
            }
        };
        let mut findings = Findings::new(&mut show);
        f(&mut findings);
        drop(findings);
        seen
    }

    #[test]
    fn an_sbom_must_name_the_archive_and_the_crates_the_binaries_carry() {
        let carried = deps(&["app", "clap"]);
        let check = |bytes: Vec<u8>| {
            problems(|f| {
                check_sbom(
                    "a.tar.xz.cdx.json",
                    &bytes,
                    "a.tar.xz",
                    "ab",
                    Some(&carried),
                    f,
                )
            })
        };
        assert!(check(sbom("a.tar.xz", "ab", &["app", "clap"])).is_empty());
        let p = check(sbom("a.tar.xz", "cd", &["app", "clap"]));
        assert!(p[0].contains("with SHA-256 cd, not a.tar.xz (ab)"), "{p:?}");
        let p = check(sbom("a.tar.xz", "ab", &["app", "clap", "openssl"]));
        assert!(
            p[0].contains("lists openssl 1.0.0, which the binaries"),
            "{p:?}"
        );
        let p = check(sbom("a.tar.xz", "ab", &["app"]));
        assert!(p[0].contains("does not list clap 1.0.0"), "{p:?}");
        let p = check(b"{}".to_vec());
        assert!(p[0].contains("not a CycloneDX SBOM"), "{p:?}");
    }

    #[test]
    fn a_binary_without_data_is_a_problem_only_when_dist_built_it() {
        let elf = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert!(
            problems(|f| {
                check_embedded("x", &elf, false, false, f);
            })
            .is_empty()
        );
        let p = problems(|f| {
            check_embedded("x", &elf, true, false, f);
        });
        assert!(p[0].contains("carries no dependency data"), "{p:?}");
    }
}
