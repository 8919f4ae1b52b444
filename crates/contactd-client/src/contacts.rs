//! `/v2/contact`: create, get, update, delete, list and search, upsert, batch, and a
//! contact's conversations.
//!
//! A contact `ref` is its id (`cnt_…`), its phone (`+14155550123`) or its email; it is
//! escaped as one path segment (a phone's `+` is sent as `%2B`).

use std::collections::VecDeque;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::{id_path, path, Call, Client};
use crate::error::Result;
use crate::models::{
    BatchMode, BatchRequest, BatchResult, Contact, ContactUpdate, Conversation, DuplicateCandidate,
    DuplicateCandidateList, DuplicatePairList, Identity, List, ListContacts, ListConversations,
    ListSegmentContacts, Merge, MergeList, MergeRequest, MergeResult, NewContact, UndoResult,
    Upserted,
};
use crate::segments::Segments;

const CONTACTS: &str = "/v2/contact";
const UPSERT_RESULT_HEADER: &str = "x-upsert-result";

/// The contacts of the key's workspace: `client.contacts()`.
#[derive(Debug, Clone, Copy)]
pub struct Contacts<'a> {
    client: &'a Client,
}

impl<'a> Contacts<'a> {
    pub(crate) fn new(client: &'a Client) -> Contacts<'a> {
        Contacts { client }
    }

    /// Creates a contact (`POST /v2/contact`).
    ///
    /// Fails with [`crate::Error::Duplicate`] when its phone or email is taken, and
    /// [`crate::Error::InvalidInput`] when a field is not valid.
    pub async fn create(&self, contact: &NewContact) -> Result<Contact> {
        self.create_inner(contact, None).await
    }

    /// Like [`Contacts::create`], with your own `Idempotency-Key` (1 to 255 visible ASCII
    /// characters): the same key with the same contact within 24 hours answers the first
    /// result again instead of creating twice; with another body it is
    /// [`crate::Error::IdempotencyConflict`].
    pub async fn create_with_key(
        &self,
        contact: &NewContact,
        idempotency_key: &str,
    ) -> Result<Contact> {
        self.create_inner(contact, Some(idempotency_key)).await
    }

    async fn create_inner(&self, contact: &NewContact, key: Option<&str>) -> Result<Contact> {
        let call = Call::post(CONTACTS).json(contact)?.idempotency_key(key);
        self.client.send(call).await?.contact()
    }

    /// The contact with this id, phone or email (`GET /v2/contact/{ref}`).
    ///
    /// Fails with [`crate::Error::NotFound`] when there is none.
    pub async fn get(&self, contact_ref: &str) -> Result<Contact> {
        let call = Call::get(path(CONTACTS, contact_ref, "")?);
        self.client.send(call).await?.contact()
    }

    /// Changes the fields the update sets, clears those it clears, and merges its metadata
    /// (`PUT /v2/contact/{ref}`). Answers the contact as it is now.
    pub async fn update(&self, contact_ref: &str, update: &ContactUpdate) -> Result<Contact> {
        self.update_inner(contact_ref, update, None).await
    }

    /// Like [`Contacts::update`], only if the contact is still at the version `etag`
    /// (from [`Contact::etag`]); else nothing changes and it fails with
    /// [`crate::Error::PreconditionFailed`], which names the current version.
    pub async fn update_if_match(
        &self,
        contact_ref: &str,
        update: &ContactUpdate,
        etag: &str,
    ) -> Result<Contact> {
        self.update_inner(contact_ref, update, Some(etag)).await
    }

    async fn update_inner(
        &self,
        contact_ref: &str,
        update: &ContactUpdate,
        etag: Option<&str>,
    ) -> Result<Contact> {
        let call = Call::new(Method::PUT, path(CONTACTS, contact_ref, "")?)
            .json(update)?
            .if_match(etag);
        self.client.send(call).await?.contact()
    }

    /// Erases the contact with its conversations and messages (`DELETE /v2/contact/{ref}`).
    /// Answers the contact as it was, with status `deleted`.
    pub async fn delete(&self, contact_ref: &str) -> Result<Contact> {
        self.delete_inner(contact_ref, None).await
    }

    /// Like [`Contacts::delete`], only if the contact is still at the version `etag`.
    pub async fn delete_if_match(&self, contact_ref: &str, etag: &str) -> Result<Contact> {
        self.delete_inner(contact_ref, Some(etag)).await
    }

    async fn delete_inner(&self, contact_ref: &str, etag: Option<&str>) -> Result<Contact> {
        let call = Call::new(Method::DELETE, path(CONTACTS, contact_ref, "")?).if_match(etag);
        self.client.send(call).await?.contact()
    }

    /// One page of contacts matching the query (`GET /v2/contact`).
    pub async fn list(&self, query: &ListContacts) -> Result<List<Contact>> {
        let call = Call::get(CONTACTS).query(query.to_query());
        self.client.send(call).await?.json()
    }

    /// How many contacts match the query's filters, exactly (`GET /v2/contact/count`).
    /// Its order, page and cursor play no part.
    ///
    /// ```no_run
    /// # async fn f(client: contactd_client::Client) -> contactd_client::Result<()> {
    /// use contactd_client::ListContacts;
    /// let premium = client
    ///     .contacts()
    ///     .count(&ListContacts::new().metadata_eq("plan", "premium"))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn count(&self, filters: &ListContacts) -> Result<u64> {
        #[derive(Deserialize)]
        struct Count {
            total: u64,
        }
        let call = Call::get(format!("{CONTACTS}/count")).query(filters.filter_query());
        let count: Count = self.client.send(call).await?.json()?;
        Ok(count.total)
    }

