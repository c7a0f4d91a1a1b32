//! Runtime configuration: flags with environment fallbacks (see `.env.sample`).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Folder for the SQLite database, blobs and the compiled-component cache.
    #[arg(long, env = "MAILLAGE_DATA_DIR", default_value = "./maillage-data")]
    pub data_dir: PathBuf,

    /// PostgreSQL server, `postgres://user@host:port/database`. Unset: the embedded
    /// SQLite file in the data folder.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// PostgreSQL schema to work in (created if missing); unset: the server's default.
    #[arg(long, env = "MAILLAGE_DATABASE_SCHEMA")]
    pub database_schema: Option<String>,

    /// S3-compatible bucket for blobs (credentials from AWS_ACCESS_KEY_ID and
    /// AWS_SECRET_ACCESS_KEY). Unset: a folder in the data folder.
    #[arg(long, env = "MAILLAGE_S3_BUCKET")]
    pub s3_bucket: Option<String>,

    /// Endpoint of a non-AWS S3 service, e.g. `https://s3.fr-par.scw.cloud`.
    #[arg(long, env = "MAILLAGE_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    #[arg(long, env = "MAILLAGE_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,

    /// Largest file a plugin may store, in MiB.
    #[arg(long, env = "MAILLAGE_BLOB_LIMIT_MIB", default_value_t = 25)]
    pub blob_limit_mib: u64,

    /// Address to listen on.
    #[arg(long, env = "MAILLAGE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Wall-clock budget of one plugin call, in milliseconds.
    #[arg(long, env = "MAILLAGE_PLUGIN_DEADLINE_MS", default_value_t = 2000)]
    pub plugin_deadline_ms: u64,

    /// Linear-memory cap of one plugin instance, in MiB.
    #[arg(long, env = "MAILLAGE_PLUGIN_MEMORY_MIB", default_value_t = 64)]
    pub plugin_memory_mib: u64,

    /// Largest response body a plugin may return, in MiB.
    #[arg(long, env = "MAILLAGE_PLUGIN_OUTPUT_MIB", default_value_t = 8)]
    pub plugin_output_mib: u64,

    /// Largest request body accepted, in MiB.
    #[arg(long, env = "MAILLAGE_BODY_LIMIT_MIB", default_value_t = 16)]
    pub body_limit_mib: u64,

    /// Largest file accepted by an import upload (the RPPS extract is ~600 MB), in MiB.
    #[arg(long, env = "MAILLAGE_IMPORT_LIMIT_MIB", default_value_t = 2048)]
    pub import_limit_mib: u64,

    /// Address users reach the platform at, for links in mails (default: http://<listen>).
    #[arg(long, env = "MAILLAGE_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Mark cookies `Secure` (and `__Host-` prefixed): set it when served over HTTPS.
    #[arg(long, env = "MAILLAGE_COOKIE_SECURE", default_value_t = false)]
    pub cookie_secure: bool,

    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` and `X-Forwarded-Proto`
    /// headers are believed: comma-separated addresses or CIDR ranges, IPv4 or IPv6, e.g.
    /// `127.0.0.1, ::1, 10.0.0.0/8`. Unset: those headers are ignored and the TCP peer is
    /// the client.
    #[arg(long, env = "MAILLAGE_TRUSTED_PROXIES", value_parser = TrustedProxies::parse)]
    pub trusted_proxies: Option<TrustedProxies>,

    /// SMTP server for outgoing mail: `smtps://[user:password@]host[:port]` (implicit TLS),
    /// `smtp://…?tls=required` (STARTTLS, required), `smtp://…?tls=none` (plain); a bare
    /// `smtp://host` is plain for this machine, STARTTLS required for any other host.
    /// Credentials over plain SMTP only with `?tls=none`. Unset: mail waits in the outbox
    /// (the demo starts a local sink instead). See docs/deploy.md, « Mail ».
    #[arg(long, env = "MAILLAGE_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// PEM file of certificates trusted for the SMTP server besides the platform's roots
    /// (a self-hosted relay's own CA).
    #[arg(long, env = "MAILLAGE_SMTP_CA_FILE")]
    pub smtp_ca_file: Option<PathBuf>,

    /// Sender of outgoing mail.
    #[arg(
        long,
        env = "MAILLAGE_MAIL_FROM",
        default_value = "Maillage <ne-pas-repondre@maillage.localhost>"
    )]
    pub mail_from: String,

    /// Bearer token a Prometheus scraper sends to read `/metrics`
    /// (`Authorization: Bearer <token>`). Unset: `/metrics` answers 404.
    #[arg(long, env = "MAILLAGE_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
}

