//! The API's JSON, typed: what the server answers (`Contact`, `Conversation`, `Message`,
//! `Segment`, `List`, batch results) and what a request sends (`NewContact`,
//! `ContactUpdate`, `NewSegment`, the list queries). Field names are the API's own.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// A contact's `metadata`: a JSON object of any depth.
pub type Metadata = Map<String, Value>;

macro_rules! api_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// The value as the API writes it.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

api_enum! {
    /// A messaging channel: a contact's `preferred_channel`, a conversation's `channel`.
    Channel {
        /// `whatsapp`
        Whatsapp => "whatsapp",
        /// `instagram`
        Instagram => "instagram",
        /// `sms`
        Sms => "sms",
        /// `email`
        Email => "email",
    }
}

api_enum! {
    /// A contact's `status`.
    ContactStatus {
        /// `active`, the default.
        Active => "active",
        /// `inactive`
        Inactive => "inactive",
        /// `deleted`: only in the answer of a delete.
        Deleted => "deleted",
    }
}

api_enum! {
    /// A conversation's `status`.
    ConversationStatus {
        /// `open`, the default.
        Open => "open",
        /// `closed`
        Closed => "closed",
        /// `archived`
        Archived => "archived",
    }
}

api_enum! {
    /// Which way a message went.
    Direction {
        /// `inbound`: from the contact.
        Inbound => "inbound",
        /// `outbound`: to the contact; it sets the contact's `last_contacted`.
        Outbound => "outbound",
    }
}

api_enum! {
    /// How [`crate::Contacts::batch`] treats each item.
    BatchMode {
        /// Each item is a create; a taken phone or email is an error for that item.
        Create => "create",
        /// Each item is an upsert, as [`crate::Contacts::upsert`].
        Upsert => "upsert",
        /// Each item is a contact as exported (a JSON object with its `id` and timestamps,
        /// sent with [`crate::Contacts::batch_json`]), written back as it was; a taken id,
        /// phone or email is an error for that item.
        Restore => "restore",
    }
}

/// A contact as the API answers it. Every field is always present; unset ones are `None`.
///
/// Timestamps are RFC 3339 strings in UTC (`2026-01-25T10:30:00.000000Z`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// `cnt_` and lowercase letters and digits; sorts by creation.
    pub id: String,
    /// E.164, e.g. `+14155550123`.
    pub phone: Option<String>,
    /// As sent; matched case-insensitively.
    pub email: Option<String>,
    /// The first name.
    pub first_name: Option<String>,
    /// The last name.
    pub last_name: Option<String>,
    /// `first_name` and `last_name` joined by one space. Read-only.
    pub full_name: Option<String>,
    /// The channel to reach the contact on.
    pub preferred_channel: Option<Channel>,
    /// Custom fields; `{}` when none.
    pub metadata: Metadata,
    /// `active`, `inactive`, or `deleted` in the answer of a delete.
    pub status: ContactStatus,
    /// When the contact was created.
    pub created_at: String,
    /// When the contact last changed.
    pub updated_at: String,
    /// When the newest outbound message to the contact was sent.
    pub last_contacted: Option<String>,
    /// The version of the contact from the answer's `ETag` header, for
    /// [`crate::Contacts::update_if_match`]; `None` for contacts read from a list.
    #[serde(skip)]
    pub etag: Option<String>,
}

/// A contact to create (or to upsert). Only the fields set are sent.
///
/// ```
/// use contactd_client::{Channel, NewContact};
/// use serde_json::json;
///
/// let new = NewContact::with_phone("+1234567890")
///     .email("john@example.com")
///     .first_name("John")
///     .last_name("Doe")
///     .preferred_channel(Channel::Whatsapp)
///     .metadata(json!({"plan": "premium"}));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NewContact {
    /// E.164, or a national number when `default_country` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// An email address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The first name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// The last name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// The channel to reach the contact on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_channel: Option<Channel>,
    /// A JSON object; `null` members are dropped. Anything else is `invalid_input`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// `active` (the server's default) or `inactive`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ContactStatus>,
    /// ISO 3166 alpha-2 (`GB`): the server reads a non-E.164 `phone` as that country
    /// writes numbers. Not stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_country: Option<String>,
}

impl NewContact {
    /// An empty contact; set a phone or an email before sending it.
    pub fn new() -> NewContact {
        NewContact::default()
    }

