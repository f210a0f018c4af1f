//! The post-mortem linter as data: sentences that must be flagged and by which rule, sentences
//! that must pass, bodies whose names are reported and substituted, and patterns an admin may
//! not add. Regenerate the snapshots with `UPDATE_EXPECT=1 cargo test -p hereby-core`, then read
//! every one.

use std::collections::BTreeSet;

use expect_test::{Expect, expect};
use hereby_core::lint::{
    BlameRule, Finding, FindingKind, Person, check_rule, default_blame_rules, lint,
    substitute_names,
};
use proptest::prelude::*;

fn person(names: &[&str], role_variable: Option<&str>) -> Person {
    Person {
        names: names.iter().map(|name| (*name).to_owned()).collect(),
        role_variable: role_variable.map(str::to_owned),
    }
}

/// The people every case knows about.
fn people() -> Vec<Person> {
    vec![
        person(&["bob", "Bob Stone"], Some("Operations A")),
        person(&["alice", "Alice Ng"], Some("Incident Commander")),
        person(&["josé", "José Álvarez"], Some("Communications")),
        person(&["j.doe", "Jane Doe"], Some("Operations B")),
        person(&["mary-ann"], Some("SME A")),
        person(&["james"], Some("Responder A")),
        // Took part without a role: reported, but there is nothing to replace the name with.
        person(&["carol"], None),
        // A shared account named after a role: the word is a role word, never a name.
        person(&["operations"], None),
    ]
}

fn rule(pattern: &str) -> BlameRule {
    default_blame_rules()
        .into_iter()
        .find(|rule| rule.pattern == pattern)
        .unwrap_or_else(|| panic!("no default rule has the pattern {pattern:?}"))
}

fn blame_texts(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .filter(|finding| finding.kind == FindingKind::Blame)
        .map(|finding| finding.text.clone())
        .collect()
}

