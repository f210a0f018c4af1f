//! Insights end to end: figures as distributions for those who may see the incidents, on both
//! databases, through the API and the CLI.

use serde_json::{Value, json};

use crate::api::{Server, cli, databases};

fn figures<'a>(insights: &'a Value, group: &str, measure: &str) -> &'a Value {
    insights["durations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["group"] == group && row["measure"] == measure)
        .unwrap_or_else(|| panic!("no {group} {measure} in {insights}"))
}

#[test]
fn insights_count_only_what_the_caller_may_see_and_leave_out_what_was_not_an_incident() {
    for database in databases() {
        let server = Server::start(&database);
        let alice = server.user("alice", "responder");
        let carol = server.user("carol", "responder");
        for (title, severity, visibility) in [
            ("Checkout down", "SEV1", "internal"),
            ("Search slow", "SEV3", "internal"),
            ("Token leak", "SEV1", "restricted"),
            ("False alarm", "SEV2", "internal"),
        ] {
            let (status, answer) = server.post(
                "/api/v1/incidents",
                &alice,
                json!({"title": title, "severity": severity, "visibility": visibility, "services": ["checkout"]}),
            );
            assert_eq!(status, 201, "{answer}");
        }
        for (id, status) in [("INC-1", "monitoring"), ("INC-3", "monitoring")] {
            let (code, answer) = server.post(
                &format!("/api/v1/incidents/{id}/status"),
                &alice,
                json!({"status": status}),
            );
            assert_eq!(code, 200, "{answer}");
        }
        let (code, answer) = server.post(
            "/api/v1/incidents/INC-4/status",
            &alice,
            json!({"status": "called_off", "reason": "a test alert"}),
        );
        assert_eq!(code, 200, "{answer}");

        // carol does not see the restricted incident: three incidents, one of them not measured.
        let (status, seen) = server.get("/api/v1/insights?since=1d", &carol);
        assert_eq!(status, 200, "{seen}");
        assert_eq!(seen["incidents"], 2, "{seen}");
        assert_eq!(seen["not_measured"]["called_off"], 1);
        let mitigate = figures(&seen, "all", "time_to_mitigate");
        assert_eq!(mitigate["count"], 1, "only INC-1 was mitigated among hers");
        assert!(mitigate["median_seconds"].as_i64().unwrap() >= 0);
        assert_eq!(
            figures(&seen, "severity:SEV1", "time_to_detect")["count"],
            1
        );
        let per_week: u64 = seen["per_week"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["count"].as_u64().unwrap())
            .sum();
        assert_eq!(per_week, 2, "{seen}");
        assert_eq!(
            figures(&seen, "all", "time_to_resolve")["median_seconds"],
            Value::Null
        );
        // alice, its commander, sees it too.
        let (_, theirs) = server.get("/api/v1/insights?since=1d", &alice);
        assert_eq!(theirs["incidents"], 3);
        assert_eq!(figures(&theirs, "all", "time_to_mitigate")["count"], 2);
        // Filters, and a period that cannot be read.
        assert_eq!(seen["follow_ups"]["total"], 0);
        let (status, _) = server.post(
            "/api/v1/incidents/INC-1/action-items",
            &alice,
            json!({"text": "add an alert on card errors", "owner": "alice", "kind": "follow_up", "due": "2099-01-01"}),
        );
        assert_eq!(status, 200);
        let (_, seen) = server.get("/api/v1/insights?since=1d", &carol);
        assert_eq!(seen["follow_ups"]["total"], 1);
        assert_eq!(seen["follow_ups"]["open"], 1);
        assert_eq!(seen["follow_ups"]["due_reached"], 0, "not due yet");
        let (_, sev3) = server.get("/api/v1/insights?since=1d&severity=SEV3", &carol);
        assert_eq!(sev3["incidents"], 1);
        let (status, error) = server.get("/api/v1/insights?since=yesterday", &carol);
        assert_eq!(
            (status, error["error"]["code"].as_str()),
            (400, Some("invalid_query"))
        );
        let (status, error) = server.get("/api/v1/insights?since=1d&until=2d", &carol);
        assert_eq!(
            (status, error["error"]["code"].as_str()),
            (422, Some("invalid_period"))
        );

        let (code, stdout, stderr) = cli(&server, &carol, &["insights", "--since", "1d"]);
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.starts_with("2 incidents detected"), "{stdout}");
        assert!(stdout.contains("not measured: 1 called off"), "{stdout}");
        assert!(stdout.contains("time to mitigate"), "{stdout}");
        assert!(stdout.contains("severity:SEV1 resolve"), "{stdout}");
        assert!(stdout.contains("follow-ups: 1 (1 open)"), "{stdout}");
    }
}

