//! Typed records through WIT `records` (the listener fixture's `items` collection):
//! field types, required/default, unique keys, references, filters with bound values,
//! sort and cursor pagination, full-text with accent folding, count and aggregates,
//! scoping per structure, and schema changes at install. Same suite on both backends.

use http::StatusCode;
use maillage::storage::StorageError;
use maillage::storage::collections::{CollectionDef, FieldDef, FieldType, IndexDef};
use maillage::tenancy::Role;
use serde_json::{Value, json};

use crate::support::{Client, Host};

async fn call(c: &mut Client<'_>, method: &str, uri: &str, body: Value) -> (StatusCode, Value) {
    let (status, text) = if method == "GET" {
        c.get(uri).await
    } else {
        let (status, _, text) = c
            .post_body(uri, "application/json", body.to_string().into_bytes())
            .await;
        (status, text)
    };
    let value = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "raw": text }));
    (status, value)
}

async fn insert(c: &mut Client<'_>, slug: &str, item: Value) -> (StatusCode, Value) {
    call(c, "POST", &format!("/{slug}/listener/items"), item).await
}

fn q(spec: Value) -> String {
    percent(&spec.to_string())
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn query(c: &mut Client<'_>, slug: &str, spec: Value) -> (StatusCode, Value) {
    call(
        c,
        "GET",
        &format!("/{slug}/listener/items?q={}", q(spec)),
        Value::Null,
    )
    .await
}

/// Codes of the items a query returns, in order.
/// The codes of every record in `sort` order, read page by page (`limit` each) through
/// the cursors.
async fn walk(c: &mut Client<'_>, sort: &str, limit: u32) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut spec = json!({"sort": sort, "limit": limit});
        if let Some(next) = &cursor {
            spec["cursor"] = json!(next);
        }
        let (status, page) = query(c, "cpts-a", spec).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for item in page["ok"]["items"].as_array().unwrap() {
            seen.push(item["code"].as_str().unwrap().to_string());
        }
        match page["ok"]["next"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return seen,
        }
    }
}

