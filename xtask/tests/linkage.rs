//! The linkage policy's fixture set, built here from a one-file program with
//! rustc alone (no binaries are committed, no app is built): each kind of
//! linking with the verdict `verify` must give, as the seed story needed
//! `readelf -d`, `file` and `strings` to find out.

// Linux only: it builds, unpacks and runs Linux release binaries with Linux tools.
#![cfg(target_os = "linux")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

const GNU: &str = "x86_64-unknown-linux-gnu";
const MUSL: &str = "x86_64-unknown-linux-musl";

/// Compiles `file` of the linkage fixtures for `triple` with `flags`.
fn rustc(name: &str, file: &str, triple: &str, flags: &[&str]) -> PathBuf {
    let dir = e2e_dir("linkage").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let out_file = dir.join(if file == "lib.rs" {
        "libfixture.so"
    } else {
        "hello"
    });
    let out = Command::new("rustc")
        .args(["--edition", "2024", "--target", triple])
        .args(flags)
        .arg("-o")
        .arg(&out_file)
        .arg(fixtures().join("linkage").join(file))
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    assert_ok(&format!("rustc {file} for {triple} {flags:?}"), &out);
    out_file
}

fn verify(binary: &Path) -> Output {
    let dir = e2e_dir("linkage");
    xtask(&dir, &dir, &["verify", binary.to_str().unwrap()])
}

#[test]
fn verify_rejects_a_gnu_build_and_says_why() {
    let out = verify(&rustc("gnu", "hello.rs", GNU, &[]));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    for needle in [
        "/lib64/ld-linux-x86-64.so.2",
        "libc.so.6",
        "linking:     dynamic",
        "REJECTED",
        "NixOS",
        "x86_64-unknown-linux-musl",
    ] {
        assert!(stderr.contains(needle), "missing `{needle}`:\n{stderr}");
    }
}

#[test]
fn verify_rejects_musl_without_crt_static() {
    rustup_target_add(MUSL);
    let binary = rustc(
        "musl-dynamic",
        "hello.rs",
        MUSL,
        &["-C", "target-feature=-crt-static"],
    );
    let out = verify(&binary);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("linking:     dynamic") && stderr.contains("dynamic loader"),
        "{stderr}"
    );
}

#[test]
fn verify_rejects_a_runpath_and_names_it() {
    let binary = rustc(
        "gnu-rpath",
        "hello.rs",
        GNU,
        &["-C", "link-arg=-Wl,-rpath,/opt/fixture/lib"],
    );
    let out = verify(&binary);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("/opt/fixture/lib"),
        "the RUNPATH is shown:\n{stderr}"
    );
}

#[test]
fn verify_accepts_glibc_linked_fully_static() {
    let binary = rustc(
        "gnu-static",
        "hello.rs",
        GNU,
        &["-C", "target-feature=+crt-static"],
    );
    let out = verify(&binary);
    assert_ok("verify of a +crt-static glibc binary", &out);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("interpreter: none") && stderr.contains("needs:       none"),
        "{stderr}"
    );
}

#[test]
fn verify_rejects_a_shared_library() {
    let library = rustc("cdylib", "lib.rs", GNU, &["--crate-type", "cdylib"]);
    let out = verify(&library);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.to_lowercase().contains("shared library"), "{stderr}");
}
