//! Gazette's domain: organisations, authors, articles and their translations,
//! the validation rules they obey, and Markdown rendering. No I/O, no async.

pub mod error;
pub mod html;
mod iso_codes;
pub mod language;
pub mod links;
pub mod local_time;
pub mod markdown;
pub mod media;
pub mod model;
pub mod network;
pub mod printable;
pub mod settings;
pub mod slug;
pub mod validate;

pub use error::{FieldError, ValidationError};
pub use language::{Country, Language};
pub use model::*;
pub use network::{Backfill, FeedCursor, FeedFilter, Member, MemberProfile, MemberStatus, NetworkItem};
