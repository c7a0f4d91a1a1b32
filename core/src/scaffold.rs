//! `maillage plugin new module|rules NAME`: a new plugin project in a folder of its own,
//! ready for `cargo test` (natively) and `cargo build --release --target wasm32-wasip2`.
//!
//! The templates are real files under `src/scaffold/{module,rules}/`, named `*.tmpl` so
//! that neither cargo, rustfmt nor clippy take them for the host's code; they are compiled
//! in with `include_str!` and filled by plain string replacement of `{{name}}`,
//! `{{crate_name}}` and `{{sdk_path}}`. The project's `rust-toolchain.toml` is the
//! repository's own, so a project is built with the Rust the host and its SDK are built
//! with. The SDK is a path dependency on the checkout's `plugins/sdk` (or `sdk/rules`),
//! written as an absolute path, and the checkout's `plugins/Cargo.lock` seeds the
//! project's lock file: the project builds with the very dependency versions the SDK is
//! tested with (and offline, from a warm cargo cache).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// What to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A module (world `maillage:plugin/module`): pages, collections, events.
    Module,
    /// An indemnity rule set (world `maillage:indemnity/rule-set`): a pure function.
    Rules,
    /// The same in Python, built with componentize-py: the repository's example
    /// (`plugins/rules-python`) under the new id, with the released WIT in `wit/`.
    PythonRules,
}

/// The repository's pinned toolchain with the `wasm32-wasip2` target, as it is.
const TOOLCHAIN: &str = include_str!("../../rust-toolchain.toml");

/// (path in the project, template).
type Files = &'static [(&'static str, &'static str)];

const MODULE_FILES: Files = &[
    (
        "Cargo.toml",
        include_str!("scaffold/module/Cargo.toml.tmpl"),
    ),
    ("rust-toolchain.toml", TOOLCHAIN),
    (".gitignore", include_str!("scaffold/module/gitignore.tmpl")),
    ("README.md", include_str!("scaffold/module/README.md.tmpl")),
    (
        "src/lib.rs",
        include_str!("scaffold/module/src/lib.rs.tmpl"),
    ),
];

const RULES_FILES: Files = &[
    ("Cargo.toml", include_str!("scaffold/rules/Cargo.toml.tmpl")),
    ("rust-toolchain.toml", TOOLCHAIN),
    (".gitignore", include_str!("scaffold/rules/gitignore.tmpl")),
    ("README.md", include_str!("scaffold/rules/README.md.tmpl")),
    ("src/lib.rs", include_str!("scaffold/rules/src/lib.rs.tmpl")),
    (
        "fixtures/01-liberal-adherent.json",
        include_str!("scaffold/rules/fixtures/01-liberal-adherent.json.tmpl"),
    ),
    (
        "fixtures/02-salarie.json",
        include_str!("scaffold/rules/fixtures/02-salarie.json.tmpl"),
    ),
    (
        "fixtures/03-pleniere.json",
        include_str!("scaffold/rules/fixtures/03-pleniere.json.tmpl"),
    ),
];

/// The Python example's rule set, copied as it is but for its id (see [`python_app`]).
const PYTHON_APP: &str = include_str!("../../plugins/rules-python/app.py");
/// How the example names its id; the copy names the project's.
const PYTHON_ID_LINE: &str = "ID = \"horaire\"";

