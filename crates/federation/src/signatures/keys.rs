//! Public keys as actors publish them (PEM: SubjectPublicKeyInfo, or PKCS#1
//! `RSA PUBLIC KEY`) turned into what ring verifies with, and the signature
//! algorithms both profiles name.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::signature::{self, UnparsedPublicKey};

/// A signature algorithm, by its RFC 9421 name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `rsa-v1_5-sha256` (draft-cavage's `rsa-sha256`, and what `hs2019` means with an RSA key).
    RsaV15Sha256,
    /// `rsa-pss-sha512`.
    RsaPssSha512,
    /// `ecdsa-p256-sha256`: `r‖s`, 64 bytes.
    EcdsaP256Sha256,
    /// `ed25519`.
    Ed25519,
}

impl Algorithm {
    /// The algorithm an RFC 9421 `alg` parameter names.
    pub fn from_rfc9421(name: &str) -> Option<Algorithm> {
        match name {
            "rsa-v1_5-sha256" => Some(Algorithm::RsaV15Sha256),
            "rsa-pss-sha512" => Some(Algorithm::RsaPssSha512),
            "ecdsa-p256-sha256" => Some(Algorithm::EcdsaP256Sha256),
            "ed25519" => Some(Algorithm::Ed25519),
            _ => None,
        }
    }

    pub fn rfc9421_name(self) -> &'static str {
        match self {
            Algorithm::RsaV15Sha256 => "rsa-v1_5-sha256",
            Algorithm::RsaPssSha512 => "rsa-pss-sha512",
            Algorithm::EcdsaP256Sha256 => "ecdsa-p256-sha256",
            Algorithm::Ed25519 => "ed25519",
        }
    }
}

/// What kind of key a [`PublicKey`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa,
    P256,
    Ed25519,
}

/// A parsed public key: `key` is what ring takes for its kind (PKCS#1
/// `RSAPublicKey` DER, the uncompressed P-256 point, the 32 Ed25519 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub kind: KeyKind,
    key: Vec<u8>,
}

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_RSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

impl PublicKey {
    /// Parses a PEM public key: `PUBLIC KEY` (RSA, RSA-PSS, P-256 or
    /// Ed25519) or `RSA PUBLIC KEY`.
    pub fn from_pem(pem: &str) -> Result<PublicKey, String> {
        let pem = pem.trim();
        let label = pem
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("-----BEGIN "))
            .and_then(|l| l.strip_suffix("-----"))
            .ok_or("not a PEM key")?
            .to_owned();
        let b64: String = pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
            .collect();
        let der = BASE64.decode(b64).map_err(|_| "the PEM key is not base64")?;
        match label.as_str() {
            "PUBLIC KEY" => PublicKey::from_spki(&der),
            "RSA PUBLIC KEY" => Ok(PublicKey {
                kind: KeyKind::Rsa,
                key: der,
            }),
            other => Err(format!("a `{other}` is not a public key")),
        }
    }

    /// Parses a DER SubjectPublicKeyInfo.
    pub fn from_spki(der: &[u8]) -> Result<PublicKey, String> {
        let bad = || "malformed SubjectPublicKeyInfo".to_owned();
        let (spki, _) = der_read(der, 0x30).ok_or_else(bad)?;
        let (alg, rest) = der_read(spki, 0x30).ok_or_else(bad)?;
        let (bits, _) = der_read(rest, 0x03).ok_or_else(bad)?;
        let (&unused, key) = bits.split_first().ok_or_else(bad)?;
        if unused != 0 {
            return Err(bad());
        }
        let (oid, params) = der_read(alg, 0x06).ok_or_else(bad)?;
        let kind = if oid == OID_RSA || oid == OID_RSA_PSS {
            KeyKind::Rsa
        } else if oid == OID_EC {
            match der_read(params, 0x06) {
                Some((curve, _)) if curve == OID_P256 => KeyKind::P256,
                _ => return Err("only P-256 elliptic-curve keys are supported".into()),
            }
        } else if oid == OID_ED25519 {
            KeyKind::Ed25519
        } else {
            return Err("unsupported public key type".into());
        };
        Ok(PublicKey {
            kind,
            key: key.to_vec(),
        })
    }

    /// The algorithms to try when the signer did not name one: the key's
    /// own, and for RSA both paddings (RFC 9421 senders without `alg` mean
    /// v1.5 in practice, but PSS is the RFC's own RSA example).
    pub fn default_algorithms(&self) -> &'static [Algorithm] {
        match self.kind {
            KeyKind::Rsa => &[Algorithm::RsaV15Sha256, Algorithm::RsaPssSha512],
            KeyKind::P256 => &[Algorithm::EcdsaP256Sha256],
            KeyKind::Ed25519 => &[Algorithm::Ed25519],
        }
    }

    /// Whether `sig` is a valid `alg` signature of `message` with this key
    /// (false when `alg` does not fit the key).
    pub fn verify(&self, alg: Algorithm, message: &[u8], sig: &[u8]) -> bool {
        let params: &dyn signature::VerificationAlgorithm = match (alg, self.kind) {
            // ring's legacy table accepts 1024-bit keys, which old servers still publish.
            (Algorithm::RsaV15Sha256, KeyKind::Rsa) => &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
            (Algorithm::RsaPssSha512, KeyKind::Rsa) => &signature::RSA_PSS_2048_8192_SHA512,
            (Algorithm::EcdsaP256Sha256, KeyKind::P256) => {
                // RFC 9421 sends r‖s; draft-cavage implementations send DER.
                let fixed = UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &self.key);
                return fixed.verify(message, sig).is_ok()
                    || UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, &self.key)
                        .verify(message, sig)
                        .is_ok();
            }
            (Algorithm::Ed25519, KeyKind::Ed25519) => &signature::ED25519,
            _ => return false,
        };
        UnparsedPublicKey::new(params, &self.key).verify(message, sig).is_ok()
    }
}

