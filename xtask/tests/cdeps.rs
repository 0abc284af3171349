//! Apps whose dependencies compile C: the `cdep` fixture, whose binary uses
//! zstd and C code of its own compiled at -O0, released for both musl
//! targets. By default the xtask hands its pinned zig to the build scripts
//! of every musl target, fetched (in-process, no curl) the first time one
//! asks, and never a compiler the machine happens to have; the binaries
//! link (no UBSan runtime wanted), stay static, run, and come out identical
//! from another path and from a machine with other C compilers installed.

// Linux only: it builds, unpacks and runs Linux release binaries with Linux tools.
#![cfg(target_os = "linux")]

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use common::*;

const X86: &str = "x86_64-unknown-linux-musl";
const ARM: &str = "aarch64-unknown-linux-musl";
const PINNED: &str = "pinned zig (fetched by cargo xtask)";

/// C compilers a machine may have, as scripts that record being run and
/// fail: a build that starts any of them takes its C compiler from the
/// machine instead of the pin.
const HOST_COMPILERS: &[&str] = &[
    "musl-gcc",
    "x86_64-linux-musl-gcc",
    "aarch64-linux-musl-gcc",
    "zig",
];

/// `smoke: fixture-cdep --version` ran once per target, or was skipped for
/// a reason this machine gives (no qemu for aarch64, no sandbox).
fn assert_both_targets_smoke_tested(stderr: &str) {
    let ran = stderr
        .lines()
        .filter(|l| l.contains("smoke: `fixture-cdep --version`: fixture-cdep 0.1.0 (zstd 1.5"))
        .filter(|l| l.contains("prime 5)"))
        .count();
    assert_eq!(
        ran + skipped_smoke_runs(stderr),
        2,
        "both targets ran:\n{stderr}"
    );
}

fn dist_with_path(ws: &Path, target: &Path, path: &Path, cache: &Path) -> Output {
    xtask_command(ws, target, &["dist"])
        .env("PATH", path)
        .env("XDG_CACHE_HOME", cache)
        .output()
        .unwrap()
}

#[test]
fn a_c_dependency_builds_static_for_both_musl_targets_runs_and_is_reproducible() {
    if inside_replay("C dependencies built static for both musl targets, run and rebuilt") {
        return;
    }
    let (ws, target) = fixture("cdep", "cdep-a");
    let out = xtask(&ws, &target, &["dist"]);
    assert_ok("dist of the C fixture", &out);
    let stderr = text(&out.stderr);
    for triple in [X86, ARM] {
        let line = format!("for {triple} (C compiler for build scripts: {PINNED})");
        assert!(stderr.contains(&line), "no `{line}` in:\n{stderr}");
    }
    // dist verified: static linkage, and `--version` (which runs zstd's C
    // code and the -O0 probe's) in an empty root, natively and under qemu.
    // That aarch64 linked at all shows zig added no UBSan calls to the probe.
    assert_both_targets_smoke_tested(&stderr);
    assert_ok("verify of the C fixture", &xtask(&ws, &target, &["verify"]));
    // The manifest names the C compiler each archive's build scripts got, with its version.
    let manifest: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(target.join(DIST).join("dist-manifest.json")).unwrap(),
    )
    .unwrap();
    for artifact in manifest["artifacts"].as_array().unwrap() {
        assert_eq!(
            artifact["c_compiler"],
            format!("{PINNED}: 0.17.1"),
            "{artifact}"
        );
    }

    // The SBOM tells what ships from what only builds: cc runs in build scripts.
    let sbom: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(
            target
                .join(DIST)
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

    // Another checkout path, on a machine whose PATH has every C compiler
    // a musl build could pick up by itself: the same bytes, and none of
    // them was started.
    let (ws_b, target_b) = fixture("cdep", "cdep-b");
    let path = path_without(&e2e_dir("cdep-b-bin"), |name| {
        HOST_COMPILERS.contains(&name)
    });
    let started = e2e_dir("cdep-b-started");
    let _ = fs::remove_file(&started);
    for compiler in HOST_COMPILERS {
        let script = path.join(compiler);
        fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$0\" >> '{}'\nexit 1\n",
                started.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = dist_with_path(&ws_b, &target_b, &path, &e2e_dir("zig-cache"));
    assert_ok("dist from another path, other compilers on PATH", &out);
    assert!(
        !started.exists(),
        "a compiler of the machine was started: {}",
        fs::read_to_string(&started).unwrap_or_default()
    );
    for triple in [X86, ARM] {
        let name = format!("fixture-cdep-0.1.0-{triple}.tar.xz");
        let a = fs::read(target.join(DIST).join(&name)).unwrap();
        let b = fs::read(target_b.join(DIST).join(&name)).unwrap();
        assert!(
            a == b,
            "{name} differs between {} and {}",
            ws.display(),
            ws_b.display()
        );
    }
}

/// `c-compiler = "musl-gcc"` still means Debian's musl-gcc, on x86_64.
#[test]
fn musl_gcc_is_used_when_named() {
    if !require_tool("musl-gcc", "apt-get install musl-tools") {
        return;
    }
    let (ws, target) = fixture("cdep", "cdep-musl-gcc");
    fs::write(
        ws.join("dist-workspace.toml"),
        format!(
            "[dist]\napp = \"fixture-cdep\"\ntargets = [\"{X86}\"]\ninclude = []\nc-compiler = \"musl-gcc\"\n"
        ),
    )
    .unwrap();
    let out = xtask(&ws, &target, &["dist"]);
    assert_ok("dist with musl-gcc", &out);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "for {X86} (C compiler for build scripts: musl-gcc)"
        )),
        "{stderr}"
    );
    let manifest = fs::read_to_string(target.join(DIST).join("dist-manifest.json")).unwrap();
    assert!(
        manifest.contains("\"c_compiler\": \"musl-gcc: "),
        "{manifest}"
    );
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
        "leave `c-compiler` at \"auto\", which fetches a pinned zig",
        "apt-get install musl-tools",
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
            .join(DIST)
            .join(format!("fixture-cdep-0.1.0-{ARM}.tar.xz"))
            .exists()
    );
}

