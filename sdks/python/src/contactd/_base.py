"""The base class of the generated models (`_generated.py`).

Answers keep fields a newer server adds (`extra="allow"`), so an older SDK still shows
them; request bodies forbid unknown fields in their own generated config, as the API does.
A model read from a response that carried an `ETag` remembers it in `.etag`, ready for
`if_match=`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, PrivateAttr


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="allow")

    _etag: str | None = PrivateAttr(default=None)

    @property
    def etag(self) -> str | None:
        """The `ETag` of the response this model came from (contacts only), else None."""
        return self._etag
