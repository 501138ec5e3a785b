//! The network coordinator's domain: member organisations, the items of the
//! shared feed, and the filters readers apply to it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a member organisation stands with the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    /// Asked to join (followed the network actor); waits for the coordinator.
    Requested,
    /// A member: its articles are aggregated and re-published.
    Approved,
    /// Its articles are hidden (kept) and nothing new is aggregated.
    Suspended,
    /// The request was refused.
    Rejected,
    /// No longer a member; its articles are hidden (kept).
    Removed,
    /// The member's organisation stopped following the network actor
    /// (`Undo` of its `Follow`): its articles are hidden (kept) until it is
    /// approved again.
    Left,
}

impl MemberStatus {
    pub const ALL: [MemberStatus; 6] = [
        MemberStatus::Requested,
        MemberStatus::Approved,
        MemberStatus::Suspended,
        MemberStatus::Rejected,
        MemberStatus::Removed,
        MemberStatus::Left,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Requested => "requested",
            MemberStatus::Approved => "approved",
            MemberStatus::Suspended => "suspended",
            MemberStatus::Rejected => "rejected",
            MemberStatus::Removed => "removed",
            MemberStatus::Left => "left",
        }
    }

    /// Whether the coordinator may move a member from this status to `to`:
    /// approve anyone not approved, reject only a request, suspend only an
    /// approved member, remove an approved or suspended one.
    pub fn can_become(self, to: MemberStatus) -> bool {
        use MemberStatus::*;
        match to {
            Approved => self != Approved,
            Rejected => self == Requested,
            Suspended => self == Approved,
            Removed => matches!(self, Approved | Suspended),
            Requested | Left => false,
        }
    }

    /// The statuses from which `to` can be reached, for error messages.
    pub fn sources_of(to: MemberStatus) -> Vec<&'static str> {
        MemberStatus::ALL
            .into_iter()
            .filter(|s| s.can_become(to))
            .map(MemberStatus::as_str)
            .collect()
    }

    pub fn parse(s: &str) -> Option<Self> {
        MemberStatus::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// What a member organisation says about itself in its actor document (the
/// `sse:` extension, see docs/FEDERATION.md), as last read.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberProfile {
    pub name: String,
    /// Its profile page.
    pub url: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: Option<String>,
    /// One of `LegalForm`'s names.
    pub legal_form: Option<String>,
    pub sectors: Vec<String>,
    /// BCP 47 tags.
    pub languages: Vec<String>,
    /// URL of its logo.
    pub logo: Option<String>,
}

/// A member organisation of the network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    /// Its actor id.
    pub actor: String,
    /// `host[:port]` of the actor: content from this host is the member's.
    pub host: String,
    pub status: MemberStatus,
    /// `name@host`.
    pub handle: String,
    pub inbox: String,
    pub profile: MemberProfile,
    pub requested_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub last_activity_at: Option<DateTime<Utc>>,
    pub signature_failures: i64,
    /// Activities from its host refused with 429 (over its rate; retried by its server).
    pub rate_limited: i64,
    pub backfill: Backfill,
    pub updated_at: DateTime<Utc>,
}

/// How far the backfill of a member's outbox got.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Backfill {
    /// `pending` (to run or resume), `done` or `failed`.
    pub state: String,
    /// The next outbox page to fetch, when it was interrupted.
    pub next: Option<String>,
    pub pages: i64,
    pub items: i64,
    pub error: Option<String>,
    /// The outbox is to be read again from its first page once this run ends.
    pub rerun: bool,
    /// Runs that failed in a row (0 after a run that ends well).
    #[serde(default)]
    pub attempts: i64,
    /// When a failed run is tried again by itself (see
    /// `Backfill::retry_delay`); none when none is scheduled.
    #[serde(default)]
    pub retry_at: Option<DateTime<Utc>>,
}

