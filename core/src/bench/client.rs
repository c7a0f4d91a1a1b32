//! A minimal HTTP/1.1 client for the benchmarks: one kept-alive connection, requests
//! with their own cookies (one connection may speak for several members), chunked or
//! sized bodies. Over real TCP, like a browser, so the figures include the HTTP edge.
//! Large bodies stream both ways: an upload is written from its file as it is read
//! ([`Connection::post_file`]), a download handed on as it arrives
//! ([`Connection::get_streamed`]).

use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Pieces in which files are sent and bodies read.
pub(super) const CHUNK: usize = 64 << 10;

/// A file sent by [`Connection::post_file`]: its form field, the name and type a browser
/// gives it, and where it is read from.
pub(super) struct FilePart<'a> {
    pub field: &'a str,
    pub name: &'a str,
    pub content_type: &'a str,
    pub path: &'a std::path::Path,
}

/// A reply's status line and headers.
struct Head {
    status: u16,
    location: Option<String>,
    length: Option<u64>,
    chunked: bool,
}

/// One reply: status, Location, body.
pub(super) struct Reply {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

/// A minimal HTTP/1.1 client on one kept-alive connection; each request carries its
/// own cookies (one connection may speak for several members).
pub(super) struct Connection {
    stream: BufReader<TcpStream>,
    host: String,
}

impl Connection {
    pub async fn open(address: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream: BufReader::new(stream),
            host: address.to_string(),
        })
    }

    pub async fn get(&mut self, path: &str, cookie: &str) -> anyhow::Result<Reply> {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\n\r\n",
            self.host
        );
        self.exchange(request.as_bytes()).await
    }

    /// A form, with the CSRF token in its header (the cookie carries the same).
    pub async fn post(
        &mut self,
        path: &str,
        cookie: &str,
        fields: &[(String, String)],
    ) -> anyhow::Result<Reply> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let token = cookie
            .split("maillage_csrf=")
            .nth(1)
            .and_then(|t| t.split(';').next())
            .unwrap_or_default();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\nX-CSRF-Token: {token}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            self.host,
            body.len()
        );
        self.exchange(request.as_bytes()).await
    }

    /// A `multipart/form-data` POST streamed from a file, as a browser's upload form
    /// sends it without JavaScript: the text `fields` first (the CSRF token among them,
    /// no header), then the file, read and written in [`CHUNK`]s (never whole in
    /// memory), with its `Content-Length`.
    pub async fn post_file(
        &mut self,
        path: &str,
        cookie: &str,
        fields: &[(String, String)],
        file: &FilePart<'_>,
    ) -> anyhow::Result<Reply> {
        const BOUNDARY: &str = "----MaillageBancEssai7MA4YWxkTrZu0gW";
        let mut head = String::new();
        for (name, value) in fields {
            head.push_str(&format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        head.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\n\
             Content-Type: {}\r\n\r\n",
            file.field, file.name, file.content_type
        ));
        let tail = format!("\r\n--{BOUNDARY}--\r\n");
        let mut source = tokio::fs::File::open(file.path).await?;
        let size = source.metadata().await?.len();
        let length = head.len() as u64 + size + tail.len() as u64;
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\n\
             Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n\r\n{head}",
            self.host
        );
        let stream = self.stream.get_mut();
        stream.write_all(request.as_bytes()).await?;
        let mut buffer = vec![0u8; CHUNK];
        let mut left = size;
        while left > 0 {
            let wanted = usize::try_from(left.min(CHUNK as u64)).unwrap_or(CHUNK);
            let read = source.read(&mut buffer[..wanted]).await?;
            anyhow::ensure!(
                read > 0,
                "{} ended {left} bytes before its size",
                file.path.display()
            );
            stream.write_all(&buffer[..read]).await?;
            left -= read as u64;
        }
        stream.write_all(tail.as_bytes()).await?;
        self.reply().await
    }

    /// A GET whose body, when the status is 200, is handed to `sink` as it arrives (in
    /// pieces of at most [`CHUNK`], never kept); any other status's body is read as
    /// text. Returns the reply (its body empty on a 200) and the bytes handed over.
    pub async fn get_streamed<F: FnMut(&[u8])>(
        &mut self,
        path: &str,
        cookie: &str,
        sink: &mut F,
    ) -> anyhow::Result<(Reply, u64)> {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\n\r\n",
            self.host
        );
        self.stream.get_mut().write_all(request.as_bytes()).await?;
        let head = self.head().await?;
        if head.status != 200 {
            let body = self.text_body(&head).await?;
            return Ok((
                Reply {
                    status: head.status,
                    location: head.location,
                    body,
                },
                0,
            ));
        }
        let bytes = self.body(&head, sink).await?;
        Ok((
            Reply {
                status: head.status,
                location: head.location,
                body: String::new(),
            },
            bytes,
        ))
    }

    async fn exchange(&mut self, request: &[u8]) -> anyhow::Result<Reply> {
        self.stream.get_mut().write_all(request).await?;
        self.reply().await
    }

    /// The reply to the request just written, its body as text.
    async fn reply(&mut self) -> anyhow::Result<Reply> {
        let head = self.head().await?;
        let body = self.text_body(&head).await?;
        Ok(Reply {
            status: head.status,
            location: head.location,
            body,
        })
    }

    /// The status line and the headers of a reply.
    async fn head(&mut self) -> anyhow::Result<Head> {
        let mut status_line = String::new();
        if self.stream.read_line(&mut status_line).await? == 0 {
            anyhow::bail!("the server closed the connection");
        }
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("bad status line {status_line:?}"))?;
        let (mut length, mut chunked, mut location) = (None, false, None);
        loop {
            let mut header = String::new();
            self.stream.read_line(&mut header).await?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let (name, value) = (name.trim(), value.trim());
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.parse::<u64>().ok();
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    chunked = value.to_ascii_lowercase().contains("chunked");
                } else if name.eq_ignore_ascii_case("location") {
                    location = Some(value.to_string());
                }
            }
        }
        Ok(Head {
            status,
            location,
            length,
            chunked,
        })
    }

    /// The body of `head`, as text.
    async fn text_body(&mut self, head: &Head) -> anyhow::Result<String> {
        let mut body = Vec::new();
        self.body(head, &mut |piece: &[u8]| body.extend_from_slice(piece))
            .await?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    /// Reads the body of `head` (chunked or sized), handing it to `sink` in pieces of
    /// at most [`CHUNK`]; returns its length.
    async fn body<F: FnMut(&[u8])>(&mut self, head: &Head, sink: &mut F) -> anyhow::Result<u64> {
        // A small body needs no more than its length.
        let capacity = match (head.chunked, head.length) {
            (false, Some(length)) => usize::try_from(length.min(CHUNK as u64)).unwrap_or(CHUNK),
            _ => CHUNK,
        };
        let mut buffer = vec![0u8; capacity];
        let mut total = 0u64;
        if head.chunked {
            loop {
                let mut size = String::new();
                self.stream.read_line(&mut size).await?;
                let digits = size.trim().split(';').next().unwrap_or_default();
                let mut left = u64::from_str_radix(digits, 16)?;
                if left == 0 {
                    // Trailers, if any, then the empty line.
                    loop {
                        let mut line = String::new();
                        if self.stream.read_line(&mut line).await? == 0
                            || line.trim_end().is_empty()
                        {
                            break;
                        }
                    }
                    break;
                }
                while left > 0 {
                    let n = usize::try_from(left.min(capacity as u64)).unwrap_or(capacity);
                    self.stream.read_exact(&mut buffer[..n]).await?;
                    sink(&buffer[..n]);
                    total += n as u64;
                    left -= n as u64;
                }
                let mut end = [0u8; 2];
                self.stream.read_exact(&mut end).await?;
            }
        } else if let Some(length) = head.length {
            let mut left = length;
            while left > 0 {
                let n = usize::try_from(left.min(capacity as u64)).unwrap_or(capacity);
                let read = self.stream.read(&mut buffer[..n]).await?;
                anyhow::ensure!(
                    read > 0,
                    "the server closed the connection {left} bytes before the end of a body"
                );
                sink(&buffer[..read]);
                total += read as u64;
                left -= read as u64;
            }
        }
        Ok(total)
    }
}
