//! The contact: its stored shape, what a create or a partial update may send, and the rule
//! that turns a contact and a patch into the next contact.

use serde_json::{Map, Value};

use sha2::{Digest, Sha256};
use strum::{EnumString, IntoStaticStr, VariantNames};

use super::email::Email;
use super::ids::ContactId;
use super::input::{self, Body, Field};
use super::merge::{check_metadata, check_object, merge_patch};
use super::phone::{Country, Phone};
use super::time::Timestamp;
use super::FieldError;

/// Channels a business reaches a contact on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, IntoStaticStr, EnumString, VariantNames)]
#[strum(serialize_all = "lowercase")]
pub enum Channel {
    Whatsapp,
    Instagram,
    Sms,
    Email,
}

impl Channel {
    pub const ALL: &'static [&'static str] = Self::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Channel> {
        s.parse().ok()
    }

    pub fn from_json(field: &str, value: Value) -> Result<Channel, FieldError> {
        input::one_of(field, value, Channel::ALL, Channel::parse)
    }
}

/// `active` and `inactive` are stored; `deleted` is only ever answered by DELETE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoStaticStr, EnumString)]
#[strum(serialize_all = "lowercase")]
pub enum ContactStatus {
    Active,
    Inactive,
    Deleted,
}

impl ContactStatus {
    const SETTABLE: [&'static str; 2] = ["active", "inactive"];

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// A status a client may set or filter on.
    pub fn parse_settable(s: &str) -> Option<ContactStatus> {
        s.parse().ok().filter(|s| *s != ContactStatus::Deleted)
    }

    fn from_json(field: &str, value: Value) -> Result<ContactStatus, FieldError> {
        input::one_of(field, value, &Self::SETTABLE, Self::parse_settable)
    }
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
}

impl Contact {
    /// The contact after an outbound message sent at `at`.
    pub fn mark_contacted(self, at: Timestamp) -> Contact {
        Contact {
            last_contacted: Some(at),
            updated_at: Timestamp::now_after(self.updated_at).max(at),
            ..self
        }
    }

    /// Names this version of the contact, for `ETag` and `If-Match`.
    pub fn etag(&self) -> String {
        let digest = Sha256::digest(format!("{}|{}", self.id, self.updated_at.as_micros()));
        format!("\"{}\"", hex::encode(&digest[..12]))
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

const WRITABLE: [&str; 8] = [
    "default_country",
    "phone",
    "email",
    "first_name",
    "last_name",
    "preferred_channel",
    "metadata",
    "status",
];
/// Fields a contact answer carries that a request may not set.
pub const READ_ONLY: [&str; 5] = [
    "id",
    "full_name",
    "created_at",
    "updated_at",
    "last_contacted",
];

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
}

impl NewContact {
    pub fn from_json(body: Map<String, Value>) -> Result<NewContact, FieldError> {
        NewContact::from_patch(ContactPatch::from_json(body)?)
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
        };
        if new.phone.is_none() && new.email.is_none() {
            return Err(
                FieldError::new("phone", "A contact needs a phone, an email, or both")
                    .expected("a phone in E.164 format or an email"),
            );
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
}

impl ContactPatch {
    pub fn from_json(body: Map<String, Value>) -> Result<ContactPatch, FieldError> {
        let mut body = Body::new(body, &WRITABLE, &READ_ONLY)?;
        // Read before the phone, which it helps to read.
        let country = match body.take("default_country") {
            Field::Value(v) => Some(Country::parse(
                "default_country",
                &input::string("default_country", v)?,
            )?),
            _ => None,
        };
        Ok(ContactPatch {
            phone: clearable(body.take("phone"), |v| {
                Phone::parse_in("phone", &input::string("phone", v)?, country)
            })?,
            email: clearable(body.take("email"), |v| {
                Email::parse("email", &input::string("email", v)?)
            })?,
            first_name: clearable(body.take("first_name"), |v| input::name("first_name", v))?,
            last_name: clearable(body.take("last_name"), |v| input::name("last_name", v))?,
            preferred_channel: clearable(body.take("preferred_channel"), |v| {
                Channel::from_json("preferred_channel", v)
            })?,
            metadata: metadata_patch(body.take("metadata"))?,
            status: match body.take("status") {
                Field::Absent => None,
                Field::Null => {
                    return Err(FieldError::new("status", "status cannot be null")
                        .expected(Value::from(ContactStatus::SETTABLE.to_vec())))
                }
                Field::Value(v) => Some(ContactStatus::from_json("status", v)?),
            },
        })
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
        if next.phone.is_none() && next.email.is_none() {
            let field = if self.phone.is_some() {
                "phone"
            } else {
                "email"
            };
            return Err(FieldError::new(
                field,
                "A contact needs a phone, an email, or both; both cannot be cleared",
            )
            .received(Value::Null)
            .expected("keep a phone or an email"));
        }
        if next == *current {
            return Ok(None);
        }
        next.updated_at = Timestamp::now_after(current.updated_at);
        Ok(Some(next))
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

/// What an upsert does, given the contacts its phone and its email name.
#[derive(Debug, Clone, PartialEq)]
pub enum UpsertTarget {
    Create,
    Update(Box<Contact>),
    /// The phone names one contact and the email another: never pick one.
    Conflict {
        phone_contact_id: ContactId,
        email_contact_id: ContactId,
    },
}

impl UpsertTarget {
    pub fn decide(by_phone: Option<Contact>, by_email: Option<Contact>) -> UpsertTarget {
        match (by_phone, by_email) {
            (None, None) => UpsertTarget::Create,
            (Some(a), Some(b)) if a.id != b.id => UpsertTarget::Conflict {
                phone_contact_id: a.id,
                email_contact_id: b.id,
            },
            (Some(c), _) | (None, Some(c)) => UpsertTarget::Update(Box::new(c)),
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

    pub fn new_contact(&self) -> Result<NewContact, FieldError> {
        NewContact::from_patch(self.patch.clone())
    }
}

fn set<T: Clone>(target: &mut Option<T>, change: &Option<Option<T>>) {
    if let Some(value) = change {
        target.clone_from(value);
    }
}

fn clearable<T>(
    field: Field,
    parse: impl FnOnce(Value) -> Result<T, FieldError>,
) -> Result<Option<Option<T>>, FieldError> {
    match field {
        Field::Absent => Ok(None),
        Field::Null => Ok(Some(None)),
        Field::Value(v) => parse(v).map(|t| Some(Some(t))),
    }
}

fn metadata_patch(field: Field) -> Result<Option<Value>, FieldError> {
    match field {
        Field::Absent => Ok(None),
        Field::Null => Ok(Some(Value::Null)),
        Field::Value(v) => {
            // Only the shape here: the limits are those of what is stored, the merged
            // result (contract §4), which a patch of many removals can be far smaller than.
            check_object("metadata", &v)?;
            Ok(Some(v))
        }
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
