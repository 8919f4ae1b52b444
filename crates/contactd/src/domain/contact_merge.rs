//! Merging two contacts into one, and undoing it (contract §8).
//!
//! A merge keeps the target and folds the source into it; which value wins is decided
//! here, once for both backends (docs/api.md, "Merging contacts", has the rules with
//! examples). The backend moves the source's conversations to the target, deletes the
//! source, writes the merged target and keeps a [`MergeRecord`] whose snapshot holds both
//! contacts as they were, so that an undo within [`UNDO_WINDOW_DAYS`] puts them back.

use serde_json::{json, Map, Value};

use super::contact::{Contact, Precondition};
use super::identity::{self, Identity, IdentityType};
use super::ids::{ContactId, ConversationId, MergeId};
use super::merge::{check_metadata, merge_patch};
use super::restore;
use super::time::Timestamp;
use super::write::WriteError;
use super::FieldError;

/// How long a merge can be undone.
pub const UNDO_WINDOW_DAYS: i64 = 30;
const DAY_MICROS: i64 = 24 * 60 * 60 * 1_000_000;

/// A validated merge request: the contact to fold into the target, and whether only to
/// say what would happen.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeRequest {
    pub source: super::refs::ContactRef,
    pub dry_run: bool,
}

impl MergeRequest {
    pub fn from_json(body: Map<String, Value>) -> Result<MergeRequest, FieldError> {
        let sent: contactd_wire::MergeRequest = super::input::decode_request(body)?;
        let source = super::refs::ContactRef::parse(&sent.source).map_err(|e| FieldError {
            field: "source".into(),
            ..e
        })?;
        Ok(MergeRequest {
            source,
            dry_run: sent.dry_run.unwrap_or(false),
        })
    }
}

/// A merge that has happened (or, in a dry run, would).
#[derive(Debug, Clone, PartialEq)]
pub struct MergeRecord {
    pub id: MergeId,
    pub target_id: ContactId,
    pub source_id: ContactId,
    pub moved_conversations: u64,
    pub moved_messages: u64,
    pub created_at: Timestamp,
    pub undone_at: Option<Timestamp>,
}

impl From<MergeRecord> for contactd_wire::Merge {
    fn from(r: MergeRecord) -> contactd_wire::Merge {
        contactd_wire::Merge {
            id: r.id.into_string(),
            target_id: r.target_id.into_string(),
            source_id: r.source_id.into_string(),
            moved: contactd_wire::MergeMoved {
                conversations: r.moved_conversations,
                messages: r.moved_messages,
            },
            created_at: r.created_at.to_rfc3339(),
            undone_at: r.undone_at.map(Timestamp::to_rfc3339),
        }
    }
}

/// The two contacts as they were before a merge, and the conversations it moved: what an
/// undo puts back.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub target: Contact,
    pub source: Contact,
    pub conversations: Vec<ConversationId>,
}

impl Snapshot {
    pub fn to_json(&self) -> Value {
        json!({
            "target": stored(&self.target),
            "source": stored(&self.source),
            "conversations": self.conversations.iter().map(ConversationId::as_str).collect::<Vec<_>>(),
        })
    }

    /// Reads a snapshot back; `None` when it is not one (a corrupt row).
    pub fn from_json(value: &Value) -> Option<Snapshot> {
        let contact = |v: &Value| restore::contact_from_json(v.as_object()?.clone()).ok();
        let conversations = value["conversations"]
            .as_array()?
            .iter()
            .map(|id| id.as_str().and_then(ConversationId::parse))
            .collect::<Option<Vec<_>>>()?;
        Some(Snapshot {
            target: contact(&value["target"])?,
            source: contact(&value["source"])?,
            conversations,
        })
    }
}

/// A contact as a snapshot keeps it: the API's shape, every value a restore reads back.
fn stored(contact: &Contact) -> Value {
    let mut value =
        serde_json::to_value(contactd_wire::Contact::from(contact.clone())).unwrap_or(Value::Null);
    if let Some(object) = value.as_object_mut() {
        object.remove("full_name");
    }
    value
}

/// The target after folding the source into it, decided from the two as read (locked)
/// in the merge's transaction. The If-Match test applies to the target.
pub fn merge(
    target: &Contact,
    source: &Contact,
    precondition: Option<&Precondition>,
) -> Result<Contact, WriteError> {
    if let Some(p) = precondition {
        if !p.holds_for(target) {
            return Err(WriteError::PreconditionFailed {
                current_etag: target.etag(),
            });
        }
    }
    if target.id == source.id {
        return Err(WriteError::Invalid(
            FieldError::new("source", "A contact cannot be merged into itself")
                .received(source.id.as_str()),
        ));
    }
    let mut merged = target.clone();
    // The source's phone and email: the target's own where it has none, else identities.
    let mut identities = target.identities.clone();
    match (&target.phone, &source.phone) {
        (None, Some(phone)) => merged.phone = Some(phone.clone()),
        (Some(_), Some(phone)) => identities.push(of(IdentityType::Phone, phone.as_str())?),
        _ => {}
    }
    match (&target.email, &source.email) {
        (None, Some(email)) => merged.email = Some(email.clone()),
        (Some(_), Some(email)) => identities.push(of(IdentityType::Email, email.as_str())?),
        _ => {}
    }
    identities.extend(source.identities.iter().cloned());
    merged.identities = identity::unite("identities", identities).map_err(WriteError::Invalid)?;
    if merged.first_name.is_none() {
        merged.first_name.clone_from(&source.first_name);
    }
    if merged.last_name.is_none() {
        merged.last_name.clone_from(&source.last_name);
    }
    if merged.preferred_channel.is_none() {
        merged.preferred_channel = source.preferred_channel;
    }
    // The source's metadata under the target's: a key both have keeps the target's value,
    // objects merging key by key.
    let mut metadata = Value::Object(source.metadata.clone());
    merge_patch(&mut metadata, &Value::Object(target.metadata.clone()));
    check_metadata("metadata", &metadata).map_err(WriteError::Invalid)?;
    if let Value::Object(metadata) = metadata {
        merged.metadata = metadata;
    }
    merged.last_contacted = target.last_contacted.max(source.last_contacted);
    merged.created_at = target.created_at.min(source.created_at);
    merged.updated_at = Timestamp::now_after(target.updated_at.max(source.updated_at));
    Ok(merged)
}