    /// A contact with this phone.
    pub fn with_phone(phone: impl Into<String>) -> NewContact {
        NewContact::new().phone(phone)
    }

    /// A contact with this email.
    pub fn with_email(email: impl Into<String>) -> NewContact {
        NewContact::new().email(email)
    }

    /// Sets the phone.
    pub fn phone(mut self, phone: impl Into<String>) -> NewContact {
        self.phone = Some(phone.into());
        self
    }

    /// Sets the email.
    pub fn email(mut self, email: impl Into<String>) -> NewContact {
        self.email = Some(email.into());
        self
    }

    /// Sets the first name.
    pub fn first_name(mut self, first_name: impl Into<String>) -> NewContact {
        self.first_name = Some(first_name.into());
        self
    }

    /// Sets the last name.
    pub fn last_name(mut self, last_name: impl Into<String>) -> NewContact {
        self.last_name = Some(last_name.into());
        self
    }

    /// Sets the preferred channel.
    pub fn preferred_channel(mut self, channel: Channel) -> NewContact {
        self.preferred_channel = Some(channel);
        self
    }

    /// Sets the metadata, a JSON object (e.g. `json!({"plan": "premium"})`).
    pub fn metadata(mut self, metadata: impl Into<Value>) -> NewContact {
        self.metadata = Some(metadata.into());
        self
    }

    /// Sets the status.
    pub fn status(mut self, status: ContactStatus) -> NewContact {
        self.status = Some(status);
        self
    }

    /// Lets the server read a national `phone` as written in this country (`GB`, `US`).
    pub fn default_country(mut self, country: impl Into<String>) -> NewContact {
        self.default_country = Some(country.into());
        self
    }
}

/// One field of a partial update: left as it is, cleared (sent as `null`), or set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// Not sent: the field keeps its value.
    #[default]
    Keep,
    /// Sent as `null`: the field is cleared.
    Clear,
    /// Sent: the field takes this value.
    Set(T),
}

impl<T> Patch<T> {
    /// Whether the field is left out of the request.
    pub fn is_keep(&self) -> bool {
        matches!(self, Patch::Keep)
    }
}

impl<T> From<Option<T>> for Patch<T> {
    /// `None` clears, `Some` sets.
    fn from(value: Option<T>) -> Self {
        value.map_or(Patch::Clear, Patch::Set)
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Patch::Set(value) => value.serialize(serializer),
            Patch::Keep | Patch::Clear => serializer.serialize_none(),
        }
    }
}

/// A partial update (`PUT /v2/contact/{ref}`): only the fields that are not
/// [`Patch::Keep`] are sent.
///
/// ```
/// use contactd_client::ContactUpdate;
/// use serde_json::json;
///
/// // Metadata merges: "plan" is replaced, "source" removed, other keys stay.
/// let update = ContactUpdate::new()
///     .email("john.doe@newcompany.com")
///     .clear_last_name()
///     .metadata(json!({"plan": "enterprise", "source": null}));
/// assert_eq!(
///     serde_json::to_value(&update).unwrap(),
///     json!({"email": "john.doe@newcompany.com", "last_name": null,
///            "metadata": {"plan": "enterprise", "source": null}}),
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ContactUpdate {
    /// The phone (a contact keeps a phone or an email).
    #[serde(skip_serializing_if = "Patch::is_keep")]
    pub phone: Patch<String>,
    /// The email (a contact keeps a phone or an email).
    #[serde(skip_serializing_if = "Patch::is_keep")]
    pub email: Patch<String>,
    /// The first name.
    #[serde(skip_serializing_if = "Patch::is_keep")]
    pub first_name: Patch<String>,
    /// The last name.
    #[serde(skip_serializing_if = "Patch::is_keep")]
    pub last_name: Patch<String>,
    /// The preferred channel.
    #[serde(skip_serializing_if = "Patch::is_keep")]
    pub preferred_channel: Patch<Channel>,
    /// A JSON Merge Patch for the metadata: keys sent replace, `null` members remove,
    /// nested objects merge. [`Patch::Clear`] empties the metadata.
    #[serde(skip_serializing_if = "Patch::is_keep")]
    pub metadata: Patch<Value>,
    /// `active` or `inactive`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ContactStatus>,
    /// ISO 3166 alpha-2: how to read a national `phone`. Not stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_country: Option<String>,
}

