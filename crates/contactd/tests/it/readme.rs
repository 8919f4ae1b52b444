//! The README's examples run verbatim, in order (issue 14, item 6): the shell block of
//! "The API at a glance" is run by bash against a fresh server, with only the key and the
//! address put in, and every request must succeed (`curl --fail-with-body`).

use std::process::Command;

use crate::utils::TestServer;

/// The first ```sh block after the heading `heading` in README.md.
fn shell_block(heading: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    let readme = std::fs::read_to_string(path).expect("README.md");
    let section = readme
        .split_once(heading)
        .unwrap_or_else(|| panic!("README has no {heading:?}"))
        .1;
    let block = section
        .split_once("```sh\n")
        .expect("a sh block after the heading")
        .1;
    block
        .split_once("```")
        .expect("the block's end")
        .0
        .to_owned()
}

#[tokio::test]
async fn the_api_at_a_glance_runs_verbatim() {
    let server = TestServer::start().await;
    let block = shell_block("## The API at a glance");
    assert!(block.contains("KEY=sk_test_…"), "the key line:\n{block}");
    let script = block
        .replace("KEY=sk_test_…", &format!("KEY={}", server.key))
        .replace("localhost:8080", &server.addr.to_string());
    let prelude = "set -euo pipefail\n\
                   curl() { command curl --silent --show-error --fail-with-body \"$@\"; echo; }\n";
    let output = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg("-c")
            .arg(format!("{prelude}{script}"))
            .output()
            .expect("running bash")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the README's examples failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    // Every search, count and list found what the examples before it made.
    assert!(
        !stdout.contains("\"total\":0"),
        "an example found nothing:\n{stdout}"
    );
    assert!(
        stdout.contains("\"text\":\"Hi John\""),
        "the message was sent:\n{stdout}"
    );
    assert!(
        stdout.contains("\"status\":\"deleted\""),
        "the contact was deleted at the end:\n{stdout}"
    );
}
