//! Sending: signed webhooks, Slack/Mattermost incoming webhooks and SMTP e-mail (with the
//! delivery's attachment, if it has one), with exponential backoff and full jitter between
//! attempts, and a dead letter after the last.

use std::time::Duration;

use hereby_store::{Channel, Delivery, DeliveryOutcome};
use hmac::{Hmac, KeyInit, Mac};
use jiff::{SignedDuration, Timestamp};
use sha2::Sha256;

use super::Settings;
use hereby_app::channels::{ChannelConfig, SmtpTls};
use hereby_app::message::{slack_body, teams_body};

/// The signature a webhook receiver checks: hex HMAC-SHA256 with the channel's secret over
/// `<timestamp>.<raw body>`, where the timestamp is the `X-Hereby-Timestamp` header.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub use hereby_app::deliveries::backoff;

/// What to record after an attempt that ended with `result`.
pub fn outcome(
    result: Result<(), String>,
    delivery: &Delivery,
    settings: &Settings,
) -> DeliveryOutcome {
    match result {
        Ok(()) => DeliveryOutcome::Delivered,
        Err(error) => {
            let attempts = delivery.attempts.saturating_add(1);
            if attempts >= settings.max_attempts {
                DeliveryOutcome::Dead { error }
            } else {
                let wait = backoff(attempts, settings.backoff_base, settings.backoff_max);
                let wait = SignedDuration::try_from(wait).unwrap_or(SignedDuration::MAX);
                let at = Timestamp::now().checked_add(wait).unwrap_or(Timestamp::MAX);
                DeliveryOutcome::Retry { at, error }
            }
        }
    }
}

/// Sends one delivery through its channel, each request or SMTP command within `timeout`.
/// `Err` carries a reason for `last_error`.
pub async fn send(
    http: &reqwest::Client,
    channel: &Channel,
    delivery: &Delivery,
    timeout: Duration,
) -> Result<(), String> {
    let config: ChannelConfig = serde_json::from_str(&channel.config)
        .map_err(|e| format!("the channel's settings cannot be read: {e}"))?;
    match config {
        ChannelConfig::StatusPage {} => Err(
            "a status page subscriber's delivery is sent to the subscriber's own address"
                .to_owned(),
        ),
        ChannelConfig::Matrix { .. }
        | ChannelConfig::SlackApp { .. }
        | ChannelConfig::Mattermost { .. } => {
            Err("a chat channel's deliveries are its adapter's to send".to_owned())
        }
        ChannelConfig::Github { .. }
        | ChannelConfig::Gitlab { .. }
        | ChannelConfig::Tracker { .. } => Err(
            "a tracker's deliveries open follow-ups there; the tracker client sends them"
                .to_owned(),
        ),
        ChannelConfig::Webhook { url, secret } => {
            let timestamp = Timestamp::now().as_second();
            let body = delivery.payload.clone().into_bytes();
            let request = http
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header("X-Hereby-Timestamp", timestamp.to_string())
                .header("X-Hereby-Signature", signature(&secret, timestamp, &body))
                .header("X-Hereby-Event", &delivery.kind)
                .header("Idempotency-Key", &delivery.key)
                .timeout(timeout)
                .body(body);
            http_result(request.send().await)
        }
        ChannelConfig::Slack { url } => {
            let request = http
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header("Idempotency-Key", &delivery.key)
                .timeout(timeout)
                .body(slack_body(&delivery.subject, &delivery.body));
            http_result(request.send().await)
        }
        ChannelConfig::Teams { url } => {
            // Power Automate's URLs carry a signed, already encoded query: sent as given.
            let request = http
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .timeout(timeout)
                .body(teams_body(&delivery.subject, &delivery.body));
            http_result(request.send().await)
        }
        ChannelConfig::Email {
            host,
            port,
            tls,
            username,
            password,
            from,
        } => {
            let to = delivery
                .recipient
                .as_deref()
                .ok_or_else(|| "an e-mail needs a recipient".to_owned())?;
            email(
                &host, port, tls, username, password, &from, to, delivery, timeout,
            )
            .await
        }
    }
}