async fn codes(c: &mut Client<'_>, slug: &str, spec: Value) -> Vec<String> {
    let (status, page) = query(c, slug, spec).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["ok"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn records_are_typed_validated_and_scoped_to_their_structure() {
    let host = Host::new().await;
    host.structure("cpts-a", &["listener"]).await;
    host.structure("cpts-b", &["listener"]).await;
    let mut a = host.member("cpts-a", Role::Member).await;
    let mut b = host.member("cpts-b", Role::Member).await;

    let (status, first) = insert(
        &mut a,
        "cpts-a",
        json!({"code": "R1", "label": "Réunion plénière à Évreux", "amount": 12_50,
               "day": "2026-12-03", "at": "2026-12-03T20:00:00+01:00[Europe/Paris]",
               "extra": {"salle": "B"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let first = &first["ok"];
    let id = first["id"].as_str().unwrap().to_string();
    // Defaults applied, types kept, the zone written is the zone read.
    assert_eq!(first["qty"], 1);
    assert_eq!(first["done"], false);
    assert_eq!(first["amount"], 1250);
    assert_eq!(first["extra"]["salle"], "B");
    assert_eq!(first["at"], "2026-12-03T20:00:00+01:00[Europe/Paris]");
    assert!(first["created_at"].as_i64().unwrap() > 1_700_000_000);

    // Bad input is refused with a reason, and stores nothing.
    for (item, expected) in [
        (json!({"code": "X", "label": "x", "amount": 12.5}), "cents"),
        (
            json!({"code": "X", "label": "x", "colour": "red"}),
            "no field",
        ),
        (json!({"code": "X"}), "label is required"),
        (
            json!({"code": "X", "label": "x", "day": "2026-02-30"}),
            "YYYY-MM-DD",
        ),
        (
            json!({"code": "X", "label": "x", "at": "2026-12-03 20:00"}),
            "RFC 3339",
        ),
        (
            json!({"code": "X", "label": "x", "done": "oui"}),
            "true or false",
        ),
        (json!({"code": "X", "label": "x", "id": "../etc"}), "id"),
        (json!(["not", "an", "object"]), "JSON object"),
    ] {
        let (status, answer) = insert(&mut a, "cpts-a", item.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{item} → {answer}"
        );
        assert!(
            answer["error"].as_str().unwrap().contains(expected),
            "{item} → {answer}"
        );
    }
    // A unique key holds within a structure; another structure may reuse it.
    let (status, _) = insert(&mut a, "cpts-a", json!({"code": "R1", "label": "doublon"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, b_item) = insert(&mut b, "cpts-b", json!({"code": "R1", "label": "Chez B"})).await;
    assert_eq!(status, StatusCode::OK);
    let b_id = b_item["ok"]["id"].as_str().unwrap().to_string();
    // A reference must name a record of the same structure.
    let (status, answer) = insert(
        &mut a,
        "cpts-a",
        json!({"code": "R2", "label": "x", "parent": b_id}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    let (status, _) = insert(
        &mut a,
        "cpts-a",
        json!({"code": "R2", "label": "Suite", "parent": id}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // B sees only its own record, and cannot read, change or delete A's by id.
    assert_eq!(codes(&mut b, "cpts-b", json!({})).await, ["R1"]);
    let (status, got) = call(
        &mut b,
        "GET",
        &format!("/cpts-b/listener/items/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!((status, &got["ok"]), (StatusCode::OK, &Value::Null));
    let (_, updated) = call(
        &mut b,
        "POST",
        &format!("/cpts-b/listener/items/{id}"),
        json!({"label": "volé"}),
    )
    .await;
    assert_eq!(updated["ok"], Value::Null);
    let (_, deleted) = call(
        &mut b,
        "POST",
        &format!("/cpts-b/listener/items/{id}/delete"),
        Value::Null,
    )
    .await;
    assert_eq!(deleted["ok"], false);
    let (_, got) = call(
        &mut a,
        "GET",
        &format!("/cpts-a/listener/items/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(got["ok"]["label"], "Réunion plénière à Évreux");

    // Update changes the given fields only; null clears; required cannot be cleared.
    let (status, updated) = call(
        &mut a,
        "POST",
        &format!("/cpts-a/listener/items/{id}"),
        json!({"done": true, "extra": null}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["ok"]["done"], true);
    assert_eq!(updated["ok"]["extra"], Value::Null);
    assert_eq!(updated["ok"]["amount"], 1250);
    let (status, _) = call(
        &mut a,
        "POST",
        &format!("/cpts-a/listener/items/{id}"),
        json!({"label": null}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Upsert on the unique key: the second call updates the same record.
    let (_, up1) = call(
        &mut a,
        "POST",
        "/cpts-a/listener/items/upsert",
        json!({"code": "U", "label": "v1"}),
    )
    .await;
    let (_, up2) = call(
        &mut a,
        "POST",
        "/cpts-a/listener/items/upsert",
        json!({"code": "U", "label": "v2"}),
    )
    .await;
    assert_eq!(up1["ok"]["id"], up2["ok"]["id"]);
    assert_eq!(up2["ok"]["label"], "v2");
}

#[tokio::test]
async fn filters_sorts_pages_search_and_aggregates() {
    let host = Host::new().await;
    host.structure("cpts-a", &["listener"]).await;
    let mut a = host.member("cpts-a", Role::Member).await;
    let rows = [
        (
            "A",
            "Réunion à Évreux",
            1000,
            "2026-01-05",
            "2026-01-05T09:00:00+01:00",
            true,
        ),
        (
            "B",
            "Formation diabète",
            2500,
            "2026-01-06",
            "2026-01-06T09:00:00-03:00[America/Cayenne]",
            false,
        ),
        (
            "C",
            "Réunion bureau",
            2500,
            "2026-01-07",
            "2026-01-07T08:00:00Z",
            false,
        ),
        (
            "D",
            "Soirée 100% santé",
            500,
            "2026-01-08",
            "2026-01-08T09:00:00+04:00[Indian/Reunion]",
            true,
        ),
        (
            "E",
            "Sans montant",
            -1,
            "2026-01-09",
            "2026-01-09T09:00:00Z",
            false,
        ),
    ];
    for (code, label, amount, day, at, done) in rows {
        let mut item = json!({"code": code, "label": label, "day": day, "at": at, "done": done});
        if amount >= 0 {
            item["amount"] = json!(amount);
        }
        let (status, answer) = insert(&mut a, "cpts-a", item).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }

    let cases = [
        (
            json!({"filter": "amount >= 1000 && done = false", "sort": "code"}),
            vec!["B", "C"],
        ),
        (
            json!({"filter": "amount = null", "sort": "code"}),
            vec!["E"],
        ),
        (
            json!({"filter": "!(amount = 2500) && amount != null", "sort": "code"}),
            vec!["A", "D"],
        ),
        (
            json!({"filter": "label ~ \"réunion\"", "sort": "code"}),
            vec!["A", "C"],
        ),
        (
            json!({"filter": "label ~ {:t}", "params": {"t": "100%"}, "sort": "code"}),
            vec!["D"],
        ),
        (
            json!({"filter": "day in [\"2026-01-05\", \"2026-01-09\"]", "sort": "-code"}),
            vec!["E", "A"],
        ),
        (
            json!({"filter": "code in {:codes}", "params": {"codes": ["B", "D"]}, "sort": "code"}),
            vec!["B", "D"],
        ),
        // Instants compare and sort across zones: B is 12:00Z on the 6th (09:00 in
        // Cayenne), D is 05:00Z on the 8th (09:00 in Réunion).
        (
            json!({"filter": "at > {:t}", "params": {"t": "2026-01-06T11:59:00Z"}, "sort": "-at"}),
            vec!["E", "D", "C", "B"],
        ),
        (
            json!({"filter": "at < {:t}", "params": {"t": "2026-01-06T12:00:00+00:00"}}),
            vec!["A"],
        ),
        // Values are bound, never spliced: this finds nothing and harms nothing.
        (json!({"filter": "label = \"x' OR 1=1 --\""}), vec![]),
        (json!({"search": "evreux"}), vec!["A"]),
        (
            json!({"search": "REUNION", "sort": "-code"}),
            vec!["C", "A"],
        ),
        (
            json!({"sort": "-amount,code"}),
            vec!["B", "C", "A", "D", "E"],
        ),
    ];
    for (spec, expected) in cases {
        assert_eq!(
            codes(&mut a, "cpts-a", spec.clone()).await,
            expected,
            "{spec}"
        );
    }

    // Cursor pagination walks the whole order, NULLs last, without repeats.
    assert_eq!(walk(&mut a, "-amount", 2).await, ["B", "C", "A", "D", "E"]);
    // Ties break by id ascending (B was inserted before C), or descending when the
    // sort ends with "-id" (a thread's newest page), cursors included; keys after the
    // id change nothing.
    for (sort, expected) in [
        ("-amount,-id", ["C", "B", "A", "D", "E"]),
        ("-amount,id,-code", ["B", "C", "A", "D", "E"]),
    ] {
        assert_eq!(
            codes(&mut a, "cpts-a", json!({ "sort": sort })).await,
            expected,
            "{sort}"
        );
        assert_eq!(walk(&mut a, sort, 1).await, expected, "{sort}, one by one");
    }
    // A cursor from another sort, or forged, is refused.
    let (_, page) = query(&mut a, "cpts-a", json!({"sort": "-amount", "limit": 1})).await;
    let next = page["ok"]["next"].as_str().unwrap();
    let (status, _) = query(&mut a, "cpts-a", json!({"sort": "code", "cursor": next})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = query(&mut a, "cpts-a", json!({"cursor": "zz"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Malformed filters and unknown or unfilterable fields are refused, with the reason.
    for filter in [
        "amount >",
        "colour = 1",
        "extra = 1",
        "amount = \"douze\"",
        "label; DROP TABLE x",
        "code in 3",
    ] {
        let (status, answer) = query(&mut a, "cpts-a", json!({ "filter": filter })).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{filter}: {answer}"
        );
    }
    let (status, _) = query(&mut a, "cpts-a", json!({"filter": "code = {:missing}"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Count and aggregates (reports): per value of a field, with sums in cents.
    let (_, count) = call(
        &mut a,
        "GET",
        &format!(
            "/cpts-a/listener/items/count?q={}",
            q(json!({"filter": "done = true"}))
        ),
        Value::Null,
    )
    .await;
    assert_eq!(count["ok"], 2);
    let (status, buckets) = call(
        &mut a,
        "GET",
        "/cpts-a/listener/items/aggregate?group=done&sum=amount",
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{buckets}");
    assert_eq!(buckets["ok"], json!([[false, 3, 5000], [true, 2, 1500]]));
    let (_, total) = call(
        &mut a,
        "GET",
        "/cpts-a/listener/items/aggregate?sum=amount",
        Value::Null,
    )
    .await;
    assert_eq!(total["ok"], json!([[null, 5, 6500]]));
    let (status, _) = call(
        &mut a,
        "GET",
        "/cpts-a/listener/items/aggregate?sum=label",
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn additive_changes_apply_at_install_and_destructive_ones_need_confirmation() {
    let host = Host::new().await;
    let db = &host.state.db;
    let structure = host.structure("cpts-a", &[]).await;
    let v = |s: &str| semver::Version::parse(s).unwrap();
    let v1 = CollectionDef {
        name: "notes".into(),
        fields: vec![
            FieldDef::new("title", FieldType::Text),
            FieldDef::new("score", FieldType::Integer),
        ],
        indexes: vec![],
    };
    db.apply_collections("demo", &v("1.0.0"), std::slice::from_ref(&v1), false)
        .await
        .unwrap();
    let schema = maillage::storage::collections::Schema::new("demo", std::slice::from_ref(&v1));
    let records = maillage::storage::collections::Records {
        backend: db.backend(),
        schema: &schema,
        structure_id: structure.id,
    };
    let mut conn = db.pool().acquire().await.unwrap();
    records
        .insert(&mut conn, "notes", r#"{"title": "Première", "score": 3}"#)
        .await
        .unwrap();

    // v2 adds a field with a default (existing rows get it) and a unique key.
    let mut v2 = v1.clone();
    v2.fields.push(FieldDef {
        default: Some("\"ouvert\"".into()),
        ..FieldDef::new("status", FieldType::Text)
    });
    v2.indexes.push(IndexDef {
        fields: vec!["title".into()],
        unique: true,
    });
    let plan = db
        .apply_collections("demo", &v("1.1.0"), std::slice::from_ref(&v2), false)
        .await
        .unwrap();
    assert!(
        plan.destructive.is_empty() && plan.additive.len() == 2,
        "{plan:?}"
    );
    let schema2 = maillage::storage::collections::Schema::new("demo", std::slice::from_ref(&v2));
    let records2 = maillage::storage::collections::Records {
        schema: &schema2,
        ..records
    };
    let page = records2
        .query(&mut conn, "notes", &Default::default())
        .await
        .unwrap();
    assert_eq!(page.items[0]["status"], "ouvert");

    // v3 drops `score` and retypes `title`: refused without confirmation, nothing changes.
    let mut v3 = v2.clone();
    v3.fields.retain(|f| f.name != "score");
    let err = db
        .apply_collections("demo", &v("2.0.0"), std::slice::from_ref(&v3), false)
        .await
        .unwrap_err();
    match err {
        StorageError::Destructive(steps) => assert!(steps[0].contains("notes.score"), "{steps:?}"),
        other => panic!("expected a destructive refusal, got {other}"),
    }
    let page = records2
        .query(&mut conn, "notes", &Default::default())
        .await
        .unwrap();
    assert_eq!(
        page.items[0]["score"], 3,
        "the refused change touched nothing"
    );
    // Confirmed: applied.
    db.apply_collections("demo", &v("2.0.0"), std::slice::from_ref(&v3), true)
        .await
        .unwrap();
    let schema3 = maillage::storage::collections::Schema::new("demo", std::slice::from_ref(&v3));
    let records3 = maillage::storage::collections::Records {
        schema: &schema3,
        ..records
    };
    let page = records3
        .query(&mut conn, "notes", &Default::default())
        .await
        .unwrap();
    assert_eq!(page.items[0]["title"], "Première");
    assert!(page.items[0].get("score").is_none());
    // An older version installed later leaves the newer schema alone.
    let plan = db
        .apply_collections("demo", &v("1.0.0"), std::slice::from_ref(&v1), false)
        .await
        .unwrap();
    assert!(plan.additive.is_empty() && plan.destructive.is_empty());
}

#[tokio::test]
async fn rank_orders_by_criteria_met_and_a_server_error_keeps_nothing() {
    let host = Host::new().await;
    host.structure("cpts-a", &["listener"]).await;
    host.structure("cpts-b", &["listener"]).await;
    let mut a = host.member("cpts-a", Role::Member).await;
    let mut b = host.member("cpts-b", Role::Member).await;
    for (code, qty, done) in [
        ("A", 1, false),
        ("B", 5, false),
        ("C", 5, true),
        ("D", 9, true),
    ] {
        let (s, v) = insert(
            &mut a,
            "cpts-a",
            json!({"code": code, "label": code, "qty": qty, "done": done}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    insert(
        &mut b,
        "cpts-b",
        json!({"code": "Z", "label": "Z", "qty": 5, "done": true}),
    )
    .await;
    let rank = |spec: Value| format!("/cpts-a/listener/items/rank?q={}", q(spec));
    // Two criteria: qty = 5 and done. C meets both, B and D one; A none, so it is not
    // returned; ties by code.
    let (s, v) = call(
        &mut a,
        "GET",
        &rank(json!({"criteria": ["qty = {:five}", "done = true"],
        "params": {"five": 5}, "sort": "code"})),
        Value::Null,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let got: Vec<(u64, &str)> = v["ok"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["score"].as_u64().unwrap(), r["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [(2, "C"), (1, "B"), (1, "D")],
        "another structure's Z never appears"
    );
    // The filter still applies; the limit too.
    let (_, v) = call(
        &mut a,
        "GET",
        &rank(json!({"criteria": ["qty = 5"], "filter": "qty > 1", "limit": 2, "sort": "-code"})),
        Value::Null,
    )
    .await;
    let got: Vec<&str> = v["ok"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["C", "B"]);
    // Bad criteria are refused with a reason, values stay bound.
    for (spec, expected) in [
        (json!({"criteria": ["colour = 1"]}), "no field"),
        (json!({"criteria": [""]}), "empty"),
        (json!({"criteria": vec!["qty = 1"; 17]}), "at most 16"),
        (json!({"criteria": ["code = \"x\" || 1 = 1"]}), "criterion"),
    ] {
        let (s, v) = call(&mut a, "GET", &rank(spec.clone()), Value::Null).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{spec}: {v}");
        assert!(
            v["error"].as_str().unwrap().contains(expected),
            "{spec}: {v}"
        );
    }

    // A handler that wrote and then answered 503: its write is rolled back.
    let (s, v) = call(
        &mut a,
        "POST",
        "/cpts-a/listener/items/then-fail",
        json!({"code": "F", "label": "F"}),
    )
    .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(v["written"], true, "the insert itself succeeded");
    assert!(
        codes(&mut a, "cpts-a", json!({"filter": "code = \"F\""}))
            .await
            .is_empty()
    );
}

async fn insert_many(c: &mut Client<'_>, slug: &str, items: Value) -> (StatusCode, Value) {
    call(c, "POST", &format!("/{slug}/listener/items/many"), items).await
}

async fn select(c: &mut Client<'_>, slug: &str, spec: Value, fields: &str) -> (StatusCode, Value) {
    call(
        c,
        "GET",
        &format!(
            "/{slug}/listener/items/select?q={}&fields={fields}",
            q(spec)
        ),
        Value::Null,
    )
    .await
}

#[tokio::test]
async fn insert_many_writes_all_or_nothing_and_select_reads_only_the_named_fields() {
    let host = Host::new().await;
    host.structure("cpts-a", &["listener"]).await;
    host.structure("cpts-b", &["listener"]).await;
    let mut a = host.member("cpts-a", Role::Member).await;
    let mut b = host.member("cpts-b", Role::Member).await;

    // 120 records in one call, some omitting fields (two column sets), defaults applied.
    let items: Vec<Value> = (0..120)
        .map(|n| {
            let mut item =
                json!({"code": format!("M{n:03}"), "label": format!("Ligne {n} à Évreux")});
            if n % 2 == 0 {
                item["amount"] = json!(n * 100);
                item["at"] = json!("2026-03-12T20:00:00+01:00[Europe/Paris]");
            }
            item
        })
        .collect();
    let (status, answer) = insert_many(&mut a, "cpts-a", Value::Array(items)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let ids = answer["ok"].as_array().expect("ids").clone();
    assert_eq!(ids.len(), 120);
    let (status, first) = call(
        &mut a,
        "GET",
        &format!("/cpts-a/listener/items/{}", ids[0].as_str().unwrap()),
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        first["ok"]["code"], "M000",
        "ids come back in order: {first}"
    );
    assert_eq!(first["ok"]["qty"], 1, "defaults are applied: {first}");
    assert_eq!(first["ok"]["at"], "2026-03-12T20:00:00+01:00[Europe/Paris]");
    let (_, second) = call(
        &mut a,
        "GET",
        &format!("/cpts-a/listener/items/{}", ids[1].as_str().unwrap()),
        Value::Null,
    )
    .await;
    assert_eq!(second["ok"]["code"], "M001");
    assert!(second["ok"]["amount"].is_null(), "{second}");
    // Full-text search works on records written in bulk.
    assert_eq!(
        codes(
            &mut a,
            "cpts-a",
            json!({"search": "107 evreux", "sort": "code"})
        )
        .await,
        ["M107"]
    );

    // A bad record (the 3rd lacks its required label): nothing is written, the error
    // names it.
    let (status, answer) = insert_many(
        &mut a,
        "cpts-a",
        json!([{"code": "X1", "label": "un"}, {"code": "X2", "label": "deux"}, {"code": "X3"}]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("record 2"),
        "{answer}"
    );
    // A unique conflict in the second statement (another column set) leaves the first
    // statement's records out too, and the call can go on writing.
    let (status, answer) = insert_many(
        &mut a,
        "cpts-a",
        json!([{"code": "Y1", "label": "un"}, {"code": "M004", "label": "doublon", "amount": 5}]),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(
        codes(
            &mut a,
            "cpts-a",
            json!({"filter": "code ~ \"X\" || code ~ \"Y\""})
        )
        .await
        .is_empty()
    );
    // A reference to a record of another structure is refused.
    let (_, theirs) = insert(&mut b, "cpts-b", json!({"code": "B1", "label": "chez B"})).await;
    let (status, answer) = insert_many(
        &mut a,
        "cpts-a",
        json!([{"code": "Z1", "label": "enfant", "parent": ids[0]},
               {"code": "Z2", "label": "enfant", "parent": theirs["ok"]["id"]}]),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("parent"),
        "{answer}"
    );
    let (status, answer) = insert_many(
        &mut a,
        "cpts-a",
        Value::Array(
            (0..501)
                .map(|n| json!({"code": format!("T{n}"), "label": "t"}))
                .collect(),
        ),
    )
    .await;
    // The host takes 500 per call; the SDK splits a longer list.
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["ok"].as_array().unwrap().len(), 501);
    let (_, count) = call(&mut a, "GET", "/cpts-a/listener/items/count", Value::Null).await;
    assert_eq!(
        count["ok"],
        120 + 501,
        "none of the refused batches left a record"
    );

    // select: only "id" and the named fields, pages by cursor on a field not selected.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut spec = json!({"filter": "amount != null", "sort": "-amount", "limit": 25});
        if let Some(c) = &cursor {
            spec["cursor"] = json!(c);
        }
        let (status, page) = select(&mut a, "cpts-a", spec, "code").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for item in page["ok"]["items"].as_array().unwrap() {
            let keys: Vec<&String> = item.as_object().unwrap().keys().collect();
            assert_eq!(keys.len(), 2, "only id and code: {item}");
            assert!(item["id"].is_string());
            seen.push(item["code"].as_str().unwrap().to_string());
        }
        match page["ok"]["next"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 60);
    assert_eq!(seen[0], "M118", "highest amount first");
    assert_eq!(seen[59], "M000");
    let (status, page) = select(
        &mut a,
        "cpts-a",
        json!({"filter": "code = \"M002\""}),
        "amount,at,created_at",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let item = &page["ok"]["items"][0];
    assert_eq!(item["amount"], 200);
    assert_eq!(item["at"], "2026-03-12T20:00:00+01:00[Europe/Paris]");
    assert!(
        item["created_at"].is_i64() && item.get("label").is_none(),
        "{item}"
    );
    let (status, page) = select(&mut a, "cpts-a", json!({}), "code,nope").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page["error"].as_str().unwrap().contains("nope"), "{page}");
    // Scoped: the other structure sees its own record only.
    let (_, page) = select(&mut b, "cpts-b", json!({}), "code").await;
    assert_eq!(page["ok"]["items"].as_array().unwrap().len(), 1, "{page}");
}

/// SQLite plans `WHERE indexed = ? ORDER BY id LIMIT n` (a module's `first`) by walking
/// the primary key, the whole table, until it has statistics; a connection reads them
/// once. After `refresh_planner_statistics`, every pooled connection plans it on the
/// index, including those opened before the refresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshed_statistics_reach_every_pooled_connection() {
    if crate::support::on_postgres() {
        return; // PostgreSQL's autovacuum keeps its statistics; the refresh is a no-op.
    }
    let host = Host::new().await;
    let db = &host.state.db;
    let pool = db.pool();
    sqlx::raw_sql(
        "CREATE TABLE plan_probe (structure_id INTEGER NOT NULL, id TEXT NOT NULL, \
         owner TEXT NOT NULL, PRIMARY KEY (structure_id, id)); \
         CREATE INDEX plan_probe_owner ON plan_probe (structure_id, owner);",
    )
    .execute(pool)
    .await
    .unwrap();
    // Statistics taken while the table is empty, as on a new installation.
    db.refresh_planner_statistics().await.unwrap();
    let mut insert = String::from("INSERT INTO plan_probe VALUES ");
    for i in 0..3000 {
        if i > 0 {
            insert.push(',');
        }
        insert.push_str(&format!("(1, '{i:06}', 'owner-{}')", i % 1000));
    }
    sqlx::raw_sql(&insert).execute(pool).await.unwrap();
    let query = "EXPLAIN QUERY PLAN SELECT id FROM plan_probe \
                 WHERE structure_id = 1 AND owner = 'owner-7' ORDER BY id LIMIT 2";
    let plans = async || {
        // Hold several connections at once so that the pool's older ones are used.
        let mut held = Vec::new();
        let mut details = Vec::new();
        for _ in 0..4 {
            let mut conn = pool.acquire().await.unwrap();
            let rows = sqlx::query(query).fetch_all(&mut *conn).await.unwrap();
            let detail: Vec<String> = rows
                .iter()
                .map(|r| sqlx::Row::get::<String, _>(r, "detail"))
                .collect();
            details.push(detail.join("; "));
            held.push(conn);
        }
        details
    };
    let before = plans().await;
    assert!(
        before.iter().any(|d| !d.contains("plan_probe_owner")),
        "without statistics SQLite walks the primary key: {before:?}"
    );
    db.refresh_planner_statistics().await.unwrap();
    let after = plans().await;
    assert!(
        after.iter().all(|d| d.contains("plan_probe_owner")),
        "every connection plans on the index after the refresh: {after:?}"
    );
}
