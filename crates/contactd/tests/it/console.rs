//! The web console (`/console`, contract §9), driven in Debian's Chromium through WebDriver
//! (`chromedriver` of the `chromium-driver` package, which `.ci/run` installs): a support
//! lead signs in with a key, searches, filters, opens, edits, deletes, imports and signs
//! out; another workspace stays out of reach; a form posted from another origin is refused.
//!
//! Every page passes axe-core (vendored in `tests/fixtures/axe.min.js`, never served)
//! without a serious or critical violation, at desktop width (1280 px) and at phone width
//! (360 px). With `CONTACTD_WRITE_SCREENSHOTS=1` the tests also rewrite the screenshots of
//! `docs/console/`, shown in `docs/console.md`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::utils::TestServer;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const AXE: &str = include_str!("../fixtures/axe.min.js");
const DESKTOP: (u32, u32) = (1280, 900);
const PHONE: (u32, u32) = (360, 780);

/// Chromium under WebDriver, stopped with the test.
struct Browser {
    client: Client,
    _driver: tokio::process::Child,
    base: String,
}

async fn browser(server: &TestServer) -> Browser {
    for program in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(program).exists(),
            "{program} is missing: the console tests need Debian's `chromium` and \
             `chromium-driver` packages, which .ci/run installs (apt-get install \
             --no-install-recommends chromium chromium-driver)"
        );
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let driver = tokio::process::Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("starting chromedriver");
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--hide-scrollbars", "--force-device-scale-factor=1",
                format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
                // Any request to another host fails: the console must not need one.
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            ],
        },
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    let mut connecting = None;
    for _ in 0..3 {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => {
                connecting = Some(client);
                break;
            }
            Err(e) => {
                eprintln!("WebDriver session failed, retrying: {e}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    let client = connecting.expect("a WebDriver session with Chromium");
    Browser {
        client,
        _driver: driver,
        base: server.url(""),
    }
}

impl Browser {
    async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("opening {path}: {e}"));
    }

    async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("the current URL");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Waits for an element, up to 20 s (a page loads after a click).
    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css} on this page: {e}"))
    }

    async fn text(&self, css: &str) -> String {
        self.find(css)
            .await
            .text()
            .await
            .expect("an element's text")
    }

    /// Waits until the element's text contains `expected`, up to 60 s (an import).
    async fn wait_text(&self, css: &str, expected: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if text.contains(expected) {
                return text;
            }
            if Instant::now() > deadline {
                let source = self.client.source().await.unwrap_or_default();
                panic!("{css} never said {expected:?}; it says {text:?}; page:\n{source}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn fill(&self, css: &str, value: &str) {
        let input = self.find(css).await;
        input.clear().await.expect("clearing an input");
        input.send_keys(value).await.expect("typing into an input");
    }

    async fn select(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("choosing {value} in {css}: {e}"));
    }

    async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    async fn cookie(&self) -> String {
        self.client
            .get_named_cookie("contactd_console")
            .await
            .expect("the console's session cookie")
            .value()
            .to_owned()
    }

    /// Runs axe-core on the page at desktop and phone widths, asserting no serious or
    /// critical violation; with CONTACTD_WRITE_SCREENSHOTS=1, saves both screenshots.
    async fn check_page(&self, name: &str) {
        for (width, height, label) in [
            (PHONE.0, PHONE.1, "phone"),
            (DESKTOP.0, DESKTOP.1, "desktop"),
        ] {
            self.client
                .set_window_size(width, height)
                .await
                .expect("resizing the window");
            tokio::time::sleep(Duration::from_millis(150)).await;
            self.axe(&format!("{name} at {label} width")).await;
            if std::env::var_os("CONTACTD_WRITE_SCREENSHOTS").is_some() {
                let png = self.client.screenshot().await.expect("a screenshot");
                let path = screenshots_dir().join(format!("{name}-{label}.png"));
                std::fs::write(&path, png).expect("writing a screenshot");
            }
        }
    }

    async fn axe(&self, what: &str) {
        self.client
            .execute(&format!("{AXE}\nreturn typeof axe;"), vec![])
            .await
            .expect("injecting axe-core");
        let found = self
            .client
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                axe.run(document, { resultTypes: ["violations"] })
                  .then(r => done(r.violations
                    .filter(v => v.impact === "serious" || v.impact === "critical")
                    .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                                 nodes: v.nodes.map(n => n.target.join(" ")) }))))
                  .catch(e => done([{ id: "axe-error", help: String(e) }]));"#,
                vec![],
            )
            .await
            .expect("running axe-core");
        assert_eq!(
            found,
            json!([]),
            "axe-core found serious or critical violations on {what}"
        );
    }
}

