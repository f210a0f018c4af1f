//! Post-mortems and review meetings through the real `hereby` CLI against a real server:
//! drafting, editing (from a file and in $EDITOR), the linter, the review workflow, exports
//! checked against the hash chain, and review meetings until the incident may close.

use std::process::Command;

use serde_json::{Value, json};

use crate::api::{Server, cli, databases};

/// Runs the CLI with extra environment variables (e.g. EDITOR), VISUAL unset.
fn cli_env(
    server: &Server,
    token: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_hereby"))
        .args([
            "--server",
            &format!("http://{}", server.address),
            "--token",
            token,
        ])
        .args(args)
        .env_remove("HEREBY_TOKEN")
        .env_remove("HEREBY_SERVER")
        .env_remove("VISUAL")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs the CLI, requires success, and returns its standard output.
fn ok(server: &Server, token: &str, args: &[&str]) -> String {
    let (code, stdout, stderr) = cli(server, token, args);
    assert_eq!(code, 0, "hereby {args:?} failed: {stderr}{stdout}");
    stdout
}

/// Runs the CLI, requires exit code `expected`, and returns its standard error.
fn fails(server: &Server, token: &str, args: &[&str], expected: i32) -> String {
    let (code, stdout, stderr) = cli(server, token, args);
    assert_eq!(code, expected, "hereby {args:?}: {stdout}{stderr}");
    stderr
}

/// Users alice (Incident Commander) and bob (Operations) and INC-1, run and resolved:
/// a note, a role, an operation by the operations person.
fn resolved_incident(server: &Server) -> (String, String) {
    let alice = server.user("alice", "responder");
    let bob = server.user("bob", "responder");
    assert_eq!(
        ok(
            server,
            &alice,
            &[
                "declare",
                "API gateway certificate expired",
                "--severity",
                "SEV2",
                "--service",
                "api",
            ],
        ),
        "INC-1\n"
    );
    ok(
        server,
        &alice,
        &["note", "INC-1", "TLS handshakes fail on api.example.com"],
    );
    ok(
        server,
        &alice,
        &["role", "assign", "INC-1", "operations", "bob"],
    );
    ok(
        server,
        &bob,
        &[
            "act",
            "INC-1",
            "--target",
            "api-gateway",
            "--action",
            "installed a renewed certificate",
            "--command",
            "certbot renew --force-renewal",
        ],
    );
    ok(server, &alice, &["resolve", "INC-1"]);
    (alice, bob)
}

/// Whether `word` occurs in `text` as a whole word (case-insensitive).
fn has_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric() && c != '_' && c != '-')
        .any(|w| w.eq_ignore_ascii_case(word))
}

/// The body without its People section, the one place real names belong.
fn outside_people(body: &str) -> String {
    let start = body.find("\n## People").expect("a People section");
    let end = body[start + 1..]
        .find("\n## ")
        .map_or(body.len(), |at| start + 1 + at);
    format!("{}{}", &body[..start], &body[end..])
}

