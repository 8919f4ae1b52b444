//! The contact: its stored shape, what a create or a partial update may send, and the rule
//! that turns a contact and a patch into the next contact.

use serde_json::{Map, Value};

use super::email::Email;
use super::identity::{self, Identity};
use super::ids::ContactId;
use super::input;
use super::merge::{check_metadata, check_object, merge_patch};
use super::phone::{Country, Phone};
use super::time::Timestamp;
use super::FieldError;
use contactd_wire::Patch;

pub use contactd_wire::{Channel, ContactStatus};

/// The statuses a client may set or filter on (`deleted` is only ever answered).
pub const SETTABLE_STATUSES: [&str; 2] = ["active", "inactive"];

/// A status a client may set or filter on.
pub fn settable_status(s: &str) -> Option<ContactStatus> {
    ContactStatus::parse(s).filter(|s| *s != ContactStatus::Deleted)
}

/// A stored contact. Every value in it has passed the domain's parsers.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub id: ContactId,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub preferred_channel: Option<Channel>,
    pub metadata: Map<String, Value>,
    pub status: ContactStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_contacted: Option<Timestamp>,
    pub identities: Vec<Identity>,
}

/// An identifier one contact alone holds in its workspace and mode: the namespace it is
/// unique in (`phone`, `email` or another identity type) and the value as compared.
pub type Handle = (&'static str, String);

impl Contact {
    /// Every identifier this contact holds alone: its phone and email in their
    /// namespaces, then each identity in its own; each once.
    pub fn handles(&self) -> Vec<Handle> {
        let mut handles: Vec<Handle> = Vec::with_capacity(2 + self.identities.len());
        let primary = [
            self.phone
                .as_ref()
                .map(|p| ("phone", p.as_str().to_owned())),
            self.email.as_ref().map(|e| ("email", e.normalized())),
        ];
        let all = primary
            .into_iter()
            .flatten()
            .chain(self.identities.iter().map(Identity::handle));
        for handle in all {
            if !handles.contains(&handle) {
                handles.push(handle);
            }
        }
        handles
    }

    /// The contact after an outbound message sent at `at`.
    pub fn mark_contacted(self, at: Timestamp) -> Contact {
        Contact {
            last_contacted: Some(at),
            updated_at: Timestamp::now_after(self.updated_at).max(at),
            ..self
        }
    }

    /// Names this version of the contact, for `ETag` and `If-Match`: its id and its
    /// `updated_at` in hexadecimal microseconds. Every change moves `updated_at` forward
    /// (`Timestamp::now_after`), so a version is named without hashing anything.
    pub fn etag(&self) -> String {
        let id = self.id.as_str();
        let mut tag = String::with_capacity(id.len() + 20);
        tag.push('"');
        tag.push_str(id);
        tag.push('.');
        let micros = self.updated_at.as_micros().to_be_bytes();
        let mut leading = true;
        for byte in micros {
            for nibble in [byte >> 4, byte & 0xf] {
                leading = leading && nibble == 0;
                if !leading {
                    tag.push(char::from(b"0123456789abcdef"[usize::from(nibble)]));
                }
            }
        }
        if leading {
            tag.push('0');
        }
        tag.push('"');
        tag
    }

    /// `first_name` and `last_name` joined by one space; None when both are unset.
    pub fn full_name(&self) -> Option<String> {
        match (&self.first_name, &self.last_name) {
            (Some(first), Some(last)) => Some(format!("{first} {last}")),
            (Some(only), None) | (None, Some(only)) => Some(only.clone()),
            (None, None) => None,
        }
    }
}

impl From<Contact> for contactd_wire::Contact {
    /// The contact as the API answers it.
    fn from(c: Contact) -> contactd_wire::Contact {
        contactd_wire::Contact {
            full_name: c.full_name(),
            id: c.id.into_string(),
            phone: c.phone.map(Phone::into_string),
            email: c.email.map(Email::into_string),
            first_name: c.first_name,
            last_name: c.last_name,
            preferred_channel: c.preferred_channel,
            metadata: c.metadata,
            status: c.status,
            created_at: c.created_at.to_rfc3339(),
            updated_at: c.updated_at.to_rfc3339(),
            last_contacted: c.last_contacted.map(Timestamp::to_rfc3339),
            identities: c.identities.iter().map(Identity::to_wire).collect(),
            etag: None,
        }
    }
}

/// A validated create request.
#[derive(Debug, Clone, PartialEq)]
pub struct NewContact {
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub preferred_channel: Option<Channel>,
    pub metadata: Map<String, Value>,
    pub status: ContactStatus,
    pub identities: Vec<Identity>,
}

impl NewContact {
    /// A create from its JSON body (`contactd_wire::NewContact`).
    pub fn from_json(body: Map<String, Value>) -> Result<NewContact, FieldError> {
        let sent: contactd_wire::NewContact = decode(body)?;
        NewContact::from_patch(ContactPatch::try_from(as_update(sent))?)
    }

    /// A create from the fields of a parsed body; fields sent as null are simply unset.
    pub fn from_patch(mut patch: ContactPatch) -> Result<NewContact, FieldError> {
        let metadata = match patch.metadata.take() {
            Some(Value::Object(sent)) => {
                // Applying the sent object as a patch to {} drops its null members, the
                // same meaning null has in an update.
                let mut merged = Value::Object(Map::new());
                merge_patch(&mut merged, &Value::Object(sent));
                check_metadata("metadata", &merged)?;
                into_object(merged)
            }
            _ => Map::new(),
        };
        let new = NewContact {
            phone: patch.phone.flatten(),
            email: patch.email.flatten(),
            first_name: patch.first_name.flatten(),
            last_name: patch.last_name.flatten(),
            preferred_channel: patch.preferred_channel.flatten(),
            metadata,
            status: patch.status.unwrap_or(ContactStatus::Active),
            identities: patch.identities.unwrap_or_default(),
        };
        if new.phone.is_none() && new.email.is_none() && new.identities.is_empty() {
            return Err(FieldError::new(
                "phone",
                "A contact needs a phone, an email or an identity",
            )
            .expected("a phone in E.164 format, an email or an identity"));
        }
        Ok(new)
    }

    pub fn into_contact(self, id: ContactId, now: Timestamp) -> Contact {
        Contact {
            id,
            phone: self.phone,
            email: self.email,
            first_name: self.first_name,
            last_name: self.last_name,
            preferred_channel: self.preferred_channel,
            metadata: self.metadata,
            status: self.status,
            created_at: now,
            updated_at: now,
            last_contacted: None,
            identities: self.identities,
        }
    }
}

/// A validated partial update. Outer `None`: not sent; `Some(None)`: sent as null (clear).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactPatch {
    pub phone: Option<Option<Phone>>,
    pub email: Option<Option<Email>>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub preferred_channel: Option<Option<Channel>>,
    /// A JSON Merge Patch for the metadata: an object, or null to empty it.
    pub metadata: Option<Value>,
    pub status: Option<ContactStatus>,
    /// The identities that replace the contact's (an empty list removes them all).
    pub identities: Option<Vec<Identity>>,
    /// One identity added or removed, after `identities`.
    pub identity_change: Option<IdentityChange>,
}

