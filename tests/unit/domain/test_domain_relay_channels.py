"""Relay channel drafts: names and URLs cleaned, only HTTP(S) streams and the three kinds accepted."""
from __future__ import annotations

import pytest

from broadcast.domain.errors import InvalidInput
from broadcast.domain.relay_channels import ChannelDraft, check_draft


def test_a_draft_is_cleaned():
    draft = check_draft(ChannelDraft("  Đài   Phát thanh tỉnh ", " https://radio.example.vn:8000/live.mp3 ",
                                     "provincial"))
    assert draft == ChannelDraft("Đài Phát thanh tỉnh", "https://radio.example.vn:8000/live.mp3", "provincial")


@pytest.mark.parametrize(("name", "url", "kind", "code"), [
    ("", "http://a.vn/x.mp3", "vov", "invalid_channel_name"),
    ("x" * 101, "http://a.vn/x.mp3", "vov", "invalid_channel_name"),
    ("VOV1\u200b", "http://a.vn/x.mp3", "vov", "invalid_characters"),
    ("VOV1", "rtsp://a.vn/live", "vov", "invalid_stream_url"),
    ("VOV1", "http:///x.mp3", "vov", "invalid_stream_url"),
    ("VOV1", "http://a.vn/" + "x" * 500, "vov", "invalid_stream_url"),
    ("VOV1", "http://a.vn/a b.mp3", "vov", "invalid_stream_url"),
    ("VOV1", "http://a.vn/x.mp3", "television", "invalid_channel_kind"),
])
def test_bad_drafts_are_refused_with_the_field_at_fault(name, url, kind, code):
    with pytest.raises(InvalidInput) as refused:
        check_draft(ChannelDraft(name, url, kind))
    assert refused.value.code == code
