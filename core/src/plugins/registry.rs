//! Installed plugin packages: validated at install, stored by content hash, loaded on
//! first use and kept in memory (re-checked at load: invariant 4).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use sqlx::Row;
use tokio::sync::RwLock;

use super::{LoadError, LoadedPlugin, PluginRuntime};
use crate::storage::blobs::BlobStore;
use crate::storage::{Db, StorageError, now_secs};

fn package_object(sha256: &str) -> String {
    format!("packages/{sha256}.wasm")
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("plugin {id}@{version} is already installed with different content")]
    VersionConflict { id: String, version: String },
    #[error("plugin {0} is not installed")]
    NotInstalled(String),
    #[error("i/o error on plugin package: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Clone)]
pub struct InstalledPackage {
    pub plugin_id: String,
    pub version: String,
    pub wit_version: String,
}

pub struct Registry {
    runtime: Arc<PluginRuntime>,
    db: Db,
    /// Where packages are kept for every host (S3 when several hosts share a database);
    /// `dir` is this host's local copy.
    blobs: BlobStore,
    dir: PathBuf,
    loaded: RwLock<HashMap<(String, String), Arc<LoadedPlugin>>>,
    rule_sets: Arc<super::RuleSets>,
}

impl Registry {
    pub fn new(
        runtime: Arc<PluginRuntime>,
        db: Db,
        blobs: BlobStore,
        dir: PathBuf,
    ) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        let rule_sets = runtime
            .rule_sets_in(dir.clone())
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Registry {
            rule_sets,
            runtime,
            db,
            blobs,
            dir,
            loaded: RwLock::new(HashMap::new()),
        })
    }

    pub fn runtime(&self) -> &Arc<PluginRuntime> {
        &self.runtime
    }

    /// Indemnity rule sets (installed next to packages).
    pub fn rule_sets(&self) -> &Arc<super::RuleSets> {
        &self.rule_sets
    }

    /// Validates and installs a package. Installing the same bytes twice is a no-op.
    /// Its collections are created or migrated; a destructive change is refused.
    pub async fn install(&self, wasm: &[u8]) -> Result<Arc<LoadedPlugin>, RegistryError> {
        self.install_with(wasm, false).await
    }

    /// As [`Registry::install`], applying destructive schema changes when confirmed.
    pub async fn install_with(
        &self,
        wasm: &[u8],
        confirm_destructive: bool,
    ) -> Result<Arc<LoadedPlugin>, RegistryError> {
        self.install_as(wasm, confirm_destructive, None).await
    }

    /// As [`Registry::install_with`], the package's row and its `package.install` audit
    /// entry (by `actor`) committed together: a package is installed if and only if its
    /// entry exists. The same bytes again install nothing and audit nothing.
    pub async fn install_as(
        &self,
        wasm: &[u8],
        confirm_destructive: bool,
        actor: Option<&crate::identity::Account>,
    ) -> Result<Arc<LoadedPlugin>, RegistryError> {
        let plugin = self.runtime.load(wasm).await?;
        let manifest = plugin.manifest();
        self.db
            .apply_collections(
                &manifest.id,
                &manifest.version,
                &manifest.collections,
                confirm_destructive,
            )
            .await?;
        let version = manifest.version.to_string();
        let existing =
            sqlx::query("SELECT sha256 FROM plugin_packages WHERE plugin_id = $1 AND version = $2")
                .bind(&manifest.id)
                .bind(&version)
                .fetch_optional(self.db.pool())
                .await
                .map_err(StorageError::from)?;
        if let Some(row) = existing {
            if row.get::<String, _>(0) != plugin.sha256() {
                return Err(RegistryError::VersionConflict {
                    id: manifest.id.clone(),
                    version,
                });
            }
            return Ok(plugin);
        }
        // Shared copy first: another host may load the package as soon as its row exists.
        self.blobs
            .put_platform(
                &package_object(plugin.sha256()),
                bytes::Bytes::copy_from_slice(wasm),
            )
            .await?;
        self.keep_locally(plugin.sha256(), wasm).await?;
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO plugin_packages (plugin_id, version, sha256, wit_version, manifest, installed_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&manifest.id)
        .bind(&version)
        .bind(plugin.sha256())
        .bind(plugin.wit_version().to_string())
        .bind(serde_json::to_string(manifest).unwrap_or_default())
        .bind(now_secs())
        .execute(&mut *tx)
        .await
        .map_err(StorageError::from)?;
        if let Some(actor) = actor {
            let after = serde_json::json!({
                "version": manifest.version.to_string(),
                "wit": plugin.wit_version().to_string(),
                "sha256": plugin.sha256(),
            });
            crate::audit::audit_in(
                &mut tx,
                crate::audit::AuditRecord {
                    actor: Some(actor),
                    structure_id: None,
                    action: "package.install",
                    target: &manifest.id,
                    before: None,
                    after: Some(after),
                },
            )
            .await?;
        }
        tx.commit().await.map_err(StorageError::from)?;
        self.loaded
            .write()
            .await
            .insert((manifest.id.clone(), version), plugin.clone());
        Ok(plugin)
    }

    /// Writes a package to this host's folder: temporary file, fsync, rename.
    async fn keep_locally(&self, sha256: &str, wasm: &[u8]) -> Result<(), RegistryError> {
        let path = self.dir.join(format!("{sha256}.wasm"));
        let tmp = path.with_extension("tmp");
        tokio::fs::write(&tmp, wasm).await?;
        tokio::fs::File::open(&tmp).await?.sync_all().await?;
        tokio::fs::rename(&tmp, &path).await?;
        Ok(())
    }

    pub async fn installed(&self) -> Result<Vec<InstalledPackage>, RegistryError> {
        let rows = sqlx::query("SELECT plugin_id, version, wit_version FROM plugin_packages ORDER BY plugin_id, version")
            .fetch_all(self.db.pool())
            .await
            .map_err(StorageError::from)?;
        Ok(rows
            .into_iter()
            .map(|r| InstalledPackage {
                plugin_id: r.get(0),
                version: r.get(1),
                wit_version: r.get(2),
            })
            .collect())
    }

    /// The loaded plugin for an installed (id, version), loading it on first use.
    pub async fn get(&self, id: &str, version: &str) -> Result<Arc<LoadedPlugin>, RegistryError> {
        let key = (id.to_string(), version.to_string());
        if let Some(plugin) = self.loaded.read().await.get(&key) {
            return Ok(plugin.clone());
        }
        let row =
            sqlx::query("SELECT sha256 FROM plugin_packages WHERE plugin_id = $1 AND version = $2")
                .bind(id)
                .bind(version)
                .fetch_optional(self.db.pool())
                .await
                .map_err(StorageError::from)?
                .ok_or_else(|| RegistryError::NotInstalled(format!("{id}@{version}")))?;
        let sha: String = row.get(0);
        let wasm = match tokio::fs::read(self.dir.join(format!("{sha}.wasm"))).await {
            Ok(wasm) => wasm,
            // Installed through another host: fetch the shared copy and keep it here.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let wasm = self
                    .blobs
                    .get_platform(&package_object(&sha))
                    .await?
                    .ok_or_else(|| {
                        RegistryError::NotInstalled(format!(
                            "{id}@{version} (package {sha} missing from the blob store)"
                        ))
                    })?;
                self.keep_locally(&sha, &wasm).await?;
                wasm.to_vec()
            }
            Err(e) => return Err(e.into()),
        };
        let plugin = self.runtime.load(&wasm).await?;
        self.loaded.write().await.insert(key, plugin.clone());
        Ok(plugin)
    }
}
