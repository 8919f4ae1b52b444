"""The guide's "Search Before Create" sample, verbatim below the client construction,
which is the only line added. Imported by test_seed_sample.py once CONTACTD_API_KEY and
CONTACTD_URL name the test server."""

import os

from contactd import Client, NotFoundError

client = Client(api_key=os.environ["CONTACTD_API_KEY"], base_url=os.environ["CONTACTD_URL"])


def ensure_contact(phone, email, name):
    # Try phone first
    try:
        return client.contacts.get(phone)
    except NotFoundError:
        pass

    # Try email
    try:
        return client.contacts.get(email)
    except NotFoundError:
        pass

    # Create new
    return client.contacts.create({
        'phone': phone,
        'email': email,
        'first_name': name
    })
