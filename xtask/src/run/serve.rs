//! A release directory served over HTTP on 127.0.0.1, as a release host
//! serves it, for installers to download from (`try-install`): plain GETs
//! of the directory's plain files, nothing else, until the process ends.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;

use anyhow::{Context, Result};

/// Starts serving `dir`; returns its base URL (`http://127.0.0.1:PORT`).
pub(crate) fn serve(dir: &Path) -> Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").context("listening on 127.0.0.1")?;
    let port = listener.local_addr()?.port();
    let dir = dir.to_owned();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let dir = dir.clone();
            std::thread::spawn(move || answer(stream, &dir));
        }
    });
    Ok(format!("http://127.0.0.1:{port}"))
}

fn answer(mut stream: TcpStream, dir: &Path) {
    let mut reader = match stream.try_clone() {
        Ok(s) => BufReader::new(s),
        Err(_) => return,
    };
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    // The headers are read and ignored: a GET has no body.
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let mut parts = request.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let name = target.strip_prefix('/').unwrap_or("");
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '%', '?'])
        && !name.chars().any(char::is_control);
    let body = (method == "GET" && plain)
        .then(|| std::fs::read(dir.join(name)).ok())
        .flatten();
    let _ = match body {
        Some(body) => stream
            .write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            )
            .and_then(|()| stream.write_all(&body)),
        None => stream.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        ),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn get(url: &str, path: &str) -> String {
        let address = url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    #[test]
    fn serves_plain_files_and_nothing_else() {
        let dir = std::env::temp_dir().join(format!("xtask-serve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("SHA256SUMS"), "sums\n").unwrap();
        std::fs::write(dir.join(".hidden"), "no").unwrap();
        let url = serve(&dir).unwrap();
        assert!(get(&url, "/SHA256SUMS").ends_with("\r\n\r\nsums\n"));
        for path in ["/.hidden", "/../etc/passwd", "/missing", "/"] {
            assert!(get(&url, path).starts_with("HTTP/1.1 404"), "{path}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
