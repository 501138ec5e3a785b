//! The inbox: activities other servers send us, after we have checked that
//! the request is at most 1 MiB, signed (draft-cavage or RFC 9421) and
//! recent, that its digest matches the body, that the activity id and actor
//! share a host, and that the signature verifies with the actor's key
//! (see [`crate::signatures`]). Every type is accepted: the ones we
//! understand are handed to their module in [`crate::activities`], the
//! rest are logged.

use activitypub_federation::config::Data;
use axum::body::Bytes;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;

use crate::activities::Head;
use crate::context::FedContext;
use crate::error::FederationError;

/// The largest activity we read (activitypub_federation's own limit); the
/// router sets it as the inbox routes' body limit, so a larger one is a 413.
pub const MAX_ACTIVITY_BYTES: usize = 1024 * 1024;

/// How far a signed `Date` (or a signature's `created` time) may be from our
/// clock, either way: an hour covers clock drift and queues, since senders
/// sign every attempt afresh (Mastodon allows 12 hours; activitypub_federation,
/// which verified before, allowed an hour in the past).
pub(crate) const MAX_CLOCK_SKEW: TimeDelta = TimeDelta::hours(1);

/// `POST /inbox` and `POST /users/{username}/inbox`: 202 once processed.
///
/// The body is read by axum under the route's limit (a larger one is a 413).
pub async fn post_inbox(data: Data<FedContext>, parts: Parts, body: Bytes) -> Result<StatusCode, Response> {
    #[derive(Deserialize)]
    struct Kind {
        #[serde(rename = "type")]
        kind: String,
    }
    let kind = serde_json::from_slice::<Kind>(&body)
        .map(|k| k.kind)
        .unwrap_or_default();
    let ctx = data.app_data().clone();
    let result = inbox_answer(data, parts, body).await;
    let status = match &result {
        Ok(s) => *s,
        Err(r) => r.status(),
    };
    ctx.inbox_counts().record(&kind, status);
    result
}

/// [`post_inbox`]'s answer, before it is counted.
async fn inbox_answer(data: Data<FedContext>, parts: Parts, body: Bytes) -> Result<StatusCode, Response> {
    check_signature_headers(&parts.headers, Utc::now()).map_err(IntoResponse::into_response)?;
    // Blocked senders (and, in allowlist mode, unlisted ones) are refused before anyone is fetched.
    let checked = crate::safety::refuse_blocked_sender(&data, &parts.headers, &body)
        .await
        .map_err(IntoResponse::into_response)?;
    crate::safety::receiving_from(checked, receive(data, parts, body)).await
}

/// The checks of one received activity (digest, signature, sender) and its
/// handling.
async fn receive(data: Data<FedContext>, parts: Parts, body: Bytes) -> Result<StatusCode, Response> {
    let error = match verify_and_handle(&data, &parts, &body).await {
        Ok(()) => return Ok(StatusCode::ACCEPTED),
        Err(e) => e,
    };
    let response = error.into_response();
    if response.status().is_server_error() {
        // The id was recorded as received before processing failed on our
        // side; forget it, or the sender's retry would be ignored as a duplicate.
        #[derive(Deserialize)]
        struct Id {
            id: String,
        }
        if let Ok(Id { id }) = serde_json::from_slice(&body)
            && let Err(e) = data.store().forget_activity_received(&id).await
        {
            tracing::warn!(id, error = %e, "cannot forget a failed activity; a retry will be ignored");
        }
    }
    Err(response)
}

/// Reads the signature and checks the digest (no key needed), parses the
/// activity, checks its id against its actor, verifies the signature with
/// the actor's key (fetched when unknown, fetched again once when it fails)
/// and hands the activity to its handler.
async fn verify_and_handle(data: &Data<FedContext>, parts: &Parts, body: &[u8]) -> Result<(), FederationError> {
    let uri = match parts.extensions.get::<axum::extract::OriginalUri>() {
        Some(original) => &original.0,
        None => &parts.uri,
    };
    let urls = data.urls();
    let request = crate::signatures::SignedRequest {
        method: &parts.method,
        uri,
        headers: &parts.headers,
        local_host: urls.host(),
        scheme: urls.base().split("://").next().unwrap_or("https"),
    };
    let signature = crate::signatures::verify::read(&request, Some(body), Utc::now())?;
    let head = Head::parse(body)?;
    check_activity_id(data, &head).await?;
    // The activity's actor signs it, whatever key id it names (as activitypub_federation did).
    crate::signatures::verify::verify_signer(data, &signature, head.actor.inner(), false, |e| e).await?;
    crate::proofs::verify::check_incoming(data, body, head.actor.inner()).await?;
    crate::follower_sync::on_delivery(data, &parts.headers, head.actor.inner());
    crate::activities::dispatch(data, &head, body).await
}

