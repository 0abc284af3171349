//! The release configuration, the workspace and what they plan: pure data
//! and functions.

pub(crate) mod changelog;
pub(crate) mod config;
pub(crate) mod deps;
pub(crate) mod github;
pub(crate) mod install;
pub(crate) mod migrate;
pub(crate) mod package;
pub(crate) mod plan;
pub(crate) mod publication;
pub(crate) mod scope;
pub(crate) mod smoke;
pub(crate) mod workspace;
