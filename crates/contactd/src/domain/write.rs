//! The steps of a contact write, decided once for every backend.
//!
//! A backend reads what a write needs (the contact a ref names, the contacts a batch
//! item's identifiers name) and hands it to a function here; it gets back the [`Write`] to
//! run in its transaction, or the error to answer. The If-Match test, which contact an
//! upsert takes, what a patch changes, whether anything changes at all and which held
//! identifier is a duplicate are decided here, never in SQL: a backend only reads, runs the
//! plan's statements and maps its constraint errors.

use super::batch::BatchItem;
use super::contact::{
    Contact, ContactPatch, ContactStatus, NewContact, Precondition, UpsertOutcome, UpsertTarget,
};
use super::ids::ContactId;
use super::refs::ContactRef;
use super::time::Timestamp;
use super::FieldError;

/// What a write does to the stored contacts.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// A contact not stored yet.
    Insert(Contact),
    /// `new` over `old`, the version read in this transaction; the search terms change by
    /// the difference of the two.
    Update { old: Box<Contact>, new: Contact },
    /// The contact already is as asked: nothing is written.
    Unchanged(Contact),
}

impl Write {
    /// What the write tells its caller: created, updated or unchanged.
    pub fn outcome(&self) -> UpsertOutcome {
        match self {
            Write::Insert(_) => UpsertOutcome::Created,
            Write::Update { .. } => UpsertOutcome::Updated,
            Write::Unchanged(_) => UpsertOutcome::Unchanged,
        }
    }

    /// The contact as it is once the write ran.
    pub fn contact(&self) -> &Contact {
        match self {
            Write::Insert(contact) | Write::Unchanged(contact) => contact,
            Write::Update { new, .. } => new,
        }
    }

    /// The contact as it is once the write ran.
    pub fn into_contact(self) -> Contact {
        match self {
            Write::Insert(contact) | Write::Unchanged(contact) => contact,
            Write::Update { new, .. } => new,
        }
    }

    /// The contact once the write ran, and the outcome.
    pub fn into_answer(self) -> (Contact, UpsertOutcome) {
        let outcome = self.outcome();
        (self.into_contact(), outcome)
    }
}

/// Why a write is refused, decided from what was read.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteError {
    /// A rule fails on the stored state (e.g. merged metadata over its limit).
    Invalid(FieldError),
    /// `If-Match` named another version than the current one.
    PreconditionFailed { current_etag: String },
    /// An upsert's phone names one contact and its email another.
    IdentifierConflict {
        phone_contact_id: ContactId,
        email_contact_id: ContactId,
    },
    /// A removal of an identity the contact does not have.
    NoSuchIdentity,
    /// Another contact already holds the identifier `field` (`id`, `phone` or `email`).
    Duplicate {
        field: &'static str,
        existing_contact_id: ContactId,
    },
}

/// A create: the contact with a new id, created now.
pub fn create(new: NewContact) -> Write {
    Write::Insert(new.into_contact(ContactId::generate(), Timestamp::now()))
}

/// An update of `current`, read in this transaction: the If-Match test, then the patch.
pub fn update(
    current: Contact,
    precondition: Option<&Precondition>,
    patch: &ContactPatch,
) -> Result<Write, WriteError> {
    check(precondition, &current)?;
    changed(current, patch)
}

/// An outbound message sent to `current` at `at`.
pub fn contacted(current: Contact, at: Timestamp) -> Write {
    let new = current.clone().mark_contacted(at);
    Write::Update {
        old: Box::new(current),
        new,
    }
}

/// A delete of `current` once the If-Match test passed: the contact to erase.
pub fn delete(current: Contact, precondition: Option<&Precondition>) -> Result<Erase, WriteError> {
    check(precondition, &current)?;
    Ok(Erase(current))
}

/// A contact to erase with its conversations and messages.
#[derive(Debug, Clone, PartialEq)]
pub struct Erase(Contact);

impl Erase {
    pub fn contact(&self) -> &Contact {
        &self.0
    }