#[test]
fn a_postmortem_goes_from_draft_through_lint_and_review_to_published() {
    for database in databases() {
        let server = Server::start(&database);
        let (alice, bob) = resolved_incident(&server);
        let dir = tempfile::tempdir().unwrap();

        assert_eq!(
            ok(&server, &bob, &["postmortem", "draft", "INC-1"]),
            "drafted INC-1's post-mortem (revision 1) from template full\n"
        );
        let stderr = fails(&server, &bob, &["postmortem", "draft", "INC-1"], 1);
        assert!(stderr.contains("already exists"), "{stderr}");

        let shown = ok(&server, &bob, &["postmortem", "show", "INC-1"]);
        assert!(
            shown
                .starts_with("INC-1 post-mortem · draft · revision 1 (template full)\nowner alice"),
            "{shown}"
        );
        assert!(shown.contains("approvals none"), "{shown}");
        assert!(shown.contains("\n## Timeline\n"), "{shown}");
        assert!(shown.contains("Incident Commander"), "{shown}");
        let body = ok(
            &server,
            &bob,
            &["postmortem", "show", "INC-1", "--body-only"],
        );
        assert!(
            body.starts_with("# INC-1: API gateway certificate expired"),
            "{body}"
        );
        let people = &body[body.find("## People").unwrap()..];
        assert!(
            has_word(people, "alice") && has_word(people, "bob"),
            "{body}"
        );
        let rest = outside_people(&body);
        assert!(
            !has_word(&rest, "alice") && !has_word(&rest, "bob"),
            "real names outside the People section: {rest}"
        );
        assert!(rest.contains("Operations A"), "{rest}");

        // An edit that blames a person by name.
        let blaming = body.replace(
            "### Contributing factors\n",
            "### Contributing factors\nbob forgot to renew the certificate.\n",
        );
        assert_ne!(blaming, body);
        let file = dir.path().join("edited.md");
        std::fs::write(&file, &blaming).unwrap();
        assert_eq!(
            ok(
                &server,
                &bob,
                &[
                    "postmortem",
                    "edit",
                    "INC-1",
                    "--file",
                    file.to_str().unwrap(),
                    "--comment",
                    "contributing factors"
                ]
            ),
            "saved INC-1's post-mortem as revision 2\n"
        );

        let (code, findings, stderr) = cli(&server, &bob, &["postmortem", "lint", "INC-1"]);
        assert_eq!(code, 1, "findings make lint fail: {findings}{stderr}");
        let is_finding = |line: &str, kind: &str| {
            let Some((place, rest)) = line.split_once("  ") else {
                return false;
            };
            let mut numbers = place.split(':');
            numbers.next().is_some_and(|n| n.parse::<u32>().is_ok())
                && numbers.next().is_some_and(|n| n.parse::<u32>().is_ok())
                && rest.starts_with(&format!("{kind}  \""))
                && rest.contains(" — ")
        };
        assert!(
            findings
                .lines()
                .any(|line| is_finding(line, "blame") && line.contains("forgot")),
            "{findings}"
        );
        assert!(
            findings
                .lines()
                .any(|line| is_finding(line, "name") && line.contains("\"bob\"")),
            "{findings}"
        );
        assert!(stderr.contains("in revision 2"), "{stderr}");
        assert!(stderr.contains("--fix"), "{stderr}");

        let (code, after, stderr) = cli(&server, &bob, &["postmortem", "lint", "INC-1", "--fix"]);
        assert_eq!(
            code, 1,
            "the blame language is still there: {after}{stderr}"
        );
        assert!(
            after.starts_with("replaced 1 real name by role variables; saved as revision 3\n"),
            "{after}"
        );
        assert!(
            !after.lines().any(|line| is_finding(line, "name")),
            "{after}"
        );
        assert!(
            after.lines().any(|line| is_finding(line, "blame")),
            "{after}"
        );
        let fixed = ok(
            &server,
            &bob,
            &["postmortem", "show", "INC-1", "--body-only"],
        );
        assert!(
            fixed.contains("Operations A forgot to renew the certificate."),
            "{fixed}"
        );
        let (_, report, _) = cli(&server, &bob, &["postmortem", "lint", "INC-1", "--json"]);
        let report: Value = serde_json::from_str(&report).unwrap();
        assert_eq!(report["revision"], 3);
        assert!(report["substituted"].is_null(), "{report}");

        let history = ok(&server, &bob, &["postmortem", "history", "INC-1"]);
        assert!(history.contains("contributing factors"), "{history}");
        assert!(history.contains("lint --fix"), "{history}");
        let diff = ok(
            &server,
            &bob,
            &["postmortem", "diff", "INC-1", "--from", "2", "--to", "3"],
        );
        assert!(
            diff.contains("-bob forgot to renew") && diff.contains("+Operations A forgot"),
            "{diff}"
        );

        let stderr = fails(&server, &bob, &["postmortem", "submit", "INC-1"], 1);
        assert!(stderr.contains("only the review owner (alice)"), "{stderr}");
        assert_eq!(
            ok(&server, &alice, &["postmortem", "submit", "INC-1"]),
            "INC-1's post-mortem submitted for review (revision 3)\n"
        );
        let stderr = fails(&server, &alice, &["postmortem", "approve", "INC-1"], 1);
        assert!(
            stderr.contains("cannot approve their own review"),
            "{stderr}"
        );
        let (status, answer) = server.post(
            "/api/v1/incidents/INC-1/postmortem/approve",
            &alice,
            Value::Null,
        );
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (422, Some("owner_cannot_approve"))
        );
        let stderr = fails(&server, &alice, &["postmortem", "reviewed", "INC-1"], 1);
        assert!(stderr.contains("approve it first"), "{stderr}");
        ok(&server, &bob, &["postmortem", "approve", "INC-1"]);
        ok(
            &server,
            &bob,
            &["postmortem", "comment", "INC-1", "Clear; ship it."],
        );
        // The text still has the template's prompts and a blaming line: the review does not
        // end over them unless the owner says why.
        let stderr = fails(&server, &alice, &["postmortem", "reviewed", "INC-1"], 1);
        assert!(
            stderr
                .contains("the post-mortem cannot be marked reviewed while the linter still finds"),
            "{stderr}"
        );
        assert!(stderr.contains("the template's prompt"), "{stderr}");
        let said = ok(
            &server,
            &alice,
            &[
                "postmortem",
                "reviewed",
                "INC-1",
                "--override-reason",
                "a drill: the empty sections are on purpose",
            ],
        );
        assert!(
            said.contains("marked reviewed (revision 3) over "),
            "{said}"
        );
        ok(
            &server,
            &alice,
            &[
                "postmortem",
                "publish",
                "INC-1",
                "--override-reason",
                "a drill: the empty sections are on purpose",
            ],
        );
        let (_, timeline) = server.get("/api/v1/incidents/INC-1/timeline", &alice);
        let reviewed = timeline["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["type"] == "postmortem_reviewed")
            .unwrap()
            .clone();
        assert_eq!(
            reviewed["body"]["overridden"]["reason"],
            "a drill: the empty sections are on purpose"
        );
        let shown = ok(&server, &bob, &["postmortem", "show", "INC-1"]);
        assert!(
            shown.starts_with("INC-1 post-mortem · published · revision 3"),
            "{shown}"
        );
        assert!(shown.contains("approvals bob"), "{shown}");
        let (_, json, _) = cli(&server, &bob, &["postmortem", "show", "INC-1", "--json"]);
        let json: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(json["status"], "published");
        assert_eq!(json["comments"], 1);

        let stderr = fails(
            &server,
            &alice,
            &[
                "postmortem",
                "edit",
                "INC-1",
                "--file",
                file.to_str().unwrap(),
            ],
            1,
        );
        assert!(
            stderr.contains("published and no longer changes"),
            "{stderr}"
        );
        let (code, _, stderr) = cli_env(
            &server,
            &alice,
            &["postmortem", "edit", "INC-1"],
            &[("EDITOR", "true")],
        );
        assert_eq!(code, 1, "no editor opens on a published post-mortem");
        assert!(stderr.contains("is published"), "{stderr}");
        let stderr = fails(&server, &alice, &["postmortem", "show", "INC-9"], 1);
        assert!(stderr.contains("INC-9"), "{stderr}");
        let stderr = fails(
            &server,
            &alice,
            &["postmortem", "show", "INC-1", "--revision", "9"],
            1,
        );
        assert!(stderr.contains("revision 9"), "{stderr}");
    }
}

