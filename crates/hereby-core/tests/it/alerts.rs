//! Alert routing as tables: matchers, the first route that matches, group keys, severity,
//! where a new firing alert goes (windows fixed and extending, max age, reopen) and when a
//! group asks for an incident (never, always, threshold).

use std::collections::BTreeMap;

use hereby_core::alerts::{
    Creation, Flaps, GroupFacts, GroupHolds, MaintenanceSpec, MaintenanceWindow, Matcher,
    Placement, Quiet, Route, RouteSpec, Routes, Signal, WindowKind, place, quiet, wants_incident,
};
use hereby_core::types::Severity;
use jiff::{SignedDuration, Timestamp};

/// A matcher as written, the labels it meets, and whether it holds.
type MatcherCase = (&'static str, &'static [(&'static str, &'static str)], bool);

/// The field a bad route names, how it is made bad, and what the refusal says.
type SpecCase = (&'static str, fn(&mut RouteSpec), &'static str);

/// How a maintenance window is made bad, and what the refusal says.
type WindowCase = (fn(&mut MaintenanceSpec), &'static str);

/// An alert's labels, what a person set on its group, whether the group flaps, the minute,
/// and why the alert asks nothing of anyone.
type QuietCase<'a> = (
    &'a BTreeMap<String, String>,
    &'a GroupHolds,
    bool,
    i64,
    Option<Quiet>,
);

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

fn signal(key: &str, pairs: &[(&str, &str)]) -> Signal {
    Signal {
        dedup_key: key.to_owned(),
        firing: true,
        summary: String::new(),
        labels: labels(pairs),
        at: t0(),
        source_group: false,
    }
}

fn t0() -> Timestamp {
    "2026-12-01T10:00:00Z".parse().unwrap()
}

fn at(minutes: i64) -> Timestamp {
    t0() + SignedDuration::from_mins(minutes)
}

fn route(name: &str, edit: impl FnOnce(&mut RouteSpec)) -> Route {
    let mut spec = RouteSpec::default();
    edit(&mut spec);
    Route::from_spec(name, &spec).unwrap()
}

