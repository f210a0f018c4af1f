//! The persisted format, pinned: one stored example of every event type, and the hash chain
//! over a small stream with every kind of damage the verifier must name.

use std::collections::BTreeSet;

use expect_test::expect;
use hereby_core::Event;
use hereby_core::chain::{ChainBreak, ChainVerifier, ChainedFields, GENESIS, Hash, StoredLink};
use hereby_core::event::{
    ActionItemAdded, ActionItemCompleted, ActionItemReopened, ActionItemUpdated, ActionItemWontFix,
    DecodeError, EvidenceAttached, HandoffAccepted, HandoffCancelled, HandoffDeclined,
    HandoffRequested, ImpactWindowSet, IncidentDeclared, LinkAdded, MemberAdded, MemberRemoved,
    NoteAdded, OperationRecorded, RoleAssigned, RoleUnassigned, SeverityChanged, StatusChanged,
    UpdatePosted, VisibilityChanged,
};
use hereby_core::event::{
    AlertGroupAttached, AlertGroupRef, AlertsNoted, ChangeCollisionFlagged, ChangesAcknowledged,
    DecisionRecorded, IcOperationAttempted, IntentAbandoned, IntentAnnounced, PublicSummarySet,
    RecoveryUnattributed, SeverityEvaluated, SuspectReleaseSet, WitnessRuleChanged,
};
use hereby_core::event::{
    FollowUpOutcome, PostmortemApproved, PostmortemCommented, PostmortemDrafted,
    PostmortemOwnerChanged, PostmortemPublished, PostmortemReviewed, PostmortemRevised,
    PostmortemSubmitted, ReviewMeetingHeld, ReviewMeetingScheduled, TimelineEntryMarked,
};
use hereby_core::ladder::ReleaseRef;
use hereby_core::types::{
    ActionKind, FileName, LinkKind, MediaType, Owner, Reason, RoleKey, ServiceName, Severity,
    Sha256Hex, Status, Target, Text, Title, Url, Visibility,
};
use hereby_core::types::{Document, EntryMark, ReviewDecision, TemplateName};
use hereby_core::types::{FollowUpOption, ReleaseVersion};

use crate::support::*;

fn reason(raw: &str) -> Reason {
    Reason::parse(raw).unwrap()
}

fn text(raw: &str) -> Text {
    Text::parse(raw).unwrap()
}

