//! What the post-mortem page offers is what the rules accept: for incidents in every
//! post-mortem state, the page of the owner, of a reviewer and of a viewer shows a step's form
//! exactly when the real request would be accepted. An offered step is checked by deciding
//! the real command against the stored state; a step not offered is also posted through its
//! form, which must be refused and change nothing.

use axum::http::StatusCode;
use hereby_core::types::{IncidentNumber, InstallationRole, Status};
use hereby_core::{Command, Context, decide};
use hereby_store::Store;
use jiff::Timestamp;

use super::{Page, Session, Site, draft, name, postmortem_page, resolved_incident, status_to};

/// A step of the post-mortem page: the element that offers it, and the form that sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Edit,
    Submit,
    Approve,
    MarkReviewed,
    Publish,
    Delegate,
    Comment,
}

const STEPS: [Step; 7] = [
    Step::Edit,
    Step::Submit,
    Step::Approve,
    Step::MarkReviewed,
    Step::Publish,
    Step::Delegate,
    Step::Comment,
];

/// A person, signed in, with their installation role.
struct Person {
    name: &'static str,
    role: InstallationRole,
    session: Session,
}

impl Step {
    /// The elements that offer the step on the page (editing is also the timeline rewrite).
    fn markers(self) -> &'static [&'static str] {
        match self {
            Step::Edit => &["edit-link", "timeline-form"],
            Step::Submit => &["submit-form"],
            Step::Approve => &["approve-form"],
            Step::MarkReviewed => &["reviewed-form"],
            Step::Publish => &["publish-form"],
            Step::Delegate => &["delegate-form"],
            Step::Comment => &["comment-form"],
        }
    }

    /// Whether the page offers the step; every element of it must agree.
    fn offered(self, page: &Page) -> bool {
        let shown: Vec<bool> = self
            .markers()
            .iter()
            .map(|marker| page.body.contains(&format!("id=\"{marker}\"")))
            .collect();
        assert!(
            shown.iter().all(|&one| one == shown[0]),
            "{self:?}: its forms disagree in\n{}",
            page.body
        );
        shown[0]
    }

    /// The request a person would send: a revision with new text on the current revision,
    /// the review handed to someone other than its owner, a comment.
    fn command(self, revision: u32, new_owner: &str) -> Command {
        match self {
            Step::Edit => Command::RevisePostmortem {
                body: hereby_core::types::Document::parse("# Post-mortem\n\nRewritten.").unwrap(),
                base_revision: Some(revision),
                comment: None,
            },
            Step::Submit => Command::SubmitPostmortem,
            Step::Approve => Command::ApprovePostmortem,
            Step::MarkReviewed => Command::MarkPostmortemReviewed {
                gate: Default::default(),
            },
            Step::Publish => Command::PublishPostmortem {
                gate: Default::default(),
            },
            Step::Delegate => Command::DelegatePostmortem {
                to: name(new_owner),
            },
            Step::Comment => Command::CommentPostmortem {
                text: hereby_core::types::Text::parse("Add the alarm threshold.").unwrap(),
            },
        }
    }

    /// The same request through the page's form.
    async fn post(
        self,
        site: &Site,
        who: &Session,
        id: &str,
        revision: u32,
        new_owner: &str,
    ) -> Page {
        let revision = revision.to_string();
        let (path, fields): (&str, Vec<(&str, &str)>) = match self {
            Step::Edit => (
                "edit",
                vec![
                    ("body", "# Post-mortem\n\nRewritten."),
                    ("base_revision", revision.as_str()),
                ],
            ),
            Step::Submit => ("submit", vec![]),
            Step::Approve => ("approve", vec![]),
            Step::MarkReviewed => ("reviewed", vec![]),
            Step::Publish => ("publish", vec![]),
            Step::Delegate => ("delegate", vec![("owner", new_owner)]),
            Step::Comment => ("comment", vec![("text", "Add the alarm threshold.")]),
        };
        site.post(who, &format!("/incidents/{id}/postmortem/{path}"), &fields)
            .await
    }
}

