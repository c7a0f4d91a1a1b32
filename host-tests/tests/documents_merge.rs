//! Collaborative Markdown texts of the documents module (`plugins/cloud`, module id
//! `documents`, docs/cloud-library-design.md part B) end to end, through the real host
//! and the real component, on both backends: two members who opened the same version
//! and changed different paragraphs get both changes (« fusion avec la version 2 »);
//! the same line changed twice is a conflict (409) that saves nothing, shows both lines
//! between French markers, refuses a text with markers left and saves the corrected
//! one, or « Remplacer par mon texte » (« a remplacé la version 2 », the other text
//! still readable); concurrent saves queue (two revisions a round, or one and a
//! conflict); versions, their diff and a restore; a browser's CRLF over stored LF is no
//! conflict; who writes (référents and coordinators create, members edit, guests and
//! outsiders read or see nothing, other structures see nothing, an archived project is
//! read-only, a bad base or a missing CSRF token is refused); hostile Markdown stays
//! text.

use http::StatusCode;

use crate::cloud::{cloud_host, signed_in, world};
use crate::projects::{El, all, borrowed, first, parse_attrs, same, says, start_tag_end, unescape};
use crate::support::{Client, Host};

/// The module in structure A, and in structure B.
const A: &str = "/cpts-a/documents";
const B: &str = "/cpts-b/documents";

const ONLY_MANAGERS: &str =
    "Seuls les référents et les coordinateurs ajoutent des documents à ce projet.";
const ONLY_MEMBERS: &str = "Seuls les membres du projet modifient ses textes.";
const ARCHIVED: &str = "Ce projet est archivé : ses documents ne sont plus modifiables.";
const UNKNOWN_BASE: &str = "La version de départ est inconnue. Rechargez la page.";
const MARKERS_LEFT: &str = "Le texte contient encore des marques de conflit";
const NO_TITLE: &str = "Indiquez le titre du texte.";

/// The four paragraphs of the protocol every test starts from.
const PARAGRAPHS: [&str; 4] = [
    "Le patient appelle d’abord son médecin traitant.",
    "Sinon, le secrétariat propose un créneau dédié du jour.",
    "En cas de doute, le médecin appelle la régulation du SAS.",
    "Chaque demande est **tracée** dans le dossier du patient.",
];

/// Rounds of each race.
const ROUNDS: i64 = 10;

/// The protocol's Markdown with these paragraphs: a heading, then the paragraphs
/// separated by blank lines (so that changing the first and the third is disjoint).
fn protocol(p: [&str; 4]) -> String {
    format!(
        "# Conduite à tenir\n\n{}\n\n{}\n\n{}\n\n{}\n",
        p[0], p[1], p[2], p[3]
    )
}

/// [`protocol`] of owned paragraphs.
fn protocol_of(p: &[String; 4]) -> String {
    protocol([p[0].as_str(), p[1].as_str(), p[2].as_str(), p[3].as_str()])
}

/// A browser's textarea: every line ending as CRLF.
fn crlf(text: &str) -> String {
    text.replace('\n', "\r\n")
}

/// A text of the module: its id and its title (posted again with each save).
pub(crate) struct Text {
    pub(crate) id: String,
    pub(crate) title: &'static str,
}

/// Creates a Markdown text in project `group` of the module mounted at `mount`, at the
/// project's root, as `client`: 303 to its page with `?ok=cree`.
pub(crate) async fn create_text(
    client: &mut Client<'_>,
    mount: &str,
    group: &str,
    title: &'static str,
    text: &str,
) -> Text {
    let (status, location, body) = client
        .post_form(
            &format!("{mount}/g/{group}/textes"),
            &[("titre", title), ("texte", text), ("dossier", "")],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "creating « {title} »: {body}"
    );
    let location = location.expect("the new text's page");
    let prefix = format!("{mount}/d/");
    let id = location
        .strip_prefix(prefix.as_str())
        .and_then(|rest| rest.strip_suffix("?ok=cree"))
        .unwrap_or_else(|| panic!("unexpected location {location}"));
    assert!(!id.is_empty() && !id.contains('/'), "{location}");
    Text {
        id: id.to_string(),
        title,
    }
}

/// Creates a text in structure A.
async fn create(client: &mut Client<'_>, group: &str, title: &'static str, text: &str) -> Text {
    create_text(client, A, group, title, text).await
}

/// Saves `text` over revision `base` of `doc` (its title unchanged).
async fn save(
    client: &mut Client<'_>,
    doc: &Text,
    text: &str,
    summary: &str,
    base: &str,
) -> (StatusCode, Option<String>, String) {
    client
        .post_form(
            &format!("{A}/d/{}/modifier", doc.id),
            &[
                ("titre", doc.title),
                ("texte", text),
                ("resume", summary),
                ("base", base),
            ],
        )
        .await
}

/// [`save`] that must be taken (303): where it leads.
async fn saved(
    client: &mut Client<'_>,
    doc: &Text,
    text: &str,
    summary: &str,
    base: &str,
) -> String {
    let (status, location, body) = save(client, doc, text, summary, base).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "saving over {base}: {body}");
    location.expect("where the save leads")
}

