//! Every typed error, from a real server: the variant, its details, `code()` and `status()`.

use std::time::{Duration, Instant};

use contactd_client::{Client, ContactUpdate, Error, ListContacts, NewContact, NewConversation};
use serde_json::json;

use crate::utils::{phone, TestServer};

#[track_caller]
fn assert_code(err: &Error, code: &str, status: u16) {
    assert_eq!((err.code(), err.status()), (code, Some(status)), "{err:?}");
}

#[tokio::test]
async fn not_found() {
    let server = TestServer::start().await;
    let client = server.client();
    let missing = "cnt_doesnotexist0000";
    for contact_ref in [missing, "+14155559999", "nobody@example.com"] {
        let err = client.contacts().get(contact_ref).await.unwrap_err();
        assert!(
            matches!(&err, Error::NotFound { message } if !message.is_empty()),
            "{err:?}"
        );
        assert!(err.is_not_found());
        assert_code(&err, "not_found", 404);
    }
    let update = ContactUpdate::new().first_name("X");
    assert!(client
        .contacts()
        .update(missing, &update)
        .await
        .unwrap_err()
        .is_not_found());
    assert!(client
        .contacts()
        .delete(missing)
        .await
        .unwrap_err()
        .is_not_found());
    let conversation = NewConversation::new(missing, contactd_client::Channel::Sms);
    assert!(client
        .conversations()
        .create(&conversation)
        .await
        .unwrap_err()
        .is_not_found());
    let err = client
        .conversations()
        .get("conv_doesnotexist0000")
        .await
        .unwrap_err();
    assert!(err.is_not_found());
}

#[tokio::test]
async fn duplicate_on_create_and_update() {
    let server = TestServer::start().await;
    let contacts = server.client();
    let contacts = contacts.contacts();
    let first = contacts
        .create(&NewContact::with_phone(phone(1)).email("taken@example.com"))
        .await
        .unwrap();

    let err = contacts
        .create(&NewContact::with_phone(phone(1)))
        .await
        .unwrap_err();
    match &err {
        Error::Duplicate {
            field,
            existing_contact_id,
            phone_contact_id,
            email_contact_id,
            message,
        } => {
            assert_eq!(field.as_deref(), Some("phone"));
            assert_eq!(existing_contact_id, &first.id);
            assert_eq!((phone_contact_id, email_contact_id), (&None, &None));
            assert!(message.contains("phone"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_code(&err, "duplicate_contact", 409);

    let second = contacts
        .create(&NewContact::with_phone(phone(2)))
        .await
        .unwrap();
    let err = contacts
        .update(&second.id, &ContactUpdate::new().email("TAKEN@example.com"))
        .await
        .unwrap_err();
    match err {
        Error::Duplicate {
            field,
            existing_contact_id,
            ..
        } => {
            assert_eq!(field.as_deref(), Some("email"));
            assert_eq!(existing_contact_id, first.id);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn duplicate_from_an_upsert_names_both_contacts() {
    let server = TestServer::start().await;
    let client = server.client();
    let by_phone = client
        .contacts()
        .create(&NewContact::with_phone(phone(1)))
        .await
        .unwrap();
    let by_email = client
        .contacts()
        .create(&NewContact::with_email("b@example.com"))
        .await
        .unwrap();

    let err = client
        .contacts()
        .upsert(&NewContact::with_phone(phone(1)).email("b@example.com"))
        .await
        .unwrap_err();
    match &err {
        Error::Duplicate {
            existing_contact_id,
            phone_contact_id,
            email_contact_id,
            ..
        } => {
            assert_eq!(existing_contact_id, &by_phone.id);
            assert_eq!(phone_contact_id.as_deref(), Some(by_phone.id.as_str()));
            assert_eq!(email_contact_id.as_deref(), Some(by_email.id.as_str()));
        }
        other => panic!("{other:?}"),
    }
    assert_code(&err, "duplicate_contact", 409);
}

#[tokio::test]
async fn invalid_input_names_the_field_and_suggests_a_value() {
    let server = TestServer::start().await;
    let client = server.client();

    let err = client
        .contacts()
        .create(&NewContact::with_phone("1234567890"))
        .await
        .unwrap_err();
    match &err {
        Error::InvalidInput {
            field,
            received,
            expected,
            message,
        } => {
            assert_eq!(field.as_deref(), Some("phone"));
            assert_eq!(received, &Some(json!("1234567890")));
            assert_eq!(expected, &Some(json!("+1234567890")));
            assert_eq!(message, "Phone number must be in E.164 format");
        }
        other => panic!("{other:?}"),
    }
    assert_code(&err, "invalid_input", 400);

    let err = client.contacts().get("1234567890").await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field: Some(f), expected: Some(e), .. }
            if f == "ref" && e == "+1234567890"),
        "{err:?}"
    );
    let err = client
        .contacts()
        .create(&NewContact::with_email("a@example.com").metadata(json!(["not", "an", "object"])))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field: Some(f), .. } if f == "metadata"),
        "{err:?}"
    );
    let err = client
        .contacts()
        .list(&ListContacts::new().limit(0))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field: Some(f), .. } if f == "limit"),
        "{err:?}"
    );
    let err = client
        .contacts()
        .create(&NewContact::with_phone("07911 123456").default_country("XX"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field: Some(f), .. } if f == "default_country"),
        "{err:?}"
    );
    let err = client.contacts().get("..").await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field: Some(f), .. } if f == "ref"),
        "{err:?}"
    );
}