/// The activity's id must be on its actor's host, not on ours, and on a
/// host we federate with (the lists were read for the sender's host a
/// moment ago, so the usual case costs no query).
async fn check_activity_id(data: &Data<FedContext>, activity: &Head) -> Result<(), FederationError> {
    let (id, actor) = (&activity.id, activity.actor.inner());
    if id.host_str() != actor.host_str() {
        return Err(FederationError::bad_request(format!(
            "the activity {id} is not on its actor's host ({actor})"
        )));
    }
    if !matches!(id.scheme(), "https" | "http") {
        return Err(FederationError::bad_request(format!(
            "the activity id {id} is not an HTTP URL"
        )));
    }
    if crate::remote::host_of(id) == data.domain() {
        return Err(FederationError::bad_request(
            "the activity claims to come from this instance",
        ));
    }
    use activitypub_federation::config::UrlVerifier;
    crate::safety::SafetyVerifier::new(data).verify(id).await?;
    Ok(())
}

/// The draft-cavage checks that need no key, refused with 401 before
/// anything is fetched: a request must be signed (draft-cavage `Signature`,
/// or `Authorization: Signature …`), the signature must cover `date` (or
/// `(created)`, checked here too) so it cannot be replayed under a
/// new date, and that `Date` must be a valid HTTP date within
/// [`MAX_CLOCK_SKEW`] of `now`; so must the signature's `created` time,
/// in the past or the future, when it has one.
pub(crate) fn check_signature_headers(headers: &HeaderMap, now: DateTime<Utc>) -> Result<(), FederationError> {
    let refuse = |msg: String| FederationError::Refused(StatusCode::UNAUTHORIZED, msg);
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signature = header("signature")
        .or_else(|| header("authorization").and_then(|a| a.strip_prefix("Signature ")))
        .ok_or_else(|| refuse("the request is not signed (no Signature header)".into()))?;
    // Without a `headers` parameter, draft-cavage signs `date` alone.
    let signed = signature_param(signature, "headers")
        .unwrap_or("date")
        .to_ascii_lowercase();
    let signed: Vec<&str> = signed.split_whitespace().collect();
    // The library refuses a `created` more than an hour old but not one in
    // the future, which a stolen signature could use to outlive its hour.
    if let Some(created) = signature_param(signature, "created") {
        let created = created
            .parse::<i64>()
            .ok()
            .and_then(|t| DateTime::from_timestamp(t, 0))
            .ok_or_else(|| refuse(format!("the signature's created `{created}` is not a time")))?;
        if (now - created).abs() > MAX_CLOCK_SKEW {
            return Err(refuse(format!(
                "the signature's created time {} is more than {} minutes from our clock",
                created.to_rfc3339(),
                MAX_CLOCK_SKEW.num_minutes()
            )));
        }
    } else if signed.contains(&"(created)") {
        return Err(refuse(
            "(created) is signed but the signature has no created time".into(),
        ));
    }
    if !signed.contains(&"date") {
        return if signed.contains(&"(created)") {
            Ok(())
        } else {
            Err(refuse("the signature must cover the Date header".into()))
        };
    }
    let date = header("date").ok_or_else(|| refuse("the request has no Date header".into()))?;
    let date = DateTime::parse_from_rfc2822(date)
        .map_err(|_| refuse(format!("the Date header `{date}` is not an HTTP date")))?
        .with_timezone(&Utc);
    if (now - date).abs() > MAX_CLOCK_SKEW {
        return Err(refuse(format!(
            "the Date header `{}` is more than {} minutes from our clock",
            date.to_rfc2822(),
            MAX_CLOCK_SKEW.num_minutes()
        )));
    }
    Ok(())
}

