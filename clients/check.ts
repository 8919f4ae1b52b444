// Type-checked by .ci/clients with `tsc --strict` against the types openapi-typescript
// generates from docs/openapi.json (contract §10): bodies with metadata, every list query
// (filters, metadata filters, sort, offset and cursor paging) and typed errors compile
// without casts. Never run: it only has to type-check.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

type Contact = components["schemas"]["Contact"];
type ContactCreate = components["schemas"]["ContactCreate"];
type ContactUpdate = components["schemas"]["ContactUpdate"];
type ErrorBody = components["schemas"]["Error"];

// Metadata of any shape, on the way in and out.
const create: ContactCreate = {
  phone: "+1234567890",
  email: "john@example.com",
  first_name: "John",
  last_name: "Doe",
  preferred_channel: "whatsapp",
  metadata: { plan: "premium", customer_id: "cust_abc123", score: 5, tags: ["vip"], nested: { a: 1 } },
};
const patch: ContactUpdate = { metadata: { plan: "enterprise", source: null } };
function planOf(contact: Contact): unknown {
  return contact.metadata["plan"];
}

export async function everyCall(baseUrl: string, apiKey: string): Promise<void> {
  const client = createClient<paths>({ baseUrl, headers: { "X-API-Key": apiKey } });

  const created = await client.POST("/v2/contact", { body: create });
  if (created.error) {
    const error: ErrorBody = created.error;
    const existing: string | undefined = error.details.existing_contact_id;
    console.log(error.error, error.code, existing);
    return;
  }
  const contact: Contact = created.data;
  console.log(planOf(contact));
  for (const ref of [contact.id, "+1234567890", "john@example.com"]) {
    await client.GET("/v2/contact/{ref}", { params: { path: { ref } } });
  }
  await client.PUT("/v2/contact/{ref}", { params: { path: { ref: contact.id } }, body: patch });

  // Every list query: filters, metadata filters (deepObject: metadata[plan]=premium),
  // sort, offset paging, cursor paging, totals.
  const page = await client.GET("/v2/contact", {
    params: {
      query: {
        status: "active",
        preferred_channel: "whatsapp",
        q: "john",
        created_after: "2026-01-01T00:00:00Z",
        created_before: "2027-01-01T00:00:00Z",
        updated_after: "2026-01-01T00:00:00Z",
        metadata: { plan: "premium", "score[gte]": "5", "preferences.language": "en" },
        sort: "-created_at",
        limit: 100,
        include_total: true,
      },
    },
  });
  let cursor: string | null | undefined = page.data?.next_cursor;
  while (cursor) {
    const next = await client.GET("/v2/contact", { params: { query: { cursor, limit: 100 } } });
    cursor = next.data?.next_cursor;
  }
  await client.GET("/v2/contact", { params: { query: { offset: 100, limit: 50, sort: "full_name" } } });
  const counted = await client.GET("/v2/contact/count", {
    params: { query: { status: "inactive", metadata: { "plan[ne]": "basic" } } },
  });
  const total: number | undefined = counted.data?.total;
  console.log(total);

  const conversations = await client.GET("/v2/contact/{ref}/conversations", {
    params: { path: { ref: contact.id }, query: { status: "open", channel: "sms", limit: 20, offset: 0 } },
  });
  console.log(conversations.data?.data[0]?.message_count);
  const conversation = await client.POST("/v2/conversation", {
    body: { contact_id: contact.id, channel: "sms" },
  });
  if (conversation.data) {
    const conversation_id = conversation.data.id;
    await client.POST("/v2/conversation/{conversation_id}/messages", {
      params: { path: { conversation_id } },
      body: { direction: "outbound", text: "Hi John" },
    });
    const messages = await client.GET("/v2/conversation/{conversation_id}/messages", {
      params: { path: { conversation_id }, query: { limit: 50, offset: 0 } },
    });
    console.log(messages.data?.data[0]?.text);
    await client.PUT("/v2/conversation/{conversation_id}", {
      params: { path: { conversation_id } },
      body: { status: "closed" },
    });
  }

  const segment = await client.POST("/v2/segment", {
    body: { name: "Premium", filter: { "metadata.plan": "premium", status: "active" } },
  });
  await client.GET("/v2/segment", { params: { query: { limit: 10, offset: 0 } } });
  if (segment.data) {
    await client.GET("/v2/segment/{segment_id}/contacts", {
      params: { path: { segment_id: segment.data.id }, query: { sort: "-updated_at", limit: 10, cursor: undefined } },
    });
  }

  const deleted = await client.DELETE("/v2/contact/{ref}", { params: { path: { ref: contact.id } } });
  if (deleted.error?.error === "not_found") {
    console.log(deleted.error.message);
  }
}
