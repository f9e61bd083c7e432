//! Webhook authenticity: `X-Hub-Signature-256` checked with HMAC-SHA256 in constant time.
//!
//! Several secrets may be configured at once (a comma-separated `GITHUB_WEBHOOK_SECRET`) so that
//! a secret can be rotated without dropping deliveries: a delivery is accepted when it was signed
//! with any of them. Errors never carry a secret or the MAC we expected.

use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::Choice;

type HmacSha256 = Hmac<Sha256>;

/// The prefix GitHub puts before the hex digest in `X-Hub-Signature-256`.
const SIGNATURE_PREFIX: &str = "sha256=";
/// An HMAC-SHA256 digest is 32 bytes, 64 hex digits.
const DIGEST_LEN: usize = 32;

/// The webhook secrets deliveries may be signed with (more than one during a rotation).
#[derive(Clone)]
pub struct WebhookSecrets(Vec<SecretString>);

/// Why a list of webhook secrets was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookSecretsError {
    #[error(
        "GITHUB_WEBHOOK_SECRET holds no secret: set it to the App's webhook secret (several may be given, comma-separated, during a rotation)"
    )]
    Empty,
}

impl WebhookSecrets {
    /// Parses a comma-separated list; blanks around entries and empty entries are dropped.
    pub fn parse(list: &str) -> Result<Self, WebhookSecretsError> {
        let secrets: Vec<SecretString> = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| SecretString::from(s.to_owned()))
            .collect();
        if secrets.is_empty() {
            return Err(WebhookSecretsError::Empty);
        }
        Ok(Self(secrets))
    }

    /// Builds the list from secrets already held apart.
    /// Empty secrets are dropped: a delivery "signed" with an empty key proves nothing.
    pub fn from_secrets(secrets: Vec<SecretString>) -> Result<Self, WebhookSecretsError> {
        let secrets: Vec<SecretString> = secrets
            .into_iter()
            .filter(|s| !s.expose_secret().is_empty())
            .collect();
        if secrets.is_empty() {
            return Err(WebhookSecretsError::Empty);
        }
        Ok(Self(secrets))
    }

    /// How many secrets are configured.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true for a value built by [`WebhookSecrets::parse`].
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromStr for WebhookSecrets {
    type Err = WebhookSecretsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookSecrets([{} redacted])", self.0.len())
    }
}

