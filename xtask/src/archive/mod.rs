//! Release archives, their checksums and manifest, and the release directory.

pub(crate) mod atomic;
pub(crate) mod checksum;
pub(crate) mod cpio;
pub(crate) mod deb;
pub(crate) mod files;
pub(crate) mod index;
pub(crate) mod manifest;
pub(crate) mod merge;
pub(crate) mod package;
pub(crate) mod rebuilt;
pub(crate) mod release;
pub(crate) mod rpm;
pub(crate) mod sbom;
pub(crate) mod syspkg;
