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

/// A dependency that looks for the machine's OpenSSL (what `native-tls`,
/// and so reqwest's default features, pull in): a stand-in named like the
/// real crate whose build script fails with openssl-sys's own words for a
/// musl target. The user gets one line naming the crate, the target and
/// the vendored feature — not "install libssl-dev", which cannot help a
/// static build — and the full output stays in the log.
#[test]
fn a_dependency_on_the_machines_openssl_gets_the_static_fix_in_one_line() {
    let (ws, target) = fixture("greeter", "openssl-sys");
    let stand_in = ws.join("vendor/openssl-sys");
    fs::create_dir_all(stand_in.join("src")).unwrap();
    fs::write(
        stand_in.join("Cargo.toml"),
        "[package]\nname = \"openssl-sys\"\nversion = \"0.9.999\"\nedition = \"2021\"\nlinks = \"openssl\"\n",
    )
    .unwrap();
    fs::write(stand_in.join("src/lib.rs"), "").unwrap();
    fs::write(
        stand_in.join("build.rs"),
        r#"fn main() {
    println!("OPENSSL_DIR unset");
    println!();
    println!("Could not find openssl via pkg-config:");
    println!("pkg-config has not been configured to support cross-compilation.");
    eprintln!("Could not find directory of OpenSSL installation, and this `-sys` crate cannot");
    eprintln!("proceed without this knowledge. If OpenSSL is installed and this crate had");
    eprintln!("Make sure you also have the development packages of openssl installed.");
    eprintln!("For example, `libssl-dev` on Ubuntu or `openssl-devel` on Fedora.");
    std::process::exit(101);
}
"#,
    )
    .unwrap();
    let manifest = ws.join("crates/greeter/Cargo.toml");
    let own = fs::read_to_string(&manifest).unwrap();
    fs::write(
        &manifest,
        format!("{own}\n[dependencies]\nopenssl-sys = {{ path = \"../../vendor/openssl-sys\" }}\n"),
    )
    .unwrap();
    let update = Command::new("cargo")
        .args(["update", "--offline", "--workspace"])
        .current_dir(&ws)
        .output()
        .unwrap();
    assert_ok("cargo update", &update);

    let out = xtask(
        &ws,
        &target,
        &["dist", "--target", "x86_64-unknown-linux-musl"],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = text(&out.stderr);
    let last = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.contains(
            "openssl-sys v0.9.999 (") && last.contains(
            "looks for OpenSSL on this machine, which a static build for x86_64-unknown-linux-musl cannot link: \
             enable the `vendored` feature"
        ) && last.contains("needs perl and make"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("libssl-dev"),
        "the script's advice is held back:\n{stderr}"
    );
    let log = last
        .rsplit("cargo's full output: ")
        .next()
        .unwrap()
        .trim_end_matches(')');
    assert!(
        fs::read_to_string(log).unwrap().contains("libssl-dev"),
        "the log keeps everything: {log}"
    );
}

/// A project releasing with cargo-dist today: its configuration as `dist
/// init` writes it (in dist-workspace.toml, and in the older
/// `[workspace.metadata.dist]` of Cargo.toml) is recognised in one line,
/// and `migrate` turns it into ours, naming every key it does not keep.
#[test]
fn a_cargo_dist_configuration_is_recognised_and_migrated() {
    const INIT: &str = "[workspace]\nmembers = [\"cargo:.\"]\n\n# Config for 'dist'\n[dist]\n\
        cargo-dist-version = \"0.28.0\"\nci = \"github\"\ninstallers = [\"shell\", \"powershell\"]\n\
        targets = [\"aarch64-apple-darwin\", \"aarch64-unknown-linux-gnu\", \"x86_64-apple-darwin\", \
        \"x86_64-unknown-linux-gnu\", \"x86_64-pc-windows-msvc\"]\ninstall-path = \"CARGO_HOME\"\n\
        install-updater = false\npr-run-mode = \"plan\"\n";
    let (ws, target) = fixture("greeter", "cargo-dist");
    let config = ws.join("dist-workspace.toml");
    fs::write(&config, INIT).unwrap();
    let out = xtask(&ws, &target, &["dist"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(
            "this is cargo-dist's configuration (it has `[workspace]`): run `cargo xtask migrate`"
        ),
        "{stderr}"
    );

    let out = xtask(&ws, &target, &["migrate"]);
    assert_ok("migrate", &out);
    let stderr = text(&out.stderr);
    for key in [
        "not kept [workspace]",
        "not kept cargo-dist-version",
        "kept     installers: powershell",
        "not kept install-path",
        "not kept install-updater",
        "kept     targets: x86_64-unknown-linux-gnu → x86_64-unknown-linux-musl",
        "kept     pr-run-mode",
    ] {
        assert!(stderr.contains(key), "no `{key}` in:\n{stderr}");
    }
    let migrated = fs::read_to_string(&config).unwrap();
    assert!(migrated.contains("app = \"fixture-greeter\""), "{migrated}");
    let plan = xtask(&ws, &target, &["plan", "--json"]);
    assert_ok("plan of the migrated configuration", &plan);
    assert!(text(&plan.stdout).contains("aarch64-unknown-linux-musl"));

    // The older home: [workspace.metadata.dist] in Cargo.toml.
    fs::remove_file(&config).unwrap();
    let manifest = ws.join("Cargo.toml");
    let own = fs::read_to_string(&manifest).unwrap();
    let dist = INIT.split_once("[dist]\n").unwrap().1;
    fs::write(
        &manifest,
        format!("{own}\n[workspace.metadata.dist]\n{dist}"),
    )
    .unwrap();
    let out = xtask(&ws, &target, &["dist"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "Cargo.toml has cargo-dist's [workspace.metadata.dist]: run `cargo xtask migrate`"
        ),
        "{stderr}"
    );
    assert_ok(
        "migrate from Cargo.toml",
        &xtask(&ws, &target, &["migrate"]),
    );
    assert_ok(
        "plan after migrating from Cargo.toml",
        &xtask(&ws, &target, &["plan"]),
    );
}
