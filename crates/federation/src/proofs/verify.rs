//! Checking the integrity proofs others send (FEP-8b32): the key a proof
//! names (`verificationMethod`) is read from the store when a proof of
//! it verified before, else from its controller's actor document, where
//! it must be a `Multikey` listed under `assertionMethod` (FEP-521a);
//! keys that verified are kept (`remote_multikeys`), so a proof by a key
//! we know is checked without asking its server. A stored key that fails
//! is fetched again (at most once a minute per key: a rotation works,
//! forged proofs cannot make us fetch in a loop).
//!
//! Who must have signed is the caller's rule: an activity's proof by its
//! actor, an embedded object's by the actor it is attributed to.

use activitypub_federation::config::Data;
use activitypub_federation::fetch::fetch_object_http;
use axum::http::StatusCode;
use chrono::Utc;
use gazette_store::RemoteMultikey;
use serde_json::Value;
use url::Url;

use super::{Proof, multikey, proofs_of, verify_with};
use crate::context::FedContext;
use crate::error::FederationError;

/// How soon a stored key that failed may be fetched again.
const REFETCH_AFTER: chrono::Duration = chrono::Duration::minutes(1);

fn refused(message: String) -> FederationError {
    FederationError::Refused(StatusCode::UNAUTHORIZED, message)
}

/// The ids a JSON value names: a string, an object's `id`, or a list of them.
fn ids(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Object(o)) => o.get("id").and_then(Value::as_str).into_iter().collect(),
        Some(Value::Array(items)) => items.iter().flat_map(|i| ids(Some(i))).collect(),
        _ => Vec::new(),
    }
}

/// Checks the proofs of a received activity (`body`, its actor `actor`)
/// and, for a `Create`, `Update` or `Announce`, of the object it embeds:
/// every `eddsa-jcs-2022` proof must verify, the activity's by a key of its
/// actor, the object's by a key of the actor it is attributed to.
/// Activities without proofs pass (the HTTP signature vouches for them).
/// Refusals are `401` saying which proof failed and why.
///
/// Other activities embed their object as a reference (an `Accept`,
/// `Reject` or `Undo` of a `Follow`), which the sender may have written
/// again in its own way: Fedify's `Accept` embeds our `Follow` re-encoded,
/// so the proof we put on it no longer verifies, and nothing is taken from
/// such an object on trust.
pub async fn check_incoming(data: &Data<FedContext>, body: &[u8], actor: &Url) -> Result<(), FederationError> {
    // Most activities carry none: no second parse for them.
    if !body.windows(7).any(|w| w == b"\"proof\"") {
        return Ok(());
    }
    let activity: Value = serde_json::from_slice(body)?;
    for controller in verify_document(data, &activity).await? {
        if controller != actor.as_str() {
            return Err(refused(format!(
                "the activity's proof is by {controller}, not by its actor {actor}"
            )));
        }
    }
    let object = &activity["object"];
    let offers_content = matches!(
        activity.get("type").and_then(Value::as_str),
        Some("Create" | "Update" | "Announce")
    );
    if offers_content && object.get("proof").is_some() {
        let owners = ids(object.get("attributedTo"));
        for controller in verify_document(data, object).await? {
            if !owners.contains(&controller.as_str()) {
                return Err(refused(format!(
                    "the proof of the embedded object is by {controller}, not by the actor it is attributed to ({})",
                    owners.join(", ")
                )));
            }
        }
    }
    Ok(())
}

/// Verifies every `eddsa-jcs-2022` proof of `document`, and returns the
/// controllers of the keys that made them (none without proofs).
pub async fn verify_document(data: &Data<FedContext>, document: &Value) -> Result<Vec<String>, FederationError> {
    let proofs = proofs_of(document).map_err(|e| refused(e.to_string()))?;
    let mut controllers = Vec::with_capacity(proofs.len());
    for proof in &proofs {
        // A `did:key` (Hubzilla, Streams) names no actor whose key it is
        // (FEP-c390 identity proofs would link them): not ours to judge;
        // the HTTP signature vouches for the sender as before.
        if !proof.verification_method.starts_with("https://") && !proof.verification_method.starts_with("http://") {
            tracing::debug!(method = %proof.verification_method, "proof by a key that is not an actor's; skipped");
            continue;
        }
        controllers.push(verify_one(data, document, proof).await?);
    }
    Ok(controllers)
}

