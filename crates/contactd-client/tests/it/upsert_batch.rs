//! Upsert (created or updated, from the status and `X-Upsert-Result`) and batch, with a
//! typed result per item.

use contactd_client::{BatchMode, BatchOutcome, Error, NewContact};
use serde_json::json;

use crate::utils::{phone, TestServer};

#[tokio::test]
async fn upsert_creates_then_updates() {
    let server = TestServer::start().await;
    let contacts = server.client();
    let contacts = contacts.contacts();

    let created = contacts
        .upsert(
            &NewContact::with_phone(phone(1))
                .first_name("Ann")
                .metadata(json!({"plan": "premium", "source": "website"})),
        )
        .await
        .unwrap();
    assert!(created.created);
    assert!(created.contact.etag.is_some());

    let updated = contacts
        .upsert(
            &NewContact::with_phone(phone(1))
                .email("ann@example.com")
                .metadata(json!({"plan": "enterprise"})),
        )
        .await
        .unwrap();
    assert!(!updated.created);
    assert_eq!(updated.contact.id, created.contact.id);
    assert_eq!(
        updated.contact.first_name.as_deref(),
        Some("Ann"),
        "fields not sent stay"
    );
    assert_eq!(updated.contact.email.as_deref(), Some("ann@example.com"));
    assert_eq!(
        serde_json::Value::Object(updated.contact.metadata),
        json!({"plan": "enterprise", "source": "website"})
    );

    let by_email = contacts
        .upsert_with_key(
            &NewContact::with_email("ANN@example.com").last_name("Lee"),
            "u-1",
        )
        .await
        .unwrap();
    assert!(!by_email.created);
    assert_eq!(by_email.contact.id, created.contact.id);
    let replayed = contacts
        .upsert_with_key(
            &NewContact::with_email("ANN@example.com").last_name("Lee"),
            "u-1",
        )
        .await
        .unwrap();
    assert_eq!(
        (replayed.created, replayed.contact.id),
        (false, created.contact.id)
    );
}

#[tokio::test]
async fn batch_create_reports_each_item() {
    let server = TestServer::start().await;
    let contacts = server.client();
    let contacts = contacts.contacts();
    let existing = contacts
        .create(&NewContact::with_phone(phone(1)))
        .await
        .unwrap();

    let result = contacts
        .batch(
            BatchMode::Create,
            &[
                NewContact::with_phone(phone(2)).first_name("Two"),
                NewContact::with_phone("bad"),
                NewContact::with_phone(phone(1)),
                NewContact::with_email("four@example.com"),
            ],
        )
        .await
        .unwrap();
    assert_eq!((result.created, result.updated, result.errors), (2, 0, 2));
    let indexes: Vec<usize> = result.results.iter().map(|r| r.index).collect();
    assert_eq!(indexes, [0, 1, 2, 3]);
    assert!(
        matches!(&result.results[0].outcome, BatchOutcome::Created(c) if c.first_name.as_deref() == Some("Two"))
    );
    let invalid = Error::from(result.results[1].error().cloned().unwrap());
    assert!(
        matches!(&invalid, Error::InvalidInput { field: Some(f), received: Some(r), .. } if f == "phone" && r == "bad"),
        "{invalid:?}"
    );
    let duplicate = Error::from(result.results[2].error().cloned().unwrap());
    assert!(
        matches!(&duplicate, Error::Duplicate { existing_contact_id, .. } if *existing_contact_id == existing.id),
        "{duplicate:?}"
    );
    assert_eq!(result.contacts().count(), 2);
    assert!(contacts.get("four@example.com").await.is_ok());
}

#[tokio::test]
async fn batch_upsert_updates_and_creates_and_replays_with_a_key() {
    let server = TestServer::start().await;
    let contacts = server.client();
    let contacts = contacts.contacts();
    let existing = contacts
        .create(&NewContact::with_phone(phone(1)).metadata(json!({"a": 1})))
        .await
        .unwrap();
    let items = [
        NewContact::with_phone(phone(1)).metadata(json!({"b": 2})),
        NewContact::with_phone(phone(2)),
    ];

    let result = contacts
        .batch_with_key(BatchMode::Upsert, &items, "batch-1")
        .await
        .unwrap();
    assert_eq!((result.created, result.updated, result.errors), (1, 1, 0));
    match &result.results[0].outcome {
        BatchOutcome::Updated(contact) => {
            assert_eq!(contact.id, existing.id);
            assert_eq!(
                serde_json::Value::Object(contact.metadata.clone()),
                json!({"a": 1, "b": 2})
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        result.results[1].outcome,
        BatchOutcome::Created(_)
    ));

    let replayed = contacts
        .batch_with_key(BatchMode::Upsert, &items, "batch-1")
        .await
        .unwrap();
    assert_eq!(
        replayed, result,
        "the same key and body replay the first answer"
    );
    let again = contacts.batch(BatchMode::Upsert, &items).await.unwrap();
    assert_eq!(
        (again.created, again.updated, again.unchanged),
        (0, 0, 2),
        "the same items again change nothing"
    );
    assert!(matches!(
        again.results[0].outcome,
        BatchOutcome::Unchanged(_)
    ));
}