#[tokio::test]
async fn unauthorized_with_a_bad_key() {
    let server = TestServer::start().await;
    for key in ["sk_live_notarealkey", "", "garbage"] {
        let err = server
            .client_with_key(key)
            .contacts()
            .get(&phone(1))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Unauthorized { message } if !message.is_empty()),
            "{err:?}"
        );
        assert_code(&err, "unauthorized", 401);
    }
}

#[tokio::test]
async fn precondition_failed_names_the_current_etag() {
    let server = TestServer::start().await;
    let contacts = server.client();
    let contacts = contacts.contacts();
    let created = contacts
        .create(&NewContact::with_phone(phone(1)))
        .await
        .unwrap();
    let stale = created.etag.clone().expect("a create answers an ETag");
    let changed = contacts
        .update(&created.id, &ContactUpdate::new().first_name("Ann"))
        .await
        .unwrap();
    let current = changed.etag.clone().expect("an update answers an ETag");
    assert_ne!(stale, current);

    let err = contacts
        .update_if_match(&created.id, &ContactUpdate::new().first_name("Bob"), &stale)
        .await
        .unwrap_err();
    match &err {
        Error::PreconditionFailed { current_etag, .. } => {
            assert_eq!(current_etag.as_deref(), Some(current.as_str()));
        }
        other => panic!("{other:?}"),
    }
    assert_code(&err, "precondition_failed", 412);
    let err = contacts
        .delete_if_match(&created.id, &stale)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PreconditionFailed { .. }), "{err:?}");
    assert_eq!(
        contacts
            .get(&created.id)
            .await
            .unwrap()
            .first_name
            .as_deref(),
        Some("Ann"),
        "a failed precondition changes nothing"
    );

    let updated = contacts
        .update_if_match(
            &created.id,
            &ContactUpdate::new().first_name("Bob"),
            &current,
        )
        .await
        .unwrap();
    assert_eq!(updated.first_name.as_deref(), Some("Bob"));
    let latest = updated.etag.unwrap();
    let deleted = contacts
        .delete_if_match(&created.id, &latest)
        .await
        .unwrap();
    assert_eq!(deleted.id, created.id);
}

#[tokio::test]
async fn idempotency_conflict_when_a_key_is_reused_for_another_body() {
    let server = TestServer::start().await;
    let contacts = server.client();
    let contacts = contacts.contacts();
    let first = contacts
        .create_with_key(&NewContact::with_phone(phone(1)), "import-7")
        .await
        .unwrap();
    let replayed = contacts
        .create_with_key(&NewContact::with_phone(phone(1)), "import-7")
        .await
        .unwrap();
    assert_eq!(
        replayed.id, first.id,
        "the same key and body replay the first answer"
    );

    let err = contacts
        .create_with_key(&NewContact::with_phone(phone(2)), "import-7")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::IdempotencyConflict { message } if !message.is_empty()),
        "{err:?}"
    );
    assert_code(&err, "idempotency_conflict", 409);
    assert!(contacts.get(&phone(2)).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn payload_too_large_over_1_mib() {
    let server = TestServer::start().await;
    let big = "x".repeat(1024 * 1024 + 1);
    let err = server
        .client()
        .contacts()
        .create(&NewContact::with_phone(phone(1)).metadata(json!({"blob": big})))
        .await
        .unwrap_err();
    match &err {
        Error::PayloadTooLarge { limit_bytes, .. } => assert_eq!(*limit_bytes, Some(1024 * 1024)),
        other => panic!("{other:?}"),
    }
    assert_code(&err, "payload_too_large", 413);
}

#[tokio::test]
async fn rate_limited_by_a_real_server_then_retried_after_retry_after() {
    let server = TestServer::start_with(|config| {
        config.rate_limit_per_second = 1.0;
        config.rate_limit_burst = 1.0;
    })
    .await;
    let no_retries = Client::builder(&server.url, &server.key)
        .max_retries(0)
        .build();
    no_retries
        .contacts()
        .list(&ListContacts::new())
        .await
        .unwrap();
    let err = no_retries
        .contacts()
        .list(&ListContacts::new())
        .await
        .unwrap_err();
    match &err {
        Error::RateLimited { retry_after, .. } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(1)));
        }
        other => panic!("{other:?}"),
    }
    assert_code(&err, "rate_limited", 429);

    let started = Instant::now();
    let page = server
        .client()
        .contacts()
        .list(&ListContacts::new())
        .await
        .unwrap();
    assert_eq!(page.total, Some(0));
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "it waited for Retry-After"
    );
}
