//! Events of the change feed (contract §7): what a write tells the outside world.
//!
//! A backend hands each write it runs to a function here and writes the events it gets
//! back in the same transaction. What an event says (its type, the object after the
//! change, `changed_fields` with metadata paths such as `metadata.plan`, the `previous`
//! values) is decided once here; an update that changes nothing makes no event, so
//! receivers are not woken for noise. After a contact's erasure its events are kept with
//! ids only ([`erased`]).

use serde_json::{json, Map, Value};

use super::contact::Contact;
use super::contact_merge::MergeRecord;
use super::conversation::{Conversation, Message};
use super::ids::{new_id, ContactId};
use super::time::Timestamp;
use super::write::Write;
use super::FieldError;

/// The kinds of events, by their wire names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::EnumString, strum::IntoStaticStr)]
pub enum EventType {
    #[strum(serialize = "contact.created")]
    ContactCreated,
    #[strum(serialize = "contact.updated")]
    ContactUpdated,
    #[strum(serialize = "contact.deleted")]
    ContactDeleted,
    #[strum(serialize = "contact.merged")]
    ContactMerged,
    #[strum(serialize = "conversation.created")]
    ConversationCreated,
    #[strum(serialize = "conversation.updated")]
    ConversationUpdated,
    #[strum(serialize = "message.created")]
    MessageCreated,
}

impl EventType {
    /// Every type's wire name.
    pub const ALL: &'static [&'static str] = &[
        "contact.created",
        "contact.updated",
        "contact.deleted",
        "contact.merged",
        "conversation.created",
        "conversation.updated",
        "message.created",
    ];

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<EventType> {
        s.parse().ok()
    }

    /// A comma-separated list of types (`types=` of the feed, `event_types` of a
    /// webhook); `field` names it in the error.
    pub fn parse_list<'a>(
        field: &str,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<EventType>, FieldError> {
        let mut types = Vec::new();
        for name in names {
            let name = name.trim();
            let kind = EventType::parse(name).ok_or_else(|| {
                FieldError::new(field, format!("Unknown event type {name:?}"))
                    .received(name)
                    .expected(EventType::ALL.join(", "))
            })?;
            if !types.contains(&kind) {
                types.push(kind);
            }
        }
        Ok(types)
    }
}

/// The longest a feed request may hold an empty answer open.
pub const MAX_WAIT_SECS: u64 = 30;
/// The most events of one page, and the default.
pub const MAX_LIMIT: u32 = 1000;
pub const DEFAULT_LIMIT: u32 = 100;

/// A feed position as clients hold it: opaque, so that its form may change.
pub fn encode_cursor(sequence: i64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("seq:{sequence}"))
}

fn decode_cursor(raw: &str) -> Option<i64> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix("seq:")?
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
}

/// A validated `GET /v2/events`.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedQuery {
    /// The last sequence the reader has; 0 for the start of the feed.
    pub after: i64,
    /// Only these types; empty for all.
    pub types: Vec<EventType>,
    pub limit: u32,
    /// How long an empty answer may wait for an event.
    pub wait: std::time::Duration,
}

impl FeedQuery {
    pub fn parse(
        after: Option<&str>,
        types: Option<&str>,
        limit: Option<&str>,
        wait: Option<&str>,
    ) -> Result<FeedQuery, FieldError> {
        let after = match after.filter(|a| !a.is_empty()) {
            None => 0,
            Some(raw) => decode_cursor(raw).ok_or_else(|| {
                FieldError::new("after", "after must be a next_cursor the feed returned")
                    .received(super::input::truncate(raw, 200))
            })?,
        };
        let types = match types.filter(|t| !t.is_empty()) {
            None => Vec::new(),
            Some(raw) => EventType::parse_list("types", raw.split(','))?,
        };
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    FieldError::new(
                        "limit",
                        format!("limit must be an integer from 1 to {MAX_LIMIT}"),
                    )
                    .received(super::input::truncate(raw, 100))
                    .expected(format!("an integer from 1 to {MAX_LIMIT}"))
                })?,
        };
        let wait = match wait {
            None => 0,
            Some(raw) => raw
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= MAX_WAIT_SECS)
                .ok_or_else(|| {
                    FieldError::new(
                        "wait",
                        format!("wait must be whole seconds from 0 to {MAX_WAIT_SECS}"),
                    )
                    .received(super::input::truncate(raw, 100))
                    .expected(format!("an integer from 0 to {MAX_WAIT_SECS}"))
                })?,
        };
        Ok(FeedQuery {
            after,
            types,
            limit,
            wait: std::time::Duration::from_secs(wait),
        })
    }
}

/// An event as a write makes it, before the store numbers it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub id: String,
    pub kind: EventType,
    pub created_at: Timestamp,
    /// The contact it is about, whose erasure strips it to ids.
    pub contact_id: Option<ContactId>,
    pub data: Value,
}

/// A stored event: numbered in its tenant's commit order.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub sequence: i64,
    pub id: String,
    pub kind: EventType,
    pub created_at: Timestamp,
    pub data: Value,
}

