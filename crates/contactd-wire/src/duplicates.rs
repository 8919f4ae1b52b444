//! Duplicate suggestions: `GET /v2/contact/{ref}/duplicates` and `GET /v2/duplicates`.

use serde::{Deserialize, Serialize};

use crate::contact::Contact;

/// A contact suggested as a duplicate of another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DuplicateCandidate {
    /// The other contact.
    pub contact: Contact,
    /// 0 to 1: how sure the suggestion is; reasons add up.
    pub score: f64,
    /// `email_normalized`, `identity_overlap`, `name_and_email_domain`, `name_similar`.
    pub reasons: Vec<String>,
}

/// A contact's duplicate suggestions, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DuplicateCandidateList {
    /// The suggestions (at most 100).
    pub data: Vec<DuplicateCandidate>,
}

/// Two contacts suggested as one person; `a` sorts before `b`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DuplicatePair {
    /// A contact id.
    pub a: String,
    /// The other contact's id.
    pub b: String,
    /// 0 to 1: how sure the suggestion is; reasons add up.
    pub score: f64,
    /// `email_normalized`, `identity_overlap`, `name_and_email_domain`, `name_similar`.
    pub reasons: Vec<String>,
}

/// A page of the tenant's duplicate pairs, in the order of their ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DuplicatePairList {
    /// The pairs.
    pub data: Vec<DuplicatePair>,
    /// The page size.
    pub limit: u32,
    /// Whether more pairs follow.
    pub has_more: bool,
    /// Pass as `cursor` for the next page; null on the last.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub next_cursor: Option<String>,
}