impl ContactUpdate {
    /// An update that changes nothing yet.
    pub fn new() -> ContactUpdate {
        ContactUpdate::default()
    }

    /// Sets the phone.
    pub fn phone(mut self, phone: impl Into<String>) -> ContactUpdate {
        self.phone = Patch::Set(phone.into());
        self
    }

    /// Clears the phone.
    pub fn clear_phone(mut self) -> ContactUpdate {
        self.phone = Patch::Clear;
        self
    }

    /// Sets the email.
    pub fn email(mut self, email: impl Into<String>) -> ContactUpdate {
        self.email = Patch::Set(email.into());
        self
    }

    /// Clears the email.
    pub fn clear_email(mut self) -> ContactUpdate {
        self.email = Patch::Clear;
        self
    }

    /// Sets the first name.
    pub fn first_name(mut self, first_name: impl Into<String>) -> ContactUpdate {
        self.first_name = Patch::Set(first_name.into());
        self
    }

    /// Clears the first name.
    pub fn clear_first_name(mut self) -> ContactUpdate {
        self.first_name = Patch::Clear;
        self
    }

    /// Sets the last name.
    pub fn last_name(mut self, last_name: impl Into<String>) -> ContactUpdate {
        self.last_name = Patch::Set(last_name.into());
        self
    }

    /// Clears the last name.
    pub fn clear_last_name(mut self) -> ContactUpdate {
        self.last_name = Patch::Clear;
        self
    }

    /// Sets the preferred channel.
    pub fn preferred_channel(mut self, channel: Channel) -> ContactUpdate {
        self.preferred_channel = Patch::Set(channel);
        self
    }

    /// Clears the preferred channel.
    pub fn clear_preferred_channel(mut self) -> ContactUpdate {
        self.preferred_channel = Patch::Clear;
        self
    }

    /// Merges this JSON object into the metadata (a `null` member removes its key).
    pub fn metadata(mut self, merge_patch: impl Into<Value>) -> ContactUpdate {
        self.metadata = Patch::Set(merge_patch.into());
        self
    }

    /// Empties the metadata.
    pub fn clear_metadata(mut self) -> ContactUpdate {
        self.metadata = Patch::Clear;
        self
    }

    /// Sets the status.
    pub fn status(mut self, status: ContactStatus) -> ContactUpdate {
        self.status = Some(status);
        self
    }

    /// Lets the server read a national `phone` as written in this country.
    pub fn default_country(mut self, country: impl Into<String>) -> ContactUpdate {
        self.default_country = Some(country.into());
        self
    }
}

/// A page of a list: `{"data", "total", "limit", "offset", "has_more", "next_cursor"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct List<T> {
    /// The items of this page.
    pub data: Vec<T>,
    /// All the items matching the filters; `None` on contact cursor pages unless asked for
    /// with `include_total(true)`, and on a first page with `include_total(false)`.
    pub total: Option<u64>,
    /// The page size asked for.
    pub limit: u32,
    /// Where this page starts; `None` on cursor pages.
    pub offset: Option<u64>,
    /// Whether more items follow.
    pub has_more: bool,
    /// The cursor of the next page of contacts; `None` on the last page and on lists
    /// that page by offset only.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// A filter on a metadata value, e.g. `metadata.plan=premium` or `metadata.mrr[gte]=100`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataFilter {
    /// One to ten keys joined by dots, e.g. `preferences.language`.
    pub path: String,
    /// The comparison.
    pub op: MetadataOp,
    /// The value as text: a string, a number, or `true`/`false`.
    pub value: String,
}

api_enum! {
    /// How a [`MetadataFilter`] compares.
    MetadataOp {
        /// Equals (an array matches when it contains the value).
        Eq => "eq",
        /// Absent or not equal.
        Ne => "ne",
        /// The key is present (`true`) or absent (`false`).
        Exists => "exists",
        /// Greater than (numbers).
        Gt => "gt",
        /// Greater than or equal (numbers).
        Gte => "gte",
        /// Less than (numbers).
        Lt => "lt",
        /// Less than or equal (numbers).
        Lte => "lte",
    }
}

api_enum! {
    /// What a contact list is sorted by.
    SortField {
        /// Creation time, the default.
        CreatedAt => "created_at",
        /// Last change.
        UpdatedAt => "updated_at",
        /// Newest outbound message; contacts never contacted come last.
        LastContacted => "last_contacted",
        /// Full name, case-insensitively.
        FullName => "full_name",
    }
}

