//! Release tooling for this workspace, run as `cargo xtask <command>`.
//!
//! Each command lives in its own module; the domain modules below them hold
//! the logic and are pure where they can be.

mod atomic;
mod bench;
mod binstall;
mod checksum;
mod codegen;
mod compile;
mod config;
mod ctool;
mod diff;
mod dist;
mod docs;
mod exec;
mod files;
mod installer;
mod manifest;
mod merge;
mod package;
mod pins;
mod plan;
mod publish;
mod rename;
mod sandbox;
mod setup;
mod smoke;
mod toolchain;
mod verify;
mod workflow;
mod workspace;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Arg, ArgAction, Command};
// The inspector and archive reader live in a library the fuzz targets share.
use xtask_inspect::{linkage, report, suggest, target, unpack, zipfile};

fn cli() -> Command {
    Command::new("xtask")
        .about("Release tooling: static builds, archives, checksums, verification")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(
            Command::new("dist")
                .about("Build, package and verify release archives into target/dist")
                .arg(targets_arg("Only this target (repeatable); must be in [dist].targets"))
                .arg(flag("json", "Print the manifest as JSON on stdout instead of the table")),
        )
        .subcommand(
            Command::new("verify")
                .about("Check target/dist, or explain whether the given binaries or archives run everywhere")
                .arg(Arg::new("paths").value_name("PATH").num_args(0..).value_parser(clap::value_parser!(PathBuf)))
                .arg(flag("run", "Also run the binaries of the given paths, in a sandbox (target/dist's always run)"))
                .arg(
                    Arg::new("max-unpacked-mib")
                        .long("max-unpacked-mib")
                        .value_name("MIB")
                        .value_parser(clap::value_parser!(u64).range(1..))
                        .help("What an archive may unpack to, in MiB (default: 1024 in all, 512 a member)"),
                ),
        )
        .subcommand(
            Command::new("bench")
                .about("Time packaging, a no-op dist and verify against the bare tools, on the current target/dist")
                .arg(
                    Arg::new("runs")
                        .long("runs")
                        .value_name("N")
                        .default_value("5")
                        .value_parser(clap::value_parser!(usize))
                        .help("Runs of each measurement; the median, min and max are reported"),
                ),
        )
        .subcommand(
            Command::new("plan")
                .about("Show what a release builds, where, and which tag releases it")
                .arg(flag("json", "Print the plan and the build matrix as JSON"))
                .arg(
                    Arg::new("tag")
                        .long("tag")
                        .value_name("TAG")
                        .help("Fail unless TAG is the release tag of the app's version"),
                )
                .arg(flag(
                    "github-output",
                    "Write matrix, publish and tag to $GITHUB_OUTPUT; a tag push (GITHUB_REF_TYPE=tag) is checked",
                )),
        )
        .subcommand(
            Command::new("codegen")
                .visible_alias("workflow")
                .about("Write the files generated from dist-workspace.toml: .github/workflows/{release,ci}.yml and the app's cargo-binstall metadata")
                .arg(flag("check", "Write nothing; fail with a diff if the checked-in files are out of date")),
        )
        .subcommand(
            Command::new("rename")
                .about("Rename the app (crate, package, binary, every mention) and set its repository and metadata")
                .arg(Arg::new("name").value_name("NEW_NAME").required(true).help("The new package and binary name"))
                .arg(flag("force", "Rename even with uncommitted changes in the git tree"))
                .arg(Arg::new("repository").long("repository").value_name("URL").help("https://github.com/<owner>/<repo>: where releases are published"))
                .arg(Arg::new("description").long("description").value_name("TEXT").help("The package description"))
                .arg(Arg::new("author").long("author").value_name("NAME").help("The package author, e.g. \"Ada <ada@example.com>\"")),
        )
        .subcommand(
            Command::new("setup")
                .about("Install the rustup targets and system tools that building and verifying need here")
                .arg(targets_arg("Only this target (repeatable); default: every configured target"))
                .arg(flag("verify-only", "Only what `verify` needs: no rustup targets or linkers")),
        )
        .subcommand(
            Command::new("publish")
                .about("Publish a verified release directory as the GitHub release of TAG (through gh); re-runs finish a partial upload")
                .arg(
                    Arg::new("dir")
                        .value_name("DIR")
                        .required(true)
                        .value_parser(clap::value_parser!(PathBuf))
                        .help("The release directory, as `merge` or `dist` wrote it"),
                )
                .arg(
                    Arg::new("tag")
                        .long("tag")
                        .value_name("TAG")
                        .required(true)
                        .help("The release tag; it must be the tag of the manifest's version"),
                ),
        )
        .subcommand(
            // Internal: the helper that builds verify's sandbox (see sandbox.rs).
            Command::new("sandbox-exec").hide(true).arg(
                Arg::new("args")
                    .num_args(0..)
                    .trailing_var_arg(true)
                    .allow_hyphen_values(true),
            ),
        )
        .subcommand(
            Command::new("merge")
                .about("Merge the release workflow's per-target outputs into one release directory")
                .arg(
                    Arg::new("jobs")
                        .value_name("JOBS_DIR")
                        .required(true)
                        .value_parser(clap::value_parser!(PathBuf))
                        .help("A directory of `dist` outputs, one subdirectory per build job"),
                )
                .arg(
                    Arg::new("into")
                        .long("into")
                        .value_name("DIR")
                        .required(true)
                        .value_parser(clap::value_parser!(PathBuf))
                        .help("The new release directory (must be empty or absent)"),
                ),
        )
}

