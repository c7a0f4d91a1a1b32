//! Mail over TLS, end to end: the outbox delivered by lettre (rustls) to the local sink
//! in its TLS modes, with a CA and a server certificate made by the `openssl` command for
//! this run. Implicit TLS (`smtps://`), STARTTLS required, a server without STARTTLS, an
//! untrusted certificate, and the refusal of credentials over plain SMTP at startup.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use maillage::mail::OutboxMail;
use maillage::mail::sink::{SeenCommand, SinkTls, SinkTlsMode, SmtpSink};

use crate::support::{Host, fresh_dir, test_config};

/// A test CA and a server certificate it signed, for `localhost` and `127.0.0.1`.
struct Pki {
    /// The CA certificate (what `MAILLAGE_SMTP_CA_FILE` names).
    ca: PathBuf,
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
}

impl Pki {
    fn sink(&self, mode: SinkTlsMode) -> SinkTls {
        SinkTls {
            mode,
            cert_pem: self.cert_pem.clone(),
            key_pem: self.key_pem.clone(),
        }
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("the TLS mail tests need the `openssl` command (apt-get install openssl): {e}")
        });
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Made once per run: a CA (CA:TRUE) and a leaf (CA:FALSE, serverAuth), P-256 keys. The
/// leaf is not self-signed: rustls refuses a CA certificate used as the server's own.
fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("maillage-smtp-pki-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let mut ca_args = vec!["req", "-x509"];
        ca_args.extend(ec);
        ca_args.extend([
            "-subj",
            "/CN=Maillage test CA",
            "-days",
            "2",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ]);
        openssl(&dir, &ca_args);
        let mut csr_args = vec!["req", "-new"];
        csr_args.extend(ec);
        csr_args.extend([
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ]);
        openssl(&dir, &csr_args);
        std::fs::write(
            dir.join("server.ext"),
            "basicConstraints=critical,CA:FALSE\n\
             keyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth\n\
             subjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .unwrap();
        openssl(
            &dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-set_serial",
                "2",
                "-days",
                "2",
                "-extfile",
                "server.ext",
                "-out",
                "server.pem",
            ],
        );
        Pki {
            ca: dir.join("ca.pem"),
            cert_pem: std::fs::read(dir.join("server.pem")).unwrap(),
            key_pem: std::fs::read(dir.join("server.key")).unwrap(),
        }
    })
}

fn local() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A host sending to `url`, trusting the test CA when `ca` is true.
async fn host_with(url: String, ca: bool) -> Host {
    Host::with_config(|c| {
        c.smtp_url = Some(url);
        c.smtp_ca_file = ca.then(|| pki().ca.clone());
    })
    .await
}

/// Queues one mail of a fresh structure; returns the structure's id.
async fn queue_one(host: &Host) -> i64 {
    let structure = host.structure("cpts-a", &[]).await;
    host.state
        .mailer
        .enqueue(
            Some(structure.id),
            "dest@exemple.fr",
            "Compte rendu de la reunion",
            "Bonjour,\nvoici le compte rendu, en TLS.\n",
        )
        .await
        .unwrap();
    structure.id
}

async fn the_mail(host: &Host, structure_id: i64) -> OutboxMail {
    let mut outbox = host.state.db.outbox(Some(structure_id), 10).await.unwrap();
    assert_eq!(outbox.len(), 1);
    outbox.remove(0)
}

fn verbs(commands: &[SeenCommand]) -> Vec<(&str, bool)> {
    commands.iter().map(|c| (c.verb.as_str(), c.tls)).collect()
}

fn position(commands: &[SeenCommand], verb: &str) -> usize {
    commands
        .iter()
        .position(|c| c.verb == verb)
        .unwrap_or_else(|| panic!("no {verb} in {:?}", verbs(commands)))
}

#[tokio::test]
async fn mail_goes_out_over_implicit_tls_with_auth_only_inside_it() {
    let sink = SmtpSink::start_tls(local(), pki().sink(SinkTlsMode::Implicit))
        .await
        .unwrap();
    let url = format!(
        "smtps://anne%40cpts-a.fr:s3cret@127.0.0.1:{}",
        sink.addr().port()
    );
    let host = host_with(url, true).await;
    let structure_id = queue_one(&host).await;

    assert_eq!(host.state.mailer.deliver_due().await.unwrap(), 1);
    let received = sink.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(received.len(), 1);
    let mail = &received[0];
    assert!(mail.tls, "received over TLS");
    assert_eq!(mail.auth_user.as_deref(), Some("anne@cpts-a.fr"));
    assert_eq!(mail.to, ["dest@exemple.fr"]);
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Compte rendu de la reunion")
    );
    assert!(
        mail.body().contains("voici le compte rendu, en TLS."),
        "{}",
        mail.data
    );

    // Every command, AUTH first of all, came inside the TLS session, before MAIL.
    let commands = sink.commands();
    assert!(commands.iter().all(|c| c.tls), "{:?}", verbs(&commands));
    assert!(position(&commands, "AUTH") < position(&commands, "MAIL"));

    let row = the_mail(&host, structure_id).await;
    assert_eq!((row.status.as_str(), row.attempts), ("sent", 1));
}

