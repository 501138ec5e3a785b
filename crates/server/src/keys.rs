//! `gazette keys list|rotate|retire`: the signing keys of local actors.
//! Rotating makes a new RSA key (named `#key-<n>`) and a new Ed25519 key
//! for integrity proofs (`#ed25519-key-<n>`), sends an `Update` of the
//! actor with them to the actor's followers through the delivery queue,
//! and keeps the old keys served for `federation.key_grace_days`; retiring
//! ends that grace period at once. A running server signs with the new key at
//! once (its worker re-reads keys on the store's change signal, its signed
//! GETs read the key per request) and stops serving an old key once it
//! retires (within a minute: its cache of public answers; the server's
//! hourly task deletes retired keys).

use chrono::{DateTime, Utc};
use gazette_federation::keys::{self, INSTANCE_KEY, ReplacedKeys};
use gazette_federation::{FedContext, FederationError, LocalActor, outbound};
use gazette_store::Store;

use crate::app;
use crate::cli::KeysCommand;
use crate::config::Config;
use crate::error::CliError;

/// Runs one `gazette keys` subcommand against the configured database.
pub async fn run(config: &Config, cmd: KeysCommand) -> Result<(), CliError> {
    let store = app::open_store(config).await?;
    let result = act(&store, config, cmd).await;
    store.close().await;
    result
}

/// How long after a rotation its `Update` goes out: more than the delay of
/// the store's change signal (PostgreSQL notifies at once; SQLite's change
/// counter is read a few times a second), so running servers sign with the
/// new key and serve the new actor document by then.
const UPDATE_DELAY: chrono::Duration = chrono::Duration::seconds(2);

/// One local actor whose key the command touches.
struct Target {
    local_key: String,
    actor_id: String,
    username: String,
    /// `None` for the instance actor, which has no followers.
    actor: Option<LocalActor>,
}

async fn act(store: &Store, config: &Config, cmd: KeysCommand) -> Result<(), CliError> {
    let ctx = app::fed_context(config, store)?;
    let now = Utc::now();
    match cmd {
        KeysCommand::List { actor } => {
            for target in targets(&ctx, actor.as_deref()).await? {
                list(&ctx, &target, now).await?;
            }
        }
        KeysCommand::Rotate { actor } => {
            let grace = chrono::Duration::days(i64::try_from(config.federation.key_grace_days).unwrap_or(i64::MAX));
            for target in targets(&ctx, actor.as_deref()).await? {
                rotate(&ctx, &target, now, grace).await?;
            }
        }
        KeysCommand::Retire { actor } => {
            for target in targets(&ctx, actor.as_deref()).await? {
                let n = store.retire_old_actor_keys(Some(&target.local_key)).await?;
                if n > 0 {
                    println!("{}: {n} old key(s) retired, no longer served", target.actor_id);
                }
            }
        }
    }
    Ok(())
}

/// The actors `wanted` names (a username, `@username`, or an actor URL;
/// the instance actor by its URL or host name), or every local actor.
async fn targets(ctx: &FedContext, wanted: Option<&str>) -> Result<Vec<Target>, CliError> {
    let urls = ctx.urls();
    let mut all = vec![Target {
        local_key: INSTANCE_KEY.to_owned(),
        actor_id: urls.instance_actor(),
        username: urls.instance_username(),
        actor: None,
    }];
    for actor in outbound::local_actors(ctx).await.map_err(federation)? {
        all.push(Target {
            local_key: actor.key_name(),
            actor_id: urls.actor(actor.username()),
            username: actor.username().to_owned(),
            actor: Some(actor),
        });
    }
    let Some(wanted) = wanted.map(str::trim) else {
        return Ok(all);
    };
    let name = wanted.trim_start_matches('@');
    let names: Vec<String> = all.iter().map(|t| t.username.clone()).collect();
    match all.into_iter().find(|t| t.actor_id == wanted || t.username == name) {
        Some(t) => Ok(vec![t]),
        None => Err(CliError::Usage(format!(
            "`{wanted}` is no local actor; local actors: {}",
            names.join(", ")
        ))),
    }
}

