//! The web UI through the router, as a browser uses it: sign-in and cookies, CSRF, every
//! page and every form, visibility of restricted incidents, paging and the live stream.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use futures_util::StreamExt;
use hereby_core::types::{
    IncidentNumber, InstallationRole, ServiceName, Severity, Status, Text, Title, UserName,
    Visibility,
};
use hereby_core::{Command, Incident};
use hereby_server::{AppState, app};
use hereby_store::{Directory, Notifications, Store};
use hereby_store_sqlite::SqliteStore;
use jiff::Timestamp;
use tower::ServiceExt;

mod insights;
mod postmortem_offers;

const PASSWORD: &str = "correct horse battery staple";

/// A router on a fresh database, with the one password hash every user of the test shares.
struct Site {
    router: Router,
    store: SqliteStore,
    policy: hereby_core::Policy,
    hash: String,
    _dir: tempfile::TempDir,
}

/// A signed-in browser: its session cookie and the CSRF token of its forms.
#[derive(Debug, Clone)]
struct Session {
    cookie: String,
    csrf: String,
}

/// A response with its body read.
#[derive(Debug)]
struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(&name)
            .map(|value| value.to_str().unwrap())
            .unwrap_or_default()
    }

    fn location(&self) -> &str {
        self.header(header::LOCATION)
    }

    fn is_redirect_to(&self, target: &str) -> bool {
        self.status == StatusCode::SEE_OTHER && self.location() == target
    }

    /// The text of the element with `id`, up to the next `<`, as a quick look at one value.
    fn text_of(&self, id: &str) -> &str {
        let marker = format!("id=\"{id}\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no #{id} in\n{}", self.body));
        let rest = &self.body[start..];
        let open = rest.find('>').unwrap() + 1;
        let close = rest[open..].find('<').unwrap();
        &rest[open..open + close]
    }

    /// The part of the page from the element with `id` to the `end` after it.
    fn section(&self, id: &str, end: &str) -> &str {
        let marker = format!("id=\"{id}\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no #{id} in\n{}", self.body));
        let rest = &self.body[start..];
        let stop = rest.find(end).map_or(rest.len(), |at| at + end.len());
        &rest[..stop]
    }

    fn assert_status(&self, status: StatusCode, what: &str) {
        assert_eq!(
            self.status,
            status,
            "{what}: {} {}\n{}",
            self.status,
            self.location(),
            self.body
        );
    }
}

