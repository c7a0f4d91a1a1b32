//! `maillage admin library list|hide|unhide`: the platform operators' moderation of the
//! national library from the command line (docs/cloud-library-design.md A.10), with the
//! functions of the `/plateforme/bibliotheque` pages, audited with the command line as
//! the actor (in the platform log and the owner's journal). English output, line by
//! line through [`say`] (standard output, or the capture of `run_args_captured`).
//!
//! - `list [--module M] [--hidden] [--withdrawn]`: the visible entries of every module
//!   (or of M), the most recent version first; `--hidden` and `--withdrawn` add the
//!   entries hidden by the operators and those withdrawn by their structure.
//! - `hide ENTRY --reason "…"`: hides it from every structure but its owner, which sees
//!   the reason (10 to 1,000 characters); a mail is queued to the owner's coordinators.
//! - `unhide ENTRY`: shows it again.

use anyhow::{anyhow, bail};
use clap::Subcommand;

use super::plugin_tools::say;
use crate::config::Config;
use crate::library::{
    self, LibraryError, MAX_OPERATOR_ROWS, MAX_REASON_CHARS, MIN_REASON_CHARS, OperatorFilter,
    OperatorRow,
};

#[derive(Subcommand)]
pub(super) enum LibraryCommand {
    /// List the visible entries of every module, the most recent version first (at most
    /// 500): id, module, owner structure, version, publication, state, title.
    List {
        /// Only this module's entries (e.g. `documents`).
        #[arg(long)]
        module: Option<String>,
        /// Also list the entries hidden by the platform's operators.
        #[arg(long)]
        hidden: bool,
        /// Also list the entries withdrawn by their structure.
        #[arg(long)]
        withdrawn: bool,
        #[command(flatten)]
        config: Config,
    },
    /// Hide an entry from every structure but its owner, which sees the reason; a mail
    /// tells the owner's coordinators.
    Hide {
        /// The entry's id (first column of `list`).
        entry: String,
        /// Why (10 to 1,000 characters); shown to the owner structure, sent by mail.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        config: Config,
    },
    /// Show a hidden entry again.
    Unhide {
        /// The entry's id (first column of `list`).
        entry: String,
        #[command(flatten)]
        config: Config,
    },
}

fn entry_id(text: &str) -> anyhow::Result<i64> {
    library::parse_entry_id(text.trim())
        .ok_or_else(|| anyhow!("not a library entry id: {text:?} (see `admin library list`)"))
}

/// `2026-11-30` (UTC).
fn day(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| secs.to_string())
}

fn state(row: &OperatorRow) -> &'static str {
    match (row.withdrawn_at.is_some(), row.hidden_at.is_some()) {
        (false, false) => "visible",
        (false, true) => "hidden",
        (true, false) => "withdrawn",
        (true, true) => "withdrawn+hidden",
    }
}

pub(super) async fn run(command: LibraryCommand) -> anyhow::Result<()> {
    match command {
        LibraryCommand::List {
            module,
            hidden,
            withdrawn,
            config,
        } => {
            let state_ = crate::open(&config).await?;
            let filter = OperatorFilter {
                words: String::new(),
                module,
                hidden: if hidden { None } else { Some(false) },
                withdrawn: if withdrawn { None } else { Some(false) },
                limit: MAX_OPERATOR_ROWS,
            };
            let rows = library::list_all(&state_.db, &filter).await?;
            say(format!(
                "{:<8} {:<12} {:<20} {:>7}  {:<10}  {:<16}  TITLE",
                "ENTRY", "MODULE", "STRUCTURE", "VERSION", "PUBLISHED", "STATE"
            ));
            for row in &rows {
                say(format!(
                    "{:<8} {:<12} {:<20} {:>7}  {:<10}  {:<16}  {}",
                    row.id,
                    row.module_id,
                    row.source_slug,
                    row.version,
                    day(row.published_at),
                    state(row),
                    row.title
                ));
            }
            let plural = if rows.len() == 1 { "entry" } else { "entries" };
            say(format!("{} {plural}", rows.len()));
            if rows.len() >= MAX_OPERATOR_ROWS as usize {
                say(format!(
                    "note: only the {MAX_OPERATOR_ROWS} most recent are listed (use --module)"
                ));
            }
            Ok(())
        }
        LibraryCommand::Hide {
            entry,
            reason,
            config,
        } => {
            let id = entry_id(&entry)?;
            let state_ = crate::open(&config).await?;
            let hidden = match library::hide(&state_.db, None, id, &reason).await {
                Ok(hidden) => hidden,
                Err(LibraryError::Invalid(_)) => bail!(
                    "the reason must be {MIN_REASON_CHARS} to {MAX_REASON_CHARS} characters, without control characters"
                ),
                Err(LibraryError::NotFound) => bail!("no library entry {id}"),
                Err(e) => return Err(e.into()),
            };
            let owner = state_
                .db
                .structure(hidden.owner_structure_id)
                .await?
                .map(|s| s.slug)
                .unwrap_or_else(|| hidden.owner_structure_id.to_string());
            say(format!(
                "hid entry {id} ({}) \"{}\" of {owner}: other structures no longer see it",
                hidden.module_id, hidden.title
            ));
            say(format!(
                "mail queued to {} coordinator(s) of {owner}; the server's mailer sends it",
                hidden.told
            ));
            Ok(())
        }
        LibraryCommand::Unhide { entry, config } => {
            let id = entry_id(&entry)?;
            let state_ = crate::open(&config).await?;
            let shown = match library::unhide(&state_.db, None, id).await {
                Ok(shown) => shown,
                Err(LibraryError::NotFound) => bail!("no library entry {id}"),
                Err(e) => return Err(e.into()),
            };
            if shown.changed {
                say(format!(
                    "entry {id} ({}) \"{}\" is visible again",
                    shown.module_id, shown.title
                ));
            } else {
                say(format!(
                    "entry {id} ({}) \"{}\" was not hidden: nothing changed",
                    shown.module_id, shown.title
                ));
            }
            Ok(())
        }
    }
}
