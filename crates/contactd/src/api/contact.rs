//! `/v2/contact`: create, read, partial update and delete of contacts by ref.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use serde_json::{Map, Value};

use super::auth::Auth;
use super::extract::{JsonBody, PathParam};
use super::AppState;
use crate::domain::contact::{Contact, ContactPatch, NewContact};
use crate::domain::refs::ContactRef;
use crate::domain::time::Timestamp;
use crate::error::ApiError;

/// A contact as the API shows it: every field present, unset ones null.
#[derive(Serialize)]
pub struct ContactOut {
    id: String,
    phone: Option<String>,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    full_name: Option<String>,
    preferred_channel: Option<&'static str>,
    metadata: Map<String, Value>,
    status: &'static str,
    created_at: Timestamp,
    updated_at: Timestamp,
    last_contacted: Option<Timestamp>,
}

impl From<Contact> for ContactOut {
    fn from(c: Contact) -> Self {
        ContactOut {
            full_name: c.full_name(),
            id: c.id.into_string(),
            phone: c.phone.map(|p| p.into_string()),
            email: c.email.map(|e| e.into_string()),
            first_name: c.first_name,
            last_name: c.last_name,
            preferred_channel: c.preferred_channel.map(|ch| ch.as_str()),
            metadata: c.metadata,
            status: c.status.as_str(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            last_contacted: c.last_contacted,
        }
    }
}

pub async fn create(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<ContactOut>), ApiError> {
    let new = NewContact::from_json(body)?;
    let contact = state.store.create_contact(&tenant, new).await?;
    Ok((StatusCode::CREATED, Json(contact.into())))
}

pub async fn get(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
) -> Result<Json<ContactOut>, ApiError> {
    let contact = ContactRef::parse(&raw)?;
    let contact = state.store.get_contact(&tenant, &contact).await?;
    Ok(Json(contact.into()))
}

pub async fn update(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
    JsonBody(body): JsonBody,
) -> Result<Json<ContactOut>, ApiError> {
    let contact = ContactRef::parse(&raw)?;
    let patch = ContactPatch::from_json(body)?;
    let contact = state.store.update_contact(&tenant, &contact, patch).await?;
    Ok(Json(contact.into()))
}

pub async fn delete(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
) -> Result<Json<ContactOut>, ApiError> {
    let contact = ContactRef::parse(&raw)?;
    let contact = state.store.delete_contact(&tenant, &contact).await?;
    Ok(Json(contact.into()))
}
