//! Outgoing mail: an outbox table written in the same place as the action that causes
//! the mail, and a sender that delivers it over SMTP with retries and backoff.

pub mod sink;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Attachment, Body, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
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

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain SMTP, no TLS at all: a relay on this machine, or `?tls=none` said explicitly.
    None,
    /// Plain at first, then STARTTLS, which is required: a server that does not offer it
    /// fails the delivery before anything else (credentials, mail) is sent.
    StartTls,
    /// TLS from the first byte (`smtps://`, port 465).
    Implicit,
}

impl std::fmt::Display for SmtpTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SmtpTls::None => "plain SMTP",
            SmtpTls::StartTls => "STARTTLS required",
            SmtpTls::Implicit => "implicit TLS",
        })
    }
}

/// Where and how to send. Without an SMTP server, mail waits in the outbox.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub credentials: Option<(String, String)>,
    pub tls: SmtpTls,
    /// PEM certificates trusted besides the platform's roots (`MAILLAGE_SMTP_CA_FILE`).
    pub ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .field("tls", &self.tls)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// `localhost`, `*.localhost` or a loopback address: mail that never leaves the machine.
fn is_loopback_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The URL with its password masked, for error messages.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, _)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            let host_and_rest = &rest[userinfo.len()..];
            format!("{scheme}://{user}:****{host_and_rest}")
        }
        None => url.to_string(),
    }
}