const PYTHON_RULES_FILES: Files = &[
    (
        ".gitignore",
        include_str!("scaffold/rules-python/gitignore.tmpl"),
    ),
    (
        "README.md",
        include_str!("scaffold/rules-python/README.md.tmpl"),
    ),
    // The released WIT, so that the project builds without a checkout.
    (
        "wit/rules.wit",
        include_str!("../../wit/indemnity/v0.1.0/rules.wit"),
    ),
    (
        "fixtures/01-liberal-1h30.json",
        include_str!("../../plugins/rules-python/fixtures/01-liberal-1h30.json"),
    ),
    (
        "fixtures/02-plafond.json",
        include_str!("../../plugins/rules-python/fixtures/02-plafond.json"),
    ),
    (
        "fixtures/03-salarie-convention-arrondi.json",
        include_str!("../../plugins/rules-python/fixtures/03-salarie-convention-arrondi.json"),
    ),
    (
        "fixtures/04-salarie-sans-convention.json",
        include_str!("../../plugins/rules-python/fixtures/04-salarie-sans-convention.json"),
    ),
    (
        "fixtures/05-salaries-exclus.json",
        include_str!("../../plugins/rules-python/fixtures/05-salaries-exclus.json"),
    ),
    (
        "fixtures/06-invite.json",
        include_str!("../../plugins/rules-python/fixtures/06-invite.json"),
    ),
    (
        "fixtures/07-non-adherent.json",
        include_str!("../../plugins/rules-python/fixtures/07-non-adherent.json"),
    ),
    (
        "fixtures/08-mode-autre.json",
        include_str!("../../plugins/rules-python/fixtures/08-mode-autre.json"),
    ),
    (
        "fixtures/09-mode-inconnu.json",
        include_str!("../../plugins/rules-python/fixtures/09-mode-inconnu.json"),
    ),
    (
        "fixtures/10-reglage-mauvais-type.json",
        include_str!("../../plugins/rules-python/fixtures/10-reglage-mauvais-type.json"),
    ),
];

/// The example's `app.py` with the project's id.
fn python_app(name: &str) -> anyhow::Result<String> {
    if !PYTHON_APP.contains(PYTHON_ID_LINE) {
        bail!(
            "internal error: plugins/rules-python/app.py no longer has the line {PYTHON_ID_LINE}"
        );
    }
    Ok(PYTHON_APP.replacen(PYTHON_ID_LINE, &format!("ID = \"{name}\""), 1))
}

/// The placeholders the templates may use.
const PLACEHOLDERS: &[&str] = &["{{name}}", "{{crate_name}}", "{{sdk_path}}"];

/// Rust keywords (strict and reserved, every edition): not a crate name.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Crates a project's crate would clash with: the compiler's own, and the dependencies of
/// the templates (as crate names, dashes turned into underscores).
const TAKEN_CRATES: &[&str] = &["std", "core", "alloc", "test", "proc_macro"];

/// Path segments the host serves inside a structure (`plugins::manifest`): a module
/// cannot be mounted there.
const HOST_SEGMENTS: &[&str] = &[
    "admin",
    "groupes",
    "fichiers",
    "imports",
    "bibliotheque",
    "plateforme",
];

impl Kind {
    fn files(self) -> Files {
        match self {
            Kind::Module => MODULE_FILES,
            Kind::Rules => RULES_FILES,
            Kind::PythonRules => PYTHON_RULES_FILES,
        }
    }

    /// The SDK crate the project depends on, and its folder in a checkout's `plugins/sdk`.
    fn sdk_crate(self) -> (&'static str, &'static str) {
        match self {
            Kind::Module => ("maillage-sdk", ""),
            Kind::Rules | Kind::PythonRules => ("maillage-rules", "rules"),
        }
    }

    /// The crates the template depends on directly.
    fn dependencies(self) -> &'static [&'static str] {
        match self {
            Kind::Module => &["maillage_sdk", "maud", "serde", "serde_json"],
            Kind::Rules => &["maillage_rules"],
            Kind::PythonRules => &[],
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Module => "module",
            Kind::Rules => "rule set",
            Kind::PythonRules => "Python rule set",
        }
    }
}

