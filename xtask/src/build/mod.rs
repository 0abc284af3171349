//! Turning the workspace into release binaries: rustup, cargo, C compilers, docs (runs them).

pub(crate) mod artifact;
pub(crate) mod audit;
pub(crate) mod cargo;
pub(crate) mod commit;
pub(crate) mod compile;
pub(crate) mod ctool;
pub(crate) mod docs;
pub(crate) mod link;
pub(crate) mod needs;
pub(crate) mod syslib;
pub(crate) mod toolchain;
pub(crate) mod universal;
pub(crate) mod zig;