    /// Pages through every contact matching the query by cursor, page after page.
    ///
    /// ```no_run
    /// # async fn f(client: contactd_client::Client) -> contactd_client::Result<()> {
    /// use contactd_client::ListContacts;
    /// let mut pages = client.contacts().pages(&ListContacts::new().limit(100));
    /// while let Some(page) = pages.next_page().await? {
    ///     for contact in page.data {
    ///         println!("{}", contact.id);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn pages(&self, query: &ListContacts) -> ContactPager<'a> {
        let mut query = query.clone();
        // Cursor pages cannot be combined with an offset.
        query.offset = None;
        ContactPager::new(Source::List {
            contacts: *self,
            query,
        })
    }

    /// Every contact matching the query, read page by page with cursors (the query's
    /// `offset` is ignored).
    pub async fn list_all(&self, query: &ListContacts) -> Result<Vec<Contact>> {
        self.pages(query).collect().await
    }

    /// The contact's conversations, newest first (`GET /v2/contact/{ref}/conversations`).
    pub async fn conversations(
        &self,
        contact_ref: &str,
        query: &ListConversations,
    ) -> Result<List<Conversation>> {
        let call =
            Call::get(path(CONTACTS, contact_ref, "/conversations")?).query(query.to_query());
        self.client.send(call).await?.json()
    }

    /// Adds an identity to the contact (`POST /v2/contact/{ref}/identities`), e.g.
    /// `Identity::new("instagram", "17841400000000001")`. Fails with
    /// [`crate::Error::Duplicate`] when another contact holds it.
    pub async fn add_identity(&self, contact_ref: &str, identity: &Identity) -> Result<Contact> {
        let call = Call::post(path(CONTACTS, contact_ref, "/identities")?).json(identity)?;
        self.client.send(call).await?.contact()
    }

    /// Removes the identity `kind:value` from the contact
    /// (`DELETE /v2/contact/{ref}/identities/TYPE:VALUE`).
    pub async fn remove_identity(&self, contact_ref: &str, identity: &Identity) -> Result<Contact> {
        let prefix = path(CONTACTS, contact_ref, "/identities")?;
        let reference = format!("{}:{}", identity.kind, identity.value);
        let call = Call::new(Method::DELETE, id_path(&prefix, &reference, "")?);
        self.client.send(call).await?.contact()
    }

    /// Merges `source` (any ref) into the contact `target_ref`
    /// (`POST /v2/contact/{ref}/merge`); with `dry_run`, answers what the merge would do
    /// and changes nothing.
    pub async fn merge(
        &self,
        target_ref: &str,
        source: &str,
        dry_run: bool,
    ) -> Result<MergeResult> {
        let request = MergeRequest {
            source: source.to_owned(),
            dry_run: Some(dry_run),
        };
        let call = Call::post(path(CONTACTS, target_ref, "/merge")?).json(&request)?;
        self.client.send(call).await?.json()
    }

    /// Undoes a merge within 30 days (`POST /v2/merge/{id}/undo`): both contacts come
    /// back as they were.
    pub async fn undo_merge(&self, merge_id: &str) -> Result<UndoResult> {
        let call = Call::post(id_path("/v2/merge", merge_id, "/undo")?)
            .json(&Value::Object(serde_json::Map::new()))?;
        self.client.send(call).await?.json()
    }

    /// The merges the contact took part in, newest first (`GET /v2/contact/{ref}/merges`).
    pub async fn merges(&self, contact_ref: &str) -> Result<Vec<Merge>> {
        let call = Call::get(path(CONTACTS, contact_ref, "/merges")?);
        Ok(self.client.send(call).await?.json::<MergeList>()?.data)
    }

    /// The contacts suggested as duplicates of this one, best first
    /// (`GET /v2/contact/{ref}/duplicates`).
    pub async fn duplicates(&self, contact_ref: &str) -> Result<Vec<DuplicateCandidate>> {
        let call = Call::get(path(CONTACTS, contact_ref, "/duplicates")?);
        Ok(self
            .client
            .send(call)
            .await?
            .json::<DuplicateCandidateList>()?
            .data)
    }

    /// A page of the workspace's duplicate pairs (`GET /v2/duplicates`): `limit` 1–100,
    /// `cursor` the `next_cursor` of the page before.
    pub async fn duplicate_pairs(
        &self,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<DuplicatePairList> {
        let mut query = vec![("limit".to_owned(), limit.to_string())];
        query.extend(cursor.map(|c| ("cursor".to_owned(), c.to_owned())));
        let call = Call::get("/v2/duplicates").query(query);
        self.client.send(call).await?.json()
    }

    /// Creates the contact, or updates the one that has its phone or email
    /// (`POST /v2/contact/upsert`), in one transaction on the server.
    ///
    /// When the phone belongs to one contact and the email to another it fails with
    /// [`crate::Error::Duplicate`] naming both (`phone_contact_id`, `email_contact_id`).
    pub async fn upsert(&self, contact: &NewContact) -> Result<Upserted> {
        self.upsert_inner(contact, None).await
    }

    /// Like [`Contacts::upsert`], with your own `Idempotency-Key`.
    pub async fn upsert_with_key(
        &self,
        contact: &NewContact,
        idempotency_key: &str,
    ) -> Result<Upserted> {
        self.upsert_inner(contact, Some(idempotency_key)).await
    }

    async fn upsert_inner(&self, contact: &NewContact, key: Option<&str>) -> Result<Upserted> {
        let call = Call::post(format!("{CONTACTS}/upsert"))
            .json(contact)?
            .idempotency_key(key);
        let reply = self.client.send(call).await?;
        let created = match reply.header(UPSERT_RESULT_HEADER) {
            Some(result) => result == "created",
            None => reply.status == reqwest::StatusCode::CREATED,
        };
        Ok(Upserted {
            contact: reply.contact()?,
            created,
        })
    }

    /// Creates or upserts up to 1,000 contacts in one request (`POST /v2/contact/batch`).
    /// Each item succeeds or fails on its own; the result has one entry per item, in order.
    pub async fn batch(&self, mode: BatchMode, contacts: &[NewContact]) -> Result<BatchResult> {
        self.batch_inner(mode, contacts, None).await
    }

    /// Like [`Contacts::batch`], with your own `Idempotency-Key`.
    pub async fn batch_with_key(
        &self,
        mode: BatchMode,
        contacts: &[NewContact],
        idempotency_key: &str,
    ) -> Result<BatchResult> {
        self.batch_inner(mode, contacts, Some(idempotency_key))
            .await
    }

    /// Like [`Contacts::batch`] with contacts as raw JSON objects, sent as they are: the
    /// server judges each one (an import tool forwarding rows it has not parsed).
    pub async fn batch_json(&self, mode: BatchMode, contacts: &[Value]) -> Result<BatchResult> {
        self.batch_inner(mode, contacts, None).await
    }

    async fn batch_inner<T: Serialize + Sync>(
        &self,
        mode: BatchMode,
        contacts: &[T],
        key: Option<&str>,
    ) -> Result<BatchResult> {
        let request = BatchRequest {
            mode: Some(mode),
            contacts: contacts.iter().collect(),
        };
        let call = Call::post(format!("{CONTACTS}/batch"))
            .json(&request)?
            .idempotency_key(key);
        self.client.send(call).await?.json()
    }
}