/// The order of a contact list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// The field.
    pub field: SortField,
    /// Newest (or greatest) first.
    pub descending: bool,
}

impl Sort {
    /// Ascending by `field`.
    pub fn asc(field: SortField) -> Sort {
        Sort {
            field,
            descending: false,
        }
    }

    /// Descending by `field`.
    pub fn desc(field: SortField) -> Sort {
        Sort {
            field,
            descending: true,
        }
    }
}

impl fmt::Display for Sort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.descending {
            f.write_str("-")?;
        }
        f.write_str(self.field.as_str())
    }
}

/// The filters, order and page of `GET /v2/contact`. Every filter combines with AND.
///
/// ```
/// use contactd_client::{ListContacts, MetadataOp, Sort, SortField};
///
/// let query = ListContacts::new()
///     .q("john")
///     .metadata_eq("plan", "premium")
///     .metadata_filter("mrr", MetadataOp::Gte, 100)
///     .sort(Sort::desc(SortField::UpdatedAt))
///     .limit(50);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListContacts {
    /// A case-insensitive prefix of a name, the email or the phone.
    pub q: Option<String>,
    /// Only contacts with this status.
    pub status: Option<ContactStatus>,
    /// Only contacts with this preferred channel.
    pub preferred_channel: Option<Channel>,
    /// Metadata filters.
    pub metadata: Vec<MetadataFilter>,
    /// Created after this RFC 3339 time (exclusive).
    pub created_after: Option<String>,
    /// Created before this RFC 3339 time (exclusive).
    pub created_before: Option<String>,
    /// Changed after this RFC 3339 time (exclusive).
    pub updated_after: Option<String>,
    /// The order; creation time ascending when `None`.
    pub sort: Option<Sort>,
    /// Page size, 1 to 100 (the server's default is 20).
    pub limit: Option<u32>,
    /// Offset paging: where the page starts.
    pub offset: Option<u64>,
    /// Cursor paging: the `next_cursor` of the previous page (not with `offset`).
    pub cursor: Option<String>,
    /// `Some(true)`: `total` on cursor pages too; `Some(false)`: no `total` on a first
    /// page (offset pages always carry it); `None`: the server's default.
    pub include_total: Option<bool>,
}

impl ListContacts {
    /// All contacts, oldest first.
    pub fn new() -> ListContacts {
        ListContacts::default()
    }

    /// Searches by a prefix of a name, the email or the phone.
    pub fn q(mut self, q: impl Into<String>) -> ListContacts {
        self.q = Some(q.into());
        self
    }

    /// Only contacts with this status.
    pub fn status(mut self, status: ContactStatus) -> ListContacts {
        self.status = Some(status);
        self
    }

    /// Only contacts with this preferred channel.
    pub fn preferred_channel(mut self, channel: Channel) -> ListContacts {
        self.preferred_channel = Some(channel);
        self
    }

    /// Only contacts whose metadata at `path` equals `value` (or, for an array, contains it).
    pub fn metadata_eq(self, path: impl Into<String>, value: impl fmt::Display) -> ListContacts {
        self.metadata_filter(path, MetadataOp::Eq, value)
    }

    /// Only contacts whose metadata at `path` compares to `value` by `op`.
    pub fn metadata_filter(
        mut self,
        path: impl Into<String>,
        op: MetadataOp,
        value: impl fmt::Display,
    ) -> ListContacts {
        self.metadata.push(MetadataFilter {
            path: path.into(),
            op,
            value: value.to_string(),
        });
        self
    }

    /// Created after this RFC 3339 time.
    pub fn created_after(mut self, time: impl Into<String>) -> ListContacts {
        self.created_after = Some(time.into());
        self
    }

    /// Created before this RFC 3339 time.
    pub fn created_before(mut self, time: impl Into<String>) -> ListContacts {
        self.created_before = Some(time.into());
        self
    }

    /// Changed after this RFC 3339 time.
    pub fn updated_after(mut self, time: impl Into<String>) -> ListContacts {
        self.updated_after = Some(time.into());
        self
    }

    /// Sets the order.
    pub fn sort(mut self, sort: Sort) -> ListContacts {
        self.sort = Some(sort);
        self
    }

