//! Checks of what a release holds: the release directory, each archive as
//! tar and unzip unpack it, each binary's linkage and dependency data (and
//! the SBOM beside the archive), and — only after all of those passed — a
//! sandboxed smoke run. Checks report [`Finding`]s; the
//! command decides how to show them.

pub(crate) mod archive;
pub(crate) mod binary;
pub(crate) mod deps;
pub(crate) mod package;
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
    /// name cannot rewrite the terminal (or start a line of its own).
    pub(crate) fn problem(&mut self, text: String) {
        self.push_problem(escape(&text));
    }

    /// A problem with what a program printed below it, a line each (a
    /// failing smoke run): every line escaped on its own.
    pub(crate) fn problem_with_output(&mut self, text: String, output: &str) {
        let mut shown = escape(&text);
        for line in output.lines() {
            shown.push('\n');
            shown.push_str(&escape(line));
        }
        self.push_problem(shown);
    }

    fn push_problem(&mut self, text: String) {
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
        // One line: the first line of the first problem; the rest was shown above.
        let first = self.problems[0].lines().next().unwrap_or_default();
        let more = if self.problems.len() > 1 {
            format!(" (and {} more above)", self.problems.len() - 1)
        } else {
            String::new()
        };
        bail!("verification of {what} failed: {first}{more}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_s_output_is_shown_a_line_each_and_a_name_never_breaks_a_line() {
        let mut shown = Vec::new();
        let mut show = |f: &Finding| {
            if let Finding::Problem(p) = f {
                shown.push(p.clone());
            }
        };
        let mut findings = Findings::new(&mut show);
        findings.problem("a\nb.tar.xz: \x1b[2Jnot a plain name".into());
        findings.problem_with_output(
            "tool: smoke test failed: `tool` exited with exit status: 1".into(),
            "error: \x1b]0;title\x07\n\nCaused by:\n    refused",
        );
        let err = findings.finish("target/dist.out").unwrap_err().to_string();
        assert_eq!(
            shown,
            [
                "a\\nb.tar.xz: \\u{1b}[2Jnot a plain name",
                "tool: smoke test failed: `tool` exited with exit status: 1\nerror: \\u{1b}]0;title\\u{7}\n\nCaused by:\n    refused",
            ]
        );
        assert_eq!(
            err,
            "verification of target/dist.out failed: a\\nb.tar.xz: \\u{1b}[2Jnot a plain name (and 1 more above)"
        );
        assert_eq!(err.lines().count(), 1);
    }
}
