//! The built web UI (`frontend/dist`), embedded in the binary; unknown non-API paths get
//! `index.html` so client-side routes work on reload.

use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use rust_embed::Embed;

use crate::error::ApiError;

#[derive(Embed)]
#[folder = "../frontend/dist"]
#[allow_missing = true]
struct Assets;

const NOT_BUILT: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>VigilOps</title></head>\
<body style=\"font-family:sans-serif;max-width:40em;margin:4em auto\"><h1>VigilOps server is running</h1>\
<p>The web UI was not built into this binary. Build it with <code>npm --prefix frontend ci &amp;&amp; \
npm --prefix frontend run build</code> and rebuild the server, or use the API: \
<a href=\"/api/docs\">/api/docs</a>.</p></body></html>";

fn asset(path: &str) -> Option<Response> {
    let file = Assets::get(path)?;
    let mime = file.metadata.mimetype();
    let mut response = (StatusCode::OK, file.data.into_owned()).into_response();
    if let Ok(value) = HeaderValue::from_str(mime) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    Some(response)
}

/// Serves a built asset, the SPA shell for client routes, or a JSON 404 under `/api/`.
pub(crate) async fn fallback(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if path.starts_with("api/") || path == "api" || path.starts_with("ws/") {
        return ApiError::new(StatusCode::NOT_FOUND, "Not Found").into_response();
    }
    if let Some(response) = asset(path) {
        return response;
    }
    asset("index.html").unwrap_or_else(|| Html(NOT_BUILT).into_response())
}
