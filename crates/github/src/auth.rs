//! GitHub App credentials: the App id and its RSA private key (PEM), never printable.

use std::fmt;

use octocrab::EncodingKey;
use secrecy::{ExposeSecret, SecretString};

/// The App's identity. `Debug` shows the id only; the key cannot be printed.
#[derive(Clone)]
pub struct AppCredentials {
    app_id: u64,
    private_key: SecretString,
}

/// Why credentials were refused. Never includes key material.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialsError {
    #[error(
        "the GitHub App private key is not an RSA key in PEM format (the .pem file GitHub lets you download; set GITHUB_PRIVATE_KEY_PATH to it)"
    )]
    InvalidKey,
    #[error("the GitHub App id must be a positive number (GITHUB_APP_ID)")]
    InvalidAppId,
}

impl AppCredentials {
    /// Takes the App id and the PEM text of its private key, checking that the key is usable.
    pub fn from_pem(app_id: u64, pem: impl Into<String>) -> Result<Self, CredentialsError> {
        if app_id == 0 {
            return Err(CredentialsError::InvalidAppId);
        }
        let private_key = SecretString::from(pem.into());
        EncodingKey::from_rsa_pem(private_key.expose_secret().as_bytes())
            .map_err(|_| CredentialsError::InvalidKey)?;
        Ok(Self {
            app_id,
            private_key,
        })
    }

    pub fn app_id(&self) -> u64 {
        self.app_id
    }

    pub(crate) fn encoding_key(&self) -> Result<EncodingKey, CredentialsError> {
        EncodingKey::from_rsa_pem(self.private_key.expose_secret().as_bytes())
            .map_err(|_| CredentialsError::InvalidKey)
    }
}

impl fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppCredentials")
            .field("app_id", &self.app_id)
            .field("private_key", &"[redacted]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_text_that_is_not_a_key() {
        assert_eq!(
            AppCredentials::from_pem(
                1,
                "-----BEGIN RSA PRIVATE KEY-----\nnope\n-----END RSA PRIVATE KEY-----\n"
            )
            .unwrap_err(),
            CredentialsError::InvalidKey
        );
        assert_eq!(
            AppCredentials::from_pem(1, "").unwrap_err(),
            CredentialsError::InvalidKey
        );
        assert_eq!(
            AppCredentials::from_pem(0, "x").unwrap_err(),
            CredentialsError::InvalidAppId
        );
    }

    #[test]
    fn error_text_holds_no_key_material() {
        let err = AppCredentials::from_pem(1, "SECRET-MATERIAL").unwrap_err();
        assert!(!format!("{err} {err:?}").contains("SECRET-MATERIAL"));
    }
}
