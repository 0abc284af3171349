//! Downloading a published file in-process (ureq with rustls): no curl or
//! wget, which a machine with only rustup, cargo, git and a C linker lacks.
//! https, or http when the caller's URL is http; redirects to https only;
//! time and size limits. Proxies come from `HTTPS_PROXY`/`ALL_PROXY`/
//! `HTTP_PROXY` (and `NO_PROXY`), as for curl and cargo; trusted roots from
//! `CARGO_HTTP_CAINFO` or `SSL_CERT_FILE`, else the system's CA bundle (where
//! a company's TLS-intercepting proxy puts its certificate), else Mozilla's.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

/// Redirects followed: GitHub's release downloads take one, to its CDN.
const MAX_REDIRECTS: usize = 5;

/// Where distributions keep their CA bundle, as curl and Go look for it.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// A download that did not happen. `unreachable` says the server was never
/// reached (no network, no DNS, a firewall), so a caller can name the route
/// that works without one; its own advice is the caller's to give.
#[derive(Debug)]
pub(crate) struct Failed {
    pub(crate) url: String,
    pub(crate) reason: String,
    pub(crate) unreachable: bool,
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "downloading {}: {}", self.url, self.reason)
    }
}

impl std::error::Error for Failed {}

/// The body of `url`, at most `limit` bytes. The error is a [`Failed`].
pub(crate) fn fetch(url: &str, limit: u64) -> Result<Vec<u8>> {
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    if !scheme_ok {
        bail!("downloading {url}: only https:// and http:// addresses can be downloaded");
    }
    let agent = agent()?;
    let mut current = url.to_owned();
    for _ in 0..=MAX_REDIRECTS {
        let response = agent
            .get(&current)
            .call()
            .map_err(|e| failed(&current, &e))?;
        let status = response.status().as_u16();
        if (300..400).contains(&status) {
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            current = redirect(&current, location).map_err(|reason| Failed {
                url: current.clone(),
                reason,
                unreachable: false,
            })?;
            continue;
        }
        if status != 200 {
            return Err(Failed {
                url: current,
                reason: format!("the server answered HTTP {status}"),
                unreachable: false,
            }
            .into());
        }
        let too_long = |size: u64| Failed {
            url: current.clone(),
            reason: format!("it is {size} bytes or more, over the {limit} expected"),
            unreachable: false,
        };
        if let Some(size) = response.body().content_length().filter(|&n| n > limit) {
            return Err(too_long(size).into());
        }
        return response
            .into_body()
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => too_long(limit + 1),
                e => failed(&current, &e),
            })
            .map_err(Into::into);
    }
    Err(Failed {
        url: url.to_owned(),
        reason: format!("more than {MAX_REDIRECTS} redirects"),
        unreachable: false,
    }
    .into())
}

fn agent() -> Result<ureq::Agent> {
    let tls = TlsConfig::builder().root_certs(roots()?).build();
    let config = ureq::Agent::config_builder()
        .tls_config(tls)
        // Redirects are followed by `fetch`, which allows https targets only.
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .timeout_global(Some(Duration::from_secs(30 * 60)))
        .user_agent(concat!("cargo-xtask/", env!("CARGO_PKG_VERSION")))
        .build();
    Ok(config.into())
}

/// The roots TLS servers are checked against.
fn roots() -> Result<RootCerts> {
    for var in ["CARGO_HTTP_CAINFO", "SSL_CERT_FILE"] {
        if let Some(file) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            let file = PathBuf::from(file);
            let certs = read_bundle(&file).with_context(|| {
                format!(
                    "{var}={}: no certificate could be read from it; point it at a PEM file of CA certificates",
                    file.display()
                )
            })?;
            return Ok(RootCerts::new_with_certs(&certs));
        }
    }
    for bundle in SYSTEM_BUNDLES.iter().map(Path::new) {
        if let Ok(certs) = read_bundle(bundle) {
            return Ok(RootCerts::new_with_certs(&certs));
        }
    }
    Ok(RootCerts::WebPki)
}

/// The certificates of a PEM file; an error when it holds none.
fn read_bundle(file: &Path) -> Result<Vec<Certificate<'static>>> {
    let pem = std::fs::read(file)?;
    let certs: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(PemItem::Certificate(cert)) => Some(cert),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        bail!("no PEM certificate in it");
    }
    Ok(certs)
}

fn failed(url: &str, error: &ureq::Error) -> Failed {
    use ureq::Error as E;
    let unreachable = matches!(
        error,
        E::HostNotFound | E::ConnectionFailed | E::Io(_) | E::Timeout(_)
    );
    let reason = match error {
        E::HostNotFound => "the host name could not be resolved (no network?)".to_owned(),
        E::Tls(_) | E::Rustls(_) | E::Pem(_) => format!(
            "TLS failed: {error} (behind a proxy that intercepts TLS, set SSL_CERT_FILE or \
             CARGO_HTTP_CAINFO to its CA certificate)"
        ),
        _ => error.to_string(),
    };
    Failed {
        url: url.to_owned(),
        reason,
        unreachable,
    }
}

