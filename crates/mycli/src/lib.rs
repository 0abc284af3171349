//! The sample app: a small CLI that greets and counts, built to be replaced.
//!
//! `--generate <KIND>` prints its shell completions and man page, as
//! ripgrep's `rg --generate` does: release archives carry them (see
//! `[dist.docs]` in dist-workspace.toml), and a `cargo install` user can
//! make them too.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand, ValueEnum};

pub mod walk;
pub mod words;

/// The version line: the package version and the target it was built for.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("BUILD_TARGET"), ")");

/// `--version --verbose`: everything needed to tell two builds apart.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\ntarget: ",
    env!("BUILD_TARGET"),
    "\ncommit: ",
    env!("BUILD_COMMIT"),
    "\nbuilt:  ",
    env!("BUILD_DATE"),
);

// The version flag is our own, not clap's, so that `--verbose` can select
// the long form while `--version` alone stays one short line.
#[derive(Debug, Parser)]
#[command(name = env!("CARGO_PKG_NAME"), version = VERSION, about, disable_version_flag = true)]
#[command(subcommand_required = false, arg_required_else_help = true)]
pub struct Cli {
    /// Print the version (with --verbose: target, commit and build date).
    #[arg(short = 'V', long, action = ArgAction::SetTrue)]
    pub version: bool,
    /// With --version: print the long form.
    #[arg(long, requires = "version")]
    pub verbose: bool,
    /// Print shell completions or the man page on stdout.
    #[arg(long, value_name = "KIND", value_enum, hide = true, exclusive = true)]
    pub generate: Option<Generate>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a greeting.
    Greet(GreetArgs),
    /// Count lines, words and bytes of files (or standard input).
    Count(CountArgs),
    /// Print the most frequent words of files, counted in parallel.
    Words(WordsArgs),
    /// Count the directories and files under directories, walked in parallel.
    Walk(WalkArgs),
}

/// What `--generate` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Generate {
    CompleteBash,
    CompleteZsh,
    CompleteFish,
    CompletePowershell,
    CompleteElvish,
    Man,
}

/// Writes the completions or man page `kind` asks for.
pub fn generate(kind: Generate, out: &mut impl Write) -> io::Result<()> {
    // The version alone: the target in `VERSION` is not the reader's business.
    let mut cmd = command().version(env!("CARGO_PKG_VERSION"));
    let name = cmd.get_name().to_owned();
    let shell = match kind {
        Generate::Man => return clap_mangen::Man::new(cmd).render(out),
        Generate::CompleteBash => clap_complete::Shell::Bash,
        Generate::CompleteZsh => clap_complete::Shell::Zsh,
        Generate::CompleteFish => clap_complete::Shell::Fish,
        Generate::CompletePowershell => clap_complete::Shell::PowerShell,
        Generate::CompleteElvish => clap_complete::Shell::Elvish,
    };
    clap_complete::generate(shell, &mut cmd, name, out);
    Ok(())
}

#[derive(Debug, Args)]
pub struct GreetArgs {
    /// Who to greet.
    #[arg(default_value = "world")]
    pub name: String,
    /// Greet in capitals.
    #[arg(long)]
    pub shout: bool,
}

#[derive(Debug, Args)]
pub struct CountArgs {
    /// Files to read; `-` or none reads standard input.
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct WordsArgs {
    /// Files to read; a directory stands for the files in it.
    #[arg(required_unless_present = "write_sample")]
    pub paths: Vec<PathBuf>,
    /// Threads to count on [default: one per CPU].
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,
    /// How many of the most frequent words to print.
    #[arg(short = 'n', long, value_name = "N", default_value_t = 10)]
    pub top: usize,
    /// Write sample text to count into DIR (8 files of 700 000 words).
    #[arg(long, value_name = "DIR", hide = true, exclusive = true)]
    pub write_sample: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct WalkArgs {
    /// Directories to walk.
    #[arg(required_unless_present = "write_tree")]
    pub dirs: Vec<PathBuf>,
    /// Threads to walk on [default: one per CPU].
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,
    /// Walk the trees this many times (to time a walk of a small tree).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub rounds: usize,
    /// Write a tree to walk into DIR (4 368 directories, 17 472 files).
    #[arg(long, value_name = "DIR", hide = true, exclusive = true)]
    pub write_tree: Option<PathBuf>,
}

/// The clap command, for generating completions and manual pages.
pub fn command() -> clap::Command {
    Cli::command()
}

/// What `--version` prints, with or without `--verbose`.
pub fn version_text(verbose: bool) -> String {
    let name = env!("CARGO_PKG_NAME");
    if verbose {
        format!("{name} {LONG_VERSION}\n")
    } else {
        format!("{name} {VERSION}\n")
    }
}

/// Line, word and byte counts of one input.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub lines: u64,
    pub words: u64,
    pub bytes: u64,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.lines += other.lines;
        self.words += other.words;
        self.bytes += other.bytes;
    }
}

