//! What shipping static musl costs the app's users: the released musl binary
//! against a glibc build of the same source and profile, timed on the app's
//! own workloads (`[dist.bench]`) with one thread and with every core, and on
//! start-up (`--version`). musl's allocator is the usual price (runs cargo
//! and both binaries).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use xshell::cmd;

use crate::model::config::BenchWorkload;
use crate::model::smoke::SmokeRun;
use crate::project::Project;

use super::{Samples, reset, run_quiet, sample};

/// The goal for every ratio: a musl release at most this much slower.
const GOAL: f64 = 1.1;

/// Start-up is a millisecond: it takes many runs to see past the noise.
const STARTUP_RUNS_PER_RUN: usize = 20;

/// Builds the app for this machine's glibc target with the release profile
/// and features, then times `musl` (the released binary) against it.
pub(super) fn compare(
    project: &Project,
    musl: &Path,
    musl_triple: &str,
    runs: usize,
    scratch: &Path,
) -> Result<()> {
    let gnu_triple = musl_triple.replace("-musl", "-gnu");
    let gnu = build_glibc(project, &gnu_triple)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "musl vs glibc: the released {musl_triple} binary vs cargo build --profile dist --target {gnu_triple}, alternating runs"
    );

    if project.config.bench.is_empty() {
        println!(
            "  workload: none; add [dist.bench.<name>] to dist-workspace.toml to time one of the app's commands"
        );
    }
    for workload in &project.config.bench {
        let work = scratch.join(format!("workload-{}", workload.name));
        reset(&work)?;
        if let Some(setup) = &workload.setup {
            run_once(&gnu, setup, &work)
                .with_context(|| format!("running [dist.bench.{}].setup", workload.name))?;
        }
        let mut counts = vec![1];
        if workload.takes_threads() && cores > 1 {
            counts.push(cores);
        }
        for threads in counts {
            let args = workload.args(threads);
            let (m, g) = time_both(musl, &gnu, &args, &work, runs)?;
            let label = threads_label(workload, threads);
            print_ratio(
                &format!("{}, {label} `{}`", workload.name, args.join(" ")),
                &m,
                &g,
            );
        }
    }
    // Start-up is timed on the default smoke run, the one every binary answers.
    let version = SmokeRun::version_of(project.app().main_bin()).args;
    let work = scratch.join("start-up");
    reset(&work)?;
    let (m, g) = time_both(musl, &gnu, &version, &work, runs * STARTUP_RUNS_PER_RUN)?;
    print_ratio("start-up `--version`", &m, &g);
    Ok(())
}

fn threads_label(workload: &BenchWorkload, threads: usize) -> String {
    match (workload.takes_threads(), threads) {
        (false, _) => "one run".to_owned(),
        (true, 1) => "1 thread".to_owned(),
        (true, n) => format!("{n} threads"),
    }
}

fn print_ratio(what: &str, musl: &Samples, glibc: &Samples) {
    println!("{}", ratio_line(what, musl, glibc));
}

/// musl's median over glibc's, against the goal.
fn ratio_line(what: &str, musl: &Samples, glibc: &Samples) -> String {
    let ratio = musl.median() / glibc.median();
    format!(
        "  {what}: musl {} vs glibc {}: ratio {ratio:.2}x (goal <= {GOAL:.2})",
        musl.show(),
        glibc.show()
    )
}

/// The app's main binary for `triple`, built as the release is but linked
/// against the system's glibc: what `cargo install` users run.
fn build_glibc(project: &Project, triple: &str) -> Result<PathBuf> {
    let Project { sh, ws, .. } = project;
    let app = project.app();
    let package = &app.name;
    let dir = ws.target_dir.join("bench-glibc");
    let features = project.config.features.cargo_args();
    eprintln!("==> building {package} for {triple} (the glibc side of the comparison)");
    cmd!(
        sh,
        "cargo build --quiet --locked --profile dist --target {triple} --package {package} {features...} --target-dir {dir}"
    )
    .run()
    .with_context(|| format!("building {package} for {triple}"))?;
    Ok(dir.join(triple).join("dist").join(app.main_bin()))
}

fn run_once(bin: &Path, args: &[String], dir: &Path) -> Result<()> {
    run_quiet(Command::new(bin).args(args).current_dir(dir))
}

/// Both binaries on the same arguments, each run once unmeasured, then in
/// turns so that a slow moment of the machine falls on both alike.
fn time_both(
    musl: &Path,
    glibc: &Path,
    args: &[String],
    dir: &Path,
    runs: usize,
) -> Result<(Samples, Samples)> {
    run_once(musl, args, dir)?;
    run_once(glibc, args, dir)?;
    let mut m = Vec::with_capacity(runs);
    let mut g = Vec::with_capacity(runs);
    for _ in 0..runs {
        m.extend(sample(1, || run_once(musl, args, dir))?.0);
        g.extend(sample(1, || run_once(glibc, args, dir))?.0);
    }
    Ok((Samples(m), Samples(g)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ms(values: &[u64]) -> Samples {
        Samples(values.iter().map(|&v| Duration::from_millis(v)).collect())
    }

    #[test]
    fn the_ratio_is_musl_over_glibc_by_median() {
        let line = ratio_line(
            "1 thread `words`",
            &ms(&[600, 500, 700]),
            &ms(&[1000, 900, 5000]),
        );
        assert_eq!(
            line,
            "  1 thread `words`: musl 0.600 s [0.500–0.700] vs glibc 1.000 s [0.900–5.000]: ratio 0.60x (goal <= 1.10)"
        );
    }

    #[test]
    fn a_workload_without_threads_is_one_run_and_with_them_says_how_many() {
        let workload = |run: &[&str]| BenchWorkload {
            name: "w".to_owned(),
            setup: None,
            run: run.iter().map(|s| s.to_string()).collect(),
        };
        let threaded = workload(&["words", "-j", "{threads}", "."]);
        assert_eq!(threads_label(&threaded, 1), "1 thread");
        assert_eq!(threads_label(&threaded, 8), "8 threads");
        assert_eq!(threads_label(&workload(&["words", "."]), 8), "one run");
    }
}
