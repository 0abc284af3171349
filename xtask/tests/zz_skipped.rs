//! The run's last word: which tests this `cargo test` skipped for what the
//! machine lacks, in one line, and how to get it. Each skip already printed
//! its own line (`common::skip`); this file's name sorts last, and cargo
//! runs a package's test binaries in name order, so the summary comes after
//! every xtask test (only xtask-inspect's pure tests follow).

// Linux only, as every test that can skip.
#![cfg(target_os = "linux")]

mod common;

use std::io::Write;

#[test]
fn say_what_this_run_skipped() {
    if let Some(line) = common::summary() {
        // Past libtest's capture, like the skips themselves.
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}

#[test]
fn the_summary_counts_tests_per_missing_tool_and_merges_install_commands() {
    let record = "e2e::a\tneeds `xz` (apt-get install xz-utils), `curl` (apt-get install curl)\n\
                  e2e::b\tneeds `xz` (apt-get install xz-utils)\n\
                  sbom::c\tneeds `check-jsonschema` (pip install check-jsonschema)\n\
                  replay::d\topt-in: `CI=true` or `XTASK_REPLAY=1` runs it\n";
    let line = common::summarise(record).unwrap();
    assert!(line.starts_with("SKIPPED 4 test(s)"), "{line}");
    assert!(
        line.contains("xz (2), CI=true (1), XTASK_REPLAY=1 (1), check-jsonschema (1), curl (1)"),
        "{line}"
    );
    assert!(
        line.contains("apt-get install curl xz-utils; pip install check-jsonschema"),
        "{line}"
    );
    assert_eq!(common::summarise(""), None);
}
