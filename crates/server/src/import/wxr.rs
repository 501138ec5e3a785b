//! WordPress eXtended RSS (WXR 1.1 and 1.2, Tools → Export) → [`Source`]:
//! the site's language and authors, its posts and pages with their status,
//! dates, categories and tags, excerpt, featured image (`_thumbnail_id` →
//! the attachment's URL and `_wp_attachment_image_alt`) and language
//! (WPML's or Polylang's fields when present).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};

use super::xml::{self, Element};
use super::{Source, SourceAuthor, SourceImage, SourcePost, SourceStatus};

/// The WPML fields that carry a post's language, in the order tried.
const WPML_LANGUAGE_KEYS: [&str; 3] = ["_wpml_import_language_code", "_wpml_language", "wpml_language"];

/// Parses a WXR file.
pub fn parse(bytes: &[u8]) -> Result<Source, String> {
    let root = xml::parse(bytes)?;
    if root.name != "rss" {
        return Err(format!(
            "not a WordPress export: the root element is <{}>, not <rss>",
            root.name
        ));
    }
    let channel = root
        .child("channel")
        .ok_or("not a WordPress export: no <channel> element")?;
    let version = channel.text_of("wp:wxr_version");
    if version.is_empty() {
        return Err(
            "not a WordPress export: no <wp:wxr_version> (is this a plain RSS feed? use `gazette import feed`)".into(),
        );
    }
    if !matches!(version, "1.0" | "1.1" | "1.2") {
        return Err(format!("WXR version {version} is not supported (1.1 and 1.2 are)"));
    }
    let site = [
        channel.text_of("wp:base_blog_url"),
        channel.text_of("link"),
        channel.text_of("wp:base_site_url"),
    ]
    .into_iter()
    .find(|s| !s.is_empty())
    .unwrap_or("wordpress")
    .trim_end_matches('/')
    .to_owned();
    let authors = channel
        .all("wp:author")
        .map(|a| {
            let login = a.text_of("wp:author_login").to_owned();
            let name = a.text_of("wp:author_display_name");
            SourceAuthor {
                name: if name.is_empty() {
                    login.clone()
                } else {
                    name.to_owned()
                },
                login,
            }
        })
        .filter(|a| !a.login.is_empty())
        .collect();
    let items: Vec<&Element> = channel.all("item").collect();
    // Attachments first: posts name their featured image by attachment id.
    let mut attachments: HashMap<String, SourceImage> = HashMap::new();
    for item in &items {
        if item.text_of("wp:post_type") == "attachment" {
            let url = item.text_of("wp:attachment_url");
            if !url.is_empty() {
                attachments.insert(
                    item.text_of("wp:post_id").to_owned(),
                    SourceImage {
                        url: url.to_owned(),
                        alt: meta(item, "_wp_attachment_image_alt").unwrap_or_default().to_owned(),
                    },
                );
            }
        }
    }
    let mut posts = Vec::new();
    for item in items {
        let kind = item.text_of("wp:post_type");
        let is_page = match kind {
            "post" | "" => false,
            "page" => true,
            _ => continue,
        };
        let wp_status = item.text_of("wp:status");
        let status = match wp_status {
            "publish" => SourceStatus::Published,
            "draft" | "pending" => SourceStatus::Draft,
            "future" => SourceStatus::Scheduled,
            other => SourceStatus::Skip(format!("status `{other}` is not imported")),
        };
        let id = item.text_of("wp:post_id");
        let guid = match item.text_of("guid") {
            "" => format!("{site}/?p={id}"),
            g => g.to_owned(),
        };
        let mut tags = Vec::new();
        let mut language = WPML_LANGUAGE_KEYS.iter().find_map(|k| meta(item, k)).map(str::to_owned);
        for c in item.all("category") {
            match c.attr("domain") {
                Some("category") if c.attr("nicename") == Some("uncategorized") => {}
                Some("category") | Some("post_tag") => tags.push(c.text.trim().to_owned()),
                // Polylang files a post under a term of its `language` taxonomy.
                Some("language") if language.is_none() => language = c.attr("nicename").map(str::to_owned),
                _ => {}
            }
        }
        let featured = meta(item, "_thumbnail_id").and_then(|t| attachments.get(t)).cloned();
        posts.push(SourcePost {
            guid,
            title: item.text_of("title").to_owned(),
            link: Some(item.text_of("link").to_owned()).filter(|l| !l.is_empty()),
            content_html: item.text_of("content:encoded").to_owned(),
            excerpt: item.text_of("excerpt:encoded").to_owned(),
            status,
            is_page,
            date: post_date(item),
            slug: Some(percent_decode(item.text_of("wp:post_name"))).filter(|s| !s.is_empty()),
            author: Some(item.text_of("dc:creator").to_owned()).filter(|a| !a.is_empty()),
            tags,
            language,
            featured,
        });
    }
    Ok(Source {
        id: site,
        language: Some(channel.text_of("language").to_owned()).filter(|l| !l.is_empty()),
        authors,
        posts,
        attachments,
    })
}

