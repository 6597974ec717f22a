"""The relay channel catalogue: read by anyone signed in, managed by administrators, each change audited."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from broadcast.adapters.stream_probe import probe_stream
from broadcast.domain.relay_channels import NAME_MAX_CHARS, URL_MAX_CHARS, ChannelDraft, RelayChannel
from broadcast.services import relay_channels as service
from broadcast.web.deps import ActorDep, ContainerDep, PrincipalDep, UowDep
from broadcast.web.openapi import errors

router = APIRouter(prefix="/relay-channels", tags=["relay-channels"])


class RelayChannelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=NAME_MAX_CHARS * 2)  # blanks are collapsed before the real limit
    url: str = Field(max_length=URL_MAX_CHARS + 50)
    kind: str = Field(default="other", description="vov | provincial | other")

    def draft(self) -> ChannelDraft:
        return ChannelDraft(self.name, self.url, self.kind)


class ProbeOut(BaseModel):
    checked_at: datetime
    reachable: bool
    codec: str | None
    bitrate_kbps: int | None
    error: str | None


class RelayChannelOut(BaseModel):
    id: int
    name: str
    url: str
    kind: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    probe: ProbeOut | None  # null until the first probe

    @classmethod
    def of(cls, c: RelayChannel) -> RelayChannelOut:
        probe = ProbeOut(**c.probe.__dict__) if c.probe is not None else None
        return cls(id=c.id, name=c.name, url=c.url, kind=c.kind.value, created_by=c.created_by,
                   created_at=c.created_at, updated_at=c.updated_at, probe=probe)


@router.get("", response_model=list[RelayChannelOut], responses=errors(403))
def list_all(uow: UowDep, principal: PrincipalDep) -> list[RelayChannelOut]:
    """Every station in the catalogue, by name, with what its last probe found."""
    return [RelayChannelOut.of(c) for c in service.list_channels(uow, principal)]


@router.get("/{channel_id}", response_model=RelayChannelOut, responses=errors(403, 404))
def get_one(channel_id: int, uow: UowDep, principal: PrincipalDep) -> RelayChannelOut:
    return RelayChannelOut.of(service.get_channel(uow, principal, channel_id))


@router.post("", response_model=RelayChannelOut, status_code=201, responses=errors(403, 409, 422))
def create(body: RelayChannelIn, container: ContainerDep, uow: UowDep, actor: ActorDep) -> RelayChannelOut:
    """Add a station (administrators); it is probed at the next run of the probe job."""
    return RelayChannelOut.of(service.create_channel(uow, container.clock, actor, body.draft()))


@router.put("/{channel_id}", response_model=RelayChannelOut, responses=errors(403, 404, 409, 422))
def update(channel_id: int, body: RelayChannelIn, container: ContainerDep, uow: UowDep,
           actor: ActorDep) -> RelayChannelOut:
    """Change a station; programmes relaying it play the new address from their next compile on."""
    return RelayChannelOut.of(service.update_channel(uow, container.clock, actor, channel_id, body.draft()))


@router.delete("/{channel_id}", status_code=204, responses=errors(403, 404, 409))
def delete(channel_id: int, container: ContainerDep, uow: UowDep, actor: ActorDep) -> Response:
    """Remove a station no programme relays."""
    service.delete_channel(uow, container.clock, actor, channel_id)
    return Response(status_code=204)


@router.post("/{channel_id}/probe", response_model=RelayChannelOut, responses=errors(403, 404, 409))
def probe_now(channel_id: int, container: ContainerDep, uow: UowDep, actor: ActorDep) -> RelayChannelOut:
    """Probe one station now (administrators) and record the result."""
    timeout = container.settings.relay_probe_timeout_s
    return RelayChannelOut.of(service.probe_channel(
        uow, actor, channel_id, lambda url: probe_stream(url, now=container.clock.now, timeout_s=timeout)))
