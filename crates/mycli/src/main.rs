use std::process::ExitCode;

use clap::Parser;

// musl's allocator (mallocng) is small and hardened but slow, and serialises
// threads on a global lock: measured by `cargo xtask bench` on `mycli words`,
// the static musl release took 1.1x the glibc build's time on one thread and
// 2.4x on two. With mimalloc it runs at glibc speed or better (README, "Speed
// on musl"). Its `override` feature (Cargo.toml) makes libc's own malloc and
// free mimalloc's too: `read_dir` allocates each directory's buffer inside
// libc, and `mycli walk` took 1.59x glibc's time on two threads without it,
// 0.98x with it. As ripgrep does with jemalloc, only musl builds change: the
// system allocators of glibc, Windows and macOS are fast already.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = mycli::Cli::parse();
    mycli::run(cli, &mut std::io::stdout().lock())
}