/// Where a save of `doc` leads: its page with the banner `ok`.
fn outcome(doc: &Text, ok: &str) -> String {
    format!("{A}/d/{}?ok={ok}", doc.id)
}

/// What the editor opens (`GET /d/{id}/modifier`): the head's number (hidden `base`)
/// and its text (the textarea).
async fn head(client: &mut Client<'_>, doc: &Text) -> (i64, String) {
    let path = format!("{A}/d/{}/modifier", doc.id);
    let (status, page) = client.get(&path).await;
    assert_eq!(status, StatusCode::OK, "GET {path}: {page}");
    let form = editor_form(&page);
    let base = form.get("base");
    let number: i64 = base
        .parse()
        .unwrap_or_else(|_| panic!("hidden base « {base} » is no number: {page}"));
    (number, form.get("texte").to_string())
}

/// Asserts that the head of `doc` is revision `number` holding `text` (line endings of
/// the stored text, LF, and its final newline aside).
async fn assert_head(client: &mut Client<'_>, doc: &Text, number: i64, text: &str, what: &str) {
    let (n, stored) = head(client, doc).await;
    assert_eq!(n, number, "{what}: the head's number");
    assert!(
        !stored.contains('\r'),
        "{what}: a CR was stored: {stored:?}"
    );
    assert_eq!(
        stored.trim_end(),
        text.trim_end(),
        "{what}: the head's text"
    );
}

/// A page's GET that must answer 200.
async fn page(client: &mut Client<'_>, path: &str) -> String {
    let (status, body) = client.get(path).await;
    assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
    body
}

/// The history page of `doc`.
async fn history(client: &mut Client<'_>, doc: &Text) -> String {
    page(client, &format!("{A}/d/{}/historique", doc.id)).await
}

/// The revision numbers a history page lists (`data-revision`), in its order.
pub(crate) fn revisions(page: &str) -> Vec<i64> {
    let marker = "data-revision=\"";
    let mut seen: Vec<i64> = Vec::new();
    for (at, _) in page.match_indices(marker) {
        let rest = &page[at + marker.len()..];
        let value = &rest[..rest.find('"').expect("a closing quote")];
        let n: i64 = value
            .parse()
            .unwrap_or_else(|_| panic!("data-revision=\"{value}\" is no number"));
        if !seen.contains(&n) {
            seen.push(n);
        }
    }
    seen
}

