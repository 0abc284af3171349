//! On a Mac — the `xtask-macos` CI job, on GitHub's Apple silicon runner —
//! a `universal2-apple-darwin` release, built as a user's would be: both
//! CPUs' builds joined into one binary, which Apple's own `lipo` reads as
//! both, and each slice smoke-run by `dist` (arm64 natively, x86_64 under
//! Rosetta, by `arch`). Linux machines check the same code with
//! cargo-zigbuild slices (`cross.rs`); only a Mac runs them.
#![cfg(target_os = "macos")]

mod common;

use std::fs;
use std::process::Command;

use common::*;

#[test]
fn a_universal_release_holds_both_slices_and_runs_each() {
    let (ws, target_dir) = fixture("greeter", "universal");
    let config = fs::read_to_string(ws.join("dist-workspace.toml")).unwrap();
    let config = config.replace(
        "features = ",
        "targets = [\"universal2-apple-darwin\"]\nfeatures = ",
    );
    fs::write(ws.join("dist-workspace.toml"), config).unwrap();
    let out = xtask(&ws, &target_dir, &["dist"]);
    assert_ok("dist of universal2-apple-darwin", &out);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "joined the x86_64 and aarch64 slices into universal binaries for universal2-apple-darwin"
        ),
        "{stderr}"
    );
    for cpu in ["x86_64", "aarch64"] {
        for (command, said) in [
            ("greet --version", "greet 0.3.0 (loud)"),
            ("greet hello Ada", "HELLO, ADA!"),
        ] {
            let line = format!("smoke ({cpu} slice): `{command}`: {said} (on its own system");
            assert!(stderr.contains(&line), "no `{line}` in:\n{stderr}");
        }
    }
    // The archive as a user unpacks it, its binary read by Apple's lipo.
    let stem = "fixture-greeter-0.3.0-universal2-apple-darwin";
    let unpacked = target_dir.join("unpacked");
    let _ = fs::remove_dir_all(&unpacked);
    fs::create_dir_all(&unpacked).unwrap();
    let tar = Command::new("tar")
        .arg("-xf")
        .arg(target_dir.join(DIST).join(format!("{stem}.tar.xz")))
        .arg("-C")
        .arg(&unpacked)
        .output()
        .unwrap();
    assert_ok("tar -xf of the universal archive", &tar);
    let lipo = Command::new("lipo")
        .arg("-archs")
        .arg(unpacked.join(stem).join("greet"))
        .output()
        .unwrap();
    assert_ok("lipo -archs", &lipo);
    let mut archs: Vec<String> = text(&lipo.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    archs.sort();
    assert_eq!(archs, ["arm64", "x86_64"]);
}
