//! Contacts in the console: the list (search, filters, sort, cursor pages, saved segments
//! with their counts, export), a contact with its conversations, and the create, edit and
//! delete forms.
//!
//! Every read and write goes through the API's parsers (`ContactQuery::parse`,
//! `NewContact::from_json`, `ContactPatch::from_json`) and the store, with the session's
//! tenant: the same indexed queries, the same rules, the same errors.

use axum::body::Body;
use axum::extract::{Path, RawQuery};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use maud::{html, Markup};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

use super::page::{self, Field, FormError, Section};
use super::session::{Session, SignedIn};
use super::{error_page, ConsoleState};
use crate::domain::contact::{Contact, ContactPatch, NewContact, Precondition};
use crate::domain::contact_query::{ContactFilter, ContactQuery};
use crate::domain::conversation::{Conversation, ConversationFilter, Message, Page};
use crate::domain::refs::ContactRef;
use crate::domain::FieldError;
use crate::error::ApiError;
use crate::store::StoreError;
use crate::transfer::export::CsvPages;
use contactd_wire::{Channel, ContactStatus};

/// Contacts per page of the list.
const PAGE_SIZE: &str = "25";
/// Saved segments shown beside the list, each with its count.
const SEGMENTS_SHOWN: u32 = 20;
const CONVERSATIONS_SHOWN: u32 = 20;
const MESSAGES_SHOWN: u32 = 50;

const METADATA_OPERATORS: [(&str, &str); 7] = [
    ("eq", "equals"),
    ("ne", "does not equal"),
    ("exists", "exists (true/false)"),
    ("gt", "greater than"),
    ("gte", "at least"),
    ("lt", "less than"),
    ("lte", "at most"),
];

const SORTS: [(&str, &str); 6] = [
    ("", "Oldest first"),
    ("-created_at", "Newest first"),
    ("full_name", "Name A–Z"),
    ("-full_name", "Name Z–A"),
    ("-updated_at", "Recently updated"),
    ("-last_contacted", "Recently contacted"),
];

/// The list's form as sent in the query string: the controls, and any other filter of
/// the API's (a segment's link can carry several).
#[derive(Default)]
struct ListForm {
    q: String,
    status: String,
    channel: String,
    sort: String,
    meta_path: String,
    meta_op: String,
    meta_value: String,
    other: Vec<(String, String)>,
    cursor: Option<String>,
    notice: Option<String>,
}

impl ListForm {
    fn read(query: Option<&str>) -> ListForm {
        let mut form = ListForm::default();
        for (name, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned() {
            if value.is_empty() {
                continue;
            }
            match name.as_str() {
                "q" => form.q = value,
                "status" => form.status = value,
                "preferred_channel" => form.channel = value,
                "sort" => form.sort = value,
                "meta_path" => form.meta_path = value,
                "meta_op" => form.meta_op = value,
                "meta_value" => form.meta_value = value,
                "cursor" => form.cursor = Some(value),
                "notice" => form.notice = Some(value),
                _ => form.other.push((name, value)),
            }
        }
        form
    }

    /// The API's filter parameters of the form.
    fn filter_pairs(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        for (name, value) in [
            ("q", &self.q),
            ("status", &self.status),
            ("preferred_channel", &self.channel),
        ] {
            if !value.is_empty() {
                pairs.push((name.to_owned(), value.clone()));
            }
        }
        if !self.meta_path.is_empty() {
            let name = match self.meta_op.as_str() {
                "" | "eq" => format!("metadata.{}", self.meta_path),
                op => format!("metadata.{}[{op}]", self.meta_path),
            };
            pairs.push((name, self.meta_value.clone()));
        }
        pairs.extend(self.other.iter().cloned());
        pairs
    }

    /// The API's list parameters: the filters, the sort, a page.
    fn list_pairs(&self) -> Vec<(String, String)> {
        let mut pairs = self.filter_pairs();
        if !self.sort.is_empty() {
            pairs.push(("sort".into(), self.sort.clone()));
        }
        pairs.push(("limit".into(), PAGE_SIZE.into()));
        if let Some(cursor) = &self.cursor {
            pairs.push(("cursor".into(), cursor.clone()));
            pairs.push(("include_total".into(), "true".into()));
        }
        pairs
    }

    /// The console's own query string of the form, without the page.
    fn query_string(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("q", &self.q),
            ("status", &self.status),
            ("preferred_channel", &self.channel),
            ("sort", &self.sort),
            ("meta_path", &self.meta_path),
            ("meta_op", &self.meta_op),
            ("meta_value", &self.meta_value),
        ] {
            if !value.is_empty() {
                out.append_pair(name, value);
            }
        }
        for (name, value) in &self.other {
            out.append_pair(name, value);
        }
        out.finish()
    }
}