/// Undoes the HTML escaping of attribute values and text (templates escape `/` too).
fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Form-urlencodes fields.
fn encode(fields: &[(&str, &str)]) -> String {
    let part = |text: &str| {
        let mut out = String::new();
        for byte in text.bytes() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    out.push(byte as char)
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{byte:02X}")),
            }
        }
        out
    };
    fields
        .iter()
        .map(|(name, value)| format!("{}={}", part(name), part(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn name(raw: &str) -> UserName {
    UserName::parse(raw).unwrap()
}

/// The CSRF token in a page's forms.
fn csrf_of(body: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = body
        .find(marker)
        .unwrap_or_else(|| panic!("no CSRF token in\n{body}"))
        + marker.len();
    let end = body[start..].find('"').unwrap();
    body[start..start + end].to_owned()
}

/// Counts the rows of incident tables in a page.
fn rows(html: &str) -> usize {
    html.matches("<tr class=\"incident\">").count()
}

fn links_to(html: &str, id: &str) -> bool {
    html.contains(&format!("href=\"/incidents/{id}\""))
}

impl Site {
    async fn new() -> Self {
        Self::with_policy(hereby_core::Policy::default()).await
    }

    async fn with_policy(policy: hereby_core::Policy) -> Self {
        Self::with(policy, hereby_core::Cadence::default()).await
    }

    /// A site with its own policy and stakeholder-update cadence.
    async fn with(policy: hereby_core::Policy, cadence: hereby_core::Cadence) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&format!("sqlite://{}", dir.path().join("h.db").display()))
            .await
            .unwrap();
        let mut state = AppState::new(store.clone(), policy.clone());
        state.app.cadence = std::sync::Arc::new(cadence);
        let router = app(state);
        let hash = hereby_server::passwords::hash(PASSWORD).await.unwrap();
        Site {
            router,
            store,
            policy,
            hash,
            _dir: dir,
        }
    }

    /// Creates a user who signs in with [`PASSWORD`].
    async fn user(&self, user: &str, role: InstallationRole) {
        self.store
            .create_user(&name(user), role, Timestamp::now())
            .await
            .unwrap();
        self.store
            .set_password_hash(&name(user), &self.hash)
            .await
            .unwrap();
    }

    async fn send(&self, request: Request<Body>) -> Page {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Page {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&self, who: Option<&Session>, uri: &str) -> Page {
        self.get_with(who, uri, &[]).await
    }

    async fn get_with(&self, who: Option<&Session>, uri: &str, headers: &[(&str, &str)]) -> Page {
        let mut request = Request::get(uri);
        if let Some(session) = who {
            request = request.header(header::COOKIE, &session.cookie);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    /// Posts a form as it is: no CSRF token is added.
    async fn post_raw(
        &self,
        cookie: Option<&str>,
        uri: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let mut request =
            Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(Body::from(encode(fields))).unwrap())
            .await
    }

    /// Posts a form of a signed-in page, with the session's CSRF token.
    async fn post(&self, who: &Session, uri: &str, fields: &[(&str, &str)]) -> Page {
        let mut all = vec![("_csrf", who.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(Some(&who.cookie), uri, &all, &[]).await
    }

    /// Posts a form of the incident page and expects to be sent back to it.
    async fn act(&self, who: &Session, id: &str, action: &str, fields: &[(&str, &str)]) {
        let page = self
            .post(who, &format!("/incidents/{id}/{action}"), fields)
            .await;
        assert!(
            page.is_redirect_to(&format!("/incidents/{id}")),
            "{action} {fields:?}: {} {}\n{}",
            page.status,
            page.location(),
            page.body
        );
    }

    async fn sign_in(&self, user: &str, next: &str, headers: &[(&str, &str)]) -> Page {
        self.post_raw(
            None,
            "/login",
            &[("username", user), ("password", PASSWORD), ("next", next)],
            headers,
        )
        .await
    }

    /// Signs `user` in with the right password from the client address `from`.
    async fn sign_in_from(&self, user: &str, from: &str) -> Page {
        let mut request = Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(encode(&[
                ("username", user),
                ("password", PASSWORD),
                ("next", "/"),
            ])))
            .unwrap();
        let address: std::net::SocketAddr = format!("{from}:40000").parse().unwrap();
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(address));
        self.send(request).await
    }

    /// Signs `user` in and reads the CSRF token of their pages.
    async fn login(&self, user: &str) -> Session {
        let page = self.sign_in(user, "/", &[]).await;
        assert!(page.is_redirect_to("/"), "{page:?}");
        self.session_from(&page).await
    }

    async fn session_from(&self, page: &Page) -> Session {
        let cookie = page
            .header(header::SET_COOKIE)
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        assert!(cookie.starts_with("hereby_session="), "{cookie}");
        let home = self
            .get_with(None, "/", &[("cookie", cookie.as_str())])
            .await;
        home.assert_status(StatusCode::OK, "the dashboard after sign-in");
        Session {
            csrf: csrf_of(&home.body),
            cookie,
        }
    }

    /// Declares an incident straight through the store, as `actor`.
    async fn declare(
        &self,
        actor: &str,
        title: &str,
        severity: Severity,
        services: &[&str],
        summary: Option<&str>,
    ) -> String {
        let outcome = hereby_store::declare(
            &self.store,
            Command::Declare {
                title: Title::parse(title).unwrap(),
                summary: summary.map(|s| Text::parse(s).unwrap()),
                public_summary: None,
                severity,
                potential: false,
                services: services
                    .iter()
                    .map(|s| ServiceName::parse(s).unwrap())
                    .collect(),
                visibility: Visibility::Internal,
                triage: false,
            },
            &name(actor),
            Timestamp::now(),
            &self.policy,
        )
        .await
        .unwrap();
        outcome.incident.to_string()
    }

    /// Runs a command straight through the store, as `actor`.
    async fn execute(&self, actor: &str, id: &str, command: Command) {
        hereby_store::execute(
            &self.store,
            IncidentNumber::parse(id).unwrap(),
            None,
            command,
            &name(actor),
            Timestamp::now(),
            &self.policy,
        )
        .await
        .unwrap();
    }

    /// The incident page, which must be there.
    async fn show(&self, who: &Session, id: &str) -> Page {
        let page = self.get(Some(who), &format!("/incidents/{id}")).await;
        page.assert_status(StatusCode::OK, "the incident page");
        page
    }

    /// Whether incident `number` was declared.
    async fn exists(&self, number: u64) -> bool {
        match self.store.load(IncidentNumber(number)).await {
            Ok(loaded) => loaded.state.incident().is_some(),
            Err(hereby_store::StoreError::NotFound(_)) => false,
            Err(error) => panic!("{error}"),
        }
    }

    async fn incident(&self, id: &str) -> Incident {
        let loaded = self
            .store
            .load(IncidentNumber::parse(id).unwrap())
            .await
            .unwrap();
        loaded.state.incident().unwrap().clone()
    }

    async fn version(&self, id: &str) -> u64 {
        self.store
            .load(IncidentNumber::parse(id).unwrap())
            .await
            .unwrap()
            .version
    }
}

fn status_to(to: Status, reason: Option<&str>) -> Command {
    Command::ChangeStatus {
        to,
        reason: reason.map(|r| hereby_core::types::Reason::parse(r).unwrap()),
        override_close_checks: false,
    }
}

fn multipart(csrf: &str, file_name: &str, content: &str) -> (String, String) {
    let boundary = "hereby-test-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: text/plain\r\n\r\n{content}\r\n--{boundary}--\r\n"
    );
    (format!("multipart/form-data; boundary={boundary}"), body)
}

// 1. Anonymous visitors.

#[tokio::test]
async fn anonymous_visitors_are_sent_to_sign_in_and_see_only_public_pages() {
    let site = Site::new().await;
    for (page, next) in [
        ("/", "/"),
        ("/incidents", "/incidents"),
        ("/incidents/1", "/incidents/1"),
        ("/users", "/users"),
        ("/incidents?status=active", "/incidents%3Fstatus%3Dactive"),
    ] {
        let response = site.get(None, page).await;
        assert!(
            response.is_redirect_to(&format!("/login?next={next}")),
            "{page}: {response:?}"
        );
    }
    // htmx gets a 401 with a full-navigation redirect instead of a fragment to swap.
    let htmx = site
        .get_with(None, "/fragments/dashboard", &[("hx-request", "true")])
        .await;
    htmx.assert_status(StatusCode::UNAUTHORIZED, "an htmx request");
    assert_eq!(
        htmx.headers.get("hx-redirect").unwrap(),
        "/login?next=/fragments/dashboard"
    );

    let login = site.get(None, "/login?next=/incidents/1").await;
    login.assert_status(StatusCode::OK, "the sign-in page");
    assert!(login.body.contains("form id=\"login\""), "{}", login.body);
    assert!(
        unescape(&login.body).contains("name=\"next\" value=\"/incidents/1\""),
        "{}",
        login.body
    );
    assert!(login.header(header::CONTENT_TYPE).starts_with("text/html"));
    assert!(
        login
            .header(header::CONTENT_SECURITY_POLICY)
            .contains("default-src 'self'")
    );
    assert_eq!(login.header(header::X_FRAME_OPTIONS), "DENY");
    assert_eq!(login.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    // A foreign `next` is not even put into the form.
    let foreign = site.get(None, "/login?next=//evil.example").await;
    assert!(
        unescape(&foreign.body).contains("name=\"next\" value=\"/\""),
        "{}",
        foreign.body
    );

    let missing = site.get(None, "/nope").await;
    missing.assert_status(StatusCode::NOT_FOUND, "an unknown page");
    assert!(
        missing
            .header(header::CONTENT_TYPE)
            .starts_with("text/html")
    );
    assert!(
        missing.body.contains("There is nothing here"),
        "{}",
        missing.body
    );
    assert!(
        missing
            .header(header::CONTENT_SECURITY_POLICY)
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(missing.header(header::X_FRAME_OPTIONS), "DENY");

    let api = site.get(None, "/api/v1/nope").await;
    api.assert_status(StatusCode::NOT_FOUND, "an unknown API route");
    assert!(
        api.header(header::CONTENT_TYPE)
            .starts_with("application/json")
    );
    let error: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert!(error.is_object(), "{error}");

    for (asset, media_type) in [
        ("/assets/htmx.min.js", "text/javascript"),
        ("/assets/sse.js", "text/javascript"),
        ("/assets/pico.min.css", "text/css"),
        ("/assets/hereby.css", "text/css"),
    ] {
        let response = site.get(None, asset).await;
        response.assert_status(StatusCode::OK, asset);
        assert!(
            response
                .header(header::CONTENT_TYPE)
                .starts_with(media_type),
            "{asset}: {}",
            response.header(header::CONTENT_TYPE)
        );
        assert!(!response.body.is_empty(), "{asset}");
    }
    site.get(None, "/assets/nope.js")
        .await
        .assert_status(StatusCode::NOT_FOUND, "an unknown asset");

    let wrong_method = site.post_raw(None, "/assets/htmx.min.js", &[], &[]).await;
    wrong_method.assert_status(StatusCode::METHOD_NOT_ALLOWED, "POST to an asset");
    assert!(
        wrong_method
            .header(header::CONTENT_TYPE)
            .starts_with("text/html")
    );
}

// 2. Signing in and out.

#[tokio::test]
async fn sign_in_checks_the_password_and_throttles_guessing() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    site.user("bob", InstallationRole::Responder).await;

    let wrong = site
        .post_raw(
            None,
            "/login",
            &[("username", "alice"), ("password", "not the password")],
            &[],
        )
        .await;
    wrong.assert_status(StatusCode::UNAUTHORIZED, "a wrong password");
    assert!(
        wrong.body.contains("The username or password is not right"),
        "{}",
        wrong.body
    );
    assert!(wrong.headers.get(header::SET_COOKIE).is_none());
    // The username stays in the form.
    assert!(wrong.body.contains("value=\"alice\""), "{}", wrong.body);

    let unknown = site
        .post_raw(
            None,
            "/login",
            &[("username", "nobody"), ("password", PASSWORD)],
            &[],
        )
        .await;
    unknown.assert_status(StatusCode::UNAUTHORIZED, "an unknown user");
    assert!(
        unknown
            .body
            .contains("The username or password is not right")
    );
    assert!(unknown.headers.get(header::SET_COOKIE).is_none());

    // Two more failures for alice make three, which cost nothing; the fourth attempt from
    // the same place must wait, even with the right password, and is told how long.
    for _ in 0..2 {
        let page = site
            .post_raw(
                None,
                "/login",
                &[("username", "alice"), ("password", "still wrong")],
                &[],
            )
            .await;
        page.assert_status(StatusCode::UNAUTHORIZED, "a failed sign-in");
    }
    let throttled = site.sign_in("alice", "/", &[]).await;
    throttled.assert_status(StatusCode::TOO_MANY_REQUESTS, "the fourth attempt");
    assert!(
        throttled
            .body
            .contains("Too many failed sign-ins from here. Wait 1 second and try again"),
        "{}",
        throttled.body
    );
    assert_eq!(throttled.header(header::RETRY_AFTER), "1");
    assert!(throttled.headers.get(header::SET_COOKIE).is_none());
    // The name is matched case-insensitively.
    let throttled_upper = site.sign_in("ALICE", "/", &[]).await;
    throttled_upper.assert_status(StatusCode::TOO_MANY_REQUESTS, "the same account");
    // Someone failing on purpose cannot lock the account's owner out: from another address
    // the right password signs in at once.
    let elsewhere = site.sign_in_from("alice", "198.51.100.7").await;
    assert!(elsewhere.is_redirect_to("/"), "{elsewhere:?}");

    // Only local paths are followed after sign-in.
    let local = site.sign_in("bob", "/incidents?status=active", &[]).await;
    assert!(
        local.is_redirect_to("/incidents?status=active"),
        "{local:?}"
    );
    for foreign in [
        "//evil.example",
        "https://evil.example/",
        "/\\evil.example",
        "evil",
    ] {
        let page = site.sign_in("bob", foreign, &[]).await;
        assert!(page.is_redirect_to("/"), "{foreign}: {page:?}");
    }

    let cookie = local.header(header::SET_COOKIE);
    assert!(cookie.starts_with("hereby_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
    let behind_tls = site
        .sign_in("bob", "/", &[("x-forwarded-proto", "https")])
        .await;
    assert!(
        behind_tls.header(header::SET_COOKIE).contains("; Secure"),
        "{behind_tls:?}"
    );

    // A form from another site cannot sign anyone in.
    let cross = site
        .sign_in(
            "bob",
            "/",
            &[
                ("origin", "http://evil.example"),
                ("host", "hereby.example"),
            ],
        )
        .await;
    cross.assert_status(StatusCode::FORBIDDEN, "a cross-site sign-in");
    assert!(cross.headers.get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let site = Site::new().await;
    site.user("bob", InstallationRole::Responder).await;
    let bob = site.login("bob").await;
    let home = site.get(Some(&bob), "/").await;
    home.assert_status(StatusCode::OK, "the dashboard");
    assert!(home.body.contains("Sign out bob"), "{}", home.body);

    // Without the CSRF token, signing out is refused and the session lives on.
    let forged = site.post_raw(Some(&bob.cookie), "/logout", &[], &[]).await;
    forged.assert_status(StatusCode::FORBIDDEN, "sign-out without CSRF");
    site.get(Some(&bob), "/")
        .await
        .assert_status(StatusCode::OK, "still signed in");

    let out = site.post(&bob, "/logout", &[]).await;
    assert!(out.is_redirect_to("/login"), "{out:?}");
    let cleared = out.header(header::SET_COOKIE);
    assert!(
        cleared.starts_with("hereby_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let after = site.get(Some(&bob), "/").await;
    assert!(after.is_redirect_to("/login?next=/"), "{after:?}");

    // A form sent after the session ended leads back, after sign-in, to the page it was
    // on, not to the form's address (which answers only POST).
    let id = site
        .declare("bob", "Disk full", Severity::Sev3, &[], None)
        .await;
    let stale = site
        .post_raw(
            Some(&bob.cookie),
            &format!("/incidents/{id}/note"),
            &[("_csrf", &bob.csrf), ("text", "hello")],
            &[
                ("host", "hereby.example"),
                ("referer", &format!("http://hereby.example/incidents/{id}")),
            ],
        )
        .await;
    assert!(
        stale.is_redirect_to(&format!("/login?next=/incidents/{id}")),
        "{stale:?}"
    );
    for referer in ["http://evil.example/incidents/INC-1", "not a url"] {
        let elsewhere = site
            .post_raw(
                Some(&bob.cookie),
                &format!("/incidents/{id}/note"),
                &[("_csrf", &bob.csrf), ("text", "hello")],
                &[("host", "hereby.example"), ("referer", referer)],
            )
            .await;
        assert!(elsewhere.is_redirect_to("/login?next=/"), "{elsewhere:?}");
    }
    assert_eq!(site.version(&id).await, 1);
}

// 3. CSRF.

#[tokio::test]
async fn forms_without_the_session_token_or_from_another_site_change_nothing() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    let alice = site.login("alice").await;
    let id = site
        .declare("alice", "Disk full", Severity::Sev3, &[], None)
        .await;
    let version = site.version(&id).await;
    let uri = format!("/incidents/{id}/note");

    let missing = site
        .post_raw(Some(&alice.cookie), &uri, &[("text", "hello")], &[])
        .await;
    missing.assert_status(StatusCode::FORBIDDEN, "no CSRF token");
    assert!(
        missing.body.contains("This form has expired"),
        "{}",
        missing.body
    );
    assert!(
        missing
            .header(header::CONTENT_TYPE)
            .starts_with("text/html")
    );

    let wrong = site
        .post_raw(
            Some(&alice.cookie),
            &uri,
            &[("_csrf", &"0".repeat(64)), ("text", "hello")],
            &[],
        )
        .await;
    wrong.assert_status(StatusCode::FORBIDDEN, "a wrong CSRF token");

    // The token of another session does not do either.
    let other = site.login("alice").await;
    assert_ne!(other.csrf, alice.csrf);
    let stolen = site
        .post_raw(
            Some(&alice.cookie),
            &uri,
            &[("_csrf", &other.csrf), ("text", "hello")],
            &[],
        )
        .await;
    stolen.assert_status(StatusCode::FORBIDDEN, "another session's token");

    let cross = site
        .post_raw(
            Some(&alice.cookie),
            &uri,
            &[("_csrf", &alice.csrf), ("text", "hello")],
            &[
                ("origin", "http://evil.example"),
                ("host", "hereby.example"),
            ],
        )
        .await;
    cross.assert_status(StatusCode::FORBIDDEN, "a form from another site");
    assert!(cross.body.contains("another site"), "{}", cross.body);

    let declare = site
        .post_raw(
            Some(&alice.cookie),
            "/incidents",
            &[("title", "Forged")],
            &[],
        )
        .await;
    declare.assert_status(StatusCode::FORBIDDEN, "declaring without CSRF");

    let (content_type, body) = multipart("wrong", "log.txt", "secret log");
    let attach = site
        .send(
            Request::post(format!("/incidents/{id}/attachments"))
                .header(header::COOKIE, &alice.cookie)
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    attach.assert_status(StatusCode::FORBIDDEN, "attaching without CSRF");

    assert_eq!(site.version(&id).await, version, "nothing was recorded");
    assert!(!site.exists(2).await, "nothing was declared");

    // The same form from this site, with the token, works.
    let same_site = site
        .post_raw(
            Some(&alice.cookie),
            &uri,
            &[("_csrf", &alice.csrf), ("text", "hello")],
            &[
                ("origin", "http://hereby.example"),
                ("host", "hereby.example"),
            ],
        )
        .await;
    assert!(
        same_site.is_redirect_to(&format!("/incidents/{id}")),
        "{same_site:?}"
    );
    assert_eq!(site.version(&id).await, version + 1);
}

// 4. The dashboard.

#[tokio::test]
async fn the_dashboard_lists_active_incidents_most_severe_first_and_escapes_titles() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    site.user("vera", InstallationRole::Viewer).await;
    let alice = site.login("alice").await;
    let vera = site.login("vera").await;
    let minor = site
        .declare("alice", "Disk filling", Severity::Sev3, &["storage"], None)
        .await;
    let major = site
        .declare(
            "alice",
            "Checkout down",
            Severity::Sev1,
            &["checkout"],
            None,
        )
        .await;
    let medium = site
        .declare("alice", "Slow search", Severity::Sev2, &["search"], None)
        .await;
    let old = site
        .declare("alice", "Old trouble", Severity::Sev1, &[], None)
        .await;
    site.execute("alice", &old, status_to(Status::Resolved, None))
        .await;
    let evil = site
        .declare(
            "alice",
            "<script>alert(1)</script>",
            Severity::Sev4,
            &[],
            None,
        )
        .await;

    let page = site.get(Some(&alice), "/").await;
    page.assert_status(StatusCode::OK, "the dashboard");
    assert!(page.body.contains("a id=\"declare\""), "{}", page.body);
    let active = page.section("active", "</table>");
    assert_eq!(rows(active), 4, "{active}");
    let at = |id: &str| {
        active
            .find(&format!("href=\"/incidents/{id}\""))
            .unwrap_or_else(|| panic!("{id} missing in {active}"))
    };
    assert!(at(&major) < at(&medium), "{active}");
    assert!(at(&medium) < at(&minor), "{active}");
    assert!(at(&minor) < at(&evil), "{active}");
    assert!(!links_to(active, &old), "{active}");
    let ended = page.section("ended", "</table>");
    assert!(links_to(ended, &old), "{ended}");
    assert_eq!(rows(ended), 1);
    assert!(page.body.contains("&lt;script&gt;alert(1)&lt;"));
    assert!(!page.body.contains("<script>alert"), "{}", page.body);

    // A viewer sees the incidents but no button to declare.
    let viewer = site.get(Some(&vera), "/").await;
    viewer.assert_status(StatusCode::OK, "the viewer's dashboard");
    assert!(!viewer.body.contains("id=\"declare\""));
    assert_eq!(rows(viewer.section("active", "</table>")), 4);

    let sev1 = site.get(Some(&alice), "/?severity=SEV1").await;
    let active = sev1.section("active", "</table>");
    assert_eq!(rows(active), 1, "{active}");
    assert!(links_to(active, &major));
    assert!(links_to(sev1.section("ended", "</table>"), &old));
    assert!(sev1.body.contains("<option selected>SEV1</option>"));

    let checkout = site.get(Some(&alice), "/?service=checkout").await;
    let active = checkout.section("active", "</table>");
    assert_eq!(rows(active), 1, "{active}");
    assert!(links_to(active, &major));
    assert!(checkout.body.contains("id=\"ended-empty\""));

    let nothing = site.get(Some(&alice), "/?service=nothing-here").await;
    assert!(
        nothing.body.contains("id=\"active-empty\""),
        "{}",
        nothing.body
    );

    let fragment = site.get(Some(&alice), "/fragments/dashboard").await;
    fragment.assert_status(StatusCode::OK, "the dashboard's tables");
    assert!(fragment.body.contains("table id=\"active\""));
    assert!(fragment.body.contains("table id=\"ended\""));
    assert!(!fragment.body.contains("<html"), "{}", fragment.body);
    assert!(!fragment.body.contains("id=\"declare\""));
    assert!(fragment.body.contains("&lt;script&gt;"));
    assert!(!fragment.body.contains("<script>alert"));
    let filtered = site
        .get(Some(&alice), "/fragments/dashboard?severity=SEV2")
        .await;
    assert_eq!(rows(filtered.section("active", "</table>")), 1);

    let bad = site.get(Some(&alice), "/?severity=SEV9").await;
    bad.assert_status(StatusCode::BAD_REQUEST, "an unknown severity");

    // The escaped title, on the list and the incident page too.
    let list = site.get(Some(&alice), "/incidents").await;
    assert!(list.body.contains("&lt;script&gt;alert(1)&lt;"));
    assert!(!list.body.contains("<script>alert"));
    let incident = site.get(Some(&alice), &format!("/incidents/{evil}")).await;
    incident.assert_status(StatusCode::OK, "the incident page");
    assert!(incident.body.contains("&lt;script&gt;alert(1)&lt;"));
    assert!(
        !incident.body.contains("<script>alert"),
        "{}",
        incident.body
    );
}

// 5. Declaring.

#[tokio::test]
async fn a_responder_declares_through_the_form_and_becomes_commander() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    site.user("vera", InstallationRole::Viewer).await;
    let alice = site.login("alice").await;
    let vera = site.login("vera").await;

    let form = site.get(Some(&alice), "/incidents/new").await;
    form.assert_status(StatusCode::OK, "the declare form");
    assert!(form.body.contains("form id=\"declare\""), "{}", form.body);

    let refused = site.get(Some(&vera), "/incidents/new").await;
    refused.assert_status(StatusCode::FORBIDDEN, "the declare form for a viewer");
    assert!(
        refused
            .header(header::CONTENT_TYPE)
            .starts_with("text/html")
    );
    assert!(refused.body.contains("id=\"error\""), "{}", refused.body);
    let posted = site.post(&vera, "/incidents", &[("title", "Mine")]).await;
    posted.assert_status(StatusCode::FORBIDDEN, "a viewer declaring");
    assert!(!site.exists(1).await);

    // A rejected form comes back with everything typed.
    let empty = site
        .post(
            &alice,
            "/incidents",
            &[
                ("title", "  "),
                ("summary", "Payments <b>time out</b> since 14:00"),
                ("severity", "SEV2"),
                ("services", "payments, checkout"),
                ("potential", "on"),
            ],
        )
        .await;
    empty.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "an empty title");
    assert!(empty.text_of("error").contains("title"), "{}", empty.body);
    assert!(
        empty
            .body
            .contains(">Payments &lt;b&gt;time out&lt;&#x2f;b&gt; since 14:00</textarea>"),
        "{}",
        empty.body
    );
    assert!(empty.body.contains("value=\"payments, checkout\""));
    assert!(empty.body.contains("<option selected>SEV2</option>"));
    assert!(empty.body.contains("name=\"potential\" checked"));
    let bad_service = site
        .post(
            &alice,
            "/incidents",
            &[("title", "Payments slow"), ("services", "Not A Slug")],
        )
        .await;
    bad_service.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "a bad service name");
    assert!(bad_service.body.contains("value=\"Payments slow\""));

    let declared = site
        .post(
            &alice,
            "/incidents",
            &[
                ("title", "Payments time out"),
                ("summary", "Since **14:00**"),
                ("severity", "SEV2"),
                ("services", "payments, checkout"),
            ],
        )
        .await;
    assert!(declared.is_redirect_to("/incidents/INC-1"), "{declared:?}");

    let page = site.get(Some(&alice), "/incidents/INC-1").await;
    page.assert_status(StatusCode::OK, "the new incident");
    let roles = page.section("roles", "</section>");
    let commander = &roles[roles.find("id=\"role-incident_commander\"").unwrap()..];
    let commander = &commander[..commander.find("</article>").unwrap()];
    assert!(commander.contains("Incident Commander"), "{commander}");
    assert!(
        commander.contains("<span class=\"holders\">alice</span>"),
        "{commander}"
    );
    assert!(commander.contains("This is you"), "{commander}");
    assert!(
        commander.contains("id=\"duties-incident_commander\""),
        "{commander}"
    );
    assert!(commander.contains("Keep the incident state document open and current"));
    assert_eq!(page.text_of("commander"), "alice");
    assert_eq!(page.text_of("severity"), "SEV2");
    // The summary is Markdown, like notes.
    assert!(
        page.section("summary", "</div>")
            .contains("<p>Since <strong>14:00</strong></p>"),
        "{}",
        page.section("summary", "</div>")
    );
    let incident = site.incident("INC-1").await;
    assert_eq!(incident.severity, Severity::Sev2);
    assert_eq!(incident.visibility, Visibility::Internal);
    assert_eq!(incident.services.len(), 2);
    assert_eq!(incident.commander(), Some(&name("alice")));
}

// 6. The incident page and its forms.

#[tokio::test]
async fn every_form_of_the_incident_page_changes_the_incident() {
    let site = Site::new().await;
    for user in ["alice", "bob", "carol"] {
        site.user(user, InstallationRole::Responder).await;
    }
    site.user("dave", InstallationRole::Viewer).await;
    let alice = site.login("alice").await;
    let bob = site.login("bob").await;
    let carol = site.login("carol").await;
    let id = site
        .declare("alice", "Database down", Severity::Sev3, &[], None)
        .await;

    // Notes, in Markdown, with raw HTML shown as text.
    site.act(&alice, &id, "note", &[("text", "Looks **bad**")])
        .await;
    site.act(
        &alice,
        &id,
        "note",
        &[("text", "<script>alert(1)</script>")],
    )
    .await;
    let shown = site.show(&alice, &id).await;
    assert!(
        shown.body.contains("<strong>bad</strong>"),
        "{}",
        shown.body
    );
    assert!(shown.body.contains("&lt;script&gt;alert(1)&lt;"));
    assert!(!shown.body.contains("<script>alert"), "{}", shown.body);
    // Forms that name a person offer the enabled users.
    let people = shown.section("people", "</datalist>");
    for user in ["alice", "bob", "carol"] {
        assert!(
            people.contains(&format!("<option value=\"{user}\">")),
            "{people}"
        );
    }
    assert!(
        shown
            .body
            .contains("<input list=\"people\" autocomplete=\"off\" name=\"person\" required>")
    );

    // A rejected form: the core's sentence, and what was typed is kept.
    let ic_operates = site
        .post(
            &alice,
            &format!("/incidents/{id}/operation"),
            &[("target", "db-1"), ("action", "restarted it")],
        )
        .await;
    ic_operates.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "the IC operating");
    assert!(
        ic_operates
            .text_of("error")
            .contains("the Incident Commander coordinates and does not perform operations"),
        "{}",
        ic_operates.body
    );
    assert!(ic_operates.body.contains("value=\"db-1\""));
    assert!(ic_operates.body.contains("value=\"restarted it\""));
    let long_note = format!("<b>keep</b> {}", "x".repeat(20_001));
    let rejected_note = site
        .post(
            &alice,
            &format!("/incidents/{id}/note"),
            &[("text", &long_note)],
        )
        .await;
    rejected_note.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "a note too long");
    assert!(rejected_note.text_of("error").contains("text"));
    assert!(
        rejected_note.body.contains(&format!(
            ">&lt;b&gt;keep&lt;&#x2f;b&gt; {}</textarea>",
            "x".repeat(20_001)
        )),
        "the note text is kept"
    );
    site.post(&alice, &format!("/incidents/{id}/frobnicate"), &[])
        .await
        .assert_status(StatusCode::NOT_FOUND, "an unknown action");
    site.post(&alice, "/incidents/INC-99/note", &[("text", "hi")])
        .await
        .assert_status(StatusCode::NOT_FOUND, "an unknown incident");
    site.post(&alice, "/incidents/bogus/note", &[("text", "hi")])
        .await
        .assert_status(StatusCode::NOT_FOUND, "a bogus incident id");
    // A viewer may read but not act.
    let dave = site.login("dave").await;
    let read_only = site.show(&dave, &id).await;
    assert!(!read_only.body.contains("id=\"note-form\""));
    let dave_note = site
        .post(&dave, &format!("/incidents/{id}/note"), &[("text", "hi")])
        .await;
    dave_note.assert_status(StatusCode::FORBIDDEN, "a viewer's note");

    // Only Operations changes production: the page says who can, and keeps what was typed.
    let not_operations = site
        .post(
            &bob,
            &format!("/incidents/{id}/operation"),
            &[("target", "db-1"), ("action", "restarted postgres")],
        )
        .await;
    not_operations.assert_status(StatusCode::FORBIDDEN, "a responder without operations");
    assert!(
        not_operations
            .text_of("error")
            .contains("only Operations (nobody holds it now) can change production for this incident; ask alice to give you Operations"),
        "{}",
        not_operations.body
    );
    assert!(not_operations.body.contains("value=\"restarted postgres\""));
    site.act(
        &alice,
        &id,
        "assign",
        &[("role", "operations"), ("person", "bob")],
    )
    .await;

    // Operations, with target and command as code.
    site.act(
        &bob,
        &id,
        "operation",
        &[
            ("target", "db-1"),
            ("action", "restarted postgres"),
            ("command", "systemctl restart postgresql"),
        ],
    )
    .await;
    let shown = site.show(&bob, &id).await;
    assert!(
        shown
            .body
            .contains("<code class=\"target\">db-1</code>: restarted postgres")
    );
    assert!(
        shown
            .body
            .contains("<pre class=\"command\"><code>systemctl restart postgresql</code></pre>")
    );

    // Roles.
    site.act(
        &alice,
        &id,
        "assign",
        &[("role", "scribe"), ("person", "carol")],
    )
    .await;
    assert_eq!(
        site.incident(&id).await.holders_of("scribe"),
        &[name("carol")]
    );
    assert!(
        site.show(&carol, &id)
            .await
            .section("role-scribe", "</article>")
            .contains("This is you")
    );
    site.act(
        &alice,
        &id,
        "unassign",
        &[("role", "scribe"), ("person", "carol")],
    )
    .await;
    assert!(site.incident(&id).await.holders_of("scribe").is_empty());

    // Hand-offs: requested, cancelled, declined, accepted.
    site.act(&alice, &id, "handoff", &[("to", "bob")]).await;
    let for_bob = site.show(&bob, &id).await;
    assert!(for_bob.body.contains("id=\"handoff-pending\""));
    assert!(for_bob.body.contains("id=\"accept-handoff\""));
    let for_carol = site.show(&carol, &id).await;
    assert!(!for_carol.body.contains("id=\"handoff-pending\""));
    assert!(!for_carol.body.contains("id=\"accept-handoff\""));
    let for_alice = site.show(&alice, &id).await;
    assert!(!for_alice.body.contains("id=\"accept-handoff\""));
    assert!(for_alice.body.contains("id=\"cancel-handoff\""));
    // Only the named person may accept.
    let wrong_person = site
        .post(&carol, &format!("/incidents/{id}/accept-handoff"), &[])
        .await;
    wrong_person.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "accepting for another");
    site.act(&alice, &id, "cancel-handoff", &[]).await;
    assert!(site.incident(&id).await.pending_handoff.is_none());
    site.act(&alice, &id, "handoff", &[("to", "bob")]).await;
    site.act(&bob, &id, "decline-handoff", &[("reason", "busy")])
        .await;
    let declined = site.incident(&id).await;
    assert!(declined.pending_handoff.is_none());
    assert_eq!(declined.commander(), Some(&name("alice")));
    site.act(&alice, &id, "handoff", &[("to", "bob")]).await;
    site.act(&bob, &id, "accept-handoff", &[]).await;
    let accepted = site.incident(&id).await;
    assert_eq!(accepted.commander(), Some(&name("bob")));
    assert!(accepted.pending_handoff.is_none());
    assert_eq!(site.show(&bob, &id).await.text_of("commander"), "bob");

    // Severity, status, impact.
    site.act(
        &bob,
        &id,
        "severity",
        &[
            ("severity", "SEV1"),
            ("reason", "all regions"),
            ("potential", "on"),
        ],
    )
    .await;
    let changed = site.incident(&id).await;
    assert_eq!(changed.severity, Severity::Sev1);
    assert!(changed.potential);
    site.act(&bob, &id, "status", &[("status", "identified")])
        .await;
    assert_eq!(site.incident(&id).await.status, Status::Identified);
    site.act(
        &bob,
        &id,
        "impact",
        &[
            ("start", "2024-05-01T10:00:00"),
            ("end", "2024-05-01T11:30"),
        ],
    )
    .await;
    let impact = site.incident(&id).await.impact;
    assert_eq!(
        impact.start,
        Some("2024-05-01T10:00:00Z".parse::<Timestamp>().unwrap())
    );
    assert_eq!(
        impact.end,
        Some("2024-05-01T11:30:00Z".parse::<Timestamp>().unwrap())
    );
    assert!(
        site.show(&bob, &id)
            .await
            .text_of("impact")
            .contains("2024-05-01 10:00:00 UTC")
    );
    let backwards = site
        .post(
            &bob,
            &format!("/incidents/{id}/impact"),
            &[("start", "2024-05-01T12:00"), ("end", "2024-05-01T11:00")],
        )
        .await;
    backwards.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "an end before the start");
    assert!(backwards.text_of("error").contains("before impact start"));

    // Links.
    site.act(
        &bob,
        &id,
        "link",
        &[
            ("kind", "ticket"),
            ("url", "https://tracker.example/T-1"),
            ("title", "Ticket T-1"),
        ],
    )
    .await;
    let links = site.show(&bob, &id).await;
    let links = unescape(links.section("links", "</section>"));
    assert!(
        links.contains("href=\"https://tracker.example/T-1\" rel=\"noopener noreferrer nofollow\">Ticket T-1</a>"),
        "{links}"
    );

    // Action items through their whole life.
    site.act(
        &bob,
        &id,
        "action-item",
        &[
            ("text", "Alert on replication lag"),
            ("owner", "carol"),
            ("kind", "follow_up"),
        ],
    )
    .await;
    let state_of = |incident: &Incident| incident.action_items[&1].state.as_str();
    assert_eq!(state_of(&site.incident(&id).await), "open");
    assert!(
        site.show(&bob, &id)
            .await
            .section("item-1", "</li>")
            .contains("Alert on replication lag")
    );
    site.act(
        &bob,
        &id,
        "action-item-update",
        &[
            ("item", "1"),
            ("due", "2030-01-31"),
            ("owner", "role:scribe"),
        ],
    )
    .await;
    let updated = site.incident(&id).await;
    assert_eq!(
        updated.action_items[&1].due.unwrap().to_string(),
        "2030-01-31"
    );
    assert_eq!(updated.action_items[&1].owner.to_string(), "role:scribe");
    site.act(&bob, &id, "action-item-done", &[("item", "1")])
        .await;
    assert_eq!(state_of(&site.incident(&id).await), "done");
    let twice = site
        .post(
            &bob,
            &format!("/incidents/{id}/action-item-done"),
            &[("item", "1")],
        )
        .await;
    twice.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "done twice");
    site.act(&bob, &id, "action-item-reopen", &[("item", "1")])
        .await;
    assert_eq!(state_of(&site.incident(&id).await), "open");
    site.act(
        &bob,
        &id,
        "action-item-wont-fix",
        &[
            ("item", "1"),
            ("reason", "replaced by a new alerting stack"),
        ],
    )
    .await;
    let wont = site.incident(&id).await;
    assert_eq!(state_of(&wont), "wont_fix");
    let bad_item = site
        .post(
            &bob,
            &format!("/incidents/{id}/action-item-done"),
            &[("item", "one")],
        )
        .await;
    bad_item.assert_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        "an item that is no number",
    );

    // A follow-up opened in a tracker: offered only once a tracker exists; then the tracker
    // owns its state, so the page offers unlinking instead of Done.
    site.act(
        &bob,
        &id,
        "action-item",
        &[
            ("text", "Capacity plan"),
            ("owner", "carol"),
            ("kind", "follow_up"),
        ],
    )
    .await;
    let before = site.show(&bob, &id).await;
    assert!(
        !before
            .section("item-2", "</li>")
            .contains("Open in tracker"),
        "no tracker yet"
    );
    site.store
        .create_channel(
            &hereby_store::NewChannel {
                name: "gh".into(),
                kind: "github".into(),
                config: r#"{"kind":"github","api":"http://127.0.0.1:9","repo":"acme/api","token":"TOKEN-VALUE","webhook_secret":"WEBHOOK-SECRET-VALUE"}"#.into(),
                personal: false,
                concurrency: 4,
            },
            Timestamp::now(),
        )
        .await
        .unwrap();
    let offered = site.show(&bob, &id).await;
    let item_two = offered.section("item-2", "</li>");
    assert!(
        item_two.contains("Open in tracker")
            && item_two.contains("<option value=\"gh\">gh</option>"),
        "{item_two}"
    );
    assert!(
        !offered.body.contains("TOKEN-VALUE") && !offered.body.contains("WEBHOOK-SECRET-VALUE")
    );
    site.act(
        &bob,
        &id,
        "action-item-export",
        &[("item", "2"), ("tracker", "gh")],
    )
    .await;
    let exported = site.incident(&id).await;
    assert_eq!(
        exported.action_items[&2]
            .tracker
            .as_ref()
            .map(|link| link.tracker.as_str()),
        Some("gh")
    );
    let page = site.show(&bob, &id).await;
    let item_two = unescape(page.section("item-2", "</li>"));
    assert!(
        item_two.contains("being opened in gh") && item_two.contains("Unlink from gh"),
        "{item_two}"
    );
    assert!(
        !item_two.contains(">Done<"),
        "the tracker owns its state: {item_two}"
    );
    let by_hand = site
        .post(
            &bob,
            &format!("/incidents/{id}/action-item-done"),
            &[("item", "2")],
        )
        .await;
    by_hand.assert_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        "closing a tracked follow-up by hand",
    );
    assert!(
        by_hand.text_of("error").contains("tracker"),
        "{}",
        by_hand.text_of("error")
    );
    let unknown = site
        .post(
            &bob,
            &format!("/incidents/{id}/action-item-export"),
            &[("item", "2"), ("tracker", "jira")],
        )
        .await;
    unknown.assert_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        "a tracker that does not exist",
    );
    site.act(
        &bob,
        &id,
        "action-item-unlink",
        &[("item", "2"), ("reason", "moved to the storage team")],
    )
    .await;
    assert!(site.incident(&id).await.action_items[&2].tracker.is_none());

    // Members.
    site.act(&bob, &id, "member-add", &[("person", "dave")])
        .await;
    assert!(site.incident(&id).await.members.contains(&name("dave")));
    site.act(&bob, &id, "member-remove", &[("person", "dave")])
        .await;
    assert!(!site.incident(&id).await.members.contains(&name("dave")));

    // Resolving; resolving again is refused with the core's sentence.
    site.act(
        &bob,
        &id,
        "resolve",
        &[("reason", "failover done"), ("confirm", "yes")],
    )
    .await;
    assert_eq!(site.incident(&id).await.status, Status::Resolved);
    let version = site.version(&id).await;
    let again = site
        .post(
            &bob,
            &format!("/incidents/{id}/resolve"),
            &[("confirm", "yes")],
        )
        .await;
    again.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "resolving twice");
    assert_eq!(again.text_of("error"), "the incident is already resolved");
    assert_eq!(site.version(&id).await, version);
    assert!(!again.body.contains("id=\"resolve-form\""));

    // Calling off needs a reason; then it works, on another incident.
    let other = site
        .declare("alice", "False alarm", Severity::Sev4, &[], None)
        .await;
    let no_reason = site
        .post(&alice, &format!("/incidents/{other}/call-off"), &[])
        .await;
    no_reason.assert_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        "calling off without reason",
    );
    assert!(
        no_reason.text_of("error").contains("reason"),
        "{}",
        no_reason.body
    );
    site.act(&alice, &other, "call-off", &[("reason", "a test alert")])
        .await;
    assert_eq!(site.incident(&other).await.status, Status::CalledOff);
    let third = site
        .declare("alice", "Team issue", Severity::Sev4, &[], None)
        .await;
    site.act(
        &alice,
        &third,
        "hand-back",
        &[("reason", "ordinary support")],
    )
    .await;
    assert_eq!(site.incident(&third).await.status, Status::HandedBack);

    // Every entry is on the timeline.
    let timeline = site.show(&bob, &id).await;
    assert!(timeline.body.contains("took over command from alice"));
    assert!(timeline.body.contains("declined to take over command"));
    assert!(timeline.body.contains("withdrew the hand-off to bob"));
    assert!(timeline.body.contains("action item #1 will not be done"));
    assert!(
        timeline
            .body
            .contains("added <strong>dave</strong> as a member")
    );
}