/// The value of `name="…"` in a draft-cavage `Signature` header.
fn signature_param<'a>(signature: &'a str, name: &str) -> Option<&'a str> {
    signature.split(',').find_map(|part| {
        let (k, v) = part.split_once('=')?;
        (k.trim() == name).then(|| v.trim().trim_matches('"'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    const SIGNED: &str = r#"keyId="https://a.example/u#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="AAAA==""#;

    #[test]
    fn signature_headers_must_be_present_and_recent() {
        let now = DateTime::parse_from_rfc2822("Tue, 18 Nov 2025 09:00:00 GMT")
            .unwrap()
            .with_timezone(&Utc);
        let status = |h: &HeaderMap| match check_signature_headers(h, now) {
            Ok(()) => StatusCode::OK,
            Err(FederationError::Refused(s, _)) => s,
            Err(e) => panic!("{e}"),
        };
        let ok = |date: &str| status(&headers(&[("signature", SIGNED), ("date", date)]));
        assert_eq!(ok("Tue, 18 Nov 2025 09:00:00 GMT"), StatusCode::OK);
        assert_eq!(ok("Tue, 18 Nov 2025 08:01:00 GMT"), StatusCode::OK);
        assert_eq!(ok("Tue, 18 Nov 2025 09:59:00 GMT"), StatusCode::OK);
        assert_eq!(ok("Tue, 18 Nov 2025 07:00:00 GMT"), StatusCode::UNAUTHORIZED);
        assert_eq!(ok("Tue, 18 Nov 2025 11:00:00 GMT"), StatusCode::UNAUTHORIZED);
        assert_eq!(ok("yesterday"), StatusCode::UNAUTHORIZED);
        let date = ("date", "Tue, 18 Nov 2025 09:00:00 GMT");
        assert_eq!(status(&headers(&[date])), StatusCode::UNAUTHORIZED);
        assert_eq!(status(&headers(&[("signature", SIGNED)])), StatusCode::UNAUTHORIZED);
        let undated = SIGNED.replace(" date", "");
        assert_eq!(
            status(&headers(&[("signature", &undated), date])),
            StatusCode::UNAUTHORIZED
        );
        let created = |at: i64| {
            SIGNED.replace(" date", " (created)").replace(
                ",signature=",
                &format!(",created=\"{}\",signature=", now.timestamp() + at),
            )
        };
        assert_eq!(status(&headers(&[("signature", &created(0))])), StatusCode::OK);
        assert_eq!(status(&headers(&[("signature", &created(-600))])), StatusCode::OK);
        assert_eq!(
            status(&headers(&[("signature", &created(10 * 86_400))])),
            StatusCode::UNAUTHORIZED,
            "ten days in the future"
        );
        assert_eq!(
            status(&headers(&[("signature", &created(-10 * 86_400))])),
            StatusCode::UNAUTHORIZED,
            "ten days in the past"
        );
        // Signed as well as a good date: the created time is still checked.
        let both = created(10 * 86_400).replace("(created)", "(created) date");
        assert_eq!(
            status(&headers(&[("signature", &both), date])),
            StatusCode::UNAUTHORIZED
        );
        let missing = SIGNED.replace(" date", " (created)");
        assert_eq!(status(&headers(&[("signature", &missing)])), StatusCode::UNAUTHORIZED);
        let garbled = created(0).replace(&format!("created=\"{}\"", now.timestamp()), "created=\"soon\"");
        assert_eq!(status(&headers(&[("signature", &garbled)])), StatusCode::UNAUTHORIZED);
        let authorization = format!("Signature {SIGNED}");
        assert_eq!(
            status(&headers(&[("authorization", &authorization), date])),
            StatusCode::OK
        );
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn param() -> impl Strategy<Value = String> {
            prop_oneof![
                Just(r#"keyId="https://a.example/u#main-key""#.to_owned()),
                Just(r#"algorithm="rsa-sha256""#.to_owned()),
                Just(r#"signature="AAAA==""#.to_owned()),
                prop::sample::select(vec![
                    "date",
                    "(created)",
                    "(request-target) host date digest",
                    "(created) date",
                    "host",
                    ""
                ])
                .prop_map(|h| format!(r#"headers="{h}""#)),
                (-30 * 86_400i64..30 * 86_400).prop_map(|offset| format!(r#"created="{}""#, 1_763_456_400 + offset)),
                "[ -~]{0,12}".prop_map(|junk| format!("created={junk}")),
                "[ -~]{0,20}",
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

            /// Whatever the Signature header and Date say, the check never
            /// panics, and what it lets through is signed within the hour
            /// of our clock: by a covered Date, or by a created time.
            #[test]
            fn accepted_signatures_are_recent(
                params in prop::collection::vec(param(), 0..7),
                date_offset in prop::option::of(-3 * 86_400i64..3 * 86_400),
                as_authorization in any::<bool>(),
            ) {
                let now = DateTime::from_timestamp(1_763_456_400, 0).unwrap();
                let signature = params.join(",");
                let mut h = HeaderMap::new();
                let Ok(value) = (if as_authorization { format!("Signature {signature}") } else { signature.clone() }).parse() else {
                    return Ok(());
                };
                h.insert(if as_authorization { "authorization" } else { "signature" }, value);
                if let Some(offset) = date_offset {
                    let date = (now + TimeDelta::seconds(offset)).to_rfc2822().replace("+0000", "GMT");
                    h.insert("date", date.parse().unwrap());
                }
                if check_signature_headers(&h, now).is_ok() {
                    let created = signature_param(&signature, "created").map(|c| c.parse::<i64>().unwrap());
                    let signed = signature_param(&signature, "headers").unwrap_or("date").to_ascii_lowercase();
                    let recent = |t: i64| (t - now.timestamp()).abs() <= MAX_CLOCK_SKEW.num_seconds();
                    if let Some(c) = created {
                        prop_assert!(recent(c), "created {c} accepted: {signature}");
                    }
                    if signed.split_whitespace().any(|x| x == "date") {
                        prop_assert!(date_offset.is_some_and(|o| o.abs() <= MAX_CLOCK_SKEW.num_seconds()), "{signature} {date_offset:?}");
                    } else {
                        prop_assert!(created.is_some(), "neither a Date nor a created time: {signature}");
                    }
                }
            }
        }
    }
}
