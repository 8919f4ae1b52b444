//! Search before create: look a contact up by phone, then by email, and create it only
//! when neither finds one, as the "Search Before Create" snippet of the contacts guide
//! does. A create that loses a race to another writer gets `duplicate_contact` with the
//! id of the contact that won, and reads that one instead.
//!
//! ```text
//! cargo run -p contactd-client --example search_before_create
//! CONTACTD_URL=http://127.0.0.1:8080 CONTACTD_API_KEY=sk_test_… \
//!     cargo run -p contactd-client --example search_before_create
//! ```

mod support;

use contactd_client::{Client, Contact, Error, NewContact};
use support::{BoxError, Target};

/// The contact with this phone, else the one with this email, else a new one.
async fn ensure_contact(
    client: &Client,
    phone: &str,
    email: &str,
    name: &str,
) -> Result<Contact, Error> {
    for contact_ref in [phone, email] {
        match client.contacts().get(contact_ref).await {
            Ok(contact) => return Ok(contact),
            Err(Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let new = NewContact::with_phone(phone).email(email).first_name(name);
    match client.contacts().create(&new).await {
        Err(Error::Duplicate {
            existing_contact_id,
            ..
        }) => client.contacts().get(&existing_contact_id).await,
        other => other,
    }
}

async fn scenario(client: &Client) -> Result<(), BoxError> {
    let run = support::run_id();
    let mut made = Vec::new();

    // Known by email only: found by its email, and left as it is.
    let ada_email = format!("ada.{run}@example.com");
    let ada = client
        .contacts()
        .create(&NewContact::with_email(&ada_email).first_name("Ada"))
        .await?;
    made.push(ada.id.clone());
    let found = ensure_contact(client, &support::random_us_phone(), &ada_email, "Ada").await?;
    println!("{ada_email}: found {} by email", found.id);
    assert_eq!(found.id, ada.id);
    assert_eq!(found.phone, None, "a search changes nothing");

    // Unknown: created with both identifiers.
    let grace_phone = support::random_us_phone();
    let grace_email = format!("grace.{run}@example.com");
    let grace = ensure_contact(client, &grace_phone, &grace_email, "Grace").await?;
    made.push(grace.id.clone());
    println!("{grace_phone} / {grace_email}: created {}", grace.id);
    assert_eq!(grace.phone.as_deref(), Some(grace_phone.as_str()));
    assert_eq!(grace.email.as_deref(), Some(grace_email.as_str()));

    // Found by phone first, whatever the email says; emails match in any case.
    let by_phone = ensure_contact(client, &grace_phone, "someone.else@example.com", "G").await?;
    assert_eq!(by_phone.id, grace.id);
    let by_email = ensure_contact(
        client,
        &support::random_us_phone(),
        &grace_email.to_uppercase(),
        "Grace",
    )
    .await?;
    assert_eq!(by_email.id, grace.id);
    println!("{grace_phone}: found {} by phone and by email", grace.id);

    for id in &made {
        client.contacts().delete(id).await?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let target = Target::from_env_or_local().await?;
    let outcome = scenario(&target.client).await;
    target.stop().await?;
    outcome?;
    println!("search_before_create: ok");
    Ok(())
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn searches_before_creating_against_a_fresh_server() {
        let target = super::Target::local().await.unwrap();
        let outcome = super::scenario(&target.client).await;
        target.stop().await.unwrap();
        outcome.unwrap();
    }
}