/// One identity added to or removed from a contact's set
/// (`POST`/`DELETE /v2/contact/{ref}/identities`).
#[derive(Debug, Clone, PartialEq)]
pub enum IdentityChange {
    Add(Identity),
    /// Removes the identity of this namespace and key (an email in any case).
    Remove(Identity),
}

impl ContactPatch {
    /// A partial update from its JSON body (`contactd_wire::ContactUpdate`).
    pub fn from_json(body: Map<String, Value>) -> Result<ContactPatch, FieldError> {
        ContactPatch::try_from(decode::<contactd_wire::ContactUpdate>(body)?)
    }

    /// A patch that adds the identity of a `{"type", "value"}` body.
    pub fn add_identity(body: Map<String, Value>) -> Result<ContactPatch, FieldError> {
        let sent: contactd_wire::Identity = input::decode_request(body)?;
        let identity = Identity::parse("identity", &sent.kind, &sent.value).map_err(|e| {
            let field = e.field.trim_start_matches("identity.").to_owned();
            FieldError { field, ..e }
        })?;
        Ok(ContactPatch {
            identity_change: Some(IdentityChange::Add(identity)),
            ..ContactPatch::default()
        })
    }

    /// A patch that removes the identity a `TYPE:VALUE` path segment names.
    pub fn remove_identity(raw: &str) -> Result<ContactPatch, FieldError> {
        let identity = Identity::parse_ref("identity", raw).unwrap_or_else(|| {
            Err(
                FieldError::new("identity", "An identity is written TYPE:VALUE")
                    .received(raw.chars().take(200).collect::<String>())
                    .expected("e.g. instagram:17841400000000001"),
            )
        })?;
        Ok(ContactPatch {
            identity_change: Some(IdentityChange::Remove(identity)),
            ..ContactPatch::default()
        })
    }

