//! Operations (issue 21): host actions and their audit entries commit together, the
//! référent limit holds under simultaneous requests, `/metrics` and `/readyz`, online
//! backups of an SQLite installation with their restore, and `maillage migrate` from
//! SQLite into PostgreSQL.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::body::Body;
use bytes::Bytes;
use http::{Request, StatusCode, header};
use maillage::config::Config;
use maillage::storage::PluginScope;
use maillage::tenancy::Role;

use crate::support::{
    Client, Host, PASSWORD, fresh_dir, local_in, on_postgres, postgres_url, test_config,
};

/// Plugin limits that a debug build of the polls module stays within.
fn generous(c: &mut Config) {
    c.plugin_deadline_ms = 10_000;
    c.plugin_memory_mib = 64;
    c.plugin_output_mib = 8;
}

/// Runs `maillage ARGS…` as an operator types it; the error as text.
async fn cli(args: &[&str]) -> Result<(), String> {
    let all: Vec<String> = std::iter::once("maillage")
        .chain(args.iter().copied())
        .map(str::to_string)
        .collect();
    maillage::cli::run_args(all)
        .await
        .map_err(|e| format!("{e:#}"))
}

/// `--data-dir DIR --database-url sqlite://DIR/maillage.sqlite3`: an SQLite installation,
/// whatever the environment says.
fn sqlite_args(dir: &Path) -> Vec<String> {
    vec![
        "--data-dir".into(),
        dir.display().to_string(),
        "--database-url".into(),
        format!("sqlite://{}", dir.join("maillage.sqlite3").display()),
    ]
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

async fn count(host: &Host, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(host.state.db.pool())
        .await
        .unwrap()
}

/// Creates a poll through the module's form; returns its path.
async fn create_poll(c: &mut Client<'_>, title: &str) -> String {
    let first = local_in(40, 20, 0, "Europe/Paris");
    let second = local_in(41, 20, 0, "Europe/Paris");
    let (status, location, body) = c
        .post_form(
            "/cpts-a/polls/new",
            &[
                ("title", title),
                ("slot", &first),
                ("slot", &second),
                ("deadline", crate::support::POLL_DEADLINE.as_str()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "poll not created: {body}");
    location.expect("a redirect to the poll")
}

/// Creates a group through the form (as a coordinator); returns its id.
async fn create_group(c: &mut Client<'_>, name: &str) -> i64 {
    let (status, location, body) = c
        .post_form(
            "/cpts-a/groupes/",
            &[("nom", name), ("visibilite", "ouvert")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "group not created: {body}");
    location
        .expect("a redirect to the group")
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

async fn signed_in<'h>(host: &'h Host, email: &str) -> Client<'h> {
    let mut client = Client::new(host);
    client.login(email, PASSWORD).await;
    client
}

// Item 3: atomic host writes.

#[tokio::test]
async fn an_action_whose_audit_entry_fails_leaves_nothing_behind() {
    let host = Host::new().await;
    host.structure("cpts-a", &[]).await;
    let structure_id = host.structure_id("cpts-a").await;
    host.account("cpts-a", "admin@cpts-a.fr", "Ada Admin", Role::Admin)
        .await;
    let colleague = host
        .account(
            "cpts-a",
            "collegue@cpts-a.fr",
            "Côme Collègue",
            Role::Member,
        )
        .await;
    let requester = host
        .account("cpts-a", "demande@cpts-a.fr", "Denis Demande", Role::Member)
        .await;
    let mut admin = signed_in(&host, "admin@cpts-a.fr").await;
    let mut asking = signed_in(&host, "demande@cpts-a.fr").await;
    let group = create_group(&mut admin, "Parcours diabète").await;
    let (status, _, _) = asking
        .post_form(
            &format!("/cpts-a/groupes/{group}/demande"),
            &[("message", "Je suis infirmier")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let request_id: i64 = sqlx::query_scalar(
        "SELECT id FROM group_join_requests WHERE group_id = $1 AND account_id = $2",
    )
    .bind(group)
    .bind(requester.id)
    .fetch_one(host.state.db.pool())
    .await
    .unwrap();
    let entries_before = count(&host, "SELECT COUNT(*) FROM audit_log").await;

    // The audit log cannot be written any more (as a full disk or a lost table would do).
    sqlx::query("ALTER TABLE audit_log RENAME TO audit_log_unavailable")
        .execute(host.state.db.pool())
        .await
        .unwrap();

    let (status, _, _) = admin
        .post_form(
            "/cpts-a/admin/structure",
            &[
                ("nom", "Nom jamais enregistré"),
                ("fuseau", "Europe/Paris"),
                ("territoire", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let s = host
        .state
        .db
        .structure(structure_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        s.name, "Structure cpts-a",
        "the structure was renamed without audit"
    );

    let (status, _, _) = admin
        .post_form(
            &format!("/cpts-a/admin/membres/{}", colleague.id),
            &[("role", "coordinator")],
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let member = host
        .state
        .db
        .member(structure_id, colleague.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(member.role, Role::Member, "the role changed without audit");

    let (status, _, _) = admin
        .post_form(
            &format!("/cpts-a/groupes/{group}/membre"),
            &[
                ("personne", &colleague.id.to_string()),
                ("role", "referent"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        host.state
            .db
            .group_members(group)
            .await
            .unwrap()
            .iter()
            .all(|m| m.account_id != colleague.id),
        "the colleague joined the group without audit"
    );

    let (status, _, _) = admin
        .post_form(
            &format!("/cpts-a/groupes/{group}/demandes/{request_id}/accepter"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let state: String = sqlx::query_scalar("SELECT status FROM group_join_requests WHERE id = $1")
        .bind(request_id)
        .fetch_one(host.state.db.pool())
        .await
        .unwrap();
    assert_eq!(state, "pending", "the request was decided without audit");
    assert!(
        host.state
            .db
            .group_members(group)
            .await
            .unwrap()
            .iter()
            .all(|m| m.account_id != requester.id),
        "the requester joined without audit"
    );

    let (status, _, _) = admin
        .post_form(
            "/cpts-a/groupes/",
            &[("nom", "Groupe fantôme"), ("visibilite", "ouvert")],
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        count(&host, "SELECT COUNT(*) FROM work_groups").await,
        1,
        "a group was created without audit"
    );

    // Once the log is back, the same actions go through, each with its entry.
    sqlx::query("ALTER TABLE audit_log_unavailable RENAME TO audit_log")
        .execute(host.state.db.pool())
        .await
        .unwrap();
    let (status, _, _) = admin
        .post_form(
            &format!("/cpts-a/groupes/{group}/demandes/{request_id}/accepter"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        host.state
            .db
            .group_members(group)
            .await
            .unwrap()
            .iter()
            .any(|m| m.account_id == requester.id)
    );
    let (status, _, _) = admin
        .post_form(
            "/cpts-a/admin/structure",
            &[
                ("nom", "CPTS renommée"),
                ("fuseau", "Europe/Paris"),
                ("territoire", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        count(&host, "SELECT COUNT(*) FROM audit_log").await,
        entries_before + 2
    );
}

/// Makes the audit log unwritable (as a full disk or a lost table would), or writable again.
pub(crate) async fn audit_log_available(host: &Host, available: bool) {
    let sql = if available {
        "ALTER TABLE audit_log_unavailable RENAME TO audit_log"
    } else {
        "ALTER TABLE audit_log RENAME TO audit_log_unavailable"
    };
    sqlx::query(sql)
        .execute(host.state.db.pool())
        .await
        .unwrap();
}

/// The `/compte/invitations/{secret}` link of a membership offer mail.
fn offer_link(body: &str) -> String {
    let start = body
        .find("/compte/invitations/")
        .unwrap_or_else(|| panic!("no offer link in {body}"));
    body[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect()
}

#[tokio::test]
async fn invitations_offers_retries_and_new_structures_are_undone_with_their_audit_entry() {
    let host = Host::with_config(generous).await;
    host.structure("cpts-a", &["polls", "listener"]).await;
    host.structure("cpts-b", &[]).await;
    let structure_id = host.structure_id("cpts-a").await;
    host.account("cpts-a", "admin@cpts-a.fr", "Ada Admin", Role::Admin)
        .await;
    host.account("cpts-a", "membre@cpts-a.fr", "Max Membre", Role::Member)
        .await;
    let invitee = host
        .account("cpts-b", "ines@cpts-b.fr", "Inès Invitée", Role::Member)
        .await;
    host.account("cpts-b", "autre@cpts-b.fr", "Oscar Autre", Role::Member)
        .await;
    let mut ops = host.operator("ops@exemple.fr", "Opératrice").await;
    let mut admin = signed_in(&host, "admin@cpts-a.fr").await;
    let mut member = signed_in(&host, "membre@cpts-a.fr").await;
    let mut ines = signed_in(&host, "ines@cpts-b.fr").await;

    // While the log works: an offer to an existing account (its link from the mail), a
    // mail given up, an event delivery given up.
    let (status, _, body) = admin
        .post_form(
            "/cpts-a/admin/invitations",
            &[
                ("courriel", "ines@cpts-b.fr"),
                ("nom", ""),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let mail = host
        .state
        .db
        .outbox(Some(structure_id), 1)
        .await
        .unwrap()
        .remove(0);
    let link = offer_link(&mail.body);
    let secret = link.trim_start_matches("/compte/invitations/").to_string();
    sqlx::query("UPDATE mail_outbox SET status = 'failed', attempts = 5 WHERE id = $1")
        .bind(mail.id)
        .execute(host.state.db.pool())
        .await
        .unwrap();
    create_poll(&mut member, "Réunion plénière").await;
    let round = maillage::events::dispatch(&host.state).await.unwrap();
    assert!(round.delivered >= 1 && round.failed == 0, "{round:?}");
    sqlx::query(
        "UPDATE event_deliveries SET status = 'dead', attempts = 6 WHERE plugin_id = 'listener'",
    )
    .execute(host.state.db.pool())
    .await
    .unwrap();
    let event_id: i64 =
        sqlx::query_scalar("SELECT event_id FROM event_deliveries WHERE plugin_id = 'listener'")
            .fetch_one(host.state.db.pool())
            .await
            .unwrap();
    let entries_before = count(&host, "SELECT COUNT(*) FROM audit_log").await;
    let mails_before = count(&host, "SELECT COUNT(*) FROM mail_outbox").await;
    let accounts_before = count(&host, "SELECT COUNT(*) FROM accounts").await;
    let offers_before = count(&host, "SELECT COUNT(*) FROM membership_offers").await;
    let structures_before = count(&host, "SELECT COUNT(*) FROM structures").await;

    audit_log_available(&host, false).await;

    // The operator's new structure, with its admin's invitation.
    let (status, _, _) = ops
        .post_form(
            "/plateforme/structures",
            &[
                ("nom", "MSP des Îles"),
                ("slug", "msp-iles"),
                ("type", "msp"),
                ("fuseau", "Europe/Paris"),
                ("territoire", "97600"),
                ("admin_nom", "Iris"),
                ("admin_courriel", "iris@exemple.fr"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        host.state
            .db
            .structure_by_slug("msp-iles")
            .await
            .unwrap()
            .is_none(),
        "the structure was created without audit"
    );
    assert!(
        host.state
            .db
            .account_by_login("iris@exemple.fr")
            .await
            .unwrap()
            .is_none(),
        "its admin was invited without audit"
    );

    // An invitation of a new person, then of an existing account.
    let (status, _, _) = admin
        .post_form(
            "/cpts-a/admin/invitations",
            &[
                ("courriel", "nadia@exemple.fr"),
                ("nom", "Nadia Nouvelle"),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        host.state
            .db
            .account_by_login("nadia@exemple.fr")
            .await
            .unwrap()
            .is_none(),
        "the person was invited without audit"
    );
    let (status, _, _) = admin
        .post_form(
            "/cpts-a/admin/invitations",
            &[
                ("courriel", "autre@cpts-b.fr"),
                ("nom", ""),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);

    // The invited account accepts its offer.
    let (status, _, _) = ines.post_form(&link, &[]).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        host.state
            .db
            .member(structure_id, invitee.id)
            .await
            .unwrap()
            .is_none(),
        "the offer was accepted without audit"
    );
    assert!(
        host.state
            .db
            .membership_offer(&secret)
            .await
            .unwrap()
            .is_some(),
        "the offer was spent without audit"
    );

    // The admin retries the mail and the event delivery given up.
    let (status, _, _) = admin
        .post_form(
            &format!("/cpts-a/admin/courriels/{}/relancer", mail.id),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let mail_status: String = sqlx::query_scalar("SELECT status FROM mail_outbox WHERE id = $1")
        .bind(mail.id)
        .fetch_one(host.state.db.pool())
        .await
        .unwrap();
    assert_eq!(mail_status, "failed", "the mail was retried without audit");
    let (status, _, _) = admin
        .post_form(
            &format!("/cpts-a/admin/evenements/{event_id}/listener/relancer"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let delivery_status: String = sqlx::query_scalar(
        "SELECT status FROM event_deliveries WHERE event_id = $1 AND plugin_id = 'listener'",
    )
    .bind(event_id)
    .fetch_one(host.state.db.pool())
    .await
    .unwrap();
    assert_eq!(
        delivery_status, "dead",
        "the delivery was retried without audit"
    );

    // Nothing of any of them is left: no account, offer, queued mail or structure.
    assert_eq!(
        count(&host, "SELECT COUNT(*) FROM mail_outbox").await,
        mails_before
    );
    assert_eq!(
        count(&host, "SELECT COUNT(*) FROM accounts").await,
        accounts_before
    );
    assert_eq!(
        count(&host, "SELECT COUNT(*) FROM membership_offers").await,
        offers_before
    );
    assert_eq!(
        count(&host, "SELECT COUNT(*) FROM structures").await,
        structures_before
    );

    // Once the log is back, the same actions go through, each with its entry.
    audit_log_available(&host, true).await;
    let (status, location, _) = ines.post_form(&link, &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/cpts-a/"));
    assert!(
        host.state
            .db
            .member(structure_id, invitee.id)
            .await
            .unwrap()
            .is_some()
    );
    let (status, _, _) = admin
        .post_form(
            &format!("/cpts-a/admin/evenements/{event_id}/listener/relancer"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, _) = ops
        .post_form(
            "/plateforme/structures",
            &[
                ("nom", "MSP des Îles"),
                ("slug", "msp-iles"),
                ("type", "msp"),
                ("fuseau", "Europe/Paris"),
                ("territoire", "97600"),
                ("admin_nom", "Iris"),
                ("admin_courriel", "iris@exemple.fr"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let msp = host
        .state
        .db
        .structure_by_slug("msp-iles")
        .await
        .unwrap()
        .expect("created");
    assert_eq!(msp.territory, "97600");
    assert_eq!(host.state.db.members(msp.id).await.unwrap().len(), 1);
    assert_eq!(
        count(&host, "SELECT COUNT(*) FROM audit_log").await,
        entries_before + 3
    );
}

/// `maillage ARGS… COMMON…`: a command on the installation that `COMMON` names.
async fn cli_with(common: &[String], args: &[&str]) -> Result<(), String> {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(common.iter().map(String::as_str));
    cli(&all).await
}

/// The operator's command line: `admin create-structure`, `enable-module`, `invite` and
/// `operator` write nothing when their audit entry cannot be written.
#[tokio::test]
async fn command_line_admin_actions_are_undone_with_their_audit_entry() {
    let dir = fresh_dir();
    let config = test_config(&dir);
    let mut common = vec!["--data-dir".to_string(), dir.display().to_string()];
    if let (Some(url), Some(schema)) = (&config.database_url, &config.database_schema) {
        common.extend(["--database-url".into(), url.clone()]);
        common.extend(["--database-schema".into(), schema.clone()]);
    }
    cli_with(
        &common,
        &[
            "admin",
            "create-structure",
            "--slug",
            "cpts-cli",
            "--name",
            "CPTS de la Ligne",
        ],
    )
    .await
    .unwrap();
    let host = Host::at(dir.clone()).await;
    let structure_id = host.structure_id("cpts-cli").await;
    let entries_before = count(&host, "SELECT COUNT(*) FROM audit_log").await;

    audit_log_available(&host, false).await;

    let err = cli_with(
        &common,
        &[
            "admin",
            "create-structure",
            "--slug",
            "cpts-fantome",
            "--name",
            "CPTS fantôme",
            "--territory",
            "74000",
        ],
    )
    .await
    .unwrap_err();
    assert!(err.contains("audit_log"), "{err}");
    assert!(
        host.state
            .db
            .structure_by_slug("cpts-fantome")
            .await
            .unwrap()
            .is_none(),
        "the structure was created without audit"
    );

    cli_with(
        &common,
        &[
            "admin",
            "enable-module",
            "--structure",
            "cpts-cli",
            "annuaire",
            "--grant",
            "all",
        ],
    )
    .await
    .unwrap_err();
    assert!(
        host.state
            .db
            .enabled_module(structure_id, "annuaire")
            .await
            .unwrap()
            .is_none(),
        "the module was enabled without audit"
    );

    cli_with(
        &common,
        &[
            "admin",
            "invite",
            "--structure",
            "cpts-cli",
            "--email",
            "nadia@exemple.fr",
            "--name",
            "Nadia Nouvelle",
        ],
    )
    .await
    .unwrap_err();
    assert!(
        host.state
            .db
            .account_by_login("nadia@exemple.fr")
            .await
            .unwrap()
            .is_none(),
        "the person was invited without audit"
    );
    assert_eq!(count(&host, "SELECT COUNT(*) FROM mail_outbox").await, 0);

    cli_with(&common, &["admin", "operator", "--email", "ops@exemple.fr"])
        .await
        .unwrap_err();
    assert!(
        host.state
            .db
            .account_by_login("ops@exemple.fr")
            .await
            .unwrap()
            .is_none(),
        "the operator was made without audit"
    );

    // Once the log is back, the module is enabled, with its entry.
    audit_log_available(&host, true).await;
    cli_with(
        &common,
        &[
            "admin",
            "enable-module",
            "--structure",
            "cpts-cli",
            "annuaire",
            "--grant",
            "all",
        ],
    )
    .await
    .unwrap();
    assert!(
        host.state
            .db
            .enabled_module(structure_id, "annuaire")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        count(&host, "SELECT COUNT(*) FROM audit_log").await,
        entries_before + 1
    );
    drop(host);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn simultaneous_referent_nominations_stop_at_three() {
    let host = Host::new().await;
    host.structure("cpts-a", &[]).await;
    host.account(
        "cpts-a",
        "coord@cpts-a.fr",
        "Coralie Coord",
        Role::Coordinator,
    )
    .await;
    let mut coordinator = signed_in(&host, "coord@cpts-a.fr").await;
    let group = create_group(&mut coordinator, "Soins non programmés").await;
    let second = host
        .account("cpts-a", "second@cpts-a.fr", "Serge Second", Role::Member)
        .await;
    let (status, _, _) = coordinator
        .post_form(
            &format!("/cpts-a/groupes/{group}/membre"),
            &[("personne", &second.id.to_string()), ("role", "referent")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let referents = "SELECT COUNT(*) FROM group_members WHERE role = 'referent'";
    assert_eq!(count(&host, referents).await, 2);

    let mut candidates = Vec::new();
    for n in 0..4 {
        let account = host
            .account(
                "cpts-a",
                &format!("candidat{n}@cpts-a.fr"),
                &format!("Candidat {n}"),
                Role::Member,
            )
            .await;
        candidates.push(account.id.to_string());
    }
    // Four tabs of the same coordinator, « nommer référent » in each at the same time.
    let mut tabs: Vec<Client<'_>> = (0..4)
        .map(|_| Client {
            host: &host,
            cookies: coordinator.cookies.clone(),
        })
        .collect();
    let uri = format!("/cpts-a/groupes/{group}/membre");
    let forms: Vec<[(&str, &str); 2]> = candidates
        .iter()
        .map(|id| [("personne", id.as_str()), ("role", "referent")])
        .collect();
    let answers = futures_util::future::join_all(
        tabs.iter_mut()
            .zip(&forms)
            .map(|(tab, form)| tab.post_form(&uri, form)),
    )
    .await;
    let statuses: Vec<StatusCode> = answers.iter().map(|a| a.0).collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::SEE_OTHER)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY)
            .count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(count(&host, referents).await, 3, "{statuses:?}");
}

// Item 8: metrics and health.

const TOKEN: &str = "jeton-de-supervision-tres-long";
const BEARER: &str = "Bearer jeton-de-supervision-tres-long";

async fn scrape(host: &Host, authorization: Option<&str>) -> (StatusCode, http::HeaderMap, String) {
    let mut request = Request::get("/metrics");
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    host.send(request.body(Body::empty()).unwrap()).await
}

/// The value of one series (`name{labels}`) in an exposition.
fn series(body: &str, name: &str) -> Option<f64> {
    body.lines().find_map(|line| {
        line.strip_prefix(name)
            .and_then(|rest| rest.strip_prefix(' '))
            .and_then(|value| value.trim().parse().ok())
    })
}

#[tokio::test]
async fn metrics_are_served_only_with_the_operator_token() {
    let host = Host::new().await;
    let (status, _, _) = scrape(&host, Some(BEARER)).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "no token configured: no metrics"
    );

    let host = Host::with_config(|c| c.metrics_token = Some(TOKEN.into())).await;
    let (status, headers, _) = scrape(&host, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
    let (status, _, body) = scrape(&host, Some("Bearer pas-le-bon-jeton")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!body.contains("maillage_"));
    let (status, _, _) = scrape(&host, Some(TOKEN)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the Bearer scheme is required"
    );
    let (status, headers, body) = scrape(&host, Some(BEARER)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{headers:?}"
    );
    assert!(body.contains("# TYPE maillage_http_requests_total counter"));
    assert!(body.contains("# TYPE maillage_http_request_duration_seconds histogram"));
}

#[tokio::test]
async fn metrics_count_requests_module_calls_faults_and_backlogs() {
    let host = Host::with_config(|c| {
        generous(c);
        c.metrics_token = Some(TOKEN.into());
    })
    .await;
    host.structure("cpts-a", &["polls", "faulty"]).await;
    let structure_id = host.structure_id("cpts-a").await;
    let mut member = host.member("cpts-a", Role::Member).await;
    let (status, _) = member.get("/cpts-a/polls/").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = member.get("/cpts-a/faulty/trap").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let (status, _) = member.get("/cpts-a/faulty/ok").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = member.get("/static/nulle-part.css").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A dead letter, an event not fanned out yet and a mail waiting (no sender runs here).
    let event_id: i64 = sqlx::query_scalar(
        "INSERT INTO event_outbox (idempotency_key, structure_id, source_plugin, topic, payload, created_at)
         VALUES ('metrics-test', $1, 'polls', 'poll.created', '{}', 0) RETURNING id",
    )
    .bind(structure_id)
    .fetch_one(host.state.db.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO event_deliveries (event_id, plugin_id, status, attempts, next_attempt_at) VALUES ($1, 'listener', 'dead', 8, 0)",
    )
    .bind(event_id)
    .execute(host.state.db.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO mail_outbox (structure_id, to_address, subject, body, status, next_attempt_at, created_at)
         VALUES ($1, 'quelquun@exemple.fr', 'Objet', 'Texte', 'pending', 0, 0)",
    )
    .bind(structure_id)
    .execute(host.state.db.pool())
    .await
    .unwrap();

    let (status, _, body) = scrape(&host, Some(BEARER)).await;
    assert_eq!(status, StatusCode::OK);
    let value =
        |name: &str| series(&body, name).unwrap_or_else(|| panic!("{name} missing:\n{body}"));
    assert!(value(r#"maillage_http_requests_total{kind="module",status="2xx"}"#) >= 2.0);
    assert!(value(r#"maillage_http_requests_total{kind="module",status="5xx"}"#) >= 1.0);
    assert!(value(r#"maillage_http_requests_total{kind="page",status="3xx"}"#) >= 1.0);
    assert!(value(r#"maillage_http_requests_total{kind="static",status="4xx"}"#) >= 1.0);
    assert!(
        value(r#"maillage_http_request_duration_seconds_bucket{kind="module",le="+Inf"}"#) >= 3.0
    );
    assert_eq!(
        value(r#"maillage_http_request_duration_seconds_bucket{kind="module",le="+Inf"}"#),
        value(r#"maillage_http_request_duration_seconds_count{kind="module"}"#)
    );
    assert!(value(r#"maillage_module_calls_total{module="polls",outcome="2xx"}"#) >= 1.0);
    assert_eq!(
        value(r#"maillage_module_calls_total{module="faulty",outcome="fault"}"#),
        1.0
    );
    assert_eq!(
        value(r#"maillage_module_faults_total{module="faulty",cause="trap"}"#),
        1.0
    );
    assert_eq!(value(r#"maillage_event_deliveries{status="dead"}"#), 1.0);
    assert!(value("maillage_events_awaiting_fan_out") >= 1.0);
    assert!(value(r#"maillage_mail_outbox{status="pending"}"#) >= 1.0);
    assert_eq!(value(r#"maillage_mail_outbox{status="failed"}"#), 0.0);
    assert!(value(r#"maillage_db_pool_connections{state="idle"}"#) >= 0.0);
    assert!(value("maillage_db_pool_max_connections") >= 1.0);
}

#[tokio::test]
async fn readiness_follows_the_database_and_the_blob_store() {
    let host = Host::new().await;
    let get = |path: &'static str| {
        let request = Request::get(path).body(Body::empty()).unwrap();
        host.send(request)
    };
    let (status, _, body) = get("/healthz").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
    let (status, _, body) = get("/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The blob folder replaced by a file: the store cannot be read.
    let blobs = host.dir.join("blobs");
    std::fs::remove_dir_all(&blobs).unwrap();
    std::fs::write(&blobs, b"not a folder").unwrap();
    let (status, _, body) = get("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("blob store"), "{body}");
    std::fs::remove_file(&blobs).unwrap();
    std::fs::create_dir_all(&blobs).unwrap();
    let (status, _, body) = get("/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The database gone: not ready, though alive.
    host.state.db.pool().close().await;
    let (status, _, body) = get("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("database"), "{body}");
    let (status, _, body) = get("/healthz").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
}

// Item 9: backups and the migration to PostgreSQL.

#[tokio::test]
async fn an_online_backup_keeps_every_acknowledged_write_and_restores() {
    if on_postgres() {
        // PostgreSQL installations are backed up with pg_dump and the bucket: the
        // command refuses and says how. The rest of this test is about SQLite.
        let dir = fresh_dir();
        let config = test_config(&dir);
        let mut args = vec![
            "backup".to_string(),
            "--to".into(),
            fresh_dir().display().to_string(),
            "--data-dir".into(),
            dir.display().to_string(),
        ];
        if let (Some(url), Some(schema)) = (&config.database_url, &config.database_schema) {
            args.extend(["--database-url".into(), url.clone()]);
            args.extend(["--database-schema".into(), schema.clone()]);
        }
        let error = cli(&strs(&args)).await.unwrap_err();
        assert!(error.contains("pg_dump"), "{error}");
        return;
    }
    let host = Host::with_config(generous).await;
    host.structure("cpts-a", &["polls"]).await;
    let structure_id = host.structure_id("cpts-a").await;
    host.account("cpts-a", "auteur@cpts-a.fr", "Ana Auteur", Role::Member)
        .await;
    let mut author = signed_in(&host, "auteur@cpts-a.fr").await;
    let poll = create_poll(&mut author, "Réunion de bureau").await;
    let scope = PluginScope {
        structure_id,
        plugin_id: "polls".into(),
    };
    let blob = {
        let mut conn = host.state.db.pool().acquire().await.unwrap();
        host.state
            .blobs
            .put(
                &mut conn,
                &scope,
                "compte-rendu.txt",
                "text/plain",
                Bytes::from_static(b"Compte rendu du bureau"),
            )
            .await
            .unwrap()
    };

    // Write load: accounts created one after another for as long as the backup runs.
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let db = host.state.db.clone();
        let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                db.create_account(
                    &format!("charge{n}@cpts-a.fr"),
                    None,
                    &format!("Charge {n}"),
                )
                .await
                .expect("writes go on during the backup");
                n += 1;
                acknowledged.store(n, Ordering::SeqCst);
                tokio::task::yield_now().await;
            }
            n
        })
    };
    while acknowledged.load(Ordering::SeqCst) < 20 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let before = acknowledged.load(Ordering::SeqCst);
    let backup_dir = fresh_dir();
    let mut args = vec![
        "backup".to_string(),
        "--to".into(),
        backup_dir.display().to_string(),
    ];
    args.extend(sqlite_args(&host.dir));
    cli(&strs(&args)).await.unwrap();
    let during = acknowledged.load(Ordering::SeqCst);
    while acknowledged.load(Ordering::SeqCst) < during + 5 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    stop.store(true, Ordering::SeqCst);
    let written = writer.await.unwrap();
    assert!(written > before);
    assert!(backup_dir.join("maillage-backup.json").is_file());
    // A second backup into the same folder is refused.
    assert!(cli(&strs(&args)).await.unwrap_err().contains("not empty"));

    // Restore into a new folder; a folder that is not empty needs --force.
    let restored_dir = fresh_dir();
    let mut restore = vec![
        "restore".to_string(),
        "--from".into(),
        backup_dir.display().to_string(),
    ];
    restore.extend(sqlite_args(&restored_dir));
    cli(&strs(&restore)).await.unwrap();
    let error = cli(&strs(&restore)).await.unwrap_err();
    assert!(error.contains("not empty"), "{error}");
    restore.push("--force".into());
    cli(&strs(&restore)).await.unwrap();

    let dir = restored_dir.clone();
    let restored = Host::with_config(move |c| {
        generous(c);
        c.data_dir = dir;
    })
    .await;
    let emails: Vec<String> = sqlx::query_scalar("SELECT email FROM accounts")
        .fetch_all(restored.state.db.pool())
        .await
        .unwrap();
    for n in 0..before {
        assert!(
            emails.contains(&format!("charge{n}@cpts-a.fr")),
            "account {n}, acknowledged before the backup began, is missing ({before} acknowledged then, {during} when it ended)"
        );
    }
    // The module's records, its package and the files are back with the database.
    let mut author = signed_in(&restored, "auteur@cpts-a.fr").await;
    let (status, page) = author.get(&poll).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Réunion de bureau"), "{page}");
    let mut conn = restored.state.db.pool().acquire().await.unwrap();
    let content = restored
        .state
        .blobs
        .get(&mut conn, &scope, &blob.id)
        .await
        .unwrap()
        .expect("the blob is restored");
    assert_eq!(&content[..], b"Compte rendu du bureau");
    drop(conn);
    drop(restored);
    let _ = std::fs::remove_dir_all(&backup_dir);
    let _ = std::fs::remove_dir_all(&restored_dir);
}

#[tokio::test]
async fn an_sqlite_installation_migrates_into_postgresql() {
    if !on_postgres() {
        // The target is the PostgreSQL server, which the PostgreSQL run of the suite
        // provides; this run has none to write into.
        return;
    }
    let source = Host::with_config(|c| {
        generous(c);
        c.database_url = None;
        c.database_schema = None;
    })
    .await;
    source.structure("cpts-a", &["polls"]).await;
    source
        .account(
            "cpts-a",
            "coord@cpts-a.fr",
            "Coralie Coord",
            Role::Coordinator,
        )
        .await;
    let membre = source
        .account("cpts-a", "membre@cpts-a.fr", "Marc Membre", Role::Member)
        .await;
    // The fiche membre (a flag column, an identity column) and a module role.
    let structure_id = source.structure_id("cpts-a").await;
    let mut conn = source.state.db.pool().acquire().await.unwrap();
    maillage::people::set_facts(
        &mut conn,
        structure_id,
        membre.id,
        Some("Infirmier"),
        maillage::people::ExerciseMode::Salarie,
        true,
        1,
    )
    .await
    .unwrap();
    let adhesion =
        maillage::people::add_adhesion(&mut conn, structure_id, membre.id, "2025-01-01", None, 1)
            .await
            .unwrap();
    maillage::people::set_module_role(
        &mut conn,
        structure_id,
        membre.id,
        "polls",
        "tresorier",
        true,
        membre.id,
        1,
    )
    .await
    .unwrap();
    drop(conn);
    let mut coordinator = signed_in(&source, "coord@cpts-a.fr").await;
    let group = create_group(&mut coordinator, "Parcours insuffisance cardiaque").await;
    let poll = create_poll(&mut coordinator, "Réunion plénière").await;

    let folder = source
        .dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap()
        .replace('-', "_");
    let schema = format!("t_{folder}_migre");
    let url = postgres_url();
    let mut args = vec![
        "migrate".to_string(),
        "--to".into(),
        url.clone(),
        "--to-schema".into(),
        schema.clone(),
    ];
    args.extend(sqlite_args(&source.dir));
    cli(&strs(&args)).await.unwrap();
    // Into a target that holds data: refused.
    let error = cli(&strs(&args)).await.unwrap_err();
    assert!(error.contains("not empty"), "{error}");

    let dir = source.dir.clone();
    let target = Host::with_config(move |c| {
        generous(c);
        c.data_dir = dir;
        c.database_url = Some(url);
        c.database_schema = Some(schema);
    })
    .await;
    for table in [
        "structures",
        "accounts",
        "memberships",
        "sessions",
        "work_groups",
        "group_members",
        "audit_log",
        "structure_modules",
        "plugin_packages",
        "event_outbox",
        "c_polls__polls",
        "member_facts",
        "member_adhesions",
        "module_roles",
    ] {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let (before, after) = (count(&source, &sql).await, count(&target, &sql).await);
        assert!(
            before > 0 || table == "event_outbox",
            "{table} is empty in the source"
        );
        assert_eq!(before, after, "{table}");
    }

    // Read back through the PostgreSQL host: the same password, group and poll.
    let mut coordinator = signed_in(&target, "coord@cpts-a.fr").await;
    let (status, page) = coordinator.get(&poll).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Réunion plénière"), "{page}");
    let (status, page) = coordinator.get(&format!("/cpts-a/groupes/{group}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Parcours insuffisance cardiaque"));
    // Generated ids continue after the copied ones (a new group, account, poll, event).
    let new_group = create_group(&mut coordinator, "Groupe créé après la migration").await;
    assert!(new_group > group);
    create_poll(&mut coordinator, "Sondage après la migration").await;
    let account = target
        .state
        .db
        .create_account("nouvelle@cpts-a.fr", None, "Nina Nouvelle")
        .await
        .unwrap();
    let largest: i64 =
        sqlx::query_scalar("SELECT MAX(id) FROM accounts WHERE email <> 'nouvelle@cpts-a.fr'")
            .fetch_one(target.state.db.pool())
            .await
            .unwrap();
    assert!(account.id > largest);
    // The fiche membre reads back the same, and new adhesion ids follow the copied ones.
    let mut conn = target.state.db.pool().acquire().await.unwrap();
    let facts = maillage::people::facts(&mut conn, structure_id, membre.id)
        .await
        .unwrap()
        .expect("an active member");
    assert_eq!(facts.profession.as_deref(), Some("Infirmier"));
    assert_eq!(facts.exercise_mode, maillage::people::ExerciseMode::Salarie);
    assert!(facts.employer_convention);
    assert_eq!(facts.adhesions.len(), 1);
    assert_eq!(
        maillage::people::module_roles(&mut conn, structure_id, membre.id, "polls")
            .await
            .unwrap(),
        ["tresorier"]
    );
    let next =
        maillage::people::add_adhesion(&mut conn, structure_id, membre.id, "2026-01-01", None, 2)
            .await
            .unwrap();
    assert!(next > adhesion);
}
