//! Passwords for the web UI: stored as argon2id hashes (PHC strings with their own salt and
//! parameters), hashed and checked off the async threads because each takes tens of
//! milliseconds of CPU on purpose.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Argon2, PasswordHash};
use hereby_core::types::InvalidValue;

use crate::error::ApiError;

/// The shortest password accepted, in characters.
pub const MIN_CHARS: usize = 10;

/// The longest password accepted, in bytes: hashing cost grows with length.
pub const MAX_BYTES: usize = 1_024;

/// Refuses passwords too short to resist guessing, or too long to hash cheaply.
pub fn check_strength(password: &str) -> Result<(), InvalidValue> {
    if password.chars().count() < MIN_CHARS {
        return Err(InvalidValue {
            field: "password",
            problem: format!("must have at least {MIN_CHARS} characters"),
        });
    }
    if password.len() > MAX_BYTES {
        return Err(InvalidValue {
            field: "password",
            problem: format!("must be at most {MAX_BYTES} bytes"),
        });
    }
    Ok(())
}

fn unavailable(detail: impl std::fmt::Display) -> ApiError {
    ApiError::unavailable(
        "hashing_unavailable",
        "the password could not be hashed right now; nothing was changed, try again",
        detail,
    )
}

/// Hashes a password with argon2id (the crate's recommended parameters) and a random salt.
pub async fn hash(password: &str) -> Result<String, ApiError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(unavailable)
    })
    .await
    .map_err(unavailable)?
}

/// Whether `password` matches the stored hash. A damaged hash matches nothing.
pub async fn verify(password: &str, phc: &str) -> bool {
    let (password, phc) = (password.to_owned(), phc.to_owned());
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc).is_ok_and(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse battery").await.unwrap_or_default();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(verify("correct horse battery", &stored).await);
        assert!(!verify("correct horse batterY", &stored).await);
        assert!(!verify("correct horse battery", "not a hash").await);
        let again = hash("correct horse battery").await.unwrap_or_default();
        assert_ne!(stored, again, "each hash has its own salt");
    }

    #[test]
    fn weak_passwords_are_refused() {
        assert!(check_strength("short").is_err());
        assert!(check_strength("ten chars!").is_ok());
        assert!(check_strength(&"x".repeat(1_025)).is_err());
    }
}
