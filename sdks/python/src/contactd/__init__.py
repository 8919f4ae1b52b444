"""contactd: the Python client of the contactd contacts API.

from contactd import Client, NotFoundError

client = Client(api_key="sk_test_…", base_url="http://127.0.0.1:8080")
try:
    contact = client.contacts.get("+14155550123")
except NotFoundError:
    contact = client.contacts.create({"phone": "+14155550123", "first_name": "John"})
"""

from ._generated import (
    BatchResponse,
    Contact,
    ContactCreate,
    ContactList,
    ContactUpdate,
    Conversation,
    ConversationList,
    Delivery,
    DeliveryList,
    DuplicateCandidate,
    DuplicateCandidateList,
    DuplicatePair,
    DuplicatePairList,
    Event,
    EventList,
    Identity,
    Merge,
    MergeList,
    MergeResult,
    Message,
    MessageList,
    Segment,
    SegmentList,
    UndoResult,
    Webhook,
    WebhookCreate,
    WebhookUpdate,
)
from ._operations import Upserted
from ._version import __version__
from .async_client import AsyncClient, AsyncEventFeed
from .client import Client, EventFeed
from .errors import (
    ContactdConnectionError,
    ContactdError,
    DuplicateContactError,
    IdempotencyConflictError,
    InvalidInputError,
    MergeConflictError,
    NotFoundError,
    PayloadTooLargeError,
    PreconditionFailedError,
    RateLimitedError,
    UnauthorizedError,
    UnavailableError,
)
from .phone import format_phone_e164
from .webhooks import WebhookVerificationError, verify_webhook_signature

__all__ = [
    "AsyncClient",
    "AsyncEventFeed",
    "BatchResponse",
    "Client",
    "Contact",
    "ContactCreate",
    "ContactList",
    "ContactUpdate",
    "ContactdConnectionError",
    "ContactdError",
    "Conversation",
    "ConversationList",
    "Delivery",
    "DeliveryList",
    "DuplicateCandidate",
    "DuplicateCandidateList",
    "DuplicatePair",
    "DuplicatePairList",
    "Event",
    "EventFeed",
    "EventList",
    "DuplicateContactError",
    "IdempotencyConflictError",
    "Identity",
    "InvalidInputError",
    "Merge",
    "MergeConflictError",
    "MergeList",
    "MergeResult",
    "Message",
    "MessageList",
    "NotFoundError",
    "PayloadTooLargeError",
    "PreconditionFailedError",
    "RateLimitedError",
    "Segment",
    "SegmentList",
    "UnauthorizedError",
    "UnavailableError",
    "UndoResult",
    "Upserted",
    "Webhook",
    "WebhookCreate",
    "WebhookUpdate",
    "WebhookVerificationError",
    "__version__",
    "format_phone_e164",
    "verify_webhook_signature",
]