/// A machine with only rustup, cargo, git and a C linker: no musl-gcc, no
/// zig, no Python, no curl or wget. `dist` downloads its pinned zig itself,
/// once, and builds the C code for both targets with it; the next run
/// finds it in the cache.
#[test]
fn without_any_c_compiler_dist_fetches_its_pinned_zig_and_builds_both_targets() {
    if inside_replay("the pinned zig fetched and used for both musl targets") {
        return;
    }
    let (ws, target) = fixture("cdep", "cdep-fresh");
    let path = path_without(&e2e_dir("cdep-fresh-bin"), |name| {
        name == "musl-gcc"
            || name.ends_with("-linux-musl-gcc")
            || name == "zig"
            || name.starts_with("python")
            || name == "cargo-zigbuild"
            || name == "curl"
            || name == "wget"
    });
    // A cache of its own, emptied: the fetch itself is what is tested.
    let cache = e2e_dir("zig-cache-fresh");
    let _ = fs::remove_dir_all(&cache);
    let zig = cache.join("cargo-xtask/zig-0.17.1/zig");
    let out = dist_with_path(&ws, &target, &path, &cache);
    assert_ok("dist with no C compiler or downloader installed", &out);
    let stderr = text(&out.stderr);
    let fetches = stderr
        .matches("fetching zig 0.17.1 (101 MB, SHA-256 pinned) from PyPI")
        .count();
    assert_eq!(fetches, 1, "fetched once for both targets:\n{stderr}");
    assert!(zig.is_file(), "{}", zig.display());
    for triple in [X86, ARM] {
        let line = format!(
            "==> building fixture-cdep 0.1.0 for {triple} (C compiler for build scripts: {PINNED})"
        );
        assert!(stderr.contains(&line), "no `{line}` in:\n{stderr}");
    }
    assert!(
        !stderr.contains("Compiler family detection failed"),
        "the cc crate's warnings about the missing compiler stay in the log:\n{stderr}"
    );
    assert_both_targets_smoke_tested(&stderr);
    let manifest = fs::read_to_string(target.join(DIST).join("dist-manifest.json")).unwrap();
    assert_eq!(
        manifest
            .matches(&format!("\"c_compiler\": \"{PINNED}: 0.17.1\""))
            .count(),
        2,
        "{manifest}"
    );

    // The next run finds it in the cache and builds nothing again.
    let again = dist_with_path(&ws, &target, &path, &cache);
    assert_ok("dist again", &again);
    let stderr = text(&again.stderr);
    assert!(!stderr.contains("fetching zig"), "{stderr}");
    assert_eq!(
        stderr.matches("inputs unchanged, archive reused").count(),
        2,
        "{stderr}"
    );
    // zig unpacked and its cache of the two builds: half a gigabyte.
    discard_scratch(&cache);
}

/// No network for the download (a proxy nobody answers at): one line that
/// says so and names the routes that work offline, and nothing half-made.
#[test]
fn without_network_the_fetch_fails_in_one_line_naming_the_offline_routes() {
    let (ws, target) = fixture("cdep", "cdep-offline");
    // The crates first, while the network is there: cargo would need it too.
    let fetch = Command::new(env!("CARGO"))
        .args(["fetch", "--locked"])
        .current_dir(&ws)
        .output()
        .unwrap();
    assert_ok("cargo fetch", &fetch);
    let cache = e2e_dir("zig-cache-offline");
    let _ = fs::remove_dir_all(&cache);
    let dead = "http://127.0.0.1:9";
    let out = xtask_command(&ws, &target, &["dist", "--target", X86])
        .env("XDG_CACHE_HOME", &cache)
        .env("ALL_PROXY", dead)
        .env("HTTPS_PROXY", dead)
        .env("https_proxy", dead)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env("CARGO_NET_OFFLINE", "true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = text(&out.stderr);
    let last = stderr.trim().lines().last().unwrap();
    for part in [
        "error: fetching zig 0.17.1: downloading https://files.pythonhosted.org/",
        "This machine cannot reach PyPI: run `cargo xtask setup` on a machine that can",
        "zig-cache-offline/cargo-xtask/zig-0.17.1 here",
        "`c-compiler = \"/path/to/zig\"`",
    ] {
        assert!(last.contains(part), "`{part}` missing from: {last}");
    }
    assert!(!stderr.contains("curl"), "{stderr}");
    // Nothing that looks like a fetched zig, nor an archive.
    let left: Vec<_> = fs::read_dir(cache.join("cargo-xtask"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    assert!(
        !target
            .join(DIST)
            .join("fixture-cdep-0.1.0-x86_64-unknown-linux-musl.tar.xz")
            .exists()
    );
}
