//! A local SMTP sink: a real SMTP server on TCP that accepts every message and keeps it
//! in memory (and optionally on disk), so the demo and the tests exercise the real client.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

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
    arrived: Notify,
    save_dir: Option<PathBuf>,
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
        if let Some(dir) = &save_dir {
            std::fs::create_dir_all(dir)?;
        }
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            messages: Mutex::new(Vec::new()),
            arrived: Notify::new(),
            save_dir,
        });
        let task = tokio::spawn(accept_loop(listener, shared.clone()));
        tracing::info!(%addr, "smtp sink listening");
        Ok(SmtpSink { addr, shared, task })
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

async fn serve(stream: TcpStream, shared: &Shared) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    // Buffered line reads keep pipelined commands that arrive in one packet.
    let mut reader = BufReader::new(read);
    let mut line = Vec::new();
    let mut greeted = false;
    let mut from: Option<String> = None;
    let mut to: Vec<String> = Vec::new();

    write
        .write_all(format!("220 {HOST} ESMTP Maillage sink\r\n").as_bytes())
        .await?;
    while read_line(&mut reader, &mut line).await? {
        // Owned, since DATA reuses the line buffer.
        let text = String::from_utf8_lossy(&line).into_owned();
        let (verb, arg) = text.split_once(' ').unwrap_or((&text, ""));
        let arg = arg.trim();
        let reply: String = match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                greeted = true;
                from = None;
                to.clear();
                format!(
                    "250-{HOST} greets {arg}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n\
                     250-SIZE {MAX_SIZE}\r\n250 PIPELINING\r\n"
                )
            }
            "HELO" => {
                greeted = true;
                from = None;
                to.clear();
                format!("250 {HOST}\r\n")
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
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = Vec::new();
                let mut too_big = false;
                loop {
                    if !read_line(&mut reader, &mut line).await? {
                        return Ok(()); // Client left mid-message: nothing to store.
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
                write
                    .write_all(format!("221 {HOST} Bye\r\n").as_bytes())
                    .await?;
                return write.shutdown().await;
            }
            _ => "500 Command not recognized\r\n".into(),
        };
        write.write_all(reply.as_bytes()).await?;
    }
    Ok(())
}
