//! Guest-side SDK for Maillage plugins.
//!
//! A plugin implements [`Plugin`] and calls [`export_plugin!`]. The SDK turns the
//! `wasi:http/incoming-handler` export into a plain [`Request`] → [`Response`] call and
//! gives typed access to the host imports (context, log, records, blobs, events, groups,
//! [`mail`], [`timers`], the national [`library`]). Pages are written with the
//! auto-escaping templates of [`html`]; a module's JavaScript and CSS are static
//! [`Asset`]s it declares in [`Plugin::assets`].
//! Instants and time zones (real IANA rules) are in [`time`], CSV exports in [`csv`],
//! the responses that hand an export to the browser in [`download`], an event published
//! again for every record, in timer-continued batches, for a module enabled later in
//! [`republish`].
//!
//! Two modules are optional features, off by default: `merge` (feature `merge`: the
//! three-way merge of texts that several members edit, and line diffs, with diffy) and
//! `markdown` (feature `markdown`: members' Markdown rendered to filtered HTML with
//! pulldown-cmark, the SDK's second raw door after [`html::raw_unescaped_html`]).

pub mod bindings {
    wit_bindgen::generate!({
        path: "wit/v0.2.7",
        world: "maillage:plugin/module",
        generate_all,
        pub_export_macro: true,
        export_macro_name: "__export_plugin_world",
        default_bindings_module: "maillage_sdk::bindings",
    });
}

pub mod assets;
pub mod audit;
pub mod csv;
pub mod download;
pub mod form;
pub mod fr;
pub mod html;
mod http;
pub mod ics;
pub mod library;
pub mod mail;
#[cfg(feature = "markdown")]
pub mod markdown;
#[cfg(feature = "merge")]
pub mod merge;
pub mod multipart;
pub mod people;
pub mod records;
pub mod republish;
pub mod text;
pub mod thread;
pub mod time;
pub mod timers;

pub use assets::Asset;
pub use bindings::exports::maillage::plugin::roles::RoleDef;
pub use bindings::maillage::plugin::tenancy::Member;
pub use bindings::maillage::plugin::types::{
    Event, Manifest, NavEntry, RequestContext, User, Widget,
};
pub use http::{Method, Request, Response};

/// The version of the WIT package this SDK speaks; use it in [`Manifest::wit_range`].
pub const WIT_RANGE: &str = "^0.2.7";

/// What a plugin implements.
pub trait Plugin {
    fn manifest() -> Manifest;
    fn handle(request: Request) -> Response;
    /// Called once per delivery of a subscribed event; must be idempotent
    /// (use `event.idempotency_key`), since delivery is at least once.
    fn on_event(_event: Event) -> Result<(), String> {
        Ok(())
    }
    /// The module's static files (JS, CSS), compiled in with `include_str!`. The SDK
    /// serves them at `/_assets/{stem}.{hash}.{ext}` before [`Plugin::handle`] runs; pages
    /// link them with [`html::script`] / [`html::stylesheet`] (see [`crate::assets`]).
    fn assets() -> &'static [Asset] {
        &[]
    }
    /// The roles this module declares (e.g. « Trésorier »): the structure's admins grant
    /// them per member, and [`has_role`] tells whether the acting member holds one.
    fn roles() -> Vec<RoleDef> {
        Vec::new()
    }
    /// Whether the acting member ([`context`], [`has_role`]) may download the module's
    /// file `blob_id` (one it stored through [`blobs`]). The host asks before it streams
    /// the file at [`blobs::download_path`]; false answers 404. Answer from the module's
    /// own records: the record that refers to the file, and who may read that record.
    ///
    /// Denied by default: a module that stores files must say who reads them.
    fn may_read_file(_blob_id: &str) -> bool {
        false
    }

    /// Whether the acting member may send the module a file (the host's upload route,
    /// `POST /{structure}/fichiers/{module}`): asked before the host reads a byte; false
    /// answers 403. Denied by default, like [`Plugin::may_read_file`].
    fn may_upload_file() -> bool {
        false
    }
}

/// Whether the acting member holds this role: a host role ("member", "coordinator",
/// "admin") or one of the module's declared roles ([`Plugin::roles`]) granted to them.
pub fn has_role(role: &str) -> bool {
    context().roles.iter().any(|r| r == role)
}

/// The context of the current call (structure, user, roles, locale…), set by the host.
///
/// Fetched once per instance: the host creates a fresh instance for every request or
/// event, so the cached value can never belong to another call.
pub fn context() -> RequestContext {
    static CONTEXT: std::sync::OnceLock<RequestContext> = std::sync::OnceLock::new();
    CONTEXT
        .get_or_init(bindings::maillage::plugin::context::current)
        .clone()
}

/// The acting member's own IANA time zone (« Mon compte »), when it differs from the
/// structure's ([`RequestContext::time_zone`]); none otherwise or with no acting member.
pub fn user_time_zone() -> Option<String> {
    bindings::maillage::plugin::context::user_time_zone()
}

/// Where members reach the platform, e.g. "https://maillage.cpts-exemple.fr" (no
/// trailing slash), for links in mails: `public_url() + base_path + "/p/42"`.
pub fn public_url() -> String {
    bindings::maillage::plugin::context::public_url()
}

