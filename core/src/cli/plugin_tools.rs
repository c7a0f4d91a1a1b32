//! `maillage plugin check|run|install|dry-run`: the plugin author's and operator's tools
//! (issue 18). English output, printed line by line through [`say`] (standard output, or
//! the capture of [`super::run_args_captured`] in tests).
//!
//! - `run FILE.wasm --input case.json`: one rule-set call on an engine that counts fuel,
//!   under the host's memory cap and deadline; the outcome, the wall time of
//!   instantiate + compute, the fuel.
//! - `check FILE.wasm [--fixtures DIR]`: a module (manifest, WIT version) or a rule set
//!   (its rules WIT version against the host's, purity, description), the size, and
//!   every `*.json` case of DIR against its expected outcome (an error when one fails).
//! - `install FILE.wasm [--structure S [--from DATE]]`: installs; with `--from`, puts the
//!   rule set in force for S from DATE with its default settings (history kept, audited).
//! - `dry-run FILE.wasm --structure S --from D --to D [--as EMAIL]`: makes the rule set
//!   available to S (not in force), then asks S's indemnity module for the web page's
//!   dry-run as CSV (`/bareme/simulation.csv`), as a treasurer or an admin, and prints it
//!   as a table. The host does not recompute anything itself.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail};

use crate as maillage;
use crate::config::Config;
use crate::plugins::cases::{self, Case, Outcome};
use crate::plugins::{CompiledRuleSet, RuleSetError, RuleSetRunner};
use crate::tenancy::{Role, Structure};

tokio::task_local! {
    /// Where [`say`] writes while a caller captures a command's report.
    pub(super) static CAPTURED: Arc<Mutex<String>>;
}

/// One line of a command's report: to standard output, or to the capture.
pub(super) fn say(line: impl Into<String>) {
    let line = line.into();
    let captured = CAPTURED
        .try_with(|out| {
            if let Ok(mut out) = out.lock() {
                out.push_str(&line);
                out.push('\n');
            }
        })
        .is_ok();
    if !captured {
        println!("{line}");
    }
}

/// The indemnity module, whose dry-run `dry-run` asks for.
const INDEMNITY_MODULE: &str = "indemnites";
/// The module role of its treasurers.
const TREASURER_ROLE: &str = "tresorier";
/// The target plugins are built for.
const WASM_TARGET: &str = "wasm32-wasip2";

// ---------------------------------------------------------------------------------------
// Files.

/// The bytes of a component file; a clear error when it is missing (with the build
/// command for a file under a `wasm32-wasip2` target folder, and the `rustup` one when
/// that target is not installed), not WebAssembly, or a core module.
fn read_component(file: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(missing_component(file)),
        Err(e) => bail!("cannot read {}: {e}", file.display()),
    };
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        bail!(
            "{} is not a WebAssembly file (it does not start with \\0asm): give the .wasm component cargo built, target/{WASM_TARGET}/release/NAME.wasm",
            file.display()
        );
    }
    // After the magic: a version and a layer, 16 bits each; layer 0 is a core module,
    // layer 1 a component.
    match u16::from_le_bytes([bytes[6], bytes[7]]) {
        1 => Ok(bytes),
        0 => bail!(
            "{} is a core WebAssembly module, not a component: build it for the {WASM_TARGET} target (`cargo build --release --target {WASM_TARGET}`), not wasm32-unknown-unknown or wasm32-wasip1",
            file.display()
        ),
        layer => bail!(
            "{} is WebAssembly of an unknown layer ({layer}), not a component",
            file.display()
        ),
    }
}

fn missing_component(file: &Path) -> String {
    let in_target = file.components().any(|c| c.as_os_str() == WASM_TARGET);
    if !in_target {
        return format!("{} does not exist", file.display());
    }
    let mut text = format!(
        "{} does not exist: the component was not built. Build it in its project folder with `cargo build --release --target {WASM_TARGET}`",
        file.display()
    );
    if target_not_installed() {
        text.push_str(&format!(
            "; the {WASM_TARGET} target is not installed: run `rustup target add {WASM_TARGET}` first"
        ));
    }
    text
}

