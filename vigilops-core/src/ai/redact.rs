//! Masks secrets in text before it leaves for an LLM provider: private key blocks, passwords in
//! connection strings (user and host kept), `Authorization` headers and bearer tokens, secret
//! `key=value`/`"key": "value"` pairs (`password`, `PGPASSWORD`, `api_key`, `token`, …) and
//! token shapes recognised anywhere (our `vop_` agent tokens, `sk-…` API keys, AWS access key
//! ids, GitHub and Slack tokens, JWTs, Google API keys).
//!
//! Each secret becomes a fixed placeholder naming its kind, `[REDACTED:password]`, so the result
//! is deterministic (the same input always gives the same prompt) and redacting twice changes
//! nothing. Ordinary log text (paths, URLs without credentials, `user=…`, `token expired`,
//! `max_tokens=…`) is left as it is.
//!
//! Limits: an unquoted value ends at whitespace, `,`, `;`, `&` or a quote, so an unquoted
//! password containing one of those is masked only up to it; quote such values. A secret in a
//! form not listed here (a bare random string with no key before it) is not recognised.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// The prefix of every placeholder.
const PLACEHOLDER_PREFIX: &str = "[REDACTED:";

/// Key names that hold secrets, as a regex fragment (matched case-insensitively).
const SECRET_KEY: &str = r"[A-Za-z0-9_.\-]*(?:password|passwd|passphrase|pwd|secret|token|api[_\-]?key|access[_\-]?key|auth[_\-]?key|private[_\-]?key|credentials?)[A-Za-z0-9_.\-]*";

/// Key names that contain a secret word but hold counts, kinds or times, never a secret.
const HARMLESS_KEY_ENDINGS: &[&str] = &[
    "tokens",
    "_type",
    "_count",
    "_ttl",
    "_expiry",
    "_expires",
    "_expires_in",
    "_at",
    "_length",
    "_len",
    "_file",
    "_path",
];

fn placeholder(kind: &str) -> String {
    format!("{PLACEHOLDER_PREFIX}{kind}]")
}

/// What a secret key's value is called in its placeholder.
fn kind_of_key(key: &str) -> &'static str {
    let key = key.to_ascii_lowercase();
    if key.contains("pass") || key.contains("pwd") {
        "password"
    } else if key.contains("private") {
        "private_key"
    } else if key.contains("secret") {
        "secret"
    } else if key.contains("key") {
        "api_key"
    } else if key.contains("token") {
        "token"
    } else {
        "credentials"
    }
}

fn is_harmless_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    HARMLESS_KEY_ENDINGS
        .iter()
        .any(|ending| key.ends_with(ending))
}

