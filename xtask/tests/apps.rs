//! Apps unlike the main fixture, as forks bring them: the `clap-two-bins`
//! fixture is a clap app with two binaries in one package at the workspace
//! root, whose changelog is placed under `doc/` and whose completions come
//! from clap_complete through its own `--generate`.

// Linux only: it builds, unpacks and runs Linux release binaries with Linux tools.
#![cfg(target_os = "linux")]

mod common;

use std::fs;
use std::process::Command;

use common::*;

const STEM: &str = "fixture-clap-2.0.0-x86_64-unknown-linux-musl";

#[test]
fn a_clap_app_with_two_binaries_ships_both_placed_files_and_its_completions() {
    let (ws, target) = fixture("clap-two-bins", "clap-two-bins");
    let out = xtask(&ws, &target, &["dist"]);
    assert_ok("dist of the clap fixture", &out);
    let stderr = text(&out.stderr);
    // Every smoke command ran, the second binary's too.
    if skipped_smoke_runs(&stderr) == 0 {
        for ran in [
            "smoke: `fixture-clap --version`: fixture-clap 2.0.0",
            "smoke: `fixture-clap count a b c`: 3",
            "smoke: `fixture-clap-admin status`: all good",
        ] {
            assert!(stderr.contains(ran), "no `{ran}` in:\n{stderr}");
        }
    }

    let dist = target.join(DIST);
    let listing = list_tar_xz(&dist.join(format!("{STEM}.tar.xz")));
    let mut entries: Vec<&str> = listing
        .iter()
        .filter_map(|l| l.strip_prefix(&format!("{STEM}/")))
        .collect();
    entries.sort();
    assert_eq!(
        entries,
        [
            "",
            "LICENSE",
            "complete/",
            "complete/fixture-clap.bash",
            "complete/fixture-clap.fish",
            "doc/",
            "doc/CHANGELOG.md",
            "fixture-clap",
            "fixture-clap-admin",
        ]
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dist.join("dist-manifest.json")).unwrap())
            .unwrap();
    assert_eq!(
        manifest["artifacts"][0]["binaries"],
        serde_json::json!([
            format!("{STEM}/fixture-clap"),
            format!("{STEM}/fixture-clap-admin")
        ])
    );

    // The installer installs both binaries.
    let installer = fs::read_to_string(dist.join("fixture-clap-installer.sh")).unwrap();
    assert!(
        installer.contains("BINS=\"fixture-clap fixture-clap-admin\""),
        "{installer}"
    );
    let tools = [
        ("curl", "apt-get install curl"),
        ("xz", "apt-get install xz-utils"),
    ];
    if !require_tools(&tools) {
        return;
    }
    let url = serve(&dist);
    let home = e2e_dir("clap-two-bins").join("home");
    let _ = fs::remove_dir_all(&home);
    fs::create_dir_all(&home).unwrap();
    let install = Command::new("/bin/sh")
        .arg(dist.join("fixture-clap-installer.sh"))
        .env("HOME", &home)
        .env("FIXTURE_CLAP_DOWNLOAD_URL", &url)
        .output()
        .unwrap();
    assert_ok("the installer", &install);
    for bin in ["fixture-clap", "fixture-clap-admin"] {
        assert!(
            home.join(".local/bin").join(bin).is_file(),
            "{bin} not installed"
        );
    }
}
