//! The ceiling for `scripts/bench-read`: a bare axum server answering
//! every file of a folder from memory (`/<file name>`, with the same
//! Content-Type Gazette sends), so the benchmark can show Gazette's
//! throughput as a share of what axum and hyper alone do on the same
//! machine with the same bytes.
//!
//! `cargo run --release -p gazette-web --example ceiling -- 127.0.0.1:18788 DIR`

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

type Files = Arc<HashMap<String, (&'static str, Bytes)>>;

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/activity+json; charset=utf-8",
        Some("jrd") => "application/jrd+json; charset=utf-8",
        Some("atom") => "application/atom+xml; charset=utf-8",
        _ => "application/octet-stream",
    }
}

async fn file(State(files): State<Files>, Path(name): Path<String>) -> Response {
    match files.get(&name) {
        Some((ct, body)) => ([(header::CONTENT_TYPE, *ct)], body.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(dir)) = (args.next(), args.next()) else {
        return Err("usage: ceiling LISTEN_ADDR DIR".into());
    };
    let mut files = HashMap::new();
    for entry in std::fs::read_dir(&dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let body = Bytes::from(std::fs::read(entry.path())?);
        files.insert(name.clone(), (content_type(&name), body));
    }
    let app = Router::new()
        .route("/{name}", axum::routing::get(file))
        .with_state(Arc::new(files));
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
