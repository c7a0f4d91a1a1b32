//! A local SMTP sink: a real SMTP server on TCP that accepts every message and keeps it
//! in memory (and optionally on disk), so the demo and the tests exercise the real client.
//! Optionally over TLS ([`SmtpSink::start_tls`]: implicit, or STARTTLS offered in EHLO),
//! and it takes `AUTH PLAIN` (any password), recording whether each command came over TLS.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

const HOST: &str = "localhost";
/// Advertised in EHLO; larger messages are read to the end, then refused.
const MAX_SIZE: usize = 10_485_760;
/// Bounds memory per line: SMTP lines are short, but 8BITMIME bodies may exceed 998 bytes.
const MAX_LINE: u64 = 1 << 20;
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// One message as the sink received it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    /// Raw message after DATA, dot-unstuffed, CRLF line endings kept.
    pub data: String,
    /// The message came over TLS (implicit, or after STARTTLS).
    pub tls: bool,
    /// The user name the client authenticated as (`AUTH PLAIN`), if it did.
    pub auth_user: Option<String>,
}

/// How a TLS sink protects its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkTlsMode {
    /// TLS from the first byte (what `smtps://` connects to).
    Implicit,
    /// Plain at first; STARTTLS offered in EHLO and honoured.
    StartTls,
}

/// A TLS sink's certificate chain and private key, both PEM.
#[derive(Clone)]
pub struct SinkTls {
    pub mode: SinkTlsMode,
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

/// A command as the sink received it: the verb only, never its argument (which may hold a
/// password), and whether the connection was encrypted at that moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenCommand {
    pub verb: String,
    pub tls: bool,
}

impl ReceivedMail {
    /// Value of the first header with this name (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let (head, _) = self.split();
        let mut value: Option<String> = None;
        for line in head.lines() {
            let folded = line.starts_with([' ', '\t']);
            match (&mut value, folded) {
                // Unfolding removes only the line break, keeping the leading whitespace.
                (Some(v), true) => v.push_str(line),
                (Some(_), false) => break,
                (None, true) => {}
                (None, false) => {
                    if let Some((n, v)) = line.split_once(':')
                        && n.trim().eq_ignore_ascii_case(name)
                    {
                        value = Some(v.to_owned());
                    }
                }
            }
        }
        value.map(|v| v.trim().to_owned())
    }

    /// Everything after the first empty line (the body, as transmitted).
    pub fn body(&self) -> &str {
        self.split().1
    }

    fn split(&self) -> (&str, &str) {
        let mut pos = 0;
        for line in self.data.split_inclusive('\n') {
            if line == "\r\n" || line == "\n" {
                return (&self.data[..pos], &self.data[pos + line.len()..]);
            }
            pos += line.len();
        }
        (&self.data, "")
    }
}

struct Shared {
    messages: Mutex<Vec<ReceivedMail>>,
    commands: Mutex<Vec<SeenCommand>>,
    arrived: Notify,
    save_dir: Option<PathBuf>,
    tls: Option<(TlsAcceptor, SinkTlsMode)>,
}

impl Shared {
    fn store(&self, mail: ReceivedMail) -> usize {
        let mut messages = self.messages.lock().unwrap_or_else(PoisonError::into_inner);
        let n = messages.len() + 1;
        // Saved under the lock so that a visible message always has its file (tests read it).
        if let Some(dir) = &self.save_dir {
            let path = dir.join(format!("{n}.eml"));
            if let Err(e) = std::fs::write(&path, mail.data.as_bytes()) {
                tracing::warn!(path = %path.display(), error = %e, "smtp sink: save failed");
            }
        }
        tracing::info!(n, from = %mail.from, to = ?mail.to, "smtp sink: message received");
        messages.push(mail);
        drop(messages);
        self.arrived.notify_waiters();
        n
    }
}

