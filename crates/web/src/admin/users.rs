//! `/admin/users` (admins only): the accounts of this interface — invite
//! (create the user and show the one-time link that sets their password),
//! change a role, link an author profile, disable and enable, and make a
//! fresh password link. The same store calls as `gazette user`, so the same
//! rules hold: the last active admin is neither demoted nor disabled, and
//! an author-role user is always linked to the author profile they write as.
//!
//! With `[mail]` configured, a link is also mailed to the user's address
//! (set when inviting, or in their row); the page says whether that
//! worked, and shows the link either way, so a failed send loses nothing.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use gazette_store::{NewUser, Role, StoreError, User};
use serde::Serialize;
use serde_json::json;

use super::session::CsrfForm;
use super::{Admin, AdminResult, Failure, FormError, OrPage, Signed, render};
use crate::AppState;

#[derive(Serialize, Default)]
struct Invite {
    username: String,
    name: String,
    role: String,
    author: String,
    email: String,
}

/// A one-time link just made, shown once.
#[derive(Serialize)]
struct Link {
    username: String,
    url: String,
    until: String,
    invited: bool,
    /// The address the link was mailed to.
    mailed: Option<String>,
    /// The address mailing the link to failed.
    mail_failed: Option<String>,
}

/// What the page shows besides the list.
#[derive(Default)]
struct View {
    invite: Invite,
    errors: Vec<FormError>,
    link: Option<Link>,
    flash: Option<String>,
    status: Option<StatusCode>,
}

/// `GET /admin/users`
pub(crate) async fn get_users(State(state): State<AppState>, Admin(signed): Admin) -> AdminResult {
    let view = View {
        invite: Invite {
            role: "editor".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    page(&state, &signed, view).await
}

async fn page(state: &AppState, signed: &Signed, view: View) -> AdminResult {
    let (users, authors) =
        tokio::try_join!(state.store().list_users(), state.store().list_authors()).or_page(signed)?;
    let author_name = |id: &Option<String>| {
        id.as_deref()
            .and_then(|id| authors.iter().find(|a| a.id == id))
            .map(|a| a.username.clone())
    };
    let rows: Vec<_> = users
        .iter()
        .map(|u| {
            json!({
                "username": u.username,
                "display_name": u.display_name,
                "role": u.role.as_str(),
                "author": author_name(&u.author_id),
                "email": u.email,
                "state": user_state(u),
                "created_at": u.created_at.to_rfc3339(),
                "is_me": u.id == signed.session.user.id,
            })
        })
        .collect();
    let field_errors = super::field_errors(&view.errors);
    let page = json!({
        "rows": rows,
        "authors": authors.iter().map(|a| json!({"username": a.username, "name": a.name})).collect::<Vec<_>>(),
        "roles": Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "invite": view.invite,
        "errors": view.errors,
        "field_errors": field_errors,
        "link": view.link,
        "flash": view.flash,
        "mail_on": state.config().admin.mail.is_some(),
    });
    let mut r = render(state, signed, "users", "admin/users.html", page);
    if let Some(s) = view.status {
        *r.status_mut() = s;
    }
    Ok(r)
}

fn user_state(u: &User) -> &'static str {
    if u.disabled_at.is_some() {
        "disabled"
    } else if !u.has_password {
        "invited"
    } else {
        "active"
    }
}

/// A refused change, as a message in the page in the interface language
/// (beside the field `{prefix}{field}` when `prefix` is not empty);
/// `typed` gives what was typed in each field, which the message names.
fn refusal(
    state: &AppState,
    lang: &str,
    e: &StoreError,
    prefix: &str,
    typed: &[(&str, &str)],
) -> Option<(StatusCode, FormError)> {
    let status = match e {
        StoreError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        StoreError::Conflict { .. } => StatusCode::CONFLICT,
        _ => return None,
    };
    let field = super::store_field(e);
    let value = typed.iter().find(|(f, _)| *f == field).map(|(_, v)| *v).unwrap_or("");
    let id = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}{field}")
    };
    Some((status, FormError::new(id, super::store_message(state, lang, e, value))))
}

/// The users page again with the invitation form as typed and one refusal
/// (and the link, when the account was made before the refusal).
async fn refused_invite(
    state: &AppState,
    signed: &Signed,
    invite: Invite,
    (status, error): (StatusCode, FormError),
    link: Option<Link>,
) -> AdminResult {
    let view = View {
        invite,
        errors: vec![error],
        link,
        status: Some(status),
        ..Default::default()
    };
    page(state, signed, view).await
}

/// A fresh one-time link for `username`.
async fn make_link(state: &AppState, username: &str, invited: bool) -> Result<Link, StoreError> {
    let valid = state.config().admin.reset_link_valid;
    let (user, secret) = state.store().create_password_reset(username, valid).await?;
    let url = state.url(&format!("/admin/reset/{secret}"));
    let until = Utc::now() + valid;
    let (mut mailed, mut mail_failed) = (None, None);
    if let (Some(settings), Some(to)) = (&state.config().admin.mail, &user.email) {
        let message = crate::mail::reset_message(&state.config().instance_name, &user.username, &url, until, to);
        match crate::mail::send(settings, &message.as_message()).await {
            Ok(()) => mailed = Some(to.clone()),
            Err(e) => {
                tracing::warn!(user = user.username, error = %e, "mailing a reset link failed");
                mail_failed = Some(to.clone());
            }
        }
    }
    Ok(Link {
        username: user.username,
        url,
        until: until.to_rfc3339(),
        invited,
        mailed,
        mail_failed,
    })
}

