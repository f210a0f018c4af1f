//! The web UI in a real browser: headless Chromium driven over WebDriver (chromedriver, through
//! `fantoccini`) against a real `hereby serve`, one person per browser session.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian's `chromium` and
//! `chromium-driver`; `HEREBY_CHROMIUM` and `HEREBY_CHROMEDRIVER` override the paths). Without
//! them each test prints that it was skipped and passes, unless `HEREBY_TEST_BROWSER=required`
//! (as in CI), when it fails. Screenshots go to `target/browser-artifacts/`.

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::api::Server;

/// How long a wait lasts before the test fails.
const WAIT: Duration = Duration::from_secs(10);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(100);

/// The first admin, as `Server::start` creates it with `hereby init --admin root`.
const ADMIN: &str = "root";
const ADMIN_PASSWORD: &str = "correct horse battery staple";
const BOB_PASSWORD: &str = "bob's long enough password";

const CHROME_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
];

/// A chromedriver of this test's own, on a free loopback port, in a process group of its own
/// so that dropping it ends chromedriver and every browser it started.
struct Browser {
    chromedriver: Child,
    port: u16,
    chromium: PathBuf,
    /// One profile directory per session, removed after the processes are gone.
    profiles: std::sync::Mutex<Vec<tempfile::TempDir>>,
}

