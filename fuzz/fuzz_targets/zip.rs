//! Arbitrary bytes as a zip archive — the central directory, local headers,
//! declared sizes, inflate — and the layout checks on whatever members came
//! out. Anything may be refused; nothing may panic, and the limits keep
//! every input small.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xtask_inspect::format::ArchiveFormat;
use xtask_inspect::unpack::{self, Limits};

const LIMITS: Limits = Limits { total: 8 << 20, member: 4 << 20 };

fuzz_target!(|data: &[u8]| {
    if let Ok(unpacked) = unpack::read(ArchiveFormat::Zip, data, LIMITS) {
        let _ = unpack::layout_problems(&unpacked.members, "top");
    }
});
