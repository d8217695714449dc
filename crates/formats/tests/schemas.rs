//! The JSON Schemas in `docs/schemas/` are generated from the types; this
//! fails when one is stale. Rewrite them with
//! `PERIMETER_UPDATE_SCHEMAS=1 cargo test -p formats --test schemas`.

#![allow(clippy::disallowed_methods)] // a test reads its own switch

use std::path::PathBuf;

#[test]
fn checked_in_schemas_are_current() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/schemas");
    let update = std::env::var_os("PERIMETER_UPDATE_SCHEMAS").is_some();
    let mut stale = Vec::new();
    let mut names = Vec::new();
    for (name, schema) in formats::schemas() {
        names.push(name.to_owned());
        let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        let path = dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
            continue;
        }
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, text).unwrap();
        } else {
            stale.push(name);
        }
    }
    // A schema whose type is gone is stale too.
    let mut extra: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    extra.retain(|f| f.ends_with(".schema.json") && !names.contains(f));
    if update {
        for f in &extra {
            std::fs::remove_file(dir.join(f)).unwrap();
        }
        extra.clear();
    }
    assert!(
        stale.is_empty() && extra.is_empty(),
        "stale schemas in docs/schemas: {stale:?}, without a type: {extra:?}; \
         rerun with PERIMETER_UPDATE_SCHEMAS=1 and commit them"
    );
}

/// Every schema is listed, with its format, in the folder's README.
#[test]
fn every_schema_is_listed_in_the_readme() {
    let readme = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/schemas/README.md"),
    )
    .unwrap();
    for (name, _) in formats::schemas() {
        assert!(
            readme.contains(&format!("| `{name}` |")),
            "{name} is not in docs/schemas/README.md"
        );
    }
}

/// Each format is one object with a title, as a validator expects.
#[test]
fn schemas_are_objects_with_a_title() {
    for (name, schema) in formats::schemas() {
        let v = serde_json::to_value(&schema).unwrap();
        assert_eq!(v["type"], "object", "{name}");
        assert!(v["title"].is_string(), "{name}");
    }
}
