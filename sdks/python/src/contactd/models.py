"""The API's types, generated from docs/openapi.json (`_generated.py`), and `Upserted`.

Answers are pydantic models: `contact.id`, `contact.metadata["plan"]`,
`contact.model_dump()`. Request models (`ContactCreate`, `ContactUpdate`, …) may be
passed wherever a dict body is taken; only the fields set on them are sent.
"""

from ._generated import *  # noqa: F401,F403
from ._operations import Upserted  # noqa: F401
