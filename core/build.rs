//! Builds the first-party plugins (their own workspace under `plugins/`, target
//! wasm32-wasip2) so that `cargo run` and `cargo test` work on a fresh clone.
//! The host embeds the bundled plugins and exposes the build folder to host-tests.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Plugins embedded into the binary and installed by `maillage demo`.
const BUNDLED: &[&str] = &[
    "polls",
    "directory",
    "agenda",
    "indemnity",
    "projects",
    "cloud",
];
/// Indemnity rule sets embedded into the binary, installed for every structure at start.
const BUNDLED_RULE_SETS: &[&str] = &["rules-forfait"];

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let repo = manifest_dir.parent().unwrap().to_path_buf();
    let plugins = repo.join("plugins");
    println!("cargo:rerun-if-changed={}", repo.join("wit").display());
    for entry in [
        "Cargo.toml",
        "Cargo.lock",
        "sdk",
        "polls",
        "directory",
        "agenda",
        "indemnity",
        "projects",
        "cloud",
        "rules-forfait",
        "fixtures",
    ] {
        println!("cargo:rerun-if-changed={}", plugins.join(entry).display());
    }
    println!("cargo:rerun-if-env-changed=MAILLAGE_SKIP_PLUGIN_BUILD");

    // A separate target dir: the outer cargo holds the lock on its own.
    let target_root = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("target"));
    let wasm_target = target_root.join("wasm-plugins");
    let out = wasm_target.join("wasm32-wasip2").join("release");

    if env::var_os("MAILLAGE_SKIP_PLUGIN_BUILD").is_none() {
        build_plugins(&plugins, &wasm_target);
    }

    let out_str = out.display().to_string();
    println!("cargo:rustc-env=MAILLAGE_PLUGIN_BUILD_DIR={out_str}");
    let mut bundled = String::from(
        "/// First-party plugins embedded at build time: (id, component bytes).\npub const BUNDLED: &[(&str, &[u8])] = &[\n",
    );
    for id in BUNDLED {
        let file = out.join(format!("{}.wasm", id.replace('-', "_")));
        assert!(
            file.exists(),
            "plugin {id} was not built: {} is missing",
            file.display()
        );
        bundled.push_str(&format!(
            "    ({id:?}, include_bytes!({:?})),\n",
            file.display().to_string()
        ));
    }
    bundled.push_str("];\n/// First-party indemnity rule sets: (id, component bytes).\npub const BUNDLED_RULE_SETS: &[(&str, &[u8])] = &[\n");
    for id in BUNDLED_RULE_SETS {
        let file = out.join(format!("{}.wasm", id.replace('-', "_")));
        assert!(
            file.exists(),
            "rule set {id} was not built: {} is missing",
            file.display()
        );
        bundled.push_str(&format!(
            "    ({id:?}, include_bytes!({:?})),\n",
            file.display().to_string()
        ));
    }
    bundled.push_str("];\n");
    let dest = PathBuf::from(env::var("OUT_DIR").unwrap()).join("bundled_plugins.rs");
    std::fs::write(dest, bundled).unwrap();
}

fn build_plugins(plugins: &Path, target_dir: &Path) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(plugins)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            "wasm32-wasip2",
            "--target-dir",
        ])
        .arg(target_dir);
    // Do not leak the host build's settings (target-specific flags, profile, wrappers)
    // into the guest build.
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("CARGO_") && key != "CARGO_HOME"
            || key == "RUSTFLAGS"
            || key == "RUSTC_WRAPPER"
            || key == "RUSTC_WORKSPACE_WRAPPER"
        {
            cmd.env_remove(&key);
        }
    }
    let status = cmd
        .status()
        .expect("failed to run cargo for the plugins workspace");
    assert!(
        status.success(),
        "building the plugins (plugins/, wasm32-wasip2) failed"
    );
}
