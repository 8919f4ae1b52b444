//! `/v2/webhook` and `/v2/events`: webhook endpoints with their deliveries, and the change
//! feed.

use crate::client::{id_path, Call, Client};
use crate::error::Result;
use crate::models::{DeliveryList, EventList, NewWebhook, Webhook, WebhookList};

const WEBHOOKS: &str = "/v2/webhook";

/// The webhook endpoints of the key's workspace: `client.webhooks()`.
#[derive(Debug, Clone, Copy)]
pub struct Webhooks<'a> {
    client: &'a Client,
}

impl<'a> Webhooks<'a> {
    pub(crate) fn new(client: &'a Client) -> Webhooks<'a> {
        Webhooks { client }
    }

    /// Creates an endpoint (`POST /v2/webhook`); the answer carries its signing `secret`,
    /// shown this once.
    pub async fn create(&self, webhook: &NewWebhook) -> Result<Webhook> {
        let call = Call::post(WEBHOOKS).json(webhook)?;
        self.client.send(call).await?.json()
    }

    /// Every endpoint, oldest first (`GET /v2/webhook`).
    pub async fn list(&self) -> Result<Vec<Webhook>> {
        let list: WebhookList = self.client.send(Call::get(WEBHOOKS)).await?.json()?;
        Ok(list.data)
    }

    /// A page of the endpoint's deliveries, newest first
    /// (`GET /v2/webhook/{id}/deliveries`); `cursor` is the previous page's `next_cursor`.
    pub async fn deliveries(
        &self,
        id: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<DeliveryList> {
        let mut query = vec![("limit".to_owned(), limit.to_string())];
        query.extend(cursor.map(|c| ("cursor".to_owned(), c.to_owned())));
        let call = Call::get(id_path(WEBHOOKS, id, "/deliveries")?).query(query);
        self.client.send(call).await?.json()
    }
}

/// The change feed: `client.events()`.
#[derive(Debug, Clone, Copy)]
pub struct Events<'a> {
    client: &'a Client,
}

impl<'a> Events<'a> {
    pub(crate) fn new(client: &'a Client) -> Events<'a> {
        Events { client }
    }

    /// The events after `after` (a `next_cursor`; None for the oldest kept), oldest first;
    /// an empty page waits up to `wait_secs` (0–30) for the next event.
    pub async fn list(&self, after: Option<&str>, limit: u32, wait_secs: u32) -> Result<EventList> {
        let mut query = vec![
            ("limit".to_owned(), limit.to_string()),
            ("wait".to_owned(), wait_secs.to_string()),
        ];
        query.extend(after.map(|a| ("after".to_owned(), a.to_owned())));
        let call = Call::get("/v2/events").query(query);
        self.client.send(call).await?.json()
    }
}
