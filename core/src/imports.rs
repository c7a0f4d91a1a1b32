//! Bulk imports into a module, for files far larger than one plugin call may hold (the
//! national RPPS extract: ~600 MB). The host streams the file and drives the module
//! through two routes (the "import protocol"):
//!
//! 1. `POST {module}/import/filter?first_line=N` for each chunk of whole lines, the
//!    header line first: the module keeps what concerns the structure and reports bad
//!    lines, as JSON `{kept, lines, errors: [[line, reason]], error_total,
//!    encoding_errors}`. It writes nothing.
//! 2. `POST {module}/import/apply?file=…&lines=…&errors=…` once, with the header and the
//!    kept lines: one call, so one transaction; a failure leaves the data as it was.
//!
//! The calls carry the importing account (or none, from the command line, with every
//! role) and run under [`batch_limits`].

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Deserialize;
use tokio::io::AsyncReadExt;

use crate::http::AppState;
use crate::plugins::{CallContext, Limits};
use crate::tenancy::Structure;

/// Bytes read per chunk (cut at the last newline): ~5,000 RPPS lines.
const CHUNK_BYTES: usize = 2 << 20;
/// Above this share of bad lines (‰) the file is refused rather than half imported.
const MAX_BAD_LINES_PER_MILLE: u64 = 10;
/// Bad lines kept for the summary.
const SAMPLE_ERRORS: usize = 100;

/// Limits of the host's import calls: a whole territory is applied in one call.
pub fn batch_limits() -> Limits {
    Limits {
        deadline: Duration::from_secs(15 * 60),
        memory_bytes: crate::plugins::BATCH_MEMORY_BYTES,
        output_bytes: 64 << 20,
        bulk: true,
    }
}

/// Who imports: a member through the upload page, or the operator's command line.
#[derive(Debug, Clone)]
pub enum Importer {
    Member {
        account: crate::identity::Account,
        roles: Vec<String>,
    },
    CommandLine,
}

/// Where an import stands; read by the progress page while it runs.
#[derive(Debug, Default)]
pub struct Progress {
    pub bytes_total: u64,
    pub bytes_done: AtomicU64,
    pub lines: AtomicU64,
    pub kept: AtomicU64,
    pub state: Mutex<JobState>,
}

#[derive(Debug, Clone, Default)]
pub enum JobState {
    #[default]
    Reading,
    Applying,
    Done(Summary),
    Failed(String),
}

impl Progress {
    pub fn new(bytes_total: u64) -> Self {
        Progress {
            bytes_total,
            ..Progress::default()
        }
    }

    pub fn state(&self) -> JobState {
        self.state.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub(crate) fn set(&self, state: JobState) {
        if let Ok(mut s) = self.state.lock() {
            *s = state;
        }
    }

    /// Per mille of the file read.
    pub fn per_mille(&self) -> u64 {
        (self.bytes_done.load(Ordering::Relaxed) * 1000)
            .checked_div(self.bytes_total)
            .unwrap_or(0)
            .min(1000)
    }
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub lines: u64,
    pub kept_lines: u64,
    pub bad_lines: u64,
    /// The first bad lines: (line number, reason).
    pub errors: Vec<(u64, String)>,
    /// What the module answered to `apply` (JSON).
    pub applied: serde_json::Value,
    pub elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the module {0} is not enabled for this structure")]
    NotEnabled(String),
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the file is empty")]
    Empty,
    #[error("refused by the module: {0}")]
    Refused(String),
    #[error(
        "{0} line(s) are not UTF-8: the file was probably re-encoded (Latin-1?); nothing was imported"
    )]
    Encoding(u64),
    #[error("{bad} malformed line(s) out of {lines}, more than {per_mille}‰: nothing was imported")]
    TooManyBadLines {
        bad: u64,
        lines: u64,
        per_mille: u64,
        errors: Vec<(u64, String)>,
    },
    #[error("the module failed: {0}")]
    Module(String),
}

