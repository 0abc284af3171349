//! Apps whose dependencies compile C: the `cdep` fixture, whose binary uses
//! zstd and C code of its own compiled at -O0, released for both musl
//! targets. The xtask hands musl-gcc (x86_64) and zig (aarch64) to the build
//! scripts; the binaries link (no UBSan runtime wanted), stay static, run,
//! and come out identical from another path.

// Linux only: it builds, unpacks and runs Linux release binaries with Linux tools.
#![cfg(target_os = "linux")]

mod common;

use std::fs;
use std::process::Command;

use common::*;

const X86: &str = "x86_64-unknown-linux-musl";
const ARM: &str = "aarch64-unknown-linux-musl";

#[test]
fn a_c_dependency_builds_static_for_both_musl_targets_runs_and_is_reproducible() {
    if !require_tool("musl-gcc", "apt-get install musl-tools") {
        return;
    }
    let (ws, target) = fixture("cdep", "cdep-a");
    let out = xtask(&ws, &target, &["dist"]);
    assert_ok("dist of the C fixture", &out);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "for {X86} (C compiler for build scripts: musl-gcc)"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("for {ARM} (C compiler for build scripts: zig cc")),
        "{stderr}"
    );
    // dist verified: static linkage, and `--version` (which runs zstd's C
    // code and the -O0 probe's) in an empty root, natively and under qemu.
    // That aarch64 linked at all shows zig added no UBSan calls to the probe.
    let ran = stderr
        .lines()
        .filter(|l| l.contains("smoke: `fixture-cdep --version`: fixture-cdep 0.1.0 (zstd 1.5"))
        .filter(|l| l.contains("prime 5)"))
        .count();
    assert_eq!(ran, 2, "both targets ran:\n{stderr}");
    assert_ok("verify of the C fixture", &xtask(&ws, &target, &["verify"]));
    // The manifest names the C compiler each archive's build scripts got, with its version.
    let manifest: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(target.join("dist").join("dist-manifest.json")).unwrap(),
    )
    .unwrap();
    for artifact in manifest["artifacts"].as_array().unwrap() {
        let c = artifact["c_compiler"].as_str().unwrap_or_default();
        let expected = if artifact["target"] == X86 {
            "musl-gcc: "
        } else {
            "zig cc"
        };
        assert!(c.starts_with(expected), "{artifact}");
        assert!(!c.ends_with("(version unknown)"), "{artifact}");
    }

    // The SBOM tells what ships from what only builds: cc runs in build scripts.
    let sbom: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(
            target
                .join("dist")
                .join(format!("fixture-cdep-0.1.0-{X86}.tar.xz.cdx.json")),
        )
        .unwrap(),
    )
    .unwrap();
    let component = |name: &str| {
        sbom["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {sbom}"))
    };
    assert_eq!(component("cc")["scope"], "excluded");
    assert_eq!(component("zstd-sys")["scope"], "required");
    // Build metadata in a version is escaped in its package URL.
    let zstd_sys = component("zstd-sys");
    let version = zstd_sys["version"].as_str().unwrap();
    assert!(version.contains('+'), "{version}");
    assert_eq!(
        zstd_sys["purl"],
        format!("pkg:cargo/zstd-sys@{}", version.replace('+', "%2B"))
    );

    // No build path reaches the C objects: another checkout path, the same bytes.
    let (ws_b, target_b) = fixture("cdep", "cdep-b");
    assert_ok(
        "dist from another path",
        &xtask(&ws_b, &target_b, &["dist"]),
    );
    for triple in [X86, ARM] {
        let name = format!("fixture-cdep-0.1.0-{triple}.tar.xz");
        let a = fs::read(target.join("dist").join(&name)).unwrap();
        let b = fs::read(target_b.join("dist").join(&name)).unwrap();
        assert!(
            a == b,
            "{name} differs between {} and {}",
            ws.display(),
            ws_b.display()
        );
    }
}