    /// Sets the page size (1 to 100).
    pub fn limit(mut self, limit: u32) -> ListContacts {
        self.limit = Some(limit);
        self
    }

    /// Starts the page at this offset.
    pub fn offset(mut self, offset: u64) -> ListContacts {
        self.offset = Some(offset);
        self
    }

    /// Starts the page after the one that answered this `next_cursor`.
    pub fn cursor(mut self, cursor: impl Into<String>) -> ListContacts {
        self.cursor = Some(cursor.into());
        self
    }

    /// `true`: cursor pages carry `total` too; `false`: a first page leaves it out
    /// (cheaper when the count is not needed).
    pub fn include_total(mut self, include_total: bool) -> ListContacts {
        self.include_total = Some(include_total);
        self
    }

    /// The filters' query parameters alone (no order, page or cursor), in a stable order:
    /// what [`crate::Contacts::count`] sends and what a segment saves.
    pub(crate) fn filter_query(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        let mut push = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                pairs.push((name.to_owned(), value));
            }
        };
        push("q", self.q.clone());
        push("status", self.status.map(|s| s.to_string()));
        push(
            "preferred_channel",
            self.preferred_channel.map(|c| c.to_string()),
        );
        push("created_after", self.created_after.clone());
        push("created_before", self.created_before.clone());
        push("updated_after", self.updated_after.clone());
        for filter in &self.metadata {
            let name = match filter.op {
                MetadataOp::Eq => format!("metadata.{}", filter.path),
                op => format!("metadata.{}[{op}]", filter.path),
            };
            pairs.push((name, filter.value.clone()));
        }
        pairs
    }

    /// The query string's pairs, in a stable order: the filters, then order and page.
    pub(crate) fn to_query(&self) -> Vec<(String, String)> {
        let mut pairs = self.filter_query();
        pairs.extend(paging_query(
            self.sort,
            self.limit,
            self.offset,
            self.cursor.as_deref(),
            self.include_total,
        ));
        pairs
    }
}

/// The order and page parameters of a contact list (`sort`, `limit`, `offset`, `cursor`,
/// `include_total`).
fn paging_query(
    sort: Option<Sort>,
    limit: Option<u32>,
    offset: Option<u64>,
    cursor: Option<&str>,
    include_total: Option<bool>,
) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut push = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            pairs.push((name.to_owned(), value));
        }
    };
    push("sort", sort.map(|s| s.to_string()));
    push("limit", limit.map(|l| l.to_string()));
    push("offset", offset.map(|o| o.to_string()));
    push("cursor", cursor.map(str::to_owned));
    push("include_total", include_total.map(|t| t.to_string()));
    pairs
}

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
pub struct Segment {
    /// `seg_` and lowercase letters and digits.
    pub id: String,
    /// The name, e.g. `Premium DE`.
    pub name: String,
    /// The filter, as the list's query parameters.
    pub filter: SegmentFilter,
    /// The contacts matching the filter when the segment was read, exactly.
    pub count: u64,
    /// When the segment was created.
    pub created_at: String,
    /// When its name or filter last changed.
    pub updated_at: String,
}