/// One example of every event type; types with an optional part appear once with it and
/// once without where the stored shape differs.
fn examples() -> Vec<Event> {
    vec![
        Event::IncidentDeclared(IncidentDeclared {
            title: Title::parse("DB down").unwrap(),
            summary: Some(text("Primary refuses connections.\nReplicas lag.")),
            public_summary: None,
            severity: Severity::Sev1,
            potential: false,
            services: vec![
                ServiceName::parse("api").unwrap(),
                ServiceName::parse("db-primary").unwrap(),
            ],
            visibility: Visibility::Restricted,
            commander: user("alice"),
            triage: false,
        }),
        Event::IncidentDeclared(IncidentDeclared {
            title: Title::parse("Checkout slow").unwrap(),
            summary: None,
            public_summary: Some(text("Paying takes longer than usual.")),
            severity: Severity::Sev3,
            potential: false,
            services: vec![],
            visibility: Visibility::Public,
            commander: user("alice"),
            triage: false,
        }),
        Event::IncidentDeclared(IncidentDeclared {
            title: Title::parse("HighLatency checkout").unwrap(),
            summary: None,
            public_summary: None,
            severity: Severity::Sev2,
            potential: false,
            services: vec![],
            visibility: Visibility::Internal,
            commander: user("hereby"),
            triage: true,
        }),
        Event::IncidentMerged(hereby_core::event::IncidentMerged {
            into: hereby_core::types::IncidentNumber(7),
        }),
        Event::RoleAssigned(RoleAssigned {
            role: RoleKey::parse("operations").unwrap(),
            person: user("bob"),
        }),
        Event::RoleUnassigned(RoleUnassigned {
            role: RoleKey::parse("scribe").unwrap(),
            person: user("carol"),
        }),
        Event::HandoffRequested(HandoffRequested {
            from: user("alice"),
            to: user("dave"),
        }),
        Event::HandoffAccepted(HandoffAccepted {
            from: user("alice"),
            to: user("dave"),
        }),
        Event::HandoffDeclined(HandoffDeclined {
            to: user("dave"),
            reason: Some(reason("off shift in ten minutes")),
        }),
        Event::HandoffCancelled(HandoffCancelled { to: user("dave") }),
        Event::SeverityChanged(SeverityChanged {
            from: Severity::Sev2,
            to: Severity::Sev1,
            potential: true,
            reason: reason("could spread to all regions"),
        }),
        Event::StatusChanged(StatusChanged {
            from: Status::Investigating,
            to: Status::Identified,
            reason: None,
            overridden_follow_ups: Vec::new(),
            overrode_postmortem: false,
        }),
        Event::StatusChanged(StatusChanged {
            from: Status::Resolved,
            to: Status::Closed,
            reason: Some(reason("tracked in the platform backlog")),
            overridden_follow_ups: vec![1, 4],
            overrode_postmortem: true,
        }),
        Event::ImpactWindowSet(ImpactWindowSet {
            start: Some(at("09:30")),
            end: Some(at("10:02")),
        }),
        Event::MilestoneSet(hereby_core::event::MilestoneSet {
            milestone: hereby_core::types::MilestoneName::Mitigated,
            at: at("09:55"),
            reason: reason("the failover held from 09:55"),
        }),
        Event::NoteAdded(NoteAdded {
            text: text("lag is 40s; \"quoted\" and ü"),
        }),
        Event::PublicSummarySet(PublicSummarySet {
            text: Some(text("Some payments fail; please retry.")),
        }),
        Event::PublicSummarySet(PublicSummarySet { text: None }),
        Event::AlertGroupAttached(AlertGroupAttached {
            group: AlertGroupRef {
                id: 7,
                route: text("default"),
                label: text("alertname=\"HighLatency\", service=\"checkout\""),
                title: text("Checkout p99 above 2 s"),
                why: text("opened the group, by route `default`"),
            },
        }),
        Event::AlertsNoted(AlertsNoted {
            group: 7,
            fired: vec![text("Checkout p99 above 2 s")],
            resolved: vec![],
            all_resolved: false,
        }),
        Event::OperationRecorded(OperationRecorded {
            target: Target::parse("db-replica-2").unwrap(),
            action: text("promote to primary"),
            command: Some(text("pg_ctl promote")),
            intent: None,
            witness: None,
        }),
        Event::OperationRecorded(OperationRecorded {
            target: Target::parse("mysql-primary").unwrap(),
            action: text("restart"),
            command: None,
            intent: Some(2),
            witness: Some(user("carol")),
        }),
        Event::IntentAnnounced(IntentAnnounced {
            intent: 2,
            target: Target::parse("mysql-primary").unwrap(),
            action: text("about to restart the primary"),
            witness: Some(user("carol")),
        }),
        Event::IntentAbandoned(IntentAbandoned {
            intent: 3,
            reason: Some(reason("replica caught up")),
        }),
        Event::WitnessRuleChanged(WitnessRuleChanged { required: true }),
        Event::ChangeCollisionFlagged(ChangeCollisionFlagged {
            collision: 1,
            earlier: 5,
            later: 7,
            earlier_by: user("bob"),
            earlier_target: Target::parse("mysql-primary").unwrap(),
            target: Target::parse("api").unwrap(),
        }),
        Event::ChangesAcknowledged(ChangesAcknowledged {
            collisions: vec![1],
        }),
        Event::RecoveryUnattributed(RecoveryUnattributed {
            collisions: vec![1, 2],
        }),
        Event::IcOperationAttempted(IcOperationAttempted {
            target: Target::parse("mysql-primary").unwrap(),
            action: text("restart"),
        }),
        Event::SeverityEvaluated(SeverityEvaluated {
            checklist: checklist(
                true,
                Some(40),
                &["eu-west"],
                &["sso:critical", "wiki"],
                (true, false, false),
            ),
            suggested: Severity::Sev1,
            rule: "critical service unavailable without a workaround".to_owned(),
            chosen: Severity::Sev2,
            reason: Some(reason("only the login page of one region")),
        }),
        Event::SuspectReleaseSet(SuspectReleaseSet {
            release: Some(ReleaseRef {
                service: ServiceName::parse("api").unwrap(),
                version: ReleaseVersion::parse("3.4.1").unwrap(),
            }),
            reason: None,
        }),
        Event::DecisionRecorded(DecisionRecorded {
            decision: 1,
            option: FollowUpOption::RollBack,
            motivation: reason("3.4.1 broke logins; 3.4.0 was fine"),
            roll_back_to: Some(ReleaseRef {
                service: ServiceName::parse("api").unwrap(),
                version: ReleaseVersion::parse("3.4.0").unwrap(),
            }),
            items: vec![1, 2],
        }),
        Event::LinkAdded(LinkAdded {
            kind: LinkKind::PullRequest,
            url: Url::parse("https://git.example/db/pull/7").unwrap(),
            title: Some(Title::parse("Fix failover").unwrap()),
        }),
        Event::EvidenceAttached(EvidenceAttached {
            name: FileName::parse("pg.log").unwrap(),
            media_type: MediaType::parse("text/plain").unwrap(),
            size: 4096,
            sha256: Sha256Hex::parse(&"0f".repeat(32)).unwrap(),
        }),
        Event::ActionItemAdded(ActionItemAdded {
            item: 1,
            text: text("alert on replication lag"),
            owner: owner("role:operations"),
            due: Some("2024-06-01".parse().unwrap()),
            kind: ActionKind::FollowUp,
            tracker_url: Some(Url::parse("https://tracker.example/T-2").unwrap()),
        }),
        Event::ActionItemUpdated(ActionItemUpdated {
            item: 1,
            owner: Some(Owner::User(user("bob"))),
            due: None,
            tracker_url: None,
        }),
        Event::ActionItemCompleted(ActionItemCompleted { item: 1 }),
        Event::ActionItemWontFix(ActionItemWontFix {
            item: 2,
            reason: reason("not worth it"),
        }),
        Event::ActionItemReopened(ActionItemReopened { item: 2 }),
        Event::ActionItemExportRequested(hereby_core::event::ActionItemExportRequested {
            item: 1,
            tracker: hereby_core::types::TrackerName::parse("github-platform").unwrap(),
        }),
        Event::ActionItemExported(hereby_core::event::ActionItemExported {
            item: 1,
            tracker: hereby_core::types::TrackerName::parse("github-platform").unwrap(),
            key: text("acme/api#12"),
            url: hereby_core::types::Url::parse("https://github.com/acme/api/issues/12").unwrap(),
        }),
        Event::ActionItemUnlinked(hereby_core::event::ActionItemUnlinked {
            item: 1,
            reason: reason("the issue was moved to another repository"),
        }),
        Event::MemberAdded(MemberAdded {
            person: user("erin"),
        }),
        Event::MemberRemoved(MemberRemoved {
            person: user("erin"),
        }),
        Event::UpdatePosted(UpdatePosted {
            audience: hereby_core::types::Audience::parse("customers").unwrap(),
            body: Text::parse("Checkout is slow for some customers; next update at 15:00.")
                .unwrap(),
            public: true,
            quiet: false,
        }),
        Event::VisibilityChanged(VisibilityChanged {
            from: Visibility::Internal,
            to: Visibility::Public,
            reason: Reason::parse("customers notice it").unwrap(),
        }),
        Event::PostmortemDrafted(PostmortemDrafted {
            template: TemplateName::parse("full").unwrap(),
            body: Document::parse("# INC-7: DB down\n\n## Summary\n").unwrap(),
            owner: user("alice"),
        }),
        Event::PostmortemRevised(PostmortemRevised {
            revision: 2,
            body: Document::parse("# INC-7: DB down\n\n## Summary\nThe primary filled its disk.")
                .unwrap(),
            comment: Some(reason("summary written")),
        }),
        Event::PostmortemOwnerChanged(PostmortemOwnerChanged {
            from: user("alice"),
            to: user("dave"),
        }),
        Event::PostmortemSubmitted(PostmortemSubmitted { revision: 2 }),
        Event::PostmortemCommented(PostmortemCommented {
            revision: 2,
            text: text("Impact started with the first alert."),
        }),
        Event::PostmortemTagged(hereby_core::event::PostmortemTagged {
            tags: vec![hereby_core::types::Tag::parse("database").unwrap()],
            factors: vec![hereby_core::types::Tag::parse("missing-alert").unwrap()],
        }),
        Event::PostmortemApproved(PostmortemApproved { revision: 2 }),
        Event::PostmortemReviewed(PostmortemReviewed {
            revision: 2,
            overridden: None,
        }),
        Event::PostmortemPublished(PostmortemPublished {
            revision: 2,
            overridden: None,
        }),
        Event::TimelineEntryMarked(TimelineEntryMarked {
            sequence: 4,
            mark: EntryMark::Starred,
        }),
        Event::ReviewMeetingScheduled(ReviewMeetingScheduled {
            meeting: 1,
            at: at("15:00"),
        }),
        Event::ReviewMeetingHeld(ReviewMeetingHeld {
            meeting: 1,
            attendees: vec![user("alice"), user("bob")],
            notes: Some(text("Replication alerting is live.")),
            outcomes: vec![
                FollowUpOutcome {
                    item: 1,
                    decision: ReviewDecision::Done,
                    reason: None,
                    due: None,
                },
                FollowUpOutcome {
                    item: 2,
                    decision: ReviewDecision::Open,
                    reason: None,
                    due: Some("2024-07-01".parse().unwrap()),
                },
            ],
            held_at: None,
        }),
    ]
}