/// The value of the post's meta field `key`.
fn meta<'a>(item: &'a Element, key: &str) -> Option<&'a str> {
    item.all("wp:postmeta")
        .find(|m| m.text_of("wp:meta_key") == key)
        .map(|m| m.text_of("wp:meta_value"))
        .filter(|v| !v.is_empty())
}

/// The post's date: `post_date_gmt`, else `post_date` read as UTC (drafts
/// have a zero GMT date), else the RSS `pubDate`.
fn post_date(item: &Element) -> Option<DateTime<Utc>> {
    let wp = |name: &str| {
        NaiveDateTime::parse_from_str(item.text_of(name), "%Y-%m-%d %H:%M:%S")
            .ok()
            .filter(|d| d.and_utc().timestamp() > 0)
            .map(|d| d.and_utc())
    };
    wp("wp:post_date_gmt").or_else(|| wp("wp:post_date")).or_else(|| {
        DateTime::parse_from_rfc2822(item.text_of("pubDate"))
            .ok()
            .map(|d| d.with_timezone(&Utc))
    })
}

/// WordPress writes non-ASCII slugs percent-encoded.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const WXR: &str = r#"<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.1/excerpt/" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.1/">
<channel>
  <title>Coop</title><link>https://coop.example</link><language>fr-FR</language>
  <wp:wxr_version>1.1</wp:wxr_version>
  <wp:author><wp:author_login><![CDATA[lea]]></wp:author_login><wp:author_display_name><![CDATA[Léa M]]></wp:author_display_name></wp:author>
  <item><title>Photo</title><wp:post_id>5</wp:post_id><wp:post_type>attachment</wp:post_type><wp:status>inherit</wp:status>
    <wp:attachment_url>https://coop.example/up/a.png</wp:attachment_url>
    <wp:postmeta><wp:meta_key>_wp_attachment_image_alt</wp:meta_key><wp:meta_value><![CDATA[Roof]]></wp:meta_value></wp:postmeta></item>
  <item><title>Caf&#233;</title><link>https://coop.example/2025/05/cafe/</link><guid isPermaLink="false">https://coop.example/?p=7</guid>
    <dc:creator><![CDATA[lea]]></dc:creator><content:encoded><![CDATA[<p>Hi</p>]]></content:encoded><excerpt:encoded><![CDATA[]]></excerpt:encoded>
    <wp:post_id>7</wp:post_id><wp:post_date_gmt>2025-05-03 08:30:00</wp:post_date_gmt><wp:post_name>caf%c3%a9</wp:post_name>
    <wp:status>publish</wp:status><wp:post_type>post</wp:post_type>
    <category domain="category" nicename="uncategorized"><![CDATA[Uncategorized]]></category>
    <category domain="post_tag" nicename="solar"><![CDATA[Solar energy]]></category>
    <category domain="language" nicename="en"><![CDATA[English]]></category>
    <wp:postmeta><wp:meta_key>_thumbnail_id</wp:meta_key><wp:meta_value>5</wp:meta_value></wp:postmeta></item>
  <item><title>Trash</title><wp:post_id>8</wp:post_id><wp:status>trash</wp:status><wp:post_type>post</wp:post_type></item>
  <item><title>Menu</title><wp:post_id>9</wp:post_id><wp:status>publish</wp:status><wp:post_type>nav_menu_item</wp:post_type></item>
</channel></rss>"#;

    #[test]
    fn reads_posts_authors_tags_featured_images_and_languages() {
        let s = parse(WXR.as_bytes()).expect("parses");
        assert_eq!(s.id, "https://coop.example");
        assert_eq!(s.language.as_deref(), Some("fr-FR"));
        assert_eq!(s.authors[0].login, "lea");
        assert_eq!(s.authors[0].name, "Léa M");
        assert_eq!(s.posts.len(), 2, "the attachment and the menu item are not posts");
        let p = &s.posts[0];
        assert_eq!(p.title, "Café");
        assert_eq!(p.slug.as_deref(), Some("café"));
        assert_eq!(p.status, SourceStatus::Published);
        assert_eq!(p.tags, vec!["Solar energy".to_owned()]);
        assert_eq!(p.language.as_deref(), Some("en"));
        assert_eq!(
            p.date.map(|d| d.to_rfc3339()).as_deref(),
            Some("2025-05-03T08:30:00+00:00")
        );
        let f = p.featured.as_ref().expect("featured image");
        assert_eq!(
            (f.url.as_str(), f.alt.as_str()),
            ("https://coop.example/up/a.png", "Roof")
        );
        assert!(matches!(&s.posts[1].status, SourceStatus::Skip(r) if r.contains("trash")));
    }

    #[test]
    fn refuses_what_is_not_a_wordpress_export() {
        assert!(parse(b"<feed></feed>").expect_err("atom").contains("<feed>"));
        assert!(
            parse(b"<rss><channel></channel></rss>")
                .expect_err("rss")
                .contains("gazette import feed")
        );
    }
}
