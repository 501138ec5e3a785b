//! Object integrity proofs (FEP-8b32): a `DataIntegrityProof` with the
//! `eddsa-jcs-2022` cryptosuite of W3C Data Integrity EdDSA, made with an
//! actor's Ed25519 key (published as a FEP-521a `Multikey`, see
//! [`multikey`]) and checked on what others send.
//!
//! Signing: the proof options (`type`, `cryptosuite`, `verificationMethod`,
//! `proofPurpose: assertionMethod`, `created`, and the document's
//! `@context`) and the document without `proof` are each canonicalised
//! with JCS ([`jcs`]) and hashed with SHA-256; the Ed25519 signature of
//! the two hashes, options first, is the `proofValue` (base58btc). The
//! proof attached carries the options but `@context`, and the value.
//!
//! This module is pure (no I/O); fetching the signer's key and the
//! decisions about whom a proof must come from are in [`verify`] and
//! [`keys`], and the one place outgoing activities are signed is
//! [`sign_activity`].

pub mod jcs;
pub mod keys;
pub mod multikey;
pub mod refresh;
pub mod verify;

use chrono::{DateTime, SecondsFormat, Utc};
use ring::signature::{ED25519, Ed25519KeyPair, UnparsedPublicKey};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

pub use keys::{ProofKey, proof_key};

/// The one cryptosuite Gazette makes and checks.
pub const CRYPTOSUITE: &str = "eddsa-jcs-2022";

/// Why a proof could not be made or does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("only JSON objects carry proofs")]
    NotAnObject,
    #[error("malformed proof: {0}")]
    Malformed(String),
    #[error(transparent)]
    Canonical(#[from] jcs::JcsError),
    #[error(transparent)]
    Multibase(#[from] multikey::MultibaseError),
    #[error("the proof by {0} does not verify: the signed document or its proof was changed, or another key signed it")]
    BadSignature(String),
}

/// One `eddsa-jcs-2022` proof read from a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The key's id (`{actor}#…`), whose controller signed.
    pub verification_method: String,
    /// `created` as written: it is part of what was signed.
    pub created: String,
    pub proof_value: Vec<u8>,
}

/// The two SHA-256 hashes that are signed: the proof options' and the
/// document's without its `proof`.
fn hash_data(document: &Map<String, Value>, verification_method: &str, created: &str) -> Result<Vec<u8>, ProofError> {
    let mut options = Map::new();
    if let Some(context) = document.get("@context") {
        options.insert("@context".into(), context.clone());
    }
    options.insert("type".into(), json!("DataIntegrityProof"));
    options.insert("cryptosuite".into(), json!(CRYPTOSUITE));
    options.insert("verificationMethod".into(), json!(verification_method));
    options.insert("proofPurpose".into(), json!("assertionMethod"));
    options.insert("created".into(), json!(created));
    let mut unsecured = document.clone();
    unsecured.remove("proof");
    let mut data = Sha256::digest(jcs::canonicalize(&Value::Object(options))?.as_bytes()).to_vec();
    data.extend_from_slice(&Sha256::digest(
        jcs::canonicalize(&Value::Object(unsecured))?.as_bytes(),
    ));
    Ok(data)
}

/// `document` with a proof by `key` (made at `created`) in place of any
/// proof it had.
pub fn sign(
    document: &Value,
    key: &Ed25519KeyPair,
    verification_method: &str,
    created: DateTime<Utc>,
) -> Result<Value, ProofError> {
    let Value::Object(map) = document else {
        return Err(ProofError::NotAnObject);
    };
    let created = created.to_rfc3339_opts(SecondsFormat::Secs, true);
    let signature = key.sign(&hash_data(map, verification_method, &created)?);
    let mut signed = map.clone();
    signed.insert(
        "proof".into(),
        json!({
            "type": "DataIntegrityProof",
            "cryptosuite": CRYPTOSUITE,
            "verificationMethod": verification_method,
            "proofPurpose": "assertionMethod",
            "proofValue": multikey::multibase_encode(signature.as_ref()),
            "created": created,
        }),
    );
    Ok(Value::Object(signed))
}

