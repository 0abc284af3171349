//! What a release says it is made of, read by others' tools: every binary
//! carries its crates in cargo-auditable's `.dep-v0` section, which
//! `rust-audit-info` (crates.io) must read back; every archive has a
//! CycloneDX SBOM beside it, which must validate against CycloneDX's own
//! JSON schema (shipped in PyPI's cyclonedx-python-lib) and list the same
//! crates; `verify` counts them, lists them, and says so for a binary that
//! carries none. The `clap-two-bins` fixture: clap and its crates, two
//! binaries, one package.

// Linux only: it builds, unpacks and runs Linux release binaries with Linux tools.
#![cfg(target_os = "linux")]

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::*;
use serde_json::Value;

const STEM: &str = "fixture-clap-2.0.0-x86_64-unknown-linux-musl";

/// The fixture's release, built once for the tests of this file.
fn release() -> &'static (PathBuf, PathBuf) {
    static RUN: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    RUN.get_or_init(|| {
        let (ws, target) = fixture("clap-two-bins", "sbom");
        assert_ok("dist of the clap fixture", &xtask(&ws, &target, &["dist"]));
        (ws, target)
    })
}

fn dist() -> PathBuf {
    release().1.join(DIST)
}

fn sbom() -> Value {
    let text = fs::read_to_string(dist().join(format!("{STEM}.tar.xz.cdx.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The (name, version) of every component of the SBOM.
fn components(sbom: &Value) -> BTreeSet<(String, String)> {
    sbom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap().to_owned();
            (s("name"), s("version"))
        })
        .collect()
}

fn unpacked(name: &str) -> PathBuf {
    let dir = e2e_dir(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    unpack_tar_xz(&dist().join(format!("{STEM}.tar.xz")), &dir);
    dir.join(STEM)
}

#[test]
fn rust_audit_info_reads_back_the_crates_each_binary_carries() {
    if !require_tool("rust-audit-info", "cargo install rust-audit-info --locked") {
        return;
    }
    let listed = components(&sbom());
    let dir = unpacked("sbom-audit-info");
    for bin in ["fixture-clap", "fixture-clap-admin"] {
        let out = Command::new("rust-audit-info")
            .arg(dir.join(bin))
            .output()
            .unwrap();
        assert_ok(&format!("rust-audit-info {bin}"), &out);
        let data: Value = serde_json::from_slice(&out.stdout).unwrap();
        let packages = data["packages"].as_array().unwrap();
        let read: BTreeSet<(String, String)> = packages
            .iter()
            .map(|p| {
                let s = |k: &str| p[k].as_str().unwrap().to_owned();
                (s("name"), s("version"))
            })
            .collect();
        assert_eq!(
            read, listed,
            "{bin}: its data and the SBOM list other crates"
        );
        let roots: Vec<&str> = packages
            .iter()
            .filter(|p| p["root"] == true)
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(roots, ["fixture-clap"], "{bin}");
        // In the binary: no `kind`, which means runtime (cdeps.rs sees build-only ones).
        let clap = packages.iter().find(|p| p["name"] == "clap").unwrap();
        assert_eq!(clap["kind"], Value::Null, "{bin}");
        assert_eq!(clap["source"], "crates.io", "{bin}");
    }
}

/// CycloneDX's schemas as cyclonedx-python-lib ships them, in a directory of
/// their own with their `$id`s taken out, so that their references to each
/// other resolve to the files beside them rather than to cyclonedx.org.
fn cyclonedx_schema() -> Option<PathBuf> {
    let found = Command::new("python3")
        .args([
            "-c",
            "import cyclonedx, os; print(os.path.join(os.path.dirname(cyclonedx.__file__), 'schema', '_res'))",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success());
    let Some(found) = found else {
        skip("needs cyclonedx-python-lib (pip install cyclonedx-python-lib)");
        return None;
    };
    let res = PathBuf::from(text(&found.stdout).trim());
    let dir = e2e_dir("cyclonedx-schema");
    fs::create_dir_all(&dir).unwrap();
    for name in [
        "bom-1.5.SNAPSHOT.schema.json",
        "spdx.SNAPSHOT.schema.json",
        "jsf-0.82.SNAPSHOT.schema.json",
    ] {
        let mut schema: Value =
            serde_json::from_str(&fs::read_to_string(res.join(name)).unwrap()).unwrap();
        schema.as_object_mut().unwrap().remove("$id");
        fs::write(dir.join(name), schema.to_string()).unwrap();
    }
    Some(dir.join("bom-1.5.SNAPSHOT.schema.json"))
}

fn check_jsonschema(schema: &Path, file: &Path) -> std::process::Output {
    Command::new("check-jsonschema")
        .arg("--schemafile")
        .arg(schema)
        .arg(file)
        .output()
        .unwrap()
}

#[test]
fn every_sbom_validates_against_cyclonedx_s_schema() {
    if !require_tool("check-jsonschema", "pip install check-jsonschema") {
        return;
    }
    let Some(schema) = cyclonedx_schema() else {
        return;
    };
    let sboms: Vec<PathBuf> = fs::read_dir(dist())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".cdx.json"))
        .collect();
    assert_eq!(sboms.len(), 1, "{sboms:?}");
    for file in &sboms {
        assert_ok("check-jsonschema", &check_jsonschema(&schema, file));
    }
    // The schema is strict enough to refuse what it must.
    let broken = e2e_dir("cyclonedx-schema").join("broken.cdx.json");
    let mut doc = sbom();
    doc["components"][0]["scope"] = "shipped".into();
    fs::write(&broken, doc.to_string()).unwrap();
    assert!(!check_jsonschema(&schema, &broken).status.success());
}

#[test]
fn every_sbom_names_its_archive_and_is_listed_with_it() {
    let doc = sbom();
    let archive = fs::read(dist().join(format!("{STEM}.tar.xz"))).unwrap();
    let subject = &doc["metadata"]["component"];
    assert_eq!(subject["name"], format!("{STEM}.tar.xz"));
    assert_eq!(
        subject["hashes"][0]["content"],
        sha256_hex(&archive).as_str()
    );
    let clap = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "clap")
        .unwrap();
    let version = clap["version"].as_str().unwrap();
    assert_eq!(clap["purl"], format!("pkg:cargo/clap@{version}"));
    assert_eq!(clap["licenses"][0]["expression"], "MIT OR Apache-2.0");
    assert_eq!(clap["scope"], "required");
    // Listed with the archive in SHA256SUMS and the manifest.
    let sums = fs::read_to_string(dist().join("SHA256SUMS")).unwrap();
    assert!(
        sums.contains(&format!("  {STEM}.tar.xz.cdx.json\n")),
        "{sums}"
    );
    let manifest = fs::read_to_string(dist().join("dist-manifest.json")).unwrap();
    assert!(manifest.contains(&format!("\"name\": \"{STEM}.tar.xz.cdx.json\"")));
}

#[test]
fn verify_counts_and_lists_the_crates_and_says_so_when_a_binary_has_none() {
    let (ws, target) = release();
    let count = components(&sbom()).len();
    let archive = dist().join(format!("{STEM}.tar.xz"));
    let out = xtask(ws, target, &["verify", archive.to_str().unwrap()]);
    assert_ok("verify of the archive", &out);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("dependencies: {count} crates (")),
        "{stderr}"
    );
    // The SBOM beside a downloaded archive is checked against it.
    assert!(
        stderr.contains(&format!(
            "{STEM}.tar.xz.cdx.json: CycloneDX, {count} components, the same crates the binaries carry"
        )),
        "{stderr}"
    );
    let out = xtask(ws, target, &["verify", "--deps", archive.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert!(
        stderr
            .lines()
            .any(|l| l.trim_start().starts_with("clap_lex ") && l.ends_with(" (crates.io)")),
        "{stderr}"
    );
    assert!(
        stderr.contains("        fixture-clap 2.0.0 (local)\n"),
        "{stderr}"
    );

    // A binary nobody built with cargo-auditable or dist: this test program.
    let other = std::env::current_exe().unwrap();
    let out = xtask(ws, target, &["verify", other.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("dependencies: no dependency data (no `.dep-v0` section)"),
        "{stderr}"
    );
}

#[test]
fn a_release_whose_sbom_disagrees_with_its_binaries_fails_verify() {
    let (ws, _) = release();
    // A copy of the release whose SBOM leaves clap out, every hash made to agree.
    let copy = e2e_dir("sbom-tampered").join("target");
    let _ = fs::remove_dir_all(&copy);
    copy_dir(&release().1.join(DIST), &copy.join(DIST));
    let name = format!("{STEM}.tar.xz.cdx.json");
    let path = copy.join(DIST).join(&name);
    let mut doc: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    doc["components"]
        .as_array_mut()
        .unwrap()
        .retain(|c| c["name"] != "clap");
    let text_after = serde_json::to_string_pretty(&doc).unwrap();
    let (old, new) = (
        sha256_hex(&fs::read(&path).unwrap()),
        sha256_hex(text_after.as_bytes()),
    );
    fs::write(&path, &text_after).unwrap();
    for file in [
        "SHA256SUMS",
        "dist-manifest.json",
        &format!("{name}.sha256"),
    ] {
        let f = copy.join(DIST).join(file);
        let t = fs::read_to_string(&f).unwrap().replace(&old, &new);
        let t = t.replace(
            &format!("\"size\": {}", doc_size_before(&release().1, &name)),
            &format!("\"size\": {}", text_after.len()),
        );
        fs::write(&f, t).unwrap();
    }
    let out = xtask(ws, &copy, &["verify"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("FAIL {name}: does not list clap ")),
        "{stderr}"
    );
}

fn doc_size_before(target: &Path, name: &str) -> u64 {
    fs::metadata(target.join(DIST).join(name)).unwrap().len()
}