impl Event {
    /// The event as the feed and deliveries show it.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "type": self.kind.as_str(),
            "sequence": self.sequence,
            "created_at": self.created_at.to_rfc3339(),
            "data": self.data,
        })
    }
}

impl NewEvent {
    fn new(kind: EventType, contact_id: Option<ContactId>, data: Value) -> NewEvent {
        NewEvent {
            id: new_id("evt_"),
            kind,
            created_at: Timestamp::now(),
            contact_id,
            data,
        }
    }

    /// The event of a contact write: created, updated (with what changed), or none when
    /// the write changed nothing.
    pub fn of_write(write: &Write) -> Option<NewEvent> {
        match write {
            Write::Insert(contact) => Some(NewEvent::new(
                EventType::ContactCreated,
                Some(contact.id.clone()),
                json!({"object": contact_json(contact)}),
            )),
            Write::Update { old, new } => {
                let (before, after) = (contact_json(old), contact_json(new));
                let (changed_fields, previous) = changes(&before, &after);
                if changed_fields.is_empty() {
                    return None;
                }
                Some(NewEvent::new(
                    EventType::ContactUpdated,
                    Some(new.id.clone()),
                    json!({"object": after, "changed_fields": changed_fields,
                           "previous": previous}),
                ))
            }
            Write::Unchanged(_) => None,
        }
    }

    /// A merge: the surviving contact, the merge, and the target's values before it.
    pub fn contact_merged(old: &Contact, merged: &Contact, merge: &MergeRecord) -> NewEvent {
        let (before, after) = (contact_json(old), contact_json(merged));
        let (changed_fields, previous) = changes(&before, &after);
        NewEvent::new(
            EventType::ContactMerged,
            Some(merged.id.clone()),
            json!({"object": after, "merge": contactd_wire::Merge::from(merge.clone()),
                   "changed_fields": changed_fields, "previous": previous}),
        )
    }

    /// A contact erased: ids only, as every earlier event of it becomes.
    pub fn contact_deleted(contact: &Contact) -> NewEvent {
        NewEvent::new(
            EventType::ContactDeleted,
            Some(contact.id.clone()),
            json!({"object": {"id": contact.id.as_str(), "status": "deleted"}}),
        )
    }

    pub fn conversation_created(conversation: &Conversation) -> NewEvent {
        NewEvent::new(
            EventType::ConversationCreated,
            Some(conversation.contact_id.clone()),
            json!({"object": conversation_json(conversation)}),
        )
    }

    /// A conversation's change, or none when nothing changed.
    pub fn conversation_updated(old: &Conversation, new: &Conversation) -> Option<NewEvent> {
        let (before, after) = (conversation_json(old), conversation_json(new));
        let (changed_fields, previous) = changes(&before, &after);
        (!changed_fields.is_empty()).then(|| {
            NewEvent::new(
                EventType::ConversationUpdated,
                Some(new.contact_id.clone()),
                json!({"object": after, "changed_fields": changed_fields, "previous": previous}),
            )
        })
    }

    /// A message, about the contact of its conversation.
    pub fn message_created(message: &Message, contact_id: &ContactId) -> NewEvent {
        let mut object = serde_json::to_value(contactd_wire::Message::from(message.clone()))
            .unwrap_or(Value::Null);
        if let Value::Object(fields) = &mut object {
            fields.insert("contact_id".into(), contact_id.as_str().into());
        }
        NewEvent::new(
            EventType::MessageCreated,
            Some(contact_id.clone()),
            json!({"object": object}),
        )
    }
}

fn contact_json(contact: &Contact) -> Value {
    serde_json::to_value(contactd_wire::Contact::from(contact.clone())).unwrap_or(Value::Null)
}

fn conversation_json(conversation: &Conversation) -> Value {
    serde_json::to_value(contactd_wire::Conversation::from(conversation.clone()))
        .unwrap_or(Value::Null)
}

/// Fields that move with every change, or follow from others: never reported as changed.
const DERIVED: &[&str] = &["updated_at", "full_name"];

/// What differs between two versions of an object: the changed fields (dotted paths into
/// `metadata`) and, for each, its value before (inside `metadata`, only the changed keys,
/// nested as stored; `null` for a key that was absent).
fn changes(before: &Value, after: &Value) -> (Vec<String>, Map<String, Value>) {
    let (mut fields, mut previous) = (Vec::new(), Map::new());
    let (Value::Object(before), Value::Object(after)) = (before, after) else {
        return (fields, previous);
    };
    for (name, new) in after {
        if DERIVED.contains(&name.as_str()) {
            continue;
        }
        let old = before.get(name).unwrap_or(&Value::Null);
        if old == new {
            continue;
        }
        if name == "metadata" {
            if let Some(diff) = metadata_diff(name, old, new, &mut fields) {
                previous.insert(name.clone(), diff);
            }
        } else {
            fields.push(name.clone());
            previous.insert(name.clone(), old.clone());
        }
    }
    (fields, previous)
}

