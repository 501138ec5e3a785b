//! Tests of the signature parsers and verifier against RFC 9421's appendix
//! B test vectors (the B.1 keys, the B.2 signatures ring can verify) and
//! against fresh signatures made here: draft-cavage, RFC 9421 with each
//! algorithm, tampered bodies and headers, stale and future times.

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use ring::signature::{Ed25519KeyPair, RSA_PKCS1_SHA256, RSA_PSS_SHA512, RsaKeyPair};

use super::keys::tests::{ED25519_PUBLIC, P256_PUBLIC, RSA_PSS_PUBLIC};
use super::keys::{Algorithm, PublicKey};
use super::rfc9421::{self, check_content_digest};
use super::verify::{self, Profile};
use super::{SignedRequest, key_id};

/// RFC 9421 B.1.4 `test-key-ed25519`, private (PKCS#8), base64 of the DER.
const ED25519_PRIVATE: &str = "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF";

const B2_BODY: &[u8] = br#"{"hello": "world"}"#;

fn decode(b64: &str) -> Vec<u8> {
    BASE64.decode(b64.split_whitespace().collect::<String>()).unwrap()
}

/// A fresh 2048-bit RSA key (ring cannot make one; the rsa crate can), and
/// its public PEM. (RFC 9421's B.1.1 private key does not load: ring finds
/// its CRT components inconsistent.)
fn rsa_key() -> (RsaKeyPair, String) {
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let der = private.to_pkcs8_der().unwrap();
    let public = private.to_public_key().to_public_key_pem(LineEnding::LF).unwrap();
    (RsaKeyPair::from_pkcs8(der.as_bytes()).unwrap(), public)
}

fn ed25519_pair() -> Ed25519KeyPair {
    Ed25519KeyPair::from_pkcs8_maybe_unchecked(&decode(ED25519_PRIVATE)).unwrap()
}