    /// What DELETE answers: the contact as it was, with status `deleted`.
    pub fn answer(self) -> Contact {
        Contact {
            status: ContactStatus::Deleted,
            ..self.0
        }
    }
}

/// The contacts a batch item (or an upsert) looks up before [`plan`] decides it.
pub fn lookups(item: &BatchItem) -> Vec<ContactRef> {
    match item {
        BatchItem::Create(_) => Vec::new(),
        BatchItem::Upsert(upsert) => {
            let phone = upsert.phone().cloned().map(ContactRef::Phone);
            let email = upsert.email().cloned().map(ContactRef::Email);
            let identities = upsert.identities().iter().cloned();
            phone
                .into_iter()
                .chain(email)
                .chain(identities.map(ContactRef::Identity))
                .collect()
        }
        BatchItem::Restore(contact) => {
            let id = ContactRef::Id(contact.id.clone());
            let held = unique_refs(contact).into_iter().map(|(_, held)| held);
            std::iter::once(id).chain(held).collect()
        }
    }
}

/// Decides a batch item from what its [`lookups`] found, in their order.
pub fn plan(item: &BatchItem, found: Vec<Option<Contact>>) -> Result<Write, WriteError> {
    let found = Found::of(item, found);
    match item {
        BatchItem::Create(new) => Ok(create(new.clone())),
        BatchItem::Upsert(upsert) => match UpsertTarget::decide(found.matches) {
            UpsertTarget::Create => Ok(create(upsert.new_contact().map_err(WriteError::Invalid)?)),
            UpsertTarget::Update(current) => {
                let patch = upsert.patch_for(&current).map_err(WriteError::Invalid)?;
                changed(*current, &patch)
            }
            UpsertTarget::Conflict {
                phone_contact_id,
                email_contact_id,
            } => Err(WriteError::IdentifierConflict {
                phone_contact_id,
                email_contact_id,
            }),
        },
        BatchItem::Restore(contact) => restore(contact, found),
    }
}

/// Every ref the plans of a batch may look up: each item's [`lookups`], and the phone
/// and email of each create (whose holder makes it a duplicate).
pub fn batch_refs(items: &[BatchItem]) -> Vec<ContactRef> {
    let mut refs = Vec::new();
    for item in items {
        refs.extend(lookups(item));
        if let BatchItem::Create(new) = item {
            refs.extend(new.phone.clone().map(ContactRef::Phone));
            refs.extend(new.email.clone().map(ContactRef::Email));
            refs.extend(new.identities.iter().cloned().map(ContactRef::Identity));
        }
    }
    refs
}

/// The contacts a batch planned in one pass sees: those read up front (every contact
/// its [`batch_refs`] name), then as the plans before each item left them.
pub trait KnownContacts {
    /// The contact a ref names, if any.
    fn find(&self, contact: &ContactRef) -> Option<Contact>;
    /// Records a planned write: `new` replaces `old` (None for an insert).
    fn wrote(&mut self, old: Option<&Contact>, new: &Contact);
}

/// Plans a batch's items in order, each as if the ones before it had run, over the
/// contacts in `known`: the same decisions as planning each after the previous one's
/// write, for a backend that then writes all of them in a few statements. Every write is
/// checked against the identifiers held by other contacts (a create's phone or email is
/// a duplicate here, where a backend writing row by row learns it from its unique index).
pub fn plan_in_order(
    items: &[BatchItem],
    known: &mut impl KnownContacts,
) -> Vec<Result<Write, WriteError>> {
    let mut plans = Vec::with_capacity(items.len());
    for item in items {
        let found = lookups(item).iter().map(|r| known.find(r)).collect();
        let planned = plan(item, found).and_then(|write| {
            if let Write::Unchanged(_) = write {
                return Ok(write);
            }
            let contact = write.contact();
            match unique_refs(contact)
                .into_iter()
                .find_map(|(field, held)| duplicate(contact, field, known.find(&held)))
            {
                Some(duplicate) => Err(duplicate),
                None => Ok(write),
            }
        });
        match &planned {
            Ok(Write::Insert(new)) => known.wrote(None, new),
            Ok(Write::Update { old, new }) => known.wrote(Some(old), new),
            _ => {}
        }
        plans.push(planned);
    }
    plans
}