#[tokio::test]
async fn a_file_is_attached_and_downloaded() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    let alice = site.login("alice").await;
    let id = site
        .declare("alice", "Database down", Severity::Sev3, &[], None)
        .await;
    let content = "2024-05-01 ERROR connection refused\n";
    let (content_type, body) = multipart(&alice.csrf, "db.log", content);
    let attached = site
        .send(
            Request::post(format!("/incidents/{id}/attachments"))
                .header(header::COOKIE, &alice.cookie)
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert!(
        attached.is_redirect_to(&format!("/incidents/{id}")),
        "{attached:?}"
    );
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(content.as_bytes()))
    };
    let page = site.get(Some(&alice), &format!("/incidents/{id}")).await;
    let href = format!("/incidents/{id}/attachments/{sha}");
    assert!(
        page.body.contains(&format!("href=\"{href}\"")),
        "{}",
        page.body
    );
    assert!(page.body.contains(">db.log</a>"));

    let download = site.get(Some(&alice), &href).await;
    download.assert_status(StatusCode::OK, "the download");
    assert_eq!(download.body, content);
    assert!(
        download
            .header(header::CONTENT_TYPE)
            .starts_with("text/plain")
    );
    assert!(
        download
            .header(header::CONTENT_DISPOSITION)
            .contains("db.log")
    );
    site.get(
        Some(&alice),
        &format!("/incidents/{id}/attachments/{}", "0".repeat(64)),
    )
    .await
    .assert_status(StatusCode::NOT_FOUND, "an unknown attachment");
    let anonymous = site.get(None, &href).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);

    // A form without a file is refused on the page.
    let (content_type, body) = multipart(&alice.csrf, "", "");
    let empty = site
        .send(
            Request::post(format!("/incidents/{id}/attachments"))
                .header(header::COOKIE, &alice.cookie)
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    empty.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "no file chosen");
    assert!(empty.text_of("error").contains("choose a file"));

    // A token field far longer than any token is refused as soon as it is too long.
    let (content_type, body) = multipart(&"x".repeat(2 * 1024 * 1024), "db.log", "x");
    let huge_field = site
        .send(
            Request::post(format!("/incidents/{id}/attachments"))
                .header(header::COOKIE, &alice.cookie)
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    huge_field.assert_status(StatusCode::BAD_REQUEST, "a 2 MiB token field");
    // A form declared larger than the largest attachment is refused before it is read.
    let (content_type, body) = multipart(&alice.csrf, "db.log", "x");
    let declared = site
        .send(
            Request::post(format!("/incidents/{id}/attachments"))
                .header(header::COOKIE, &alice.cookie)
                .header(header::CONTENT_TYPE, content_type)
                .header(header::CONTENT_LENGTH, "300000000")
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    declared.assert_status(StatusCode::PAYLOAD_TOO_LARGE, "a 300 MB form");

    // An upload the incident refuses (here: decided on a version that is no longer current)
    // stores nothing.
    use hereby_store::{Blobs, Directory};
    let app = hereby_app::App::new(site.store.clone(), site.policy.clone());
    let uploader = site
        .store
        .user(&hereby_core::types::UserName::parse("alice").unwrap())
        .await
        .unwrap();
    let content = b"refused, so never stored";
    let refused = app
        .attach(
            &uploader,
            hereby_core::types::IncidentNumber(1),
            Some(1),
            hereby_core::types::FileName::parse("late.log").unwrap(),
            hereby_core::types::MediaType::parse("text/plain").unwrap(),
            content,
        )
        .await;
    assert!(
        matches!(refused, Err(hereby_app::AppError::Store(_))),
        "{refused:?}"
    );
    let digest: [u8; 32] = {
        use sha2::Digest;
        sha2::Sha256::digest(content).into()
    };
    assert_eq!(site.store.get_blob(digest).await.unwrap(), None);
}

// 7. Visibility of restricted incidents.

#[tokio::test]
async fn a_restricted_incident_does_not_exist_for_non_members() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    site.user("bob", InstallationRole::Responder).await;
    site.user("root", InstallationRole::Admin).await;
    let alice = site.login("alice").await;
    let bob = site.login("bob").await;
    let root = site.login("root").await;
    let declared = site
        .post(
            &alice,
            "/incidents",
            &[
                ("title", "Leaked checkout credentials"),
                ("visibility", "restricted"),
            ],
        )
        .await;
    assert!(declared.is_redirect_to("/incidents/INC-1"), "{declared:?}");
    let id = "INC-1";
    assert_eq!(site.incident(id).await.visibility, Visibility::Restricted);
    let (content_type, body) = multipart(&alice.csrf, "evidence.txt", "evidence");
    let attached = site
        .send(
            Request::post(format!("/incidents/{id}/attachments"))
                .header(header::COOKIE, &alice.cookie)
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert!(attached.is_redirect_to("/incidents/INC-1"), "{attached:?}");
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(b"evidence"))
    };
    let version = site.version(id).await;

    for uri in [
        format!("/incidents/{id}"),
        format!("/incidents/{id}/state"),
        format!("/incidents/{id}/timeline?before=2"),
        format!("/incidents/{id}/live"),
        format!("/incidents/{id}/attachments/{sha}"),
    ] {
        let page = site.get(Some(&bob), &uri).await;
        page.assert_status(StatusCode::NOT_FOUND, &uri);
        assert!(page.body.contains("There is nothing here"), "{uri}");
        assert!(!page.body.contains("Leaked"), "{uri}");
    }
    let actions: &[(&str, &[(&str, &str)])] = &[
        ("note", &[("text", "hi")]),
        ("operation", &[("target", "x"), ("action", "y")]),
        ("assign", &[("role", "scribe"), ("person", "bob")]),
        ("unassign", &[("role", "scribe"), ("person", "bob")]),
        ("handoff", &[("to", "bob")]),
        ("accept-handoff", &[]),
        ("decline-handoff", &[]),
        ("cancel-handoff", &[]),
        ("severity", &[("severity", "SEV1"), ("reason", "x")]),
        ("status", &[("status", "identified")]),
        ("resolve", &[("confirm", "yes")]),
        ("call-off", &[("reason", "x")]),
        ("hand-back", &[("reason", "x")]),
        ("impact", &[("start", "2024-01-01T00:00")]),
        ("link", &[("kind", "doc"), ("url", "https://example.com")]),
        ("action-item", &[("text", "x"), ("owner", "bob")]),
        ("action-item-done", &[("item", "1")]),
        ("action-item-wont-fix", &[("item", "1"), ("reason", "x")]),
        ("action-item-reopen", &[("item", "1")]),
        ("action-item-update", &[("item", "1"), ("owner", "bob")]),
        ("action-item-export", &[("item", "1"), ("tracker", "gh")]),
        ("action-item-unlink", &[("item", "1"), ("reason", "x")]),
        ("member-add", &[("person", "bob")]),
        ("member-remove", &[("person", "alice")]),
        ("frobnicate", &[]),
    ];
    for (action, fields) in actions {
        let uri = format!("/incidents/{id}/{action}");
        for fields in [*fields, &[]] {
            let page = site.post(&bob, &uri, fields).await;
            page.assert_status(StatusCode::NOT_FOUND, &format!("{uri} {fields:?}"));
            assert!(!page.body.contains("Leaked"), "{uri}");
        }
    }
    let (content_type, body) = multipart(&bob.csrf, "mine.txt", "mine");
    let attach = site
        .send(
            Request::post(format!("/incidents/{id}/attachments"))
                .header(header::COOKIE, &bob.cookie)
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    attach.assert_status(StatusCode::NOT_FOUND, "attaching to a restricted incident");
    assert_eq!(site.version(id).await, version, "bob changed nothing");

    for uri in [
        "/",
        "/fragments/dashboard",
        "/incidents",
        "/incidents?q=checkout",
        "/incidents?q=leaked",
    ] {
        let page = site.get(Some(&bob), uri).await;
        page.assert_status(StatusCode::OK, uri);
        assert!(!links_to(&page.body, id), "{uri}: {}", page.body);
        assert!(!page.body.contains("Leaked"), "{uri}");
    }

    // The dashboard's live stream does not mention it either: it signals the internal
    // incident declared after it, and nothing before.
    let internal = site
        .declare("alice", "Internal one", Severity::Sev3, &[], None)
        .await;
    let response = site
        .router
        .clone()
        .oneshot(
            Request::get("/live?after=0")
                .header(header::COOKIE, &bob.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let seen = read_events(response.into_body(), |seen| seen.contains(&internal)).await;
    assert!(seen.contains(&format!("data: {internal}")), "{seen}");
    assert!(!seen.contains(&format!("data: {id}\n")), "{seen}");

    // The declarer and an admin see it.
    for who in [&alice, &root] {
        let page = site.get(Some(who), &format!("/incidents/{id}")).await;
        page.assert_status(StatusCode::OK, "a member or admin");
        assert!(page.body.contains("Leaked checkout credentials"));
        assert_eq!(page.text_of("visibility"), "restricted");
        assert!(links_to(&site.get(Some(who), "/").await.body, id));
        assert!(links_to(
            &site.get(Some(who), "/incidents?q=LEAKED").await.body,
            id
        ));
    }
    let admin_download = site
        .get(Some(&root), &format!("/incidents/{id}/attachments/{sha}"))
        .await;
    admin_download.assert_status(StatusCode::OK, "the admin's download");

    // Once added as a member, bob sees it too.
    site.act(&alice, id, "member-add", &[("person", "bob")])
        .await;
    site.get(Some(&bob), &format!("/incidents/{id}"))
        .await
        .assert_status(StatusCode::OK, "a member");
    site.get(Some(&bob), &format!("/incidents/{id}/state"))
        .await
        .assert_status(StatusCode::OK, "a member's state fragment");
    site.get(Some(&bob), &format!("/incidents/{id}/attachments/{sha}"))
        .await
        .assert_status(StatusCode::OK, "a member's download");
    assert!(links_to(&site.get(Some(&bob), "/").await.body, id));
    assert!(links_to(
        &site.get(Some(&bob), "/incidents?q=checkout").await.body,
        id
    ));
    site.act(&bob, id, "note", &[("text", "on it")]).await;
}

// 8. The list and search.

#[tokio::test]
async fn the_incident_list_searches_filters_and_pages() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    let alice = site.login("alice").await;
    for n in 1..=30u32 {
        let (title, summary, severity, services): (String, Option<&str>, Severity, &[&str]) =
            match n {
                5 => (
                    "Checkout failing".into(),
                    None,
                    Severity::Sev1,
                    &["checkout"],
                ),
                7 => (
                    "Payments slow".into(),
                    Some("Affects the CHECKOUT page"),
                    Severity::Sev2,
                    &["payments"],
                ),
                _ => (format!("Thing {n}"), None, Severity::Sev3, &[]),
            };
        site.declare("alice", &title, severity, services, summary)
            .await;
    }
    site.execute("alice", "INC-3", status_to(Status::Resolved, None))
        .await;
    site.execute("alice", "INC-7", status_to(Status::Monitoring, None))
        .await;

    let search = site.get(Some(&alice), "/incidents?q=checkout").await;
    search.assert_status(StatusCode::OK, "a search");
    let results = search.section("results", "</table>");
    assert_eq!(rows(results), 2, "{results}");
    assert!(links_to(results, "INC-5") && links_to(results, "INC-7"));
    assert!(
        search
            .body
            .contains("type=\"search\" name=\"q\" value=\"checkout\"")
    );
    let upper = site.get(Some(&alice), "/incidents?q=CheckOut").await;
    assert_eq!(rows(&upper.body), 2);
    let none = site
        .get(Some(&alice), "/incidents?q=nothing+like+this")
        .await;
    assert_eq!(rows(&none.body), 0);
    assert!(none.body.contains("id=\"results-empty\""));

    let resolved = site.get(Some(&alice), "/incidents?status=resolved").await;
    assert_eq!(rows(&resolved.body), 1);
    assert!(links_to(&resolved.body, "INC-3"));
    let monitoring = site.get(Some(&alice), "/incidents?status=monitoring").await;
    assert_eq!(rows(&monitoring.body), 1);
    assert!(links_to(&monitoring.body, "INC-7"));
    let active = site.get(Some(&alice), "/incidents?status=active").await;
    assert_eq!(rows(&active.body), 25, "29 active, a page of them");
    let sev1 = site.get(Some(&alice), "/incidents?severity=SEV1").await;
    assert_eq!(rows(&sev1.body), 1);
    assert!(links_to(&sev1.body, "INC-5"));
    let payments = site.get(Some(&alice), "/incidents?service=payments").await;
    assert_eq!(rows(&payments.body), 1);
    assert!(links_to(&payments.body, "INC-7"));
    let combined = site
        .get(Some(&alice), "/incidents?q=checkout&severity=SEV2")
        .await;
    assert_eq!(rows(&combined.body), 1);
    assert!(links_to(&combined.body, "INC-7"));

    // Pages of 25, newest first.
    let first = site.get(Some(&alice), "/incidents").await;
    let results = first.section("results", "</table>");
    assert_eq!(rows(results), 25);
    assert!(results.find("INC-30").unwrap() < results.find("INC-29").unwrap());
    assert!(links_to(results, "INC-6") && !links_to(results, "INC-5"));
    let next = unescape(first.section("next-page", "</a>"));
    assert!(next.contains("href=\"/incidents?before=6\""), "{next}");
    let second = site.get(Some(&alice), "/incidents?before=6").await;
    second.assert_status(StatusCode::OK, "the second page");
    assert_eq!(rows(&second.body), 5);
    assert!(links_to(&second.body, "INC-5") && links_to(&second.body, "INC-1"));
    assert!(!second.body.contains("id=\"next-page\""));
    assert!(second.body.contains("<a href=\"/incidents\">Newest</a>"));
    // Filters carry over to the next page.
    let sev3 = site
        .get(Some(&alice), "/incidents?severity=SEV3&q=thing")
        .await;
    assert_eq!(rows(&sev3.body), 25);
    let link = unescape(sev3.section("next-page", "</a>"));
    let start = link.find("href=\"").unwrap() + 6;
    let href = &link[start..start + link[start..].find('"').unwrap()];
    assert!(
        href.contains("severity=SEV3") && href.contains("q=thing"),
        "{href}"
    );
    let rest = site.get(Some(&alice), href).await;
    rest.assert_status(StatusCode::OK, "the next filtered page");
    assert_eq!(rows(&rest.body), 3, "28 things, 25 on the first page");

    for bad in [
        "/incidents?severity=SEV9",
        "/incidents?status=sleeping",
        "/incidents?service=Not%20A%20Slug",
        "/incidents?before=soon",
    ] {
        let page = site.get(Some(&alice), bad).await;
        page.assert_status(StatusCode::BAD_REQUEST, bad);
        assert!(page.header(header::CONTENT_TYPE).starts_with("text/html"));
        assert!(page.body.contains("id=\"error\""), "{bad}");
    }
    let sev9 = site.get(Some(&alice), "/incidents?severity=SEV9").await;
    assert!(sev9.text_of("error").contains("SEV9"), "{}", sev9.body);
}

// 9. Timeline paging.

#[tokio::test]
async fn a_long_timeline_shows_the_newest_entries_and_loads_older_ones() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    let alice = site.login("alice").await;
    let id = site
        .declare("alice", "Long one", Severity::Sev3, &[], None)
        .await;
    for n in 2..=120 {
        site.execute(
            "alice",
            &id,
            Command::AddNote {
                text: Text::parse(&format!("note number {n}")).unwrap(),
            },
        )
        .await;
    }
    assert_eq!(site.version(&id).await, 120);

    let page = site.get(Some(&alice), &format!("/incidents/{id}")).await;
    page.assert_status(StatusCode::OK, "the incident page");
    assert_eq!(page.body.matches("class=\"entry ").count(), 50);
    assert!(page.body.contains("id=\"entry-120\"") && page.body.contains("id=\"entry-71\""));
    assert!(!page.body.contains("id=\"entry-70\""));
    assert!(
        page.body.find("note number 120").unwrap() < page.body.find("note number 71").unwrap(),
        "newest first"
    );
    let older = page.section("older", "</a>");
    assert!(
        older.contains(&format!("href=\"/incidents/{id}/timeline?before=71\"")),
        "{older}"
    );

    let uri = format!("/incidents/{id}/timeline?before=71");
    let fragment = site
        .get_with(Some(&alice), &uri, &[("hx-request", "true")])
        .await;
    fragment.assert_status(StatusCode::OK, "older entries for htmx");
    assert!(!fragment.body.contains("<html"), "{}", fragment.body);
    assert_eq!(fragment.body.matches("class=\"entry ").count(), 50);
    assert!(fragment.body.contains("id=\"entry-70\"") && fragment.body.contains("id=\"entry-21\""));
    assert!(!fragment.body.contains("id=\"entry-71\""));
    assert!(fragment.body.contains("hx-swap-oob=\"true\""));
    assert!(fragment.body.contains("timeline?before=21"));

    let whole = site.get(Some(&alice), &uri).await;
    whole.assert_status(StatusCode::OK, "older entries as a page");
    assert!(whole.body.contains("<html"));
    assert_eq!(whole.body.matches("class=\"entry ").count(), 50);
    assert!(whole.section("older", "</a>").contains("before=21"));

    let last = site
        .get_with(
            Some(&alice),
            &format!("/incidents/{id}/timeline?before=21"),
            &[("hx-request", "true")],
        )
        .await;
    assert_eq!(last.body.matches("class=\"entry ").count(), 20);
    assert!(last.body.contains("id=\"entry-1\""));
    assert!(
        last.body
            .contains("<span id=\"older\" hx-swap-oob=\"true\"></span>")
    );
    let beyond = site
        .get(
            Some(&alice),
            &format!("/incidents/{id}/timeline?before=1000"),
        )
        .await;
    assert!(beyond.body.contains("id=\"entry-120\""));
    site.get(Some(&alice), &format!("/incidents/{id}/timeline"))
        .await
        .assert_status(StatusCode::BAD_REQUEST, "no `before`");

    // The state fragment is what the live page refreshes.
    let state = site
        .get(Some(&alice), &format!("/incidents/{id}/state"))
        .await;
    state.assert_status(StatusCode::OK, "the state fragment");
    assert!(
        state.body.starts_with("<div id=\"state\""),
        "{}",
        state.body
    );
    assert!(!state.body.contains("<html"));
}

