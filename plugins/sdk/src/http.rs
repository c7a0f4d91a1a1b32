//! Adapts `wasi:http` resources to plain request/response values.

use crate::bindings::wasi::http::types::{
    Fields, IncomingRequest, Method as WasiMethod, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use crate::html::{Markup, html};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Other,
}

/// An incoming request, with the path relative to the module's mount point.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    /// Path below the module, always starting with '/', e.g. "/" or "/p/42".
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Path segments below the module, e.g. "/p/42" → ["p", "42"].
    pub fn segments(&self) -> Vec<&str> {
        self.path.split('/').filter(|s| !s.is_empty()).collect()
    }

    /// The body decoded as an HTML form (`application/x-www-form-urlencoded`).
    pub fn form(&self) -> crate::form::Form {
        crate::form::Form::parse(&self.body)
    }
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// An HTML fragment; the host wraps it into the page layout with `title`.
    pub fn page(title: &str, html: Markup) -> Self {
        Response {
            status: 200,
            headers: vec![
                ("content-type".into(), "text/html; charset=utf-8".into()),
                ("x-maillage-title".into(), header_safe(title)),
            ],
            body: html.into_string().into_bytes(),
        }
    }

    /// A bare HTML fragment, not wrapped in the layout (dashboard widgets, htmx swaps).
    pub fn fragment(html: Markup) -> Self {
        Response {
            status: 200,
            headers: vec![
                ("content-type".into(), "text/html; charset=utf-8".into()),
                ("x-maillage-layout".into(), "none".into()),
            ],
            body: html.into_string().into_bytes(),
        }
    }

    pub fn json(value: &serde_json::Value) -> Self {
        Response {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: value.to_string().into_bytes(),
        }
    }

    /// 303 See Other to a path relative to the module (post/redirect/get).
    pub fn see_other(relative: &str) -> Self {
        let location = format!("{}{}", crate::context().base_path, relative);
        Response {
            status: 303,
            headers: vec![("location".into(), location)],
            body: Vec::new(),
        }
    }

    /// 303 See Other to a path of the host itself (from the site's root, e.g. the page
    /// [`crate::library::propose`] returns), not relative to the module.
    pub fn see_other_absolute(path: &str) -> Self {
        Response {
            status: 303,
            headers: vec![("location".into(), path.to_string())],
            body: Vec::new(),
        }
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// A French error page with the given status.
    pub fn error(status: u16, message: &str) -> Self {
        Response::page(
            "Erreur",
            html! { div class="alert" role="alert" { p { (message) } } },
        )
        .with_status(status)
    }

    pub fn not_found() -> Self {
        Response::error(404, "Cette page n’existe pas.")
    }
}

/// Header values must be visible ASCII; titles are French, so percent-encode them.
fn header_safe(value: &str) -> String {
    crate::form::encode(value)
}

/// The export glue's entry point: the module's static assets (`/_assets/…`, answered
/// without context or host imports), else the plugin's handler.
pub fn serve<P: crate::Plugin>(request: IncomingRequest, out: ResponseOutparam) {
    let request = read_request(request);
    let assets = P::assets();
    let response = match crate::assets::serve(&request, assets) {
        Some(response) => response,
        None => {
            crate::assets::register(assets, P::manifest);
            P::handle(request)
        }
    };
    write_response(response, out);
}

fn read_request(incoming: IncomingRequest) -> Request {
    let method = match incoming.method() {
        WasiMethod::Get => Method::Get,
        WasiMethod::Post => Method::Post,
        _ => Method::Other,
    };
    let headers: Vec<(String, String)> = incoming
        .headers()
        .entries()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
        .collect();
    let full = incoming.path_with_query().unwrap_or_else(|| "/".into());
    let (path, query) = match full.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (full, String::new()),
    };
    // The host tells where the module is mounted; strip it so plugins see their own paths.
    let base = headers
        .iter()
        .find(|(k, _)| k == "x-maillage-base")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let relative = path.strip_prefix(base.as_str()).unwrap_or(&path);
    let relative = if relative.is_empty() {
        "/".to_string()
    } else {
        relative.to_string()
    };
    let mut body = Vec::new();
    if let Ok(incoming_body) = incoming.consume()
        && let Ok(stream) = incoming_body.stream()
    {
        while let Ok(chunk) = stream.blocking_read(64 * 1024) {
            body.extend_from_slice(&chunk);
        }
    }
    Request {
        method,
        path: relative,
        query,
        headers,
        body,
    }
}

fn write_response(response: Response, out: ResponseOutparam) {
    let entries: Vec<(String, Vec<u8>)> = response
        .headers
        .into_iter()
        .map(|(k, v)| (k, v.into_bytes()))
        .collect();
    let headers = match Fields::from_list(&entries) {
        Ok(h) => h,
        Err(_) => Fields::new(),
    };
    let outgoing = OutgoingResponse::new(headers);
    let _ = outgoing.set_status_code(response.status);
    let body = outgoing.body().expect("response body is taken once");
    ResponseOutparam::set(out, Ok(outgoing));
    let stream = body.write().expect("body stream is taken once");
    // wasi:io output streams accept at most 4096 bytes per blocking write.
    for chunk in response.body.chunks(4096) {
        if stream.blocking_write_and_flush(chunk).is_err() {
            // The host closed the stream (client gone or output cap reached).
            return;
        }
    }
    drop(stream);
    let _ = OutgoingBody::finish(body, None);
}
