//! Import uploads: `POST /{structure}/imports/{module}` spools the file to disk (it may
//! be far larger than a form: the RPPS extract is ~600 MB), starts the import
//! ([`crate::imports`]) in the background and sends the browser to the job's page,
//! which shows the progress and then the summary.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;
use maud::{Markup, html};
use tokio::io::AsyncWriteExt;

use super::modules::enabled_plugins;
use super::{AppState, Ctx, not_found, see_other};
use crate::imports::{Importer, JobState, Progress};
use crate::storage::new_key;
use crate::tenancy::Role;
use crate::web;

pub struct Job {
    structure_id: i64,
    module: String,
    account_id: i64,
    file_name: String,
    progress: Arc<Progress>,
}

/// Imports started since the host started (progress pages read them).
#[derive(Default)]
pub struct Jobs(Mutex<HashMap<String, Arc<Job>>>);

impl Jobs {
    fn insert(&self, id: String, job: Arc<Job>) {
        if let Ok(mut jobs) = self.0.lock() {
            jobs.insert(id, job);
        }
    }
    fn get(&self, id: &str) -> Option<Arc<Job>> {
        self.0.lock().ok()?.get(id).cloned()
    }
}

fn page(status: StatusCode, title: &str, body: Markup) -> Response {
    (
        status,
        Html(web::page(title, &web::Shell::default(), body).into_string()),
    )
        .into_response()
}

/// Imports are for the structure's admins and members holding a role the target module
/// declares (the directory's « gestionnaire »; the module checks again in its own
/// routes).
async fn may_import(state: &AppState, member: &super::MemberCtx, module: &str) -> bool {
    if member.membership.role == Role::Admin {
        return true;
    }
    let structure_id = member.membership.structure.id;
    let held = async {
        let mut conn = state.db.pool().acquire().await?;
        crate::people::module_roles(&mut conn, structure_id, member.account().id, module).await
    }
    .await;
    held.is_ok_and(|roles| !roles.is_empty())
}

pub async fn upload(
    State(state): State<AppState>,
    Path((slug, module)): Path<(String, String)>,
    ctx: Ctx,
    request: Request,
) -> Response {
    let member = match ctx.member_of(&slug, Role::Member) {
        Ok(m) => m,
        Err(response) => return response,
    };
    let structure = member.membership.structure.clone();
    match state.db.enabled_module(structure.id, &module).await {
        Ok(Some(_)) => {}
        Ok(None) => return not_found(),
        Err(e) => return super::internal_error("module lookup failed", e),
    }
    if !may_import(&state, &member, &module).await {
        return super::forbidden();
    }
    // Read as multipart only now: visitors without the right get 404/403, not 400.
    let Ok(mut multipart) = Multipart::from_request(request, &state).await else {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Import",
            web::alert("Choisissez le fichier à importer."),
        );
    };
    let mut field = loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.file_name().is_some() => break field,
            Ok(Some(_)) => continue,
            Ok(None) | Err(_) => {
                return page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Import",
                    web::alert("Choisissez le fichier à importer."),
                );
            }
        }
    };
    let file_name = field.file_name().unwrap_or("extrait").to_string();
    let id = new_key();
    if let Err(e) = tokio::fs::create_dir_all(&state.import_dir).await {
        return super::internal_error("cannot create the import folder", e);
    }
    let path = state.import_dir.join(format!("{id}.upload"));
    let spooled: Result<u64, Response> = async {
        let mut file = tokio::fs::File::create(&path)
            .await
            .map_err(|e| super::internal_error("cannot spool an import", e))?;
        let mut size: u64 = 0;
        loop {
            match field.chunk().await {
                Ok(Some(bytes)) => {
                    size += bytes.len() as u64;
                    if size > state.import_limit {
                        return Err(page(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "Import",
                            web::alert(&format!(
                                "Le fichier dépasse la taille autorisée ({} Mio).",
                                state.import_limit >> 20
                            )),
                        ));
                    }
                    file.write_all(&bytes)
                        .await
                        .map_err(|e| super::internal_error("cannot spool an import", e))?;
                }
                Ok(None) => break,
                Err(_) => {
                    return Err(page(
                        StatusCode::BAD_REQUEST,
                        "Import",
                        web::alert("L’envoi du fichier a été interrompu. Veuillez réessayer."),
                    ));
                }
            }
        }
        file.flush()
            .await
            .map_err(|e| super::internal_error("cannot spool an import", e))?;
        Ok(size)
    }
    .await;
    let size = match spooled {
        Ok(size) => size,
        Err(response) => {
            let _ = tokio::fs::remove_file(&path).await;
            return response;
        }
    };
    let progress = Arc::new(Progress::new(size));
    let job = Arc::new(Job {
        structure_id: structure.id,
        module: module.clone(),
        account_id: member.account().id,
        file_name: file_name.clone(),
        progress: progress.clone(),
    });
    state.import_jobs.insert(id.clone(), job);
    let importer = Importer::Member {
        account: member.account().clone(),
        roles: member.membership.role_names(),
    };
    let task_state = state.clone();
    let task_module = module.clone();
    tokio::spawn(async move {
        let outcome = crate::imports::run(
            &task_state,
            &structure,
            &task_module,
            &importer,
            &path,
            &file_name,
            &progress,
        )
        .await;
        match outcome {
            Ok(summary) => {
                tracing::info!(structure = %structure.slug, module = %task_module, lines = summary.lines, kept = summary.kept_lines, elapsed_ms = summary.elapsed.as_millis() as u64, "import done")
            }
            Err(e) => {
                tracing::warn!(structure = %structure.slug, module = %task_module, error = %e, "import failed")
            }
        }
        let _ = tokio::fs::remove_file(&path).await;
    });
    see_other(&format!("/{slug}/imports/{module}/{id}"))
}

