//! Identifiers and secrets: time-ordered random ids, API token secrets.

use rand::RngCore;

/// 26 lowercase hex-ish characters: 48 bits of milliseconds then 80 random
/// bits, so ids sort by creation time and never collide in practice.
pub(crate) fn new_id() -> String {
    let ms = chrono::Utc::now().timestamp_millis().max(0) as u64;
    let mut rnd = [0u8; 10];
    rand::rng().fill_bytes(&mut rnd);
    let mut out = format!("{:012x}", ms & 0xffff_ffff_ffff);
    for b in rnd {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// A fresh API token secret: `gzt_` and 64 hex characters (256 bits).
pub(crate) fn new_secret() -> String {
    let mut rnd = [0u8; 32];
    rand::rng().fill_bytes(&mut rnd);
    let mut out = String::from("gzt_");
    for b in rnd {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// `bytes` random bytes as lowercase hex: session, CSRF and reset secrets.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut rnd = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut rnd);
    rnd.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_sort_by_time_and_differ() {
        let a = super::new_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = super::new_id();
        assert_eq!(a.len(), 32);
        assert!(a < b);
        assert_ne!(super::new_secret(), super::new_secret());
    }
}
