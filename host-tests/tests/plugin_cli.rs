//! The plugin author's commands (issue 18), run as an operator types them
//! (`maillage::cli::run_args_captured`: the very command line, its report returned
//! instead of printed) on the real built components: `plugin run` on one case (outcome,
//! time, fuel), `plugin check` with fixtures (every case of plugins/rules-forfait/fixtures
//! passes, a wrong one fails naming it with expected vs got), the refusals (a rule set
//! importing WASI, one built for rules@2.0.0, a missing or non-component file), `plugin
//! install --structure --from` (in force from that date, history kept, audited, the next
//! closing computed with it) and `plugin dry-run` (the web page's totals, nothing put in
//! force).

use std::path::{Path, PathBuf};

use http::StatusCode;
use maillage::plugins::cases::euros;

use crate::indemnity::{
    A, cell_cents, closed_meeting, deliver, forfait_world, history, indemnity_host, key, ledger,
    row_with, two_past_bpco_meetings,
};
use crate::support::{Host, fresh_dir, test_config};

/// A component core/build.rs built (`rules_forfait`, `fixture_faulty`…), as a path.
fn built(name: &str) -> String {
    PathBuf::from(maillage::PLUGIN_BUILD_DIR)
        .join(format!("{name}.wasm"))
        .display()
        .to_string()
}

/// The default rule set's fixtures, in the repository.
fn forfait_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/rules-forfait/fixtures")
}

fn fixture(name: &str) -> String {
    forfait_fixtures().join(name).display().to_string()
}

/// Runs `maillage ARGS…`: the error as text, and what the plugin commands reported.
async fn cli(args: Vec<String>) -> (Result<(), String>, String) {
    let all: Vec<String> = std::iter::once("maillage".to_string())
        .chain(args)
        .collect();
    let (result, out) = maillage::cli::run_args_captured(all).await;
    (result.map_err(|e| format!("{e:#}")), out)
}

