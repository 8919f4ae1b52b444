//! `/v2/segment`: saved contact filters with live counts, and their contacts.
//!
//! A segment keeps the contact list's filter parameters under a name; its `count` and its
//! contacts are computed from them whenever they are read, so they are always exact.

use reqwest::Method;

use crate::client::{id_path, Call, Client};
use crate::contacts::{ContactPager, Source};
use crate::error::Result;
use crate::models::{Contact, List, ListSegmentContacts, NewSegment, Page, Segment, SegmentUpdate};

const SEGMENTS: &str = "/v2/segment";

/// The saved segments of the key's workspace: `client.segments()`.
///
/// ```no_run
/// # async fn f(client: contactd_client::Client) -> contactd_client::Result<()> {
/// use contactd_client::{ListContacts, ListSegmentContacts, NewSegment};
///
/// let premium = client
///     .segments()
///     .create(&NewSegment::new("Premium", &ListContacts::new().metadata_eq("plan", "premium")))
///     .await?;
/// println!("{} contacts", premium.count);
/// let everyone = client
///     .segments()
///     .all_contacts(&premium.id, &ListSegmentContacts::new().limit(100))
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Segments<'a> {
    client: &'a Client,
}

impl<'a> Segments<'a> {
    pub(crate) fn new(client: &'a Client) -> Segments<'a> {
        Segments { client }
    }

    /// Saves a segment (`POST /v2/segment`); answers it with its count.
    ///
    /// A filter the list would refuse is [`crate::Error::InvalidInput`] with `field`
    /// `filter.NAME`.
    pub async fn create(&self, segment: &NewSegment) -> Result<Segment> {
        self.create_inner(segment, None).await
    }

    /// Like [`Segments::create`], with your own `Idempotency-Key`.
    pub async fn create_with_key(
        &self,
        segment: &NewSegment,
        idempotency_key: &str,
    ) -> Result<Segment> {
        self.create_inner(segment, Some(idempotency_key)).await
    }

    async fn create_inner(&self, segment: &NewSegment, key: Option<&str>) -> Result<Segment> {
        let call = Call::post(SEGMENTS).json(segment)?.idempotency_key(key);
        self.client.send(call).await?.json()
    }

    /// A page of the segments, oldest first, each with its count (`GET /v2/segment`).
    pub async fn list(&self, page: Page) -> Result<List<Segment>> {
        let call = Call::get(SEGMENTS).query(page.to_query());
        self.client.send(call).await?.json()
    }

    /// The segment with this id, with its count (`GET /v2/segment/{id}`).
    ///
    /// Fails with [`crate::Error::NotFound`] when there is none.
    pub async fn get(&self, id: &str) -> Result<Segment> {
        let call = Call::get(id_path(SEGMENTS, id, "")?);
        self.client.send(call).await?.json()
    }

    /// Renames the segment, replaces its filter, or both (`PUT /v2/segment/{id}`).
    pub async fn update(&self, id: &str, update: &SegmentUpdate) -> Result<Segment> {
        let call = Call::new(Method::PUT, id_path(SEGMENTS, id, "")?).json(update)?;
        self.client.send(call).await?.json()
    }

    /// Deletes the segment, never its contacts (`DELETE /v2/segment/{id}`); answers the
    /// segment as it was.
    pub async fn delete(&self, id: &str) -> Result<Segment> {
        let call = Call::new(Method::DELETE, id_path(SEGMENTS, id, "")?);
        self.client.send(call).await?.json()
    }

    /// One page of the contacts the segment matches now
    /// (`GET /v2/segment/{id}/contacts`), by offset or by cursor.
    pub async fn contacts(&self, id: &str, query: &ListSegmentContacts) -> Result<List<Contact>> {
        let call = Call::get(id_path(SEGMENTS, id, "/contacts")?).query(query.to_query());
        self.client.send(call).await?.json()
    }

    /// Pages (or contacts one by one) through every contact of the segment by cursor,
    /// following `next_cursor` (the query's `offset` is ignored).
    pub fn contact_pages(&self, id: &str, query: &ListSegmentContacts) -> ContactPager<'a> {
        let mut query = query.clone();
        // Cursor pages cannot be combined with an offset.
        query.offset = None;
        ContactPager::new(Source::Segment {
            segments: *self,
            id: id.to_owned(),
            query,
        })
    }

    /// Every contact of the segment, read page by page with cursors.
    pub async fn all_contacts(
        &self,
        id: &str,
        query: &ListSegmentContacts,
    ) -> Result<Vec<Contact>> {
        self.contact_pages(id, query).collect().await
    }
}
