//! The pages: « Documents » (the projects the member may read), a project's folders and
//! documents, a document (preview, versions, comments). A Markdown text's page is
//! [`crate::texts`]'s.

use std::collections::HashMap;

use maillage_sdk::html::{Markup, csrf_field, href, html, script};
use maillage_sdk::records::{self, Query};
use maillage_sdk::{Response, blobs};

use crate::comments;
use crate::files::{self, Preview, size_fr};
use crate::model::{self, DOCUMENTS, Document, Folder, MAX_LABEL, Place, Version, Viewer};
use crate::settings;
use crate::ui::{self, PageResult};
use crate::upload::MAX_FILES;

/// Counts per value of an aggregate's grouping field.
fn counts(groups: Vec<records::Group>) -> HashMap<String, i64> {
    groups
        .into_iter()
        .filter_map(|g| Some((records::id_text(&g.key)?, g.count)))
        .collect()
}

/// `GET /` « Documents »: the projects the member may read, with their documents.
pub fn home(query: &str) -> PageResult {
    let viewer = Viewer::current();
    let by_group = counts(Query::new().aggregate(DOCUMENTS, Some("group_id"), None)?);
    let admin = maillage_sdk::has_role("admin");
    let body = html! {
        (ui::head())
        div class="toolbar" {
            h1 { "Documents" }
            @if admin {
                a class="button" href=(href("/reglages")) { "Limites des documents" }
            }
        }
        (ui::notice(query))
        @if viewer.groups.is_empty() {
            p class="empty" { "Aucun projet ne vous est ouvert pour le moment." }
        } @else {
            ul class="projets-documents" {
                @for group in &viewer.groups {
                    @let n = by_group.get(&group.id).copied().unwrap_or(0);
                    li class="projet" data-groupe=(group.id) data-documents=(n) {
                        a href=(href(&format!("/g/{}", group.id))) { (group.name) }
                        " "
                        span class="badges" {
                            span class="badge" { (if group.open { "Ouvert" } else { "Fermé" }) }
                            @if group.archived {
                                " " span class="badge archive" { "Archivé" }
                            }
                            @if let Some(role) = group.my_role {
                                " " span class="badge role" data-role=(ui::role_code(role)) { (ui::role_label(role)) }
                            }
                        }
                        " · "
                        span class="muted" { (ui::count(n, "aucun document", "document", "documents")) }
                    }
                }
            }
        }
        @if viewer.coordinator {
            (republish_form())
        }
    };
    Ok(Response::page("Documents", body))
}

/// For coordinators, under the projects: `document.saved` again for every document
/// (`POST /republier`), for a module enabled after they were saved.
fn republish_form() -> Markup {
    html! {
        section id="republier" aria-labelledby="republier-titre" {
            h2 id="republier-titre" { "Autres modules" }
            form method="post" action=(href("/republier")) {
                (csrf_field())
                p class="muted" {
                    "Un module activé après coup (les projets, par exemple) peut recevoir à "
                    "nouveau tous les documents des projets, à leur version actuelle."
                }
                button type="submit" class="secondary" { "Republier les documents aux autres modules" }
            }
        }
    }
}

/// The trail to a folder of a project: « Documents › Projet › Dossier › … ».
pub(crate) fn trail(place: &Place, folders: &[Folder]) -> Vec<(String, String)> {
    let mut links = vec![
        ("Documents".to_string(), "/".to_string()),
        (place.group.name.clone(), place.path()),
    ];
    for f in folders {
        links.push((f.name.clone(), f.path()));
    }
    links
}

pub(crate) fn breadcrumb(links: &[(String, String)], here: &str) -> Markup {
    let borrowed: Vec<(&str, String)> = links
        .iter()
        .map(|(label, path)| (label.as_str(), path.clone()))
        .collect();
    ui::breadcrumb(&borrowed, here)
}

/// The trail to a document: its project and the folders it is in.
pub(crate) fn document_trail(
    document: &Document,
    place: &Place,
) -> Result<Vec<(String, String)>, records::StoreError> {
    let chain = if document.folder.is_empty() {
        Vec::new()
    } else {
        match model::folder_in(place, &document.folder)? {
            Some(folder) => model::ancestry(&folder)?,
            None => Vec::new(),
        }
    };
    Ok(trail(place, &chain))
}

