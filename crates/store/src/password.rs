//! Password hashing for accounts: argon2id with the library's default cost
//! (19 MiB, two passes), stored as a PHC string so the cost can rise later
//! without breaking stored hashes. Hashing is CPU work of tens of
//! milliseconds, so callers run it off the async threads.
//!
//! Argon2's working memory is allocated here, larger than glibc's highest
//! mmap threshold, so each check's 19 MiB is a mapping of its own that goes
//! back to the system when the check ends. Left to the library, the memory
//! came from the calling thread's malloc arena once glibc had raised its
//! threshold past 19 MiB, and every arena kept it: after a burst of
//! sign-ins on many blocking threads, hundreds of megabytes stayed resident.

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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

/// Blocks (1 KiB each) allocated at least for argon2's working memory:
/// 33 MiB, over the 32 MiB that glibc's mmap threshold can rise to, so the
/// allocation is always mapped on its own and unmapped when dropped. Only
/// the blocks the cost asks for are ever touched (resident).
const MIN_ALLOCATED_BLOCKS: usize = 33 * 1024;

/// Zeroed working memory for `blocks` blocks (see [`MIN_ALLOCATED_BLOCKS`]).
fn working_memory(blocks: usize) -> Vec<Block> {
    let mut memory = Vec::with_capacity(blocks.max(MIN_ALLOCATED_BLOCKS));
    memory.resize(blocks, Block::new());
    memory
}

/// A fresh argon2id PHC string for `password` (checked first).
pub(crate) fn hash(password: &str) -> StoreResult<String> {
    check_password(password)?;
    let failed = |e: &dyn std::fmt::Display| StoreError::Corrupt(format!("cannot hash password: {e}"));
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let params = Params::default();
    let (algorithm, version) = (Algorithm::Argon2id, Version::V0x13);
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let mut memory = working_memory(params.block_count());
    Argon2::new(algorithm, version, params.clone())
        .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, &mut memory[..])
        .map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: algorithm.ident(),
        version: Some(version.into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| failed(&e))?),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

/// True when `password` matches `phc`. An empty or unreadable hash matches
/// nothing (an account whose password was never set cannot sign in).
pub(crate) fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let (Ok(params), Ok(algorithm)) = (
        Params::try_from(&parsed),
        Algorithm::try_from(parsed.algorithm.as_str()),
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let mut out = vec![0u8; expected.as_ref().len()];
    let mut memory = working_memory(params.block_count());
    if Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt.as_ref(), &mut out, &mut memory[..])
        .is_err()
    {
        return false;
    }
    // `Output`'s comparison takes the same time wherever they differ.
    Output::new(&out).is_ok_and(|computed| &computed == expected)
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
    fn hashes_agree_with_the_library_both_ways() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        // A hash stored before (made by the library) still verifies…
        let theirs = Argon2::default()
            .hash_password_with_salt(b"correct horse battery", b"0123456789abcdef")
            .unwrap()
            .to_string();
        assert!(verify("correct horse battery", &theirs));
        assert!(!verify("correct horse batterz", &theirs));
        // …and the library verifies ours.
        let ours = PasswordHash::new(&hash("correct horse battery").unwrap()).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", &ours)
                .is_ok()
        );
        assert_eq!(working_memory(19 * 1024).len(), 19 * 1024);
        assert!(working_memory(19 * 1024).capacity() >= MIN_ALLOCATED_BLOCKS);
    }

    #[test]
    fn the_stand_in_hash_for_unknown_users_is_well_formed() {
        // If it did not parse, unknown usernames would answer faster than wrong passwords.
        assert!(PasswordHash::new(crate::users::DUMMY_HASH).is_ok());
        assert!(!verify("anything at all", crate::users::DUMMY_HASH));
    }
}
