"""What every config model shares: frozen, strict, never echoing input in errors."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, IPvAnyAddress, IPvAnyNetwork

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=63)]
Port = Annotated[int, Field(ge=1, le=65535)]
# Both IP families everywhere an address or network is written: a firewall written for IPv4
# only leaves SMB open over IPv6, so the policy must be able to say where IPv6 lives.
Address = IPvAnyAddress
Network = IPvAnyNetwork


class ConfigModel(BaseModel):
    # hide_input_in_errors: a credential must never be echoed back by a validation error.
    model_config = ConfigDict(
        extra="forbid", frozen=True, hide_input_in_errors=True, populate_by_name=True
    )


def within(inner: Network, outer: Network) -> bool:
    """Whether `inner` lies inside `outer`; networks of different IP versions never do."""
    if isinstance(inner, IPv4Network) and isinstance(outer, IPv4Network):
        return inner.subnet_of(outer)
    if isinstance(inner, IPv6Network) and isinstance(outer, IPv6Network):
        return inner.subnet_of(outer)
    return False