/// Pages of a contact list read one after the other by cursor, following each page's
/// `next_cursor`; from [`Contacts::pages`] and [`crate::Segments::contact_pages`].
///
/// Read it a page at a time with [`ContactPager::next_page`], or a contact at a time with
/// [`ContactPager::next_contact`]:
///
/// ```no_run
/// # async fn f(client: contactd_client::Client) -> contactd_client::Result<()> {
/// use contactd_client::ListSegmentContacts;
/// let mut contacts = client
///     .segments()
///     .contact_pages("seg_038ggac0fy000a0wp1kh1adwpwetq", &ListSegmentContacts::new().limit(100));
/// while let Some(contact) = contacts.next_contact().await? {
///     println!("{}", contact.id);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ContactPager<'a> {
    source: Source<'a>,
    done: bool,
    /// A page `next_contact` has started: its contacts not yet handed out, and the page
    /// without them.
    held: Option<(VecDeque<Contact>, List<Contact>)>,
}

/// Where a pager's pages come from.
#[derive(Debug)]
pub(crate) enum Source<'a> {
    List {
        contacts: Contacts<'a>,
        query: ListContacts,
    },
    Segment {
        segments: Segments<'a>,
        id: String,
        query: ListSegmentContacts,
    },
}

impl<'a> ContactPager<'a> {
    pub(crate) fn new(source: Source<'a>) -> ContactPager<'a> {
        ContactPager {
            source,
            done: false,
            held: None,
        }
    }

    /// The next page, or `None` after the last one. Contacts already handed out by
    /// [`ContactPager::next_contact`] are not part of it.
    pub async fn next_page(&mut self) -> Result<Option<List<Contact>>> {
        if let Some((rest, page)) = self.held.take() {
            if !rest.is_empty() {
                return Ok(Some(List {
                    data: rest.into(),
                    ..page
                }));
            }
        }
        if self.done {
            return Ok(None);
        }
        let page = match &self.source {
            Source::List { contacts, query } => contacts.list(query).await?,
            Source::Segment {
                segments,
                id,
                query,
            } => segments.contacts(id, query).await?,
        };
        let next = match &page.next_cursor {
            Some(cursor) if page.has_more => Some(cursor.clone()),
            _ => None,
        };
        match (next, &mut self.source) {
            (Some(cursor), Source::List { query, .. }) => query.cursor = Some(cursor),
            (Some(cursor), Source::Segment { query, .. }) => query.cursor = Some(cursor),
            (None, _) => self.done = true,
        }
        Ok(Some(page))
    }

    /// The next contact, or `None` after the last one; fetches a page when the one it
    /// holds is used up.
    pub async fn next_contact(&mut self) -> Result<Option<Contact>> {
        loop {
            if let Some((rest, _)) = &mut self.held {
                if let Some(contact) = rest.pop_front() {
                    return Ok(Some(contact));
                }
            }
            match self.next_page().await? {
                Some(mut page) => {
                    let rest = VecDeque::from(std::mem::take(&mut page.data));
                    self.held = Some((rest, page));
                }
                None => return Ok(None),
            }
        }
    }

    /// Every remaining contact, in order.
    pub async fn collect(mut self) -> Result<Vec<Contact>> {
        let mut all = Vec::new();
        while let Some(page) = self.next_page().await? {
            all.extend(page.data);
        }
        Ok(all)
    }
}
