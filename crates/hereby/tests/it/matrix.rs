//! The authorization matrix: every route of the live OpenAPI document × every kind of caller
//! (including who holds which role on the incident) × (for routes about an incident) an
//! internal and a restricted incident, each cell with the exact status it must answer. A route the document lists but [`routes`] has no expectation
//! for fails the test, so nobody adds a route without deciding who may call it.
//!
//! The rules the expectations encode:
//! - no token, a revoked token or a disabled user's token: 401 everywhere under `/api/v1`
//!   except the OpenAPI document; health checks are public, metrics are for admins (and the
//!   scrape token);
//! - a restricted incident does not exist (404, never 403) for anyone but admins and its
//!   members (the person asked to take command among them), whatever they try to do with it;
//! - viewers read what they can see and get 403 for writes;
//! - admin-only routes answer 403 to everyone else;
//! - on an incident, the permission table decides who may do what: the Incident Commander
//!   and admins run it (status, severity, visibility, roles, hand-off, decisions),
//!   Communications (and the commander, and admins) post updates, only Operations records
//!   changes, anyone adds notes, links, evidence and action items; a refusal is 403
//!   `not_permitted`; making a restricted incident public needs an admin;
//! - whoever passes those gates gets the domain's own answer: success where the request's
//!   values let the rule pass, or the 422 code of a rule about *who* may act (only the
//!   Incident Commander hands off, only the recipient accepts, the commander does not
//!   perform operations).
//!
//! Every write cell runs on a fresh incident of its own, so no cell depends on another; reads
//! share one internal and one restricted incident. Live streams (`text/event-stream`) never
//! end: for them only the status line and headers are read before the connection is dropped.

use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::api::{Server, databases};

/// Who makes the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// The first admin (`hereby init`'s token).
    Admin,
    /// A responder who declared the incident: its Incident Commander.
    Member,
    /// A responder with nothing to do with the incident.
    NonMember,
    /// A responder holding Communications and Operations on the incident (not command).
    Holder,
    /// A viewer, never a member.
    Viewer,
    /// No `Authorization` header.
    Anonymous,
    /// A responder's revoked token.
    Revoked,
    /// A token of a responder who has since been disabled.
    Disabled,
}

const CALLERS: [Caller; 8] = [
    Caller::Admin,
    Caller::Member,
    Caller::NonMember,
    Caller::Holder,
    Caller::Viewer,
    Caller::Anonymous,
    Caller::Revoked,
    Caller::Disabled,
];

impl Caller {
    fn label(self) -> &'static str {
        match self {
            Caller::Admin => "admin",
            Caller::Member => "member (IC)",
            Caller::NonMember => "non-member",
            Caller::Holder => "communications + operations",
            Caller::Viewer => "viewer",
            Caller::Anonymous => "anonymous",
            Caller::Revoked => "revoked token",
            Caller::Disabled => "disabled user",
        }
    }

    /// The user name behind the token, whether or not the token still works.
    fn user(self) -> &'static str {
        match self {
            Caller::Admin => "root",
            Caller::Member => "rita",
            Caller::NonMember => "dave",
            Caller::Holder => "hana",
            Caller::Viewer => "vic",
            // No identity of its own: stands in with an uninvolved user.
            Caller::Anonymous => "olga",
            Caller::Revoked => "rex",
            Caller::Disabled => "dina",
        }
    }

    fn signed_in(self) -> bool {
        matches!(
            self,
            Caller::Admin | Caller::Member | Caller::NonMember | Caller::Holder | Caller::Viewer
        )
    }

    /// Whom a hand-off is addressed to when a cell needs one "to the caller": the caller if
    /// they could take command, otherwise an uninvolved responder.
    fn handoff_target(self) -> &'static str {
        match self {
            Caller::Admin | Caller::NonMember | Caller::Holder | Caller::Viewer => self.user(),
            _ => "olga",
        }
    }
}

/// The "incident" column: what the request is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subject {
    /// Not about an incident.
    Nothing,
    Internal,
    Restricted,
    /// Token and password routes: the caller's own token or password.
    Own,
    /// Token and password routes: somebody else's.
    Others,
}

impl Subject {
    fn label(self) -> &'static str {
        match self {
            Subject::Nothing => "-",
            Subject::Internal => "internal",
            Subject::Restricted => "restricted",
            Subject::Own => "own",
            Subject::Others => "someone else's",
        }
    }

    fn visibility(self) -> &'static str {
        match self {
            Subject::Restricted => "restricted",
            _ => "internal",
        }
    }
}

/// What a cell must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Status(u16),
    /// 422 with this rejection code: the caller passed every gate and the domain answered.
    Rule(&'static str),
    /// 403 `not_permitted`: the permission table does not let this caller do this here.
    Refused,
}

impl Expect {
    fn matches(self, status: u16, code: &str) -> bool {
        match self {
            Expect::Status(expected) => status == expected,
            Expect::Rule(expected) => status == 422 && code == expected,
            Expect::Refused => status == 403 && code == "not_permitted",
        }
    }
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Status(status) => write!(f, "{status}"),
            Expect::Rule(code) => write!(f, "422 {code}"),
            Expect::Refused => write!(f, "403 not_permitted"),
        }
    }
}

/// A request body.
#[derive(Debug, Clone, Copy)]
enum Body {
    None,
    /// JSON; `{n}` becomes a number unique in the run, `{visibility}` the subject's.
    Json(&'static str),
    /// A small text file, as an attachment upload sends it.
    File,
}

/// Who the permission table lets make a write on an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Any responder (notes, links, evidence, action items), or a command whose rule of who
    /// may is its own (a hand-off's answer, the post-mortem's steps, the witness rule).
    Anyone,
    /// The Incident Commander and admins.
    Commander,
    /// Communications, the Incident Commander and admins.
    Updates,
    /// Operations only.
    Operations,
    /// Making the incident public: as [`Need::Commander`], but only admins for a restricted
    /// one.
    Publish,
}

/// A write on an incident.
#[derive(Debug, Clone, Copy)]
struct Change {
    /// Who may make it.
    needs: Need,
    /// What the Incident Commander does on the fresh incident first: method, path after the
    /// incident, JSON body. `{caller}` in a body becomes [`Caller::handoff_target`].
    setup: &'static [(&'static str, &'static str, &'static str)],
    body: Body,
    /// The answer to the member, who is the Incident Commander.
    as_commander: Expect,
    /// The answer to anyone else the table lets write: an admin, a responder on an internal
    /// incident, a role holder.
    as_other: Expect,
}

