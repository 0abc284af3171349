//! What `cargo xtask verify` knows about release files, apart from the
//! xtask so its fuzz targets share it: targets and what their binaries must
//! be (`target`), reading ELF, PE and Mach-O binaries and judging their
//! linkage (`linkage`), the crates they were built from (`audit`), and
//! reading archives as tar and unzip would unpack
//! them (`unpack`, `zipfile`, `format`). Pure: it reads bytes and runs
//! nothing.

pub mod allocator;
pub mod audit;
pub mod format;
pub mod linkage;
pub mod report;
pub mod suggest;
pub mod target;
pub mod unpack;
pub mod zipfile;
