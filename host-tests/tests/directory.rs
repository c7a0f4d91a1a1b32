//! The directory (annuaire) end to end: RPPS imports through the host's two-pass
//! protocol into the real component, statuses and notes per role, the ranked search,
//! fiches, communication, the upload page, and other structures kept out.

use std::path::PathBuf;

use http::StatusCode;
use maillage::imports::{ImportError, Importer, Progress, Summary};
use maillage::tenancy::{Role, Structure};

use crate::support::{Client, Host, PASSWORD};

const BASE: &str = "/cpts-a/annuaire";

/// One activity line of the national layout (52 fields and the trailing `|`) for the
/// professional with this RPPS number (11 digits) or ADELI number (9 characters): as in
/// the national file (`shared/rpps-format.md`), « Type d'identifiant PP » is 8 or 0,
/// « Identifiant PP » the number and « Identification nationale PP » the two joined.
pub fn line(
    id: &str,
    name: (&str, &str),
    profession: (&str, &str),
    skill: &str,
    postal: &str,
    email: &str,
) -> String {
    let mut f = vec![String::new(); 52];
    let id_type = if id.len() == 9 { "0" } else { "8" };
    f[0] = id_type.into();
    f[1] = id.into();
    f[2] = format!("{id_type}{id}");
    f[7] = name.0.into();
    f[8] = name.1.into();
    f[9] = profession.0.into();
    f[10] = profession.1.into();
    f[16] = skill.into();
    f[24] = format!("Cabinet {}", name.0);
    f[35] = postal.into();
    f[37] = "ANNECY".into();
    f[43] = email.into();
    format!("{}|", f.join("|"))
}

pub fn extract(lines: &[String]) -> String {
    let mut text = format!("{}|\n", maillage::rpps_fixture::HEADER.join("|"));
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    text
}

pub const MEDECIN: (&str, &str) = ("10", "Médecin");
pub const INFIRMIER: (&str, &str) = ("60", "Infirmier");

/// A structure with the directory enabled and a territory.
pub async fn directory_structure(host: &Host, slug: &str, territory: &str) -> Structure {
    let s = host.structure(slug, &["directory"]).await;
    host.state.db.set_territory(s.id, territory).await.unwrap();
    host.state.db.structure(s.id).await.unwrap().unwrap()
}

pub async fn import(
    host: &Host,
    structure: &Structure,
    text: &[u8],
) -> Result<Summary, ImportError> {
    let path: PathBuf = host
        .dir
        .join(format!("extrait-{}.txt", maillage::storage::new_key()));
    std::fs::write(&path, text).unwrap();
    maillage::imports::run(
        &host.state,
        structure,
        "annuaire",
        &Importer::CommandLine,
        &path,
        "extrait.txt",
        &Progress::new(text.len() as u64),
    )
    .await
}

/// Grants a member of `slug` the directory's module role « gestionnaire » (what the
/// admins do on the « Fiche membre »).
pub async fn grant_manager(host: &Host, slug: &str, account_id: i64) {
    let id = host.structure_id(slug).await;
    let mut conn = host.state.db.pool().acquire().await.unwrap();
    maillage::people::set_module_role(
        &mut conn,
        id,
        account_id,
        "annuaire",
        "gestionnaire",
        true,
        account_id,
        maillage::storage::now_secs(),
    )
    .await
    .unwrap();
}

/// A signed-in gestionnaire (the directory's module role) of `slug`.
pub async fn manager<'a>(host: &'a Host, slug: &str, email: &str) -> Client<'a> {
    let account = host
        .account(slug, email, "Gaëlle Gestionnaire", Role::Coordinator)
        .await;
    grant_manager(host, slug, account.id).await;
    let mut client = Client::new(host);
    client.login(email, PASSWORD).await;
    client
}

pub async fn signed_in<'a>(host: &'a Host, slug: &str, email: &str, name: &str) -> Client<'a> {
    host.account(slug, email, name, Role::Member).await;
    let mut client = Client::new(host);
    client.login(email, PASSWORD).await;
    client
}

/// The id of the professional called `full_name` in a results page.
pub fn professional_id(page: &str, full_name: &str) -> String {
    let end = page
        .find(&format!(">{full_name}</a>"))
        .unwrap_or_else(|| panic!("{full_name} is not listed:\n{page}"));
    let start = page[..end].rfind("/p/").unwrap() + 3;
    page[start..end].trim_end_matches('"').to_string()
}

/// The id of the pending link request of the account called `account_name`, from the
/// gestionnaires' « Demandes de liaison » page.
pub fn link_request_id(page: &str, account_name: &str) -> String {
    let start = page
        .find(&format!("<td>{account_name}</td>"))
        .unwrap_or_else(|| panic!("no request of {account_name}:\n{page}"));
    let rest = &page[start..];
    let at = rest
        .find("/demandes/")
        .unwrap_or_else(|| panic!("no decision for {account_name}:\n{rest}"))
        + "/demandes/".len();
    rest[at..].split('/').next().unwrap().to_string()
}

/// A gestionnaire takes `decision` ("approuver" or "refuser") on the pending request of
/// the account called `account_name`, as on the « Demandes de liaison » page.
pub async fn decide_link(gestion: &mut Client<'_>, account_name: &str, decision: &str) {
    let (s, page) = gestion.get(&format!("{BASE}/demandes")).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let id = link_request_id(&page, account_name);
    let (s, location, page) = gestion
        .post_form(&format!("{BASE}/demandes/{id}/{decision}"), &[])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{page}");
    assert!(
        location.is_some_and(|l| l.starts_with("/cpts-a/annuaire/demandes?fait=")),
        "{decision}"
    );
}

/// `member` (the account called `account_name`) asks to link their account to `rpps`,
/// and `gestion` approves: a verified link, what the member may edit a fiche through.
pub async fn verified_link(
    member: &mut Client<'_>,
    gestion: &mut Client<'_>,
    rpps: &str,
    account_name: &str,
) {
    let (s, location, page) = member
        .post_form(&format!("{BASE}/ma-fiche/lien"), &[("rpps", rpps)])
        .await;
    assert_eq!(
        (s, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/cpts-a/annuaire/ma-fiche")),
        "{page}"
    );
    decide_link(gestion, account_name, "approuver").await;
}

fn section<'a>(page: &'a str, heading: &str) -> &'a str {
    let start = page
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading}:\n{page}"));
    let rest = &page[start..];
    let end = rest.find("</section>").unwrap_or(rest.len());
    &rest[..end]
}