/// Why a delivery's signature was not accepted. None of these reveal a secret or a MAC.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone, Copy)]
pub enum SignatureError {
    #[error("the X-Hub-Signature-256 header is missing: the delivery is not signed")]
    Missing,
    #[error("the X-Hub-Signature-256 header is malformed: {0}")]
    Malformed(&'static str),
    #[error("the X-Hub-Signature-256 signature matches none of the configured webhook secrets")]
    Mismatch,
}

/// Computes the `X-Hub-Signature-256` header value for `body` (for tests and tools that send
/// signed deliveries, like a load generator).
pub fn sign(secret: &str, body: &[u8]) -> String {
    match keyed_mac(secret.as_bytes(), body) {
        Some(mac) => format!(
            "{SIGNATURE_PREFIX}{}",
            hex::encode(mac.finalize().into_bytes())
        ),
        None => String::new(),
    }
}

/// HMAC-SHA256 of `body` under `key`. HMAC takes keys of any length, so `None` never happens
/// in practice; it is handled as "no match" rather than with a panic.
fn keyed_mac(key: &[u8], body: &[u8]) -> Option<HmacSha256> {
    let mut mac = HmacSha256::new_from_slice(key).ok()?;
    mac.update(body);
    Some(mac)
}

/// Checks `X-Hub-Signature-256` (`sha256=<64 hex digits>`) against every configured secret.
///
/// Every secret is tried even after a match, and each comparison is constant time, so the time
/// taken tells an attacker nothing about the digest or which secret matched.
pub fn verify_signature(
    secrets: &WebhookSecrets,
    signature_header: Option<&str>,
    body: &[u8],
) -> Result<(), SignatureError> {
    let header = signature_header.ok_or(SignatureError::Missing)?;
    let digest_hex = header
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or(SignatureError::Malformed("it must start with `sha256=`"))?;
    if digest_hex.len() != DIGEST_LEN * 2 {
        return Err(SignatureError::Malformed(
            "`sha256=` must be followed by exactly 64 hex digits",
        ));
    }
    let digest = hex::decode(digest_hex).map_err(|_| {
        SignatureError::Malformed("`sha256=` must be followed by exactly 64 hex digits")
    })?;

    let mut matched = Choice::from(0);
    for secret in &secrets.0 {
        // `verify_slice` compares in constant time.
        let ok = keyed_mac(secret.expose_secret().as_bytes(), body)
            .is_some_and(|mac| mac.verify_slice(&digest).is_ok());
        matched |= Choice::from(u8::from(ok));
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"zen":"Keep it logically awesome.","hook_id":1}"#;

    fn secrets(list: &str) -> WebhookSecrets {
        WebhookSecrets::parse(list).unwrap()
    }

    #[test]
    fn accepts_a_signature_made_with_the_only_secret() {
        let header = sign("s3cret", BODY);
        assert_eq!(
            verify_signature(&secrets("s3cret"), Some(&header), BODY),
            Ok(())
        );
    }

    #[test]
    fn accepts_a_signature_made_with_the_second_of_two_secrets() {
        let header = sign("new-secret", BODY);
        assert_eq!(
            verify_signature(&secrets("old-secret, new-secret"), Some(&header), BODY),
            Ok(())
        );
        let header = sign("old-secret", BODY);
        assert_eq!(
            verify_signature(&secrets("old-secret,new-secret"), Some(&header), BODY),
            Ok(())
        );
    }

    #[test]
    fn matches_githubs_documented_example() {
        // From GitHub's "Validating webhook deliveries" documentation.
        let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(
            verify_signature(
                &secrets("It's a Secret to Everybody"),
                Some(header),
                b"Hello, World!"
            ),
            Ok(())
        );
    }

    #[test]
    fn rejects_a_signature_made_with_another_secret() {
        let header = sign("attacker", BODY);
        assert_eq!(
            verify_signature(&secrets("a,b"), Some(&header), BODY),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn rejects_a_signature_of_another_body() {
        let header = sign("s3cret", b"{}");
        assert_eq!(
            verify_signature(&secrets("s3cret"), Some(&header), BODY),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn missing_header_is_its_own_error() {
        assert_eq!(
            verify_signature(&secrets("s3cret"), None, BODY),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn malformed_headers_are_rejected_before_any_mac() {
        let good = sign("s3cret", BODY);
        let sha1_style = good.replacen("sha256=", "sha1=", 1);
        let no_prefix = good.trim_start_matches("sha256=").to_owned();
        let not_hex = format!("sha256={}", "zz".repeat(32));
        let too_long = format!("{good}00");
        for header in [
            "",
            "sha256=",
            sha1_style.as_str(),
            no_prefix.as_str(),
            not_hex.as_str(),
            too_long.as_str(),
        ] {
            assert!(
                matches!(
                    verify_signature(&secrets("s3cret"), Some(header), BODY),
                    Err(SignatureError::Malformed(_))
                ),
                "{header:?} should be malformed"
            );
        }
    }

    #[test]
    fn truncated_signature_is_malformed_not_a_prefix_match() {
        let good = sign("s3cret", BODY);
        for cut in [good.len() - 1, good.len() - 2, "sha256=".len() + 2] {
            assert!(matches!(
                verify_signature(&secrets("s3cret"), Some(&good[..cut]), BODY),
                Err(SignatureError::Malformed(_))
            ));
        }
    }

    #[test]
    fn uppercase_hex_is_accepted() {
        let good = sign("s3cret", BODY);
        let upper = format!("sha256={}", good["sha256=".len()..].to_uppercase());
        assert_eq!(
            verify_signature(&secrets("s3cret"), Some(&upper), BODY),
            Ok(())
        );
    }

    #[test]
    fn errors_and_debug_never_show_the_secret_or_the_mac() {
        let expected = sign("hunter2-secret", BODY);
        let s = secrets("hunter2-secret");
        let digest = &expected["sha256=".len()..];
        let wrong = sign("other", BODY);
        for err in [
            verify_signature(&s, Some(&wrong), BODY).unwrap_err(),
            verify_signature(&s, None, BODY).unwrap_err(),
            verify_signature(&s, Some("sha256=00"), BODY).unwrap_err(),
        ] {
            let text = format!("{err} {err:?}");
            assert!(!text.contains("hunter2"), "{text}");
            assert!(!text.contains(digest), "{text}");
        }
        let debug = format!("{s:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("1 redacted"), "{debug}");
    }

    #[test]
    fn secret_lists_are_parsed_with_rotation_in_mind() {
        assert_eq!(secrets(" a , b ,, c ").len(), 3);
        assert_eq!(
            WebhookSecrets::parse(" , ").unwrap_err(),
            WebhookSecretsError::Empty
        );
        assert_eq!(
            WebhookSecrets::parse("").unwrap_err(),
            WebhookSecretsError::Empty
        );
        assert!("x".parse::<WebhookSecrets>().is_ok());
    }

    #[test]
    fn an_empty_secret_never_verifies_anything() {
        let secrets =
            WebhookSecrets::from_secrets(vec![SecretString::from(""), SecretString::from("real")])
                .unwrap();
        assert_eq!(secrets.len(), 1);
        let forged = sign("", BODY);
        assert_eq!(
            verify_signature(&secrets, Some(&forged), BODY),
            Err(SignatureError::Mismatch)
        );
        assert!(WebhookSecrets::from_secrets(vec![SecretString::from("")]).is_err());
    }
}
