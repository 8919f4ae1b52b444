//! Merging two contacts (`POST /v2/contact/{ref}/merge`), undoing a merge, and a
//! contact's merge history.

use serde::{Deserialize, Serialize};

use crate::contact::Contact;

/// The body of `POST /v2/contact/{ref}/merge`: the contact to fold into the one the path
/// names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"source": "cnt_038ggac0fy000a0wp1kh1adwpwetq", "dry_run": true})))]
pub struct MergeRequest {
    /// The source: any contact ref (id, phone, email, `TYPE:VALUE`).
    pub source: String,
    /// Answer what the merge would do, and change nothing. `false` unless sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}

/// What a merge moved from the source to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MergeMoved {
    /// Conversations moved.
    pub conversations: u64,
    /// Messages in them.
    pub messages: u64,
}

/// A merge: the target kept, the source folded into it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Merge {
    /// `mrg_…`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^mrg_[0-9a-z]+$"))]
    pub id: String,
    /// The contact kept.
    pub target_id: String,
    /// The contact folded into it; its id stays a ref to the target until an undo.
    pub source_id: String,
    /// What moved.
    pub moved: MergeMoved,
    /// When the merge happened.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    /// When it was undone; null while it stands.
    #[cfg_attr(feature = "openapi", schema(required = true, format = DateTime))]
    pub undone_at: Option<String>,
}

/// The answer to a merge (or its dry run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MergeResult {
    /// The surviving contact.
    pub contact: Contact,
    /// The merge.
    pub merge: Merge,
}

/// The answer to an undo: both contacts as they are again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UndoResult {
    /// The target, with its fields as before the merge.
    pub target: Contact,
    /// The source, back with its id, fields, identities and conversations.
    pub source: Contact,
    /// The merge, with `undone_at` set.
    pub merge: Merge,
}

/// The merges a contact took part in, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MergeList {
    /// The merges.
    pub data: Vec<Merge>,
}