/// `GET /g/{g}[?dossier={f}]`: a project's folder (the root by default): its folders,
/// its documents, and for référents and coordinators the forms to add documents and
/// create a folder.
pub fn group(group_id: &str, query: &str) -> PageResult {
    let Some(place) = model::place(group_id) else {
        return Ok(Response::not_found());
    };
    let folder_id = ui::param(query, "dossier");
    let chain: Vec<Folder> = if folder_id.is_empty() {
        Vec::new()
    } else {
        match model::folder_in(&place, &folder_id)? {
            Some(folder) => model::ancestry(&folder)?,
            None => return Ok(Response::not_found()),
        }
    };
    let current = chain.last();
    let here = current.map(|f| f.id.clone()).unwrap_or_default();
    let subfolders = model::folders_in(&place.group.id, &here)?;
    let documents = model::documents_in(&place.group.id, &here)?;
    let in_folders = counts(
        Query::new()
            .filter("group_id = {:g}")
            .param("g", &place.group.id)
            .aggregate(DOCUMENTS, Some("folder"), None)?,
    );
    let comment_counts = comments::counts(&documents)?;
    let limits = settings::limits()?;
    let can_add = place.manages() && !place.archived();
    let title = match current {
        Some(f) => f.name.clone(),
        None => place.group.name.clone(),
    };
    let links = if chain.is_empty() {
        vec![("Documents".to_string(), "/".to_string())]
    } else {
        let mut links = trail(&place, &chain);
        links.pop();
        links
    };
    // The parent folder, or the project's root, for a folder.
    let up: Option<String> = current.map(|f| {
        if f.parent.is_empty() {
            place.path()
        } else {
            format!("/g/{}?dossier={}", place.group.id, f.parent)
        }
    });
    let body = html! {
        (ui::head())
        (breadcrumb(&links, &title))
        header class="projet" {
            h1 { (title) }
            p class="badges" {
                span class="badge" { (if place.group.open { "Ouvert" } else { "Fermé" }) }
                @if place.archived() {
                    " " span class="badge archive" { "Archivé" }
                }
                @if let Some(role) = place.role() {
                    " " span class="badge role" data-role=(ui::role_code(role)) { (ui::role_label(role)) }
                }
            }
        }
        (ui::notice(query))
        @if place.archived() {
            p class="muted" { (ui::ARCHIVED) }
        }
        @if !subfolders.is_empty() {
            section class="dossiers" {
                h2 { "Dossiers" }
                ul class="dossiers" {
                    @for f in &subfolders {
                        @let n = in_folders.get(&f.id).copied().unwrap_or(0);
                        li class="dossier" data-dossier=(f.id) data-documents=(n) {
                            a href=(href(&f.path())) { (f.name) }
                            " · "
                            span class="muted" { (ui::count(n, "aucun document", "document", "documents")) }
                        }
                    }
                }
            }
        }
        section class="liste-documents" {
            h2 { "Documents" }
            @if documents.is_empty() {
                p class="empty" { "Aucun document dans ce dossier." }
            } @else {
                table class="documents list" {
                    thead {
                        tr {
                            th { "Nom" }
                            th { "Taille" }
                            th { "Dernière version" }
                            th { "Versions" }
                            th { "Commentaires" }
                        }
                    }
                    tbody {
                        @for d in &documents {
                            @let n_comments = comment_counts.get(&d.id).copied().unwrap_or(0);
                            tr class="document" data-document=(d.id) data-versions=(d.current)
                                data-octets=(d.size) data-commentaires=(n_comments)
                                data-type=(if d.is_markdown() { "texte" } else { "fichier" }) {
                                td class="nom" {
                                    a href=(href(&d.path())) { (d.name) }
                                    @if d.is_markdown() {
                                        " " span class="type-document" { "Texte" }
                                    }
                                }
                                td class="taille" { (size_fr(d.size.max(0) as u64)) }
                                td class="derniere-version" {
                                    (ui::when(d.last_at))
                                    @if !d.last_by_name.is_empty() {
                                        ", par " (d.last_by_name)
                                    }
                                }
                                td class="versions" { (d.current) }
                                td class="commentaires" { (n_comments) }
                            }
                        }
                    }
                }
            }
        }
        @if can_add {
            section class="ajout" {
                h2 { "Ajouter des documents" }
                // The token first: the host reads it from the body's first part. With
                // JavaScript, documents.js sends each file to `data-envoi` (the host's
                // streamed route) and posts their ids to `data-depot`.
                form class="ajout-documents stack" method="post" enctype="multipart/form-data"
                    action=(href(&format!("{}/documents", place.path())))
                    data-envoi=(upload_route())
                    data-depot=(href(&format!("{}/deposes", place.path())))
                    data-max=(MAX_FILES)
                    data-limite=(limits.file_bytes())
                    data-limite-texte=(size_fr(limits.file_bytes())) {
                    (csrf_field())
                    input type="hidden" name="dossier" value=(here);
                    label for="fichiers" { "Fichiers" }
                    input id="fichiers" type="file" name="fichiers" multiple required;
                    p class="muted" {
                        "Jusqu’à " (MAX_FILES) " fichiers à la fois, de "
                        (size_fr(limits.file_bytes())) " au plus chacun."
                    }
                    (upload_progress("Vous pouvez aussi faire glisser les fichiers sur ce formulaire."))
                    button type="submit" { "Ajouter les documents" }
                }
                form class="nouveau-dossier stack" method="post"
                    action=(href(&format!("{}/dossiers", place.path()))) {
                    (csrf_field())
                    input type="hidden" name="parent" value=(here);
                    label for="nom-dossier" { "Nouveau dossier" }
                    input id="nom-dossier" type="text" name="nom" required maxlength=(model::MAX_FOLDER_NAME);
                    button type="submit" { "Créer le dossier" }
                }
            }
            (crate::texts::new_text_section(&place, &here, "", "", None))
            (script("documents.js"))
        } @else if place.contributes() && !place.archived() {
            p class="muted" {
                "Les référents du projet et les coordinateurs ajoutent les documents ; vous "
                "pouvez en déposer de nouvelles versions, modifier les textes et les commenter."
            }
        } @else if place.may_comment() && !place.archived() {
            p class="muted" {
                "Vous êtes invité(e) dans ce projet : vous pouvez lire ses documents et les "
                "commenter."
            }
        }
        @if let Some(up) = &up {
            p { a href=(href(up)) { "Remonter au dossier parent" } }
        } @else {
            p { a href=(href("/")) { "Tous les projets" } }
        }
    };
    Ok(Response::page(&title, body))
}