async fn list(ctx: &FedContext, target: &Target, now: DateTime<Utc>) -> Result<(), CliError> {
    let urls = ctx.urls();
    let store = ctx.store();
    println!("{}", target.actor_id);
    match store.find_current_actor_key(&target.local_key).await? {
        Some(current) => println!(
            "  current  {}  made {}",
            urls.key_id_with(&target.actor_id, &current.key_fragment),
            when(current.created_at)
        ),
        None => println!("  no key yet (made when first served or used)"),
    }
    for old in store.live_old_actor_keys(&target.local_key, now).await? {
        println!(
            "  old      {}  served until {}",
            urls.key_id_with(&target.actor_id, &old.key_fragment),
            when(old.retires_at)
        );
    }
    // The Ed25519 key of integrity proofs (none for the instance actor).
    if let Some(current) = store.find_ed25519_key(&target.local_key).await? {
        println!(
            "  current  {}  (Ed25519)",
            urls.key_id_with(&target.actor_id, &current.key_fragment)
        );
    }
    for old in store.live_old_ed25519_keys(&target.local_key, now).await? {
        println!(
            "  old      {}  (Ed25519) listed until {}",
            urls.key_id_with(&target.actor_id, &old.key_fragment),
            when(old.retires_at)
        );
    }
    Ok(())
}

async fn rotate(
    ctx: &FedContext,
    target: &Target,
    now: DateTime<Utc>,
    grace: chrono::Duration,
) -> Result<(), CliError> {
    let urls = ctx.urls();
    let previous = ctx.store().find_current_actor_key(&target.local_key).await?;
    let Some(previous) = previous else {
        // Nothing signed or served yet: its first key is as new as can be.
        let key = keys::current_key(ctx, &target.local_key).await.map_err(federation)?;
        println!(
            "{}: had no key; made {}",
            target.actor_id,
            urls.key_id_with(&target.actor_id, &key.key_fragment)
        );
        return Ok(());
    };
    let rotated = keys::rotate(ctx, &target.local_key, now, grace)
        .await
        .map_err(federation)?;
    let old_id = urls.key_id_with(&target.actor_id, &previous.key_fragment);
    let new_id = urls.key_id_with(&target.actor_id, &rotated.rsa.key_fragment);
    if grace > chrono::Duration::zero() {
        println!(
            "{}: new key {new_id}; the old key {old_id} is served until {}",
            target.actor_id,
            when(now + grace)
        );
    } else {
        println!("{}: new key {new_id}; the old key {old_id} is retired", target.actor_id);
    }
    // The Ed25519 key replaced now: the generation before the new one
    // (`keys::rotate` made a first key if the actor had none yet).
    let replaced_ed25519 = rotated.ed25519.as_ref().map(|new| {
        let old_fragment = gazette_store::ed25519_key_fragment(new.generation - 1);
        let listed = if grace > chrono::Duration::zero() {
            "listed as long as the old key"
        } else {
            "retired"
        };
        println!(
            "  new Ed25519 key {}; the old one {} is {listed}",
            urls.key_id_with(&target.actor_id, &new.key_fragment),
            urls.key_id_with(&target.actor_id, &old_fragment)
        );
        old_fragment
    });
    if let Some(actor) = &target.actor {
        // Sent once every running server has heard of the new key (the
        // store's change signal takes a fraction of a second): a follower
        // that fetches the actor document to check the Update's signature
        // gets the new key, not a page cached before the rotation.
        let not_before = Utc::now() + UPDATE_DELAY;
        // Signed with the replaced keys, which every follower holds, while
        // they are in their grace period (with none, the new keys sign):
        // the HTTP signature with the old RSA key, the integrity proof
        // with the old Ed25519 key.
        let signed_with = (grace > chrono::Duration::zero()).then(|| ReplacedKeys {
            rsa_fragment: previous.key_fragment.clone(),
            ed25519_fragment: replaced_ed25519,
        });
        let queued = outbound::queue_actor_update(ctx, actor, Some(not_before), signed_with.as_ref())
            .await
            .map_err(federation)?;
        println!("  Update with the new keys queued to {queued} inbox(es)");
    }
    Ok(())
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn federation(e: FederationError) -> CliError {
    match e {
        FederationError::Store(e) => CliError::Store(e),
        other => CliError::Federation(other.to_string()),
    }
}