/// Sentences that must be flagged, with each surviving blame finding as (pattern of the rule
/// that should report it, text as written). Every default rule appears at least once.
const BAD: &[(&str, &[(&str, &str)])] = &[
    (
        "The outage was caused by human error.",
        &[("human error", "human error")],
    ),
    (
        "A human-error slipped into the runbook.",
        &[("human error", "human-error")],
    ),
    (
        "HUMAN ERROR, said the first report.",
        &[("human error", "HUMAN ERROR")],
    ),
    (
        "The database fell over.\nHuman\nerror, said the first report.",
        &[("human error", "Human\nerror")],
    ),
    (
        "Root cause: operator error.",
        &[("operator error", "operator error")],
    ),
    (
        "The data loss was caused by user error.",
        &[("caused by user error", "caused by user error")],
    ),
    (
        "The incident was due to user error.",
        &[("due to user error", "due to user error")],
    ),
    (
        "In the end it was user error.",
        &[("was user error", "was user error")],
    ),
    (
        "The reviewer forgot to check the diff.",
        &[("forgot to", "forgot to")],
    ),
    (
        "The team forgot about the expiring token.",
        &[("forgot about", "forgot about")],
    ),
    // "{person} forgot" starts first, so it wins over the overlapping "forgot to".
    (
        "Bob forgot to renew the certificate.",
        &[("{person} forgot", "Bob forgot")],
    ),
    (
        "Responder A forgot the runbook link.",
        &[("{person} forgot", "Responder A forgot")],
    ),
    (
        "Someone forgot the maintenance window.",
        &[("someone forgot", "Someone forgot")],
    ),
    (
        "Anyone should have known the flag was live.",
        &[("should have known", "should have known")],
    ),
    (
        "The reviewer should have noticed the typo.",
        &[("should have noticed", "should have noticed")],
    ),
    (
        "The on-call engineer should have checked the graphs.",
        &[("should have checked", "should have checked")],
    ),
    (
        "The second reviewer should have caught the missing index.",
        &[("should have caught", "should have caught")],
    ),
    (
        "Operations A should have known the flag was live.",
        &[("{person} should have", "Operations A should have")],
    ),
    (
        "The engineer should have been more careful.",
        &[(
            "should have been more careful",
            "should have been more careful",
        )],
    ),
    ("Careless deploy on Friday.", &[("careless", "Careless")]),
    (
        "Carelessness let the bad config through.",
        &[("carelessness", "Carelessness")],
    ),
    ("The change was negligent.", &[("negligent", "negligent")]),
    ("This was pure negligence.", &[("negligence", "negligence")]),
    ("Sloppy work on the migration.", &[("sloppy", "Sloppy")]),
    (
        "It was the fault of the on-call engineer.",
        &[("fault of *", "fault of the")],
    ),
    (
        "It was Bob’s fault.",
        &[("{person}'s fault", "Bob’s fault")],
    ),
    (
        "It was James' fault.",
        &[("{person}'s fault", "James' fault")],
    ),
    (
        "Jane Doe's fault, the ticket said.",
        &[("{person}'s fault", "Jane Doe's fault")],
    ),
    (
        "In the end j.doe was to blame.",
        &[("to blame", "to blame")],
    ),
    (
        "The intern was blamed for the outage.",
        &[("blamed", "blamed")],
    ),
    (
        "The Incident Commander failed to page the database team.",
        &[("{person} failed to", "Incident Commander failed to")],
    ),
    (
        "Operations B neglected the disk warning.",
        &[("{person} neglected", "Operations B neglected")],
    ),
    (
        "The responder neglected to update the status page.",
        &[("neglected to", "neglected to")],
    ),
    (
        "Bob Stone missed the second alert.",
        &[("{person} missed", "Bob Stone missed")],
    ),
    (
        "José broke staging with a config push.",
        &[("{person} broke", "José broke")],
    ),
    (
        "ALICE MESSED UP the failover.",
        &[("{person} messed up", "ALICE MESSED UP")],
    ),
    (
        "SME A screwed up the schema change.",
        &[("{person} screwed up", "SME A screwed up")],
    ),
    (
        "Operations A didn’t check the replica lag.",
        &[("{person} didn't check", "Operations A didn’t check")],
    ),
    (
        "bob didn't check the lag.",
        &[("{person} didn't check", "bob didn't check")],
    ),
    (
        "mary-ann did not check the backups.",
        &[("{person} did not check", "mary-ann did not check")],
    ),
    (
        "An incompetent review let it through.",
        &[("incompetent", "incompetent")],
    ),
    ("The engineer was lazy about tests.", &[("lazy", "lazy")]),
    (
        "A stupid mistake took down the API.",
        &[("stupid mistake", "stupid mistake")],
    ),
    (
        "The on-call engineer dropped the ball.",
        &[("dropped the ball", "dropped the ball")],
    ),
    (
        "Someone was not paying attention to the dashboard.",
        &[("not paying attention", "not paying attention")],
    ),
    (
        "Communications wasn’t paying attention to the queue.",
        &[("wasn't paying attention", "wasn’t paying attention")],
    ),
    (
        "An operator fat-fingered the replica count.",
        &[("fat fingered", "fat-fingered")],
    ),
    (
        "Two findings: human error, and Bob forgot the key.",
        &[
            ("human error", "human error"),
            ("{person} forgot", "Bob forgot"),
        ],
    ),
];

#[test]
fn bad_sentences_are_flagged_by_their_rule() {
    let rules = default_blame_rules();
    for (sentence, expected) in BAD {
        let findings = lint(sentence, &rules, &people());
        let wanted: Vec<String> = expected
            .iter()
            .map(|(_, text)| (*text).to_owned())
            .collect();
        assert_eq!(blame_texts(&findings), wanted, "in {sentence:?}");

        let blames = findings
            .iter()
            .filter(|finding| finding.kind == FindingKind::Blame);
        for (finding, (pattern, text)) in blames.zip(expected.iter()) {
            let rule = rule(pattern);
            assert_eq!(
                finding.suggestion, rule.suggestion,
                "suggestion for {text:?} in {sentence:?}"
            );
            assert_eq!(finding.replacement, None);
            // The rule alone must find the same text: the expectation names the right rule.
            let alone = lint(sentence, std::slice::from_ref(&rule), &people());
            assert!(
                blame_texts(&alone).contains(&(*text).to_owned()),
                "{pattern:?} alone does not flag {text:?} in {sentence:?}"
            );
        }
    }
}

#[test]
fn every_default_rule_flags_some_bad_sentence() {
    let covered: BTreeSet<&str> = BAD
        .iter()
        .flat_map(|(_, expected)| expected.iter().map(|(pattern, _)| *pattern))
        .collect();
    let missing: Vec<String> = default_blame_rules()
        .into_iter()
        .map(|rule| rule.pattern)
        .filter(|pattern| !covered.contains(pattern.as_str()))
        .collect();
    assert_eq!(
        missing,
        Vec::<String>::new(),
        "default rules without a BAD case"
    );
}