    /// Whether the patch removes an identity `current` does not have: that is a missing
    /// resource (404), as deleting a missing contact is, not a change of nothing.
    pub fn removes_an_absent_identity(&self, current: &Contact) -> bool {
        match &self.identity_change {
            Some(IdentityChange::Remove(removed)) => !current
                .identities
                .iter()
                .any(|i| i.handle() == removed.handle()),
            _ => false,
        }
    }

    /// The contact after this patch, or None when the patch changes nothing.
    pub fn apply(&self, current: &Contact) -> Result<Option<Contact>, FieldError> {
        let mut next = current.clone();
        set(&mut next.phone, &self.phone);
        set(&mut next.email, &self.email);
        set(&mut next.first_name, &self.first_name);
        set(&mut next.last_name, &self.last_name);
        set(&mut next.preferred_channel, &self.preferred_channel);
        if let Some(status) = self.status {
            next.status = status;
        }
        if let Some(identities) = &self.identities {
            next.identities.clone_from(identities);
        }
        match &self.identity_change {
            Some(IdentityChange::Add(added)) => {
                let mut all = std::mem::take(&mut next.identities);
                all.push(added.clone());
                next.identities = identity::unite("identities", all)?;
            }
            Some(IdentityChange::Remove(removed)) => {
                next.identities.retain(|i| i.handle() != removed.handle());
            }
            None => {}
        }
        if let Some(patch) = &self.metadata {
            // `"metadata": null` clears the metadata to `{}`; an object merges (RFC 7396).
            let mut merged = Value::Object(std::mem::take(&mut next.metadata));
            if patch.is_null() {
                merged = Value::Object(Map::new());
            } else {
                merge_patch(&mut merged, patch);
            }
            check_metadata("metadata", &merged)?;
            next.metadata = into_object(merged);
        }
        if next.phone.is_none() && next.email.is_none() && next.identities.is_empty() {
            let field = if self.phone.is_some() {
                "phone"
            } else if self.email.is_some() {
                "email"
            } else {
                "identities"
            };
            return Err(FieldError::new(
                field,
                "A contact needs a phone, an email or an identity; they cannot all be cleared",
            )
            .received(Value::Null)
            .expected("keep a phone, an email or an identity"));
        }
        if next == *current {
            return Ok(None);
        }
        next.updated_at = Timestamp::now_after(current.updated_at);
        Ok(Some(next))
    }
}

impl TryFrom<contactd_wire::ContactUpdate> for ContactPatch {
    type Error = FieldError;

    /// Checks every value sent, in the order of the fields.
    fn try_from(sent: contactd_wire::ContactUpdate) -> Result<ContactPatch, FieldError> {
        // Read before the phone, which it helps to read.
        let country = match &sent.default_country {
            Some(c) => Some(Country::parse("default_country", c)?),
            None => None,
        };
        Ok(ContactPatch {
            phone: checked(sent.phone, |p| Phone::parse_in("phone", &p, country))?,
            email: checked(sent.email, |e| Email::parse("email", &e))?,
            first_name: checked(sent.first_name, |n| input::name("first_name", n))?,
            last_name: checked(sent.last_name, |n| input::name("last_name", n))?,
            preferred_channel: sent.preferred_channel.into_option(),
            metadata: match sent.metadata {
                Patch::Keep => None,
                Patch::Clear => Some(Value::Null),
                // Only the shape here: the limits are those of what is stored, the merged
                // result (contract §4), which a patch of many removals can be far smaller
                // than.
                Patch::Set(v) => {
                    check_object("metadata", &v)?;
                    Some(v)
                }
            },
            status: match sent.status {
                Some(ContactStatus::Deleted) => {
                    return Err(FieldError::new(
                        "status",
                        format!("status must be one of: {}", SETTABLE_STATUSES.join(", ")),
                    )
                    .received("deleted")
                    .expected(Value::from(SETTABLE_STATUSES.to_vec())))
                }
                status => status,
            },
            identities: match sent.identities {
                Patch::Keep => None,
                Patch::Clear => Some(Vec::new()),
                Patch::Set(list) => Some(identities("identities", list)?),
            },
            identity_change: None,
        })
    }
}

