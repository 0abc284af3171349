//! The malformed-configuration corpus: every file in `tests/configs/` is a
//! broken `dist-workspace.toml` for the `greeter` fixture whose first line
//! (`# expect: …`) says the error it must give. Each must be one line, exit
//! code 2, nothing written.

// Linux only: it builds, unpacks and runs Linux release binaries with Linux tools.
#![cfg(target_os = "linux")]

mod common;

use std::fs;
use std::process::Command;

use common::*;

#[test]
fn every_broken_config_gives_one_clear_line_exit_2_and_writes_nothing() {
    let (ws, target) = fixture("greeter", "configs");
    let mut cases: Vec<_> = fs::read_dir(root().join("xtask/tests/configs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "the corpus has {} cases", cases.len());

    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let config = fs::read_to_string(case).unwrap();
        let expect = config
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .expect("an `# expect:` line");
        fs::write(ws.join("dist-workspace.toml"), &config).unwrap();
        let out = xtask(&ws, &target, &["dist"]);
        let stderr = text(&out.stderr);
        let problem = if out.status.code() != Some(2) {
            Some(format!("exit code {:?}, not 2", out.status.code()))
        } else if stderr.trim().lines().count() != 1 {
            Some("more than one line".to_owned())
        } else if !stderr.contains(expect) {
            Some(format!("expected `{expect}`"))
        } else if fs::read_dir(target.join(DIST)).is_ok_and(|mut d| d.next().is_some()) {
            Some(format!("something was written to target/{DIST}"))
        } else {
            None
        };
        if let Some(problem) = problem {
            failures.push(format!("{name}: {problem}; stderr:\n{stderr}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A compile error in the app matters to its author: cargo's message is
/// passed on whole (rustc's code, file and line), not summarised.
#[test]
fn a_compile_error_in_the_app_is_shown_whole() {
    let (ws, target) = fixture("greeter", "compile-error");
    let main = ws.join("crates/greeter/src/main.rs");
    let source = fs::read_to_string(&main).unwrap();
    fs::write(
        &main,
        format!("{source}\npub fn broken() -> u32 {{ \"not a number\" }}\n"),
    )
    .unwrap();
    // As the generated workflows run it: cargo colours its messages.
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["dist", "--target", "x86_64-unknown-linux-musl"])
        .current_dir(&ws)
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_TERM_COLOR", "always")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let raw = String::from_utf8_lossy(&out.stderr);
    assert!(
        raw.contains("\u{1b}["),
        "cargo's colours reach the user:\n{raw}"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("error[E0308]: mismatched types"),
        "{stderr}"
    );
    assert!(
        stderr.contains("src/main.rs:"),
        "rustc's location is kept:\n{stderr}"
    );
    assert!(
        stderr
            .trim_end()
            .ends_with("failed (cargo's messages are above)"),
        "{stderr}"
    );
}
