//! Writes the shell completions and the man page into a directory, from the
//! library's clap command, without running the app's binary. `cargo xtask
//! dist` runs it on the build machine and puts the files into every archive
//! (ripgrep's layout: `complete/`, `doc/`).
//!
//!     cargo run -p mycli --example docs -- OUT_DIR

use std::fs;
use std::path::PathBuf;

use clap_complete::Shell;

fn main() -> std::io::Result<()> {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: cargo run --example docs -- OUT_DIR");
        std::process::exit(2);
    };
    // The release's version alone: this build machine's target would be
    // wrong in every other target's archive.
    let mut cmd = mycli::command().version(env!("CARGO_PKG_VERSION"));
    let name = cmd.get_name().to_owned();

    let complete = out.join("complete");
    fs::create_dir_all(&complete)?;
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::PowerShell,
        Shell::Elvish,
    ] {
        clap_complete::generate_to(shell, &mut cmd, &name, &complete)?;
    }

    let doc = out.join("doc");
    fs::create_dir_all(&doc)?;
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut page)?;
    fs::write(doc.join(format!("{name}.1")), page)
}
