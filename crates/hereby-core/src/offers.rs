//! What a page may offer: for a fixed set of actions, whether the rules would accept each one
//! now, asked by deciding a representative command against the state rather than by writing
//! the rules a second time.
//!
//! An edge that shows a button only when [`postmortem_steps`] names its step never offers
//! what [`crate::decide`] then refuses, and never hides what it would accept: both answers
//! come from the same rules. The probes are chosen so that the rules judge them as they judge
//! any real request of that kind (see each one in [`probe`]).

use std::collections::BTreeSet;

use serde::Serialize;

use crate::command::{Command, Context};
use crate::decide::decide;
use crate::state::{Incident, State};
use crate::types::{Document, Text, UserName, Visibility};

/// An action the post-mortem page offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PostmortemStep {
    /// Save a new revision (also rewriting the timeline section and accepting the name
    /// substitutions, which save revisions too).
    Edit,
    /// Ask for reviews.
    Submit,
    /// Approve the current revision.
    Approve,
    /// End the review.
    MarkReviewed,
    /// Publish the reviewed post-mortem.
    Publish,
    /// Hand the review to someone else.
    Delegate,
    /// Comment on the current revision.
    Comment,
}

impl PostmortemStep {
    /// Every step, in the order a page lists them.
    pub const ALL: [PostmortemStep; 7] = [
        PostmortemStep::Edit,
        PostmortemStep::Submit,
        PostmortemStep::Approve,
        PostmortemStep::MarkReviewed,
        PostmortemStep::Publish,
        PostmortemStep::Delegate,
        PostmortemStep::Comment,
    ];
}

/// The post-mortem steps the rules accept now from `ctx.actor`. Only the incident's rules are
/// asked: whether the actor's installation role allows changes at all is the application's
/// question, asked before this one.
pub fn postmortem_steps(state: &State, ctx: Context<'_>) -> BTreeSet<PostmortemStep> {
    PostmortemStep::ALL
        .into_iter()
        .filter(|step| {
            probe(*step, state.incident())
                .is_some_and(|command| decide(state, command, ctx).is_ok())
        })
        .collect()
}

/// The command that stands for `step`, or `None` when no request of that kind could be
/// accepted whatever it said.
fn probe(step: PostmortemStep, incident: Option<&Incident>) -> Option<Command> {
    let postmortem = incident.and_then(|incident| incident.postmortem.as_ref());
    Some(match step {
        // The state does not hold the text, and the rules judge a revision by the
        // post-mortem's status, the incident's and the revision it is based on, never by its
        // text: any text stands for the editor's. Basing it on the current revision is what
        // the edit form does.
        PostmortemStep::Edit => Command::RevisePostmortem {
            body: Document::parse("A revision of the post-mortem.").ok()?,
            base_revision: postmortem.map(|postmortem| postmortem.revision),
            comment: None,
        },
        PostmortemStep::Submit => Command::SubmitPostmortem,
        PostmortemStep::Approve => Command::ApprovePostmortem,
        PostmortemStep::MarkReviewed => Command::MarkPostmortemReviewed {
            gate: Default::default(),
        },
        PostmortemStep::Publish => Command::PublishPostmortem {
            gate: Default::default(),
        },
        PostmortemStep::Delegate => Command::DelegatePostmortem {
            to: new_owner(incident?, &postmortem?.owner)?,
        },
        // The rules do not read a comment's text.
        PostmortemStep::Comment => Command::CommentPostmortem {
            text: Text::parse("A comment.").ok()?,
        },
    })
}

/// Someone the review could be handed to, as the rules see it: they look only at whether the
/// new owner differs from the current one and, on a restricted incident, is a member. So a
/// member other than the owner stands for every real choice; on an incident that is not
/// restricted anyone but the owner does, even when nobody else is a member yet. `None` when a
/// restricted incident has no other member, where every choice is refused.
fn new_owner(incident: &Incident, owner: &UserName) -> Option<UserName> {
    if let Some(member) = incident
        .all_members()
        .into_iter()
        .find(|member| *member != owner)
    {
        return Some(member.clone());
    }
    if incident.visibility == Visibility::Restricted {
        return None;
    }
    ["someone-else", "someone-else-too"]
        .into_iter()
        .filter_map(|raw| UserName::parse(raw).ok())
        .find(|name| name != owner)
}