/// The links of a long incident are listed once each, however the page's cache came to
/// know them: read by type before the newest entries (a cold cache, or one far behind), or
/// one event at a time while catching up.
#[tokio::test]
async fn links_of_a_long_timeline_are_all_listed_once() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    let alice = site.login("alice").await;
    let id = site
        .declare("alice", "Linked one", Severity::Sev3, &[], None)
        .await;
    let link = |n: u32| Command::AddLink {
        kind: hereby_core::types::LinkKind::Ticket,
        url: hereby_core::types::Url::parse(&format!("https://tickets.example.com/T{n}")).unwrap(),
        title: None,
    };
    let notes = |count: u32| {
        let site = &site;
        let id = &id;
        async move {
            for n in 0..count {
                site.execute(
                    "alice",
                    id,
                    Command::AddNote {
                        text: Text::parse(&format!("note {n}")).unwrap(),
                    },
                )
                .await;
            }
        }
    };
    let listed = |page: &Page, expected: &[u32]| {
        let section = unescape(page.section("links", "</section>"));
        for n in 1..=4 {
            let found = section
                .matches(&format!("https://tickets.example.com/T{n}\""))
                .count();
            let wanted = usize::from(expected.contains(&n));
            assert_eq!(found, wanted, "T{n} listed {found} times:\n{section}");
        }
    };
    site.execute("alice", &id, link(1)).await;
    notes(100).await;
    site.execute("alice", &id, link(2)).await;
    let page = site.get(Some(&alice), &format!("/incidents/{id}")).await;
    listed(&page, &[1, 2]);
    // Far behind: the view starts over.
    site.execute("alice", &id, link(3)).await;
    notes(1_100).await;
    listed(
        &site.get(Some(&alice), &format!("/incidents/{id}")).await,
        &[1, 2, 3],
    );
    // A little behind: the view catches up.
    site.execute("alice", &id, link(4)).await;
    listed(
        &site.get(Some(&alice), &format!("/incidents/{id}")).await,
        &[1, 2, 3, 4],
    );
}

/// Stakeholder updates from the incident page: posted to an audience, shown in the timeline
/// with their Markdown, counted as the last update (so the next one is due one interval
/// later); a public update needs a public incident, which the visibility form makes it.
#[tokio::test]
async fn updates_are_posted_and_public_ones_need_a_public_incident() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    let alice = site.login("alice").await;
    let id = site
        .declare("alice", "Checkout slow", Severity::Sev2, &[], None)
        .await;
    let page = site.show(&alice, &id).await;
    assert!(
        page.text_of("next-update").contains("none yet"),
        "{}",
        page.text_of("next-update")
    );
    assert!(page.text_of("next-update").contains("next due"));

    site.act(
        &alice,
        &id,
        "update",
        &[("audience", "customers"), ("body", "We are **on it**.")],
    )
    .await;
    assert!(site.incident(&id).await.last_update_at.is_some());
    let page = site.show(&alice, &id).await;
    assert!(page.body.contains("update to customers"), "{}", page.body);
    assert!(page.body.contains("We are <strong>on it</strong>."));
    assert!(page.text_of("next-update").contains("last just now"));

    let version = site.version(&id).await;
    let refused = site
        .post(
            &alice,
            &format!("/incidents/{id}/update"),
            &[
                ("audience", "customers"),
                ("body", "Public words"),
                ("public", "on"),
            ],
        )
        .await;
    refused.assert_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        "a public update on an internal incident",
    );
    assert!(refused.text_of("error").contains("make it public first"));
    assert!(
        refused.body.contains("Public words"),
        "the typed update is kept"
    );
    assert_eq!(site.version(&id).await, version);

    site.act(
        &alice,
        &id,
        "visibility",
        &[("visibility", "public"), ("reason", "customers see it")],
    )
    .await;
    site.act(
        &alice,
        &id,
        "update",
        &[
            ("audience", "customers"),
            ("body", "Public words"),
            ("public", "on"),
        ],
    )
    .await;
    let page = site.show(&alice, &id).await;
    assert!(page.body.contains("update to customers, public"));
    assert!(page.text_of("visibility").contains("public"));
    let bad = site
        .post(
            &alice,
            &format!("/incidents/{id}/update"),
            &[("audience", "everyone"), ("body", "x")],
        )
        .await;
    bad.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "an unknown audience");
}

/// An Alertmanager integration, made in the store as an admin would through the API.
async fn alert_integration(site: &Site) -> hereby_store::Integration {
    use hereby_store::Alerts;
    site.store
        .create_integration(
            &hereby_store::NewIntegration {
                name: "prometheus".to_owned(),
                kind: "alertmanager".to_owned(),
                key_digest: b"digest".to_vec(),
                heartbeat_timeout: None,
            },
            Timestamp::now(),
        )
        .await
        .unwrap()
}

/// A firing `HighLatency` alert of `service`.
fn firing(key: &str, summary: &str, service: &str) -> hereby_core::alerts::Signal {
    hereby_core::alerts::Signal {
        dedup_key: key.to_owned(),
        firing: true,
        summary: summary.to_owned(),
        labels: [("alertname", "HighLatency"), ("service", service)]
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect(),
        at: Timestamp::now(),
        source_group: false,
    }
}

#[tokio::test]
async fn the_incident_page_shows_its_alert_groups() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    let alice = site.login("alice").await;
    let app = hereby_app::App::new(site.store.clone(), site.policy.clone());
    let integration = alert_integration(&site).await;
    let signal = |key: &str| firing(key, "Checkout <b>slow</b>", "checkout");
    let received = app
        .receive_alerts(
            &integration,
            "{}",
            vec![signal("a"), signal("a"), signal("b")],
        )
        .await
        .unwrap();
    let id = received.opened[0].to_string();
    let page = site.show(&alice, &id).await;
    let panel = page.section("alerts", "</section>");
    assert!(
        panel.contains("Checkout &lt;b&gt;slow&lt;&#x2f;b&gt;"),
        "escaped: {panel}"
    );
    assert!(
        panel.contains("2 firing") && panel.contains("2 alerts, 3 events"),
        "{panel}"
    );
    assert!(page.body.contains("take-command-form"));
    // An incident without alerts has no panel (and reads no groups).
    let other = site
        .declare("alice", "DB down", Severity::Sev2, &[], None)
        .await;
    let page = site.show(&alice, &other).await;
    assert!(!page.body.contains("id=\"alerts\""));
}

#[tokio::test]
async fn a_responder_takes_command_of_an_incident_nobody_commands() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    site.user("vera", InstallationRole::Viewer).await;
    let alice = site.login("alice").await;
    let vera = site.login("vera").await;
    // As a route opens one from alerts: declared by the system.
    let id = site
        .declare("hereby", "HighLatency checkout", Severity::Sev2, &[], None)
        .await;
    let page = site.show(&alice, &id).await;
    assert!(
        page.body.contains("id=\"take-command-form\""),
        "{}",
        page.body
    );
    assert!(page.text_of("commander").contains('—'));
    let page = site.show(&vera, &id).await;
    assert!(
        !page.body.contains("take-command-form"),
        "viewers change nothing"
    );

    site.act(&alice, &id, "take-command", &[]).await;
    let incident = site.incident(&id).await;
    assert_eq!(incident.commander().map(|c| c.as_str()), Some("alice"));
    let page = site.show(&alice, &id).await;
    assert!(!page.body.contains("take-command-form"));
    assert!(page.text_of("commander").contains("alice"));
}

#[tokio::test]
async fn the_public_summary_is_written_on_the_incident_page() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    let alice = site.login("alice").await;
    let id = site
        .declare("alice", "Checkout slow", Severity::Sev2, &[], None)
        .await;
    let page = site.show(&alice, &id).await;
    assert!(page.body.contains("id=\"public-summary-form\""));
    assert!(
        page.section("public-summary", "</p>")
            .contains("no public summary yet")
    );

    let version = site.version(&id).await;
    let refused = site
        .post(
            &alice,
            &format!("/incidents/{id}/public-summary"),
            &[("public_summary", "Slow since <time, UTC>")],
        )
        .await;
    refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "a template hint left");
    assert!(refused.text_of("error").contains("time, UTC"));
    assert!(
        refused.body.contains("Slow since &lt;time, UTC&gt;"),
        "the typed summary is kept: {}",
        refused.body
    );
    assert_eq!(site.version(&id).await, version);

    site.act(
        &alice,
        &id,
        "public-summary",
        &[(
            "public_summary",
            "Checkout & search are slow for some customers.",
        )],
    )
    .await;
    assert_eq!(
        site.incident(&id)
            .await
            .public_summary
            .map(|text| text.to_string())
            .as_deref(),
        Some("Checkout & search are slow for some customers.")
    );
    let page = site.show(&alice, &id).await;
    assert!(
        page.body.contains(
            "<strong>For customers:</strong> Checkout &amp; search are slow for some customers."
        ),
        "escaped on the page: {}",
        page.body
    );
    assert!(page.body.contains("wrote the public summary"));

    // An empty box removes it.
    site.act(&alice, &id, "public-summary", &[("public_summary", "  ")])
        .await;
    assert_eq!(site.incident(&id).await.public_summary, None);
}

#[tokio::test]
async fn a_template_fills_the_update_form_and_the_status_page_is_public() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    let alice = site.login("alice").await;
    let id = site
        .declare("alice", "Search <b>slow</b>", Severity::Sev3, &[], None)
        .await;
    let page = site.show(&alice, &id).await;
    assert!(
        page.body.contains("<option value=\"slow-service\""),
        "{}",
        page.body
    );
    let page = site
        .get(
            Some(&alice),
            &format!("/incidents/{id}?template=slow-service"),
        )
        .await;
    page.assert_status(StatusCode::OK, "a template preview");
    let form = page.section("update-form", "</form>");
    assert!(
        form.contains("**[SEV3] Search &lt;b&gt;slow&lt;&#x2f;b&gt; is slow or not responding**"),
        "the rendered template fills the form, escaped: {form}"
    );
    let page = site
        .get(Some(&alice), &format!("/incidents/{id}?template=no-such"))
        .await;
    assert!(
        page.text_of("error").contains("does not exist"),
        "{}",
        page.body
    );

    // The status page needs no session and shows no internal incident.
    let status = site.get(None, "/status").await;
    status.assert_status(StatusCode::OK, "the public status page");
    assert!(status.body.contains("All Systems Operational"));
    assert!(!status.body.contains("Search"), "{}", status.body);
    assert!(
        status
            .header(header::CONTENT_SECURITY_POLICY)
            .contains("default-src 'self'")
    );
    let json = site.get(None, "/api/v2/status.json").await;
    json.assert_status(StatusCode::OK, "status.json");
    assert!(
        json.body.contains("\"indicator\":\"none\""),
        "{}",
        json.body
    );
}

#[tokio::test]
async fn admins_add_channels_and_subscriptions_on_the_settings_page() {
    use hereby_store::Notifications;
    let site = Site::new().await;
    site.user("root", InstallationRole::Admin).await;
    site.user("alice", InstallationRole::Responder).await;
    let root = site.login("root").await;
    let alice = site.login("alice").await;
    let page = site.get(Some(&root), "/settings").await;
    assert!(page.body.contains("id=\"add-channel\""), "{}", page.body);
    assert!(
        !page.body.contains("id=\"add-subscription\""),
        "no subscription form before there is a channel"
    );
    let refused = site
        .post(
            &alice,
            "/settings/channels/new",
            &[
                ("name", "ops"),
                ("kind", "slack"),
                ("url", "https://hooks.example.com/x"),
            ],
        )
        .await;
    refused.assert_status(StatusCode::FORBIDDEN, "a responder adding a channel");

    // A refused channel is explained, keeps what was typed but never the secret, and adds
    // nothing.
    let short = site
        .post(
            &root,
            "/settings/channels/new",
            &[
                ("name", "ops-hook"),
                ("kind", "webhook"),
                ("url", "https://hooks.example.com/ops"),
                ("secret", "too-short-9"),
                ("tls", "starttls"),
                ("concurrency", "4"),
            ],
        )
        .await;
    short.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "a short webhook secret");
    assert!(short.text_of("error").contains("at least 16 characters"));
    assert!(
        short.body.contains("hooks.example.com"),
        "the URL typed is kept"
    );
    assert!(
        !short.body.contains("too-short-9"),
        "the secret is not sent back"
    );
    assert!(site.store.channels().await.unwrap().is_empty());

    let added = site
        .post(
            &root,
            "/settings/channels/new",
            &[
                ("name", "ops-hook"),
                ("kind", "webhook"),
                ("url", "https://hooks.example.com/ops"),
                ("secret", "a-long-enough-signing-secret"),
                ("tls", "starttls"),
                ("concurrency", "4"),
            ],
        )
        .await;
    assert!(added.is_redirect_to("/settings#channels"), "{added:?}");
    let page = site.get(Some(&root), "/settings").await;
    assert!(page.section("channels", "</table>").contains("ops-hook"));
    assert!(!page.body.contains("a-long-enough-signing-secret"));

    let bad = site
        .post(
            &root,
            "/settings/subscriptions/new",
            &[("channel", "ops-hook"), ("scope", "all")],
        )
        .await;
    bad.assert_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        "a subscription to nothing",
    );
    assert!(
        bad.text_of("error").contains("events"),
        "{}",
        bad.text_of("error")
    );
    let added = site
        .post(
            &root,
            "/settings/subscriptions/new",
            &[
                ("channel", "ops-hook"),
                ("events", "declared"),
                ("events", "resolved"),
                ("scope", "all"),
            ],
        )
        .await;
    assert!(added.is_redirect_to("/settings#subscriptions"), "{added:?}");
    let subscriptions = site.store.subscriptions().await.unwrap();
    assert_eq!(subscriptions.len(), 1);
    assert_eq!(subscriptions[0].events, ["declared", "resolved"]);
    let page = site.get(Some(&root), "/settings").await;
    assert!(
        page.section("subscriptions", "</table>")
            .contains("declared, resolved")
    );
}

#[tokio::test]
async fn admins_manage_components_and_templates_on_the_settings_page() {
    let site = Site::new().await;
    site.user("root", InstallationRole::Admin).await;
    site.user("alice", InstallationRole::Responder).await;
    let root = site.login("root").await;
    let alice = site.login("alice").await;
    let refused = site.get(Some(&alice), "/settings").await;
    refused.assert_status(StatusCode::FORBIDDEN, "a responder on the settings page");
    let refused = site
        .post(&alice, "/settings/components/new", &[("name", "api")])
        .await;
    refused.assert_status(StatusCode::FORBIDDEN, "a responder adding a component");

    let page = site.get(Some(&root), "/settings").await;
    page.assert_status(StatusCode::OK, "the settings page");
    assert!(
        page.body
            .contains("<title>Status page and templates · hereby</title>"),
        "{}",
        page.body
    );
    assert_eq!(page.body.matches("id=\"deliveries\"").count(), 1);
    assert!(
        page.body.contains("id=\"template-first-response\""),
        "{}",
        page.body
    );
    let added = site
        .post(
            &root,
            "/settings/components/new",
            &[
                ("name", "checkout"),
                ("description", "<b>Paying</b>"),
                ("status", "auto"),
            ],
        )
        .await;
    assert!(added.is_redirect_to("/settings#components"), "{added:?}");
    let bad = site
        .post(
            &root,
            "/settings/components/checkout",
            &[
                ("description", "x"),
                ("position", "first"),
                ("status", "auto"),
            ],
        )
        .await;
    bad.assert_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        "a position that is no number",
    );
    assert!(bad.text_of("error").contains("not a whole number"));
    let changed = site
        .post(
            &root,
            "/settings/components/checkout",
            &[
                ("description", "<b>Paying</b>"),
                ("position", "3"),
                ("status", "under_maintenance"),
            ],
        )
        .await;
    assert!(
        changed.is_redirect_to("/settings#components"),
        "{changed:?}"
    );
    let page = site.get(Some(&root), "/settings").await;
    let row = page.section("component-checkout", "</tr>");
    assert!(
        row.contains("&lt;b&gt;Paying&lt;&#x2f;b&gt;"),
        "escaped: {row}"
    );
    assert!(
        row.contains("<option selected>under_maintenance</option>"),
        "{row}"
    );
    let status = site.get(None, "/api/v2/components.json").await;
    assert!(
        status.body.contains("\"status\":\"under_maintenance\""),
        "{}",
        status.body
    );

    // Templates: a mistake is refused with its line and the typed text kept.
    let refused = site
        .post(
            &root,
            "/settings/templates/new",
            &[
                ("name", "ours"),
                ("subject", "Hi"),
                ("body", "one\r\n{{ nope }}"),
            ],
        )
        .await;
    refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "an unknown variable");
    assert!(
        refused
            .text_of("error")
            .contains("line 2 of the body: unknown variable `nope`"),
        "{}",
        refused.text_of("error")
    );
    assert!(
        refused.body.contains("{{ nope }}"),
        "the typed body is kept"
    );
    let saved = site
        .post(
            &root,
            "/settings/templates/new",
            &[
                ("name", "ours"),
                ("subject", "About {{ id }}"),
                ("body", "We are on it."),
            ],
        )
        .await;
    assert!(saved.is_redirect_to("/settings#templates"), "{saved:?}");
    let page = site.get(Some(&root), "/settings").await;
    assert!(
        page.section("template-ours", "</details>")
            .contains("(custom)")
    );
    let removed = site
        .post(&root, "/settings/templates/ours", &[("op", "remove")])
        .await;
    assert!(removed.is_redirect_to("/settings#templates"), "{removed:?}");
    let page = site.get(Some(&root), "/settings").await;
    assert!(!page.body.contains("template-ours"));
    let shipped = site
        .post(&root, "/settings/templates/resolved", &[("op", "remove")])
        .await;
    shipped.assert_status(StatusCode::CONFLICT, "removing a shipped template");
    let removed = site
        .post(&root, "/settings/components/checkout", &[("op", "remove")])
        .await;
    assert!(
        removed.is_redirect_to("/settings#components"),
        "{removed:?}"
    );

    // Notifications: channels shown without secrets, a dead letter retried from the page.
    let channel = site
        .store
        .create_channel(
            &hereby_store::NewChannel {
                name: "ops-hook".into(),
                kind: "webhook".into(),
                config: r#"{"url":"http://127.0.0.1:9/hook","secret":"SECRET-VALUE"}"#.into(),
                personal: false,
                concurrency: 4,
            },
            Timestamp::now(),
        )
        .await
        .unwrap();
    let now = Timestamp::now();
    site.store
        .enqueue(
            &[hereby_store::NewDelivery {
                key: "web-test".into(),
                channel_id: channel.id,
                recipient: None,
                incident: None,
                kind: "test".into(),
                subject: "A <test> message".into(),
                body: "body".into(),
                payload: "{}".into(),
            }],
            now,
        )
        .await
        .unwrap();
    let id = site.store.deliveries(None, 10).await.unwrap()[0].id;
    let claimed = site
        .store
        .claim_deliveries(
            now,
            now + jiff::SignedDuration::from_mins(1),
            &hereby_store::ClaimLimits::one_channel(channel.id, 10),
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(
        site.store
            .finish_delivery(
                claimed[0].claim(),
                &hereby_store::DeliveryOutcome::Dead {
                    error: "connection refused".into(),
                },
                now,
            )
            .await
            .unwrap()
    );
    let page = site.get(Some(&root), "/settings").await;
    assert!(page.section("channels", "</table>").contains("ops-hook"));
    assert!(
        !page.body.contains("SECRET-VALUE"),
        "secrets are never shown"
    );
    let row = page.section(&format!("delivery-{id}"), "</tr>").to_owned();
    assert!(
        row.contains("dead") && row.contains("connection refused"),
        "{row}"
    );
    assert!(row.contains("A &lt;test&gt; message"), "{row}");
    let retried = site
        .post(&root, &format!("/settings/deliveries/{id}"), &[])
        .await;
    assert!(
        retried.is_redirect_to("/settings#deliveries"),
        "{retried:?}"
    );
    let delivery = site.store.delivery(id).await.unwrap().unwrap();
    assert_eq!(delivery.state, hereby_store::DeliveryState::Pending);
    let missing = site.post(&root, "/settings/deliveries/999999", &[]).await;
    missing.assert_status(
        StatusCode::NOT_FOUND,
        "retrying a delivery that does not exist",
    );
    let refused = site
        .post(&alice, &format!("/settings/deliveries/{id}"), &[])
        .await;
    refused.assert_status(StatusCode::FORBIDDEN, "a responder retrying a delivery");
}

