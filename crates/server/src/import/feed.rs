//! RSS 2.0, Atom and JSON Feed → [`Source`]: every entry a published post
//! with its date, categories (as tags), author, summary, content and image
//! (an RSS image enclosure or `media:content`, a JSON Feed `image`).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::xml::{self, Element};
use super::{Source, SourceAuthor, SourceImage, SourcePost, SourceStatus};

/// Parses a feed of any of the three formats; `url` is where it was fetched.
pub fn parse(bytes: &[u8], url: &str) -> Result<Source, String> {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace() && *b != 0xEF && *b != 0xBB && *b != 0xBF);
    if start.map(|i| bytes[i]) == Some(b'{') {
        return json_feed(bytes, url);
    }
    let root = xml::parse(bytes)?;
    match root.name.as_str() {
        "rss" => rss(&root, url),
        "feed" => atom(&root, url),
        other => Err(format!(
            "not a feed: the root element is <{other}> (RSS 2.0, Atom and JSON Feed are read)"
        )),
    }
}

fn date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    DateTime::parse_from_rfc2822(s)
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Collects the distinct authors named by the posts.
fn authors_of(posts: &[SourcePost]) -> Vec<SourceAuthor> {
    let mut out: Vec<SourceAuthor> = Vec::new();
    for name in posts.iter().filter_map(|p| p.author.as_deref()) {
        if !out.iter().any(|a| a.login == name) {
            out.push(SourceAuthor {
                login: name.to_owned(),
                name: name.to_owned(),
            });
        }
    }
    out
}

fn rss(root: &Element, url: &str) -> Result<Source, String> {
    let channel = root.child("channel").ok_or("not an RSS feed: no <channel> element")?;
    if !channel.text_of("wp:wxr_version").is_empty() {
        return Err("this is a WordPress export: use `gazette import wordpress FILE`".into());
    }
    let posts: Vec<SourcePost> = channel
        .all("item")
        .map(|item| {
            let link = item.text_of("link").to_owned();
            let content = match item.text_of("content:encoded") {
                "" => item.text_of("description"),
                full => full,
            };
            let excerpt = if item.text_of("content:encoded").is_empty() {
                ""
            } else {
                item.text_of("description")
            };
            let author = [item.text_of("dc:creator"), item.text_of("author")]
                .into_iter()
                .find(|a| !a.is_empty())
                .map(str::to_owned);
            let featured = item
                .all("enclosure")
                .chain(item.all("media:content"))
                .chain(item.all("media:thumbnail"))
                .find(|e| {
                    e.attr("type").is_none_or(|t| t.starts_with("image/"))
                        && e.attr("medium").is_none_or(|m| m == "image")
                })
                .and_then(|e| e.attr("url"))
                .map(|u| SourceImage {
                    url: u.to_owned(),
                    alt: String::new(),
                });
            SourcePost {
                guid: [item.text_of("guid"), link.as_str(), item.text_of("title")]
                    .into_iter()
                    .find(|g| !g.is_empty())
                    .unwrap_or_default()
                    .to_owned(),
                title: item.text_of("title").to_owned(),
                link: Some(link.clone()).filter(|l| !l.is_empty()),
                content_html: content.to_owned(),
                excerpt: excerpt.to_owned(),
                status: SourceStatus::Published,
                is_page: false,
                date: date(item.text_of("pubDate")).or_else(|| date(item.text_of("dc:date"))),
                slug: None,
                author,
                tags: item.all("category").map(|c| c.text.trim().to_owned()).collect(),
                language: None,
                featured,
            }
        })
        .collect();
    Ok(Source {
        id: url.to_owned(),
        language: Some(channel.text_of("language").to_owned()).filter(|l| !l.is_empty()),
        authors: authors_of(&posts),
        posts,
        ..Default::default()
    })
}