/// Sentences that must pass both checks, with the same people and the default rules.
const GOOD: &[&str] = &[
    "The deploy tool did not warn that the flag was live.",
    "The alert fired 14 minutes after impact started.",
    // A denial, not a blame: forgetting is only flagged as an action someone did not take
    // ("forgot to", "{person} forgot", "someone forgot"), never the bare word.
    "We forgot nothing: the checklist covered it.",
    "The certificate had expired; no renewal reminder existed.",
    "Error rates rose for humans and bots alike.",
    "The forgotten cron job kept writing to the old bucket.",
    "This review is blameless, and the process is blame-free.",
    "The API returned a user error for malformed requests.",
    "Operations A rolled back the release at 14:02.",
    "The Incident Commander handed Communications the status page.",
    "The operations team owns the load balancer.",
    "The fault was in the health check of the load balancer.",
    "A fault-tolerant path existed but was never exercised.",
    "The log line read `human error budget exceeded` every second.",
    "The proxy logged this:\n\n```\nERROR: human error counter overflow\n```\n",
    "See https://wiki.example.com/human-error-taxonomy for the taxonomy.",
    "The missed heartbeat triggered a failover.",
    "The test suite broke after the upgrade.",
    "A lazy-loaded module delayed start-up by 40 seconds.",
    "Carefully staged rollouts limited the blast radius.",
    "The latency increase was negligible.",
    "The runbook should have a step for certificate renewal.",
    "The human_error metric was renamed.",
    "The bobcat mascot on the status page stayed up.",
    "Nobody noticed the disk filling because no alert existed for it.",
    "Forgetting a manual step is normal; the renewal now runs on a timer.",
    "Sessions were resumed by the Bobby-tables test fixture.",
    // The People section is exempt from both checks.
    "## People\n\n- Operations A: Bob Stone, who forgot to renew (human error, he says)\n",
    // A phrase split between prose and code is not prose.
    "The banner said human `error 503` all morning.",
];

#[test]
fn good_sentences_pass() {
    let rules = default_blame_rules();
    for sentence in GOOD {
        assert_eq!(
            lint(sentence, &rules, &people()),
            Vec::<Finding>::new(),
            "in {sentence:?}"
        );
    }
}

// ---- names ----------------------------------------------------------------------------------

const BODY: &str = "\
# Certificate expiry on the edge proxies

## Summary

Bob Stone renewed the certificate after José paged him; bob confirmed at 14:10.
“Über-long” TLS handshakes — then alice’s page.
Carol watched; the bobcat mascot stayed up. Jane Doe and j.doe are one person, as is mary-ann.
Run `ssh bob@edge-1 systemctl status certbot` to see the timer.

```
$ sudo -u JOSÉ renew --force
```

See https://example.com/users/bob for the ticket.

## People

- Operations A: Bob Stone (bob)
- Incident Commander: Alice Ng (alice)
- Communications: José Álvarez (josé)

### Observers

- carol

## Timeline

- 14:02 Operations A restarted the proxy; the operations team watched.
";

fn render(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|finding| {
            format!(
                "{}:{} {:?} {:?} -> {} | {} | {}\n",
                finding.line,
                finding.column,
                finding.kind,
                finding.text,
                finding.replacement.as_deref().unwrap_or("-"),
                finding.message,
                finding.suggestion,
            )
        })
        .collect()
}

fn check_names(body: &str, expect: Expect) {
    expect.assert_eq(&render(&lint(body, &[], &people())));
}