/// Counts like `wc`: a word is a maximal run of non-whitespace bytes.
pub fn count(reader: impl Read) -> io::Result<Counts> {
    let mut reader = BufReader::new(reader);
    let mut counts = Counts::default();
    // A word can straddle two buffer refills, so the state carries over.
    let mut in_word = false;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(counts);
        }
        for &b in buf {
            if b == b'\n' {
                counts.lines += 1;
            }
            if b.is_ascii_whitespace() {
                in_word = false;
            } else if !in_word {
                in_word = true;
                counts.words += 1;
            }
        }
        counts.bytes += buf.len() as u64;
        let n = buf.len();
        reader.consume(n);
    }
}

/// Runs the parsed command, writing to `out`. Errors are reported on stderr
/// and turned into exit code 1; clap already uses 2 for usage errors.
pub fn run(cli: Cli, out: &mut impl Write) -> ExitCode {
    match execute(cli, out) {
        Ok(code) => code,
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{}: {err}", env!("CARGO_PKG_NAME"));
            ExitCode::FAILURE
        }
    }
}

fn execute(cli: Cli, out: &mut impl Write) -> io::Result<ExitCode> {
    if let Some(kind) = cli.generate {
        generate(kind, out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(command) = cli.command.filter(|_| !cli.version) else {
        out.write_all(version_text(cli.verbose).as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    };
    match command {
        Command::Greet(args) => {
            let greeting = format!("Hello, {}!", args.name);
            let greeting = if args.shout {
                greeting.to_uppercase()
            } else {
                greeting
            };
            writeln!(out, "{greeting}")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Count(args) => count_files(&args.files, out),
        Command::Words(args) => {
            if let Some(dir) = args.write_sample {
                words::write_sample(&dir, 8, 700_000)?;
                return Ok(ExitCode::SUCCESS);
            }
            let files = words::expand(&args.paths)?;
            let threads = args.threads.unwrap_or_else(available_threads);
            let freq = words::count_files(&files, threads)?;
            words::report(&freq, files.len(), args.top, out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Walk(args) => {
            if let Some(dir) = args.write_tree {
                walk::write_tree(&dir, 16, 3, 4)?;
                return Ok(ExitCode::SUCCESS);
            }
            let threads = args.threads.unwrap_or_else(available_threads);
            let mut tally = walk::Tally::default();
            for _ in 0..args.rounds.max(1) {
                tally = walk::walk(&args.dirs, threads)?;
            }
            walk::report(&tally, out)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn count_files(files: &[PathBuf], out: &mut impl Write) -> io::Result<ExitCode> {
    if files.is_empty() {
        let counts = count(io::stdin().lock())?;
        writeln!(
            out,
            "{:>8} {:>8} {:>8}",
            counts.lines, counts.words, counts.bytes
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut total = Counts::default();
    let mut failed = false;
    for path in files {
        let result = if path.as_os_str() == "-" {
            count(io::stdin().lock())
        } else {
            std::fs::File::open(path).and_then(count)
        };
        match result {
            Ok(counts) => {
                total.add(counts);
                let name = path.display();
                writeln!(
                    out,
                    "{:>8} {:>8} {:>8} {name}",
                    counts.lines, counts.words, counts.bytes
                )?;
            }
            // Like `wc`: report the bad file, keep counting the others, fail at the end.
            Err(err) => {
                eprintln!("{}: {}: {err}", env!("CARGO_PKG_NAME"), path.display());
                failed = true;
            }
        }
    }
    if files.len() > 1 {
        writeln!(
            out,
            "{:>8} {:>8} {:>8} total",
            total.lines, total.words, total.bytes
        )?;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_like_wc() {
        let c = count(&b"one two\n  three\nfour"[..]).unwrap();
        assert_eq!(
            c,
            Counts {
                lines: 2,
                words: 4,
                bytes: 20
            }
        );
    }

    #[test]
    fn empty_input_counts_nothing() {
        assert_eq!(count(&b""[..]).unwrap(), Counts::default());
    }

    #[test]
    fn command_is_well_formed() {
        command().debug_assert();
    }

    #[test]
    fn every_kind_of_doc_is_generated() {
        for kind in Generate::value_variants() {
            let mut out = Vec::new();
            generate(*kind, &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            assert!(text.contains("greet"), "{kind:?}: {text}");
        }
    }

    #[test]
    fn short_version_is_one_line_and_long_names_the_build() {
        assert_eq!(version_text(false).lines().count(), 1);
        let long = version_text(true);
        for label in ["target: ", "commit: ", "built:  "] {
            assert!(long.contains(label), "{long}");
        }
    }
}
