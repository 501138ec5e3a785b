//! `bench_network measure`: the shared feed over HTTP on a seeded
//! coordinator. Each view is first requested one at a time (latency
//! without queueing: p50, p90, p99, max), then every group of views is
//! requested by several clients at once for a while (throughput and p99
//! under load). Deep pages are reached by following the feed's own `next`
//! links.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::common::load::ms;
use crate::common::{BoxError, percentile};
use crate::corpus;

pub(crate) struct Settings {
    pub(crate) base: String,
    pub(crate) requests: usize,
    pub(crate) duration: Duration,
    pub(crate) concurrency: usize,
    pub(crate) port_base: u16,
}

/// A view of the feed and the group it is measured in.
struct View {
    group: &'static str,
    path: String,
    /// For a deep page: how many pages after the first.
    depth: usize,
}

/// The path of the page `pages` pages after the first of `path` (JSON form
/// followed, the same cursor then used on `path` itself).
async fn deep(client: &reqwest::Client, base: &str, path: &str, pages: usize) -> Result<String, BoxError> {
    let (html, query) = path.split_once('?').unwrap_or((path, ""));
    let mut url = format!("{base}{html}.json?{query}");
    for _ in 0..pages {
        let res = client.get(&url).send().await?;
        if !res.status().is_success() {
            return Err(format!("GET {url}: {}", res.status()).into());
        }
        let json: serde_json::Value = res.json().await?;
        url = json["next"]
            .as_str()
            .ok_or_else(|| format!("{path}: fewer than {pages} pages"))?
            .to_owned();
    }
    let cursor = url.split("cursor=").nth(1).ok_or("a next link without cursor")?;
    let sep = if query.is_empty() { "" } else { "&" };
    Ok(format!("{html}?{query}{sep}cursor={cursor}"))
}

async fn views(client: &reqwest::Client, s: &Settings) -> Result<Vec<View>, BoxError> {
    let org = corpus::member(3, s.port_base).handle();
    let v = |group, path: String| View { group, path, depth: 0 };
    let mut out = vec![
        v("first page", "/network/feed".into()),
        v("first page", "/network/feed.json".into()),
        v("filtered", "/network/feed?country=FR".into()),
        v("filtered", "/network/feed?language=de".into()),
        v("filtered", "/network/feed?kind=interview&country=BE".into()),
        v("filtered", "/network/feed?sector=energy&legal_form=cooperative".into()),
        v("filtered", "/network/feed?tag=housing".into()),
        v("filtered", format!("/network/feed?organisation=@{org}")),
        v("filtered", "/network/feed?language=it&kind=interview&tag=youth".into()),
        v("filtered", "/network/feed.json?country=PL&sector=food".into()),
    ];
    for (path, pages) in [
        ("/network/feed", 200),
        ("/network/feed?country=FR", 50),
        ("/network/feed?tag=energy&kind=news", 30),
    ] {
        let started = Instant::now();
        let p = deep(client, &s.base, path, pages).await?;
        eprintln!(
            "  followed {pages} pages of {path} in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        out.push(View {
            group: "deep pages",
            path: p,
            depth: pages,
        });
    }
    out.extend([
        v("atom", "/network/feed.atom".into()),
        v("atom", "/network/feed.atom?country=DE&kind=news".into()),
        v("atom", "/network/feed.atom?tag=energy&language=fr".into()),
        v("search", "/network/feed?q=cooperative".into()),
        v("search", format!("/network/feed?q={}", corpus::RARE_WORD)),
        v("search", "/network/feed?q=community+energy".into()),
        v("search", "/network/feed?q=logement+solidaire".into()),
        v("search", "/network/feed?q=Genossenschaft".into()),
        v("search", "/network/feed?q=Energiegenossenschaft".into()),
        v("search", "/network/feed?q=coop%C3%A9rative&country=FR".into()),
        v("search", "/network/feed?q=energy&kind=interview&sector=energy".into()),
        v("search", "/network/feed.json?q=solar+roof&language=en".into()),
        v("search", "/network/feed.atom?q=logement".into()),
    ]);
    Ok(out)
}

