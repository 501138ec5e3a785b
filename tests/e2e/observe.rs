//! Watching a running instance through the real binary: with
//! `log.format = "json"` every log line is a JSON object, and a request's
//! lines carry the request id its answer echoes in `X-Request-Id`;
//! `/metrics` open to loopback answers a scraper on this machine.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use common::{Env, Server, eventually};
use serde_json::Value;

/// `gazette serve` on an ephemeral port with its stderr in `log`.
fn serve_logging_to(env: &Env, log: &std::path::Path) -> Server {
    let mut child = env
        .command(&["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(log).unwrap()))
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(url) = line.strip_prefix("listening on ") {
                    break url.trim().to_owned();
                }
            }
            _ => panic!("gazette serve exited before listening: {:?}", child.wait()),
        }
    };
    Server { child, base }
}

#[tokio::test(flavor = "multi_thread")]
async fn json_log_lines_carry_the_request_id() {
    let Some(env) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let env = env
        .with_env("GAZETTE_LOG__FORMAT", "json")
        .with_env("GAZETTE_LOG__LEVEL", "gazette_web=debug,info")
        .with_env("GAZETTE_METRICS__ACCESS", "loopback");
    let log = env.dir.join("serve.log");
    let server = serve_logging_to(&env, &log);
    let http = common::test_client();

    // This test connects from loopback, as a proxy on this machine would:
    // its id is kept.
    let res = http
        .get(server.url("/healthz"))
        .header("x-request-id", "edge-7c1e9")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "edge-7c1e9");
    let res = http.get(server.url("/no-such-page")).send().await.unwrap();
    let fresh = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(fresh.len(), 32);

    let lines: Vec<Value> = eventually("JSON log lines of both requests", Duration::from_secs(10), || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let ready = text.contains("edge-7c1e9") && text.contains(&fresh);
        async move {
            ready.then(|| {
                text.lines()
                    .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
                    .collect()
            })
        }
    })
    .await;
    for id in ["edge-7c1e9", fresh.as_str()] {
        let line = lines
            .iter()
            .find(|l| l["span"]["request_id"] == id)
            .unwrap_or_else(|| panic!("no line with request_id {id} in {lines:?}"));
        assert_eq!(line["fields"]["message"], "request handled");
        assert!(line["fields"]["status"].is_u64());
    }

    // A scraper on this machine reads the metrics, this request counted.
    let body = http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("gazette_http_requests_total{route=\"/healthz\",status=\"2xx\"} 1\n"),
        "{body}"
    );
    assert!(body.contains("gazette_deliveries{state=\"pending\"}"), "{body}");
}