/// A segment to create.
///
/// ```
/// use contactd_client::{ContactStatus, ListContacts, NewSegment};
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewSegment {
    /// 1 to 255 characters.
    pub name: String,
    /// The filter: the list's filter parameters and their values (at most 20).
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SegmentUpdate {
    /// The new name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The new filter, replacing the old one.
    #[serde(skip_serializing_if = "Option::is_none")]
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

/// The order and page of a segment's contacts (`GET /v2/segment/{id}/contacts`); the
/// segment's filter chooses them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListSegmentContacts {
    /// The order; creation time ascending when `None`.
    pub sort: Option<Sort>,
    /// Page size, 1 to 100 (the server's default is 20).
    pub limit: Option<u32>,
    /// Offset paging: where the page starts.
    pub offset: Option<u64>,
    /// Cursor paging: the `next_cursor` of the previous page (not with `offset`).
    pub cursor: Option<String>,
    /// As [`ListContacts::include_total`].
    pub include_total: Option<bool>,
}

impl ListSegmentContacts {
    /// The first page, oldest first.
    pub fn new() -> ListSegmentContacts {
        ListSegmentContacts::default()
    }

    /// Sets the order.
    pub fn sort(mut self, sort: Sort) -> ListSegmentContacts {
        self.sort = Some(sort);
        self
    }

    /// Sets the page size (1 to 100).
    pub fn limit(mut self, limit: u32) -> ListSegmentContacts {
        self.limit = Some(limit);
        self
    }

    /// Starts the page at this offset.
    pub fn offset(mut self, offset: u64) -> ListSegmentContacts {
        self.offset = Some(offset);
        self
    }

    /// Starts the page after the one that answered this `next_cursor`.
    pub fn cursor(mut self, cursor: impl Into<String>) -> ListSegmentContacts {
        self.cursor = Some(cursor.into());
        self
    }

    /// `true`: cursor pages carry `total` too; `false`: a first page leaves it out.
    pub fn include_total(mut self, include_total: bool) -> ListSegmentContacts {
        self.include_total = Some(include_total);
        self
    }

    pub(crate) fn to_query(&self) -> Vec<(String, String)> {
        paging_query(
            self.sort,
            self.limit,
            self.offset,
            self.cursor.as_deref(),
            self.include_total,
        )
    }
}

/// The filters and page of a contact's conversations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListConversations {
    /// Only conversations with this status.
    pub status: Option<ConversationStatus>,
    /// Only conversations on this channel.
    pub channel: Option<Channel>,
    /// Page size, 1 to 100 (the server's default is 20).
    pub limit: Option<u32>,
    /// Where the page starts.
    pub offset: Option<u64>,
}

impl ListConversations {
    /// All the contact's conversations, newest first.
    pub fn new() -> ListConversations {
        ListConversations::default()
    }

    /// Only conversations with this status.
    pub fn status(mut self, status: ConversationStatus) -> ListConversations {
        self.status = Some(status);
        self
    }

    /// Only conversations on this channel.
    pub fn channel(mut self, channel: Channel) -> ListConversations {
        self.channel = Some(channel);
        self
    }

    /// Sets the page size (1 to 100).
    pub fn limit(mut self, limit: u32) -> ListConversations {
        self.limit = Some(limit);
        self
    }

    /// Starts the page at this offset.
    pub fn offset(mut self, offset: u64) -> ListConversations {
        self.offset = Some(offset);
        self
    }

    pub(crate) fn to_query(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        if let Some(status) = self.status {
            pairs.push(("status".to_owned(), status.to_string()));
        }
        if let Some(channel) = self.channel {
            pairs.push(("channel".to_owned(), channel.to_string()));
        }
        pairs.extend(Page::new_opt(self.limit, self.offset).to_query());
        pairs
    }
}

/// A page by offset: `limit` (1 to 100, default 20) and `offset`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Page {
    /// Page size; the server's default (20) when `None`.
    pub limit: Option<u32>,
    /// Where the page starts; 0 when `None`.
    pub offset: Option<u64>,
}

impl Page {
    /// The first page at the server's default size.
    pub fn first() -> Page {
        Page::default()
    }

    /// `limit` items from `offset`.
    pub fn new(limit: u32, offset: u64) -> Page {
        Page::new_opt(Some(limit), Some(offset))
    }

    fn new_opt(limit: Option<u32>, offset: Option<u64>) -> Page {
        Page { limit, offset }
    }

    pub(crate) fn to_query(self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        if let Some(limit) = self.limit {
            pairs.push(("limit".to_owned(), limit.to_string()));
        }
        if let Some(offset) = self.offset {
            pairs.push(("offset".to_owned(), offset.to_string()));
        }
        pairs
    }
}

/// The answer of an upsert: the contact, and whether it was created (`201`) rather than
/// updated (`200`).
#[derive(Debug, Clone, PartialEq)]
pub struct Upserted {
    /// The contact as it is now.
    pub contact: Contact,
    /// `true` when no contact had the phone or email and this one was created.
    pub created: bool,
}

/// The answer of a batch: one result per item, in order, and the counts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BatchResult {
    /// One result per item sent, in order.
    pub results: Vec<BatchItem>,
    /// Items that created a contact.
    pub created: u64,
    /// Items that updated a contact (upsert mode).
    pub updated: u64,
    /// Items whose contact already had every value sent (upsert mode); 0 from a server
    /// that does not tell.
    #[serde(default)]
    pub unchanged: u64,
    /// Items that failed.
    pub errors: u64,
}

