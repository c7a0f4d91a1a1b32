//! Outgoing mail: an outbox table written in the same place as the action that causes
//! the mail, and a sender that delivers it over SMTP with retries and backoff.

pub mod sink;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Attachment, Body, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Serialize;
use sqlx::Row;
use tokio::sync::Notify;

use crate::storage::{Db, Result, now_secs};

/// After this many failed attempts a mail is marked failed (an admin may retry it).
pub const MAX_ATTEMPTS: i64 = 8;

/// Delay before attempt `attempts + 1`: doubling from 30 s, capped at one hour.
pub fn backoff_secs(attempts: i64) -> i64 {
    crate::storage::backoff_secs(30, 3600, attempts)
}

#[derive(Debug, Clone, Serialize)]
pub struct OutboxMail {
    pub id: i64,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    /// HTML alternative of `body` (module mail).
    pub html_body: Option<String>,
    /// JSON list of [`StoredAttachment`] (module mail).
    #[serde(skip)]
    pub attachments: Option<String>,
    /// The module that sent it; none for the host's own mail.
    pub source_plugin: Option<String>,
}

/// An attachment as the outbox keeps it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct StoredAttachment {
    pub file_name: String,
    pub content_type: String,
    /// Base64 of the bytes.
    pub content: String,
}

impl StoredAttachment {
    pub fn new(file_name: &str, content_type: &str, content: &[u8]) -> Self {
        StoredAttachment {
            file_name: file_name.to_string(),
            content_type: content_type.to_string(),
            content: base64::engine::general_purpose::STANDARD.encode(content),
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.content)
            .unwrap_or_default()
    }
}

impl OutboxMail {
    pub fn stored_attachments(&self) -> Vec<StoredAttachment> {
        self.attachments
            .as_deref()
            .and_then(|a| serde_json::from_str(a).ok())
            .unwrap_or_default()
    }
}

/// A module's mail to one member, queued in the module call's transaction.
pub struct ModuleMail<'a> {
    pub structure_id: i64,
    pub plugin_id: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: Option<&'a str>,
    pub attachments: &'a [StoredAttachment],
}

/// Queues a module's mail on `conn` (the call's transaction).
pub async fn enqueue_module_mail(
    conn: &mut sqlx::AnyConnection,
    mail: &ModuleMail<'_>,
) -> Result<i64> {
    let now = now_secs();
    let attachments = (!mail.attachments.is_empty())
        .then(|| serde_json::to_string(mail.attachments).unwrap_or_else(|_| "[]".into()));
    Ok(sqlx::query_scalar(
        "INSERT INTO mail_outbox (structure_id, to_address, subject, body, status, next_attempt_at, created_at, html_body, attachments, source_plugin)
         VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(mail.structure_id)
    .bind(mail.to)
    .bind(mail.subject)
    .bind(mail.text)
    .bind(now)
    .bind(now)
    .bind(mail.html)
    .bind(attachments)
    .bind(mail.plugin_id)
    .fetch_one(&mut *conn)
    .await?)
}

/// The addresses of those of `account_ids` who are members of the structure, by id.
pub async fn member_addresses(
    conn: &mut sqlx::AnyConnection,
    structure_id: i64,
    account_ids: &[i64],
) -> Result<Vec<(i64, String)>> {
    let mut found = Vec::with_capacity(account_ids.len());
    // Bounded batches: one statement per 200 recipients.
    for chunk in account_ids.chunks(200) {
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT a.id, a.email FROM memberships m JOIN accounts a ON a.id = m.account_id
             WHERE m.structure_id = $1 AND a.id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(structure_id);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut *conn).await? {
            found.push((row.get(0), row.get(1)));
        }
    }
    Ok(found)
}

/// Where and how to send. Without an SMTP server, mail waits in the outbox.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub credentials: Option<(String, String)>,
}

impl SmtpSettings {
    /// Parses `smtp://[user:password@]host[:port]` (plain SMTP, port 25 by default).
    pub fn parse(url: &str) -> anyhow::Result<SmtpSettings> {
        let rest = url
            .strip_prefix("smtp://")
            .ok_or_else(|| anyhow::anyhow!("SMTP URL must start with smtp:// (got {url:?})"))?;
        let rest = rest.trim_end_matches('/');
        let (credentials, host_port) = match rest.rsplit_once('@') {
            Some((userinfo, host_port)) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                let decode = |s: &str| {
                    percent_encoding::percent_decode_str(s)
                        .decode_utf8_lossy()
                        .into_owned()
                };
                (Some((decode(user), decode(password))), host_port)
            }
            None => (None, rest),
        };
        let (host, port) = match host_port.rsplit_once(':') {
            Some((host, port)) => (
                host.to_string(),
                port.parse()
                    .map_err(|_| anyhow::anyhow!("invalid SMTP port in {url:?}"))?,
            ),
            None => (host_port.to_string(), 25),
        };
        if host.is_empty() {
            anyhow::bail!("SMTP URL has no host: {url:?}");
        }
        Ok(SmtpSettings {
            host,
            port,
            credentials,
        })
    }
}