/// The host's streamed upload route for the module's files, `/{structure}/fichiers/documents`
/// (not under the module's mount: the host's own).
fn upload_route() -> String {
    format!(
        "/{}/fichiers/{}",
        maillage_sdk::context().structure,
        crate::MODULE_ID
    )
}

/// What documents.js fills in an upload form: the drag-and-drop hint (`hint`, hidden
/// until the script runs), the progress of each file (`div.envois`), and its errors
/// (`p.erreur-envoi`, read out as they come). Nothing shows without JavaScript.
fn upload_progress(hint: &str) -> Markup {
    html! {
        p class="depot-indication muted" hidden { (hint) }
        div class="envois" {}
        p class="erreur-envoi" aria-live="assertive" {}
    }
}

/// The preview of the current version: the image itself, or a link that opens a PDF or
/// a text in a new tab (the browser's own viewer: the platform forbids framing).
fn preview(document: &Document, path: &str) -> Markup {
    html! {
        @match files::preview(&document.content_type) {
            Preview::Image => {
                figure class="apercu" {
                    img src=(path) alt={ "Aperçu de " (document.name) };
                }
            }
            Preview::Pdf => {
                p {
                    a class="button apercu" href=(path) target="_blank" rel="noopener" {
                        "Ouvrir l’aperçu du PDF dans un nouvel onglet"
                    }
                }
            }
            Preview::Text => {
                p {
                    a class="button apercu" href=(path) target="_blank" rel="noopener" {
                        "Ouvrir le texte dans un nouvel onglet"
                    }
                }
            }
            Preview::Download => {
                p class="muted pas-d-apercu" {
                    "Pas d’aperçu pour ce type de fichier : téléchargez-le pour l’ouvrir."
                }
            }
        }
    }
}

/// One version of the tables: number, file, when, who, size, and what the member may do.
fn version_row(document: &Document, v: &Version, place: &Place) -> Markup {
    let path = blobs::download_path(&v.blob);
    let current = v.number == document.current;
    let writable = place.contributes() && !place.archived();
    let base = format!("{}/versions/{}", document.path(), v.number);
    html! {
        tr class=(if current { "version actuelle" } else { "version" })
            data-version=(v.number) data-actuelle=(if current { "true" } else { "false" })
            data-nommee=(if v.named() { "true" } else { "false" })
            data-restauree-de=[v.restored_from] {
            td class="numero" {
                "Version " (v.number)
                @if current {
                    " " span class="badge" { "actuelle" }
                }
            }
            td class="fichier" {
                @if v.named() {
                    strong class="libelle" { (v.label) }
                    br;
                }
                (v.name)
                @if let Some(from) = v.restored_from {
                    br;
                    span class="restauration" { "Restauration de la version " (from) }
                }
            }
            td class="quand" { (ui::when(v.created_at)) }
            td class="par" { (v.by_name) }
            td class="taille" { (size_fr(v.size.max(0) as u64)) }
            td class="actions" {
                a class="telecharger-version" href=(path) download=(files::download_name(&v.name)) {
                    "Télécharger"
                }
                @if writable && !current {
                    form class="inline" method="post" action=(href(&format!("{base}/restaurer"))) {
                        (csrf_field())
                        button type="submit" class="small"
                            data-confirm={ "Restaurer la version " (v.number) " ? Elle deviendra une nouvelle version ; rien n’est effacé." } {
                            "Restaurer"
                        }
                    }
                }
                @if writable {
                    details class="nommer" {
                        summary { (if v.named() { "Renommer cette version" } else { "Nommer cette version" }) }
                        form class="stack" method="post" action=(href(&format!("{base}/nommer"))) {
                            (csrf_field())
                            label for={ "libelle-" (v.number) } { "Nom de la version (vide : la version n’est plus nommée)" }
                            input id={ "libelle-" (v.number) } type="text" name="libelle"
                                maxlength=(MAX_LABEL) value=(v.label);
                            button type="submit" class="small" { "Enregistrer le nom" }
                        }
                    }
                }
            }
        }
    }
}

