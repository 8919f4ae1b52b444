//! Find or create: look a contact up by phone and create it on a 404, as the "Upsert
//! Pattern" of the contacts guide does; then the same with the server's upsert, which
//! finds or creates in one transaction and cannot race.
//!
//! ```text
//! cargo run -p contactd-client --example find_or_create
//! CONTACTD_URL=http://127.0.0.1:8080 CONTACTD_API_KEY=sk_test_… \
//!     cargo run -p contactd-client --example find_or_create
//! ```

mod support;

use contactd_client::{Channel, Client, Contact, Error, NewContact};
use serde_json::json;
use support::{BoxError, Target};

/// The contact with this phone, or a new one made of `data`; `true` when created.
async fn find_or_create_contact(
    client: &Client,
    phone: &str,
    data: NewContact,
) -> Result<(Contact, bool), Error> {
    match client.contacts().get(phone).await {
        Ok(contact) => Ok((contact, false)),
        Err(Error::NotFound { .. }) => {
            let contact = client.contacts().create(&data.phone(phone)).await?;
            Ok((contact, true))
        }
        Err(e) => Err(e),
    }
}

async fn scenario(client: &Client) -> Result<(), BoxError> {
    let phone = support::random_us_phone();
    let data = NewContact::new()
        .first_name("John")
        .last_name("Doe")
        .preferred_channel(Channel::Whatsapp);

    let (first, created) = find_or_create_contact(client, &phone, data.clone()).await?;
    println!("{phone}: created {} ({:?})", first.id, first.full_name);
    assert!(created, "the first call creates the contact");

    let (again, created) = find_or_create_contact(client, &phone, data).await?;
    println!("{phone}: found {} again", again.id);
    assert!(!created, "the second call finds it");
    assert_eq!(again.id, first.id);

    // The server-side upsert: found by phone, so the fields sent are applied to it.
    let upserted = client
        .contacts()
        .upsert(&NewContact::with_phone(&phone).metadata(json!({"source": "website"})))
        .await?;
    println!(
        "{phone}: upsert {} {}",
        if upserted.created {
            "created"
        } else {
            "updated"
        },
        upserted.contact.id
    );
    assert!(!upserted.created);
    assert_eq!(upserted.contact.id, first.id);
    assert_eq!(upserted.contact.metadata["source"], "website");
    assert_eq!(upserted.contact.first_name.as_deref(), Some("John"));

    let other_phone = loop {
        let candidate = support::random_us_phone();
        if candidate != phone {
            break candidate;
        }
    };
    let fresh = client
        .contacts()
        .upsert(&NewContact::with_phone(&other_phone).first_name("Jane"))
        .await?;
    println!("{other_phone}: upsert created {}", fresh.contact.id);
    assert!(fresh.created);

    for contact in [&first, &fresh.contact] {
        client.contacts().delete(&contact.id).await?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let target = Target::from_env_or_local().await?;
    let outcome = scenario(&target.client).await;
    target.stop().await?;
    outcome?;
    println!("find_or_create: ok");
    Ok(())
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn finds_or_creates_against_a_fresh_server() {
        let target = super::Target::local().await.unwrap();
        let outcome = super::scenario(&target.client).await;
        target.stop().await.unwrap();
        outcome.unwrap();
    }
}
