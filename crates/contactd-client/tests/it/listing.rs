//! List and search: every filter of `ListContacts`, offset pages, cursor pages, `list_all`.

use std::collections::HashSet;

use contactd_client::{
    Channel, Contact, ContactStatus, ContactUpdate, ListContacts, MetadataOp, NewContact, Sort,
    SortField,
};
use serde_json::json;

use crate::utils::{phone, TestServer};

fn ids(contacts: &[Contact]) -> Vec<&str> {
    contacts.iter().map(|c| c.id.as_str()).collect()
}

#[tokio::test]
async fn filters_search_and_sort() {
    let server = TestServer::start().await;
    let client = server.client();
    let contacts = client.contacts();
    let john = contacts
        .create(
            &NewContact::with_phone("+14155550123")
                .first_name("John")
                .last_name("Doe")
                .preferred_channel(Channel::Whatsapp)
                .metadata(json!({"plan": "premium", "mrr": 500, "tags": ["vip"],
                                 "preferences": {"language": "en"}})),
        )
        .await
        .unwrap();
    let jane = contacts
        .create(
            &NewContact::with_email("jane@example.com")
                .first_name("Jane")
                .preferred_channel(Channel::Email)
                .metadata(json!({"plan": "basic", "mrr": 50})),
        )
        .await
        .unwrap();
    let zed = contacts
        .create(
            &NewContact::with_phone(phone(9))
                .first_name("Zed")
                .status(ContactStatus::Inactive),
        )
        .await
        .unwrap();

    let list = |query: ListContacts| async move { contacts.list(&query).await.unwrap() };

    let page = list(ListContacts::new()).await;
    assert_eq!(ids(&page.data), [&john.id, &jane.id, &zed.id]);
    assert_eq!(
        (page.total, page.limit, page.offset, page.has_more),
        (Some(3), 20, Some(0), false)
    );
    assert_eq!(page.next_cursor, None);

    assert_eq!(
        ids(&list(ListContacts::new().q("ja")).await.data),
        [&jane.id]
    );
    assert_eq!(
        ids(&list(ListContacts::new().q("1415555012")).await.data),
        [&john.id]
    );
    assert_eq!(
        ids(&list(ListContacts::new().status(ContactStatus::Inactive))
            .await
            .data),
        [&zed.id]
    );
    assert_eq!(
        ids(&list(ListContacts::new().preferred_channel(Channel::Email))
            .await
            .data),
        [&jane.id]
    );
    assert_eq!(
        ids(&list(ListContacts::new().metadata_eq("plan", "premium"))
            .await
            .data),
        [&john.id]
    );
    assert_eq!(
        ids(
            &list(ListContacts::new().metadata_eq("preferences.language", "en"))
                .await
                .data
        ),
        [&john.id]
    );
    assert_eq!(
        ids(&list(ListContacts::new().metadata_eq("tags", "vip"))
            .await
            .data),
        [&john.id]
    );
    assert_eq!(
        ids(
            &list(ListContacts::new().metadata_filter("mrr", MetadataOp::Gte, 100))
                .await
                .data
        ),
        [&john.id]
    );
    assert_eq!(
        ids(
            &list(ListContacts::new().metadata_filter("mrr", MetadataOp::Lt, 100))
                .await
                .data
        ),
        [&jane.id]
    );
    assert_eq!(
        ids(
            &list(ListContacts::new().metadata_filter("plan", MetadataOp::Exists, false))
                .await
                .data
        ),
        [&zed.id]
    );
    assert_eq!(
        ids(
            &list(ListContacts::new().metadata_filter("plan", MetadataOp::Ne, "basic"))
                .await
                .data
        ),
        [&john.id, &zed.id]
    );
    assert_eq!(
        ids(&list(
            ListContacts::new()
                .metadata_filter("mrr", MetadataOp::Gt, 10)
                .metadata_filter("mrr", MetadataOp::Lte, 50)
        )
        .await
        .data),
        [&jane.id]
    );
    assert_eq!(
        ids(
            &list(ListContacts::new().sort(Sort::desc(SortField::CreatedAt)))
                .await
                .data
        ),
        [&zed.id, &jane.id, &john.id]
    );
    assert_eq!(
        ids(
            &list(ListContacts::new().sort(Sort::asc(SortField::FullName)))
                .await
                .data
        ),
        [&jane.id, &john.id, &zed.id]
    );

    assert_eq!(
        ids(&list(ListContacts::new().created_after(&john.created_at))
            .await
            .data),
        [&jane.id, &zed.id]
    );
    assert_eq!(
        ids(&list(ListContacts::new().created_before(&zed.created_at))
            .await
            .data),
        [&john.id, &jane.id]
    );
    let touched = contacts
        .update(&john.id, &ContactUpdate::new().first_name("Johnny"))
        .await
        .unwrap();
    let page = list(ListContacts::new().updated_after(&zed.updated_at)).await;
    assert_eq!(ids(&page.data), [&touched.id]);
    assert_eq!(
        ids(
            &list(ListContacts::new().sort(Sort::desc(SortField::UpdatedAt)))
                .await
                .data
        )[0],
        john.id
    );
    assert_eq!(
        ids(
            &list(ListContacts::new().sort(Sort::asc(SortField::LastContacted)))
                .await
                .data
        )
        .len(),
        3
    );

    let page = list(ListContacts::new().limit(2).offset(1)).await;
    assert_eq!(ids(&page.data), [&jane.id, &zed.id]);
    assert_eq!(
        (page.total, page.limit, page.offset, page.has_more),
        (Some(3), 2, Some(1), false)
    );
}

#[tokio::test]
async fn cursor_pages_and_list_all_read_every_contact_once() {
    let server = TestServer::start().await;
    let client = server.client();
    let mut created = Vec::new();
    for n in 0..25 {
        let contact = client
            .contacts()
            .create(&NewContact::with_phone(phone(n)).metadata(json!({"batch": "a"})))
            .await
            .unwrap();
        created.push(contact.id);
    }
    client
        .contacts()
        .create(&NewContact::with_phone(phone(99)).metadata(json!({"batch": "b"})))
        .await
        .unwrap();

    let query = ListContacts::new().metadata_eq("batch", "a").limit(10);
    let mut pages = client.contacts().pages(&query);
    let mut sizes = Vec::new();
    let mut seen = Vec::new();
    while let Some(page) = pages.next_page().await.unwrap() {
        if !sizes.is_empty() {
            assert_eq!(
                (page.total, page.offset),
                (None, None),
                "cursor pages take no count"
            );
        }
        sizes.push(page.data.len());
        seen.extend(page.data.into_iter().map(|c| c.id));
    }
    assert_eq!(sizes, [10, 10, 5]);
    assert_eq!(seen, created);
    assert!(pages.next_page().await.unwrap().is_none());

    let all = client
        .contacts()
        .list_all(
            &ListContacts::new()
                .limit(7)
                .offset(3)
                .sort(Sort::desc(SortField::CreatedAt)),
        )
        .await
        .unwrap();
    assert_eq!(all.len(), 26, "list_all ignores the offset");
    let unique: HashSet<&str> = all.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(unique.len(), 26);
    assert_eq!(
        all.last().map(|c| c.id.as_str()),
        created.first().map(String::as_str)
    );

    let first = client
        .contacts()
        .list(&ListContacts::new().limit(10))
        .await
        .unwrap();
    let cursor = first
        .next_cursor
        .clone()
        .expect("a first page with more has a cursor");
    let second = client
        .contacts()
        .list(&ListContacts::new().limit(10).cursor(cursor))
        .await
        .unwrap();
    assert_eq!(second.data[0].id, created[10]);
}