/// Delivers the outbox. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<MailerInner>,
}

struct MailerInner {
    db: Db,
    from: Mailbox,
    smtp: Option<SmtpSettings>,
    wake: Arc<Notify>,
}

impl Mailer {
    pub fn new(db: Db, from: &str, smtp: Option<SmtpSettings>) -> anyhow::Result<Mailer> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| anyhow::anyhow!("invalid sender address {from:?}: {e}"))?;
        Ok(Mailer {
            inner: Arc::new(MailerInner {
                db,
                from,
                smtp,
                wake: Arc::new(Notify::new()),
            }),
        })
    }

    /// Queues a mail and wakes the sender.
    pub async fn enqueue(
        &self,
        structure_id: Option<i64>,
        to: &str,
        subject: &str,
        body: &str,
    ) -> Result<i64> {
        let id = self
            .inner
            .db
            .enqueue_mail(structure_id, to, subject, body)
            .await?;
        self.inner.wake.notify_one();
        Ok(id)
    }

    /// What wakes the sender: given to the plugin runtime for module mail.
    pub fn wake_handle(&self) -> Arc<Notify> {
        self.inner.wake.clone()
    }

    /// Asks the sender to look at the outbox now.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Sends every due mail once; returns how many were sent.
    pub async fn deliver_due(&self) -> Result<usize> {
        let Some(smtp) = &self.inner.smtp else {
            return Ok(0);
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host).port(smtp.port);
        if let Some((user, password)) = &smtp.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        let transport = builder.timeout(Some(Duration::from_secs(20))).build();
        let mut sent = 0;
        for mail in self.inner.db.due_mails(now_secs(), 50).await? {
            match self.send_one(&transport, &mail).await {
                Ok(()) => {
                    self.inner.db.mark_mail_sent(mail.id).await?;
                    sent += 1;
                }
                Err(error) => {
                    let attempts = mail.attempts + 1;
                    tracing::warn!(mail = mail.id, attempts, %error, "mail delivery failed");
                    self.inner
                        .db
                        .mark_mail_failed(mail.id, attempts, &error.to_string())
                        .await?;
                }
            }
        }
        Ok(sent)
    }

    async fn send_one(
        &self,
        transport: &AsyncSmtpTransport<Tokio1Executor>,
        mail: &OutboxMail,
    ) -> anyhow::Result<()> {
        let to: Mailbox = mail.to.parse()?;
        // 8bit keeps links whole (quoted-printable would wrap and escape them). lettre
        // only picks 8bit for lines under 76 bytes; RFC 5322 allows 998, checked here.
        let text = mail.body.replace("\r\n", "\n");
        if text.lines().any(|line| line.len() > 998) || text.contains('\0') {
            anyhow::bail!("mail body has a line longer than 998 bytes or a NUL byte");
        }
        let body = Body::dangerous_pre_encoded(
            text.replace('\n', "\r\n").into_bytes(),
            ContentTransferEncoding::EightBit,
        );
        let builder = Message::builder()
            .from(self.inner.from.clone())
            .to(to)
            .subject(&mail.subject);
        let attachments = mail.stored_attachments();
        let message = if mail.html_body.is_none() && attachments.is_empty() {
            builder.header(ContentType::TEXT_PLAIN).body(body)?
        } else {
            let text_part = SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(body);
            let content = match &mail.html_body {
                Some(html) => MultiPart::alternative()
                    .singlepart(text_part)
                    .singlepart(SinglePart::html(html.clone())),
                None => MultiPart::mixed().singlepart(text_part),
            };
            let mut all = if mail.html_body.is_some() && !attachments.is_empty() {
                MultiPart::mixed().multipart(content)
            } else {
                content
            };
            for a in &attachments {
                let kind = ContentType::parse(&a.content_type)
                    .unwrap_or(ContentType::parse("application/octet-stream")?);
                all = all.singlepart(Attachment::new(a.file_name.clone()).body(a.bytes(), kind));
            }
            builder.multipart(all)?
        };
        transport.send(message).await?;
        Ok(())
    }

    /// Runs the sender until the process stops: on every enqueue, and every 15 s for retries.
    pub fn spawn(&self) -> tokio::task::JoinHandle<()> {
        let mailer = self.clone();
        tokio::spawn(async move {
            if mailer.inner.smtp.is_none() {
                tracing::warn!(
                    "no SMTP server configured (MAILLAGE_SMTP_URL): mail stays in the outbox"
                );
                return;
            }
            loop {
                if let Err(error) = mailer.deliver_due().await {
                    tracing::error!(%error, "mail outbox could not be read");
                }
                let _ = tokio::time::timeout(Duration::from_secs(15), mailer.inner.wake.notified())
                    .await;
            }
        })
    }
}