/// The running sink; the server stops when this is dropped.
pub struct SmtpSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    /// Binds `addr` (port 0 allowed) and serves SMTP in a spawned tokio task until dropped.
    /// When `save_dir` is Some, each message is also written there as `<n>.eml`.
    pub async fn start(addr: SocketAddr, save_dir: Option<PathBuf>) -> io::Result<SmtpSink> {
        SmtpSink::start_with(addr, save_dir, None).await
    }

    /// Like [`SmtpSink::start`], over TLS: implicit (every connection begins with the
    /// handshake) or STARTTLS (offered in EHLO).
    pub async fn start_tls(addr: SocketAddr, tls: SinkTls) -> io::Result<SmtpSink> {
        SmtpSink::start_with(addr, None, Some(tls)).await
    }

    async fn start_with(
        addr: SocketAddr,
        save_dir: Option<PathBuf>,
        tls: Option<SinkTls>,
    ) -> io::Result<SmtpSink> {
        if let Some(dir) = &save_dir {
            std::fs::create_dir_all(dir)?;
        }
        let tls = match tls {
            Some(tls) => Some((acceptor(&tls)?, tls.mode)),
            None => None,
        };
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            messages: Mutex::new(Vec::new()),
            commands: Mutex::new(Vec::new()),
            arrived: Notify::new(),
            save_dir,
            tls,
        });
        let task = tokio::spawn(accept_loop(listener, shared.clone()));
        tracing::info!(%addr, "smtp sink listening");
        Ok(SmtpSink { addr, shared, task })
    }

    /// Every command received so far, on every connection, in order.
    pub fn commands(&self) -> Vec<SeenCommand> {
        self.shared
            .commands
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.shared
            .messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until at least `count` messages arrived or `timeout` passes; returns what arrived.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Register before checking, so a message stored in between still wakes us.
            let mut notified = std::pin::pin!(self.shared.arrived.notified());
            notified.as_mut().enable();
            let messages = self.messages();
            if messages.len() >= count || tokio::time::timeout_at(deadline, notified).await.is_err()
            {
                return self.messages();
            }
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        // Dropping the accept task's JoinSet also aborts the open connections.
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let shared = shared.clone();
                    connections.spawn(async move {
                        if let Err(e) = serve(stream, &shared).await {
                            tracing::debug!(%peer, error = %e, "smtp sink: connection ended");
                        }
                    });
                }
                Err(e) => {
                    // E.g. too many open files: back off instead of spinning.
                    tracing::warn!(error = %e, "smtp sink: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            // Reap finished connections so the set does not grow forever.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Reads one line without its terminator (CRLF or bare LF); false at end of stream.
async fn read_line<R: AsyncBufRead + Unpin>(reader: &mut R, buf: &mut Vec<u8>) -> io::Result<bool> {
    buf.clear();
    let mut limited = (&mut *reader).take(MAX_LINE);
    let n = tokio::time::timeout(READ_TIMEOUT, limited.read_until(b'\n', buf))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "client idle"))??;
    if buf.last() != Some(&b'\n') {
        if n as u64 == MAX_LINE {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
        }
        // End of stream, possibly mid-line: the client is gone.
        return Ok(false);
    }
    buf.pop();
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(true)
}

/// Extracts the address from `FROM:<a@b> PARAMS` / `TO:<a@b>`; None on bad syntax.
fn parse_path(arg: &str, keyword: &str) -> Option<String> {
    let (kw, rest) = arg.split_at_checked(keyword.len())?;
    if !kw.eq_ignore_ascii_case(keyword) {
        return None;
    }
    // Parameters after the path (BODY=8BITMIME, SMTPUTF8, SIZE=) are accepted and ignored.
    let rest = rest.trim_start().strip_prefix('<')?;
    let (path, _params) = rest.split_once('>')?;
    Some(path.to_owned())
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// A rustls server configuration (ring, TLS 1.2 and 1.3) for the sink's certificate.
fn acceptor(tls: &SinkTls) -> io::Result<TlsAcceptor> {
    let chain = CertificateDer::pem_slice_iter(&tls.cert_pem)
        .collect::<Result<Vec<_>, rustls::pki_types::pem::Error>>()
        .map_err(|e| invalid(format!("smtp sink certificate: {e}")))?;
    if chain.is_empty() {
        return Err(invalid("smtp sink certificate: no PEM certificate".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(&tls.key_pem)
        .map_err(|e| invalid(format!("smtp sink private key: {e}")))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| invalid(format!("smtp sink TLS: {e}")))?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| invalid(format!("smtp sink TLS: {e}")))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// How one session (one stream, plain or encrypted) ended.
enum Ended {
    Closed,
    /// The client asked for STARTTLS and was told to begin the handshake.
    StartTls,
}

/// The server side of a TLS handshake, bounded like a read.
async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
) -> io::Result<tokio_rustls::server::TlsStream<TcpStream>> {
    match tokio::time::timeout(READ_TIMEOUT, acceptor.accept(stream)).await {
        Ok(accepted) => accepted,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "TLS handshake timed out",
        )),
    }
}

