//! Install and load checks: WIT version range, invalid packages, the compiled-component
//! cache, and the bundled plugin's manifest.

use maillage::plugins::LoadError;
use maillage::plugins::registry::RegistryError;

use crate::support::{Host, fresh_dir, test_config, wasm};

#[tokio::test]
async fn an_unsupported_wit_version_is_refused_naming_both_versions() {
    let host = Host::new().await;
    let err = host
        .state
        .registry
        .install(&wasm("fixture_future_wit"))
        .await
        .expect_err("must be refused");
    let message = err.to_string();
    assert!(
        matches!(err, RegistryError::Load(LoadError::UnsupportedWit { .. })),
        "{message}"
    );
    assert!(message.contains("maillage:plugin@9.0.0"), "{message}");
    assert!(
        message.contains(">=0.1.0, <0.3.0") && message.contains("0.2.7"),
        "{message}"
    );
    assert!(
        host.state.registry.installed().await.unwrap().is_empty(),
        "nothing was installed"
    );
}

#[tokio::test]
async fn garbage_is_not_a_plugin() {
    let host = Host::new().await;
    let err = host
        .state
        .registry
        .install(b"\0asm not really")
        .await
        .expect_err("must be refused");
    assert!(
        matches!(err, RegistryError::Load(LoadError::Invalid(_))),
        "{err}"
    );
    // A core module (not a component) is refused too.
    let core_module = b"\0asm\x01\0\0\0";
    assert!(host.state.registry.install(core_module).await.is_err());
}

#[tokio::test]
async fn the_manifest_comes_from_the_component() {
    let host = Host::new().await;
    let plugin = host.state.registry.install(&wasm("polls")).await.unwrap();
    let m = plugin.manifest();
    assert_eq!(m.id, "polls");
    assert_eq!(m.name, "Sondages de date");
    assert_eq!(plugin.wit_version().to_string(), "0.2.7");
    let caps: Vec<String> = m.capabilities.iter().map(|c| c.to_string()).collect();
    assert_eq!(caps, ["storage", "events", "groups", "mail", "timers"]);
    assert_eq!(m.nav[0].label, "Sondages");
    // Installing the same bytes again is a no-op.
    host.state.registry.install(&wasm("polls")).await.unwrap();
    assert_eq!(host.state.registry.installed().await.unwrap().len(), 1);
}