#[test]
fn editing_in_the_editor_saves_a_revision_and_never_loses_text() {
    for database in databases() {
        let server = Server::start(&database);
        let (_alice, bob) = resolved_incident(&server);
        ok(
            &server,
            &bob,
            &["postmortem", "draft", "INC-1", "--template", "short"],
        );
        let before = ok(
            &server,
            &bob,
            &["postmortem", "show", "INC-1", "--body-only"],
        );

        let (code, stdout, stderr) = cli_env(
            &server,
            &bob,
            &["postmortem", "edit", "INC-1", "--comment", "a lesson"],
            &[("EDITOR", "sed -i '$ a Added by the editor.'")],
        );
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(stdout, "saved INC-1's post-mortem as revision 2\n");
        let after = ok(
            &server,
            &bob,
            &["postmortem", "show", "INC-1", "--body-only"],
        );
        assert!(after.ends_with("Added by the editor.\n"), "{after}");
        assert_eq!(
            after,
            format!("{before}Added by the editor.\n"),
            "only the added line changed"
        );

        let (code, stdout, stderr) = cli_env(
            &server,
            &bob,
            &["postmortem", "edit", "INC-1"],
            &[("EDITOR", "true")],
        );
        assert_eq!(
            (code, stdout.as_str()),
            (0, "no change; nothing saved\n"),
            "{stderr}"
        );
        // VISUAL wins over EDITOR.
        let (code, stdout, _) = cli_env(
            &server,
            &bob,
            &["postmortem", "edit", "INC-1"],
            &[("VISUAL", "true"), ("EDITOR", "false")],
        );
        assert_eq!((code, stdout.as_str()), (0, "no change; nothing saved\n"));

        let (code, _, stderr) = cli_env(
            &server,
            &bob,
            &["postmortem", "edit", "INC-1"],
            &[("EDITOR", "false")],
        );
        assert_eq!(code, 1);
        assert!(stderr.contains("exited with"), "{stderr}");
        assert!(stderr.contains("nothing was saved"), "{stderr}");

        // Someone saves a revision while the editor is open, changing other lines: the two
        // edits are merged and saved on top of theirs.
        let dir = tempfile::tempdir().unwrap();
        let before = ok(
            &server,
            &bob,
            &["postmortem", "show", "INC-1", "--body-only"],
        );
        let theirs = dir.path().join("theirs.md");
        std::fs::write(&theirs, format!("Their first line.\n{before}")).unwrap();
        let racing_editor = |file: &std::path::Path| {
            format!(
                "'{}' --server http://{} --token {} postmortem edit INC-1 --file '{}' >/dev/null && echo 'My paragraph.' >>",
                env!("CARGO_BIN_EXE_hereby"),
                server.address,
                bob,
                file.display()
            )
        };
        let (code, stdout, stderr) = cli_env(
            &server,
            &bob,
            &["postmortem", "edit", "INC-1"],
            &[("EDITOR", &racing_editor(&theirs))],
        );
        assert_eq!(code, 0, "{stderr}");
        assert!(
            stdout.contains("bob saved revision 3 while you edited; your changes touched other lines and were merged with theirs: saved INC-1's post-mortem as revision 4"),
            "{stdout}"
        );
        let merged = ok(
            &server,
            &bob,
            &["postmortem", "show", "INC-1", "--body-only"],
        );
        assert!(merged.starts_with("Their first line.\n"), "{merged}");
        assert!(merged.ends_with("My paragraph.\n"), "{merged}");

        // Both change the same lines: nothing is saved, nothing of theirs is overwritten, and
        // both versions wait in the kept file between conflict markers.
        let theirs = dir.path().join("theirs-2.md");
        std::fs::write(&theirs, "# INC-1\n\nTheir version.\n").unwrap();
        let (code, _, stderr) = cli_env(
            &server,
            &bob,
            &["postmortem", "edit", "INC-1"],
            &[("EDITOR", &racing_editor(&theirs))],
        );
        assert_eq!(code, 1, "{stderr}");
        assert!(
            stderr.contains("saved revision 5 while you edited, and some of your changes touch the same lines; nothing was saved"),
            "{stderr}"
        );
        let kept = stderr
            .split("Both versions are in ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or_else(|| panic!("no kept file named: {stderr}"));
        let conflicted = std::fs::read_to_string(kept).unwrap();
        assert!(conflicted.contains("<<<<<<<"), "{conflicted}");
        assert!(conflicted.contains("My paragraph."), "{conflicted}");
        assert!(conflicted.contains("Their version."), "{conflicted}");
        assert_eq!(
            ok(
                &server,
                &bob,
                &["postmortem", "show", "INC-1", "--body-only"]
            ),
            "# INC-1\n\nTheir version.\n"
        );
        // The command it prints saves the resolved text on top of theirs, and only theirs.
        let resolved = dir.path().join("resolved.md");
        std::fs::write(&resolved, "# INC-1\n\nTheir version.\n\nMy paragraph.\n").unwrap();
        let (code, _, stderr) = cli(
            &server,
            &bob,
            &[
                "postmortem",
                "edit",
                "INC-1",
                "--file",
                resolved.to_str().unwrap(),
                "--base",
                "4",
            ],
        );
        assert_eq!(code, 1, "a stale --base is refused: {stderr}");
        ok(
            &server,
            &bob,
            &[
                "postmortem",
                "edit",
                "INC-1",
                "--file",
                resolved.to_str().unwrap(),
                "--base",
                "5",
            ],
        );
        std::fs::remove_file(kept).unwrap();

        // From standard input.
        let mut child = Command::new(env!("CARGO_BIN_EXE_hereby"))
            .args([
                "--server",
                &format!("http://{}", server.address),
                "--token",
                &bob,
                "postmortem",
                "edit",
                "INC-1",
                "--file",
                "-",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(
            &mut child.stdin.take().unwrap(),
            b"# INC-1\n\nFrom a pipe.\n",
        )
        .unwrap();
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "saved INC-1's post-mortem as revision 7\n"
        );
        let history = ok(&server, &bob, &["postmortem", "history", "INC-1"]);
        assert!(history.contains("a lesson"), "{history}");
        assert_eq!(
            ok(
                &server,
                &bob,
                &[
                    "postmortem",
                    "show",
                    "INC-1",
                    "--revision",
                    "2",
                    "--body-only"
                ]
            ),
            after
        );
    }
}

/// `Timeline INC-1 at event N, hash-chain head HEX …` → (N, HEX).
fn footer(markdown: &str) -> (String, String) {
    let line = markdown.trim_end().lines().last().unwrap();
    let rest = line
        .strip_prefix("Timeline INC-1 at event ")
        .unwrap_or_else(|| panic!("no footer: {line}"));
    let (event, rest) = rest.split_once(", hash-chain head ").unwrap();
    let head: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
    assert_eq!(head.len(), 64, "{line}");
    (event.to_owned(), head)
}

#[test]
fn exports_carry_a_footer_that_verify_checks_against_the_hash_chain() {
    for database in databases() {
        let server = Server::start(&database);
        let (alice, _bob) = resolved_incident(&server);
        ok(&server, &alice, &["postmortem", "draft", "INC-1"]);
        let dir = tempfile::tempdir().unwrap();

        let markdown = ok(&server, &alice, &["postmortem", "export", "INC-1"]);
        assert!(markdown.starts_with("# INC-1: API gateway certificate expired"));
        assert!(
            markdown.contains("\n---\n\nTimeline INC-1 at event "),
            "{markdown}"
        );
        let (event, head) = footer(&markdown);
        assert_eq!(
            ok(
                &server,
                &alice,
                &["verify", "INC-1", "--head", &head, "--at", &event]
            ),
            format!("INC-1: the export matches event {event} of an intact hash chain\n")
        );
        assert_eq!(
            ok(
                &server,
                &alice,
                &["verify", "INC-1", "--head", &head.to_uppercase()]
            ),
            format!("INC-1: the export matches event {event} of an intact hash chain\n"),
            "without --at, the latest event; hex in either case"
        );
        let mut wrong = head.clone().into_bytes();
        wrong[10] = if wrong[10] == b'0' { b'1' } else { b'0' };
        let wrong = String::from_utf8(wrong).unwrap();
        let stderr = fails(
            &server,
            &alice,
            &["verify", "INC-1", "--head", &wrong, "--at", &event],
            1,
        );
        assert!(stderr.contains("does not match"), "{stderr}");
        let stderr = fails(&server, &alice, &["verify", "INC-1", "--head", "abc"], 2);
        assert!(stderr.contains("64 hex digits"), "{stderr}");
        fails(&server, &alice, &["verify", "--head", &head], 2);

        let json = ok(
            &server,
            &alice,
            &["postmortem", "export", "INC-1", "--format", "json"],
        );
        let json: Value = serde_json::from_str(&json).unwrap();
        let headings: Vec<&str> = json["sections"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|section| section["heading"].as_str())
            .collect();
        assert!(headings.contains(&"Timeline"), "{headings:?}");
        assert!(headings.contains(&"People"), "{headings:?}");
        assert_eq!(json["chain"]["head"].as_str(), Some(head.as_str()));

        let html = ok(
            &server,
            &alice,
            &["postmortem", "export", "INC-1", "--format", "html"],
        );
        assert!(html.contains("<h2"), "{html}");
        assert!(html.contains(&head), "the footer is in the page");

        // The incident moves on: the footer still matches its event, not the latest one.
        ok(&server, &alice, &["note", "INC-1", "customers confirmed"]);
        let stderr = fails(&server, &alice, &["verify", "INC-1", "--head", &head], 1);
        assert!(stderr.contains("pass --at"), "{stderr}");
        ok(
            &server,
            &alice,
            &["verify", "INC-1", "--head", &head, "--at", &event],
        );

        let pdf = dir.path().join("inc-1.pdf");
        let (code, stdout, stderr) = cli(
            &server,
            &alice,
            &[
                "postmortem",
                "export",
                "INC-1",
                "--format",
                "pdf",
                "-o",
                pdf.to_str().unwrap(),
            ],
        );
        assert_eq!((code, stdout.as_str()), (0, ""), "{stderr}");
        let bytes = std::fs::read(&pdf).unwrap();
        assert!(
            bytes.starts_with(b"%PDF"),
            "{:?}",
            &bytes[..bytes.len().min(16)]
        );
        assert!(bytes.len() > 1_000);
        let stderr = fails(
            &server,
            &alice,
            &[
                "postmortem",
                "export",
                "INC-1",
                "--format",
                "pdf",
                "-o",
                pdf.to_str().unwrap(),
            ],
            2,
        );
        assert!(stderr.contains("cannot create"), "{stderr}");
        fails(
            &server,
            &alice,
            &["postmortem", "export", "INC-1", "--format", "docx"],
            2,
        );
        let stderr = fails(&server, &alice, &["postmortem", "export", "INC-7"], 1);
        assert!(stderr.contains("INC-7"), "{stderr}");
    }
}

#[test]
fn review_meetings_follow_the_follow_ups_until_the_incident_may_close() {
    for database in databases() {
        let server = Server::start(&database);
        let alice = server.user("alice", "responder");
        let bob = server.user("bob", "responder");
        let dir = tempfile::tempdir().unwrap();
        ok(
            &server,
            &alice,
            &["declare", "Queue backlog", "--severity", "SEV3"],
        );
        ok(
            &server,
            &alice,
            &["role", "assign", "INC-1", "operations", "bob"],
        );
        for (text, owner, due) in [
            ("Alert on queue depth", "alice", "2027-01-15"),
            ("Retire the old proxy", "role:operations", "2027-02-01"),
            ("Load-test the consumers", "bob", "2027-01-10"),
        ] {
            ok(
                &server,
                &alice,
                &[
                    "action",
                    "add",
                    "INC-1",
                    text,
                    "--owner",
                    owner,
                    "--due",
                    due,
                    "--follow-up",
                    "--tracker",
                    "https://tracker.example/T-1",
                ],
            );
        }
        ok(&server, &alice, &["resolve", "INC-1"]);

        let shown = ok(&server, &alice, &["review", "show", "INC-1"]);
        assert!(
            shown.starts_with("INC-1  Queue backlog  (resolved)\n"),
            "{shown}"
        );
        assert!(shown.contains("post-mortem not drafted yet"), "{shown}");
        assert!(shown.contains("next review meeting 1 on "), "{shown}");
        // Thirty days on, moved to the meeting time of a working day: a weekend adds up to
        // two days, the time of day may take most of one away.
        let days: u32 = shown
            .split("(in ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{shown}"));
        assert!((29..=32).contains(&days), "{shown}");
        assert!(shown.contains(" 10:00 UTC (in "), "{shown}");
        let header = shown
            .lines()
            .find(|line| line.contains("FOLLOW-UP"))
            .unwrap_or_else(|| panic!("{shown}"));
        for column in ["#", "OWNER", "STATE", "DUE", "DAYS", "OVERDUE", "TRACKER"] {
            assert!(header.contains(column), "{header}");
        }
        let retire = shown
            .lines()
            .find(|line| line.contains("Retire the old proxy"))
            .unwrap();
        assert!(
            retire.contains("role:operations")
                && retire.contains("open")
                && retire.contains("2027-02-01")
                && retire.contains("https://tracker.example/T-1"),
            "{retire}"
        );
        assert!(shown.contains("closable: no"), "{shown}");
        let (_, json, _) = cli(&server, &alice, &["review", "show", "INC-1", "--json"]);
        let json: Value = serde_json::from_str(&json).unwrap();
        let next: jiff::Timestamp = json["next"]["at"].as_str().unwrap().parse().unwrap();
        let days = next.duration_since(jiff::Timestamp::now()).as_secs() as f64 / 86_400.0;
        assert!((29.0..=32.5).contains(&days), "{days} days");
        let local = next.to_zoned(jiff::tz::TimeZone::UTC);
        assert_eq!(
            (local.hour(), local.minute(), local.second()),
            (10, 0, 0),
            "{next}"
        );
        assert!(
            !matches!(
                local.weekday(),
                jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
            ),
            "{next}"
        );
        assert_eq!(json["agenda"].as_array().unwrap().len(), 3);

        // A meeting recorded afterwards says when it took place, and not in the future.
        let stderr = fails(
            &server,
            &alice,
            &[
                "review",
                "record",
                "INC-1",
                "--attendee",
                "alice",
                "--at",
                "2099-01-05T15:00:00Z",
            ],
            1,
        );
        assert!(
            stderr.contains("is in the future; record a meeting once it took place"),
            "{stderr}"
        );
        let stderr = fails(
            &server,
            &alice,
            &[
                "review",
                "record",
                "INC-1",
                "--attendee",
                "alice",
                "--wont-fix",
                "two",
            ],
            2,
        );
        assert!(stderr.contains("is not N=VALUE"), "{stderr}");
        let stderr = fails(
            &server,
            &alice,
            &["review", "record", "INC-1", "--done", "1"],
            2,
        );
        assert!(stderr.contains("--attendee"), "{stderr}");

        let recorded = ok(
            &server,
            &alice,
            &[
                "review",
                "record",
                "INC-1",
                "--attendee",
                "alice",
                "--attendee",
                "bob",
                "--notes",
                "Alerting is live.",
                "--done",
                "1",
                "--wont-fix",
                "2=the proxy goes away with the migration",
                "--open",
                "3=2027-01-20",
            ],
        );
        assert!(
            recorded.starts_with("recorded review meeting 1 of INC-1\n"),
            "{recorded}"
        );
        assert!(recorded.contains("follow-up 1 done"), "{recorded}");
        assert!(
            recorded.contains("follow-up 3 stays open, now due 2027-01-20"),
            "{recorded}"
        );
        assert!(
            recorded.contains("next review meeting 2 in ") && recorded.contains(" 10:00 UTC)"),
            "{recorded}"
        );

        // Ten days from now, on the hour.
        let planned = jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::from_hours(240))
            .unwrap();
        let at = planned.strftime("%Y-%m-%dT%H:00:00Z").to_string();
        let shown_at = planned.strftime("%Y-%m-%d %H:00").to_string();
        assert_eq!(
            ok(
                &server,
                &alice,
                &["review", "schedule", "INC-1", "--at", &at]
            ),
            format!(
                "review meeting 2 of INC-1 set for {shown_at} UTC (in 10 days); `hereby review ics INC-1` gives the invitation\n"
            )
        );
        let ics = dir.path().join("f.ics");
        ok(
            &server,
            &alice,
            &["review", "ics", "INC-1", "-o", ics.to_str().unwrap()],
        );
        let calendar = std::fs::read_to_string(&ics).unwrap();
        assert!(calendar.starts_with("BEGIN:VCALENDAR"), "{calendar}");
        let dtstart = planned.strftime("DTSTART:%Y%m%dT%H0000Z").to_string();
        assert!(calendar.contains(&dtstart), "{dtstart} in {calendar}");

        let listed = ok(&server, &bob, &["review", "list"]);
        let row = listed
            .lines()
            .find(|line| line.starts_with("INC-1 "))
            .unwrap_or_else(|| panic!("{listed}"));
        assert!(
            row.contains(&shown_at) && row.contains("Queue backlog"),
            "{row}"
        );

        let shown = ok(&server, &alice, &["review", "show", "INC-1"]);
        assert!(
            shown.contains(&format!("next review meeting 2 on {shown_at} UTC")),
            "{shown}"
        );
        assert!(shown.contains("meeting 1 on "), "{shown}");
        assert!(shown.contains("alice, bob"), "{shown}");
        assert!(shown.contains("notes: Alerting is live."), "{shown}");
        assert!(
            shown.contains("#2 won't fix: the proxy goes away with the migration"),
            "{shown}"
        );
        assert!(shown.contains("#3 stays open, due 2027-01-20"), "{shown}");
        assert!(shown.contains("follow-ups 3 are open"), "{shown}");

        let recorded = ok(
            &server,
            &bob,
            &[
                "review",
                "record",
                "INC-1",
                "--attendee",
                "bob",
                "--done",
                "3",
            ],
        );
        assert!(recorded.contains("no further meeting"), "{recorded}");
        let shown = ok(&server, &alice, &["review", "show", "INC-1"]);
        assert!(shown.contains("no review meeting planned"), "{shown}");
        let stderr = fails(&server, &alice, &["review", "ics", "INC-1"], 1);
        assert!(stderr.contains("review meeting"), "{stderr}");
        let listed = ok(&server, &bob, &["review", "list"]);
        assert_eq!(
            listed,
            "no review meetings planned and no follow-ups open\n"
        );

        // Closing waits for the post-mortem's review.
        let stderr = fails(&server, &alice, &["status", "INC-1", "closed"], 1);
        assert!(stderr.contains("has not been drafted"), "{stderr}");
        ok(&server, &bob, &["postmortem", "draft", "INC-1"]);
        ok(&server, &alice, &["postmortem", "submit", "INC-1"]);
        let stderr = fails(&server, &alice, &["status", "INC-1", "closed"], 1);
        assert!(stderr.contains("is still in review"), "{stderr}");
        ok(&server, &bob, &["postmortem", "approve", "INC-1"]);
        ok(
            &server,
            &alice,
            &[
                "postmortem",
                "reviewed",
                "INC-1",
                "--override-reason",
                "kept short on purpose",
            ],
        );
        let shown = ok(&server, &alice, &["review", "show", "INC-1"]);
        assert!(
            shown.contains("closable: yes — `hereby status INC-1 closed`"),
            "{shown}"
        );
        ok(&server, &alice, &["status", "INC-1", "closed"]);
        let (_, document, _) = cli(&server, &alice, &["show", "INC-1", "--json"]);
        let document: Value = serde_json::from_str(&document).unwrap();
        assert_eq!(document["status"], "closed");
    }
}