impl Backfill {
    /// The first wait before a failed backfill is tried again; it doubles
    /// with every failure in a row, up to [`Backfill::MAX_RETRY_DELAY`].
    pub const FIRST_RETRY_DELAY: chrono::TimeDelta = chrono::TimeDelta::seconds(30);
    /// The longest wait between two tries of a failing backfill.
    pub const MAX_RETRY_DELAY: chrono::TimeDelta = chrono::TimeDelta::hours(6);

    /// The wait after failure number `attempts` (1 for the first): 30 s,
    /// 1 min, 2 min… up to 6 h.
    pub fn retry_delay(attempts: i64) -> chrono::TimeDelta {
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
        (Self::FIRST_RETRY_DELAY * (1_i32 << doublings)).min(Self::MAX_RETRY_DELAY)
    }
}

/// A member article as the shared feed keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkItem {
    /// The article's ActivityPub id, on its origin host.
    pub id: String,
    /// The member (actor id) whose host the article lives on.
    pub member: String,
    pub attributed_to: Option<String>,
    /// Its HTML page.
    pub url: Option<String>,
    /// `interview` or `news` (from `sse:kind`), when the origin says.
    pub kind: Option<String>,
    /// The default language, and every language it is written in.
    pub language: Option<String>,
    pub languages: Vec<String>,
    pub title: String,
    /// Sanitised HTML.
    pub summary_html: String,
    /// Sanitised HTML.
    pub content_html: String,
    pub tags: Vec<String>,
    pub image_url: Option<String>,
    pub image_alt: Option<String>,
    pub published_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl NetworkItem {
    /// The text the full-text index sees: summary and body without markup.
    pub fn search_text(&self) -> String {
        let mut out = plain_text(&self.summary_html);
        out.push(' ');
        out.push_str(&plain_text(&self.content_html));
        out
    }
}

/// Marks around matched words in highlighted search results (private-use
/// characters, stripped from indexed text, so they cannot come from content).
pub const MATCH_START: char = '\u{E000}';
pub const MATCH_END: char = '\u{E001}';

/// The entities [`plain_text`] decodes: those the sanitiser writes.
const ENTITIES: [(&str, char); 6] = [
    ("&lt;", '<'),
    ("&gt;", '>'),
    ("&quot;", '"'),
    ("&#39;", '\''),
    ("&nbsp;", ' '),
    ("&amp;", '&'),
];

/// Text of sanitised HTML: tags dropped, the common entities decoded,
/// whitespace collapsed, match marks removed.
pub fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    // One pass: a tag is a space, an entity its character, and any run of
    // white space one space (none at either end). Text between those is
    // copied a run at a time: the text of every member article is made
    // this way when it arrives at a coordinator.
    let mut space = false;
    let push = |out: &mut String, space: &mut bool, c: char| {
        if c.is_whitespace() {
            *space = !out.is_empty();
        } else {
            if *space {
                out.push(' ');
                *space = false;
            }
            out.push(c);
        }
    };
    let bytes = html.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        // A run of plain ASCII, neither markup nor white space, with the
        // single spaces between its words (they need no collapsing).
        let plain = |b: u8| b.is_ascii() && !matches!(b, b'<' | b'&') && !b.is_ascii_whitespace() && b != 0x0b;
        let mut end = at;
        while end < bytes.len() {
            if plain(bytes[end]) {
                end += 1;
            } else if bytes[end] == b' ' && end > at && bytes.get(end + 1).is_some_and(|&b| plain(b)) {
                end += 2;
            } else {
                break;
            }
        }
        let run = end - at;
        if run > 0 {
            if space {
                out.push(' ');
                space = false;
            }
            out.push_str(&html[at..at + run]);
            at += run;
            continue;
        }
        let rest = &html[at..];
        let Some(c) = rest.chars().next() else { break };
        match c {
            '<' => {
                push(&mut out, &mut space, ' ');
                at += rest.find('>').map_or(rest.len(), |end| end + 1);
            }
            '&' => match ENTITIES.iter().find(|(name, _)| rest.starts_with(name)) {
                Some((name, decoded)) => {
                    push(&mut out, &mut space, *decoded);
                    at += name.len();
                }
                None => {
                    push(&mut out, &mut space, c);
                    at += 1;
                }
            },
            MATCH_START | MATCH_END => at += c.len_utf8(),
            c => {
                push(&mut out, &mut space, c);
                at += c.len_utf8();
            }
        }
    }
    out
}