impl SmtpSettings {
    /// Parses `MAILLAGE_SMTP_URL`. The forms, and what each one does:
    ///
    /// - `smtps://[user:password@]host[:port]`: implicit TLS (port 465 by default);
    /// - `smtp://[user:password@]host[:port]?tls=required`: STARTTLS, required (port 587);
    /// - `smtp://[user:password@]host[:port]?tls=none`: plain SMTP, said explicitly (port 25);
    /// - `smtp://host[:port]` without `tls=`: plain SMTP when the host is this machine
    ///   (`localhost`, a loopback address), STARTTLS required (port 587) for any other host.
    ///
    /// Credentials over plain SMTP only with an explicit `?tls=none`: `smtp://user:pw@localhost`
    /// is refused. User and password are percent-decoded. `ca_file` is not read here (see
    /// [`SmtpSettings::transport`]).
    pub fn parse(url: &str) -> anyhow::Result<SmtpSettings> {
        let shown = redacted(url);
        let (implicit, rest) = if let Some(rest) = url.strip_prefix("smtps://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("smtp://") {
            (false, rest)
        } else {
            anyhow::bail!("MAILLAGE_SMTP_URL must start with smtp:// or smtps:// (got {shown:?})");
        };
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let rest = rest.trim_end_matches('/');
        if rest.contains('/') {
            anyhow::bail!("MAILLAGE_SMTP_URL takes no path (got {shown:?})");
        }
        let mut asked: Option<SmtpTls> = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match (key, value.to_ascii_lowercase().as_str()) {
                ("tls", _) if asked.is_some() => {
                    anyhow::bail!("MAILLAGE_SMTP_URL has tls= twice ({shown:?})")
                }
                ("tls", "required" | "starttls") => asked = Some(SmtpTls::StartTls),
                ("tls", "none") => asked = Some(SmtpTls::None),
                ("tls", other) => anyhow::bail!(
                    "MAILLAGE_SMTP_URL: unknown tls={other:?}; use tls=required (STARTTLS), \
                     tls=none (plain SMTP) or an smtps:// URL (implicit TLS)"
                ),
                (other, _) => anyhow::bail!(
                    "MAILLAGE_SMTP_URL: unknown parameter {other:?} (only tls= is understood)"
                ),
            }
        }
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
        // `[::1]:25`: the brackets are not part of the host.
        let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| anyhow::anyhow!("MAILLAGE_SMTP_URL: unclosed [ in {shown:?}"))?;
            match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None if after.is_empty() => (host, None),
                None => anyhow::bail!("MAILLAGE_SMTP_URL: invalid host in {shown:?}"),
            }
        } else {
            match host_port.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (host_port, None),
            }
        };
        if host.is_empty() {
            anyhow::bail!("MAILLAGE_SMTP_URL has no host: {shown:?}");
        }
        let tls = match (implicit, asked) {
            (true, None) => SmtpTls::Implicit,
            (true, Some(_)) => anyhow::bail!(
                "MAILLAGE_SMTP_URL: smtps:// is always implicit TLS; remove tls= ({shown:?})"
            ),
            (false, Some(tls)) => tls,
            (false, None) if is_loopback_host(host) => SmtpTls::None,
            (false, None) => SmtpTls::StartTls,
        };
        if credentials.is_some() && tls == SmtpTls::None && asked.is_none() {
            anyhow::bail!(
                "MAILLAGE_SMTP_URL has credentials but no TLS ({shown:?}): they would be sent \
                 in clear. Use smtps:// (implicit TLS) or add ?tls=required (STARTTLS); add \
                 ?tls=none only for a relay you trust on a local network"
            );
        }
        let port = match port {
            Some(port) => port
                .parse()
                .map_err(|_| anyhow::anyhow!("MAILLAGE_SMTP_URL: invalid port in {shown:?}"))?,
            None => match tls {
                SmtpTls::None => 25,
                SmtpTls::StartTls => 587,
                SmtpTls::Implicit => 465,
            },
        };
        Ok(SmtpSettings {
            host: host.to_string(),
            port,
            credentials,
            tls,
            ca_file: None,
        })
    }

    /// `MAILLAGE_SMTP_URL` and `MAILLAGE_SMTP_CA_FILE`, checked at startup: the URL parsed,
    /// the CA file read and the TLS settings built once, so that a mistake stops the host.
    pub fn from_config(url: &str, ca_file: Option<&Path>) -> anyhow::Result<SmtpSettings> {
        let mut settings = SmtpSettings::parse(url)?;
        settings.ca_file = ca_file.map(Path::to_path_buf);
        settings.transport()?;
        if settings.tls == SmtpTls::None
            && settings.credentials.is_some()
            && !is_loopback_host(&settings.host)
        {
            tracing::warn!(
                host = %settings.host,
                "MAILLAGE_SMTP_URL says tls=none: the SMTP password goes over the network in clear"
            );
        }
        Ok(settings)
    }

    /// The lettre transport for these settings. Reads `ca_file`: PEM certificates added to
    /// the platform's roots (rustls-native-certs); hostname and chain are always verified.
    pub fn transport(&self) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
        let tls = match self.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::StartTls => Tls::Required(self.tls_parameters()?),
            SmtpTls::Implicit => Tls::Wrapper(self.tls_parameters()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port)
            .tls(tls);
        if let Some((user, password)) = &self.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(builder.timeout(Some(Duration::from_secs(20))).build())
    }

    fn tls_parameters(&self) -> anyhow::Result<TlsParameters> {
        let mut parameters = TlsParameters::builder(self.host.clone());
        if let Some(path) = &self.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                anyhow::anyhow!(
                    "MAILLAGE_SMTP_CA_FILE {} cannot be read: {e}",
                    path.display()
                )
            })?;
            // lettre accepts a file without any certificate: an empty addition.
            if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
                anyhow::bail!(
                    "MAILLAGE_SMTP_CA_FILE {} holds no PEM certificate",
                    path.display()
                );
            }
            let certificate = Certificate::from_pem(&pem)
                .map_err(|e| anyhow::anyhow!("MAILLAGE_SMTP_CA_FILE {}: {e}", path.display()))?;
            parameters = parameters.add_root_certificate(certificate);
        }
        parameters
            .build()
            .map_err(|e| anyhow::anyhow!("SMTP TLS settings for {}: {e}", self.host))
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
    /// Built once from `smtp` (the CA file is read at startup); one connection per round.
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    wake: Arc<Notify>,
}

