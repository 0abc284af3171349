//! The command line, typed: clap's builder (its derive costs ~5 s of cold
//! build, measured) with each argument id spelled once, as a constant, and
//! parsed into one [`Command`] value carrying each command's options.

use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches};

use crate::cmd;

/// What was asked for on the command line.
pub(crate) enum Command {
    Adopt(cmd::adopt::Options),
    Dist(cmd::dist::Options),
    Verify(cmd::verify::Options),
    Lipo(cmd::lipo::Options),
    Bench(cmd::bench::Options),
    Plan(cmd::plan::Options),
    CiScope(cmd::ci_scope::Options),
    Codegen(cmd::codegen::Options),
    Rename(cmd::rename::Options),
    Setup(cmd::setup::Options),
    Publish(cmd::publish::Options),
    Merge(cmd::merge::Options),
    Migrate(cmd::migrate::Options),
    Reproduce(cmd::reproduce::Options),
    TryInstall(cmd::try_install::Options),
    PublishCrate(cmd::publish_crate::Options),
    PublishTap(cmd::publish_tap::Options),
    /// Internal: the helper that builds verify's sandbox (`run::sandbox`).
    SandboxExec(Vec<String>),
}

const JSON: &str = "json";
const PATHS: &str = "paths";
const RUN: &str = "run";
const DEPS: &str = "deps";
const MAX_UNPACKED_MIB: &str = "max-unpacked-mib";
const RUNS: &str = "runs";
const TAG: &str = "tag";
const GITHUB_OUTPUT: &str = "github-output";
const CHECK: &str = "check";
const NAME: &str = "name";
const FORCE: &str = "force";
const REPOSITORY: &str = "repository";
const DESCRIPTION: &str = "description";
const AUTHOR: &str = "author";
const VERIFY_ONLY: &str = "verify-only";
const DIR: &str = "dir";
const ARGS: &str = "args";
const JOBS: &str = "jobs";
const INTO: &str = "into";
const TARGET: &str = "target";
const RELEASE: &str = "release";
const BASE: &str = "base";
const APP: &str = "app";
const DRY_RUN: &str = "dry-run";
const REBUILT: &str = "rebuilt";
const STATEMENT: &str = "statement";
const IMAGE: &str = "image";
const OUTPUT: &str = "output";
const SLICES: &str = "slices";

/// Parses the process's arguments; exits with clap's usage error (code 2)
/// on a mistake, or after printing help.
pub(crate) fn parse() -> Command {
    from_matches(&cli().get_matches())
}

fn from_matches(matches: &ArgMatches) -> Command {
    let (name, m) = matches.subcommand().expect("clap requires a subcommand");
    let string = |id: &str| m.get_one::<String>(id).cloned();
    let path = |id: &str| m.get_one::<PathBuf>(id).cloned().expect("required");
    let strings = |id: &str| -> Vec<String> {
        m.get_many::<String>(id)
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    };
    match name {
        "dist" => Command::Dist(cmd::dist::Options {
            targets: strings(TARGET),
            json: m.get_flag(JSON),
        }),
        "verify" => Command::Verify(cmd::verify::Options {
            paths: m
                .get_many::<PathBuf>(PATHS)
                .into_iter()
                .flatten()
                .cloned()
                .collect(),
            run: m.get_flag(RUN),
            deps: m.get_flag(DEPS),
            max_unpacked_mib: m.get_one::<u64>(MAX_UNPACKED_MIB).copied(),
        }),
        "lipo" => Command::Lipo(cmd::lipo::Options {
            output: path(OUTPUT),
            slices: m
                .get_many::<PathBuf>(SLICES)
                .into_iter()
                .flatten()
                .cloned()
                .collect(),
        }),
        "bench" => Command::Bench(cmd::bench::Options {
            runs: *m.get_one::<usize>(RUNS).expect("has a default"),
        }),
        "plan" => Command::Plan(cmd::plan::Options {
            json: m.get_flag(JSON),
            tag: string(TAG),
            github_output: m.get_flag(GITHUB_OUTPUT),
        }),
        "ci-scope" => Command::CiScope(cmd::ci_scope::Options {
            base: string(BASE),
            github_output: m.get_flag(GITHUB_OUTPUT),
        }),
        "codegen" => Command::Codegen(cmd::codegen::Options {
            check: m.get_flag(CHECK),
        }),
        "rename" => Command::Rename(cmd::rename::Options {
            name: string(NAME).expect("required"),
            force: m.get_flag(FORCE),
            repository: string(REPOSITORY),
            description: string(DESCRIPTION),
            author: string(AUTHOR),
        }),
        "setup" => Command::Setup(cmd::setup::Options {
            targets: strings(TARGET),
            verify_only: m.get_flag(VERIFY_ONLY),
        }),
        "publish" => Command::Publish(cmd::publish::Options {
            dir: path(DIR),
            tag: string(TAG).expect("required"),
        }),
        "adopt" => Command::Adopt(cmd::adopt::Options {
            dir: path(DIR),
            app: string(APP),
        }),
        "migrate" => Command::Migrate(cmd::migrate::Options {
            app: string(APP),
            dry_run: m.get_flag(DRY_RUN),
        }),
        "merge" => Command::Merge(cmd::merge::Options {
            jobs: path(JOBS),
            into: path(INTO),
            rebuilt: m.get_one::<PathBuf>(REBUILT).cloned(),
        }),
        "reproduce" => Command::Reproduce(cmd::reproduce::Options {
            release: string(RELEASE),
            targets: strings(TARGET),
            statement: m.get_one::<PathBuf>(STATEMENT).cloned(),
            image: string(IMAGE),
        }),
        "publish-crate" => Command::PublishCrate(cmd::publish_crate::Options {
            dry_run: m.get_flag(DRY_RUN),
        }),
        "publish-tap" => Command::PublishTap(cmd::publish_tap::Options { dir: path(DIR) }),
        "try-install" => Command::TryInstall(cmd::try_install::Options {
            dir: m.get_one::<PathBuf>(DIR).cloned(),
        }),
        "sandbox-exec" => Command::SandboxExec(strings(ARGS)),
        other => unreachable!("clap knows no subcommand {other}"),
    }
}

