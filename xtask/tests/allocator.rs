//! libc's own allocations in static musl builds: the `libcalloc` fixture
//! (mimalloc as the global allocator, with its `override` feature as a
//! cargo feature of the fixture) calls, from four threads, the libc
//! functions that return memory the caller frees — `strdup`, `realpath`,
//! `scandir`, `glob`, `open_memstream`, `getaddrinfo`, `regcomp`, the
//! aligned allocators — and `getline`, which reallocates the caller's
//! buffer. `dist` reads each binary's link map and says which allocator
//! libc's `malloc` became; the smoke run is the fixture itself, natively
//! and under qemu.

// Linux only: it builds and runs Linux release binaries.
#![cfg(target_os = "linux")]

mod common;

use std::fs;

use common::*;

const X86: &str = "x86_64-unknown-linux-musl";
const ARM: &str = "aarch64-unknown-linux-musl";

#[test]
fn with_the_override_libc_allocates_with_mimalloc_on_both_targets_natively_and_under_qemu() {
    let (ws, target) = fixture("libcalloc", "libcalloc-override");
    let out = xtask(&ws, &target, &["dist"]);
    assert_ok("dist of the libcalloc fixture", &out);
    let stderr = text(&out.stderr);
    for triple in [X86, ARM] {
        let line = format!(
            "fixture-libcalloc for {triple}: libc's malloc, free and the rest are mimalloc (liblibmimalloc_sys-"
        );
        assert!(stderr.contains(&line), "no `{line}` in:\n{stderr}");
    }
    // mimalloc defines musl's internal entry points too: none of musl's allocator is linked.
    assert!(
        !stderr.contains("musl's internal allocator linked"),
        "{stderr}"
    );
    // The smoke run is the test: every call checked, in four threads, on each CPU.
    let ran = stderr
        .lines()
        .filter(|l| {
            l.contains(
                "smoke: `fixture-libcalloc 4 300`: libc allocations OK: 4 threads, 15600 calls",
            )
        })
        .count();
    assert_eq!(
        ran + skipped_smoke_runs(&stderr),
        2,
        "both targets ran:\n{stderr}"
    );
}

#[test]
fn without_the_override_dist_says_in_one_line_that_libc_still_allocates_with_musl() {
    let (ws, target) = fixture("libcalloc", "libcalloc-plain");
    let config = ws.join("dist-workspace.toml");
    let text_before = fs::read_to_string(&config).unwrap();
    fs::write(
        &config,
        text_before.replace("features = [\"override\"]\n", ""),
    )
    .unwrap();
    let out = xtask(&ws, &target, &["dist", "--target", X86]);
    assert_ok("dist without the override", &out);
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("fixture-libcalloc for x86_64-unknown-linux-musl: Rust's allocations go to mimalloc but libc's own (opendir, getaddrinfo, fopen, …) still to musl's slow allocator: turn on mimalloc's `override` feature"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    // Each side frees only its own memory: the binary still works.
    let ran = stderr
        .lines()
        .filter(|l| l.contains("smoke: `fixture-libcalloc 4 300`: libc allocations OK"))
        .count();
    assert_eq!(ran + skipped_smoke_runs(&stderr), 1, "{stderr}");
}