fn outbox_from_row(r: &sqlx::any::AnyRow) -> OutboxMail {
    OutboxMail {
        id: r.get("id"),
        to: r.get("to_address"),
        subject: r.get("subject"),
        body: r.get("body"),
        status: r.get("status"),
        attempts: r.get("attempts"),
        next_attempt_at: r.get("next_attempt_at"),
        last_error: r.get("last_error"),
        created_at: r.get("created_at"),
        html_body: r.get("html_body"),
        attachments: r.get("attachments"),
        source_plugin: r.get("source_plugin"),
    }
}

const OUTBOX_COLUMNS: &str = "id, to_address, subject, body, status, attempts, next_attempt_at, last_error, created_at, html_body, attachments, source_plugin";

impl Db {
    pub async fn enqueue_mail(
        &self,
        structure_id: Option<i64>,
        to: &str,
        subject: &str,
        body: &str,
    ) -> Result<i64> {
        let now = now_secs();
        Ok(sqlx::query_scalar(
            "INSERT INTO mail_outbox (structure_id, to_address, subject, body, status, next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, 'pending', $5, $6) RETURNING id",
        )
        .bind(structure_id)
        .bind(to)
        .bind(subject)
        .bind(body)
        .bind(now)
        .bind(now)
        .fetch_one(self.pool())
        .await?)
    }

    async fn due_mails(&self, now: i64, limit: u32) -> Result<Vec<OutboxMail>> {
        let rows = sqlx::query(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY id LIMIT $2"
        ))
        .bind(now)
        .bind(limit as i64)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(outbox_from_row).collect())
    }

    async fn mark_mail_sent(&self, id: i64) -> Result<()> {
        sqlx::query("UPDATE mail_outbox SET status = 'sent', attempts = attempts + 1, sent_at = $1, last_error = NULL WHERE id = $2")
            .bind(now_secs())
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn mark_mail_failed(&self, id: i64, attempts: i64, error: &str) -> Result<()> {
        let status = if attempts >= MAX_ATTEMPTS {
            "failed"
        } else {
            "pending"
        };
        sqlx::query("UPDATE mail_outbox SET status = $1, attempts = $2, next_attempt_at = $3, last_error = $4 WHERE id = $5")
            .bind(status)
            .bind(attempts)
            .bind(now_secs() + backoff_secs(attempts))
            .bind(error)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Outbox of a structure (or platform mail when None), newest first.
    pub async fn outbox(&self, structure_id: Option<i64>, limit: u32) -> Result<Vec<OutboxMail>> {
        let rows = sqlx::query(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM mail_outbox WHERE structure_id IS NOT DISTINCT FROM $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(structure_id)
        .bind(limit as i64)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(outbox_from_row).collect())
    }

    /// Puts an unsent mail of this structure back in the queue, due now.
    pub async fn retry_mail(&self, structure_id: i64, id: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE mail_outbox SET status = 'pending', attempts = 0, next_attempt_at = $1 WHERE id = $2 AND structure_id = $3 AND status != 'sent'",
        )
        .bind(now_secs())
        .bind(id)
        .bind(structure_id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_parse_with_or_without_credentials() {
        let plain = SmtpSettings::parse("smtp://relay.cpts.fr").unwrap();
        assert_eq!((plain.host.as_str(), plain.port), ("relay.cpts.fr", 25));
        assert!(plain.credentials.is_none());
        let auth = SmtpSettings::parse("smtp://user%40cpts.fr:p%40ss@127.0.0.1:2525/").unwrap();
        assert_eq!((auth.host.as_str(), auth.port), ("127.0.0.1", 2525));
        assert_eq!(
            auth.credentials,
            Some(("user@cpts.fr".to_string(), "p@ss".to_string()))
        );
        assert!(SmtpSettings::parse("http://relay").is_err());
        assert!(SmtpSettings::parse("smtp://relay:port").is_err());
        assert!(SmtpSettings::parse("smtp://").is_err());
    }

    #[test]
    fn backoff_doubles_then_caps_at_an_hour() {
        let delays: Vec<i64> = (1..=9).map(backoff_secs).collect();
        assert_eq!(delays, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }
}