fn versions_table(document: &Document, versions: &[&Version], place: &Place) -> Markup {
    html! {
        table class="versions list" {
            thead {
                tr {
                    th { "Version" }
                    th { "Fichier" }
                    th { "Déposée le" }
                    th { "Par" }
                    th { "Taille" }
                    th { "Actions" }
                }
            }
            tbody {
                @for v in versions {
                    (version_row(document, v, place))
                }
            }
        }
    }
}

/// `GET /d/{doc}`: the document, its preview, its versions (named ones apart from the
/// automatic history), the form for a new version, its comments.
pub fn document(document_id: &str, query: &str) -> PageResult {
    let Some((document, place)) = model::document(document_id)? else {
        return Ok(Response::not_found());
    };
    if document.is_markdown() {
        return crate::texts::page(&document, &place, query);
    }
    let links = document_trail(&document, &place)?;
    let versions = model::versions_of(&document.id)?;
    let named: Vec<&Version> = versions.iter().filter(|v| v.named()).collect();
    let automatic: Vec<&Version> = versions.iter().filter(|v| !v.named()).collect();
    let path = blobs::download_path(&document.blob);
    let current_name = versions
        .iter()
        .find(|v| v.number == document.current)
        .map(|v| v.name.clone())
        .unwrap_or_else(|| document.name.clone());
    let limits = settings::limits()?;
    let thread = comments::section(&document, &place)?;
    let writable = place.contributes() && !place.archived();
    let body = html! {
        (ui::head())
        (breadcrumb(&links, &document.name))
        header class="document" data-document=(document.id) data-version-actuelle=(document.current) {
            h1 { (document.name) }
            p class="muted" {
                (files::kind_label(&document.content_type)) " · " (size_fr(document.size.max(0) as u64))
                " · version " (document.current) " du " (ui::when(document.last_at))
                @if !document.last_by_name.is_empty() {
                    ", par " (document.last_by_name)
                }
            }
        }
        (ui::notice(query))
        @if place.archived() {
            p class="muted" { (ui::ARCHIVED) }
        }
        (preview(&document, &path))
        div class="actions-document" {
            a class="button telecharger" href=(path) download=(files::download_name(&current_name)) {
                "Télécharger la version actuelle"
            }
        }
        @if writable {
            section class="nouvelle-version" {
                h2 { "Déposer une nouvelle version" }
                // The token first: the host reads it from the body's first part. With
                // JavaScript, documents.js sends the file to `data-envoi` (the host's
                // streamed route) and posts its id to `data-depot`.
                form class="nouvelle-version stack" method="post" enctype="multipart/form-data"
                    action=(href(&format!("{}/versions", document.path())))
                    data-envoi=(upload_route())
                    data-depot=(href(&format!("{}/versions/depose", document.path())))
                    data-max="1"
                    data-limite=(limits.file_bytes())
                    data-limite-texte=(size_fr(limits.file_bytes())) {
                    (csrf_field())
                    label for="fichier" { "Fichier" }
                    input id="fichier" type="file" name="fichier" required;
                    label for="libelle" { "Nommer cette version (facultatif)" }
                    input id="libelle" type="text" name="libelle" maxlength=(MAX_LABEL);
                    p class="muted" {
                        "La version actuelle reste dans l’historique. "
                        (size_fr(limits.file_bytes())) " au plus."
                    }
                    (upload_progress("Vous pouvez aussi faire glisser le fichier sur ce formulaire."))
                    button type="submit" { "Déposer la nouvelle version" }
                }
            }
            (script("documents.js"))
        }
        section class="versions-nommees" {
            h2 { "Versions nommées" }
            @if named.is_empty() {
                p class="empty" { "Aucune version nommée." }
            } @else {
                (versions_table(&document, &named, &place))
            }
        }
        section class="historique" {
            h2 { "Historique des versions" }
            @if automatic.is_empty() {
                p class="empty" { "Toutes les versions sont nommées." }
            } @else {
                (versions_table(&document, &automatic, &place))
            }
        }
        (crate::publish::section(&document))
        (thread)
    };
    Ok(Response::page(&document.name, body))
}
