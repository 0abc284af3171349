//! Release tooling for this workspace, run as `cargo xtask <command>`.
//!
//! `flags` parses the command line; each command is one module of `cmd`;
//! the layers below hold the logic, pure where they can be. ARCHITECTURE.md
//! draws the map.

mod flags;

// The layers, top to bottom: each imports only those below it
// (ARCHITECTURE.md; checked by xtask/tests/architecture.rs).

/// One module per command: sequence the work, talk to the user.
mod cmd;

/// What a release holds, checked: directory, archives, binaries, smoke runs.
mod check;

/// Files made from the configuration: workflows, installer, binstall block.
mod generate;

/// Release binaries: rustup, cargo, C compilers, the `[dist.docs]` run.
mod build;

/// Archives, checksums, the manifest, the release directory.
mod archive;

/// Running programs: with limits, in the sandbox, smoke tests.
mod run;

/// The project on disk: workspace, config, app, include files, stamp.
mod project;

/// The configuration and the plan, pure.
mod model;

use std::process::ExitCode;

use anyhow::Result;

use crate::flags::Command;
use crate::project::Project;

fn main() -> ExitCode {
    // Started by rustc as the link step of a musl build (build::link).
    if build::link::invoked_as_linker() {
        return build::link::linker_main();
    }
    let command = flags::parse();
    if let Command::SandboxExec(args) = &command {
        return run::sandbox::helper_main(args);
    }
    match dispatch(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            // Mistakes in the configuration or command line are usage errors, like clap's.
            let usage = err
                .chain()
                .any(|e| e.is::<model::config::ConfigError>() || e.is::<cmd::UsageError>());
            if usage {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Runs a command, with the project read once for those that need it.
fn dispatch(command: Command) -> Result<()> {
    match command {
        Command::Dist(options) => cmd::dist::run(&Project::load()?, options),
        // Paths given: any file on the machine, no workspace needed.
        Command::Verify(options) if !options.paths.is_empty() => cmd::verify::run(None, options),
        Command::Verify(options) => cmd::verify::run(Some(&Project::load()?), options),
        Command::Bench(options) => cmd::bench::run(&Project::load()?, options),
        Command::Plan(options) => cmd::plan::run(&Project::load()?, options),
        Command::CiScope(options) => cmd::ci_scope::run(&Project::load()?, options),
        Command::Codegen(options) => cmd::codegen::run(&Project::load()?, options),
        Command::Rename(options) => cmd::rename::run(&Project::load()?, options),
        Command::Setup(options) => cmd::setup::run(&Project::load()?, options),
        Command::Publish(options) => cmd::publish::run(&Project::load()?, options),
        Command::Merge(options) => cmd::merge::run(&Project::load()?, options),
        // Before there is a configuration of ours to read.
        Command::Migrate(options) => cmd::migrate::run(options),
        Command::Adopt(options) => cmd::adopt::run(options),
        // Files only: no project.
        Command::Lipo(options) => cmd::lipo::run(options),
        Command::Reproduce(options) => cmd::reproduce::run(&Project::load()?, options),
        Command::TryInstall(options) => cmd::try_install::run(&Project::load()?, options),
        Command::PublishCrate(options) => cmd::publish_crate::run(&Project::load()?, options),
        Command::PublishTap(options) => cmd::publish_tap::run(&Project::load()?, options),
        Command::SandboxExec(_) => unreachable!("handled before dispatch"),
    }
}
