//! `cargo xtask bench`: what packaging, a no-op `dist` and `verify` cost,
//! each against the bare tools (or cargo alone) measured in the same run on
//! the same files, and what the static musl binary costs its users against
//! glibc (`musl`), reported as ratios: machines are too noisy for absolute
//! numbers to mean much. Works on the current `target/dist.out`.

mod musl;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use xshell::cmd;

use xtask_inspect::format::ArchiveFormat;
use xtask_inspect::target::{Arch, Os, Target};
use xtask_inspect::unpack::Limits;

use crate::archive::index::Source;
use crate::archive::manifest::Manifest;
use crate::archive::package::ArchiveFile;
use crate::archive::release::{self, ArchiveInput, Release};
use crate::build::{compile, ctool};
use crate::model::plan;
use crate::project::Project;
use crate::run::exec::on_path;

pub(crate) struct Options {
    pub(crate) runs: usize,
}

/// One archive of the release: what it was packed from, and its bytes.
struct Item {
    input: ArchiveInput,
    bytes: Vec<u8>,
}

/// Timings of repeated runs.
struct Samples(Vec<Duration>);

impl Samples {
    fn median(&self) -> f64 {
        let mut s: Vec<f64> = self.0.iter().map(Duration::as_secs_f64).collect();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        }
    }

    /// Median [min–max], in milliseconds when even the slowest run took less
    /// than a tenth of a second (a program's start-up).
    fn show(&self) -> String {
        let min = self.0.iter().min().map_or(0.0, Duration::as_secs_f64);
        let max = self.0.iter().max().map_or(0.0, Duration::as_secs_f64);
        let median = self.median();
        if max < 0.1 {
            let ms = 1000.0;
            format!("{:.2} ms [{:.2}–{:.2}]", median * ms, min * ms, max * ms)
        } else {
            format!("{median:.3} s [{min:.3}–{max:.3}]")
        }
    }
}

fn sample(runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<Samples> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed());
    }
    Ok(Samples(times))
}

