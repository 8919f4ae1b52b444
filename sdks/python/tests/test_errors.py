"""Each error of the API raises its own class, with the envelope's details as attributes;
with both clients. The answers come from the real server, except those a healthy server
does not give (a 500, a proxy's HTML page), which the fault proxy plays."""

from __future__ import annotations

import pytest

from _proxy import answer, rate_limited, unavailable
from contactd import (
    ContactdConnectionError,
    ContactdError,
    DuplicateContactError,
    IdempotencyConflictError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    PreconditionFailedError,
    RateLimitedError,
    UnauthorizedError,
    UnavailableError,
)
from conftest import free_port


def test_not_found(api, unique):
    with pytest.raises(NotFoundError) as caught:
        api.contacts.get(unique.email())
    error = caught.value
    assert isinstance(error, ContactdError)
    assert (error.code, error.error) == (404, "not_found")
    assert error.message and error.request_id


def test_invalid_input_names_the_field_and_suggests_a_value(api):
    with pytest.raises(InvalidInputError) as caught:
        api.contacts.create({"phone": "1234567890"})
    error = caught.value
    assert (error.code, error.error) == (400, "invalid_input")
    assert (error.field, error.received, error.expected) == ("phone", "1234567890", "+1234567890")
    assert error.details["field"] == "phone"
    assert "E.164" in error.message and "HTTP 400" in str(error)


def test_invalid_input_of_a_query_parameter(api):
    with pytest.raises(InvalidInputError) as caught:
        api.contacts.count(status="deleted")
    assert caught.value.field == "status"


def test_duplicate_contact_names_the_holder(api, unique):
    phone = unique.phone()
    holder = api.contacts.create({"phone": phone})
    with pytest.raises(DuplicateContactError) as caught:
        api.contacts.create({"phone": phone})
    error = caught.value
    assert (error.code, error.error, error.field) == (409, "duplicate_contact", "phone")
    assert error.existing_contact_id == holder.id


def test_duplicate_of_an_upsert_names_both_contacts(api, unique):
    by_phone = api.contacts.create({"phone": unique.phone()})
    by_email = api.contacts.create({"email": unique.email()})
    with pytest.raises(DuplicateContactError) as caught:
        api.contacts.upsert({"phone": by_phone.phone, "email": by_email.email})
    assert (caught.value.phone_contact_id, caught.value.email_contact_id) == (by_phone.id, by_email.id)


def test_unauthorized(connect):
    with pytest.raises(UnauthorizedError) as caught:
        connect(api_key="sk_test_not_a_key").contacts.count()
    assert (caught.value.code, caught.value.error) == (401, "unauthorized")


def test_precondition_failed_gives_the_current_etag(api, unique):
    contact = api.contacts.create({"phone": unique.phone()})
    current = api.contacts.update(contact.id, {"first_name": "New"})
    with pytest.raises(PreconditionFailedError) as caught:
        api.contacts.update(contact.id, {"first_name": "Stale"}, if_match=contact.etag)
    assert (caught.value.code, caught.value.current_etag) == (412, current.etag)
    with pytest.raises(PreconditionFailedError):
        api.contacts.delete(contact.id, if_match=contact.etag)
    assert api.contacts.get(contact.id).first_name == "New"


def test_idempotency_conflict(api, unique):
    api.contacts.create({"phone": unique.phone()}, idempotency_key=f"key-{unique.marker}")
    with pytest.raises(IdempotencyConflictError) as caught:
        api.contacts.create({"phone": unique.phone()}, idempotency_key=f"key-{unique.marker}")
    assert (caught.value.code, caught.value.error) == (409, "idempotency_conflict")


def test_payload_too_large(api, unique):
    with pytest.raises(PayloadTooLargeError) as caught:
        api.contacts.create({"phone": unique.phone(), "metadata": {"blob": "x" * (1024 * 1024 + 1)}})
    assert caught.value.code == 413 and caught.value.limit_bytes == 1024 * 1024


def test_rate_limited_when_no_retry_is_left(connect, limited_server):
    client = connect(base_url=limited_server.url, api_key=limited_server.key, max_retries=0)
    with pytest.raises(RateLimitedError) as caught:
        for _ in range(5):
            client.contacts.count()
    assert (caught.value.code, caught.value.error, caught.value.retry_after) == (429, "rate_limited", 1.0)


def test_unavailable_when_no_retry_is_left(connect, proxy):
    proxy.play(unavailable(retry_after="7"))
    with pytest.raises(UnavailableError) as caught:
        connect(base_url=proxy.url, max_retries=0).contacts.count()
    assert (caught.value.code, caught.value.retry_after) == (503, 7.0)


def test_retry_after_from_the_details_when_the_header_is_missing(connect, proxy):
    proxy.play(
        answer(
            429, {"error": "rate_limited", "message": "Slow down", "code": 429, "details": {"retry_after": 2}}
        )
    )
    with pytest.raises(RateLimitedError) as caught:
        connect(base_url=proxy.url, max_retries=0).contacts.count()
    assert caught.value.retry_after == 2.0


def test_other_errors_are_contactd_errors(connect, proxy):
    proxy.play(
        answer(500, {"error": "internal_error", "message": "Internal error", "code": 500, "details": {}})
    )
    with pytest.raises(ContactdError) as caught:
        connect(base_url=proxy.url).contacts.count()
    assert type(caught.value) is ContactdError
    assert (caught.value.code, caught.value.error, caught.value.message) == (
        500,
        "internal_error",
        "Internal error",
    )


def test_an_answer_without_the_envelope(connect, proxy):
    proxy.play(answer(502, b"<html>Bad Gateway</html>", {"Content-Type": "text/html"}))
    with pytest.raises(ContactdError) as caught:
        connect(base_url=proxy.url).contacts.count()
    assert (caught.value.code, caught.value.error) == (502, None)
    assert "Bad Gateway" in caught.value.message


def test_no_server_at_all(connect):
    with pytest.raises(ContactdConnectionError) as caught:
        connect(
            base_url=f"http://127.0.0.1:{free_port()}", max_retries=1, retry_backoff=0.01
        ).contacts.count()
    assert caught.value.code is None and isinstance(caught.value, ContactdError)