/// Writes child elements back as markup (Atom's `type="xhtml"` content).
fn inner_markup(e: &Element) -> String {
    let mut out = escape(&e.text);
    for c in &e.children {
        let name = c.name.rsplit(':').next().unwrap_or(&c.name);
        out.push('<');
        out.push_str(name);
        for (k, v) in &c.attrs {
            if !k.starts_with("xmlns") {
                out.push_str(&format!(" {k}=\"{}\"", escape(v)));
            }
        }
        out.push('>');
        out.push_str(&inner_markup(c));
        out.push_str(&format!("</{name}>"));
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An Atom text construct as HTML.
fn atom_html(e: Option<&Element>) -> String {
    match e {
        None => String::new(),
        Some(e) => match e.attr("type") {
            Some("html") => e.text.trim().to_owned(),
            Some("xhtml") => e.child("div").map(inner_markup).unwrap_or_else(|| inner_markup(e)),
            _ => escape(e.text.trim()),
        },
    }
}

fn atom(root: &Element, url: &str) -> Result<Source, String> {
    let feed_author = root.child("author").map(|a| a.text_of("name").to_owned());
    let posts: Vec<SourcePost> = root
        .all("entry")
        .map(|entry| {
            let link = entry
                .all("link")
                .find(|l| l.attr("rel").is_none_or(|r| r == "alternate"))
                .and_then(|l| l.attr("href"))
                .map(str::to_owned);
            let author = entry
                .child("author")
                .map(|a| a.text_of("name").to_owned())
                .or_else(|| feed_author.clone())
                .filter(|a| !a.is_empty());
            let featured = entry
                .all("link")
                .find(|l| l.attr("rel") == Some("enclosure") && l.attr("type").is_some_and(|t| t.starts_with("image/")))
                .and_then(|l| l.attr("href"))
                .map(|u| SourceImage {
                    url: u.to_owned(),
                    alt: String::new(),
                });
            let content = atom_html(entry.child("content"));
            let summary = atom_html(entry.child("summary"));
            let (content, summary) = if content.is_empty() {
                (summary, String::new())
            } else {
                (content, summary)
            };
            let guid = [entry.text_of("id"), link.as_deref().unwrap_or("")]
                .into_iter()
                .find(|g| !g.is_empty())
                .unwrap_or_default()
                .to_owned();
            SourcePost {
                guid,
                title: super::html::plain_text(&atom_html(entry.child("title"))),
                link,
                content_html: content,
                excerpt: summary,
                status: SourceStatus::Published,
                is_page: false,
                date: date(entry.text_of("published")).or_else(|| date(entry.text_of("updated"))),
                slug: None,
                author,
                tags: entry
                    .all("category")
                    .filter_map(|c| c.attr("label").or(c.attr("term")))
                    .map(str::to_owned)
                    .collect(),
                language: entry.attr("xml:lang").map(str::to_owned),
                featured,
            }
        })
        .collect();
    Ok(Source {
        id: url.to_owned(),
        language: root.attr("xml:lang").map(str::to_owned),
        authors: authors_of(&posts),
        posts,
        ..Default::default()
    })
}

fn json_feed(bytes: &[u8], url: &str) -> Result<Source, String> {
    let feed: Value = serde_json::from_slice(bytes).map_err(|e| format!("not a JSON Feed: {e}"))?;
    let version = feed.get("version").and_then(Value::as_str).unwrap_or("");
    if !version.starts_with("https://jsonfeed.org/version/") {
        return Err("not a JSON Feed: no `version` naming https://jsonfeed.org/version/…".into());
    }
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").trim().to_owned();
    let name_of = |v: &Value| -> Option<String> {
        v.get("authors")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .or_else(|| v.get("author"))
            .map(|a| s(a, "name"))
            .filter(|n| !n.is_empty())
    };
    let feed_author = name_of(&feed);
    let items = feed.get("items").and_then(Value::as_array).cloned().unwrap_or_default();
    let posts: Vec<SourcePost> = items
        .iter()
        .map(|item| {
            let html = match s(item, "content_html") {
                h if h.is_empty() => escape(&s(item, "content_text"))
                    .split("\n\n")
                    .map(|p| format!("<p>{p}</p>"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                h => h,
            };
            let link = Some(s(item, "url")).filter(|u| !u.is_empty());
            SourcePost {
                guid: match s(item, "id") {
                    id if id.is_empty() => link.clone().unwrap_or_default(),
                    id => id,
                },
                title: s(item, "title"),
                link,
                content_html: html,
                excerpt: s(item, "summary"),
                status: SourceStatus::Published,
                is_page: false,
                date: date(&s(item, "date_published")).or_else(|| date(&s(item, "date_modified"))),
                slug: None,
                author: name_of(item).or_else(|| feed_author.clone()),
                tags: item
                    .get("tags")
                    .and_then(Value::as_array)
                    .map(|t| t.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                    .unwrap_or_default(),
                language: Some(s(item, "language")).filter(|l| !l.is_empty()),
                featured: Some(s(item, "image")).filter(|u| !u.is_empty()).map(|u| SourceImage {
                    url: u,
                    alt: String::new(),
                }),
            }
        })
        .collect();
    Ok(Source {
        id: url.to_owned(),
        language: Some(s(&feed, "language")).filter(|l| !l.is_empty()),
        authors: authors_of(&posts),
        posts,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rss() {
        let s = parse(
            br#"<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><language>en</language>
            <item><title>One</title><link>https://x.example/one/</link><guid>x-1</guid><pubDate>Tue, 06 May 2025 09:00:00 +0200</pubDate>
            <description>Short.</description><content:encoded><![CDATA[<p>Long <img src="/i.png" alt="I"></p>]]></content:encoded>
            <category>Energy</category><enclosure url="https://x.example/c.jpg" type="image/jpeg" length="1"/></item></channel></rss>"#,
            "https://x.example/feed",
        )
        .expect("rss");
        assert_eq!(s.language.as_deref(), Some("en"));
        let p = &s.posts[0];
        assert_eq!(
            (p.guid.as_str(), p.title.as_str(), p.excerpt.as_str()),
            ("x-1", "One", "Short.")
        );
        assert!(p.content_html.contains("<img"));
        assert_eq!(
            p.date.map(|d| d.to_rfc3339()).as_deref(),
            Some("2025-05-06T07:00:00+00:00")
        );
        assert_eq!(p.tags, vec!["Energy".to_owned()]);
        assert_eq!(
            p.featured.as_ref().map(|f| f.url.as_str()),
            Some("https://x.example/c.jpg")
        );
    }

    #[test]
    fn reads_atom_with_html_and_xhtml_content() {
        let s = parse(
            br#"<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr"><author><name>Camille</name></author>
            <entry><id>urn:a:1</id><title type="html">A &amp;lt;b&amp;gt;</title><link href="https://x.example/a1"/>
            <published>2025-04-01T10:00:00Z</published><content type="html">&lt;p&gt;Body&lt;/p&gt;</content><category term="coop"/></entry>
            <entry><id>urn:a:2</id><title>B</title><updated>2025-04-02T10:00:00Z</updated>
            <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>X<em>y</em></p></div></content></entry></feed>"#,
            "https://x.example/atom",
        )
        .expect("atom");
        assert_eq!(s.language.as_deref(), Some("fr"));
        assert_eq!(s.posts[0].content_html, "<p>Body</p>");
        assert_eq!(s.posts[0].author.as_deref(), Some("Camille"));
        assert_eq!(s.posts[0].tags, vec!["coop".to_owned()]);
        assert_eq!(s.posts[1].content_html, "<p>X<em>y</em></p>");
        assert!(s.posts[1].date.is_some());
    }

    #[test]
    fn reads_json_feed() {
        let s = parse(
            br#"{"version":"https://jsonfeed.org/version/1.1","language":"de","authors":[{"name":"Kim"}],
               "items":[{"id":"j1","url":"https://x.example/j1","title":"J","content_text":"Para one.\n\nPara two.",
               "date_published":"2025-03-01T08:00:00Z","tags":["Wind"],"image":"https://x.example/j.png"}]}"#,
            "https://x.example/feed.json",
        )
        .expect("json feed");
        let p = &s.posts[0];
        assert_eq!(p.content_html, "<p>Para one.</p>\n<p>Para two.</p>");
        assert_eq!(p.author.as_deref(), Some("Kim"));
        assert_eq!(s.authors.len(), 1);
        assert!(parse(br#"{"items":[]}"#, "u").is_err());
    }
}