#[test]
fn templates_rules_and_marks_through_the_cli() {
    let server = Server::start("sqlite");
    let (alice, _bob) = resolved_incident(&server);
    let dir = tempfile::tempdir().unwrap();

    let listed = ok(&server, &alice, &["postmortem", "template", "list"]);
    assert!(listed.contains("\nfull "), "{listed}");
    assert!(listed.contains("\nshort "), "{listed}");
    let full = ok(&server, &alice, &["postmortem", "template", "show", "full"]);
    assert!(full.contains("## Timeline"), "{full}");
    fails(
        &server,
        &alice,
        &["postmortem", "template", "show", "nope"],
        1,
    );

    let source = dir.path().join("tiny.md");
    std::fs::write(
        &source,
        "# {{ incident }}\n\n## Timeline\n{% for entry in timeline %}- {% if entry.starred %}★ {% endif %}{{ entry.text }}\n{% endfor %}",
    )
    .unwrap();
    let args = [
        "postmortem",
        "template",
        "set",
        "tiny",
        "--body-file",
        source.to_str().unwrap(),
        "--description",
        "Only the timeline",
    ];
    let stderr = fails(&server, &alice, &args, 3);
    assert!(!stderr.is_empty(), "admins only");
    ok(&server, &server.admin, &args);
    std::fs::write(&source, "{{ nope }}").unwrap();
    let stderr = fails(&server, &server.admin, &args, 1);
    assert!(stderr.contains("unknown variable `nope`"), "{stderr}");

    assert_eq!(
        ok(
            &server,
            &alice,
            &["postmortem", "draft", "INC-1", "--template", "tiny"]
        ),
        "drafted INC-1's post-mortem (revision 1) from template tiny\n"
    );
    let marked = ok(
        &server,
        &alice,
        &["postmortem", "mark", "INC-1", "2", "starred"],
    );
    assert!(
        marked.starts_with("INC-1 entry #2 is now starred"),
        "{marked}"
    );
    fails(
        &server,
        &alice,
        &["postmortem", "mark", "INC-1", "2", "shiny"],
        2,
    );
    let stderr = fails(
        &server,
        &alice,
        &["postmortem", "mark", "INC-1", "99", "starred"],
        1,
    );
    assert!(stderr.contains("no timeline entry #99"), "{stderr}");
    assert_eq!(
        ok(
            &server,
            &alice,
            &["postmortem", "draft", "INC-1", "--timeline-only"]
        ),
        "wrote the Timeline section of INC-1's post-mortem again (revision 2)\n"
    );
    let body = ok(
        &server,
        &alice,
        &["postmortem", "show", "INC-1", "--body-only"],
    );
    assert!(body.contains("- ★ "), "{body}");

    ok(&server, &alice, &["postmortem", "owner", "INC-1", "bob"]);
    let shown = ok(&server, &alice, &["postmortem", "show", "INC-1"]);
    assert!(shown.contains("\nowner bob "), "{shown}");
    fails(
        &server,
        &alice,
        &["postmortem", "owner", "INC-1", "nobody"],
        1,
    );

    let rules = ok(&server, &alice, &["postmortem", "rules", "list"]);
    assert!(rules.contains("{person} forgot"), "{rules}");
    let add = [
        "postmortem",
        "rules",
        "add",
        "--pattern",
        "waved it through",
        "--suggestion",
        "Say what the review could see and what it could not.",
    ];
    fails(&server, &alice, &add, 3);
    ok(&server, &server.admin, &add);
    let blaming = dir.path().join("blame.md");
    std::fs::write(
        &blaming,
        "# INC-1\n\n## Timeline\nThe team waved it through.\n",
    )
    .unwrap();
    ok(
        &server,
        &alice,
        &[
            "postmortem",
            "edit",
            "INC-1",
            "--file",
            blaming.to_str().unwrap(),
        ],
    );
    let (code, findings, _) = cli(&server, &alice, &["postmortem", "lint", "INC-1"]);
    assert_eq!(code, 1);
    assert!(
        findings.contains("\"waved it through\"") && findings.contains("what the review could see"),
        "{findings}"
    );
    ok(
        &server,
        &server.admin,
        &[
            "postmortem",
            "rules",
            "remove",
            "--pattern",
            "waved it through",
        ],
    );
    let (code, clean, _) = cli(&server, &alice, &["postmortem", "lint", "INC-1"]);
    assert_eq!((code, clean.as_str()), (0, "revision 3: no findings\n"));
    ok(
        &server,
        &server.admin,
        &["postmortem", "template", "remove", "tiny"],
    );
    fails(
        &server,
        &server.admin,
        &["postmortem", "template", "remove", "tiny"],
        1,
    );
}

