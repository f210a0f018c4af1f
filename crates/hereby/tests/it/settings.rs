//! Named admin settings through the one route family and the one CLI verb family: every kind
//! stored, shown, listed and removed the same way, shipped defaults changed and brought back,
//! values of the wrong shape refused with nothing stored, and the older per-kind routes
//! showing the same settings. Also: the OpenAPI document names its closed vocabularies.

use serde_json::{Value, json};

use crate::api::{Server, cli, databases};

fn put(server: &Server, token: &str, path: &str, body: Value) -> (u16, Value) {
    server.call("PUT", path, Some(token), Some(&body.to_string()), &[])
}

fn delete(server: &Server, token: &str, path: &str) -> (u16, Value) {
    server.call("DELETE", path, Some(token), None, &[])
}

#[test]
fn every_kind_is_set_shown_listed_and_removed_the_same_way() {
    for database in databases() {
        let server = Server::start(&database);
        let admin = server.admin.clone();
        let viewer = server.user("vera", "viewer");

        let (status, kinds) = server.get("/api/v1/settings", &viewer);
        assert_eq!(status, 200, "{kinds}");
        let listed: Vec<&str> = kinds["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|kind| kind["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            listed,
            [
                "message_template",
                "postmortem_template",
                "blame_rule",
                "service",
                "alert_route",
                "alert_maintenance"
            ]
        );
        assert!(
            kinds["kinds"][0]["shipped"].as_u64().unwrap() > 0,
            "{kinds}"
        );
        assert_eq!(kinds["kinds"][3]["shipped"], 0, "{kinds}");

        let values = [
            (
                "message_template",
                "outage",
                json!({ "subject": "Outage: {{ title }}", "body": "We are on it.", "description": "For outages" }),
            ),
            (
                "postmortem_template",
                "tiny",
                json!({ "body": "# {{ incident }}\n\n## Timeline\n", "description": "" }),
            ),
            (
                "blame_rule",
                "went rogue",
                json!({ "suggestion": "Say what the system allowed." }),
            ),
            (
                "service",
                "checkout",
                json!({ "owner_team": "payments", "criticality": "critical", "max_unavailability": "30m", "depends_on": ["db"] }),
            ),
            (
                "alert_route",
                "checkout-latency",
                json!({ "order": 10, "matchers": ["service=\"checkout\""], "group_by": ["alertname"], "window": "5m", "create": "threshold(3 within 10m)" }),
            ),
            (
                "alert_maintenance",
                "db-upgrade",
                json!({ "matchers": ["service=\"db\""], "starts": "2026-12-05T22:00:00Z", "ends": "2026-12-06T02:00:00Z", "repeat": "weekly", "reason": "patching" }),
            ),
        ];
        for (kind, name, value) in &values {
            let path = format!("/api/v1/settings/{kind}/{}", name.replace(' ', "%20"));
            let (status, refused) = put(&server, &viewer, &path, value.clone());
            assert_eq!(status, 403, "{refused}");
            let (status, stored) = put(&server, &admin, &path, value.clone());
            assert_eq!(status, 200, "{kind}: {stored}");
            assert_eq!(stored["kind"], *kind);
            assert_eq!(stored["name"], *name);
            assert_eq!(stored["origin"], "custom");
            assert_eq!(stored["updated_by"], "root");
            for (field, expected) in value.as_object().unwrap() {
                assert_eq!(
                    &stored["value"][field], expected,
                    "{kind}.{field}: {stored}"
                );
            }
            let (status, shown) = server.get(&path, &viewer);
            assert_eq!(status, 200, "{shown}");
            assert_eq!(shown["value"], stored["value"]);
            let (_, all) = server.get(&format!("/api/v1/settings/{kind}"), &viewer);
            assert!(
                all["settings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|setting| setting["name"] == *name),
                "{all}"
            );
            let (status, _) = delete(&server, &viewer, &path);
            assert_eq!(status, 403);
            let (status, gone) = delete(&server, &admin, &path);
            assert_eq!(status, 204, "{kind}: {gone}");
            let (status, _) = server.get(&path, &viewer);
            assert_eq!(status, 404, "{kind} {name} is gone");
            let (status, again) = delete(&server, &admin, &path);
            assert_eq!(status, 404, "{again}");
        }

        // The older routes and the family show the same settings.
        let (status, _) = put(
            &server,
            &admin,
            "/api/v1/services/api",
            json!({ "owner_team": "platform", "criticality": "high" }),
        );
        assert_eq!(status, 200);
        let (status, service) = server.get("/api/v1/settings/service/api", &viewer);
        assert_eq!(status, 200, "{service}");
        assert_eq!(service["value"]["owner_team"], "platform");
        let (status, _) = delete(&server, &admin, "/api/v1/settings/services/api");
        assert_eq!(status, 204, "a plural, hyphenated kind is the same kind");
        let (status, _) = server.get("/api/v1/services/api", &viewer);
        assert_eq!(status, 404);

        let (status, unknown) = server.get("/api/v1/settings/escalation_policy", &viewer);
        assert_eq!(status, 404, "{unknown}");
        let message = unknown["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("message_template, postmortem_template"),
            "{message}"
        );
    }
}

#[test]
fn shipped_defaults_are_changed_and_brought_back_and_bad_values_change_nothing() {
    for database in databases() {
        let server = Server::start(&database);
        let admin = server.admin.clone();
        let path = "/api/v1/settings/message_template/first-response";
        let (status, shipped) = server.get(path, &admin);
        assert_eq!(status, 200, "{shipped}");
        assert_eq!(shipped["origin"], "default");
        assert!(shipped.get("updated_at").is_none(), "{shipped}");

        let (status, refused) = delete(&server, &admin, path);
        assert_eq!(status, 409, "{refused}");
        assert_eq!(refused["error"]["code"], "setting_is_default");

        // A value of another kind's shape, a template that does not compile and a service
        // of an unknown criticality: refused, and nothing stored.
        let (status, refused) = put(
            &server,
            &admin,
            path,
            json!({ "owner_team": "x", "criticality": "low" }),
        );
        assert_eq!(status, 422, "{refused}");
        assert_eq!(refused["error"]["code"], "invalid_value");
        assert!(
            refused["error"]["message"]
                .as_str()
                .unwrap()
                .contains("subject, body, description"),
            "{refused}"
        );
        let (status, refused) = put(
            &server,
            &admin,
            path,
            json!({ "subject": "{{ title", "body": "b" }),
        );
        assert_eq!(status, 422, "{refused}");
        assert_eq!(refused["error"]["code"], "invalid_template");
        let (status, refused) = put(
            &server,
            &admin,
            "/api/v1/settings/service/shop",
            json!({ "owner_team": "x", "criticality": "urgent" }),
        );
        assert_eq!(status, 422, "{refused}");
        let (status, refused) = put(&server, &admin, path, json!(["not", "an", "object"]));
        assert_eq!(status, 422, "{refused}");
        let (_, unchanged) = server.get(path, &admin);
        assert_eq!(unchanged, shipped);
        let (status, _) = server.get("/api/v1/settings/service/shop", &admin);
        assert_eq!(status, 404);

        let changed_value =
            json!({ "subject": "We know: {{ title }}", "body": "Changed.", "description": "ours" });
        let (status, changed) = put(&server, &admin, path, changed_value);
        assert_eq!(status, 200, "{changed}");
        assert_eq!(changed["origin"], "changed");
        let (_, via_old_route) = server.get("/api/v1/templates/first-response", &admin);
        assert_eq!(via_old_route["subject"], "We know: {{ title }}");
        assert_eq!(via_old_route["origin"], "changed");

        let (status, _) = delete(&server, &admin, path);
        assert_eq!(status, 204);
        let (_, back) = server.get(path, &admin);
        assert_eq!(back, shipped, "the shipped default is in effect again");

        // A shipped blame rule cannot be stored again, nor removed.
        let (_, rules) = server.get("/api/v1/settings/blame_rule", &admin);
        let shipped_rule = rules["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|rule| rule["origin"] == "default")
            .unwrap()["name"]
            .as_str()
            .unwrap()
            .to_owned();
        let rule_path = format!(
            "/api/v1/settings/blame_rule/{}",
            shipped_rule
                .replace(' ', "%20")
                .replace('{', "%7B")
                .replace('}', "%7D")
        );
        let (status, refused) = put(
            &server,
            &admin,
            &rule_path,
            json!({ "suggestion": "something else" }),
        );
        assert_eq!(status, 422, "{refused}");
        let (status, refused) = delete(&server, &admin, &rule_path);
        assert_eq!(status, 409, "{refused}");
    }
}

#[test]
fn the_cli_sets_fields_over_the_value_in_effect_and_round_trips_files() {
    let server = Server::start("sqlite");
    let admin = server.admin.clone();
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("outage.md");
    std::fs::write(
        &body,
        "Checkout is down; next update at {{ next_update_due }}.\n",
    )
    .unwrap();

    let (code, out, err) = cli(
        &server,
        &admin,
        &[
            "setting",
            "set",
            "message-template",
            "outage",
            "--field",
            "subject=Outage: {{ title }}",
            "--field",
            &format!("body=@{}", body.display()),
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("message_template outage stored (custom)"),
        "{out}"
    );

    // One --field changes one field of the value in effect.
    let (code, out, err) = cli(
        &server,
        &admin,
        &[
            "setting",
            "set",
            "message_template",
            "outage",
            "--field",
            "description=For full outages",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, value, err) = cli(
        &server,
        &admin,
        &["setting", "show", "message_template", "outage", "--value"],
    );
    assert_eq!(code, 0, "{err}");
    let value: Value = serde_json::from_str(&value).unwrap();
    assert_eq!(value["subject"], "Outage: {{ title }}");
    assert_eq!(value["description"], "For full outages");
    assert!(
        value["body"]
            .as_str()
            .unwrap()
            .starts_with("Checkout is down")
    );

    // What `show --value` prints, `set --file` takes back.
    let file = dir.path().join("service.json");
    std::fs::write(
        &file,
        json!({ "owner_team": "payments", "criticality": "high", "public": true }).to_string(),
    )
    .unwrap();
    let (code, out, err) = cli(
        &server,
        &admin,
        &[
            "setting",
            "set",
            "service",
            "checkout",
            "--file",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    // Dependencies are services of the catalogue.
    for dependency in ["db", "cache"] {
        let (status, body) = put(
            &server,
            &admin,
            &format!("/api/v1/services/{dependency}"),
            json!({ "owner_team": "storage", "criticality": "high" }),
        );
        assert_eq!(status, 200, "{body}");
    }
    let (code, out, err) = cli(
        &server,
        &admin,
        &[
            "setting",
            "set",
            "service",
            "checkout",
            "--field",
            "depends_on:=[\"db\",\"cache\"]",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, list, err) = cli(&server, &admin, &["setting", "list", "service"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        list.contains("checkout") && list.contains("payments, high"),
        "{list}"
    );
    let (_, shown) = server.get("/api/v1/settings/service/checkout", &admin);
    assert_eq!(shown["value"]["depends_on"], json!(["cache", "db"]));
    assert_eq!(shown["value"]["public"], true);

    // Mistakes: an unknown kind, a refused value (exit 1, nothing stored), a removal.
    let (code, _, err) = cli(&server, &admin, &["setting", "list", "templates"]);
    assert_eq!(code, 2);
    assert!(err.contains("the kinds are message_template"), "{err}");
    let (code, _, err) = cli(
        &server,
        &admin,
        &[
            "setting",
            "set",
            "service",
            "checkout",
            "--field",
            "criticality=urgent",
        ],
    );
    assert_eq!(code, 2, "a refused value is a usage error: {err}");
    assert!(err.contains("urgent"), "{err}");
    let (_, still) = server.get("/api/v1/settings/service/checkout", &admin);
    assert_eq!(still["value"]["criticality"], "high");
    let (code, out, err) = cli(
        &server,
        &admin,
        &["setting", "remove", "service", "checkout"],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = cli(
        &server,
        &admin,
        &["setting", "remove", "service", "checkout"],
    );
    assert_eq!(code, 1, "{err}");
    let (code, kinds, _) = cli(&server, &admin, &["setting", "kinds"]);
    assert_eq!(code, 0);
    assert!(
        kinds.contains("blame_rule") && kinds.contains("fields: suggestion"),
        "{kinds}"
    );
}

#[test]
fn the_openapi_document_names_its_vocabularies() {
    let server = Server::start("sqlite");
    let (status, document) = server.call("GET", "/api/v1/openapi.json", None, None, &[]);
    assert_eq!(status, 200);
    let schemas = &document["components"]["schemas"];
    let words = |name: &str| -> Vec<String> {
        schemas[name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} is not an enum: {}", schemas[name]))
            .iter()
            .map(|word| word.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(words("SeverityName"), ["SEV1", "SEV2", "SEV3", "SEV4"]);
    assert!(words("IncidentStatus").contains(&"called_off".to_owned()));
    assert_eq!(
        words("VisibilityName"),
        ["internal", "restricted", "public"]
    );
    assert_eq!(words("UserRole"), ["viewer", "responder", "admin"]);
    assert_eq!(
        words("ChannelKind"),
        [
            "webhook",
            "slack",
            "teams",
            "email",
            "matrix",
            "slack_app",
            "mattermost",
            "github",
            "gitlab",
            "tracker"
        ]
    );
    assert_eq!(words("SubscriptionScope"), ["all", "public"]);
    assert!(words("NotificationEvent").contains(&"severity_changed".to_owned()));
    assert_eq!(
        words("SettingKind"),
        [
            "message_template",
            "postmortem_template",
            "blame_rule",
            "service",
            "alert_route",
            "alert_maintenance"
        ]
    );
    // The request fields refer to them.
    let declare = &schemas["DeclareRequest"]["properties"];
    assert!(
        declare["severity"]
            .to_string()
            .contains("#/components/schemas/SeverityName"),
        "{declare}"
    );
    let subscription = &schemas["SubscriptionRequest"]["properties"]["events"];
    assert!(
        subscription.to_string().contains("NotificationEvent"),
        "{subscription}"
    );
    // Every closed set of words a field takes or gives is an enum, so that clients (and a
    // fuzzer) know the words without reading prose.
    for (schema, field, vocabulary) in [
        ("DecisionRequest", "option", "FollowUpOptionName"),
        ("Outcome", "decision", "ReviewOutcome"),
        ("PutComponent", "status", "ComponentStatusSetting"),
        ("PermissionRow", "capability", "CapabilityName"),
        ("Finding", "kind", "FindingKind"),
        ("Template", "origin", "TemplateOrigin"),
    ] {
        let property = &schemas[schema]["properties"][field];
        assert!(
            property
                .to_string()
                .contains(&format!("#/components/schemas/{vocabulary}")),
            "{schema}.{field}: {property}"
        );
    }
    assert_eq!(words("ReviewOutcome"), ["done", "wont_fix", "open"]);
    assert_eq!(words("ComponentStatusSetting")[0], "auto");
    let export = document["paths"]["/api/v1/incidents/{id}/postmortem/export"]["get"]["parameters"]
        .to_string();
    assert!(export.contains("ExportFormat"), "{export}");
    // And every reference resolves: a schema named only by a query parameter is easily left
    // out of the components.
    fn references(value: &serde_json::Value, found: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(fields) => {
                for (key, field) in fields {
                    match (key.as_str(), field.as_str()) {
                        ("$ref", Some(target)) => found.push(target.to_owned()),
                        _ => references(field, found),
                    }
                }
            }
            serde_json::Value::Array(items) => {
                items.iter().for_each(|item| references(item, found))
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    references(&document, &mut found);
    assert!(!found.is_empty());
    for target in found {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {target}"));
        assert!(schemas.get(name).is_some(), "{target} does not resolve");
    }
}
