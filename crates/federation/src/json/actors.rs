//! ActivityStreams documents of the local actors: the organisation, the
//! network's `Group`, authors and the instance actor, with their keys.

use gazette_core::html::escape;
use gazette_core::{Author, Media, Organisation};
use serde_json::{Value, json};

use super::{context, html_paragraphs, image, time};
use crate::keys::ServedKey;
use crate::urls::Urls;

/// What a local actor JSON needs beyond its own fields.
pub struct ActorParts<'a> {
    /// The current key first, then old keys in their grace period.
    pub keys: &'a [ServedKey],
    pub icon: Option<&'a Media>,
    pub image: Option<&'a Media>,
    pub manually_approves_followers: bool,
}

fn actor_common(
    urls: &Urls,
    username: &str,
    kind: &str,
    name: &str,
    summary_html: String,
    page: String,
    parts: &ActorParts<'_>,
) -> Value {
    let id = urls.actor(username);
    let mut v = json!({
        "@context": context(),
        "id": id,
        "type": kind,
        "preferredUsername": username,
        "name": name,
        "summary": summary_html,
        "url": page,
        "inbox": urls.inbox(username),
        "outbox": urls.outbox(username),
        "followers": urls.followers(username),
        "following": urls.following(username),
        "featured": urls.featured(username),
        "endpoints": { "sharedInbox": urls.shared_inbox() },
        "publicKey": public_keys(urls, &id, parts.keys),
        "manuallyApprovesFollowers": parts.manually_approves_followers,
        "discoverable": true,
        "indexable": true,
        "alsoKnownAs": [],
        "attributionDomains": [urls.host()],
    });
    if let Some(icon) = parts.icon {
        v["icon"] = image(urls, icon, None);
    }
    if let Some(img) = parts.image {
        v["image"] = image(urls, img, None);
    }
    v
}

/// The organisation as an `Organization` actor.
pub fn organisation_actor(urls: &Urls, org: &Organisation, parts: &ActorParts<'_>) -> Value {
    let mut v = actor_common(
        urls,
        &org.username,
        "Organization",
        &org.name,
        html_paragraphs(&org.description),
        urls.url("/"),
        parts,
    );
    v["published"] = json!(time(org.updated_at));
    v["sse:country"] = json!(org.country.as_str());
    v["sse:legalForm"] = json!(org.legal_form.as_str());
    v["sse:sectors"] = json!(org.sectors);
    v["sse:languages"] = json!(org.languages.iter().map(|l| l.as_str()).collect::<Vec<_>>());
    if let Some(site) = &org.website {
        v["attachment"] = json!([{
            "type": "PropertyValue",
            "name": "Website",
            "value": format!("<a href=\"{0}\" rel=\"me nofollow noopener noreferrer\" target=\"_blank\">{0}</a>", escape(site)),
        }]);
    }
    v
}

/// A network coordinator's network actor, a `Group` (FEP-1b12): members'
/// articles reach its followers as its `Announce`s.
pub fn network_actor(urls: &Urls, network: &crate::context::NetworkSettings, parts: &ActorParts<'_>) -> Value {
    let mut v = actor_common(
        urls,
        &network.username,
        "Group",
        &network.name,
        html_paragraphs(&network.summary),
        urls.url(crate::network::FEED_PATH),
        parts,
    );
    v["attachment"] = json!([{
        "type": "PropertyValue",
        "name": "Feed",
        "value": format!("<a href=\"{0}\" rel=\"nofollow noopener noreferrer\" target=\"_blank\">{0}</a>",
            escape(&urls.url(crate::network::FEED_PATH))),
    }]);
    v
}

/// An author as a `Person` actor.
pub fn author_actor(urls: &Urls, author: &Author, parts: &ActorParts<'_>) -> Value {
    let page = urls.url(&format!("/authors/{}", author.username));
    let mut v = actor_common(
        urls,
        &author.username,
        "Person",
        &author.name,
        html_paragraphs(&author.bio),
        page,
        parts,
    );
    v["published"] = json!(time(author.created_at));
    if let Some(handle) = &author.fediverse_handle {
        v["attachment"] = json!([{ "type": "PropertyValue", "name": "Fediverse", "value": escape(handle) }]);
    }
    v
}

/// An actor's `publicKey`: one key object, as servers expect; during a
/// key's grace period after a rotation, a list with the current key first
/// (what Mastodon, which reads the first, keeps) and the old keys after it,
/// so a server that cached an old key id still finds it here.
fn public_keys(urls: &Urls, actor_id: &str, keys: &[ServedKey]) -> Value {
    let key = |k: &ServedKey| json!({ "id": urls.key_id_with(actor_id, &k.fragment), "owner": actor_id, "publicKeyPem": k.public_key_pem });
    match keys {
        [one] => key(one),
        many => Value::Array(many.iter().map(key).collect()),
    }
}

/// The instance actor (`Application`) that signs server-to-server fetches.
pub fn instance_actor(urls: &Urls, name: &str, keys: &[ServedKey]) -> Value {
    let id = urls.instance_actor();
    json!({
        "@context": context(),
        "id": id,
        "type": "Application",
        "preferredUsername": urls.instance_username(),
        "name": name,
        "url": urls.url("/"),
        "inbox": urls.shared_inbox(),
        "outbox": format!("{id}/outbox"),
        "endpoints": { "sharedInbox": urls.shared_inbox() },
        "publicKey": public_keys(urls, &id, keys),
        "manuallyApprovesFollowers": true,
        "discoverable": false,
        "indexable": false,
    })
}
