//! Counts, `include_total`, and saved segments: create, list, get, update, delete, a
//! segment's contacts by page, by cursor pager and one by one.

use std::collections::HashSet;

use contactd_client::{
    Contact, ContactStatus, ContactUpdate, Error, ListContacts, ListSegmentContacts, MetadataOp,
    NewContact, NewSegment, Page, SegmentFilter, SegmentUpdate, Sort, SortField,
};
use serde_json::json;

use crate::utils::{phone, TestServer};

fn ids(contacts: &[Contact]) -> Vec<&str> {
    contacts.iter().map(|c| c.id.as_str()).collect()
}

/// 25 contacts: plan premium for every third (0, 3, …, 24: 9 of them), mrr = n, the odd
/// ones inactive. Returns them in creation order.
async fn seed(server: &TestServer) -> Vec<Contact> {
    let client = server.client();
    let mut created = Vec::new();
    for n in 0..25u32 {
        let plan = if n % 3 == 0 { "premium" } else { "basic" };
        let status = if n % 2 == 1 {
            ContactStatus::Inactive
        } else {
            ContactStatus::Active
        };
        let contact = client
            .contacts()
            .create(
                &NewContact::with_phone(phone(n))
                    .first_name(format!("Person{n:02}"))
                    .status(status)
                    .metadata(json!({"plan": plan, "mrr": n})),
            )
            .await
            .unwrap();
        created.push(contact);
    }
    created
}

fn premium() -> ListContacts {
    ListContacts::new().metadata_eq("plan", "premium")
}

#[tokio::test]
async fn count_takes_the_list_filters_and_ignores_paging() {
    let server = TestServer::start().await;
    let client = server.client();
    let contacts = client.contacts();
    let all = seed(&server).await;

    assert_eq!(contacts.count(&ListContacts::new()).await.unwrap(), 25);
    assert_eq!(contacts.count(&premium()).await.unwrap(), 9);
    let active_premium = premium().status(ContactStatus::Active);
    assert_eq!(contacts.count(&active_premium).await.unwrap(), 5);
    assert_eq!(
        contacts
            .count(&ListContacts::new().metadata_filter("mrr", MetadataOp::Gte, 20))
            .await
            .unwrap(),
        5
    );
    assert_eq!(
        contacts
            .count(&ListContacts::new().q("person1"))
            .await
            .unwrap(),
        10
    );
    // Order, page and cursor are not sent to /count (it would refuse them).
    let paged = active_premium
        .clone()
        .sort(Sort::desc(SortField::UpdatedAt))
        .limit(1)
        .offset(3)
        .include_total(true);
    assert_eq!(contacts.count(&paged).await.unwrap(), 5);
    assert_eq!(
        contacts.count(&paged).await.unwrap(),
        contacts.list(&active_premium).await.unwrap().total.unwrap()
    );

    // Exact the moment a write is acknowledged.
    contacts
        .update(
            &all[1].id,
            &ContactUpdate::new().metadata(json!({"plan": "premium"})),
        )
        .await
        .unwrap();
    assert_eq!(contacts.count(&premium()).await.unwrap(), 10);
    contacts.delete(&all[0].id).await.unwrap();
    assert_eq!(contacts.count(&premium()).await.unwrap(), 9);

    let err = contacts
        .count(&ListContacts::new().created_after("yesterday"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field: Some(f), .. } if f == "created_after"),
        "{err:?}"
    );
}

#[tokio::test]
async fn include_total_puts_the_total_on_cursor_pages_or_leaves_it_off() {
    let server = TestServer::start().await;
    let contacts_api = server.client();
    let contacts = contacts_api.contacts();
    seed(&server).await;

    let first = contacts.list(&ListContacts::new().limit(10)).await.unwrap();
    assert_eq!(first.total, Some(25));
    let cursor = first.next_cursor.clone().unwrap();

    let plain = contacts
        .list(&ListContacts::new().limit(10).cursor(&cursor))
        .await
        .unwrap();
    assert_eq!(plain.total, None, "cursor pages carry no total by default");
    let counted = contacts
        .list(
            &ListContacts::new()
                .limit(10)
                .cursor(&cursor)
                .include_total(true),
        )
        .await
        .unwrap();
    assert_eq!(counted.total, Some(25));
    assert_eq!(ids(&counted.data), ids(&plain.data));

    let uncounted = contacts
        .list(&ListContacts::new().limit(10).include_total(false))
        .await
        .unwrap();
    assert_eq!(uncounted.total, None);
    assert_eq!(ids(&uncounted.data), ids(&first.data));

    // The pager keeps include_total on every page.
    let mut pages = contacts.pages(&premium().limit(4).include_total(true));
    let mut seen = 0;
    while let Some(page) = pages.next_page().await.unwrap() {
        assert_eq!(page.total, Some(9));
        seen += page.data.len();
    }
    assert_eq!(seen, 9);
}