#[test]
fn budgets_teams_workload_and_working_hours_through_the_api_and_the_cli() {
    for database in databases() {
        let server = Server::start(&database);
        let alice = server.user("alice", "responder");
        let bob = server.user("bob", "responder");
        for (service, team, allowance) in
            [("checkout", "payments", "1h"), ("search", "discovery", "")]
        {
            let (status, body) = server.call(
                "PUT",
                &format!("/api/v1/services/{service}"),
                Some(&server.admin),
                Some(&json!({"owner_team": team, "criticality": "high", "max_unavailability": allowance}).to_string()),
                &[],
            );
            assert_eq!(status, 200, "{body}");
        }
        for (title, service) in [("Checkout down", "checkout"), ("Search slow", "search")] {
            let (status, answer) = server.post(
                "/api/v1/incidents",
                &alice,
                json!({"title": title, "severity": "SEV2", "services": [service]}),
            );
            assert_eq!(status, 201, "{answer}");
        }
        let (_, all) = server.get("/api/v1/insights?since=1d", &bob);
        assert_eq!(all["incidents"], 2, "{all}");
        assert_eq!(figures(&all, "team:payments", "time_to_detect")["count"], 1);
        let budgets = all["budgets"].as_array().unwrap();
        assert_eq!(budgets.len(), 1, "only checkout has an allowance: {all}");
        assert_eq!(budgets[0]["service"], "checkout");
        assert_eq!(budgets[0]["allowed_seconds"], 3600);
        assert_eq!(budgets[0]["incidents"][0]["incident"], "INC-1");
        assert_eq!(all["workload"][0]["person"], "alice", "{all}");
        assert_eq!(all["workload"][0]["incidents"], 2);
        assert!(all["workload"][0]["total_seconds"].as_i64().unwrap() >= 600);
        let (_, payments) = server.get("/api/v1/insights?since=1d&team=payments", &bob);
        assert_eq!(payments["incidents"], 1, "{payments}");
        let (status, error) = server.get("/api/v1/insights?team=nobody", &bob);
        assert_eq!(
            (status, error["error"]["code"].as_str()),
            (422, Some("unknown_team")),
            "{error}"
        );

        // Working hours: one's own, or an admin's for anyone; checked before stored.
        let (status, hours) = server.get("/api/v1/users/bob/working-hours", &bob);
        assert_eq!(status, 200);
        assert_eq!(
            (hours["working"].as_str(), hours["default"].as_bool()),
            (Some("08:00-19:00"), Some(true))
        );
        let put = |who: &str, name: &str, body: Value| {
            server.call(
                "PUT",
                &format!("/api/v1/users/{name}/working-hours"),
                Some(who),
                Some(&body.to_string()),
                &[],
            )
        };
        let (status, error) = put(&bob, "bob", json!({"time_zone": "Mars/Olympus"}));
        assert_eq!(status, 422, "{error}");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("time_zone"),
            "{error}"
        );
        let (status, error) = put(&bob, "bob", json!({"working": "19:00-08:00"}));
        assert_eq!(status, 422, "{error}");
        let (status, _) = server.get("/api/v1/users/bob/working-hours", &bob);
        assert_eq!(status, 200);
        let (status, hours) = put(
            &bob,
            "bob",
            json!({"time_zone": "America/New_York", "days": "mon,tue,thu"}),
        );
        assert_eq!(status, 200, "{hours}");
        assert_eq!(hours["working"], "08:00-19:00", "left out: kept");
        assert_eq!(hours["days"], "mon-tue,thu");
        assert_eq!(put(&bob, "alice", json!({"days": "none"})).0, 403);
        assert_eq!(server.get("/api/v1/users/alice/working-hours", &bob).0, 403);
        assert_eq!(put(&server.admin, "alice", json!({"days": "none"})).0, 200);
        assert_eq!(put(&server.admin, "nobody", json!({"days": "none"})).0, 404);

        // The CLI: the budget and workload lines, CSV, and working hours.
        let (code, stdout, stderr) = cli(&server, &bob, &["insights", "--since", "1d"]);
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains("budget checkout: "), "{stdout}");
        assert!(stdout.contains("workload alice: "), "{stdout}");
        let (code, stdout, stderr) = cli(&server, &bob, &["insights", "--since", "1d", "--csv"]);
        assert_eq!(code, 0, "{stderr}");
        assert!(
            stdout.starts_with("figure,group,count,median_seconds,p90_seconds,value\r\n"),
            "{stdout}"
        );
        assert!(
            stdout.contains("budget_allowed_seconds,service:checkout,,,,3600"),
            "{stdout}"
        );
        let (code, stdout, stderr) = cli(&server, &bob, &["user", "hours", "bob"]);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(
            stdout.trim(),
            "bob: America/New_York working 08:00-19:00 on mon-tue,thu, late until 23:00"
        );
        let (code, _, stderr) = cli(
            &server,
            &bob,
            &["user", "hours", "bob", "--working", "25:00-26:00"],
        );
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("working_hours"), "{stderr}");
        let (code, _, stderr) = cli(
            &server,
            &bob,
            &["user", "hours", "alice", "--days", "mon-fri"],
        );
        assert_eq!(code, 3, "{stderr}");
    }
}