/// Decodes a contact body; a bad `status` is told the statuses a client may set.
fn decode<T: serde::de::DeserializeOwned>(body: Map<String, Value>) -> Result<T, FieldError> {
    input::decode::<T, contactd_wire::Contact>(body).map_err(|e| {
        if e.field == "status" {
            e.expected(Value::from(SETTABLE_STATUSES.to_vec()))
        } else {
            e
        }
    })
}

/// A create's fields as an update of nothing: a field sent as null is simply unset.
fn as_update(new: contactd_wire::NewContact) -> contactd_wire::ContactUpdate {
    let keep_or_set = |v: Option<String>| v.map_or(Patch::Keep, Patch::Set);
    contactd_wire::ContactUpdate {
        phone: keep_or_set(new.phone),
        email: keep_or_set(new.email),
        first_name: keep_or_set(new.first_name),
        last_name: keep_or_set(new.last_name),
        preferred_channel: new.preferred_channel.map_or(Patch::Keep, Patch::Set),
        metadata: new.metadata.map_or(Patch::Keep, Patch::Set),
        identities: new.identities.map_or(Patch::Keep, Patch::Set),
        status: new.status,
        default_country: new.default_country,
    }
}

/// An `If-Match` header: the contact must still be one of these versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    Any,
    OneOf(Vec<String>),
}

impl Precondition {
    /// Parses `*` or a comma-separated list of entity tags (weak ones compare by value).
    pub fn parse(header: &str) -> Precondition {
        if header.trim() == "*" {
            return Precondition::Any;
        }
        let tags = header
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/").to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        Precondition::OneOf(tags)
    }

    pub fn holds_for(&self, contact: &Contact) -> bool {
        match self {
            Precondition::Any => true,
            Precondition::OneOf(tags) => tags.contains(&contact.etag()),
        }
    }
}

/// What an upsert does, given the contacts its identifiers name.
#[derive(Debug, Clone, PartialEq)]
pub enum UpsertTarget {
    Create,
    Update(Box<Contact>),
    /// One identifier names one contact and another a second one: never pick one. The
    /// ids are those of the first two contacts found, in the order phone, email,
    /// identities (so `phone_contact_id` is the phone's when the phone found one).
    Conflict {
        phone_contact_id: ContactId,
        email_contact_id: ContactId,
    },
}

impl UpsertTarget {
    /// Decides from the contacts found by each identifier sent, in lookup order.
    pub fn decide(found: Vec<Contact>) -> UpsertTarget {
        let mut found = found.into_iter();
        let Some(first) = found.next() else {
            return UpsertTarget::Create;
        };
        match found.find(|other| other.id != first.id) {
            Some(second) => UpsertTarget::Conflict {
                phone_contact_id: first.id,
                email_contact_id: second.id,
            },
            None => UpsertTarget::Update(Box::new(first)),
        }
    }
}

/// Whether an upsert created its contact, changed it, or found it already as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpsertOutcome {
    Created,
    Updated,
    /// The contact already had every value the upsert sent: nothing was written.
    Unchanged,
}

impl UpsertOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            UpsertOutcome::Created => "created",
            UpsertOutcome::Updated => "updated",
            UpsertOutcome::Unchanged => "unchanged",
        }
    }
}

/// A validated upsert: the fields of a create, at least one identifier to look up by.
#[derive(Debug, Clone, PartialEq)]
pub struct UpsertContact {
    pub patch: ContactPatch,
}

impl UpsertContact {
    pub fn from_json(body: Map<String, Value>) -> Result<UpsertContact, FieldError> {
        let patch = ContactPatch::from_json(body)?;
        // Validates the create this upsert may become (an identifier, the status).
        NewContact::from_patch(patch.clone())?;
        Ok(UpsertContact { patch })
    }

