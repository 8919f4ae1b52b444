//! Create, get, update and delete, and the fields of a contact as the SDK reads them.

use contactd_client::{
    format_phone_e164, Channel, ContactStatus, ContactUpdate, NewContact, Patch,
};
use serde_json::json;

use crate::utils::{phone, TestServer};

#[tokio::test]
async fn create_answers_every_field_and_an_etag() {
    let server = TestServer::start().await;
    let contact = server
        .client()
        .contacts()
        .create(
            &NewContact::with_phone("+1234567890")
                .email("john@example.com")
                .first_name("John")
                .last_name("Doe")
                .preferred_channel(Channel::Whatsapp)
                .metadata(json!({"customer_id": "cust_abc123", "plan": "premium", "gone": null})),
        )
        .await
        .unwrap();
    assert!(contact.id.starts_with("cnt_"), "{}", contact.id);
    assert_eq!(contact.phone.as_deref(), Some("+1234567890"));
    assert_eq!(contact.email.as_deref(), Some("john@example.com"));
    assert_eq!(contact.first_name.as_deref(), Some("John"));
    assert_eq!(contact.last_name.as_deref(), Some("Doe"));
    assert_eq!(contact.full_name.as_deref(), Some("John Doe"));
    assert_eq!(contact.preferred_channel, Some(Channel::Whatsapp));
    assert_eq!(
        serde_json::Value::Object(contact.metadata.clone()),
        json!({"customer_id": "cust_abc123", "plan": "premium"})
    );
    assert_eq!(contact.status, ContactStatus::Active);
    assert!(contact.created_at.ends_with('Z'));
    assert_eq!(contact.created_at, contact.updated_at);
    assert_eq!(contact.last_contacted, None);
    assert!(contact.etag.is_some());
}

#[tokio::test]
async fn get_by_id_phone_or_email() {
    let server = TestServer::start().await;
    let client = server.client();
    let created = client
        .contacts()
        .create(&NewContact::with_phone(phone(1)).email("Mixed.Case@example.com"))
        .await
        .unwrap();
    for contact_ref in [
        created.id.as_str(),
        &phone(1),
        "Mixed.Case@example.com",
        "mixed.case@EXAMPLE.com",
    ] {
        let found = client.contacts().get(contact_ref).await.unwrap();
        assert_eq!(found.id, created.id, "{contact_ref}");
        assert_eq!(
            found.etag, created.etag,
            "an unchanged contact keeps its ETag"
        );
    }
}

#[tokio::test]
async fn update_keeps_clears_sets_and_merges_metadata() {
    let server = TestServer::start().await;
    let contacts = server.client();
    let contacts = contacts.contacts();
    let created = contacts
        .create(
            &NewContact::with_phone(phone(1))
                .email("a@example.com")
                .first_name("Ann")
                .last_name("Lee")
                .preferred_channel(Channel::Sms)
                .metadata(json!({"plan": "premium", "source": "website",
                                 "preferences": {"language": "en", "timezone": "UTC"}})),
        )
        .await
        .unwrap();

    let updated = contacts
        .update(
            &phone(1),
            &ContactUpdate::new()
                .email("ann@newcompany.com")
                .clear_last_name()
                .metadata(json!({"plan": "enterprise", "source": null,
                                 "preferences": {"language": "fr"}})),
        )
        .await
        .unwrap();
    assert_eq!(updated.id, created.id);
    assert_eq!(updated.email.as_deref(), Some("ann@newcompany.com"));
    assert_eq!(updated.first_name.as_deref(), Some("Ann"), "kept");
    assert_eq!(updated.last_name, None, "cleared");
    assert_eq!(updated.full_name.as_deref(), Some("Ann"));
    assert_eq!(updated.preferred_channel, Some(Channel::Sms), "kept");
    assert_eq!(
        serde_json::Value::Object(updated.metadata.clone()),
        json!({"plan": "enterprise", "preferences": {"language": "fr", "timezone": "UTC"}})
    );
    assert_ne!(updated.etag, created.etag);
    assert!(updated.updated_at > created.updated_at);

    let updated = contacts
        .update(
            &created.id,
            &ContactUpdate {
                preferred_channel: Patch::Clear,
                first_name: Patch::from(Some("Annie".to_owned())),
                ..ContactUpdate::new()
            }
            .clear_metadata()
            .status(ContactStatus::Inactive),
        )
        .await
        .unwrap();
    assert_eq!(updated.preferred_channel, None);
    assert_eq!(updated.first_name.as_deref(), Some("Annie"));
    assert!(updated.metadata.is_empty());
    assert_eq!(updated.status, ContactStatus::Inactive);

    let unchanged = contacts
        .update(&created.id, &ContactUpdate::new())
        .await
        .unwrap();
    assert_eq!(
        unchanged.updated_at, updated.updated_at,
        "an empty update changes nothing"
    );

    let swapped = contacts
        .update(
            "ann@newcompany.com",
            &ContactUpdate::new()
                .clear_email()
                .phone("07911 123456")
                .default_country("GB"),
        )
        .await
        .unwrap();
    assert_eq!(swapped.phone.as_deref(), Some("+447911123456"));
    assert_eq!(swapped.email, None);
}

#[tokio::test]
async fn national_numbers_with_a_default_country_match_format_phone_e164() {
    let server = TestServer::start().await;
    let raw = "020 7946 0018";
    let contact = server
        .client()
        .contacts()
        .create(&NewContact::with_phone(raw).default_country("GB"))
        .await
        .unwrap();
    assert_eq!(contact.phone, Some(format_phone_e164(raw, "GB").unwrap()));
}

#[tokio::test]
async fn delete_answers_the_contact_as_deleted_then_404() {
    let server = TestServer::start().await;
    let contacts = server.client();
    let contacts = contacts.contacts();
    let created = contacts
        .create(&NewContact::with_email("bye@example.com").first_name("Bye"))
        .await
        .unwrap();
    let deleted = contacts.delete("bye@example.com").await.unwrap();
    assert_eq!(deleted.id, created.id);
    assert_eq!(deleted.status, ContactStatus::Deleted);
    assert_eq!(deleted.first_name.as_deref(), Some("Bye"));
    assert!(contacts.get(&created.id).await.unwrap_err().is_not_found());
    // Its email can be used again.
    contacts
        .create(&NewContact::with_email("bye@example.com"))
        .await
        .unwrap();
}