pub(crate) fn run(project: &Project, options: Options) -> Result<()> {
    let runs = options.runs.max(1);
    for tool in ["tar", "xz", "sha256sum"] {
        if !on_path(tool) {
            bail!(
                "the baseline needs `{tool}`; install it (apt-get install tar xz-utils coreutils)"
            );
        }
    }
    let Project { sh, ws, config, .. } = project;
    let app = project.app();
    let dist_dir = project.dist_dir();
    let release = Source::Dir(dist_dir.clone());
    let manifest = release
        .manifest()
        .context("no release to measure: run `cargo xtask dist` first")?;
    let items = load_items(&release, &manifest)?;
    if items.is_empty() {
        bail!(
            "{} holds no archives: run `cargo xtask dist` first",
            dist_dir.display()
        );
    }
    let scratch = ws.target_dir.join("bench");
    reset(&scratch)?;
    let sources = scratch.join("src");
    for item in &items {
        materialize(&sources.join(&item.input.stem), &item.input.files)?;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "cargo xtask bench: {} archive(s) of {} {}, {runs} runs each, {cores} cores; median [min–max]",
        items.len(),
        manifest.app,
        manifest.version
    );

    // 1. Packaging, against `tar -cJf` + `sha256sum` of the same files, one archive after another.
    let mtime = manifest.source_date_epoch;
    let inputs: Vec<ArchiveInput> = items.iter().map(|i| i.input.clone()).collect();
    let ours_dir = scratch.join("ours");
    let ours = sample(runs, || {
        reset(&ours_dir)?;
        let release = Release {
            artifacts: release::pack_all(&inputs, mtime, &ours_dir)?,
            installers: vec![],
            ..manifest.clone()
        };
        release::write_index(&ours_dir, &release)
    })?;
    let bare_dir = scratch.join("bare");
    let bare = sample(runs, || {
        reset(&bare_dir)?;
        for item in &items {
            let archive = bare_dir.join(item.input.file_name());
            let stem = &item.input.stem;
            let Some(flag) = item.input.format.tar_create_flag() else {
                continue;
            };
            cmd!(sh, "tar {flag} {archive} -C {sources} {stem}")
                .quiet()
                .run()?;
            cmd!(sh, "sha256sum {archive}")
                .quiet()
                .ignore_stdout()
                .run()?;
        }
        Ok(())
    })?;
    println!(
        "packaging, all archives:     ours {}  vs tar -cJf + sha256sum {}",
        ours.show(),
        bare.show()
    );
    println!(
        "  ratio {:.2}x (goal <= 1.00)",
        ours.median() / bare.median()
    );

    // 2. Size, against `xz -9e` of the very same tar stream.
    for item in items
        .iter()
        .filter(|i| i.input.format == ArchiveFormat::TarXz)
    {
        let tar_path = scratch.join(format!("{}.tar", item.input.stem));
        let mut tar = Vec::new();
        std::io::Read::read_to_end(&mut xz2::read::XzDecoder::new(&item.bytes[..]), &mut tar)?;
        fs::write(&tar_path, &tar)?;
        let xz9e = Command::new("xz")
            .args(["-9e", "-T1", "-c"])
            .arg(&tar_path)
            .stderr(Stdio::null())
            .output()?;
        if !xz9e.status.success() {
            bail!("`xz -9e` failed on {}", tar_path.display());
        }
        let (ours, theirs) = (item.bytes.len(), xz9e.stdout.len());
        println!(
            "size {}: ours {ours} B vs xz -9e {theirs} B: ratio {:.4}x (goal <= 1.00)",
            item.input.file_name(),
            ours as f64 / theirs as f64
        );
    }

    // 3. Parallel packaging, against the same archives one at a time.
    let serial_dir = scratch.join("serial");
    let serial = sample(runs, || {
        reset(&serial_dir)?;
        for one in inputs.chunks(1) {
            release::pack_all(one, mtime, &serial_dir)?;
        }
        Ok(())
    })?;
    println!(
        "parallel packaging: {} archives at once {} vs one at a time {}: speed-up {:.2}x on {cores} cores",
        items.len(),
        ours.show(),
        serial.show(),
        serial.median() / ours.median()
    );

    // 4. A no-op dist, against the no-op cargo builds it runs (same flags, same targets).
    let exe = std::env::current_exe().context("finding the xtask executable")?;
    let quiet_dist = || run_quiet(Command::new(&exe).arg("dist").current_dir(&ws.root));
    quiet_dist().context("warming up: `cargo xtask dist` failed")?;
    let noop_dist = sample(runs, quiet_dist)?;
    let mut plan = crate::cmd::release_plan(project, &[], project.stamp()?)?;
    plan::keep_buildable(&mut plan, false, Os::host(), on_path)?;
    let compilers = ctool::Choice::for_app(ws, app, &config.c_compiler);
    let features = &plan.features;
    let noop_cargo = sample(runs, || {
        for artifact in &plan.artifacts {
            let c = compilers.compiler(&artifact.target)?;
            compilers.prepare(c.as_ref(), &artifact.target)?;
            compile::build(
                sh,
                ws,
                app,
                &artifact.target,
                &plan.stamp,
                c.as_ref(),
                features,
            )?;
        }
        Ok(())
    })?;
    let extra = noop_dist.median() - noop_cargo.median();
    println!(
        "no-op dist {} vs no-op cargo build --profile dist {}",
        noop_dist.show(),
        noop_cargo.show()
    );
    println!("  dist adds {extra:.3} s (goal <= 0.5 s)");

    // 5. verify of everything, smoke runs included.
    let verify = sample(runs, || {
        run_quiet(Command::new(&exe).arg("verify").current_dir(&ws.root))
    })?;
    println!(
        "verify of all artifacts (with smoke runs): {}",
        verify.show()
    );

    // The shipped binary against a plain `cargo build --release` of the same target.
    let native = |triple: &str| {
        Target::parse(triple).is_ok_and(|t| t.os == Os::Linux && Arch::host() == Some(t.arch))
    };
    if let Some(item) = items.iter().find(|i| native(&i.input.triple)) {
        let triple = &item.input.triple;
        let release_dir = ws.target_dir.join("bench-release");
        let package = &app.name;
        let mut plain_build = cmd!(
            sh,
            "cargo build --quiet --locked --release --target {triple} --package {package} {features...} --target-dir {release_dir}"
        );
        // An app that compiles C needs the C compiler dist gave it, plain or not.
        let target = Target::parse(triple)?;
        if let Some(c) = compilers.compiler(&target)? {
            compilers.prepare(Some(&c), &target)?;
            for (key, value) in ctool::env(&c, &target, &release_dir.join("cc"), &[])? {
                plain_build = plain_build.env(key, value);
            }
        }
        plain_build
            .run()
            .context("building the plain release binary")?;
        let bin = app.main_bin();
        let plain = fs::metadata(release_dir.join(triple).join("release").join(bin))?.len();
        let shipped = item
            .input
            .files
            .iter()
            .find(|f| f.path == bin)
            .map_or(0, |f| f.data.len() as u64);
        println!(
            "binary size {triple}: shipped (profile dist) {shipped} B vs cargo build --release {plain} B: ratio {:.2}x",
            shipped as f64 / plain as f64
        );
        if Target::parse(triple).is_ok_and(|t| t.is_musl()) {
            let shipped = sources.join(&item.input.stem).join(bin);
            musl::compare(project, &shipped, triple, runs, &scratch)?;
        }
    } else {
        println!(
            "musl vs glibc: skipped, {} holds no Linux archive for this machine's CPU",
            dist_dir.display()
        );
    }
    reset(&scratch)?;
    fs::remove_dir(&scratch).ok();
    Ok(())
}