/// The error of a filter, on the control it names.
fn filter_error(e: FieldError) -> FormError {
    let mut error = FormError::from_api(
        &ApiError::InvalidInput(e),
        &[
            "q",
            "status",
            "preferred_channel",
            "sort",
            "metadata",
            "cursor",
        ],
    );
    if error.field.as_deref() == Some("metadata") {
        error.field = Some("meta_value".into());
    }
    error
}

pub async fn list(
    Extension(state): Extension<Arc<ConsoleState>>,
    signed_in: SignedIn,
    RawQuery(query): RawQuery,
) -> Response {
    let form = ListForm::read(query.as_deref());
    let tenant = &signed_in.session.tenant;
    let (page, error) = match ContactQuery::parse(&form.list_pairs()) {
        Ok(query) => match state.store.list_contacts(tenant, &query).await {
            Ok(page) => {
                let next = page
                    .items
                    .last()
                    .filter(|_| page.has_more)
                    .map(|last| query.cursor_after(last));
                (Some((page, next)), None)
            }
            Err(StoreError::Invalid(e)) => (None, Some(filter_error(e))),
            Err(e) => return error_page(e.into()),
        },
        Err(e) => (None, Some(filter_error(e))),
    };
    let segments = segments_with_counts(&state, &signed_in.session).await;
    let body = html! {
        h1 { "Contacts" }
        @if form.notice.as_deref() == Some("deleted") {
            p class="notice" role="status" { "The contact was deleted." }
        }
        p class="actions" {
            a class="button" href="/console/contacts/new" { "New contact" }
            " "
            a class="button secondary" href={ "/console/export.csv?" (form.query_string()) } { "Export these contacts (CSV)" }
        }
        (page::form_alert(error.as_ref()))
        (filter_form(&form, error.as_ref()))
        (segment_list(&segments))
        @if let Some((page, next)) = &page {
            (contact_table(&page.items, page.total))
            nav class="pager" aria-label="Pages" {
                @if form.cursor.is_some() {
                    a href={ "/console/contacts?" (form.query_string()) } { "First page" }
                }
                @if let Some(next) = next {
                    a href={ "/console/contacts?" (form.query_string()) "&cursor=" (encode(next)) } rel="next" { "Next page" }
                }
            }
        }
    };
    page::layout(
        "Contacts",
        Some(&signed_in.session),
        Section::Contacts,
        body,
    )
    .into_response()
}

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn filter_form(form: &ListForm, error: Option<&FormError>) -> Markup {
    let status_options = options_with_any(ContactStatus::ALL, "Any status", |s| {
        ["active", "inactive"].contains(&s)
    });
    let channel_options = options_with_any(Channel::ALL, "Any channel", |_| true);
    // The filters fold away (on a phone they would push the list off the screen) unless
    // one of them is in use or in error.
    let open = [&form.status, &form.channel, &form.meta_path, &form.sort]
        .iter()
        .any(|v| !v.is_empty())
        || error.is_some_and(|e| e.field.as_deref() != Some("q"));
    html! {
        form method="get" action="/console/contacts" class="filters" role="search" novalidate {
            div class="search-row" {
                (page::input_field(&Field { name: "q", label: "Search", value: &form.q, kind: "search",
                    hint: Some("Names, email or phone; accents and case do not matter"), error, required: false }))
                div class="submit" { button type="submit" { "Search" } }
            }
            details class="more" open[open] {
                summary { "Filters and sort" }
                div class="filter-grid" {
                    (page::select_field(&Field { name: "status", label: "Status", value: &form.status, kind: "",
                        hint: None, error, required: false }, &status_options))
                    (page::select_field(&Field { name: "preferred_channel", label: "Channel", value: &form.channel, kind: "",
                        hint: None, error, required: false }, &channel_options))
                    (page::select_field(&Field { name: "sort", label: "Sort", value: &form.sort, kind: "",
                        hint: None, error, required: false }, &SORTS))
                    fieldset {
                        legend { "Metadata" }
                        (page::input_field(&Field { name: "meta_path", label: "Path", value: &form.meta_path, kind: "text",
                            hint: Some("e.g. plan or preferences.language"), error, required: false }))
                        (page::select_field(&Field { name: "meta_op", label: "Operator", value: &form.meta_op, kind: "",
                            hint: None, error, required: false }, &METADATA_OPERATORS))
                        (page::input_field(&Field { name: "meta_value", label: "Value", value: &form.meta_value, kind: "text",
                            hint: None, error, required: false }))
                    }
                    div class="submit" { button type="submit" { "Apply" } }
                }
            }
            @for (name, value) in &form.other {
                input type="hidden" name=(name) value=(value);
            }
            @if !form.other.is_empty() {
                p class="hint" {
                    "Also filtered by: "
                    @for (i, (name, value)) in form.other.iter().enumerate() {
                        @if i > 0 { ", " }
                        code { (name) "=" (value) }
                    }
                    " · " a href="/console/contacts" { "Clear all filters" }
                }
            }
        }
    }
}

