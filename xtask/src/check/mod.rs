//! Checks of what a release holds: the release directory, each archive as
//! tar and unzip unpack it, each binary's linkage and dependency data (and
//! the SBOM beside the archive), and — only after all of those passed — a
//! sandboxed smoke run. Checks report [`Finding`]s; the
//! command decides how to show them.

pub(crate) mod archive;
pub(crate) mod binary;
pub(crate) mod deps;
pub(crate) mod rebuild;
pub(crate) mod release;

use anyhow::{Result, bail};
use xtask_inspect::report::escape;

/// What a check found, in the order it found it.
pub(crate) enum Finding {
    /// The file the findings after it are about.
    Heading(String),
    /// What was checked and passed, or why something was not checked.
    Note(String),
    /// Why the release must not ship; control characters already escaped.
    Problem(String),
}

/// The findings of one verification, shown as they are found (smoke runs
/// under qemu take a while) and counted.
pub(crate) struct Findings<'s> {
    problems: Vec<String>,
    show: &'s mut dyn FnMut(&Finding),
}

impl<'s> Findings<'s> {
    pub(crate) fn new(show: &'s mut dyn FnMut(&Finding)) -> Self {
        Findings {
            problems: Vec::new(),
            show,
        }
    }

    pub(crate) fn heading(&mut self, text: String) {
        (self.show)(&Finding::Heading(text));
    }

    pub(crate) fn note(&mut self, text: String) {
        (self.show)(&Finding::Note(text));
    }

    /// Names from archives and binaries reach here: escaped, so a member
    /// name cannot rewrite the terminal.
    pub(crate) fn problem(&mut self, text: String) {
        let text = escape(&text);
        (self.show)(&Finding::Problem(text.clone()));
        self.problems.push(text);
    }

    pub(crate) fn count(&self) -> usize {
        self.problems.len()
    }

    /// Ok when nothing was found wrong with `what`, else an error naming the
    /// first problem.
    pub(crate) fn finish(self, what: &str) -> Result<()> {
        if self.problems.is_empty() {
            (self.show)(&Finding::Heading(format!("{what}: all checks passed")));
            return Ok(());
        }
        let first = &self.problems[0];
        let more = if self.problems.len() > 1 {
            format!(" (and {} more above)", self.problems.len() - 1)
        } else {
            String::new()
        };
        bail!("verification of {what} failed: {first}{more}")
    }
}