#[test]
fn matchers_read_as_alertmanager_writes_them() {
    let cases: &[MatcherCase] = &[
        (r#"service="checkout""#, &[("service", "checkout")], true),
        (
            r#"service="checkout""#,
            &[("service", "checkout-eu")],
            false,
        ),
        ("service=checkout", &[("service", "checkout")], true),
        (r#"env!="staging""#, &[("env", "prod")], true),
        (r#"env!="staging""#, &[], true),
        (r#"env!="staging""#, &[("env", "staging")], false),
        (
            r#"severity=~"critical|page""#,
            &[("severity", "page")],
            true,
        ),
        // A pattern matches the whole value, as in Alertmanager.
        (r#"severity=~"crit""#, &[("severity", "critical")], false),
        (r#"team!~"db.*""#, &[("team", "dba")], false),
        (r#"team!~"db.*""#, &[("team", "web")], true),
        // A missing label reads as empty.
        (r#"team="""#, &[], true),
        (r#"team=~".+""#, &[], false),
    ];
    for (raw, given, expected) in cases {
        let matcher = Matcher::parse(raw).unwrap();
        assert_eq!(
            matcher.matches(&labels(given)),
            *expected,
            "{raw} on {given:?}"
        );
    }
    for (raw, problem) in [
        ("service", "is not a matcher"),
        (r#"=~"x""#, "label name"),
        (r#"a b="x""#, "label name"),
        (r#"service=~"(""#, "not a regular expression"),
        (r#"service!"x""#, "the operator must be"),
    ] {
        let error = Matcher::parse(raw).unwrap_err();
        assert_eq!(error.field, "matchers");
        assert!(error.problem.contains(problem), "{raw}: {}", error.problem);
    }
}

#[test]
fn the_first_route_that_matches_wins_and_the_catch_all_goes_last() {
    let routes = Routes::new(vec![
        route("db", |s| {
            s.order = 20;
            s.matchers = vec![r#"team="db""#.to_owned()];
        }),
        route("checkout-latency", |s| {
            s.order = 10;
            s.matchers = vec![
                r#"service="checkout""#.to_owned(),
                r#"alertname=~"High.*""#.to_owned(),
            ];
        }),
        route("also-db", |s| {
            s.order = 20;
            s.matchers = vec![r#"team="db""#.to_owned()];
        }),
    ]);
    let name = |pairs: &[(&str, &str)]| routes.route_for(&labels(pairs)).map(|r| r.name.clone());
    assert_eq!(
        name(&[
            ("service", "checkout"),
            ("alertname", "HighLatency"),
            ("team", "db")
        ]),
        Some("checkout-latency".to_owned())
    );
    // Same order: by name.
    assert_eq!(name(&[("team", "db")]), Some("also-db".to_owned()));
    assert_eq!(name(&[("team", "web")]), Some("default".to_owned()));
    assert_eq!(
        routes
            .all()
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>(),
        ["checkout-latency", "also-db", "db", "default"]
    );
}

#[test]
fn group_keys_are_the_route_and_its_group_by_values_or_the_source_s_own_group() {
    let by_service = route("checkout", |s| {
        s.group_by = vec!["service".into(), "region".into()]
    });
    let a = signal(
        "fp1",
        &[
            ("service", "checkout"),
            ("region", "eu"),
            ("alertname", "A"),
        ],
    );
    let b = signal(
        "fp2",
        &[
            ("service", "checkout"),
            ("region", "eu"),
            ("alertname", "B"),
        ],
    );
    let c = signal("fp3", &[("service", "checkout"), ("alertname", "A")]);
    assert_eq!(by_service.group_key(&a), by_service.group_key(&b));
    assert_ne!(by_service.group_key(&a), by_service.group_key(&c));
    assert_eq!(
        by_service.group_key(&a),
        r#"checkout:{service="checkout",region="eu"}"#
    );
    assert_eq!(
        by_service.group_label(&c),
        r#"service="checkout", region="""#
    );
    // The same labels on another route are another group.
    let other = route("other", |s| {
        s.group_by = vec!["service".into(), "region".into()]
    });
    assert_ne!(other.group_key(&a), by_service.group_key(&a));
    // Alertmanager's PagerDuty receiver grouped already: its key is the group.
    let grouped = Signal {
        source_group: true,
        ..signal(&"ab".repeat(32), &[("severity", "error")])
    };
    assert_eq!(
        by_service.group_key(&grouped),
        format!("checkout:source:{}", "ab".repeat(32))
    );
}

#[test]
fn severity_comes_from_the_route_s_table_and_service_from_the_route() {
    let route = route("r", |s| {
        s.service = Some("label:service".to_owned());
        s.default_severity = "SEV4".to_owned();
    });
    let sev = |word: &str| route.severity_of(&signal("k", &[("severity", word)]));
    assert_eq!(sev("critical"), Severity::Sev1);
    assert_eq!(sev("CRITICAL"), Severity::Sev1);
    assert_eq!(sev("error"), Severity::Sev2);
    assert_eq!(sev("warning"), Severity::Sev3);
    assert_eq!(sev("whatever"), Severity::Sev4);
    assert_eq!(
        route
            .service_of(&signal("k", &[("service", "checkout")]))
            .map(|s| s.to_string()),
        Some("checkout".to_owned())
    );
    assert_eq!(
        route.service_of(&signal("k", &[("service", "Not A Name")])),
        None
    );
    let opsgenie = self::route("og", |s| s.severity_label = "priority".to_owned());
    assert_eq!(
        opsgenie.severity_of(&signal("k", &[("priority", "P1")])),
        Severity::Sev1
    );
}

#[test]
fn a_route_is_checked_when_it_is_written() {
    let cases: &[SpecCase] = &[
        (
            "window",
            |s| s.window = "5 minutes".into(),
            "is not a duration",
        ),
        ("window", |s| s.window = "0s".into(), "longer than zero"),
        (
            "max_age",
            |s| s.max_age = "1m".into(),
            "at least the window",
        ),
        (
            "create",
            |s| s.create = "sometimes".into(),
            "not a creation policy",
        ),
        (
            "create",
            |s| s.create = "threshold(0 within 5m)".into(),
            "1 to 10000",
        ),
        ("severity", |s| s.default_severity = "SEV9".into(), ""),
        ("service", |s| s.service = Some("Check Out".into()), ""),
        (
            "service",
            |s| s.service = Some("label:".into()),
            "needs the name",
        ),
        (
            "matchers",
            |s| s.matchers = vec!["nope".into()],
            "not a matcher",
        ),
        ("group_by", |s| s.group_by = vec![" ".into()], "none empty"),
        ("pause", |s| s.pause = "2d".into(), "at most 24h"),
        ("pause", |s| s.pause = "soon".into(), "is not a duration"),
        (
            "flap_window",
            |s| s.flap_window = "0s".into(),
            "longer than zero",
        ),
    ];
    for (field, edit, problem) in cases {
        let mut spec = RouteSpec::default();
        edit(&mut spec);
        let error = Route::from_spec("r", &spec).unwrap_err();
        assert_eq!(error.field, *field, "{error:?}");
        assert!(
            error.problem.contains(problem),
            "{field}: {}",
            error.problem
        );
    }
    let parsed = |raw: &str| Creation::parse(raw).unwrap().to_string();
    assert_eq!(parsed("threshold(3 within 10m)"), "threshold(3 within 10m)");
    assert_eq!(parsed("never"), "never");
}

/// One case of the placement table: the route's window, the group under the key (opened,
/// newest alert, resolved; minutes after t0) and when the new alert comes.
struct Case {
    name: &'static str,
    kind: WindowKind,
    group: Option<(i64, i64, Option<i64>)>,
    now: i64,
    expect: Placement,
}

#[test]
fn where_a_new_firing_alert_goes() {
    use Placement::*;
    use WindowKind::*;
    let cases = [
        Case {
            name: "no group yet",
            kind: Extending,
            group: None,
            now: 0,
            expect: New { after: false },
        },
        Case {
            name: "extending: within the window of the newest alert",
            kind: Extending,
            group: Some((0, 25, None)),
            now: 50,
            expect: Join,
        },
        Case {
            name: "extending: window passed since the newest alert",
            kind: Extending,
            group: Some((0, 10, None)),
            now: 41,
            expect: New { after: true },
        },
        Case {
            name: "extending: max age passed although alerts keep coming",
            kind: Extending,
            group: Some((0, 2870, None)),
            now: 2885,
            expect: New { after: true },
        },
        Case {
            name: "fixed: within the window of its opening",
            kind: Fixed,
            group: Some((0, 0, None)),
            now: 29,
            expect: Join,
        },
        Case {
            name: "fixed: window passed since opening although an alert came a minute ago",
            kind: Fixed,
            group: Some((0, 30, None)),
            now: 31,
            expect: New { after: true },
        },
        Case {
            name: "resolved within the reopen window",
            kind: Extending,
            group: Some((0, 5, Some(10))),
            now: 39,
            expect: Reopen,
        },
        Case {
            name: "resolved longer ago than the reopen window",
            kind: Extending,
            group: Some((0, 5, Some(10))),
            now: 41,
            expect: New { after: true },
        },
        Case {
            name: "a source clock behind ours counts as no time",
            kind: Fixed,
            group: Some((10, 10, None)),
            now: 5,
            expect: Join,
        },
    ];
    for case in cases {
        // window 30m, max age 2d, reopen 30m.
        let route = route("r", |s| s.window_kind = case.kind);
        let group = case.group.map(|(opened, last, resolved)| GroupFacts {
            opened_at: at(opened),
            last_alert_at: at(last),
            resolved_at: resolved.map(at),
            incident_ended: false,
            flapping: false,
        });
        assert_eq!(
            place(&route, group.as_ref(), at(case.now)),
            case.expect,
            "{}",
            case.name
        );
    }
}

#[test]
fn a_group_whose_incident_ended_takes_no_new_alert() {
    let route = route("r", |_| {});
    for resolved in [None, Some(at(5))] {
        let group = GroupFacts {
            opened_at: at(0),
            last_alert_at: at(1),
            resolved_at: resolved,
            incident_ended: true,
            flapping: false,
        };
        assert_eq!(
            place(&route, Some(&group), at(2)),
            Placement::New { after: true },
            "within the window or the reopen window, the ended incident's group stays closed"
        );
    }
}

#[test]
fn when_a_group_asks_for_an_incident() {
    let create = |policy: &str| route("r", |s| s.create = policy.to_owned());
    let fired = |minutes: &[i64]| minutes.iter().map(|m| at(*m)).collect::<Vec<_>>();
    let cases: &[(&str, &[i64], bool, i64, bool)] = &[
        ("never", &[0, 1, 2], true, 3, false),
        ("always", &[0], true, 0, true),
        ("always", &[0], false, 1, false),
        ("threshold(3 within 10m)", &[0, 1], true, 2, false),
        ("threshold(3 within 10m)", &[0, 1, 2], true, 2, true),
        ("threshold(3 within 10m)", &[0, 8, 9], true, 11, false),
        ("threshold(3 within 10m)", &[5, 8, 9], true, 11, true),
        ("threshold(3 within 10m)", &[5, 8, 9], false, 11, false),
    ];
    for (policy, first_fired, firing, now, expected) in cases {
        assert_eq!(
            wants_incident(&create(policy), &fired(first_fired), *firing, at(*now)),
            *expected,
            "{policy} with {first_fired:?} at {now}"
        );
    }
}

#[test]
fn a_signal_keeps_the_source_s_limits() {
    let long = Signal {
        summary: format!("  {}  ", "é".repeat(2000)),
        ..signal("k", &[])
    }
    .checked()
    .unwrap();
    assert_eq!(long.summary.chars().count(), 1024);
    let unnamed = Signal {
        summary: " ".to_owned(),
        ..signal("k", &[("alertname", "HighLatency")])
    }
    .checked()
    .unwrap();
    assert_eq!(unnamed.summary, "HighLatency");
    for (bad, field) in [
        (signal(&"k".repeat(513), &[]), "dedup_key"),
        (signal("", &[]), "dedup_key"),
        (signal("a\0b", &[]), "dedup_key"),
    ] {
        assert_eq!(bad.checked().unwrap_err().field, field);
    }
    // The rest is fitted, never refused: a source would resend it forever.
    let many: Vec<(String, String)> = (0..100)
        .map(|n| (format!("l{n:03}"), "v".repeat(2000)))
        .collect();
    let fitted = Signal {
        labels: many.into_iter().collect(),
        summary: "Disk \u{1b}[31mfull\0".to_owned(),
        ..signal("k", &[("", "dropped")])
    }
    .checked()
    .unwrap();
    assert_eq!(fitted.labels.len(), 64);
    assert!(fitted.labels.values().all(|v| v.len() == 1024));
    assert_eq!(fitted.summary, "Disk  [31mfull");
}

#[test]
fn a_flapping_group_takes_every_alert_and_reopens_nothing() {
    let route = route("r", |_| {});
    for (resolved, ended, expected) in [
        // Resolved a minute ago or a day ago: a flapping group keeps taking its alerts.
        (Some(at(1)), false, Placement::Join),
        (Some(at(-24 * 60)), false, Placement::Join),
        (None, false, Placement::Join),
        // Its incident ended: a new group all the same.
        (None, true, Placement::New { after: true }),
    ] {
        let group = GroupFacts {
            opened_at: at(-3 * 24 * 60),
            last_alert_at: at(-3 * 24 * 60),
            resolved_at: resolved,
            incident_ended: ended,
            flapping: true,
        };
        assert_eq!(place(&route, Some(&group), at(2)), expected);
    }
}

#[test]
fn flips_beyond_the_limit_within_the_window_make_a_group_flap_until_a_quiet_window() {
    let route = route("r", |s| {
        s.flap_limit = 3;
        s.flap_window = "10m".to_owned();
    });
    // (minute of the flip, flapping right after it)
    let flips: &[(i64, bool)] = &[
        (0, false),
        (1, false),
        (2, false),
        // The fourth flip within ten minutes is one more than the limit.
        (3, true),
        // Still flipping within the window of the last flip: still flapping, though the
        // counting span starts over.
        (12, true),
        (21, true),
        // Thirty quiet minutes: no longer flapping, counting starts over.
        (51, false),
        (52, false),
    ];
    let mut flaps = Flaps::default();
    for (minute, expected) in flips {
        flaps = flaps.flip(&route, at(*minute));
        assert_eq!(
            flaps.flapping(&route, at(*minute)),
            *expected,
            "after the flip at minute {minute}: {flaps:?}"
        );
    }
    // Without another flip, flapping ends once the window has passed.
    let mut flaps = Flaps::default();
    for minute in 0..4 {
        flaps = flaps.flip(&route, at(minute));
    }
    assert!(flaps.flapping(&route, at(12)));
    assert!(!flaps.flapping(&route, at(13)));
    // A limit of 0 never flaps.
    let never = route_named_never_flapping();
    let mut flaps = Flaps::default();
    for minute in 0..100 {
        flaps = flaps.flip(&never, at(minute));
    }
    assert!(!flaps.flapping(&never, at(100)));
}

fn route_named_never_flapping() -> Route {
    route("steady", |s| s.flap_limit = 0)
}

fn window(edit: impl FnOnce(&mut MaintenanceSpec)) -> Result<MaintenanceWindow, String> {
    let mut spec = MaintenanceSpec {
        matchers: vec![r#"service="db""#.to_owned()],
        starts: "2026-12-01T10:00:00Z".to_owned(),
        ends: "2026-12-01T11:00:00Z".to_owned(),
        repeat: None,
        reason: Some("database upgrade".to_owned()),
    };
    edit(&mut spec);
    MaintenanceWindow::from_spec("db-upgrade", &spec).map_err(|e| e.to_string())
}

#[test]
fn a_maintenance_window_holds_over_its_matchers_in_its_span_and_repeats() {
    let once = window(|_| {}).unwrap();
    let daily = window(|s| s.repeat = Some("daily".to_owned())).unwrap();
    let weekly = window(|s| s.repeat = Some("weekly".to_owned())).unwrap();
    let db = labels(&[("service", "db")]);
    let web = labels(&[("service", "web")]);
    let day = 24 * 60;
    // (window, minute, labels, holds)
    let cases: &[(&MaintenanceWindow, i64, &BTreeMap<String, String>, bool)] = &[
        (&once, -1, &db, false),
        (&once, 0, &db, true),
        (&once, 59, &db, true),
        (&once, 60, &db, false),
        (&once, 30, &web, false),
        (&once, day + 30, &db, false),
        (&daily, day + 30, &db, true),
        (&daily, day + 90, &db, false),
        (&daily, 6 * day + 10, &db, true),
        (&weekly, day + 30, &db, false),
        (&weekly, 7 * day + 30, &db, true),
        (&weekly, 14 * day + 59, &db, true),
    ];
    for (window, minute, given, expected) in cases {
        assert_eq!(
            window.holds(given, at(*minute)),
            *expected,
            "{:?} at minute {minute} over {given:?}",
            window.repeat
        );
    }
    // As written back, it reads the same.
    assert_eq!(
        MaintenanceWindow::from_spec("db-upgrade", &daily.spec()).unwrap(),
        daily
    );
}

#[test]
fn a_maintenance_window_is_checked_when_it_is_written() {
    let cases: &[WindowCase] = &[
        (|s| s.matchers.clear(), "matchers"),
        (|s| s.matchers = vec!["nonsense".to_owned()], "matchers"),
        (|s| s.starts = "tomorrow".to_owned(), "starts"),
        (
            |s| s.ends = "2026-12-01T09:00:00Z".to_owned(),
            "ends: must be after starts",
        ),
        (
            |s| {
                s.ends = "2026-12-02T11:00:00Z".to_owned();
                s.repeat = Some("daily".to_owned());
            },
            "shorter than its period",
        ),
        (|s| s.repeat = Some("hourly".to_owned()), "repeat"),
    ];
    for (edit, expected) in cases {
        let error = window(*edit).unwrap_err();
        assert!(error.contains(expected), "{error} should say {expected}");
    }
}

#[test]
fn why_an_alert_asks_nothing_of_anyone() {
    let routes = Routes::default().with_maintenance(vec![window(|_| {}).unwrap()]);
    let db = labels(&[("service", "db")]);
    let web = labels(&[("service", "web")]);
    let none = GroupHolds::default();
    let silenced = GroupHolds {
        silenced_until: Some(at(30)),
        silenced_by: Some("anna".to_owned()),
        acknowledged_by: None,
    };
    let acknowledged = GroupHolds {
        acknowledged_by: Some("sam".to_owned()),
        ..GroupHolds::default()
    };
    let window_quiet = Some(Quiet::Maintenance {
        window: "db-upgrade".to_owned(),
    });
    let silence_quiet = Some(Quiet::Silenced {
        until: at(30),
        by: "anna".to_owned(),
    });
    // (labels, holds, flapping, minute, why)
    let cases: Vec<QuietCase> = vec![
        (&db, &none, false, 10, window_quiet.clone()),
        (&db, &none, false, 70, None),
        (&web, &none, false, 10, None),
        (&web, &silenced, false, 10, silence_quiet.clone()),
        // A silence ends at its time.
        (&web, &silenced, false, 30, None),
        (
            &web,
            &acknowledged,
            false,
            10,
            Some(Quiet::Acknowledged {
                by: "sam".to_owned(),
            }),
        ),
        (&web, &none, true, 10, Some(Quiet::Flapping)),
        // The maintenance window is named first.
        (&db, &silenced, true, 10, window_quiet),
    ];
    for (given, holds, flapping, minute, expected) in cases {
        assert_eq!(
            quiet(&routes, given, holds, flapping, at(minute)),
            expected,
            "{given:?} {holds:?} flapping {flapping} at minute {minute}"
        );
    }
    assert!(!Quiet::Flapping.suppresses());
    assert!(
        Quiet::Silenced {
            until: at(30),
            by: "anna".to_owned()
        }
        .suppresses()
    );
}