#[tokio::test]
async fn import_keeps_the_territory_and_a_reimport_marks_arrivals_and_departures_keeping_manager_data()
 {
    let host = Host::new().await;
    let structure = directory_structure(&host, "cpts-a", "74000, 74960").await;
    let first = extract(&[
        line(
            "10000000001",
            ("MARTIN", "Zoé"),
            MEDECIN,
            "Pédiatrie",
            "74000",
            "zoe.martin@exemple.fr",
        ),
        // A second site of the same person, and the same line again.
        line(
            "10000000001",
            ("MARTIN", "Zoé"),
            MEDECIN,
            "Pédiatrie",
            "74960",
            "zoe.martin@exemple.fr",
        ),
        line(
            "10000000001",
            ("MARTIN", "Zoé"),
            MEDECIN,
            "Pédiatrie",
            "74960",
            "zoe.martin@exemple.fr",
        ),
        line("10000000002", ("PAYET", "Jean"), INFIRMIER, "", "97400", ""),
        line(
            "10000000003",
            ("DURAND", "Paul"),
            INFIRMIER,
            "",
            "74960",
            "",
        ),
    ]);
    let summary = import(&host, &structure, first.as_bytes()).await.unwrap();
    assert_eq!(summary.lines, 5);
    assert_eq!(
        summary.kept_lines, 4,
        "the Réunion nurse is off the territory"
    );
    assert_eq!(summary.applied["people"], 2);
    assert_eq!(
        summary.applied["arrivals"], 0,
        "a first import has no arrivals"
    );

    let mut gestion = manager(&host, "cpts-a", "gestion@a.test").await;
    let (status, page) = gestion.get(&format!("{BASE}/")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Résultats exacts (2)"), "{page}");
    let zoe = professional_id(&page, "Zoé MARTIN");
    let paul = professional_id(&page, "Paul DURAND");
    let (_, fiche) = gestion.get(&format!("{BASE}/p/{zoe}")).await;
    assert_eq!(
        fiche.matches("<li>Cabinet MARTIN").count(),
        2,
        "two sites, the duplicate once: {fiche}"
    );
    gestion
        .post_form(&format!("{BASE}/p/{zoe}/statut"), &[("statut", "adherent")])
        .await;
    gestion
        .post_form(
            &format!("{BASE}/p/{zoe}/note"),
            &[("note", "Tél. perso 06 00 00 00 00")],
        )
        .await;

    // Paul left; Léa arrived; Zoé moved her second site. Her status and note stay.
    let second = extract(&[
        line(
            "10000000001",
            ("MARTIN", "Zoé"),
            MEDECIN,
            "Pédiatrie",
            "74000",
            "zoe.martin@exemple.fr",
        ),
        line(
            "10000000004",
            ("ROUX", "Léa"),
            MEDECIN,
            "Médecine générale",
            "74960",
            "",
        ),
    ]);
    let summary = import(&host, &structure, second.as_bytes()).await.unwrap();
    assert_eq!(summary.applied["people"], 2);
    assert_eq!(summary.applied["arrivals"], 1);
    assert_eq!(summary.applied["departures"], 1);

    let (_, fiche) = gestion.get(&format!("{BASE}/p/{zoe}")).await;
    assert!(
        fiche.contains("Adhérent") && fiche.contains("Tél. perso 06 00 00 00 00"),
        "{fiche}"
    );
    assert_eq!(fiche.matches("<li>Cabinet MARTIN").count(), 1, "{fiche}");
    assert!(
        fiche.contains("Inconnu → Adhérent"),
        "status history: {fiche}"
    );

    let (_, arrivals) = gestion.get(&format!("{BASE}/?arrivants=1")).await;
    assert!(
        arrivals.contains("Léa ROUX") && !arrivals.contains("Zoé MARTIN"),
        "{arrivals}"
    );
    assert!(arrivals.contains("Nouvel arrivant"));
    let (_, departures) = gestion.get(&format!("{BASE}/?departs=1")).await;
    assert!(
        departures.contains("Paul DURAND") && !departures.contains("Léa ROUX"),
        "{departures}"
    );
    let (_, present) = gestion.get(&format!("{BASE}/")).await;
    assert!(
        !present.contains("Paul DURAND"),
        "who left is not in the search"
    );
    let (_, gone) = gestion.get(&format!("{BASE}/p/{paul}")).await;
    assert!(gone.contains("a quitté le territoire"), "{gone}");

    // The import history lists both, with their counts.
    let (_, history) = gestion.get(&format!("{BASE}/import")).await;
    assert!(
        history.contains("Imports précédents") && history.contains("ligne de commande"),
        "{history}"
    );
}

#[tokio::test]
async fn a_failed_import_changes_nothing_and_bad_lines_are_reported_by_number() {
    let host = Host::new().await;
    let structure = directory_structure(&host, "cpts-a", "74000").await;
    let good: Vec<String> = (0..300)
        .map(|i| {
            line(
                &format!("1{:010}", 100 + i),
                ("NOM", &format!("P{i}")),
                INFIRMIER,
                "",
                "74000",
                "",
            )
        })
        .collect();
    let summary = import(&host, &structure, extract(&good).as_bytes())
        .await
        .unwrap();
    assert_eq!(summary.applied["people"], 300);
    let mut gestion = manager(&host, "cpts-a", "gestion@a.test").await;
    let before = gestion.get(&format!("{BASE}/?nom=P1")).await.1;

    // Not the extract: the missing columns are named.
    let err = import(&host, &structure, b"Nom|Prenom|Ville\nA|B|C\n")
        .await
        .unwrap_err();
    assert!(
        matches!(err, ImportError::Refused(ref m) if m.contains("Identification nationale PP")),
        "{err}"
    );
    // Re-encoded in Latin-1: refused as a whole.
    let mut latin1 = extract(&good[..10]).into_bytes();
    let helene = line("10000009999", ("HÉLÈNE", "Zoé"), INFIRMIER, "", "74000", "");
    latin1.extend(helene.chars().map(|c| u8::try_from(u32::from(c)).unwrap()));
    latin1.push(b'\n');
    let err = import(&host, &structure, &latin1).await.unwrap_err();
    assert!(matches!(err, ImportError::Encoding(1)), "{err}");
    assert!(err.french().contains("UTF-8"));
    // Too many malformed lines (here 1 in 2): refused, with their numbers.
    let mut broken = good[..10].to_vec();
    broken.extend((0..10).map(|_| "10000000001|trop|court|".to_string()));
    let err = import(&host, &structure, extract(&broken).as_bytes())
        .await
        .unwrap_err();
    match err {
        ImportError::TooManyBadLines { bad, errors, .. } => {
            assert_eq!(bad, 10);
            assert_eq!(
                errors[0].0, 12,
                "header = line 1, ten good lines, then the bad ones"
            );
            assert!(errors[0].1.contains("fields instead of"), "{errors:?}");
        }
        other => panic!("{other}"),
    }
    // Nobody of the territory in the file: everyone would be gone, so refused.
    let elsewhere = extract(&[line(
        "10000000007",
        ("LOIN", "A"),
        INFIRMIER,
        "",
        "13005",
        "",
    )]);
    let err = import(&host, &structure, elsewhere.as_bytes())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ImportError::Refused(ref m) if m.contains("no professional")),
        "{err}"
    );
    assert_eq!(
        gestion.get(&format!("{BASE}/?nom=P1")).await.1,
        before,
        "nothing changed"
    );
    let (_, history) = gestion.get(&format!("{BASE}/import")).await;
    assert_eq!(
        history.matches("<td>ligne de commande</td>").count(),
        1,
        "one import only"
    );

    // One bad line in 301, and labels of another release in another order: imported,
    // the bad line reported and skipped.
    let mut header: Vec<String> = maillage::rpps_fixture::HEADER
        .iter()
        .map(|l| l.replace(" (coord. structure)", "").to_uppercase())
        .collect();
    header.swap(7, 8);
    let mut text = format!("{}|\n", header.join("|"));
    for l in &good {
        let mut f: Vec<&str> = l.split('|').collect();
        f.swap(7, 8);
        text.push_str(&f.join("|"));
        text.push('\n');
    }
    text.push_str("pas une ligne\n");
    let summary = import(&host, &structure, text.as_bytes()).await.unwrap();
    assert_eq!(summary.bad_lines, 1);
    assert_eq!(
        summary.errors,
        vec![(302, "1 fields instead of 53".to_string())]
    );
    assert_eq!(summary.applied["people"], 300);
    let (_, page) = gestion.get(&format!("{BASE}/?nom=P17")).await;
    assert!(
        page.contains("P17 NOM"),
        "first and last names found by label: {page}"
    );

    // A structure without a territory cannot import.
    let bare = host.structure("cpts-b", &["directory"]).await;
    let err = import(&host, &bare, extract(&good).as_bytes())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ImportError::Refused(ref m) if m.contains("territory")),
        "{err}"
    );
}