fn options_with_any(
    values: &[&'static str],
    any: &'static str,
    keep: impl Fn(&str) -> bool,
) -> Vec<(&'static str, &'static str)> {
    std::iter::once(("", any))
        .chain(values.iter().filter(|v| keep(v)).map(|v| (*v, *v)))
        .collect()
}

fn contact_table(contacts: &[Contact], total: Option<u64>) -> Markup {
    html! {
        @if let Some(total) = total {
            p class="count" role="status" { (total) @if total == 1 { " contact" } @else { " contacts" } }
        }
        @if contacts.is_empty() {
            p { "No contact matches." }
        } @else {
            table class="contacts" {
                caption class="visually-hidden" { "Contacts" }
                thead {
                    tr {
                        th scope="col" { "Name" }
                        th scope="col" { "Phone" }
                        th scope="col" { "Email" }
                        th scope="col" { "Channel" }
                        th scope="col" { "Status" }
                        th scope="col" { "Created" }
                    }
                }
                tbody {
                    @for c in contacts {
                        tr {
                            td data-label="Name" {
                                a href={ "/console/contacts/" (c.id.as_str()) } { (display_name(c)) }
                            }
                            td data-label="Phone" { (c.phone.as_ref().map_or("", |p| p.as_str())) }
                            td data-label="Email" { (c.email.as_ref().map_or("", |e| e.as_str())) }
                            td data-label="Channel" { (c.preferred_channel.map_or("", Channel::as_str)) }
                            td data-label="Status" { (c.status.as_str()) }
                            td data-label="Created" { (day_and_minute(&c.created_at.to_rfc3339())) }
                        }
                    }
                }
            }
        }
    }
}

/// `2026-01-25 10:30 UTC` of an RFC 3339 time, for a list.
fn day_and_minute(rfc3339: &str) -> String {
    match rfc3339.get(..16) {
        Some(minute) => format!("{} UTC", minute.replacen('T', " ", 1)),
        None => rfc3339.to_owned(),
    }
}

/// What a contact is called on a page: its name, else its email or phone, else its id.
fn display_name(c: &Contact) -> String {
    c.full_name()
        .or_else(|| c.email.as_ref().map(|e| e.as_str().to_owned()))
        .or_else(|| c.phone.as_ref().map(|p| p.as_str().to_owned()))
        .unwrap_or_else(|| c.id.as_str().to_owned())
}

/// The saved segments, each with the number of contacts it matches now.
async fn segments_with_counts(
    state: &ConsoleState,
    session: &Session,
) -> Vec<(String, String, Option<u64>)> {
    let page = Page {
        limit: SEGMENTS_SHOWN,
        offset: 0,
    };
    let Ok(listing) = state.store.list_segments(&session.tenant, page).await else {
        return Vec::new();
    };
    let mut shown = Vec::new();
    for segment in listing.items {
        let count = match segment.contact_filter() {
            Ok(filter) => state
                .store
                .count_contacts(&session.tenant, &filter)
                .await
                .ok(),
            Err(_) => None,
        };
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &segment.filter {
            query.append_pair(name, value);
        }
        shown.push((segment.name, query.finish(), count));
    }
    shown
}

fn segment_list(segments: &[(String, String, Option<u64>)]) -> Markup {
    html! {
        section class="segments" aria-labelledby="segments" {
            h2 id="segments" { "Saved segments" }
            @if segments.is_empty() {
                p class="hint" { "No saved segment yet. Segments are created with POST /v2/segment." }
            } @else {
                ul class="segments" {
                    @for (name, query, count) in segments {
                        li {
                            a href={ "/console/contacts?" (query) } { (name) }
                            " "
                            span class="badge" { (count.map_or("?".to_owned(), |c| c.to_string())) }
                        }
                    }
                }
            }
        }
    }
}

/// The contact a path's ref names, or the page that says why there is none.
async fn find(
    state: &ConsoleState,
    session: &Session,
    raw: &str,
) -> Result<(ContactRef, Contact), Response> {
    let contact_ref = ContactRef::parse(raw)
        .map_err(|_| error_page(ApiError::NotFound("Contact not found".into())))?;
    let contact = state
        .store
        .get_contact(&session.tenant, &contact_ref)
        .await
        .map_err(|e| error_page(e.into()))?;
    Ok((contact_ref, contact))
}

#[derive(serde::Deserialize)]
pub struct Notice {
    notice: Option<String>,
}

pub async fn show(
    Extension(state): Extension<Arc<ConsoleState>>,
    signed_in: SignedIn,
    Path(raw): Path<String>,
    axum::extract::Query(notice): axum::extract::Query<Notice>,
) -> Response {
    let session = &signed_in.session;
    let (contact_ref, contact) = match find(&state, session, &raw).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let conversations = match conversations_of(&state, session, &contact_ref).await {
        Ok(c) => c,
        Err(e) => return error_page(e.into()),
    };
    let name = display_name(&contact);
    let body = html! {
        h1 { (name) }
        @match notice.notice.as_deref() {
            Some("saved") => p class="notice" role="status" { "Saved." },
            Some("created") => p class="notice" role="status" { "Contact created." },
            _ => {},
        }
        p class="actions" {
            a class="button" href={ "/console/contacts/" (contact.id.as_str()) "/edit" } { "Edit" }
            " "
            a class="button danger" href={ "/console/contacts/" (contact.id.as_str()) "/delete" } { "Delete" }
        }
        section aria-labelledby="fields" {
            h2 id="fields" { "Fields" }
            (fields(&contact))
        }
        section aria-labelledby="metadata" {
            h2 id="metadata" { "Metadata" }
            pre class="json" { (pretty(&contact.metadata)) }
        }
        section aria-labelledby="conversations" {
            h2 id="conversations" { "Conversations" }
            (conversation_list(&conversations))
        }
        p { a href="/console/contacts" { "All contacts" } }
    };
    page::layout(&name, Some(session), Section::Contacts, body).into_response()
}

fn pretty(metadata: &Map<String, Value>) -> String {
    serde_json::to_string_pretty(metadata).unwrap_or_else(|_| "{}".to_owned())
}

fn fields(c: &Contact) -> Markup {
    let none = "—";
    let rows: [(&str, String); 11] = [
        ("Id", c.id.as_str().to_owned()),
        (
            "Phone",
            c.phone
                .as_ref()
                .map_or(none.into(), |p| p.as_str().to_owned()),
        ),
        (
            "Email",
            c.email
                .as_ref()
                .map_or(none.into(), |e| e.as_str().to_owned()),
        ),
        ("First name", c.first_name.clone().unwrap_or(none.into())),
        ("Last name", c.last_name.clone().unwrap_or(none.into())),
        ("Full name", c.full_name().unwrap_or(none.into())),
        (
            "Preferred channel",
            c.preferred_channel.map_or(none, Channel::as_str).to_owned(),
        ),
        ("Status", c.status.as_str().to_owned()),
        ("Created", c.created_at.to_rfc3339()),
        ("Updated", c.updated_at.to_rfc3339()),
        (
            "Last contacted",
            c.last_contacted.map_or(none.into(), |t| t.to_rfc3339()),
        ),
    ];
    html! {
        dl class="fields" {
            @for (label, value) in rows {
                div {
                    dt { (label) }
                    dd { (value) }
                }
            }
        }
    }
}

async fn conversations_of(
    state: &ConsoleState,
    session: &Session,
    contact: &ContactRef,
) -> Result<Vec<(Conversation, Vec<Message>)>, StoreError> {
    let listing = state
        .store
        .list_conversations(
            &session.tenant,
            contact,
            ConversationFilter::default(),
            Page {
                limit: CONVERSATIONS_SHOWN,
                offset: 0,
            },
        )
        .await?;
    let mut shown = Vec::new();
    for conversation in listing.items {
        let messages = state
            .store
            .list_messages(
                &session.tenant,
                &conversation.id,
                Page {
                    limit: MESSAGES_SHOWN,
                    offset: 0,
                },
            )
            .await?;
        shown.push((conversation, messages.items));
    }
    Ok(shown)
}

fn conversation_list(conversations: &[(Conversation, Vec<Message>)]) -> Markup {
    html! {
        @if conversations.is_empty() {
            p { "No conversation yet." }
        }
        @for (conversation, messages) in conversations {
            article class="conversation" aria-label={ (conversation.channel.as_str()) " conversation " (conversation.id.as_str()) } {
                h3 {
                    (conversation.channel.as_str()) " · " (conversation.status.as_str())
                    " · " (conversation.message_count)
                    @if conversation.message_count == 1 { " message" } @else { " messages" }
                }
                ol class="messages" {
                    @for m in messages {
                        li class={ "message " (m.direction.as_str()) } {
                            span class="meta" { (m.direction.as_str()) " · " (m.created_at.to_rfc3339()) }
                            p { (m.text) }
                        }
                    }
                }
            }
        }
    }
}

/// The values of the contact form, as shown and as sent.
#[derive(Default)]
struct ContactValues {
    phone: String,
    email: String,
    first_name: String,
    last_name: String,
    preferred_channel: String,
    status: String,
    metadata: String,
}

const CONTACT_FIELDS: [&str; 7] = [
    "phone",
    "email",
    "first_name",
    "last_name",
    "preferred_channel",
    "status",
    "metadata",
];

impl ContactValues {
    fn of(c: &Contact) -> ContactValues {
        ContactValues {
            phone: c
                .phone
                .as_ref()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            email: c
                .email
                .as_ref()
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default(),
            first_name: c.first_name.clone().unwrap_or_default(),
            last_name: c.last_name.clone().unwrap_or_default(),
            preferred_channel: c
                .preferred_channel
                .map(|ch| ch.as_str().to_owned())
                .unwrap_or_default(),
            status: c.status.as_str().to_owned(),
            metadata: String::new(),
        }
    }

    fn sent(form: &HashMap<String, String>) -> ContactValues {
        let get = |name: &str| form.get(name).cloned().unwrap_or_default();
        ContactValues {
            phone: get("phone"),
            email: get("email"),
            first_name: get("first_name"),
            last_name: get("last_name"),
            preferred_channel: get("preferred_channel"),
            status: get("status"),
            metadata: get("metadata"),
        }
    }

    /// The request body the form makes: an empty field is left out of a create and
    /// cleared (`null`) by an update, as the API's PUT reads it.
    fn body(&self, update: bool) -> Result<Map<String, Value>, FieldError> {
        let mut body = Map::new();
        for (name, value) in [
            ("phone", &self.phone),
            ("email", &self.email),
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
            ("preferred_channel", &self.preferred_channel),
        ] {
            let value = value.trim();
            if !value.is_empty() {
                body.insert(name.into(), Value::from(value));
            } else if update {
                body.insert(name.into(), Value::Null);
            }
        }
        if !self.status.trim().is_empty() {
            body.insert("status".into(), Value::from(self.status.trim()));
        }
        let metadata = self.metadata.trim();
        if !metadata.is_empty() {
            match serde_json::from_str::<Value>(metadata) {
                Ok(value @ Value::Object(_)) => {
                    body.insert("metadata".into(), value);
                }
                _ => {
                    return Err(
                        FieldError::new("metadata", "Metadata must be a JSON object")
                            .received(crate::domain::input::truncate(metadata, 200))
                            .expected(r#"{"plan": "premium"}"#),
                    )
                }
            }
        }
        Ok(body)
    }
}

/// What the form says beyond its fields.
enum FormState<'a> {
    Fresh,
    Invalid(&'a FormError),
    /// The contact changed since the form was opened.
    Conflict,
}

fn contact_form(
    session: &Session,
    action: &str,
    values: &ContactValues,
    editing: Option<(&Contact, &str)>,
    state: FormState,
) -> Markup {
    let error = match &state {
        FormState::Invalid(e) => Some(*e),
        _ => None,
    };
    let channel_options = options_with_any(Channel::ALL, "None", |_| true);
    let status_options: Vec<(&str, &str)> = [ContactStatus::Active, ContactStatus::Inactive]
        .iter()
        .map(|s| (s.as_str(), s.as_str()))
        .collect();
    html! {
        @if let FormState::Conflict = state {
            div class="alert" role="alert" id="conflict" {
                p { strong { "This contact was changed by someone else since you opened this form." } }
                p { "Your changes were not saved. Your entries are kept below; "
                    @if let Some((contact, _)) = editing {
                        a href={ "/console/contacts/" (contact.id.as_str()) "/edit" } { "reload the current version" }
                    }
                    " and apply them again." }
            }
        }
        (page::form_alert(error))
        form method="post" action=(action) class="stack" novalidate {
            (page::csrf_input(session))
            @if let Some((_, etag)) = editing {
                input type="hidden" name="etag" value=(etag);
            }
            (page::input_field(&Field { name: "phone", label: "Phone", value: &values.phone, kind: "tel",
                hint: Some("E.164, e.g. +14155550123"), error, required: false }))
            (page::input_field(&Field { name: "email", label: "Email", value: &values.email, kind: "text",
                hint: None, error, required: false }))
            (page::input_field(&Field { name: "first_name", label: "First name", value: &values.first_name, kind: "text",
                hint: None, error, required: false }))
            (page::input_field(&Field { name: "last_name", label: "Last name", value: &values.last_name, kind: "text",
                hint: None, error, required: false }))
            (page::select_field(&Field { name: "preferred_channel", label: "Preferred channel", value: &values.preferred_channel, kind: "",
                hint: None, error, required: false }, &channel_options))
            (page::select_field(&Field { name: "status", label: "Status", value: &values.status, kind: "",
                hint: None, error, required: false }, &status_options))
            @if let Some((contact, _)) = editing {
                div class="current-metadata" {
                    h2 id="current-metadata" { "Current metadata" }
                    pre class="json" aria-labelledby="current-metadata" { (pretty(&contact.metadata)) }
                }
                (page::textarea_field(&Field { name: "metadata", label: "Metadata changes (JSON merge patch)", value: &values.metadata, kind: "",
                    hint: Some(r#"Keys you send replace, "key": null removes a key, nested objects merge. Leave empty to keep the metadata as it is."#),
                    error, required: false }, 6))
            } @else {
                (page::textarea_field(&Field { name: "metadata", label: "Metadata (JSON object)", value: &values.metadata, kind: "",
                    hint: Some(r#"e.g. {"plan": "premium"}"#), error, required: false }, 6))
            }
            div class="actions" {
                button type="submit" { "Save" }
                " "
                @if let Some((contact, _)) = editing {
                    a href={ "/console/contacts/" (contact.id.as_str()) } { "Cancel" }
                } @else {
                    a href="/console/contacts" { "Cancel" }
                }
            }
        }
    }
}

pub async fn new_form(signed_in: SignedIn) -> Response {
    let values = ContactValues {
        status: "active".into(),
        ..ContactValues::default()
    };
    new_page(
        &signed_in.session,
        StatusCode::OK,
        &values,
        FormState::Fresh,
    )
}

fn new_page(
    session: &Session,
    status: StatusCode,
    values: &ContactValues,
    state: FormState,
) -> Response {
    let body = html! {
        h1 { "New contact" }
        (contact_form(session, "/console/contacts", values, None, state))
    };
    (
        status,
        page::layout("New contact", Some(session), Section::Contacts, body),
    )
        .into_response()
}

pub async fn create(
    Extension(state): Extension<Arc<ConsoleState>>,
    signed_in: SignedIn,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(refused) = signed_in.check_csrf(form.get("csrf").map(String::as_str)) {
        return refused;
    }
    let session = &signed_in.session;
    let values = ContactValues::sent(&form);
    let created = match values.body(false).and_then(NewContact::from_json) {
        Ok(new) => state
            .store
            .create_contact(&session.tenant, new)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e.into()),
    };
    match created {
        Ok(contact) => Redirect::to(&format!(
            "/console/contacts/{}?notice=created",
            contact.id.as_str()
        ))
        .into_response(),
        Err(e) if e.status().is_client_error() => {
            let error = FormError::from_api(&e, &CONTACT_FIELDS);
            new_page(session, e.status(), &values, FormState::Invalid(&error))
        }
        Err(e) => error_page(e),
    }
}

pub async fn edit_form(
    Extension(state): Extension<Arc<ConsoleState>>,
    signed_in: SignedIn,
    Path(raw): Path<String>,
) -> Response {
    let session = &signed_in.session;
    let contact = match find(&state, session, &raw).await {
        Ok((_, contact)) => contact,
        Err(page) => return page,
    };
    let values = ContactValues::of(&contact);
    let etag = contact.etag();
    edit_page(
        session,
        StatusCode::OK,
        &contact,
        &etag,
        &values,
        FormState::Fresh,
    )
}

fn edit_page(
    session: &Session,
    status: StatusCode,
    contact: &Contact,
    etag: &str,
    values: &ContactValues,
    state: FormState,
) -> Response {
    let title = format!("Edit {}", display_name(contact));
    let action = format!("/console/contacts/{}", contact.id.as_str());
    let body = html! {
        h1 { (title) }
        (contact_form(session, &action, values, Some((contact, etag)), state))
    };
    (
        status,
        page::layout(&title, Some(session), Section::Contacts, body),
    )
        .into_response()
}

/// Saves the edit form: the API's partial update, only if the contact is still the
/// version the form was opened on (`If-Match` with the form's ETag).
pub async fn update(
    Extension(state): Extension<Arc<ConsoleState>>,
    signed_in: SignedIn,
    Path(raw): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(refused) = signed_in.check_csrf(form.get("csrf").map(String::as_str)) {
        return refused;
    }
    let session = &signed_in.session;
    let (contact_ref, current) = match find(&state, session, &raw).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let values = ContactValues::sent(&form);
    let etag = form.get("etag").cloned().unwrap_or_default();
    let patch = match values.body(true).and_then(ContactPatch::from_json) {
        Ok(patch) => patch,
        Err(e) => {
            let error = FormError::from_api(&e.into(), &CONTACT_FIELDS);
            return edit_page(
                session,
                StatusCode::BAD_REQUEST,
                &current,
                &etag,
                &values,
                FormState::Invalid(&error),
            );
        }
    };
    let precondition = Precondition::OneOf(vec![etag.clone()]);
    match state
        .store
        .update_contact(&session.tenant, &contact_ref, patch, Some(precondition))
        .await
    {
        Ok(contact) => Redirect::to(&format!(
            "/console/contacts/{}?notice=saved",
            contact.id.as_str()
        ))
        .into_response(),
        Err(StoreError::PreconditionFailed { .. }) => edit_page(
            session,
            StatusCode::CONFLICT,
            &current,
            &etag,
            &values,
            FormState::Conflict,
        ),
        Err(e) => {
            let e = ApiError::from(e);
            if !e.status().is_client_error() || e.status() == StatusCode::NOT_FOUND {
                return error_page(e);
            }
            let error = FormError::from_api(&e, &CONTACT_FIELDS);
            edit_page(
                session,
                e.status(),
                &current,
                &etag,
                &values,
                FormState::Invalid(&error),
            )
        }
    }
}

pub async fn delete_form(
    Extension(state): Extension<Arc<ConsoleState>>,
    signed_in: SignedIn,
    Path(raw): Path<String>,
) -> Response {
    let session = &signed_in.session;
    let contact = match find(&state, session, &raw).await {
        Ok((_, contact)) => contact,
        Err(page) => return page,
    };
    let name = display_name(&contact);
    let title = format!("Delete {name}?");
    let body = html! {
        h1 { (title) }
        p { "This erases " strong { (name) } " with all of their conversations and messages. It cannot be undone." }
        form method="post" action={ "/console/contacts/" (contact.id.as_str()) "/delete" } {
            (page::csrf_input(session))
            input type="hidden" name="etag" value=(contact.etag());
            div class="actions" {
                button type="submit" class="danger" { "Delete this contact" }
                " "
                a href={ "/console/contacts/" (contact.id.as_str()) } { "Cancel" }
            }
        }
    };
    page::layout(&title, Some(session), Section::Contacts, body).into_response()
}

pub async fn delete(
    Extension(state): Extension<Arc<ConsoleState>>,
    signed_in: SignedIn,
    Path(raw): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(refused) = signed_in.check_csrf(form.get("csrf").map(String::as_str)) {
        return refused;
    }
    let session = &signed_in.session;
    let Ok(contact_ref) = ContactRef::parse(&raw) else {
        return error_page(ApiError::NotFound("Contact not found".into()));
    };
    let precondition = form
        .get("etag")
        .map(|etag| Precondition::OneOf(vec![etag.clone()]));
    match state
        .store
        .delete_contact(&session.tenant, &contact_ref, precondition)
        .await
    {
        Ok(_) => Redirect::to("/console/contacts?notice=deleted").into_response(),
        Err(StoreError::PreconditionFailed { .. }) => page::refused(
            StatusCode::CONFLICT,
            "Not deleted: the contact has changed",
            "Someone changed this contact since you opened the confirmation. Open it again to see the current version before deleting it.",
        ),
        Err(e) => error_page(e.into()),
    }
}

/// The contacts of the list's current filter as CSV, streamed a page at a time.
pub async fn export(
    Extension(state): Extension<Arc<ConsoleState>>,
    signed_in: SignedIn,
    RawQuery(query): RawQuery,
) -> Response {
    let form = ListForm::read(query.as_deref());
    let filter = match ContactFilter::from_pairs(&form.filter_pairs()) {
        Ok(filter) => filter,
        Err(e) => return error_page(e.into()),
    };
    let pages = CsvPages::new(
        state.store.clone(),
        signed_in.session.tenant.clone(),
        &filter,
    );
    let stream = futures_util::stream::try_unfold(pages, |mut pages| async move {
        Ok::<_, anyhow::Error>(pages.next_chunk().await?.map(|chunk| (chunk, pages)))
    });
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"contacts.csv\"",
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}
