//! Structure and platform administration: groups and their rules, groups seen by a
//! plugin through WIT, module enabling with versions and capability grants, package
//! upload by the platform operator, roles, and the audit log of each action.

use http::StatusCode;
use maillage::tenancy::Role;

use crate::support::{Client, Host, PASSWORD, wasm};

/// The group id a creation redirected to.
fn group_id(location: &str) -> String {
    location.rsplit('/').next().unwrap().to_string()
}

#[tokio::test]
async fn groups_referents_join_requests_and_closed_visibility() {
    let host = Host::new().await;
    host.structure("cpts-a", &["polls"]).await;
    let mut coordinator = host.member("cpts-a", Role::Coordinator).await;
    let mut member = host.member("cpts-a", Role::Member).await;

    // Members cannot create groups; coordinators can, and become référent.
    let (status, _, _) = member
        .post_form(
            "/cpts-a/groupes/",
            &[("nom", "Pirate"), ("visibilite", "ouvert")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, location, _) = coordinator
        .post_form(
            "/cpts-a/groupes/",
            &[
                ("nom", "Parcours BPCO"),
                ("description", "Projet de santé"),
                ("visibilite", "ouvert"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let open_group = group_id(&location.unwrap());
    let (status, _, page) = coordinator
        .post_form(
            "/cpts-a/groupes/",
            &[("nom", "Parcours BPCO"), ("visibilite", "ouvert")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Un groupe porte déjà ce nom."));
    let (_, location, _) = coordinator
        .post_form(
            "/cpts-a/groupes/",
            &[("nom", "Bureau restreint"), ("visibilite", "ferme")],
        )
        .await;
    let closed_group = group_id(&location.unwrap());

    // A closed group does not exist for a member outside it.
    let (_, list) = member.get("/cpts-a/groupes/").await;
    assert!(list.contains("Parcours BPCO") && !list.contains("Bureau restreint"));
    assert_eq!(
        member
            .get(&format!("/cpts-a/groupes/{closed_group}"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (s, _, _) = member
        .post_form(&format!("/cpts-a/groupes/{closed_group}/demande"), &[])
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Join request → approved by the référent → membre actif.
    let (status, page) = member.get(&format!("/cpts-a/groupes/{open_group}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Demander à rejoindre"));
    member
        .post_form(
            &format!("/cpts-a/groupes/{open_group}/demande"),
            &[("message", "Je suis pneumologue")],
        )
        .await;
    let (_, page) = coordinator
        .get(&format!("/cpts-a/groupes/{open_group}"))
        .await;
    assert!(page.contains("« Je suis pneumologue »"));
    let request_id: String = page
        .split("/demandes/")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    // The member cannot decide their own request.
    let (s, _, _) = member
        .post_form(
            &format!("/cpts-a/groupes/{open_group}/demandes/{request_id}/accepter"),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = coordinator
        .post_form(
            &format!("/cpts-a/groupes/{open_group}/demandes/{request_id}/accepter"),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, page) = member.get(&format!("/cpts-a/groupes/{open_group}")).await;
    assert!(page.contains("Membre actif") && !page.contains("Demander à rejoindre"));

    // 1 to 3 référents.
    let gid: i64 = open_group.parse().unwrap();
    let coordinator_id = host.state.db.group_members(gid).await.unwrap()[0].account_id;
    let (s, _, page) = coordinator
        .post_form(
            &format!("/cpts-a/groupes/{open_group}/membre"),
            &[
                ("personne", &coordinator_id.to_string()),
                ("role", "active"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Un groupe doit garder au moins un référent."));
    for n in 0..2 {
        host.account(
            "cpts-a",
            &format!("renfort{n}@exemple.fr"),
            &format!("Renfort {n}"),
            Role::Member,
        )
        .await;
    }
    let members = host
        .state
        .db
        .members(host.structure_id("cpts-a").await)
        .await
        .unwrap();
    let others: Vec<i64> = members
        .iter()
        .map(|m| m.account_id)
        .filter(|id| *id != coordinator_id)
        .take(3)
        .collect();
    let mut statuses = Vec::new();
    for id in &others {
        let (s, _, _) = coordinator
            .post_form(
                &format!("/cpts-a/groupes/{open_group}/membre"),
                &[("personne", &id.to_string()), ("role", "referent")],
            )
            .await;
        statuses.push(s);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::SEE_OTHER,
            StatusCode::SEE_OTHER,
            StatusCode::UNPROCESSABLE_ENTITY
        ]
    );

    // Plugins see groups through WIT: the polls form offers readable groups only.
    let (_, form) = member.get("/cpts-a/polls/new").await;
    assert!(form.contains("Parcours BPCO") && !form.contains("Bureau restreint"));
    let (s, _, page) = member
        .post_form(
            "/cpts-a/polls/new",
            &[
                ("title", "Réunion"),
                ("group", &closed_group),
                ("slot", "2026-12-03T20:00"),
                ("slot", "2026-12-04T20:00"),
                ("deadline", crate::support::POLL_DEADLINE.as_str()),
            ],
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a closed group cannot be named by an outsider"
    );
    assert!(page.contains("ne vous est pas accessible"));
    let (s, location, _) = member
        .post_form(
            "/cpts-a/polls/new",
            &[
                ("title", "Réunion BPCO"),
                ("group", &open_group),
                ("slot", "2026-12-03T20:00"),
                ("slot", "2026-12-04T20:00"),
                ("deadline", crate::support::POLL_DEADLINE.as_str()),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let poll_url = location.unwrap();
    let (_, poll) = member.get(&poll_url).await;
    assert!(poll.contains("Groupe concerné : Parcours BPCO"));
    // Group members come from the host (WIT groups.members / is-referent): who has not
    // answered yet, and whether the viewer leads the group.
    let mut outsider = host.member("cpts-a", Role::Member).await;
    let (_, poll) = outsider.get(&poll_url).await;
    assert!(
        poll.contains("En attente de réponse : Coordinateur"),
        "{poll}"
    );
    assert!(!poll.contains("Vous êtes référent"));
    let (_, poll) = coordinator.get(&poll_url).await;
    assert!(poll.contains("Vous êtes référent de ce groupe"));
    coordinator
        .post_form(
            &format!("{poll_url}/answer"),
            &[("c-s1", "oui"), ("c-s2", "oui")],
        )
        .await;
    member
        .post_form(
            &format!("{poll_url}/answer"),
            &[("c-s1", "non"), ("c-s2", "oui")],
        )
        .await;
    let (_, poll) = outsider.get(&poll_url).await;
    assert!(
        poll.contains("En attente de réponse : Renfort 0</p>"),
        "{poll}"
    );
    let (_, form) = coordinator.get("/cpts-a/polls/new").await;
    assert!(
        form.contains("Bureau restreint"),
        "coordinators read closed groups"
    );

    // Archiving, and the audit trail of all of it.
    let (s, _, _) = coordinator
        .post_form(
            &format!("/cpts-a/groupes/{open_group}/archiver"),
            &[("archive", "1")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, list) = member.get("/cpts-a/groupes/").await;
    assert!(list.contains("Archivé"));
    let (_, form) = member.get("/cpts-a/polls/new").await;
    assert!(
        !form.contains("Parcours BPCO"),
        "archived groups are not offered"
    );
    let actions: Vec<String> = host
        .state
        .db
        .audit_entries(Some(host.structure_id("cpts-a").await), 50)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for expected in [
        "group.create",
        "group.request.approve",
        "group.member",
        "group.archive",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }
}

#[tokio::test]
async fn admins_enable_modules_pick_versions_and_grant_capabilities() {
    let host = Host::new().await;
    host.structure("cpts-a", &[]).await;
    host.state.registry.install(&wasm("polls")).await.unwrap();
    host.state
        .registry
        .install(&wasm("fixture_legacy_wit"))
        .await
        .unwrap();
    let mut admin = host.member("cpts-a", Role::Admin).await;
    let mut coordinator = host.member("cpts-a", Role::Coordinator).await;

    assert_eq!(
        coordinator.get("/cpts-a/admin/modules").await.0,
        StatusCode::FORBIDDEN
    );
    let (s, page) = admin.get("/cpts-a/admin/modules").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("Sondages de date") && page.contains("Stocker ses données"));
    assert!(page.contains("Lire les groupes et les membres"));
    assert_eq!(admin.get("/cpts-a/polls/").await.0, StatusCode::NOT_FOUND);

    // A version that is not installed, or a capability the module never asked for: refused.
    let (s, _, page) = admin
        .post_form(
            "/cpts-a/admin/modules/polls",
            &[
                ("action", "activer"),
                ("version", "9.9.9"),
                ("autorisation", "storage"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("n’est pas installée"));
    let (s, _, page) = admin
        .post_form(
            "/cpts-a/admin/modules/polls",
            &[
                ("action", "activer"),
                ("version", "0.3.0"),
                ("autorisation", "http:evil.example"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Autorisation inconnue"));

    // Enabled without the storage grant: the module cannot read anything (plugin error page).
    let (s, _, _) = admin
        .post_form(
            "/cpts-a/admin/modules/polls",
            &[
                ("action", "activer"),
                ("version", "0.3.0"),
                ("autorisation", "events"),
                ("autorisation", "groups"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, page) = admin.get("/cpts-a/polls/").await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(page.contains("a rencontré une erreur"));
    // Granting storage makes it work; the navigation now shows it.
    admin
        .post_form(
            "/cpts-a/admin/modules/polls",
            &[
                ("action", "activer"),
                ("version", "0.3.0"),
                ("autorisation", "storage"),
                ("autorisation", "events"),
                ("autorisation", "groups"),
            ],
        )
        .await;
    let (s, page) = admin.get("/cpts-a/polls/").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("href=\"/cpts-a/polls/\""));

    // A plugin built against WIT 0.1.0 still loads and serves, with the member's context.
    admin
        .post_form(
            "/cpts-a/admin/modules/legacy",
            &[("action", "activer"), ("version", "0.1.0")],
        )
        .await;
    let (s, page) = coordinator.get("/cpts-a/legacy/").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("Module 0.1.0") && page.contains("Bonjour Coordinateur"));

    admin
        .post_form("/cpts-a/admin/modules/polls", &[("action", "desactiver")])
        .await;
    assert_eq!(admin.get("/cpts-a/polls/").await.0, StatusCode::NOT_FOUND);

    let (_, journal) = admin.get("/cpts-a/admin/journal").await;
    for expected in ["module.enable", "module.update", "module.disable"] {
        assert!(journal.contains(expected), "{expected}");
    }
    assert!(
        journal.contains("&quot;granted&quot;:[&quot;events&quot;,&quot;groups&quot;]"),
        "before/after are recorded"
    );
}

/// « Gestionnaire annuaire » is the directory's module role, granted on the « Fiche
/// membre » (no longer a host flag on the members page); only its holders (and admins)
/// act as managers in the directory, and withdrawing it takes effect at once.
#[tokio::test]
async fn the_directory_manager_is_a_module_role_granted_on_the_fiche() {
    use crate::directory::{MEDECIN, directory_structure, extract, import, line};
    const BASE: &str = "/cpts-a/annuaire";
    let host = Host::new().await;
    let structure = directory_structure(&host, "cpts-a", "74000").await;
    let text = extract(&[line(
        "10000000001",
        ("ADAM", "Anne"),
        MEDECIN,
        "",
        "74000",
        "",
    )]);
    import(&host, &structure, text.as_bytes()).await.unwrap();
    host.account("cpts-a", "chef@exemple.fr", "Chef", Role::Admin)
        .await;
    let gaelle = host
        .account("cpts-a", "gaelle@exemple.fr", "Gaëlle", Role::Coordinator)
        .await;
    host.account("cpts-a", "marc@exemple.fr", "Marc", Role::Coordinator)
        .await;
    let mut admin = Client::new(&host);
    admin.login("chef@exemple.fr", PASSWORD).await;

    let (_, page) = admin.get("/cpts-a/admin/").await;
    assert!(
        !page.contains("name=\"annuaire\"") && !page.contains("Gestionnaire annuaire"),
        "no host checkbox any more"
    );
    let (_, fiche) = admin
        .get(&format!("/cpts-a/admin/membres/{}", gaelle.id))
        .await;
    assert!(fiche.contains("value=\"annuaire:gestionnaire\""), "{fiche}");
    crate::indemnity::grant(&mut admin, gaelle.id, &["annuaire:gestionnaire"]).await;
    let mut conn = host.state.db.pool().acquire().await.unwrap();
    let held = maillage::people::module_roles(&mut conn, structure.id, gaelle.id, "annuaire")
        .await
        .unwrap();
    assert_eq!(held, ["gestionnaire"]);
    drop(conn);
    let (_, page) = admin.get("/cpts-a/admin/").await;
    assert!(
        page.contains("Gestionnaire annuaire"),
        "listed as a module role"
    );

    // The holder sets a status; a coordinator without the role is refused.
    let mut manager = Client::new(&host);
    manager.login("gaelle@exemple.fr", PASSWORD).await;
    let (_, results) = manager.get(&format!("{BASE}/")).await;
    let id = crate::directory::professional_id(&results, "Anne ADAM");
    let set_status = format!("{BASE}/p/{id}/statut");
    let (s, _, _) = manager
        .post_form(&set_status, &[("statut", "adherent")])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let mut other = Client::new(&host);
    other.login("marc@exemple.fr", PASSWORD).await;
    let (s, _, _) = other.post_form(&set_status, &[("statut", "refus")]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Withdrawn on the fiche: refused at once.
    crate::indemnity::grant(&mut admin, gaelle.id, &[]).await;
    let (s, _, _) = manager
        .post_form(&set_status, &[("statut", "membre")])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, journal) = admin.get("/cpts-a/admin/journal").await;
    assert!(journal.contains("member.module-role"));
}

#[tokio::test]
async fn roles_are_changed_by_admins_and_the_last_admin_stays() {
    let host = Host::new().await;
    host.structure("cpts-a", &[]).await;
    let admin_account = host
        .account("cpts-a", "chef@exemple.fr", "Chef", Role::Admin)
        .await;
    let member_account = host
        .account("cpts-a", "membre@exemple.fr", "Membre", Role::Member)
        .await;
    let mut admin = Client::new(&host);
    admin.login("chef@exemple.fr", PASSWORD).await;
    let mut member = Client::new(&host);
    member.login("membre@exemple.fr", PASSWORD).await;

    assert_eq!(member.get("/cpts-a/admin/").await.0, StatusCode::FORBIDDEN);
    let (s, _, page) = admin
        .post_form(
            &format!("/cpts-a/admin/membres/{}", admin_account.id),
            &[("role", "member")],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("au moins un administrateur"));
    let (s, _, _) = admin
        .post_form(
            &format!("/cpts-a/admin/membres/{}/retirer", admin_account.id),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    let (s, _, _) = admin
        .post_form(
            &format!("/cpts-a/admin/membres/{}", member_account.id),
            &[("role", "coordinator")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let m = host
        .state
        .db
        .member(host.structure_id("cpts-a").await, member_account.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.role, Role::Coordinator);
    let (s, page) = member.get("/cpts-a/groupes/").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("Créer un groupe"),
        "the new role applies at once"
    );

    // Structure settings: French validation, then saved and audited.
    let (s, _, page) = admin
        .post_form(
            "/cpts-a/admin/structure",
            &[
                ("nom", "CPTS du Lac"),
                ("fuseau", "Mars/Olympus"),
                ("territoire", ""),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Fuseau horaire inconnu."));
    let (s, _, _) = admin
        .post_form(
            "/cpts-a/admin/structure",
            &[
                ("nom", "CPTS du Lac"),
                ("fuseau", "Indian/Reunion"),
                ("territoire", "97400 97410"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let s = host
        .state
        .db
        .structure_by_slug("cpts-a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (s.name.as_str(), s.time_zone.as_str(), s.territory.as_str()),
        ("CPTS du Lac", "Indian/Reunion", "97400, 97410")
    );

    let (s, _, _) = admin
        .post_form(
            &format!("/cpts-a/admin/membres/{}/retirer", member_account.id),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        member.get("/cpts-a/").await.0,
        StatusCode::NOT_FOUND,
        "removed members lose access at once"
    );
    let (_, journal) = admin.get("/cpts-a/admin/journal").await;
    for expected in [
        "member.role",
        "member.remove",
        "structure.update",
        "Chef &lt;chef@exemple.fr&gt;",
    ] {
        assert!(journal.contains(expected), "{expected}");
    }
}

#[tokio::test]
async fn the_fiche_membre_is_kept_by_admins_with_its_audit() {
    use maillage::people;

    let host = Host::new().await;
    host.structure("cpts-a", &[]).await;
    host.structure("cpts-b", &[]).await;
    host.account("cpts-a", "chef@exemple.fr", "Chef", Role::Admin)
        .await;
    let claire = host
        .account("cpts-a", "claire@exemple.fr", "Claire Martin", Role::Member)
        .await;
    let other = host
        .account("cpts-b", "autre@exemple.fr", "Autre Personne", Role::Member)
        .await;
    let a = host.structure_id("cpts-a").await;
    let mut admin = Client::new(&host);
    admin.login("chef@exemple.fr", PASSWORD).await;
    let mut member = Client::new(&host);
    member.login("claire@exemple.fr", PASSWORD).await;
    let fiche = format!("/cpts-a/admin/membres/{}", claire.id);

    // The members list links to the fiche; only admins open it; others' members do not exist.
    let (_, list) = admin.get("/cpts-a/admin/").await;
    assert!(list.contains(&format!("href=\"{fiche}\"")), "{list}");
    assert!(list.contains("Fiche membre"));
    assert_eq!(member.get(&fiche).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        admin
            .get(&format!("/cpts-a/admin/membres/{}", other.id))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin.get("/cpts-a/admin/membres/999999").await.0,
        StatusCode::NOT_FOUND
    );

    // The directory's suggestion shows while the admins set nothing.
    let mut conn = host.state.db.pool().acquire().await.unwrap();
    people::suggest(
        &mut conn,
        a,
        claire.id,
        "module:annuaire",
        Some("Infirmier"),
        Some(true),
        "2026-03-15",
        1,
    )
    .await
    .unwrap();
    drop(conn);
    let (status, page) = admin.get(&fiche).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Infirmier"), "{page}");
    assert!(page.contains("name=\"exercice\"") && page.contains("name=\"convention\""));
    assert!(
        page.contains("15/03/2026"),
        "the suggested adhesion is listed"
    );

    // Saved by the admin, audited.
    let (status, _, page) = admin
        .post_form(
            &format!("{fiche}/fiche"),
            &[
                ("profession", "Masseur-Kinésithérapeute"),
                ("exercice", "pilote"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("role=\"alert\"") && page.contains("Mode d’exercice inconnu."),
        "{page}"
    );
    let (status, location, _) = admin
        .post_form(
            &format!("{fiche}/fiche"),
            &[
                ("profession", "Masseur-Kinésithérapeute"),
                ("exercice", "salarie"),
                ("convention", "1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some(format!("{fiche}?ok=fiche").as_str())
    );
    let mut conn = host.state.db.pool().acquire().await.unwrap();
    let facts = people::facts(&mut conn, a, claire.id)
        .await
        .unwrap()
        .unwrap();
    drop(conn);
    assert_eq!(
        facts.profession.as_deref(),
        Some("Masseur-Kinésithérapeute")
    );
    assert_eq!(facts.suggested_profession.as_deref(), Some("Infirmier"));
    assert_eq!(facts.exercise_mode, people::ExerciseMode::Salarie);
    assert!(facts.employer_convention);

    // Adhesion periods: dates checked, added, removed only through their own member.
    for (start, end) in [("", ""), ("2026-02-30", ""), ("2026-05-01", "2026-04-30")] {
        let (status, _, page) = admin
            .post_form(
                &format!("{fiche}/adhesions"),
                &[("debut", start), ("fin", end)],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{start}..{end}");
        assert!(page.contains("role=\"alert\""), "{page}");
    }
    let (status, _, _) = admin
        .post_form(
            &format!("{fiche}/adhesions"),
            &[("debut", "2024-01-01"), ("fin", "2024-12-31")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let mut conn = host.state.db.pool().acquire().await.unwrap();
    let facts = people::facts(&mut conn, a, claire.id)
        .await
        .unwrap()
        .unwrap();
    drop(conn);
    assert_eq!(facts.adhesions.len(), 2);
    let (first, second) = (&facts.adhesions[0], &facts.adhesions[1]);
    assert_eq!(
        (
            first.start.as_str(),
            first.end.as_deref(),
            first.source.as_str()
        ),
        ("2024-01-01", Some("2024-12-31"), "admin"),
        "oldest first"
    );
    assert_eq!(second.source, "module:annuaire");
    assert!(facts.adherent_on("2024-06-01") && !facts.adherent_on("2025-06-01"));
    let (status, _, _) = admin
        .post_form(
            &format!(
                "/cpts-a/admin/membres/{}/adhesions/{}/supprimer",
                other.id, first.id
            ),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = admin
        .post_form(&format!("{fiche}/adhesions/{}/supprimer", first.id), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // Module roles: a value no enabled module declares is refused.
    let (status, _, page) = admin
        .post_form(&format!("{fiche}/roles"), &[("role", "polls:tresorier")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Rôle inconnu"), "{page}");

    // The module's own suggestion ends; the admins' periods never do.
    let mut conn = host.state.db.pool().acquire().await.unwrap();
    people::add_adhesion(&mut conn, a, claire.id, "2026-01-01", None, 2)
        .await
        .unwrap();
    people::suggest(
        &mut conn,
        a,
        claire.id,
        "module:annuaire",
        None,
        Some(false),
        "2026-04-01",
        3,
    )
    .await
    .unwrap();
    let facts = people::facts(&mut conn, a, claire.id)
        .await
        .unwrap()
        .unwrap();
    let ends: Vec<(&str, Option<&str>)> = facts
        .adhesions
        .iter()
        .map(|p| (p.source.as_str(), p.end.as_deref()))
        .collect();
    assert_eq!(
        ends,
        [("admin", None), ("module:annuaire", Some("2026-04-01"))]
    );
    assert_eq!(facts.suggested_profession, None, "withdrawn by its module");
    // A module role goes with the membership.
    people::set_module_role(
        &mut conn,
        a,
        claire.id,
        "indemnites",
        "tresorier",
        true,
        claire.id,
        4,
    )
    .await
    .unwrap();
    drop(conn);
    host.state.db.remove_membership(a, claire.id).await.unwrap();
    let mut conn = host.state.db.pool().acquire().await.unwrap();
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM module_roles WHERE structure_id = $1")
        .bind(a)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(kept, 0);
    assert!(
        people::facts(&mut conn, a, claire.id)
            .await
            .unwrap()
            .is_none()
    );
    drop(conn);

    let (_, journal) = admin.get("/cpts-a/admin/journal").await;
    for expected in [
        "member.facts",
        "member.adhesion.add",
        "member.adhesion.remove",
    ] {
        assert!(journal.contains(expected), "{expected}");
    }
}

/// A multipart upload as a browser sends it.
async fn upload(client: &mut Client<'_>, bytes: &[u8]) -> (StatusCode, Option<String>, String) {
    let token = client.csrf();
    upload_with_token(client, bytes, &token).await
}

async fn upload_with_token(
    client: &mut Client<'_>,
    bytes: &[u8],
    token: &str,
) -> (StatusCode, Option<String>, String) {
    let boundary = "maillage-test-boundary";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"paquet\"; filename=\"module.wasm\"\r\nContent-Type: application/wasm\r\n\r\n").into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let request = http::Request::post(format!("/plateforme/paquets?csrf={token}"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header("cookie", client.cookie_header().unwrap())
        .body(axum::body::Body::from(body))
        .unwrap();
    let (status, headers, body) = client.host.send(request).await;
    let location = headers
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    (status, location, body)
}

#[tokio::test]
async fn the_platform_operator_uploads_packages_and_creates_structures() {
    let host = Host::new().await;
    host.structure("cpts-a", &[]).await;
    let mut ops = host.operator("ops@exemple.fr", "Opératrice").await;
    let mut admin = host.member("cpts-a", Role::Admin).await;

    assert_eq!(admin.get("/plateforme/").await.0, StatusCode::FORBIDDEN);
    let (s, _, _) = upload(&mut admin, &wasm("polls")).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "structure admins do not install packages"
    );

    let (s, location, _) = upload(&mut ops, &wasm("polls")).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/plateforme/?ok=paquet"));
    let (_, page) = ops.get("/plateforme/?ok=paquet").await;
    assert!(page.contains("Le module a été installé") && page.contains("polls"));

    let (s, _, page) = upload(&mut ops, &wasm("fixture_future_wit")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("Ce paquet a été refusé") && page.contains("9.0.0") && page.contains("0.2.7")
    );
    let (s, _, page) = upload(&mut ops, b"\0asm garbage").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Ce paquet a été refusé"));
    // Without the right CSRF token in the query, nothing is read.
    let forged = "b".repeat(48);
    assert_eq!(
        upload_with_token(&mut ops, &wasm("polls"), &forged).await.0,
        StatusCode::FORBIDDEN
    );

    let (s, _, page) = ops
        .post_form(
            "/plateforme/structures",
            &[
                ("nom", "MSP des Îles"),
                ("slug", "connexion"),
                ("type", "msp"),
                ("fuseau", "Europe/Paris"),
                ("territoire", ""),
                ("admin_nom", "Iris"),
                ("admin_courriel", "iris@exemple.fr"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "reserved slug");
    assert!(page.contains("mot réservé"));
    let (s, _, _) = ops
        .post_form(
            "/plateforme/structures",
            &[
                ("nom", "MSP des Îles"),
                ("slug", "msp-iles"),
                ("type", "msp"),
                ("fuseau", "Indian/Mayotte"),
                ("territoire", "97600"),
                ("admin_nom", "Iris"),
                ("admin_courriel", "iris@exemple.fr"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let structure = host
        .state
        .db
        .structure_by_slug("msp-iles")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(structure.time_zone, "Indian/Mayotte");
    let members = host.state.db.members(structure.id).await.unwrap();
    assert_eq!(
        (
            members[0].email.as_str(),
            members[0].role,
            members[0].active
        ),
        ("iris@exemple.fr", Role::Admin, false)
    );
    let outbox = host.state.db.outbox(Some(structure.id), 5).await.unwrap();
    assert!(
        outbox[0]
            .subject
            .contains("Invitation à rejoindre MSP des Îles")
    );

    let (_, page) = ops.get("/plateforme/").await;
    assert!(page.contains("package.install") && page.contains("structure.create"));
}

/// Issue 21, item 3: an operator's package or rule-set upload and its audit entry commit
/// together: with the audit log unwritable, nothing is installed.
#[tokio::test]
async fn a_package_is_installed_only_with_its_audit_entry() {
    let host = Host::new().await;
    let mut ops = host.operator("ops@exemple.fr", "Opératrice").await;

    crate::operations::audit_log_available(&host, false).await;
    let (s, _, _) = upload(&mut ops, &wasm("polls")).await;
    assert_ne!(s, StatusCode::SEE_OTHER, "the upload cannot be recorded");
    let (s, _, _) = upload(&mut ops, &wasm("rules_faulty")).await;
    assert_ne!(s, StatusCode::SEE_OTHER, "nor the rule set's");
    crate::operations::audit_log_available(&host, true).await;
    assert!(host.state.registry.installed().await.unwrap().is_empty());
    let rule_sets = host.state.registry.rule_sets().installed().await.unwrap();
    assert!(
        !rule_sets.iter().any(|r| r.id == "faulty-rules"),
        "{rule_sets:?}"
    );

    let (s, location, _) = upload(&mut ops, &wasm("polls")).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/plateforme/?ok=paquet"));
    let (s, location, _) = upload(&mut ops, &wasm("rules_faulty")).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/plateforme/?ok=bareme"));
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE action IN ('package.install', 'rule-set.install') ORDER BY id",
    )
    .fetch_all(host.state.db.pool())
    .await
    .unwrap();
    assert_eq!(actions, ["package.install", "rule-set.install"]);
}
