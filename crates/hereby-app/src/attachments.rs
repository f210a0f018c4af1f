//! Evidence attachments: stored by SHA-256 digest, recorded on an incident's timeline, listed
//! from its `evidence_attached` events, and read only through an incident the actor may see.

use hereby_api as api;
use hereby_core::types::{FileName, IncidentNumber, MediaType, Sha256Hex};
use hereby_core::{Command, Event};
use hereby_store::{Blobs, Directory, Outcome, Store, User};
use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::{App, AppError};

/// Events read at a time while listing attachments.
const PAGE: u32 = 1_000;

impl<S: Store + Blobs + Directory> App<S> {
    /// Stores `content` and records it on the incident as `actor`. Visibility, permission and
    /// the incident's rules are checked before anything is stored, so a refused upload leaves
    /// nothing behind; the content is stored before the event, so an event never points at
    /// missing bytes (content stored for a write that then loses a race is merely
    /// unreferenced).
    pub async fn attach(
        &self,
        actor: &User,
        incident: IncidentNumber,
        expected_version: Option<u64>,
        name: FileName,
        media_type: MediaType,
        content: &[u8],
    ) -> Result<Outcome, AppError> {
        let loaded = self.visible(actor, incident).await?;
        crate::require(actor, hereby_core::types::InstallationRole::Responder)?;
        let digest: [u8; 32] = Sha256::digest(content).into();
        let command = Command::AttachEvidence {
            name,
            media_type,
            size: content.len() as u64,
            sha256: Sha256Hex::parse(&hex::encode(digest))?,
        };
        self.rehearse(actor, incident, &loaded, expected_version, &command)?;
        self.store
            .put_blob(digest, content, Timestamp::now())
            .await?;
        self.act(actor, incident, expected_version, command).await
    }
}

impl<S: Store> App<S> {
    /// Every attachment recorded on an incident `actor` may see, oldest first.
    pub async fn attachments(
        &self,
        actor: &User,
        incident: IncidentNumber,
    ) -> Result<Vec<api::Attachment>, AppError> {
        self.visible(actor, incident).await?;
        let mut found = Vec::new();
        let mut after = 0;
        loop {
            let page = self
                .store
                .read_stream_of_type(incident, "evidence_attached", after, PAGE)
                .await?;
            for stored in &page {
                let recorded = stored.decode()?;
                if let Event::EvidenceAttached(evidence) = recorded.event {
                    found.push(api::Attachment {
                        name: evidence.name.to_string(),
                        media_type: evidence.media_type.to_string(),
                        size: evidence.size,
                        sha256: evidence.sha256.to_string(),
                        attached_at: recorded.at.to_string(),
                        attached_by: recorded.actor.to_string(),
                    });
                }
            }
            match page.last() {
                Some(last) if page.len() == PAGE as usize => after = last.link.sequence,
                _ => return Ok(found),
            }
        }
    }
}

impl<S: Store + Blobs> App<S> {
    /// An attachment of an incident `actor` may see, with its content: only content attached
    /// to this incident is served through it.
    pub async fn attachment(
        &self,
        actor: &User,
        incident: IncidentNumber,
        sha256: &str,
    ) -> Result<(api::Attachment, Vec<u8>), AppError> {
        let missing = || AppError::not_found(format!("attachment {sha256} on {incident}"));
        let attachment = self
            .attachments(actor, incident)
            .await?
            .into_iter()
            .find(|attachment| attachment.sha256 == sha256.to_ascii_lowercase())
            .ok_or_else(missing)?;
        let mut digest = [0u8; 32];
        hex::decode_to_slice(&attachment.sha256, &mut digest).map_err(|_| missing())?;
        let content = self.store.get_blob(digest).await?.ok_or_else(missing)?;
        Ok((attachment, content))
    }
}