/// A restore inserts its contact as it was exported, into a workspace that holds none of
/// its identifiers: never over a contact of its id, nor beside one holding its phone,
/// email or an identity.
fn restore(contact: &Contact, found: Found) -> Result<Write, WriteError> {
    if found.by_id.is_some() {
        return Err(WriteError::Duplicate {
            field: "id",
            existing_contact_id: contact.id.clone(),
        });
    }
    match found
        .held
        .into_iter()
        .find_map(|(field, holder)| duplicate(contact, field, holder))
    {
        Some(duplicate) => Err(duplicate),
        None => Ok(Write::Insert(contact.clone())),
    }
}

/// The identifiers a contact holds alone in its workspace, each with the field that
/// holds it and the ref that finds the contact holding it.
pub fn unique_refs(contact: &Contact) -> Vec<(&'static str, ContactRef)> {
    let phone = contact
        .phone
        .clone()
        .map(|p| ("phone", ContactRef::Phone(p)));
    let email = contact
        .email
        .clone()
        .map(|e| ("email", ContactRef::Email(e)));
    let identities = contact
        .identities
        .iter()
        .map(|i| ("identities", ContactRef::Identity(i.clone())));
    phone.into_iter().chain(email).chain(identities).collect()
}

/// The duplicate a write of `contact` makes when `holder`, found by its `field`, is
/// another contact.
pub fn duplicate(
    contact: &Contact,
    field: &'static str,
    holder: Option<Contact>,
) -> Option<WriteError> {
    holder
        .filter(|holder| holder.id != contact.id)
        .map(|holder| WriteError::Duplicate {
            field,
            existing_contact_id: holder.id,
        })
}

