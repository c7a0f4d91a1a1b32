//! A minimal HTTP/1.1 client for the benchmarks: one kept-alive connection, requests
//! with their own cookies (one connection may speak for several members), chunked or
//! sized bodies. Over real TCP, like a browser, so the figures include the HTTP edge.

use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

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

    async fn exchange(&mut self, request: &[u8]) -> anyhow::Result<Reply> {
        self.stream.get_mut().write_all(request).await?;
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
                    length = value.parse::<usize>().ok();
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    chunked = value.to_ascii_lowercase().contains("chunked");
                } else if name.eq_ignore_ascii_case("location") {
                    location = Some(value.to_string());
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                let mut size = String::new();
                self.stream.read_line(&mut size).await?;
                let size = usize::from_str_radix(size.trim(), 16)?;
                let mut chunk = vec![0; size + 2];
                self.stream.read_exact(&mut chunk).await?;
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else if let Some(n) = length {
            body.resize(n, 0);
            self.stream.read_exact(&mut body).await?;
        }
        Ok(Reply {
            status,
            location,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}