/// The address a redirect from `from` to `location` leads to: https only,
/// so a redirect cannot downgrade a download to plain http or another scheme.
fn redirect(from: &str, location: &str) -> Result<String, String> {
    let target = if location.is_empty() {
        return Err("a redirect without a Location".to_owned());
    } else if location.contains("://") {
        location.to_owned()
    } else if let Some(rest) = location.strip_prefix("//") {
        format!("https://{rest}")
    } else {
        let (scheme, rest) = from.split_once("://").unwrap_or(("https", from));
        let authority = rest.split('/').next().unwrap_or(rest);
        if location.starts_with('/') {
            format!("{scheme}://{authority}{location}")
        } else {
            let path = rest.split(['?', '#']).next().unwrap_or(rest);
            let dir = path.rfind('/').map_or(path, |i| &path[..=i]);
            let dir = if dir.contains('/') {
                dir.to_owned()
            } else {
                format!("{dir}/")
            };
            format!("{scheme}://{dir}{location}")
        }
    };
    if !target.starts_with("https://") {
        return Err(format!(
            "redirected to `{target}`; only redirects to https:// are followed"
        ));
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    /// Answers each connection to 127.0.0.1 with the next canned response.
    fn server(responses: Vec<Vec<u8>>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for (stream, response) in listener.incoming().zip(responses) {
                let mut stream = stream.unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let _ = stream.write_all(&response);
            }
        });
        format!("http://127.0.0.1:{port}")
    }

    fn ok(body: &[u8]) -> Vec<u8> {
        let mut r = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        r
    }

    fn failure(url: &str, limit: u64) -> Failed {
        let err = fetch(url, limit).unwrap_err();
        err.downcast::<Failed>().expect("a Failed")
    }

    #[test]
    fn a_body_within_the_limit_is_returned() {
        let url = server(vec![ok(b"hello")]);
        assert_eq!(fetch(&format!("{url}/f"), 5).unwrap(), b"hello");
    }

    #[test]
    fn a_longer_body_or_an_error_status_is_refused() {
        let url = server(vec![
            ok(b"too long"),
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
            // No Content-Length: only reading finds out.
            b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nstill too long".to_vec(),
        ]);
        let long = failure(&format!("{url}/f"), 4);
        assert!(long.reason.contains("over the 4 expected"), "{long}");
        let missing = failure(&format!("{url}/f"), 4);
        assert_eq!(missing.reason, "the server answered HTTP 404");
        assert!(!missing.unreachable);
        let chunked = failure(&format!("{url}/f"), 4);
        assert!(chunked.reason.contains("over the 4 expected"), "{chunked}");
    }

    #[test]
    fn a_redirect_to_plain_http_is_not_followed() {
        let url = server(vec![
            b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                .to_vec(),
        ]);
        let f = failure(&format!("{url}/f"), 10);
        assert!(f.reason.contains("only redirects to https://"), "{f}");
    }

    #[test]
    fn no_server_is_unreachable_and_other_schemes_are_refused() {
        // A port just freed: nothing listens there.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let f = failure(&format!("http://127.0.0.1:{port}/f"), 10);
        assert!(f.unreachable, "{f}");
        let err = fetch("file:///etc/passwd", 10).unwrap_err().to_string();
        assert!(err.contains("only https:// and http://"), "{err}");
    }

    #[test]
    fn redirects_resolve_against_the_current_address() {
        let from = "https://example.com/a/b/file?x=1";
        assert_eq!(
            redirect(from, "https://cdn.example.net/o").unwrap(),
            "https://cdn.example.net/o"
        );
        assert_eq!(redirect(from, "/root").unwrap(), "https://example.com/root");
        assert_eq!(
            redirect(from, "//cdn.example.net/o").unwrap(),
            "https://cdn.example.net/o"
        );
        assert_eq!(
            redirect(from, "sibling").unwrap(),
            "https://example.com/a/b/sibling"
        );
        assert!(redirect("http://example.com/a", "/b").is_err());
        assert!(redirect(from, "ftp://example.com/x").is_err());
        assert!(redirect(from, "").is_err());
    }

    #[test]
    fn a_named_ca_file_without_certificates_is_an_error_naming_it() {
        let dir = std::env::temp_dir().join(format!("xtask-download-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("empty.pem");
        std::fs::write(&file, "not a certificate\n").unwrap();
        let err = read_bundle(&file).unwrap_err().to_string();
        assert!(err.contains("no PEM certificate"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