/// Whether `name` may name a project of this kind: its folder, its package, its module
/// or rule-set id. Lowercase letters, digits and dashes, 2 to 40 of them, starting with a
/// letter; not a Rust keyword nor a crate it would clash with; for a module, not a path
/// the host serves itself.
pub fn validate_name(kind: Kind, name: &str) -> anyhow::Result<()> {
    let length = name.chars().count();
    if !(2..=40).contains(&length) {
        bail!("the name must be 2 to 40 characters long, {name:?} has {length}");
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        bail!("the name must start with a lowercase letter (a-z): {name:?}");
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        bail!(
            "the name may contain only lowercase letters (a-z), digits and dashes: {name:?} has {bad:?}"
        );
    }
    let crate_name = crate_name(name);
    if KEYWORDS.contains(&crate_name.as_str()) {
        bail!("{name:?} cannot be used: it is a Rust keyword");
    }
    if TAKEN_CRATES.contains(&crate_name.as_str())
        || kind.dependencies().contains(&crate_name.as_str())
    {
        bail!("{name:?} cannot be used: it is the name of a crate the project builds with");
    }
    if kind == Kind::Module && HOST_SEGMENTS.contains(&name) {
        bail!("{name:?} cannot be a module's id: the host serves /{{structure}}/{name} itself");
    }
    Ok(())
}

/// The crate name Rust sees for a package name: dashes become underscores (the component
/// file is `target/wasm32-wasip2/release/{crate_name}.wasm`).
fn crate_name(name: &str) -> String {
    name.replace('-', "_")
}

/// Writes a new project of this kind into `parent/name/` (the parent is created if need
/// be) and returns that folder. `sdk` is the `plugins/sdk` folder of a Maillage checkout;
/// the project depends on it (or on its `rules/` crate) by absolute path. Refuses a name
/// [`validate_name`] refuses and a folder that already exists; nothing is left behind
/// when writing fails.
pub fn new_project(kind: Kind, name: &str, parent: &Path, sdk: &Path) -> anyhow::Result<PathBuf> {
    validate_name(kind, name)?;
    if kind == Kind::PythonRules {
        return write_project(
            kind,
            name,
            parent,
            &[("{{name}}", name.to_string())],
            |files| {
                files.push(("src/app.py", python_app(name)?));
                Ok(())
            },
        );
    }
    let sdk = absolute(sdk).with_context(|| {
        format!(
            "no Maillage SDK at {}: it must be the plugins/sdk folder of a Maillage checkout",
            sdk.display()
        )
    })?;
    let (package, folder) = kind.sdk_crate();
    let sdk_crate = if folder.is_empty() {
        sdk.clone()
    } else {
        sdk.join(folder)
    };
    let manifest = sdk_crate.join("Cargo.toml");
    let declares = std::fs::read_to_string(&manifest)
        .map(|text| text.contains(&format!("name = \"{package}\"")))
        .unwrap_or(false);
    if !declares {
        bail!(
            "{} is not the plugins/sdk folder of a Maillage checkout: {} does not declare the package {package}",
            sdk.display(),
            manifest.display()
        );
    }

    let vars = [
        ("{{name}}", name.to_string()),
        ("{{crate_name}}", crate_name(name)),
        ("{{sdk_path}}", toml_escape(&path_text(&sdk_crate))),
    ];
    write_project(kind, name, parent, &vars, |files| {
        // The versions the SDK is built and tested with, when the checkout has its lock file.
        let lock = sdk.parent().map(|plugins| plugins.join("Cargo.lock"));
        if let Some(lock) = lock
            && let Ok(text) = std::fs::read_to_string(&lock)
            && text.contains(&format!("name = \"{package}\""))
        {
            files.push(("Cargo.lock", text));
        }
        Ok(())
    })
}

