//! `verify_signature` never accepts a wrong signature and always accepts the right one.
//!
//! Input: `[secret length][secret][flip index][flip mask][header length][header][body]`. The
//! right MAC is computed here with hmac/sha2 (not with the crate's `sign`), then checked
//! as given, with one bit flipped, against a changed body, and under secret rotation; the
//! fuzzed header is accepted only when it spells the right MAC.
#![no_main]

use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use perf_fixer_github::webhook::{SignatureError, WebhookSecrets, verify_signature};
use secrecy::SecretString;
use sha2::Sha256;

fn take<'a>(data: &mut &'a [u8], n: usize) -> &'a [u8] {
    let n = n.min(data.len());
    let (head, tail) = data.split_at(n);
    *data = tail;
    head
}

fn byte(data: &mut &[u8]) -> u8 {
    take(data, 1).first().copied().unwrap_or(0)
}

fn mac(secret: &str, body: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|e| panic!("HMAC takes keys of any length: {e}"));
    mac.update(body);
    mac.finalize().into_bytes().into()
}

fn header(digest: &[u8]) -> String {
    format!("sha256={}", hex::encode(digest))
}

fuzz_target!(|data: &[u8]| {
    let mut data = data;
    let secret_len = usize::from(byte(&mut data));
    let secret = String::from_utf8_lossy(take(&mut data, secret_len)).into_owned();
    let flip_at = usize::from(byte(&mut data)) % 32;
    let flip_mask = byte(&mut data).max(1);
    let header_len = usize::from(byte(&mut data));
    let fuzzed_header = String::from_utf8_lossy(take(&mut data, header_len)).into_owned();
    let body = data;

    let secrets = match WebhookSecrets::from_secrets(vec![SecretString::from(secret.clone())]) {
        Ok(secrets) => secrets,
        Err(_) => {
            assert!(secret.is_empty(), "a non-empty secret was refused");
            return;
        }
    };
    assert!(!secret.is_empty(), "an empty secret was accepted");

    let right = mac(&secret, body);
    let right_header = header(&right);
    assert_eq!(verify_signature(&secrets, Some(&right_header), body), Ok(()));
    // Hex digits are case-insensitive; the digest they spell is what counts.
    assert_eq!(
        verify_signature(&secrets, Some(&right_header.to_uppercase().replace("SHA256=", "sha256=")), body),
        Ok(())
    );

    let mut wrong = right;
    wrong[flip_at] ^= flip_mask;
    assert_eq!(
        verify_signature(&secrets, Some(&header(&wrong)), body),
        Err(SignatureError::Mismatch),
        "a signature with byte {flip_at} flipped was not rejected"
    );

    let mut longer_body = body.to_vec();
    longer_body.push(flip_mask);
    assert_eq!(
        verify_signature(&secrets, Some(&right_header), &longer_body),
        Err(SignatureError::Mismatch),
        "a signature was accepted for another body"
    );
    assert_eq!(verify_signature(&secrets, None, body), Err(SignatureError::Missing));
    assert!(verify_signature(&secrets, Some(&right_header[..right_header.len() - 1]), body).is_err());
    assert!(verify_signature(&secrets, Some(&format!("{right_header}0")), body).is_err());
    assert!(verify_signature(&secrets, Some(&right_header["sha256=".len()..]), body).is_err());

    // During a rotation the old and the new secret both verify; a third one does not.
    let other = format!("{secret}-rotated");
    let both = WebhookSecrets::from_secrets(vec![
        SecretString::from(other.clone()),
        SecretString::from(secret.clone()),
    ])
    .unwrap_or_else(|e| panic!("two non-empty secrets refused: {e}"));
    assert_eq!(verify_signature(&both, Some(&right_header), body), Ok(()));
    assert_eq!(verify_signature(&both, Some(&header(&mac(&other, body))), body), Ok(()));
    let neither = WebhookSecrets::from_secrets(vec![SecretString::from(format!("{secret}x"))])
        .unwrap_or_else(|e| panic!("a non-empty secret refused: {e}"));
    assert_eq!(
        verify_signature(&neither, Some(&right_header), body),
        Err(SignatureError::Mismatch)
    );

    // Whatever header an attacker sends, it passes only if it spells the right MAC.
    if verify_signature(&secrets, Some(&fuzzed_header), body).is_ok() {
        let digest = fuzzed_header
            .strip_prefix("sha256=")
            .and_then(|hex_digits| hex::decode(hex_digits).ok());
        assert_eq!(digest.as_deref(), Some(&right[..]), "accepted {fuzzed_header:?}");
    }
});