/// One GET; its time, or an error naming the view and the status.
async fn get(client: &reqwest::Client, url: &str) -> Result<(Duration, usize), String> {
    let t = Instant::now();
    let res = client.get(url).send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = res.status();
    let body = res.bytes().await.map_err(|e| format!("{url}: {e}"))?;
    let took = t.elapsed();
    if status != 200 {
        return Err(format!("{url}: {status}: {}", String::from_utf8_lossy(&body)));
    }
    Ok((took, body.len()))
}

pub(crate) async fn run(s: Settings) -> Result<(), BoxError> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(s.concurrency.max(1))
        .timeout(Duration::from_secs(60))
        .build()?;
    let views = views(&client, &s).await?;
    println!(
        "### one request at a time: {} requests per view after 10 warm-up requests",
        s.requests
    );
    println!();
    println!("| view | items | KiB | p50 ms | p90 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|---:|");
    let mut worst: HashMap<&str, u64> = HashMap::new();
    for view in &views {
        let url = format!("{}{}", s.base, view.path);
        let mut times = Vec::with_capacity(s.requests);
        let mut size = 0;
        for i in 0..s.requests + 10 {
            let (took, len) = get(&client, &url).await?;
            size = len;
            if i >= 10 {
                times.push(took.as_micros() as u64);
            }
        }
        times.sort_unstable();
        let p99 = percentile(&times, 99.0);
        let w = worst.entry(view.group).or_insert(0);
        *w = (*w).max(p99);
        println!(
            "| {} `{}` | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            view.group,
            shorten(&view.path, view.depth),
            items(&client, &s.base, &view.path).await?,
            size as f64 / 1024.0,
            ms(percentile(&times, 50.0)),
            ms(percentile(&times, 90.0)),
            ms(p99),
            ms(percentile(&times, 100.0)),
        );
    }
    println!();
    println!(
        "### {} clients at once, {} s per group (the group's views in turn)",
        s.concurrency,
        s.duration.as_secs()
    );
    println!();
    println!(
        "| group | requests | requests/s | p50 ms | p99 ms | max ms | worst p99 alone ms |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    let mut groups: Vec<&str> = views.iter().map(|v| v.group).collect();
    groups.dedup();
    for group in groups {
        let urls: Arc<Vec<String>> = Arc::new(
            views
                .iter()
                .filter(|v| v.group == group)
                .map(|v| format!("{}{}", s.base, v.path))
                .collect(),
        );
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let until = started + s.duration;
        let mut tasks = JoinSet::new();
        for _ in 0..s.concurrency {
            let (client, urls, next) = (client.clone(), urls.clone(), next.clone());
            tasks.spawn(async move {
                let mut times = Vec::new();
                while Instant::now() < until {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let (took, _) = get(&client, &urls[i % urls.len()]).await?;
                    times.push(took.as_micros() as u64);
                }
                Ok::<_, String>(times)
            });
        }
        let mut times = Vec::new();
        while let Some(r) = tasks.join_next().await {
            times.extend(r??);
        }
        let secs = started.elapsed().as_secs_f64();
        times.sort_unstable();
        println!(
            "| {group} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} |",
            times.len(),
            times.len() as f64 / secs,
            ms(percentile(&times, 50.0)),
            ms(percentile(&times, 99.0)),
            ms(percentile(&times, 100.0)),
            ms(worst.get(group).copied().unwrap_or(0)),
        );
    }
    Ok(())
}

/// How many items the view's page shows (its JSON form).
async fn items(client: &reqwest::Client, base: &str, path: &str) -> Result<usize, BoxError> {
    let (html, query) = path.split_once('?').unwrap_or((path, ""));
    let html = html.trim_end_matches(".json").trim_end_matches(".atom");
    let json: serde_json::Value = client
        .get(format!("{base}{html}.json?{query}"))
        .send()
        .await?
        .json()
        .await?;
    Ok(json["items"].as_array().map_or(0, Vec::len))
}

/// A path with its long cursor replaced by the page's depth, for the table.
fn shorten(path: &str, depth: usize) -> String {
    match path.split_once("cursor=") {
        Some((head, _)) => format!("{head}cursor=(page {})", depth + 1),
        None => path.to_owned(),
    }
}