#[tokio::test]
async fn segments_are_created_read_listed_updated_and_deleted() {
    let server = TestServer::start().await;
    let client = server.client();
    let segments = client.segments();
    seed(&server).await;

    let created = segments
        .create(&NewSegment::new(
            "Premium",
            &premium().status(ContactStatus::Active),
        ))
        .await
        .unwrap();
    assert!(created.id.starts_with("seg_"), "{}", created.id);
    assert_eq!(created.name, "Premium");
    assert_eq!(
        created.filter,
        SegmentFilter::from([
            ("metadata.plan".to_owned(), "premium".to_owned()),
            ("status".to_owned(), "active".to_owned()),
        ])
    );
    assert_eq!(created.count, 5);
    assert!(!created.created_at.is_empty());
    assert_eq!(created.created_at, created.updated_at);

    let got = segments.get(&created.id).await.unwrap();
    assert_eq!(got, created);

    let rich = segments
        .create_with_key(
            &NewSegment::new(
                "Rich",
                &ListContacts::new().metadata_filter("mrr", MetadataOp::Gte, 20),
            ),
            "segment-rich-1",
        )
        .await
        .unwrap();
    assert_eq!(rich.count, 5);
    assert_eq!(rich.filter["metadata.mrr[gte]"], "20");
    // The same key and body: the first answer again, no second segment.
    let again = segments
        .create_with_key(
            &NewSegment::new(
                "Rich",
                &ListContacts::new().metadata_filter("mrr", MetadataOp::Gte, 20),
            ),
            "segment-rich-1",
        )
        .await
        .unwrap();
    assert_eq!(again.id, rich.id);

    let list = segments.list(Page::first()).await.unwrap();
    assert_eq!(
        list.data.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        [created.id.as_str(), rich.id.as_str()]
    );
    assert_eq!((list.total, list.has_more), (Some(2), false));
    let second = segments.list(Page::new(1, 1)).await.unwrap();
    assert_eq!(second.data.len(), 1);
    assert_eq!(second.data[0].id, rich.id);
    assert_eq!((second.offset, second.limit), (Some(1), 1));

    let renamed = segments
        .update(&created.id, &SegmentUpdate::new().name("Premium, active"))
        .await
        .unwrap();
    assert_eq!(renamed.name, "Premium, active");
    assert_eq!(renamed.filter, created.filter, "the filter stays");
    assert_eq!(renamed.count, 5);

    // The filter is replaced whole: status is gone.
    let widened = segments
        .update(&created.id, &SegmentUpdate::new().filter(&premium()))
        .await
        .unwrap();
    assert_eq!(widened.name, "Premium, active");
    assert_eq!(
        widened.filter,
        SegmentFilter::from([("metadata.plan".to_owned(), "premium".to_owned())])
    );
    assert_eq!(widened.count, 9);

    // The count is computed when read.
    client
        .contacts()
        .create(&NewContact::with_email("new@example.com").metadata(json!({"plan": "premium"})))
        .await
        .unwrap();
    assert_eq!(segments.get(&created.id).await.unwrap().count, 10);

    let deleted = segments.delete(&created.id).await.unwrap();
    assert_eq!(deleted.id, created.id);
    assert!(matches!(
        segments.get(&created.id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        segments.delete(&created.id).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        client.contacts().count(&premium()).await.unwrap(),
        10,
        "deleting a segment never deletes its contacts"
    );
    assert_eq!(segments.list(Page::first()).await.unwrap().total, Some(1));
}

#[tokio::test]
async fn bad_segments_are_typed_errors() {
    let server = TestServer::start().await;
    let segments = server.client();
    let segments = segments.segments();

    let err = segments
        .create(&NewSegment::new(
            "Bad",
            &ListContacts::new().q("x").created_after("soon"),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field: Some(f), .. } if f == "filter.created_after"),
        "{err:?}"
    );

    let mut unknown = NewSegment::new("Unknown", &ListContacts::new());
    unknown
        .filter
        .insert("colour".to_owned(), "blue".to_owned());
    let err = segments.create(&unknown).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field: Some(f), .. } if f == "filter.colour"),
        "{err:?}"
    );

    let err = segments
        .create(&NewSegment::new("", &premium()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field: Some(f), .. } if f == "name"),
        "{err:?}"
    );

    let missing = "seg_doesnotexist0000";
    assert!(matches!(
        segments.get(missing).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        segments
            .update(missing, &SegmentUpdate::new().name("x"))
            .await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        segments
            .contacts(missing, &ListSegmentContacts::new())
            .await,
        Err(Error::NotFound { .. })
    ));
    let err = segments.get("").await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field: Some(f), .. } if f == "id"),
        "{err:?}"
    );
    let err = segments.get("cnt_notasegment").await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field: Some(f), .. } if f == "id"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_segments_contacts_page_by_offset_cursor_and_one_by_one() {
    let server = TestServer::start().await;
    let client = server.client();
    let all = seed(&server).await;
    let segment = client
        .segments()
        .create(&NewSegment::new("Premium", &premium()))
        .await
        .unwrap();
    let segments = client.segments();
    let expected: Vec<&str> = all
        .iter()
        .enumerate()
        .filter(|(n, _)| n % 3 == 0)
        .map(|(_, c)| c.id.as_str())
        .collect();
    assert_eq!(expected.len(), 9);

    // A first page by offset, with its total and the cursor of the next one.
    let first = segments
        .contacts(&segment.id, &ListSegmentContacts::new().limit(4))
        .await
        .unwrap();
    assert_eq!(ids(&first.data), expected[..4]);
    assert_eq!(
        (first.total, first.limit, first.offset, first.has_more),
        (Some(9), 4, Some(0), true)
    );
    let cursor = first.next_cursor.clone().unwrap();
    let next = segments
        .contacts(
            &segment.id,
            &ListSegmentContacts::new().limit(4).cursor(&cursor),
        )
        .await
        .unwrap();
    assert_eq!(ids(&next.data), expected[4..8]);
    assert_eq!((next.total, next.offset), (None, None));
    let counted = segments
        .contacts(
            &segment.id,
            &ListSegmentContacts::new()
                .limit(4)
                .cursor(&cursor)
                .include_total(true),
        )
        .await
        .unwrap();
    assert_eq!(counted.total, Some(9));
    let uncounted = segments
        .contacts(
            &segment.id,
            &ListSegmentContacts::new().limit(4).include_total(false),
        )
        .await
        .unwrap();
    assert_eq!(uncounted.total, None);
    let by_offset = segments
        .contacts(&segment.id, &ListSegmentContacts::new().limit(4).offset(8))
        .await
        .unwrap();
    assert_eq!(ids(&by_offset.data), expected[8..]);
    assert!(!by_offset.has_more);
    assert_eq!(by_offset.next_cursor, None);

    // Sorted newest first.
    let newest = segments
        .contacts(
            &segment.id,
            &ListSegmentContacts::new()
                .sort(Sort::desc(SortField::CreatedAt))
                .limit(3),
        )
        .await
        .unwrap();
    assert_eq!(ids(&newest.data), [expected[8], expected[7], expected[6]]);

    // The pager follows next_cursor to the end (its offset is ignored).
    let mut pages =
        segments.contact_pages(&segment.id, &ListSegmentContacts::new().limit(2).offset(5));
    let mut sizes = Vec::new();
    let mut paged = Vec::new();
    while let Some(page) = pages.next_page().await.unwrap() {
        sizes.push(page.data.len());
        paged.extend(page.data);
    }
    assert_eq!(sizes, [2, 2, 2, 2, 1]);
    assert_eq!(ids(&paged), expected);
    assert!(pages.next_page().await.unwrap().is_none());

    // One contact at a time (names sort like creation: Person00, Person03, …).
    let mut stream = segments.contact_pages(
        &segment.id,
        &ListSegmentContacts::new()
            .limit(4)
            .sort(Sort::asc(SortField::FullName)),
    );
    let mut one_by_one = Vec::new();
    while let Some(contact) = stream.next_contact().await.unwrap() {
        one_by_one.push(contact);
    }
    assert_eq!(ids(&one_by_one), expected);
    assert!(stream.next_contact().await.unwrap().is_none());

    // Mixing: the rest of a started page, then the following pages.
    let mut mixed = segments.contact_pages(&segment.id, &ListSegmentContacts::new().limit(4));
    let head = mixed.next_contact().await.unwrap().unwrap();
    assert_eq!(head.id, expected[0]);
    let rest = mixed.next_page().await.unwrap().unwrap();
    assert_eq!(ids(&rest.data), expected[1..4]);
    let mut tail = Vec::new();
    while let Some(contact) = mixed.next_contact().await.unwrap() {
        tail.push(contact);
    }
    assert_eq!(ids(&tail), expected[4..]);

    let everyone = segments
        .all_contacts(&segment.id, &ListSegmentContacts::new().limit(100))
        .await
        .unwrap();
    assert_eq!(ids(&everyone), expected);

    // Live: a contact that stops matching leaves the segment at once, a new one joins.
    client
        .contacts()
        .update(
            expected[0],
            &ContactUpdate::new().metadata(json!({"plan": "basic"})),
        )
        .await
        .unwrap();
    let joined = client
        .contacts()
        .create(&NewContact::with_email("joined@example.com").metadata(json!({"plan": "premium"})))
        .await
        .unwrap();
    let now = segments
        .all_contacts(&segment.id, &ListSegmentContacts::new().limit(3))
        .await
        .unwrap();
    let now: HashSet<&str> = ids(&now).into_iter().collect();
    assert_eq!(now.len(), 9);
    assert!(!now.contains(expected[0]));
    assert!(now.contains(joined.id.as_str()));
    assert_eq!(segments.get(&segment.id).await.unwrap().count, 9);
}

#[tokio::test]
async fn segments_belong_to_their_workspace() {
    let server = TestServer::start().await;
    let segment = server
        .client()
        .segments()
        .create(&NewSegment::new("Premium", &premium()))
        .await
        .unwrap();
    // The same workspace's test data is another world.
    let other = server.client_with_key(&server.test_key);
    assert!(matches!(
        other.segments().get(&segment.id).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        other.segments().list(Page::first()).await.unwrap().total,
        Some(0)
    );
}
