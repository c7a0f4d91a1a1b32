//! Static files a module ships (JavaScript, CSS), compiled into its component.
//!
//! A module declares them in [`crate::Plugin::assets`], usually with `include_str!`,
//! and pages include them with [`crate::html::script`] and [`crate::html::stylesheet`].
//!
//! URL scheme: `/assets/{module id}/{module version}/{stem}.{hash}.{ext}`, where `{hash}`
//! is [`Asset::hash`]. The host serves that path by calling the module with the
//! module-relative path `/_assets/{stem}.{hash}.{ext}` (empty context, no
//! capabilities) and caches the answer; since the name changes with the content,
//! browsers and the host may keep it forever. The SDK answers `/_assets/…` itself,
//! before the plugin's handler, from the declared assets only (see [`serve`]).

use std::sync::OnceLock;

use crate::{Manifest, Method, Request, Response};

/// One static file of a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    /// The name pages refer to it by, e.g. "photo.js".
    pub name: &'static str,
    /// E.g. "text/javascript; charset=utf-8".
    pub content_type: &'static str,
    pub body: &'static str,
}

impl Asset {
    /// The content hash: 16 lowercase hexadecimal digits of the 64-bit FNV-1a of the body.
    pub fn hash(&self) -> String {
        format!("{:016x}", fnv1a_64(self.body.as_bytes()))
    }

    /// The name it is served under: "{stem}.{hash}.{ext}", e.g.
    /// "photo.0123456789abcdef.js" ("{name}.{hash}" for a name without extension).
    pub fn file_name(&self) -> String {
        let hash = self.hash();
        match self.name.rsplit_once('.') {
            Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
            None => format!("{}.{hash}", self.name),
        }
    }
}

/// 64-bit FNV-1a.
pub fn fnv1a_64(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET_BASIS;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(PRIME);
    }
    hash
}

/// The module answering the current call, registered by the export glue.
struct Module {
    assets: &'static [Asset],
    manifest: fn() -> Manifest,
    /// "/assets/{id}/{version}", from the manifest, computed on first use.
    prefix: OnceLock<String>,
}

static MODULE: OnceLock<Module> = OnceLock::new();

/// Called by the export glue (`export_plugin!`) before the plugin's handler runs.
pub(crate) fn register(assets: &'static [Asset], manifest: fn() -> Manifest) {
    let _ = MODULE.set(Module {
        assets,
        manifest,
        prefix: OnceLock::new(),
    });
}

/// The URL of one of the module's declared assets:
/// `/assets/{module id}/{module version}/{stem}.{hash}.{ext}`.
///
/// Panics (a fault of this request only) if `name` is not declared in
/// [`crate::Plugin::assets`], or outside a request handled through `export_plugin!`.
pub fn asset_url(name: &str) -> String {
    let module = MODULE
        .get()
        .expect("asset_url is only available while export_plugin! handles a request");
    let asset = module
        .assets
        .iter()
        .find(|asset| asset.name == name)
        .unwrap_or_else(|| panic!("asset {name:?} is not declared in Plugin::assets()"));
    let prefix = module.prefix.get_or_init(|| {
        let manifest = (module.manifest)();
        format!("/assets/{}/{}", manifest.id, manifest.version)
    });
    format!("{prefix}/{}", asset.file_name())
}

/// The answer to a module-relative `/_assets/…` path, or `None` for any other path (the
/// plugin's handler then answers). A GET of `/_assets/{stem}.{hash}.{ext}` for a declared
/// asset whose hash matches gets it; anything else under `/_assets/` is a 404. Uses
/// nothing but `assets`: the host calls it without context or capabilities.
pub fn serve(request: &Request, assets: &[Asset]) -> Option<Response> {
    let rest = request.path.strip_prefix("/_assets")?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let file = rest.strip_prefix('/').unwrap_or_default();
    let found = assets
        .iter()
        .find(|asset| request.method == Method::Get && asset.file_name() == file);
    Some(match found {
        Some(asset) => Response {
            status: 200,
            headers: vec![
                ("content-type".into(), asset.content_type.into()),
                (
                    "cache-control".into(),
                    "public, max-age=31536000, immutable".into(),
                ),
                ("x-content-type-options".into(), "nosniff".into()),
            ],
            body: asset.body.as_bytes().to_vec(),
        },
        None => Response {
            status: 404,
            headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
            body: b"Fichier introuvable.".to_vec(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASSETS: &[Asset] = &[Asset {
        name: "photo.js",
        content_type: "text/javascript; charset=utf-8",
        body: "console.log(1);\n",
    }];

    fn get(path: &str) -> Request {
        Request {
            method: Method::Get,
            path: path.into(),
            query: String::new(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    #[test]
    fn fnv1a_matches_the_reference_values() {
        assert_eq!(fnv1a_64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a_64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn file_names_carry_the_content_hash() {
        let name = ASSETS[0].file_name();
        let hash = ASSETS[0].hash();
        assert_eq!(hash.len(), 16);
        assert!(
            hash.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_eq!(name, format!("photo.{hash}.js"));
    }

    #[test]
    fn serves_declared_assets_only_under_their_hashed_name() {
        let file = ASSETS[0].file_name();
        let ok = serve(&get(&format!("/_assets/{file}")), ASSETS).expect("an asset path");
        assert_eq!(ok.status, 200);
        assert_eq!(ok.body, b"console.log(1);\n");
        assert_eq!(ok.headers[0].1, "text/javascript; charset=utf-8");
        for path in [
            "/_assets/photo.js",
            "/_assets/",
            "/_assets",
            "/_assets/x/../photo.js",
        ] {
            assert_eq!(
                serve(&get(path), ASSETS).map(|r| r.status),
                Some(404),
                "{path}"
            );
        }
        let mut post = get(&format!("/_assets/{file}"));
        post.method = Method::Post;
        assert_eq!(serve(&post, ASSETS).map(|r| r.status), Some(404));
        assert!(serve(&get("/"), ASSETS).is_none());
        assert!(serve(&get("/_assetsx"), ASSETS).is_none());
    }
}