impl Mailer {
    pub fn new(db: Db, from: &str, smtp: Option<SmtpSettings>) -> anyhow::Result<Mailer> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| anyhow::anyhow!("invalid sender address {from:?}: {e}"))?;
        let transport = smtp.as_ref().map(SmtpSettings::transport).transpose()?;
        Ok(Mailer {
            inner: Arc::new(MailerInner {
                db,
                from,
                smtp,
                transport,
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
        let (Some(smtp), Some(transport)) = (&self.inner.smtp, &self.inner.transport) else {
            return Ok(0);
        };
        let mut sent = 0;
        for mail in self.inner.db.due_mails(now_secs(), 50).await? {
            match self.send_one(smtp, transport, &mail).await {
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
        smtp: &SmtpSettings,
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
        // The outbox row and the log say which server and which protection failed.
        transport.send(message).await.map_err(|e| {
            anyhow::anyhow!(
                "SMTP server {}:{} ({}) did not take the mail: {e}",
                smtp.host,
                smtp.port,
                smtp.tls
            )
        })?;
        Ok(())
    }

    /// Runs the sender until the process stops: on every enqueue, and every 15 s for retries.
    pub fn spawn(&self) -> tokio::task::JoinHandle<()> {
        let mailer = self.clone();
        tokio::spawn(async move {
            let Some(smtp) = &mailer.inner.smtp else {
                tracing::warn!(
                    "no SMTP server configured (MAILLAGE_SMTP_URL): mail stays in the outbox"
                );
                return;
            };
            tracing::info!(host = %smtp.host, port = smtp.port, tls = %smtp.tls, "mail sender started");
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
        let mut conn = self.pool().acquire().await?;
        self.enqueue_mail_in(&mut conn, structure_id, to, subject, body)
            .await
    }

    /// [`Db::enqueue_mail`] in the caller's transaction (an invitation with its audit
    /// entry); the caller wakes the sender (`Mailer::wake`) once it committed.
    pub async fn enqueue_mail_in(
        &self,
        conn: &mut sqlx::AnyConnection,
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
        .fetch_one(&mut *conn)
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
        let mut conn = self.pool().acquire().await?;
        self.retry_mail_in(&mut conn, structure_id, id).await
    }

    /// [`Db::retry_mail`] in the caller's transaction (with its audit entry).
    pub async fn retry_mail_in(
        &self,
        conn: &mut sqlx::AnyConnection,
        structure_id: i64,
        id: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE mail_outbox SET status = 'pending', attempts = 0, next_attempt_at = $1 WHERE id = $2 AND structure_id = $3 AND status != 'sent'",
        )
        .bind(now_secs())
        .bind(id)
        .bind(structure_id)
        .execute(&mut *conn)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(url: &str) -> (String, u16, SmtpTls, Option<(String, String)>) {
        let s = SmtpSettings::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(s.ca_file, None);
        (s.host, s.port, s.tls, s.credentials)
    }

    fn creds(user: &str, password: &str) -> Option<(String, String)> {
        Some((user.to_string(), password.to_string()))
    }

    fn refusal(url: &str) -> String {
        match SmtpSettings::parse(url) {
            Ok(s) => panic!("{url} accepted: {s:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn each_smtp_url_form_gives_its_transport() {
        use SmtpTls::{Implicit, StartTls};
        const PLAIN: SmtpTls = SmtpTls::None;
        let h = |s: &str| s.to_string();
        // A remote host without tls=: STARTTLS required, on the submission port.
        assert_eq!(
            parsed("smtp://relay.cpts.fr"),
            (h("relay.cpts.fr"), 587, StartTls, None)
        );
        assert_eq!(
            parsed("smtp://user%40cpts.fr:p%40ss@relay.cpts.fr:2525/"),
            (
                h("relay.cpts.fr"),
                2525,
                StartTls,
                creds("user@cpts.fr", "p@ss")
            )
        );
        assert_eq!(
            parsed("smtp://u:p@relay.cpts.fr?tls=required"),
            (h("relay.cpts.fr"), 587, StartTls, creds("u", "p"))
        );
        assert_eq!(
            parsed("smtp://relay.cpts.fr:25?tls=STARTTLS"),
            (h("relay.cpts.fr"), 25, StartTls, None)
        );
        // Implicit TLS.
        assert_eq!(
            parsed("smtps://u:p@smtp.cpts.fr"),
            (h("smtp.cpts.fr"), 465, Implicit, creds("u", "p"))
        );
        assert_eq!(
            parsed("smtps://127.0.0.1:2465"),
            (h("127.0.0.1"), 2465, Implicit, None)
        );
        // This machine without tls=: plain (the demo's sink, a local relay).
        assert_eq!(
            parsed("smtp://127.0.0.1:2525"),
            (h("127.0.0.1"), 2525, PLAIN, None)
        );
        assert_eq!(
            parsed("smtp://localhost"),
            (h("localhost"), 25, PLAIN, None)
        );
        assert_eq!(
            parsed("smtp://mail.localhost:25"),
            (h("mail.localhost"), 25, PLAIN, None)
        );
        assert_eq!(parsed("smtp://[::1]:2525"), (h("::1"), 2525, PLAIN, None));
        assert_eq!(
            parsed("smtp://[2001:db8::1]"),
            (h("2001:db8::1"), 587, StartTls, None)
        );
        // STARTTLS asked for on this machine too.
        assert_eq!(
            parsed("smtp://u:p@127.0.0.1:2525?tls=required"),
            (h("127.0.0.1"), 2525, StartTls, creds("u", "p"))
        );
        // Plain said explicitly: allowed, with credentials too (a trusted relay).
        assert_eq!(
            parsed("smtp://relay.lan?tls=none"),
            (h("relay.lan"), 25, PLAIN, None)
        );
        assert_eq!(
            parsed("smtp://u:p@localhost:25?tls=none"),
            (h("localhost"), 25, PLAIN, creds("u", "p"))
        );
    }

    #[test]
    fn credentials_without_tls_and_malformed_urls_are_refused() {
        // Credentials to this machine, plain by default: refused unless tls=none is said.
        for url in ["smtp://u:p@localhost", "smtp://u:secret@127.0.0.1:2525"] {
            let e = refusal(url);
            assert!(e.contains("credentials but no TLS"), "{e}");
            assert!(e.contains("smtps://") && e.contains("tls=required"), "{e}");
            assert!(!e.contains("secret"), "the password is never shown: {e}");
        }
        let e = refusal("smtps://relay?tls=none");
        assert!(e.contains("always implicit TLS"), "{e}");
        let e = refusal("smtp://relay?tls=opportunistic");
        assert!(e.contains("unknown tls="), "{e}");
        let e = refusal("smtp://relay?tls=none&tls=required");
        assert!(e.contains("twice"), "{e}");
        let e = refusal("smtp://relay?ssl=1");
        assert!(e.contains("unknown parameter"), "{e}");
        let e = refusal("http://u:secret@relay");
        assert!(
            e.contains("smtp:// or smtps://") && !e.contains("secret"),
            "{e}"
        );
        let e = refusal("smtp://u:secret@relay:port");
        assert!(e.contains("invalid port") && !e.contains("secret"), "{e}");
        assert!(refusal("smtp://").contains("no host"));
        assert!(refusal("smtp://relay/path").contains("no path"));
        assert!(refusal("smtp://[::1").contains("unclosed"));
    }

    #[test]
    fn the_password_never_shows_in_debug_or_messages() {
        let s = SmtpSettings::parse("smtps://anne:s3cret@smtp.cpts.fr").unwrap();
        let debug = format!("{s:?}");
        assert!(
            debug.contains("anne") && !debug.contains("s3cret"),
            "{debug}"
        );
        assert_eq!(
            redacted("smtp://anne:s3cret@relay:25?tls=required"),
            "smtp://anne:****@relay:25?tls=required"
        );
        assert_eq!(redacted("smtp://relay:25"), "smtp://relay:25");
    }

    #[test]
    fn a_ca_file_is_read_at_startup() {
        let dir = std::env::temp_dir().join(format!("maillage-smtp-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let e = SmtpSettings::from_config("smtps://relay.cpts.fr", Some(&missing)).unwrap_err();
        assert!(e.to_string().contains("MAILLAGE_SMTP_CA_FILE"), "{e}");
        let not_pem = dir.join("not.pem");
        std::fs::write(&not_pem, "hello").unwrap();
        let e = SmtpSettings::from_config("smtps://relay.cpts.fr", Some(&not_pem)).unwrap_err();
        assert!(e.to_string().contains("no PEM certificate"), "{e}");
        // Without a CA file: the platform's roots.
        let s = SmtpSettings::from_config("smtp://relay.cpts.fr", None).unwrap();
        assert_eq!((s.tls, s.ca_file), (SmtpTls::StartTls, None));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn backoff_doubles_then_caps_at_an_hour() {
        let delays: Vec<i64> = (1..=9).map(backoff_secs).collect();
        assert_eq!(delays, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }
}