impl Config {
    /// Defaults rooted at `data_dir`, for tests and tools.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            data_dir: data_dir.into(),
            database_url: None,
            database_schema: None,
            s3_bucket: None,
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
            blob_limit_mib: 25,
            listen: "127.0.0.1:0".parse().expect("static address"),
            plugin_deadline_ms: 2000,
            plugin_memory_mib: 64,
            plugin_output_mib: 8,
            body_limit_mib: 16,
            import_limit_mib: 2048,
            public_url: None,
            cookie_secure: false,
            trusted_proxies: None,
            smtp_url: None,
            smtp_ca_file: None,
            mail_from: "Maillage <ne-pas-repondre@maillage.localhost>".into(),
            metrics_token: None,
        }
    }

    /// The SMTP settings, checked (URL, TLS, CA file); None without `MAILLAGE_SMTP_URL`.
    pub fn smtp_settings(&self) -> anyhow::Result<Option<crate::mail::SmtpSettings>> {
        self.smtp_url
            .as_deref()
            .map(|url| crate::mail::SmtpSettings::from_config(url, self.smtp_ca_file.as_deref()))
            .transpose()
    }

    /// Base URL for links in mails, without a trailing slash.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_string()
    }

    pub fn limits(&self) -> crate::plugins::Limits {
        crate::plugins::Limits {
            deadline: Duration::from_millis(self.plugin_deadline_ms),
            memory_bytes: (self.plugin_memory_mib as usize) << 20,
            output_bytes: (self.plugin_output_mib as usize) << 20,
            bulk: false,
        }
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("maillage.sqlite3")
    }

    /// Opens the configured database: PostgreSQL when `database_url` is set, else SQLite.
    pub async fn open_database(&self) -> crate::storage::Result<crate::storage::Db> {
        match &self.database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                crate::storage::Db::open_postgres(url, self.database_schema.as_deref()).await
            }
            Some(url) => match url.strip_prefix("sqlite://") {
                Some(path) => crate::storage::Db::open_sqlite(std::path::Path::new(path)).await,
                None => Err(crate::storage::StorageError::Invalid(format!(
                    "DATABASE_URL must start with postgres:// or sqlite:// (got {:?})",
                    url.split(':').next().unwrap_or("")
                ))),
            },
            None => crate::storage::Db::open_sqlite(&self.database_path()).await,
        }
    }

    pub fn component_cache_dir(&self) -> PathBuf {
        self.data_dir.join("component-cache")
    }

    pub fn package_dir(&self) -> PathBuf {
        self.data_dir.join("plugins")
    }

    pub fn blob_dir(&self) -> PathBuf {
        self.data_dir.join("blobs")
    }

    pub fn blob_backend(&self) -> crate::storage::blobs::BlobBackend {
        match &self.s3_bucket {
            Some(bucket) => crate::storage::blobs::BlobBackend::S3 {
                bucket: bucket.clone(),
                endpoint: self.s3_endpoint.clone(),
                region: self.s3_region.clone(),
            },
            None => crate::storage::blobs::BlobBackend::Local(self.blob_dir()),
        }
    }
}

/// The reverse proxies allowed to say who the client is (`MAILLAGE_TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpRange>);

impl TrustedProxies {
    /// Comma-separated addresses or CIDR ranges; empty items are skipped.
    pub fn parse(text: &str) -> Result<TrustedProxies, String> {
        text.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(IpRange::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of the proxies (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let canonical = ip.to_canonical();
        self.0
            .iter()
            .any(|range| range.contains(ip) || range.contains(canonical))
    }
}

/// One address (a /32 or /128) or a CIDR range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    pub fn parse(text: &str) -> Result<IpRange, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address.trim(), Some(prefix.trim())),
            None => (text.trim(), None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or a CIDR range"))?;
        let bits: u8 = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {bits}"))?,
        };
        Ok(IpRange { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(network), IpAddr::V4(ip)) => same_prefix(
                u128::from(u32::from(network)),
                u128::from(u32::from(ip)),
                self.prefix,
                32,
            ),
            (IpAddr::V6(network), IpAddr::V6(ip)) => {
                same_prefix(u128::from(network), u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

/// The first `prefix` of `bits` bits of both numbers are equal.
fn same_prefix(network: u128, address: u128, prefix: u8, bits: u32) -> bool {
    if prefix == 0 {
        return true;
    }
    let shift = bits - u32::from(prefix);
    (network >> shift) == (address >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_ranges_parse_and_match_both_families() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 192.168.1.7,, fd00::/8 , ::1").unwrap();
        for inside in [
            "10.1.2.3",
            "192.168.1.7",
            "fd12::5",
            "::1",
            "::ffff:10.9.9.9",
        ] {
            assert!(proxies.contains(inside.parse().unwrap()), "{inside}");
        }
        for outside in ["11.0.0.1", "192.168.1.8", "fe80::1", "::2", "203.0.113.5"] {
            assert!(!proxies.contains(outside.parse().unwrap()), "{outside}");
        }
        assert!(
            TrustedProxies::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        for bad in ["10.0.0.0/33", "fd00::/129", "proxy.local", "10.0.0.0/x"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
    }
}