#[test]
fn every_event_type_has_an_example() {
    let covered: BTreeSet<(&str, u32)> = examples()
        .iter()
        .map(|event| (event.event_type(), event.event_version()))
        .collect();
    let all: BTreeSet<(&str, u32)> = Event::TYPES.iter().copied().collect();
    assert_eq!(covered, all);
    assert_eq!(
        all.len(),
        Event::TYPES.len(),
        "Event::TYPES lists a type twice"
    );
}

#[test]
fn stored_format_of_every_event_type() {
    let stored: String = examples()
        .iter()
        .map(|event| {
            format!(
                "{} v{} {}\n",
                event.event_type(),
                event.event_version(),
                event.canonical_body()
            )
        })
        .collect();
    expect![[r##"
        incident_declared v1 {"commander":"alice","potential":false,"services":["api","db-primary"],"severity":"SEV1","summary":"Primary refuses connections.\nReplicas lag.","title":"DB down","visibility":"restricted"}
        incident_declared v1 {"commander":"alice","potential":false,"public_summary":"Paying takes longer than usual.","services":[],"severity":"SEV3","summary":null,"title":"Checkout slow","visibility":"public"}
        incident_declared v1 {"commander":"hereby","potential":false,"services":[],"severity":"SEV2","summary":null,"title":"HighLatency checkout","triage":true,"visibility":"internal"}
        incident_merged v1 {"into":7}
        role_assigned v1 {"person":"bob","role":"operations"}
        role_unassigned v1 {"person":"carol","role":"scribe"}
        handoff_requested v1 {"from":"alice","to":"dave"}
        handoff_accepted v1 {"from":"alice","to":"dave"}
        handoff_declined v1 {"reason":"off shift in ten minutes","to":"dave"}
        handoff_cancelled v1 {"to":"dave"}
        severity_changed v1 {"from":"SEV2","potential":true,"reason":"could spread to all regions","to":"SEV1"}
        status_changed v1 {"from":"investigating","reason":null,"to":"identified"}
        status_changed v1 {"from":"resolved","overridden_follow_ups":[1,4],"overrode_postmortem":true,"reason":"tracked in the platform backlog","to":"closed"}
        impact_window_set v1 {"end":"2024-05-01T10:02:00Z","start":"2024-05-01T09:30:00Z"}
        milestone_set v1 {"at":"2024-05-01T09:55:00Z","milestone":"mitigated","reason":"the failover held from 09:55"}
        note_added v1 {"text":"lag is 40s; \"quoted\" and ü"}
        public_summary_set v1 {"text":"Some payments fail; please retry."}
        public_summary_set v1 {"text":null}
        alert_group_attached v1 {"group":{"id":7,"label":"alertname=\"HighLatency\", service=\"checkout\"","route":"default","title":"Checkout p99 above 2 s","why":"opened the group, by route `default`"}}
        alerts_noted v1 {"all_resolved":false,"fired":["Checkout p99 above 2 s"],"group":7,"resolved":[]}
        operation_recorded v1 {"action":"promote to primary","command":"pg_ctl promote","target":"db-replica-2"}
        operation_recorded v1 {"action":"restart","command":null,"intent":2,"target":"mysql-primary","witness":"carol"}
        intent_announced v1 {"action":"about to restart the primary","intent":2,"target":"mysql-primary","witness":"carol"}
        intent_abandoned v1 {"intent":3,"reason":"replica caught up"}
        witness_rule_changed v1 {"required":true}
        change_collision v1 {"collision":1,"earlier":5,"earlier_by":"bob","earlier_target":"mysql-primary","later":7,"target":"api"}
        changes_acknowledged v1 {"collisions":[1]}
        recovery_unattributed v1 {"collisions":[1,2]}
        ic_operation_attempted v1 {"action":"restart","target":"mysql-primary"}
        severity_evaluated v1 {"checklist":{"availability":true,"data_loss_or_security":false,"live":true,"services":[{"criticality":"critical","service":"sso"},{"criticality":null,"service":"wiki"}],"sites":["eu-west"],"users_affected":40,"users_estimated":false,"workaround":false},"chosen":"SEV2","reason":"only the login page of one region","rule":"critical service unavailable without a workaround","suggested":"SEV1"}
        suspect_release_set v1 {"reason":null,"release":{"service":"api","version":"3.4.1"}}
        decision_recorded v1 {"decision":1,"items":[1,2],"motivation":"3.4.1 broke logins; 3.4.0 was fine","option":"roll_back","roll_back_to":{"service":"api","version":"3.4.0"}}
        link_added v1 {"kind":"pr","title":"Fix failover","url":"https://git.example/db/pull/7"}
        evidence_attached v1 {"media_type":"text/plain","name":"pg.log","sha256":"0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f","size":4096}
        action_item_added v1 {"due":"2024-06-01","item":1,"kind":"follow_up","owner":{"role":"operations"},"text":"alert on replication lag","tracker_url":"https://tracker.example/T-2"}
        action_item_updated v1 {"due":null,"item":1,"owner":{"user":"bob"},"tracker_url":null}
        action_item_completed v1 {"item":1}
        action_item_wont_fix v1 {"item":2,"reason":"not worth it"}
        action_item_reopened v1 {"item":2}
        action_item_export_requested v1 {"item":1,"tracker":"github-platform"}
        action_item_exported v1 {"item":1,"key":"acme/api#12","tracker":"github-platform","url":"https://github.com/acme/api/issues/12"}
        action_item_unlinked v1 {"item":1,"reason":"the issue was moved to another repository"}
        member_added v1 {"person":"erin"}
        member_removed v1 {"person":"erin"}
        update_posted v1 {"audience":"customers","body":"Checkout is slow for some customers; next update at 15:00.","public":true}
        visibility_changed v1 {"from":"internal","reason":"customers notice it","to":"public"}
        postmortem_drafted v1 {"body":"# INC-7: DB down\n\n## Summary","owner":"alice","template":"full"}
        postmortem_revised v1 {"body":"# INC-7: DB down\n\n## Summary\nThe primary filled its disk.","comment":"summary written","revision":2}
        postmortem_owner_changed v1 {"from":"alice","to":"dave"}
        postmortem_submitted v1 {"revision":2}
        postmortem_commented v1 {"revision":2,"text":"Impact started with the first alert."}
        postmortem_tagged v1 {"factors":["missing-alert"],"tags":["database"]}
        postmortem_approved v1 {"revision":2}
        postmortem_reviewed v1 {"revision":2}
        postmortem_published v1 {"revision":2}
        timeline_entry_marked v1 {"mark":"starred","sequence":4}
        review_meeting_scheduled v1 {"at":"2024-05-01T15:00:00Z","meeting":1}
        review_meeting_held v1 {"attendees":["alice","bob"],"meeting":1,"notes":"Replication alerting is live.","outcomes":[{"decision":"done","due":null,"item":1,"reason":null},{"decision":"open","due":"2024-07-01","item":2,"reason":null}]}
    "##]]
    .assert_eq(&stored);
}

#[test]
fn every_example_decodes_to_itself() {
    for event in examples() {
        let decoded = Event::decode(
            event.event_type(),
            event.event_version(),
            &event.canonical_body(),
        );
        assert_eq!(decoded.as_ref(), Ok(&event), "{event}");
        assert_eq!(decoded.unwrap().canonical_body(), event.canonical_body());
    }
}

#[test]
fn decoding_refuses_unknown_types_and_invalid_bodies() {
    let attempts = [
        ("note_added", 2, r#"{"text":"hi"}"#),
        ("note_deleted", 1, r#"{"text":"hi"}"#),
        ("note_added", 1, r#"{"text":"  "}"#),
        ("note_added", 1, r#"{"txt":"hi"}"#),
        ("note_added", 1, r#"{"extra":1,"text":"hi"}"#),
        (
            "role_assigned",
            1,
            r#"{"person":"Bob","role":"operations"}"#,
        ),
        (
            "status_changed",
            1,
            r#"{"from":"resolved","reason":null,"to":"done"}"#,
        ),
        (
            "evidence_attached",
            1,
            r#"{"media_type":"text/plain","name":"../x","sha256":"00","size":1}"#,
        ),
        ("incident_declared", 1, "not json"),
    ];
    let rendered: String = attempts
        .iter()
        .map(|(event_type, version, body)| {
            let outcome = Event::decode(event_type, *version, body);
            match outcome {
                Ok(event) => format!("decoded {event}\n"),
                Err(error @ DecodeError::UnknownType { .. }) => format!("unknown: {error}\n"),
                Err(error @ DecodeError::InvalidBody { .. }) => format!("invalid: {error}\n"),
            }
        })
        .collect();
    expect![[r#"
        unknown: unknown event type `note_added` version 2
        unknown: unknown event type `note_deleted` version 1
        invalid: event `note_added` version 1 has an invalid body: text: must not be empty at line 1 column 13
        invalid: event `note_added` version 1 has an invalid body: missing field `text` at line 1 column 12
        decoded note_added {"text":"hi"}
        invalid: event `role_assigned` version 1 has an invalid body: user: `Bob` must use lowercase letters, digits, `.`, `_` or `-`, and start with a letter or digit at line 1 column 15
        invalid: event `status_changed` version 1 has an invalid body: unknown variant `done`, expected one of `investigating`, `identified`, `monitoring`, `resolved`, `closed`, `called_off`, `handed_back`, `triage`, `declined`, `merged` at line 1 column 44
        invalid: event `evidence_attached` version 1 has an invalid body: name: must be a file name without directories at line 1 column 40
        invalid: event `incident_declared` version 1 has an invalid body: expected ident at line 1 column 2
    "#]]
    .assert_eq(&rendered);
}

#[test]
fn a_status_change_stored_without_overrides_reads_as_none() {
    let decoded = Event::decode(
        "status_changed",
        1,
        r#"{"from":"investigating","reason":null,"to":"monitoring"}"#,
    )
    .unwrap();
    let Event::StatusChanged(change) = decoded else {
        panic!("decoded into {decoded:?}")
    };
    assert!(change.overridden_follow_ups.is_empty());
}

// ---- the hash chain --------------------------------------------------------------------------

const INCIDENT: u64 = 7;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Recomputes `prev_hash` and `hash` of every link from `from` (0-based) on, as a forger who
/// rewrites the rest of the stream would.
fn rechain(links: &mut [StoredLink], from: usize) {
    let mut prev: Hash = if from == 0 {
        GENESIS
    } else {
        links[from - 1].hash.as_slice().try_into().unwrap()
    };
    for link in &mut links[from..] {
        link.prev_hash = prev.to_vec();
        prev = link.fields().hash(&prev);
        link.hash = prev.to_vec();
    }
}

/// The stored links of a short story, hashed as the store does.
fn stream() -> Vec<StoredLink> {
    let story = play(&[
        ("alice", declare("DB down")),
        ("alice", assign("operations", "bob")),
        ("bob", op("db-primary", "restart")),
    ]);
    let mut links: Vec<StoredLink> = story
        .envelopes
        .iter()
        .enumerate()
        .map(|(index, envelope)| StoredLink {
            incident: INCIDENT,
            sequence: u64::try_from(index).unwrap() + 1,
            recorded_at_micros: envelope.at.as_microsecond(),
            actor: envelope.actor.to_string(),
            event_type: envelope.event.event_type().to_owned(),
            event_version: envelope.event.event_version(),
            body: envelope.event.canonical_body(),
            prev_hash: Vec::new(),
            hash: Vec::new(),
        })
        .collect();
    rechain(&mut links, 0);
    links
}

fn verify(links: &[StoredLink], head_version: u64, head_hash: &[u8]) -> Result<u64, ChainBreak> {
    let mut verifier = ChainVerifier::new(INCIDENT);
    for link in links {
        verifier.check(link)?;
    }
    verifier.finish(head_version, head_hash)
}

#[test]
fn the_hash_format_is_pinned() {
    let links = stream();
    let rendered: String = links
        .iter()
        .map(|link| {
            format!(
                "#{} {} {} {}\n",
                link.sequence,
                link.event_type,
                hex(&link.prev_hash),
                hex(&link.hash)
            )
        })
        .collect();
    expect![[r#"
        #1 incident_declared 0000000000000000000000000000000000000000000000000000000000000000 bd27c9af065a6b9508dd906a1a820c0d53c5533ff88630e9808db9c86d1d9eab
        #2 role_assigned bd27c9af065a6b9508dd906a1a820c0d53c5533ff88630e9808db9c86d1d9eab 4babd0a5ffab217c1d1ebebf4db7daf27907e73ff86f95cf48ed750d5b02bcbc
        #3 operation_recorded 4babd0a5ffab217c1d1ebebf4db7daf27907e73ff86f95cf48ed750d5b02bcbc b7bc01425624004d038375fbcccab8c239d612658eafe230013473128438d59a
    "#]]
    .assert_eq(&rendered);
}

#[test]
fn the_hash_covers_every_field_and_its_boundaries() {
    let links = stream();
    let fields = links[1].fields();
    let base = fields.hash(&GENESIS);
    let variants: Vec<(&str, ChainedFields<'_>)> = vec![
        (
            "incident",
            ChainedFields {
                incident: 8,
                ..fields.clone()
            },
        ),
        (
            "sequence",
            ChainedFields {
                sequence: 3,
                ..fields.clone()
            },
        ),
        (
            "recorded_at",
            ChainedFields {
                recorded_at_micros: fields.recorded_at_micros + 1,
                ..fields.clone()
            },
        ),
        (
            "actor",
            ChainedFields {
                actor: "alicf",
                ..fields.clone()
            },
        ),
        (
            "event_type",
            ChainedFields {
                event_type: "role_unassigned",
                ..fields.clone()
            },
        ),
        (
            "event_version",
            ChainedFields {
                event_version: 2,
                ..fields.clone()
            },
        ),
        (
            "body",
            ChainedFields {
                body: "{}",
                ..fields.clone()
            },
        ),
        // Moving bytes across a field boundary changes the hash: fields are length-prefixed.
        (
            "actor/type boundary",
            ChainedFields {
                actor: "alicer",
                event_type: "ole_assigned",
                ..fields.clone()
            },
        ),
    ];
    for (what, variant) in variants {
        assert_ne!(variant.hash(&GENESIS), base, "{what} is not covered");
    }
    assert_ne!(fields.hash(&[1; 32]), base, "prev_hash is not covered");
    assert_eq!(fields.hash(&GENESIS), base, "hashing is not deterministic");
}

type Tamper = fn(&mut Vec<StoredLink>);

#[test]
fn the_verifier_names_the_first_broken_link() {
    let original = stream();
    let head_hash = original[2].hash.clone();
    let cases: Vec<(&str, Tamper)> = vec![
        ("untouched", |_| {}),
        ("#2 moved to another incident", |links| {
            links[1].incident = 8
        }),
        ("#2 renumbered", |links| links[1].sequence = 5),
        ("#2 removed", |links| {
            links.remove(1);
        }),
        ("#2 and #3 swapped", |links| links.swap(1, 2)),
        ("#2 recorded a microsecond later", |links| {
            links[1].recorded_at_micros += 1
        }),
        ("#2 actor changed", |links| {
            links[1].actor = "mallory".to_owned()
        }),
        ("#2 type changed", |links| {
            links[1].event_type = "role_unassigned".to_owned()
        }),
        ("#2 version changed", |links| links[1].event_version = 2),
        ("#2 body changed", |links| {
            links[1].body = links[1].body.replace("bob", "eve");
        }),
        ("#2 prev_hash flipped", |links| links[1].prev_hash[0] ^= 1),
        ("#2 prev_hash cut short", |links| {
            links[1].prev_hash.pop();
        }),
        ("#2 hash flipped", |links| links[1].hash[31] ^= 0x80),
        ("#3 hash flipped", |links| links[2].hash[0] ^= 1),
        ("#1 prev_hash not genesis", |links| {
            links[0].prev_hash[31] = 1
        }),
        ("#2 body changed and the rest rehashed", |links| {
            links[1].body = links[1].body.replace("bob", "eve");
            rechain(links, 1);
        }),
        ("#2 body undecodable, rest rehashed", |links| {
            links[1].body = r#"{"person":"bob"}"#.to_owned();
            rechain(links, 1);
        }),
        ("#3 removed", |links| {
            links.pop();
        }),
    ];
    let rendered: String = cases
        .iter()
        .map(|(what, tamper)| {
            let mut links = original.clone();
            tamper(&mut links);
            match verify(&links, 3, &head_hash) {
                Ok(count) => format!("{what}: ok, {count} events\n"),
                Err(broken) => format!("{what}: #{} {:?}\n", broken.sequence, broken.kind),
            }
        })
        .collect();
    expect![[r#"
        untouched: ok, 3 events
        #2 moved to another incident: #2 WrongIncident { found: 8 }
        #2 renumbered: #2 SequenceGap { expected: 2, found: 5 }
        #2 removed: #2 SequenceGap { expected: 2, found: 3 }
        #2 and #3 swapped: #2 SequenceGap { expected: 2, found: 3 }
        #2 recorded a microsecond later: #2 HashMismatch
        #2 actor changed: #2 HashMismatch
        #2 type changed: #2 HashMismatch
        #2 version changed: #2 HashMismatch
        #2 body changed: #2 HashMismatch
        #2 prev_hash flipped: #2 PrevHashMismatch
        #2 prev_hash cut short: #2 PrevHashMismatch
        #2 hash flipped: #2 HashMismatch
        #3 hash flipped: #3 HashMismatch
        #1 prev_hash not genesis: #1 PrevHashMismatch
        #2 body changed and the rest rehashed: #3 HeadMismatch
        #2 body undecodable, rest rehashed: #2 Undecodable("event `role_assigned` version 1 has an invalid body: missing field `role` at line 1 column 16")
        #3 removed: #3 Truncated { expected_version: 3, found: 2 }
    "#]]
    .assert_eq(&rendered);
}

#[test]
fn finish_checks_the_recorded_head() {
    let links = stream();
    let head_hash = links[2].hash.clone();
    let outcomes = [
        ("as recorded", verify(&links, 3, &head_hash)),
        ("head says 4 events", verify(&links, 4, &head_hash)),
        (
            "head says 2 events: #3 was appended behind its back",
            verify(&links, 2, &head_hash),
        ),
        ("head hash differs", verify(&links, 3, &links[1].hash)),
        ("head hash empty", verify(&links, 3, &[])),
        ("empty stream, empty head", verify(&[], 0, &GENESIS)),
    ];
    let rendered: String = outcomes
        .iter()
        .map(|(what, outcome)| match outcome {
            Ok(count) => format!("{what}: ok, {count} events\n"),
            Err(broken) => format!("{what}: {broken}\n"),
        })
        .collect();
    expect![[r#"
        as recorded: ok, 3 events
        head says 4 events: INC-7 breaks at event #4: stream has 3 events but its head says 4
        head says 2 events: #3 was appended behind its back: INC-7 breaks at event #3: stream has 3 events but its head says 2
        head hash differs: INC-7 breaks at event #3: last hash differs from the recorded head
        head hash empty: INC-7 breaks at event #3: last hash differs from the recorded head
        empty stream, empty head: ok, 0 events
    "#]]
    .assert_eq(&rendered);
}