#[tokio::test]
async fn statuses_and_private_notes_follow_the_visibility_rules() {
    let host = Host::new().await;
    let structure = directory_structure(&host, "cpts-a", "74000").await;
    let text = extract(&[
        line(
            "10000000001",
            ("ADAM", "Anne"),
            MEDECIN,
            "",
            "74000",
            "anne@exemple.fr",
        ),
        line("10000000002", ("BRUN", "Bruno"), MEDECIN, "", "74000", ""),
        line(
            "10000000003",
            ("COLIN", "Chloé"),
            INFIRMIER,
            "",
            "74000",
            "",
        ),
        line(
            "10000000004",
            ("DENIS", "David"),
            INFIRMIER,
            "",
            "74000",
            "",
        ),
    ]);
    import(&host, &structure, text.as_bytes()).await.unwrap();
    let mut gestion = manager(&host, "cpts-a", "gestion@a.test").await;
    let (_, page) = gestion.get(&format!("{BASE}/")).await;
    let ids: Vec<String> = ["Anne ADAM", "Bruno BRUN", "Chloé COLIN", "David DENIS"]
        .iter()
        .map(|n| professional_id(&page, n))
        .collect();
    for (id, status) in ids
        .iter()
        .zip(["adherent", "membre", "refus", "ne-plus-contacter"])
    {
        let (s, _, _) = gestion
            .post_form(&format!("{BASE}/p/{id}/statut"), &[("statut", status)])
            .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
    }
    gestion
        .post_form(
            &format!("{BASE}/p/{}/note", ids[2]),
            &[("note", "Ne pas relancer avant juin")],
        )
        .await;
    let (_, page) = gestion.get(&format!("{BASE}/")).await;
    for label in [
        "Adhérent",
        "Membre",
        "Refus d’adhérer",
        "Ne veut plus être contacté",
    ] {
        assert!(page.contains(label), "managers see {label}");
    }

    // A member who is not a manager: only "adhérent", no note, no way to change them.
    let mut member = signed_in(&host, "cpts-a", "membre@a.test", "Marc Membre").await;
    let (_, page) = member.get(&format!("{BASE}/")).await;
    assert!(page.contains("status-adherent"), "{page}");
    for hidden in [
        "status-membre",
        "status-refus",
        "status-ne-plus-contacter",
        "status-inconnu",
    ] {
        assert!(!page.contains(hidden), "{hidden} leaked to a member");
    }
    // Searching by a hidden status is not possible either.
    let (_, page) = member.get(&format!("{BASE}/?statut=refus")).await;
    assert!(
        !page.contains("Refus d’adhérer") && page.contains("Résultats exacts (4)"),
        "{page}"
    );
    let (_, fiche) = member.get(&format!("{BASE}/p/{}", ids[2])).await;
    assert!(
        !fiche.contains("Ne pas relancer") && !fiche.contains("Refus"),
        "{fiche}"
    );
    assert!(!fiche.contains("Note privée"));
    let (s, _, _) = member
        .post_form(
            &format!("{BASE}/p/{}/note", ids[2]),
            &[("note", "vandalisme")],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = member
        .post_form(
            &format!("{BASE}/p/{}/statut", ids[2]),
            &[("statut", "adherent")],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = member.get(&format!("{BASE}/communication")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = member.get(&format!("{BASE}/import")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, fiche) = gestion.get(&format!("{BASE}/p/{}", ids[2])).await;
    assert!(fiche.contains("Ne pas relancer avant juin") && fiche.contains("Refus d’adhérer"));

    // Bruno, once his account is linked to his RPPS number (a gestionnaire approved
    // the link), sees his own "membre".
    let mut bruno = signed_in(&host, "cpts-a", "bruno@a.test", "Bruno Brun").await;
    verified_link(&mut bruno, &mut gestion, "10000000002", "Bruno Brun").await;
    let (_, own) = bruno.get(&format!("{BASE}/p/{}", ids[1])).await;
    assert!(own.contains("status-membre"), "{own}");
    let (_, other) = bruno.get(&format!("{BASE}/p/{}", ids[2])).await;
    assert!(!other.contains("status-refus"));
    // Nobody else can take his number.
    let (s, _, page) = member
        .post_form(&format!("{BASE}/ma-fiche/lien"), &[("rpps", "10000000002")])
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{page}");
    // Only a gestionnaire can undo a link; then the number is free again.
    let (s, _, _) = member
        .post_form(&format!("{BASE}/p/{}/delier", ids[1]), &[])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, page) = gestion.get(&format!("{BASE}/p/{}", ids[1])).await;
    assert!(page.contains("Délier le compte"), "{page}");
    let (s, _, _) = gestion
        .post_form(&format!("{BASE}/p/{}/delier", ids[1]), &[])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _, page) = member
        .post_form(&format!("{BASE}/ma-fiche/lien"), &[("rpps", "10000000002")])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{page}");
    let (_, own) = bruno.get(&format!("{BASE}/ma-fiche")).await;
    assert!(
        own.contains("Demander à relier mon compte") && !own.contains("en attente"),
        "Bruno is unlinked: {own}"
    );
    let (s, _, _) = member
        .post_form(&format!("{BASE}/ma-fiche/lien"), &[("rpps", "12")])
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Another structure's manager sees none of it, even with the ids.
    let other = directory_structure(&host, "cpts-b", "74000").await;
    import(&host, &other, text.as_bytes()).await.unwrap();
    let mut outsider = manager(&host, "cpts-b", "gestion@b.test").await;
    let (s, _) = outsider.get(&format!("{BASE}/p/{}", ids[0])).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "not a member of cpts-a");
    let (s, _) = outsider
        .get(&format!("/cpts-b/annuaire/p/{}", ids[0]))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "cpts-a's record through cpts-b");
    let (s, _, _) = outsider
        .post_form(
            &format!("/cpts-b/annuaire/p/{}/statut", ids[0]),
            &[("statut", "refus")],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, theirs) = outsider.get("/cpts-b/annuaire/").await;
    assert!(
        !theirs.contains("status-adherent") && theirs.contains("status-inconnu"),
        "statuses are per structure"
    );
    let (_, fiche) = gestion.get(&format!("{BASE}/p/{}", ids[0])).await;
    assert!(fiche.contains("status-adherent"));
}

