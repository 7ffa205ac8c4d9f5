//! Load and validate stages: what a credential looks like. A profile holds
//! references to secrets (paths of files on the host), never their values:
//! validation refuses an environment entry that looks like a credential and
//! holds secret names to a shape, and loading never quotes a profile that
//! seems to hold one in an error message.

use crate::shapes::is_identifier;

/// A compose secret name: it becomes `/run/secrets/<name>`.
pub fn is_secret_name(value: &str) -> bool {
    is_identifier(value, 64, b"_")
}

/// Environment entries that carry a credential by name or by shape.
pub fn looks_like_secret(name: &str, value: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let by_name = [
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "API_KEY",
        "PRIVATE_KEY",
        "CREDENTIAL",
    ]
    .iter()
    .any(|word| upper.contains(word))
        && !upper.ends_with("_FILE");
    // scheme://user:password@host
    let by_value = value
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .is_some_and(|(userinfo, _)| userinfo.contains(':') && !userinfo.contains('/'));
    by_name || by_value || is_webhook_url(value) || is_token(value)
}

/// Webhook URLs whose path is the credential: whoever has one posts as the
/// integration.
fn is_webhook_url(value: &str) -> bool {
    const WEBHOOKS: &[&str] = &[
        "hooks.slack.com/services/",
        "hooks.slack.com/workflows/",
        "discord.com/api/webhooks/",
        "discordapp.com/api/webhooks/",
        ".webhook.office.com/",
        "outlook.office.com/webhook/",
    ];
    let lower = value.to_ascii_lowercase();
    WEBHOOKS.iter().any(|hook| lower.contains(hook))
}

/// API tokens by the prefixes their issuers give them (OpenAI and Stripe
/// secret keys, GitHub and GitLab tokens, Slack tokens, AWS access key IDs),
/// and JSON Web Tokens.
fn is_token(value: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "sk-",
        "sk_live_",
        "rk_live_",
        "ghp_",
        "gho_",
        "ghs_",
        "ghu_",
        "github_pat_",
        "glpat-",
        "xoxb-",
        "xoxp-",
        "xoxa-",
        "xoxs-",
        "AKIA",
    ];
    let token_chars = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let prefixed = PREFIXES.iter().any(|p| value.starts_with(p)) && value.len() >= 20;
    let jwt = value.starts_with("eyJ") && value.matches('.').count() == 2 && value.len() >= 30;
    token_chars && (prefixed || jwt)
}

/// Why an environment entry probably carries a credential, if it does: a
/// DSN, a webhook, a `*_KEY`, a URL whose user part is a key. Such values are
/// not refused (a Sentry DSN is half public) but linted, `credential-in-env`.
pub fn likely_credential(name: &str, value: &str) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase();
    if value.is_empty() || upper.ends_with("_FILE") || value.starts_with('/') {
        return None;
    }
    if upper == "DSN" || upper.ends_with("_DSN") {
        return Some("a DSN carries the project's key");
    }
    if upper.contains("WEBHOOK") {
        return Some("a webhook URL lets anyone post as the integration");
    }
    if upper.ends_with("_KEY") {
        return Some("names ending in `_KEY` usually hold one");
    }
    let userinfo = value
        .split_once("://")
        .and_then(|(_, rest)| rest.split(['/', '?']).next())
        .and_then(|authority| authority.rsplit_once('@'))
        .map(|(userinfo, _)| userinfo);
    let token_user = userinfo.is_some_and(|user| {
        user.len() >= 16
            && user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    });
    token_user.then_some("the URL's user part is a key, as in a DSN")
}

/// Whether a profile's text seems to hold a credential anywhere: an
/// assignment [`looks_like_secret`] would refuse or [`likely_credential`]
/// warn about (a path is a reference, not a credential). Errors and lints
/// never quote such a file, not even as context lines around an unrelated
/// mistake.
pub fn text_holds_credential(text: &str) -> bool {
    text.lines().any(|line| {
        line.split([',', '{', '}']).any(|piece| {
            piece.split_once('=').is_some_and(|(name, value)| {
                let name = name.trim().trim_start_matches('#').trim().trim_matches('"');
                let value = value.trim().trim_matches(['"', '\'']);
                !value.is_empty()
                    && !value.starts_with('/')
                    && (looks_like_secret(name, value) || likely_credential(name, value).is_some())
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::{is_secret_name, likely_credential, looks_like_secret, text_holds_credential};

    #[test]
    fn secrets_are_spotted_by_name_and_by_url_shape() {
        assert!(looks_like_secret("DB_PASSWORD", "x"));
        assert!(looks_like_secret(
            "DATABASE_URL",
            "postgres://app:hunter2@db/app"
        ));
        assert!(!looks_like_secret(
            "DATABASE_PASSWORD_FILE",
            "/run/secrets/db"
        ));
        assert!(!looks_like_secret("LOG_LEVEL", "info"));
        assert!(text_holds_credential(
            "environment = { A = 1, DB_PASSWORD = \"x\" }"
        ));
        assert!(text_holds_credential("URL = \"redis://u:pw@cache:6379\""));
        assert!(!text_holds_credential(
            "secrets = { api_key = \"/etc/shop/api_key\" }\npassword_file = \"/etc/redis/pw\""
        ));
        assert!(!looks_like_secret("API_URL", "https://api.example.com/v1"));
    }

    #[test]
    fn webhook_urls_and_tokens_are_spotted_by_their_shape() {
        assert!(looks_like_secret(
            "ALERTS",
            "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX"
        ));
        assert!(looks_like_secret(
            "CHAT",
            "https://discord.com/api/webhooks/123/abc"
        ));
        assert!(looks_like_secret("OPENAI", "sk-proj-0123456789abcdefghij"));
        assert!(looks_like_secret(
            "GH",
            "ghp_0123456789abcdefghijklmnopqrstuvwxyz"
        ));
        assert!(looks_like_secret("AWS_ID", "AKIAIOSFODNN7EXAMPLE"));
        assert!(looks_like_secret(
            "SESSION",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl"
        ));
        assert!(!looks_like_secret("LOCALE", "sk-SK"));
        assert!(!looks_like_secret("MODE", "sk-learn-compatible mode"));
        assert!(!looks_like_secret(
            "DOCS",
            "https://api.slack.com/messaging/webhooks"
        ));
    }

    #[test]
    fn secret_names_are_mount_file_names() {
        assert!(is_secret_name("db_password"));
        assert!(is_secret_name(&"a".repeat(64)));
        for bad in [
            "",
            "_x",
            "1x",
            "Db",
            "db-password",
            "db.password",
            "../x",
            &"a".repeat(65),
        ] {
            assert!(!is_secret_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn likely_credentials_by_name_and_by_url_shape() {
        assert!(likely_credential("SENTRY_DSN", "https://abc@sentry.io/1").is_some());
        assert!(likely_credential(
            "ERRORS",
            "https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/42"
        )
        .is_some());
        assert!(likely_credential("STRIPE_KEY", "pk_live_x").is_some());
        assert!(likely_credential("SLACK_WEBHOOK", "https://example.com/x").is_some());
        assert!(likely_credential("SENTRY_DSN_FILE", "/run/secrets/dsn").is_none());
        assert!(likely_credential("API_URL", "https://api.example.com/v1").is_none());
        assert!(likely_credential("DATABASE_URL", "postgres://app@db/app").is_none());
        assert!(likely_credential("CACHE_KEY_PREFIX", "shop").is_none());
    }
}
