//! `gazette user …`: accounts of the web interface at `/admin`. Passwords
//! never appear on the command line: a new user gets a one-time link to set
//! theirs (or the password is read from standard input), and
//! `reset-password` prints such a link; no mail server is needed. When
//! `[mail]` is configured and the user has an address, the link is also
//! mailed; a failed send is reported on stderr and the printed link stands.

use std::io::BufRead;

use chrono::{Duration, Utc};
use gazette_store::{NewUser, Role, Store, User};

use crate::app;
use crate::cli::UserCommand;
use crate::config::Config;
use crate::error::CliError;

/// Runs one `gazette user` subcommand against the configured database.
pub async fn run(config: &Config, cmd: UserCommand) -> Result<(), CliError> {
    let store = app::open_store(config).await?;
    let result = act(&store, config, cmd).await;
    store.close().await;
    result
}

fn role(raw: &str) -> Result<Role, CliError> {
    Role::parse(raw).ok_or_else(|| CliError::Usage(format!("unknown role `{raw}`: expected admin, editor or author")))
}

async fn act(store: &Store, config: &Config, cmd: UserCommand) -> Result<(), CliError> {
    match cmd {
        UserCommand::Create {
            username,
            role: raw_role,
            name,
            author,
            password_stdin,
            email,
        } => {
            // The store refuses an author-role user without --author (field `author`).
            let role = role(&raw_role)?;
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).map_err(|e| CliError::Io {
                    what: "cannot read the password from standard input".into(),
                    source: e,
                })?;
                Some(line.trim_end_matches(['\r', '\n']).to_owned())
            } else {
                None
            };
            let new = NewUser {
                username,
                display_name: name.unwrap_or_default(),
                role,
                author,
            };
            let user = store.create_user(&new, password.as_deref()).await?;
            if let Some(email) = email.as_deref().filter(|e| !e.trim().is_empty()) {
                store.set_user_email(&user.username, email).await?;
            }
            println!("user `{}` created with role {}", user.username, user.role.as_str());
            if password.is_none() {
                print_reset_link(store, config, &user.username, "to set a password").await?;
            } else {
                println!("sign in at {}/admin", config.instance.public_url);
            }
        }
        UserCommand::List => {
            let users = store.list_users().await?;
            println!("{:<24} {:<8} {:<9} {:<20} NAME", "USERNAME", "ROLE", "STATE", "CREATED");
            for u in &users {
                println!(
                    "{:<24} {:<8} {:<9} {:<20} {}",
                    u.username,
                    u.role.as_str(),
                    state(u),
                    u.created_at.format("%Y-%m-%d %H:%M"),
                    u.display_name
                );
            }
            println!("{} user(s)", users.len());
        }
        UserCommand::SetRole { username, role: raw } => {
            let user = store.set_user_role(&username, role(&raw)?).await?;
            println!("`{}` is now {}", user.username, user.role.as_str());
        }
        UserCommand::Disable { username } => {
            let user = store.set_user_disabled(&username, true).await?;
            println!("`{}` is disabled and signed out everywhere", user.username);
        }
        UserCommand::Enable { username } => {
            let user = store.set_user_disabled(&username, false).await?;
            println!("`{}` may sign in again", user.username);
        }
        UserCommand::ResetPassword { username } => {
            print_reset_link(store, config, &username, "to set a new password").await?;
        }
        UserCommand::SetEmail { username, email } => {
            let user = store.set_user_email(&username, &email).await?;
            match &user.email {
                Some(e) => println!("one-time links for `{}` go to {e}", user.username),
                None => println!("`{}` has no mail address: links are only printed", user.username),
            }
        }
    }
    Ok(())
}

fn state(u: &User) -> &'static str {
    if u.disabled_at.is_some() {
        "disabled"
    } else if !u.has_password {
        "invited"
    } else {
        "active"
    }
}

/// Creates a one-time link and prints it on the last line.
async fn print_reset_link(store: &Store, config: &Config, username: &str, why: &str) -> Result<(), CliError> {
    // A year at most: chrono's durations are bounded, and a longer-lived link makes no sense.
    let hours = i64::try_from(config.admin.reset_link_hours.min(24 * 366)).unwrap_or(24);
    let (user, secret) = store.create_password_reset(username, Duration::hours(hours)).await?;
    let until = Utc::now() + Duration::hours(hours);
    println!(
        "one-time link for `{}` {why}, valid until {} UTC (give it to them privately):",
        user.username,
        until.format("%Y-%m-%d %H:%M")
    );
    let link = format!("{}/admin/reset/{secret}", config.instance.public_url);
    println!("{link}");
    // The link is printed first: a mail that fails loses nothing.
    if let (Some(settings), Some(to)) = (config.mail.settings(&config.instance.public_url), user.email.as_deref()) {
        let message = gazette_web::mail::reset_message(&config.instance.name, &user.username, &link, until, to);
        match gazette_web::mail::send(&settings, &message.as_message()).await {
            Ok(()) => eprintln!("the link was also mailed to {to}"),
            Err(e) => {
                tracing::warn!(user = %user.username, error = %e, "mailing a reset link failed");
                eprintln!("could not mail the link to {to} ({e}): give it to them yourself");
            }
        }
    }
    Ok(())
}
