//! The App manifest posted to GitHub: `deploy/github-app.yml`, the one source of truth for the
//! App's name, permissions and events, with its three URLs set from `PERF_FIXER_PUBLIC_URL`.

use serde_json::{Value, json};

/// `deploy/github-app.yml`, compiled in so that the binary needs no file beside it.
const MANIFEST_YAML: &str = include_str!("../../../../deploy/github-app.yml");

#[derive(Debug, thiserror::Error)]
#[error("deploy/github-app.yml (compiled into perf-fixer) is not a valid App manifest: {0}")]
pub struct ManifestError(String);

/// The manifest as JSON, with `url`, `hook_attributes.url` and `redirect_url` pointing at
/// `public_url` (no trailing slash).
pub fn manifest(public_url: &str) -> Result<Value, ManifestError> {
    let mut manifest: Value =
        serde_norway::from_str(MANIFEST_YAML).map_err(|e| ManifestError(e.to_string()))?;
    let Some(fields) = manifest.as_object_mut() else {
        return Err(ManifestError("the top level is not a mapping".to_owned()));
    };
    for required in ["name", "default_permissions", "default_events"] {
        if !fields.contains_key(required) {
            return Err(ManifestError(format!("`{required}` is missing")));
        }
    }
    fields.insert("url".to_owned(), json!(public_url));
    fields.insert(
        "redirect_url".to_owned(),
        json!(format!("{public_url}/setup/callback")),
    );
    let hook = fields
        .entry("hook_attributes")
        .or_insert_with(|| json!({ "active": true }));
    let Some(hook) = hook.as_object_mut() else {
        return Err(ManifestError(
            "`hook_attributes` is not a mapping".to_owned(),
        ));
    };
    hook.insert(
        "url".to_owned(),
        json!(format!("{public_url}/webhooks/github")),
    );
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_is_the_yaml_file_with_our_urls() {
        let m = manifest("https://pf.example.org").unwrap();
        assert_eq!(m["name"], "perf-fixer");
        assert_eq!(m["url"], "https://pf.example.org");
        assert_eq!(m["redirect_url"], "https://pf.example.org/setup/callback");
        assert_eq!(
            m["hook_attributes"]["url"],
            "https://pf.example.org/webhooks/github"
        );
        assert_eq!(m["hook_attributes"]["active"], true);
        assert_eq!(m["public"], false);
        assert_eq!(m["default_permissions"]["checks"], "write");
        assert_eq!(m["default_permissions"]["contents"], "write");
        assert_eq!(m["default_permissions"]["metadata"], "read");
        let events: Vec<&str> = m["default_events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap())
            .collect();
        assert_eq!(events, ["check_run", "issue_comment", "pull_request"]);
        assert!(
            !m.to_string().contains("example.com"),
            "every URL of the file is replaced: {m}"
        );
    }
}