#[test]
fn without_a_c_compiler_the_error_is_one_line_naming_crate_target_and_fixes() {
    let (ws, target) = fixture("cdep", "cdep-none");
    // "none": the xtask sets no compiler, and none exists for aarch64 here.
    fs::write(
        ws.join("dist-workspace.toml"),
        format!(
            "[dist]\napp = \"fixture-cdep\"\ntargets = [\"{ARM}\"]\ninclude = []\nc-compiler = \"none\"\n"
        ),
    )
    .unwrap();
    // As the release workflow runs it: cargo colours its messages, and the
    // one-line diagnosis must not depend on that.
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("dist")
        .current_dir(&ws)
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_TERM_COLOR", "always")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let last_raw = String::from_utf8_lossy(&out.stderr)
        .trim()
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    assert!(
        !last_raw.contains('\u{1b}'),
        "the one line is plain: {last_raw:?}"
    );
    let stderr = text(&out.stderr);
    let last = stderr.trim().lines().last().unwrap();
    // Whichever build script cargo ran first is named: zstd-sys's or the fixture's own.
    assert!(
        last.starts_with("error: zstd-sys v") || last.starts_with("error: fixture-cdep v"),
        "{last}"
    );
    for part in [
        &format!("compiles C code for {ARM}"),
        "apt-get install musl-tools",
        "zig on PATH",
        "`c-compiler`",
        "cargo-aarch64-unknown-linux-musl.log",
    ] {
        assert!(last.contains(part), "`{part}` missing from: {last}");
    }
    assert!(
        !stderr.contains("--- stderr"),
        "the build script's output is summarised, not dumped:\n{stderr}"
    );
    assert!(
        !target
            .join("dist")
            .join(format!("fixture-cdep-0.1.0-{ARM}.tar.xz"))
            .exists()
    );
}

/// A machine with only rustup and cargo: no musl-gcc, no zig, no Python.
/// `dist` fetches its pinned zig once and builds the C code for both
/// targets with it; the next run finds it in the cache.
#[test]
fn without_any_c_compiler_dist_fetches_its_pinned_zig_and_builds_both_targets() {
    let (ws, target) = fixture("cdep", "cdep-fresh");
    let path = path_without(&e2e_dir("cdep-fresh-bin"), |name| {
        name == "musl-gcc"
            || name.ends_with("-linux-musl-gcc")
            || name == "zig"
            || name.starts_with("python")
            || name == "cargo-zigbuild"
    });
    // A cache of its own, emptied: the fetch itself is what is tested.
    let cache = e2e_dir("zig-cache-fresh");
    let _ = fs::remove_dir_all(&cache);
    let zig = cache.join("cargo-xtask/zig-0.17.1/zig");
    let dist = || {
        Command::new(env!("CARGO_BIN_EXE_xtask"))
            .arg("dist")
            .current_dir(&ws)
            .env("CARGO_TARGET_DIR", &target)
            .env("PATH", &path)
            .env("XDG_CACHE_HOME", &cache)
            .output()
            .unwrap()
    };
    let out = dist();
    assert_ok("dist with no C compiler installed", &out);
    let stderr = text(&out.stderr);
    let fetches = stderr
        .matches("fetching zig 0.17.1 (101 MB, SHA-256 pinned) from PyPI")
        .count();
    assert_eq!(fetches, 1, "fetched once for both targets:\n{stderr}");
    assert!(zig.is_file(), "{}", zig.display());
    for triple in [X86, ARM] {
        let line = format!(
            "==> building fixture-cdep 0.1.0 for {triple} (C compiler for build scripts: zig cc (pinned, fetched by cargo xtask))"
        );
        assert!(stderr.contains(&line), "no `{line}` in:\n{stderr}");
    }
    assert!(
        !stderr.contains("Compiler family detection failed"),
        "the cc crate's warnings about the missing compiler stay in the log:\n{stderr}"
    );
    let ran = stderr
        .lines()
        .filter(|l| l.contains("smoke: `fixture-cdep --version`: fixture-cdep 0.1.0 (zstd 1.5"))
        .count();
    assert_eq!(ran, 2, "both targets ran:\n{stderr}");
    let manifest = fs::read_to_string(target.join("dist/dist-manifest.json")).unwrap();
    assert_eq!(
        manifest
            .matches("\"c_compiler\": \"zig cc (pinned, fetched by cargo xtask): 0.17.1\"")
            .count(),
        2,
        "{manifest}"
    );

    // The next run finds it in the cache and builds nothing again.
    let again = dist();
    assert_ok("dist again", &again);
    let stderr = text(&again.stderr);
    assert!(!stderr.contains("fetching zig"), "{stderr}");
    assert_eq!(
        stderr.matches("inputs unchanged, archive reused").count(),
        2,
        "{stderr}"
    );
}