/// Checks `proof` with its key (stored, or fetched), and returns the key's controller.
async fn verify_one(data: &Data<FedContext>, document: &Value, proof: &Proof) -> Result<String, FederationError> {
    let method = &proof.verification_method;
    if let Some(key) = local_key(data, method).await? {
        // One of ours, come back (a member's article in its network's boost).
        check(document, proof, &key).map_err(|e| refused(e.to_string()))?;
        return Ok(key.controller);
    }
    let stored = data.store().find_remote_multikey(method).await?;
    if let Some(key) = &stored {
        if check(document, proof, key).is_ok() {
            return Ok(key.controller.clone());
        }
        if Utc::now() - key.fetched_at < REFETCH_AFTER {
            return Err(refused(format!(
                "the proof does not verify with the key {method} (read from its server less than a minute ago)"
            )));
        }
    }
    let key = fetch_key(data, method).await.map_err(|e| {
        refused(format!(
            "cannot read the key {method} of the proof from its server: {e}"
        ))
    })?;
    check(document, proof, &key).map_err(|e| refused(e.to_string()))?;
    data.store().save_remote_multikey(&key).await?;
    Ok(key.controller)
}

/// The key `method` when it names one of our own actors' Ed25519 keys
/// (read from the store: we never fetch our own documents): the current
/// key, or a replaced one in its grace period (a proof made before a
/// rotation, come back). A key id of ours that names no key listed now (a
/// retired key) is refused.
async fn local_key(data: &Data<FedContext>, method: &str) -> Result<Option<RemoteMultikey>, FederationError> {
    let Some((actor_id, fragment)) = method.split_once('#') else {
        return Ok(None);
    };
    if !fragment.starts_with(super::keys::KEY_FRAGMENT) {
        return Ok(None);
    }
    let Some(actor) = crate::local::local_actor_by_id(data, actor_id).await? else {
        return Ok(None);
    };
    let listed = super::keys::served_multikeys(data, &actor.key_name(), Utc::now()).await?;
    let key = listed
        .into_iter()
        .find(|k| k.fragment == fragment)
        .ok_or_else(|| refused(format!("{method} is no key of {actor_id} (retired, or never made)")))?;
    Ok(Some(RemoteMultikey {
        id: method.to_owned(),
        controller: actor_id.to_owned(),
        public_key_multibase: key.public_key_multibase,
        fetched_at: Utc::now(),
    }))
}

fn check(document: &Value, proof: &Proof, key: &RemoteMultikey) -> Result<(), super::ProofError> {
    let public = multikey::ed25519_from_multikey(&key.public_key_multibase)?;
    verify_with(document, proof, &public)
}