impl ImportError {
    /// The message for the French UI.
    pub fn french(&self) -> String {
        match self {
            ImportError::NotEnabled(_) => "Le module n’est pas activé pour cette structure.".into(),
            ImportError::Io(_) => "Le fichier n’a pas pu être lu.".into(),
            ImportError::Empty => "Le fichier est vide.".into(),
            ImportError::Refused(reason) => {
                format!("Le fichier a été refusé : {reason}. Rien n’a été modifié.")
            }
            ImportError::Encoding(n) => format!(
                "{n} ligne(s) ne sont pas en UTF-8 : le fichier a probablement été réenregistré \
                 (Latin-1 ?). Utilisez l’extrait tel qu’il a été téléchargé. Rien n’a été importé."
            ),
            ImportError::TooManyBadLines { bad, lines, .. } => format!(
                "{bad} ligne(s) mal formée(s) sur {lines} : trop pour importer ce fichier. \
                 Rien n’a été importé."
            ),
            ImportError::Module(_) => {
                "L’import a échoué dans le module ; rien n’a été modifié. Veuillez réessayer."
                    .into()
            }
        }
    }
}

#[derive(Deserialize)]
struct FilterAnswer {
    kept: String,
    lines: u64,
    errors: Vec<(u64, String)>,
    error_total: u64,
    encoding_errors: u64,
}

/// A module of a structure, ready to be called by the import.
struct Target<'a> {
    state: &'a AppState,
    structure: &'a Structure,
    module_id: &'a str,
    importer: &'a Importer,
}

