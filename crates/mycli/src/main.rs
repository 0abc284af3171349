use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = mycli::Cli::parse();
    mycli::run(cli, &mut std::io::stdout().lock())
}
