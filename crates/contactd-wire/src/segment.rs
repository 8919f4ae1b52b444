//! Saved segments: a name and a contact filter.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::de::not_null;
use crate::list::ListContacts;

/// A segment's filter: the contact list's filter parameters and their values as strings,
/// e.g. `{"metadata.plan": "premium", "status": "active"}`.
pub type SegmentFilter = BTreeMap<String, String>;

impl From<&ListContacts> for SegmentFilter {
    /// The query's filters (its order and page are not part of a filter).
    fn from(query: &ListContacts) -> SegmentFilter {
        query.filter_query().into_iter().collect()
    }
}

/// A saved segment (`/v2/segment`): a name and a contact filter, with the number of
/// contacts it matches, computed when it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Segment {
    /// `seg_` and lowercase letters and digits.
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = "^seg_[0-9a-z]+$",
            example = "seg_038ggac0fy000a0wp1kh1adwpwetq"
        )
    )]
    pub id: String,
    /// The name, e.g. `Premium DE`.
    #[cfg_attr(feature = "openapi", schema(example = "Premium DE"))]
    pub name: String,
    /// The filter: the list's query parameters, as strings.
    #[cfg_attr(feature = "openapi", schema(
        value_type = BTreeMap<String, String>,
        example = json!({"metadata.plan": "premium", "status": "active"})
    ))]
    pub filter: SegmentFilter,
    /// Contacts matching the filter now, exactly.
    #[cfg_attr(feature = "openapi", schema(example = 1042))]
    pub count: u64,
    /// When the segment was created.
    #[cfg_attr(feature = "openapi", schema(format = DateTime, example = "2026-01-25T10:30:00.000000Z"))]
    pub created_at: String,
    /// When its name or filter last changed.
    #[cfg_attr(feature = "openapi", schema(format = DateTime, example = "2026-01-25T10:30:00.000000Z"))]
    pub updated_at: String,
}

/// A segment to create.
///
/// ```
/// use contactd_wire::{ContactStatus, ListContacts, NewSegment};
///
/// let premium = NewSegment::new(
///     "Premium DE",
///     &ListContacts::new()
///         .metadata_eq("plan", "premium")
///         .metadata_eq("country", "DE")
///         .status(ContactStatus::Active),
/// );
/// assert_eq!(premium.filter["metadata.plan"], "premium");
/// assert_eq!(premium.filter["status"], "active");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = SegmentCreate, description = "`POST /v2/segment`: a name \
    and a contact filter.", example = json!({"name": "Premium DE",
    "filter": {"metadata.plan": "premium", "metadata.country": "DE", "status": "active"}})))]
pub struct NewSegment {
    /// Not blank, at most 255 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 255))]
    pub name: String,
    /// The list's filter parameters (`status`, `preferred_channel`, `q`, `created_after`,
    /// `created_before`, `updated_after`, `metadata.PATH[OP]`) and their values, as
    /// strings; at most 20.
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, String>))]
    pub filter: SegmentFilter,
}

impl NewSegment {
    /// A segment named `name` of the contacts `filter` matches; only its filters count
    /// (not its order, page or cursor).
    pub fn new(name: impl Into<String>, filter: &ListContacts) -> NewSegment {
        NewSegment {
            name: name.into(),
            filter: SegmentFilter::from(filter),
        }
    }
}

/// A change of a segment's name, filter or both (`PUT /v2/segment/{id}`); the filter is
/// replaced whole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"name": "Premium DE, active"})))]
pub struct SegmentUpdate {
    /// The new name; cannot be null.
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(nullable = false, min_length = 1, max_length = 255)
    )]
    pub name: Option<String>,
    /// The new filter, replacing the old one; cannot be null.
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(nullable = false, value_type = Option<BTreeMap<String, String>>))]
    pub filter: Option<SegmentFilter>,
}

impl SegmentUpdate {
    /// An update that changes nothing yet.
    pub fn new() -> SegmentUpdate {
        SegmentUpdate::default()
    }

    /// Renames the segment.
    pub fn name(mut self, name: impl Into<String>) -> SegmentUpdate {
        self.name = Some(name.into());
        self
    }

    /// Replaces the filter with the filters of `filter`.
    pub fn filter(mut self, filter: &ListContacts) -> SegmentUpdate {
        self.filter = Some(SegmentFilter::from(filter));
        self
    }
}