// 10. The Users page.

#[tokio::test]
async fn admins_manage_users_setup_links_and_tokens() {
    let site = Site::new().await;
    site.user("root", InstallationRole::Admin).await;
    site.user("alice", InstallationRole::Responder).await;
    let root = site.login("root").await;
    let alice = site.login("alice").await;

    let page = site.get(Some(&root), "/users").await;
    page.assert_status(StatusCode::OK, "the users page");
    let table = page.section("users", "</table>");
    assert!(table.contains("id=\"user-root\"") && table.contains("id=\"user-alice\""));
    let refused = site.get(Some(&alice), "/users").await;
    refused.assert_status(StatusCode::FORBIDDEN, "the users page for a responder");
    assert!(!refused.body.contains("id=\"users\""));
    let refused = site
        .post(&alice, "/users", &[("name", "mallory"), ("role", "admin")])
        .await;
    refused.assert_status(StatusCode::FORBIDDEN, "a responder adding a user");
    let refused = site
        .post(&alice, "/users/alice", &[("op", "role"), ("role", "admin")])
        .await;
    refused.assert_status(StatusCode::FORBIDDEN, "a responder promoting themselves");
    assert!(site.store.user(&name("mallory")).await.is_err());
    assert_eq!(
        site.store.user(&name("alice")).await.unwrap().role,
        InstallationRole::Responder
    );

    // Adding a user shows their one-time setup link.
    let added = site
        .post(
            &root,
            "/users",
            &[("name", "newbie"), ("role", "responder")],
        )
        .await;
    added.assert_status(StatusCode::OK, "adding a user");
    let link = unescape(added.text_of("secret"));
    assert!(link.starts_with("http://localhost/setup/"), "{link}");
    let setup = link.trim_start_matches("http://localhost").to_owned();
    assert!(
        added
            .section("users", "</table>")
            .contains("id=\"user-newbie\"")
    );
    let duplicate = site
        .post(&root, "/users", &[("name", "newbie"), ("role", "viewer")])
        .await;
    duplicate.assert_status(StatusCode::CONFLICT, "adding a user twice");
    assert!(duplicate.text_of("error").contains("already exists"));
    assert!(
        duplicate.body.contains("value=\"newbie\""),
        "the form is kept"
    );
    let bad_name = site.post(&root, "/users", &[("name", "Not A Slug")]).await;
    bad_name.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "a bad user name");

    let form = site.get(None, &setup).await;
    form.assert_status(StatusCode::OK, "the setup form");
    assert!(form.body.contains("form id=\"setup\""));
    assert!(form.body.contains("Choose a password for newbie"));
    let mismatch = site
        .post_raw(
            None,
            &setup,
            &[
                ("password", "a long password"),
                ("confirm", "a long passw0rd"),
            ],
            &[],
        )
        .await;
    mismatch.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "different passwords");
    assert!(mismatch.text_of("error").contains("not the same"));
    let short = site
        .post_raw(
            None,
            &setup,
            &[("password", "short"), ("confirm", "short")],
            &[],
        )
        .await;
    short.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "a short password");
    assert!(short.text_of("error").contains("at least 10 characters"));
    let good = site
        .post_raw(
            None,
            &setup,
            &[
                ("password", "a long password"),
                ("confirm", "a long password"),
            ],
            &[],
        )
        .await;
    assert!(good.is_redirect_to("/"), "{good:?}");
    let newbie = site.session_from(&good).await;
    let home = site.get(Some(&newbie), "/").await;
    assert!(home.body.contains("Sign out newbie"));
    site.get(None, &setup)
        .await
        .assert_status(StatusCode::NOT_FOUND, "a used setup link");
    site.post_raw(
        None,
        &setup,
        &[
            ("password", "another password"),
            ("confirm", "another password"),
        ],
        &[],
    )
    .await
    .assert_status(StatusCode::NOT_FOUND, "using a link twice");
    site.get(None, "/setup/not-a-real-link")
        .await
        .assert_status(StatusCode::NOT_FOUND, "a made-up setup link");

    // Changing the role takes effect on the next request.
    site.post(&root, "/users/newbie", &[("op", "role"), ("role", "admin")])
        .await
        .assert_status(StatusCode::OK, "making newbie an admin");
    assert_eq!(
        site.store.user(&name("newbie")).await.unwrap().role,
        InstallationRole::Admin
    );
    site.get(Some(&newbie), "/users")
        .await
        .assert_status(StatusCode::OK, "newbie as admin");
    site.post(
        &root,
        "/users/newbie",
        &[("op", "role"), ("role", "viewer")],
    )
    .await
    .assert_status(StatusCode::OK, "making newbie a viewer");
    site.get(Some(&newbie), "/users")
        .await
        .assert_status(StatusCode::FORBIDDEN, "newbie as viewer");

    // Disabling ends the session and refuses sign-in; enabling allows it again.
    let disabled = site
        .post(&root, "/users/newbie", &[("op", "disable")])
        .await;
    disabled.assert_status(StatusCode::OK, "disabling newbie");
    assert!(
        disabled
            .section("user-newbie", "</tr>")
            .contains("disabled")
    );
    assert!(site.store.user(&name("newbie")).await.unwrap().disabled);
    let gone = site.get(Some(&newbie), "/").await;
    assert!(gone.is_redirect_to("/login?next=/"), "{gone:?}");
    let login = site
        .post_raw(
            None,
            "/login",
            &[("username", "newbie"), ("password", "a long password")],
            &[],
        )
        .await;
    login.assert_status(StatusCode::UNAUTHORIZED, "a disabled user signing in");
    let myself = site.post(&root, "/users/root", &[("op", "disable")]).await;
    myself.assert_status(StatusCode::FORBIDDEN, "disabling yourself");
    assert!(!site.store.user(&name("root")).await.unwrap().disabled);
    site.post(&root, "/users/newbie", &[("op", "enable")])
        .await
        .assert_status(StatusCode::OK, "enabling newbie");
    assert!(!site.store.user(&name("newbie")).await.unwrap().disabled);
    let back = site
        .post_raw(
            None,
            "/login",
            &[("username", "newbie"), ("password", "a long password")],
            &[],
        )
        .await;
    assert!(back.is_redirect_to("/"), "{back:?}");

    // A new setup link, and an API token that works.
    let relinked = site
        .post(&root, "/users/alice", &[("op", "setup-link")])
        .await;
    relinked.assert_status(StatusCode::OK, "a new setup link");
    assert!(unescape(relinked.text_of("secret")).contains("/setup/"));
    let issued = site
        .post(
            &root,
            "/users/alice",
            &[("op", "token"), ("label", "laptop")],
        )
        .await;
    issued.assert_status(StatusCode::OK, "issuing a token");
    assert!(issued.body.contains("laptop"));
    let token = issued.text_of("secret").to_owned();
    let me = site
        .get_with(
            None,
            "/api/v1/me",
            &[("authorization", &format!("Bearer {token}"))],
        )
        .await;
    me.assert_status(StatusCode::OK, "the token on the API");
    let me: serde_json::Value = serde_json::from_str(&me.body).unwrap();
    assert_eq!(me["name"], "alice", "{me}");

    for (who, fields) in [
        ("nobody", &[("op", "disable")][..]),
        ("nobody", &[("op", "token")][..]),
    ] {
        let page = site.post(&root, &format!("/users/{who}"), fields).await;
        page.assert_status(StatusCode::NOT_FOUND, &format!("{who} {fields:?}"));
    }
    site.post(&root, "/users/alice", &[("op", "explode")])
        .await
        .assert_status(StatusCode::BAD_REQUEST, "an unknown operation");
}

// 11. The live stream.

/// Reads a Server-Sent Events body until `done` says enough, or a few seconds pass.
async fn read_events(body: Body, done: impl Fn(&str) -> bool) -> String {
    let mut stream = body.into_data_stream();
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !done(&seen) {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(Ok(chunk))) => seen.push_str(&String::from_utf8_lossy(&chunk)),
            _ => break,
        }
    }
    seen
}

#[tokio::test]
async fn signing_out_ends_the_pages_live_streams() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    let alice = site.login("alice").await;
    let response = site
        .router
        .clone()
        .oneshot(
            Request::get("/live")
                .header(header::COOKIE, &alice.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut stream = response.into_body().into_data_stream();
    let out = site.post(&alice, "/logout", &[]).await;
    assert!(out.is_redirect_to("/login"), "{out:?}");
    // The stream ends (no more chunks) instead of staying open until the client leaves.
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = stream.next().await {}
    })
    .await;
    assert!(ended.is_ok(), "the live stream outlived the sign-out");
}

#[tokio::test]
async fn the_live_stream_sends_rendered_entries_and_changes() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    let alice = site.login("alice").await;
    let id = site
        .declare("alice", "Live one", Severity::Sev2, &[], None)
        .await;
    site.execute(
        "alice",
        &id,
        Command::AddNote {
            text: Text::parse("**first** note").unwrap(),
        },
    )
    .await;

    let response = site
        .router
        .clone()
        .oneshot(
            Request::get(format!("/incidents/{id}/live?after=0"))
                .header(header::COOKIE, &alice.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .headers()
            .get(header::CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let seen = read_events(response.into_body(), |seen| {
        seen.contains("<strong>first</strong>") && seen.matches("event: changed").count() >= 2
    })
    .await;
    assert!(seen.contains("event: entry"), "{seen}");
    assert!(
        seen.contains("data: <li class=\"entry incident_declared\""),
        "{seen}"
    );
    assert!(seen.contains("<strong>first</strong>"), "{seen}");
    assert!(seen.contains("event: changed"), "{seen}");
    assert!(seen.find("event: entry").unwrap() < seen.find("event: changed").unwrap());

    // The dashboard's stream says which incident changed.
    let response = site
        .router
        .clone()
        .oneshot(
            Request::get("/live?after=0")
                .header(header::COOKIE, &alice.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let seen = read_events(response.into_body(), |seen| seen.contains(&id)).await;
    assert!(seen.contains("event: changed"), "{seen}");
    assert!(seen.contains(&format!("data: {id}")), "{seen}");

    // Anonymous: to sign-in, not a stream.
    let anonymous = site
        .get(None, &format!("/incidents/{id}/live?after=0"))
        .await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    site.get(Some(&alice), "/incidents/INC-42/live")
        .await
        .assert_status(StatusCode::NOT_FOUND, "the stream of an unknown incident");
}

// Post-mortems and review meetings.

/// Adds a follow-up action item straight through the store.
async fn follow_up(site: &Site, id: &str, text: &str, owner: &str, due: Option<&str>) {
    site.execute(
        "alice",
        id,
        Command::AddActionItem {
            text: Text::parse(text).unwrap(),
            owner: hereby_core::types::Owner::parse(owner).unwrap(),
            due: due.map(|due| due.parse().unwrap()),
            kind: hereby_core::types::ActionKind::FollowUp,
            tracker_url: Some(
                hereby_core::types::Url::parse("https://tracker.example/T-1").unwrap(),
            ),
        },
    )
    .await;
}

/// Alice declares and leads an incident with a note and an operation by Bob, and resolves it;
/// returns its id.
async fn resolved_incident(site: &Site, title: &str) -> String {
    let id = site
        .declare("alice", title, Severity::Sev2, &["checkout"], None)
        .await;
    site.execute(
        "alice",
        &id,
        Command::AssignRole {
            role: hereby_core::types::RoleKey::parse("operations").unwrap(),
            person: name("bob"),
        },
    )
    .await;
    site.execute(
        "bob",
        &id,
        Command::RecordOperation {
            target: hereby_core::types::Target::parse("db-1").unwrap(),
            action: Text::parse("restarted the primary").unwrap(),
            command: None,
            witness: None,
        },
    )
    .await;
    site.execute(
        "alice",
        &id,
        Command::AddNote {
            text: Text::parse("the replica lag alarm fired").unwrap(),
        },
    )
    .await;
    site.execute("alice", &id, status_to(Status::Resolved, Some("restarted")))
        .await;
    id
}

/// Drafts the post-mortem through the incident page's form, as `who`.
async fn draft(site: &Site, who: &Session, id: &str, template: &str) {
    let drafted = site
        .post(
            who,
            &format!("/incidents/{id}/postmortem/draft"),
            &[("template", template)],
        )
        .await;
    assert!(
        drafted.is_redirect_to(&format!("/incidents/{id}/postmortem")),
        "{drafted:?}"
    );
}

/// Posts a form of the post-mortem page and expects to be sent back to it.
async fn postmortem_step(
    site: &Site,
    who: &Session,
    id: &str,
    step: &str,
    fields: &[(&str, &str)],
) {
    let page = site
        .post(who, &format!("/incidents/{id}/postmortem/{step}"), fields)
        .await;
    assert!(
        page.is_redirect_to(&format!("/incidents/{id}/postmortem")),
        "{step} {fields:?}: {} {}\n{}",
        page.status,
        page.location(),
        page.body
    );
}

async fn postmortem_page(site: &Site, who: &Session, id: &str) -> Page {
    let page = site
        .get(Some(who), &format!("/incidents/{id}/postmortem"))
        .await;
    page.assert_status(StatusCode::OK, "the post-mortem page");
    page
}

async fn current_body(site: &Site, id: &str) -> String {
    let postmortem = site.incident(id).await.postmortem.unwrap();
    hereby_app::postmortem::body_at(
        &site.store,
        IncidentNumber::parse(id).unwrap(),
        postmortem.body_sequence,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn the_incident_page_drafts_the_postmortem_once_the_incident_is_over() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    site.user("bob", InstallationRole::Responder).await;
    site.user("dave", InstallationRole::Viewer).await;
    let alice = site.login("alice").await;
    let dave = site.login("dave").await;
    let id = site
        .declare("alice", "Checkout fails", Severity::Sev2, &[], None)
        .await;

    // While the incident is active there is no panel, and the core refuses a draft.
    let active = site.show(&alice, &id).await;
    assert!(!active.body.contains("id=\"draft-form\""));
    assert!(!active.body.contains("id=\"postmortem\""));
    let early = site
        .post(
            &alice,
            &format!("/incidents/{id}/postmortem/draft"),
            &[("template", "full")],
        )
        .await;
    early.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "a draft while active");
    assert!(
        early.text_of("error").contains("once it is resolved"),
        "{}",
        early.body
    );
    site.get(Some(&alice), &format!("/incidents/{id}/postmortem"))
        .await
        .assert_status(StatusCode::NOT_FOUND, "no post-mortem yet");

    // Once resolved: the draft form with the templates in effect; the viewer sees none.
    site.execute("alice", &id, status_to(Status::Resolved, Some("fixed")))
        .await;
    let resolved = site.show(&alice, &id).await;
    let form = resolved.section("draft-form", "</form>");
    assert!(form.contains("<option value=\"full\" selected>"), "{form}");
    assert!(form.contains("<option value=\"short\""), "{form}");
    assert!(resolved.text_of("reviews-line").contains("next, meeting 1"));
    assert!(
        resolved
            .body
            .contains(&format!("href=\"/incidents/{id}/reviews\""))
    );
    let viewer = site.show(&dave, &id).await;
    assert!(!viewer.body.contains("id=\"draft-form\""));
    assert!(viewer.body.contains("No post-mortem yet."));
    // The live-refreshed state section carries the same panel.
    let state = site
        .get(Some(&alice), &format!("/incidents/{id}/state"))
        .await;
    assert!(state.body.contains("id=\"draft-form\""));

    // An unknown template is named on the incident page; a viewer may not draft.
    let unknown = site
        .post(
            &alice,
            &format!("/incidents/{id}/postmortem/draft"),
            &[("template", "nope")],
        )
        .await;
    unknown.assert_status(StatusCode::NOT_FOUND, "an unknown template");
    assert!(
        unknown.text_of("error").contains("nope"),
        "{}",
        unknown.body
    );
    assert!(unknown.body.contains("id=\"draft-form\""));
    site.post(
        &dave,
        &format!("/incidents/{id}/postmortem/draft"),
        &[("template", "full")],
    )
    .await
    .assert_status(StatusCode::FORBIDDEN, "a viewer's draft");

    draft(&site, &alice, &id, "short").await;
    let postmortem = site.incident(&id).await.postmortem.unwrap();
    assert_eq!(postmortem.template.as_str(), "short");
    assert_eq!(postmortem.owner, name("alice"));
    let page = postmortem_page(&site, &alice, &id).await;
    assert_eq!(page.text_of("pm-status"), "draft");
    assert_eq!(page.text_of("pm-owner"), "alice");

    // The incident page now summarises it and links to it; a second draft is refused.
    let summarised = site.show(&alice, &id).await;
    assert!(!summarised.body.contains("id=\"draft-form\""));
    assert_eq!(summarised.text_of("postmortem-status"), "draft");
    let summary = summarised.section("postmortem-summary", "</p>");
    assert!(summary.contains("revision 1"), "{summary}");
    assert!(
        summary.contains("owner <strong>alice</strong> (you)"),
        "{summary}"
    );
    assert!(summary.contains("no approvals yet"), "{summary}");
    assert!(summarised.body.contains(&format!(
        "id=\"postmortem-link\" href=\"/incidents/{id}/postmortem\""
    )));
    let again = site
        .post(
            &alice,
            &format!("/incidents/{id}/postmortem/draft"),
            &[("template", "full")],
        )
        .await;
    again.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "a second draft");
    assert!(again.text_of("error").contains("already exists"));
    // The timeline says so, with a link.
    assert!(
        summarised
            .body
            .contains("drafted the <a href=\"/incidents/")
    );
}

#[tokio::test]
async fn timeline_entries_are_starred_excluded_and_made_plain_for_the_postmortem() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    site.user("bob", InstallationRole::Responder).await;
    site.user("dave", InstallationRole::Viewer).await;
    let alice = site.login("alice").await;
    let dave = site.login("dave").await;
    let id = resolved_incident(&site, "Replica lag").await;
    // Entries: 1 declared, 2 role, 3 operation, 4 note, 5 resolved (+ 6 the meeting).
    let shown = site.show(&alice, &id).await;
    let entry = shown.section("entry-4", "</li>");
    assert!(
        entry.contains("action=\"/incidents/INC-1/mark\""),
        "{entry}"
    );
    assert!(entry.contains("name=\"sequence\" value=\"4\""), "{entry}");
    assert!(entry.contains("value=\"starred\""), "{entry}");
    assert!(entry.contains("value=\"excluded\""), "{entry}");
    assert!(!entry.contains("value=\"plain\""), "{entry}");
    assert!(!site.show(&dave, &id).await.body.contains("/mark\""));

    site.act(
        &alice,
        &id,
        "mark",
        &[("sequence", "3"), ("mark", "starred")],
    )
    .await;
    site.act(
        &alice,
        &id,
        "mark",
        &[("sequence", "4"), ("mark", "excluded")],
    )
    .await;
    let marks = site.incident(&id).await.timeline_marks;
    assert_eq!(marks.len(), 2, "{marks:?}");
    let shown = site.show(&alice, &id).await;
    let starred = shown.section("entry-3", "</li>");
    assert!(
        shown
            .body
            .contains("class=\"entry operation_recorded starred\" id=\"entry-3\""),
        "{starred}"
    );
    assert!(starred.contains("★"), "{starred}");
    assert!(!starred.contains("value=\"starred\""), "{starred}");
    assert!(starred.contains("value=\"plain\""), "{starred}");
    let excluded = shown.section("entry-4", "</li>");
    assert!(
        shown
            .body
            .contains("class=\"entry note_added excluded muted\" id=\"entry-4\""),
        "{excluded}"
    );
    assert!(
        excluded.contains("left out of the post-mortem"),
        "{excluded}"
    );
    assert!(!excluded.contains("★"), "{excluded}");
    assert!(!shown.section("entry-2", "</li>").contains("★"));
    // The older-entries page shows the marks too.
    let older = site
        .get(Some(&alice), &format!("/incidents/{id}/timeline?before=5"))
        .await;
    older.assert_status(StatusCode::OK, "older entries");
    assert!(older.section("entry-3", "</li>").contains("★"));
    assert!(older.body.contains("excluded muted\" id=\"entry-4\""));

    // The draft follows the marks: the starred operation highlighted, the note left out.
    draft(&site, &alice, &id, "full").await;
    let body = current_body(&site, &id).await;
    assert!(body.contains("★ **"), "{body}");
    assert!(!body.contains("replica lag alarm"), "{body}");
    assert!(body.contains("1 entry was left out"), "{body}");

    // Made plain again, then the timeline section is rewritten as a new revision.
    site.act(&alice, &id, "mark", &[("sequence", "4"), ("mark", "plain")])
        .await;
    assert!(
        site.show(&alice, &id)
            .await
            .body
            .contains("class=\"entry note_added\" id=\"entry-4\"")
    );
    postmortem_step(&site, &alice, &id, "timeline", &[]).await;
    let postmortem = site.incident(&id).await.postmortem.unwrap();
    assert_eq!(postmortem.revision, 2);
    let body = current_body(&site, &id).await;
    assert!(body.contains("replica lag alarm"), "{body}");

    // Marking an entry that does not exist, or the same mark twice, says why.
    let missing = site
        .post(
            &alice,
            &format!("/incidents/{id}/mark"),
            &[("sequence", "999"), ("mark", "starred")],
        )
        .await;
    missing.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "an unknown entry");
    assert!(missing.text_of("error").contains("no timeline entry #999"));
    let twice = site
        .post(
            &alice,
            &format!("/incidents/{id}/mark"),
            &[("sequence", "3"), ("mark", "starred")],
        )
        .await;
    twice.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "the same mark");
    assert!(twice.text_of("error").contains("already starred"));
    let bogus = site
        .post(
            &alice,
            &format!("/incidents/{id}/mark"),
            &[("sequence", "3"), ("mark", "glowing")],
        )
        .await;
    bogus.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "an unknown mark");
    site.post(
        &dave,
        &format!("/incidents/{id}/mark"),
        &[("sequence", "2"), ("mark", "starred")],
    )
    .await
    .assert_status(StatusCode::FORBIDDEN, "a viewer's mark");
}

