"""What every config model shares: frozen, strict, never echoing input in errors."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=63)]
Port = Annotated[int, Field(ge=1, le=65535)]


class ConfigModel(BaseModel):
    # hide_input_in_errors: a credential must never be echoed back by a validation error.
    model_config = ConfigDict(
        extra="forbid", frozen=True, hide_input_in_errors=True, populate_by_name=True
    )