/// Whether `rustup target list --installed` answers without listing the target (false
/// when rustup cannot be asked).
fn target_not_installed() -> bool {
    match std::process::Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    {
        Ok(out) if out.status.success() => !String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|line| line.trim() == WASM_TARGET),
        _ => false,
    }
}

fn kib(bytes: usize) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

/// A case file (`run --input`, a fixture); errors name the file and the field.
fn read_case(path: &Path) -> anyhow::Result<Case> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
    Case::parse(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// A date given on the command line: a real one, "YYYY-MM-DD".
fn check_date(flag: &str, date: &str) -> anyhow::Result<()> {
    if !maillage::people::valid_date(date) {
        bail!("{flag} {date:?} is not a date: give a real date as YYYY-MM-DD");
    }
    Ok(())
}

fn provided_rules_versions() -> String {
    maillage::plugins::PROVIDED_RULES_WIT_VERSIONS
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn case_label(case: &Case, path: &Path) -> String {
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    match &case.name {
        Some(name) => format!("{name} ({file})"),
        None => file,
    }
}

// ---------------------------------------------------------------------------------------
// run

/// `maillage plugin run FILE.wasm --input case.json`.
pub(super) async fn run(file: &Path, input: &Path) -> anyhow::Result<()> {
    let wasm = read_component(file)?;
    let case = read_case(input)?;
    let runner = CompiledRuleSet::compile(&wasm, None)
        .map_err(|e| match e {
            RuleSetError::NotARuleSet => anyhow!(
                "{}; `plugin run` runs rule sets (check a module with `maillage plugin check {}`)",
                RuleSetError::NotARuleSet,
                file.display()
            ),
            other => other.into(),
        })?
        .prepare()
        .await?;
    let info = runner.info();
    let report = runner
        .run(&case)
        .await
        .map_err(|e| anyhow!("{}: {e}", input.display()))?;
    say(format!(
        "rule set {} {} ({}), case {}",
        info.id,
        info.version,
        runner.export_name(),
        case_label(&case, input)
    ));
    match &report.outcome {
        Outcome::Eligible {
            cents,
            minutes,
            rationale,
        } => {
            say(format!(
                "eligible: {} ({cents} cents), {minutes} min counted",
                cases::euros(*cents)
            ));
            say(format!("rationale: {rationale}"));
        }
        Outcome::NotEligible(reason) => say(format!("not eligible: {reason}")),
        Outcome::Error(message) => say(format!("error: {message}")),
    }
    if let Some(fault) = &report.fault {
        say(format!("detail: {fault}"));
    }
    say(format!(
        "time: {:.3} ms (instantiate + compute)",
        report.elapsed.as_secs_f64() * 1000.0
    ));
    say(format!("fuel: {} consumed", report.fuel));
    if let Some(expected) = &case.expected {
        if expected.matches(&report.outcome) {
            say("expected: matches");
        } else {
            let difference = format!(
                "expected {}, got {}",
                expected.describe(),
                report.outcome.describe()
            );
            say(format!("expected: DIFFERS, {difference}"));
            bail!("{}: {difference}", input.display());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// check

/// `maillage plugin check FILE.wasm [--fixtures DIR]`.
pub(super) async fn check(
    config: &Config,
    file: &Path,
    fixtures: Option<&Path>,
) -> anyhow::Result<()> {
    let wasm = read_component(file)?;
    let state = maillage::open(config).await?;
    if state.registry.runtime().is_rule_set(&wasm) {
        return check_rule_set(config, file, &wasm, fixtures).await;
    }
    if fixtures.is_some() {
        bail!(
            "--fixtures applies to rule sets (world maillage:indemnity/rule-set); {} is not one",
            file.display()
        );
    }
    let plugin = state.registry.runtime().load(&wasm).await?;
    let m = plugin.manifest();
    say(format!(
        "ok: {} {} (\"{}\"), maillage:plugin@{}, capabilities: [{}]",
        m.id,
        m.version,
        m.name,
        plugin.wit_version(),
        m.capabilities
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    say(format!(
        "  size: {}; this host loads maillage:plugin {} (provides {}); the manifest asks for {}",
        kib(wasm.len()),
        maillage::plugins::supported_wit_range(),
        maillage::plugins::manifest::PROVIDED_WIT_VERSIONS
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        m.wit_range
    ));
    Ok(())
}

async fn check_rule_set(
    config: &Config,
    file: &Path,
    wasm: &[u8],
    fixtures: Option<&Path>,
) -> anyhow::Result<()> {
    say(format!(
        "rule set component {} ({})",
        file.display(),
        kib(wasm.len())
    ));
    let compiled = CompiledRuleSet::compile(wasm, Some(config.component_cache_dir()))?;
    say(format!(
        "  WIT: exports {}; this host supports maillage:indemnity/rules@{} (provides {}; used through {})",
        compiled.export_name(),
        maillage::plugins::supported_rules_range(),
        provided_rules_versions(),
        compiled.binding_version()
    ));
    let imports = compiled.imports();
    if imports.is_empty() {
        say("  purity: imports nothing (deterministic: it can be rerun over past meetings)");
    } else {
        say(format!(
            "  purity: REFUSED, it imports {}",
            imports.join(", ")
        ));
    }
    let runner = compiled.prepare().await?;
    let info = runner.info();
    say(format!(
        "  rule set: {} {}, « {} »",
        info.id, info.version, info.name
    ));
    if !info.summary.is_empty() {
        say(format!("  summary: {}", info.summary));
    }
    if info.settings.is_empty() {
        say("  settings: none");
    } else {
        say("  settings:");
        for s in &info.settings {
            let bounds = match (&s.kind, s.min, s.max) {
                (cases::SettingKind::Cents, min, max) if min.is_some() || max.is_some() => {
                    format!(
                        ", from {} to {}",
                        cases::euros(min.unwrap_or(0)),
                        max.map(cases::euros).unwrap_or_else(|| "∞".into())
                    )
                }
                (cases::SettingKind::Hours, min, max) if min.is_some() || max.is_some() => {
                    format!(
                        ", from {} to {} min",
                        min.unwrap_or(0),
                        max.map(|m| m.to_string()).unwrap_or_else(|| "∞".into())
                    )
                }
                _ => String::new(),
            };
            say(format!(
                "    {}: {}, default {}{bounds}; « {} »",
                s.key,
                s.kind.describe(),
                s.default,
                s.label
            ));
        }
    }
    if let Some(dir) = fixtures {
        run_fixtures(&runner, dir).await?;
    }
    say(format!(
        "ok: rule set {} {} can be installed (`maillage plugin install {} --structure SLUG`)",
        info.id,
        info.version,
        file.display()
    ));
    Ok(())
}

/// Every `*.json` case of `dir`, by file name: each must give its expected outcome.
async fn run_fixtures(runner: &RuleSetRunner, dir: &Path) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| anyhow!("cannot read the fixtures folder {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file() && path.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!(
            "no *.json case in {}: a fixture is a case with its \"expected\" outcome",
            dir.display()
        );
    }
    say(format!("  fixtures in {}:", dir.display()));
    let mut failures: Vec<String> = Vec::new();
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match fixture(runner, path).await {
            Ok(label) => say(format!("    ok    {label}")),
            Err(why) => {
                say(format!("    FAIL  {name}: {why}"));
                failures.push(format!("{name}: {why}"));
            }
        }
    }
    say(format!(
        "  {} fixture(s): {} passed, {} failed",
        files.len(),
        files.len() - failures.len(),
        failures.len()
    ));
    if !failures.is_empty() {
        bail!(
            "{} of {} fixture(s) in {} failed:\n  {}",
            failures.len(),
            files.len(),
            dir.display(),
            failures.join("\n  ")
        );
    }
    Ok(())
}

/// One fixture: its label when it gives what it expects, else why not.
async fn fixture(runner: &RuleSetRunner, path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    let case = Case::parse(&text)?;
    let Some(expected) = &case.expected else {
        return Err("no \"expected\": a fixture says what it expects".into());
    };
    let report = runner.run(&case).await.map_err(|e| e.to_string())?;
    if expected.matches(&report.outcome) {
        Ok(case_label(&case, path))
    } else {
        let mut why = format!(
            "expected {}, got {}",
            expected.describe(),
            report.outcome.describe()
        );
        if let Some(fault) = &report.fault {
            why.push_str(&format!(" ({fault})"));
        }
        Err(why)
    }
}

// ---------------------------------------------------------------------------------------
// install

/// `maillage plugin install FILE.wasm [--structure S [--from YYYY-MM-DD]]`.
pub(super) async fn install(
    config: &Config,
    file: &Path,
    structure: Option<&str>,
    from: Option<&str>,
) -> anyhow::Result<()> {
    if let Some(date) = from {
        if structure.is_none() {
            bail!("--from puts a rule set in force for one structure: give --structure SLUG too");
        }
        check_date("--from", date)?;
    }
    let wasm = read_component(file)?;
    let state = maillage::open(config).await?;
    if !state.registry.runtime().is_rule_set(&wasm) {
        if from.is_some() {
            bail!(
                "--from applies to rule sets only; a module is enabled per structure with `maillage admin enable-module`"
            );
        }
        if structure.is_some() {
            bail!(
                "--structure applies to rule sets only; modules are enabled per structure with `maillage admin enable-module`"
            );
        }
        let plugin = state.registry.install(&wasm).await?;
        say(format!(
            "installed {} {}",
            plugin.manifest().id,
            plugin.manifest().version
        ));
        return Ok(());
    }
    let rule_sets = state.registry.rule_sets();
    let Some(slug) = structure else {
        let installed = rule_sets.install(&wasm, None).await?;
        say(format!(
            "installed rule set {} {} for every structure",
            installed.id, installed.version
        ));
        return Ok(());
    };
    let structure = super::structure_by_slug(&state, slug).await?;
    let (installed, now) = rule_sets.make_available(&wasm, structure.id).await?;
    if now {
        say(format!(
            "installed rule set {} {} for {}",
            installed.id, installed.version, structure.slug
        ));
    } else if installed.structure_id.is_none() {
        say(format!(
            "rule set {} {} is already installed for every structure (so for {})",
            installed.id, installed.version, structure.slug
        ));
    } else {
        say(format!(
            "rule set {} {} is already installed for {}",
            installed.id, installed.version, structure.slug
        ));
    }
    if let Some(date) = from {
        let assigned = rule_sets
            .assign_defaults(structure.id, &installed.id, &installed.version, date)
            .await?;
        say(format!(
            "in force for {} from {}: {} {} (« {} ») with its default settings: {}",
            structure.slug,
            assigned.effective_from,
            assigned.id,
            assigned.version,
            assigned.name,
            if assigned.settings.is_empty() {
                "none".to_string()
            } else {
                assigned
                    .settings
                    .iter()
                    .map(|(key, value)| format!("{key} = {value}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ));
        say(
            "meetings from that date are computed with it once their attendance is closed; lines already computed keep theirs",
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// dry-run

/// `maillage plugin dry-run FILE.wasm --structure S --from D --to D [--as EMAIL]`.
pub(super) async fn dry_run(
    config: &Config,
    file: &Path,
    slug: &str,
    from: &str,
    to: &str,
    as_email: Option<&str>,
) -> anyhow::Result<()> {
    check_date("--from", from)?;
    check_date("--to", to)?;
    if from > to {
        bail!("the period is empty: --from {from} is after --to {to}");
    }
    let wasm = read_component(file)?;
    let state = maillage::open(config).await?;
    let structure = super::structure_by_slug(&state, slug).await?;
    if !state.registry.runtime().is_rule_set(&wasm) {
        bail!(
            "{} is not a rule set (world maillage:indemnity/rule-set): a dry-run computes the structure's indemnity lines again with a rule set",
            file.display()
        );
    }
    let Some(module) =
        maillage::module_admin::enabled_plugin(&state, &structure, INDEMNITY_MODULE).await?
    else {
        bail!(
            "the indemnity module ({INDEMNITY_MODULE}) is not enabled for {slug}: enable it with `maillage admin enable-module --structure {slug} {INDEMNITY_MODULE} --grant all`"
        );
    };
    let (account, roles) = dry_run_actor(&state, &structure, &module.0, as_email).await?;
    let (installed, now) = state
        .registry
        .rule_sets()
        .make_available(&wasm, structure.id)
        .await?;
    if now {
        say(format!(
            "installed rule set {} {} for {} (available, not in force)",
            installed.id, installed.version, structure.slug
        ));
    }
    // The web page's CSV, with the rule set's default settings (the module fills in every
    // setting the query leaves out).
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("bareme", &installed.id)
        .append_pair("version", &installed.version)
        .append_pair("du", from)
        .append_pair("au", to)
        .finish();
    let response = maillage::module_admin::get_as(
        &state,
        &structure,
        (&module.0, module.1.as_slice()),
        &account,
        roles,
        &format!("/bareme/simulation.csv?{query}"),
    )
    .await?;
    let status = response.status();
    let body = String::from_utf8_lossy(response.body()).into_owned();
    if status != http::StatusCode::OK {
        let excerpt = excerpt(&body);
        say(format!(
            "the indemnity module answered {status} as {}: {excerpt}",
            account.email
        ));
        bail!("the dry-run failed: the indemnity module answered {status}: {excerpt}");
    }
    let rows = csv_rows(&body);
    let table = DryRunTable::from_rows(&rows).map_err(|e| {
        anyhow!(
            "the indemnity module's CSV is not a dry-run ({e}): {}",
            excerpt(&body)
        )
    })?;
    say(format!(
        "dry-run of {} {} (default settings) for {}, meetings from {from} to {to}, as {}:",
        installed.id, installed.version, structure.slug, account.email
    ));
    for line in table.render() {
        say(line);
    }
    let total = &table.total;
    say(format!(
        "totals: {} line(s) of {} person(s); current {}, simulated {}, difference {}",
        total.lines,
        table.people.len(),
        cases::euros(total.current),
        cases::euros(total.simulated),
        signed_euros(total.difference)
    ));
    say(format!(
        "nothing was written; to put it in force: maillage plugin install {} --structure {} --from YYYY-MM-DD",
        file.display(),
        structure.slug
    ));
    Ok(())
}

/// Who the dry-run is asked as: `--as EMAIL`, else the structure's first admin (by
/// account id). A treasurer (the module role) is asked with their roles; an admin, who
/// could grant themselves any module role on the « Fiche membre », with every role the
/// module declares, as an import from the command line is.
async fn dry_run_actor(
    state: &maillage::http::AppState,
    structure: &Structure,
    module: &maillage::plugins::LoadedPlugin,
    as_email: Option<&str>,
) -> anyhow::Result<(maillage::identity::Account, Vec<String>)> {
    let account = match as_email {
        Some(email) => state
            .db
            .account_by_login(email)
            .await?
            .ok_or_else(|| anyhow!("no account {email:?}"))?,
        None => {
            let first: Option<i64> = sqlx::query_scalar(
                "SELECT account_id FROM memberships WHERE structure_id = $1 AND role = 'admin' ORDER BY account_id LIMIT 1",
            )
            .bind(structure.id)
            .fetch_optional(state.db.pool())
            .await?;
            let id = first.ok_or_else(|| {
                anyhow!(
                    "{} has no admin: pass --as EMAIL, a treasurer of the structure",
                    structure.slug
                )
            })?;
            state
                .db
                .account(id)
                .await?
                .ok_or_else(|| anyhow!("account {id} is gone"))?
        }
    };
    let membership = state
        .db
        .membership(account.id, &structure.slug)
        .await?
        .ok_or_else(|| anyhow!("{} is not a member of {}", account.email, structure.slug))?;
    let mut roles = membership.role_names();
    if membership.role == Role::Admin {
        roles.extend(module.manifest().roles.iter().map(|r| r.id.clone()));
        return Ok((account, roles));
    }
    let held = {
        let mut conn = state.db.pool().acquire().await?;
        maillage::people::module_roles(&mut conn, structure.id, account.id, INDEMNITY_MODULE)
            .await?
    };
    if !held.iter().any(|r| r == TREASURER_ROLE) {
        bail!(
            "{} is neither an admin of {} nor holds the role {INDEMNITY_MODULE}:{TREASURER_ROLE}: pass --as the email of a treasurer or an admin",
            account.email,
            structure.slug
        );
    }
    // The runtime adds the module roles the member holds.
    Ok((account, roles))
}

/// The start of a module's answer as text (tags dropped, spaces collapsed).
fn excerpt(body: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if in_tag => {}
            c => text.push(c),
        }
    }
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cut: String = collapsed.chars().take(300).collect();
    if collapsed.chars().count() > 300 {
        cut.push('…');
    }
    cut
}

/// Rows of a CSV the SDK wrote: `;` between cells, CRLF, quotes doubled, a BOM first;
/// a cell a spreadsheet would run as a formula starts with `'` (removed here).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cell.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                cell.push(c);
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ';' => row.push(unneutralized(std::mem::take(&mut cell))),
            '\r' => {}
            '\n' => {
                row.push(unneutralized(std::mem::take(&mut cell)));
                rows.push(std::mem::take(&mut row));
            }
            c => cell.push(c),
        }
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(unneutralized(cell));
        rows.push(row);
    }
    rows.retain(|r| r.iter().any(|c| !c.is_empty()));
    rows
}

/// A cell as written before the CSV writer's formula guard (`'-12,00` → `-12,00`).
fn unneutralized(cell: String) -> String {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest.to_string(),
        _ => cell,
    }
}

/// "1234,50", "-12,00", "1 234,50" → cents.
fn csv_cents(cell: &str) -> Option<i64> {
    let cleaned: String = cell
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{202f}' && *c != '€')
        .collect();
    let (negative, rest) = match cleaned.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, cleaned.as_str()),
    };
    let (whole, fraction) = rest.split_once([',', '.']).unwrap_or((rest, "00"));
    if fraction.len() != 2 || whole.is_empty() {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = fraction.parse().ok()?;
    let cents = whole.checked_mul(100)?.checked_add(fraction)?;
    Some(if negative { -cents } else { cents })
}

fn signed_euros(cents: i64) -> String {
    if cents > 0 {
        format!("+{}", cases::euros(cents))
    } else {
        cases::euros(cents)
    }
}

/// One row of the dry-run: a person, or the totals.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DryRunRow {
    name: String,
    lines: u64,
    current: i64,
    simulated: i64,
    difference: i64,
}

#[derive(Debug)]
struct DryRunTable {
    people: Vec<DryRunRow>,
    total: DryRunRow,
}

impl DryRunTable {
    /// From the module's CSV: a header (Personne, Lignes, Total actuel, Total simulé,
    /// Écart), a row per person, the totals last.
    fn from_rows(rows: &[Vec<String>]) -> Result<Self, String> {
        let Some((header, rest)) = rows.split_first() else {
            return Err("it is empty".into());
        };
        if header.len() != 5 {
            return Err(format!("its header has {} columns, not 5", header.len()));
        }
        let parse = |row: &Vec<String>| -> Result<DryRunRow, String> {
            if row.len() != 5 {
                return Err(format!("a row has {} columns, not 5: {row:?}", row.len()));
            }
            let amount = |cell: &str| {
                csv_cents(cell).ok_or_else(|| format!("{cell:?} is not an amount in euros"))
            };
            Ok(DryRunRow {
                name: row[0].clone(),
                lines: row[1]
                    .trim()
                    .parse()
                    .map_err(|_| format!("{:?} is not a number of lines", row[1]))?,
                current: amount(&row[2])?,
                simulated: amount(&row[3])?,
                difference: amount(&row[4])?,
            })
        };
        let Some((total, people)) = rest.split_last() else {
            return Err("it has no totals row".into());
        };
        Ok(DryRunTable {
            people: people.iter().map(&parse).collect::<Result<_, _>>()?,
            total: parse(total)?,
        })
    }

    /// The aligned table, totals last.
    fn render(&self) -> Vec<String> {
        let header = [
            "Person".to_string(),
            "Lines".to_string(),
            "Current (€)".to_string(),
            "Simulated (€)".to_string(),
            "Difference (€)".to_string(),
        ];
        let number = |cents: i64| {
            let euros = cases::euros(cents);
            euros.trim_end_matches(" €").to_string()
        };
        let cells = |row: &DryRunRow| {
            let difference = number(row.difference);
            [
                row.name.clone(),
                row.lines.to_string(),
                number(row.current),
                number(row.simulated),
                if row.difference > 0 {
                    format!("+{difference}")
                } else {
                    difference
                },
            ]
        };
        let mut body: Vec<[String; 5]> = self.people.iter().map(&cells).collect();
        let mut total = cells(&self.total);
        total[0] = "Total".into();
        let mut widths = [0usize; 5];
        for row in std::iter::once(&header)
            .chain(body.iter())
            .chain(std::iter::once(&total))
        {
            for (width, cell) in widths.iter_mut().zip(row.iter()) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |row: &[String; 5]| {
            let mut out = String::new();
            for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
                let pad = " ".repeat(width - cell.chars().count());
                if i == 0 {
                    out.push_str(cell);
                    out.push_str(&pad);
                } else {
                    out.push_str("  ");
                    out.push_str(&pad);
                    out.push_str(cell);
                }
            }
            out.trim_end().to_string()
        };
        let rule = "-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1));
        let mut out = vec![line(&header), rule.clone()];
        out.extend(body.drain(..).map(|row| line(&row)));
        out.push(rule);
        out.push(line(&total));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_modules_csv_and_prints_an_aligned_table() {
        let csv = "\u{feff}Personne;Lignes;Total actuel (€);Total simulé (€);Écart (€)\r\n\
                   Anne Active;2;160,00;20,00;'-140,00\r\n\
                   \"Rémi \"\"le référent\"\"\";2;200,00;1 220,00;1020,00\r\n\
                   Total;4;360,00;1240,00;880,00\r\n";
        let rows = csv_rows(csv);
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[2][0], "Rémi \"le référent\"");
        assert_eq!(rows[1][4], "-140,00");
        let table = DryRunTable::from_rows(&rows).unwrap();
        assert_eq!(table.people.len(), 2);
        assert_eq!(table.people[0].difference, -14_000);
        assert_eq!(table.people[1].simulated, 122_000);
        assert_eq!(
            table.total,
            DryRunRow {
                name: "Total".into(),
                lines: 4,
                current: 36_000,
                simulated: 124_000,
                difference: 88_000,
            }
        );
        let lines = table.render();
        assert!(lines[0].starts_with("Person"), "{lines:?}");
        assert!(lines[2].starts_with("Anne Active") && lines[2].ends_with("-140.00"));
        assert!(
            lines.last().unwrap().starts_with("Total")
                && lines.last().unwrap().ends_with("+880.00")
        );
        // Aligned: every row as wide as the header's.
        let width = lines[0].chars().count();
        assert!(
            lines.iter().all(|l| l.chars().count() == width),
            "{lines:#?}"
        );
        assert!(DryRunTable::from_rows(&csv_rows("Personne;Lignes\r\n")).is_err());
    }

    #[test]
    fn amounts_and_excerpts() {
        assert_eq!(csv_cents("1234,50"), Some(123_450));
        assert_eq!(csv_cents("-0,05"), Some(-5));
        assert_eq!(csv_cents("1 234,50 €"), Some(123_450));
        assert_eq!(csv_cents("80"), Some(8000));
        assert_eq!(csv_cents("12,5"), None);
        assert_eq!(csv_cents("abc"), None);
        assert_eq!(signed_euros(4000), "+40.00 €");
        assert_eq!(signed_euros(-4000), "-40.00 €");
        assert_eq!(
            excerpt("<div class=\"alert\"><p>Cette page est réservée\n au trésorier.</p></div>"),
            "Cette page est réservée au trésorier."
        );
    }
}