impl BatchResult {
    /// The contacts created or updated, in order.
    pub fn contacts(&self) -> impl Iterator<Item = &Contact> {
        self.results.iter().filter_map(BatchItem::contact)
    }
}

/// The result of one item of a batch.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawBatchItem")]
pub struct BatchItem {
    /// The item's position in the request.
    pub index: usize,
    /// What happened to it.
    pub outcome: BatchOutcome,
}

impl BatchItem {
    /// The contact, unless the item failed.
    pub fn contact(&self) -> Option<&Contact> {
        match &self.outcome {
            BatchOutcome::Created(contact)
            | BatchOutcome::Updated(contact)
            | BatchOutcome::Unchanged(contact) => Some(contact),
            BatchOutcome::Failed(_) => None,
        }
    }

    /// The error, if the item failed.
    pub fn error(&self) -> Option<&ApiError> {
        match &self.outcome {
            BatchOutcome::Failed(error) => Some(error),
            _ => None,
        }
    }
}

/// What happened to one item of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchOutcome {
    /// `"status": "created"`.
    Created(Contact),
    /// `"status": "updated"` (upsert mode).
    Updated(Contact),
    /// `"status": "unchanged"` (upsert mode): the contact already had every value sent.
    Unchanged(Contact),
    /// `"status": "error"`, with the error envelope; see [`ApiError::into_error`].
    Failed(ApiError),
}

#[derive(Deserialize)]
struct RawBatchItem {
    index: usize,
    status: String,
    contact: Option<Contact>,
    error: Option<ApiError>,
}

impl TryFrom<RawBatchItem> for BatchItem {
    type Error = String;

    fn try_from(raw: RawBatchItem) -> Result<Self, Self::Error> {
        let outcome = match (raw.status.as_str(), raw.contact, raw.error) {
            ("created", Some(contact), _) => BatchOutcome::Created(contact),
            ("updated", Some(contact), _) => BatchOutcome::Updated(contact),
            ("unchanged", Some(contact), _) => BatchOutcome::Unchanged(contact),
            ("error", _, Some(error)) => BatchOutcome::Failed(error),
            (status, _, _) => {
                return Err(format!(
                    "batch item {}: unexpected status {status:?} or missing contact/error",
                    raw.index
                ))
            }
        };
        Ok(BatchItem {
            index: raw.index,
            outcome,
        })
    }
}

/// A conversation with a contact on one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    /// `conv_` and lowercase letters and digits.
    pub id: String,
    /// The contact's id.
    pub contact_id: String,
    /// The channel.
    pub channel: Channel,
    /// `open`, `closed` or `archived`.
    pub status: ConversationStatus,
    /// When the conversation was created.
    pub created_at: String,
    /// When it last changed (a status change or a new message).
    pub updated_at: String,
    /// The `created_at` of the newest message.
    pub last_message_at: Option<String>,
    /// How many messages it holds.
    pub message_count: u64,
}

/// A conversation to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewConversation {
    /// Any contact ref: id, phone or email; the server stores the id.
    pub contact_id: String,
    /// The channel.
    pub channel: Channel,
    /// `open` (the server's default), `closed` or `archived`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ConversationStatus>,
}

impl NewConversation {
    /// An open conversation with the contact `contact_ref` (id, phone or email) on `channel`.
    pub fn new(contact_ref: impl Into<String>, channel: Channel) -> NewConversation {
        NewConversation {
            contact_id: contact_ref.into(),
            channel,
            status: None,
        }
    }

    /// Sets the status.
    pub fn status(mut self, status: ConversationStatus) -> NewConversation {
        self.status = Some(status);
        self
    }
}