fn tool(variable: &str, default: &str) -> PathBuf {
    std::env::var_os(variable).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

impl Browser {
    /// Starts chromedriver; `None` (after saying so on stderr) when the browser is not
    /// installed and the browser tests are not required.
    fn start() -> Option<Self> {
        let chromedriver = tool("HEREBY_CHROMEDRIVER", "/usr/bin/chromedriver");
        let chromium = tool("HEREBY_CHROMIUM", "/usr/bin/chromium");
        if !chromedriver.is_file() || !chromium.is_file() {
            let required = std::env::var("HEREBY_TEST_BROWSER").is_ok_and(|v| v == "required");
            assert!(
                !required,
                "HEREBY_TEST_BROWSER=required but {} or {} is missing \
                 (apt-get install chromium chromium-driver)",
                chromium.display(),
                chromedriver.display()
            );
            eprintln!(
                "skipped: browser tests need chromium and chromedriver (apt-get install chromium chromium-driver)"
            );
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(&chromedriver)
            .args([format!("--port={port}"), "--log-level=WARNING".to_owned()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", chromedriver.display()));
        let deadline = Instant::now() + WAIT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("chromedriver exited before listening on port {port}: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on port {port} within {WAIT:?}"
            );
            std::thread::sleep(POLL);
        }
        Some(Self {
            chromedriver: child,
            port,
            chromium,
            profiles: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// A new browser session: a Chromium of its own with a fresh profile, so its own cookies.
    async fn session(&self) -> Client {
        let profile = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = CHROME_ARGS.iter().map(|&a| a.to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        self.profiles.lock().unwrap().push(profile);
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": self.chromium.to_str().unwrap(),
                "args": args,
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .unwrap_or_else(|error| panic!("cannot open a browser session: {error}"))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The whole process group: chromedriver and the browsers it started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.chromedriver.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.chromedriver.kill();
        let _ = self.chromedriver.wait();
    }
}

/// `<workspace>/target` (or `$CARGO_TARGET_DIR`) `/browser-artifacts`, created.
fn artifacts() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = manifest
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| manifest.join("../.."));
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    };
    let dir = target.join("browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Saves what `client` shows as `target/browser-artifacts/<name>.png`.
async fn screenshot(client: &Client, name: &str) -> PathBuf {
    let png = client.screenshot().await.unwrap();
    let path = artifacts().join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap();
    path
}

/// The page's `<main>` (or its start), for failure messages.
async fn page_snippet(client: &Client) -> String {
    let url = client
        .current_url()
        .await
        .map_or_else(|e| format!("(no URL: {e})"), |u| u.to_string());
    let source = client.source().await.unwrap_or_default();
    let start = source.find("<main").unwrap_or(0);
    let snippet: String = source[start..].chars().take(4000).collect();
    format!("page {url}:\n{snippet}")
}

/// A failure message: `what`, the page, and a screenshot named after the test.
async fn failure(client: &Client, what: &str) -> String {
    let name = std::thread::current()
        .name()
        .unwrap_or("browser")
        .replace("::", "-");
    let shot = screenshot(client, &format!("failed-{name}")).await;
    let page = page_snippet(client).await;
    format!("{what} (screenshot {})\n{page}", shot.display())
}

/// Waits until an element matches `css` and returns the first.
async fn wait_for(client: &Client, css: &str, timeout: Duration) -> Element {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(element) = client.find(Locator::Css(css)).await {
            return element;
        }
        if Instant::now() >= deadline {
            panic!(
                "{}",
                failure(
                    client,
                    &format!("no element matches `{css}` after {timeout:?}")
                )
                .await
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until an element matching `css` has `text` in its rendered text and returns it.
async fn wait_for_text(client: &Client, css: &str, text: &str, timeout: Duration) -> Element {
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    loop {
        seen.clear();
        // Elements can be swapped out between finding and reading them: that is "not yet".
        for element in client.find_all(Locator::Css(css)).await.unwrap_or_default() {
            if let Ok(found) = element.text().await {
                if found.contains(text) {
                    return element;
                }
                seen.push(found);
            }
        }
        if Instant::now() >= deadline {
            panic!(
                "{}",
                failure(
                    client,
                    &format!("no `{css}` contains {text:?} after {timeout:?}; they read {seen:?}"),
                )
                .await
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until the page's path satisfies `wanted`; returns the path.
async fn wait_for_path(client: &Client, what: &str, wanted: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(url) = client.current_url().await
            && wanted(url.path())
        {
            return url.path().to_owned();
        }
        if Instant::now() >= deadline {
            panic!(
                "{}",
                failure(client, &format!("the page never got to {what}")).await
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Opens the closed `<details>` around `element`, as a person would, by clicking its summary.
async fn reveal(element: &Element) {
    if let Ok(summary) = element
        .find(Locator::XPath("ancestor::details[not(@open)][1]/summary"))
        .await
    {
        summary.click().await.unwrap();
    }
}

/// Types `text` into the field matching `css`, replacing what it held.
async fn fill(client: &Client, css: &str, text: &str) {
    let field = wait_for(client, css, WAIT).await;
    reveal(&field).await;
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn click(client: &Client, css: &str) {
    let element = wait_for(client, css, WAIT).await;
    reveal(&element).await;
    element.click().await.unwrap();
}

/// Clicks, then accepts a confirmation dialog if the click opened one.
async fn click_and_confirm(client: &Client, css: &str) {
    click(client, css).await;
    let _ = client.accept_alert().await;
}

async fn script(client: &Client, js: &str) -> Value {
    client.execute(js, vec![]).await.unwrap()
}

/// Waits until htmx has no request in flight (a boosted form's navigation, a live refresh),
/// so that the next click lands on the page that stays rather than on one about to be
/// swapped out.
async fn settled(client: &Client) {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        let busy = script(
            client,
            "return document.querySelector('.htmx-request') !== null;",
        )
        .await;
        if busy == Value::Bool(false) {
            return;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Signs in through `/login` and waits for the dashboard.
async fn sign_in(client: &Client, base: &str, user: &str, password: &str) {
    client.goto(&format!("{base}/login")).await.unwrap();
    fill(client, "form#login input[name=username]", user).await;
    fill(client, "form#login input[name=password]", password).await;
    click(client, "form#login button[type=submit]").await;
    wait_for_path(client, "the dashboard after signing in", |path| path == "/").await;
    wait_for(client, "form#logout", WAIT).await;
}

/// Sets `user`'s password through the API, as the admin.
fn set_password(server: &Server, user: &str, password: &str) {
    let (status, body) = server.call(
        "PUT",
        &format!("/api/v1/users/{user}/password"),
        Some(&server.admin),
        Some(&json!({ "password": password }).to_string()),
        &[],
    );
    assert!(
        (200..300).contains(&status),
        "setting {user}'s password: {status} {body}"
    );
}

/// Declares an incident through the dashboard's button and the declare form; returns the
/// incident page's path.
async fn declare(client: &Client, title: &str) -> String {
    click(client, "a#declare").await;
    wait_for_path(client, "the declare form", |path| path == "/incidents/new").await;
    fill(client, "form#declare input[name=title]", title).await;
    let severity = wait_for(client, "form#declare select[name=severity]", WAIT).await;
    let mut chosen = false;
    for option in severity.find_all(Locator::Css("option")).await.unwrap() {
        if option
            .prop("value")
            .await
            .unwrap()
            .is_some_and(|value| value.eq_ignore_ascii_case("SEV2"))
        {
            option.click().await.unwrap();
            chosen = true;
        }
    }
    assert!(chosen, "the severity select has no SEV2 option");
    fill(client, "form#declare input[name=services]", "checkout").await;
    fill(
        client,
        "form#declare textarea[name=summary]",
        "Payments fail at the last step",
    )
    .await;
    click(client, "form#declare button[type=submit]").await;
    wait_for_path(client, "the new incident's page", |path| {
        path.starts_with("/incidents/") && path != "/incidents/new" && path.len() > 11
    })
    .await
}

/// Waits until `#roles` shows `name` as the Incident Commander: the holders of
/// `#role-incident_commander` are exactly `name` (or, should the page lack that element,
/// `#roles` names the role and `name`, and no longer `previous`).
async fn wait_for_commander(client: &Client, name: &str, previous: Option<&str>) {
    let deadline = Instant::now() + WAIT;
    loop {
        let shown = match client
            .find(Locator::Css("#role-incident_commander .holders"))
            .await
        {
            Ok(holders) => holders.text().await.is_ok_and(|text| text.trim() == name),
            Err(_) => match client.find(Locator::Css("#roles")).await {
                Ok(roles) => roles.text().await.is_ok_and(|text| {
                    text.to_lowercase().contains("incident commander")
                        && text.contains(name)
                        && previous.is_none_or(|p| !text.contains(p))
                }),
                Err(_) => false,
            },
        };
        if shown {
            return;
        }
        if Instant::now() >= deadline {
            let what = format!("#roles never showed {name} as the Incident Commander");
            panic!("{}", failure(client, &what).await);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Fails unless the page was never reloaded or navigated since `mark`.
async fn assert_not_navigated(client: &Client, path: &str) {
    let marker = script(
        client,
        "return window.__marker === undefined ? null : window.__marker;",
    )
    .await;
    let now = client.current_url().await.unwrap();
    if marker != json!(1) || now.path() != path {
        let what = format!(
            "the page reloaded or navigated (marker {marker}, now at {now}); \
             the update should have come live"
        );
        panic!("{}", failure(client, &what).await);
    }
}

async fn mark(client: &Client) {
    script(client, "window.__marker = 1; return null;").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_harness_drives_chromium_and_reaches_the_server() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let server = Server::start("sqlite");
    let client = browser.session().await;

    client
        .goto("data:text/html,<title>t</title><p id=hello>hello <b>there</b></p>")
        .await
        .unwrap();
    wait_for_text(&client, "p#hello", "hello there", WAIT).await;
    assert_eq!(script(&client, "return 6 * 7;").await, json!(42));
    mark(&client).await;
    assert_eq!(script(&client, "return window.__marker;").await, json!(1));
    let size = script(&client, "return [window.innerWidth, window.innerHeight];").await;
    assert_eq!(size[0], json!(1280), "{size}");

    client
        .goto(&format!("http://{}/healthz", server.address))
        .await
        .unwrap();
    wait_for_text(&client, "body", r#""status":"ok""#, WAIT).await;
    let shot = screenshot(&client, "harness").await;
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{}", shot.display());
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_runs_a_whole_incident() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let server = Server::start("sqlite");
    let base = format!("http://{}", server.address);
    server.user("bob", "responder");
    set_password(&server, "bob", BOB_PASSWORD);

    // The admin follows the one-time link `serve` printed, chooses a password and is signed
    // in; the link is then used up.
    let a = browser.session().await;
    let link = server
        .setup_link
        .clone()
        .expect("serve prints a setup link while nobody has a password");
    a.goto(&link).await.unwrap();
    fill(&a, "form#setup input[name=password]", ADMIN_PASSWORD).await;
    fill(&a, "form#setup input[name=confirm]", ADMIN_PASSWORD).await;
    click(&a, "form#setup button[type=submit]").await;
    wait_for_path(&a, "the dashboard after choosing a password", |path| {
        path == "/"
    })
    .await;
    wait_for(&a, "form#logout", WAIT).await;
    let again = browser.session().await;
    again.goto(&link).await.unwrap();
    wait_for_text(&again, "#error", "not valid", WAIT).await;

    // The admin declares, and becomes Incident Commander with the role's checklist.
    a.goto(&format!("{base}/")).await.unwrap();
    wait_for(&a, "a#declare", WAIT).await;
    screenshot(&a, "dashboard").await;
    let incident = declare(&a, "Checkout is failing").await;
    wait_for_text(&a, "h1", "Checkout is failing", WAIT).await;
    wait_for_commander(&a, ADMIN, None).await;
    wait_for_text(
        &a,
        "#duties-incident_commander li",
        "Keep the incident state document open and current",
        WAIT,
    )
    .await;
    let duties = a
        .find_all(Locator::Css("#duties-incident_commander li"))
        .await
        .unwrap();
    assert_eq!(duties.len(), 4, "the default catalogue's four IC duties");

    // Bob finds it on his dashboard and opens it.
    let b = browser.session().await;
    sign_in(&b, &base, "bob", BOB_PASSWORD).await;
    wait_for_text(&b, "table#active tr.incident", "Checkout is failing", WAIT).await;
    click(
        &b,
        &format!("table#active tr.incident a[href$='{incident}']"),
    )
    .await;
    wait_for_path(&b, "the incident page", |path| path == incident).await;
    wait_for_text(&b, "h1", "Checkout is failing", WAIT).await;
    mark(&b).await;

    // A note from the admin appears on Bob's page without a reload, newest first.
    fill(
        &a,
        "form#note-form textarea[name=text]",
        "rolled back the canary",
    )
    .await;
    click(&a, "form#note-form button[type=submit]").await;
    wait_for_text(&a, "ol#timeline > li.entry", "rolled back the canary", WAIT).await;
    wait_for_text(&b, "ol#timeline > li.entry", "rolled back the canary", WAIT).await;
    let newest = b
        .find(Locator::Css("ol#timeline > li.entry"))
        .await
        .unwrap();
    assert!(
        newest
            .text()
            .await
            .unwrap()
            .contains("rolled back the canary"),
        "the newest entry comes first"
    );
    assert_not_navigated(&b, &incident).await;

    // The admin hands command to Bob, who sees the request live and accepts it.
    fill(&a, "form#handoff-form input[name=to]", "bob").await;
    click(&a, "form#handoff-form button[type=submit]").await;
    wait_for(&b, "#handoff-pending button#accept-handoff", WAIT).await;
    wait_for(&b, "#handoff-pending button#decline-handoff", WAIT).await;
    assert_not_navigated(&b, &incident).await;
    click(&b, "#handoff-pending button#accept-handoff").await;
    wait_for_commander(&b, "bob", Some(ADMIN)).await;
    mark(&a).await;
    wait_for_commander(&a, "bob", Some(ADMIN)).await;
    assert_not_navigated(&a, &incident).await;

    // Bob resolves; both pages say so.
    wait_for(&b, "form#resolve-form", WAIT).await;
    if b.find(Locator::Css("form#resolve-form input[name=reason]"))
        .await
        .is_ok()
    {
        fill(
            &b,
            "form#resolve-form input[name=reason]",
            "canary rolled back",
        )
        .await;
    }
    // Resolving is confirmed with a ticked box; without it the browser does not send the form.
    click(&b, "form#resolve-form input[name=confirm]").await;
    click_and_confirm(&b, "form#resolve-form button[type=submit]").await;
    wait_for_text(&b, "#status", "resolved", WAIT).await;
    wait_for_text(&a, "#status", "resolved", WAIT).await;
    assert_not_navigated(&a, &incident).await;
    assert!(
        a.find(Locator::Css("#error")).await.is_err(),
        "{}",
        page_snippet(&a).await
    );
    screenshot(&a, "incident").await;
    a.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_shows_an_xss_attempt_as_text() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let server = Server::start("sqlite");
    let base = format!("http://{}", server.address);
    set_password(&server, ADMIN, ADMIN_PASSWORD);

    let a = browser.session().await;
    sign_in(&a, &base, ADMIN, ADMIN_PASSWORD).await;
    let title = "<script>window.__xss=2</script>";
    let incident = declare(&a, title).await;
    wait_for_text(&a, "h1", title, WAIT).await;

    let note = r#"<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>"#;
    fill(&a, "form#note-form textarea[name=text]", note).await;
    click(&a, "form#note-form button[type=submit]").await;
    // Both pieces read as text. (The entry is not read again once found: the live stream may
    // swap it for a fresh copy meanwhile, which leaves the old element stale.)
    for shown in ["<script>window.__xss=1</script>", "<img src=x onerror="] {
        wait_for_text(&a, "ol#timeline > li.entry", shown, WAIT).await;
    }
    assert_eq!(
        a.find_all(Locator::Css("ol#timeline img"))
            .await
            .unwrap()
            .len(),
        0,
        "no image element was made from the note"
    );
    // Give a late `onerror` the chance to run before looking.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        script(&a, "return typeof window.__xss;").await,
        json!("undefined"),
        "the note arrived live"
    );

    // Once more from a fresh load of the page, then on the dashboard, where the title shows.
    a.goto(&format!("{base}{incident}")).await.unwrap();
    wait_for_text(&a, "h1", title, WAIT).await;
    wait_for_text(
        &a,
        "ol#timeline > li.entry",
        "<script>window.__xss=1</script>",
        WAIT,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        script(&a, "return typeof window.__xss;").await,
        json!("undefined"),
        "on a fresh load of the incident page"
    );
    a.goto(&format!("{base}/")).await.unwrap();
    wait_for_text(&a, "table#active tr.incident", title, WAIT).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        script(&a, "return typeof window.__xss;").await,
        json!("undefined"),
        "on the dashboard"
    );
    a.close().await.unwrap();
}

/// Picks the option with `value` in the select matching `css` (in a multiple select, adds it
/// to the selection), as a person clicking it would.
async fn choose(client: &Client, css: &str, value: &str) {
    let select = wait_for(client, css, WAIT).await;
    reveal(&select).await;
    for option in select.find_all(Locator::Css("option")).await.unwrap() {
        if option.prop("value").await.unwrap().as_deref() == Some(value) {
            option.click().await.unwrap();
            return;
        }
    }
    panic!(
        "{}",
        failure(client, &format!("`{css}` has no option {value:?}")).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_takes_a_postmortem_through_review_and_a_review_meeting() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let server = Server::start("sqlite");
    let base = format!("http://{}", server.address);
    set_password(&server, ADMIN, ADMIN_PASSWORD);
    server.user("bob", "responder");
    set_password(&server, "bob", BOB_PASSWORD);

    // The admin declares, adds a follow-up and resolves; the incident page then offers the
    // draft, live.
    let a = browser.session().await;
    sign_in(&a, &base, ADMIN, ADMIN_PASSWORD).await;
    let incident = declare(&a, "Orders stuck in the queue").await;
    wait_for_text(&a, "h1", "Orders stuck in the queue", WAIT).await;
    fill(
        &a,
        "form#action-item-form input[name=text]",
        "Alert on queue depth",
    )
    .await;
    fill(&a, "form#action-item-form input[name=owner]", "bob").await;
    choose(&a, "form#action-item-form select[name=kind]", "follow_up").await;
    click(&a, "form#action-item-form button[type=submit]").await;
    wait_for_text(&a, "#item-1", "Alert on queue depth", WAIT).await;
    fill(
        &a,
        "form#resolve-form input[name=reason]",
        "the consumer was restarted",
    )
    .await;
    click(&a, "form#resolve-form input[name=confirm]").await;
    click_and_confirm(&a, "form#resolve-form button[type=submit]").await;
    wait_for_text(&a, "#status", "resolved", WAIT).await;
    wait_for(&a, "form#draft-form select[name=template]", WAIT).await;
    wait_for_text(&a, "#reviews-line", "next, meeting 1", WAIT).await;

    // The declaration is starred on the timeline, then the draft is written from the full
    // template.
    click(&a, "li#entry-1 form.mark button[name=mark][value=starred]").await;
    wait_for(&a, "li#entry-1.starred strong.star", WAIT).await;
    settled(&a).await;
    choose(&a, "form#draft-form select[name=template]", "full").await;
    click(&a, "form#draft-form button[type=submit]").await;
    let postmortem = format!("{incident}/postmortem");
    wait_for_path(&a, "the post-mortem page", |path| path == postmortem).await;
    wait_for_text(&a, "#pm-status", "draft", WAIT).await;
    wait_for_text(&a, "#postmortem-body h2", "Timeline", WAIT).await;
    wait_for_text(&a, "#postmortem-body", "★", WAIT).await;

    // Edit: a line appended to the text, saved as revision 2 with a comment.
    click(&a, "a#edit-link").await;
    wait_for_path(&a, "the edit page", |path| {
        path.ends_with("/postmortem/edit")
    })
    .await;
    let body = wait_for(&a, "form#edit-form textarea[name=body]", WAIT).await;
    body.send_keys("\nThe consumer had no liveness probe.")
        .await
        .unwrap();
    fill(&a, "form#edit-form input[name=comment]", "added the cause").await;
    click(&a, "form#edit-form button[type=submit]").await;
    wait_for_path(&a, "the post-mortem page after saving", |path| {
        path == postmortem
    })
    .await;
    wait_for_text(&a, "#pm-revision", "2", WAIT).await;
    wait_for_text(
        &a,
        "#postmortem-body",
        "The consumer had no liveness probe.",
        WAIT,
    )
    .await;
    wait_for_text(&a, "#revisions", "added the cause", WAIT).await;

    // Submit for review; Bob approves in his own browser; the admin marks it reviewed.
    click(&a, "form#submit-form button[type=submit]").await;
    wait_for_text(&a, "#pm-status", "in review", WAIT).await;
    wait_for(&a, "#awaiting-approval", WAIT).await;
    let b = browser.session().await;
    sign_in(&b, &base, "bob", BOB_PASSWORD).await;
    b.goto(&format!("{base}{postmortem}")).await.unwrap();
    wait_for_text(&b, "#pm-status", "in review", WAIT).await;
    fill(
        &b,
        "form#comment-form textarea[name=text]",
        "Looks right to me.",
    )
    .await;
    click(&b, "form#comment-form button[type=submit]").await;
    wait_for_text(&b, "#comments", "Looks right to me.", WAIT).await;
    click(&b, "form#approve-form button[type=submit]").await;
    wait_for_text(&b, "#pm-approvals", "bob", WAIT).await;
    a.goto(&format!("{base}{postmortem}")).await.unwrap();
    // The text still holds the template's prompts: the review ends only with a reason.
    click(&a, "form#reviewed-form button[type=submit]").await;
    wait_for_text(&a, "#error", "linter still finds", WAIT).await;
    fill(
        &a,
        "form#reviewed-form input[name=override_reason]",
        "the empty sections are for the meeting",
    )
    .await;
    click(&a, "form#reviewed-form button[type=submit]").await;
    wait_for_text(&a, "#pm-status", "reviewed", WAIT).await;
    assert!(
        a.find(Locator::Css("#error")).await.is_err(),
        "{}",
        page_snippet(&a).await
    );

    // The review meeting: the admin and Bob attended; the follow-up is done.
    click(&a, "nav[aria-label=breadcrumb] a[href$='/reviews']").await;
    wait_for_path(&a, "the reviews page", |path| path.ends_with("/reviews")).await;
    wait_for_text(&a, "#follow-up-1", "Alert on queue depth", WAIT).await;
    wait_for(&a, "#ics-link", WAIT).await;
    choose(&a, "form#record-form select[name=attendees]", ADMIN).await;
    fill(&a, "form#record-form input[name=attendees_other]", "bob").await;
    fill(
        &a,
        "form#record-form textarea[name=notes]",
        "The alert is live.",
    )
    .await;
    choose(&a, "form#record-form select[name=decision-1]", "done").await;
    click(&a, "form#record-form button[type=submit]").await;
    wait_for_text(&a, "#meeting-1", "attended by bob, root", WAIT).await;
    wait_for_text(&a, "#meeting-1", "#1: done", WAIT).await;
    wait_for_text(&a, "#closable", "can be closed now", WAIT).await;
    assert!(
        a.find(Locator::Css("#error")).await.is_err(),
        "{}",
        page_snippet(&a).await
    );

    // The overview lists nothing left to review; the post-mortem page, as it now reads.
    click(&a, "a#nav-reviews").await;
    wait_for_path(&a, "the reviews overview", |path| path == "/reviews").await;
    wait_for(&a, "#upcoming-empty", WAIT).await;
    a.goto(&format!("{base}{postmortem}")).await.unwrap();
    wait_for_text(&a, "#pm-status", "reviewed", WAIT).await;
    wait_for(&a, "form#publish-form", WAIT).await;
    let shot = screenshot(&a, "postmortem").await;
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{}", shot.display());
    a.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_evaluates_decides_and_sees_a_change_collision_live() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let server = Server::start("sqlite");
    let base = format!("http://{}", server.address);
    set_password(&server, ADMIN, ADMIN_PASSWORD);
    let bob = server.user("bob", "responder");
    let carol = server.user("carol", "responder");
    let (status, _) = server.call(
        "PUT",
        "/api/v1/services/checkout",
        Some(&server.admin),
        Some(
            &json!({ "owner_team": "payments", "criticality": "critical",
                     "incident_definition": "any customer cannot pay" })
            .to_string(),
        ),
        &[],
    );
    assert_eq!(status, 200);
    for (version, hours) in [("1.0", 5), ("1.1", 1)] {
        let at = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(hours)).to_string();
        let (status, body) = server.post(
            "/api/v1/releases",
            &server.admin,
            json!({ "service": "checkout", "version": version, "at": at }),
        );
        assert_eq!(status, 201, "{body}");
    }

    let a = browser.session().await;
    sign_in(&a, &base, ADMIN, ADMIN_PASSWORD).await;
    a.goto(&format!("{base}/incidents/new")).await.unwrap();
    wait_for_text(&a, "#incident-definitions", "any customer cannot pay", WAIT).await;
    a.goto(&format!("{base}/")).await.unwrap();
    let incident = declare(&a, "Payments fail").await;
    let id = incident.trim_start_matches("/incidents/").to_owned();
    wait_for_text(&a, "#service-bars", "any customer cannot pay", WAIT).await;

    // The checklist suggests a severity from the catalogue's criticality.
    fill(&a, "form#evaluate-form input[name=users_affected]", "40").await;
    click(&a, "form#evaluate-form input[name=availability]").await;
    click(&a, "form#evaluate-form button[type=submit]").await;
    wait_for_text(
        &a,
        "#evaluation",
        "critical service unavailable without a workaround",
        WAIT,
    )
    .await;
    wait_for_text(&a, "#severity", "SEV1", WAIT).await;

    // The latest release is the suspect: rolling back applies, and names 1.0.
    click(&a, "#releases form button[type=submit]").await;
    wait_for_text(&a, "#releases", "suspect", WAIT).await;
    // The ladder is redrawn by the live update that follows: choose on the redrawn form, or
    // the choice is lost with the form it was made on.
    wait_for(&a, "#rung-roll_back:not(.not-applicable)", WAIT).await;
    choose(&a, "form#decide-form select[name=option]", "roll_back").await;
    fill(
        &a,
        "form#decide-form input[name=motivation]",
        "1.1 broke payments; 1.0 was fine",
    )
    .await;
    click(&a, "form#decide-form button[type=submit]").await;
    wait_for_text(&a, "#decision", "roll back to checkout 1.0", WAIT).await;
    script(&a, "document.getElementById('judgement').scrollIntoView();").await;
    screenshot(&a, "judgement-panel").await;
    click(&a, "a#draft-message").await;
    // The link loads a new page: read the field until it holds the draft, since the old
    // page's field may still be found while the new one loads.
    let deadline = Instant::now() + WAIT;
    loop {
        let text = match a
            .find(Locator::Css("form#update-form textarea[name=body]"))
            .await
        {
            Ok(field) => field.prop("value").await.ok().flatten().unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text.contains("roll-back") && text.contains(&id) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{}",
            failure(&a, "the roll-back announcement is never drafted").await
        );
        tokio::time::sleep(POLL).await;
    }
    screenshot(&a, "judgement").await;

    // Two people change things in one window: the commander's open page warns at once. The
    // page is loaded afresh and its live stream given a moment to connect first.
    a.goto(&format!("{base}{incident}")).await.unwrap();
    wait_for_text(&a, "#decision", "roll back to checkout 1.0", WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    for person in ["bob", "carol"] {
        let (status, body) = server.post(
            &format!("/api/v1/incidents/{id}/roles"),
            &server.admin,
            json!({ "role": "operations", "person": person }),
        );
        assert_eq!(status, 200, "{body}");
    }
    let (status, _) = server.post(
        &format!("/api/v1/incidents/{id}/intents"),
        &bob,
        json!({ "target": "checkout-db", "action": "about to fail over the database" }),
    );
    assert_eq!(status, 200);
    let (status, answer) = server.post(
        &format!("/api/v1/incidents/{id}/operations"),
        &carol,
        json!({ "target": "checkout-api", "action": "restarted the pods" }),
    );
    assert_eq!(status, 200, "{answer}");
    wait_for_text(&a, "#collisions", "bob and carol", WAIT).await;
    wait_for_text(&a, "#intents", "about to fail over the database", WAIT).await;
    click(&a, "form#acknowledge-form button[type=submit]").await;
    let deadline = Instant::now() + WAIT;
    while !a
        .find_all(Locator::Css("#collisions"))
        .await
        .unwrap()
        .is_empty()
    {
        assert!(
            Instant::now() < deadline,
            "{}",
            failure(&a, "the warning stays after the acknowledgement").await
        );
        tokio::time::sleep(POLL).await;
    }
    a.close().await.unwrap();
}

/// The elements of the current page that reach past the right edge of the window, as
/// `tag#id.class (right edge)`, for a failure message that says what to fix.
const OVERFLOWING: &str = r#"
const width = window.innerWidth;
const wide = [];
for (const element of document.querySelectorAll('body *')) {
    const box = element.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 1) {
        let inside = element.parentElement;
        let clipped = false;
        while (inside) {
            const overflow = getComputedStyle(inside).overflowX;
            if (overflow === 'auto' || overflow === 'scroll' || overflow === 'hidden') { clipped = true; break; }
            inside = inside.parentElement;
        }
        if (!clipped) {
            wide.push(element.tagName.toLowerCase() + (element.id ? '#' + element.id : '') +
                (element.className && typeof element.className === 'string' ? '.' + element.className.trim().split(/\s+/).join('.') : '') +
                ' (' + Math.round(box.right) + ')');
        }
    }
}
return { scroll: document.documentElement.scrollWidth, inner: width, wide: wide.slice(0, 12) };
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_shows_insights_as_charts_with_their_tables() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let server = Server::start("sqlite");
    let base = format!("http://{}", server.address);
    set_password(&server, ADMIN, ADMIN_PASSWORD);
    let admin = server.admin.clone();
    for (service, team, allowance) in [
        ("checkout", "payments", "45m"),
        ("search", "discovery", "2h"),
        ("login", "identity", "30m"),
    ] {
        let (status, body) = server.call(
            "PUT",
            &format!("/api/v1/services/{service}"),
            Some(&admin),
            Some(&json!({ "owner_team": team, "criticality": "high", "max_unavailability": allowance }).to_string()),
            &[],
        );
        assert_eq!(status, 200, "{body}");
    }
    // Incidents whose impact began a while before they were declared, some mitigated and
    // resolved, so that every chart has something to draw.
    let plan = [
        (
            "Checkout connection pool exhausted",
            "SEV1",
            "checkout",
            40,
            true,
        ),
        (
            "Checkout slow for card payments",
            "SEV2",
            "checkout",
            15,
            true,
        ),
        ("Search results stale", "SEV3", "search", 90, true),
        ("Login fails for SSO users", "SEV2", "login", 25, false),
        ("Search index lagging", "SEV4", "search", 5, false),
    ];
    for (n, (title, severity, service, minutes, resolve)) in plan.iter().enumerate() {
        let id = format!("INC-{}", n + 1);
        let (status, answer) = server.post(
            "/api/v1/incidents",
            &admin,
            json!({ "title": title, "severity": severity, "services": [service] }),
        );
        assert_eq!(status, 201, "{answer}");
        let start =
            (jiff::Timestamp::now() - jiff::SignedDuration::from_mins(*minutes)).to_string();
        let (status, answer) = server.call(
            "PUT",
            &format!("/api/v1/incidents/{id}/impact"),
            Some(&admin),
            Some(&json!({ "start": start }).to_string()),
            &[],
        );
        assert_eq!(status, 200, "{answer}");
        if *resolve {
            let (status, answer) = server.post(
                &format!("/api/v1/incidents/{id}/status"),
                &admin,
                json!({ "status": "monitoring" }),
            );
            assert_eq!(status, 200, "{answer}");
            let (status, answer) = server.call(
                "POST",
                &format!("/api/v1/incidents/{id}/resolve"),
                Some(&admin),
                None,
                &[],
            );
            assert_eq!(status, 200, "{answer}");
        }
    }

    let a = browser.session().await;
    sign_in(&a, &base, ADMIN, ADMIN_PASSWORD).await;
    a.goto(&format!("{base}/")).await.unwrap();
    click(&a, "a#nav-insights").await;
    wait_for(&a, "svg#chart-severity", WAIT).await;
    wait_for_text(&a, "#insights-summary", "5 incidents detected", WAIT).await;
    // Every chart is drawn with a size, its bars have widths, and its table is behind it.
    let drawn = script(
        &a,
        "return Array.from(document.querySelectorAll('svg.chart[role=img]')).map(svg => ({ id: svg.id, \
         width: svg.getBoundingClientRect().width, bars: Array.from(svg.querySelectorAll('rect')).filter(r => r.getBBox().width > 0).length, \
         table: !!document.getElementById(svg.id + '-table') }));",
    )
    .await;
    let charts = drawn.as_array().unwrap();
    let ids: Vec<&str> = charts.iter().map(|c| c["id"].as_str().unwrap()).collect();
    for wanted in [
        "chart-all",
        "chart-severity",
        "chart-service",
        "chart-team",
        "chart-weeks",
        "chart-budgets",
        "chart-workload",
    ] {
        assert!(ids.contains(&wanted), "{wanted} missing from {drawn}");
    }
    for chart in charts {
        assert!(chart["width"].as_f64().unwrap() > 200.0, "{drawn}");
        assert!(chart["bars"].as_u64().unwrap() > 0, "{drawn}");
        assert_eq!(chart["table"], true, "{drawn}");
    }
    // The table opens; the figures are there in words.
    let table = wait_for(&a, "#chart-severity-table", WAIT).await;
    reveal(&table).await;
    wait_for_text(&a, "#chart-severity-table", "SEV1", WAIT).await;
    // The filters: a team narrows the figures.
    fill(&a, "form#insights-filters input[name=team]", "discovery").await;
    click(&a, "form#insights-filters button[type=submit]").await;
    wait_for_text(&a, "#insights-summary", "2 incidents detected", WAIT).await;
    a.goto(&format!("{base}/insights")).await.unwrap();
    wait_for(&a, "svg#chart-budgets", WAIT).await;
    screenshot(&a, "insights").await;
    script(
        &a,
        "document.getElementById('chart-budgets-section').scrollIntoView();",
    )
    .await;
    screenshot(&a, "insights-budgets").await;
    // The similar incidents of a live one.
    a.goto(&format!("{base}/incidents/INC-2")).await.unwrap();
    wait_for_text(&a, "#similar", "INC-1", WAIT).await;
    wait_for_text(&a, "#budgets", "checkout:", WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_signed_in_page_fits_a_phone() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let server = Server::start("sqlite");
    let base = format!("http://{}", server.address);
    set_password(&server, ADMIN, ADMIN_PASSWORD);
    // An incident with what a busy one has: roles, a long command, a link, an action item,
    // and a drafted post-mortem with a review meeting.
    let admin = server.admin.clone();
    let (status, declared) = server.post(
        "/api/v1/incidents",
        &admin,
        json!({ "title": "Checkout fails for every card payment in every region at once", "severity": "SEV1",
                "services": ["checkout", "payments", "card-gateway"],
                "summary": "A very long summary line without breaks: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" }),
    );
    assert_eq!(status, 201, "{declared}");
    server.user("olga", "responder");
    let olga = server.user("olga2", "responder");
    for (path, body) in [
        ("/roles", json!({ "role": "operations", "person": "olga2" })),
        (
            "/roles",
            json!({ "role": "communications", "person": "olga" }),
        ),
        (
            "/links",
            json!({ "kind": "doc", "url": "https://runbooks.example.com/a/very/long/path/that/does/not/wrap/easily/at/all/because/it/is/one/word" }),
        ),
        (
            "/action-items",
            json!({ "text": "Add an alert on the card gateway's error rate", "owner": "olga", "kind": "follow_up" }),
        ),
    ] {
        let (status, answer) = server.post(&format!("/api/v1/incidents/INC-1{path}"), &admin, body);
        assert_eq!(status, 200, "{path}: {answer}");
    }
    let (status, answer) = server.post(
        "/api/v1/incidents/INC-1/operations",
        &olga,
        json!({ "target": "card-gateway-primary-eu-west-1", "action": "restarted",
                "command": "kubectl --context production-eu-west-1 -n payments rollout restart deployment/card-gateway-primary" }),
    );
    assert_eq!(status, 200, "{answer}");
    for path in ["/resolve", "/postmortem"] {
        let (status, answer) = server.call(
            "POST",
            &format!("/api/v1/incidents/INC-1{path}"),
            Some(&admin),
            None,
            &[],
        );
        assert!(status == 200 || status == 201, "{path}: {answer}");
    }

    let a = browser.session().await;
    a.set_window_size(390, 844).await.unwrap();
    sign_in(&a, &base, ADMIN, ADMIN_PASSWORD).await;
    let pages = [
        "/",
        "/incidents",
        "/incidents/new",
        "/incidents/INC-1",
        "/incidents/INC-1/timeline",
        "/incidents/INC-1/postmortem",
        "/incidents/INC-1/postmortem/edit",
        "/incidents/INC-1/reviews",
        "/reviews",
        "/services",
        "/insights",
        "/account",
        "/users",
        "/settings",
        "/status",
    ];
    let mut too_wide = Vec::new();
    for page in pages {
        a.goto(&format!("{base}{page}")).await.unwrap();
        wait_for(&a, "main", WAIT).await;
        let measured = script(&a, OVERFLOWING).await;
        let scroll = measured["scroll"].as_f64().unwrap_or(0.0);
        let inner = measured["inner"].as_f64().unwrap_or(0.0);
        if scroll > inner {
            too_wide.push(format!("{page}: {scroll} > {inner}: {}", measured["wide"]));
        }
    }
    assert!(
        too_wide.is_empty(),
        "pages wider than a phone:\n{}",
        too_wide.join("\n")
    );
    // The actions a person needs most are reachable without scrolling past the role cards:
    // links to them come first on a phone, and following one brings the form into view.
    a.goto(&format!("{base}/incidents/INC-1")).await.unwrap();
    wait_for(&a, "main", WAIT).await;
    let first = script(
        &a,
        "const jump = document.querySelector('nav.quick a[href=\"#note-form\"]'); const roles = document.getElementById('roles');
         return jump && roles && jump.offsetParent !== null ? jump.getBoundingClientRect().top < roles.getBoundingClientRect().top : null;",
    )
    .await;
    assert_eq!(
        first,
        Value::Bool(true),
        "no way to the note form before the role cards"
    );
    screenshot(&a, "phone-incident").await;
    click(&a, "nav.quick a[href=\"#note-form\"]").await;
    let shown = script(
        &a,
        "const box = document.getElementById('note-form').getBoundingClientRect(); return [box.top, window.innerHeight];",
    )
    .await;
    // A jump puts the form's top at the viewport's top, give or take a fraction of a pixel.
    let (top, height) = (shown[0].as_f64().unwrap(), shown[1].as_f64().unwrap());
    assert!(
        top >= -1.0 && top < height,
        "the note form is not in view after the jump: its top at {top} of {height}"
    );
}