/// What the lookups of a batch item found: by its id, and by each identifier in the
/// order looked up (phone, email, identities).
#[derive(Default)]
struct Found {
    by_id: Option<Contact>,
    /// The contacts found by identifiers, in lookup order.
    matches: Vec<Contact>,
    /// Each identifier's field and the contact holding it, if any.
    held: Vec<(&'static str, Option<Contact>)>,
}

impl Found {
    fn of(item: &BatchItem, found: Vec<Option<Contact>>) -> Found {
        let mut by = Found::default();
        for (lookup, contact) in lookups(item).into_iter().zip(found) {
            let field = match lookup {
                ContactRef::Id(_) => {
                    by.by_id = contact;
                    continue;
                }
                ContactRef::Phone(_) => "phone",
                ContactRef::Email(_) => "email",
                ContactRef::Identity(_) => "identities",
            };
            by.matches.extend(contact.clone());
            by.held.push((field, contact));
        }
        by
    }
}

fn check(precondition: Option<&Precondition>, current: &Contact) -> Result<(), WriteError> {
    match precondition {
        Some(p) if !p.holds_for(current) => Err(WriteError::PreconditionFailed {
            current_etag: current.etag(),
        }),
        _ => Ok(()),
    }
}

/// `current` after the patch, or unchanged when the patch changes nothing.
fn changed(current: Contact, patch: &ContactPatch) -> Result<Write, WriteError> {
    if patch.removes_an_absent_identity(&current) {
        return Err(WriteError::NoSuchIdentity);
    }
    match patch.apply(&current).map_err(WriteError::Invalid)? {
        None => Ok(Write::Unchanged(current)),
        Some(new) => Ok(Write::Update {
            old: Box::new(current),
            new,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::contact::UpsertContact;
    use serde_json::{json, Map, Value};

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn contact(v: Value) -> Contact {
        let new = NewContact::from_json(body(v)).unwrap_or_else(|e| panic!("{e}"));
        new.into_contact(ContactId::generate(), Timestamp::now())
    }

    fn patch(v: Value) -> ContactPatch {
        ContactPatch::from_json(body(v)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn upsert(v: Value) -> BatchItem {
        BatchItem::Upsert(UpsertContact::from_json(body(v)).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn an_update_that_changes_something_writes_new_over_old() {
        let current = contact(json!({"phone": "+14155550101", "first_name": "Ada"}));
        let write = update(current.clone(), None, &patch(json!({"first_name": "Bo"})));
        let Ok(Write::Update { old, new }) = write else {
            panic!("an update: {write:?}");
        };
        assert_eq!(*old, current);
        assert_eq!(new.first_name.as_deref(), Some("Bo"));
        assert!(new.updated_at > old.updated_at);
    }

    #[test]
    fn an_update_that_changes_nothing_is_unchanged() {
        let current = contact(json!({"phone": "+14155550101", "first_name": "Ada"}));
        let write = update(current.clone(), None, &patch(json!({"first_name": "Ada"})));
        assert_eq!(write, Ok(Write::Unchanged(current)));
    }

    #[test]
    fn if_match_is_tested_before_the_patch() {
        let current = contact(json!({"phone": "+14155550101"}));
        let stale = Precondition::parse("\"stale\"");
        let bad_patch = patch(json!({"phone": null}));
        let refused = WriteError::PreconditionFailed {
            current_etag: current.etag(),
        };
        let update_refused = update(current.clone(), Some(&stale), &bad_patch).err();
        assert_eq!(update_refused.as_ref(), Some(&refused));
        assert_eq!(delete(current.clone(), Some(&stale)).err(), Some(refused));
        let fresh = Precondition::parse(&current.etag());
        let invalid = update(current.clone(), Some(&fresh), &bad_patch);
        assert!(matches!(invalid, Err(WriteError::Invalid(e)) if e.field == "phone"));
    }

    #[test]
    fn a_delete_answers_the_contact_as_it_was_with_status_deleted() {
        let current = contact(json!({"email": "ada@example.com", "status": "inactive"}));
        let erase = delete(current.clone(), Some(&Precondition::Any));
        let erase = erase.unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(erase.contact(), &current);
        let answer = erase.answer();
        assert_eq!(answer.status, ContactStatus::Deleted);
        assert_eq!(answer.updated_at, current.updated_at);
    }

    #[test]
    fn an_upsert_looks_up_its_phone_then_its_email() {
        let item = upsert(json!({"phone": "+14155550101", "email": "ada@example.com"}));
        let refs = lookups(&item);
        assert!(matches!(
            refs.as_slice(),
            [ContactRef::Phone(_), ContactRef::Email(_)]
        ));
        assert_eq!(
            lookups(&upsert(json!({"email": "ada@example.com"}))).len(),
            1
        );
        let create = NewContact::from_json(body(json!({"phone": "+14155550101"})));
        let create = BatchItem::Create(create.unwrap_or_else(|e| panic!("{e}")));
        assert!(lookups(&create).is_empty());
    }

    #[test]
    fn an_upsert_creates_updates_or_is_unchanged_by_what_it_found() {
        let item = upsert(json!({"email": "ada@example.com", "first_name": "Ada"}));
        let created = plan(&item, vec![None]);
        assert_eq!(
            created.as_ref().map(Write::outcome),
            Ok(UpsertOutcome::Created)
        );

        let stored = contact(json!({"email": "ADA@example.com", "first_name": "Bo"}));
        let updated = plan(&item, vec![Some(stored.clone())]);
        let Ok(Write::Update { old, new }) = updated else {
            panic!("an update: {updated:?}");
        };
        assert_eq!((old.id.clone(), new.id), (stored.id.clone(), stored.id));
        assert_eq!(new.first_name.as_deref(), Some("Ada"));

        let same = contact(json!({"email": "ada@example.com", "first_name": "Ada"}));
        let unchanged = plan(&item, vec![Some(same.clone())]);
        assert_eq!(unchanged, Ok(Write::Unchanged(same)));
    }

    #[test]
    fn an_upsert_whose_phone_and_email_name_two_contacts_picks_neither() {
        let item = upsert(json!({"phone": "+14155550101", "email": "ada@example.com"}));
        let by_phone = contact(json!({"phone": "+14155550101"}));
        let by_email = contact(json!({"email": "ada@example.com"}));
        let write = plan(&item, vec![Some(by_phone.clone()), Some(by_email.clone())]);
        assert_eq!(
            write,
            Err(WriteError::IdentifierConflict {
                phone_contact_id: by_phone.id,
                email_contact_id: by_email.id,
            })
        );
    }

    #[test]
    fn an_upsert_found_by_its_email_alone_takes_that_contact() {
        let item = upsert(json!({"phone": "+14155550101", "email": "ada@example.com"}));
        let by_email = contact(json!({"email": "ada@example.com"}));
        let write = plan(&item, vec![None, Some(by_email.clone())]);
        let Ok(Write::Update { new, .. }) = write else {
            panic!("an update: {write:?}");
        };
        assert_eq!(new.id, by_email.id);
        assert_eq!(
            new.phone.map(|p| p.as_str().to_owned()).as_deref(),
            Some("+14155550101")
        );
    }

    #[test]
    fn a_held_identifier_is_a_duplicate_only_when_another_contact_holds_it() {
        let mine = contact(json!({"phone": "+14155550101", "email": "ada@example.com"}));
        let fields: Vec<&str> = unique_refs(&mine).iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["phone", "email"]);
        assert_eq!(duplicate(&mine, "phone", Some(mine.clone())), None);
        assert_eq!(duplicate(&mine, "phone", None), None);
        let other = contact(json!({"phone": "+14155550101"}));
        assert_eq!(
            duplicate(&mine, "phone", Some(other.clone())),
            Some(WriteError::Duplicate {
                field: "phone",
                existing_contact_id: other.id,
            })
        );
    }

    fn restored(v: Value) -> (Contact, BatchItem) {
        let contact = crate::domain::restore::contact_from_json(body(v));
        let contact = contact.unwrap_or_else(|e| panic!("{e}"));
        (contact.clone(), BatchItem::Restore(contact))
    }

    #[test]
    fn a_restore_inserts_its_contact_as_exported_where_nothing_holds_it() {
        let (contact, item) = restored(json!({"id": "cnt_038ggac0fy000a0wp1kh1adwpwetq",
            "phone": "+14155550101", "email": "ada@example.com",
            "created_at": "2026-01-25T10:30:00Z", "updated_at": "2026-01-26T10:30:00Z"}));
        let refs = lookups(&item);
        assert!(matches!(
            refs.as_slice(),
            [
                ContactRef::Id(_),
                ContactRef::Phone(_),
                ContactRef::Email(_)
            ]
        ));
        assert_eq!(
            plan(&item, vec![None, None, None]),
            Ok(Write::Insert(contact))
        );
    }

    #[test]
    fn a_restore_never_overwrites_nor_duplicates() {
        let (contact, item) = restored(json!({"id": "cnt_038ggac0fy000a0wp1kh1adwpwetq",
            "phone": "+14155550101", "email": "ada@example.com",
            "created_at": "2026-01-25T10:30:00Z", "updated_at": "2026-01-26T10:30:00Z"}));
        let same_id = contact.clone();
        assert_eq!(
            plan(&item, vec![Some(same_id), None, None]),
            Err(WriteError::Duplicate {
                field: "id",
                existing_contact_id: contact.id.clone(),
            })
        );
        let other = self::contact(json!({"email": "ada@example.com"}));
        assert_eq!(
            plan(&item, vec![None, None, Some(other.clone())]),
            Err(WriteError::Duplicate {
                field: "email",
                existing_contact_id: other.id,
            })
        );
    }

    #[test]
    fn an_outbound_message_updates_last_contacted() {
        let current = contact(json!({"phone": "+14155550101"}));
        let at = Timestamp::now_after(current.updated_at);
        let Write::Update { old, new } = contacted(current.clone(), at) else {
            panic!("an update");
        };
        assert_eq!(*old, current);
        assert_eq!(new.last_contacted, Some(at));
    }
}