fn cli() -> clap::Command {
    clap::Command::new("xtask")
        .about("Release tooling: static builds, archives, checksums, verification")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(
            clap::Command::new("dist")
                .about("Build, package and verify release archives into target/dist.out")
                .arg(targets_arg("Only this target (repeatable); must be in [dist].targets"))
                .arg(flag(JSON, "Print the manifest as JSON on stdout instead of the table")),
        )
        .subcommand(
            clap::Command::new("verify")
                .about("Check target/dist.out, or explain whether the given binaries or archives run everywhere")
                .arg(Arg::new(PATHS).value_name("PATH").num_args(0..).value_parser(clap::value_parser!(PathBuf)))
                .arg(flag(RUN, "Also run the binaries of the given paths, in a sandbox (target/dist.out's always run)"))
                .arg(flag(DEPS, "List every crate each binary says it was built from (its cargo-auditable data)"))
                .arg(
                    Arg::new(MAX_UNPACKED_MIB)
                        .long(MAX_UNPACKED_MIB)
                        .value_name("MIB")
                        .value_parser(clap::value_parser!(u64).range(1..))
                        .help("What an archive may unpack to, in MiB (default: 1024 in all, 512 a member)"),
                ),
        )
        .subcommand(
            clap::Command::new("bench")
                .about("Time packaging, a no-op dist and verify against the bare tools, on the current target/dist.out")
                .arg(
                    Arg::new(RUNS)
                        .long(RUNS)
                        .value_name("N")
                        .default_value("5")
                        .value_parser(clap::value_parser!(usize))
                        .help("Runs of each measurement; the median, min and max are reported"),
                ),
        )
        .subcommand(
            clap::Command::new("plan")
                .about("Show what a release builds, where, and which tag releases it")
                .arg(flag(JSON, "Print the plan and the build matrix as JSON"))
                .arg(
                    Arg::new(TAG)
                        .long(TAG)
                        .value_name("TAG")
                        .help("Fail unless TAG is the release tag of the app's version"),
                )
                .arg(flag(
                    GITHUB_OUTPUT,
                    "Write matrix, publish and tag to $GITHUB_OUTPUT; a tag push (GITHUB_REF_TYPE=tag) is checked",
                )),
        )
        .subcommand(
            clap::Command::new("ci-scope")
                .about("Say whether CI runs the xtask's own suite for the change since BASE (ci.yml's changes job)")
                .arg(
                    Arg::new(BASE)
                        .long(BASE)
                        .value_name("REV")
                        .help("The commit to compare HEAD with (default with --github-output: the pull request's base or the push's `before`); empty or all zeros: run everything"),
                )
                .arg(flag(GITHUB_OUTPUT, "Also write xtask=true|false to $GITHUB_OUTPUT")),
        )
        .subcommand(
            clap::Command::new("codegen")
                .visible_alias("workflow")
                .about("Write the files generated from dist-workspace.toml: .github/workflows/{release,ci}.yml and the app's cargo-binstall metadata")
                .arg(flag(CHECK, "Write nothing; fail with a diff if the checked-in files are out of date")),
        )
        .subcommand(
            clap::Command::new("rename")
                .about("Rename the app (crate, package, binary, every mention) and set its repository and metadata")
                .arg(Arg::new(NAME).value_name("NEW_NAME").required(true).help("The new package and binary name"))
                .arg(flag(FORCE, "Rename even with uncommitted changes in the git tree"))
                .arg(Arg::new(REPOSITORY).long(REPOSITORY).value_name("URL").help("https://github.com/<owner>/<repo>: where releases are published"))
                .arg(Arg::new(DESCRIPTION).long(DESCRIPTION).value_name("TEXT").help("The package description"))
                .arg(Arg::new(AUTHOR).long(AUTHOR).value_name("NAME").help("The package author, e.g. \"Ada <ada@example.com>\"")),
        )
        .subcommand(
            clap::Command::new("adopt")
                .about("Add the release tooling to an existing project at DIR (run from a template checkout); keeps the project's own toolchain pin, cargo config and workflows")
                .arg(Arg::new(DIR).value_name("DIR").required(true).value_parser(clap::value_parser!(PathBuf)).help("The project's root directory"))
                .arg(Arg::new(APP).long(APP).value_name("PACKAGE").help("The package to release, when several have binaries")),
        )
        .subcommand(
            clap::Command::new("migrate")
                .about("Convert cargo-dist's configuration (dist-workspace.toml or [workspace.metadata.dist]) into this xtask's, naming every key that does not carry over")
                .arg(Arg::new(APP).long(APP).value_name("PACKAGE").help("The package to release, when several have binaries"))
                .arg(flag(DRY_RUN, "Print the converted dist-workspace.toml and the account of each key; write nothing")),
        )
        .subcommand(
            clap::Command::new("setup")
                .about("Install the rustup targets and system tools that building and verifying need here")
                .arg(targets_arg("Only this target (repeatable); default: every configured target"))
                .arg(flag(VERIFY_ONLY, "Only what `verify` needs: no rustup targets or linkers")),
        )
        .subcommand(
            clap::Command::new("publish")
                .about("Publish a verified release directory as the GitHub release of TAG (through gh): a draft filled, downloaded back and verified, then published; a re-run finishes a draft and never changes a published release")
                .arg(
                    Arg::new(DIR)
                        .value_name("DIR")
                        .required(true)
                        .value_parser(clap::value_parser!(PathBuf))
                        .help("The release directory, as `merge` or `dist` wrote it"),
                )
                .arg(
                    Arg::new(TAG)
                        .long(TAG)
                        .value_name("TAG")
                        .required(true)
                        .help("The release tag; it must be the tag of the manifest's version"),
                ),
        )
        .subcommand(
            // Internal: the helper that builds verify's sandbox (see run/sandbox).
            clap::Command::new("sandbox-exec").hide(true).arg(
                Arg::new(ARGS)
                    .num_args(0..)
                    .trailing_var_arg(true)
                    .allow_hyphen_values(true),
            ),
        )
        .subcommand(
            clap::Command::new("merge")
                .about("Merge the release workflow's per-target outputs into one release directory")
                .arg(
                    Arg::new(JOBS)
                        .value_name("JOBS_DIR")
                        .required(true)
                        .value_parser(clap::value_parser!(PathBuf))
                        .help("A directory of `dist` outputs, one subdirectory per build job"),
                )
                .arg(
                    Arg::new(INTO)
                        .long(INTO)
                        .value_name("DIR")
                        .required(true)
                        .value_parser(clap::value_parser!(PathBuf))
                        .help("The new release directory (must be empty or absent)"),
                )
                .arg(
                    Arg::new(REBUILT)
                        .long(REBUILT)
                        .value_name("DIR")
                        .value_parser(clap::value_parser!(PathBuf))
                        .help("The rebuild jobs' statements (`reproduce --statement`): merge only when every Linux file was rebuilt identical, and publish dist-rebuild.json"),
                ),
        )
        .subcommand(
            clap::Command::new("reproduce")
                .about("Rebuild a published release from this checkout (its commit) and compare it archive by archive")
                .arg(
                    Arg::new(RELEASE)
                        .value_name("DIR|URL")
                        .help("Where the release's SHA256SUMS and dist-manifest.json are (default: the GitHub release of the app's version)"),
                )
                .arg(targets_arg("Only this target of the release (repeatable)"))
                .arg(
                    Arg::new(STATEMENT)
                        .long(STATEMENT)
                        .value_name("FILE")
                        .value_parser(clap::value_parser!(PathBuf))
                        .help("When every file rebuilt identical, write which to FILE (for `merge --rebuilt`)"),
                )
                .arg(
                    Arg::new(IMAGE)
                        .long(IMAGE)
                        .value_name("NAME")
                        .requires(STATEMENT)
                        .help("The image this rebuild runs in, as the statement should name it"),
                ),
        )
        .subcommand(
            clap::Command::new("lipo")
                .about("Make one universal macOS binary of one Mach-O per CPU, as Apple's `lipo -create` does, on any machine")
                .arg(
                    Arg::new(OUTPUT)
                        .short('o')
                        .long(OUTPUT)
                        .value_name("FILE")
                        .required(true)
                        .value_parser(clap::value_parser!(PathBuf))
                        .help("Where to write the universal binary"),
                )
                .arg(
                    Arg::new(SLICES)
                        .value_name("SLICE")
                        .num_args(2..)
                        .required(true)
                        .value_parser(clap::value_parser!(PathBuf))
                        .help("The Mach-O binary of each CPU (e.g. x86_64-apple-darwin's and aarch64-apple-darwin's)"),
                ),
        )
        .subcommand(
            clap::Command::new("publish-crate")
                .about("Publish the app on crates.io (`publish-crate = true`; token: CARGO_REGISTRY_TOKEN); a version already there is skipped")
                .arg(flag(DRY_RUN, "Package and build it as crates.io would; upload nothing")),
        )
        .subcommand(
            clap::Command::new("publish-tap")
                .about("Push the release's Homebrew formula to the tap `homebrew-tap` names (token: HOMEBREW_TAP_TOKEN)")
                .arg(
                    Arg::new(DIR)
                        .value_name("DIR")
                        .required(true)
                        .value_parser(clap::value_parser!(PathBuf))
                        .help("The release directory, as `merge` or `dist` wrote it"),
                ),
        )
        .subcommand(
            clap::Command::new("try-install")
                .about("Install the release with each installer this machine runs, from a local server, run it, uninstall it")
                .arg(
                    Arg::new(DIR)
                        .value_name("DIR")
                        .value_parser(clap::value_parser!(PathBuf))
                        .help("The release directory (default: target/dist.out)"),
                ),
        )
}