#[tokio::test]
async fn the_postmortem_page_runs_the_review_and_refuses_invalid_steps_with_reasons() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    site.user("bob", InstallationRole::Responder).await;
    site.user("dave", InstallationRole::Viewer).await;
    let alice = site.login("alice").await;
    let bob = site.login("bob").await;
    let dave = site.login("dave").await;
    let id = resolved_incident(&site, "Payments declined").await;
    draft(&site, &alice, &id, "full").await;

    // The owner may submit; a reviewer may not yet approve; the viewer gets no buttons.
    let owners = postmortem_page(&site, &alice, &id).await;
    assert!(owners.body.contains("id=\"submit-form\""));
    assert!(!owners.body.contains("id=\"approve-form\""));
    assert!(owners.body.contains("id=\"edit-link\""));
    assert!(owners.body.contains("id=\"comment-form\""));
    assert!(owners.body.contains("id=\"timeline-form\""));
    let reviewers = postmortem_page(&site, &bob, &id).await;
    assert!(!reviewers.body.contains("id=\"submit-form\""));
    assert!(!reviewers.body.contains("id=\"approve-form\""));
    let viewers = postmortem_page(&site, &dave, &id).await;
    for form in [
        "submit-form",
        "edit-link",
        "comment-form",
        "timeline-form",
        "names-form",
    ] {
        assert!(!viewers.body.contains(&format!("id=\"{form}\"")), "{form}");
    }
    assert!(viewers.body.contains("id=\"postmortem-body\""));
    // The Markdown is rendered.
    assert!(owners.body.contains("<h2>Timeline</h2>"), "{}", owners.body);

    // A step the core refuses shows its reason on the page, as the incident page does.
    let early = site
        .post(&bob, &format!("/incidents/{id}/postmortem/approve"), &[])
        .await;
    early.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "approving a draft");
    assert!(
        early.text_of("error").contains("approved"),
        "{}",
        early.body
    );
    assert!(early.body.contains("id=\"postmortem-body\""));
    let not_owner = site
        .post(&bob, &format!("/incidents/{id}/postmortem/submit"), &[])
        .await;
    not_owner.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "bob submitting");
    assert!(
        not_owner.text_of("error").contains("alice"),
        "{}",
        not_owner.body
    );

    postmortem_step(&site, &alice, &id, "submit", &[]).await;
    let in_review = postmortem_page(&site, &alice, &id).await;
    assert_eq!(in_review.text_of("pm-status"), "in review");
    assert!(!in_review.body.contains("id=\"reviewed-form\""));
    assert!(in_review.body.contains("id=\"awaiting-approval\""));
    let own = site
        .post(&alice, &format!("/incidents/{id}/postmortem/approve"), &[])
        .await;
    own.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "the owner approving");
    assert!(
        own.text_of("error")
            .contains("cannot approve their own review")
    );
    let unapproved = site
        .post(&alice, &format!("/incidents/{id}/postmortem/reviewed"), &[])
        .await;
    unapproved.assert_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        "reviewed without approval",
    );
    assert!(
        unapproved
            .text_of("error")
            .contains("no reviewer besides the owner has approved revision 1")
    );

    // Bob comments (Markdown, escaped) and approves; the comment form keeps refused text.
    postmortem_step(
        &site,
        &bob,
        &id,
        "comment",
        &[("text", "Add the **alarm** <b>threshold</b>")],
    )
    .await;
    let empty = site
        .post(
            &bob,
            &format!("/incidents/{id}/postmortem/comment"),
            &[("text", " ")],
        )
        .await;
    empty.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "an empty comment");
    let approving = postmortem_page(&site, &bob, &id).await;
    assert!(approving.body.contains("id=\"approve-form\""));
    let comments = approving.section("comments", "</section>");
    assert!(comments.contains("<strong>alarm</strong>"), "{comments}");
    assert!(comments.contains("&lt;b&gt;threshold"), "{comments}");
    assert!(comments.contains("on revision 1"), "{comments}");
    postmortem_step(&site, &bob, &id, "approve", &[]).await;
    let approved = postmortem_page(&site, &bob, &id).await;
    assert!(
        !approved.body.contains("id=\"approve-form\""),
        "approved once"
    );
    assert_eq!(approved.text_of("pm-approvals"), "bob");
    let twice = site
        .post(&bob, &format!("/incidents/{id}/postmortem/approve"), &[])
        .await;
    twice.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "approving twice");
    assert!(twice.text_of("error").contains("already approved"));

    // The owner marks it reviewed and publishes; then nothing changes it any more.
    let ready = postmortem_page(&site, &alice, &id).await;
    assert!(ready.body.contains("id=\"reviewed-form\""));
    postmortem_step(
        &site,
        &alice,
        &id,
        "reviewed",
        &[("override_reason", "the prompts stay for this drill")],
    )
    .await;
    let reviewed = postmortem_page(&site, &alice, &id).await;
    assert_eq!(reviewed.text_of("pm-status"), "reviewed");
    assert!(reviewed.body.contains("id=\"publish-form\""));
    let bob_publishes = site
        .post(&bob, &format!("/incidents/{id}/postmortem/publish"), &[])
        .await;
    bob_publishes.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "bob publishing");
    postmortem_step(
        &site,
        &alice,
        &id,
        "publish",
        &[("override_reason", "the prompts stay for this drill")],
    )
    .await;
    let published = postmortem_page(&site, &alice, &id).await;
    assert_eq!(published.text_of("pm-status"), "published");
    for form in ["publish-form", "edit-link", "comment-form", "timeline-form"] {
        assert!(
            !published.body.contains(&format!("id=\"{form}\"")),
            "{form}"
        );
    }
    let late = site
        .post(
            &alice,
            &format!("/incidents/{id}/postmortem/comment"),
            &[("text", "one more thing")],
        )
        .await;
    late.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "a comment once published");
    assert!(late.text_of("error").contains("published"));

    site.post(
        &dave,
        &format!("/incidents/{id}/postmortem/comment"),
        &[("text", "hi")],
    )
    .await
    .assert_status(StatusCode::FORBIDDEN, "a viewer's comment");
    site.post(
        &alice,
        &format!("/incidents/{id}/postmortem/frobnicate"),
        &[],
    )
    .await
    .assert_status(StatusCode::NOT_FOUND, "an unknown step");
    let state = site.incident(&id).await.postmortem.unwrap();
    assert_eq!(
        state.status,
        hereby_core::types::PostmortemStatus::Published
    );
    assert_eq!(state.comments, 1);
}

#[tokio::test]
async fn the_review_is_handed_on_by_its_owner() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    site.user("bob", InstallationRole::Responder).await;
    let alice = site.login("alice").await;
    let bob = site.login("bob").await;
    let id = resolved_incident(&site, "Queue stuck").await;
    draft(&site, &alice, &id, "short").await;
    assert!(
        !postmortem_page(&site, &bob, &id)
            .await
            .body
            .contains("id=\"delegate-form\"")
    );
    let unknown = site
        .post(
            &alice,
            &format!("/incidents/{id}/postmortem/delegate"),
            &[("owner", "zed")],
        )
        .await;
    unknown.assert_status(StatusCode::NOT_FOUND, "an unknown new owner");
    assert!(unknown.text_of("error").contains("zed"), "{}", unknown.body);
    assert!(
        unknown.body.contains("value=\"zed\""),
        "what was typed is kept"
    );
    postmortem_step(&site, &alice, &id, "delegate", &[("owner", "bob")]).await;
    assert_eq!(
        site.incident(&id).await.postmortem.unwrap().owner,
        name("bob")
    );
    assert!(
        postmortem_page(&site, &bob, &id)
            .await
            .body
            .contains("id=\"submit-form\"")
    );
}

#[tokio::test]
async fn editing_saves_revisions_and_a_stale_save_keeps_the_text() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    site.user("bob", InstallationRole::Responder).await;
    let alice = site.login("alice").await;
    let bob = site.login("bob").await;
    let id = resolved_incident(&site, "Cache stampede").await;
    draft(&site, &alice, &id, "short").await;
    let original = current_body(&site, &id).await;

    let form = site
        .get(Some(&alice), &format!("/incidents/{id}/postmortem/edit"))
        .await;
    form.assert_status(StatusCode::OK, "the edit page");
    assert!(form.body.contains("name=\"base_revision\" value=\"1\""));
    let textarea = form.section("edit-body", "</textarea>");
    let shown =
        textarea[textarea.find('>').unwrap() + 1..textarea.len() - "</textarea>".len()].to_owned();
    assert_eq!(unescape(&shown), original);

    // Alice saves (the browser sends CR LF); the text is kept with LF, as revision 2.
    let alices = format!(
        "{}\r\nAlice's addition.\r\n",
        original.trim_end().replace('\n', "\r\n")
    );
    let saved = site
        .post(
            &alice,
            &format!("/incidents/{id}/postmortem/edit"),
            &[
                ("body", &alices),
                ("base_revision", "1"),
                ("comment", "added a line"),
            ],
        )
        .await;
    assert!(
        saved.is_redirect_to(&format!("/incidents/{id}/postmortem")),
        "{saved:?}"
    );
    let revision_two = current_body(&site, &id).await;
    assert!(!revision_two.contains('\r'));
    assert!(
        revision_two.ends_with("Alice's addition."),
        "{revision_two}"
    );
    let page = postmortem_page(&site, &alice, &id).await;
    let history = page.section("revisions", "</section>");
    assert!(history.contains("added a line"), "{history}");
    assert!(history.contains("the draft"), "{history}");
    let diff_link = format!("/incidents/{id}/postmortem/diff?from=1&amp;to=2");
    assert!(history.contains(&diff_link), "{history}");

    // The diff between consecutive revisions, in a <pre>.
    let diff = site
        .get(
            Some(&alice),
            &format!("/incidents/{id}/postmortem/diff?from=1&to=2"),
        )
        .await;
    diff.assert_status(StatusCode::OK, "the diff");
    let pre = unescape(diff.section("diff", "</pre>"));
    assert!(pre.contains("+Alice's addition."), "{pre}");
    assert!(pre.contains("--- revision 1"), "{pre}");
    assert!(pre.contains("+++ revision 2"), "{pre}");
    site.get(
        Some(&alice),
        &format!("/incidents/{id}/postmortem/diff?from=1&to=9"),
    )
    .await
    .assert_status(StatusCode::NOT_FOUND, "a revision that does not exist");
    site.get(
        Some(&alice),
        &format!("/incidents/{id}/postmortem/diff?from=x"),
    )
    .await
    .assert_status(StatusCode::BAD_REQUEST, "a bogus revision");

    // Bob, still on revision 1, saves: refused, his text kept, what changed since shown.
    let bobs = format!("{original}\nBob's <b>line</b>.\n");
    let stale = site
        .post(
            &bob,
            &format!("/incidents/{id}/postmortem/edit"),
            &[
                ("body", &bobs),
                ("base_revision", "1"),
                ("comment", "bob's edit"),
            ],
        )
        .await;
    stale.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "a stale save");
    assert!(
        stale
            .text_of("error")
            .contains("you edited revision 1, but revision 2 was saved since (by alice)"),
        "{}",
        stale.body
    );
    let kept = stale.section("edit-body", "</textarea>");
    assert!(
        kept.contains("Bob&#x27;s &lt;b&gt;line&lt;&#x2f;b&gt;."),
        "{kept}"
    );
    assert!(
        stale.body.contains("value=\"bob&#x27;s edit\""),
        "the comment is kept"
    );
    assert!(stale.body.contains("name=\"base_revision\" value=\"2\""));
    let since = unescape(stale.section("since-diff", "</pre>"));
    assert!(since.contains("+Alice's addition."), "{since}");
    assert_eq!(site.incident(&id).await.postmortem.unwrap().revision, 2);
    // Saving again on the current revision goes through.
    let merged = format!("{revision_two}\nBob's line.\n");
    let saved = site
        .post(
            &bob,
            &format!("/incidents/{id}/postmortem/edit"),
            &[("body", &merged), ("base_revision", "2")],
        )
        .await;
    assert!(
        saved.is_redirect_to(&format!("/incidents/{id}/postmortem")),
        "{saved:?}"
    );
    assert_eq!(current_body(&site, &id).await, merged.trim_end());

    // An empty text is refused and says which field.
    let empty = site
        .post(
            &bob,
            &format!("/incidents/{id}/postmortem/edit"),
            &[("body", "  "), ("base_revision", "3")],
        )
        .await;
    empty.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "an empty body");
    assert!(empty.text_of("error").contains("body"), "{}", empty.body);
}

#[tokio::test]
async fn the_linter_lists_findings_and_the_name_substitutions_are_saved() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    site.user("bob", InstallationRole::Responder).await;
    let alice = site.login("alice").await;
    let id = resolved_incident(&site, "Disk full").await;
    draft(&site, &alice, &id, "short").await;
    let clean = postmortem_page(&site, &alice, &id).await;
    assert!(clean.body.contains("id=\"no-findings\""), "{}", clean.body);
    assert!(!clean.body.contains("id=\"names-form\""));

    let body = format!(
        "{}\n\nIt was human error: bob restarted db-1 late.\n",
        current_body(&site, &id).await.trim_end()
    );
    let saved = site
        .post(
            &alice,
            &format!("/incidents/{id}/postmortem/edit"),
            &[("body", &body), ("base_revision", "1")],
        )
        .await;
    assert!(
        saved.is_redirect_to(&format!("/incidents/{id}/postmortem")),
        "{saved:?}"
    );
    let page = postmortem_page(&site, &alice, &id).await;
    let findings = page.section("findings", "</table>");
    let line = body.lines().count();
    assert!(findings.contains("class=\"finding blame\""), "{findings}");
    assert!(findings.contains("<q>human error</q>"), "{findings}");
    assert!(findings.contains("class=\"finding name\""), "{findings}");
    assert!(findings.contains("<q>bob</q>"), "{findings}");
    assert!(findings.contains(&format!("<td>{line}:")), "{findings}");
    assert!(page.body.contains("id=\"names-form\""));

    postmortem_step(&site, &alice, &id, "names", &[]).await;
    let postmortem = site.incident(&id).await.postmortem.unwrap();
    assert_eq!(postmortem.revision, 3);
    let replaced = current_body(&site, &id).await;
    assert!(!replaced.contains("bob restarted"), "{replaced}");
    assert!(replaced.contains("restarted db-1 late"), "{replaced}");
    let after = postmortem_page(&site, &alice, &id).await;
    assert!(!after.body.contains("id=\"names-form\""));
    assert!(
        after
            .section("revisions", "</section>")
            .contains("real names replaced by role variables")
    );
    let nothing = site
        .post(&alice, &format!("/incidents/{id}/postmortem/names"), &[])
        .await;
    nothing.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "nothing to replace");
    assert!(nothing.text_of("error").contains("nothing to replace"));
}

#[tokio::test]
async fn a_postmortem_body_is_sanitised_and_exported_to_a_signed_in_viewer() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    site.user("dave", InstallationRole::Viewer).await;
    let alice = site.login("alice").await;
    let dave = site.login("dave").await;
    let id = resolved_incident(&site, "Login <script>x</script> loop").await;
    draft(&site, &alice, &id, "short").await;
    let body = "# Review\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n\
                [click](javascript:alert(3)) and **bold**\n";
    let saved = site
        .post(
            &alice,
            &format!("/incidents/{id}/postmortem/edit"),
            &[("body", body), ("base_revision", "1")],
        )
        .await;
    assert!(
        saved.is_redirect_to(&format!("/incidents/{id}/postmortem")),
        "{saved:?}"
    );
    for who in [&alice, &dave] {
        let page = postmortem_page(&site, who, &id).await;
        let article = page.section("postmortem-body", "</article>");
        assert!(article.contains("&lt;script&gt;alert(1)&lt;"), "{article}");
        assert!(!page.body.contains("<script>alert"), "{}", page.body);
        assert!(!page.body.contains("<img"), "{article}");
        assert!(!page.body.contains("javascript:"), "{article}");
        assert!(article.contains("<strong>bold</strong>"), "{article}");
        assert!(
            page.body.contains("Login &lt;script&gt;x&lt;"),
            "the title is escaped"
        );
        assert!(!page.body.contains("<script>x"), "the title is escaped");
    }
    // The edit page shows the raw text, escaped, in the textarea.
    let edit = site
        .get(Some(&alice), &format!("/incidents/{id}/postmortem/edit"))
        .await;
    assert!(
        edit.section("edit-body", "</textarea>")
            .contains("&lt;script&gt;alert(1)")
    );
    assert!(!edit.body.contains("<script>alert"));

    // The exports, to a signed-in viewer through the session.
    let markdown = site
        .get(
            Some(&dave),
            &format!("/incidents/{id}/postmortem/export.md"),
        )
        .await;
    markdown.assert_status(StatusCode::OK, "the Markdown export");
    assert!(
        markdown
            .header(header::CONTENT_TYPE)
            .starts_with("text/markdown")
    );
    assert!(
        markdown
            .header(header::CONTENT_DISPOSITION)
            .contains("inc-1-postmortem-r2.md")
    );
    assert!(
        markdown.body.contains("<script>alert(1)</script>"),
        "Markdown is the text"
    );
    assert!(markdown.body.contains("INC-1"), "{}", markdown.body);
    let html = site
        .get(
            Some(&dave),
            &format!("/incidents/{id}/postmortem/export.html"),
        )
        .await;
    html.assert_status(StatusCode::OK, "the HTML export");
    assert!(html.header(header::CONTENT_TYPE).starts_with("text/html"));
    assert!(
        !html.body.contains("<script>alert"),
        "the HTML export is sanitised"
    );
    let json = site
        .get(
            Some(&dave),
            &format!("/incidents/{id}/postmortem/export.json"),
        )
        .await;
    json.assert_status(StatusCode::OK, "the JSON export");
    let document: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(document["revision"], 2);
    assert_eq!(
        document["body"],
        body.trim_end(),
        "stored as a trimmed document"
    );
    let pdf = site
        .get(
            Some(&dave),
            &format!("/incidents/{id}/postmortem/export.pdf"),
        )
        .await;
    pdf.assert_status(StatusCode::OK, "the PDF export");
    assert_eq!(pdf.header(header::CONTENT_TYPE), "application/pdf");
    assert!(
        pdf.body.starts_with("%PDF"),
        "{}",
        &pdf.body[..20.min(pdf.body.len())]
    );
    // Without a session: to the sign-in page.
    let anonymous = site
        .get(None, &format!("/incidents/{id}/postmortem/export.md"))
        .await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert!(anonymous.location().starts_with("/login"), "{anonymous:?}");
    site.get(Some(&dave), "/incidents/INC-9/postmortem/export.md")
        .await
        .assert_status(StatusCode::NOT_FOUND, "no such incident");
}