/// Fills the kind's templates with `vars`, adds the files `extra` adds, and writes them
/// into `parent/name/` (see [`new_project`]).
fn write_project(
    kind: Kind,
    name: &str,
    parent: &Path,
    vars: &[(&str, String)],
    extra: impl FnOnce(&mut Vec<(&'static str, String)>) -> anyhow::Result<()>,
) -> anyhow::Result<PathBuf> {
    let mut files: Vec<(&str, String)> = Vec::new();
    for &(path, template) in kind.files() {
        let bare = PLACEHOLDERS
            .iter()
            .fold(template.to_string(), |text, key| text.replace(key, ""));
        if bare.contains("{{") {
            bail!(
                "internal error: the {} template {path} has an unknown placeholder",
                kind.label()
            );
        }
        files.push((path, fill(template, vars)));
    }
    extra(&mut files)?;

    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create the folder {}", parent.display()))?;
    let dest = parent.join(name);
    if dest.symlink_metadata().is_ok() {
        bail!(
            "{} already exists: choose another name, or another folder with --dir",
            dest.display()
        );
    }
    // create_dir (not _all): if it appeared meanwhile, refuse rather than write into it.
    std::fs::create_dir(&dest).with_context(|| format!("cannot create {}", dest.display()))?;
    let written = files.iter().try_for_each(|(path, text)| {
        let file = dest.join(path);
        if let Some(folder) = file.parent() {
            std::fs::create_dir_all(folder)?;
        }
        std::fs::write(&file, text)
    });
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&dest);
        return Err(anyhow::Error::new(e).context(format!("cannot write into {}", dest.display())));
    }
    Ok(absolute(&dest).unwrap_or(dest))
}

/// Replaces each placeholder by its value.
fn fill(template: &str, vars: &[(&str, String)]) -> String {
    vars.iter()
        .fold(template.to_string(), |text, (key, value)| {
            text.replace(key, value)
        })
}

/// The absolute, resolved form of a path that exists.
fn absolute(path: &Path) -> std::io::Result<PathBuf> {
    std::fs::canonicalize(path).map(without_verbatim_prefix)
}