/// Who may call a route.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Outside the bearer-token scheme: 200 for everyone.
    Public,
    /// Any signed-in user; what they see is filtered, never refused.
    SignedIn,
    /// Any signed-in user, asking for something that does not exist (404).
    SignedInAbsent,
    /// Admins only, with the admin's success status.
    AdminOnly(u16),
    /// Admins only; PostgreSQL is backed up with its own tools.
    Backup,
    /// Responders and admins; the subject is the new incident's visibility.
    Declare,
    /// Responders and admins, on nothing incident-scoped, with the success status.
    Responder(u16),
    /// Anyone for their own token, admins for anyone's (403 for others).
    TokenCreate,
    /// Anyone their own token; other people's tokens do not exist for non-admins (404).
    TokenRevoke,
    /// Anyone their own password, address or working hours (viewers too), admins anyone's
    /// (403 for others), with the success status.
    Password(u16),
    /// A read of one incident.
    Read,
    /// A write on one incident.
    Write(Change),
}

impl Kind {
    fn subjects(self) -> &'static [Subject] {
        match self {
            Kind::Public
            | Kind::SignedIn
            | Kind::SignedInAbsent
            | Kind::AdminOnly(_)
            | Kind::Backup
            | Kind::Responder(_) => &[Subject::Nothing],
            Kind::Declare | Kind::Read | Kind::Write(_) => {
                &[Subject::Internal, Subject::Restricted]
            }
            Kind::TokenCreate | Kind::TokenRevoke | Kind::Password(_) => {
                &[Subject::Own, Subject::Others]
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Route {
    method: &'static str,
    path: &'static str,
    kind: Kind,
    body: Body,
}

const OK: Expect = Expect::Status(200);

/// A write any responder may make, whose rule passes.
const fn change(body: Body) -> Kind {
    changed_after(&[], body)
}

const fn changed_after(
    setup: &'static [(&'static str, &'static str, &'static str)],
    body: Body,
) -> Kind {
    needing(Need::Anyone, setup, body)
}

/// A write only the Incident Commander and admins may make, whose rule passes.
const fn commanded(body: Body) -> Kind {
    needing(Need::Commander, &[], body)
}

const fn needing(
    needs: Need,
    setup: &'static [(&'static str, &'static str, &'static str)],
    body: Body,
) -> Kind {
    Kind::Write(Change {
        needs,
        setup,
        body,
        as_commander: OK,
        as_other: OK,
    })
}