#[tokio::test]
async fn a_restricted_incidents_postmortem_and_reviews_do_not_exist_for_non_members() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    site.user("bob", InstallationRole::Responder).await;
    site.user("root", InstallationRole::Admin).await;
    let alice = site.login("alice").await;
    let bob = site.login("bob").await;
    let root = site.login("root").await;
    let declared = site
        .post(
            &alice,
            "/incidents",
            &[
                ("title", "Leaked signing key"),
                ("visibility", "restricted"),
            ],
        )
        .await;
    assert!(declared.is_redirect_to("/incidents/INC-1"), "{declared:?}");
    let id = "INC-1";
    follow_up(&site, id, "Rotate every key", "alice", Some("2020-01-01")).await;
    site.execute("alice", id, status_to(Status::Resolved, Some("rotated")))
        .await;
    draft(&site, &alice, id, "full").await;
    postmortem_step(&site, &alice, id, "comment", &[("text", "secret detail")]).await;
    let version = site.version(id).await;

    for uri in [
        format!("/incidents/{id}/postmortem"),
        format!("/incidents/{id}/postmortem/edit"),
        format!("/incidents/{id}/postmortem/diff?from=1&to=1"),
        format!("/incidents/{id}/postmortem/export.md"),
        format!("/incidents/{id}/postmortem/export.html"),
        format!("/incidents/{id}/postmortem/export.pdf"),
        format!("/incidents/{id}/postmortem/export.json"),
        format!("/incidents/{id}/reviews"),
        format!("/incidents/{id}/reviews/next.ics"),
    ] {
        let page = site.get(Some(&bob), &uri).await;
        page.assert_status(StatusCode::NOT_FOUND, &uri);
        assert!(page.body.contains("There is nothing here"), "{uri}");
        assert!(!page.body.contains("Leaked"), "{uri}");
        assert!(!page.body.contains("secret"), "{uri}");
        // The members and admins see it.
        site.get(Some(&alice), &uri)
            .await
            .assert_status(StatusCode::OK, &uri);
        site.get(Some(&root), &uri)
            .await
            .assert_status(StatusCode::OK, &uri);
    }
    let forms: &[(&str, &[(&str, &str)])] = &[
        ("postmortem/draft", &[("template", "full")]),
        (
            "postmortem/edit",
            &[("body", "mine"), ("base_revision", "1")],
        ),
        ("postmortem/submit", &[]),
        ("postmortem/approve", &[]),
        ("postmortem/reviewed", &[]),
        ("postmortem/publish", &[]),
        ("postmortem/comment", &[("text", "hi")]),
        ("postmortem/timeline", &[]),
        ("postmortem/names", &[]),
        ("postmortem/delegate", &[("owner", "bob")]),
        ("mark", &[("sequence", "1"), ("mark", "starred")]),
        ("reviews/schedule", &[("at", "2099-01-01T10:00")]),
        (
            "reviews/record",
            &[("attendees", "bob"), ("decision-1", "done")],
        ),
    ];
    for (form, fields) in forms {
        let uri = format!("/incidents/{id}/{form}");
        let page = site.post(&bob, &uri, fields).await;
        page.assert_status(StatusCode::NOT_FOUND, &uri);
        assert!(!page.body.contains("Leaked"), "{uri}");
    }
    assert_eq!(site.version(id).await, version, "nothing changed");
    // Nor is it in bob's overview of reviews; alice's lists it.
    let overview = site.get(Some(&bob), "/reviews").await;
    overview.assert_status(StatusCode::OK, "bob's reviews");
    assert!(!overview.body.contains("Leaked"), "{}", overview.body);
    assert!(overview.body.contains("id=\"upcoming-empty\""));
    assert!(overview.body.contains("id=\"overdue-empty\""));
    let overview = site.get(Some(&alice), "/reviews").await;
    assert!(
        overview.body.contains("Leaked signing key"),
        "{}",
        overview.body
    );
    assert!(
        overview
            .section("overdue-table", "</table>")
            .contains("Rotate every key")
    );
}

#[tokio::test]
async fn review_meetings_are_moved_recorded_and_listed_across_incidents() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    site.user("bob", InstallationRole::Responder).await;
    site.user("carol", InstallationRole::Responder).await;
    site.user("dave", InstallationRole::Viewer).await;
    let alice = site.login("alice").await;
    let dave = site.login("dave").await;
    let id = site
        .declare("alice", "Search is slow", Severity::Sev3, &[], None)
        .await;
    follow_up(&site, &id, "Add an index", "bob", Some("2020-01-01")).await;
    follow_up(&site, &id, "Load-test search", "alice", Some("2099-06-01")).await;
    follow_up(
        &site,
        &id,
        "Write a runbook",
        "role:incident_commander",
        None,
    )
    .await;
    site.execute("alice", &id, status_to(Status::Resolved, Some("reindexed")))
        .await;
    let other = site
        .declare("alice", "Mail delayed", Severity::Sev3, &[], None)
        .await;
    site.execute(
        "alice",
        &other,
        status_to(Status::Resolved, Some("drained")),
    )
    .await;

    let page = site
        .get(Some(&alice), &format!("/incidents/{id}/reviews"))
        .await;
    page.assert_status(StatusCode::OK, "the reviews page");
    // The agenda: every follow-up, the overdue one marked, with its tracker link.
    let agenda = page.section("agenda-table", "</table>");
    let overdue = page.section("follow-up-1", "</tr>");
    assert!(
        overdue.contains("class=\"follow-up open overdue\""),
        "{overdue}"
    );
    assert!(
        overdue.contains("Add an index") && overdue.contains("bob"),
        "{overdue}"
    );
    assert!(
        overdue.contains("2020-01-01 <strong>overdue</strong>"),
        "{overdue}"
    );
    assert!(
        overdue.contains("href=\"https:&#x2f;&#x2f;tracker.example&#x2f;T-1\""),
        "{overdue}"
    );
    assert!(!page.section("follow-up-2", "</tr>").contains("overdue"));
    assert!(agenda.contains("role:incident_commander"), "{agenda}");
    // The next meeting, planned at resolution, with its invitation.
    let next = site.incident(&id).await.reviews.next.unwrap();
    assert_eq!(next.0, 1);
    assert!(
        page.section("next-meeting", "</section>")
            .contains(&next.1.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
    );
    let ics = site
        .get(Some(&dave), &format!("/incidents/{id}/reviews/next.ics"))
        .await;
    ics.assert_status(StatusCode::OK, "the invitation");
    assert!(
        ics.header(header::CONTENT_TYPE)
            .starts_with("text/calendar")
    );
    assert!(
        ics.body.contains("BEGIN:VCALENDAR") && ics.body.contains("Search is slow"),
        "{}",
        ics.body
    );
    assert!(
        page.text_of("closable").contains("Not closable yet"),
        "{}",
        page.body
    );
    // A viewer reads the page without forms.
    let read_only = site
        .get(Some(&dave), &format!("/incidents/{id}/reviews"))
        .await;
    read_only.assert_status(StatusCode::OK, "a viewer's reviews page");
    assert!(!read_only.body.contains("id=\"record-form\""));
    assert!(!read_only.body.contains("id=\"schedule-form\""));

    // Moving the meeting: a datetime-local read as UTC; a time past is refused.
    let moved = site
        .post(
            &alice,
            &format!("/incidents/{id}/reviews/schedule"),
            &[("at", "2099-01-02T15:30")],
        )
        .await;
    assert!(
        moved.is_redirect_to(&format!("/incidents/{id}/reviews")),
        "{moved:?}"
    );
    let next = site.incident(&id).await.reviews.next.unwrap();
    assert_eq!(next.1, "2099-01-02T15:30:00Z".parse::<Timestamp>().unwrap());
    let page = site
        .get(Some(&alice), &format!("/incidents/{id}/reviews"))
        .await;
    assert_eq!(page.text_of("next-at"), "2099-01-02 15:30:00 UTC");
    assert!(page.body.contains("value=\"2099-01-02T15:30\""));
    let past = site
        .post(
            &alice,
            &format!("/incidents/{id}/reviews/schedule"),
            &[("at", "2001-01-01T10:00")],
        )
        .await;
    past.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "a meeting in the past");
    assert!(
        past.text_of("error").contains("not in the future"),
        "{}",
        past.body
    );
    assert!(
        past.body.contains("value=\"2001-01-01T10:00\""),
        "what was typed is kept"
    );
    let bogus = site
        .post(
            &alice,
            &format!("/incidents/{id}/reviews/schedule"),
            &[("at", "soon")],
        )
        .await;
    bogus.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "not a time");

    // The overview: soonest meeting first, and the overdue follow-up.
    let overview = site.get(Some(&dave), "/reviews").await;
    overview.assert_status(StatusCode::OK, "the overview");
    assert!(
        overview
            .body
            .contains("id=\"nav-reviews\" href=\"/reviews\"")
    );
    let upcoming = overview.section("upcoming-table", "</table>");
    let (first, second) = (
        upcoming.find(&format!("review-{other}")).unwrap(),
        upcoming.find(&format!("review-{id}")).unwrap(),
    );
    assert!(first < second, "the sooner meeting first: {upcoming}");
    assert!(upcoming.contains("2099-01-02 15:30:00 UTC"), "{upcoming}");
    let overdue = overview.section("overdue-table", "</table>");
    assert!(overdue.contains("Add an index"), "{overdue}");
    assert!(!overdue.contains("Load-test"), "{overdue}");

    // Recording a meeting: a refused one keeps what was chosen and typed.
    let refused = site
        .post(
            &alice,
            &format!("/incidents/{id}/reviews/record"),
            &[
                ("attendees", "alice"),
                ("attendees", "bob"),
                ("attendees_other", "carol"),
                ("notes", "Index **first**."),
                ("decision-1", "done"),
                ("decision-2", "wont_fix"),
                ("decision-3", ""),
            ],
        )
        .await;
    refused.assert_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        "won't fix without a reason",
    );
    assert!(
        refused
            .text_of("error")
            .contains("say why it will not be done"),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("<option value=\"alice\" selected>"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("<option value=\"bob\" selected>"));
    assert!(refused.body.contains("value=\"carol\""));
    assert!(refused.body.contains("Index **first**.</textarea>"));
    assert!(
        refused
            .section("decision-2", "</div>")
            .contains("<option value=\"wont_fix\" selected>")
    );
    assert!(site.incident(&id).await.reviews.held.is_empty());
    let nobody = site
        .post(
            &alice,
            &format!("/incidents/{id}/reviews/record"),
            &[("notes", "x")],
        )
        .await;
    nobody.assert_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        "a meeting without attendees",
    );
    assert!(nobody.text_of("error").contains("attended"));

    let recorded = site
        .post(
            &alice,
            &format!("/incidents/{id}/reviews/record"),
            &[
                ("attendees", "alice"),
                ("attendees", "bob"),
                ("attendees_other", "carol, alice"),
                ("notes", "Index **first**."),
                ("decision-1", "done"),
                ("decision-2", "wont_fix"),
                ("reason-2", "search moves to a new cluster"),
                ("decision-3", "open"),
                ("due-3", "2099-12-31"),
            ],
        )
        .await;
    assert!(
        recorded.is_redirect_to(&format!("/incidents/{id}/reviews")),
        "{recorded:?}"
    );
    let incident = site.incident(&id).await;
    assert_eq!(incident.reviews.held.len(), 1);
    assert_eq!(incident.reviews.next.unwrap().0, 2, "item 3 is still open");
    let page = site
        .get(Some(&alice), &format!("/incidents/{id}/reviews"))
        .await;
    let minutes = page.section("meeting-1", "</article>");
    assert!(
        minutes.contains("attended by alice, bob, carol"),
        "{minutes}"
    );
    assert!(
        minutes.contains("Index <strong>first</strong>."),
        "{minutes}"
    );
    assert!(minutes.contains("#1: done"), "{minutes}");
    assert!(
        minutes.contains("#2: won&#x27;t fix — search moves to a new cluster"),
        "{minutes}"
    );
    assert!(
        minutes.contains("#3: still open, due 2099-12-31"),
        "{minutes}"
    );
    assert!(
        page.section("follow-up-1", "</tr>")
            .contains("class=\"follow-up done\"")
    );
    let decisions = page.section("decisions", "</fieldset>");
    assert!(
        decisions.contains("decision-3") && !decisions.contains("decision-1\""),
        "{decisions}"
    );
    assert!(page.text_of("closable").contains("Not closable yet"));

    // The last follow-up settled and the post-mortem reviewed: the incident may close.
    site.post(
        &alice,
        &format!("/incidents/{id}/reviews/record"),
        &[("attendees", "alice"), ("decision-3", "done")],
    )
    .await;
    draft(&site, &alice, &id, "short").await;
    let bob = site.login("bob").await;
    postmortem_step(&site, &alice, &id, "submit", &[]).await;
    postmortem_step(&site, &bob, &id, "approve", &[]).await;
    postmortem_step(
        &site,
        &alice,
        &id,
        "reviewed",
        &[("override_reason", "the prompts stay for this drill")],
    )
    .await;
    let page = site
        .get(Some(&alice), &format!("/incidents/{id}/reviews"))
        .await;
    assert!(
        page.section("closable", "</p>")
            .contains("The incident can be closed now"),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"no-meeting\""), "{}", page.body);
    // The incident page's line points here.
    let incident_page = site.show(&alice, &id).await;
    assert!(
        incident_page
            .text_of("reviews-line")
            .contains("none planned; 2 held"),
        "{}",
        incident_page.text_of("reviews-line")
    );
}

#[tokio::test]
async fn the_judgement_forms_render_and_submit() {
    use hereby_store::{Communications, Release};
    let site = Site::with_policy(hereby_core::Policy {
        // Flag unstaffed roles at once, so the page shows the warning.
        staffing_grace: jiff::SignedDuration::ZERO,
        ..hereby_core::Policy::default()
    })
    .await;
    site.user("alice", InstallationRole::Admin).await;
    site.user("bob", InstallationRole::Responder).await;
    site.user("carol", InstallationRole::Responder).await;
    let alice = site.login("alice").await;
    let bob = site.login("bob").await;
    let carol = site.login("carol").await;

    // The catalogue page and its form; the bar shows at declaration.
    let saved = site
        .post(
            &alice,
            "/services",
            &[
                ("name", "api"),
                ("owner_team", "platform"),
                ("criticality", "critical"),
                ("max_unavailability", "30m"),
                ("incident_definition", "≥ 2 users cannot log in"),
            ],
        )
        .await;
    assert!(saved.is_redirect_to("/services"), "{}", saved.body);
    let refused = site
        .post(
            &alice,
            "/services",
            &[
                ("name", "web"),
                ("owner_team", "web"),
                ("criticality", "urgent"),
            ],
        )
        .await;
    refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "a bad criticality");
    assert!(refused.text_of("error").contains("criticality"));
    site.post(
        &bob,
        "/services",
        &[("name", "x"), ("owner_team", "x"), ("criticality", "low")],
    )
    .await
    .assert_status(StatusCode::FORBIDDEN, "a responder changing the catalogue");
    let services = site.get(Some(&bob), "/services").await;
    assert!(
        services
            .section("service-api", "</tr>")
            .contains("≥ 2 users cannot log in")
    );
    assert!(!services.body.contains("service-web"));
    let declare = site.get(Some(&bob), "/incidents/new").await;
    assert!(
        declare
            .section("incident-definitions", "</details>")
            .contains("≥ 2 users cannot log in")
    );

    let id = site
        .declare("alice", "Logins fail", Severity::Sev2, &["api"], None)
        .await;
    for (version, hours) in [("3.4.0", 5), ("3.4.1", 1)] {
        let at = Timestamp::now() - jiff::SignedDuration::from_hours(hours);
        site.store
            .record_release(&Release {
                service: ServiceName::parse("api").unwrap(),
                version: hereby_core::types::ReleaseVersion::parse(version).unwrap(),
                deployed_at: at,
                recorded_at: at,
                recorded_by: name("ci"),
                notes: String::new(),
            })
            .await
            .unwrap();
    }
    let page = site.show(&alice, &id).await;
    assert!(
        page.text_of("unstaffed")
            .contains("operations or communications")
    );
    assert!(
        page.section("service-bars", "</dl>")
            .contains("≥ 2 users cannot log in")
    );
    assert!(page.section("releases", "</details>").contains("3.4.1"));
    assert!(
        page.body
            .contains("class=\"rung not-applicable\" id=\"rung-roll_back\"")
    );

    // The severity is the commander's: a responder's evaluation is refused, naming who can.
    let fields = [
        ("live", "live"),
        ("users_affected", "40"),
        ("availability", "on"),
    ];
    let not_commander = site
        .post(&bob, &format!("/incidents/{id}/evaluate"), &fields)
        .await;
    not_commander.assert_status(StatusCode::FORBIDDEN, "a responder evaluating");
    assert!(
        not_commander.text_of("error").contains(
            "only the Incident Commander (alice) or an admin can change the severity of this incident"
        ),
        "{}",
        not_commander.body
    );
    site.act(&alice, &id, "evaluate", &fields).await;
    let evaluated = site.show(&bob, &id).await;
    assert!(
        unescape(evaluated.section("evaluation", "</p>"))
            .contains("critical service unavailable without a workaround"),
        "{}",
        evaluated.section("evaluation", "</p>")
    );
    let differs = site
        .post(
            &alice,
            &format!("/incidents/{id}/evaluate"),
            &[("live", "live"), ("chosen", "SEV4")],
        )
        .await;
    differs.assert_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        "another severity, no reason",
    );
    assert!(differs.text_of("error").contains("needs a reason"));

    site.act(&alice, &id, "suspect", &[("release", "api 3.4.1")])
        .await;
    let suspected = site.show(&bob, &id).await;
    assert!(
        suspected
            .body
            .contains("class=\"rung\" id=\"rung-roll_back\"")
    );
    site.act(
        &alice,
        &id,
        "decide",
        &[
            ("option", "roll_back"),
            ("motivation", "3.4.1 broke logins"),
        ],
    )
    .await;
    let decided = site.show(&alice, &id).await;
    assert!(unescape(decided.section("decision", "</p>")).contains("roll back"));
    assert!(decided.body.contains("?template=rollback-announcement"));
    // The timeline words the new entries, owners by role included.
    assert!(
        decided
            .body
            .contains("for role release manager: Roll back api from 3.4.1 to 3.4.0")
    );
    assert!(
        unescape(&decided.body).contains("named <strong>api 3.4.1</strong> the suspect release")
    );
    assert!(
        unescape(&decided.body)
            .contains("rule “critical service unavailable without a workaround”")
    );
    let draft = site
        .get(
            Some(&alice),
            &format!("/incidents/{id}?template=rollback-announcement"),
        )
        .await;
    draft.assert_status(StatusCode::OK, "the message draft");
    assert!(draft.body.contains(&id));
    site.post(
        &alice,
        &format!("/incidents/{id}/decide"),
        &[("option", "do_nothing")],
    )
    .await
    .assert_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        "a decision without motivation",
    );

    // Intents, a collision, the commander's acknowledgement and the witness rule.
    for person in ["bob", "carol"] {
        site.act(
            &alice,
            &id,
            "assign",
            &[("role", "operations"), ("person", person)],
        )
        .await;
    }
    site.act(
        &bob,
        &id,
        "intent",
        &[
            ("target", "mysql-primary"),
            ("action", "restart the primary"),
        ],
    )
    .await;
    site.act(
        &carol,
        &id,
        "intent",
        &[("target", "api"), ("action", "restart the API pods")],
    )
    .await;
    let colliding = site.show(&alice, &id).await;
    assert!(
        colliding
            .section("collisions", "</article>")
            .contains("bob and carol")
    );
    assert!(colliding.body.contains("id=\"acknowledge-form\""));
    assert!(colliding.body.contains("change collision 1</strong>"));
    assert!(
        colliding
            .section("intents", "</article>")
            .contains("restart the primary")
    );
    site.act(&alice, &id, "acknowledge-changes", &[]).await;
    site.act(
        &bob,
        &id,
        "intent-done",
        &[("intent", "1"), ("witness", "carol")],
    )
    .await;
    site.act(&carol, &id, "intent-abandon", &[("intent", "2")])
        .await;
    site.act(&alice, &id, "witness-rule", &[("required", "on")])
        .await;
    let after = site.show(&alice, &id).await;
    assert!(!after.body.contains("id=\"collisions\""));
    assert!(!after.body.contains("id=\"intents\""));
    let unwitnessed = site
        .post(
            &bob,
            &format!("/incidents/{id}/operation"),
            &[("target", "api"), ("action", "flush the cache")],
        )
        .await;
    unwitnessed.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "no witness on a SEV2");
    assert!(unwitnessed.text_of("error").contains("witness"));
}