/// Each archive of the release, read back into the files it was made from.
fn load_items(release: &Source, manifest: &Manifest) -> Result<Vec<Item>> {
    let limit = Limits::default().total;
    let mut items = Vec::new();
    for artifact in &manifest.artifacts {
        let bytes = release.read(&artifact.name, limit)?;
        let input = ArchiveInput::read_back(artifact, &bytes)?;
        items.push(Item { input, bytes });
    }
    Ok(items)
}

/// The files under `dir`, with their modes, for `tar` to pack.
fn materialize(dir: &Path, files: &[ArchiveFile]) -> Result<()> {
    for file in files {
        let path = dir.join(&file.path);
        fs::create_dir_all(path.parent().expect("inside dir"))?;
        fs::write(&path, &file.data)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = if file.executable { 0o755 } else { 0o644 };
            fs::set_permissions(&path, fs::Permissions::from_mode(mode))?;
        }
    }
    Ok(())
}

fn reset(dir: &PathBuf) -> Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

/// Runs `command` with its output out of the way; on failure, says which
/// command failed and the last line it printed on stderr.
fn run_quiet(command: &mut Command) -> Result<()> {
    let out = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("starting {command:?}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        bail!(
            "{command:?} failed ({}): {}",
            out.status,
            stderr.trim().lines().last().unwrap_or("no message")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[f64]) -> Samples {
        Samples(
            values
                .iter()
                .map(|&v| Duration::from_secs_f64(v / 1000.0))
                .collect(),
        )
    }

    #[test]
    fn the_median_of_odd_and_even_counts() {
        assert_eq!(ms(&[30.0, 10.0, 20.0]).median(), 0.020);
        assert!((ms(&[40.0, 10.0, 20.0, 30.0]).median() - 0.025).abs() < 1e-12);
    }

    #[test]
    fn start_ups_show_in_milliseconds_and_workloads_in_seconds() {
        assert_eq!(ms(&[0.5, 0.9, 0.7]).show(), "0.70 ms [0.50–0.90]");
        assert_eq!(ms(&[650.0, 120.0, 99.0]).show(), "0.120 s [0.099–0.650]");
    }

    #[test]
    fn every_run_is_timed_and_a_failing_run_stops_the_sample() {
        let mut calls = 0;
        assert_eq!(
            sample(3, || {
                calls += 1;
                Ok(())
            })
            .unwrap()
            .0
            .len(),
            3
        );
        assert_eq!(calls, 3);
        let err = sample(3, || bail!("the app failed")).err().unwrap();
        assert_eq!(err.to_string(), "the app failed");
    }
}
