//! Arbitrary bytes into the binary inspector `verify` feeds every file it
//! is pointed at: ELF, PE and Mach-O parsing, every linkage policy, the
//! plain-words report, and the dependency data (`.dep-v0`: zlib, JSON, the
//! graph). Anything may be rejected; nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xtask_inspect::linkage::{self, LinkagePolicy};
use xtask_inspect::target::Target;

const TRIPLES: &[&str] = &[
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "i686-unknown-linux-musl",
    "x86_64-pc-windows-msvc",
    "aarch64-apple-darwin",
];

fuzz_target!(|data: &[u8]| {
    let _ = xtask_inspect::audit::read(data);
    let Ok(report) = linkage::inspect(data) else { return };
    let policies = std::iter::once(None).chain(TRIPLES.iter().map(|t| Target::parse(t).ok()));
    for target in policies {
        let verdict = LinkagePolicy { target }.judge(&report);
        let _ = linkage::render("fuzz input", &report, &verdict);
    }
});