fn targets_arg(help: &'static str) -> Arg {
    Arg::new(TARGET)
        .long(TARGET)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        cli().debug_assert();
    }

    #[test]
    fn arguments_reach_the_options() {
        let parse = |args: &[&str]| from_matches(&cli().try_get_matches_from(args).unwrap());
        let Command::Dist(dist) =
            parse(&["xtask", "dist", "--target", "a", "--target", "b", "--json"])
        else {
            panic!("not dist")
        };
        assert_eq!(dist.targets, ["a", "b"]);
        assert!(dist.json);
        let Command::Rename(rename) = parse(&["xtask", "rename", "new", "--author", "Ada"]) else {
            panic!("not rename")
        };
        assert_eq!(
            (rename.name.as_str(), rename.author.as_deref()),
            ("new", Some("Ada"))
        );
        assert!(!rename.force && rename.repository.is_none());
        let Command::Verify(verify) = parse(&[
            "xtask",
            "verify",
            "x.tar.xz",
            "--run",
            "--max-unpacked-mib",
            "7",
        ]) else {
            panic!("not verify")
        };
        assert_eq!(verify.paths, [PathBuf::from("x.tar.xz")]);
        assert_eq!((verify.run, verify.max_unpacked_mib), (true, Some(7)));
        let Command::SandboxExec(args) = parse(&["xtask", "sandbox-exec", "--", "-x", "y"]) else {
            panic!("not sandbox-exec")
        };
        assert_eq!(args, ["-x", "y"]);
    }
}
