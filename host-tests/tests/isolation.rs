//! The isolation matrix: every route × every role × (own structure, other structure).
//! Nothing of another structure is ever shown, and no request changes it; inside its
//! own structure each role gets exactly the pages its role allows.

use http::StatusCode;
use maillage::tenancy::Role;

use crate::support::{Client, Host, PASSWORD};

/// Marker present in every piece of structure B's data.
const SECRET: &str = "SECRET-B";

/// Ids of structure B's data, to aim requests at.
struct Target {
    poll: String,
    group: i64,
    person: i64,
    request: i64,
    mail: i64,
    /// A professional of B's directory.
    professional: String,
}

/// Structure B filled with marked data: a member, a closed group with a pending join
/// request, a poll, an invitation mail.
async fn seed_b(host: &Host) -> Target {
    let b = host.structure_id("cpts-b").await;
    let db = &host.state.db;
    let person = host
        .account(
            "cpts-b",
            "secret-b@exemple.fr",
            &format!("{SECRET}-PERSONNE"),
            Role::Admin,
        )
        .await;
    let asker = host
        .account(
            "cpts-b",
            "asker-b@exemple.fr",
            &format!("{SECRET}-DEMANDEUR"),
            Role::Member,
        )
        .await;
    let group = db
        .create_group(b, &format!("{SECRET}-GROUPE"), SECRET, false, person.id)
        .await
        .unwrap();
    let g = db.group(b, group, person.id).await.unwrap().unwrap();
    db.request_join(&g, asker.id, SECRET).await.unwrap();
    let request = db.pending_requests(group).await.unwrap()[0].id;
    let mail = host
        .state
        .mailer
        .enqueue(
            Some(b),
            "secret-b@exemple.fr",
            &format!("{SECRET}-COURRIEL"),
            SECRET,
        )
        .await
        .unwrap();
    let mut c = Client::new(host);
    c.login("secret-b@exemple.fr", PASSWORD).await;
    let (status, location, _) = c
        .post_form(
            "/cpts-b/polls/new",
            &[
                ("title", &format!("{SECRET}-SONDAGE")),
                ("slot", "2026-12-03T20:00"),
                ("slot", "2026-12-04T20:00"),
                ("deadline", crate::support::POLL_DEADLINE.as_str()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let poll = location.unwrap().rsplit('/').next().unwrap().to_string();
    // B's directory: a professional with a status, a private note, a linked account.
    let structure = host.state.db.structure(b).await.unwrap().unwrap();
    let extract = crate::directory::extract(&[crate::directory::line(
        "19999999999",
        (&format!("{SECRET}-NOM"), "Prénom"),
        crate::directory::MEDECIN,
        "",
        "74000",
        "secret-b-pro@exemple.fr",
    )]);
    crate::directory::import(host, &structure, extract.as_bytes())
        .await
        .unwrap();
    let (_, page) = c.get("/cpts-b/annuaire/").await;
    let professional = crate::directory::professional_id(&page, &format!("Prénom {SECRET}-NOM"));
    for (route, field, value) in [
        ("statut", "statut", "adherent".to_string()),
        ("note", "note", format!("{SECRET}-NOTE")),
    ] {
        let (status, _, _) = c
            .post_form(
                &format!("/cpts-b/annuaire/p/{professional}/{route}"),
                &[(field, &value)],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
    }
    c.post_form("/cpts-b/annuaire/ma-fiche/lien", &[("rpps", "19999999999")])
        .await;
    Target {
        poll,
        group,
        person: person.id,
        request,
        mail,
        professional,
    }
}

/// Everything structure B is made of, as rows: any change shows up here.
async fn snapshot_b(host: &Host) -> Vec<String> {
    let b = host.structure_id("cpts-b").await;
    let queries = [
        "SELECT name || '|' || time_zone || '|' || territory FROM structures WHERE id = $1",
        "SELECT account_id || '|' || role || '|' || directory_manager FROM memberships WHERE structure_id = $1 ORDER BY account_id",
        "SELECT id || '|' || name || '|' || open || '|' || archived FROM work_groups WHERE structure_id = $1 ORDER BY id",
        "SELECT group_id || '|' || account_id || '|' || role FROM group_members WHERE group_id IN (SELECT id FROM work_groups WHERE structure_id = $1) ORDER BY 1",
        "SELECT id || '|' || status FROM group_join_requests WHERE group_id IN (SELECT id FROM work_groups WHERE structure_id = $1) ORDER BY id",
        "SELECT plugin_id || '|' || version || '|' || granted FROM structure_modules WHERE structure_id = $1 ORDER BY plugin_id",
        "SELECT collection || '|' || doc_id || '|' || value FROM plugin_documents WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_title || '|' || COALESCE(f_group_id, '') FROM c_polls__polls WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_poll || '|' || f_participant || '|' || f_choices FROM c_polls__answers WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || name FROM blobs WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_rpps_id || '|' || f_status || '|' || COALESCE(f_user_id, '') || '|' || f_seen_in FROM c_annuaire__professionals WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_text FROM c_annuaire__notes WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_to_status FROM c_annuaire__status_history WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_kind FROM c_annuaire__fiches WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || f_number FROM c_annuaire__imports WHERE structure_id = $1 ORDER BY 1",
        "SELECT id || '|' || status || '|' || attempts FROM mail_outbox WHERE structure_id = $1 ORDER BY id",
        "SELECT CAST(count(*) AS TEXT) FROM audit_log WHERE structure_id = $1",
        "SELECT CAST(count(*) AS TEXT) FROM event_outbox WHERE structure_id = $1",
        "SELECT event_id || '|' || plugin_id || '|' || status || '|' || attempts FROM event_deliveries WHERE event_id IN (SELECT id FROM event_outbox WHERE structure_id = $1) ORDER BY 1",
    ];
    let mut rows = Vec::new();
    for q in queries {
        let found: Vec<String> = sqlx::query_scalar(q)
            .bind(b)
            .fetch_all(host.state.db.pool())
            .await
            .unwrap();
        rows.push(format!("{q} => {found:?}"));
    }
    rows
}

/// GET routes of a structure with the least role that may see them.
fn get_routes(slug: &str, t: &Target) -> Vec<(String, Role)> {
    let base = format!("/{slug}");
    vec![
        (format!("{base}/"), Role::Member),
        (format!("{base}/groupes/"), Role::Member),
        (format!("{base}/polls/"), Role::Member),
        (format!("{base}/polls/new"), Role::Member),
        (format!("{base}/polls/p/{}", t.poll), Role::Member),
        (format!("{base}/groupes/{}", t.group), Role::Coordinator),
        (format!("{base}/admin/"), Role::Admin),
        (format!("{base}/admin/modules"), Role::Admin),
        (format!("{base}/admin/structure"), Role::Admin),
        (format!("{base}/admin/journal"), Role::Admin),
        (format!("{base}/admin/courriels"), Role::Admin),
        (format!("{base}/admin/evenements"), Role::Admin),
    ]
}

/// The directory's pages of a structure, aimed at B's professional.
fn directory_get_routes(slug: &str, t: &Target) -> Vec<String> {
    let base = format!("/{slug}/annuaire");
    vec![
        format!("{base}/"),
        format!("{base}/p/{}", t.professional),
        format!("{base}/ma-fiche"),
        format!("{base}/mon-compte"),
        format!("{base}/import"),
        format!("{base}/communication"),
        format!("{base}/?departs=1"),
    ]
}

/// State-changing routes aimed at structure B's data, with plausible fields.
fn post_routes(t: &Target) -> Vec<(String, Vec<(&'static str, String)>)> {
    let b = "/cpts-b";
    let f = |pairs: &[(&'static str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (*k, v.to_string()))
            .collect::<Vec<_>>()
    };
    vec![
        (
            format!("{b}/admin/invitations"),
            f(&[
                ("nom", "Intrus"),
                ("courriel", "intrus@exemple.fr"),
                ("role", "admin"),
            ]),
        ),
        (
            format!("{b}/admin/membres/{}", t.person),
            f(&[("role", "member")]),
        ),
        (format!("{b}/admin/membres/{}/retirer", t.person), vec![]),
        (format!("{b}/admin/membres/{}/relancer", t.person), vec![]),
        (
            format!("{b}/admin/modules/polls"),
            f(&[("action", "desactiver")]),
        ),
        (
            format!("{b}/admin/structure"),
            f(&[
                ("nom", "Piratée"),
                ("fuseau", "Europe/Paris"),
                ("territoire", ""),
            ]),
        ),
        (format!("{b}/admin/courriels/{}/relancer", t.mail), vec![]),
        (format!("{b}/admin/evenements/1/polls/relancer"), vec![]),
        (
            format!("{b}/groupes/"),
            f(&[("nom", "Intrusion"), ("visibilite", "ouvert")]),
        ),
        (
            format!("{b}/groupes/{}/demande", t.group),
            f(&[("message", "x")]),
        ),
        (
            format!("{b}/groupes/{}/membre", t.group),
            f(&[("personne", "1"), ("role", "referent")]),
        ),
        (
            format!("{b}/groupes/{}/archiver", t.group),
            f(&[("archive", "1")]),
        ),
        (
            format!("{b}/groupes/{}/demandes/{}/accepter", t.group, t.request),
            vec![],
        ),
        (
            format!("{b}/polls/new"),
            f(&[
                ("title", "Intrusion"),
                ("slot", "2026-12-03T20:00"),
                ("slot", "2026-12-04T20:00"),
                ("deadline", crate::support::POLL_DEADLINE.as_str()),
            ]),
        ),
        (
            format!("{b}/polls/p/{}/answer", t.poll),
            f(&[("name", "Intrus"), ("c-s1", "oui"), ("c-s2", "oui")]),
        ),
        (
            format!("{b}/annuaire/p/{}/statut", t.professional),
            f(&[("statut", "refus")]),
        ),
        (
            format!("{b}/annuaire/p/{}/note", t.professional),
            f(&[("note", "Intrus")]),
        ),
        (
            format!("{b}/annuaire/ma-fiche/lien"),
            f(&[("rpps", "19999999999")]),
        ),
        (format!("{b}/annuaire/ma-fiche/pro"), f(&[("phone", "0")])),
        (format!("{b}/annuaire/p/{}/delier", t.professional), vec![]),
        (format!("{b}/annuaire/import/apply"), vec![]),
        (format!("{b}/imports/annuaire"), vec![]),
        // B's ids through A's own URLs.
        (
            format!("/cpts-a/admin/membres/{}", t.person),
            f(&[("role", "member")]),
        ),
        (
            format!("/cpts-a/admin/membres/{}/retirer", t.person),
            vec![],
        ),
        (
            format!("/cpts-a/admin/courriels/{}/relancer", t.mail),
            vec![],
        ),
        (
            format!("/cpts-a/groupes/{}/archiver", t.group),
            f(&[("archive", "1")]),
        ),
        (
            format!(
                "/cpts-a/groupes/{}/demandes/{}/accepter",
                t.group, t.request
            ),
            vec![],
        ),
        (
            format!("/cpts-a/polls/p/{}/answer", t.poll),
            f(&[("name", "Intrus"), ("c-s1", "oui"), ("c-s2", "oui")]),
        ),
        (
            format!("/cpts-a/annuaire/p/{}/statut", t.professional),
            f(&[("statut", "refus")]),
        ),
        (
            format!("/cpts-a/annuaire/p/{}/note", t.professional),
            f(&[("note", "Intrus")]),
        ),
        (
            format!("/cpts-a/annuaire/p/{}/delier", t.professional),
            vec![],
        ),
    ]
}

#[tokio::test]
async fn no_route_shows_or_changes_another_structure() {
    let host = Host::new().await;
    crate::directory::directory_structure(&host, "cpts-a", "74000").await;
    crate::directory::directory_structure(&host, "cpts-b", "74000").await;
    for slug in ["cpts-a", "cpts-b"] {
        let id = host.structure_id(slug).await;
        let plugin = host
            .state
            .registry
            .install(&crate::support::wasm("polls"))
            .await
            .unwrap();
        let m = plugin.manifest();
        let granted: Vec<String> = m.capabilities.iter().map(|c| c.to_string()).collect();
        host.state
            .db
            .enable_module(id, &m.id, &m.version.to_string(), &granted)
            .await
            .unwrap();
    }
    let target = seed_b(&host).await;
    let before = snapshot_b(&host).await;

    // Structure A's people, one per role, plus an anonymous visitor and an operator
    // who belongs to no structure.
    let mut actors: Vec<(String, Client<'_>)> = vec![("anonyme".into(), Client::new(&host))];
    for role in [Role::Member, Role::Coordinator, Role::Admin] {
        actors.push((
            format!("{} de A", role.as_str()),
            host.member("cpts-a", role).await,
        ));
    }
    let ops = host
        .state
        .db
        .create_account("ops@exemple.fr", None, "Ops")
        .await
        .unwrap();
    host.state.db.set_password(ops.id, PASSWORD).await.unwrap();
    host.state
        .db
        .set_platform_operator(ops.id, true)
        .await
        .unwrap();
    let mut operator = Client::new(&host);
    operator.login("ops@exemple.fr", PASSWORD).await;
    actors.push(("opérateur".into(), operator));

    let mut checked = 0;
    for (who, client) in &mut actors {
        for (route, _) in get_routes("cpts-b", &target) {
            let (status, location, body) = client.get_full(&route).await;
            assert!(!body.contains(SECRET), "{who} saw B's data at {route}");
            if who == "anonyme" {
                assert_eq!(status, StatusCode::SEE_OTHER, "{who} GET {route}");
                assert!(
                    location.unwrap().starts_with("/connexion"),
                    "{who} GET {route}"
                );
            } else {
                assert_eq!(status, StatusCode::NOT_FOUND, "{who} GET {route}");
            }
            checked += 1;
        }
        for route in directory_get_routes("cpts-b", &target) {
            let (status, _, body) = client.get_full(&route).await;
            assert!(!body.contains(SECRET), "{who} saw B's data at {route}");
            let expected = if who == "anonyme" {
                StatusCode::SEE_OTHER
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(status, expected, "{who} GET {route}");
            checked += 1;
        }
        for route in directory_get_routes("cpts-a", &target) {
            let (_, body) = client.get(&route).await;
            assert!(!body.contains(SECRET), "{who} saw B's data at {route}");
            checked += 1;
        }
        // A's own pages never list B's data either.
        for (route, _) in get_routes("cpts-a", &target) {
            let (_, body) = client.get(&route).await;
            assert!(!body.contains(SECRET), "{who} saw B's data at {route}");
            checked += 1;
        }
        for (route, fields) in post_routes(&target) {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, _, body) = client.post_form(&route, &fields).await;
            assert!(!body.contains(SECRET), "{who} saw B's data posting {route}");
            assert!(
                matches!(
                    status,
                    StatusCode::NOT_FOUND | StatusCode::SEE_OTHER | StatusCode::FORBIDDEN
                ),
                "{who} POST {route}: {status}"
            );
            if status == StatusCode::SEE_OTHER {
                // Only the login redirect of an anonymous visitor is acceptable.
                assert_eq!(who, "anonyme", "{who} POST {route} was accepted");
            }
            checked += 1;
        }
    }
    assert_eq!(snapshot_b(&host).await, before, "structure B was changed");
    assert!(checked > 150, "{checked} requests checked");
}

#[tokio::test]
async fn inside_its_structure_each_role_gets_exactly_its_pages() {
    let host = Host::new().await;
    host.structure("cpts-a", &["polls"]).await;
    let mut coordinator = host.member("cpts-a", Role::Coordinator).await;
    let (_, location, _) = coordinator
        .post_form(
            "/cpts-a/groupes/",
            &[("nom", "Groupe fermé"), ("visibilite", "ferme")],
        )
        .await;
    let group: i64 = location
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let (_, location, _) = coordinator
        .post_form(
            "/cpts-a/polls/new",
            &[
                ("title", "Sondage A"),
                ("slot", "2026-12-03T20:00"),
                ("slot", "2026-12-04T20:00"),
                ("deadline", crate::support::POLL_DEADLINE.as_str()),
            ],
        )
        .await;
    let poll = location.unwrap().rsplit('/').next().unwrap().to_string();
    let target = Target {
        poll,
        group,
        person: 0,
        request: 0,
        mail: 0,
        professional: String::new(),
    };

    for role in [Role::Member, Role::Coordinator, Role::Admin] {
        let mut client = host.member("cpts-a", role).await;
        for (route, least) in get_routes("cpts-a", &target) {
            let (status, body) = client.get(&route).await;
            let expected = if role >= least {
                StatusCode::OK
            } else if route.contains("/groupes/") {
                // A closed group does not exist for those outside it.
                StatusCode::NOT_FOUND
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(status, expected, "{} GET {route}", role.as_str());
            if status == StatusCode::FORBIDDEN {
                assert!(body.contains("Accès refusé"));
            }
        }
        // The admin entry of the navigation shows only to admins.
        let (_, home) = client.get("/cpts-a/").await;
        assert_eq!(
            home.contains("href=\"/cpts-a/admin/\""),
            role == Role::Admin,
            "{}",
            role.as_str()
        );
    }
}