#[tokio::test]
async fn a_handoff_shows_on_every_page_of_the_person_asked_until_they_answer() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    site.user("bob", InstallationRole::Responder).await;
    let alice = site.login("alice").await;
    let bob = site.login("bob").await;
    let id = site
        .declare("alice", "Payments <fail>", Severity::Sev2, &[], None)
        .await;
    let quiet = site.get(Some(&bob), "/").await;
    assert!(
        !quiet.body.contains("id=\"handoff-banner\""),
        "{}",
        quiet.body
    );

    site.act(&alice, &id, "handoff", &[("to", "bob")]).await;
    for page in ["/", "/incidents", "/reviews", "/services"] {
        let shown = site.get(Some(&bob), page).await;
        let banner = shown.section("handoff-banner", "</section>");
        assert!(
            banner.contains(&format!(
                "<strong>alice</strong> asks you to take command of <a href=\"/incidents/{id}\">{id}</a> (Payments &lt;fail&gt;)."
            )),
            "{page}: {banner}"
        );
        assert!(
            banner.contains(&format!("action=\"/incidents/{id}/accept-handoff\"")),
            "{banner}"
        );
    }
    // The commander is not asked anything.
    let own = site.get(Some(&alice), "/").await;
    assert!(!own.body.contains("id=\"handoff-banner\""));

    // Accepting from the banner: command changes hands and the banner is gone.
    site.act(&bob, &id, "accept-handoff", &[]).await;
    let mut gone = false;
    for _ in 0..50 {
        if !site
            .get(Some(&bob), "/")
            .await
            .body
            .contains("id=\"handoff-banner\"")
        {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(gone, "the banner stays after accepting");
    let shown = site.show(&alice, &id).await;
    assert!(unescape(&shown.body).contains("Incident Commander"));
}

#[tokio::test]
async fn the_dashboard_shows_the_last_stakeholder_update_and_when_one_is_overdue() {
    let site = Site::with(
        hereby_core::Policy::default(),
        hereby_core::Cadence::parse("SEV1=1s,SEV2=1h,SEV3=4h,SEV4=none").unwrap(),
    )
    .await;
    site.user("alice", InstallationRole::Responder).await;
    let alice = site.login("alice").await;
    let quiet = site
        .declare("alice", "Search is slow", Severity::Sev3, &[], None)
        .await;
    let loud = site
        .declare("alice", "Checkout down", Severity::Sev1, &[], None)
        .await;
    site.act(
        &alice,
        &quiet,
        "update",
        &[("audience", "internal"), ("body", "Looking into it.")],
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let dashboard = site.get(Some(&alice), "/").await;
    let active = dashboard.section("active", "</table>");
    assert!(active.contains("Last stakeholder update"), "{active}");
    let row = |id: &str| {
        let start = active.find(&format!("href=\"/incidents/{id}\"")).unwrap();
        let end = active[start..].find("</tr>").unwrap() + start;
        active[start..end].to_owned()
    };
    assert!(row(&loud).contains("none yet"), "{}", row(&loud));
    assert!(
        row(&loud).contains("<strong class=\"overdue\">overdue</strong>"),
        "{}",
        row(&loud)
    );
    assert!(!row(&quiet).contains("none yet"), "{}", row(&quiet));
    assert!(!row(&quiet).contains("overdue"), "{}", row(&quiet));
}

#[tokio::test]
async fn a_new_installation_s_dashboard_says_what_to_set_up_next() {
    let site = Site::new().await;
    site.user("root", InstallationRole::Admin).await;
    site.user("alice", InstallationRole::Responder).await;
    let root = site.login("root").await;
    let first = site.get(Some(&root), "/").await;
    let steps = first.section("getting-started", "</section>");
    assert!(steps.contains("Add the people who respond"), "{steps}");
    assert!(steps.contains("(2 users so far)"), "{steps}");
    assert!(steps.contains("Describe your services"), "{steps}");
    assert!(steps.contains("Add a notification channel"), "{steps}");
    // A responder has nothing to set up; once there is an incident, nobody is told again.
    let alice = site.login("alice").await;
    assert!(
        !site
            .get(Some(&alice), "/")
            .await
            .body
            .contains("getting-started")
    );
    site.declare("alice", "First one", Severity::Sev3, &[], None)
        .await;
    assert!(
        !site
            .get(Some(&root), "/")
            .await
            .body
            .contains("getting-started")
    );
}

#[tokio::test]
async fn resolving_is_confirmed_and_may_set_the_impact_end() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    let alice = site.login("alice").await;
    let id = site
        .declare("alice", "Queue stuck", Severity::Sev3, &[], None)
        .await;
    let unconfirmed = site
        .post(
            &alice,
            &format!("/incidents/{id}/resolve"),
            &[("reason", "restarted")],
        )
        .await;
    unconfirmed.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "no confirmation");
    assert!(
        unconfirmed
            .text_of("error")
            .contains("Service is back to normal")
    );
    assert_eq!(
        site.incident(&id).await.status,
        hereby_core::types::Status::Investigating
    );
    // The impact started at the declaration (nothing else was recorded) and ended a moment
    // later, as a browser's datetime field sends it, to the second.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let ended = Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S").to_string();
    site.act(
        &alice,
        &id,
        "resolve",
        &[("confirm", "yes"), ("impact_end", ended.as_str())],
    )
    .await;
    let incident = site.incident(&id).await;
    assert_eq!(incident.status, hereby_core::types::Status::Resolved);
    assert_eq!(
        incident
            .impact
            .end
            .map(|end| end.strftime("%Y-%m-%dT%H:%M:%S").to_string()),
        Some(ended)
    );
    assert_eq!(incident.impact.start, Some(incident.declared_at));
}

#[tokio::test]
async fn the_alerts_page_lists_what_the_viewer_may_see_and_acknowledges_and_silences() {
    use hereby_store::Alerts;
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    site.user("bob", InstallationRole::Responder).await;
    site.user("vera", InstallationRole::Viewer).await;
    let alice = site.login("alice").await;
    let bob = site.login("bob").await;
    let vera = site.login("vera").await;
    let app = hereby_app::App::new(site.store.clone(), site.policy.clone());
    let integration = alert_integration(&site).await;
    let signal = |key: &str, service: &str| firing(key, &format!("{service} <b>slow</b>"), service);
    let received = app
        .receive_alerts(
            &integration,
            "{}",
            vec![signal("a", "checkout"), signal("b", "vault")],
        )
        .await
        .unwrap();
    let checkout = received.recorded.as_ref().unwrap().outcomes[0]
        .group
        .unwrap();
    let vault = received.recorded.as_ref().unwrap().outcomes[1]
        .group
        .unwrap();
    // The vault incident turns out to be a security matter: restricted, alice a member.
    let vault_incident = received.opened[1].to_string();
    site.execute("alice", &vault_incident, Command::TakeCommand)
        .await;
    site.execute(
        "alice",
        &vault_incident,
        Command::ChangeVisibility {
            to: Visibility::Restricted,
            reason: hereby_core::types::Reason::parse("a security incident").unwrap(),
        },
    )
    .await;

    let page = site.get(Some(&alice), "/alerts").await;
    page.assert_status(StatusCode::OK, "the alerts page");
    assert!(page.body.contains("sse-connect=\"/alerts/live\""));
    assert!(
        page.body.contains("checkout &lt;b&gt;slow&lt;&#x2f;b&gt;"),
        "escaped: {}",
        page.body
    );
    assert!(page.body.contains(&format!("id=\"group-{vault}\"")));
    let page = site.get(Some(&bob), "/alerts").await;
    assert!(page.body.contains(&format!("id=\"group-{checkout}\"")));
    assert!(
        !page.body.contains(&format!("id=\"group-{vault}\"")) && !page.body.contains("vault"),
        "a restricted incident's group does not exist for non-members"
    );
    let refused = site.post(&bob, &format!("/alerts/{vault}/ack"), &[]).await;
    refused.assert_status(StatusCode::NOT_FOUND, "not bob's to see");

    // A viewer sees the table without its forms, and may not acknowledge.
    let page = site.get(Some(&vera), "/alerts").await;
    assert!(page.body.contains(&format!("id=\"group-{checkout}\"")));
    assert!(!page.body.contains("/ack\""), "no forms for viewers");
    let refused = site
        .post(&vera, &format!("/alerts/{checkout}/ack"), &[])
        .await;
    refused.assert_status(StatusCode::FORBIDDEN, "viewers change nothing");

    // The live page hears of the change from the process's alert feed.
    let response = site
        .router
        .clone()
        .oneshot(
            Request::get("/alerts/live")
                .header(header::COOKIE, &alice.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let done = site
        .post(&alice, &format!("/alerts/{checkout}/ack"), &[])
        .await;
    assert!(done.status.is_redirection(), "{}", done.body);
    let seen = read_events(response.into_body(), |seen| seen.contains("event: changed")).await;
    assert!(seen.contains("event: changed"), "{seen}");
    let refused = site
        .post(
            &alice,
            &format!("/alerts/{checkout}/silence"),
            &[("for", "a while")],
        )
        .await;
    refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "not a duration");
    assert!(refused.text_of("alert-error").contains("for"));
    site.post(
        &alice,
        &format!("/alerts/{checkout}/silence"),
        &[("for", "2h"), ("reason", "known")],
    )
    .await;
    let page = site.get(Some(&alice), "/alerts").await;
    let row = page.section(&format!("group-{checkout}"), "</tr>");
    assert!(
        row.contains("acknowledged by alice") && row.contains("silenced by alice"),
        "{row}"
    );
    let group = site.store.alert_group(checkout).await.unwrap().unwrap();
    assert_eq!(group.acknowledged_by.as_deref(), Some("alice"));
}

#[tokio::test]
async fn a_person_gets_a_chat_link_code_on_the_account_page_and_unlinks() {
    use hereby_store::Chat as _;
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    let alice = site.login("alice").await;
    let page = site.get(Some(&alice), "/account").await;
    page.assert_status(StatusCode::OK, "the account page");
    assert!(page.body.contains("id=\"no-links\""));
    assert!(page.body.contains("id=\"nav-account\""));

    let shown = site.post(&alice, "/account/chat", &[("op", "code")]).await;
    shown.assert_status(StatusCode::OK, "a link code");
    let code = unescape(shown.text_of("secret"));
    let code = code.strip_prefix("inc link ").unwrap().to_owned();
    assert_eq!(code.len(), 9, "{code}");
    // What `inc link CODE` does in chat, through the store the chat adapter uses.
    let digest = <sha2::Sha256 as sha2::Digest>::digest(code.as_bytes()).to_vec();
    let linked = site
        .store
        .redeem_link_code(
            &digest,
            "matrix",
            "@alice:example.org",
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
    assert_eq!(linked, Some(name("alice")));
    let again = site
        .store
        .redeem_link_code(
            &digest,
            "matrix",
            "@mallory:example.org",
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
    assert_eq!(again, None, "a code works once");
    let page = site.get(Some(&alice), "/account").await;
    assert!(
        page.section("chat-links", "</table>")
            .contains("@alice:example.org")
    );

    let unlinked = site
        .post(
            &alice,
            "/account/chat",
            &[
                ("op", "unlink"),
                ("platform", "matrix"),
                ("chat_user", "@alice:example.org"),
            ],
        )
        .await;
    unlinked.assert_status(StatusCode::OK, "unlinking");
    assert!(unlinked.body.contains("id=\"no-links\""));
    let missing = site
        .post(
            &alice,
            "/account/chat",
            &[
                ("op", "unlink"),
                ("platform", "matrix"),
                ("chat_user", "@alice:example.org"),
            ],
        )
        .await;
    missing.assert_status(StatusCode::NOT_FOUND, "unlinking what is not linked");
    let refused = site
        .post_raw(None, "/account/chat", &[("op", "code")], &[])
        .await;
    assert_ne!(
        refused.status,
        StatusCode::OK,
        "signed out, nothing is made"
    );
}

#[tokio::test]
async fn admins_add_a_chat_channel_on_the_settings_page_and_its_token_is_never_shown() {
    use hereby_store::Notifications;
    let site = Site::new().await;
    site.user("root", InstallationRole::Admin).await;
    let root = site.login("root").await;
    let page = site.get(Some(&root), "/settings").await;
    assert!(page.body.contains("id=\"chat-fields\""));
    let added = site
        .post(
            &root,
            "/settings/channels/new",
            &[
                ("name", "matrix"),
                ("kind", "matrix"),
                ("url", "https://matrix.example.org"),
                ("secret", "syt_very_secret_token"),
                ("rooms", "#ops:example.org"),
                ("capture", "on"),
                ("tls", "starttls"),
                ("concurrency", "4"),
            ],
        )
        .await;
    added.assert_status(StatusCode::SEE_OTHER, "adding a Matrix channel");
    let page = site.get(Some(&root), "/settings").await;
    assert!(!page.body.contains("syt_very_secret_token"));
    assert!(
        unescape(&page.body).contains("https://matrix.example.org (watching #ops:example.org)")
    );
    let channels = site.store.channels().await.unwrap();
    assert_eq!(channels.len(), 1);
    assert_eq!(channels[0].kind, "matrix");
    assert!(
        channels[0].config.contains("\"capture\":true"),
        "{}",
        channels[0].config
    );
    let refused = site
        .post(
            &root,
            "/settings/channels/new",
            &[
                ("name", "slack"),
                ("kind", "slack_app"),
                ("secret", "xoxb-1"),
                ("team", "not a team"),
                ("signing_secret", "shh"),
                ("tls", "starttls"),
                ("concurrency", "4"),
            ],
        )
        .await;
    refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "a bad Slack team id");
    assert!(refused.text_of("error").contains("team"));
    assert!(!refused.body.contains("xoxb-1") && !refused.body.contains("value=\"shh\""));
    assert_eq!(site.store.channels().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_search_box_finds_notes_marks_the_words_and_hides_restricted_incidents() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    site.user("carol", InstallationRole::Responder).await;
    let open = site
        .declare(
            "alice",
            "Checkout latency",
            Severity::Sev2,
            &["checkout"],
            None,
        )
        .await;
    site.execute(
        "alice",
        &open,
        Command::AddNote {
            text: Text::parse("Connection pool <exhausted> on db-primary").unwrap(),
        },
    )
    .await;
    let secret = site
        .declare(
            "alice",
            "Pool credentials leaked",
            Severity::Sev1,
            &["auth"],
            None,
        )
        .await;
    site.execute(
        "alice",
        &secret,
        Command::ChangeVisibility {
            to: Visibility::Restricted,
            reason: hereby_core::types::Reason::parse("security").unwrap(),
        },
    )
    .await;

    let carol = site.login("carol").await;
    let home = site.get(Some(&carol), "/").await;
    assert!(
        home.body.contains("id=\"nav-search\""),
        "a search box on every page"
    );
    let page = site.get(Some(&carol), "/search?q=pool").await;
    page.assert_status(StatusCode::OK, "the search page");
    assert!(
        page.body.contains(&format!("id=\"hit-{open}\"")),
        "{}",
        page.body
    );
    assert!(!page.body.contains(&format!("id=\"hit-{secret}\"")));
    assert!(
        !page.body.contains("credentials"),
        "nothing of the restricted incident"
    );
    assert!(page.body.contains("1 incident<"), "the count is carol's");
    // The matched word is marked; the note's own markup is escaped.
    assert!(page.body.contains("<mark>pool</mark>"), "{}", page.body);
    assert!(page.body.contains("&lt;exhausted&gt;"));
    assert!(!page.body.contains("<exhausted>"));

    let alice = site.login("alice").await;
    let page = site.get(Some(&alice), "/search?q=pool").await;
    assert!(
        page.body.contains(&format!("id=\"hit-{secret}\"")),
        "members find it"
    );

    // A query that cannot be read is explained on the page, which keeps what was typed.
    let page = site.get(Some(&carol), "/search?q=sev%3A9+pool").await;
    page.assert_status(StatusCode::BAD_REQUEST, "an unreadable query");
    assert!(page.body.contains("id=\"search-error\""));
    assert!(page.body.contains("not a severity"));
    assert!(page.body.contains("value=\"sev:9 pool\""));
    // Signed out, the page asks for a sign-in rather than searching.
    let anonymous = site.get(None, "/search?q=pool").await;
    assert!(!anonymous.body.contains("hit-"));
}

#[tokio::test]
async fn the_incident_page_shows_its_milestones() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    let id = site
        .declare(
            "alice",
            "Checkout latency",
            Severity::Sev2,
            &["checkout"],
            None,
        )
        .await;
    let alice = site.login("alice").await;
    // The milestones' row: from its marker to the end of its cell.
    let row = |page: &Page| {
        let start = page.body.find("id=\"milestones\"").unwrap();
        let end = start + page.body[start..].find("</dd>").unwrap();
        page.body[start..end].to_owned()
    };
    let page = site.show(&alice, &id).await;
    let milestones = row(&page);
    assert!(
        milestones.contains("started <time>") && milestones.contains("acknowledged <time>"),
        "{milestones}"
    );
    assert!(!milestones.contains("mitigated"));
    site.execute(
        "alice",
        &id,
        Command::ChangeStatus {
            to: hereby_core::types::Status::Monitoring,
            reason: None,
            override_close_checks: false,
        },
    )
    .await;
    let page = site.show(&alice, &id).await;
    assert!(row(&page).contains("mitigated <time>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responders_schedule_and_move_maintenance_on_its_page() {
    use hereby_store::Communications as _;
    let site = Site::new().await;
    site.user("root", InstallationRole::Admin).await;
    site.user("alice", InstallationRole::Responder).await;
    site.user("vera", InstallationRole::Viewer).await;
    let root = site.login("root").await;
    let alice = site.login("alice").await;
    let vera = site.login("vera").await;
    let added = site
        .post(
            &root,
            "/settings/components/new",
            &[("name", "db"), ("status", "auto")],
        )
        .await;
    assert!(added.is_redirect_to("/settings#components"), "{added:?}");

    // A viewer reads the page without forms, and a form posted anyway is refused.
    let page = site.get(Some(&vera), "/maintenance").await;
    page.assert_status(StatusCode::OK, "a viewer on the maintenance page");
    assert!(
        !page.body.contains("id=\"schedule-maintenance\""),
        "{}",
        page.body
    );
    let refused = site
        .post(
            &vera,
            "/maintenance",
            &[
                ("title", "x"),
                ("components", "db"),
                ("starts_at", "2099-01-01T22:00"),
                ("ends_at", "2099-01-01T23:00"),
            ],
        )
        .await;
    refused.assert_status(StatusCode::FORBIDDEN, "a viewer scheduling maintenance");

    // A bad plan comes back with the rule's words and stores nothing.
    let bad = site
        .post(
            &alice,
            "/maintenance",
            &[
                ("title", "Upgrade"),
                ("components", "db"),
                ("starts_at", "2099-01-01T23:00"),
                ("ends_at", "2099-01-01T22:00"),
            ],
        )
        .await;
    bad.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "an end before the start");
    assert!(bad.text_of("error").contains("ends_at"), "{}", bad.body);

    let scheduled = site
        .post(
            &alice,
            "/maintenance",
            &[
                ("title", "Database <upgrade>"),
                ("components", "db"),
                ("starts_at", "2099-01-01T22:00"),
                ("ends_at", "2099-01-01T23:00"),
                ("body", "Writes pause for a minute."),
            ],
        )
        .await;
    assert!(scheduled.is_redirect_to("/maintenance"), "{scheduled:?}");
    let page = site.get(Some(&alice), "/maintenance").await;
    assert!(
        page.body.contains("Database &lt;upgrade&gt;"),
        "escaped: {}",
        page.body
    );
    assert!(
        page.body.contains("2099-01-01 22:00:00 UTC"),
        "{}",
        page.body
    );
    let id = site
        .store
        .maintenances(&hereby_store::MaintenanceQuery {
            completed_since: None,
            before: None,
            limit: 10,
            updates: false,
        })
        .await
        .unwrap()[0]
        .id;
    // The statuses offered are the rule's: forward only.
    let form = page.section(&format!("maintenance-{id}"), "</article>");
    assert!(
        form.contains("<option>in_progress</option>")
            && !form.contains("<option>scheduled</option>"),
        "{form}"
    );

    let moved = site
        .post(
            &alice,
            &format!("/maintenance/{id}"),
            &[
                ("op", "update"),
                ("status", "in_progress"),
                ("body", "Started."),
            ],
        )
        .await;
    assert!(moved.is_redirect_to("/maintenance"), "{moved:?}");
    let stored = site.store.maintenance(id).await.unwrap().unwrap();
    assert_eq!(
        stored.schedule.status,
        hereby_core::maintenance::MaintenanceStatus::InProgress
    );
    let removed = site
        .post(&alice, &format!("/maintenance/{id}"), &[("op", "remove")])
        .await;
    removed.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "removing one that began");
    assert!(
        removed.text_of("error").contains("complete it instead"),
        "{}",
        removed.body
    );
}
