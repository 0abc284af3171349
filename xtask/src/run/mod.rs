//! Running programs: with time and output limits, in the sandbox, as smoke tests.

pub(crate) mod download;
pub(crate) mod exec;
pub(crate) mod github;
pub(crate) mod launch;
pub(crate) mod sandbox;
pub(crate) mod serve;
pub(crate) mod smoke;
pub(crate) mod wine;