/// Takes `id`'s post-mortem from draft to published: `owner` runs the review, `reviewer`
/// approves; the linter's findings on the template's prompts are overridden.
fn publish(server: &Server, owner: &str, reviewer: &str, id: &str) {
    ok(server, owner, &["postmortem", "draft", id]);
    ok(server, owner, &["postmortem", "submit", id]);
    ok(server, reviewer, &["postmortem", "approve", id]);
    for step in ["reviewed", "publish"] {
        ok(
            server,
            owner,
            &["postmortem", step, id, "--override-reason", "a drill"],
        );
    }
}

#[test]
fn published_postmortems_are_filed_and_found_in_the_library() {
    for database in databases() {
        let server = Server::start(&database);
        let (alice, bob) = resolved_incident(&server);
        let carol = server.user("carol", "responder");
        // A second incident, restricted, its post-mortem published too: carol never sees it.
        ok(
            &server,
            &alice,
            &[
                "declare",
                "Connection pool exhausted on the billing database",
                "--severity",
                "SEV1",
                "--service",
                "billing",
                "--restricted",
            ],
        );
        ok(
            &server,
            &alice,
            &["role", "assign", "INC-2", "operations", "bob"],
        );
        ok(&server, &alice, &["resolve", "INC-2"]);
        // A third, resolved, whose post-mortem is only drafted: not in the library.
        ok(
            &server,
            &alice,
            &["declare", "Login slow", "--service", "api"],
        );
        ok(&server, &alice, &["resolve", "INC-3"]);
        ok(&server, &alice, &["postmortem", "draft", "INC-3"]);
        publish(&server, &alice, &bob, "INC-1");
        publish(&server, &alice, &bob, "INC-2");

        // Filing: tags and factors, read in lowercase, once each; refused when unchanged or
        // not words.
        assert_eq!(
            ok(
                &server,
                &bob,
                &[
                    "postmortem",
                    "tag",
                    "INC-1",
                    "--tag",
                    "TLS",
                    "--tag",
                    "certificates",
                    "--tag",
                    "tls",
                    "--factor",
                    "missing-alert"
                ]
            ),
            "filed INC-1's post-mortem in the library\n"
        );
        let stderr = fails(
            &server,
            &bob,
            &[
                "postmortem",
                "tag",
                "INC-1",
                "--tag",
                "tls",
                "--tag",
                "certificates",
                "--factor",
                "missing-alert",
            ],
            1,
        );
        assert!(
            stderr.contains("already filed under these tags"),
            "{stderr}"
        );
        let stderr = fails(
            &server,
            &bob,
            &["postmortem", "tag", "INC-1", "--tag", "not a word"],
            2,
        );
        assert!(stderr.contains("tag"), "{stderr}");
        ok(
            &server,
            &alice,
            &[
                "postmortem",
                "tag",
                "INC-2",
                "--tag",
                "database",
                "--factor",
                "missing-alert",
            ],
        );
        let stderr = fails(
            &server,
            &bob,
            &["postmortem", "tag", "INC-9", "--tag", "x"],
            1,
        );
        assert!(stderr.contains("INC-9"), "{stderr}");

        // The library: what each may see, with the tags and factors among them.
        let (status, mine) = server.get("/api/v1/postmortems", &alice);
        assert_eq!(status, 200, "{mine}");
        let ids = |library: &Value| -> Vec<String> {
            library["postmortems"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["incident"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(
            ids(&mine),
            ["INC-2", "INC-1"],
            "INC-3's is not published: {mine}"
        );
        assert_eq!(
            mine["factors"][0],
            json!({"name": "missing-alert", "count": 2})
        );
        assert_eq!(
            mine["postmortems"][1]["tags"],
            json!(["certificates", "tls"])
        );
        let (_, carols) = server.get("/api/v1/postmortems", &carol);
        assert_eq!(ids(&carols), ["INC-1"], "{carols}");
        assert_eq!(
            carols["factors"][0]["count"], 1,
            "no count reveals INC-2: {carols}"
        );
        assert!(!carols.to_string().contains("database"), "{carols}");
        let (_, by_tag) = server.get("/api/v1/postmortems?tag=database", &alice);
        assert_eq!(ids(&by_tag), ["INC-2"]);
        let (_, by_service) = server.get(
            "/api/v1/postmortems?service=api&factor=missing-alert",
            &alice,
        );
        assert_eq!(ids(&by_service), ["INC-1"]);
        let (_, by_words) = server.get("/api/v1/postmortems?q=certificate", &alice);
        assert_eq!(ids(&by_words), ["INC-1"], "{by_words}");
        let (_, by_words) = server.get("/api/v1/postmortems?q=pool", &carol);
        assert_eq!(ids(&by_words), Vec::<String>::new(), "{by_words}");
        let (status, error) = server.get("/api/v1/postmortems?tag=Not%20one", &alice);
        assert_eq!(
            (status, error["error"]["code"].as_str()),
            (400, Some("invalid_query")),
            "{error}"
        );

        let listed = ok(&server, &carol, &["postmortem", "library"]);
        assert!(
            listed.starts_with("INC-1    SEV2  API gateway certificate expired [api] published "),
            "{listed}"
        );
        assert!(
            listed.contains("#certificates #tls factor:missing-alert"),
            "{listed}"
        );
        assert!(
            listed.contains("contributing factors: missing-alert (1)"),
            "{listed}"
        );
        let listed = ok(
            &server,
            &carol,
            &["postmortem", "library", "--tag", "nothing-here"],
        );
        assert_eq!(
            listed.lines().next(),
            Some("No published post-mortem matches.")
        );
    }
}
