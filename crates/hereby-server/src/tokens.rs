//! API tokens: random secrets shown once; only their digest is stored.

use std::fmt;

use crate::extract::token_digest;

/// A freshly made token. Its `Display` is the secret, so print it once and drop it.
pub struct NewToken {
    secret: String,
}

impl NewToken {
    /// 32 random bytes from the operating system, as `hby_` and 64 hex digits. A failure is
    /// logged here with the system's reason, since the server's handlers drop it and answer
    /// with a generic 503.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).inspect_err(|error| {
            tracing::error!(%error, "the operating system's random source failed");
        })?;
        Ok(Self {
            secret: format!("hby_{}", hex::encode(bytes)),
        })
    }

    /// What the store keeps.
    pub fn digest(&self) -> [u8; 32] {
        token_digest(&self.secret)
    }

    /// The secret, to show the user exactly once.
    pub fn reveal(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for NewToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewToken(***)")
    }
}