/// Reads the key `method` from its controller's document: `{actor}#frag`
/// is found in the actor's `assertionMethod`; a key with a document of its
/// own must name a controller whose `assertionMethod` lists it.
async fn fetch_key(data: &Data<FedContext>, method: &str) -> Result<RemoteMultikey, FederationError> {
    let mut url = Url::parse(method)?;
    url.set_fragment(None);
    let document = fetch_object_http::<FedContext, Value>(&url, data).await?.object;
    let (controller_doc, entry) = if document.get("id").and_then(Value::as_str) == Some(method) {
        let controller = document
            .get("controller")
            .and_then(Value::as_str)
            .ok_or_else(|| FederationError::bad_request(format!("the key {method} names no controller")))?;
        let controller_doc = fetch_object_http::<FedContext, Value>(&Url::parse(controller)?, data)
            .await?
            .object;
        (controller_doc, document)
    } else {
        let entry = document
            .get("assertionMethod")
            .and_then(|m| find_method(m, method))
            .cloned()
            .ok_or_else(|| {
                FederationError::bad_request(format!("{url} lists no key {method} under assertionMethod"))
            })?;
        (document, entry)
    };
    let controller = controller_doc
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| FederationError::bad_request(format!("the controller of {method} has no id")))?;
    let listed = controller_doc
        .get("assertionMethod")
        .is_some_and(|m| ids(Some(m)).contains(&method));
    if !listed || entry.get("controller").and_then(Value::as_str) != Some(controller) {
        return Err(FederationError::bad_request(format!(
            "{controller} does not claim the key {method} as an assertionMethod"
        )));
    }
    if entry.get("type").and_then(Value::as_str) != Some("Multikey") {
        return Err(FederationError::bad_request(format!(
            "the key {method} is not a Multikey"
        )));
    }
    let multibase = entry
        .get("publicKeyMultibase")
        .and_then(Value::as_str)
        .ok_or_else(|| FederationError::bad_request(format!("the key {method} has no publicKeyMultibase")))?;
    // Only Ed25519 keys sign eddsa-jcs-2022 proofs.
    multikey::ed25519_from_multikey(multibase).map_err(|e| FederationError::bad_request(format!("{method}: {e}")))?;
    Ok(RemoteMultikey {
        id: method.to_owned(),
        controller: controller.to_owned(),
        public_key_multibase: multibase.to_owned(),
        fetched_at: Utc::now(),
    })
}

/// The entry of `methods` (an `assertionMethod`: one or a list) whose id is `id`.
fn find_method<'a>(methods: &'a Value, id: &str) -> Option<&'a Value> {
    match methods {
        Value::Array(items) => items.iter().find_map(|m| find_method(m, id)),
        Value::Object(o) if o.get("id").and_then(Value::as_str) == Some(id) => Some(methods),
        _ => None,
    }
}

/// The key id of the proof of `object` (a member's article relayed by
/// another server, or read from its member) when its proofs verify with
/// keys of the actor it is attributed to, on `host`: then it can be taken
/// without asking its origin, and kept as received. A key we keep is used
/// without fetching, so a member that is down does not hold its articles
/// up; without a proof, or with a key we would have to fetch from a
/// server that does not answer, it is `None` (the caller asks the origin
/// as before). With several proofs, the first one's key.
pub async fn proven_by_member(data: &Data<FedContext>, object: &Value, host: &str) -> Option<String> {
    object.get("proof")?;
    let owners = ids(object.get("attributedTo"));
    match verify_document(data, object).await {
        Ok(controllers)
            if !controllers.is_empty()
                && controllers.iter().all(|c| {
                    owners.contains(&c.as_str()) && Url::parse(c).is_ok_and(|u| crate::remote::host_of(&u) == host)
                }) =>
        {
            proofs_of(object)
                .ok()?
                .into_iter()
                .map(|p| p.verification_method)
                .find(|m| m.starts_with("https://") || m.starts_with("http://"))
        }
        Ok(_) => None,
        Err(e) => {
            tracing::info!(error = %e, "a relayed member article's proof cannot be checked here");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_are_read_from_strings_objects_and_lists() {
        assert_eq!(ids(Some(&json!("https://a.example/u"))), ["https://a.example/u"]);
        assert_eq!(
            ids(Some(&json!([{"id": "https://a.example/u"}, "https://b.example/v", 3]))),
            ["https://a.example/u", "https://b.example/v"]
        );
        assert!(ids(None).is_empty());
    }

    #[test]
    fn a_key_is_found_by_id_in_an_assertion_method_list_or_alone() {
        let key = json!({"id": "https://a.example/u#k2", "type": "Multikey"});
        let list = json!([{"id": "https://a.example/u#k1"}, key]);
        assert_eq!(find_method(&list, "https://a.example/u#k2"), Some(&key));
        assert_eq!(find_method(&key, "https://a.example/u#k2"), Some(&key));
        assert_eq!(find_method(&list, "https://a.example/u#k3"), None);
        // A bare id is a reference, not the key itself.
        assert_eq!(
            find_method(&json!(["https://a.example/u#k2"]), "https://a.example/u#k2"),
            None
        );
    }
}