/// Checks every step on `id`'s post-mortem page for each person, and returns what the owner
/// is offered, in [`STEPS`] order.
async fn check(site: &Site, id: &str, people: &[Person]) -> Vec<Step> {
    let number = IncidentNumber::parse(id).unwrap();
    let loaded = site.store.load(number).await.unwrap();
    let postmortem = loaded
        .state
        .incident()
        .and_then(|incident| incident.postmortem.clone())
        .unwrap();
    let new_owner = if postmortem.owner.as_str() == "bob" {
        "alice"
    } else {
        "bob"
    };
    let mut owners = Vec::new();
    for person in people {
        let page = postmortem_page(site, &person.session, id).await;
        let actor = name(person.name);
        for step in STEPS {
            let offered = step.offered(&page);
            // The application refuses every change to someone whose installation role is
            // below responder; the core's rules decide the rest.
            let accepted = person.role >= InstallationRole::Responder
                && decide(
                    &loaded.state,
                    step.command(postmortem.revision, new_owner),
                    Context {
                        now: Timestamp::now(),
                        actor: &actor,
                        policy: &site.policy,
                    },
                )
                .is_ok();
            assert_eq!(
                offered,
                accepted,
                "{id} ({:?}, {}): {} is {}offered {step:?}",
                postmortem.status,
                loaded.state.incident().unwrap().status,
                person.name,
                if offered { "" } else { "not " }
            );
            if !offered {
                let refused = step
                    .post(site, &person.session, id, postmortem.revision, new_owner)
                    .await;
                assert!(
                    matches!(
                        refused.status,
                        StatusCode::FORBIDDEN | StatusCode::UNPROCESSABLE_ENTITY
                    ),
                    "{id}: {} sending {step:?}: {} {}\n{}",
                    person.name,
                    refused.status,
                    refused.location(),
                    refused.body
                );
            }
            if offered && person.name == postmortem.owner.as_str() {
                owners.push(step);
            }
        }
        let hint = page.body.contains("id=\"awaiting-approval\"");
        assert_eq!(
            hint,
            person.role >= InstallationRole::Responder
                && person.name == postmortem.owner.as_str()
                && postmortem.status == hereby_core::types::PostmortemStatus::InReview
                && !postmortem
                    .approvals
                    .iter()
                    .any(|approver| approver != &postmortem.owner),
            "{id}: {} and the hint that an approval is awaited",
            person.name
        );
    }
    assert_eq!(
        site.version(id).await,
        loaded.version,
        "{id}: a refused form changed the incident"
    );
    owners
}

#[tokio::test]
async fn the_postmortem_page_offers_exactly_the_steps_the_core_accepts() {
    let site = Site::new().await;
    site.user("alice", InstallationRole::Responder).await;
    site.user("bob", InstallationRole::Responder).await;
    site.user("dave", InstallationRole::Viewer).await;
    let people = [
        ("alice", InstallationRole::Responder),
        ("bob", InstallationRole::Responder),
        ("dave", InstallationRole::Viewer),
    ];
    let mut signed_in = Vec::new();
    for (who, role) in people {
        signed_in.push(Person {
            name: who,
            role,
            session: site.login(who).await,
        });
    }
    let alice = &signed_in[0].session;

    // Alice leads each incident and owns its post-mortem; Bob reviews; Dave only reads.
    let mut incidents = Vec::new();
    let stages: [&[(&str, Command)]; 6] = [
        &[],
        &[("alice", Command::SubmitPostmortem)],
        &[
            ("alice", Command::SubmitPostmortem),
            ("bob", Command::ApprovePostmortem),
        ],
        &[
            ("alice", Command::SubmitPostmortem),
            ("bob", Command::ApprovePostmortem),
            (
                "alice",
                Command::MarkPostmortemReviewed {
                    gate: Default::default(),
                },
            ),
        ],
        &[
            ("alice", Command::SubmitPostmortem),
            ("bob", Command::ApprovePostmortem),
            (
                "alice",
                Command::MarkPostmortemReviewed {
                    gate: Default::default(),
                },
            ),
            (
                "alice",
                Command::PublishPostmortem {
                    gate: Default::default(),
                },
            ),
        ],
        &[
            ("alice", Command::SubmitPostmortem),
            ("bob", Command::ApprovePostmortem),
            (
                "alice",
                Command::MarkPostmortemReviewed {
                    gate: Default::default(),
                },
            ),
            ("alice", status_to(Status::Closed, None)),
        ],
    ];
    for (index, stage) in stages.iter().enumerate() {
        let id = resolved_incident(&site, &format!("Outage {index}")).await;
        draft(&site, alice, &id, "short").await;
        for (actor, command) in stage.iter() {
            site.execute(actor, &id, command.clone()).await;
        }
        incidents.push(id);
    }

    let mut owners = Vec::new();
    for id in &incidents {
        owners.push(check(&site, id, &signed_in).await);
    }
    use Step::*;
    assert_eq!(
        owners,
        vec![
            vec![Edit, Submit, Delegate, Comment],
            vec![Edit, Delegate, Comment],
            vec![Edit, MarkReviewed, Delegate, Comment],
            vec![Edit, Publish, Delegate, Comment],
            vec![],
            // Once the incident is closed the text no longer changes, but the reviewed
            // post-mortem may still be published, handed on and commented on.
            vec![Publish, Delegate, Comment],
        ],
        "what the owner is offered, stage by stage"
    );

    // The edit page asks the same question: no form once the incident is closed.
    let closed = &incidents[5];
    let edit = site
        .get(Some(alice), &format!("/incidents/{closed}/postmortem/edit"))
        .await;
    edit.assert_status(StatusCode::OK, "the edit page of a closed incident");
    assert!(!edit.body.contains("id=\"edit-form\""), "{}", edit.body);
    assert!(
        edit.text_of("not-editable").contains("closed"),
        "{}",
        edit.body
    );
    let open = site
        .get(
            Some(alice),
            &format!("/incidents/{}/postmortem/edit", incidents[3]),
        )
        .await;
    assert!(open.body.contains("id=\"edit-form\""), "{}", open.body);
}