const ADD_ITEM: (&str, &str, &str) = (
    "POST",
    "/action-items",
    r#"{"text":"add an alert","owner":"olga"}"#,
);
const ADD_OPERATIONS: (&str, &str, &str) =
    ("POST", "/roles", r#"{"role":"operations","person":"olga"}"#);
const RESOLVE: (&str, &str, &str) = ("POST", "/resolve", "");
const DRAFT: (&str, &str, &str) = ("POST", "/postmortem", "");
const SUBMIT: (&str, &str, &str) = ("POST", "/postmortem/submit", "");
/// A resolved incident with a post-mortem in review, whose owner is the member (the IC).
const IN_REVIEW: &[(&str, &str, &str)] = &[RESOLVE, DRAFT, SUBMIT];

/// Every route with its rule. Path parameters are filled by [`fill`].
fn routes() -> Vec<Route> {
    use Body::{File, Json, None as NoBody};
    let route = |method, path, kind| Route {
        method,
        path,
        kind,
        body: NoBody,
    };
    let with = |method, path, kind, body| Route {
        method,
        path,
        kind,
        body,
    };
    let incident = |method, path: &'static str, kind| Route {
        method,
        path,
        kind,
        body: match kind {
            Kind::Write(change) => change.body,
            _ => NoBody,
        },
    };
    vec![
        route("GET", "/healthz", Kind::Public),
        route("GET", "/readyz", Kind::Public),
        route("GET", "/metrics", Kind::AdminOnly(200)),
        route("GET", "/api/v1/openapi.json", Kind::Public),
        with(
            "POST",
            "/api/v1/incidents",
            Kind::Declare,
            Json(r#"{"title":"Matrix declares","visibility":"{visibility}"}"#),
        ),
        route("GET", "/api/v1/incidents", Kind::SignedIn),
        route("GET", "/api/v1/search", Kind::SignedIn),
        route("GET", "/api/v1/insights", Kind::SignedIn),
        route("GET", "/api/v1/postmortems", Kind::SignedIn),
        route("GET", "/api/v1/events", Kind::SignedIn),
        route("GET", "/api/v1/export", Kind::SignedIn),
        route("GET", "/api/v1/verify", Kind::AdminOnly(200)),
        route("POST", "/api/v1/backup", Kind::Backup),
        route("GET", "/api/v1/me", Kind::SignedIn),
        route("GET", "/api/v1/users", Kind::AdminOnly(200)),
        with(
            "POST",
            "/api/v1/users",
            Kind::AdminOnly(201),
            Json(r#"{"name":"new{n}"}"#),
        ),
        with(
            "PATCH",
            "/api/v1/users/{name}",
            Kind::AdminOnly(200),
            Json(r#"{"role":"responder"}"#),
        ),
        with(
            "PUT",
            "/api/v1/users/{name}/password",
            Kind::Password(204),
            Json(r#"{"password":"matrix password {n}"}"#),
        ),
        with(
            "PUT",
            "/api/v1/users/{name}/working-hours",
            Kind::Password(200),
            Json(r#"{"time_zone":"Europe/Berlin","working":"09:00-17:00"}"#),
        ),
        route(
            "GET",
            "/api/v1/users/{name}/working-hours",
            Kind::Password(200),
        ),
        with(
            "PUT",
            "/api/v1/users/{name}/email",
            Kind::Password(204),
            Json(r#"{"email":"matrix{n}@example.com"}"#),
        ),
        route("GET", "/api/v1/channels", Kind::AdminOnly(200)),
        with(
            "POST",
            "/api/v1/channels",
            Kind::AdminOnly(201),
            Json(r#"{"name":"matrix{n}","kind":"slack","url":"http://127.0.0.1:9/hook"}"#),
        ),
        // Admins pass the gate and learn the channel does not exist.
        route("DELETE", "/api/v1/channels/{id}", Kind::AdminOnly(404)),
        route("POST", "/api/v1/channels/{id}/test", Kind::AdminOnly(404)),
        route("GET", "/api/v1/subscriptions", Kind::AdminOnly(200)),
        with(
            "POST",
            "/api/v1/subscriptions",
            Kind::AdminOnly(422),
            Json(r#"{"channel":"no-such-channel","events":["declared"]}"#),
        ),
        route("DELETE", "/api/v1/subscriptions/{id}", Kind::AdminOnly(404)),
        route("GET", "/api/v1/deliveries", Kind::AdminOnly(200)),
        route(
            "POST",
            "/api/v1/deliveries/{id}/retry",
            Kind::AdminOnly(404),
        ),
        route("GET", "/api/v1/tokens", Kind::SignedIn),
        route("POST", "/api/v1/tokens", Kind::TokenCreate),
        route("DELETE", "/api/v1/tokens/{id}", Kind::TokenRevoke),
        route("GET", "/api/v1/components", Kind::SignedIn),
        with(
            "PUT",
            "/api/v1/components/{name}",
            Kind::AdminOnly(200),
            Json(r#"{"description":"matrix {n}"}"#),
        ),
        // Deletes name something never made (cells run concurrently, so a PUT's `scratch`
        // may or may not exist yet); everyone but the admin is refused before the lookup.
        route("DELETE", "/api/v1/components/{name}", Kind::AdminOnly(404)),
        route("GET", "/api/v1/status-page", Kind::SignedIn),
        with(
            "PUT",
            "/api/v1/status-page",
            Kind::AdminOnly(200),
            Json(r#"{"description":"matrix {n}"}"#),
        ),
        route("GET", "/api/v1/status-subscribers", Kind::AdminOnly(200)),
        route(
            "DELETE",
            "/api/v1/status-subscribers/{subscriber}",
            Kind::AdminOnly(404),
        ),
        route("GET", "/api/v1/maintenances", Kind::SignedIn),
        route(
            "GET",
            "/api/v1/maintenances/{maintenance}",
            Kind::SignedInAbsent,
        ),
        // A plan on a component the page does not have: checked after the role.
        with(
            "POST",
            "/api/v1/maintenances",
            Kind::Responder(422),
            Json(
                r#"{"title":"matrix","components":["never-made"],"starts_at":"2099-01-01T00:00:00Z","ends_at":"2099-01-01T01:00:00Z"}"#,
            ),
        ),
        with(
            "PUT",
            "/api/v1/maintenances/{maintenance}",
            Kind::Responder(404),
            Json(
                r#"{"title":"matrix","components":["never-made"],"starts_at":"2099-01-01T00:00:00Z","ends_at":"2099-01-01T01:00:00Z"}"#,
            ),
        ),
        route(
            "DELETE",
            "/api/v1/maintenances/{maintenance}",
            Kind::Responder(404),
        ),
        with(
            "POST",
            "/api/v1/maintenances/{maintenance}/updates",
            Kind::Responder(404),
            Json(r#"{"body":"matrix"}"#),
        ),
        route("GET", "/api/v1/templates", Kind::SignedIn),
        route("GET", "/api/v1/templates/{name}", Kind::SignedIn),
        with(
            "PUT",
            "/api/v1/templates/{name}",
            Kind::AdminOnly(200),
            Json(r#"{"subject":"About {{ id }}","body":"matrix {n}"}"#),
        ),
        route("DELETE", "/api/v1/templates/{name}", Kind::AdminOnly(404)),
        incident(
            "GET",
            "/api/v1/incidents/{id}/messages/{template}",
            Kind::Read,
        ),
        incident("GET", "/api/v1/incidents/{id}", Kind::Read),
        incident("GET", "/api/v1/incidents/{id}/timeline", Kind::Read),
        incident("GET", "/api/v1/incidents/{id}/events", Kind::Read),
        incident("GET", "/api/v1/incidents/{id}/attachments", Kind::Read),
        incident(
            "GET",
            "/api/v1/incidents/{id}/attachments/{sha256}",
            Kind::Read,
        ),
        incident("GET", "/api/v1/incidents/{id}/verify", Kind::Read),
        incident(
            "POST",
            "/api/v1/incidents/{id}/notes",
            change(Json(r#"{"text":"matrix note"}"#)),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/roles",
            commanded(Json(r#"{"role":"operations","person":"olga"}"#)),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/updates",
            needing(
                Need::Updates,
                &[],
                Json(r#"{"audience":"customers","body":"matrix update"}"#),
            ),
        ),
        // Someone commands every matrix incident: taking command is refused by the rule,
        // after the visibility and installation-role gates.
        incident(
            "POST",
            "/api/v1/incidents/{id}/take-command",
            Kind::Write(Change {
                needs: Need::Anyone,
                setup: &[],
                body: NoBody,
                as_commander: Expect::Rule("use_handoff"),
                as_other: Expect::Rule("use_handoff"),
            }),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/triage/accept",
            Kind::Write(Change {
                needs: Need::Anyone,
                setup: &[],
                body: NoBody,
                as_commander: Expect::Rule("not_candidate"),
                as_other: Expect::Rule("not_candidate"),
            }),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/triage/decline",
            Kind::Write(Change {
                needs: Need::Anyone,
                setup: &[],
                body: Json(r#"{"reason":"a test"}"#),
                as_commander: Expect::Rule("not_candidate"),
                as_other: Expect::Rule("not_candidate"),
            }),
        ),
        // Not a candidate: refused by the core once the incident's own gates pass, before
        // the other incident (which does not exist) is looked at.
        incident(
            "POST",
            "/api/v1/incidents/{id}/triage/merge",
            Kind::Write(Change {
                needs: Need::Anyone,
                setup: &[],
                body: Json(r#"{"into":"INC-999999"}"#),
                as_commander: Expect::Rule("not_candidate"),
                as_other: Expect::Rule("not_candidate"),
            }),
        ),
        incident(
            "PUT",
            "/api/v1/incidents/{id}/public-summary",
            needing(
                Need::Updates,
                &[],
                Json(r#"{"text":"matrix public summary"}"#),
            ),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/visibility",
            needing(
                Need::Publish,
                &[],
                Json(r#"{"visibility":"public","reason":"matrix"}"#),
            ),
        ),
        incident(
            "DELETE",
            "/api/v1/incidents/{id}/roles/{role}/{person}",
            needing(Need::Commander, &[ADD_OPERATIONS], NoBody),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/handoff",
            commanded(Json(r#"{"to":"olga"}"#)),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/handoff/accept",
            Kind::Write(Change {
                needs: Need::Anyone,
                setup: &[("POST", "/handoff", r#"{"to":"{caller}"}"#)],
                body: NoBody,
                as_commander: Expect::Rule("not_handoff_recipient"),
                as_other: OK,
            }),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/handoff/decline",
            Kind::Write(Change {
                needs: Need::Anyone,
                setup: &[("POST", "/handoff", r#"{"to":"{caller}"}"#)],
                body: NoBody,
                as_commander: Expect::Rule("not_handoff_recipient"),
                as_other: OK,
            }),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/handoff/cancel",
            needing(
                Need::Commander,
                &[("POST", "/handoff", r#"{"to":"olga"}"#)],
                NoBody,
            ),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/severity",
            commanded(Json(r#"{"severity":"SEV1","reason":"all regions"}"#)),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/status",
            commanded(Json(r#"{"status":"identified"}"#)),
        ),
        incident("POST", "/api/v1/incidents/{id}/resolve", commanded(NoBody)),
        incident(
            "POST",
            "/api/v1/incidents/{id}/call-off",
            commanded(Json(r#"{"reason":"false alarm"}"#)),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/hand-back",
            commanded(Json(r#"{"reason":"support has it"}"#)),
        ),
        incident(
            "PUT",
            "/api/v1/incidents/{id}/impact",
            commanded(Json(r#"{"start":"2020-01-01T00:00:00Z"}"#)),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/milestones",
            commanded(Json(
                r#"{"milestone":"started","at":"2020-01-01T00:00:00Z","reason":"the matrix"}"#,
            )),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/operations",
            Kind::Write(Change {
                needs: Need::Operations,
                setup: &[],
                body: Json(r#"{"target":"db","action":"restart"}"#),
                as_commander: Expect::Rule("ic_cannot_operate"),
                as_other: OK,
            }),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/links",
            change(Json(
                r#"{"kind":"doc","url":"https://example.com/runbook"}"#,
            )),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/action-items",
            change(Json(r#"{"text":"add an alert","owner":"olga"}"#)),
        ),
        incident(
            "PATCH",
            "/api/v1/incidents/{id}/action-items/{item}",
            changed_after(&[ADD_ITEM], Json(r#"{"due":"2030-01-01"}"#)),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/action-items/{item}/done",
            changed_after(&[ADD_ITEM], NoBody),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/action-items/{item}/wont-fix",
            changed_after(&[ADD_ITEM], Json(r#"{"reason":"not worth it"}"#)),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/action-items/{item}/reopen",
            changed_after(&[ADD_ITEM, ("POST", "/action-items/1/done", "")], NoBody),
        ),
        // No tracker is set up here: whoever may change the incident hears that it has none
        // (the export itself is tested in trackers.rs).
        incident(
            "POST",
            "/api/v1/incidents/{id}/action-items/{item}/export",
            Kind::Write(Change {
                needs: Need::Anyone,
                setup: &[ADD_ITEM],
                body: Json(r#"{"tracker":"nowhere"}"#),
                as_commander: Expect::Rule("invalid_value"),
                as_other: Expect::Rule("invalid_value"),
            }),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/action-items/{item}/unlink",
            Kind::Write(Change {
                needs: Need::Anyone,
                setup: &[ADD_ITEM],
                body: Json(r#"{"reason":"moved"}"#),
                as_commander: Expect::Rule("not_tracked"),
                as_other: Expect::Rule("not_tracked"),
            }),
        ),
        incident("GET", "/api/v1/incidents/{id}/tracked-items", Kind::Read),
        incident(
            "POST",
            "/api/v1/incidents/{id}/members",
            commanded(Json(r#"{"person":"olga"}"#)),
        ),
        incident(
            "DELETE",
            "/api/v1/incidents/{id}/members/{person}",
            needing(
                Need::Commander,
                &[("POST", "/members", r#"{"person":"olga"}"#)],
                NoBody,
            ),
        ),
        incident("POST", "/api/v1/incidents/{id}/attachments", change(File)),
        route("GET", "/api/v1/postmortem-templates", Kind::SignedIn),
        with(
            "PUT",
            "/api/v1/postmortem-templates/{name}",
            Kind::AdminOnly(200),
            Json(r##"{"body":"# {{ incident }}: matrix {n}\n\n## Timeline\n"}"##),
        ),
        route(
            "DELETE",
            "/api/v1/postmortem-templates/{name}",
            Kind::AdminOnly(404),
        ),
        route("GET", "/api/v1/blame-rules", Kind::SignedIn),
        with(
            "PUT",
            "/api/v1/blame-rules",
            Kind::AdminOnly(200),
            Json(
                r#"{"pattern":"matrix{n} dropped the ball","suggestion":"Say what the system allowed."}"#,
            ),
        ),
        route("DELETE", "/api/v1/blame-rules", Kind::AdminOnly(404)),
        route("GET", "/api/v1/reviews", Kind::SignedIn),
        incident("GET", "/api/v1/incidents/{id}/postmortem", Kind::Read),
        incident(
            "GET",
            "/api/v1/incidents/{id}/postmortem/revisions",
            Kind::Read,
        ),
        incident("GET", "/api/v1/incidents/{id}/postmortem/diff", Kind::Read),
        incident("GET", "/api/v1/incidents/{id}/postmortem/lint", Kind::Read),
        incident(
            "GET",
            "/api/v1/incidents/{id}/postmortem/export",
            Kind::Read,
        ),
        incident("GET", "/api/v1/incidents/{id}/reviews", Kind::Read),
        incident("GET", "/api/v1/incidents/{id}/reviews/next.ics", Kind::Read),
        incident(
            "POST",
            "/api/v1/incidents/{id}/postmortem",
            Kind::Write(Change {
                needs: Need::Anyone,
                setup: &[RESOLVE],
                body: Json(r#"{"template":"short"}"#),
                as_commander: Expect::Status(201),
                as_other: Expect::Status(201),
            }),
        ),
        incident(
            "PUT",
            "/api/v1/incidents/{id}/postmortem",
            changed_after(
                &[RESOLVE, DRAFT],
                Json(r##"{"body":"# Edited in the matrix"}"##),
            ),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/postmortem/timeline",
            changed_after(&[RESOLVE, DRAFT], NoBody),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/postmortem/comments",
            changed_after(&[RESOLVE, DRAFT], Json(r#"{"text":"matrix comment"}"#)),
        ),
        incident(
            "PUT",
            "/api/v1/incidents/{id}/postmortem/tags",
            changed_after(
                &[RESOLVE, DRAFT],
                Json(r#"{"tags":["matrix"],"factors":["drill"]}"#),
            ),
        ),
        // Only the review's owner (the member, as IC) runs the workflow; the owner does not
        // approve their own review.
        incident(
            "PUT",
            "/api/v1/incidents/{id}/postmortem/owner",
            Kind::Write(Change {
                needs: Need::Anyone,
                // The new owner must be a member of a restricted incident.
                setup: &[RESOLVE, DRAFT, ("POST", "/members", r#"{"person":"olga"}"#)],
                body: Json(r#"{"owner":"olga"}"#),
                as_commander: OK,
                as_other: Expect::Rule("not_review_owner"),
            }),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/postmortem/submit",
            Kind::Write(Change {
                needs: Need::Anyone,
                setup: &[RESOLVE, DRAFT],
                body: NoBody,
                as_commander: OK,
                as_other: Expect::Rule("not_review_owner"),
            }),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/postmortem/approve",
            Kind::Write(Change {
                needs: Need::Anyone,
                setup: IN_REVIEW,
                body: NoBody,
                as_commander: Expect::Rule("owner_cannot_approve"),
                as_other: OK,
            }),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/postmortem/reviewed",
            Kind::Write(Change {
                needs: Need::Anyone,
                setup: IN_REVIEW,
                body: NoBody,
                as_commander: Expect::Rule("approval_required"),
                as_other: Expect::Rule("not_review_owner"),
            }),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/postmortem/publish",
            Kind::Write(Change {
                needs: Need::Anyone,
                setup: IN_REVIEW,
                body: NoBody,
                as_commander: Expect::Rule("postmortem_state"),
                as_other: Expect::Rule("not_review_owner"),
            }),
        ),
        incident(
            "PUT",
            "/api/v1/incidents/{id}/timeline/{sequence}/mark",
            change(Json(r#"{"mark":"starred"}"#)),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/reviews",
            changed_after(&[RESOLVE], Json(r#"{"attendees":["olga"]}"#)),
        ),
        incident(
            "PUT",
            "/api/v1/incidents/{id}/reviews/next",
            changed_after(&[RESOLVE], Json(r#"{"at":"2030-01-01T00:00:00Z"}"#)),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/evaluation",
            commanded(Json(
                r#"{"live":true,"availability":true,"data_loss_or_security":false,"workaround":true}"#,
            )),
        ),
        incident("GET", "/api/v1/incidents/{id}/releases", Kind::Read),
        incident(
            "POST",
            "/api/v1/incidents/{id}/suspect-release",
            commanded(Json(r#"{"service":"catalogued","version":"1.0"}"#)),
        ),
        incident("GET", "/api/v1/incidents/{id}/ladder", Kind::Read),
        incident(
            "POST",
            "/api/v1/incidents/{id}/decisions",
            commanded(Json(r#"{"option":"do_nothing","motivation":"matrix"}"#)),
        ),
        // The member is the Incident Commander, who announces and makes no changes.
        incident(
            "POST",
            "/api/v1/incidents/{id}/intents",
            Kind::Write(Change {
                needs: Need::Operations,
                setup: &[],
                body: Json(r#"{"target":"db","action":"restart"}"#),
                as_commander: Expect::Rule("ic_cannot_operate"),
                as_other: OK,
            }),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/intents/{intent}/done",
            Kind::Write(Change {
                needs: Need::Operations,
                setup: &[],
                body: Json("{}"),
                as_commander: Expect::Rule("ic_cannot_operate"),
                as_other: Expect::Rule("unknown_intent"),
            }),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/intents/{intent}/abandon",
            Kind::Write(Change {
                needs: Need::Anyone,
                setup: &[],
                body: Json("{}"),
                as_commander: Expect::Rule("unknown_intent"),
                as_other: Expect::Rule("unknown_intent"),
            }),
        ),
        incident(
            "PUT",
            "/api/v1/incidents/{id}/witness-rule",
            Kind::Write(Change {
                needs: Need::Anyone,
                setup: &[],
                body: Json(r#"{"required":true}"#),
                as_commander: OK,
                as_other: Expect::Rule("not_incident_commander"),
            }),
        ),
        incident(
            "POST",
            "/api/v1/incidents/{id}/changes/acknowledge",
            Kind::Write(Change {
                needs: Need::Anyone,
                setup: &[],
                body: NoBody,
                as_commander: Expect::Rule("nothing_to_change"),
                as_other: Expect::Rule("not_incident_commander"),
            }),
        ),
        route("GET", "/api/v1/settings", Kind::SignedIn),
        route("GET", "/api/v1/settings/{kind}", Kind::SignedIn),
        route("GET", "/api/v1/settings/{kind}/{name}", Kind::SignedIn),
        with(
            "PUT",
            "/api/v1/settings/{kind}/{name}",
            Kind::AdminOnly(200),
            Json(r#"{"subject":"Matrix {n}: {{ title }}","body":"matrix {n}"}"#),
        ),
        route(
            "DELETE",
            "/api/v1/settings/{kind}/{name}",
            Kind::AdminOnly(404),
        ),
        route("GET", "/api/v1/services", Kind::SignedIn),
        route("GET", "/api/v1/services/{name}", Kind::SignedIn),
        with(
            "PUT",
            "/api/v1/services/{name}",
            Kind::AdminOnly(200),
            Json(r#"{"owner_team":"matrix","criticality":"low","description":"matrix {n}"}"#),
        ),
        route("DELETE", "/api/v1/services/{name}", Kind::AdminOnly(404)),
        with(
            "POST",
            "/api/v1/services/import",
            Kind::AdminOnly(200),
            Json(r#"{"services":[{"name":"imported","owner_team":"matrix","criticality":"low"}]}"#),
        ),
        with(
            "POST",
            "/api/v1/releases",
            Kind::Responder(201),
            Json(r#"{"service":"catalogued","version":"m{n}"}"#),
        ),
        route("GET", "/api/v1/releases", Kind::SignedIn),
        route("GET", "/api/v1/severity-rules", Kind::SignedIn),
        route("GET", "/api/v1/permissions", Kind::SignedIn),
        route("GET", "/api/v1/integrations", Kind::AdminOnly(200)),
        with(
            "POST",
            "/api/v1/integrations",
            Kind::AdminOnly(201),
            Json(r#"{"name":"matrix{n}","kind":"generic"}"#),
        ),
        // Admins pass the gate and learn the integration does not exist.
        with(
            "POST",
            "/api/v1/integrations/{name}/rotate",
            Kind::AdminOnly(404),
            Json("{}"),
        ),
        route(
            "DELETE",
            "/api/v1/integrations/{name}",
            Kind::AdminOnly(404),
        ),
        route("GET", "/api/v1/alert-groups", Kind::SignedIn),
        route("GET", "/api/v1/alert-groups/{id}", Kind::SignedInAbsent),
        with(
            "POST",
            "/api/v1/alert-groups/{id}/attach",
            Kind::SignedInAbsent,
            Json(r#"{"incident":"INC-1"}"#),
        ),
        route(
            "POST",
            "/api/v1/alert-groups/{id}/ack",
            Kind::SignedInAbsent,
        ),
        with(
            "POST",
            "/api/v1/alert-groups/{id}/silence",
            Kind::SignedInAbsent,
            Json(r#"{"for":"1h"}"#),
        ),
        route("POST", "/api/v1/chat/link-code", Kind::SignedIn),
        route("GET", "/api/v1/chat/links", Kind::SignedIn),
        with(
            "PUT",
            "/api/v1/chat/links",
            Kind::AdminOnly(200),
            Json(r#"{"platform":"matrix","chat_user":"@m{n}:example.org","user":"olga"}"#),
        ),
        route(
            "DELETE",
            "/api/v1/chat/links/{platform}/{chat_user}",
            Kind::SignedInAbsent,
        ),
    ]
}

/// The status a cell must answer.
fn expected(kind: Kind, caller: Caller, subject: Subject, sqlite: bool) -> Expect {
    use Expect::Status;
    if let Kind::Public = kind {
        return Status(200);
    }
    if !caller.signed_in() {
        return Status(401);
    }
    let admin = caller == Caller::Admin;
    // A restricted incident exists only for admins and its members.
    let member = caller == Caller::Member;
    let sees = admin || member || caller == Caller::Holder || subject != Subject::Restricted;
    match kind {
        Kind::Public | Kind::SignedIn => Status(200),
        Kind::SignedInAbsent => Status(404),
        Kind::AdminOnly(ok) => Status(if admin { ok } else { 403 }),
        Kind::Backup => match (admin, sqlite) {
            (false, _) => Status(403),
            (true, true) => Status(200),
            (true, false) => Expect::Rule("invalid_write"),
        },
        Kind::Declare => Status(if caller == Caller::Viewer { 403 } else { 201 }),
        Kind::Responder(ok) => Status(if caller == Caller::Viewer { 403 } else { ok }),
        Kind::TokenCreate => Status(if subject == Subject::Others && !admin {
            403
        } else {
            201
        }),
        Kind::TokenRevoke => Status(if subject == Subject::Others && !admin {
            404
        } else {
            200
        }),
        Kind::Password(ok) => Status(if subject == Subject::Others && !admin {
            403
        } else {
            ok
        }),
        Kind::Read => Status(if sees { 200 } else { 404 }),
        Kind::Write(change) => {
            // The person asked to take command sees the incident while the request waits.
            let asked = change
                .setup
                .iter()
                .any(|(_, path, body)| *path == "/handoff" && body.contains("{caller}"))
                && caller.handoff_target() == caller.user();
            if !(sees || asked) {
                Status(404)
            } else if caller == Caller::Viewer {
                Status(403)
            } else if !match change.needs {
                Need::Anyone => true,
                Need::Commander => admin || member,
                Need::Updates => admin || member || caller == Caller::Holder,
                // The commander is refused by the practice's own rule, in `as_commander`.
                Need::Operations => member || caller == Caller::Holder,
                Need::Publish => admin || (member && subject != Subject::Restricted),
            } {
                Expect::Refused
            } else if member {
                change.as_commander
            } else {
                change.as_other
            }
        }
    }
}

/// One request on its own connection: the status and the error code (empty when none).
/// Streams (`text/event-stream`) never end, so for them only the status line is read.
fn exchange(
    address: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<(&str, &[u8])>,
) -> (u16, Value) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    if let Some(token) = token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let content: &[u8] = match body {
        Some((content_type, content)) => {
            head.push_str(&format!("Content-Type: {content_type}\r\n"));
            content
        }
        None => b"",
    };
    head.push_str(&format!("Content-Length: {}\r\n\r\n", content.len()));
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(content).unwrap();
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: no status line: {status_line:?}"));
    let mut headers = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
            break;
        }
        headers.push_str(&line.to_ascii_lowercase());
    }
    if headers.contains("content-type: text/event-stream") {
        // Dropping the connection ends the stream on the server's side.
        return (status, Value::Null);
    }
    let mut payload = Vec::new();
    reader.read_to_end(&mut payload).unwrap();
    (
        status,
        serde_json::from_slice(&payload).unwrap_or(Value::Null),
    )
}

fn code(body: &Value) -> String {
    body["error"]["code"].as_str().unwrap_or("").to_owned()
}

/// The server, its callers' tokens and the shared incidents.
struct World<'a> {
    server: &'a Server,
    sqlite: bool,
    tokens: Vec<(Caller, Option<String>)>,
    /// The shared incidents reads go to, each with one attachment: (id, its SHA-256).
    internal: (String, String),
    restricted: (String, String),
    unique: AtomicUsize,
}

impl<'a> World<'a> {
    fn new(server: &'a Server, sqlite: bool) -> Self {
        let mut world = Self {
            server,
            sqlite,
            tokens: Vec::new(),
            internal: Default::default(),
            restricted: Default::default(),
            unique: AtomicUsize::new(0),
        };
        let admin = Some(server.admin.clone());
        let rita = server.user("rita", "responder");
        let dave = server.user("dave", "responder");
        let hana = server.user("hana", "responder");
        let vic = server.user("vic", "viewer");
        server.user("olga", "responder");
        server.user("scratch", "responder");
        let dina = server.user("dina", "responder");
        world.must(
            "PATCH",
            "/api/v1/users/dina",
            &server.admin,
            r#"{"disabled":true}"#,
        );
        server.user("rex", "responder");
        let created = world.must(
            "POST",
            "/api/v1/tokens",
            &server.admin,
            r#"{"label":"soon revoked","user":"rex"}"#,
        );
        let rex = created["token"].as_str().unwrap().to_owned();
        let id = created["id"].as_i64().unwrap();
        world.must("DELETE", &format!("/api/v1/tokens/{id}"), &server.admin, "");
        world.tokens = vec![
            (Caller::Admin, admin),
            (Caller::Member, Some(rita)),
            (Caller::NonMember, Some(dave)),
            (Caller::Holder, Some(hana)),
            (Caller::Viewer, Some(vic)),
            (Caller::Anonymous, None),
            (Caller::Revoked, Some(rex)),
            (Caller::Disabled, Some(dina)),
        ];
        world.must(
            "PUT",
            "/api/v1/services/catalogued",
            &server.admin,
            r#"{"owner_team":"matrix","criticality":"high"}"#,
        );
        world.must(
            "POST",
            "/api/v1/releases",
            &server.admin,
            r#"{"service":"catalogued","version":"1.0"}"#,
        );
        for subject in [Subject::Internal, Subject::Restricted] {
            let id = world.declare(subject);
            world.staff_holder(&id);
            let (status, body) = world.call(
                "POST",
                &format!("/api/v1/incidents/{id}/attachments?name=evidence.txt"),
                world.token(Caller::Member).as_deref(),
                Body::File,
                subject,
            );
            assert_eq!(status, 200, "{body}");
            let sha256 = body["entries"][0]["body"]["sha256"]
                .as_str()
                .unwrap_or_else(|| panic!("no sha256 in {body}"))
                .to_owned();
            // Resolved with a drafted post-mortem, so its reads (and the planned review
            // meeting's invitation) have something to show.
            let rita = world.token(Caller::Member).unwrap();
            world.must(
                "POST",
                &format!("/api/v1/incidents/{id}/resolve"),
                &rita,
                "",
            );
            world.must(
                "POST",
                &format!("/api/v1/incidents/{id}/postmortem"),
                &rita,
                "",
            );
            match subject {
                Subject::Internal => world.internal = (id, sha256),
                _ => world.restricted = (id, sha256),
            }
        }
        world
    }

    fn token(&self, caller: Caller) -> Option<String> {
        self.tokens
            .iter()
            .find(|(who, _)| *who == caller)
            .and_then(|(_, token)| token.clone())
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Body,
        subject: Subject,
    ) -> (u16, Value) {
        let json;
        let body = match body {
            Body::None => None,
            Body::Json(template) => {
                let n = self.unique.fetch_add(1, Ordering::Relaxed);
                json = template
                    .replace("{n}", &n.to_string())
                    .replace("{visibility}", subject.visibility());
                Some(("application/json", json.as_bytes()))
            }
            Body::File => Some(("text/plain", b"connection refused at 09:31\n".as_slice())),
        };
        exchange(&self.server.address, method, path, token, body)
    }

    /// A request that must succeed, as part of setting a cell up.
    fn must(&self, method: &str, path: &str, token: &str, body: &str) -> Value {
        let body = (!body.is_empty()).then_some(("application/json", body.as_bytes()));
        let (status, answer) = exchange(&self.server.address, method, path, Some(token), body);
        assert!(
            (200..300).contains(&status),
            "setting up: {method} {path} answered {status}: {answer}"
        );
        answer
    }

    /// A fresh incident declared by the member, who becomes its Incident Commander.
    fn declare(&self, subject: Subject) -> String {
        let body = json!({ "title": "Matrix", "visibility": subject.visibility() }).to_string();
        let rita = self.token(Caller::Member).unwrap();
        let declared = self.must("POST", "/api/v1/incidents", &rita, &body);
        declared["id"].as_str().unwrap().to_owned()
    }

    /// Gives [`Caller::Holder`] Communications and Operations on an incident.
    fn staff_holder(&self, id: &str) {
        let rita = self.token(Caller::Member).unwrap();
        for role in ["communications", "operations"] {
            let body = json!({ "role": role, "person": Caller::Holder.user() }).to_string();
            self.must(
                "POST",
                &format!("/api/v1/incidents/{id}/roles"),
                &rita,
                &body,
            );
        }
    }

    /// Runs one cell: sets up what it needs, sends the request, and returns the status and
    /// error code.
    fn run(&self, route: &Route, caller: Caller, subject: Subject) -> (u16, String) {
        let token = self.token(caller);
        let mut path = route.path.to_owned();
        match route.kind {
            Kind::TokenCreate => {
                let body = match subject {
                    Subject::Own => r#"{"label":"matrix"}"#,
                    _ => r#"{"label":"matrix","user":"olga"}"#,
                };
                let (status, answer) = self.call(
                    route.method,
                    &path,
                    token.as_deref(),
                    Body::Json(body),
                    subject,
                );
                return (status, code(&answer));
            }
            Kind::TokenRevoke => {
                let owner = match subject {
                    Subject::Own => caller.user(),
                    _ => "olga",
                };
                let body = json!({ "label": "to revoke", "user": owner }).to_string();
                let created = self.must("POST", "/api/v1/tokens", &self.server.admin, &body);
                let id = created["id"].as_i64().unwrap();
                path = path.replace("{id}", &id.to_string());
            }
            Kind::Read => {
                let (id, sha256) = match subject {
                    Subject::Internal => &self.internal,
                    _ => &self.restricted,
                };
                path = path
                    .replace("{id}", id)
                    .replace("{sha256}", sha256)
                    .replace("{template}", "resolved");
            }
            Kind::Write(change) => {
                let id = self.declare(subject);
                if caller == Caller::Holder {
                    self.staff_holder(&id);
                }
                let rita = self.token(Caller::Member).unwrap();
                for (method, suffix, body) in change.setup {
                    let body = body.replace("{caller}", caller.handoff_target());
                    self.must(
                        method,
                        &format!("/api/v1/incidents/{id}{suffix}"),
                        &rita,
                        &body,
                    );
                }
                path = path
                    .replace("{id}", &id)
                    .replace("{sequence}", "1")
                    .replace("{item}", "1")
                    .replace("{intent}", "1")
                    .replace("{role}", "operations")
                    .replace("{person}", "olga");
                if matches!(change.body, Body::File) {
                    path.push_str("?name=evidence.txt");
                }
            }
            Kind::Password(_) => {
                let owner = match subject {
                    Subject::Own => caller.user(),
                    _ => "olga",
                };
                path = path.replace("{name}", owner);
            }
            Kind::AdminOnly(_) => {
                let name = if route.method == "DELETE" {
                    "never-made"
                } else if path.starts_with("/api/v1/components") {
                    // A component names a service of the catalogue.
                    "catalogued"
                } else {
                    "scratch"
                };
                path = path
                    .replace("{kind}", "message_template")
                    .replace("{name}", name)
                    .replace("{id}", "999999");
                if route.method == "DELETE" && path == "/api/v1/blame-rules" {
                    path.push_str("?pattern=never-made");
                }
            }
            // The signed-in reads of a named thing: a shipped template, a catalogued service.
            Kind::SignedInAbsent => {
                path = path
                    .replace("{id}", "999999")
                    .replace("{platform}", "matrix")
                    .replace("{chat_user}", "never-linked");
            }
            Kind::SignedIn => {
                let name = if path.starts_with("/api/v1/services") {
                    "catalogued"
                } else {
                    "first-response"
                };
                path = path
                    .replace("{kind}", "message_template")
                    .replace("{name}", name);
            }
            Kind::Public | Kind::Backup | Kind::Declare | Kind::Responder(_) => {}
        }
        let (status, answer) =
            self.call(route.method, &path, token.as_deref(), route.body, subject);
        (status, code(&answer))
    }
}

/// Every (method, path) the live OpenAPI document lists.
fn documented(server: &Server) -> Vec<(String, String)> {
    let (status, document) = exchange(&server.address, "GET", "/api/v1/openapi.json", None, None);
    assert_eq!(
        status, 200,
        "the OpenAPI document is served without a token"
    );
    let mut found = Vec::new();
    for (path, operations) in document["paths"].as_object().expect("paths") {
        for method in operations.as_object().expect("operations").keys() {
            if [
                "get", "put", "post", "delete", "patch", "head", "options", "trace",
            ]
            .contains(&method.as_str())
            {
                found.push((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    found.sort();
    found
}

struct Row {
    database: &'static str,
    route: Route,
    caller: Caller,
    subject: Subject,
    expected: Expect,
    actual: (u16, String),
}

/// Cells checked at the same time; group commit makes concurrent writes cheap.
const WORKERS: usize = 8;

#[test]
fn every_route_answers_every_caller_as_decided() {
    let table = routes();
    let mut wrong: Vec<Row> = Vec::new();
    let mut checked = 0;
    for database in databases() {
        let started = Instant::now();
        let sqlite = database == "sqlite";
        let name = if sqlite { "sqlite" } else { "postgres" };
        let server = Server::start(&database);

        let documented = documented(&server);
        let undecided: Vec<String> = documented
            .iter()
            .filter(|(method, path)| {
                !table
                    .iter()
                    .any(|route| route.method == method && route.path == path)
            })
            .map(|(method, path)| format!("{method} {path}"))
            .collect();
        assert!(
            undecided.is_empty(),
            "routes without a decision on who may call them; add them to `routes()` in \
             crates/hereby/tests/it/matrix.rs:\n  {}",
            undecided.join("\n  ")
        );
        let gone: Vec<String> = table
            .iter()
            .filter(|route| {
                !documented
                    .iter()
                    .any(|(method, path)| route.method == method && route.path == path)
            })
            .map(|route| format!("{} {}", route.method, route.path))
            .collect();
        assert!(
            gone.is_empty(),
            "the matrix expects routes the OpenAPI document no longer lists:\n  {}",
            gone.join("\n  ")
        );

        let world = World::new(&server, sqlite);
        let cells: Vec<(Route, Caller, Subject)> = table
            .iter()
            .flat_map(|route| {
                route.kind.subjects().iter().flat_map(move |subject| {
                    CALLERS
                        .iter()
                        .map(move |caller| (*route, *caller, *subject))
                })
            })
            .collect();
        let next = AtomicUsize::new(0);
        let rows = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..WORKERS {
                scope.spawn(|| {
                    while let Some((route, caller, subject)) =
                        cells.get(next.fetch_add(1, Ordering::Relaxed)).copied()
                    {
                        let decided = expected(route.kind, caller, subject, world.sqlite);
                        let actual = world.run(&route, caller, subject);
                        rows.lock().unwrap().push(Row {
                            database: name,
                            route,
                            caller,
                            subject,
                            expected: decided,
                            actual,
                        });
                    }
                });
            }
        });
        let rows = rows.into_inner().unwrap();
        checked += rows.len();
        wrong.extend(
            rows.into_iter()
                .filter(|row| !row.expected.matches(row.actual.0, &row.actual.1)),
        );
        eprintln!(
            "authorization matrix on {name}: {} cells in {:.1?}",
            cells.len(),
            started.elapsed()
        );
    }
    if wrong.is_empty() {
        return;
    }
    wrong.sort_by_key(|row| {
        (
            row.database,
            row.route.path,
            row.route.method,
            row.caller.label(),
        )
    });
    let mut report = format!(
        "{} of {checked} cells of the authorization matrix answered otherwise than decided:\n\
         {:<9}{:<7}{:<52}{:<15}{:<15}{:<30}actual\n",
        wrong.len(),
        "database",
        "method",
        "path",
        "caller",
        "incident",
        "expected"
    );
    for row in &wrong {
        let actual = format!("{} {}", row.actual.0, row.actual.1);
        report.push_str(&format!(
            "{:<9}{:<7}{:<52}{:<15}{:<15}{:<30}{}\n",
            row.database,
            row.route.method,
            row.route.path,
            row.caller.label(),
            row.subject.label(),
            row.expected.to_string(),
            actual.trim_end()
        ));
    }
    panic!("{report}");
}