fn words(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

/// The flags of a command on `host`'s installation (its data folder and database), with
/// limits a debug build of the indemnity module stays within.
fn installation(host: &Host) -> Vec<String> {
    let config = test_config(&host.dir);
    let mut args = words(&[
        "--data-dir",
        &host.dir.display().to_string(),
        "--plugin-deadline-ms",
        "10000",
        "--plugin-memory-mib",
        "64",
        "--plugin-output-mib",
        "8",
    ]);
    match (&config.database_url, &config.database_schema) {
        (Some(url), Some(schema)) => {
            args.extend(words(&["--database-url", url, "--database-schema", schema]));
        }
        _ => args.extend(words(&[
            "--database-url",
            &format!("sqlite://{}", host.dir.join("maillage.sqlite3").display()),
        ])),
    }
    args
}

/// A throwaway SQLite installation for `plugin check`.
fn scratch() -> (PathBuf, Vec<String>) {
    let dir = fresh_dir();
    let args = words(&[
        "--data-dir",
        &dir.display().to_string(),
        "--database-url",
        &format!("sqlite://{}", dir.join("maillage.sqlite3").display()),
    ]);
    (dir, args)
}

/// The line of `out` starting with `prefix`.
fn line_of<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .find(|l| l.trim_start().starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in\n{out}"))
}

fn signed_euros(cents: i64) -> String {
    if cents > 0 {
        format!("+{}", euros(cents))
    } else {
        euros(cents)
    }
}

#[tokio::test]
async fn plugin_run_prints_the_outcome_the_time_and_the_fuel() {
    let (result, out) = cli(words(&[
        "plugin",
        "run",
        &built("rules_forfait"),
        "--input",
        &fixture("01-liberal-adherent.json"),
    ]))
    .await;
    result.unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert!(
        out.contains("rule set forfait 1.0.0 (maillage:indemnity/rules@0.1.0)"),
        "{out}"
    );
    assert!(
        out.contains("eligible: 80.00 € (8000 cents), 90 min counted"),
        "{out}"
    );
    assert!(
        out.contains("rationale: Forfait membre (groupe de travail) : 80 €"),
        "{out}"
    );
    assert!(
        line_of(&out, "time: ").ends_with("ms (instantiate + compute)"),
        "{out}"
    );
    let fuel: u64 = line_of(&out, "fuel: ")
        .trim_start_matches("fuel: ")
        .trim_end_matches(" consumed")
        .parse()
        .unwrap_or_else(|e| panic!("fuel is a number ({e}):\n{out}"));
    assert!(fuel > 0, "{out}");
    assert!(out.contains("expected: matches"), "{out}");

    let dir = fresh_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let case = |settings: &str, expected: &str| {
        format!(
            r#"{{"meeting": {{"id": "m1", "title": "Groupe", "date": "2026-03-12", "duration_minutes": 90, "kind": "groupe-de-travail"}},
                "attendee": {{"person_id": "a1", "exercise_mode": "liberal", "adherent": true, "role": "active", "minutes": 90}},
                "settings": {settings}{expected}}}"#
        )
    };
    // Out of the declared bounds: refused by the host as engine.assign refuses it, no call.
    let bounds = dir.join("bornes.json");
    std::fs::write(&bounds, case(r#"{"forfait_membre": 200000}"#, "")).unwrap();
    let (result, out) = cli(words(&[
        "plugin",
        "run",
        &built("rules_forfait"),
        "--input",
        &bounds.display().to_string(),
    ]))
    .await;
    result.unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert!(
        out.contains("error: « Forfait par réunion (membre actif) »"),
        "{out}"
    );
    assert!(
        out.contains("detail: the host refused the settings"),
        "{out}"
    );
    // A loop: stopped by the host's deadline, as in production.
    let endless = dir.join("boucle.json");
    std::fs::write(&endless, case(r#"{"mode": "loop"}"#, "")).unwrap();
    let (result, out) = cli(words(&[
        "plugin",
        "run",
        &built("rules_faulty"),
        "--input",
        &endless.display().to_string(),
    ]))
    .await;
    result.unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert!(
        out.contains("error: le barème a dépassé son temps de calcul"),
        "{out}"
    );
    assert!(out.contains("deadline of"), "{out}");
    // An expected outcome that differs fails the command, saying both.
    let differs = dir.join("ecart.json");
    std::fs::write(
        &differs,
        case(
            "{}",
            r#", "expected": {"not_eligible": "Non adhérent à la date de la réunion"}"#,
        ),
    )
    .unwrap();
    let (result, out) = cli(words(&[
        "plugin",
        "run",
        &built("rules_forfait"),
        "--input",
        &differs.display().to_string(),
    ]))
    .await;
    let error = result.expect_err("the outcome differs from the expected one");
    assert!(
        error.contains("ecart.json")
            && error.contains("expected not eligible «Non adhérent à la date de la réunion»")
            && error.contains("got eligible 80.00 € for 90 min"),
        "{error}\n{out}"
    );
    // A case file with a mistake: the file and the field are named.
    let broken = dir.join("casse.json");
    std::fs::write(&broken, r#"{"meeting": {"id": "m1"}, "attendee": {}}"#).unwrap();
    let (result, _) = cli(words(&[
        "plugin",
        "run",
        &built("rules_forfait"),
        "--input",
        &broken.display().to_string(),
    ]))
    .await;
    let error = result.expect_err("a broken case is refused");
    assert!(
        error.contains("casse.json") && error.contains("meeting: missing field"),
        "{error}"
    );
    // A component that is not a rule set.
    let (result, _) = cli(words(&[
        "plugin",
        "run",
        &built("fixture_future_wit"),
        "--input",
        &fixture("01-liberal-adherent.json"),
    ]))
    .await;
    let error = result.expect_err("only a rule set runs");
    assert!(error.contains("not a rule set"), "{error}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn plugin_check_runs_every_fixture_and_fails_naming_a_wrong_one() {
    let (dir, installation) = scratch();
    let check = |file: String, fixtures: Option<String>| {
        let mut args = words(&["plugin", "check", &file]);
        if let Some(fixtures) = fixtures {
            args.extend(words(&["--fixtures", &fixtures]));
        }
        args.extend(installation.iter().cloned());
        cli(args)
    };
    let (result, out) = check(
        built("rules_forfait"),
        Some(forfait_fixtures().display().to_string()),
    )
    .await;
    result.unwrap_or_else(|e| panic!("{e}\n{out}"));
    for wanted in [
        "exports maillage:indemnity/rules@0.1.0",
        "this host supports maillage:indemnity/rules@0.1.x",
        "purity: imports nothing",
        "rule set: forfait 1.0.0",
        "forfait_membre: amount (integer cents), default 80.00 € (8000 cents)",
        "presence_minimale: duration (integer minutes)",
        "ok    libéral adhérent, membre actif : forfait membre par défaut (01-liberal-adherent.json)",
        "6 fixture(s): 6 passed, 0 failed",
        "ok: rule set forfait 1.0.0 can be installed",
    ] {
        assert!(out.contains(wanted), "{wanted:?} not in\n{out}");
    }
    assert!(
        line_of(&out, "rule set component").ends_with("KiB)"),
        "{out}"
    );

    // A folder with a right fixture and a wrong one (90 € expected, the forfait pays 80 €).
    let cases = dir.join("cas");
    std::fs::create_dir_all(&cases).unwrap();
    let right = std::fs::read_to_string(fixture("01-liberal-adherent.json")).unwrap();
    std::fs::write(cases.join("juste.json"), &right).unwrap();
    let wrong = right.replace("\"cents\": 8000", "\"cents\": 9000");
    assert_ne!(wrong, right, "the fixture's amount was found");
    std::fs::write(cases.join("faux.json"), wrong).unwrap();
    std::fs::write(cases.join("notes.txt"), "not a case").unwrap();
    let (result, out) = check(built("rules_forfait"), Some(cases.display().to_string())).await;
    let error = result.expect_err("a wrong fixture fails the check");
    for text in [&error, &out] {
        assert!(
            text.contains("faux.json")
                && text.contains("expected eligible 90.00 € for 90 min")
                && text.contains("got eligible 80.00 € for 90 min"),
            "{text}"
        );
    }
    assert!(!error.contains("juste.json"), "{error}");
    assert!(out.contains("2 fixture(s): 1 passed, 1 failed"), "{out}");

    // A module: today's line, its size and the WIT range the host loads.
    let (result, out) = check(built("polls"), None).await;
    result.unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert!(out.starts_with("ok: polls "), "{out}");
    assert!(
        out.contains("size: ") && out.contains("this host loads maillage:plugin >=0.1.0, <0.3.0"),
        "{out}"
    );
    let (result, _) = check(built("polls"), Some(cases.display().to_string())).await;
    assert!(
        result
            .expect_err("--fixtures is for rule sets")
            .contains("--fixtures applies to rule sets"),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn check_and_install_refuse_impure_future_and_unbuilt_components_saying_why() {
    let (dir, scratch_args) = scratch();
    let check = |file: String| {
        let mut args = words(&["plugin", "check", &file]);
        args.extend(scratch_args.iter().cloned());
        cli(args)
    };
    // A rule set importing WASI: the import is named.
    let (result, out) = check(built("rules_with_imports")).await;
    let error = result.expect_err("a rule set that imports WASI is refused");
    assert!(
        error.contains("imports") && error.contains("wasi:"),
        "{error}"
    );
    assert!(out.contains("purity: REFUSED, it imports wasi:"), "{out}");
    // Built against rules@2.0.0: both versions are named.
    let (result, _) = check(built("rules_future")).await;
    let error = result.expect_err("a rule set of an unknown major is refused");
    assert!(
        error.contains("this rule set exports maillage:indemnity/rules@2.0.0")
            && error.contains("this host supports maillage:indemnity/rules@0.1.x"),
        "{error}"
    );
    // Not built yet: the command to build it.
    let unbuilt = dir.join("projet/target/wasm32-wasip2/release/mon_bareme.wasm");
    let (result, _) = check(unbuilt.display().to_string()).await;
    let error = result.expect_err("a missing component is refused");
    assert!(
        error.contains("was not built")
            && error.contains("cargo build --release --target wasm32-wasip2"),
        "{error}"
    );
    // Not a component: garbage, and a core module.
    std::fs::create_dir_all(&dir).unwrap();
    let garbage = dir.join("texte.wasm");
    std::fs::write(&garbage, "hello").unwrap();
    let (result, _) = check(garbage.display().to_string()).await;
    assert!(
        result
            .expect_err("garbage is refused")
            .contains("is not a WebAssembly file"),
    );
    let core = dir.join("module.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    let (result, _) = check(core.display().to_string()).await;
    let error = result.expect_err("a core module is refused");
    assert!(
        error.contains("core WebAssembly module, not a component"),
        "{error}"
    );

    // Install refuses the future rule set too, for the platform and for a structure.
    let host = Host::new().await;
    host.structure("cpts-a", &[]).await;
    for scope in [vec![], words(&["--structure", "cpts-a"])] {
        let mut args = words(&["plugin", "install", &built("rules_future")]);
        args.extend(scope);
        args.extend(installation(&host));
        let (result, _) = cli(args).await;
        let error = result.expect_err("install refuses rules@2.0.0");
        assert!(
            error.contains("maillage:indemnity/rules@2.0.0")
                && error.contains("maillage:indemnity/rules@0.1.x"),
            "{error}"
        );
    }
    assert!(
        !host
            .state
            .registry
            .rule_sets()
            .installed()
            .await
            .unwrap()
            .iter()
            .any(|r| r.id == "future-rules"),
        "nothing was installed"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn install_from_puts_the_rule_set_in_force_keeping_the_history() {
    let host = indemnity_host().await;
    let (w, mut tom, mut claire) = forfait_world(&host).await;
    assert_eq!(history(&mut tom).await, ["2024-01-01"]);
    let install = |extra: &[&str]| {
        let mut args = words(&["plugin", "install"]);
        args.extend(words(extra));
        args.extend(installation(&host));
        cli(args)
    };
    let faulty = built("rules_faulty");
    let faulty = faulty.as_str();
    let (result, _) = install(&[faulty, "--from", "2024-05-01"]).await;
    assert!(
        result
            .expect_err("--from needs --structure")
            .contains("--structure"),
    );
    let (result, _) = install(&[faulty, "--structure", "cpts-a", "--from", "2024-02-30"]).await;
    let error = result.expect_err("not a real date");
    assert!(error.contains("\"2024-02-30\" is not a date"), "{error}");
    let (result, _) = install(&[
        built("polls").as_str(),
        "--structure",
        "cpts-a",
        "--from",
        "2024-05-01",
    ])
    .await;
    assert!(
        result
            .expect_err("--from is for rule sets")
            .contains("--from applies to rule sets only"),
    );
    assert_eq!(
        history(&mut tom).await,
        ["2024-01-01"],
        "nothing was put in force by a refused command"
    );

    let (result, out) = install(&[faulty, "--structure", "cpts-a", "--from", "2024-05-01"]).await;
    result.unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert!(
        out.contains("installed rule set faulty-rules 1.0.0 for cpts-a"),
        "{out}"
    );
    assert!(
        out.contains("in force for cpts-a from 2024-05-01: faulty-rules 1.0.0"),
        "{out}"
    );
    assert!(out.contains("mode = \"ok\""), "{out}");
    // The barème page's history: the new choice first, the old one kept.
    assert_eq!(history(&mut tom).await, ["2024-05-01", "2024-01-01"]);
    let (rule_set, version, effective, settings, set_by): (
        String,
        String,
        String,
        String,
        Option<i64>,
    ) = sqlx::query_as(
        "SELECT rule_set_id, version, effective_from, settings, set_by FROM rule_set_assignments WHERE structure_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(w.sid)
    .fetch_one(host.state.db.pool())
    .await
    .unwrap();
    assert_eq!(
        (rule_set.as_str(), version.as_str(), effective.as_str()),
        ("faulty-rules", "1.0.0", "2024-05-01")
    );
    assert!(
        settings.contains("mode"),
        "every default stored: {settings}"
    );
    assert_eq!(set_by, None, "no account chose it: the command line did");
    // Audited as the page audits « Mettre en vigueur ».
    let entries = host.state.db.audit_entries(Some(w.sid), 100).await.unwrap();
    let entry = entries
        .iter()
        .find(|e| e.action == "indemnites.bareme.choisir")
        .unwrap_or_else(|| panic!("no audit entry: {entries:?}"));
    assert_eq!(entry.target, "Barème défaillant (tests) 1.0.0");
    assert_eq!(entry.actor, "système (CLI)");
    let after = entry.after.as_deref().unwrap_or_default();
    assert!(
        after.contains("\"effet\":\"2024-05-01\"") && after.contains("\"bareme\":\"faulty-rules\""),
        "{after}"
    );

    // In force: a meeting of May is computed with it (10 €), one of April with the forfait.
    closed_meeting(
        &mut claire,
        "Groupe BPCO d’avril",
        &w.bpco,
        "2024-04-09T18:00",
        &[(key(w.anne), 60)],
    )
    .await;
    closed_meeting(
        &mut claire,
        "Groupe BPCO de mai",
        &w.bpco,
        "2024-05-14T18:00",
        &[(key(w.anne), 60)],
    )
    .await;
    deliver(&host, w.sid).await;
    let lines = ledger(&mut tom, "").await;
    let of = |title: &str| {
        lines
            .iter()
            .find(|r| r.titled(title))
            .unwrap_or_else(|| panic!("no line for {title}: {lines:?}"))
            .cents()
    };
    assert_eq!(of("Groupe BPCO d’avril"), 8000);
    assert_eq!(of("Groupe BPCO de mai"), 1000);
}

#[tokio::test]
async fn dry_run_prints_the_web_pages_differences_and_puts_nothing_in_force() {
    let host = indemnity_host().await;
    let (w, mut tom, _claire) = two_past_bpco_meetings(&host).await;
    let chosen_before = history(&mut tom).await;
    let dry_run = |extra: &[&str]| {
        let mut args = words(&[
            "plugin",
            "dry-run",
            &built("rules_faulty"),
            "--structure",
            "cpts-a",
        ]);
        args.extend(words(extra));
        args.extend(installation(&host));
        cli(args)
    };
    let (result, _) = dry_run(&["--from", "2024-12-31", "--to", "2024-01-01"]).await;
    assert!(
        result
            .expect_err("an empty period")
            .contains("the period is empty"),
    );
    // A coordinator who is not a treasurer is not asked.
    let (result, _) = dry_run(&[
        "--from",
        "2024-01-01",
        "--to",
        "2024-12-31",
        "--as",
        "claire@a.test",
    ])
    .await;
    let error = result.expect_err("not a treasurer");
    assert!(error.contains("indemnites:tresorier"), "{error}");

    // As the first admin (Adèle), by default.
    let (result, out) = dry_run(&["--from", "2024-01-01", "--to", "2024-12-31"]).await;
    result.unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert!(
        out.contains("installed rule set faulty-rules 1.0.0 for cpts-a (available, not in force)"),
        "{out}"
    );
    assert!(out.contains("as adele@a.test"), "{out}");
    assert!(line_of(&out, "Person").contains("Difference (€)"), "{out}");
    // Anne: two lines of 80 € now, 10 € each with the faulty rule set's « ok ».
    let anne = line_of(&out, "Anne Active");
    assert!(
        anne.contains("160.00") && anne.contains("20.00") && anne.ends_with("-140.00"),
        "{anne}"
    );

    // The web page's dry-run of the same rule set and period, as Tom the treasurer.
    let (status, page) = tom
        .get(&format!(
            "{A}/bareme/simulation?bareme=faulty-rules&version=1.0.0&du=2024-01-01&au=2024-12-31"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let table = &page[page.find("class=\"simulation").expect("table.simulation")..];
    let total = row_with(table, "class=\"total\"");
    let current = cell_cents(total, "montant actuel");
    let simulated = cell_cents(total, "montant simule");
    let difference = cell_cents(total, "montant ecart");
    assert_eq!(simulated, 4 * 1000, "{total}");
    let totals = format!(
        "totals: 4 line(s) of 2 person(s); current {}, simulated {}, difference {}",
        euros(current),
        euros(simulated),
        signed_euros(difference)
    );
    assert!(out.contains(&totals), "{totals:?} not in\n{out}");
    assert!(
        line_of(&out, "Total").ends_with(&signed_euros(difference).replace(" €", "")),
        "{out}"
    );

    // As Tom, the treasurer: the same totals, nothing installed again.
    let (result, out) = dry_run(&[
        "--from",
        "2024-01-01",
        "--to",
        "2024-12-31",
        "--as",
        "tom@a.test",
    ])
    .await;
    result.unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert!(out.contains(&totals), "{out}");
    assert!(!out.contains("installed rule set"), "{out}");

    // Nothing was put in force: the barème's history is as it was.
    assert_eq!(history(&mut tom).await, chosen_before);
    let installed = host.state.registry.rule_sets().installed().await.unwrap();
    assert!(
        installed
            .iter()
            .any(|r| r.id == "faulty-rules" && r.structure_id == Some(w.sid)),
        "{installed:?}"
    );
}

/// The Python example (plugins/rules-python), built by its build.sh with componentize-py
/// (installed by the test command in target/test-tools/componentize) into `dir`.
fn python_rule_set(dir: &Path) -> String {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = dir.join("rules-python.wasm");
    let status = std::process::Command::new("bash")
        .arg(repo.join("plugins/rules-python/build.sh"))
        .arg(&out)
        .status()
        .expect("bash runs plugins/rules-python/build.sh");
    assert!(
        status.success(),
        "plugins/rules-python/build.sh failed: componentize-py is installed by scripts/test.sh \
         (target/test-tools/componentize)"
    );
    out.display().to_string()
}

#[tokio::test]
async fn a_python_rule_set_is_checked_installed_and_dry_run_like_the_rust_one() {
    let host = indemnity_host().await;
    let wasm = python_rule_set(&host.dir);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/rules-python/fixtures");
    let (result, out) = cli([
        words(&["plugin", "check", &wasm, "--fixtures"]),
        vec![fixtures.display().to_string()],
        installation(&host),
    ]
    .concat())
    .await;
    result.unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert!(out.contains("imports nothing"), "{out}");
    assert!(
        out.contains("rule set: horaire 1.0.0, « Indemnité horaire (exemple Python) »"),
        "{out}"
    );
    assert!(out.contains("10 fixture(s): 10 passed, 0 failed"), "{out}");

    let (_, mut tom, _claire) = two_past_bpco_meetings(&host).await;
    let chosen_before = history(&mut tom).await;
    let (result, out) = cli([
        words(&["plugin", "install", &wasm, "--structure", "cpts-a"]),
        installation(&host),
    ]
    .concat())
    .await;
    result.unwrap_or_else(|e| panic!("{e}\n{out}"));
    let (result, out) = cli([
        words(&[
            "plugin",
            "dry-run",
            &wasm,
            "--structure",
            "cpts-a",
            "--from",
            "2024-01-01",
            "--to",
            "2024-12-31",
        ]),
        installation(&host),
    ]
    .concat())
    .await;
    result.unwrap_or_else(|e| panic!("{e}\n{out}"));
    // Anne, libérale adhérente: two forfaits of 80 € now; 1 h 30 at 50 € an hour with
    // the Python rule set, 75 € each.
    let anne = line_of(&out, "Anne Active");
    assert!(
        anne.contains("160.00") && anne.contains("150.00") && anne.ends_with("-10.00"),
        "{anne}\n{out}"
    );
    // The web page says the same.
    let (status, page) = tom
        .get(&format!(
            "{A}/bareme/simulation?bareme=horaire&version=1.0.0&du=2024-01-01&au=2024-12-31"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let table = &page[page.find("class=\"simulation").expect("table.simulation")..];
    let total = row_with(table, "class=\"total\"");
    let simulated = cell_cents(total, "montant simule");
    assert!(
        out.contains(&format!("simulated {}", euros(simulated))),
        "{} not in\n{out}",
        euros(simulated)
    );
    assert_eq!(
        history(&mut tom).await,
        chosen_before,
        "nothing put in force"
    );
}