#[tokio::test]
async fn compiled_components_are_cached_on_disk_and_reused_after_restart() {
    let dir = fresh_dir();
    let config = test_config(&dir);
    let artifacts = || -> Vec<std::fs::DirEntry> {
        std::fs::read_dir(config.component_cache_dir())
            .unwrap()
            .flatten()
            .collect()
    };
    // The host compiles its bundled rule sets at start: they are not this component's.
    let before: Vec<std::ffi::OsString>;
    {
        let state = maillage::open(&config).await.unwrap();
        before = artifacts().iter().map(|e| e.file_name()).collect();
        state.registry.install(&wasm("polls")).await.unwrap();
    }
    let cached: Vec<_> = artifacts()
        .into_iter()
        .filter(|e| !before.contains(&e.file_name()))
        .collect();
    assert_eq!(cached.len(), 1, "one artifact for one component");
    let name = cached[0].file_name().to_string_lossy().into_owned();
    assert!(name.ends_with(".cwasm"));
    let modified = cached[0].metadata().unwrap().modified().unwrap();

    // A restarted host loads the installed package from disk, through the cache.
    let state = maillage::open(&config).await.unwrap();
    let plugin = state.registry.get("polls", "0.3.0").await.unwrap();
    assert_eq!(plugin.manifest().id, "polls");
    let again = artifacts()
        .into_iter()
        .find(|e| e.file_name() == cached[0].file_name())
        .unwrap();
    assert_eq!(
        again.metadata().unwrap().modified().unwrap(),
        modified,
        "the artifact was reused, not rewritten"
    );

    // A corrupted artifact is discarded and recompiled, not trusted.
    // (Replace the file rather than truncate it: the running host maps the artifact.)
    std::fs::remove_file(again.path()).unwrap();
    std::fs::write(again.path(), b"garbage").unwrap();
    let state = maillage::open(&config).await.unwrap();
    assert!(state.registry.get("polls", "0.3.0").await.is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_demo_seeds_structures_with_their_modules() {
    let host = Host::new().await;
    maillage::demo::seed(&host.state).await.unwrap();
    maillage::demo::seed(&host.state)
        .await
        .expect("seeding twice is harmless");
    // The demo admin belongs to both demo structures and sees them on the switcher.
    let mut admin = crate::support::Client::new(&host);
    admin
        .login("admin@demo.maillage.fr", maillage::demo::DEMO_PASSWORD)
        .await;
    let (status, body) = admin.get("/").await;
    assert_eq!(status, http::StatusCode::OK);
    assert!(body.contains("CPTS Démo") && body.contains("MSP de Cayenne"));
    let (status, body) = admin.get("/cpts-demo/polls/").await;
    assert_eq!(status, http::StatusCode::OK);
    assert!(body.contains("Créer un sondage"));
    // The directory comes filled with a synthetic extract of the demo territory.
    let (status, body) = admin.get("/cpts-demo/annuaire/").await;
    assert_eq!(status, http::StatusCode::OK, "{body}");
    assert!(body.contains("Résultats exacts (50)"), "{body}");
    // A member of a second CPTS, which enables only the documents, reads what the CPTS
    // Démo published in the national library, read-only, and nothing else of it.
    {
        let mut lea = crate::support::Client::new(&host);
        lea.login("littoral@demo.maillage.fr", maillage::demo::DEMO_PASSWORD)
            .await;
        let (status, list) = lea.get("/cpts-littoral/documents/bibliotheque").await;
        assert_eq!(status, http::StatusCode::OK, "{list}");
        assert!(
            list.contains("Fiche réflexe soins non programmés")
                && list.contains("CPTS Démo (CPTS)"),
            "{list}"
        );
        let entry = list
            .split("data-entree=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a library entry listed")
            .to_string();
        let (status, page) = lea
            .get(&format!("/cpts-littoral/documents/bibliotheque/{entry}"))
            .await;
        assert_eq!(status, http::StatusCode::OK, "{page}");
        assert!(page.contains("Publié par CPTS Démo (CPTS)"), "{page}");
        assert!(
            !page.contains("/publier") && !page.contains("/retirer"),
            "{page}"
        );
        assert_eq!(
            lea.get("/cpts-littoral/polls/").await.0,
            http::StatusCode::NOT_FOUND,
            "only the documents are enabled there"
        );
        assert_eq!(
            lea.get("/cpts-demo/documents/").await.0,
            http::StatusCode::NOT_FOUND,
            "the CPTS Démo's own documents stay its own"
        );
    }
    // The SNP project's Markdown text, written by three (seeded once): Camille's
    // version 1, Marc's revision with its summary, Alice's save merged with it.
    {
        use crate::documents_merge::{mentions, revision_entry, revisions};
        let db = &host.state.db;
        let demo = db.structure_by_slug("cpts-demo").await.unwrap().unwrap();
        let alice = db
            .account_by_login("admin@demo.maillage.fr")
            .await
            .unwrap()
            .expect("the demo admin");
        let snp = db
            .groups(demo.id, alice.id)
            .await
            .unwrap()
            .into_iter()
            .find(|g| g.name == "Soins non programmés")
            .expect("the SNP project's group");
        let (status, folder) = admin
            .get(&format!("/cpts-demo/documents/g/{}", snp.id))
            .await;
        assert_eq!(status, http::StatusCode::OK, "{folder}");
        let title = "Fiche réflexe soins non programmés";
        let at = folder
            .find(title)
            .unwrap_or_else(|| panic!("no « {title} » in {folder}"));
        let marker = "/cpts-demo/documents/d/";
        let start = folder[..at].rfind(marker).expect("a link to the text") + marker.len();
        let text: String = folder[start..]
            .chars()
            .take_while(|c| !matches!(c, '"' | '?' | '/' | '#'))
            .collect();
        let (status, page) = admin.get(&format!("/cpts-demo/documents/d/{text}")).await;
        assert_eq!(status, http::StatusCode::OK, "{page}");
        assert!(crate::projects::says(&page, "Version 3 —"), "{page}");
        let md = crate::projects::first(&page, "div.markdown");
        assert!(md.inner.contains("<table"), "the schedule: {}", md.html);
        assert!(md.inner.contains("checkbox"), "the checklist: {}", md.html);
        let shown = md.text();
        assert!(
            shown.contains("permanence de deux médecins de la CPTS")
                && shown.contains("Que faire en attendant la consultation"),
            "both edits in the text: {shown}"
        );
        let (status, history) = admin
            .get(&format!("/cpts-demo/documents/d/{text}/historique"))
            .await;
        assert_eq!(status, http::StatusCode::OK, "{history}");
        assert_eq!(revisions(&history), [3, 2, 1], "{history}");
        let merged = revision_entry(&history, 3);
        assert!(mentions(&merged, "fusion avec la version 2"), "{merged}");
        assert!(mentions(&merged, "Alice Administratrice"), "{merged}");
        let revised = revision_entry(&history, 2);
        assert!(mentions(&revised, "Marc Médecin"), "{revised}");
        assert!(
            mentions(&revised, "Permanence du samedi précisée"),
            "{revised}"
        );
    }
    let cayenne = host
        .state
        .db
        .structure_by_slug("msp-cayenne")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cayenne.time_zone, "America/Cayenne");
}

#[tokio::test]
async fn the_runtime_benchmark_runs_end_to_end() {
    // Smoke run with tiny numbers: the benchmark itself checks both pages show the
    // seeded polls; timings are printed, never asserted.
    maillage::bench::runtime(20, std::time::Duration::from_millis(50))
        .await
        .expect("bench runs");
}

#[tokio::test]
async fn a_component_built_against_wit_0_2_0_still_loads_and_stores() {
    let host = Host::new().await;
    let plugin = host
        .state
        .registry
        .install(&wasm("fixture_wit_0_2_0"))
        .await
        .unwrap();
    assert_eq!(plugin.wit_version().to_string(), "0.2.0");
    host.structure("cpts-a", &["compat"]).await;
    let mut member = host.member("cpts-a", maillage::tenancy::Role::Member).await;
    member.get("/cpts-a/compat/").await;
    let (status, page) = member.get("/cpts-a/compat/").await;
    assert_eq!(status, http::StatusCode::OK, "{page}");
    assert!(
        page.contains("2 notes"),
        "its records work through the 0.2.1 host: {page}"
    );
}