/// The paths under `path` where `old` and `new` differ (objects compared key by key,
/// anything else as a whole), and the old values of just those keys.
fn metadata_diff(path: &str, old: &Value, new: &Value, fields: &mut Vec<String>) -> Option<Value> {
    if old == new {
        return None;
    }
    let (Value::Object(old_keys), Value::Object(new_keys)) = (old, new) else {
        fields.push(path.to_owned());
        return Some(old.clone());
    };
    let mut previous = Map::new();
    let keys = old_keys
        .keys()
        .chain(new_keys.keys().filter(|k| !old_keys.contains_key(*k)));
    for key in keys {
        let (was, is) = (
            old_keys.get(key).unwrap_or(&Value::Null),
            new_keys.get(key).unwrap_or(&Value::Null),
        );
        if let Some(diff) = metadata_diff(&format!("{path}.{key}"), was, is, fields) {
            previous.insert(key.clone(), diff);
        }
    }
    Some(Value::Object(previous))
}

/// An event's data once its contact is erased: the ids of its object, nothing else.
pub fn erased(data: &Value) -> Value {
    let mut object = Map::new();
    for id in ["id", "contact_id", "conversation_id"] {
        if let Some(value) = data.pointer(&format!("/object/{id}")) {
            object.insert(id.into(), value.clone());
        }
    }
    json!({"object": object, "erased": true})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::contact::{ContactPatch, NewContact};
    use crate::domain::write;

    fn contact(v: Value) -> Contact {
        let body = v.as_object().cloned().unwrap_or_default();
        let new = NewContact::from_json(body).unwrap_or_else(|e| panic!("{e}"));
        new.into_contact(ContactId::generate(), Timestamp::now())
    }

    fn update(current: &Contact, v: Value) -> Write {
        let patch = ContactPatch::from_json(v.as_object().cloned().unwrap_or_default());
        let patch = patch.unwrap_or_else(|e| panic!("{e}"));
        write::update(current.clone(), None, &patch).unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn an_update_names_changed_fields_with_metadata_paths_and_previous_values() {
        let current = contact(json!({"phone": "+14155550101", "last_name": "Doe",
            "metadata": {"plan": "basic", "tier": {"a": 1, "b": 2}}}));
        let write = update(
            &current,
            json!({"last_name": "Roe", "metadata": {"plan": "pro", "tier": {"b": 3}, "new": true}}),
        );
        let event = NewEvent::of_write(&write).unwrap_or_else(|| panic!("an event"));
        assert_eq!(event.kind, EventType::ContactUpdated);
        assert_eq!(
            event.data["changed_fields"],
            json!([
                "last_name",
                "metadata.plan",
                "metadata.tier.b",
                "metadata.new"
            ])
        );
        assert_eq!(
            event.data["previous"],
            json!({"last_name": "Doe",
                   "metadata": {"plan": "basic", "tier": {"b": 2}, "new": null}})
        );
        assert_eq!(event.data["object"]["last_name"], "Roe");
    }

    #[test]
    fn an_unchanged_write_makes_no_event() {
        let current = contact(json!({"phone": "+14155550101", "first_name": "Ada"}));
        assert_eq!(
            NewEvent::of_write(&update(&current, json!({"first_name": "Ada"}))),
            None
        );
    }

    #[test]
    fn erasure_keeps_ids_only() {
        let c = contact(json!({"phone": "+14155550101", "email": "ada@example.com",
            "first_name": "Ada", "metadata": {"secret": 1}}));
        let created = NewEvent::of_write(&Write::Insert(c.clone()));
        let created = created.unwrap_or_else(|| panic!("an event"));
        let text = erased(&created.data).to_string();
        assert!(text.contains(c.id.as_str()));
        for personal in ["+14155550101", "ada@example.com", "Ada", "secret"] {
            assert!(!text.contains(personal), "{personal} in {text}");
        }
        let deleted = NewEvent::contact_deleted(&c).data.to_string();
        assert!(!deleted.contains("+14155550101"));
    }

    #[test]
    fn cursors_round_trip_and_bad_ones_name_after() {
        let q = FeedQuery::parse(Some(&encode_cursor(42)), None, None, None);
        assert_eq!(q.map(|q| q.after), Ok(42));
        for bad in ["xyz", "c2VxOi0x", "!!"] {
            let e = FeedQuery::parse(Some(bad), None, None, None).unwrap_err();
            assert_eq!(e.field, "after");
        }
        assert_eq!(
            FeedQuery::parse(None, None, Some("0"), None).map_err(|e| e.field),
            Err("limit".to_owned())
        );
        assert_eq!(
            FeedQuery::parse(None, None, None, Some("31")).map_err(|e| e.field),
            Err("wait".to_owned())
        );
    }

    #[test]
    fn type_lists_parse_or_name_the_field() {
        let types = EventType::parse_list("types", "contact.created,message.created".split(','));
        assert_eq!(
            types,
            Ok(vec![EventType::ContactCreated, EventType::MessageCreated])
        );
        let bad = EventType::parse_list("types", ["contact.nope"]);
        assert_eq!(bad.map_err(|e| e.field), Err("types".to_owned()));
        for name in EventType::ALL {
            assert_eq!(EventType::parse(name).map(EventType::as_str), Some(*name));
        }
    }
}
