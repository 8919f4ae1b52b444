//! `GET /docs`: the interactive API reference, served by the binary with its assets
//! embedded. Headless Chromium loads it from a running server, with every host but the
//! loopback unresolvable, and the rendered page must list the contact endpoints.
//!
//! Chromium is Debian's `chromium` package, which `.ci/run` installs. With
//! `CONTACTD_WRITE_SCREENSHOT=1` the test also rewrites `docs/docs-page.png`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;

use crate::utils::TestServer;

const CHROMIUM: &str = "/usr/bin/chromium";

/// Runs headless Chromium on `url` with `extra` arguments and returns its stdout.
async fn chromium(url: &str, extra: &[&str]) -> String {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: this test needs Debian's `chromium` package, which .ci/run \
         installs (apt-get install chromium); install it the same way to run the test"
    );
    let profile = tempfile::tempdir().expect("a temporary Chromium profile");
    let profile_arg = format!("--user-data-dir={}", profile.path().display());
    let mut command = Command::new(CHROMIUM);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            // Any request to another host fails: the page must not need one.
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            &profile_arg,
            "--virtual-time-budget=10000",
        ])
        .args(extra)
        .arg(url)
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .expect("Chromium finishes within 120 s")
        .expect("running Chromium");
    assert!(
        output.status.success(),
        "Chromium failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn the_reference_page_renders_the_contact_endpoints() {
    let server = TestServer::start().await;
    let dom = chromium(&server.url("/docs"), &["--dump-dom"]).await;

    for path in [
        "/v2/contact",
        "/v2/contact/{ref}",
        "/v2/contact/upsert",
        "/v2/contact/batch",
        "/v2/contact/{ref}/conversations",
        "/v2/conversation/{conversation_id}/messages",
    ] {
        assert!(
            dom.contains(&format!("data-path=\"{path}\"")),
            "the page lists {path}; rendered DOM:\n{}",
            excerpt(&dom)
        );
    }
    for summary in [
        "List contacts",
        "Create a contact",
        "Get a contact",
        "Update a contact",
        "Delete a contact",
        "Upsert a contact",
        "Create, upsert or restore contacts in a batch",
    ] {
        assert!(
            dom.contains(summary),
            "the page shows \"{summary}\"; rendered DOM:\n{}",
            excerpt(&dom)
        );
    }
    assert!(dom.contains("contactd"), "the page shows the API's title");

    if std::env::var_os("CONTACTD_WRITE_SCREENSHOT").is_some() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/docs-page.png");
        let screenshot = format!("--screenshot={}", path.display());
        chromium(
            &server.url("/docs"),
            &[&screenshot, "--window-size=1280,1600"],
        )
        .await;
        eprintln!("wrote {}", path.display());
    }
}

#[tokio::test]
async fn the_reference_page_needs_no_other_host() {
    let server = TestServer::start().await;
    // `/docs` redirects to `/docs/`; the client follows.
    let page = server.request("GET", "/docs", None, None, None).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("swagger-ui"), "{}", page.text);
    for asset in [
        "/docs/",
        "/docs/swagger-ui.css",
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-initializer.js",
    ] {
        let resp = server.request("GET", asset, None, None, None).await;
        assert_eq!(resp.status, 200, "{asset} is served");
        let policy = resp.header("content-security-policy").unwrap_or("");
        assert!(
            policy.contains("default-src 'self'") && policy.contains("connect-src 'self'"),
            "{asset} forbids requests to other hosts: {policy:?}"
        );
    }
    let initializer = server
        .request("GET", "/docs/swagger-initializer.js", None, None, None)
        .await;
    assert!(
        initializer.text.contains("/v2/openapi.json"),
        "the page loads the served document: {}",
        initializer.text
    );
    assert!(
        initializer.text.contains("\"validatorUrl\": \"none\""),
        "the page asks no online validator: {}",
        initializer.text
    );
    for attribute in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
        assert!(
            !page.text.contains(attribute),
            "the page names no other host ({attribute}): {}",
            page.text
        );
    }
}

/// The part of a rendered page worth showing in a failure.
fn excerpt(dom: &str) -> &str {
    let end = dom
        .char_indices()
        .nth(4000)
        .map_or(dom.len(), |(index, _)| index);
    &dom[..end]
}
