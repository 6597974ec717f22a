"""CAP resource URIs are fetched only from allowed addresses (LOAXA_FETCH_ALLOW), and every refusal or failure
reads the same, so the endpoint cannot be used to reach or map the server's own network."""
from __future__ import annotations

import pytest

from broadcast.adapters.http_media import CAP_RESOURCE, HttpMediaFetcher
from broadcast.domain.errors import InvalidInput
from broadcast.persistence.models import AudioAssetRow, EmergencyRow
from tests.integration.emergencies.conftest import count
from tests.integration.emergencies.test_emerg_cap import cap, post
from tests.support.app import HOAN_KIEM, user
from tests.support.audio_fixtures import generate, require_binary
from tests.support.http_servers import Route, closed_port, silent_port

pytestmark = pytest.mark.integration
UNREACHABLE = "cap_resource_unreachable"


@pytest.fixture(scope="module")
def mp3(tmp_path_factory) -> bytes:
    require_binary("ffmpeg")
    return generate(tmp_path_factory.mktemp("guard") / "a.mp3", kind="speechlike", seconds=3, lufs=-23).read_bytes()


@pytest.fixture
def operator(container, client):
    require_binary("espeak-ng")
    return user(container, client, "khan-cap-guard", "emergency_operator", HOAN_KIEM)


def audio(mp3: bytes) -> Route:
    return Route(body=mp3, headers={"Content-Type": "audio/mpeg"})


def errors_of(client, operator, clock, urls: list[str]) -> dict[str, tuple[int, dict]]:
    out = {}
    for i, url in enumerate(urls):
        response = post(client, operator, cap(f"GUARD-{i}", clock=clock, resource=url))
        out[url] = (response.status_code, response.json().get("error", response.json()))
    return out


def assert_one_error(found: dict[str, tuple[int, dict]]) -> None:
    """Every URL got the same status, code and message (nothing that tells one case from another)."""
    distinct = {(status, error.get("code"), error.get("message")) for status, error in found.values()}
    assert len(distinct) == 1, found
    ((status, code, message),) = distinct
    assert (status, code) == (422, UNREACHABLE) and message, found


def test_every_spelling_of_the_server_itself_is_refused_by_default(container, client, clock, registry, operator,
                                                                  http_servers, mp3):
    v4 = http_servers("127.0.0.1", {"/a.mp3": audio(mp3)})
    v6 = http_servers("::1", {"/a.mp3": audio(mp3)})
    hosts = ("127.0.0.1", "localhost", "2130706433", "0x7f.1", "0x7f000001", "0177.0.0.1", "127.1", "0",
             "0.0.0.0", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "LOCALHOST.")
    urls = [f"http://{host}:{v4.port}/a.mp3" for host in hosts]
    urls += [f"http://{host}:{v6.port}/a.mp3" for host in ("[::1]", "[::]", "[0:0::1]", "[fe80::1%25lo]")]
    assert_one_error(errors_of(client, operator, clock, urls))
    assert v4.hits == [] and v6.hits == []  # refused before any connection
    assert count(container, EmergencyRow) == 0 and count(container, AudioAssetRow) == 0
    assert not list((container.settings.data_dir / "emergency-work").glob("cap-*"))


@pytest.mark.parametrize("fetch_allow", ["127.0.0.2,localhost"])
def test_allowed_hosts_are_fetched_and_a_redirect_off_them_is_refused(container, client, clock, registry, operator,
                                                                     http_servers, mp3):
    other = http_servers("127.0.0.3", {"/a.mp3": audio(mp3)})
    allowed = http_servers("127.0.0.2", {"/a.mp3": audio(mp3), "/here": Route(302, headers={"Location": "/a.mp3"}),
                                         "/away": Route(302, headers={"Location": other.url("/a.mp3")})})
    by_name = http_servers("127.0.0.1", {"/a.mp3": audio(mp3)})
    for i, url in enumerate((allowed.url("/a.mp3"), allowed.url("/here"), f"http://localhost:{by_name.port}/a.mp3")):
        response = post(client, operator, cap(f"OK-{i}", clock=clock, resource=url))
        assert response.status_code == 201, (url, response.text)
    assert allowed.hits == ["/a.mp3", "/here", "/a.mp3"] and by_name.hits == ["/a.mp3"]

    refused = errors_of(client, operator, clock, [allowed.url("/away"), other.url("/a.mp3"),
                                                  f"http://127.0.0.1:{by_name.port}/a.mp3"])
    assert_one_error(refused)
    assert other.hits == [] and by_name.hits == ["/a.mp3"]  # the allowed name does not allow its address
    assert count(container, EmergencyRow) == 3


@pytest.mark.parametrize("fetch_allow", ["127.0.0.2/32"])
def test_closed_open_and_refused_addresses_read_the_same(container, client, clock, registry, operator,
                                                        http_servers, mp3):
    refused_host = http_servers("127.0.0.3", {"/a.mp3": audio(mp3)})
    server = http_servers("127.0.0.2", {
        "/error": Route(500), "/loop": Route(302, headers={"Location": "/loop"}),
        "/ftp": Route(301, headers={"Location": "ftp://127.0.0.2/a.mp3"}), "/nowhere": Route(302)})
    urls = [server.url("/missing.mp3"), server.url("/error"), server.url("/loop"), server.url("/ftp"),
            server.url("/nowhere"), f"http://127.0.0.2:{closed_port('127.0.0.2')}/a.mp3",
            refused_host.url("/a.mp3"), "ftp://127.0.0.2/a.mp3", "http://[::1/a.mp3"]
    assert_one_error(errors_of(client, operator, clock, urls))
    assert refused_host.hits == []
    assert len([h for h in server.hits if h == "/loop"]) <= 6  # redirects are bounded
    assert count(container, EmergencyRow) == 0


@pytest.mark.parametrize("fetch_allow", ["127.0.0.2"])
def test_a_silent_server_reads_like_any_other_failure(container, http_servers, tmp_path):
    sock, port = silent_port("127.0.0.2")
    fetch = HttpMediaFetcher(tmp_path / "work", 1024 * 1024, CAP_RESOURCE, policy=container.settings.fetch_policy,
                             timeout_s=0.5)
    missing = http_servers("127.0.0.2")
    try:
        with pytest.raises(InvalidInput) as slow:
            fetch(f"http://127.0.0.2:{port}/a.mp3")
        with pytest.raises(InvalidInput) as absent:
            fetch(missing.url("/a.mp3"))
    finally:
        sock.close()
    assert (slow.value.code, str(slow.value)) == (absent.value.code, str(absent.value)) == (UNREACHABLE,
                                                                                           str(absent.value))
    assert list((tmp_path / "work").iterdir()) == []  # no scratch file left behind