/// The `eddsa-jcs-2022` proofs of `document` (none when it has no
/// `proof`). Proofs of other cryptosuites are skipped: we cannot check
/// them, and they are not ours to refuse. A proof of ours that lacks a
/// field, or is not for `assertionMethod`, is malformed.
pub fn proofs_of(document: &Value) -> Result<Vec<Proof>, ProofError> {
    let proofs = match document.get("proof") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list.iter().collect::<Vec<_>>(),
        Some(one) => vec![one],
    };
    let mut out = Vec::new();
    for p in proofs {
        let field = |name: &str| p.get(name).and_then(Value::as_str);
        if field("type") != Some("DataIntegrityProof") || field("cryptosuite") != Some(CRYPTOSUITE) {
            continue;
        }
        if field("proofPurpose") != Some("assertionMethod") {
            return Err(ProofError::Malformed(format!(
                "proofPurpose is {:?}, not \"assertionMethod\"",
                field("proofPurpose")
            )));
        }
        let missing = |name: &str| ProofError::Malformed(format!("the proof has no {name}"));
        let verification_method = field("verificationMethod").ok_or_else(|| missing("verificationMethod"))?;
        let created = field("created").ok_or_else(|| missing("created"))?;
        let value = field("proofValue").ok_or_else(|| missing("proofValue"))?;
        out.push(Proof {
            verification_method: verification_method.to_owned(),
            created: created.to_owned(),
            proof_value: multikey::multibase_decode(value)?,
        });
    }
    Ok(out)
}

/// Checks `proof` of `document` with the signer's Ed25519 `public_key`.
/// A Linked Data Signature (`signature` with a `signatureValue`, which
/// Fedify adds for Mastodon after the proof, over the signed document) is
/// not part of what the proof covers.
pub fn verify_with(document: &Value, proof: &Proof, public_key: &[u8; 32]) -> Result<(), ProofError> {
    let Value::Object(map) = document else {
        return Err(ProofError::NotAnObject);
    };
    let data = if map.get("signature").is_some_and(|s| s.get("signatureValue").is_some()) {
        let mut without = map.clone();
        without.remove("signature");
        hash_data(&without, &proof.verification_method, &proof.created)?
    } else {
        hash_data(map, &proof.verification_method, &proof.created)?
    };
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(&data, &proof.proof_value)
        .map_err(|_| ProofError::BadSignature(proof.verification_method.clone()))
}

/// `document` signed by `key` now, its `@context` first given the Data
/// Integrity context (so JSON-LD readers see the `proof`): the one
/// function outgoing activities and served articles are signed with (an
/// embedded object keeps the proof it already has).
pub fn sign_activity(document: &Value, key: &ProofKey) -> Result<Value, ProofError> {
    sign_activity_at(document, key, Utc::now())
}

/// [`sign_activity`] with the proof's `created` given: a document signed
/// again with the same content and time gets the same proof (Ed25519 is
/// deterministic), so an article rendered twice is the same bytes.
pub fn sign_activity_at(document: &Value, key: &ProofKey, created: DateTime<Utc>) -> Result<Value, ProofError> {
    let mut document = document.clone();
    with_data_integrity_context(&mut document);
    sign(&document, key.pair(), key.verification_method(), created)
}

/// Adds the Data Integrity context to `document`'s `@context` unless it is
/// there: before the first embedded definition, after the URLs.
fn with_data_integrity_context(document: &mut Value) {
    let Some(map) = document.as_object_mut() else {
        return;
    };
    let di = json!(crate::json::DATA_INTEGRITY);
    match map.get_mut("@context") {
        Some(Value::Array(list)) => {
            if !list.contains(&di) {
                let at = list.iter().position(|c| !c.is_string()).unwrap_or(list.len());
                list.insert(at, di);
            }
        }
        Some(one) if *one != di => *one = json!([one.clone(), di]),
        Some(_) => {}
        None => {
            map.insert("@context".into(), json!([crate::json::AS2, di]));
        }
    }
}

/// `document` signed by the local actor `actor_id` (as [`sign_activity`]);
/// as it is when `actor_id` is not one of ours.
pub async fn signed_by(
    ctx: &crate::context::FedContext,
    actor_id: &str,
    document: Value,
) -> Result<Value, crate::error::FederationError> {
    signed_by_at(ctx, actor_id, document, Utc::now()).await
}

