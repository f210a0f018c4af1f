//! Timeline entries in one plain sentence each ("sam asked nina to take over as Incident
//! Commander"), for every edge that speaks in text: the command line, chat, e-mail. The web
//! UI words the same entries in its own template, with markup.

use serde_json::Value;

/// The sentence for an entry of type `event_type` with `body`, made by `actor`. Unknown types
/// (from a newer server) are named rather than dropped.
pub fn sentence(event_type: &str, body: &Value, actor: &str) -> String {
    let text = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or_default();
    let number = |key: &str| body.get(key).and_then(Value::as_u64).unwrap_or_default();
    let flag = |key: &str| body.get(key).and_then(Value::as_bool).unwrap_or(false);
    let reason = |key: &str| match body.get(key).and_then(Value::as_str) {
        Some(reason) if !reason.is_empty() => format!(": {reason}"),
        _ => String::new(),
    };
    let list = |key: &str| {
        body.get(key)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|item| match item {
                        Value::String(text) => text.clone(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    let words = |raw: &str| raw.replace('_', " ");
    let owner = |value: Option<&Value>| match value {
        Some(Value::Object(fields)) => match fields.get("role").and_then(Value::as_str) {
            Some(role) => format!("whoever is {}", role_name(role)),
            None => fields
                .get("user")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        },
        Some(Value::String(name)) => match name.strip_prefix("role:") {
            Some(role) => format!("whoever is {}", role_name(role)),
            None => name.clone(),
        },
        _ => String::new(),
    };
    match event_type {
        "incident_declared" => {
            let services = list("services");
            format!(
                "{actor} declared “{}” ({}{}, {}{}) and is its Incident Commander",
                text("title"),
                text("severity"),
                if flag("potential") { ", potential" } else { "" },
                text("visibility"),
                if services.is_empty() {
                    String::new()
                } else {
                    format!(", affecting {services}")
                }
            )
        }
        "role_assigned" => format!("{} is now {}", text("person"), role_name(text("role"))),
        "role_unassigned" => {
            format!(
                "{} is no longer {}",
                text("person"),
                role_name(text("role"))
            )
        }
        "handoff_requested" => format!(
            "{} asks {} to take over as Incident Commander (nothing changes until they accept)",
            text("from"),
            text("to")
        ),
        "handoff_accepted" => format!("{} took over command from {}", text("to"), text("from")),
        "handoff_declined" => format!(
            "{} declined to take over command{}",
            text("to"),
            reason("reason")
        ),
        "handoff_cancelled" => format!("{actor} withdrew the hand-off to {}", text("to")),
        "severity_changed" => format!(
            "severity {} → {}{}{}",
            text("from"),
            text("to"),
            if flag("potential") {
                " (potential)"
            } else {
                ""
            },
            reason("reason")
        ),
        "status_changed" => format!(
            "status {} → {}{}",
            words(text("from")),
            words(text("to")),
            reason("reason")
        ),
        "milestone_set" => format!(
            "{actor} set the {} milestone to {}{}",
            text("milestone"),
            text("at"),
            reason("reason")
        ),
        "impact_window_set" => format!(
            "impact from {} to {}",
            body.get("start")
                .and_then(Value::as_str)
                .unwrap_or("an unknown time"),
            body.get("end")
                .and_then(Value::as_str)
                .unwrap_or("now (ongoing)")
        ),
        "note_added" => format!("{actor} noted: {}", first_line(text("text"))),
        "operation_recorded" => format!(
            "{actor} changed {}: {}{}{}",
            text("target"),
            text("action"),
            body.get("command")
                .and_then(Value::as_str)
                .map(|command| format!(" (`{command}`)"))
                .unwrap_or_default(),
            body.get("witness")
                .and_then(Value::as_str)
                .map(|witness| format!(", witnessed by {witness}"))
                .unwrap_or_default()
        ),
        "link_added" => format!(
            "{actor} linked a {}: {}",
            text("kind"),
            body.get("title")
                .and_then(Value::as_str)
                .map(|title| format!("{title} ({})", text("url")))
                .unwrap_or_else(|| text("url").to_owned())
        ),
        "evidence_attached" => format!(
            "{actor} attached {} ({}, {} bytes)",
            text("name"),
            text("media_type"),
            number("size")
        ),
        "action_item_added" => format!(
            "{actor} added {} #{} for {}: {}{}",
            text("kind").replace('_', "-"),
            number("item"),
            owner(body.get("owner")),
            text("text"),
            body.get("due")
                .and_then(Value::as_str)
                .map(|due| format!(" (due {due})"))
                .unwrap_or_default()
        ),
        "action_item_updated" => format!("{actor} updated action item #{}", number("item")),
        "action_item_completed" => format!("action item #{} is done", number("item")),
        "action_item_wont_fix" => format!(
            "action item #{} will not be done{}",
            number("item"),
            reason("reason")
        ),
        "action_item_reopened" => format!("{actor} reopened action item #{}", number("item")),
        "action_item_export_requested" => format!(
            "{actor} asked for follow-up #{} to be opened in tracker {}",
            number("item"),
            text("tracker")
        ),
        "action_item_exported" => format!(
            "follow-up #{} is kept in tracker {} as {}",
            number("item"),
            text("tracker"),
            text("key")
        ),
        "action_item_unlinked" => format!(
            "{actor} unlinked follow-up #{} from its tracker{}",
            number("item"),
            reason("reason")
        ),
        "update_posted" => format!(
            "{actor} posted an update to {}{}: {}",
            words(text("audience")).replace("group:", "group "),
            if flag("public") { " (public)" } else { "" },
            first_line(text("body"))
        ),
        "visibility_changed" => format!(
            "visibility {} → {}{}",
            text("from"),
            text("to"),
            reason("reason")
        ),
        "member_added" => format!("{actor} added {} as a member", text("person")),
        "member_removed" => format!("{actor} removed member {}", text("person")),
        "postmortem_drafted" => format!(
            "{actor} drafted the post-mortem from the {} template; {} owns the review",
            text("template"),
            text("owner")
        ),
        "postmortem_revised" => format!(
            "{actor} saved revision {} of the post-mortem{}",
            number("revision"),
            reason("comment")
        ),
        "postmortem_owner_changed" => format!(
            "the post-mortem review passed from {} to {}",
            text("from"),
            text("to")
        ),
        "postmortem_submitted" => format!(
            "{actor} asked for reviews of revision {} of the post-mortem",
            number("revision")
        ),
        "postmortem_commented" => format!(
            "{actor} commented on revision {} of the post-mortem: {}",
            number("revision"),
            first_line(text("text"))
        ),
        "postmortem_tagged" => {
            let list = |field: &str| {
                let words: Vec<&str> = body[field]
                    .as_array()
                    .map(|items| items.iter().filter_map(|item| item.as_str()).collect())
                    .unwrap_or_default();
                if words.is_empty() {
                    "none".to_owned()
                } else {
                    words.join(", ")
                }
            };
            format!(
                "{actor} filed the post-mortem under tags {}; contributing factors {}",
                list("tags"),
                list("factors")
            )
        }
        "postmortem_approved" => format!(
            "{actor} approved revision {} of the post-mortem",
            number("revision")
        ),
        "postmortem_reviewed" => format!(
            "{actor} marked the post-mortem reviewed (revision {}){}",
            number("revision"),
            overridden(body)
        ),
        "postmortem_published" => format!(
            "{actor} published the post-mortem (revision {}){}",
            number("revision"),
            overridden(body)
        ),
        "timeline_entry_marked" => format!(
            "{actor} {} entry #{} for the post-mortem",
            match text("mark") {
                "starred" => "starred",
                "excluded" => "excluded",
                _ => "unmarked",
            },
            number("sequence")
        ),
        "review_meeting_scheduled" => format!(
            "review meeting {} is set for {}",
            number("meeting"),
            text("at")
        ),
        "review_meeting_held" => format!(
            "{actor} recorded review meeting {} with {}",
            number("meeting"),
            list("attendees")
        ),
        "intent_announced" => format!(
            "{actor} is about to change {}: {} (intent {}){}",
            text("target"),
            text("action"),
            number("intent"),
            body.get("witness")
                .and_then(Value::as_str)
                .map(|witness| format!(", witness {witness}"))
                .unwrap_or_default()
        ),
        "intent_abandoned" => format!(
            "{actor} dropped intent {}{}",
            number("intent"),
            reason("reason")
        ),
        "alert_group_attached" => format!(
            "{actor} attached alert group {} “{}” ({}): {}",
            body["group"]["id"],
            body["group"]["title"].as_str().unwrap_or_default(),
            body["group"]["label"].as_str().unwrap_or_default(),
            body["group"]["why"].as_str().unwrap_or_default()
        ),
        "alerts_noted" => {
            let words = |field: &str| {
                body.get(field)
                    .and_then(Value::as_array)
                    .map(|items| {
                        items
                            .iter()
                            .filter_map(Value::as_str)
                            .map(|s| format!("“{s}”"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default()
            };
            let mut parts = Vec::new();
            if !words("fired").is_empty() {
                parts.push(format!("firing: {}", words("fired")));
            }
            if !words("resolved").is_empty() {
                parts.push(format!("resolved: {}", words("resolved")));
            }
            if flag("all_resolved") {
                parts.push(
                    "every alert of the group has resolved; consider resolving the incident"
                        .to_owned(),
                );
            }
            format!("alerts of group {}: {}", number("group"), parts.join("; "))
        }
        "public_summary_set" if body.get("text").is_some_and(Value::is_string) => format!(
            "{actor} wrote the public summary: {}",
            first_line(text("text"))
        ),
        "public_summary_set" => format!("{actor} cleared the public summary"),
        "witness_rule_changed" if flag("required") => {
            "operations on SEV1 and SEV2 now need a witness".to_owned()
        }
        "witness_rule_changed" => "operations no longer need a witness".to_owned(),
        "change_collision" => format!(
            "change collision {}: {actor}'s change on {} and {}'s on {} came in the same window; a recovery cannot be attributed to either",
            number("collision"),
            text("target"),
            text("earlier_by"),
            text("earlier_target")
        ),
        "changes_acknowledged" => format!("{actor} acknowledged the changes so far"),
        "recovery_unattributed" => format!(
            "the recovery cannot be attributed: it came within change collision {}",
            list("collisions")
        ),
        "ic_operation_attempted" => format!(
            "{actor}, as Incident Commander, tried to change {} ({}) and was stopped: the commander coordinates, others operate",
            text("target"),
            text("action")
        ),
        "severity_evaluated" => format!(
            "the checklist suggests {} (rule “{}”); {} chosen{}",
            text("suggested"),
            text("rule"),
            text("chosen"),
            reason("reason")
        ),
        "suspect_release_set" => match release(body.get("release")) {
            Some(release) => format!(
                "{actor} named {release} the suspect release{}",
                reason("reason")
            ),
            None => format!("{actor} cleared the suspect release{}", reason("reason")),
        },
        "decision_recorded" => format!(
            "decision {}: {}{}: {}",
            number("decision"),
            words(text("option")),
            release(body.get("roll_back_to"))
                .map(|release| format!(" to {release}"))
                .unwrap_or_default(),
            text("motivation")
        ),
        other => format!("{actor}: {}", words(other)),
    }
}

/// ", over 3 findings: a drill" when a review step went ahead over the linter's findings.
fn overridden(body: &Value) -> String {
    match body.get("overridden") {
        Some(Value::Object(fields)) => format!(
            " over {} finding{}: {}",
            fields
                .get("findings")
                .and_then(Value::as_u64)
                .unwrap_or_default(),
            if fields.get("findings").and_then(Value::as_u64) == Some(1) {
                ""
            } else {
                "s"
            },
            fields
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or_default()
        ),
        _ => String::new(),
    }
}

/// A release in an entry's body (`{"service", "version"}`) as `checkout 1.1`.
fn release(value: Option<&Value>) -> Option<String> {
    let release = value?.as_object()?;
    Some(format!(
        "{} {}",
        release.get("service")?.as_str()?,
        release.get("version")?.as_str()?
    ))
}

/// A role key as people say it: `operations` → Operations, `subject_matter_expert` →
/// Subject matter expert, `incident_commander` → Incident Commander.
fn role_name(key: &str) -> String {
    if key == hereby_core::roles::INCIDENT_COMMANDER {
        return "Incident Commander".to_owned();
    }
    let spaced = key.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => spaced,
    }
}

/// The first line of a text, marked as cut when there was more.
fn first_line(text: &str) -> String {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    if lines.next().is_some() {
        format!("{first} …")
    } else {
        first.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::sentence;

    #[test]
    fn entries_read_as_sentences() {
        assert_eq!(
            sentence(
                "role_assigned",
                &json!({"role": "operations", "person": "anna-ops"}),
                "sam"
            ),
            "anna-ops is now Operations"
        );
        assert_eq!(
            sentence(
                "handoff_requested",
                &json!({"from": "sam", "to": "nina"}),
                "sam"
            ),
            "sam asks nina to take over as Incident Commander (nothing changes until they accept)"
        );
        assert_eq!(
            sentence(
                "status_changed",
                &json!({"from": "investigating", "to": "called_off", "reason": "false alarm"}),
                "sam"
            ),
            "status investigating → called off: false alarm"
        );
        assert_eq!(
            sentence(
                "action_item_added",
                &json!({"item": 2, "kind": "follow_up", "owner": {"role": "operations"}, "text": "add an alert"}),
                "sam"
            ),
            "sam added follow-up #2 for whoever is Operations: add an alert"
        );
        assert_eq!(
            sentence("something_new", &json!({}), "sam"),
            "sam: something new"
        );
    }
}
