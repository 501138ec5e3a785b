//! Password hashing for accounts: argon2id with the library's default cost
//! (19 MiB, two passes), stored as a PHC string so the cost can rise later
//! without breaking stored hashes. Hashing is CPU work of tens of
//! milliseconds, so callers run it off the async threads.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rand::RngCore;

use crate::error::{StoreError, StoreResult};

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted (argon2 takes any length; this bounds the work).
const MAX_PASSWORD_BYTES: usize = 1024;

/// Refuses passwords that are too short or too long, naming the rule.
pub fn check_password(password: &str) -> StoreResult<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(StoreError::Invalid {
            field: "password",
            message: format!("a password needs at least {MIN_PASSWORD_CHARS} characters"),
        });
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(StoreError::Invalid {
            field: "password",
            message: format!("a password may have at most {MAX_PASSWORD_BYTES} bytes"),
        });
    }
    Ok(())
}

/// A fresh argon2id PHC string for `password` (checked first).
pub(crate) fn hash(password: &str) -> StoreResult<String> {
    check_password(password)?;
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Corrupt(format!("cannot hash password: {e}")))
}

/// True when `password` matches `phc`. An empty or unreadable hash matches
/// nothing (an account whose password was never set cannot sign in).
pub(crate) fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
}

/// Runs [`hash`] on the blocking pool.
pub(crate) async fn hash_blocking(password: &str) -> StoreResult<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash(&password))
        .await
        .map_err(|e| StoreError::Corrupt(format!("password hashing task failed: {e}")))?
}

/// Runs [`verify`] on the blocking pool.
pub(crate) async fn verify_blocking(password: &str, phc: &str) -> bool {
    let (password, phc) = (password.to_owned(), phc.to_owned());
    tokio::task::spawn_blocking(move || verify(&password, &phc))
        .await
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_salted_argon2id_and_verify() {
        let a = hash("correct horse battery").unwrap();
        let b = hash("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify("correct horse battery", &a));
        assert!(!verify("correct horse batterz", &a));
        assert!(!verify("anything at all", ""));
        assert!(matches!(
            hash("short"),
            Err(StoreError::Invalid { field: "password", .. })
        ));
    }

    #[test]
    fn the_stand_in_hash_for_unknown_users_is_well_formed() {
        // If it did not parse, unknown usernames would answer faster than wrong passwords.
        assert!(PasswordHash::new(crate::users::DUMMY_HASH).is_ok());
        assert!(!verify("anything at all", crate::users::DUMMY_HASH));
    }
}