/// Longest word the full-text index keeps, in bytes (PostgreSQL refuses
/// lexemes of 2 KiB and more; nobody searches for such a word).
pub const MAX_SEARCH_WORD: usize = 256;

/// The words full-text search matches on, in order, duplicates kept: runs
/// of letters and digits, lower-cased, so punctuation, apostrophes and
/// hyphens separate words (`l'économie` is `l` and `économie`,
/// `co-operative` is `co` and `operative`). The same function reads the
/// indexed text and a reader's query, so both sides always agree.
pub fn search_words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && w.len() <= MAX_SEARCH_WORD)
        .map(str::to_lowercase)
}

/// What a reader filters the shared feed by; every field optional.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FeedFilter {
    pub language: Option<String>,
    pub country: Option<String>,
    /// A member's handle, `name@host`.
    pub organisation: Option<String>,
    pub kind: Option<String>,
    pub sector: Option<String>,
    pub legal_form: Option<String>,
    pub tag: Option<String>,
    /// Full-text query.
    pub q: Option<String>,
}

/// A position in the feed (newest first): the last item shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedCursor {
    pub published_at_micros: i64,
    pub id: String,
}

impl FeedCursor {
    /// `{micros}.{id}`, safe in a query string once URL-encoded.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.published_at_micros, self.id)
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("cursor `{s}` is not one this server gave (expected the `next` link of a feed page)");
        let (micros, id) = s.split_once('.').ok_or_else(bad)?;
        let published_at_micros = micros.parse().map_err(|_| bad())?;
        if id.is_empty() {
            return Err(bad());
        }
        Ok(FeedCursor {
            published_at_micros,
            id: id.to_owned(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The reading `plain_text` must agree with: one character at a time.
    fn plain_text_by_char(html: &str) -> String {
        let mut out = String::new();
        let push = |out: &mut String, c: char| {
            if c.is_whitespace() {
                if !out.is_empty() && !out.ends_with(' ') {
                    out.push(' ');
                }
            } else {
                out.push(c);
            }
        };
        let mut in_tag = false;
        let mut rest = html;
        while let Some(c) = rest.chars().next() {
            let mut len = c.len_utf8();
            match c {
                '<' => {
                    in_tag = true;
                    push(&mut out, ' ');
                }
                '>' if in_tag => in_tag = false,
                _ if in_tag => {}
                MATCH_START | MATCH_END => {}
                '&' => match ENTITIES.iter().find(|(name, _)| rest.starts_with(name)) {
                    Some((name, decoded)) => {
                        len = name.len();
                        push(&mut out, *decoded);
                    }
                    None => push(&mut out, c),
                },
                c => push(&mut out, c),
            }
            rest = &rest[len..];
        }
        if out.ends_with(' ') {
            out.pop();
        }
        out
    }

    #[test]
    fn plain_text_of_markup() {
        assert_eq!(
            plain_text("<p>Une <em>coopérative</em>&nbsp;&amp; ses\u{a0}membres</p>\n<p>2&lt;3 &copy;</p>"),
            "Une coopérative & ses membres 2<3 &copy;"
        );
        assert_eq!(plain_text("  <br>  "), "");
        assert_eq!(plain_text("a\u{e000}b\u{e001}c"), "abc");
        assert_eq!(plain_text("unclosed <a href"), "unclosed");
    }

    proptest::proptest! {
        #[test]
        fn plain_text_reads_like_one_character_at_a_time(
            html in "([a-zé ,.]{0,6}|<[a-z /=\"]{0,5}>|&(lt|gt|quot|#39|nbsp|amp|copy);?|[\t\n\u{b}\u{c}\u{85}\u{a0}\u{2003}\u{3000}\u{e000}\u{e001}<>&]){0,24}"
        ) {
            proptest::prop_assert_eq!(plain_text(&html), plain_text_by_char(&html));
        }
    }

    #[test]
    fn failed_backfills_wait_twice_as_long_each_time_up_to_six_hours() {
        let secs = |n| Backfill::retry_delay(n).num_seconds();
        assert_eq!(secs(0), 30);
        assert_eq!(secs(1), 30);
        assert_eq!(secs(2), 60);
        assert_eq!(secs(3), 120);
        assert_eq!(secs(10), 30 * 512);
        assert_eq!(secs(11), 6 * 3600);
        assert_eq!(secs(i64::MAX), 6 * 3600);
    }

    #[test]
    fn search_words_split_on_punctuation_and_lower_case() {
        let words: Vec<String> = search_words("L'Économie co-operative: 2024, «Sociale»!").collect();
        assert_eq!(words, ["l", "économie", "co", "operative", "2024", "sociale"]);
        assert_eq!(search_words(" ... ").count(), 0);
        let long = "x".repeat(MAX_SEARCH_WORD + 1);
        assert_eq!(search_words(&format!("{long} kept")).collect::<Vec<_>>(), ["kept"]);
    }

    #[test]
    fn statuses_round_trip() {
        for s in MemberStatus::ALL {
            assert_eq!(MemberStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(MemberStatus::parse("member"), None);
    }

    #[test]
    fn coordinator_decisions_follow_the_status() {
        use MemberStatus::*;
        assert!(Requested.can_become(Approved) && Left.can_become(Approved) && Suspended.can_become(Approved));
        assert!(!Approved.can_become(Approved));
        assert!(Requested.can_become(Rejected) && !Approved.can_become(Rejected));
        assert!(Approved.can_become(Suspended) && !Requested.can_become(Suspended) && !Left.can_become(Suspended));
        assert!(Suspended.can_become(Removed) && !Rejected.can_become(Removed) && !Left.can_become(Removed));
        assert!(
            MemberStatus::ALL
                .iter()
                .all(|s| !s.can_become(Left) && !s.can_become(Requested))
        );
        assert_eq!(MemberStatus::sources_of(Rejected), ["requested"]);
    }

    #[test]
    fn plain_text_of_html() {
        assert_eq!(
            plain_text("<p>Caf&eacute; &amp; <b>co</b>ops\u{E000}</p><p>x&lt;y</p>"),
            "Caf&eacute; & co ops x<y"
        );
        // Entities decode once (`&amp;lt;` is the text `&lt;`), white space
        // of any kind collapses, nothing is left at either end, and a `>`
        // inside an attribute ends the tag (as it always did: this is
        // sanitised HTML, whose attributes escape it).
        assert_eq!(
            plain_text(
                " \n<h2 class=\"a>b\">Title</h2>\t&amp;lt;&nbsp;&nbsp;a\u{a0}&#39;b&quot; &unknown; &am<i>p;</i> "
            ),
            "b\">Title &lt; a 'b\" &unknown; &am p;"
        );
        assert_eq!(plain_text("a > b<br/>c&gt;"), "a > b c>");
        assert_eq!(plain_text("<p></p>"), "");
    }

    #[test]
    fn cursors() {
        let c = FeedCursor {
            published_at_micros: 1_700_000_000_000_000,
            id: "https://a.example/objects/1.2".into(),
        };
        assert_eq!(FeedCursor::parse(&c.encode()).unwrap(), c);
        assert!(FeedCursor::parse("yesterday").unwrap_err().contains("yesterday"));
        assert!(FeedCursor::parse("12.").is_err());
    }
}
