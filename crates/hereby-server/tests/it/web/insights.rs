//! The insights page with its charts and tables, the CSV export, the unavailability budget on
//! the incident and services pages, and similar past incidents: each shows a viewer only what
//! they may see.

use axum::http::StatusCode;
use hereby_core::Command;
use hereby_core::ladder::ReleaseRef;
use hereby_core::types::{
    InstallationRole, Reason, ReleaseVersion, ServiceName, Severity, Status, Visibility,
};
use jiff::{SignedDuration, Timestamp};

use super::{Site, status_to};

fn minutes_ago(minutes: i64) -> Timestamp {
    Timestamp::now() - SignedDuration::from_mins(minutes)
}

#[tokio::test]
async fn insights_budgets_and_similar_incidents_show_only_what_the_viewer_may_see() {
    let site = Site::new().await;
    site.user("anna", InstallationRole::Responder).await;
    site.user("carl", InstallationRole::Responder).await;
    site.user("adam", InstallationRole::Admin).await;
    let admin = site.login("adam").await;
    for (name, team, criticality, allowance) in [
        ("checkout", "payments", "critical", "30m"),
        ("search", "discovery", "normal", ""),
    ] {
        let page = site
            .post(
                &admin,
                "/services",
                &[
                    ("name", name),
                    ("owner_team", team),
                    ("criticality", criticality),
                    ("max_unavailability", allowance),
                ],
            )
            .await;
        assert!(page.is_redirect_to("/services"), "{page:?}");
    }

    // A past incident: impact from 50 to 30 minutes ago, change-caused, resolved.
    let past = site
        .declare(
            "anna",
            "Connection pool exhausted on checkout",
            Severity::Sev1,
            &["checkout"],
            None,
        )
        .await;
    site.execute(
        "anna",
        &past,
        Command::SetImpactWindow {
            start: Some(minutes_ago(50)),
            end: Some(minutes_ago(30)),
        },
    )
    .await;
    site.execute(
        "anna",
        &past,
        Command::SetSuspectRelease {
            release: Some(ReleaseRef {
                service: ServiceName::parse("checkout").unwrap(),
                version: ReleaseVersion::parse("4.2.0").unwrap(),
            }),
            reason: None,
        },
    )
    .await;
    site.execute("anna", &past, status_to(Status::Resolved, None))
        .await;
    // A restricted one carl may not see, also on checkout, impact 100 to 90 minutes ago.
    let secret = site
        .declare(
            "anna",
            "Card token leak through the connection pool",
            Severity::Sev1,
            &["checkout"],
            None,
        )
        .await;
    site.execute(
        "anna",
        &secret,
        Command::SetImpactWindow {
            start: Some(minutes_ago(100)),
            end: Some(minutes_ago(90)),
        },
    )
    .await;
    site.execute(
        "anna",
        &secret,
        Command::ChangeVisibility {
            to: Visibility::Restricted,
            reason: Reason::parse("card data").unwrap(),
        },
    )
    .await;
    site.execute("anna", &secret, status_to(Status::Resolved, None))
        .await;
    // The live one: its impact began 9 minutes ago.
    let live = site
        .declare(
            "carl",
            "Checkout connection pool timeouts",
            Severity::Sev2,
            &["checkout"],
            None,
        )
        .await;
    site.execute(
        "carl",
        &live,
        Command::SetImpactWindow {
            start: Some(minutes_ago(9)),
            end: None,
        },
    )
    .await;
    site.declare(
        "carl",
        "Search index lagging",
        Severity::Sev3,
        &["search"],
        None,
    )
    .await;

    let carl = site.login("carl").await;
    let anna = site.login("anna").await;

    // The incident page: the budget with this incident's share, and the past incident that
    // looks like it (not the restricted one, for carl).
    let page = site.show(&carl, &live).await;
    let budget = page.section("budgets", "</dd>");
    assert!(
        budget
            .contains("checkout: 29 min of 30 min used this quarter; this incident has used 9 min")
            || budget.contains(
                "checkout: 30 min of 30 min used this quarter; this incident has used 9 min"
            )
            || budget.contains(
                "checkout: 29 min of 30 min used this quarter; this incident has used 10 min"
            ),
        "{budget}"
    );
    let similar = page.section("similar", "</section>");
    assert!(
        similar.contains(&format!("href=\"/incidents/{past}\"")),
        "{similar}"
    );
    assert!(
        !similar.contains(&format!("/incidents/{secret}")),
        "{similar}"
    );
    assert!(
        !similar.contains(&format!("/incidents/{live}\"")),
        "not itself: {similar}"
    );
    assert!(
        similar.contains("<mark>"),
        "the shared words are marked: {similar}"
    );
    // anna, a member of the restricted incident, counts its ten minutes too.
    let page = site.show(&anna, &live).await;
    assert!(
        page.section("budgets", "</dd>")
            .contains("used this quarter, "),
        "39 minutes overspend the 30: {}",
        page.section("budgets", "</dd>")
    );
    assert!(
        page.section("similar", "</section>")
            .contains(&format!("/incidents/{secret}\""))
    );

    // The services page: the budget beside its allowance; none for a service without one.
    let services = site.get(Some(&carl), "/services").await;
    services.assert_status(StatusCode::OK, "services");
    assert!(
        services
            .section("service-checkout", "</tr>")
            .contains("2 incidents"),
        "{}",
        services.body
    );
    assert!(
        services
            .section("service-search", "</tr>")
            .contains("<td class=\"budget\">—</td>")
    );

    // The insights page: a chart with a table behind it for each figure.
    let insights = site.get(Some(&carl), "/insights?since=1d").await;
    insights.assert_status(StatusCode::OK, "insights");
    assert!(
        insights
            .body
            .contains("<strong>3</strong> incidents detected"),
        "{}",
        insights.body
    );
    for chart in [
        "chart-all",
        "chart-severity",
        "chart-service",
        "chart-team",
        "chart-weeks",
        "chart-budgets",
    ] {
        assert!(
            insights.body.contains(&format!("<svg id=\"{chart}\"")),
            "no {chart}: {}",
            insights.body
        );
        assert!(
            insights
                .body
                .contains(&format!("<table id=\"{chart}-table\"")),
            "no table of {chart}"
        );
    }
    assert!(
        insights
            .section("change-caused", "</p>")
            .contains("<strong>1</strong> change-caused incident")
    );
    assert!(
        insights
            .section("chart-team-table", "</table>")
            .contains("payments")
    );
    assert!(!insights.body.contains("Card token leak"));
    // The filters narrow it; a bad one is said on the page.
    let narrowed = site
        .get(Some(&carl), "/insights?since=1d&team=discovery")
        .await;
    narrowed.assert_status(StatusCode::OK, "by team");
    assert!(
        narrowed
            .body
            .contains("<strong>1</strong> incident detected"),
        "{}",
        narrowed.body
    );
    let refused = site.get(Some(&carl), "/insights?since=yesterday").await;
    refused.assert_status(StatusCode::BAD_REQUEST, "a bad period");
    assert!(
        refused.text_of("error").contains("since"),
        "{}",
        refused.body
    );
    let unknown = site.get(Some(&carl), "/insights?team=nobody").await;
    unknown.assert_status(StatusCode::BAD_REQUEST, "an unknown team");

    // The CSV: the same figures, one per row.
    let csv = site.get(Some(&carl), "/insights.csv?since=1d").await;
    csv.assert_status(StatusCode::OK, "csv");
    assert!(
        csv.header(axum::http::header::CONTENT_TYPE)
            .starts_with("text/csv")
    );
    assert!(
        csv.body
            .starts_with("figure,group,count,median_seconds,p90_seconds,value\r\n")
    );
    assert!(
        csv.body.contains("\r\nincidents,all,,,,3\r\n"),
        "{}",
        csv.body
    );
    assert!(
        csv.body.contains("\r\ntime_to_mitigate,change_caused,1,"),
        "{}",
        csv.body
    );
    assert!(
        csv.body
            .contains("\r\nbudget_allowed_seconds,service:checkout,,,,1800\r\n"),
        "{}",
        csv.body
    );
    let anna_csv = site.get(Some(&anna), "/insights.csv?since=1d").await;
    assert!(
        anna_csv.body.contains("\r\nincidents,all,,,,4\r\n"),
        "{}",
        anna_csv.body
    );

    // Workload: each person's time, split by their working hours.
    assert!(
        insights.body.contains("<svg id=\"chart-workload\""),
        "{}",
        insights.body
    );
    let workload = insights.section("chart-workload-table", "</table>");
    assert!(
        workload.contains("<th scope=\"row\">carl</th>")
            && workload.contains("<th scope=\"row\">anna</th>"),
        "{workload}"
    );
    assert!(
        csv.body
            .contains("\r\nworkload_total_seconds,person:carl,,,,"),
        "{}",
        csv.body
    );

    // Working hours are set on the account page; a zone that does not exist is refused.
    let refused = site
        .post(
            &carl,
            "/account/hours",
            &[
                ("time_zone", "Mars/Olympus"),
                ("working", "09:00-17:00"),
                ("late_until", "23:00"),
                ("days", "mon-fri"),
            ],
        )
        .await;
    refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "an unknown zone");
    assert!(
        refused.text_of("error").contains("time_zone"),
        "{}",
        refused.body
    );
    let saved = site
        .post(
            &carl,
            "/account/hours",
            &[
                ("time_zone", "Asia/Tokyo"),
                ("working", "09:00-17:00"),
                ("late_until", "22:00"),
                ("days", "mon-fri"),
            ],
        )
        .await;
    saved.assert_status(StatusCode::OK, "working hours saved");
    assert!(
        saved
            .section("working-hours", "</form>")
            .contains("Tokyo\"")
    );
    let account = site.get(Some(&anna), "/account").await;
    assert!(
        account.body.contains("the defaults, until you set yours"),
        "{}",
        account.body
    );

    // Signed out: sign in first.
    let anonymous = site.get(None, "/insights").await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_library_lists_published_postmortems_by_tag_and_factor() {
    use super::{draft, postmortem_step, resolved_incident};
    let site = Site::new().await;
    for user in ["alice", "bob"] {
        site.user(user, InstallationRole::Responder).await;
    }
    site.user("vera", InstallationRole::Viewer).await;
    let alice = site.login("alice").await;
    let bob = site.login("bob").await;
    let vera = site.login("vera").await;
    let published = resolved_incident(&site, "Replica lag stalled checkout").await;
    let drafted = resolved_incident(&site, "Checkout timeouts").await;
    for id in [&published, &drafted] {
        draft(&site, &alice, id, "short").await;
    }
    postmortem_step(&site, &alice, &published, "submit", &[]).await;
    postmortem_step(&site, &bob, &published, "approve", &[]).await;
    for step in ["reviewed", "publish"] {
        postmortem_step(
            &site,
            &alice,
            &published,
            step,
            &[("override_reason", "a drill")],
        )
        .await;
    }
    // Filed from the post-mortem page, published or not; a bad word is said on the page.
    postmortem_step(
        &site,
        &bob,
        &published,
        "tags",
        &[
            ("tags", "Database, replication"),
            ("factors", "missing-alert"),
        ],
    )
    .await;
    let refused = site
        .post(
            &bob,
            &format!("/incidents/{drafted}/postmortem/tags"),
            &[("tags", "no/slash")],
        )
        .await;
    refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY, "a tag that is not a word");
    assert!(refused.text_of("error").contains("tag"), "{}", refused.body);
    let page = site
        .get(Some(&vera), &format!("/incidents/{published}/postmortem"))
        .await;
    assert!(
        page.section("filed-under", "</p>")
            .contains("href=\"/postmortems?tag=database\"")
    );
    assert!(
        !page.body.contains("id=\"tags-form\""),
        "a viewer files nothing"
    );

    // The library: only the published one, its tags and factors as links.
    let library = site.get(Some(&vera), "/postmortems").await;
    library.assert_status(StatusCode::OK, "the library");
    assert!(
        library
            .body
            .contains(&format!("id=\"library-{published}\"")),
        "{}",
        library.body
    );
    assert!(!library.body.contains(&format!("id=\"library-{drafted}\"")));
    assert!(
        library
            .section("library-factors", "</p>")
            .contains("missing-alert (1)")
    );
    let by_tag = site.get(Some(&vera), "/postmortems?tag=replication").await;
    assert!(by_tag.body.contains(&format!("id=\"library-{published}\"")));
    let none = site
        .get(Some(&vera), "/postmortems?factor=config-drift")
        .await;
    assert!(none.body.contains("id=\"library-empty\""), "{}", none.body);
    let words = site.get(Some(&vera), "/postmortems?q=replica").await;
    assert!(
        words.body.contains(&format!("id=\"library-{published}\"")),
        "{}",
        words.body
    );
    let bad = site.get(Some(&vera), "/postmortems?severity=SEV9").await;
    bad.assert_status(StatusCode::BAD_REQUEST, "an unknown severity");
    assert!(bad.text_of("error").contains("severity"), "{}", bad.body);
}