fn targets_arg(help: &'static str) -> Arg {
    Arg::new("target")
        .long("target")
        .value_name("TRIPLE")
        .action(ArgAction::Append)
        .help(help)
}

fn flag(name: &'static str, help: &'static str) -> Arg {
    Arg::new(name)
        .long(name)
        .action(ArgAction::SetTrue)
        .help(help)
}

fn targets(m: &clap::ArgMatches) -> Vec<String> {
    m.get_many::<String>("target")
        .into_iter()
        .flatten()
        .cloned()
        .collect()
}

fn main() -> ExitCode {
    let matches = cli().get_matches();
    let result = match matches.subcommand() {
        Some(("dist", m)) => dist::run(dist::Options {
            targets: targets(m),
            json: m.get_flag("json"),
        }),
        Some(("verify", m)) => verify::run(verify::Options {
            paths: m
                .get_many::<PathBuf>("paths")
                .into_iter()
                .flatten()
                .cloned()
                .collect(),
            run: m.get_flag("run"),
            max_unpacked_mib: m.get_one::<u64>("max-unpacked-mib").copied(),
        }),
        Some(("bench", m)) => bench::run(bench::Options {
            runs: *m.get_one::<usize>("runs").expect("has a default"),
        }),
        Some(("plan", m)) => plan::run(plan::Options {
            json: m.get_flag("json"),
            tag: m.get_one::<String>("tag").cloned(),
            github_output: m.get_flag("github-output"),
        }),
        Some(("codegen", m)) => codegen::run(codegen::Options {
            check: m.get_flag("check"),
        }),
        Some(("rename", m)) => rename::run(rename::Options {
            name: m.get_one::<String>("name").expect("required").clone(),
            force: m.get_flag("force"),
            repository: m.get_one::<String>("repository").cloned(),
            description: m.get_one::<String>("description").cloned(),
            author: m.get_one::<String>("author").cloned(),
        }),
        Some(("setup", m)) => setup::run(setup::Options {
            targets: targets(m),
            verify_only: m.get_flag("verify-only"),
        }),
        Some(("publish", m)) => publish::run(publish::Options {
            dir: m.get_one::<PathBuf>("dir").expect("required").clone(),
            tag: m.get_one::<String>("tag").expect("required").clone(),
        }),
        Some(("sandbox-exec", m)) => {
            let args: Vec<String> = m
                .get_many::<String>("args")
                .into_iter()
                .flatten()
                .cloned()
                .collect();
            return sandbox::helper_main(&args);
        }
        Some(("merge", m)) => merge::run(merge::Options {
            jobs: m.get_one::<PathBuf>("jobs").expect("required").clone(),
            into: m.get_one::<PathBuf>("into").expect("required").clone(),
        }),
        _ => unreachable!("clap requires a known subcommand"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            // Mistakes in the configuration or command line are usage errors, like clap's.
            if err.chain().any(|e| e.is::<config::ConfigError>()) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
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