fn screenshots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/console");
    std::fs::create_dir_all(&dir).expect("creating docs/console");
    dir
}

async fn sign_in(browser: &Browser, key: &str) {
    browser.goto("/console").await;
    browser.wait_text("h1", "Sign in").await;
    browser.fill("#api_key", key).await;
    browser.click("main form button[type=submit]").await;
    browser.wait_text("h1", "Contacts").await;
}

/// A client that does not follow redirects, to see where the console sends a request.
fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

#[tokio::test]
async fn a_support_lead_searches_filters_edits_imports_and_signs_out_in_the_console() {
    let server = TestServer::start().await;
    let jose = server
        .create_contact(json!({"phone": "+14155550101", "first_name": "José", "last_name": "Núñez",
            "email": "jose@example.com", "preferred_channel": "whatsapp", "metadata": {"plan": "basic"}}))
        .await;
    let zoe = server
        .create_contact(
            json!({"phone": "+14155550102", "first_name": "Zoë", "last_name": "Adams",
            "metadata": {"plan": "premium", "preferences": {"language": "de"}}}),
        )
        .await;
    let ada = server
        .create_contact(
            json!({"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace",
            "metadata": {"plan": "basic"}}),
        )
        .await;
    let conversation = server
        .create_conversation(zoe["id"].as_str().unwrap(), "whatsapp")
        .await;
    let conversation_id = conversation["id"].as_str().unwrap();
    server
        .post_message(conversation_id, "inbound", "Hallo, ist mein Abo aktiv?")
        .await;
    server
        .post_message(conversation_id, "outbound", "Ja, Premium bis Dezember.")
        .await;
    server
        .post(
            "/v2/segment",
            &json!({"name": "Premium", "filter": {"metadata.plan": "premium"}}),
        )
        .await
        .expect(201);
    let browser = browser(&server).await;

    // Signed out, the console asks for a key.
    browser.goto("/console/contacts").await;
    browser.wait_text("h1", "Sign in").await;
    browser.check_page("sign-in").await;
    browser
        .fill("#api_key", "sk_live_notakeyofthisserver0000000000")
        .await;
    browser.click("main form button[type=submit]").await;
    browser.wait_text("#api_key-error", "not an API key").await;
    browser.fill("#api_key", &server.key).await;
    browser.click("main form button[type=submit]").await;
    browser.wait_text("h1", "Contacts").await;
    let who = browser.text(".who").await;
    assert!(
        who.contains("acme · live data"),
        "whose data this is: {who}"
    );
    let table = browser.text("table.contacts").await;
    for name in ["José Núñez", "Zoë Adams", "Ada Lovelace"] {
        assert!(table.contains(name), "{name} is listed: {table}");
    }
    assert!(
        browser.text(".segments").await.contains("Premium 1"),
        "the segment and its live count"
    );
    browser.check_page("contacts").await;
    // The keyboard's first stop is the skip link, which leads to the page's content.
    browser
        .find("body")
        .await
        .send_keys("\u{e004}")
        .await
        .expect("pressing Tab");
    let focused = browser.client.active_element().await.unwrap();
    assert_eq!(focused.text().await.unwrap(), "Skip to content");
    assert_eq!(
        browser
            .client
            .execute("return typeof htmx;", vec![])
            .await
            .unwrap(),
        json!("object"),
        "the embedded htmx loads under the Content-Security-Policy"
    );

    // A name with an accent, typed without it.
    browser.fill("#q", "jose").await;
    browser.click("form.filters button[type=submit]").await;
    browser.wait_text(".count", "1 contact").await;
    let table = browser.text("table.contacts").await;
    assert!(
        table.contains("José Núñez") && !table.contains("Ada"),
        "{table}"
    );

    // A metadata value.
    browser.fill("#q", "").await;
    // The filters fold away until one is used.
    assert_eq!(
        browser
            .find("details.more")
            .await
            .attr("open")
            .await
            .unwrap(),
        None
    );
    browser.click("form.filters summary").await;
    browser.fill("#meta_path", "plan").await;
    browser.select("#meta_op", "eq").await;
    browser.fill("#meta_value", "premium").await;
    browser.click("form.filters button[type=submit]").await;
    // The search before also counted one contact: wait for the filtered table itself.
    let table = browser.wait_text("table.contacts", "Zoë Adams").await;
    browser.wait_text(".count", "1 contact").await;
    assert!(!table.contains("José"), "{table}");
    browser.check_page("contacts-filtered").await;
    // A bad filter is the API's error, next to its control.
    browser.select("#meta_op", "gt").await;
    browser.fill("#meta_value", "cheap").await;
    browser.click("form.filters button[type=submit]").await;
    browser.find("#meta_value-error").await;

    // Open a contact: its fields, metadata and conversations.
    browser
        .goto("/console/contacts?meta_path=plan&meta_value=premium")
        .await;
    browser.click("table.contacts a").await;
    browser.wait_text("h1", "Zoë Adams").await;
    let zoe_id = zoe["id"].as_str().unwrap();
    assert_eq!(browser.path().await, format!("/console/contacts/{zoe_id}"));
    assert!(browser
        .text("pre.json")
        .await
        .contains("\"language\": \"de\""));
    assert!(browser
        .text("ol.messages")
        .await
        .contains("Ja, Premium bis Dezember."));
    browser.check_page("contact").await;

    // Edit a field, and the metadata as a merge patch.
    browser.click("a[href$='/edit']").await;
    browser.wait_text("h1", "Edit").await;
    browser.check_page("edit").await;
    browser.fill("#first_name", "Zoey").await;
    browser
        .fill(
            "#metadata",
            r#"{"preferences": {"language": null}, "tier": 2}"#,
        )
        .await;
    browser.click("main form.stack button[type=submit]").await;
    browser.wait_text("h1", "Zoey Adams").await;
    browser.wait_text(".notice", "Saved").await;
    let stored = server.get_contact(zoe_id).await;
    assert_eq!(stored["first_name"], "Zoey");
    assert_eq!(
        stored["metadata"],
        json!({"plan": "premium", "preferences": {}, "tier": 2})
    );

    // A field error: the API's message next to the field, with what it expects.
    browser.click("a[href$='/edit']").await;
    browser.fill("#phone", "4155550102").await;
    browser.click("main form.stack button[type=submit]").await;
    let error = browser.text("#phone-error").await;
    assert!(
        error.contains("E.164") && error.contains("+4155550102"),
        "{error}"
    );
    assert_eq!(
        browser
            .find("#phone")
            .await
            .attr("aria-invalid")
            .await
            .unwrap()
            .as_deref(),
        Some("true")
    );
    browser.check_page("edit-error").await;
    assert_eq!(
        server.get_contact(zoe_id).await["phone"],
        "+14155550102",
        "nothing changed"
    );

    // A conflict: the contact changed through the API while the form was open.
    browser
        .goto(&format!("/console/contacts/{zoe_id}/edit"))
        .await;
    browser.wait_text("h1", "Edit").await;
    server
        .update_contact(zoe_id, json!({"last_name": "Adams-Smith"}))
        .await;
    browser.fill("#last_name", "Adamson").await;
    browser.click("main form.stack button[type=submit]").await;
    browser
        .wait_text("#conflict", "changed by someone else")
        .await;
    browser.check_page("edit-conflict").await;
    assert_eq!(
        server.get_contact(zoe_id).await["last_name"],
        "Adams-Smith",
        "the API's change is kept"
    );

    // Create one, then delete it with confirmation.
    browser.goto("/console/contacts/new").await;
    browser.check_page("new").await;
    browser.fill("#phone", "+14155550199").await;
    browser.fill("#first_name", "Temp").await;
    browser.click("main form.stack button[type=submit]").await;
    browser.wait_text(".notice", "Contact created").await;
    let created_path = browser.path().await;
    let created_id = created_path
        .trim_start_matches("/console/contacts/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    browser.click("a[href$='/delete']").await;
    browser.wait_text("h1", "Delete Temp?").await;
    browser.check_page("delete").await;
    browser.click("button.danger").await;
    browser.wait_text(".notice", "deleted").await;
    server
        .get(&format!("/v2/contact/{created_id}"))
        .await
        .expect(404);
    // José is deleted from his page too.
    browser
        .goto(&format!(
            "/console/contacts/{}/delete",
            jose["id"].as_str().unwrap()
        ))
        .await;
    browser.click("button.danger").await;
    browser.wait_text(".notice", "deleted").await;
    server
        .get(&format!("/v2/contact/{}", jose["id"].as_str().unwrap()))
        .await
        .expect(404);

    // Import a CSV with bad rows, watch it finish, download the rejected rows.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("people.csv");
    std::fs::write(
        &file,
        "phone,email,first_name,metadata.plan,notes\n\
         +14155550201,grace@example.com,Grace,premium,\n\
         12345,bad@example.com,Bad phone,basic,\n\
         +14155550203,not-an-email,Bad email,basic,\n\
         +14155550204,,Linus,basic,\n",
    )
    .unwrap();
    browser.goto("/console/import").await;
    browser.check_page("import").await;
    browser
        .find("#file")
        .await
        .send_keys(file.to_str().unwrap())
        .await
        .expect("choosing the file");
    browser.click("main form.stack button[type=submit]").await;
    let done = browser.wait_text("#progress", "Done.").await;
    assert!(done.contains("2 of 4 rows imported, 2 rejected"), "{done}");
    assert!(
        done.contains("Phone number must be in E.164 format"),
        "{done}"
    );
    browser.check_page("import-done").await;
    let href = browser
        .find("#progress a[href$='rejected.csv']")
        .await
        .attr("href")
        .await
        .unwrap()
        .expect("a download link");
    let rejected = plain_client()
        .get(server.url(&href))
        .header(
            "Cookie",
            format!("contactd_console={}", browser.cookie().await),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status(), 200);
    let csv = rejected.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0], "row,error_field,error,phone,email,first_name,metadata.plan,notes",
        "{csv}"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[1].starts_with("2,phone,")
            && lines[1].ends_with("12345,bad@example.com,Bad phone,basic,"),
        "{csv}"
    );
    assert!(lines[2].starts_with("3,email,"), "{csv}");
    server.get("/v2/contact/+14155550201").await.expect(200);

    // A large file: its page follows the progress live (htmx polls), without a reload.
    let big = dir.path().join("many.csv");
    let mut rows = String::from("phone,first_name\n");
    for i in 0..15_000 {
        rows.push_str(&format!("+1212{:07},Many {i}\n", i));
    }
    std::fs::write(&big, rows).unwrap();
    browser.goto("/console/import").await;
    browser
        .find("#file")
        .await
        .send_keys(big.to_str().unwrap())
        .await
        .expect("choosing the file");
    browser.click("main form.stack button[type=submit]").await;
    let first = browser.text("#progress").await;
    browser
        .client
        .execute("window.notReloaded = true;", vec![])
        .await
        .unwrap();
    let done = browser.wait_text("#progress", "Done.").await;
    assert!(done.contains("15000 of 15000 rows imported"), "{done}");
    if first.contains("Importing") {
        assert_eq!(
            browser
                .client
                .execute("return window.notReloaded === true;", vec![])
                .await
                .unwrap(),
            json!(true),
            "the progress was updated in place"
        );
    } else {
        eprintln!("the large import was done before its page showed: {first}");
    }

    // Export the current filter.
    let export = plain_client()
        .get(server.url("/console/export.csv?meta_path=plan&meta_value=basic"))
        .header(
            "Cookie",
            format!("contactd_console={}", browser.cookie().await),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    let csv = export.text().await.unwrap();
    assert!(csv.starts_with("id,phone,email,first_name"), "{csv}");
    assert!(
        csv.contains(ada["id"].as_str().unwrap()) && csv.contains("Linus"),
        "{csv}"
    );
    assert!(!csv.contains(zoe_id), "only the filter's contacts: {csv}");

    // Sign out: the cookie no longer opens anything.
    let cookie = browser.cookie().await;
    browser.goto("/console/contacts").await;
    browser.click("header form button[type=submit]").await;
    browser.wait_text("h1", "Sign in").await;
    let after = plain_client()
        .get(server.url("/console/contacts"))
        .header("Cookie", format!("contactd_console={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 303, "the old cookie is refused");
    assert_eq!(after.headers()["location"], "/console/sign-in");
    browser.goto(&format!("/console/contacts/{zoe_id}")).await;
    browser.wait_text("h1", "Sign in").await;
    let _ = browser.client.close().await;
}

#[tokio::test]
async fn a_console_session_reaches_no_contact_of_another_workspace() {
    let server = TestServer::start().await;
    let other_key = server.new_key("globex", "live").await;
    let theirs = server
        .post_as(
            &other_key,
            "/v2/contact",
            &json!({"phone": "+14155550301", "first_name": "Hidden", "last_name": "Person"}),
        )
        .await
        .expect(201);
    let their_id = theirs["id"].as_str().unwrap();
    server
        .create_contact(json!({"phone": "+14155550302", "first_name": "Visible"}))
        .await;
    let browser = browser(&server).await;
    sign_in(&browser, &server.key).await;

    let table = browser.text("main").await;
    assert!(
        table.contains("Visible") && !table.contains("Hidden"),
        "{table}"
    );
    browser.fill("#q", "hidden").await;
    browser.click("form.filters button[type=submit]").await;
    browser.wait_text(".count", "0 contacts").await;
    for path in [
        format!("/console/contacts/{their_id}"),
        format!("/console/contacts/{their_id}/edit"),
        format!("/console/contacts/{their_id}/delete"),
        "/console/contacts/+14155550301".to_owned(),
    ] {
        browser.goto(&path).await;
        browser.wait_text("h1", "Not found").await;
    }
    browser.check_page("not-found").await;

    // Posting to their contact with this session's own token changes nothing.
    browser.goto("/console/contacts/new").await;
    let csrf = browser
        .find("input[name=csrf]")
        .await
        .attr("value")
        .await
        .unwrap()
        .unwrap();
    let cookie = browser.cookie().await;
    let client = plain_client();
    for (path, body) in [
        (
            format!("/console/contacts/{their_id}/delete"),
            format!("csrf={csrf}"),
        ),
        (
            format!("/console/contacts/{their_id}"),
            format!("csrf={csrf}&first_name=Taken&phone=%2B14155550301"),
        ),
    ] {
        let answer = client
            .post(server.url(&path))
            .header("Cookie", format!("contactd_console={cookie}"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 404, "{path}");
    }
    let export = client
        .get(server.url("/console/export.csv"))
        .header("Cookie", format!("contactd_console={cookie}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !export.contains(their_id) && export.contains("Visible"),
        "{export}"
    );
    let still = server
        .get_as(&other_key, &format!("/v2/contact/{their_id}"))
        .await
        .expect(200);
    assert_eq!(still["first_name"], "Hidden");
    let _ = browser.client.close().await;
}

/// Serves one HTML page on another port of the same host: another origin of the same
/// site, which SameSite=Strict lets the cookie go to.
async fn serve_page(html: String) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{html}",
                html.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    port
}

#[tokio::test]
async fn a_form_posted_to_the_console_from_another_origin_is_refused() {
    let server = TestServer::start().await;
    let victim = server
        .create_contact(json!({"phone": "+14155550401", "first_name": "Victim"}))
        .await;
    let victim_id = victim["id"].as_str().unwrap();
    let browser = browser(&server).await;
    sign_in(&browser, &server.key).await;
    let attack = format!(
        r#"<!DOCTYPE html><html lang="en"><title>Win a prize</title><form method="post" action="{}">
        <input type="hidden" name="csrf" value="guessed"><button id="go">Claim</button></form></html>"#,
        server.url(&format!("/console/contacts/{victim_id}/delete"))
    );
    let port = serve_page(attack).await;
    browser
        .client
        .goto(&format!("http://127.0.0.1:{port}/"))
        .await
        .unwrap();
    browser.click("#go").await;
    browser.wait_text("h1", "Cross-site request refused").await;
    server
        .get(&format!("/v2/contact/{victim_id}"))
        .await
        .expect(200);

    // The same post from the console's own origin without the session's token is refused too.
    let cookie = browser.cookie().await;
    let answer = plain_client()
        .post(server.url(&format!("/console/contacts/{victim_id}/delete")))
        .header("Cookie", format!("contactd_console={cookie}"))
        .header("Origin", server.url(""))
        .header("Sec-Fetch-Site", "same-origin")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("csrf=guessed")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 403);
    server
        .get(&format!("/v2/contact/{victim_id}"))
        .await
        .expect(200);
    let _ = browser.client.close().await;
}

#[tokio::test]
async fn the_console_list_pages_by_cursor_through_the_api_query() {
    let server = TestServer::start().await;
    let items: Vec<Value> = (0..30)
        .map(|i| json!({"phone": format!("+1415555{:04}", 1000 + i), "first_name": format!("P{i:02}")}))
        .collect();
    server
        .post(
            "/v2/contact/batch",
            &json!({"mode": "create", "contacts": items}),
        )
        .await
        .expect(200);
    let signed_in = sign_in_http(&server, &server.key).await;
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let get = |path: String| {
        let cookie = cookie.clone();
        let url = server.url(&path);
        async move {
            let answer = plain_client()
                .get(url)
                .header("Cookie", cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 200, "{path}");
            answer.text().await.unwrap()
        }
    };
    let first = get("/console/contacts?sort=full_name".into()).await;
    assert!(first.contains("30 contacts") && first.contains(">P00<") && first.contains(">P24<"));
    assert!(!first.contains(">P25<"));
    let next = first
        .split("rel=\"next\"")
        .next()
        .and_then(|before| before.rsplit("href=\"").next())
        .and_then(|href| href.split('"').next())
        .expect("a next page link")
        .replace("&amp;", "&");
    assert!(
        next.contains("cursor=") && next.contains("sort=full_name"),
        "{next}"
    );
    let second = get(next).await;
    assert!(second.contains(">P25<") && second.contains(">P29<") && !second.contains(">P24<"));
    assert!(!second.contains("rel=\"next\""), "the last page");

    // An unknown page of the console is a page too.
    let missing = plain_client()
        .get(server.url("/console/nothing-here"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.text().await.unwrap().contains("<h1>Not found</h1>"));
}

/// Signs in over plain HTTP; returns the session cookie.
async fn sign_in_http(server: &TestServer, key: &str) -> reqwest::Response {
    plain_client()
        .post(server.url("/console/sign-in"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("api_key={key}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_console_cookie_is_http_only_strict_and_a_revoked_key_ends_its_sessions() {
    let server = TestServer::start().await;
    let key = server.new_key("acme", "live").await;
    let signed_in = sign_in_http(&server, &key).await;
    assert_eq!(signed_in.status(), 303);
    let set_cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set_cookie.starts_with("contactd_console="), "{set_cookie}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let page = plain_client()
        .get(server.url("/console/contacts"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("<script>") && !html.contains(" style="),
        "no inline script or style"
    );
    for asset in ["/console/assets/htmx.min.js", "/console/assets/console.css"] {
        assert!(html.contains(asset), "{asset} is linked");
        server
            .request("GET", asset, None, None, None)
            .await
            .expect(200);
    }

    let prefix = &key[.."sk_live_".len() + 8];
    let revoked = server
        .sql(&format!(
            "UPDATE api_keys SET revoked_at = 1 WHERE prefix = '{prefix}'"
        ))
        .await;
    assert_eq!(revoked, 1);
    let after = plain_client()
        .get(server.url("/console/contacts"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 303, "a revoked key's session ends");
    assert_eq!(sign_in_http(&server, &key).await.status(), 401);
}