/// Windows: canonicalize answers `\\?\C:\…`, which cargo takes but people do not read.
#[cfg(windows)]
fn without_verbatim_prefix(path: PathBuf) -> PathBuf {
    match path.to_str().and_then(|s| s.strip_prefix(r"\\?\")) {
        Some(plain) if plain.as_bytes().get(1) == Some(&b':') => PathBuf::from(plain),
        _ => path,
    }
}

#[cfg(not(windows))]
fn without_verbatim_prefix(path: PathBuf) -> PathBuf {
    path
}

/// A path as written into Cargo.toml (forward slashes work on every platform).
fn path_text(path: &Path) -> String {
    let text = path.to_string_lossy().into_owned();
    if cfg!(windows) {
        text.replace('\\', "/")
    } else {
        text
    }
}

/// Escapes text for the inside of a TOML basic string ("…").
fn toml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder under the system's temporary folder, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(label: &str) -> Scratch {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!(
                "maillage-scaffold-{label}-{}-{n}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            Scratch(path)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A stand-in for a checkout's `plugins/`: `sdk/Cargo.toml`, `sdk/rules/Cargo.toml`
    /// and a lock file naming both. Returns the `sdk` folder.
    fn fake_checkout(root: &Path) -> PathBuf {
        let plugins = root.join("checkout").join("plugins");
        let sdk = plugins.join("sdk");
        std::fs::create_dir_all(sdk.join("rules")).unwrap();
        std::fs::write(
            sdk.join("Cargo.toml"),
            "[package]\nname = \"maillage-sdk\"\n",
        )
        .unwrap();
        std::fs::write(
            sdk.join("rules").join("Cargo.toml"),
            "[package]\nname = \"maillage-rules\"\n",
        )
        .unwrap();
        std::fs::write(
            plugins.join("Cargo.lock"),
            "version = 4\n\n[[package]]\nname = \"maillage-rules\"\nversion = \"0.1.0\"\n\n\
             [[package]]\nname = \"maillage-sdk\"\nversion = \"0.1.0\"\n",
        )
        .unwrap();
        sdk
    }

    /// Every file under `dir`, as paths relative to it with forward slashes.
    fn files_under(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(folder) = stack.pop() {
            for entry in std::fs::read_dir(&folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let relative = path.strip_prefix(dir).unwrap();
                    out.push(relative.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn names_are_lowercase_words_with_dashes() {
        let longest = "a".repeat(40);
        let too_long = "a".repeat(41);
        for good in [
            "ab",
            "notes",
            "mes-notes",
            "forfait-2026",
            "a1",
            longest.as_str(),
        ] {
            validate_name(Kind::Module, good).unwrap();
            validate_name(Kind::Rules, good).unwrap();
        }
        for (bad, why) in [
            ("", "2 to 40 characters"),
            ("a", "2 to 40 characters"),
            (too_long.as_str(), "2 to 40 characters"),
            ("1forfait", "start with a lowercase letter"),
            ("-forfait", "start with a lowercase letter"),
            ("Forfait", "start with a lowercase letter"),
            ("mes_notes", "only lowercase letters"),
            ("mes notes", "only lowercase letters"),
            ("forfaitÉ", "only lowercase letters"),
            ("mes/../notes", "only lowercase letters"),
            ("fn", "Rust keyword"),
            ("self", "Rust keyword"),
            ("std", "crate the project builds with"),
            ("proc-macro", "crate the project builds with"),
            ("maillage-sdk", "crate the project builds with"),
            ("serde-json", "crate the project builds with"),
        ] {
            let e = validate_name(Kind::Module, bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        let e = validate_name(Kind::Rules, "maillage-rules")
            .unwrap_err()
            .to_string();
        assert!(e.contains("crate the project builds with"), "{e}");
        // A module cannot take a path the host serves; a rule set's id is no path.
        let e = validate_name(Kind::Module, "admin")
            .unwrap_err()
            .to_string();
        assert!(e.contains("serves /{structure}/admin itself"), "{e}");
        validate_name(Kind::Rules, "admin").unwrap();
        // A module may be called like a crate a rule set uses, and the other way round.
        validate_name(Kind::Rules, "maud").unwrap();
        validate_name(Kind::Module, "maillage-rules").unwrap();
    }

    #[test]
    fn refuses_an_existing_folder_and_leaves_it_alone() {
        let scratch = Scratch::new("existing");
        let sdk = fake_checkout(&scratch.0);
        let existing = scratch.0.join("notes");
        std::fs::create_dir(&existing).unwrap();
        std::fs::write(existing.join("keep.txt"), "mine").unwrap();
        for kind in [Kind::Module, Kind::Rules, Kind::PythonRules] {
            let e = new_project(kind, "notes", &scratch.0, &sdk)
                .unwrap_err()
                .to_string();
            assert!(e.contains("already exists"), "{e}");
        }
        // A file of that name too.
        std::fs::write(scratch.0.join("fichier"), "").unwrap();
        let e = new_project(Kind::Rules, "fichier", &scratch.0, &sdk)
            .unwrap_err()
            .to_string();
        assert!(e.contains("already exists"), "{e}");
        assert_eq!(files_under(&existing), ["keep.txt"]);
        assert_eq!(
            std::fs::read_to_string(existing.join("keep.txt")).unwrap(),
            "mine"
        );
        // A bad name is refused before anything is written.
        let e = new_project(Kind::Module, "Notes", &scratch.0, &sdk)
            .unwrap_err()
            .to_string();
        assert!(e.contains("lowercase letter"), "{e}");
        assert!(!scratch.0.join("Notes").exists());
    }

    #[test]
    fn a_python_rule_set_is_the_example_under_its_own_id_with_the_released_wit() {
        let scratch = Scratch::new("python");
        // No SDK is needed: the project carries its WIT.
        let project = new_project(
            Kind::PythonRules,
            "horaire-lac",
            &scratch.0,
            &scratch.0.join("absent"),
        )
        .unwrap();
        let app = std::fs::read_to_string(project.join("src/app.py")).unwrap();
        assert!(app.contains("ID = \"horaire-lac\"\n"), "{app}");
        assert!(!app.contains("ID = \"horaire\""));
        // Everything else is the example's, so its fixtures still pass.
        assert_eq!(
            app.replace("ID = \"horaire-lac\"", "ID = \"horaire\""),
            PYTHON_APP
        );
        let wit = std::fs::read_to_string(project.join("wit/rules.wit")).unwrap();
        assert!(wit.contains("package maillage:indemnity@0.1.0;"));
        let fixtures = files_under(&project.join("fixtures"));
        assert_eq!(fixtures.len(), 10, "{fixtures:?}");
        let readme = std::fs::read_to_string(project.join("README.md")).unwrap();
        assert!(readme.contains("-o horaire-lac.wasm"), "{readme}");
    }

    #[test]
    fn refuses_a_folder_that_is_not_the_sdk() {
        let scratch = Scratch::new("no-sdk");
        let e = new_project(Kind::Module, "notes", &scratch.0, &scratch.0.join("absent"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("plugins/sdk folder of a Maillage checkout"),
            "{e}"
        );
        // A folder without the SDK's Cargo.toml, or the module SDK without rules/.
        let other = scratch.0.join("other");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(
            other.join("Cargo.toml"),
            "[package]\nname = \"maillage-sdk\"\n",
        )
        .unwrap();
        let e = new_project(Kind::Rules, "bareme", &scratch.0, &other)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("does not declare the package maillage-rules"),
            "{e}"
        );
        assert!(!scratch.0.join("bareme").exists());
        let e = new_project(Kind::Module, "notes", &scratch.0, &scratch.0)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("does not declare the package maillage-sdk"),
            "{e}"
        );
        assert!(!scratch.0.join("notes").exists());
    }

    #[test]
    fn writes_every_file_with_every_placeholder_replaced() {
        let scratch = Scratch::new("write");
        let sdk = fake_checkout(&scratch.0);
        let sdk_abs = std::fs::canonicalize(&sdk).unwrap();
        // The parent folder is created if need be.
        let parent = scratch.0.join("projets").join("cpts");
        for (kind, name, expected, dependency) in [
            (
                Kind::Module,
                "mes-notes",
                &[
                    ".gitignore",
                    "Cargo.lock",
                    "Cargo.toml",
                    "README.md",
                    "rust-toolchain.toml",
                    "src/lib.rs",
                ][..],
                format!("maillage-sdk = {{ path = \"{}\" }}", path_text(&sdk_abs)),
            ),
            (
                Kind::Rules,
                "forfait-lac",
                &[
                    ".gitignore",
                    "Cargo.lock",
                    "Cargo.toml",
                    "README.md",
                    "fixtures/01-liberal-adherent.json",
                    "fixtures/02-salarie.json",
                    "fixtures/03-pleniere.json",
                    "rust-toolchain.toml",
                    "src/lib.rs",
                ][..],
                format!(
                    "maillage-rules = {{ path = \"{}\" }}",
                    path_text(&sdk_abs.join("rules"))
                ),
            ),
        ] {
            let dir = new_project(kind, name, &parent, &sdk).unwrap();
            assert_eq!(dir, std::fs::canonicalize(parent.join(name)).unwrap());
            assert_eq!(files_under(&dir), expected);
            for file in expected {
                let text = std::fs::read_to_string(dir.join(file)).unwrap();
                // `}}` may be JSON ({"eligible": {…}}); a placeholder left would show `{{`.
                assert!(!text.contains("{{"), "{name}/{file}: {text}");
            }
            let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
            assert!(cargo.contains(&format!("name = \"{name}\"")), "{cargo}");
            assert!(cargo.contains(&dependency), "{cargo}");
            assert!(cargo.contains("\n[workspace]\n"), "{cargo}");
            assert!(
                cargo.contains("crate-type = [\"cdylib\", \"rlib\"]"),
                "{cargo}"
            );
            let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
            assert!(
                lib.contains(&format!("pub const ID: &str = \"{name}\";")),
                "{lib}"
            );
            let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
            let wasm = format!(
                "target/wasm32-wasip2/release/{}.wasm",
                name.replace('-', "_")
            );
            assert!(readme.contains(&wasm), "{readme}");
            for command in [
                "cargo test",
                "cargo build --release --target wasm32-wasip2",
                "maillage plugin check",
                "maillage plugin install",
                "maillage plugin dry-run",
            ] {
                assert!(
                    readme.contains(command),
                    "{name}: no {command:?} in the README"
                );
            }
            let toolchain = std::fs::read_to_string(dir.join("rust-toolchain.toml")).unwrap();
            assert!(toolchain.contains("wasm32-wasip2"), "{toolchain}");
            assert!(!dir.join(".cargo").exists());
        }
    }

    #[test]
    fn templates_use_known_placeholders_only() {
        for (path, template) in MODULE_FILES.iter().chain(RULES_FILES) {
            let mut rest = *template;
            while let Some(start) = rest.find("{{") {
                let end = rest[start..]
                    .find("}}")
                    .unwrap_or_else(|| panic!("{path}: unclosed placeholder"));
                let placeholder = &rest[start..start + end + 2];
                assert!(PLACEHOLDERS.contains(&placeholder), "{path}: {placeholder}");
                rest = &rest[start + end + 2..];
            }
        }
    }

    #[test]
    fn rule_set_fixtures_follow_the_fixture_format() {
        let scratch = Scratch::new("fixtures");
        let sdk = fake_checkout(&scratch.0);
        let dir = new_project(Kind::Rules, "forfait-lac", &scratch.0, &sdk).unwrap();
        let mut outcomes = Vec::new();
        for file in files_under(&dir.join("fixtures")) {
            let text = std::fs::read_to_string(dir.join("fixtures").join(&file)).unwrap();
            let case: serde_json::Value = serde_json::from_str(&text).expect(&file);
            assert!(case["name"].is_string(), "{file}");
            for key in ["id", "title", "date", "kind"] {
                assert!(case["meeting"][key].is_string(), "{file}: meeting.{key}");
            }
            assert!(case["meeting"]["duration_minutes"].is_u64(), "{file}");
            let attendee = &case["attendee"];
            assert!(
                ["liberal", "salarie", "autre", "inconnu"]
                    .contains(&attendee["exercise_mode"].as_str().unwrap()),
                "{file}"
            );
            assert!(
                ["referent", "active", "guest"].contains(&attendee["role"].as_str().unwrap()),
                "{file}"
            );
            assert!(
                attendee["adherent"].is_boolean() && attendee["minutes"].is_u64(),
                "{file}"
            );
            assert!(
                case["settings"].is_null() || case["settings"].is_object(),
                "{file}"
            );
            let expected = case["expected"].as_object().expect(&file);
            assert_eq!(expected.len(), 1, "{file}");
            let (outcome, value) = expected.iter().next().unwrap();
            match outcome.as_str() {
                "eligible" => assert!(
                    value["cents"].is_i64() && value["minutes"].is_u64(),
                    "{file}"
                ),
                "not_eligible" | "error" => assert!(value.is_string(), "{file}"),
                other => panic!("{file}: expected {other:?}"),
            }
            outcomes.push(outcome.clone());
        }
        assert_eq!(outcomes, ["eligible", "not_eligible", "not_eligible"]);
        // The reasons are the rule set's own.
        let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
        for file in files_under(&dir.join("fixtures")) {
            let text = std::fs::read_to_string(dir.join("fixtures").join(&file)).unwrap();
            let case: serde_json::Value = serde_json::from_str(&text).unwrap();
            if let Some(reason) = case["expected"]["not_eligible"].as_str() {
                assert!(lib.contains(&format!("\"{reason}\"")), "{file}: {reason}");
            }
        }
    }

    #[test]
    fn escapes_paths_for_toml() {
        assert_eq!(toml_escape("/home/chloé/maillage"), "/home/chloé/maillage");
        assert_eq!(toml_escape(r#"C:\a "b""#), r#"C:\\a \"b\""#);
        assert_eq!(toml_escape("a\tb"), "a\\u0009b");
    }
}