/// The RFC's test request (B.2), with `extra` headers.
fn b2_headers(extra: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in [
        ("host", "example.com"),
        ("date", "Tue, 20 Apr 2021 02:07:55 GMT"),
        ("content-type", "application/json"),
        (
            "content-digest",
            "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
        ),
        ("content-length", "18"),
    ]
    .into_iter()
    .chain(extra.iter().copied())
    {
        h.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

fn at(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap()
}

struct Req {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
}

impl Req {
    fn post(uri: &str, headers: HeaderMap) -> Req {
        Req {
            method: Method::POST,
            uri: uri.parse().unwrap(),
            headers,
        }
    }

    fn signed(&self) -> SignedRequest<'_> {
        SignedRequest {
            method: &self.method,
            uri: &self.uri,
            headers: &self.headers,
            local_host: "example.com",
            scheme: "https",
        }
    }
}

/// Checks an RFC vector: the signature base is as the RFC prints it, and
/// the published signature verifies with the RFC's key.
fn check_vector(input: &str, signature: &str, expected_base: &str, key: &str, alg: Algorithm) {
    let req = Req::post(
        "/foo?param=Value&Pet=dog",
        b2_headers(&[("signature-input", input), ("signature", signature)]),
    );
    let sigs = rfc9421::parse(&req.headers).unwrap();
    assert_eq!(sigs.len(), 1);
    let base = sigs[0].base(&req.signed()).unwrap();
    assert_eq!(base, expected_base);
    let key = PublicKey::from_pem(key).unwrap();
    assert!(key.verify(alg, base.as_bytes(), &sigs[0].signature), "{input}");
    // One changed byte of the base, and it no longer verifies.
    let tampered = base
        .replacen("example.com", "example.org", 1)
        .replacen("1618884473", "1618884474", 1);
    assert!(!key.verify(alg, tampered.as_bytes(), &sigs[0].signature));
}

#[test]
fn rfc9421_b21_minimal_rsa_pss() {
    check_vector(
        r#"sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd""#,
        "sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++wgGxbtRxf8Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:",
        r#""@signature-params": ();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd""#,
        RSA_PSS_PUBLIC,
        Algorithm::RsaPssSha512,
    );
}

#[test]
fn rfc9421_b22_selective_rsa_pss() {
    check_vector(
        r#"sig-b22=("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example""#,
        "sig-b22=:LjbtqUbfmvjj5C5kr1Ugj4PmLYvx9wVjZvD9GsTT4F7GrcQEdJzgI9qHxICagShLRiLMlAJjtq6N4CDfKtjvuJyE5qH7KT8UCMkSowOB4+ECxCmT8rtAmj/0PIXxi0A0nxKyB09RNrCQibbUjsLS/2YyFYXEu4TRJQzRw1rLEuEfY17SARYhpTlaqwZVtR8NV7+4UKkjqpcAoFqWFQh62s7Cl+H2fjBSpqfZUJcsIk4N6wiKYd4je2U/lankenQ99PZfB4jY3I5rSV2DSBVkSFsURIjYErOs0tFTQosMTAoxk//0RoKUqiYY8Bh0aaUEb0rQl3/XaVe4bXTugEjHSw==:",
        "\"@authority\": example.com\n\
         \"content-digest\": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:\n\
         \"@query-param\";name=\"Pet\": dog\n\
         \"@signature-params\": (\"@authority\" \"content-digest\" \"@query-param\";name=\"Pet\");created=1618884473;keyid=\"test-key-rsa-pss\";tag=\"header-example\"",
        RSA_PSS_PUBLIC,
        Algorithm::RsaPssSha512,
    );
}

#[test]
fn rfc9421_b23_full_coverage_rsa_pss() {
    check_vector(
        r#"sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss""#,
        "sig-b23=:bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt683+qRpRRU5p2voTp768ZrCUb38K0fUxN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1pFkh/aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9bpG6A9BmzhuzF8Eim5f8ui9eH8LZH896+QIF61ka39VBrohr9iyMUJpvRX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==:",
        "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\"@method\": POST\n\"@path\": /foo\n\"@query\": ?param=Value&Pet=dog\n\
         \"@authority\": example.com\n\"content-type\": application/json\n\
         \"content-digest\": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:\n\
         \"content-length\": 18\n\
         \"@signature-params\": (\"date\" \"@method\" \"@path\" \"@query\" \"@authority\" \"content-type\" \"content-digest\" \"content-length\");created=1618884473;keyid=\"test-key-rsa-pss\"",
        RSA_PSS_PUBLIC,
        Algorithm::RsaPssSha512,
    );
}

#[test]
fn rfc9421_b24_ecdsa_p256_over_the_rfc_base() {
    // B.2.4 signs a response (`@status`), which an inbox never sees: the
    // RFC's base is checked with ring directly.
    let base = "\"@status\": 200\n\"content-type\": application/json\n\
                \"content-digest\": sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:\n\
                \"content-length\": 23\n\
                \"@signature-params\": (\"@status\" \"content-type\" \"content-digest\" \"content-length\");created=1618884473;keyid=\"test-key-ecc-p256\"";
    let sig = decode("wNmSUAhwb5LxtOtOpNa6W5xj067m5hFrj0XQ4fvpaCLx0NKocgPquLgyahnzDnDAUy5eCdlYUEkLIj+32oiasw==");
    let key = PublicKey::from_pem(P256_PUBLIC).unwrap();
    assert!(key.verify(Algorithm::EcdsaP256Sha256, base.as_bytes(), &sig));
    assert!(!key.verify(Algorithm::EcdsaP256Sha256, base.replace("200", "201").as_bytes(), &sig));
}

#[test]
fn rfc9421_b26_ed25519() {
    check_vector(
        r#"sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#,
        "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:",
        "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\"@method\": POST\n\"@path\": /foo\n\"@authority\": example.com\n\
         \"content-type\": application/json\n\"content-length\": 18\n\
         \"@signature-params\": (\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" \"content-length\");created=1618884473;keyid=\"test-key-ed25519\"",
        ED25519_PUBLIC,
        Algorithm::Ed25519,
    );
    // Ed25519 is deterministic: signing the same base with B.1.4's private key gives the RFC's bytes.
    let req = Req::post("/foo?param=Value&Pet=dog", b2_headers(&[]));
    let sig = rfc9421::parse(&b2_headers(&[
        ("signature-input", r#"s=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#),
        ("signature", "s=:AA==:"),
    ]))
    .unwrap()
    .remove(0);
    let ours = ed25519_pair().sign(sig.base(&req.signed()).unwrap().as_bytes());
    assert_eq!(
        BASE64.encode(ours.as_ref()),
        "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw=="
    );
}

#[test]
fn rfc9421_content_digest_vector() {
    let h = b2_headers(&[]);
    check_content_digest(&h, B2_BODY).unwrap();
    assert!(check_content_digest(&h, br#"{"hello": "World"}"#).is_err());
    let mut ours = HeaderMap::new();
    ours.insert("content-digest", rfc9421::content_digest(B2_BODY).parse().unwrap());
    check_content_digest(&ours, B2_BODY).unwrap();
    ours.insert("content-digest", "md5=:AAAA:".parse().unwrap());
    assert!(check_content_digest(&ours, B2_BODY).is_err(), "no digest we can check");
    assert!(check_content_digest(&HeaderMap::new(), B2_BODY).is_err());
}

/// Signs the RFC's request anew at `created` with RFC 9421 over
/// `components`, with `alg` (and names it in `alg` when `name_alg`).
fn sign_rfc9421(rsa: &RsaKeyPair, components: &str, created: i64, alg: Algorithm, name_alg: bool, extra: &str) -> Req {
    let alg_param = if name_alg {
        format!(";alg=\"{}\"", alg.rfc9421_name())
    } else {
        String::new()
    };
    let input = format!(
        r#"sig1=({components});created={created};keyid="https://remote.example/users/a#main-key"{alg_param}{extra}"#
    );
    let mut req = Req::post(
        "/users/b/inbox",
        b2_headers(&[("signature-input", &input), ("signature", "sig1=:AA==:")]),
    );
    let sig = rfc9421::parse(&req.headers).unwrap().remove(0);
    let base = sig.base(&req.signed()).unwrap();
    let bytes = match alg {
        Algorithm::Ed25519 => ed25519_pair().sign(base.as_bytes()).as_ref().to_vec(),
        Algorithm::RsaV15Sha256 | Algorithm::RsaPssSha512 => {
            let pair = rsa;
            let padding: &dyn ring::signature::RsaEncoding = if alg == Algorithm::RsaV15Sha256 {
                &RSA_PKCS1_SHA256
            } else {
                &RSA_PSS_SHA512
            };
            let mut out = vec![0; pair.public().modulus_len()];
            pair.sign(padding, &ring::rand::SystemRandom::new(), base.as_bytes(), &mut out)
                .unwrap();
            out
        }
        Algorithm::EcdsaP256Sha256 => unreachable!("no P-256 private key in the RFC"),
    };
    req.headers
        .insert("signature", format!("sig1=:{}:", BASE64.encode(bytes)).parse().unwrap());
    req
}

const INBOX_COMPONENTS: &str = r#""@method" "@target-uri" "content-digest" "date""#;

#[test]
fn rfc9421_requests_verify_with_each_algorithm() {
    let (rsa, rsa_public) = rsa_key();
    let now = 1_800_000_000;
    for (alg, public, name_alg) in [
        (Algorithm::Ed25519, ED25519_PUBLIC, true),
        (Algorithm::Ed25519, ED25519_PUBLIC, false),
        (Algorithm::RsaV15Sha256, rsa_public.as_str(), true),
        (Algorithm::RsaV15Sha256, rsa_public.as_str(), false),
        (Algorithm::RsaPssSha512, rsa_public.as_str(), true),
        (Algorithm::RsaPssSha512, rsa_public.as_str(), false),
    ] {
        let req = sign_rfc9421(&rsa, INBOX_COMPONENTS, now - 5, alg, name_alg, "");
        let sig = verify::read(&req.signed(), Some(B2_BODY), at(now)).unwrap();
        assert_eq!(sig.profile, Profile::Rfc9421);
        assert_eq!(sig.key_id, "https://remote.example/users/a#main-key");
        assert!(sig.verifies_with(public), "{alg:?} alg named: {name_alg}");
        assert!(!sig.verifies_with(P256_PUBLIC), "{alg:?} with another key");
        assert_eq!(
            key_id(&req.headers).as_deref(),
            Some("https://remote.example/users/a#main-key")
        );
    }
    // A named algorithm that does not fit the key does not verify.
    let req = sign_rfc9421(&rsa, INBOX_COMPONENTS, now, Algorithm::RsaV15Sha256, true, "");
    let mut sig = verify::read(&req.signed(), Some(B2_BODY), at(now)).unwrap();
    sig.algorithm = Some(Algorithm::RsaPssSha512);
    assert!(!sig.verifies_with(&rsa_public));
}

#[test]
fn rfc9421_tampering_and_times_are_refused() {
    let (rsa, _) = rsa_key();
    let now = 1_800_000_000;
    let status = |req: &Req, body: &[u8], at_: i64| match verify::read(&req.signed(), Some(body), at(at_)) {
        Ok(sig) if sig.verifies_with(ED25519_PUBLIC) => 202,
        Ok(_) => 401,
        Err(e) => match e {
            crate::FederationError::Refused(s, _) => s.as_u16(),
            other => panic!("{other}"),
        },
    };
    let good = sign_rfc9421(&rsa, INBOX_COMPONENTS, now, Algorithm::Ed25519, true, "");
    assert_eq!(status(&good, B2_BODY, now), 202);
    // The body changed: its Content-Digest no longer matches.
    assert_eq!(status(&good, b"{}", now), 400);
    // The body and its Content-Digest changed: the signature no longer matches.
    let mut redigested = sign_rfc9421(&rsa, INBOX_COMPONENTS, now, Algorithm::Ed25519, true, "");
    redigested
        .headers
        .insert("content-digest", rfc9421::content_digest(b"{}").parse().unwrap());
    assert_eq!(status(&redigested, b"{}", now), 401);
    // A signed header changed.
    let mut redated = sign_rfc9421(&rsa, INBOX_COMPONENTS, now, Algorithm::Ed25519, true, "");
    redated
        .headers
        .insert("date", "Wed, 21 Apr 2021 02:07:55 GMT".parse().unwrap());
    assert_eq!(status(&redated, B2_BODY, now), 401);
    // Sent to another inbox than signed for.
    let mut moved = sign_rfc9421(&rsa, INBOX_COMPONENTS, now, Algorithm::Ed25519, true, "");
    moved.uri = "/inbox".parse().unwrap();
    assert_eq!(status(&moved, B2_BODY, now), 401);
    // Created two hours ago, or two hours ahead; expired; no created at all.
    assert_eq!(status(&good, B2_BODY, now + 7200), 401);
    assert_eq!(status(&good, B2_BODY, now - 7200), 401);
    let expired = sign_rfc9421(
        &rsa,
        INBOX_COMPONENTS,
        now - 600,
        Algorithm::Ed25519,
        true,
        &format!(";expires={}", now - 4000),
    );
    assert_eq!(status(&expired, B2_BODY, now), 401);
    let mut no_created = good.headers.clone();
    no_created.insert(
        "signature-input",
        r#"sig1=("@method" "@target-uri" "content-digest");keyid="k""#.parse().unwrap(),
    );
    assert_eq!(status(&Req::post("/users/b/inbox", no_created), B2_BODY, now), 401);
    // Coverage: without the method, the target, or the body's digest.
    for components in [
        r#""@target-uri" "content-digest""#,
        r#""@method" "content-digest""#,
        r#""@method" "@target-uri""#,
    ] {
        let req = sign_rfc9421(&rsa, components, now, Algorithm::Ed25519, true, "");
        assert_eq!(status(&req, B2_BODY, now), 401, "{components}");
    }
    // @authority and @path together name the target too.
    let req = sign_rfc9421(
        &rsa,
        r#""@method" "@authority" "@path" "content-digest""#,
        now,
        Algorithm::Ed25519,
        true,
        "",
    );
    assert_eq!(status(&req, B2_BODY, now), 202);
    // An algorithm we do not verify.
    let mut hmac = good.headers.clone();
    hmac.insert(
        "signature-input",
        format!(r#"sig1=({INBOX_COMPONENTS});created={now};keyid="k";alg="hmac-sha256""#)
            .parse()
            .unwrap(),
    );
    assert_eq!(status(&Req::post("/users/b/inbox", hmac), B2_BODY, now), 401);
    // Garbage.
    let mut garbage = good.headers.clone();
    garbage.insert("signature-input", "this is not a dictionary".parse().unwrap());
    assert_eq!(status(&Req::post("/users/b/inbox", garbage), B2_BODY, now), 401);
}

/// A draft-cavage POST signed with B.1.1's RSA key at `date`, over `headers`.
fn sign_cavage(rsa: &RsaKeyPair, date: &str, headers: &str, body: &[u8]) -> Req {
    let digest = format!(
        "SHA-256={}",
        BASE64.encode(ring::digest::digest(&ring::digest::SHA256, body))
    );
    let mut h = HeaderMap::new();
    h.insert("host", "example.com".parse().unwrap());
    h.insert("date", date.parse().unwrap());
    h.insert("digest", digest.parse().unwrap());
    let mut req = Req::post("/users/b/inbox", h);
    let sig = super::cavage::CavageSignature {
        key_id: "k".into(),
        headers: headers.split_whitespace().map(str::to_owned).collect(),
        signature: "x".into(),
        ..Default::default()
    };
    let string = sig.signing_string(&req.signed()).unwrap();
    let mut out = vec![0; rsa.public().modulus_len()];
    rsa.sign(
        &RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        string.as_bytes(),
        &mut out,
    )
    .unwrap();
    req.headers.insert(
        "signature",
        format!(
            r#"keyId="https://remote.example/users/a#main-key",algorithm="rsa-sha256",headers="{headers}",signature="{}""#,
            BASE64.encode(out)
        )
        .parse()
        .unwrap(),
    );
    req
}

#[test]
fn cavage_requests_verify_and_tampering_is_refused() {
    let (rsa, rsa_public) = rsa_key();
    let now = Utc::now();
    let http_date = |t: DateTime<Utc>| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let date = http_date(now);
    let status = |req: &Req, body: &[u8]| match verify::read(&req.signed(), Some(body), now) {
        Ok(sig) if sig.verifies_with(&rsa_public) => 202,
        Ok(_) => 401,
        Err(crate::FederationError::Refused(s, _)) => s.as_u16(),
        Err(other) => panic!("{other}"),
    };
    let signed = "(request-target) host date digest";
    let good = sign_cavage(&rsa, &date, signed, B2_BODY);
    assert_eq!(status(&good, B2_BODY), 202);
    let sig = verify::read(&good.signed(), Some(B2_BODY), now).unwrap();
    assert_eq!(
        (sig.profile, sig.algorithm),
        (Profile::Cavage, Some(Algorithm::RsaV15Sha256))
    );
    assert!(!sig.verifies_with(ED25519_PUBLIC));
    assert_eq!(
        key_id(&good.headers).as_deref(),
        Some("https://remote.example/users/a#main-key")
    );
    // Body changed: Digest mismatch (400); body and Digest changed: signature mismatch (401).
    assert_eq!(status(&good, b"{}"), 400);
    let mut redigested = sign_cavage(&rsa, &date, signed, B2_BODY);
    let digest = format!(
        "SHA-256={}",
        BASE64.encode(ring::digest::digest(&ring::digest::SHA256, b"{}"))
    );
    redigested.headers.insert("digest", digest.parse().unwrap());
    assert_eq!(status(&redigested, b"{}"), 401);
    // A signed header changed; the target changed.
    let mut rehosted = sign_cavage(&rsa, &date, signed, B2_BODY);
    rehosted.headers.insert("host", "other.example".parse().unwrap());
    assert_eq!(status(&rehosted, B2_BODY), 401);
    let mut moved = sign_cavage(&rsa, &date, signed, B2_BODY);
    moved.uri = "/inbox".parse().unwrap();
    assert_eq!(status(&moved, B2_BODY), 401);
    // Digest not signed; Date not signed; Date two hours old or ahead.
    assert_eq!(
        status(
            &sign_cavage(&rsa, &date, "(request-target) host date", B2_BODY),
            B2_BODY
        ),
        401
    );
    assert_eq!(
        status(
            &sign_cavage(&rsa, &date, "(request-target) host digest", B2_BODY),
            B2_BODY
        ),
        401
    );
    for hours in [-2, 2] {
        let other = http_date(now + chrono::TimeDelta::hours(hours));
        assert_eq!(
            status(&sign_cavage(&rsa, &other, signed, B2_BODY), B2_BODY),
            401,
            "{hours} h"
        );
    }
    // No Digest at all.
    let mut undigested = sign_cavage(&rsa, &date, signed, B2_BODY);
    undigested.headers.remove("digest");
    assert_eq!(status(&undigested, B2_BODY), 400);
}

/// Mastodon before 4.3 and Fedify sign draft-cavage's `(request-target)`
/// without the query string; such a signature verifies for the request
/// with its query (as Mastodon accepts it), and only for that path.
#[test]
fn cavage_request_target_signed_without_the_query_verifies() {
    let (rsa, rsa_public) = rsa_key();
    let now = Utc::now();
    let date = now.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let verifies = |req: &Req| {
        verify::read(&req.signed(), Some(B2_BODY), now)
            .unwrap()
            .verifies_with(&rsa_public)
    };
    let signed = "(request-target) host date digest";
    let mut queried = sign_cavage(&rsa, &date, signed, B2_BODY);
    queried.uri = "/users/b/inbox?page=2".parse().unwrap();
    assert!(verifies(&queried));
    let sig = verify::read(&queried.signed(), Some(B2_BODY), now).unwrap();
    assert!(sig.base_without_query.is_some());
    let mut elsewhere = sign_cavage(&rsa, &date, signed, B2_BODY);
    elsewhere.uri = "/users/c/inbox?page=2".parse().unwrap();
    assert!(!verifies(&elsewhere));
    let plain = sign_cavage(&rsa, &date, signed, B2_BODY);
    let sig = verify::read(&plain.signed(), Some(B2_BODY), now).unwrap();
    assert!(sig.base_without_query.is_none(), "no query, no second form");
}

#[test]
fn rfc9421_get_signed_with_the_key_id_fragment_verifies() {
    // Fedify 2.3 fetching `…/users/b#main-key` (or `#ed25519-key`) signs
    // `@target-uri` with the fragment, which the request line does not carry.
    let now = 1_800_000_000;
    let mut h = HeaderMap::new();
    h.insert("host", "example.com".parse().unwrap());
    let input = format!(
        r#"sig1=("@method" "@target-uri" "@authority");created={now};keyid="https://remote.example/users/a#main-key";alg="ed25519""#
    );
    h.insert("signature-input", input.parse().unwrap());
    h.insert("signature", "sig1=:AA==:".parse().unwrap());
    let mut req = Req {
        method: Method::GET,
        uri: "/users/b".parse().unwrap(),
        headers: h,
    };
    let parsed = rfc9421::parse(&req.headers).unwrap().remove(0);
    let base = parsed.base_with_fragment(&req.signed(), Some("main-key")).unwrap();
    assert!(
        base.contains("\"@target-uri\": https://example.com/users/b#main-key\n"),
        "{base}"
    );
    let sig = ed25519_pair().sign(base.as_bytes());
    req.headers.insert(
        "signature",
        format!("sig1=:{}:", BASE64.encode(sig.as_ref())).parse().unwrap(),
    );
    let read = verify::read(&req.signed(), None, at(now)).unwrap();
    assert!(read.verifies_with(ED25519_PUBLIC));
    // So does the fragment of our Ed25519 keys (Fedify fetching the key of
    // an integrity proof); only the target changes, not the signer's key id.
    let ed = ed25519_pair().sign(base.replace("/users/b#main-key\n", "/users/b#ed25519-key\n").as_bytes());
    req.headers.insert(
        "signature",
        format!("sig1=:{}:", BASE64.encode(ed.as_ref())).parse().unwrap(),
    );
    assert!(
        verify::read(&req.signed(), None, at(now))
            .unwrap()
            .verifies_with(ED25519_PUBLIC)
    );
    // Any other fragment does not.
    let other = ed25519_pair().sign(base.replace("/users/b#main-key\n", "/users/b#other\n").as_bytes());
    req.headers.insert(
        "signature",
        format!("sig1=:{}:", BASE64.encode(other.as_ref())).parse().unwrap(),
    );
    assert!(
        !verify::read(&req.signed(), None, at(now))
            .unwrap()
            .verifies_with(ED25519_PUBLIC)
    );
    // A rotated key's id (`#key-3`, `#ed25519-key-2`): tried once the
    // generations our keys reached are known, not before.
    for (fragment, rsa, ed) in [("key-3", 3, 1), ("ed25519-key-2", 1, 2)] {
        let rotated = ed25519_pair().sign(
            base.replace("/users/b#main-key\n", &format!("/users/b#{fragment}\n"))
                .as_bytes(),
        );
        req.headers.insert(
            "signature",
            format!("sig1=:{}:", BASE64.encode(rotated.as_ref())).parse().unwrap(),
        );
        let mut read = verify::read(&req.signed(), None, at(now)).unwrap();
        assert!(!read.verifies_with(ED25519_PUBLIC), "{fragment} before");
        read.add_key_generations(rsa - 1, ed - 1);
        assert!(!read.verifies_with(ED25519_PUBLIC), "{fragment}: one generation short");
        read.add_key_generations(rsa, ed);
        assert!(read.verifies_with(ED25519_PUBLIC), "{fragment}");
    }
}

/// The RFC's test request (B.2) signed by Gazette's RFC 9421 signer: the
/// signature base has the RFC's lines for each component covered
/// (`@target-uri` as §2.2.2 derives it), and the verifier accepts it.
#[test]
fn gazette_signs_the_rfc_test_request_and_verifies_it() {
    use super::sign::{Challenge, sign_rfc9421};
    let (pair, public) = rsa_key();
    let url = url::Url::parse("https://example.com/foo?param=Value&Pet=dog").unwrap();
    let now = 1_618_884_473;
    let key_id = "https://example.com/users/a#main-key";
    let headers = b2_headers(&[]);
    let fields = sign_rfc9421(&pair, key_id, &Method::POST, &url, &headers, now, None).unwrap();
    assert_eq!(
        fields.signature_input,
        format!(
            r#"sig1=("@method" "@target-uri" "@authority" "content-digest");created={now};keyid="{key_id}";alg="rsa-v1_5-sha256""#
        )
    );
    let req = Req::post(
        "/foo?param=Value&Pet=dog",
        b2_headers(&[
            ("signature-input", &fields.signature_input),
            ("signature", &fields.signature),
        ]),
    );
    let read = verify::read(&req.signed(), Some(B2_BODY), at(now + 10)).unwrap();
    assert_eq!(read.profile, Profile::Rfc9421);
    assert_eq!(read.key_id, key_id);
    assert_eq!(read.algorithm, Some(Algorithm::RsaV15Sha256));
    let base = String::from_utf8(read.base.clone()).unwrap();
    assert!(
        base.starts_with(
            "\"@method\": POST\n\"@target-uri\": https://example.com/foo?param=Value&Pet=dog\n\
             \"@authority\": example.com\n\
             \"content-digest\": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:\n"
        ),
        "{base}"
    );
    assert!(read.verifies_with(&public));
    // Another key, or the body changed, and it does not.
    assert!(!read.verifies_with(&rsa_key().1));
    assert!(verify::read(&req.signed(), Some(br#"{"hello": "World"}"#), at(now)).is_err());

    // Answering a challenge: its components first, its label, nonce and tag.
    let challenge = Challenge {
        label: "sig-b26".into(),
        components: [
            "date",
            "@method",
            "@path",
            "@authority",
            "content-type",
            "content-length",
        ]
        .map(String::from)
        .into(),
        nonce: Some("b3k2pp5k7z-50gnwp.yemd".into()),
        tag: Some("ap".into()),
    };
    let fields = sign_rfc9421(&pair, key_id, &Method::POST, &url, &headers, now, Some(&challenge)).unwrap();
    assert!(fields.signature.starts_with("sig-b26=:"), "{}", fields.signature);
    let req = Req::post(
        "/foo?param=Value&Pet=dog",
        b2_headers(&[
            ("signature-input", &fields.signature_input),
            ("signature", &fields.signature),
        ]),
    );
    let read = verify::read(&req.signed(), Some(B2_BODY), at(now)).unwrap();
    let base = String::from_utf8(read.base.clone()).unwrap();
    // B.2.6's lines, then ours.
    assert!(
        base.starts_with(
            "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\"@method\": POST\n\"@path\": /foo\n\"@authority\": example.com\n\
             \"content-type\": application/json\n\"content-length\": 18\n\"@target-uri\": "
        ),
        "{base}"
    );
    assert!(base.ends_with(&format!(
        r#"keyid="{key_id}";alg="rsa-v1_5-sha256";nonce="b3k2pp5k7z-50gnwp.yemd";tag="ap""#
    )));
    assert!(read.verifies_with(&public));
}

/// A signed GET made by Gazette's signer (no body, no digest) verifies as
/// one, and a field the signature needs but the request lacks is an error.
#[test]
fn gazette_signs_a_get() {
    use super::sign::{SigningError, sign_rfc9421};
    let (pair, public) = rsa_key();
    let url = url::Url::parse("http://localhost:8080/users/a/outbox?page=2").unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("localhost:8080"));
    let now = Utc::now().timestamp();
    let fields = sign_rfc9421(&pair, "k", &Method::GET, &url, &headers, now, None).unwrap();
    assert!(
        fields
            .signature_input
            .starts_with(r#"sig1=("@method" "@target-uri" "@authority");"#)
    );
    headers.insert(
        "signature-input",
        HeaderValue::from_str(&fields.signature_input).unwrap(),
    );
    headers.insert("signature", HeaderValue::from_str(&fields.signature).unwrap());
    let uri: Uri = "/users/a/outbox?page=2".parse().unwrap();
    let req = SignedRequest {
        method: &Method::GET,
        uri: &uri,
        headers: &headers,
        local_host: "localhost:8080",
        scheme: "http",
    };
    let read = verify::read(&req, None, Utc::now()).unwrap();
    assert!(read.verifies_with(&public));
    let challenge = super::sign::Challenge {
        label: "s".into(),
        components: vec!["date".into()],
        nonce: None,
        tag: None,
    };
    assert!(matches!(
        sign_rfc9421(&pair, "k", &Method::GET, &url, &HeaderMap::new(), now, Some(&challenge)),
        Err(SigningError::Component(_))
    ));
}
