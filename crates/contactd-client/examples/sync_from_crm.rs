//! Sync from a CRM: when a contact changes in the CRM, update it in contactd by phone,
//! with the CRM's fields in its metadata, as the "Syncing with Your CRM" snippet of the
//! contacts guide does. The CRM's phones are written the national way, so they are put in
//! E.164 first with `format_phone_e164`; a contact contactd does not know yet is created.
//!
//! ```text
//! cargo run -p contactd-client --example sync_from_crm
//! CONTACTD_URL=http://127.0.0.1:8080 CONTACTD_API_KEY=sk_test_… \
//!     cargo run -p contactd-client --example sync_from_crm
//! ```

mod support;

use contactd_client::{
    format_phone_e164, Client, Contact, ContactUpdate, Error, ListContacts, NewContact,
};
use serde_json::{json, Value};
use support::{BoxError, Target};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A contact as the CRM keeps it.
struct CrmContact {
    id: String,
    first_name: String,
    last_name: String,
    email: String,
    /// As typed into the CRM, e.g. `(415) 555-0123`.
    phone: String,
    /// Where the phone was typed: ISO 3166 alpha-2.
    country: &'static str,
    company: String,
    deal_stage: &'static str,
}

/// Brings contactd's contact in line with the CRM's: update by phone, create if missing.
async fn sync_contact(
    client: &Client,
    crm: &CrmContact,
    sync_run: &str,
) -> Result<Contact, BoxError> {
    let phone = format_phone_e164(&crm.phone, crm.country)?;
    let metadata = json!({
        "crm_id": crm.id,
        "company": crm.company,
        "deal_stage": crm.deal_stage,
        "last_synced": OffsetDateTime::now_utc().format(&Rfc3339)?,
        "sync_run": sync_run,
    });
    let update = ContactUpdate::new()
        .first_name(&crm.first_name)
        .last_name(&crm.last_name)
        .email(&crm.email)
        .metadata(metadata.clone());
    match client.contacts().update(&phone, &update).await {
        Ok(contact) => Ok(contact),
        Err(Error::NotFound { .. }) => {
            let new = NewContact::with_phone(phone)
                .first_name(&crm.first_name)
                .last_name(&crm.last_name)
                .email(&crm.email)
                .metadata(metadata);
            // An upsert: a contact known only by this email is completed, not duplicated.
            Ok(client.contacts().upsert(&new).await?.contact)
        }
        Err(e) => Err(e.into()),
    }
}

async fn scenario(client: &Client) -> Result<(), BoxError> {
    let run = support::run_id();
    let n = support::random_below(10_000);

    // Already in contactd, from the website, with metadata of its own.
    let known = client
        .contacts()
        .create(
            &NewContact::with_phone(format!("+1415555{n:04}"))
                .first_name("Jon")
                .metadata(json!({"source": "website", "plan": "premium"})),
        )
        .await?;

    let mut crm = vec![
        CrmContact {
            id: format!("crm-{run}-1"),
            first_name: "John".into(),
            last_name: "Doe".into(),
            email: format!("john.{run}@newcompany.com"),
            phone: format!("(415) 555-{n:04}"),
            country: "US",
            company: "New Company Inc".into(),
            deal_stage: "proposal",
        },
        CrmContact {
            id: format!("crm-{run}-2"),
            first_name: "Amelia".into(),
            last_name: "Pond".into(),
            email: format!("amelia.{run}@example.co.uk"),
            phone: format!("07911 123{:03}", support::random_below(1000)),
            country: "GB",
            company: "Leadworth Ltd".into(),
            deal_stage: "lead",
        },
    ];

    for record in &crm {
        let contact = sync_contact(client, record, &run).await?;
        println!(
            "{} {:?} -> {} {:?}",
            record.id, record.phone, contact.id, contact.phone
        );
    }

    let john = client.contacts().get(&known.id).await?;
    assert_eq!(john.full_name.as_deref(), Some("John Doe"));
    assert_eq!(john.metadata["crm_id"], json!(crm[0].id));
    assert_eq!(
        john.metadata["source"], "website",
        "metadata merges: keys the CRM does not send stay"
    );
    let amelia_phone = format_phone_e164(&crm[1].phone, "GB")?;
    assert!(amelia_phone.starts_with("+447911123"));
    let amelia = client.contacts().get(&amelia_phone).await?;
    assert_eq!(amelia.metadata["deal_stage"], "lead");

    // The deal moves on in the CRM; syncing again updates in place, never duplicates.
    crm[1].deal_stage = "won";
    for record in &crm {
        sync_contact(client, record, &run).await?;
    }
    let synced = client
        .contacts()
        .list_all(&ListContacts::new().metadata_eq("sync_run", &run))
        .await?;
    let stages: Vec<&Value> = synced.iter().map(|c| &c.metadata["deal_stage"]).collect();
    println!("contacts of sync run {run}: {} ({stages:?})", synced.len());
    assert_eq!(synced.len(), 2);
    assert_eq!(stages, [&json!("proposal"), &json!("won")]);

    for contact in &synced {
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
    println!("sync_from_crm: ok");
    Ok(())
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn syncs_crm_contacts_against_a_fresh_server() {
        let target = super::Target::local().await.unwrap();
        let outcome = super::scenario(&target.client).await;
        target.stop().await.unwrap();
        outcome.unwrap();
    }
}
