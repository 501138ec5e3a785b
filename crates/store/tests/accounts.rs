//! Admin accounts on SQLite and PostgreSQL: users and roles, argon2id
//! sign-in, server-side sessions with CSRF tokens and expiry, one-time reset
//! links, and the failed sign-ins that rate limiting counts.

#![allow(clippy::unwrap_used)]

use chrono::{Duration, Utc};
use gazette_core::AuthorInput;
use gazette_core::validate;
use gazette_store::{NewUser, Role, Store, StoreError};

gazette_store::each_backend!(
    users_and_roles,
    sign_in_checks_the_password,
    sessions_expire_and_end,
    reset_links_work_once,
    failed_sign_ins_are_counted,
    sign_in_attempts_are_counted_atomically,
    email_addresses_are_checked_and_cleared,
);

const PASSWORD: &str = "a long enough password";

fn new_user(name: &str, role: Role) -> NewUser {
    NewUser {
        username: name.into(),
        display_name: String::new(),
        role,
        author: None,
    }
}

async fn users_and_roles(store: &Store) {
    let author = store
        .create_author(
            &validate::author(&AuthorInput {
                username: "lea".into(),
                name: "Léa".into(),
                ..Default::default()
            })
            .unwrap(),
        )
        .await
        .unwrap();
    let admin = store
        .create_user(&new_user("Root", Role::Admin), Some(PASSWORD))
        .await
        .unwrap();
    assert_eq!(admin.username, "root", "usernames are lowercased");
    assert_eq!(admin.display_name, "root");
    assert!(admin.has_password);
    let mut writer = new_user("lea", Role::Author);
    writer.author = Some("lea".into());
    let writer = store.create_user(&writer, None).await.unwrap();
    assert_eq!(writer.author_id.as_deref(), Some(author.id.as_str()));
    assert!(!writer.has_password);

    // Bad input is named and stores nothing.
    let err = store
        .create_user(&new_user("root", Role::Editor), None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { field: "username", .. }), "{err}");
    let err = store
        .create_user(&new_user("no spaces", Role::Editor), None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "username", .. }), "{err}");
    let mut ghost = new_user("ghost", Role::Author);
    ghost.author = Some("nobody".into());
    let err = store.create_user(&ghost, None).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "author", .. }), "{err}");
    let err = store
        .create_user(&new_user("unlinked", Role::Author), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Invalid { field: "author", .. }),
        "an author-role user needs an author profile: {err}"
    );
    let err = store
        .create_user(&new_user("shorty", Role::Editor), Some("short"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "password", .. }), "{err}");
    assert_eq!(store.count_users().await.unwrap(), 2);

    let names: Vec<String> = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["lea", "root"]);
    assert_eq!(store.find_user(&admin.id).await.unwrap().unwrap().username, "root");
    assert_eq!(store.find_user("ROOT").await.unwrap().unwrap().id, admin.id);

    // The last active admin can be neither demoted nor disabled.
    let err = store.set_user_role("root", Role::Editor).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { field: "role", .. }), "{err}");
    assert!(store.set_user_disabled("root", true).await.is_err());
    // An author-role user keeps the profile they write as.
    let err = store.set_user_author("lea", None).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "author", .. }), "{err}");
    let err = store.set_user_author("lea", Some("nobody")).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "author", .. }), "{err}");
    store.set_user_role("lea", Role::Admin).await.unwrap();
    assert_eq!(
        store.set_user_role("root", Role::Editor).await.unwrap().role,
        Role::Editor
    );
    let err = store.set_user_role("root", Role::Author).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Invalid { field: "author", .. }),
        "root has no author profile to write as: {err}"
    );
    assert_eq!(store.get_user("root").await.unwrap().role, Role::Editor);

    let disabled = store.set_user_disabled("root", true).await.unwrap();
    assert!(disabled.disabled_at.is_some());
    assert!(
        store
            .set_user_disabled("root", false)
            .await
            .unwrap()
            .disabled_at
            .is_none()
    );
    assert_eq!(
        store.set_user_author("root", Some("lea")).await.unwrap().author_id,
        Some(author.id)
    );
    assert_eq!(store.set_user_author("root", None).await.unwrap().author_id, None);
    store.set_user_locale(&admin.id, Some("fr")).await.unwrap();
    assert_eq!(store.get_user("root").await.unwrap().locale.as_deref(), Some("fr"));
    // The time zone lives beside the language: set, spelt as the tz
    // database does, cleared; an unknown one is refused and nothing changes.
    assert_eq!(store.get_user("root").await.unwrap().time_zone, None);
    store.set_user_time_zone(&admin.id, Some("europe/paris")).await.unwrap();
    assert_eq!(
        store.get_user("root").await.unwrap().time_zone.as_deref(),
        Some("Europe/Paris")
    );
    assert!(matches!(
        store.set_user_time_zone(&admin.id, Some("Europe/Atlantis")).await,
        Err(StoreError::Invalid { field: "time_zone", .. })
    ));
    assert_eq!(
        store.get_user("root").await.unwrap().time_zone.as_deref(),
        Some("Europe/Paris")
    );
    store.set_user_time_zone(&admin.id, None).await.unwrap();
    assert_eq!(store.get_user("root").await.unwrap().time_zone, None);
    assert!(matches!(
        store.get_user("nobody").await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn sign_in_checks_the_password(store: &Store) {
    let user = store
        .create_user(&new_user("marie", Role::Editor), Some(PASSWORD))
        .await
        .unwrap();
    assert_eq!(store.check_login("Marie", PASSWORD).await.unwrap().unwrap().id, user.id);
    assert!(
        store
            .check_login("marie", "a long enough passworD")
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.check_login("nobody", PASSWORD).await.unwrap().is_none());
    // No password set yet: nothing matches, not even an empty one.
    store.create_user(&new_user("fresh", Role::Editor), None).await.unwrap();
    assert!(store.check_login("fresh", "").await.unwrap().is_none());
    // Disabled users cannot sign in.
    store.create_user(&new_user("boss", Role::Admin), None).await.unwrap();
    store.set_user_disabled("marie", true).await.unwrap();
    assert!(store.check_login("marie", PASSWORD).await.unwrap().is_none());
    store.set_user_disabled("marie", false).await.unwrap();
    let changed = store.set_user_password("marie", "another long password").await.unwrap();
    assert!(changed.has_password);
    assert!(store.check_login("marie", PASSWORD).await.unwrap().is_none());
    assert!(
        store
            .check_login("marie", "another long password")
            .await
            .unwrap()
            .is_some()
    );
}

async fn sessions_expire_and_end(store: &Store) {
    let user = store
        .create_user(&new_user("marie", Role::Editor), Some(PASSWORD))
        .await
        .unwrap();
    let (idle, max) = (Duration::hours(12), Duration::days(7));
    let (secret, session) = store.create_session(&user.id, idle, max).await.unwrap();
    assert_eq!(secret.len(), 64);
    assert_eq!(session.csrf_token.len(), 64);
    assert_ne!(secret, session.csrf_token);
    assert!(session.expires_at > Utc::now() + Duration::hours(11));
    let found = store.find_session(&secret, idle, max).await.unwrap().unwrap();
    assert_eq!(found.user.id, user.id);
    assert_eq!(found.csrf_token, session.csrf_token);
    assert!(store.find_session("not-a-session", idle, max).await.unwrap().is_none());

    // A session that has run out is gone.
    let (short, _) = store
        .create_session(&user.id, Duration::milliseconds(-1), max)
        .await
        .unwrap();
    assert!(store.find_session(&short, idle, max).await.unwrap().is_none());

    // Disabling the user or changing the password ends every session.
    let (other, _) = store.create_session(&user.id, idle, max).await.unwrap();
    store.create_user(&new_user("boss", Role::Admin), None).await.unwrap();
    store.set_user_disabled("marie", true).await.unwrap();
    assert!(store.find_session(&other, idle, max).await.unwrap().is_none());
    store.set_user_disabled("marie", false).await.unwrap();
    assert!(store.find_session(&secret, idle, max).await.unwrap().is_none());
    let (again, _) = store.create_session(&user.id, idle, max).await.unwrap();
    store.set_user_password("marie", "another long password").await.unwrap();
    assert!(store.find_session(&again, idle, max).await.unwrap().is_none());

    // Signing out ends that session only.
    let (a, _) = store.create_session(&user.id, idle, max).await.unwrap();
    let (b, _) = store.create_session(&user.id, idle, max).await.unwrap();
    store.delete_session(&a).await.unwrap();
    assert!(store.find_session(&a, idle, max).await.unwrap().is_none());
    assert!(store.find_session(&b, idle, max).await.unwrap().is_some());
}

async fn reset_links_work_once(store: &Store) {
    let user = store.create_user(&new_user("marie", Role::Editor), None).await.unwrap();
    let (_, session_secret) = {
        let (s, _) = store
            .create_session(&user.id, Duration::hours(1), Duration::days(1))
            .await
            .unwrap();
        (user.clone(), s)
    };
    let (for_user, first) = store.create_password_reset("marie", Duration::hours(24)).await.unwrap();
    assert_eq!(for_user.id, user.id);
    let (_, link) = store.create_password_reset("marie", Duration::hours(24)).await.unwrap();
    assert!(
        store.find_password_reset(&first).await.unwrap().is_none(),
        "a newer link replaces the older one"
    );
    assert_eq!(store.find_password_reset(&link).await.unwrap().unwrap().id, user.id);

    // A bad password is refused and the link still works.
    let err = store.use_password_reset(&link, "short").await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "password", .. }), "{err}");
    let done = store.use_password_reset(&link, PASSWORD).await.unwrap();
    assert!(done.has_password);
    assert!(store.check_login("marie", PASSWORD).await.unwrap().is_some());
    assert!(
        store
            .find_session(&session_secret, Duration::hours(1), Duration::days(1))
            .await
            .unwrap()
            .is_none(),
        "setting a password signs out everywhere"
    );
    // Used: never again.
    assert!(store.find_password_reset(&link).await.unwrap().is_none());
    assert!(matches!(
        store.use_password_reset(&link, "yet another password").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.check_login("marie", PASSWORD).await.unwrap().is_some());

    // Expired: refused.
    let (_, old) = store
        .create_password_reset("marie", Duration::milliseconds(-1))
        .await
        .unwrap();
    assert!(store.find_password_reset(&old).await.unwrap().is_none());
    assert!(store.use_password_reset(&old, "yet another password").await.is_err());
    assert!(matches!(
        store.create_password_reset("nobody", Duration::hours(1)).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn failed_sign_ins_are_counted(store: &Store) {
    let since = Utc::now() - Duration::minutes(15);
    for _ in 0..3 {
        store.record_login_attempt("Marie", "192.0.2.1", false).await.unwrap();
    }
    store.record_login_attempt("paul", "192.0.2.1", false).await.unwrap();
    store
        .record_login_attempt("marie", "198.51.100.7", false)
        .await
        .unwrap();
    let f = store.login_failures("marie", "192.0.2.1", since).await.unwrap();
    assert_eq!((f.account, f.address), (4, 4));
    let f = store.login_failures("paul", "198.51.100.7", since).await.unwrap();
    assert_eq!((f.account, f.address), (1, 1));
    // A success resets the account's count, not the address's.
    store.record_login_attempt("marie", "192.0.2.1", true).await.unwrap();
    let f = store.login_failures("marie", "192.0.2.1", since).await.unwrap();
    assert_eq!((f.account, f.address), (0, 4));
    // Only the window counts.
    let f = store
        .login_failures("paul", "192.0.2.1", Utc::now() + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!((f.account, f.address), (0, 0));
}

/// Sixty attempts at once for one account each get their own count, so a
/// limit of five lets exactly five through (counting after the check, or
/// reading then writing, let almost all of them through).
async fn sign_in_attempts_are_counted_atomically(store: &Store) {
    let window = Duration::minutes(15);
    let mut tasks = Vec::new();
    for i in 0..60 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .count_login_attempt("Marie", &format!("192.0.2.{i}"), window)
                .await
                .unwrap()
        }));
    }
    let mut seen = Vec::new();
    for t in tasks {
        let n = t.await.unwrap();
        assert_eq!(n.address, 1, "each address tried once");
        seen.push(n.account);
    }
    seen.sort();
    assert_eq!(seen, (1..=60).collect::<Vec<i64>>(), "every attempt saw its own count");
    assert_eq!(seen.iter().filter(|n| **n <= 5).count(), 5);

    // Three hundred from one address, for many accounts.
    let mut tasks = Vec::new();
    for i in 0..300 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .count_login_attempt(&format!("user{i}"), "198.51.100.7", window)
                .await
                .unwrap()
                .address
        }));
    }
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await.unwrap());
    }
    seen.sort();
    assert_eq!(seen, (1..=300).collect::<Vec<i64>>());

    // A success starts the account again and gives the address its attempt back.
    store.forgive_login_attempt("marie", "192.0.2.1").await.unwrap();
    let n = store.count_login_attempt("marie", "192.0.2.1", window).await.unwrap();
    assert_eq!((n.account, n.address), (1, 1));
    // A window that has passed starts the count again.
    let n = store
        .count_login_attempt("marie", "192.0.2.1", Duration::zero())
        .await
        .unwrap();
    assert_eq!((n.account, n.address), (1, 1));
}

async fn email_addresses_are_checked_and_cleared(store: &Store) {
    store.create_user(&new_user("mail", Role::Editor), None).await.unwrap();
    assert_eq!(store.get_user("mail").await.unwrap().email, None);
    let u = store.set_user_email("mail", " ana@coop.example ").await.unwrap();
    assert_eq!(u.email.as_deref(), Some("ana@coop.example"));
    assert_eq!(
        store.list_users().await.unwrap()[0].email.as_deref(),
        Some("ana@coop.example")
    );
    for bad in [
        "ana",
        "ana@localhost",
        "a\r\nBcc: x@y.example@z.example",
        "<a@b.example>",
        "a@.example",
    ] {
        assert!(
            matches!(
                store.set_user_email("mail", bad).await,
                Err(StoreError::Invalid { field: "email", .. })
            ),
            "{bad:?} accepted"
        );
    }
    assert_eq!(
        store.get_user("mail").await.unwrap().email.as_deref(),
        Some("ana@coop.example")
    );
    assert_eq!(store.set_user_email("mail", "").await.unwrap().email, None);
    assert!(matches!(
        store.set_user_email("nobody", "a@b.example").await,
        Err(StoreError::NotFound { .. })
    ));
}