/// Reads one DER element of `tag` at the start of `input`: its contents and what follows.
fn der_read(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = input.split_first()?;
    if t != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 3 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// RFC 9421 B.1.2 `test-key-rsa-pss` (published as an rsaEncryption SPKI).
    pub(crate) const RSA_PSS_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2
+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry53mm+
oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHq
gDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5W
Utzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4
aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI
2wIDAQAB
-----END PUBLIC KEY-----";

    /// RFC 9421 B.1.3 `test-key-ecc-p256`.
    pub(crate) const P256_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lf
w0EkjqF7xB4FivAxzic30tMM4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==
-----END PUBLIC KEY-----";

    /// RFC 9421 B.1.4 `test-key-ed25519`.
    pub(crate) const ED25519_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----";

    #[test]
    fn parses_the_rfc_keys() {
        assert_eq!(PublicKey::from_pem(RSA_PSS_PUBLIC).unwrap().kind, KeyKind::Rsa);
        assert_eq!(PublicKey::from_pem(P256_PUBLIC).unwrap().kind, KeyKind::P256);
        let ed = PublicKey::from_pem(ED25519_PUBLIC).unwrap();
        assert_eq!((ed.kind, ed.key.len()), (KeyKind::Ed25519, 32));
        assert!(PublicKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----").is_err());
        assert!(PublicKey::from_pem("not pem").is_err());
        assert!(PublicKey::from_spki(&[0x30, 0x05, 0x30]).is_err());
    }

    #[test]
    fn algorithms_must_fit_the_key() {
        let ed = PublicKey::from_pem(ED25519_PUBLIC).unwrap();
        assert!(!ed.verify(Algorithm::RsaV15Sha256, b"x", &[0; 64]));
        assert_eq!(ed.default_algorithms(), [Algorithm::Ed25519]);
        for alg in [
            Algorithm::RsaV15Sha256,
            Algorithm::RsaPssSha512,
            Algorithm::EcdsaP256Sha256,
            Algorithm::Ed25519,
        ] {
            assert_eq!(Algorithm::from_rfc9421(alg.rfc9421_name()), Some(alg));
        }
        assert_eq!(Algorithm::from_rfc9421("hmac-sha256"), None);
    }
}