    pub fn phone(&self) -> Option<&Phone> {
        self.patch.phone.as_ref().and_then(Option::as_ref)
    }

    pub fn email(&self) -> Option<&Email> {
        self.patch.email.as_ref().and_then(Option::as_ref)
    }

    /// The identities sent, each of which may find the contact.
    pub fn identities(&self) -> &[Identity] {
        self.patch.identities.as_deref().unwrap_or_default()
    }

    pub fn new_contact(&self) -> Result<NewContact, FieldError> {
        NewContact::from_patch(self.patch.clone())
    }

    /// The patch this upsert applies to the contact it found: the identities sent are
    /// added to the contact's, never replace them (an upsert names its contact by them).
    pub fn patch_for(&self, found: &Contact) -> Result<ContactPatch, FieldError> {
        let mut patch = self.patch.clone();
        if let Some(sent) = patch.identities.take() {
            let all = found.identities.iter().cloned().chain(sent).collect();
            patch.identities = Some(identity::unite("identities", all)?);
        }
        Ok(patch)
    }
}

/// Reads a list of identities sent as `field`: each checked (errors name `field[i].type`
/// or `field[i].value`), repeats kept once, at most [`identity::MAX_PER_CONTACT`].
pub fn identities(
    field: &str,
    sent: Vec<contactd_wire::Identity>,
) -> Result<Vec<Identity>, FieldError> {
    let parsed = sent
        .iter()
        .enumerate()
        .map(|(i, one)| Identity::parse(&format!("{field}[{i}]"), &one.kind, &one.value))
        .collect::<Result<Vec<_>, _>>()?;
    identity::unite(field, parsed)
}

fn set<T: Clone>(target: &mut Option<T>, change: &Option<Option<T>>) {
    if let Some(value) = change {
        target.clone_from(value);
    }
}

/// A field of an update, checked by `check` when it is set.
fn checked<T, U>(
    sent: Patch<T>,
    check: impl FnOnce(T) -> Result<U, FieldError>,
) -> Result<Option<Option<U>>, FieldError> {
    match sent {
        Patch::Keep => Ok(None),
        Patch::Clear => Ok(Some(None)),
        Patch::Set(v) => check(v).map(|u| Some(Some(u))),
    }
}