impl Target<'_> {
    /// The module's plugin, as enabled now, with what the structure granted it.
    async fn plugin(
        &self,
    ) -> Result<
        (
            std::sync::Arc<crate::plugins::LoadedPlugin>,
            Vec<crate::plugins::Capability>,
        ),
        ImportError,
    > {
        crate::module_admin::enabled_plugin(self.state, self.structure, self.module_id)
            .await
            .map_err(|e| ImportError::Module(format!("{e:#}")))?
            .ok_or_else(|| ImportError::NotEnabled(self.module_id.into()))
    }

    async fn call(&self, path_and_query: &str, body: Vec<u8>) -> Result<(u16, Bytes), ImportError> {
        let (plugin, granted) = self.plugin().await?;
        let request_id = crate::storage::new_key();
        let ctx = CallContext::anonymous(self.structure, self.module_id, &request_id, "");
        let ctx = match self.importer {
            Importer::Member { account, roles } => ctx.with_user(account, roles.clone()),
            // The operator holds every host role and every role the module declares.
            Importer::CommandLine => CallContext {
                roles: crate::tenancy::Role::ALL
                    .iter()
                    .map(|r| r.as_str().to_string())
                    .chain(plugin.manifest().roles.iter().map(|r| r.id.clone()))
                    .collect(),
                ..ctx
            },
        };
        let uri = format!("{}{path_and_query}", ctx.base_path);
        let request = http::Request::post(uri)
            .header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Bytes::from(body))
            .map_err(|e| ImportError::Module(e.to_string()))?;
        let response = self
            .state
            .registry
            .runtime()
            .handle_http_with(&plugin, ctx, granted, request, batch_limits())
            .await
            .map_err(|fault| {
                tracing::error!(module = self.module_id, %request_id, cause = %fault, "import call failed");
                ImportError::Module(fault.to_string())
            })?;
        let status = response.status().as_u16();
        Ok((status, response.into_body()))
    }

    /// After a bulk write the planner's statistics are stale; refreshing them is an
    /// optimisation, so a failure is only logged.
    async fn refresh_statistics(&self) {
        let refreshed = match self.plugin().await {
            Ok((plugin, _)) => self
                .state
                .db
                .refresh_statistics(plugin.schema())
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = refreshed {
            tracing::warn!(module = self.module_id, error = %e, "statistics not refreshed after an import");
        }
    }

    /// A JSON answer, or the module's `{"error"}` as a refusal.
    async fn call_json(
        &self,
        path_and_query: &str,
        body: Vec<u8>,
    ) -> Result<serde_json::Value, ImportError> {
        let (status, body) = self.call(path_and_query, body).await?;
        let json: serde_json::Value = serde_json::from_slice(&body).map_err(|_| {
            ImportError::Module(format!(
                "status {status}, not JSON: {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            ))
        })?;
        match status {
            200..=299 => Ok(json),
            400..=499 => Err(ImportError::Refused(
                json["error"].as_str().unwrap_or("refused").to_string(),
            )),
            _ => Err(ImportError::Module(format!("status {status}: {json}"))),
        }
    }
}

/// Imports `file` into `module_id` of `structure`, updating `progress` as it goes.
pub async fn run(
    state: &AppState,
    structure: &Structure,
    module_id: &str,
    importer: &Importer,
    file: &Path,
    file_name: &str,
    progress: &Progress,
) -> Result<Summary, ImportError> {
    let result = drive(
        &Target {
            state,
            structure,
            module_id,
            importer,
        },
        file,
        file_name,
        progress,
    )
    .await;
    match &result {
        Ok(summary) => progress.set(JobState::Done(summary.clone())),
        Err(e) => progress.set(JobState::Failed(e.french())),
    }
    result
}

async fn drive(
    target: &Target<'_>,
    file: &Path,
    file_name: &str,
    progress: &Progress,
) -> Result<Summary, ImportError> {
    let started = Instant::now();
    let mut reader = tokio::fs::File::open(file).await?;
    let mut buffer: Vec<u8> = Vec::with_capacity(CHUNK_BYTES * 2);
    let mut header: Option<Vec<u8>> = None;
    // Line number of the first line in `buffer` (the header is line 1).
    let mut next_line: u64 = 1;
    let mut kept: Vec<u8> = Vec::new();
    let mut summary = Summary::default();
    let mut encoding_errors = 0;
    let mut eof = false;
    while !eof {
        let mut block = vec![0u8; CHUNK_BYTES];
        let n = reader.read(&mut block).await?;
        eof = n == 0;
        buffer.extend_from_slice(&block[..n]);
        progress.bytes_done.fetch_add(n as u64, Ordering::Relaxed);
        if header.is_none() {
            match buffer.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    let mut line: Vec<u8> = buffer.drain(..=end).collect();
                    line.pop();
                    header = Some(line);
                    next_line = 2;
                }
                None if eof && !buffer.is_empty() => header = Some(std::mem::take(&mut buffer)),
                None if eof => return Err(ImportError::Empty),
                None => continue,
            }
        }
        // Whole lines only; the tail waits for the next block (or is the last line).
        let cut = if eof {
            buffer.len()
        } else {
            match buffer.iter().rposition(|&b| b == b'\n') {
                Some(end) => end + 1,
                None => continue,
            }
        };
        if cut == 0 {
            continue;
        }
        let chunk: Vec<u8> = buffer.drain(..cut).collect();
        let line_count = chunk.iter().filter(|&&b| b == b'\n').count() as u64
            + u64::from(!chunk.ends_with(b"\n"));
        let mut body = header.clone().unwrap_or_default();
        body.push(b'\n');
        body.extend_from_slice(&chunk);
        let answer = target
            .call_json(&format!("/import/filter?first_line={next_line}"), body)
            .await?;
        let answer: FilterAnswer = serde_json::from_value(answer)
            .map_err(|e| ImportError::Module(format!("filter answer: {e}")))?;
        next_line += line_count;
        summary.lines += answer.lines;
        summary.bad_lines += answer.error_total;
        encoding_errors += answer.encoding_errors;
        for error in answer.errors {
            if summary.errors.len() < SAMPLE_ERRORS {
                summary.errors.push(error);
            }
        }
        summary.kept_lines += answer.kept.lines().count() as u64;
        kept.extend_from_slice(answer.kept.as_bytes());
        progress.lines.store(summary.lines, Ordering::Relaxed);
        progress.kept.store(summary.kept_lines, Ordering::Relaxed);
    }
    if encoding_errors > 0 {
        return Err(ImportError::Encoding(encoding_errors));
    }
    if summary.bad_lines * 1000 > summary.lines * MAX_BAD_LINES_PER_MILLE {
        return Err(ImportError::TooManyBadLines {
            bad: summary.bad_lines,
            lines: summary.lines,
            per_mille: MAX_BAD_LINES_PER_MILLE,
            errors: summary.errors,
        });
    }
    progress.set(JobState::Applying);
    let mut body = header.unwrap_or_default();
    body.push(b'\n');
    body.extend_from_slice(&kept);
    drop(kept);
    let query = format!(
        "/import/apply?file={}&lines={}&errors={}",
        form_urlencoded::byte_serialize(file_name.as_bytes()).collect::<String>(),
        summary.lines,
        summary.bad_lines
    );
    summary.applied = target.call_json(&query, body).await?;
    target.refresh_statistics().await;
    summary.elapsed = started.elapsed();
    Ok(summary)
}
