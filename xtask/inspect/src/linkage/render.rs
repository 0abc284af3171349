//! A report and verdict as people read them.

use std::fmt::Write as _;

use super::policy::portable_triple;
use super::*;

/// The human report: facts first, then the verdict and what to do about it.
/// PIE, RELRO and NX stack in plain words. In a static binary no loader
/// applies RELRO: only its C library's start-up code could, and musl's
/// does not, so that is said rather than implied.
pub(super) fn describe_hardening(h: &Hardening, is_static: bool) -> String {
    let pie = if h.pie {
        "PIE (loaded at a random address)"
    } else {
        "not PIE (loaded at a fixed address: no ASLR for the program)"
    };
    let relro = match (h.relro, is_static) {
        (Relro::None, _) => "no RELRO",
        (Relro::Partial, false) => "partial RELRO",
        (Relro::Full, false) => "full RELRO",
        (_, true) => {
            "RELRO asked for, but a static binary has no loader to apply it (glibc's start-up code does, musl's does not)"
        }
    };
    let nx = match h.nx_stack {
        Some(true) => "non-executable stack",
        Some(false) => "EXECUTABLE stack",
        None => "stack not marked (no PT_GNU_STACK)",
    };
    format!("{pie}; {relro}; {nx}")
}

/// The report of one binary, every name in it escaped for the terminal.
pub fn render(label: &str, report: &Report, verdict: &Verdict) -> String {
    render_raw(label, report, verdict)
        .lines()
        .map(|l| format!("{}\n", crate::report::escape(l)))
        .collect()
}

fn render_raw(label: &str, report: &Report, verdict: &Verdict) -> String {
    let mut out = String::new();
    let none = "none".to_owned();
    let list = |v: &[String]| {
        if v.is_empty() {
            none.clone()
        } else {
            v.join(", ")
        }
    };
    let _ = writeln!(out, "{label}");
    let _ = writeln!(out, "  format:      {}", report.describe_format());
    let _ = writeln!(out, "  linking:     {}", report.linking.describe());
    if report.format == Format::Elf {
        let _ = writeln!(
            out,
            "  interpreter: {}",
            report.interpreter.as_ref().unwrap_or(&none)
        );
    }
    let _ = writeln!(out, "  needs:       {}", list(&report.needed));
    if report.format != Format::Pe {
        let rpaths: Vec<String> = report
            .rpath
            .iter()
            .map(|(kind, path)| format!("{path} ({kind})"))
            .collect();
        let _ = writeln!(out, "  rpath:       {}", list(&rpaths));
    }
    if report.format == Format::Elf {
        let glibc = report.glibc.as_ref().map(|g| format!("{g} or newer"));
        let _ = writeln!(out, "  glibc:       {}", glibc.unwrap_or(none.clone()));
    }
    if let Some(h) = &report.hardening {
        let _ = writeln!(
            out,
            "  hardening:   {}",
            describe_hardening(h, report.interpreter.is_none())
        );
    }
    let os = match report.format {
        Format::Elf => "Linux",
        Format::Pe => "Windows",
        Format::MachO => "macOS",
    };
    match verdict {
        Verdict::Pass if report.format == Format::Elf => {
            let _ = writeln!(
                out,
                "  verdict:     OK: static, starts on any Linux kernel for its CPU with nothing else installed"
            );
        }
        Verdict::Pass => {
            let _ = writeln!(
                out,
                "  verdict:     OK: needs only libraries that every {os} installation has"
            );
        }
        Verdict::Fail(reasons) => {
            let _ = writeln!(
                out,
                "  verdict:     REJECTED: will not run on every {os} machine"
            );
            for reason in reasons {
                let _ = writeln!(out, "    - {reason}");
            }
            if let Some(triple) = portable_triple(report) {
                let _ = writeln!(
                    out,
                    "  fix:         build for `{triple}` (static musl), which `cargo xtask dist` does by default"
                );
            }
        }
    }
    out
}
