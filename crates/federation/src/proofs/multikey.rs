//! Ed25519 public keys as FEP-521a `Multikey`s: `publicKeyMultibase` is
//! multibase base58btc (`z…`) of the multicodec prefix `0xed 0x01` and the
//! 32 key bytes; proof values are base58btc too. The base58 (Bitcoin
//! alphabet) codec is here, a few lines rather than a crate.

const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// The multicodec prefix of an Ed25519 public key.
const ED25519_PUB: [u8; 2] = [0xed, 0x01];

/// What is wrong with a multibase value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultibaseError {
    #[error("not base58btc multibase: it should start with 'z'")]
    NotBase58btc,
    #[error("'{0}' is not a base58 character")]
    BadCharacter(char),
    #[error("not an Ed25519 public key (multicodec 0xed01 and 32 bytes)")]
    NotEd25519,
}

/// base58 (Bitcoin alphabet) of `bytes`: each leading zero byte is a '1'.
pub fn base58_encode(bytes: &[u8]) -> String {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    // Base-58 digits, least significant first.
    let mut digits: Vec<u8> = Vec::with_capacity(bytes.len() * 138 / 100 + 1);
    for &byte in &bytes[zeros..] {
        let mut carry = u32::from(byte);
        for d in digits.iter_mut() {
            carry += u32::from(*d) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let mut out = "1".repeat(zeros);
    out.extend(digits.iter().rev().map(|d| ALPHABET[usize::from(*d)] as char));
    out
}

/// The bytes of base58 `text`.
pub fn base58_decode(text: &str) -> Result<Vec<u8>, MultibaseError> {
    let zeros = text.chars().take_while(|c| *c == '1').count();
    // Bytes, least significant first.
    let mut bytes: Vec<u8> = Vec::with_capacity(text.len());
    for c in text.chars().skip(zeros) {
        let value = ALPHABET
            .iter()
            .position(|a| char::from(*a) == c)
            .ok_or(MultibaseError::BadCharacter(c))?;
        let mut carry = value as u32;
        for b in bytes.iter_mut() {
            carry += u32::from(*b) * 58;
            *b = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            bytes.push((carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let mut out = vec![0u8; zeros];
    out.extend(bytes.iter().rev());
    Ok(out)
}

/// Multibase base58btc: `z` and base58.
pub fn multibase_encode(bytes: &[u8]) -> String {
    format!("z{}", base58_encode(bytes))
}

/// The bytes of a base58btc multibase value.
pub fn multibase_decode(text: &str) -> Result<Vec<u8>, MultibaseError> {
    let rest = text.strip_prefix('z').ok_or(MultibaseError::NotBase58btc)?;
    base58_decode(rest)
}

/// `publicKeyMultibase` of a 32-byte Ed25519 public key.
pub fn ed25519_multikey(public_key: &[u8]) -> String {
    let mut bytes = ED25519_PUB.to_vec();
    bytes.extend_from_slice(public_key);
    multibase_encode(&bytes)
}

/// The 32 bytes of the Ed25519 key in `publicKeyMultibase`.
pub fn ed25519_from_multikey(multibase: &str) -> Result<[u8; 32], MultibaseError> {
    let bytes = multibase_decode(multibase)?;
    match bytes.strip_prefix(&ED25519_PUB[..]) {
        Some(key) => key.try_into().map_err(|_| MultibaseError::NotEd25519),
        None => Err(MultibaseError::NotEd25519),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The examples of draft-msporny-base58 §5.
    #[test]
    fn base58_examples() {
        for (text, b58) in [
            ("Hello World!", "2NEpo7TZRRrLZSi2U"),
            (
                "The quick brown fox jumps over the lazy dog.",
                "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z",
            ),
        ] {
            assert_eq!(base58_encode(text.as_bytes()), b58);
            assert_eq!(base58_decode(b58).unwrap(), text.as_bytes());
        }
        assert_eq!(base58_encode(&[0, 0, 0x28, 0x7f, 0xb4, 0xcd]), "11233QC4");
        assert_eq!(base58_decode("11233QC4").unwrap(), [0, 0, 0x28, 0x7f, 0xb4, 0xcd]);
        assert_eq!(base58_encode(&[]), "");
        assert_eq!(base58_decode("0OIl"), Err(MultibaseError::BadCharacter('0')));
    }

    /// The key of the W3C Data Integrity EdDSA examples (vc-di-eddsa):
    /// every Ed25519 Multikey starts `z6Mk`.
    #[test]
    fn multikey_round_trip() {
        let multikey = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";
        let key = ed25519_from_multikey(multikey).unwrap();
        assert_eq!(ed25519_multikey(&key), multikey);
        assert_eq!(ed25519_from_multikey("6Mk"), Err(MultibaseError::NotBase58btc));
        // An Ed25519 prefix with 31 bytes, and another codec's prefix.
        assert_eq!(
            ed25519_from_multikey(&multibase_encode(&[0xed, 0x01, 1, 2])),
            Err(MultibaseError::NotEd25519)
        );
        assert_eq!(
            ed25519_from_multikey(&multibase_encode(&[0xe7, 0x01, 9])),
            Err(MultibaseError::NotEd25519)
        );
    }

    #[test]
    fn base58_round_trips_random_lengths() {
        for len in 0..70usize {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
            assert_eq!(base58_decode(&base58_encode(&bytes)).unwrap(), bytes);
        }
    }
}