/// One rule: a pattern and how to rewrite a match.
struct Rule {
    pattern: Regex,
    rewrite: fn(&Captures<'_>) -> String,
}

/// Builds a rule. The patterns are literals exercised by this module's tests, so a failure to
/// compile is a programming error caught before release; it panics on first use.
fn rule(pattern: &str, rewrite: fn(&Captures<'_>) -> String) -> Rule {
    #[allow(clippy::expect_used)]
    let pattern = Regex::new(pattern).expect("redaction patterns are valid");
    Rule { pattern, rewrite }
}

fn group<'a>(captures: &'a Captures<'_>, index: usize) -> &'a str {
    captures.get(index).map_or("", |m| m.as_str())
}

/// The rules, in order: whole blocks first, then structures whose parts are kept, then shapes.
static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        // PEM private keys, also when the text ends before the END line.
        rule(
            r"(?s)-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)",
            |_| placeholder("private_key"),
        ),
        // scheme://user:password@host: keep the scheme, user and host.
        rule(
            r"(?i)\b([a-z][a-z0-9+.\-]*://)([^:/?#@\s]*):([^@\s]+)@",
            |c| {
                format!(
                    "{}{}:{}@",
                    group(c, 1),
                    group(c, 2),
                    placeholder("password")
                )
            },
        ),
        // Authorization headers: keep the header name and the scheme.
        rule(
            r#"(?i)\b((?:proxy-)?authorization["']?\s*[:=]\s*["']?)(?:(bearer|basic|token|digest|negotiate|apikey)\s+)?([^\s"',;]+)"#,
            |c| {
                let scheme = c.get(2).map(|m| format!("{} ", m.as_str()));
                let value = group(c, 3);
                let masked = if value.starts_with(PLACEHOLDER_PREFIX) {
                    value.to_owned()
                } else {
                    placeholder("credentials")
                };
                format!("{}{}{masked}", group(c, 1), scheme.unwrap_or_default())
            },
        ),
        // A bearer token anywhere else.
        rule(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=\-]{8,}", |c| {
            format!("{}{}", group(c, 1), placeholder("token"))
        }),
        // "password": "…" (JSON and friends).
        rule(
            &format!(r#"(?i)"({SECRET_KEY})"(\s*:\s*)"((?:[^"\\]|\\.)*)""#),
            |c| {
                let (key, value) = (group(c, 1), group(c, 3));
                if is_harmless_key(key) || value.is_empty() || value.starts_with(PLACEHOLDER_PREFIX)
                {
                    return group(c, 0).to_owned();
                }
                format!(
                    "\"{key}\"{}\"{}\"",
                    group(c, 2),
                    placeholder(kind_of_key(key))
                )
            },
        ),
        // password=…, PGPASSWORD=…, db_password: …, --token=…, ?api_key=…&
        rule(
            &format!(r#"(?i)\b({SECRET_KEY})(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&"']+)"#),
            |c| {
                let (key, value) = (group(c, 1), group(c, 3));
                let inner = value.trim_matches(|q| q == '"' || q == '\'');
                if is_harmless_key(key) || inner.is_empty() || inner.starts_with(PLACEHOLDER_PREFIX)
                {
                    return group(c, 0).to_owned();
                }
                let quote = if value.len() > inner.len() {
                    &value[..1]
                } else {
                    ""
                };
                format!(
                    "{key}{}{quote}{}{quote}",
                    group(c, 2),
                    placeholder(kind_of_key(key))
                )
            },
        ),
        // --password value (a command line with the value after a space).
        rule(
            r"(?i)(--(?:password|passwd|pass|token|api-key|secret)\s+)([^\s\-]\S*)",
            |c| {
                if group(c, 2).starts_with(PLACEHOLDER_PREFIX) {
                    return group(c, 0).to_owned();
                }
                format!("{}{}", group(c, 1), placeholder("password"))
            },
        ),
        // Token shapes recognised without a key.
        rule(r"\bvop_[A-Za-z0-9]{16,}", |_| placeholder("agent_token")),
        rule(r"\bsk-[A-Za-z0-9_\-]{16,}", |_| placeholder("api_key")),
        rule(
            r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b",
            |_| placeholder("aws_access_key"),
        ),
        rule(
            r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})",
            |_| placeholder("github_token"),
        ),
        rule(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}", |_| {
            placeholder("slack_token")
        }),
        rule(r"\bAIza[0-9A-Za-z_\-]{35}", |_| placeholder("api_key")),
        rule(
            r"\beyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*",
            |_| placeholder("jwt"),
        ),
    ]
});