#[tokio::test]
async fn starttls_upgrades_before_auth_and_the_mail() {
    let sink = SmtpSink::start_tls(local(), pki().sink(SinkTlsMode::StartTls))
        .await
        .unwrap();
    let url = format!(
        "smtp://anne:s3cret@127.0.0.1:{}?tls=required",
        sink.addr().port()
    );
    let host = host_with(url, true).await;
    let structure_id = queue_one(&host).await;

    assert_eq!(host.state.mailer.deliver_due().await.unwrap(), 1);
    let received = sink.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(received.len(), 1);
    assert!(received[0].tls);
    assert_eq!(received[0].auth_user.as_deref(), Some("anne"));
    assert!(received[0].body().contains("voici le compte rendu"));

    // In clear: only EHLO and STARTTLS (the sink offers AUTH there too, unused).
    let commands = sink.commands();
    let starttls = position(&commands, "STARTTLS");
    assert_eq!(
        verbs(&commands[..=starttls]),
        [("EHLO", false), ("STARTTLS", false)]
    );
    assert!(
        commands[starttls + 1..].iter().all(|c| c.tls),
        "{:?}",
        verbs(&commands)
    );
    assert_eq!(commands[starttls + 1].verb, "EHLO", "greets again over TLS");
    assert!(position(&commands, "AUTH") > starttls);
    assert_eq!(the_mail(&host, structure_id).await.status, "sent");
}

#[tokio::test]
async fn a_server_without_starttls_gets_neither_credentials_nor_mail() {
    // The plain sink: no STARTTLS in its EHLO, but AUTH PLAIN offered in clear.
    let sink = SmtpSink::start(local(), None).await.unwrap();
    let url = format!(
        "smtp://anne:s3cret@127.0.0.1:{}?tls=required",
        sink.addr().port()
    );
    let host = host_with(url, true).await;
    let structure_id = queue_one(&host).await;
    let before = maillage::storage::now_secs();

    assert_eq!(host.state.mailer.deliver_due().await.unwrap(), 0);
    let row = the_mail(&host, structure_id).await;
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 1));
    assert!(row.next_attempt_at >= before + 30, "retried later");
    let error = row.last_error.unwrap_or_default();
    assert!(error.contains("STARTTLS"), "{error}");
    assert!(
        error.contains("127.0.0.1") && error.contains("STARTTLS required"),
        "{error}"
    );
    assert!(!error.contains("s3cret"), "{error}");

    // The conversation stopped after EHLO: no AUTH, no MAIL, nothing received.
    let commands = sink.commands();
    assert_eq!(
        commands.first().map(|c| c.verb.as_str()),
        Some("EHLO"),
        "{:?}",
        verbs(&commands)
    );
    assert!(
        commands
            .iter()
            .all(|c| c.verb == "EHLO" || c.verb == "QUIT"),
        "{:?}",
        verbs(&commands)
    );
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused() {
    // Without MAILLAGE_SMTP_CA_FILE the test CA is unknown: the platform's roots only.
    for mode in [SinkTlsMode::Implicit, SinkTlsMode::StartTls] {
        let sink = SmtpSink::start_tls(local(), pki().sink(mode))
            .await
            .unwrap();
        let url = match mode {
            SinkTlsMode::Implicit => {
                format!("smtps://anne:s3cret@127.0.0.1:{}", sink.addr().port())
            }
            SinkTlsMode::StartTls => format!(
                "smtp://anne:s3cret@127.0.0.1:{}?tls=required",
                sink.addr().port()
            ),
        };
        let host = host_with(url, false).await;
        let structure_id = queue_one(&host).await;

        assert_eq!(
            host.state.mailer.deliver_due().await.unwrap(),
            0,
            "{mode:?}"
        );
        let row = the_mail(&host, structure_id).await;
        assert_eq!((row.status.as_str(), row.attempts), ("pending", 1));
        let error = row.last_error.unwrap_or_default();
        assert!(
            error.to_lowercase().contains("certificate"),
            "{mode:?}: {error}"
        );
        assert!(sink.messages().is_empty());
        let commands = sink.commands();
        assert!(
            commands.iter().all(|c| !c.tls && c.verb != "AUTH"),
            "{mode:?}: nothing after the failed handshake: {:?}",
            verbs(&commands)
        );
    }
}

#[tokio::test]
async fn credentials_over_plain_smtp_are_refused_at_startup() {
    async fn open_with(url: &str, ca_file: Option<PathBuf>) -> Result<(), String> {
        let dir = fresh_dir();
        let mut config = test_config(&dir);
        config.smtp_url = Some(url.to_string());
        config.smtp_ca_file = ca_file;
        let opened = maillage::open(&config).await;
        let result = opened.map(|_| ()).map_err(|e| format!("{e:#}"));
        let _ = std::fs::remove_dir_all(&dir);
        result
    }

    // A local relay is plain by default: with credentials, refused unless said explicitly.
    let error = open_with("smtp://anne:s3cret@127.0.0.1:2525", None)
        .await
        .unwrap_err();
    assert!(error.contains("credentials but no TLS"), "{error}");
    assert!(
        error.contains("tls=required") && error.contains("smtps://"),
        "{error}"
    );
    assert!(!error.contains("s3cret"), "{error}");
    open_with("smtp://anne:s3cret@127.0.0.1:2525?tls=none", None)
        .await
        .unwrap();
    // Without credentials a local relay stays plain (the demo's sink).
    open_with("smtp://127.0.0.1:2525", None).await.unwrap();

    // A CA file that cannot be read stops the host too.
    let error = open_with(
        "smtps://anne:s3cret@127.0.0.1:2465",
        Some(PathBuf::from("/nonexistent/ca.pem")),
    )
    .await
    .unwrap_err();
    assert!(error.contains("MAILLAGE_SMTP_CA_FILE"), "{error}");
    open_with("smtps://anne:s3cret@127.0.0.1:2465", Some(pki().ca.clone()))
        .await
        .unwrap();
}
