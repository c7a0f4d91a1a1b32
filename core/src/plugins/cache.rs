//! On-disk cache of compiled components, keyed by content hash and engine
//! compatibility: compiling takes ~100 ms (seconds in debug), deserializing ~0.2 ms.

use std::hash::{Hash, Hasher};
use std::path::PathBuf;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::LoadError;

pub(super) struct ComponentCache {
    dir: PathBuf,
    engine_key: String,
}

impl ComponentCache {
    pub fn new(dir: PathBuf, engine: &Engine) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| anyhow::anyhow!("cannot create component cache {}: {e}", dir.display()))?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        // DefaultHasher is only stable within one build; the crate version keeps keys apart across builds.
        let engine_key = format!("{:016x}-{}", hasher.finish(), env!("CARGO_PKG_VERSION"));
        Ok(ComponentCache { dir, engine_key })
    }

    /// The compiled component for these bytes, and their SHA-256 (hex).
    pub fn component(
        &self,
        engine: &Engine,
        wasm: &[u8],
    ) -> Result<(Component, String), LoadError> {
        let sha256 = hex(&Sha256::digest(wasm));
        let path = self.dir.join(format!("{sha256}-{}.cwasm", self.engine_key));
        if path.exists() {
            // SAFETY: the file was written by `Component::serialize` of an engine with the same
            // compatibility key (part of the file name), in a folder only the host writes.
            #[allow(unsafe_code)]
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok((component, sha256)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "discarding unreadable cached component")
                }
            }
        }
        let component =
            Component::new(engine, wasm).map_err(|e| LoadError::Invalid(format!("{e:#}")))?;
        match component.serialize() {
            Ok(bytes) => {
                // Write then rename: a crash never leaves a truncated artifact under the final name.
                let tmp = path.with_extension(format!("tmp{}", std::process::id()));
                if let Err(e) =
                    std::fs::write(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, &path))
                {
                    tracing::warn!(error = %e, "could not cache compiled component");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not serialize compiled component"),
        }
        Ok((component, sha256))
    }
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
