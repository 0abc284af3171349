//! Downloading a published file with curl: https (or http) only, redirects
//! included, with time and size limits (runs curl).

use std::process::Command;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};

use crate::run::exec;

/// The body of `url`, at most `limit` bytes.
pub(crate) fn fetch(url: &str, limit: u64) -> Result<Vec<u8>> {
    if !exec::on_path("curl") {
        bail!(
            "downloading {url} needs curl, which is not on PATH; download the release's files \
             into a directory and give its path instead"
        );
    }
    let mut command = Command::new("curl");
    command
        .args(["--fail", "--silent", "--show-error", "--location"])
        // A redirect to file:// or another scheme would read what the release did not publish.
        .args(["--proto", "=https,http", "--proto-redir", "=https"])
        .args(["--max-time", "600", "--max-filesize"])
        .arg(limit.to_string())
        .arg("--")
        .arg(url);
    let out = exec::run(command, Duration::from_secs(610), limit as usize)
        .map_err(|stopped| anyhow!("downloading {url}: curl stopped: {stopped}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        bail!(
            "downloading {url}: {}",
            stderr.trim().lines().last().unwrap_or("curl failed")
        );
    }
    Ok(out.stdout)
}
