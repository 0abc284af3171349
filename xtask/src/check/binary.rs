//! One binary: its linkage judged by the policy, and its smoke run.

use xtask_inspect::linkage::{self, LinkagePolicy, Report, Verdict};
use xtask_inspect::report::escape;
use xtask_inspect::target::{Arch, Os, Target};

use crate::check::Findings;
use crate::model::smoke::SmokeRequest;
use crate::run::smoke::{self, Provenance, SmokeOutcome};

/// Prints the linkage report and verdict of one binary (of each slice of a
/// universal one); returns the report unless the file could not be read as
/// a binary at all.
pub(crate) fn check_binary(
    label: &str,
    data: &[u8],
    policy: &LinkagePolicy,
    findings: &mut Findings<'_>,
) -> Option<Report> {
    match linkage::fat_slices(data) {
        Err(err) => {
            findings.problem(format!("{label}: {err:#}"));
            None
        }
        Ok(Some(slices)) => check_universal(label, &slices, policy, findings),
        Ok(None) => check_thin(label, data, policy, findings),
    }
}

/// Each slice of a universal macOS binary, checked as a binary of its own
/// CPU. The report of the slice this machine runs (else the first) stands
/// for the whole: macOS picks the slice when it starts one.
fn check_universal(
    label: &str,
    slices: &[&[u8]],
    policy: &LinkagePolicy,
    findings: &mut Findings<'_>,
) -> Option<Report> {
    let mut reports: Vec<Report> = Vec::new();
    for slice in slices {
        let report = linkage::inspect(slice);
        let arch = report.as_ref().ok().and_then(Report::arch);
        let cpu = arch.map_or("unknown CPU", Arch::name);
        // A macOS target's universal binary: each slice against its own CPU's target.
        let target = policy
            .target
            .as_ref()
            .filter(|t| t.os == Os::Macos)
            .and_then(|_| {
                Target::supported()
                    .iter()
                    .find(|t| t.os == Os::Macos && Some(t.arch) == arch && !t.is_universal())
                    .cloned()
            });
        let slice_policy = LinkagePolicy {
            target: target.or_else(|| policy.target.clone()),
        };
        let slice_label = format!("{label} ({cpu} slice)");
        if let Some(report) = judge(&slice_label, report, &slice_policy, findings) {
            if reports.iter().any(|r| r.arch() == report.arch()) {
                findings.problem(format!("{label}: two slices for {cpu}"));
            }
            reports.push(report);
        }
    }
    let cpus: Vec<&str> = reports
        .iter()
        .map(|r| r.arch().map_or("unknown CPU", Arch::name))
        .collect();
    // A universal target's archive holds every CPU it names, no fewer.
    if let Some(target) = policy.target.as_ref().filter(|t| t.is_universal()) {
        let missing: Vec<&str> = target
            .slices
            .iter()
            .filter(|a| !reports.iter().any(|r| r.arch() == Some(**a)))
            .map(|a| a.name())
            .collect();
        if !missing.is_empty() {
            findings.problem(format!(
                "{label}: {} needs a slice for {}, and this universal binary has none",
                target.triple,
                missing.join(" and ")
            ));
        }
    }
    findings.note(format!(
        "  universal:   {} slices ({}), each checked above",
        slices.len(),
        cpus.join(", ")
    ));
    let here = Arch::host();
    let native = reports.iter().position(|r| r.arch() == here).unwrap_or(0);
    (reports.len() == slices.len()).then(|| reports.swap_remove(native))
}

fn check_thin(
    label: &str,
    data: &[u8],
    policy: &LinkagePolicy,
    findings: &mut Findings<'_>,
) -> Option<Report> {
    judge(label, linkage::inspect(data), policy, findings)
}

/// The verdict on what reading a binary gave, printed with its report.
fn judge(
    label: &str,
    inspected: anyhow::Result<Report>,
    policy: &LinkagePolicy,
    findings: &mut Findings<'_>,
) -> Option<Report> {
    match inspected {
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
    // Each slice of a universal binary is run, as each CPU's Mac runs it.
    let slices: Vec<Option<Arch>> = match linkage::fat_slices(data) {
        Ok(Some(slices)) => slices
            .iter()
            .map(|s| linkage::inspect(s).ok().and_then(|r| r.arch()))
            .collect(),
        _ => Vec::new(),
    };
    if slices.is_empty() {
        smoke_one(
            label,
            "",
            data,
            report.arch(),
            report.os(),
            request,
            provenance,
            findings,
        );
    }
    for arch in slices {
        let slice = format!(" ({} slice)", arch.map_or("unknown CPU", Arch::name));
        smoke_one(
            &format!("{label}{slice}"),
            &slice,
            data,
            arch,
            report.os(),
            request,
            provenance,
            findings,
        );
    }
}

/// One run of `data` as `arch`: `slice` names the slice in what is said.
#[allow(clippy::too_many_arguments)]
fn smoke_one(
    label: &str,
    slice: &str,
    data: &[u8],
    arch: Option<Arch>,
    os: Os,
    request: &SmokeRequest,
    provenance: Provenance,
    findings: &mut Findings<'_>,
) {
    match smoke::run(data, arch, os, request, provenance) {
        SmokeOutcome::Passed(line) => findings.note(format!("smoke{slice}: {line}")),
        SmokeOutcome::NotApplicable(why) => {
            findings.note(format!("smoke test{slice} not run here: {why}"))
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