async fn serve(stream: TcpStream, shared: &Shared) -> io::Result<()> {
    match &shared.tls {
        None => {
            session(&mut BufReader::new(stream), shared, true, false, false).await?;
        }
        Some((acceptor, SinkTlsMode::Implicit)) => {
            let stream = handshake(acceptor, stream).await?;
            session(&mut BufReader::new(stream), shared, true, true, false).await?;
        }
        Some((acceptor, SinkTlsMode::StartTls)) => {
            let mut plain = BufReader::new(stream);
            if let Ended::StartTls = session(&mut plain, shared, true, false, true).await? {
                // RFC 3207: nothing may follow STARTTLS before the handshake; bytes already
                // buffered would be a plaintext injection, so the connection ends instead.
                if !plain.buffer().is_empty() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "data pipelined after STARTTLS",
                    ));
                }
                let stream = handshake(acceptor, plain.into_inner()).await?;
                // A fresh session: the client greets again (EHLO), no banner.
                session(&mut BufReader::new(stream), shared, false, true, false).await?;
            }
        }
    }
    Ok(())
}

/// Sends one reply and flushes it (a TLS stream buffers records until flushed).
async fn reply<S: AsyncWrite + Unpin>(stream: &mut S, text: &str) -> io::Result<()> {
    stream.write_all(text.as_bytes()).await?;
    stream.flush().await
}

/// The user name in an `AUTH PLAIN` response (`authzid NUL authcid NUL password`, base64).
fn plain_auth_user(response: &str) -> Option<String> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(response.trim())
        .ok()?;
    let mut fields = decoded.split(|b| *b == 0);
    let (_authzid, user, _password) = (fields.next()?, fields.next()?, fields.next()?);
    if fields.next().is_some() || user.is_empty() {
        return None;
    }
    String::from_utf8(user.to_vec()).ok()
}