/// [`signed_by`] with the proof's `created` given (see [`sign_activity_at`]).
pub async fn signed_by_at(
    ctx: &crate::context::FedContext,
    actor_id: &str,
    document: Value,
    created: DateTime<Utc>,
) -> Result<Value, crate::error::FederationError> {
    let Some(key) = proof_key(ctx, actor_id).await? else {
        return Ok(document);
    };
    sign_activity_at(&document, &key, created)
        .map_err(|e| crate::error::FederationError::Internal(format!("cannot sign as {actor_id}: {e}")))
}

/// `document` signed now by the Ed25519 key of the local actor `actor_id`
/// whose id fragment is `fragment` (a replaced key in its grace period,
/// else the current one: see [`keys::proof_key_with`]); as it is when
/// `actor_id` is not one of ours.
pub async fn signed_by_key(
    ctx: &crate::context::FedContext,
    actor_id: &str,
    fragment: &str,
    document: Value,
) -> Result<Value, crate::error::FederationError> {
    let Some(key) = keys::proof_key_with(ctx, actor_id, fragment).await? else {
        return Ok(document);
    };
    sign_activity(&document, &key)
        .map_err(|e| crate::error::FederationError::Internal(format!("cannot sign as {actor_id}: {e}")))
}

/// An object made ready to embed in an activity or collection: its
/// `@context` goes, unless it carries a proof, which covers the context.
pub fn embeddable(mut object: Value) -> Value {
    if object.get("proof").is_none()
        && let Some(o) = object.as_object_mut()
    {
        o.remove("@context");
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// RFC 8032 §7.1 test 1's private key.
    fn test_key() -> Ed25519KeyPair {
        let seed: Vec<u8> = (0..32)
            .map(|i| {
                u8::from_str_radix(
                    &"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"[i * 2..i * 2 + 2],
                    16,
                )
                .unwrap()
            })
            .collect();
        Ed25519KeyPair::from_seed_unchecked(&seed).unwrap()
    }

    const METHOD: &str = "https://news.example/users/camille#ed25519-key";

    fn document() -> Value {
        serde_json::from_str(
            r#"{"@context":["https://www.w3.org/ns/activitystreams","https://w3id.org/security/data-integrity/v1"],"id":"https://news.example/objects/1#create-1","type":"Create","actor":"https://news.example/users/camille","object":{"id":"https://news.example/objects/1","type":"Article","nameMap":{"en":"Énergie €","fr":"Titre"},"published":"2026-11-18T09:00:00Z","likes":{"totalItems":12}},"to":["https://www.w3.org/ns/activitystreams#Public"]}"#,
        )
        .unwrap()
    }

    fn created() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 2, 0, 0).unwrap()
    }

    /// A vector made independently with Node's Ed25519 and the `json-canon`
    /// package (the JCS implementation Fedify uses), following the same
    /// steps: Ed25519 is deterministic, so the proof value must match.
    #[test]
    fn matches_a_proof_made_by_node_and_json_canon() {
        let key = test_key();
        assert_eq!(
            multikey::ed25519_multikey(ring::signature::KeyPair::public_key(&key).as_ref()),
            "z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw"
        );
        let signed = sign(&document(), &key, METHOD, created()).unwrap();
        assert_eq!(
            signed["proof"]["proofValue"],
            "zfG5rdFWjh59iwCr5rkAJYqZVypm9ZLaHjPC6roBxJpGzhaJ7QRRMTW5ffHXrRb4RM9m9BSjinSNmvwJ6VXhrUfr"
        );
        assert_eq!(signed["proof"]["created"], "2026-12-07T02:00:00Z");
        assert_eq!(signed["proof"]["verificationMethod"], METHOD);
        assert!(signed["proof"].get("@context").is_none());
    }

    fn public_key() -> [u8; 32] {
        ring::signature::KeyPair::public_key(&test_key())
            .as_ref()
            .try_into()
            .unwrap()
    }

    #[test]
    fn a_signed_document_verifies_and_a_changed_one_does_not() {
        let signed = sign(&document(), &test_key(), METHOD, created()).unwrap();
        let proofs = proofs_of(&signed).unwrap();
        assert_eq!(proofs.len(), 1);
        verify_with(&signed, &proofs[0], &public_key()).unwrap();

        let mut tampered = signed.clone();
        tampered["object"]["nameMap"]["en"] = json!("Énergie!");
        assert!(matches!(
            verify_with(&tampered, &proofs[0], &public_key()),
            Err(ProofError::BadSignature(_))
        ));
        // The @context is signed through the proof options.
        let mut context = signed.clone();
        context["@context"] = json!("https://www.w3.org/ns/activitystreams");
        assert!(verify_with(&context, &proofs[0], &public_key()).is_err());
        // So is `created`.
        let mut later = signed.clone();
        later["proof"]["created"] = json!("2026-12-07T02:00:01Z");
        let later_proof = &proofs_of(&later).unwrap()[0];
        assert!(verify_with(&later, later_proof, &public_key()).is_err());
        // A Linked Data Signature added afterwards is not covered; another field is.
        let mut ld = signed.clone();
        ld["signature"] = json!({"type": "RsaSignature2017", "signatureValue": "AAAA"});
        verify_with(&ld, &proofs[0], &public_key()).unwrap();
        let mut other_field = signed.clone();
        other_field["signature"] = json!("not an LD signature");
        assert!(verify_with(&other_field, &proofs[0], &public_key()).is_err());
        // Another key.
        let other = Ed25519KeyPair::from_seed_unchecked(&[7; 32]).unwrap();
        let other: [u8; 32] = ring::signature::KeyPair::public_key(&other)
            .as_ref()
            .try_into()
            .unwrap();
        assert!(verify_with(&signed, &proofs[0], &other).is_err());
    }

    #[test]
    fn key_order_and_whitespace_do_not_matter() {
        let signed = sign(&document(), &test_key(), METHOD, created()).unwrap();
        let pretty = serde_json::to_string_pretty(&signed).unwrap();
        let mut reordered: Value = serde_json::from_str(&pretty).unwrap();
        let object = reordered["object"].take();
        reordered.as_object_mut().unwrap().remove("object");
        reordered["object"] = object;
        verify_with(&reordered, &proofs_of(&reordered).unwrap()[0], &public_key()).unwrap();
    }

    #[test]
    fn the_data_integrity_context_is_added_once() {
        let mut plain = json!({"@context": crate::json::AS2, "type": "Like"});
        with_data_integrity_context(&mut plain);
        assert_eq!(
            plain["@context"],
            json!([crate::json::AS2, crate::json::DATA_INTEGRITY])
        );
        let mut ours = json!({"@context": crate::json::context()});
        with_data_integrity_context(&mut ours);
        assert_eq!(ours["@context"], crate::json::context(), "already there");
        let mut inline = json!({"@context": [crate::json::AS2, {"x": "as:x"}]});
        with_data_integrity_context(&mut inline);
        assert_eq!(
            inline["@context"],
            json!([crate::json::AS2, crate::json::DATA_INTEGRITY, {"x": "as:x"}])
        );
        let mut none = json!({"type": "Note"});
        with_data_integrity_context(&mut none);
        assert_eq!(none["@context"], json!([crate::json::AS2, crate::json::DATA_INTEGRITY]));
    }

    #[test]
    fn reads_proof_lists_and_skips_other_suites() {
        let signed = sign(&document(), &test_key(), METHOD, created()).unwrap();
        let mut listed = signed.clone();
        listed["proof"] = json!([{"type": "DataIntegrityProof", "cryptosuite": "ecdsa-jcs-2019", "proofValue": "z1"}, signed["proof"]]);
        let proofs = proofs_of(&listed).unwrap();
        assert_eq!(proofs.len(), 1);
        verify_with(&listed, &proofs[0], &public_key()).unwrap();
        assert!(proofs_of(&document()).unwrap().is_empty());

        let mut purpose = signed.clone();
        purpose["proof"]["proofPurpose"] = json!("authentication");
        assert!(matches!(proofs_of(&purpose), Err(ProofError::Malformed(_))));
        let mut no_value = signed;
        no_value["proof"].as_object_mut().unwrap().remove("proofValue");
        assert!(matches!(proofs_of(&no_value), Err(ProofError::Malformed(_))));
    }
}