/// `POST /admin/users` — invites a user: creates the account (without a
/// password) and shows the one-time link that sets it, once.
pub(crate) async fn post_invite(State(state): State<AppState>, form: CsrfForm<Admin>) -> AdminResult {
    let signed = &form.signed;
    let f = &form.fields;
    let invite = Invite {
        username: f.get("invite-username").to_owned(),
        name: f.get("invite-name").to_owned(),
        role: f.get("role").to_owned(),
        author: f.get("author").to_owned(),
        email: f.get("invite-email").trim().to_owned(),
    };
    let Some(role) = Role::parse(&invite.role) else {
        let error = FormError::new("invite-role", state.templates().text(&signed.lang, "role_unknown"));
        let refused = (StatusCode::UNPROCESSABLE_ENTITY, error);
        return refused_invite(&state, signed, invite, refused, None).await;
    };
    let typed = [
        ("username", invite.username.clone()),
        ("email", invite.email.clone()),
        ("author", invite.author.clone()),
    ];
    let typed: Vec<(&str, &str)> = typed.iter().map(|(f, v)| (*f, v.as_str())).collect();
    let new = NewUser {
        username: invite.username.clone(),
        display_name: invite.name.clone(),
        role,
        author: Some(invite.author.clone()).filter(|a| !a.trim().is_empty()),
    };
    let user = match state.store().create_user(&new, None).await {
        Ok(u) => u,
        Err(e) => {
            return match refusal(&state, &signed.lang, &e, "invite-", &typed) {
                Some(refused) => refused_invite(&state, signed, invite, refused, None).await,
                None => Err(signed.fail(e)),
            };
        }
    };
    tracing::info!(
        by = signed.session.user.username,
        user = user.username,
        role = user.role.as_str(),
        "user invited"
    );
    if !invite.email.is_empty() {
        // Checked before the account exists would be nicer, but the store
        // owns the rule; a refused address leaves a usable account and link.
        if let Err(e) = state.store().set_user_email(&user.username, &invite.email).await {
            return match refusal(&state, &signed.lang, &e, "invite-", &typed) {
                Some(refused) => match make_link(&state, &user.username, true).await {
                    Ok(link) => refused_invite(&state, signed, invite, refused, Some(link)).await,
                    Err(e) => Err(signed.fail(e)),
                },
                None => Err(signed.fail(e)),
            };
        }
    }
    match make_link(&state, &user.username, true).await {
        Ok(link) => {
            let view = View {
                invite: Invite {
                    role: "editor".into(),
                    ..Default::default()
                },
                link: Some(link),
                ..Default::default()
            };
            page(&state, signed, view).await
        }
        Err(e) => Err(signed.fail(e)),
    }
}

/// `POST /admin/users/{username}/{action}` — `role` (field `role`),
/// `author` (field `author`, empty to unlink), `disable`, `enable`, or
/// `reset` (a new one-time password link, shown once).
pub(crate) async fn post_user_action(
    State(state): State<AppState>,
    Path((username, action)): Path<(String, String)>,
    form: CsrfForm<Admin>,
) -> AdminResult {
    let signed = &form.signed;
    let store = state.store();
    let t = |k: &str| state.templates().text(&signed.lang, k);
    let result = match action.as_str() {
        "role" => match Role::parse(form.fields.get("role")) {
            Some(role) => store.set_user_role(&username, role).await.map(|_| "done_role"),
            None => Err(StoreError::Invalid {
                field: "role",
                message: t("role_unknown"),
            }),
        },
        "author" => {
            let author = Some(form.fields.get("author")).filter(|a| !a.is_empty());
            store.set_user_author(&username, author).await.map(|_| "done_author")
        }
        "email" => store
            .set_user_email(&username, form.fields.get("email"))
            .await
            .map(|_| "done_email"),
        "disable" => store.set_user_disabled(&username, true).await.map(|_| "done_disabled"),
        "enable" => store.set_user_disabled(&username, false).await.map(|_| "done_enabled"),
        "reset" => {
            return match make_link(&state, &username, false).await {
                Ok(link) => {
                    let view = View {
                        invite: Invite {
                            role: "editor".into(),
                            ..Default::default()
                        },
                        link: Some(link),
                        ..Default::default()
                    };
                    page(&state, signed, view).await
                }
                Err(e) => Err(signed.fail(e)),
            };
        }
        _ => return Err(signed.fail(Failure::not_found())),
    };
    let invite = Invite {
        role: "editor".into(),
        ..Default::default()
    };
    match result {
        Ok(key) => {
            tracing::info!(
                by = signed.session.user.username,
                user = username,
                action,
                "user changed"
            );
            let flash = Some(t(key).replace("{user}", &username));
            page(
                &state,
                signed,
                View {
                    invite,
                    flash,
                    ..Default::default()
                },
            )
            .await
        }
        Err(e) => {
            let typed = [
                ("author", form.fields.get("author")),
                ("email", form.fields.get("email")),
            ];
            match refusal(&state, &signed.lang, &e, "", &typed) {
                Some((status, mut err)) => {
                    err.message = format!("{username}: {}", err.message);
                    refused_invite(&state, signed, invite, (status, err), None).await
                }
                None => Err(signed.fail(e)),
            }
        }
    }
}