/// The text of the element of a history page that carries `data-revision="{n}"`.
pub(crate) fn revision_entry(page: &str, n: i64) -> String {
    let marker = format!("data-revision=\"{n}\"");
    let at = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no revision {n} in {page}"));
    let open = page[..at].rfind('<').expect("its start tag");
    let tag: String = page[open + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let wanted = n.to_string();
    crate::projects::elements(page, &tag)
        .into_iter()
        .find(|el| el.attr("data-revision") == Some(wanted.as_str()))
        .unwrap_or_else(|| panic!("no <{tag}> of revision {n} in {page}"))
        .text()
}

/// `entry` (a text already collapsed by [`crate::projects::text_of`]) says `what`,
/// case and typography aside.
pub(crate) fn mentions(entry: &str, what: &str) -> bool {
    entry.to_lowercase().contains(&same(what).to_lowercase())
}

/// The rendered Markdown of a text's page.
fn rendered(page: &str) -> El {
    first(page, "div.markdown")
}

/// The texts of the elements (any tag) carrying class `class`: a diff's lines.
fn with_class(page: &str, class: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for (at, _) in page.match_indices('<') {
        let name: String = page[at + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if name.is_empty() || tags.contains(&name) {
            continue;
        }
        let from = at + 1 + name.len();
        let Some(end) = start_tag_end(page, from) else {
            continue;
        };
        let classes = parse_attrs(&page[from..end]);
        if classes
            .iter()
            .any(|(n, v)| n == "class" && v.split_whitespace().any(|c| c == class))
        {
            tags.push(name);
        }
    }
    tags.iter()
        .flat_map(|tag| all(page, &format!("{tag}.{class}")))
        .map(|el| el.text())
        .collect()
}

/// The distinct documents a folder page links to (`{mount}/d/{id}`), in order.
fn listed(page: &str, mount: &str) -> Vec<String> {
    let marker = format!("href=\"{mount}/d/");
    let mut ids: Vec<String> = Vec::new();
    for (at, _) in page.match_indices(marker.as_str()) {
        let rest = &page[at + marker.len()..];
        let end = rest.find(['"', '?', '/', '#']).unwrap_or(rest.len());
        let id = rest[..end].to_string();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// Whether a text's page offers its editor.
fn offers_editor(page: &str, doc: &Text) -> bool {
    page.contains(&format!("href=\"{A}/d/{}/modifier\"", doc.id))
}

/// A form of a page as a browser submits it: its action and its fields (hidden and
/// visible inputs, textareas), the CSRF token left to [`Client::post_form`].
struct Form {
    action: String,
    fields: Vec<(String, String)>,
}

impl Form {
    fn value(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn get(&self, name: &str) -> &str {
        self.value(name)
            .unwrap_or_else(|| panic!("no field {name} in {:?}", self.fields))
    }

    fn set(&mut self, name: &str, value: &str) {
        match self.fields.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value.to_string(),
            None => self.fields.push((name.to_string(), value.to_string())),
        }
    }
}

/// What a textarea holds: its content unescaped, without the newline HTML drops after
/// the start tag.
fn textarea_value(area: &El) -> String {
    let inner = unescape(&area.inner);
    inner
        .strip_prefix('\n')
        .unwrap_or(inner.as_str())
        .to_string()
}

fn forms(page: &str) -> Vec<Form> {
    all(page, "form")
        .iter()
        .map(|form| {
            let mut fields: Vec<(String, String)> = Vec::new();
            for input in form.all("input") {
                let Some(name) = input.attr("name") else {
                    continue;
                };
                let kind = input.attr("type").unwrap_or("text").to_ascii_lowercase();
                if name == "csrf"
                    || ["submit", "button", "reset", "image", "file"].contains(&kind.as_str())
                {
                    continue;
                }
                if (kind == "checkbox" || kind == "radio") && input.attr("checked").is_none() {
                    continue;
                }
                fields.push((
                    name.to_string(),
                    input.attr("value").unwrap_or_default().to_string(),
                ));
            }
            for area in form.all("textarea") {
                if let Some(name) = area.attr("name") {
                    fields.push((name.to_string(), textarea_value(&area)));
                }
            }
            Form {
                action: form.attr("action").unwrap_or_default().to_string(),
                fields,
            }
        })
        .collect()
}

/// The editor's form (`texte`, `base`), on the editor or in a conflict view.
fn editor_form(page: &str) -> Form {
    forms(page)
        .into_iter()
        .find(|f| {
            f.value("texte").is_some() && f.value("base").is_some() && f.value("choix").is_none()
        })
        .unwrap_or_else(|| panic!("no form with texte and base in {page}"))
}

/// The conflict view's « Texte fusionné à corriger » (`conflit`).
fn conflict_form(page: &str) -> Form {
    forms(page)
        .into_iter()
        .find(|f| f.value("conflit").is_some() && f.value("texte").is_some())
        .unwrap_or_else(|| panic!("no form with conflit in {page}"))
}

/// The conflict view's « Remplacer par mon texte » (`choix`).
fn choice_form(page: &str) -> Form {
    forms(page)
        .into_iter()
        .find(|f| f.value("choix").is_some())
        .unwrap_or_else(|| panic!("no form with choix in {page}"))
}

/// Posts `form` as a browser would (to its action; the editor's route if it has none).
async fn submit(
    client: &mut Client<'_>,
    doc: &Text,
    form: &Form,
) -> (StatusCode, Option<String>, String) {
    let action = if form.action.starts_with('/') {
        form.action.clone()
    } else {
        format!("{A}/d/{}/modifier", doc.id)
    };
    client.post_form(&action, &borrowed(&form.fields)).await
}

/// A conflict marker line of a proposal (markers of 7 characters).
fn is_marker(line: &str) -> bool {
    line.starts_with("<<<<<<< ")
        || line.starts_with("||||||| ")
        || line == "======="
        || line.starts_with(">>>>>>> ")
}

/// Archives project `group` of structure `sid`, as its référent Rémi does on the host's
/// « Groupes » pages.
async fn archive(host: &Host, sid: i64, group: &str) {
    let db = &host.state.db;
    let remi = db
        .account_by_login("remi@a.test")
        .await
        .unwrap()
        .expect("Rémi");
    let group = db
        .group(sid, group.parse::<i64>().unwrap(), remi.id)
        .await
        .unwrap()
        .expect("the group");
    db.set_group_archived(&group, true).await.unwrap();
}

#[tokio::test]
async fn disjoint_edits_merge_same_line_edits_conflict_and_nothing_is_lost() {
    let host = cloud_host().await;
    let w = world(&host).await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut gus = signed_in(&host, "gus@a.test").await;
    let p = PARAGRAPHS;
    let v1 = protocol(p);

    // The référent writes the text: listed in the project, its page renders the
    // Markdown at version 1; its members see the editor, a guest only reads.
    let doc = create(&mut remi, &w.open, "Protocole de soins non programmés", &v1).await;
    let folder = page(&mut remi, &format!("{A}/g/{}", w.open)).await;
    assert!(listed(&folder, A).contains(&doc.id), "{folder}");
    let text_page = page(&mut anne, &outcome(&doc, "cree")).await;
    assert!(
        all(&text_page, "h1")
            .iter()
            .any(|h| h.text().contains(&same(doc.title))),
        "the title as heading: {text_page}"
    );
    let md = rendered(&text_page);
    assert!(md.inner.contains("<strong>tracée</strong>"), "{}", md.html);
    assert!(md.text().contains(&same(p[0])), "{}", md.html);
    assert!(!md.inner.contains("**"), "{}", md.html);
    assert!(says(&text_page, "Version 1 —"), "{text_page}");
    assert!(offers_editor(&text_page, &doc), "{text_page}");
    assert!(
        text_page.contains(&format!("{A}/d/{}/historique", doc.id)),
        "{text_page}"
    );
    let guest_page = page(&mut gus, &format!("{A}/d/{}", doc.id)).await;
    assert!(!offers_editor(&guest_page, &doc), "{guest_page}");
    assert!(rendered(&guest_page).text().contains(&same(p[0])));

    // 1. Anne and Rémi open version 1; Anne changes the first paragraph, Rémi the third:
    // his save is merged with hers.
    assert_head(&mut anne, &doc, 1, &v1, "Anne opens").await;
    assert_head(&mut remi, &doc, 1, &v1, "Rémi opens").await;
    let anne_first = "Le patient appelle d’abord son médecin traitant, ou son remplaçant.";
    let remi_third = "En cas de doute, le médecin appelle la régulation du SAS au 15.";
    let anne_text = protocol([anne_first, p[1], p[2], p[3]]);
    let location = saved(&mut anne, &doc, &anne_text, "Le remplaçant aussi", "1").await;
    assert_eq!(location, outcome(&doc, "enregistre"));
    let after = page(&mut anne, &location).await;
    assert!(says(&after, "Modifications enregistrées."), "{after}");
    assert!(says(&after, "Version 2 —"), "{after}");
    let remi_text = protocol([p[0], p[1], remi_third, p[3]]);
    let location = saved(&mut remi, &doc, &remi_text, "Numéro de la régulation", "1").await;
    assert_eq!(location, format!("{A}/d/{}?ok=fusion&avec=2", doc.id));
    let after = page(&mut remi, &location).await;
    assert!(
        says(
            &after,
            "Vos modifications ont été fusionnées avec la version 2"
        ),
        "{after}"
    );
    assert!(says(&after, "vérifiez le résultat"), "{after}");
    let both = protocol([anne_first, p[1], remi_third, p[3]]);
    assert_head(&mut remi, &doc, 3, &both, "the merge").await;
    let shown = rendered(&after).text();
    assert!(
        shown.contains(&same(anne_first)) && shown.contains(&same(remi_third)),
        "both changes on the page: {shown}"
    );
    let listing = history(&mut gus, &doc).await;
    assert_eq!(revisions(&listing), [3, 2, 1], "{listing}");
    let third = revision_entry(&listing, 3);
    assert!(mentions(&third, "fusion avec la version 2"), "{third}");
    assert!(mentions(&third, "Rémi Référent"), "{third}");
    assert!(mentions(&third, "Numéro de la régulation"), "{third}");
    let second = revision_entry(&listing, 2);
    assert!(mentions(&second, "Anne Active"), "{second}");
    assert!(mentions(&second, "Le remplaçant aussi"), "{second}");
    assert!(!mentions(&second, "fusion"), "{second}");

    // Saving the same text again makes no revision.
    let location = saved(&mut anne, &doc, &both, "", "3").await;
    assert_eq!(location, outcome(&doc, "inchange"));
    let after = page(&mut anne, &location).await;
    assert!(
        says(&after, "Aucune modification à enregistrer."),
        "{after}"
    );
    assert_eq!(revisions(&history(&mut anne, &doc).await), [3, 2, 1]);

    // Every version stays readable; a version's diff shows what it added and removed.
    let first_version = page(&mut gus, &format!("{A}/d/{}/v/1", doc.id)).await;
    assert!(says(&first_version, p[0]), "{first_version}");
    assert!(!says(&first_version, anne_first), "{first_version}");
    let second_version = page(&mut gus, &format!("{A}/d/{}/v/2", doc.id)).await;
    assert!(says(&second_version, anne_first), "{second_version}");
    assert!(!says(&second_version, remi_third), "{second_version}");
    for n in ["99", "0"] {
        let (status, _) = gus.get(&format!("{A}/d/{}/v/{n}", doc.id)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "version {n}");
    }
    let diff = page(&mut gus, &format!("{A}/d/{}/v/2/diff", doc.id)).await;
    let added = with_class(&diff, "ajout");
    let removed = with_class(&diff, "retrait");
    assert!(
        added.iter().any(|l| l.contains(&same(anne_first))),
        "added {added:?}: {diff}"
    );
    assert!(
        removed.iter().any(|l| l.contains(&same(p[0]))),
        "removed {removed:?}: {diff}"
    );
    assert!(
        !added
            .iter()
            .chain(&removed)
            .any(|l| l.contains(&same(p[1]))),
        "an unchanged line is neither added nor removed: {diff}"
    );

    // Restoring version 1 makes version 4 with its text; a guest may not restore.
    let (status, _, body) = gus
        .post_form(&format!("{A}/d/{}/v/2/restaurer", doc.id), &[])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, location, body) = anne
        .post_form(&format!("{A}/d/{}/v/1/restaurer", doc.id), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(
        location.as_deref(),
        Some(outcome(&doc, "restaure").as_str())
    );
    let after = page(&mut anne, &outcome(&doc, "restaure")).await;
    assert!(says(&after, "Version restaurée."), "{after}");
    assert_head(&mut anne, &doc, 4, &v1, "the restore").await;
    let listing = history(&mut anne, &doc).await;
    assert_eq!(revisions(&listing), [4, 3, 2, 1], "{listing}");
    let fourth = revision_entry(&listing, 4);
    assert!(
        mentions(&fourth, "restauration de la version 1"),
        "{fourth}"
    );

    // 2. The same line changed by both: a conflict that saves nothing until resolved.
    let doc = create(&mut remi, &w.open, "Permanence du samedi", &v1).await;
    let anne_second = "Sinon, le secrétariat propose un créneau dédié avant midi.";
    let remi_second = "Sinon, la secrétaire appelle le cabinet de garde.";
    let anne_text = protocol([p[0], anne_second, p[2], p[3]]);
    let remi_text = protocol([p[0], remi_second, p[2], p[3]]);
    assert_eq!(
        saved(&mut anne, &doc, &anne_text, "", "1").await,
        outcome(&doc, "enregistre")
    );
    let (status, _, conflict) = save(&mut remi, &doc, &remi_text, "Cabinet de garde", "1").await;
    assert_eq!(status, StatusCode::CONFLICT, "{conflict}");
    assert!(says(&conflict, "Conflit de modification"), "{conflict}");
    assert!(
        says(&conflict, anne_second) && says(&conflict, remi_second),
        "both lines shown: {conflict}"
    );
    let mut fix = conflict_form(&conflict);
    assert_eq!(fix.get("base"), "2");
    assert_eq!(fix.get("conflit"), "1");
    assert_eq!(fix.get("marques"), "7");
    let proposal = fix.get("texte").to_string();
    let lines: Vec<&str> = proposal.lines().collect();
    let at = |wanted: &str| {
        lines
            .iter()
            .position(|l| *l == wanted)
            .unwrap_or_else(|| panic!("no line « {wanted} » in the proposal:\n{proposal}"))
    };
    let theirs_marker = lines
        .iter()
        .position(|l| l.starts_with(">>>>>>> Version 2"))
        .unwrap_or_else(|| panic!("no « >>>>>>> Version 2 » in:\n{proposal}"));
    assert!(
        lines[theirs_marker].contains("Anne Active"),
        "{}",
        lines[theirs_marker]
    );
    let (ours, mine, middle, hers) = (
        at("<<<<<<< Votre texte"),
        at(remi_second),
        at("======="),
        at(anne_second),
    );
    assert!(
        ours < mine && mine < middle && middle < hers && hers < theirs_marker,
        "Rémi's text, then Anne's, between the markers:\n{proposal}"
    );
    at(p[0]);
    at(p[2]);
    assert_eq!(
        choice_form(&conflict).get("choix"),
        "mien",
        "« Remplacer par mon texte » is offered"
    );
    assert_eq!(
        revisions(&history(&mut remi, &doc).await),
        [2, 1],
        "a conflict saves nothing"
    );
    assert_head(&mut remi, &doc, 2, &anne_text, "after the conflict").await;
    // Sent back with the markers in: refused, his text kept in the form, nothing saved.
    let (status, _, body) = submit(&mut remi, &doc, &fix).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(says(&body, MARKERS_LEFT), "{body}");
    assert!(says(&body, remi_second), "his text is kept: {body}");
    assert_eq!(revisions(&history(&mut remi, &doc).await), [2, 1]);
    // The markers removed (both lines kept): saved as version 3.
    let resolved: String = proposal
        .lines()
        .filter(|l| !is_marker(l))
        .map(|l| format!("{l}\n"))
        .collect();
    fix.set("texte", &resolved);
    let (status, location, body) = submit(&mut remi, &doc, &fix).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(
        location.as_deref(),
        Some(outcome(&doc, "enregistre").as_str())
    );
    assert_head(&mut anne, &doc, 3, &resolved, "the resolution").await;
    assert_eq!(revisions(&history(&mut anne, &doc).await), [3, 2, 1]);

    // 3. « Remplacer par mon texte »: his whole text, explicitly replacing version 2,
    // which stays readable.
    let doc = create(&mut remi, &w.open, "Créneaux dédiés", &v1).await;
    assert_eq!(
        saved(&mut anne, &doc, &anne_text, "", "1").await,
        outcome(&doc, "enregistre")
    );
    let (status, _, conflict) = save(&mut remi, &doc, &remi_text, "", "1").await;
    assert_eq!(status, StatusCode::CONFLICT, "{conflict}");
    let mine = choice_form(&conflict);
    assert_eq!(mine.get("choix"), "mien");
    assert_eq!(mine.get("base"), "2");
    assert_eq!(mine.get("texte").trim_end(), remi_text.trim_end());
    let (status, location, body) = submit(&mut remi, &doc, &mine).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let location = location.expect("the text's page");
    assert!(
        location.starts_with(&format!("{A}/d/{}", doc.id)),
        "{location}"
    );
    assert_head(&mut anne, &doc, 3, &remi_text, "the replacement").await;
    let listing = history(&mut anne, &doc).await;
    assert_eq!(revisions(&listing), [3, 2, 1], "{listing}");
    let third = revision_entry(&listing, 3);
    assert!(mentions(&third, "a remplacé la version 2"), "{third}");
    let replaced = page(&mut anne, &format!("{A}/d/{}/v/2", doc.id)).await;
    assert!(says(&replaced, anne_second), "{replaced}");

    // 7. A browser's CRLF over the stored LF: a clean merge, no spurious conflict, no CR
    // stored; the same text in CRLF is no change.
    let doc = create(&mut remi, &w.open, "Fin de journée", &v1).await;
    let anne_text = protocol([anne_first, p[1], p[2], p[3]]);
    assert_eq!(
        saved(&mut anne, &doc, &anne_text, "", "1").await,
        outcome(&doc, "enregistre")
    );
    let remi_text = crlf(&protocol([p[0], p[1], remi_third, p[3]]));
    assert_eq!(
        saved(&mut remi, &doc, &remi_text, "", "1").await,
        format!("{A}/d/{}?ok=fusion&avec=2", doc.id),
        "CRLF against LF is no conflict"
    );
    let both = protocol([anne_first, p[1], remi_third, p[3]]);
    assert_head(&mut remi, &doc, 3, &both, "the CRLF merge").await;
    assert_eq!(
        saved(&mut remi, &doc, &crlf(&both), "", "3").await,
        outcome(&doc, "inchange")
    );
    assert_eq!(revisions(&history(&mut remi, &doc).await), [3, 2, 1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_saves_queue_disjoint_ones_merge_and_overlapping_ones_conflict() {
    let host = cloud_host().await;
    let w = world(&host).await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;

    // 4. Each round, both save over the head at once, Rémi the first paragraph, Anne the
    // third: two new consecutive revisions, the second merged, the head holding both.
    let doc = create(
        &mut remi,
        &w.open,
        "Course aux paragraphes",
        &protocol(PARAGRAPHS),
    )
    .await;
    let path = format!("{A}/d/{}/modifier", doc.id);
    let mut current: [String; 4] = PARAGRAPHS.map(str::to_string);
    for round in 1..=ROUNDS {
        let (h, text) = head(&mut remi, &doc).await;
        assert_eq!(h, 2 * round - 1, "round {round}");
        assert_eq!(text.trim_end(), protocol_of(&current).trim_end());
        let first_line = format!("Tour {round} : Rémi reformule le premier paragraphe.");
        let third_line = format!("Tour {round} : Anne reformule le troisième paragraphe.");
        let his = protocol([
            first_line.as_str(),
            current[1].as_str(),
            current[2].as_str(),
            current[3].as_str(),
        ]);
        let hers = protocol([
            current[0].as_str(),
            current[1].as_str(),
            third_line.as_str(),
            current[3].as_str(),
        ]);
        let base = h.to_string();
        let his_fields = [
            ("titre", doc.title),
            ("texte", his.as_str()),
            ("resume", ""),
            ("base", base.as_str()),
        ];
        let her_fields = [
            ("titre", doc.title),
            ("texte", hers.as_str()),
            ("resume", ""),
            ("base", base.as_str()),
        ];
        let (his_answer, her_answer) = tokio::join!(
            remi.post_form(&path, &his_fields),
            anne.post_form(&path, &her_fields)
        );
        for (who, (status, _, body)) in [("Rémi", &his_answer), ("Anne", &her_answer)] {
            assert_eq!(
                *status,
                StatusCode::SEE_OTHER,
                "round {round}, {who}: {body}"
            );
        }
        let mut locations = vec![
            his_answer.1.clone().unwrap_or_default(),
            her_answer.1.clone().unwrap_or_default(),
        ];
        locations.sort();
        let mut wanted = vec![
            outcome(&doc, "enregistre"),
            format!("{A}/d/{}?ok=fusion&avec={}", doc.id, h + 1),
        ];
        wanted.sort();
        assert_eq!(locations, wanted, "round {round}: one saved, one merged");
        current[0] = first_line;
        current[2] = third_line;
        assert_head(
            &mut anne,
            &doc,
            h + 2,
            &protocol_of(&current),
            &format!("round {round}"),
        )
        .await;
    }
    let all_revisions: Vec<i64> = (1..=2 * ROUNDS + 1).rev().collect();
    assert_eq!(revisions(&history(&mut remi, &doc).await), all_revisions);

    // 5. Each round, both change the second paragraph at once: one saved, one conflict,
    // never two revisions ignoring each other.
    let doc = create(
        &mut remi,
        &w.open,
        "Course à la même ligne",
        &protocol(PARAGRAPHS),
    )
    .await;
    let path = format!("{A}/d/{}/modifier", doc.id);
    let p = PARAGRAPHS;
    for round in 1..=ROUNDS {
        let (h, _) = head(&mut remi, &doc).await;
        assert_eq!(h, round, "round {round}: one revision a round");
        let his_line = format!("Tour {round} : le secrétariat de Rémi rappelle le patient.");
        let her_line = format!("Tour {round} : le secrétariat d’Anne oriente vers le SAS.");
        let his = protocol([p[0], his_line.as_str(), p[2], p[3]]);
        let hers = protocol([p[0], her_line.as_str(), p[2], p[3]]);
        let base = h.to_string();
        let his_fields = [
            ("titre", doc.title),
            ("texte", his.as_str()),
            ("resume", ""),
            ("base", base.as_str()),
        ];
        let her_fields = [
            ("titre", doc.title),
            ("texte", hers.as_str()),
            ("resume", ""),
            ("base", base.as_str()),
        ];
        let (his_answer, her_answer) = tokio::join!(
            remi.post_form(&path, &his_fields),
            anne.post_form(&path, &her_fields)
        );
        let (kept, saved_answer, refused) = if his_answer.0 == StatusCode::SEE_OTHER
            && her_answer.0 == StatusCode::CONFLICT
        {
            (his, &his_answer, &her_answer)
        } else if his_answer.0 == StatusCode::CONFLICT && her_answer.0 == StatusCode::SEE_OTHER {
            (hers, &her_answer, &his_answer)
        } else {
            panic!(
                "round {round}: Rémi {} and Anne {}, not one 303 and one 409:\n{}\n{}",
                his_answer.0, her_answer.0, his_answer.2, her_answer.2
            );
        };
        assert_eq!(
            saved_answer.1.as_deref(),
            Some(outcome(&doc, "enregistre").as_str()),
            "round {round}"
        );
        assert!(
            says(&refused.2, "Conflit de modification"),
            "round {round}: {}",
            refused.2
        );
        assert_eq!(
            conflict_form(&refused.2).get("base"),
            (h + 1).to_string(),
            "round {round}: the conflict is against the new head"
        );
        assert_head(&mut anne, &doc, h + 1, &kept, &format!("round {round}")).await;
    }
    let all_revisions: Vec<i64> = (1..=ROUNDS + 1).rev().collect();
    assert_eq!(revisions(&history(&mut remi, &doc).await), all_revisions);
}

#[tokio::test]
async fn who_writes_texts_what_is_refused_and_hostile_markdown_stays_text() {
    let host = cloud_host().await;
    let w = world(&host).await;
    let mut remi = signed_in(&host, "remi@a.test").await;
    let mut claire = signed_in(&host, "claire@a.test").await;
    let mut anne = signed_in(&host, "anne@a.test").await;
    let mut gus = signed_in(&host, "gus@a.test").await;
    let mut oscar = signed_in(&host, "oscar@a.test").await;
    let mut bob = signed_in(&host, "bob@b.test").await;
    let p = PARAGRAPHS;
    let v1 = protocol(p);
    let changed = protocol([p[0], "Un changement refusé.", p[2], p[3]]);

    // Référents and coordinators create texts; a membre actif does not; a title is
    // needed. What is refused is not kept.
    let textes = format!("{A}/g/{}/textes", w.open);
    let (status, _, body) = anne
        .post_form(
            &textes,
            &[
                ("titre", "Texte d’Anne"),
                ("texte", v1.as_str()),
                ("dossier", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(says(&body, ONLY_MANAGERS), "{body}");
    let (status, _, body) = remi
        .post_form(
            &textes,
            &[("titre", ""), ("texte", v1.as_str()), ("dossier", "")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(says(&body, NO_TITLE), "{body}");
    let doc = create(&mut remi, &w.open, "Protocole ouvert", &v1).await;
    let note = create(
        &mut claire,
        &w.open,
        "Note de la coordination",
        "Une note.\n",
    )
    .await;
    let folder = page(&mut remi, &format!("{A}/g/{}", w.open)).await;
    let ids = listed(&folder, A);
    assert!(ids.contains(&doc.id) && ids.contains(&note.id), "{folder}");
    assert_eq!(ids.len(), 2, "nothing refused was kept: {folder}");
    assert!(!folder.contains("Texte d’Anne"), "{folder}");

    // A base that is no revision of the text: refused, nothing saved.
    for base in ["0", "abc", "2", "99"] {
        let (status, _, body) = save(&mut anne, &doc, &changed, "", base).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "base {base}: {body}"
        );
        assert!(says(&body, UNKNOWN_BASE), "base {base}: {body}");
    }
    // Without the CSRF token: the host refuses.
    let (status, _, _) = anne
        .post_raw(
            &format!("{A}/d/{}/modifier", doc.id),
            &[
                ("titre", doc.title),
                ("texte", changed.as_str()),
                ("resume", ""),
                ("base", "1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A guest, and a member of another group (an open project), read but do not edit.
    for (who, client) in [("Gustave", &mut gus), ("Oscar", &mut oscar)] {
        let text_page = page(client, &format!("{A}/d/{}", doc.id)).await;
        assert!(!offers_editor(&text_page, &doc), "{who}: {text_page}");
        let (status, _, body) = save(client, &doc, &changed, "", "1").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}: {body}");
        assert!(says(&body, ONLY_MEMBERS), "{who}: {body}");
    }
    assert_head(&mut anne, &doc, 1, &v1, "after the refusals").await;
    assert_eq!(revisions(&history(&mut anne, &doc).await), [1]);

    // A closed project's text does not exist for a member outside its group.
    let secret = "Texte confidentiel du groupe fermé.";
    let closed = create(
        &mut remi,
        &w.closed,
        "Plan confidentiel",
        &format!("{secret}\n"),
    )
    .await;
    for path in [
        format!("{A}/d/{}", closed.id),
        format!("{A}/d/{}/modifier", closed.id),
        format!("{A}/d/{}/historique", closed.id),
        format!("{A}/d/{}/v/1", closed.id),
        format!("{A}/d/{}/v/1/diff", closed.id),
    ] {
        let (status, body) = oscar.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!body.contains(secret), "{path}: {body}");
    }
    let (status, _, _) = save(&mut oscar, &closed, &changed, "", "1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = oscar
        .post_form(&format!("{A}/d/{}/v/1/restaurer", closed.id), &[])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let inside = page(&mut anne, &format!("{A}/d/{}", closed.id)).await;
    assert!(says(&inside, secret), "its members read it: {inside}");
    assert_head(
        &mut anne,
        &closed,
        1,
        &format!("{secret}\n"),
        "the closed text",
    )
    .await;

    // Another structure: B's text is nowhere in A, A's nowhere in B.
    let b_sid = host.structure_id("cpts-b").await;
    let bob_id = host
        .state
        .db
        .account_by_login("bob@b.test")
        .await
        .unwrap()
        .expect("Bob")
        .id;
    let b_group = host
        .state
        .db
        .create_group(b_sid, "Groupe de Bob", "", true, bob_id)
        .await
        .unwrap()
        .to_string();
    let theirs_text = "Texte de la structure B.";
    let theirs = create_text(
        &mut bob,
        B,
        &b_group,
        "Texte de Bob",
        &format!("{theirs_text}\n"),
    )
    .await;
    for path in [
        format!("{B}/d/{}", doc.id),
        format!("{B}/d/{}/modifier", doc.id),
        format!("{B}/d/{}/historique", doc.id),
        format!("{B}/d/{}/v/1", doc.id),
    ] {
        let (status, body) = bob.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!says(&body, p[0]), "{path}: {body}");
    }
    let (status, _, _) = bob
        .post_form(
            &format!("{B}/d/{}/modifier", doc.id),
            &[
                ("titre", doc.title),
                ("texte", changed.as_str()),
                ("resume", ""),
                ("base", "1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for path in [
        format!("{A}/d/{}", theirs.id),
        format!("{A}/d/{}/modifier", theirs.id),
        format!("{A}/d/{}/historique", theirs.id),
        format!("{A}/d/{}/v/1", theirs.id),
    ] {
        let (status, body) = remi.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!body.contains(theirs_text), "{path}: {body}");
    }
    let (status, _, _) = save(&mut remi, &theirs, &changed, "", "1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_head(&mut remi, &doc, 1, &v1, "after B's attempt").await;
    let bobs = page(&mut bob, &format!("{B}/d/{}", theirs.id)).await;
    assert!(says(&bobs, theirs_text), "{bobs}");
    assert!(says(&bobs, "Version 1 —"), "after A's attempt: {bobs}");

    // An archived project's texts are read-only, for its référent too.
    let archived = create(&mut remi, &w.other, "Protocole diabète", &v1).await;
    archive(&host, w.sid, &w.other).await;
    let (status, _, body) = save(&mut oscar, &archived, &changed, "", "1").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(says(&body, ARCHIVED), "{body}");
    let (status, _, body) = remi
        .post_form(
            &format!("{A}/g/{}/textes", w.other),
            &[
                ("titre", "Trop tard"),
                ("texte", v1.as_str()),
                ("dossier", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(says(&body, ARCHIVED), "{body}");
    let text_page = page(&mut oscar, &format!("{A}/d/{}", archived.id)).await;
    assert!(says(&text_page, "Version 1 —"), "{text_page}");
    assert!(!offers_editor(&text_page, &archived), "{text_page}");
    assert_eq!(revisions(&history(&mut oscar, &archived).await), [1]);

    // Hostile Markdown: raw HTML is shown as text, a javascript: link loses its href,
    // an http(s) link stays.
    let hostile = create(
        &mut remi,
        &w.open,
        "Texte piégé",
        "# Piège\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n\
         Un lien [x](javascript:alert(1)) et un vrai [site](https://www.example.org/).\n",
    )
    .await;
    let text_page = page(&mut anne, &format!("{A}/d/{}", hostile.id)).await;
    let md = rendered(&text_page);
    let inner = md.inner.to_lowercase();
    assert!(!inner.contains("<script"), "{}", md.html);
    assert!(!inner.contains("<img"), "{}", md.html);
    assert!(!inner.contains("javascript:"), "{}", md.html);
    assert!(
        md.inner.contains("&lt;script&gt;"),
        "shown as text: {}",
        md.html
    );
    assert!(
        md.inner.contains("href=\"https://www.example.org/\""),
        "{}",
        md.html
    );
    assert!(md.text().contains("Un lien x et un vrai"), "{}", md.html);
    assert!(!text_page.contains("<script>alert(1)"), "{text_page}");
    assert!(
        !text_page.to_lowercase().contains("href=\"javascript:"),
        "{text_page}"
    );
}
