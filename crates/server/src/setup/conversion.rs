//! `POST /app-manifests/{code}/conversions`: GitHub trades the code of the manifest flow for
//! the new App's ID, private key and webhook secret. The call needs no authentication; the
//! code is good for one hour and one use.

use std::time::Duration;

use octocrab::Octocrab;
use octocrab::service::middleware::retry::RetryConfig;
use secrecy::SecretString;
use serde_json::Value;

/// The App GitHub registered. The key and secret stay in `SecretString`s until written.
pub struct NewApp {
    pub id: u64,
    pub slug: String,
    pub name: String,
    /// `https://github.com/apps/<slug>`; `/installations/new` installs it.
    pub html_url: String,
    pub owner: Option<String>,
    pub pem: SecretString,
    pub webhook_secret: SecretString,
}

#[derive(Debug, thiserror::Error)]
pub enum ConversionError {
    #[error("cannot reach GitHub at {api}: {message}")]
    Transport { api: String, message: String },
    #[error("GitHub answered {status}: {message}")]
    Status { status: u16, message: String },
    /// Names the field, never its value (it may be the key).
    #[error("GitHub's answer has no usable `{0}`")]
    Field(&'static str),
}

/// A client for the API at `api_url`, without credentials and without retries: a code is
/// used once, and a retry after a lost answer would only be refused.
pub fn client(api_url: &str) -> Result<Octocrab, String> {
    Octocrab::builder()
        .base_uri(api_url)
        .map_err(|_| format!("GITHUB_API_URL='{api_url}' is not a valid URL"))?
        .add_retry_config(RetryConfig::None)
        .set_connect_timeout(Some(Duration::from_secs(10)))
        .set_read_timeout(Some(Duration::from_secs(30)))
        .build()
        .map_err(|e| format!("cannot build the GitHub client: {e}"))
}

/// Codes are short URL-safe tokens; anything else never reaches the URL path.
pub fn code_is_well_formed(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 200
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

pub async fn convert(
    crab: &Octocrab,
    api_url: &str,
    code: &str,
) -> Result<NewApp, ConversionError> {
    let transport = |e: octocrab::Error| ConversionError::Transport {
        api: api_url.to_owned(),
        message: short(&e.to_string()),
    };
    let builder = http::Request::builder()
        .method(http::Method::POST)
        .uri(format!("/app-manifests/{code}/conversions"))
        .header(http::header::ACCEPT, "application/vnd.github+json")
        .header(http::header::USER_AGENT, "perf-fixer")
        .header("X-GitHub-Api-Version", "2022-11-28");
    let request = crab
        .build_request(builder, None::<&()>)
        .map_err(transport)?;
    let response = crab.execute(request).await.map_err(transport)?;
    let status = response.status().as_u16();
    let text = crab.body_to_string(response).await.map_err(transport)?;
    let body: Option<Value> = serde_json::from_str(&text).ok();
    if !(200..300).contains(&status) {
        // An error body is GitHub's message, never credentials.
        let message = body
            .as_ref()
            .and_then(|v| v.get("message"))
            .and_then(Value::as_str)
            .map_or_else(|| short(&text), short);
        return Err(ConversionError::Status { status, message });
    }
    let body = body.ok_or(ConversionError::Field("JSON body"))?;
    let text_field = |name: &'static str| {
        body.get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or(ConversionError::Field(name))
    };
    Ok(NewApp {
        id: body
            .get("id")
            .and_then(Value::as_u64)
            .ok_or(ConversionError::Field("id"))?,
        slug: text_field("slug")?,
        name: text_field("name")?,
        html_url: text_field("html_url")?,
        owner: body
            .pointer("/owner/login")
            .and_then(Value::as_str)
            .map(str::to_owned),
        pem: SecretString::from(text_field("pem")?),
        webhook_secret: SecretString::from(text_field("webhook_secret")?),
    })
}

fn short(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_url_safe_codes_are_sent() {
        assert!(code_is_well_formed("a1B2-c3_d4"));
        for bad in ["", "../../user", "a b", "a?x=1", "a/b", &"x".repeat(201)] {
            assert!(!code_is_well_formed(bad), "{bad}");
        }
    }
}
