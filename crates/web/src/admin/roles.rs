//! Who may open a page, said in the handler's signature: [`Editor`] and
//! [`Admin`] extract the signed-in request of a user with that role (a GET
//! without a session goes to the sign-in page, as for [`Signed`]; another
//! role gets the 403 page). Forms name the role as a parameter instead,
//! `CsrfForm<Editor>` or `MaybeSigned<Admin>`, so the role is checked after
//! the session and the CSRF token, as before any role rule. Who may do
//! what is described in docs/ADMIN.md.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use gazette_store::Role;

use super::Signed;
use super::error::AdminError;
use crate::AppState;

/// A rule on who may use a page, checked once the session is known.
pub(crate) trait Needs {
    /// `Err` (the page to show) when `signed` may not use the page.
    fn check(signed: &Signed) -> Result<(), AdminError>;
}

/// Everyone signed in, whatever their role.
pub(crate) struct Anyone;

impl Needs for Anyone {
    fn check(_: &Signed) -> Result<(), AdminError> {
        Ok(())
    }
}

/// A signed-in editor or admin.
pub(crate) struct Editor(pub(crate) Signed);

impl Needs for Editor {
    fn check(signed: &Signed) -> Result<(), AdminError> {
        match signed.session.user.role.is_editor() {
            true => Ok(()),
            false => Err(signed.forbidden()),
        }
    }
}

/// A signed-in admin.
pub(crate) struct Admin(pub(crate) Signed);

impl Needs for Admin {
    fn check(signed: &Signed) -> Result<(), AdminError> {
        match signed.session.user.role == Role::Admin {
            true => Ok(()),
            false => Err(signed.forbidden()),
        }
    }
}

/// The signed-in request of `parts` when rule `R` lets its user in.
pub(crate) async fn signed_as<R: Needs>(parts: &mut Parts, state: &AppState) -> Result<Signed, Response> {
    let signed = Signed::from_request_parts(parts, state).await?;
    R::check(&signed).map_err(IntoResponse::into_response)?;
    Ok(signed)
}

impl FromRequestParts<AppState> for Editor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        signed_as::<Editor>(parts, state).await.map(Editor)
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        signed_as::<Admin>(parts, state).await.map(Admin)
    }
}