#[test]
fn names_outside_people_are_reported_with_their_role() {
    check_names(
        BODY,
        expect![[r#"
            5:1 Name "Bob Stone" -> Operations A | “Bob Stone” is a real name; the body names people by role | write “Operations A” instead
            5:41 Name "José" -> Communications | “José” is a real name; the body names people by role | write “Communications” instead
            5:57 Name "bob" -> Operations A | “bob” is a real name; the body names people by role | write “Operations A” instead
            6:35 Name "alice" -> Incident Commander | “alice” is a real name; the body names people by role | write “Incident Commander” instead
            7:1 Name "Carol" -> - | “Carol” is a real name; the body names people by role | name their role instead
            7:45 Name "Jane Doe" -> Operations B | “Jane Doe” is a real name; the body names people by role | write “Operations B” instead
            7:58 Name "j.doe" -> Operations B | “j.doe” is a real name; the body names people by role | write “Operations B” instead
            7:86 Name "mary-ann" -> SME A | “mary-ann” is a real name; the body names people by role | write “SME A” instead
            8:10 Name "bob" -> Operations A | “bob” is a real name; the body names people by role | write “Operations A” instead
            11:11 Name "JOSÉ" -> Communications | “JOSÉ” is a real name; the body names people by role | write “Communications” instead
        "#]],
    );
}

/// A body and the (line, column, text) of every name finding in it.
type NameCase = (&'static str, &'static [(usize, usize, &'static str)]);

const NAME_CASES: &[NameCase] = &[
    // Columns count characters, not bytes: the 9 characters before the name are 16 bytes.
    ("“Über” — José", &[(1, 10, "José")]),
    ("ñ\nüü bob", &[(2, 4, "bob")]),
    // A display name is one finding, not its first word; it may break over a line.
    ("Paged by Bob\nStone.", &[(1, 10, "Bob\nStone")]),
    ("Bob and Bob Stone", &[(1, 1, "Bob"), (1, 9, "Bob Stone")]),
    // Names inside other words or glued into other tokens are not names.
    ("bobcat bobby bob.smith mary-bob b0b", &[]),
    ("the-bob", &[]),
    // Punctuation around a name does not hide it.
    (
        "(bob), bob's, bob@host, ~bob/.ssh, --as=bob.",
        &[
            (1, 2, "bob"),
            (1, 8, "bob"),
            (1, 15, "bob"),
            (1, 26, "bob"),
            (1, 41, "bob"),
        ],
    ),
    // Inline code: names count (people paste commands); URLs do not.
    (
        "`kubectl --as=alice` and <https://git.example.com/alice/repo>",
        &[(1, 15, "alice")],
    ),
    // A role variable shields its own words; a role word alone is not a name.
    ("Operations A and the operations rota", &[]),
    // Only the People section is exempt; a deeper heading inside it stays exempt.
    (
        "## People\n\nbob\n\n### More\n\nalice\n\n## Impact\n\ncarol",
        &[(11, 1, "carol")],
    ),
    // `## People` inside a fenced block is not a heading.
    ("```\n## People\n```\nbob", &[(4, 1, "bob")]),
];

#[test]
fn name_cases() {
    for (body, expected) in NAME_CASES {
        let found: Vec<(usize, usize, String)> = lint(body, &[], &people())
            .into_iter()
            .map(|finding| {
                assert_eq!(finding.kind, FindingKind::Name);
                (finding.line, finding.column, finding.text)
            })
            .collect();
        let wanted: Vec<(usize, usize, String)> = expected
            .iter()
            .map(|(line, column, text)| (*line, *column, (*text).to_owned()))
            .collect();
        assert_eq!(found, wanted, "in {body:?}");
    }
}

#[test]
fn findings_come_in_order_of_position() {
    let body = "Bob forgot the key.\n\nIt was human error, said alice.";
    let findings = lint(body, &default_blame_rules(), &people());
    let order: Vec<(usize, usize, FindingKind, &str)> = findings
        .iter()
        .map(|finding| {
            (
                finding.line,
                finding.column,
                finding.kind.clone(),
                finding.text.as_str(),
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            (1, 1, FindingKind::Blame, "Bob forgot"),
            (1, 1, FindingKind::Name, "Bob"),
            (3, 8, FindingKind::Blame, "human error"),
            (3, 26, FindingKind::Name, "alice"),
        ]
    );
}

#[test]
fn findings_serialise_in_snake_case() {
    let findings = lint("bob", &[], &people());
    assert_eq!(
        serde_json::to_value(&findings).unwrap(),
        serde_json::json!([{
            "kind": "name",
            "line": 1,
            "column": 1,
            "text": "bob",
            "message": "“bob” is a real name; the body names people by role",
            "suggestion": "write “Operations A” instead",
            "replacement": "Operations A",
        }])
    );
}

// ---- substitution ---------------------------------------------------------------------------

fn people_section(body: &str) -> &str {
    let start = body.find("## People").unwrap();
    let end = body[start..].find("## Timeline").unwrap() + start;
    &body[start..end]
}

#[test]
fn substitution_replaces_mapped_names_outside_people() {
    let substituted = substitute_names(BODY, &people());
    expect![[r#"
        # Certificate expiry on the edge proxies

        ## Summary

        Operations A renewed the certificate after Communications paged him; Operations A confirmed at 14:10.
        “Über-long” TLS handshakes — then Incident Commander’s page.
        Carol watched; the bobcat mascot stayed up. Operations B and Operations B are one person, as is SME A.
        Run `ssh Operations A@edge-1 systemctl status certbot` to see the timer.

        ```
        $ sudo -u Communications renew --force
        ```

        See https://example.com/users/bob for the ticket.

        ## People

        - Operations A: Bob Stone (bob)
        - Incident Commander: Alice Ng (alice)
        - Communications: José Álvarez (josé)

        ### Observers

        - carol

        ## Timeline

        - 14:02 Operations A restarted the proxy; the operations team watched.
    "#]]
    .assert_eq(&substituted);
    assert_eq!(people_section(&substituted), people_section(BODY));
}

#[test]
fn substitution_is_idempotent_and_leaves_nothing_to_fix() {
    let bodies = [
        BODY,
        "Bob Stone and bob",
        "bob's bob@host Bob\nStone",
        "carol and j.doe",
    ];
    for body in bodies {
        let once = substitute_names(body, &people());
        assert_eq!(substitute_names(&once, &people()), once, "for {body:?}");
        let fixable: Vec<Finding> = lint(&once, &default_blame_rules(), &people())
            .into_iter()
            .filter(|finding| finding.replacement.is_some())
            .collect();
        assert_eq!(fixable, Vec::new(), "for {body:?}");
    }
    // Unmapped names stay: there is no role to write instead.
    assert_eq!(
        substitute_names("carol and bob", &people()),
        "carol and Operations A"
    );
}

#[test]
fn a_role_variable_in_the_text_is_never_read_as_part_of_a_name() {
    // "A Lee" is someone's name, but in "Operations A Lee" the "A" belongs to a role variable:
    // without that rule, accepting the suggestions twice would rewrite the text twice.
    let people = [
        person(&["bob"], Some("Operations A")),
        person(&["A Lee"], Some("Operations B")),
    ];
    let once = substitute_names("bob Lee and A Lee", &people);
    assert_eq!(once, "Operations A Lee and Operations B");
    assert_eq!(substitute_names(&once, &people), once);
    assert_eq!(lint(&once, &[], &people), Vec::new());
}

#[test]
fn substitution_applies_exactly_the_lint_replacements() {
    let findings = lint(BODY, &[], &people());
    let replaced = findings
        .iter()
        .filter(|finding| finding.replacement.is_some())
        .count();
    let substituted = substitute_names(BODY, &people());
    // Every replaced name became its role variable, and nothing else changed in length except
    // by those replacements.
    let delta: isize = findings
        .iter()
        .filter_map(|finding| {
            let role = finding.replacement.as_ref()?;
            Some(role.chars().count() as isize - finding.text.chars().count() as isize)
        })
        .sum();
    assert_eq!(replaced, 9);
    assert_eq!(
        substituted.chars().count() as isize,
        BODY.chars().count() as isize + delta
    );
}

// ---- rules an admin adds --------------------------------------------------------------------

#[test]
fn default_rules_are_valid_and_distinct() {
    let rules = default_blame_rules();
    assert!((25..=40).contains(&rules.len()), "{} rules", rules.len());
    for rule in &rules {
        assert_eq!(check_rule(rule), Ok(()), "{:?}", rule.pattern);
    }
    let patterns: BTreeSet<&str> = rules.iter().map(|rule| rule.pattern.as_str()).collect();
    assert_eq!(patterns.len(), rules.len(), "a pattern is shipped twice");
}

#[test]
fn check_rule_accepts_reasonable_patterns() {
    for pattern in [
        "fault of *",
        "{person}'s fault",
        "{Person} forgot",
        "root-cause: human",
        &"a".repeat(200),
    ] {
        let rule = BlameRule {
            pattern: pattern.to_owned(),
            suggestion: "Describe the system.".to_owned(),
        };
        assert_eq!(check_rule(&rule), Ok(()), "{pattern:?}");
    }
}

#[test]
fn check_rule_rejects_bad_patterns() {
    let long = "word ".repeat(41);
    let cases: Vec<(&str, &str)> = vec![
        ("", "Describe the system."),
        ("   ", "Describe the system."),
        ("*", "Describe the system."),
        ("{person}", "Describe the system."),
        ("* {person} *", "Describe the system."),
        ("{who} forgot", "Describe the system."),
        ("fault*", "Describe the system."),
        ("{person forgot", "Describe the system."),
        ("person} forgot", "Describe the system."),
        ("x{person} forgot", "Describe the system."),
        ("{person}x forgot", "Describe the system."),
        (long.as_str(), "Describe the system."),
        ("human error", " "),
    ];
    let rendered: String = cases
        .iter()
        .map(|(pattern, suggestion)| {
            let rule = BlameRule {
                pattern: (*pattern).to_owned(),
                suggestion: (*suggestion).to_owned(),
            };
            let shown: String = pattern.chars().take(20).collect();
            match check_rule(&rule) {
                Ok(()) => format!("{shown:?}: accepted\n"),
                Err(error) => format!("{shown:?}: {error}\n"),
            }
        })
        .collect();
    expect![[r#"
        "": The pattern is empty: write the words the check should look for.
        "   ": The pattern is empty: write the words the check should look for.
        "*": The pattern needs at least one ordinary word: `*` and `{person}` on their own would flag almost every sentence.
        "{person}": The pattern needs at least one ordinary word: `*` and `{person}` on their own would flag almost every sentence.
        "* {person} *": The pattern needs at least one ordinary word: `*` and `{person}` on their own would flag almost every sentence.
        "{who} forgot": `{who}` is not a placeholder this check knows; the only one is `{person}`.
        "fault*": In “fault*”, `*` is glued to other text; it stands for one whole word, so write it on its own, as in “fault of *”.
        "{person forgot": “{person” opens a `{` that is never closed.
        "person} forgot": “person}” has a `}` with no `{` before it.
        "x{person} forgot": In “x{person}”, `{person}` must start its word: names are matched as whole words.
        "{person}x forgot": In “{person}x”, only a possessive “'s” may follow `{person}` in the same word.
        "word word word word ": The pattern is 204 characters long; keep it to 200 or fewer.
        "human error": The suggestion is empty: say what a writer could put instead of the phrase.
    "#]].assert_eq(&rendered);
}

#[test]
fn lint_skips_rules_that_fail_the_check() {
    let rules = vec![
        BlameRule {
            pattern: "*".to_owned(),
            suggestion: "Anything.".to_owned(),
        },
        BlameRule {
            pattern: "outage".to_owned(),
            suggestion: "Custom rules work.".to_owned(),
        },
    ];
    let findings = lint("The outage began.", &rules, &[]);
    assert_eq!(blame_texts(&findings), ["outage"]);
    assert_eq!(findings[0].suggestion, "Custom rules work.");
}

// ---- properties -----------------------------------------------------------------------------

/// Bodies stitched from the pieces that make matching hard: names, roles, joiners, apostrophes,
/// code fences, headings, URLs and characters whose lowercase or width is unusual.
fn bodies() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "bob",
        "Bob Stone",
        "BOB",
        "alice",
        "josé",
        "JOSÉ",
        "j.doe",
        "Jane\nDoe",
        "mary-ann",
        "carol",
        "operations",
        "Operations A",
        "Incident Commander",
        "SME A",
        "forgot",
        "human",
        "error",
        "fault of",
        "'s",
        "’s",
        "'",
        "-",
        ".",
        "@",
        " ",
        " ",
        "\n",
        "`",
        "```\n",
        "## People\n",
        "## Summary\n",
        "# Title\n",
        "https://",
        "/",
        "İ",
        "\u{301}",
        "ß",
        "—",
        "🙂",
        "_",
        "*",
        "{person}",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|pieces| pieces.concat())
}

proptest! {
    #[test]
    fn lint_reports_real_text_at_real_positions(body in bodies()) {
        let findings = lint(&body, &default_blame_rules(), &people());
        let lines: Vec<Vec<char>> = body.split('\n').map(|line| line.chars().collect()).collect();
        for finding in &findings {
            // The finding's text is in the body where it says, modulo line breaks inside it.
            let first = finding.text.split('\n').next().unwrap();
            let line = &lines[finding.line - 1];
            let at: String = line.iter().skip(finding.column - 1).take(first.chars().count()).collect();
            prop_assert_eq!(at, first);
        }
        let positions: Vec<(usize, usize)> = findings.iter().map(|f| (f.line, f.column)).collect();
        let mut sorted = positions.clone();
        sorted.sort();
        prop_assert_eq!(positions, sorted);
    }

    #[test]
    fn substitution_is_idempotent_on_any_body(body in bodies()) {
        let once = substitute_names(&body, &people());
        prop_assert_eq!(substitute_names(&once, &people()), once.clone());
        prop_assert!(lint(&once, &[], &people()).iter().all(|finding| finding.replacement.is_none()));
    }
}
