//! Status page subscriptions end to end, with a real SMTP server (aiosmtpd) and a webhook
//! receiver on loopback: sign-up, confirmation by POST (a GET of the link changes nothing),
//! per-component filtering, one-click unsubscribe without a session (RFC 8058), the same
//! answer for known and unknown addresses, the rate limit, managing with an e-mailed code,
//! and a webhook subscriber's deliveries verified by an independent Standard Webhooks
//! implementation.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::api::{Server, databases};
use crate::notify::{FAST, Receiver, SmtpServer, python_with_aiosmtpd};

/// A form POST without a session; returns the status and the page.
fn form(server: &Server, path: &str, body: &str) -> (u16, String) {
    raw(server, "POST", path, body)
}

fn raw(server: &Server, method: &str, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(&server.address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        server.address,
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, page) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, page.to_owned())
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The mails to `to` so far, waiting until there are at least `at_least`.
fn mails_to(smtp: &SmtpServer, to: &str, at_least: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mails: Vec<String> = smtp
            .messages()
            .iter()
            .filter(|m| m["to"].as_array().unwrap().iter().any(|t| t == to))
            // Quoted-printable, as lettre sends long lines: soft breaks and `=3D` undone.
            .map(|m| {
                m["data"]
                    .as_str()
                    .unwrap()
                    .replace("=\r\n", "")
                    .replace("=\n", "")
                    .replace("=3D", "=")
            })
            .collect();
        if mails.len() >= at_least || Instant::now() > deadline {
            return mails;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The first mail to `to` that contains `needle`, waiting for it (mails of one moment may
/// arrive in any order).
fn mail_with(smtp: &SmtpServer, to: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(mail) = mails_to(smtp, to, 0)
            .into_iter()
            .find(|m| m.contains(needle))
        {
            return mail;
        }
        assert!(Instant::now() < deadline, "no mail to {to} with {needle:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A link's token in a mail: what follows `<path>?token=`.
fn token_in(mail: &str, path: &str) -> String {
    let start = mail
        .find(&format!("{path}?token="))
        .unwrap_or_else(|| panic!("no {path} link in {mail}"));
    mail[start + path.len() + "?token=".len()..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit() || *c == '.' || c.is_ascii_digit())
        .collect()
}

fn state_of(server: &Server, address: &str) -> String {
    let (status, list) = server.get("/api/v1/status-subscribers", &server.admin);
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .find(|s| s["address"] == address)
        .map(|s| s["state"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| "none".to_owned())
}

#[test]
fn people_subscribe_confirm_hear_and_leave_without_anyone_adding_them() {
    let Some(python) = python_with_aiosmtpd() else {
        let required = std::env::var("HEREBY_TEST_SMTP").is_ok_and(|v| v == "required");
        assert!(
            !required,
            "HEREBY_TEST_SMTP=required but no python3 with aiosmtpd (apt-get install python3-aiosmtpd)"
        );
        eprintln!(
            "subscription test skipped: no python3 with aiosmtpd (apt-get install python3-aiosmtpd)"
        );
        return;
    };
    for database in databases() {
        let smtp = SmtpServer::start(&python);
        let server = Server::start_with(&database, FAST);
        let admin = server.admin.clone();
        let alice = server.user("alice", "responder");
        for name in ["db", "checkout"] {
            let (status, reply) = server.call(
                "PUT",
                &format!("/api/v1/components/{name}"),
                Some(&admin),
                Some("{}"),
                &[],
            );
            assert_eq!(status, 200, "{reply}");
        }
        // Without a mail channel, the page takes no e-mail sign-ups, and says so.
        let (status, page) = form(
            &server,
            "/status/subscribe",
            "kind=email&address=ann%40example.test",
        );
        assert_eq!(status, 422, "{page}");
        assert!(
            page.contains("does not take e-mail subscriptions"),
            "{page}"
        );
        let (status, channel) = server.post(
            "/api/v1/channels",
            &admin,
            json!({ "name": "status-mail", "kind": "email", "host": "127.0.0.1", "port": smtp.port, "tls": "none", "from": "status@example.test" }),
        );
        assert_eq!(status, 201, "{channel}");
        let (status, reply) = server.call(
            "PUT",
            "/api/v1/status-page",
            Some(&admin),
            Some(r#"{"name": "Acme status", "mail_channel": "status-mail"}"#),
            &[],
        );
        assert_eq!(status, 200, "{reply}");

        // The sign-up page offers the components; a bad address is refused and stores nothing.
        let (status, page) = raw(&server, "GET", "/status/subscribe", "");
        assert_eq!(status, 200);
        assert!(page.contains(r#"value="checkout""#), "{page}");
        let (status, page) = form(
            &server,
            "/status/subscribe",
            "kind=email&address=not-an-address",
        );
        assert_eq!(status, 422, "{page}");

        // Ann follows db only; Carl everything.
        let (status, answer_ann) = form(
            &server,
            "/status/subscribe",
            "kind=email&address=Ann%40Example.test&components=db",
        );
        assert_eq!(status, 200, "{answer_ann}");
        assert!(answer_ann.contains("Check your inbox"), "{answer_ann}");
        let (status, _) = form(
            &server,
            "/status/subscribe",
            "kind=email&address=carl%40example.test",
        );
        assert_eq!(status, 200);
        assert_eq!(state_of(&server, "ann@example.test"), "pending");

        // The link opens a page with a button; opening it (as a mail scanner does) changes
        // nothing. The button's POST confirms.
        let mail = mails_to(&smtp, "ann@example.test", 1).remove(0);
        assert!(
            mail.contains("Subject: Acme status: confirm your subscription"),
            "{mail}"
        );
        let token = token_in(&mail, "/status/subscriptions/confirm");
        let (status, page) = raw(
            &server,
            "GET",
            &format!("/status/subscriptions/confirm?token={token}"),
            "",
        );
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("<button"), "{page}");
        assert_eq!(
            state_of(&server, "ann@example.test"),
            "pending",
            "a GET confirms nothing"
        );
        let (status, page) = form(
            &server,
            "/status/subscriptions/confirm",
            &format!("token={token}"),
        );
        assert_eq!(status, 200, "{page}");
        assert_eq!(state_of(&server, "ann@example.test"), "active");
        let (status, page) = form(
            &server,
            "/status/subscriptions/confirm",
            &format!("token={token}x"),
        );
        assert_eq!(status, 400, "a forged token: {page}");
        let carl_mail = mails_to(&smtp, "carl@example.test", 1).remove(0);
        let carl_token = token_in(&carl_mail, "/status/subscriptions/confirm");
        assert_eq!(
            form(
                &server,
                "/status/subscriptions/confirm",
                &format!("token={carl_token}")
            )
            .0,
            200
        );

        // The same answer for an address that is subscribed and one that is not.
        let (_, again) = form(
            &server,
            "/status/subscribe",
            "kind=email&address=ann%40example.test&components=db",
        );
        let (_, fresh) = form(
            &server,
            "/status/subscribe",
            "kind=email&address=dora%40example.test&components=db",
        );
        assert_eq!(again, fresh, "the answer reveals nothing about the address");
        assert_eq!(again, answer_ann);
        let told = mails_to(&smtp, "ann@example.test", 2);
        assert!(told[1].contains("subscribed already"), "{}", told[1]);
        assert_eq!(
            state_of(&server, "ann@example.test"),
            "active",
            "nothing changed"
        );

        // A public incident on checkout: Carl hears, Ann (db only) does not. One on db: both.
        let declare = |title: &str, service: &str, visibility: &str| {
            let (status, reply) = server.post(
                "/api/v1/incidents",
                &alice,
                json!({ "title": title, "severity": "SEV2", "services": [service], "visibility": visibility, "public_summary": "Some payments fail." }),
            );
            assert_eq!(status, 201, "{reply}");
            reply["id"].as_str().unwrap().to_owned()
        };
        declare("Card payments fail", "checkout", "public");
        declare("Replica lag", "db", "internal");
        // `ledger` is a service the page does not show: its name never reaches the public.
        let (status, reply) = server.post(
            "/api/v1/incidents",
            &alice,
            json!({ "title": "Database slow", "severity": "SEV2", "services": ["db", "ledger"], "visibility": "public" }),
        );
        assert_eq!(status, 201, "{reply}");
        let db = reply["id"].as_str().unwrap().to_owned();
        let card = mail_with(&smtp, "carl@example.test", "Card payments fail");
        assert!(card.contains("Some payments fail."), "{card}");
        mail_with(&smtp, "carl@example.test", "Database slow");
        let notice = &mail_with(&smtp, "ann@example.test", "Database slow");
        assert!(
            notice.contains("Affects: db\r\n") || notice.contains("Affects: db\n"),
            "{notice}"
        );
        assert!(!notice.contains("ledger"), "{notice}");
        let ann = mails_to(&smtp, "ann@example.test", 3);
        assert_eq!(ann.len(), 3, "ann hears of db only: {ann:?}");
        assert!(
            notice.contains("Subject: [Acme status] Database slow: investigating"),
            "{notice}"
        );
        assert!(
            !notice.contains("Replica lag") && !ann.iter().any(|m| m.contains("Card payments"))
        );
        assert!(
            notice.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
            "{notice}"
        );
        let unsubscribe = token_in(notice, "/status/subscriptions/unsubscribe");
        assert!(
            notice.contains(&format!(
                "List-Unsubscribe: <http://{}/status/subscriptions/unsubscribe?token={unsubscribe}>",
                server.address
            )),
            "{notice}"
        );

        // A quiet public update tells nobody; a plain one tells both.
        let update = |body: &str, quiet: bool| {
            let (status, reply) = server.post(
                &format!("/api/v1/incidents/{db}/updates"),
                &alice,
                json!({ "audience": "customers", "body": body, "public": true, "quiet": quiet }),
            );
            assert_eq!(status, 200, "{reply}");
        };
        update("Typo fixed.", true);
        update("We found the slow query.", false);
        mail_with(&smtp, "ann@example.test", "We found the slow query.");
        let ann = mails_to(&smtp, "ann@example.test", 4);
        assert!(!ann.iter().any(|m| m.contains("Typo fixed.")));

        // One-click unsubscribe: a GET of the link changes nothing, the POST a mail provider
        // sends (no cookie, no form but its own) does.
        let path = format!("/status/subscriptions/unsubscribe?token={unsubscribe}");
        let (status, page) = raw(&server, "GET", &path, "");
        assert_eq!(status, 200);
        assert!(page.contains("<button"), "{page}");
        assert_eq!(state_of(&server, "ann@example.test"), "active");
        let (status, page) = form(&server, &path, "List-Unsubscribe=One-Click");
        assert_eq!(status, 200, "{page}");
        assert_eq!(state_of(&server, "ann@example.test"), "unsubscribed");
        assert_eq!(
            form(&server, &path, "List-Unsubscribe=One-Click").0,
            200,
            "twice is fine"
        );
        update("Fixed.", false);
        mail_with(&smtp, "carl@example.test", "\nFixed.");
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(
            mails_to(&smtp, "ann@example.test", 0).len(),
            4,
            "ann hears no more"
        );

        // Managing takes a fresh e-mailed code; a wrong one is refused like any other.
        let (status, page) = form(
            &server,
            "/status/subscriptions/manage",
            "address=carl%40example.test",
        );
        assert_eq!(status, 200);
        let (_, unknown) = form(
            &server,
            "/status/subscriptions/manage",
            "address=nobody%40example.test",
        );
        assert_eq!(
            page.replace("carl@example.test", "X"),
            unknown.replace("nobody@example.test", "X")
        );
        let code_mail = mail_with(&smtp, "carl@example.test", "Your code is ");
        let code: String = code_mail
            .split("Your code is ")
            .nth(1)
            .unwrap()
            .chars()
            .take(6)
            .collect();
        let (status, _) = form(
            &server,
            "/status/subscriptions/manage/code",
            "address=carl%40example.test&code=000000x",
        );
        assert_eq!(status, 400);
        let (status, page) = form(
            &server,
            "/status/subscriptions/manage/code",
            &format!("address=carl%40example.test&code={code}"),
        );
        assert_eq!(status, 200, "{page}");
        let session: String = page
            .split(r#"name="session" value=""#)
            .nth(1)
            .unwrap()
            .chars()
            .take_while(|c| *c != '"')
            .collect();
        let (status, page) = form(
            &server,
            "/status/subscriptions/manage/save",
            &format!("session={}&components=checkout", encode(&session)),
        );
        assert_eq!(status, 200, "{page}");
        let (_, list) = server.get("/api/v1/status-subscribers", &admin);
        let carl_row = list
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["address"] == "carl@example.test")
            .unwrap()
            .clone();
        assert_eq!(carl_row["components"], json!(["checkout"]));
        let (status, _) = form(
            &server,
            "/status/subscriptions/manage/code",
            &format!("address=carl%40example.test&code={code}"),
        );
        assert_eq!(status, 400, "a code works once");

        // Maintenance on checkout reaches Carl.
        let (status, _) = server.post(
            "/api/v1/maintenances",
            &alice,
            json!({ "title": "Card processor upgrade", "components": ["checkout"], "starts_at": "2099-01-01T22:00:00Z", "ends_at": "2099-01-01T23:00:00Z" }),
        );
        assert_eq!(status, 201);
        mail_with(&smtp, "carl@example.test", "Card processor upgrade");

        // Sign-ups are limited per address (three an hour).
        for n in 0..3 {
            let (status, _) = form(
                &server,
                "/status/subscribe",
                "kind=email&address=eve%40example.test",
            );
            assert_eq!(status, 200, "sign-up {n}");
        }
        let (status, page) = form(
            &server,
            "/status/subscribe",
            "kind=email&address=eve%40example.test",
        );
        assert_eq!(status, 429, "{page}");
    }
}

#[test]
fn a_webhook_subscriber_is_verified_by_a_test_delivery_and_gets_signed_statuspage_bodies() {
    for database in databases() {
        let server = Server::start_with(&database, FAST);
        let alice = server.user("alice", "responder");
        let (status, _) = server.call(
            "PUT",
            "/api/v1/components/api",
            Some(&server.admin),
            Some("{}"),
            &[],
        );
        assert_eq!(status, 200);
        let receiver = Receiver::start();
        let url = format!("http://127.0.0.1:{}/hook", receiver.port);
        // By default the page takes webhook addresses on the internet only.
        let (status, page) = raw(
            &server,
            "POST",
            "/status/subscribe",
            &format!("kind=webhook&address={}", encode(&url)),
        );
        assert_eq!(status, 422, "{page}");
        assert!(page.contains("on the internet"), "{page}");
        let (status, reply) = server.call(
            "PUT",
            "/api/v1/status-page",
            Some(&server.admin),
            Some(r#"{"webhook_signups": "any"}"#),
            &[],
        );
        assert_eq!(status, 200, "{reply}");
        let (status, page) = raw(
            &server,
            "POST",
            "/status/subscribe",
            &format!("kind=webhook&address={}", encode(&url)),
        );
        assert_eq!(status, 200, "{page}");
        // The signing secret is on this page, and nowhere else ever (HTML-escaped there).
        let secret: String = page
            .split("<pre><code>")
            .nth(1)
            .unwrap()
            .chars()
            .take_while(|c| *c != '<')
            .collect::<String>()
            .replace("&#x2f;", "/")
            .replace("&#x2b;", "+")
            .replace("&#x3d;", "=");
        assert!(secret.starts_with("whsec_"), "{secret}");
        let (_, list) = server.get("/api/v1/status-subscribers", &server.admin);
        assert!(
            !list.to_string().contains(&secret),
            "never shown to admins either"
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (_, list) = server.get("/api/v1/status-subscribers", &server.admin);
            if list[0]["state"] == "active" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the test delivery was never answered: {list}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let test = receiver.received.lock().unwrap()[0].clone();
        assert_eq!(test.json()["type"], "subscription.test");
        // Subscribing the same address again while it is active is refused.
        let (status, page) = raw(
            &server,
            "POST",
            "/status/subscribe",
            &format!("kind=webhook&address={}", encode(&url)),
        );
        assert_eq!(status, 409, "{page}");
        let verifier = standardwebhooks::Webhook::new(&secret).unwrap();

        let (status, reply) = server.post(
            "/api/v1/incidents",
            &alice,
            json!({ "title": "API errors", "severity": "SEV1", "services": ["api"], "visibility": "public" }),
        );
        assert_eq!(status, 201, "{reply}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let notice = loop {
            let found = receiver
                .received
                .lock()
                .unwrap()
                .iter()
                .find(|r| r.json()["type"] == "incident_published")
                .cloned();
            if let Some(found) = found {
                break found;
            }
            assert!(Instant::now() < deadline, "no notice arrived");
            std::thread::sleep(Duration::from_millis(100));
        };
        let mut headers = reqwest::header::HeaderMap::new();
        for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
            headers.insert(name, notice.header(name).parse().unwrap());
        }
        verifier
            .verify(notice.body.as_bytes(), &headers)
            .expect("the independent implementation accepts the signature");
        let mut tampered = notice.body.clone();
        tampered.push(' ');
        assert!(verifier.verify(tampered.as_bytes(), &headers).is_err());
        let body: Value = notice.json();
        assert_eq!(body["incident"]["name"], "API errors");
        assert_eq!(body["incident"]["impact"], "critical");
        assert_eq!(body["incident"]["components"], json!(["api"]));
        let unsubscribe = body["meta"]["unsubscribe"].as_str().unwrap();
        assert!(
            unsubscribe.contains("/status/subscriptions/unsubscribe?token="),
            "{body}"
        );
        let path = &unsubscribe[unsubscribe.find("/status/").unwrap()..];
        assert_eq!(
            raw(&server, "POST", path, "List-Unsubscribe=One-Click").0,
            200
        );
        let (_, list) = server.get("/api/v1/status-subscribers", &server.admin);
        assert_eq!(list[0]["state"], "unsubscribed");
    }
}