/// The acting member's secret feed URL (absolute): a calendar client fetches the
/// module's `/flux` path there, as that member, without a session. Made on first use;
/// the member revokes it on « Mon compte ». None without an acting member.
pub fn feed_url() -> Option<String> {
    bindings::maillage::plugin::context::feed_url()
}

/// Whether the acting member's account e-mail is `address` (spaces and case ignored),
/// without the module learning the address (WIT 0.2.5). False with no acting member.
pub fn account_email_is(address: &str) -> bool {
    bindings::maillage::plugin::context::account_email_is(address)
}

/// Postal codes of the structure's territory (tenancy), as its admins set them.
pub fn territory() -> Vec<String> {
    bindings::maillage::plugin::tenancy::territory()
}

/// Every active member of the structure, by name (needs the "groups" capability: it
/// names people).
pub fn members() -> Vec<Member> {
    bindings::maillage::plugin::tenancy::members()
}

/// Logging into the host's logs; the host adds plugin id and request id.
pub mod log {
    use crate::bindings::maillage::plugin::log::{Level, log};

    pub fn info(message: &str) {
        log(Level::Info, message);
    }
    pub fn warn(message: &str) {
        log(Level::Warn, message);
    }
    pub fn error(message: &str) {
        log(Level::Error, message);
    }
}

/// The structure's groups as the acting user sees them (capability "groups").
pub mod groups {
    pub use crate::bindings::maillage::plugin::groups::{
        Group, GroupMember, GroupRole, is_referent, members, my_groups, visible_groups,
    };
}

/// Changes to the structure's groups as the acting member, under the host's group rules
/// and audited by the host (capability "groups-write", WIT 0.2.6): the projects module
/// lets members create their projects' groups and decides join requests on its pages.
pub mod group_admin {
    pub use crate::bindings::maillage::plugin::group_admin::{
        GroupError, JoinRequest, create, decide_request, join_requests, my_join_requests,
        remove_member, request_join, set_archived, set_member, update,
    };

    /// What to tell the member, in French.
    pub fn french(error: &GroupError) -> String {
        match error {
            GroupError::Denied => "Vous ne pouvez pas modifier ce groupe.".into(),
            GroupError::NotFound => "Ce groupe ou cette demande n’existe pas.".into(),
            GroupError::Invalid(reason) => reason.clone(),
            GroupError::NameTaken => "Un groupe de la structure porte déjà ce nom.".into(),
            GroupError::NotAMember => "Cette personne ne fait pas partie de la structure.".into(),
            GroupError::LastReferent => "Un groupe doit garder au moins un référent.".into(),
            GroupError::TooManyReferents => "Un groupe compte au plus 3 référents.".into(),
            GroupError::Archived => "Ce groupe est archivé.".into(),
            GroupError::AlreadyMember => "Vous faites déjà partie de ce groupe.".into(),
            GroupError::Unavailable(_) => {
                "Le service est momentanément indisponible ; réessayez dans un instant.".into()
            }
        }
    }
}

/// Files of the structure (capability "blobs"). Members download them at
/// [`download_path`](blobs::download_path) when [`Plugin::may_read_file`] says so.
pub mod blobs {
    pub use crate::bindings::maillage::plugin::blobs::{
        BlobInfo, delete, download_path, get, info, put,
    };
}

/// Publish an event into the host's durable outbox (capability "events").
pub fn publish(topic: &str, payload: &serde_json::Value) -> Result<(), String> {
    bindings::maillage::plugin::events::publish(topic, &payload.to_string())
}

#[doc(hidden)]
pub mod __glue {
    pub use crate::bindings::exports::maillage::plugin::files::Guest as FilesExport;
    pub use crate::bindings::exports::maillage::plugin::guest::Guest as GuestExport;
    pub use crate::bindings::exports::maillage::plugin::roles::Guest as RolesExport;
    pub use crate::bindings::exports::wasi::http::incoming_handler::{
        Guest as HttpExport, IncomingRequest, ResponseOutparam,
    };
    pub use crate::http::serve;
}

/// Exports a [`Plugin`] implementation as a Maillage component.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        struct __MaillageExports;

        impl $crate::__glue::GuestExport for __MaillageExports {
            fn describe() -> $crate::Manifest {
                <$plugin as $crate::Plugin>::manifest()
            }
            fn on_event(event: $crate::Event) -> Result<(), String> {
                <$plugin as $crate::Plugin>::on_event(event)
            }
        }

        impl $crate::__glue::RolesExport for __MaillageExports {
            fn declared() -> Vec<$crate::RoleDef> {
                <$plugin as $crate::Plugin>::roles()
            }
        }

        impl $crate::__glue::FilesExport for __MaillageExports {
            fn may_read(blob_id: String) -> bool {
                <$plugin as $crate::Plugin>::may_read_file(&blob_id)
            }
            fn may_upload() -> bool {
                <$plugin as $crate::Plugin>::may_upload_file()
            }
        }

        impl $crate::__glue::HttpExport for __MaillageExports {
            fn handle(request: $crate::__glue::IncomingRequest, out: $crate::__glue::ResponseOutparam) {
                $crate::__glue::serve::<$plugin>(request, out)
            }
        }

        $crate::bindings::__export_plugin_world!(__MaillageExports with_types_in $crate::bindings);
    };
}