#[derive(serde::Deserialize, Default)]
pub struct ProgressQuery {
    /// "1": only the progress part, for the page's own polling (htmx), without layout.
    fragment: Option<String>,
}

pub async fn progress(
    State(state): State<AppState>,
    Path((slug, module, id)): Path<(String, String, String)>,
    Query(query): Query<ProgressQuery>,
    ctx: Ctx,
) -> Response {
    let member = match ctx.member_of(&slug, Role::Member) {
        Ok(m) => m,
        Err(response) => return response,
    };
    let structure = &member.membership.structure;
    let Some(job) = state.import_jobs.get(&id).filter(|j| {
        j.structure_id == structure.id
            && j.module == module
            && (j.account_id == member.account().id || member.membership.role == Role::Admin)
    }) else {
        return not_found();
    };
    let poll_url = format!("/{}/imports/{}/{}?fragment=1", structure.slug, module, id);
    let module_link = format!("/{}/{}/", structure.slug, module);
    let progress = progress_part(&job.progress, &poll_url, &module_link);
    if query.fragment.as_deref() == Some("1") {
        return Html(progress.into_string()).into_response();
    }
    let enabled = match enabled_plugins(&state, structure).await {
        Ok(e) => e,
        Err(response) => return response,
    };
    let body = html! {
        h1 { "Import de « " (job.file_name) " »" }
        (progress)
    };
    Html(
        web::page(
            "Import",
            &member.shell(&enabled.manifests, Some(&module)),
            body,
        )
        .into_string(),
    )
    .into_response()
}

/// The job's state: while it runs, the element asks for itself again every second
/// (`hx-get` on `poll_url`, swapped in place); once finished it carries no trigger, so
/// the polling stops. Without JavaScript, a link reloads the page.
fn progress_part(p: &Progress, poll_url: &str, module_link: &str) -> Markup {
    let read_lines = p.lines.load(std::sync::atomic::Ordering::Relaxed);
    let kept = p.kept.load(std::sync::atomic::Ordering::Relaxed);
    match p.state() {
        state @ (JobState::Reading | JobState::Applying) => {
            let (label, value) = match state {
                JobState::Reading => ("Lecture du fichier", p.per_mille()),
                _ => ("Enregistrement dans l’annuaire", 1000),
            };
            html! {
                div #import-progress hx-get=(poll_url) hx-trigger="every 1s" hx-swap="outerHTML" {
                    p #import-state data-state="running" { (label) "…" }
                    progress max="1000" value=(value) aria-label="Progression" {}
                    " " (value / 10) " %"
                    p { (read_lines) " lignes lues, dont " (kept) " du territoire." }
                    noscript { a href="" { "Actualiser" } }
                }
            }
        }
        JobState::Done(summary) => {
            let applied = &summary.applied;
            html! {
                div #import-progress {
                    div.notice #import-state data-state="done" role="status" {
                        p { "Import terminé en " (format!("{:.1}", summary.elapsed.as_secs_f64())) " s." }
                        ul {
                            li { (summary.lines) " lignes lues, dont " (summary.kept_lines) " du territoire" }
                            li { (applied["people"].as_u64().unwrap_or(0)) " professionnels sur le territoire" }
                            li { (applied["arrivals"].as_u64().unwrap_or(0)) " nouveaux arrivants" }
                            li { (applied["departures"].as_u64().unwrap_or(0)) " départs" }
                            li { (summary.bad_lines) " ligne(s) mal formée(s), ignorée(s)" }
                        }
                    }
                    // The module's own remarks for whoever imports, as it wrote them.
                    @for notice in applied["notices"].as_array().into_iter().flatten().filter_map(|n| n.as_str()) {
                        p.alert.import-notice role="note" { (notice) }
                    }
                    @if !summary.errors.is_empty() {
                        h2 { "Lignes mal formées" }
                        ul.errors {
                            @for (line, reason) in &summary.errors {
                                li { "Ligne " (line) " : " (reason) }
                            }
                        }
                    }
                    p { a.button href=(module_link) { "Voir l’annuaire" } }
                }
            }
        }
        JobState::Failed(message) => html! {
            div #import-progress {
                div.alert #import-state data-state="failed" role="alert" { (message) }
                p { a href={ (module_link) "import" } { "Revenir à l’import" } }
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imports::Summary;

    /// While the job runs, its part asks htmx to fetch it again every second (only that
    /// part, never the whole page); once done or failed it stops asking.
    #[test]
    fn the_progress_part_polls_only_while_the_job_runs() {
        let progress = Progress::new(1000);
        let running = progress_part(&progress, "/s/imports/m/j?fragment=1", "/s/m/").into_string();
        assert!(
            running.contains("hx-get=\"/s/imports/m/j?fragment=1\"")
                && running.contains("hx-trigger=\"every 1s\"")
                && running.contains("hx-swap=\"outerHTML\""),
            "{running}"
        );
        assert!(!running.contains("<script"), "{running}");
        progress.set(JobState::Done(Summary::default()));
        let done = progress_part(&progress, "/s/imports/m/j?fragment=1", "/s/m/").into_string();
        assert!(
            done.contains("data-state=\"done\"") && !done.contains("hx-trigger"),
            "{done}"
        );
        progress.set(JobState::Failed("Le fichier est vide.".into()));
        let failed = progress_part(&progress, "/s/imports/m/j?fragment=1", "/s/m/").into_string();
        assert!(
            failed.contains("Le fichier est vide.") && !failed.contains("hx-get"),
            "{failed}"
        );
    }
}