/// One SMTP session on `reader` (which also writes). `banner`: send the 220 greeting
/// (not after STARTTLS); `tls`: the stream is encrypted; `offer_starttls`: EHLO offers it.
async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    reader: &mut BufReader<S>,
    shared: &Shared,
    banner: bool,
    tls: bool,
    offer_starttls: bool,
) -> io::Result<Ended> {
    let mut line = Vec::new();
    let mut greeted = false;
    let mut from: Option<String> = None;
    let mut to: Vec<String> = Vec::new();
    let mut auth_user: Option<String> = None;

    if banner {
        reply(reader, &format!("220 {HOST} ESMTP Maillage sink\r\n")).await?;
    }
    while read_line(reader, &mut line).await? {
        // Owned, since DATA reuses the line buffer.
        let text = String::from_utf8_lossy(&line).into_owned();
        let (verb, arg) = text.split_once(' ').unwrap_or((&text, ""));
        let arg = arg.trim();
        let verb = verb.to_ascii_uppercase();
        shared
            .commands
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(SeenCommand {
                verb: verb.clone(),
                tls,
            });
        let answer: String = match verb.as_str() {
            "EHLO" => {
                greeted = true;
                from = None;
                to.clear();
                let starttls = if offer_starttls {
                    "250-STARTTLS\r\n"
                } else {
                    ""
                };
                // AUTH is offered even in plain text: a client must refuse to use it there.
                format!(
                    "250-{HOST} greets {arg}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n\
                     250-SIZE {MAX_SIZE}\r\n{starttls}250-AUTH PLAIN\r\n250 PIPELINING\r\n"
                )
            }
            "HELO" => {
                greeted = true;
                from = None;
                to.clear();
                format!("250 {HOST}\r\n")
            }
            "STARTTLS" if !offer_starttls => "502 STARTTLS not offered\r\n".into(),
            "STARTTLS" if !greeted => "503 EHLO first\r\n".into(),
            "STARTTLS" => {
                reply(reader, "220 Ready to start TLS\r\n").await?;
                return Ok(Ended::StartTls);
            }
            "AUTH" if !greeted => "503 EHLO first\r\n".into(),
            "AUTH" if auth_user.is_some() => "503 Already authenticated\r\n".into(),
            "AUTH" => {
                let (mechanism, initial) = arg.split_once(' ').unwrap_or((arg, ""));
                if !mechanism.eq_ignore_ascii_case("PLAIN") {
                    "504 Unrecognized authentication type\r\n".into()
                } else {
                    let response = if initial.is_empty() {
                        reply(reader, "334 \r\n").await?;
                        if !read_line(reader, &mut line).await? {
                            return Ok(Ended::Closed);
                        }
                        String::from_utf8_lossy(&line).into_owned()
                    } else {
                        initial.to_owned()
                    };
                    match plain_auth_user(&response) {
                        Some(user) => {
                            auth_user = Some(user);
                            "235 Authentication successful\r\n".into()
                        }
                        None => "501 Malformed AUTH PLAIN response\r\n".into(),
                    }
                }
            }
            "MAIL" if !greeted || from.is_some() => "503 Bad sequence of commands\r\n".into(),
            "MAIL" => match parse_path(arg, "FROM:") {
                Some(path) => {
                    from = Some(path);
                    "250 OK\r\n".into()
                }
                None => "501 Syntax: MAIL FROM:<address>\r\n".into(),
            },
            "RCPT" if from.is_none() => "503 Need MAIL before RCPT\r\n".into(),
            "RCPT" => match parse_path(arg, "TO:") {
                Some(path) => {
                    to.push(path);
                    "250 OK\r\n".into()
                }
                None => "501 Syntax: RCPT TO:<address>\r\n".into(),
            },
            "DATA" if to.is_empty() => "503 Need RCPT before DATA\r\n".into(),
            "DATA" => {
                reply(reader, "354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                let mut data = Vec::new();
                let mut too_big = false;
                loop {
                    if !read_line(reader, &mut line).await? {
                        return Ok(Ended::Closed); // Client left mid-message: nothing to store.
                    }
                    if line == b"." {
                        break;
                    }
                    let unstuffed = line.strip_prefix(b".").unwrap_or(&line);
                    // Keep reading past the limit so the client sees a clean refusal.
                    too_big = too_big || data.len() + unstuffed.len() + 2 > MAX_SIZE;
                    if !too_big {
                        data.extend_from_slice(unstuffed);
                        data.extend_from_slice(b"\r\n");
                    }
                }
                let sender = from.take().unwrap_or_default();
                let recipients = std::mem::take(&mut to);
                if too_big {
                    "552 Message exceeds fixed maximum message size\r\n".into()
                } else {
                    let data = String::from_utf8_lossy(&data).into_owned();
                    let n = shared.store(ReceivedMail {
                        from: sender,
                        to: recipients,
                        data,
                        tls,
                        auth_user: auth_user.clone(),
                    });
                    format!("250 OK queued as {n}\r\n")
                }
            }
            "RSET" => {
                from = None;
                to.clear();
                "250 OK\r\n".into()
            }
            "NOOP" => "250 OK\r\n".into(),
            "VRFY" => "252 Cannot VRFY user, but will accept message\r\n".into(),
            "QUIT" => {
                reply(reader, &format!("221 {HOST} Bye\r\n")).await?;
                reader.shutdown().await?;
                return Ok(Ended::Closed);
            }
            _ => "500 Command not recognized\r\n".into(),
        };
        reply(reader, &answer).await?;
    }
    Ok(Ended::Closed)
}
