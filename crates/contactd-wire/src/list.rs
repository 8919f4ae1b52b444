//! A page of a list, and the query strings of the lists: filters, order and paging.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::enums::{Channel, ContactStatus, ConversationStatus, MetadataOp, SortField};

/// A page of a list: `{"data", "total", "limit", "offset", "has_more", "next_cursor"}`.
///
/// Contact lists page by offset or by cursor; the conversation, message and segment lists
/// by offset only ([`OffsetList`]), which this type reads too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct List<T> {
    /// The items of this page.
    pub data: Vec<T>,
    /// All the items matching the filters, exactly; null on cursor pages unless
    /// `include_total=true`, and on a first page with `include_total=false`.
    #[cfg_attr(feature = "openapi", schema(required = true, example = 42))]
    pub total: Option<u64>,
    /// The page size asked for.
    #[cfg_attr(feature = "openapi", schema(example = 20))]
    pub limit: u32,
    /// Where this page starts; null on cursor pages.
    #[cfg_attr(feature = "openapi", schema(required = true, example = 0))]
    pub offset: Option<u64>,
    /// Whether more items follow.
    pub has_more: bool,
    /// The `cursor` of the next page; null on the last page (and absent from lists that
    /// page by offset only).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub next_cursor: Option<String>,
}

/// A page of a list paged by offset only:
/// `{"data": [...], "total": 42, "limit": 20, "offset": 0, "has_more": true}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OffsetList<T> {
    /// The items of this page.
    pub data: Vec<T>,
    /// All the items matching the filters.
    #[cfg_attr(feature = "openapi", schema(example = 42))]
    pub total: u64,
    /// The page size asked for.
    #[cfg_attr(feature = "openapi", schema(example = 20))]
    pub limit: u32,
    /// Where this page starts.
    #[cfg_attr(feature = "openapi", schema(example = 0))]
    pub offset: u64,
    /// Whether more items follow.
    pub has_more: bool,
}

/// `GET /v2/contact/count`: `{"total": 42}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ContactCount))]
pub struct Count {
    /// Contacts matching the filters, exactly.
    #[cfg_attr(feature = "openapi", schema(example = 42))]
    pub total: u64,
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
/// use contactd_wire::{ListContacts, MetadataOp, Sort, SortField};
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
    /// what a count sends and what a segment saves.
    pub fn filter_query(&self) -> Vec<(String, String)> {
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
    pub fn to_query(&self) -> Vec<(String, String)> {
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

    /// The query string's pairs, in a stable order.
    pub fn to_query(&self) -> Vec<(String, String)> {
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

    /// The query string's pairs, in a stable order.
    pub fn to_query(&self) -> Vec<(String, String)> {
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

    /// The query string's pairs: `limit` and `offset` when set.
    pub fn to_query(self) -> Vec<(String, String)> {
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