/// `text` with every recognised secret replaced by its placeholder; borrowed when nothing was.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut current = Cow::Borrowed(text);
    for rule in RULES.iter() {
        // A match the rule leaves as it is (a harmless key) still allocates; keep the borrow.
        if let Cow::Owned(rewritten) = rule.pattern.replace_all(&current, rule.rewrite)
            && rewritten != *current
        {
            current = Cow::Owned(rewritten);
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn check(input: &str, expected: &str) {
        assert_eq!(redact(input), expected, "input: {input}");
        assert_eq!(redact(expected), expected, "not idempotent: {expected}");
    }

    #[test]
    fn each_form_is_masked_with_its_placeholder() {
        check(
            "connecting to postgres://app:s3cr3t!@db.internal:5432/vigilops",
            "connecting to postgres://app:[REDACTED:password]@db.internal:5432/vigilops",
        );
        check(
            "REDIS_URL=redis://:hunter2@cache:6379/0",
            "REDIS_URL=redis://:[REDACTED:password]@cache:6379/0",
        );
        check(
            "mongodb+srv://ops:pa55@cluster0.example.net/app amqp://guest:guest@mq:5672/",
            "mongodb+srv://ops:[REDACTED:password]@cluster0.example.net/app amqp://guest:[REDACTED:password]@mq:5672/",
        );
        check(
            "mysql://root:toor@10.0.0.5:3306/shop",
            "mysql://root:[REDACTED:password]@10.0.0.5:3306/shop",
        );
        check(
            "PGPASSWORD=topsecret psql -h db",
            "PGPASSWORD=[REDACTED:password] psql -h db",
        );
        check(
            r#"{"user": "app", "password": "p@ss \"quoted\"", "port": 5432}"#,
            r#"{"user": "app", "password": "[REDACTED:password]", "port": 5432}"#,
        );
        check(
            "login ok user=alice password='a b c' api_key=abc123 next",
            "login ok user=alice password='[REDACTED:password]' api_key=[REDACTED:api_key] next",
        );
        check(
            "GET /hook?token=abcdef&x=1",
            "GET /hook?token=[REDACTED:token]&x=1",
        );
        check(
            "Authorization: Bearer abc.def.ghi",
            "Authorization: Bearer [REDACTED:credentials]",
        );
        check(
            "curl -H 'authorization: Basic YWxpY2U6c2VjcmV0' http://x",
            "curl -H 'authorization: Basic [REDACTED:credentials]' http://x",
        );
        check(
            "sent with bearer 0123456789abcdef",
            "sent with bearer [REDACTED:token]",
        );
        check(
            "agent vop_0123456789abcdef0123456789abcdef0123456789abcdef registered",
            "agent [REDACTED:agent_token] registered",
        );
        check(
            "key sk-proj-AbCdEf0123456789xyz used",
            "key [REDACTED:api_key] used",
        );
        check(
            "aws AKIAIOSFODNN7EXAMPLE denied",
            "aws [REDACTED:aws_access_key] denied",
        );
        check(
            "clone with ghp_0123456789abcdefghijABCDEFGHIJ012345",
            "clone with [REDACTED:github_token]",
        );
        check(
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl end",
            "jwt [REDACTED:jwt] end",
        );
        check(
            "mysqldump --password hunter2 shop",
            "mysqldump --password [REDACTED:password] shop",
        );
        check(
            "key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----\ndone",
            "key:\n[REDACTED:private_key]\ndone",
        );
        check(
            "cut: -----BEGIN RSA PRIVATE KEY-----\nMIIEow",
            "cut: [REDACTED:private_key]",
        );
    }

    #[test]
    fn ordinary_text_is_unchanged() {
        for line in [
            "2026-11-27T09:00:00Z ERROR host=web-01 service=nginx upstream timed out (110)",
            "FATAL:  password authentication failed for user \"app\"",
            "token expired, refreshing session for user=alice",
            "llm call max_tokens=2000 prompt_tokens=512 completion_tokens=88 token_type=bearer",
            "GET https://example.com/api/v1/hosts?page=2 200 12ms",
            "connecting to postgres://db.internal:5432/vigilops",
            "disk /dev/sda1 at 92% on /var/lib/postgresql",
            "task-runner finished ask-9f2 in 3s",
            "keyspace_hits:1234 secret_rotation_at=2026-11-27",
        ] {
            assert_eq!(redact(line), line);
            assert!(matches!(redact(line), Cow::Borrowed(_)));
        }
    }

    /// A secret value that cannot occur by chance in the generated log text.
    fn secret() -> impl Strategy<Value = String> {
        "[A-Za-z0-9][A-Za-z0-9!%^*()_+=.~]{15,31}".prop_map(|body| format!("Z{body}"))
    }

    /// A line of ordinary log text.
    fn log_text() -> impl Strategy<Value = String> {
        let fragment = prop::sample::select(vec![
            "2026-11-27T09:00:00Z",
            "[ERROR]",
            "[WARN]",
            "host=web-01",
            "service=api",
            "user=alice",
            "GET /api/v1/hosts 200 12ms",
            "upstream timed out",
            "connection refused",
            "token expired",
            "max_tokens=2000",
            "password authentication failed for user \"app\"",
            "http://example.com/health",
            "redis://cache:6379/0",
            "disk 92% full",
            "retry 3/5",
            "{\"level\":\"info\",\"msg\":\"ok\"}",
            "磁盘空间不足",
            "pid 4242",
            "",
        ]);
        prop::collection::vec(fragment, 0..8).prop_map(|parts| parts.join(" "))
    }

    /// A secret planted in one of the recognised forms.
    fn planted() -> impl Strategy<Value = (String, String)> {
        let hex = "[0-9a-f]{48}";
        let upper = "[0-9A-Z]{16}";
        let alnum36 = "[A-Za-z0-9]{36}";
        let b64 = "[A-Za-z0-9_-]{10,30}";
        prop_oneof![
            (secret(), 0..14_usize).prop_map(|(secret, form)| {
                let text = match form {
                    0 => format!("password={secret}"),
                    1 => format!("PGPASSWORD={secret} pg_dump"),
                    2 => format!("{{\"password\": \"{secret}\"}}"),
                    3 => format!("db_password: {secret}"),
                    4 => format!("postgres://app:{secret}@db.internal:5432/app"),
                    5 => format!("mysql://root:{secret}@10.0.0.5/shop"),
                    6 => format!("redis://:{secret}@cache:6379/0"),
                    7 => format!("mongodb://ops:{secret}@mongo-1,mongo-2/app"),
                    8 => format!("amqp://guest:{secret}@mq:5672/"),
                    9 => format!("Authorization: Bearer {secret}"),
                    10 => format!("-H \"authorization: Basic {secret}\""),
                    11 => format!("\"api_key\": \"{secret}\""),
                    12 => format!("--password {secret}"),
                    _ => format!("AWS_SECRET_ACCESS_KEY='{secret}'"),
                };
                (text, secret)
            }),
            hex.prop_map(|hex| {
                let token = format!("vop_{hex}");
                (token.clone(), token)
            }),
            secret().prop_map(|s| {
                let token = format!(
                    "sk-{}",
                    s.replace(|c: char| !c.is_ascii_alphanumeric(), "x")
                );
                (token.clone(), token)
            }),
            upper.prop_map(|id| {
                let token = format!("AKIA{id}");
                (token.clone(), token)
            }),
            alnum36.prop_map(|body| {
                let token = format!("ghp_{body}");
                (token.clone(), token)
            }),
            (b64, b64, b64).prop_map(|(a, b, c)| {
                let token = format!("eyJ{a}.eyJ{b}.{c}");
                (token.clone(), token)
            }),
            prop::collection::vec("[A-Za-z0-9+/]{64}", 1..4).prop_map(|lines| {
                let body = lines.join("\n");
                (
                    format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----"),
                    body,
                )
            }),
        ]
    }

    proptest! {
        #[test]
        fn planted_secrets_never_survive(
            before in log_text(),
            (form, secret) in planted(),
            after in log_text(),
        ) {
            let text = format!("{before} {form} {after}");
            let redacted = redact(&text);
            prop_assert!(!redacted.contains(&secret), "{secret} survived in {redacted}");
            prop_assert!(redacted.contains(PLACEHOLDER_PREFIX));
            prop_assert_eq!(redact(&redacted), redacted.clone());
        }

        #[test]
        fn ordinary_log_text_is_never_changed(lines in prop::collection::vec(log_text(), 1..10)) {
            let text = lines.join("\n");
            prop_assert_eq!(redact(&text), text.as_str());
        }
    }
}
