//! Message templates as admins keep them: the templates in effect (shipped, changed or
//! added), saving one after checking it, removing one, and rendering one for an incident.
//! Every edge (the API, the settings page, the incident page's update form, decisions that
//! come with a message draft) goes through here.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use hereby_core::Incident;
use hereby_core::types::{IncidentNumber, InstallationRole, InvalidValue, TemplateName};
use hereby_store::{Communications, Store, StoredTemplate, User};
use jiff::Timestamp;

use crate::messages::{self, Message, Template, TemplateError};
use crate::{App, AppError, require};

/// A template's description: one line of at most this many characters.
const DESCRIPTION_MAX: usize = 200;

/// The message templates' names, kept for a few seconds so that the incident page, which
/// offers them on every view, reads them from memory. Changes through this process clear
/// them; other nodes' changes show within [`TemplateNames::TTL`].
#[derive(Debug, Clone, Default)]
pub(crate) struct TemplateNames(Arc<RwLock<Option<KeptNames>>>);

/// When the names were read, and the names.
type KeptNames = (Instant, Arc<Vec<String>>);

impl TemplateNames {
    const TTL: Duration = Duration::from_secs(5);

    fn kept(&self) -> Option<Arc<Vec<String>>> {
        let kept = self.0.read().ok()?;
        let (at, names) = kept.as_ref()?;
        (at.elapsed() < Self::TTL).then(|| names.clone())
    }

    fn keep(&self, names: Arc<Vec<String>>) {
        if let Ok(mut kept) = self.0.write() {
            *kept = Some((Instant::now(), names));
        }
    }

    fn clear(&self) {
        if let Ok(mut kept) = self.0.write() {
            *kept = None;
        }
    }
}

impl<S: Store + Communications> App<S> {
    /// Every template in effect, shipped ones first.
    pub async fn templates(&self) -> Result<Vec<Template>, AppError> {
        Ok(messages::effective(self.store.list_templates().await?))
    }

    /// The names of the templates in effect (kept for a few seconds).
    pub async fn template_names(&self) -> Result<Arc<Vec<String>>, AppError> {
        if let Some(names) = self.template_names.kept() {
            return Ok(names);
        }
        let names: Vec<String> = self
            .templates()
            .await?
            .into_iter()
            .map(|template| template.name)
            .collect();
        let names = Arc::new(names);
        self.template_names.keep(names.clone());
        Ok(names)
    }

    /// The template of that name in effect.
    pub async fn template(&self, raw: &str) -> Result<Template, AppError> {
        let not_found = || AppError::not_found(format!("template `{raw}`"));
        let name = TemplateName::parse(raw).map_err(|_| not_found())?;
        self.templates()
            .await?
            .into_iter()
            .find(|template| template.name == name.as_str())
            .ok_or_else(not_found)
    }

    /// Checks and stores a template as `actor` (an admin), and answers with it as it is now
    /// in effect.
    pub async fn save_template(
        &self,
        actor: &User,
        name: &str,
        description: &str,
        subject: String,
        body: String,
    ) -> Result<Template, AppError> {
        require(actor, InstallationRole::Admin)?;
        let name = TemplateName::parse(name)?;
        let description = description.trim();
        if description.chars().count() > DESCRIPTION_MAX || description.contains('\n') {
            return Err(AppError::Invalid(InvalidValue {
                field: "description",
                problem: format!("must be one line of at most {DESCRIPTION_MAX} characters"),
            }));
        }
        messages::check(&subject, &body)?;
        let stored = StoredTemplate {
            name,
            description: description.to_owned(),
            subject,
            body,
            updated_at: Timestamp::now(),
            updated_by: actor.name.clone(),
        };
        self.store.put_template(&stored).await?;
        self.template_names.clear();
        self.settings_changed();
        // What was stored, as it is now in effect (not read back: a concurrent removal must
        // not turn a successful save into a "not found").
        Ok(Template {
            origin: if messages::is_default(&stored.name) {
                "changed"
            } else {
                "custom"
            },
            name: stored.name.to_string(),
            description: stored.description,
            subject: stored.subject,
            body: stored.body,
            updated_at: Some(stored.updated_at),
            updated_by: Some(stored.updated_by.to_string()),
        })
    }

    /// Removes a stored template as `actor` (an admin): an added one goes, a changed default
    /// returns to the shipped one; a shipped one stays.
    pub async fn delete_template(&self, actor: &User, raw: &str) -> Result<(), AppError> {
        require(actor, InstallationRole::Admin)?;
        let name = TemplateName::parse(raw)
            .map_err(|_| AppError::not_found(format!("template `{raw}`")))?;
        if self.store.remove_template(&name).await? {
            self.template_names.clear();
            self.settings_changed();
            return Ok(());
        }
        if messages::is_default(&name) {
            return Err(AppError::Conflict {
                code: "template_is_default",
                message: format!(
                    "`{name}` is a shipped template; change it instead of removing it"
                ),
            });
        }
        Err(AppError::not_found(format!("template `{raw}`")))
    }
}

impl<S> App<S> {
    /// Renders `template` for an incident, with links under the public address.
    pub fn render_message(
        &self,
        number: IncidentNumber,
        incident: &Incident,
        template: &Template,
    ) -> Result<Message, TemplateError> {
        let variables = messages::variables(
            &number.to_string(),
            incident,
            &self.cadence,
            self.public_url.as_deref().unwrap_or(""),
            Timestamp::now(),
        );
        messages::render(&template.subject, &template.body, &variables)
    }
}