fn into_object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn contact(v: Value) -> Contact {
        let new = NewContact::from_json(body(v)).unwrap_or_else(|e| panic!("{e}"));
        new.into_contact(ContactId::generate(), Timestamp::now())
    }

    fn patch(v: Value) -> ContactPatch {
        ContactPatch::from_json(body(v)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn etags_name_one_version_of_one_contact() {
        let mut c = contact(json!({"phone": "+1234567890"}));
        c.updated_at = Timestamp::from_micros(0x1234_5678_9abc);
        assert_eq!(c.etag(), format!("\"{}.123456789abc\"", c.id.as_str()));
        let before = c.etag();
        c.updated_at = Timestamp::now_after(c.updated_at);
        assert_ne!(c.etag(), before, "a change names a new version");
        let other = Contact {
            id: ContactId::generate(),
            ..c.clone()
        };
        assert_ne!(other.etag(), c.etag(), "another contact never shares a tag");
        c.updated_at = Timestamp::from_micros(0);
        assert_eq!(c.etag(), format!("\"{}.0\"", c.id.as_str()));
    }

    #[test]
    fn full_name_joins_what_is_set() {
        let mut c =
            contact(json!({"phone": "+1234567890", "first_name": "John", "last_name": "Doe"}));
        assert_eq!(c.full_name().as_deref(), Some("John Doe"));
        c.last_name = None;
        assert_eq!(c.full_name().as_deref(), Some("John"));
        c.first_name = None;
        assert_eq!(c.full_name(), None);
    }

    #[test]
    fn create_needs_phone_or_email() {
        let err = NewContact::from_json(body(json!({"first_name": "John"}))).err();
        assert!(err.is_some());
        let err = NewContact::from_json(body(json!({"phone": null, "email": null}))).err();
        assert!(err.is_some());
    }

    #[test]
    fn create_rejects_read_only_and_unknown_fields() {
        for field in [
            "id",
            "full_name",
            "created_at",
            "updated_at",
            "last_contacted",
            "foo",
        ] {
            let err = NewContact::from_json(body(json!({"phone": "+1234567890", field: "x"})));
            assert_eq!(err.err().map(|e| e.field), Some(field.to_owned()));
        }
    }

    #[test]
    fn create_rejects_deleted_status_and_bad_channel() {
        let err = NewContact::from_json(body(json!({"phone": "+1234567890", "status": "deleted"})));
        assert_eq!(err.err().map(|e| e.field), Some("status".to_owned()));
        let err = NewContact::from_json(body(
            json!({"phone": "+1234567890", "preferred_channel": "fax"}),
        ));
        assert_eq!(
            err.err().map(|e| e.field),
            Some("preferred_channel".to_owned())
        );
    }

    #[test]
    fn patch_changes_only_what_is_sent() {
        let c = contact(
            json!({"phone": "+1234567890", "first_name": "John", "last_name": "Doe",
            "metadata": {"plan": "premium", "source": "website"}}),
        );
        let next = patch(json!({"last_name": null, "metadata": {"plan": "enterprise"}}))
            .apply(&c)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("a change"));
        assert_eq!(next.first_name.as_deref(), Some("John"));
        assert_eq!(next.last_name, None);
        assert_eq!(
            Value::Object(next.metadata.clone()),
            json!({"plan": "enterprise", "source": "website"})
        );
        assert!(next.updated_at > c.updated_at);
        assert_eq!(next.created_at, c.created_at);
    }

    #[test]
    fn patch_that_changes_nothing_is_none() {
        let c = contact(json!({"phone": "+1234567890", "first_name": "John"}));
        assert_eq!(patch(json!({})).apply(&c), Ok(None));
        assert_eq!(patch(json!({"first_name": "John"})).apply(&c), Ok(None));
    }

    #[test]
    fn patch_cannot_clear_both_identifiers() {
        let c = contact(json!({"phone": "+1234567890"}));
        assert!(patch(json!({"phone": null})).apply(&c).is_err());
        let c = contact(json!({"phone": "+1234567890", "email": "a@example.com"}));
        assert!(patch(json!({"phone": null})).apply(&c).is_ok());
        assert!(patch(json!({"phone": null, "email": null}))
            .apply(&c)
            .is_err());
    }

    #[test]
    fn metadata_null_empties_it() {
        let c = contact(json!({"phone": "+1234567890", "metadata": {"a": 1}}));
        let next = patch(json!({"metadata": null})).apply(&c);
        assert_eq!(next.ok().flatten().map(|n| n.metadata.len()), Some(0));
    }

    #[test]
    fn limits_hold_for_the_merged_metadata_not_the_patch() {
        let removals: Map<String, Value> = (0..1500)
            .map(|i| (format!("gone-{i:04}"), Value::Null))
            .collect();
        let removals = Value::Object(removals);
        assert!(removals.to_string().len() > 16 * 1024);
        let c = contact(json!({"phone": "+1234567890", "metadata": {"keep": 1, "gone-0001": 1}}));
        let next = patch(json!({"metadata": removals.clone()})).apply(&c);
        assert_eq!(
            next.ok().flatten().map(|n| Value::Object(n.metadata)),
            Some(json!({"keep": 1}))
        );
        let created =
            NewContact::from_json(body(json!({"phone": "+1234567890", "metadata": removals})));
        assert_eq!(created.map(|n| n.metadata.len()), Ok(0));
        let err = NewContact::from_json(body(
            json!({"phone": "+1234567890", "metadata": {"a": "x".repeat(17 * 1024)}}),
        ));
        assert_eq!(err.err().map(|e| e.field), Some("metadata".to_owned()));
        let err = ContactPatch::from_json(body(json!({"metadata": [1]})));
        assert_eq!(err.err().map(|e| e.field), Some("metadata".to_owned()));
    }

    #[test]
    fn merged_metadata_over_the_limit_is_rejected() {
        let half = "x".repeat(9 * 1024);
        let c = contact(json!({"phone": "+1234567890", "metadata": {"a": half}}));
        let err = patch(json!({"metadata": {"b": half}})).apply(&c).err();
        assert_eq!(err.map(|e| e.field), Some("metadata".to_owned()));
    }
}
