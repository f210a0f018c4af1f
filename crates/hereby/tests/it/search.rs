//! Search end to end: the API and the CLI on both databases, for members, non-members and
//! viewers; a query that cannot be read is a 400 with a JSON error, and exit code 2 from the CLI.

use serde_json::{Value, json};

use crate::api::{Server, cli, databases};

fn search(server: &Server, token: &str, q: &str) -> (u16, Value) {
    let q: String = q
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect();
    server.get(&format!("/api/v1/search?q={q}"), token)
}

fn ids(page: &Value) -> Vec<String> {
    page["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| hit["incident"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn search_finds_what_was_written_for_those_who_may_see_it() {
    for database in databases() {
        let server = Server::start(&database);
        let alice = server.user("alice", "responder");
        let carol = server.user("carol", "responder");
        let vera = server.user("vera", "viewer");
        let (status, _) = server.post(
            "/api/v1/incidents",
            &alice,
            json!({"title": "Checkout latency", "severity": "SEV2", "services": ["checkout"]}),
        );
        assert_eq!(status, 201);
        let (status, _) = server.post(
            "/api/v1/incidents/INC-1/notes",
            &alice,
            json!({"text": "Connection pool exhausted on db-primary; timeouts everywhere"}),
        );
        assert_eq!(status, 200, "{database}");
        let (status, _) = server.post(
            "/api/v1/incidents",
            &alice,
            json!({"title": "Token leak", "severity": "SEV1", "visibility": "restricted",
                   "summary": "A pool of API tokens was exposed"}),
        );
        assert_eq!(status, 201);

        let (status, page) = search(&server, &carol, "timeout");
        assert_eq!(status, 200, "{page}");
        assert_eq!(ids(&page), ["INC-1"]);
        let hit = &page["hits"][0];
        assert_eq!(hit["found_in"], "note");
        assert!(
            hit["snippet_html"]
                .as_str()
                .unwrap()
                .contains("<mark>timeouts</mark>"),
            "{hit}"
        );
        assert!(!hit["snippet"].as_str().unwrap().contains('\u{2}'));

        // The restricted incident shapes nothing carol sees: not the hits, not the total.
        let (_, page) = search(&server, &carol, "pool");
        assert_eq!(
            (ids(&page), page["total"].as_u64()),
            (vec!["INC-1".to_owned()], Some(1))
        );
        let (_, page) = search(&server, &vera, "INC-2");
        assert_eq!(page["total"], 0);
        let (_, page) = search(&server, &alice, "pool");
        assert_eq!(page["total"], 2, "alice is its commander");
        let (_, page) = search(&server, &server.admin, "exposed");
        assert_eq!(ids(&page), ["INC-2"]);
        let (_, page) = search(&server, &vera, "");
        assert_eq!(
            ids(&page),
            ["INC-1"],
            "an empty query lists what vera may see"
        );

        // A query that cannot be read: 400, a JSON error that says why.
        let (status, error) = search(&server, &carol, "sev:9");
        assert_eq!(status, 400);
        assert_eq!(error["error"]["code"], "invalid_query");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("not a severity")
        );
        let (status, error) = server.get("/api/v1/search?q=x&limit=nope", &carol);
        assert_eq!(
            (status, error["error"]["code"].as_str()),
            (400, Some("invalid_query"))
        );

        // The CLI: a compact table, the matched words in brackets; --json the API's page.
        let (code, stdout, stderr) = cli(&server, &carol, &["search", "db-primary", "sev>=2"]);
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.starts_with("INC-1"), "{stdout}");
        assert!(stdout.contains("note: "), "{stdout}");
        assert!(
            stdout.contains("[db]-[primary]") || stdout.contains("[db-primary]"),
            "{stdout}"
        );
        assert!(stderr.contains("1 incident"), "{stderr}");
        let (code, stdout, _) = cli(&server, &carol, &["--json", "search", "exposed"]);
        assert_eq!(code, 0);
        let page: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(page["total"], 0);
        let (code, _, stderr) = cli(&server, &carol, &["search", "\"unclosed"]);
        assert_eq!(
            code, 2,
            "a query that cannot be read is a usage error: {stderr}"
        );
        assert!(stderr.contains("closing quote"), "{stderr}");
    }
}