/// Sends a status page subscriber's webhook delivery, signed as Standard Webhooks asks:
/// `webhook-id` (the delivery's key, the same on every attempt), `webhook-timestamp` (seconds)
/// and `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, keyed with
/// the base64 bytes after the secret's `whsec_`.
pub async fn standard_webhook(
    http: &reqwest::Client,
    url: &str,
    secret: &str,
    delivery: &Delivery,
    timeout: Duration,
) -> Result<(), String> {
    let timestamp = Timestamp::now().as_second();
    let body = delivery.payload.clone().into_bytes();
    let signature = standard_signature(secret, &delivery.key, timestamp, &body)
        .ok_or_else(|| "the subscriber's secret cannot be read".to_owned())?;
    let request = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", &delivery.key)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .timeout(timeout)
        .body(body);
    http_result(request.send().await)
}

/// The Standard Webhooks signature (`v1,<base64>`) of a message.
pub fn standard_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let key = engine
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Some(format!("v1,{}", engine.encode(mac.finalize().into_bytes())))
}

fn http_result(result: Result<reqwest::Response, reqwest::Error>) -> Result<(), String> {
    match result {
        Ok(response) if response.status().is_success() => Ok(()),
        Ok(response) => Err(format!("the receiver answered {}", response.status())),
        Err(error) if error.is_timeout() => Err("the receiver did not answer in time".into()),
        Err(error) if error.is_connect() => Err("could not connect to the receiver".into()),
        Err(error) => Err(format!("request failed: {error}")),
    }
}

#[allow(clippy::too_many_arguments)]
async fn email(
    host: &str,
    port: u16,
    tls: SmtpTls,
    username: Option<String>,
    password: Option<String>,
    from: &str,
    to: &str,
    delivery: &Delivery,
    timeout: Duration,
) -> Result<(), String> {
    use lettre::message::header::ContentType;
    use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

    let from: Mailbox = from
        .parse()
        .map_err(|e| format!("sender address `{from}`: {e}"))?;
    let to: Mailbox = to
        .parse()
        .map_err(|e| format!("recipient address `{to}`: {e}"))?;
    // The Message-ID comes from the idempotency key, so a repeated delivery is recognisably
    // the same message.
    let id: String = delivery
        .key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '.' })
        .collect();
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(&delivery.subject)
        .message_id(Some(format!("<{id}@hereby>")));
    // A status page subscriber's mail: one-click unsubscribe as RFC 8058 has it (mail
    // providers POST `List-Unsubscribe=One-Click` to the address, no session needed).
    if let Some(unsubscribe) = serde_json::from_str::<serde_json::Value>(&delivery.payload)
        .ok()
        .and_then(|payload| payload["list_unsubscribe"].as_str().map(str::to_owned))
    {
        use lettre::message::header::{HeaderName, HeaderValue};
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{unsubscribe}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ));
    }
    let message = match &delivery.attachment {
        None => builder
            .header(ContentType::TEXT_PLAIN)
            .body(delivery.body.clone()),
        Some(file) => {
            let media_type = ContentType::parse(&file.media_type)
                .map_err(|e| format!("attachment type `{}`: {e}", file.media_type))?;
            builder.multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(delivery.body.clone()))
                    .singlepart(
                        Attachment::new(file.file_name.clone())
                            .body(file.content.clone(), media_type),
                    ),
            )
        }
    }
    .map_err(|e| format!("cannot build the e-mail: {e}"))?;
    let builder = match tls {
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
            .map_err(|e| format!("SMTP server {host}: {e}"))?,
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
            .map_err(|e| format!("SMTP server {host}: {e}"))?,
    };
    let mut builder = builder.port(port).timeout(Some(timeout));
    if let (Some(user), Some(password)) = (username, password) {
        builder = builder.credentials(Credentials::new(user, password));
    }
    builder
        .build()
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| format!("SMTP: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Computed independently:
        // printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 0123456789abcdef
        let signed = signature("0123456789abcdef", 1_700_000_000, br#"{"a":1}"#);
        assert_eq!(
            signed,
            "sha256=9eb18f493f8ec135d9eb2dad817c369bb4e9cbfa818657897a7437c1cd8c3a23"
        );
    }

    #[test]
    fn standard_webhooks_signature_matches_the_specification_example() {
        // The example of the Standard Webhooks specification (its README and libraries'
        // tests): this secret, id, timestamp and payload give this signature.
        let signed = standard_signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(
            signed.as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn backoff_grows_and_stays_under_the_cap() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(2);
        for attempt in 1..40 {
            let ceiling = base.saturating_mul(1 << (attempt - 1).min(30)).min(max);
            for _ in 0..20 {
                assert!(backoff(attempt, base, max) <= ceiling);
            }
        }
    }
}