#[tokio::test]
async fn search_ranks_exact_then_approaching_results_and_shows_at_most_fifty() {
    let host = Host::new().await;
    let structure = directory_structure(&host, "cpts-a", "74000, 74960").await;
    let mut lines = vec![
        // Every criterion of the search below: pédiatre at 74000.
        line(
            "10000000001",
            ("ARNAUD", "Ève"),
            MEDECIN,
            "Pédiatrie",
            "74000",
            "",
        ),
        // Two of three: pédiatre at 74960; généraliste at 74000.
        line(
            "10000000002",
            ("BLANC", "Hugo"),
            MEDECIN,
            "Pédiatrie",
            "74960",
            "",
        ),
        line(
            "10000000003",
            ("CARON", "Inès"),
            MEDECIN,
            "Médecine générale",
            "74000",
            "",
        ),
        // One of three: a nurse at 74000.
        line(
            "10000000004",
            ("DUPUIS", "Jules"),
            INFIRMIER,
            "",
            "74000",
            "",
        ),
        // None (a nurse at 74960) is not listed at all.
        line(
            "10000000005",
            ("ÉTIENNE", "Karim"),
            INFIRMIER,
            "",
            "74960",
            "",
        ),
    ];
    // Many matching one criterion, to fill the 50.
    lines.extend((0..80).map(|i| {
        line(
            &format!("1{:010}", 1000 + i),
            ("ZED", &format!("N{i:02}")),
            INFIRMIER,
            "",
            "74000",
            "",
        )
    }));
    import(&host, &structure, extract(&lines).as_bytes())
        .await
        .unwrap();
    let mut member = signed_in(&host, "cpts-a", "membre@a.test", "Marc Membre").await;

    // The default search is the whole territory: every present professional is exact,
    // only the first 50 are shown.
    let (_, page) = member.get(&format!("{BASE}/")).await;
    assert!(page.contains("Résultats exacts (50)"), "{page}");
    assert!(page.contains("74000") && page.contains("Retirer le code postal 74960"));

    let query = "cp_modifies=1&cp=74000&profession=10&specialite=p%C3%A9diatrie";
    let (_, page) = member.get(&format!("{BASE}/?{query}")).await;
    let exact = section(&page, "Résultats exacts");
    assert!(
        exact.contains("Ève ARNAUD") && exact.contains("(1)"),
        "{exact}"
    );
    let approaching = section(&page, "Résultats approchants");
    let hugo = approaching.find("Hugo BLANC").expect("2 of 3");
    let ines = approaching.find("Inès CARON").expect("2 of 3");
    let jules = approaching.find("Jules DUPUIS").expect("1 of 3");
    assert!(hugo < jules && ines < jules, "more criteria met come first");
    assert!(!page.contains("Karim ÉTIENNE"), "no criterion met");
    assert_eq!(
        page.matches("/annuaire/p/").count(),
        50,
        "at most 50 results"
    );
    // Removing a code keeps the other criteria; the reset link brings the territory back.
    assert!(page.contains("Réinitialiser les codes postaux"));
    assert!(
        page.contains("cp_modifies=1&amp;profession=10"),
        "removal link: {page}"
    );

    // Names match without accents or case.
    let (_, page) = member.get(&format!("{BASE}/?nom=etienne")).await;
    assert!(
        section(&page, "Résultats exacts").contains("Karim ÉTIENNE"),
        "{page}"
    );
    // Typed nonsense stays text: no error, no match.
    let (s, page) = member
        .get(&format!("{BASE}/?nom=%22%29%20%7C%7C%20true&statut=x"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("Résultats exacts (0)"), "{page}");

    // A professional's fiche: what they take in charge becomes searchable, and their
    // fiche icon turns green.
    let mut eve = signed_in(&host, "cpts-a", "eve@a.test", "Ève Arnaud").await;
    let mut gestion = manager(&host, "cpts-a", "gestion@a.test").await;
    verified_link(&mut eve, &mut gestion, "10000000001", "Ève Arnaud").await;
    let (s, _, page) = eve
        .post_form(
            &format!("{BASE}/ma-fiche/pro"),
            &[
                ("phone", "04 50 00 00 00"),
                ("email", "eve@cabinet.fr"),
                ("care", "Diabète, asthme de l’enfant"),
                ("equipment", "Spiromètre"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{page}");
    let (_, page) = member
        .get(&format!(
            "{BASE}/?prise_en_charge=diabete&materiel=spirometre"
        ))
        .await;
    let exact = section(&page, "Résultats exacts");
    assert!(
        exact.contains("Ève ARNAUD") && exact.contains("fiche filled"),
        "{exact}"
    );
    let (_, fiche) = member
        .get(&format!(
            "{BASE}/p/{}",
            professional_id(&page, "Ève ARNAUD")
        ))
        .await;
    assert!(
        fiche.contains("04 50 00 00 00") && fiche.contains("Spiromètre"),
        "{fiche}"
    );
    let (s, _, _) = eve
        .post_form(
            &format!("{BASE}/ma-fiche/pro"),
            &[("email", "pas-une-adresse")],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // "Mon compte" shows the fiches.
    let (_, account) = eve.get("/compte").await;
    assert!(
        account.contains("Mes fiches (annuaire)") && account.contains("Spiromètre"),
        "{account}"
    );
}

#[tokio::test]
async fn communication_lists_addresses_of_exact_matches_except_who_refuses_contact() {
    let host = Host::new().await;
    let structure = directory_structure(&host, "cpts-a", "74000").await;
    let text = extract(&[
        line(
            "10000000001",
            ("ADAM", "Anne"),
            MEDECIN,
            "",
            "74000",
            "anne@exemple.fr",
        ),
        line(
            "10000000002",
            ("BRUN", "Bruno"),
            MEDECIN,
            "",
            "74000",
            "bruno@exemple.fr",
        ),
        line("10000000003", ("COLIN", "Chloé"), MEDECIN, "", "74000", ""),
        line(
            "10000000004",
            ("DENIS", "David"),
            INFIRMIER,
            "",
            "74000",
            "david@exemple.fr",
        ),
    ]);
    import(&host, &structure, text.as_bytes()).await.unwrap();
    let mut gestion = manager(&host, "cpts-a", "gestion@a.test").await;
    let (_, page) = gestion.get(&format!("{BASE}/")).await;
    let bruno = professional_id(&page, "Bruno BRUN");
    gestion
        .post_form(
            &format!("{BASE}/p/{bruno}/statut"),
            &[("statut", "ne-plus-contacter")],
        )
        .await;
    let (s, page) = gestion
        .get(&format!("{BASE}/communication?profession=10"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("Une messagerie non sécurisée ne doit en aucun cas être utilisée pour échanger de la donnée de santé."));
    assert!(page.contains(">anne@exemple.fr</textarea>"), "{page}");
    assert!(!page.contains("bruno@exemple.fr") && !page.contains("david@exemple.fr"));
    let without = section(&page, "Sans adresse e-mail");
    assert!(
        without.contains("Chloé COLIN") && !without.contains("Anne"),
        "{without}"
    );
    assert!(page.contains("Copier les adresses e-mail"));
}

#[tokio::test]
async fn the_upload_page_imports_with_progress_for_managers_only() {
    let host = Host::with_config(|c| c.import_limit_mib = 1).await;
    directory_structure(&host, "cpts-a", "74000").await;
    let text = extract(&[
        line("10000000001", ("ADAM", "Anne"), MEDECIN, "", "74000", ""),
        line("10000000002", ("BRUN", "Bruno"), MEDECIN, "", "97300", ""),
    ]);
    let multipart = |content: &[u8]| {
        let mut body = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"PS_LibreAcces_Personne_activite.txt\"\r\nContent-Type: text/plain\r\n\r\n".to_vec();
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n--XyZ--\r\n");
        body
    };
    let kind = "multipart/form-data; boundary=XyZ";
    let mut member = signed_in(&host, "cpts-a", "membre@a.test", "Marc Membre").await;
    let (s, _, _) = member
        .post_body("/cpts-a/imports/annuaire", kind, multipart(text.as_bytes()))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let mut gestion = manager(&host, "cpts-a", "gestion@a.test").await;
    let (_, form) = gestion.get(&format!("{BASE}/import")).await;
    assert!(
        form.contains("enctype=\"multipart/form-data\"")
            && form.contains("/cpts-a/imports/annuaire?csrf="),
        "{form}"
    );
    let (s, headers, body) = gestion
        .post_body("/cpts-a/imports/annuaire", kind, multipart(text.as_bytes()))
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let job = headers[http::header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    let mut page = String::new();
    for _ in 0..200 {
        page = gestion.get(&job).await.1;
        if !page.contains("data-state=\"running\"") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(page.contains("data-state=\"done\""), "{page}");
    assert!(
        page.contains("2 lignes lues, dont 1 du territoire"),
        "{page}"
    );
    // htmx swaps the progress part in place: asked as a fragment, it comes without the
    // layout, and once done it no longer asks to be polled.
    let (status, fragment) = gestion.get(&format!("{job}?fragment=1")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        fragment.starts_with("<div id=\"import-progress\"") && !fragment.contains("<html"),
        "{fragment}"
    );
    assert!(!fragment.contains("hx-trigger"), "{fragment}");
    assert!(
        page.contains("1 professionnels sur le territoire"),
        "{page}"
    );
    // Only its starter (or an admin) follows a job; other structures never.
    let (s, _) = member.get(&job).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, results) = gestion.get(&format!("{BASE}/")).await;
    assert!(results.contains("Anne ADAM"));

    // Beyond the import limit (1 MiB here): refused while spooling.
    let big = vec![b'x'; 3 << 19];
    let (s, _, body) = gestion
        .post_body("/cpts-a/imports/annuaire", kind, multipart(&big))
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    // A failed import shows why, in French.
    let (_, headers, _) = gestion
        .post_body(
            "/cpts-a/imports/annuaire",
            kind,
            multipart(b"Nom|Ville\nA|B\n"),
        )
        .await;
    let job = headers[http::header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    for _ in 0..200 {
        page = gestion.get(&job).await.1;
        if !page.contains("data-state=\"running\"") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        page.contains("data-state=\"failed\"") && page.contains("Rien n’a été modifié"),
        "{page}"
    );
}

/// The coordinator's journey in real Chromium: search the territory, narrow it, open a
/// fiche, set the status, write the private note, then copy the e-mail addresses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_searches_sets_a_status_writes_a_note_and_copies_emails_in_chromium() {
    use crate::webdriver::Chromedriver;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let host = Host::with_config(|c| c.plugin_deadline_ms = 5000).await;
    let structure = directory_structure(&host, "cpts-a", "74000, 74960").await;
    let text = extract(&[
        line(
            "10000000001",
            ("ADAM", "Anne"),
            MEDECIN,
            "Médecine générale",
            "74000",
            "anne@exemple.fr",
        ),
        line(
            "10000000002",
            ("BRUN", "Bruno"),
            MEDECIN,
            "Pédiatrie",
            "74960",
            "bruno@exemple.fr",
        ),
        line(
            "10000000003",
            ("COLIN", "Chloé"),
            INFIRMIER,
            "",
            "74000",
            "chloe@exemple.fr",
        ),
        line("10000000004", ("DENIS", "David"), MEDECIN, "", "74000", ""),
    ]);
    import(&host, &structure, text.as_bytes()).await.unwrap();
    let account = host
        .account(
            "cpts-a",
            "gestion@a.test",
            "Gaëlle Gestionnaire",
            Role::Coordinator,
        )
        .await;
    grant_manager(&host, "cpts-a", account.id).await;
    let server = tokio::spawn(maillage::serve(host.state.clone(), listener));

    let url = base.clone();
    let clipboard = tokio::task::spawn_blocking(move || {
        let driver = Chromedriver::start();
        let b = driver.browser();
        b.goto(&format!("{url}/connexion"));
        b.find("#identifiant").send_keys("gestion@a.test");
        b.find("#mot_de_passe").send_keys(PASSWORD);
        b.find("main form button[type=submit]").click();
        b.wait_for_text("Bonjour Gaëlle Gestionnaire");
        b.find("header nav a[href='/cpts-a/annuaire/']").click();
        b.wait_for_text("Résultats exacts (4)");
        // Remove 74960 from the territory's codes, then look for médecins.
        b.find("a[aria-label='Retirer le code postal 74960']").click();
        b.wait_for_text("Réinitialiser les codes postaux");
        b.execute("document.querySelector('select[name=profession]').value = '10';", vec![]);
        b.find("form.search button[type=submit]").click();
        b.wait_for_text("Résultats exacts (2)");
        b.wait_for_text("Résultats approchants (2)");
        let exact = b.find("section[aria-labelledby=exact]").text();
        assert!(exact.contains("Anne ADAM") && exact.contains("David DENIS"), "{exact}");
        // Open Anne's fiche; make her an adhérente; write a note.
        b.find("section[aria-labelledby=exact] a").click();
        b.wait_for_text("Lieux d’exercice");
        b.execute("document.getElementById('statut').value = 'adherent';", vec![]);
        b.find("form[action$='/statut'] button").click();
        b.wait_for_text("Inconnu → Adhérent (par Gaëlle Gestionnaire)");
        b.find("#note").send_keys("Rappeler après la réunion de janvier");
        b.find("form[action$='/note'] button").click();
        b.wait_for_text("Dernière modification par Gaëlle Gestionnaire");
        assert_eq!(
            b.execute("return document.getElementById('note').value;", vec![]),
            "Rappeler après la réunion de janvier"
        );
        // Back to the directory: the adhérents, then their addresses.
        b.find("header nav a[href='/cpts-a/annuaire/']").click();
        b.execute("document.querySelector('select[name=statut]').value = 'adherent';", vec![]);
        b.find("form.search button[type=submit]").click();
        b.wait_for_text("Résultats exacts (1)");
        b.find("a[href^='/cpts-a/annuaire/communication']").click();
        b.wait_for_text("Une messagerie non sécurisée ne doit en aucun cas être utilisée pour échanger de la donnée de santé.");
        b.grant("clipboard-read");
        b.grant("clipboard-write");
        b.find("#copy-emails").click();
        b.wait_for_text("1 adresse(s) copiée(s) dans le presse-papiers.");
        let copied = b.execute_async(
            "const done = arguments[arguments.length - 1];\
             navigator.clipboard.readText().then(done, e => done('error: ' + e));",
        );
        // At phone width the search is still usable.
        b.set_window_size(390, 844);
        b.goto(&format!("{url}/cpts-a/annuaire/"));
        b.wait_for_text("Résultats exacts (4)");
        let overflow = b.execute(
            "return document.documentElement.scrollWidth > window.innerWidth + 1;",
            vec![],
        );
        (copied, overflow)
    })
    .await
    .unwrap();
    server.abort();
    assert_eq!(
        clipboard.0, "anne@exemple.fr",
        "what the button put in the clipboard"
    );
    assert_eq!(clipboard.1, false, "no horizontal scrolling at phone width");
}

#[tokio::test]
async fn a_member_puts_a_photo_on_their_fiche() {
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
    let mut anne = signed_in(&host, "cpts-a", "anne@a.test", "Anne Adam").await;
    // What the page's script does: the file to the host, then its id in the form.
    let png = b"\x89PNG\r\n\x1a\n fausse image".to_vec();
    let mut body = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"anne.png\"\r\nContent-Type: image/png\r\n\r\n".to_vec();
    body.extend_from_slice(&png);
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    // Without a linked fiche, the directory takes no file (files.may-upload).
    let (s, _, refused) = anne
        .post_body(
            "/cpts-a/fichiers/annuaire",
            "multipart/form-data; boundary=XyZ",
            body.clone(),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{refused}");
    let mut gestion = manager(&host, "cpts-a", "gestion@a.test").await;
    verified_link(&mut anne, &mut gestion, "10000000001", "Anne Adam").await;
    let (_, page) = anne.get(&format!("{BASE}/ma-fiche")).await;
    assert!(
        page.contains("data-photo-upload=\"/cpts-a/fichiers/annuaire\""),
        "{page}"
    );
    let (s, _, uploaded) = anne
        .post_body(
            "/cpts-a/fichiers/annuaire",
            "multipart/form-data; boundary=XyZ",
            body,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{uploaded}");
    let blob: serde_json::Value = serde_json::from_str(&uploaded).unwrap();
    let id = blob["id"].as_str().unwrap();
    let (s, _, page) = anne
        .post_form(
            &format!("{BASE}/ma-fiche/pro"),
            &[("phone", "04 50 00 00 01"), ("photo", id)],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{page}");
    let mut colleague = signed_in(&host, "cpts-a", "collegue@a.test", "Collègue").await;
    let (_, results) = colleague.get(&format!("{BASE}/")).await;
    let (_, fiche) = colleague
        .get(&format!(
            "{BASE}/p/{}",
            professional_id(&results, "Anne ADAM")
        ))
        .await;
    let src = format!("/cpts-a/fichiers/annuaire/{id}");
    assert!(fiche.contains(&src), "{fiche}");
    let (s, headers, served) = colleague.get_with_headers(&src).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(headers[http::header::CONTENT_TYPE], "image/png");
    assert!(served.contains("fausse image"));
    // An id that is not one of the structure's files is refused.
    let (s, _, _) = anne
        .post_form(&format!("{BASE}/ma-fiche/pro"), &[("photo", "inconnu")])
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

/// Lines as the national file writes them, taken from the published format: `8` + RPPS
/// and `0` + ADELI identifiers (Corsican ADELI numbers hold 2A/2B), a person with no
/// site, a byte-order mark before the header, Windows line endings and no newline
/// after the last line. Every line is imported; none is refused.
#[tokio::test]
async fn a_real_shaped_extract_imports_rpps_and_adeli_professionals() {
    let host = Host::new().await;
    let structure = directory_structure(&host, "cpts-a", "74000, 20000").await;
    let mut no_site = line("10000000009", ("SANS", "Site"), MEDECIN, "", "", "");
    no_site = no_site
        .replacen("|Cabinet SANS|", "||", 1)
        .replacen("|ANNECY|", "||", 1);
    let lines = [
        line(
            "10003456789",
            ("MARTIN", "Anne"),
            MEDECIN,
            "Médecine générale",
            "74000",
            "",
        ),
        line(
            "022802441",
            ("LEROY", "Léa"),
            ("91", "Orthophoniste"),
            "",
            "74000",
            "",
        ),
        line("2A1234567", ("SANTONI", "Ange"), INFIRMIER, "", "20000", ""),
        line(
            "2B0000042",
            ("CASANOVA", "Marie"),
            INFIRMIER,
            "",
            "74000",
            "marie@exemple.fr",
        ),
        no_site,
    ];
    let text = format!(
        "\u{feff}{}\r\n{}",
        extract(&[]).trim_end(),
        lines.join("\r\n")
    );
    let summary = import(&host, &structure, text.as_bytes()).await.unwrap();
    assert_eq!(summary.bad_lines, 0, "{:?}", summary.errors);
    assert_eq!(summary.lines, 5);
    assert_eq!(summary.applied["people"], 4, "{}", summary.applied);

    let mut manager = manager(&host, "cpts-a", "gestion@cpts-a.fr").await;
    let (status, page) = manager.get(&format!("{BASE}/?nom=santoni")).await;
    assert_eq!(status, StatusCode::OK);
    let id = professional_id(&page, "Ange SANTONI");
    let (_, fiche) = manager.get(&format!("{BASE}/p/{id}")).await;
    assert!(fiche.contains("ADELI 2A1234567"), "{fiche}");
    let (_, page) = manager.get(&format!("{BASE}/?nom=martin")).await;
    let id = professional_id(&page, "Anne MARTIN");
    let (_, fiche) = manager.get(&format!("{BASE}/p/{id}")).await;
    assert!(fiche.contains("RPPS 10003456789"), "{fiche}");
    let (_, page) = manager.get(&format!("{BASE}/?nom=sans")).await;
    assert!(
        !page.contains("Site SANS"),
        "a person with no site is on no territory"
    );

    // An ADELI professional links their account with their ADELI number.
    let mut lea = signed_in(&host, "cpts-a", "lea@exemple.fr", "Léa Leroy").await;
    let (status, _, _) = lea
        .post_form(&format!("{BASE}/ma-fiche/lien"), &[("rpps", "022802441")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, mine) = lea.get(&format!("{BASE}/ma-fiche")).await;
    assert!(
        mine.contains("Léa LEROY") && mine.contains("ADELI 022802441"),
        "{mine}"
    );
}

/// A professional who moves from ADELI to RPPS appears under a new key, and the
/// extract does not link the two: the summary says so, so that the gestionnaire checks.
#[tokio::test]
async fn a_move_from_adeli_to_rpps_is_reported_in_the_summary() {
    let host = Host::new().await;
    let structure = directory_structure(&host, "cpts-a", "74000").await;
    let first = extract(&[
        line(
            "740012345",
            ("LEROY", "Léa"),
            ("91", "Orthophoniste"),
            "",
            "74000",
            "",
        ),
        line("10000000001", ("ADAM", "Anne"), MEDECIN, "", "74000", ""),
    ]);
    let summary = import(&host, &structure, first.as_bytes()).await.unwrap();
    assert_eq!(summary.applied["notices"], serde_json::json!([]));
    let second = extract(&[
        line(
            "10000000077",
            ("LEROY", "Léa"),
            ("91", "Orthophoniste"),
            "",
            "74000",
            "",
        ),
        line("10000000001", ("ADAM", "Anne"), MEDECIN, "", "74000", ""),
    ]);
    let summary = import(&host, &structure, second.as_bytes()).await.unwrap();
    assert_eq!(summary.applied["adeli_gone"], 1, "{}", summary.applied);
    assert_eq!(summary.applied["rpps_new"], 1);
    let notice = summary.applied["notices"][0].as_str().unwrap_or_default();
    assert!(
        notice.starts_with("1 professionnel ADELI disparu, 1 nouveau RPPS"),
        "{notice}"
    );
    // The job page of an upload shows it too (the host prints the module's notices).
    let mut manager = manager(&host, "cpts-a", "gestion@cpts-a.fr").await;
    let (_, page) = manager.get(&format!("{BASE}/?departs=1")).await;
    assert!(page.contains("Léa LEROY"), "{page}");
}

/// The operator's command line alone takes a new structure from its creation to an
/// imported directory: create-structure, enable-module, import rpps.
#[tokio::test]
async fn the_command_line_alone_creates_a_structure_and_imports_its_directory() {
    let dir = crate::support::fresh_dir();
    let config = crate::support::test_config(&dir);
    let mut common = vec!["--data-dir".to_string(), dir.display().to_string()];
    if let (Some(url), Some(schema)) = (&config.database_url, &config.database_schema) {
        common.extend(["--database-url".into(), url.clone()]);
        common.extend(["--database-schema".into(), schema.clone()]);
    }
    let run = |args: &[&str]| {
        let mut all: Vec<String> = std::iter::once("maillage")
            .chain(args.iter().copied())
            .map(str::to_string)
            .collect();
        all.extend(common.iter().cloned());
        maillage::cli::run_args(all)
    };
    run(&[
        "admin",
        "create-structure",
        "--slug",
        "cpts-cli",
        "--name",
        "CPTS de la Ligne",
        "--territory",
        "74000, 74960",
    ])
    .await
    .unwrap();
    let file = dir.join("extrait.txt");
    std::fs::write(
        &file,
        extract(&[
            line("10000000001", ("ADAM", "Anne"), MEDECIN, "", "74000", ""),
            line(
                "022802441",
                ("LEROY", "Léa"),
                ("91", "Orthophoniste"),
                "",
                "74960",
                "",
            ),
            line("10000000002", ("BRUN", "Bruno"), MEDECIN, "", "97300", ""),
        ]),
    )
    .unwrap();
    let path = file.display().to_string();
    // Before the directory is enabled, the import says which command to run.
    let err = run(&["import", "rpps", &path, "--structure", "cpts-cli"])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("maillage admin enable-module --structure cpts-cli annuaire"),
        "{err}"
    );
    let err = run(&[
        "admin",
        "enable-module",
        "--structure",
        "cpts-cli",
        "inconnu",
    ])
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("not installed"), "{err}");
    let err = run(&[
        "admin",
        "enable-module",
        "--structure",
        "cpts-cli",
        "annuaire",
        "--grant",
        "http:evil.example",
    ])
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("does not ask for"), "{err}");
    run(&[
        "admin",
        "enable-module",
        "--structure",
        "cpts-cli",
        "annuaire",
        "--grant",
        "all",
    ])
    .await
    .unwrap();
    run(&["import", "rpps", &path, "--structure", "cpts-cli"])
        .await
        .unwrap();

    let host = Host::at(dir.clone()).await;
    let structure = host
        .state
        .db
        .structure_by_slug("cpts-cli")
        .await
        .unwrap()
        .unwrap();
    let module = host
        .state
        .db
        .enabled_module(structure.id, "annuaire")
        .await
        .unwrap()
        .unwrap();
    assert!(
        module.granted.contains(&"blobs".to_string()),
        "{:?}",
        module.granted
    );
    let mut manager = manager(&host, "cpts-cli", "gestion@cpts-cli.fr").await;
    let (status, page) = manager.get("/cpts-cli/annuaire/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Anne ADAM") && page.contains("Léa LEROY"),
        "{page}"
    );
    assert!(!page.contains("Bruno BRUN"), "off the territory");
    let journal = host
        .state
        .db
        .audit_entries(Some(structure.id), 20)
        .await
        .unwrap();
    assert!(
        journal
            .iter()
            .any(|e| e.action == "module.enable" && e.target == "annuaire"),
        "the command line's enabling is audited"
    );

    run(&[
        "admin",
        "disable-module",
        "--structure",
        "cpts-cli",
        "annuaire",
    ])
    .await
    .unwrap();
    assert_eq!(
        manager.get("/cpts-cli/annuaire/").await.0,
        StatusCode::NOT_FOUND
    );
    drop(host);
    let _ = std::fs::remove_dir_all(&dir);
}

/// An impostor who linked a colleague's number (visible in the directory) cannot link a
/// second one (409, not a server error), and once a gestionnaire unlinks them, what the
/// false link brought is gone: the fiche, and the e-mail that Communication copied.
#[tokio::test]
async fn unlinking_removes_what_a_false_link_brought_and_a_second_link_is_refused() {
    let host = Host::new().await;
    let structure = directory_structure(&host, "cpts-a", "74000").await;
    let text = extract(&[
        line(
            "10000000001",
            ("ADAM", "Anne"),
            MEDECIN,
            "",
            "74000",
            "anne@exemple.fr",
        ),
        line("10000000002", ("BRUN", "Bruno"), MEDECIN, "", "74000", ""),
    ]);
    import(&host, &structure, text.as_bytes()).await.unwrap();
    let mut gestion = manager(&host, "cpts-a", "gestion@a.test").await;
    let (_, page) = gestion.get(&format!("{BASE}/")).await;
    let anne = professional_id(&page, "Anne ADAM");

    // A gestionnaire approves a false link by mistake.
    let mut impostor = signed_in(&host, "cpts-a", "mallory@a.test", "Mallory Menteur").await;
    verified_link(
        &mut impostor,
        &mut gestion,
        "10000000001",
        "Mallory Menteur",
    )
    .await;
    let (s, _, _) = impostor
        .post_form(
            &format!("{BASE}/ma-fiche/pro"),
            &[
                ("phone", "06 66 66 66 66"),
                ("email", "mallory@evil.example"),
            ],
        )
        .await;
    assert!(s.is_redirection(), "{s}");
    let (_, page) = gestion
        .get(&format!("{BASE}/communication?profession=10"))
        .await;
    assert!(page.contains("mallory@evil.example"), "{page}");
    // A second number for the same account: refused in French, nothing changed.
    let (s, _, page) = impostor
        .post_form(&format!("{BASE}/ma-fiche/lien"), &[("rpps", "10000000002")])
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{page}");
    assert!(
        page.contains("déjà relié à la fiche de Anne ADAM"),
        "{page}"
    );

    let (s, _, _) = gestion
        .post_form(&format!("{BASE}/p/{anne}/delier"), &[])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, fiche) = gestion.get(&format!("{BASE}/p/{anne}")).await;
    assert!(!fiche.contains("06 66 66 66 66"), "{fiche}");
    let (_, page) = gestion
        .get(&format!("{BASE}/communication?profession=10"))
        .await;
    assert!(!page.contains("mallory@evil.example"), "{page}");
    assert!(
        page.contains("anne@exemple.fr"),
        "the extract's address is back: {page}"
    );
    // The approved request went with the link: asking again is a new, pending request
    // that gives nothing.
    let (s, _, _) = impostor
        .post_form(&format!("{BASE}/ma-fiche/lien"), &[("rpps", "10000000001")])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, mine) = impostor.get(&format!("{BASE}/ma-fiche")).await;
    assert!(mine.contains("est en attente"), "{mine}");
    impostor
        .post_form(
            &format!("{BASE}/ma-fiche/pro"),
            &[("email", "mallory@evil.example")],
        )
        .await;
    let (_, page) = gestion
        .get(&format!("{BASE}/communication?profession=10"))
        .await;
    assert!(!page.contains("mallory@evil.example"), "{page}");
}

/// Anne and Bruno in the extract (with their addresses), a gestionnaire of cpts-a and
/// the ids of both professionals: what the link tests start from.
async fn two_doctors(host: &Host) -> (Client<'_>, String, String) {
    let structure = directory_structure(host, "cpts-a", "74000").await;
    let text = extract(&[
        line(
            "10000000001",
            ("ADAM", "Anne"),
            MEDECIN,
            "",
            "74000",
            "anne@exemple.fr",
        ),
        line(
            "10000000002",
            ("BRUN", "Bruno"),
            MEDECIN,
            "",
            "74000",
            "bruno@exemple.fr",
        ),
    ]);
    import(host, &structure, text.as_bytes()).await.unwrap();
    let mut gestion = manager(host, "cpts-a", "gestion@a.test").await;
    let (_, page) = gestion.get(&format!("{BASE}/")).await;
    let anne = professional_id(&page, "Anne ADAM");
    let bruno = professional_id(&page, "Bruno BRUN");
    (gestion, anne, bruno)
}

/// Issue 21, item 4: a member who signs in with the address the national extract gives
/// for the professional is linked at once (the host compares the addresses; the module
/// never learns the account's); another address waits for a gestionnaire.
#[tokio::test]
async fn a_link_is_approved_at_once_when_the_account_address_is_the_extracts() {
    let host = Host::new().await;
    let (mut gestion, anne_id, _) = two_doctors(&host).await;
    let mut anne = signed_in(&host, "cpts-a", "anne@exemple.fr", "Anne Adam").await;
    let (s, _, page) = anne
        .post_form(&format!("{BASE}/ma-fiche/lien"), &[("rpps", "10000000001")])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{page}");
    let (_, mine) = anne.get(&format!("{BASE}/ma-fiche")).await;
    assert!(!mine.contains("Votre demande de liaison"), "{mine}");
    assert!(
        mine.contains("/ma-fiche/pro"),
        "she may edit her fiche: {mine}"
    );
    let (_, list) = gestion.get(&format!("{BASE}/demandes")).await;
    assert!(
        !list.contains("<td>Anne Adam</td>"),
        "nothing left to decide: {list}"
    );
    let (_, fiche) = anne.get(&format!("{BASE}/p/{anne_id}")).await;
    assert!(fiche.contains("Anne ADAM"), "{fiche}");

    // A member whose address is not Bruno's asks for his fiche: that waits.
    let mut other = signed_in(&host, "cpts-a", "quelquun@a.test", "Quelqu’un").await;
    other
        .post_form(&format!("{BASE}/ma-fiche/lien"), &[("rpps", "10000000002")])
        .await;
    let (_, mine) = other.get(&format!("{BASE}/ma-fiche")).await;
    assert!(mine.contains("Votre demande de liaison"), "{mine}");
    let (_, list) = gestion.get(&format!("{BASE}/demandes")).await;
    assert!(list.contains("<td>Quelqu’un</td>"), "{list}");
}

/// Issue 21, item 4: a link is a request until a gestionnaire approves it. Pending, it
/// gives no right on the fiche and no address to the communication page; gestionnaires
/// of the structure alone decide.
#[tokio::test]
async fn a_link_is_a_request_that_gives_nothing_until_a_gestionnaire_approves_it() {
    let host = Host::new().await;
    let (mut gestion, anne_id, _) = two_doctors(&host).await;
    gestion
        .post_form(
            &format!("{BASE}/p/{anne_id}/statut"),
            &[("statut", "membre")],
        )
        .await;

    // Her account's e-mail is not the extract's: the request waits for a gestionnaire.
    let mut anne = signed_in(&host, "cpts-a", "anne.adam@a.test", "Anne Adam").await;
    let (s, location, page) = anne
        .post_form(&format!("{BASE}/ma-fiche/lien"), &[("rpps", "10000000001")])
        .await;
    assert_eq!(
        (s, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/cpts-a/annuaire/ma-fiche")),
        "{page}"
    );
    let (_, mine) = anne.get(&format!("{BASE}/ma-fiche")).await;
    assert!(
        mine.contains("Votre demande de liaison à la fiche de Anne ADAM")
            && mine.contains("est en attente de validation"),
        "{mine}"
    );
    assert!(
        !mine.contains("data-photo-upload") && !mine.contains("Compte relié à"),
        "no fiche to edit yet: {mine}"
    );
    let (_, account) = anne.get(&format!("{BASE}/mon-compte")).await;
    assert!(account.contains("est en attente"), "{account}");

    // Pending: her fiche cannot be written, her own status stays hidden.
    let (s, _, _) = anne
        .post_form(
            &format!("{BASE}/ma-fiche/pro"),
            &[
                ("phone", "04 50 11 22 33"),
                ("email", "cabinet@anne.example"),
            ],
        )
        .await;
    assert!(s.is_redirection(), "{s}");
    let (_, own) = anne.get(&format!("{BASE}/p/{anne_id}")).await;
    assert!(!own.contains("status-membre"), "not linked yet: {own}");
    let (_, fiche) = gestion.get(&format!("{BASE}/p/{anne_id}")).await;
    assert!(
        !fiche.contains("04 50 11 22 33") && !fiche.contains("Délier le compte"),
        "{fiche}"
    );
    assert!(
        fiche.contains("Demandes de liaison en attente") && fiche.contains("Anne Adam"),
        "the gestionnaire sees who asked: {fiche}"
    );
    let (_, page) = gestion
        .get(&format!("{BASE}/communication?profession=10"))
        .await;
    assert!(
        page.contains("anne@exemple.fr") && !page.contains("cabinet@anne.example"),
        "{page}"
    );

    // The gestionnaires' list: who asked, when, for whom.
    let (_, results) = gestion.get(&format!("{BASE}/")).await;
    assert!(results.contains("Demandes de liaison (1)"), "{results}");
    let (s, list) = gestion.get(&format!("{BASE}/demandes")).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert!(
        list.contains("<td>Anne Adam</td>")
            && list.contains("Anne ADAM")
            && list.contains("Demandée le")
            && list.contains("RPPS 10000000001"),
        "{list}"
    );
    let request = link_request_id(&list, "Anne Adam");
    let approve = format!("{BASE}/demandes/{request}/approuver");

    // A member who is not a gestionnaire: neither the list nor a decision.
    let mut marc = signed_in(&host, "cpts-a", "marc@a.test", "Marc Membre").await;
    let (s, _) = marc.get(&format!("{BASE}/demandes")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = marc.post_form(&approve, &[]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = anne.post_form(&approve, &[]).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "not a gestionnaire");
    // Another structure's gestionnaire: the structure and the request do not exist.
    directory_structure(&host, "cpts-b", "74000").await;
    let mut outsider = manager(&host, "cpts-b", "gestion@b.test").await;
    let (s, _, _) = outsider.post_form(&approve, &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = outsider
        .post_form(
            &format!("/cpts-b/annuaire/demandes/{request}/approuver"),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, mine) = anne.get(&format!("{BASE}/ma-fiche")).await;
    assert!(mine.contains("est en attente"), "nothing changed: {mine}");

    // Approved: linked, and the fiche is hers to write.
    let (s, location, _) = gestion.post_form(&approve, &[]).await;
    assert_eq!(
        (s, location.as_deref()),
        (
            StatusCode::SEE_OTHER,
            Some("/cpts-a/annuaire/demandes?fait=approuvee")
        )
    );
    let (_, list) = gestion
        .get(&format!("{BASE}/demandes?fait=approuvee"))
        .await;
    assert!(
        list.contains("La demande a été approuvée") && list.contains("Aucune demande en attente."),
        "{list}"
    );
    let (s, _, _) = gestion.post_form(&approve, &[]).await;
    assert_eq!(s, StatusCode::CONFLICT, "decided once");
    let (_, mine) = anne.get(&format!("{BASE}/ma-fiche")).await;
    assert!(
        mine.contains("Compte relié à") && mine.contains("data-photo-upload"),
        "{mine}"
    );
    let (s, _, _) = anne
        .post_form(
            &format!("{BASE}/ma-fiche/pro"),
            &[
                ("phone", "04 50 11 22 33"),
                ("email", "cabinet@anne.example"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, own) = anne.get(&format!("{BASE}/p/{anne_id}")).await;
    assert!(
        own.contains("status-membre") && own.contains("04 50 11 22 33"),
        "{own}"
    );
    let (_, fiche) = gestion.get(&format!("{BASE}/p/{anne_id}")).await;
    assert!(
        fiche.contains("Délier le compte") && !fiche.contains("Demandes de liaison en attente"),
        "{fiche}"
    );
    let (_, page) = gestion
        .get(&format!("{BASE}/communication?profession=10"))
        .await;
    assert!(page.contains("cabinet@anne.example"), "{page}");
}

/// A refused request can be asked again; approving one request for a professional
/// refuses the others; a gestionnaire's own request needs another gestionnaire.
#[tokio::test]
async fn a_refused_request_can_be_asked_again_and_one_approval_closes_the_others() {
    let host = Host::new().await;
    let (mut gestion, anne_id, bruno_id) = two_doctors(&host).await;
    let mut mallory = signed_in(&host, "cpts-a", "mallory@a.test", "Mallory Menteur").await;
    let mut bruno = signed_in(&host, "cpts-a", "bruno@a.test", "Bruno Brun").await;
    for member in [&mut mallory, &mut bruno] {
        let (s, _, page) = member
            .post_form(&format!("{BASE}/ma-fiche/lien"), &[("rpps", "10000000002")])
            .await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{page}");
    }
    let (_, fiche) = gestion.get(&format!("{BASE}/p/{bruno_id}")).await;
    assert!(
        fiche.contains("Mallory Menteur") && fiche.contains("Bruno Brun"),
        "both requests are shown: {fiche}"
    );

    decide_link(&mut gestion, "Mallory Menteur", "refuser").await;
    let (_, mine) = mallory.get(&format!("{BASE}/ma-fiche")).await;
    assert!(mine.contains("a été refusée"), "{mine}");
    // Asked again: pending again, listed again.
    let (s, _, _) = mallory
        .post_form(&format!("{BASE}/ma-fiche/lien"), &[("rpps", "10000000002")])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, mine) = mallory.get(&format!("{BASE}/ma-fiche")).await;
    assert!(mine.contains("est en attente"), "{mine}");
    let (_, list) = gestion.get(&format!("{BASE}/demandes")).await;
    assert!(list.contains("<td>Mallory Menteur</td>"), "{list}");

    // Bruno's approval closes Mallory's request; the number is taken.
    decide_link(&mut gestion, "Bruno Brun", "approuver").await;
    let (_, list) = gestion.get(&format!("{BASE}/demandes")).await;
    assert!(list.contains("Aucune demande en attente."), "{list}");
    let (_, mine) = mallory.get(&format!("{BASE}/ma-fiche")).await;
    assert!(mine.contains("a été refusée"), "{mine}");
    let (s, _, page) = mallory
        .post_form(&format!("{BASE}/ma-fiche/lien"), &[("rpps", "10000000002")])
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{page}");
    let (_, own) = bruno.get(&format!("{BASE}/ma-fiche")).await;
    assert!(own.contains("Compte relié à"), "{own}");

    // A gestionnaire (not an admin) asking for themselves: another one decides.
    let (s, _, _) = gestion
        .post_form(&format!("{BASE}/ma-fiche/lien"), &[("rpps", "10000000001")])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, list) = gestion.get(&format!("{BASE}/demandes")).await;
    assert!(
        list.contains("Votre propre demande") && !list.contains("/approuver"),
        "{list}"
    );
    let mut colleague = manager(&host, "cpts-a", "gestion2@a.test").await;
    let (_, list) = colleague.get(&format!("{BASE}/demandes")).await;
    let own = link_request_id(&list, "Gaëlle Gestionnaire");
    let (s, _, _) = gestion
        .post_form(&format!("{BASE}/demandes/{own}/approuver"), &[])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    decide_link(&mut colleague, "Gaëlle Gestionnaire", "approuver").await;
    let (_, fiche) = colleague.get(&format!("{BASE}/p/{anne_id}")).await;
    assert!(fiche.contains("Délier le compte"), "{fiche}");
}

/// Links made before links were verified (`professionals.user_id` set, no request)
/// stay approved: the member keeps editing their fiche, the gestionnaire can unlink.
#[tokio::test]
async fn links_made_before_requests_existed_still_work() {
    let host = Host::new().await;
    let (mut gestion, anne_id, _) = two_doctors(&host).await;
    let account = host
        .account("cpts-a", "anne@a.test", "Anne Adam", Role::Member)
        .await;
    // What directory 0.3.1 stored for a link: the account on the professional.
    let structure_id = host.structure_id("cpts-a").await;
    let linked = sqlx::query(
        "UPDATE c_annuaire__professionals SET f_user_id = $1 WHERE structure_id = $2 AND id = $3",
    )
    .bind(account.id.to_string())
    .bind(structure_id)
    .bind(anne_id.as_str())
    .execute(host.state.db.pool())
    .await
    .unwrap();
    assert_eq!(linked.rows_affected(), 1);

    let mut anne = signed_in(&host, "cpts-a", "anne@a.test", "Anne Adam").await;
    let (_, mine) = anne.get(&format!("{BASE}/ma-fiche")).await;
    assert!(mine.contains("Compte relié à"), "{mine}");
    let (s, _, _) = anne
        .post_form(
            &format!("{BASE}/ma-fiche/pro"),
            &[("email", "cabinet@anne.example")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, page) = gestion
        .get(&format!("{BASE}/communication?profession=10"))
        .await;
    assert!(page.contains("cabinet@anne.example"), "{page}");
    let (s, _, _) = gestion
        .post_form(&format!("{BASE}/p/{anne_id}/delier"), &[])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, page) = gestion
        .get(&format!("{BASE}/communication?profession=10"))
        .await;
    assert!(!page.contains("cabinet@anne.example"), "{page}");
}
