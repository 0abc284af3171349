//! Release tooling for this workspace, run as `cargo xtask <command>`.
//!
//! Each command lives in its own module; the domain modules below them hold
//! the logic and are pure where they can be.

mod atomic;
mod checksum;
mod compile;
mod config;
mod dist;
mod linkage;
mod manifest;
mod package;
mod plan;
mod smoke;
mod suggest;
mod target;
mod toolchain;
mod verify;
mod workspace;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Arg, ArgAction, Command};

fn cli() -> Command {
    Command::new("xtask")
        .about("Release tooling: static builds, archives, checksums, verification")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(
            Command::new("dist")
                .about("Build, package and verify release archives into target/dist")
                .arg(
                    Arg::new("target")
                        .long("target")
                        .value_name("TRIPLE")
                        .action(ArgAction::Append)
                        .help("Only this target (repeatable); must be in [dist].targets"),
                )
                .arg(
                    Arg::new("json")
                        .long("json")
                        .action(ArgAction::SetTrue)
                        .help("Print the manifest as JSON on stdout instead of the table"),
                ),
        )
        .subcommand(
            Command::new("verify")
                .about("Check target/dist, or explain whether the given binaries or archives run everywhere")
                .arg(Arg::new("paths").value_name("PATH").num_args(0..).value_parser(clap::value_parser!(PathBuf))),
        )
}

fn main() -> ExitCode {
    let matches = cli().get_matches();
    let result = match matches.subcommand() {
        Some(("dist", m)) => dist::run(dist::Options {
            targets: m.get_many::<String>("target").into_iter().flatten().cloned().collect(),
            json: m.get_flag("json"),
        }),
        Some(("verify", m)) => verify::run(m.get_many::<PathBuf>("paths").into_iter().flatten().cloned().collect()),
        _ => unreachable!("clap requires a known subcommand"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            // Mistakes in the configuration or command line are usage errors, like clap's.
            if err.chain().any(|e| e.is::<config::ConfigError>()) { ExitCode::from(2) } else { ExitCode::FAILURE }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_is_well_formed() {
        super::cli().debug_assert();
    }
}