fn of(kind: IdentityType, value: &str) -> Result<Identity, WriteError> {
    Identity::of("identities", kind, value).map_err(WriteError::Invalid)
}

/// Why an undo is refused, decided from the record as read.
#[derive(Debug, Clone, PartialEq)]
pub enum UndoRefused {
    AlreadyUndone,
    Expired,
    /// The target was deleted, or merged into another contact, since.
    TargetGone,
}

/// Whether the merge can still be undone at `now`.
pub fn undoable(record: &MergeRecord, now: Timestamp) -> Result<(), UndoRefused> {
    if record.undone_at.is_some() {
        return Err(UndoRefused::AlreadyUndone);
    }
    if now.as_micros() - record.created_at.as_micros() > UNDO_WINDOW_DAYS * DAY_MICROS {
        return Err(UndoRefused::Expired);
    }
    Ok(())
}

/// The target as an undo writes it back: as it was before the merge, its `updated_at`
/// moved past the current one.
pub fn target_restored(snapshot: &Snapshot, current: &Contact) -> Contact {
    Contact {
        updated_at: Timestamp::now_after(current.updated_at),
        ..snapshot.target.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::contact::NewContact;

    fn contact(v: Value) -> Contact {
        let new = NewContact::from_json(v.as_object().cloned().unwrap_or_default());
        new.unwrap_or_else(|e| panic!("{e}"))
            .into_contact(ContactId::generate(), Timestamp::now())
    }

    #[test]
    fn the_target_keeps_its_values_and_takes_the_sources_where_it_has_none() {
        let target = contact(json!({"phone": "+14155550101", "first_name": "Ada",
            "metadata": {"plan": "pro", "prefs": {"a": 1}},
            "identities": [{"type": "instagram", "value": "ada"}]}));
        let source = contact(json!({"phone": "+14155550102", "email": "ada@example.com",
            "first_name": "Adeline", "last_name": "Lovelace", "preferred_channel": "sms",
            "metadata": {"plan": "free", "source": "crm", "prefs": {"a": 2, "b": 3}},
            "identities": [{"type": "telegram", "value": "ada_t"}]}));
        let merged = merge(&target, &source, None).unwrap();
        assert_eq!(merged.id, target.id);
        assert_eq!(merged.phone, target.phone);
        assert_eq!(
            merged.email, source.email,
            "an empty field takes the source's"
        );
        assert_eq!(merged.first_name.as_deref(), Some("Ada"));
        assert_eq!(merged.last_name.as_deref(), Some("Lovelace"));
        assert_eq!(
            Value::Object(merged.metadata.clone()),
            json!({"plan": "pro", "source": "crm", "prefs": {"a": 1, "b": 3}})
        );
        let refs: Vec<String> = merged.identities.iter().map(Identity::to_ref).collect();
        assert_eq!(
            refs,
            ["instagram:ada", "phone:+14155550102", "telegram:ada_t"],
            "the source's phone becomes an identity beside the target's own"
        );
        assert_eq!(merged.created_at, target.created_at.min(source.created_at));
        assert!(merged.updated_at > target.updated_at);
    }

    #[test]
    fn a_contact_is_not_merged_into_itself_and_if_match_names_the_target() {
        let target = contact(json!({"phone": "+14155550101"}));
        let refused = merge(&target, &target, None);
        assert!(matches!(refused, Err(WriteError::Invalid(e)) if e.field == "source"));
        let source = contact(json!({"phone": "+14155550102"}));
        let stale = Precondition::parse("\"stale\"");
        assert!(matches!(
            merge(&target, &source, Some(&stale)),
            Err(WriteError::PreconditionFailed { .. })
        ));
    }

    #[test]
    fn a_snapshot_reads_back_as_it_was_written() {
        let snapshot = Snapshot {
            target: contact(json!({"phone": "+14155550101", "metadata": {"a": [1, {"b": null}]}})),
            source: contact(json!({"identities": [{"type": "external", "value": "x"}]})),
            conversations: vec![ConversationId::generate()],
        };
        assert_eq!(Snapshot::from_json(&snapshot.to_json()), Some(snapshot));
    }

    #[test]
    fn an_undo_is_refused_when_done_or_past_its_window() {
        let mut record = MergeRecord {
            id: MergeId::generate(),
            target_id: ContactId::generate(),
            source_id: ContactId::generate(),
            moved_conversations: 0,
            moved_messages: 0,
            created_at: Timestamp::from_micros(0),
            undone_at: None,
        };
        let day = |n: i64| Timestamp::from_micros(n * DAY_MICROS);
        assert_eq!(undoable(&record, day(30)), Ok(()));
        assert_eq!(
            undoable(&record, Timestamp::from_micros(30 * DAY_MICROS + 1)),
            Err(UndoRefused::Expired)
        );
        record.undone_at = Some(day(1));
        assert_eq!(undoable(&record, day(2)), Err(UndoRefused::AlreadyUndone));
    }
}
