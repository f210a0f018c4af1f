//! People named in commands: each must be an enabled user of the installation, or the command
//! is refused with the closest names, before anything is written.

use hereby_core::types::UserName;
use hereby_store::{Directory, StoreError};

use crate::{App, AppError};

/// How many suggestions a refusal offers.
const SUGGESTIONS: usize = 3;

impl<S: Directory> App<S> {
    /// Refuses the first of `names` that is no enabled user: `unknown_user`, naming the closest
    /// enabled users ("no user `annaops`; did you mean `anna-ops`?").
    pub async fn check_people(&self, names: &[&UserName]) -> Result<(), AppError> {
        for name in names {
            let problem = match self.store.user(name).await {
                Ok(user) if !user.disabled => continue,
                Ok(_) => format!("`{name}` is disabled"),
                Err(StoreError::UnknownUser(_)) => format!("no user `{name}`"),
                Err(error) => return Err(error.into()),
            };
            let enabled: Vec<String> = self
                .store
                .list_users()
                .await?
                .into_iter()
                .filter(|user| !user.disabled && &user.name != *name)
                .map(|user| user.name.as_str().to_owned())
                .collect();
            let message = match did_you_mean(&closest(name.as_str(), &enabled)) {
                Some(hint) => format!("{problem}; {hint}"),
                None => format!("{problem}, and nobody with a similar name"),
            };
            return Err(AppError::Refused {
                code: "unknown_user",
                message,
            });
        }
        Ok(())
    }
}

/// "did you mean `anna-ops`?" or "did you mean one of `db`, `web`?"; `None` without
/// suggestions.
pub fn did_you_mean(suggestions: &[String]) -> Option<String> {
    match suggestions {
        [] => None,
        [one] => Some(format!("did you mean `{one}`?")),
        many => {
            let quoted: Vec<String> = many.iter().map(|n| format!("`{n}`")).collect();
            Some(format!("did you mean one of {}?", quoted.join(", ")))
        }
    }
}

/// The names most like `wanted`, best first: those within a third of its length in edits,
/// or that contain it or are contained in it (`anna` for `anna-ops`).
pub fn closest(wanted: &str, names: &[String]) -> Vec<String> {
    let wanted = wanted.to_lowercase();
    let budget = (wanted.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &String)> = names
        .iter()
        .filter_map(|name| {
            let lower = name.to_lowercase();
            let distance = strsim::damerau_levenshtein(&wanted, &lower);
            let related = lower.contains(&wanted) || wanted.contains(&lower);
            (distance <= budget || (related && lower.len() >= 3)).then_some((distance, name))
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(SUGGESTIONS)
        .map(|(_, name)| name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::closest;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn a_missing_hyphen_or_a_typo_finds_the_person() {
        let users = names(&["anna-ops", "sam", "samuel", "root"]);
        assert_eq!(closest("annaops", &users), ["anna-ops"]);
        assert_eq!(closest("smauel", &users), ["samuel"]);
        assert_eq!(closest("sam", &users), ["sam", "samuel"]);
        assert!(closest("ghostuser", &users).is_empty());
    }
}
