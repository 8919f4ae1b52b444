//! The contacts a batch planned in one pass sees (`domain::write::plan_in_order`), keyed
//! the way the backends look contacts up (`records::ref_key`).

use std::collections::HashMap;

use crate::domain::contact::Contact;
use crate::domain::refs::ContactRef;
use crate::domain::write::KnownContacts;
use crate::store::records::ref_key;

#[derive(Default)]
pub struct Known(HashMap<(&'static str, String), Contact>);

impl Known {
    /// The contacts read up front for a batch.
    pub fn of(contacts: Vec<Contact>) -> Known {
        let mut known = Known::default();
        for contact in contacts {
            known.put(contact);
        }
        known
    }

    fn put(&mut self, contact: Contact) {
        for key in keys(&contact) {
            self.0.insert(key, contact.clone());
        }
    }
}

/// The lookup keys that find a contact: its id and every identifier it holds.
fn keys(contact: &Contact) -> Vec<(&'static str, String)> {
    let id = ref_key(&ContactRef::Id(contact.id.clone()));
    std::iter::once(id).chain(contact.handles()).collect()
}

impl KnownContacts for Known {
    fn find(&self, contact: &ContactRef) -> Option<Contact> {
        self.0.get(&ref_key(contact)).cloned()
    }

    fn wrote(&mut self, old: Option<&Contact>, new: &Contact) {
        for key in old.map(keys).unwrap_or_default() {
            self.0.remove(&key);
        }
        self.put(new.clone());
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map, Value};

    use super::*;
    use crate::domain::batch::BatchItem;
    use crate::domain::contact::{NewContact, UpsertContact};
    use crate::domain::ids::ContactId;
    use crate::domain::time::Timestamp;
    use crate::domain::write::{plan_in_order, Write, WriteError};

    fn body(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn create(v: Value) -> BatchItem {
        BatchItem::Create(NewContact::from_json(body(v)).unwrap_or_else(|e| panic!("{e}")))
    }

    fn upsert(v: Value) -> BatchItem {
        BatchItem::Upsert(UpsertContact::from_json(body(v)).unwrap_or_else(|e| panic!("{e}")))
    }

    fn stored(v: Value) -> Contact {
        NewContact::from_json(body(v))
            .unwrap_or_else(|e| panic!("{e}"))
            .into_contact(ContactId::generate(), Timestamp::now())
    }

    #[test]
    fn each_item_sees_the_writes_of_the_items_before_it() {
        let held = stored(json!({"email": "Held@Example.com"}));
        let mut known = Known::of(vec![held.clone()]);
        let items = vec![
            create(json!({"phone": "+14155550101", "first_name": "Ada"})),
            // The same phone again: the first create holds it now.
            create(json!({"phone": "+14155550101"})),
            // An upsert by that phone updates the contact the first item created.
            upsert(json!({"phone": "+14155550101", "last_name": "Lovelace"})),
            // The stored contact's email, in other case: a duplicate.
            create(json!({"email": "held@example.com"})),
            // An upsert by the email finds the stored contact.
            upsert(json!({"email": "held@example.com", "first_name": "Grace"})),
        ];
        let plans = plan_in_order(&items, &mut known);
        let Ok(Write::Insert(first)) = &plans[0] else {
            panic!("an insert: {:?}", plans[0]);
        };
        assert_eq!(
            plans[1],
            Err(WriteError::Duplicate {
                field: "phone",
                existing_contact_id: first.id.clone()
            })
        );
        match &plans[2] {
            Ok(Write::Update { old, new }) => {
                assert_eq!(old.id, first.id);
                assert_eq!(new.last_name.as_deref(), Some("Lovelace"));
                assert_eq!(new.first_name.as_deref(), Some("Ada"));
            }
            other => panic!("an update of the first contact: {other:?}"),
        }
        assert_eq!(
            plans[3],
            Err(WriteError::Duplicate {
                field: "email",
                existing_contact_id: held.id.clone()
            })
        );
        match &plans[4] {
            Ok(Write::Update { old, .. }) => assert_eq!(old.id, held.id),
            other => panic!("an update of the stored contact: {other:?}"),
        }
    }
}
