"""Drive the web pages the way a browser does: cookies, the CSRF field of each form, redirects."""
from __future__ import annotations

import re
from html.parser import HTMLParser

from fastapi.testclient import TestClient

from tests.support.app import HOAN_KIEM, PASSWORD, ApiUser

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD):
    """Open the login page, post its form; the answer (a redirect when it worked) is returned unfollowed."""
    page = client.get("/dang-nhap")
    assert page.status_code == 200, page.text
    return client.post("/dang-nhap", data={"username": username, "password": password,
                                          "csrf_token": csrf_of(page.text)}, follow_redirects=False)


def post_form(client: TestClient, page_path: str, action: str, data: dict[str, str]):
    """Post `data` with the CSRF token of the form on `page_path`."""
    page = client.get(page_path)
    assert page.status_code == 200, page.text
    return client.post(action, data={**data, "csrf_token": csrf_of(page.text)}, follow_redirects=False)


class Links(HTMLParser):
    """Every address a page makes the browser load or follow (src, href, action)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []  # (tag, attribute, value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "action", "hx-get", "hx-post") and value:
                self.urls.append((tag, name, value))


def links_of(html: str) -> list[tuple[str, str, str]]:
    parser = Links()
    parser.feed(html)
    return parser.urls


def approved_schedule(client: TestClient, editor: ApiUser, approver: ApiUser, *, title: str, start: str,
                      area: str = HOAN_KIEM, seconds: int = 900, priority: str = "normal", rrule: str | None = None,
                      approve: bool = True) -> int:
    """A stream programme and its schedule, submitted through the API and approved unless told not to."""
    programme = client.post("/api/v1/programmes", headers=editor.headers, json={
        "title": title, "area_code": area, "topic": "grassroots_mediation", "priority": priority,
        "stream_url": "http://127.0.0.1:9/vov1", "stream_duration_s": seconds})
    assert programme.status_code == 201, programme.text
    body = {"programme_id": programme.json()["id"], "targets": {"areas": [area]}, "start": start}
    if rrule:
        body["rrule"] = rrule
    created = client.post("/api/v1/schedules", headers=editor.headers, json=body)
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    assert client.post(f"/api/v1/schedules/{sid}/submit", headers=editor.headers).status_code == 200
    if approve:
        decided = client.post(f"/api/v1/schedules/{sid}/approve", headers=approver.headers)
        assert decided.status_code == 200, decided.text
    return sid