/// A message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `msg_` and lowercase letters and digits.
    pub id: String,
    /// The conversation's id.
    pub conversation_id: String,
    /// `inbound` or `outbound`.
    pub direction: Direction,
    /// The text.
    pub text: String,
    /// When the message was created.
    pub created_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_patch_sends_only_what_changes() {
        assert_eq!(
            serde_json::to_value(ContactUpdate::new()).unwrap(),
            json!({})
        );
        let update = ContactUpdate::new()
            .first_name("Jo")
            .clear_email()
            .clear_preferred_channel()
            .clear_metadata()
            .status(ContactStatus::Inactive);
        assert_eq!(
            serde_json::to_value(update).unwrap(),
            json!({"first_name": "Jo", "email": null, "preferred_channel": null,
                   "metadata": null, "status": "inactive"})
        );
        assert_eq!(Patch::from(None::<String>), Patch::Clear);
        assert_eq!(Patch::from(Some(1)), Patch::Set(1));
    }

    #[test]
    fn a_new_contact_sends_only_what_is_set() {
        let new = NewContact::with_email("a@example.com").default_country("GB");
        assert_eq!(
            serde_json::to_value(new).unwrap(),
            json!({"email": "a@example.com", "default_country": "GB"})
        );
    }

    #[test]
    fn list_queries_use_the_api_parameter_names() {
        let query = ListContacts::new()
            .q("jo")
            .status(ContactStatus::Active)
            .preferred_channel(Channel::Sms)
            .metadata_eq("plan", "premium")
            .metadata_filter("mrr", MetadataOp::Gt, 100)
            .metadata_filter("tags", MetadataOp::Exists, true)
            .sort(Sort::desc(SortField::UpdatedAt))
            .limit(5)
            .cursor("abc")
            .include_total(true);
        let expected: Vec<(String, String)> = [
            ("q", "jo"),
            ("status", "active"),
            ("preferred_channel", "sms"),
            ("metadata.plan", "premium"),
            ("metadata.mrr[gt]", "100"),
            ("metadata.tags[exists]", "true"),
            ("sort", "-updated_at"),
            ("limit", "5"),
            ("cursor", "abc"),
            ("include_total", "true"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(query.to_query(), expected);
        assert_eq!(query.filter_query(), expected[..6]);
    }

    #[test]
    fn segments_save_the_list_filters_only() {
        let query = ListContacts::new()
            .metadata_eq("plan", "premium")
            .metadata_filter("mrr", MetadataOp::Gte, 100)
            .status(ContactStatus::Active)
            .sort(Sort::desc(SortField::UpdatedAt))
            .limit(5)
            .include_total(false);
        assert_eq!(
            serde_json::to_value(NewSegment::new("Premium", &query)).unwrap(),
            json!({"name": "Premium", "filter": {"metadata.plan": "premium",
                "metadata.mrr[gte]": "100", "status": "active"}})
        );
        assert_eq!(
            serde_json::to_value(SegmentUpdate::new().name("Premium DE")).unwrap(),
            json!({"name": "Premium DE"})
        );
        assert_eq!(
            serde_json::to_value(SegmentUpdate::new().filter(&ListContacts::new())).unwrap(),
            json!({"filter": {}})
        );
        let page = ListSegmentContacts::new()
            .sort(Sort::asc(SortField::FullName))
            .limit(10)
            .cursor("c")
            .include_total(true);
        let pairs: Vec<(String, String)> = [
            ("sort", "full_name"),
            ("limit", "10"),
            ("cursor", "c"),
            ("include_total", "true"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(page.to_query(), pairs);
    }

    #[test]
    fn batch_items_read_each_status() {
        let contact = json!({"id": "cnt_0000000000000000", "phone": "+14155550100",
            "email": null, "first_name": null, "last_name": null, "full_name": null,
            "preferred_channel": null, "metadata": {}, "status": "active",
            "created_at": "2026-01-25T10:30:00.000000Z",
            "updated_at": "2026-01-25T10:30:00.000000Z", "last_contacted": null});
        let result: BatchResult = serde_json::from_value(json!({
            "results": [
                {"index": 0, "status": "created", "contact": contact},
                {"index": 1, "status": "updated", "contact": contact},
                {"index": 2, "status": "error", "error": {"error": "invalid_input",
                    "message": "bad", "code": 400, "details": {"field": "phone"}}},
            ],
            "created": 1, "updated": 1, "errors": 1}))
        .unwrap();
        assert!(matches!(
            result.results[0].outcome,
            BatchOutcome::Created(_)
        ));
        assert!(matches!(
            result.results[1].outcome,
            BatchOutcome::Updated(_)
        ));
        assert_eq!(result.results[2].error().map(|e| e.code), Some(400));
        assert_eq!(result.contacts().count(), 2);
        let bad = json!({"results": [{"index": 0, "status": "weird"}],
            "created": 0, "updated": 0, "errors": 0});
        assert!(serde_json::from_value::<BatchResult>(bad).is_err());
    }
}
