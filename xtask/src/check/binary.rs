//! One binary: its linkage judged by the policy, and its smoke run.

use xtask_inspect::linkage::{self, LinkagePolicy, Report, Verdict};
use xtask_inspect::report::escape;

use crate::check::Findings;
use crate::model::smoke::SmokeRequest;
use crate::run::smoke::{self, Provenance, SmokeOutcome};

/// Prints the linkage report and verdict of one binary; returns the report
/// unless the file could not be read as a binary at all.
pub(crate) fn check_binary(
    label: &str,
    data: &[u8],
    policy: &LinkagePolicy,
    findings: &mut Findings<'_>,
) -> Option<Report> {
    match linkage::inspect(data) {
        Ok(report) => {
            let verdict = policy.judge(&report);
            findings.note(
                linkage::render(label, &report, &verdict)
                    .trim_end()
                    .to_owned(),
            );
            if let (Some(target), Some(h)) = (&policy.target, &report.hardening)
                && target.is_musl()
                && !h.pie
                && !target.static_pie()
            {
                findings.note(format!("  note:        Rust links {} as a fixed-address executable (its target has no static-pie, \
                     unlike x86_64-unknown-linux-musl): no ASLR for this program",
                    target.triple
                ));
            }
            if let Verdict::Fail(reasons) = verdict {
                findings.problem(format!("{label}: {}", reasons.join("; ")));
            }
            Some(report)
        }
        Err(err) => {
            findings.problem(format!("{label}: {err:#}"));
            None
        }
    }
}

/// Runs `request` on the binary `data` (its linkage `report` says where
/// it runs) and reports what happened.
pub(crate) fn smoke_check(
    label: &str,
    data: &[u8],
    report: &Report,
    request: &SmokeRequest,
    provenance: Provenance,
    findings: &mut Findings<'_>,
) {
    match smoke::run(data, report.arch(), report.os(), request, provenance) {
        SmokeOutcome::Passed(line) => findings.note(format!(
            "smoke: {line} (sandboxed: an empty root, no network)"
        )),
        SmokeOutcome::NotApplicable(why) => {
            findings.note(format!("smoke test not run here: {why}"))
        }
        SmokeOutcome::Skipped(why) if smoke::skips_fail() => findings.problem(format!(
            "{label}: smoke test could not run under CI=true: {why}"
        )),
        SmokeOutcome::Skipped(why) => {
            findings.note(format!("smoke test SKIPPED: {}", escape(&why)))
        }
        SmokeOutcome::Failed(why) => {
            // The first line says what failed; the rest is what the binary printed.
            let (first, output) = why.split_once('\n').unwrap_or((&why, ""));
            findings.problem_with_output(format!("{label}: smoke test failed: {first}"), output)
        }
    }
}
