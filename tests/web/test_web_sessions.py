"""Cookie sessions of the web pages on the real app and database: login, CSRF on every form, logout, and the
session ending when the account is disabled or its password changes."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from broadcast.services.context import Actor
from broadcast.services.users import set_disabled
from broadcast.web.app import create_app
from tests.support.app import HANOI, HOAN_KIEM, PASSWORD, add_user, login, make_container, wipe
from tests.support.web import csrf_of, post_form, sign_in

pytestmark = pytest.mark.integration
NEW_PASSWORD = "Mat-Khau-Moi-2027!"


def set_cookie_headers(response) -> list[str]:
    return response.headers.get_list("set-cookie")


def session_cookie(response) -> str:
    found = [h for h in set_cookie_headers(response) if h.startswith("loaxa_session=")]
    assert len(found) == 1, set_cookie_headers(response)
    return found[0]


def is_login_redirect(response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/dang-nhap")


def test_root_sends_a_stranger_to_the_login_page(client):
    first = client.get("/", follow_redirects=False)
    assert is_login_redirect(first) and first.headers["location"] == "/dang-nhap"
    deep = client.get("/doi-mat-khau", follow_redirects=False)
    assert deep.headers["location"] == "/dang-nhap?tiep=/doi-mat-khau"  # back there after signing in
    panel = client.get("/trang-chu/bang-tin", headers={"HX-Request": "true"}, follow_redirects=False)
    assert panel.status_code == 204 and panel.headers["HX-Redirect"].startswith("/dang-nhap")  # whole window goes
    page = client.get("/dang-nhap")
    assert page.status_code == 200 and "Đăng nhập" in page.text and 'lang="vi"' in page.text
    assert "Phiên đăng nhập" not in page.text  # a first visit is no error


def test_an_unknown_address_is_a_vietnamese_page_for_a_browser_and_json_for_the_api(client):
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    page = client.get("/khong-co-trang-nay", headers=browser)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Không tìm thấy địa chỉ yêu cầu." in page.text and 'href="/"' in page.text
    api = client.get("/api/v1/khong-co", headers=browser)  # the API answers JSON whatever the Accept says
    assert api.headers["content-type"].startswith("application/json") and "error" in api.json()
    script = client.get("/khong-co-trang-nay")
    assert script.status_code == 404 and script.headers["content-type"].startswith("application/json")
    assert client.get("/static/khong-co.js", headers=browser).headers["content-type"].startswith("application/json")


def test_a_working_officer_stays_signed_in_and_an_idle_session_still_ends(container, client, clock):
    add_user(container, "can-bo-vh", "editor", HOAN_KIEM)
    first = session_cookie(sign_in(client, "can-bo-vh"))
    clock.advance(seconds=20 * 60)  # a third of the hour: the same token serves
    assert client.get("/", follow_redirects=False).status_code == 200
    assert not any(h.startswith("loaxa_session=") for h in set_cookie_headers(client.get("/")))
    clock.advance(seconds=20 * 60)  # past half its life: the page carries a fresh one
    renewed = client.get("/", follow_redirects=False)
    assert renewed.status_code == 200 and session_cookie(renewed) != first
    clock.advance(seconds=40 * 60)  # 80 minutes after signing in, the first token is over, the fresh one is not
    assert client.get("/", follow_redirects=False).status_code == 200
    clock.advance(seconds=61 * 60)  # an hour without a page: the session ends
    assert is_login_redirect(client.get("/", follow_redirects=False))


def test_login_sets_an_httponly_samesite_cookie_and_opens_the_home_page(container, client):
    add_user(container, "can-bo-vh", "editor", HOAN_KIEM)
    signed = sign_in(client, "can-bo-vh")
    assert signed.status_code == 303 and signed.headers["location"] == "/"
    cookie = session_cookie(signed).lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # the public URL is http here
    home = client.get("/")
    assert home.status_code == 200 and "Tổng quan" in home.text and "can-bo-vh" in home.text
    assert home.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in home.headers["content-security-policy"]
    assert client.get("/dang-nhap", follow_redirects=False).headers["location"] == "/"  # signed in: no form again


def test_login_goes_back_to_the_page_asked_for_but_never_off_site(container, client):
    add_user(container, "can-bo-vh", "editor", HOAN_KIEM)
    page = client.get("/dang-nhap", params={"tiep": "/doi-mat-khau"})
    answer = client.post("/dang-nhap", follow_redirects=False, data={
        "username": "can-bo-vh", "password": PASSWORD, "csrf_token": csrf_of(page.text), "tiep": "/doi-mat-khau"})
    assert answer.headers["location"] == "/doi-mat-khau"
    client.cookies.clear()
    page = client.get("/dang-nhap")
    answer = client.post("/dang-nhap", follow_redirects=False, data={
        "username": "can-bo-vh", "password": PASSWORD, "csrf_token": csrf_of(page.text), "tiep": "//evil.example/x"})
    assert answer.headers["location"] == "/"


def test_a_wrong_password_shows_the_form_again_with_a_vietnamese_message(container, client):
    add_user(container, "can-bo-vh", "editor", HOAN_KIEM)
    refused = sign_in(client, "can-bo-vh", "sai-mat-khau")
    assert refused.status_code == 401 and "Tên đăng nhập hoặc mật khẩu không đúng." in refused.text
    assert not [h for h in set_cookie_headers(refused) if h.startswith("loaxa_session=")]
    assert 'value="can-bo-vh"' in refused.text  # the name is kept, the password is not


def test_the_cookie_is_secure_behind_an_https_public_url(tmp_path, database_url):
    container = make_container(tmp_path, database_url, public_url="https://loa.ninhbinh.gov.vn")
    try:
        add_user(container, "can-bo-vh", "editor", HOAN_KIEM)
        with TestClient(create_app(container), base_url="https://testserver") as client:
            cookie = session_cookie(sign_in(client, "can-bo-vh")).lower()
            assert "secure" in cookie and "httponly" in cookie
    finally:
        wipe(container)
        container.close()


def test_posts_without_a_valid_csrf_token_are_refused_and_change_nothing(container, client):
    add_user(container, "can-bo-vh", "editor", HOAN_KIEM)
    client.get("/dang-nhap")  # the browser has its CSRF cookie, the forger's form has no token
    forged = client.post("/dang-nhap", data={"username": "can-bo-vh", "password": PASSWORD}, follow_redirects=False)
    assert forged.status_code == 403 and "Biểu mẫu đã hết hạn hoặc không hợp lệ" in forged.text
    assert not [h for h in set_cookie_headers(forged) if h.startswith("loaxa_session=")]
    wrong = client.post("/dang-nhap", data={"username": "can-bo-vh", "password": PASSWORD, "csrf_token": "x" * 43},
                        follow_redirects=False)
    assert wrong.status_code == 403

    assert sign_in(client, "can-bo-vh").status_code == 303
    valid = csrf_of(client.get("/").text)  # kept for the end: the refusals below are about the token alone
    for path, data in (("/doi-mat-khau", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                          "confirm_password": NEW_PASSWORD}),
                       ("/dang-xuat", {})):
        refused = client.post(path, data=data, follow_redirects=False)
        assert refused.status_code == 403 and "Biểu mẫu đã hết hạn hoặc không hợp lệ" in refused.text, path
    other_browser = TestClient(client.app)
    foreign = csrf_of(other_browser.get("/dang-nhap").text)
    assert client.post("/dang-xuat", data={"csrf_token": foreign}, follow_redirects=False).status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200  # still signed in
    login(client, "can-bo-vh")  # the password did not change
    assert client.post("/dang-xuat", data={"csrf_token": valid}, follow_redirects=False).status_code == 303


def test_a_token_from_before_signing_in_is_no_good_after(container, client):
    add_user(container, "can-bo-vh", "editor", HOAN_KIEM)
    before = csrf_of(client.get("/dang-nhap").text)
    assert sign_in(client, "can-bo-vh").status_code == 303
    assert client.post("/dang-xuat", data={"csrf_token": before}, follow_redirects=False).status_code == 403


def test_logout_ends_the_session_on_the_server_too(container, client):
    add_user(container, "can-bo-vh", "editor", HOAN_KIEM)
    token = session_cookie(sign_in(client, "can-bo-vh")).split(";")[0].split("=", 1)[1]
    out = post_form(client, "/", "/dang-xuat", {})
    assert is_login_redirect(out)
    assert any(h.startswith('loaxa_session=""') or "max-age=0" in h.lower()
               for h in set_cookie_headers(out) if h.startswith("loaxa_session="))
    assert "Bạn đã đăng xuất." in client.get("/dang-nhap").text
    client.cookies.set("loaxa_session", token)  # a copy of the old cookie is refused as well
    replay = client.get("/", follow_redirects=False)
    assert is_login_redirect(replay)
    assert "Phiên đăng nhập đã kết thúc" in client.get(replay.headers["location"]).text


def test_disabling_the_account_ends_its_session(container, client):
    add_user(container, "can-bo-vh", "editor", HOAN_KIEM)
    sign_in(client, "can-bo-vh")
    assert client.get("/", follow_redirects=False).status_code == 200
    set_disabled(container.uow(), container.clock, Actor(None), username="can-bo-vh", disabled=True)
    ended = client.get("/", follow_redirects=False)
    assert is_login_redirect(ended)
    assert "Tài khoản không còn hiệu lực." in client.get("/dang-nhap").text


def test_changing_the_password_on_the_page_keeps_this_session_and_ends_the_others(container, client):
    add_user(container, "can-bo-vh", "editor", HOAN_KIEM)
    other = TestClient(client.app)
    sign_in(other, "can-bo-vh")
    sign_in(client, "can-bo-vh")
    mismatch = post_form(client, "/doi-mat-khau", "/doi-mat-khau", {
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD + "x"})
    assert mismatch.status_code == 422 and "Mật khẩu mới nhập lại không khớp." in mismatch.text
    wrong = post_form(client, "/doi-mat-khau", "/doi-mat-khau", {
        "current_password": "sai", "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert wrong.status_code == 422 and "Mật khẩu hiện tại không đúng." in wrong.text
    changed = post_form(client, "/doi-mat-khau", "/doi-mat-khau", {
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert changed.status_code == 303 and changed.headers["location"] == "/"
    session_cookie(changed)  # a fresh cookie for this browser
    home = client.get("/")
    assert home.status_code == 200 and "Đã đổi mật khẩu." in home.text
    assert is_login_redirect(other.get("/", follow_redirects=False))  # the other browser is signed out
    login(client, "can-bo-vh", NEW_PASSWORD)


def test_a_password_changed_elsewhere_ends_the_page_session(container, client):
    add_user(container, "can-bo-vh", "editor", HOAN_KIEM)
    sign_in(client, "can-bo-vh")
    api = TestClient(client.app)
    headers = login(api, "can-bo-vh").headers
    assert api.post("/api/v1/auth/password", headers=headers, json={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD}).status_code == 200
    assert is_login_redirect(client.get("/", follow_redirects=False))
    assert "Phiên đăng nhập đã kết thúc" in client.get("/dang-nhap").text


def test_an_expired_session_says_so(container, client, clock):
    add_user(container, "can-bo-vh", "editor", HOAN_KIEM)
    sign_in(client, "can-bo-vh")
    clock.advance(minutes=container.settings.token_ttl_minutes + 1)
    assert is_login_redirect(client.get("/", follow_redirects=False))
    assert "Phiên đăng nhập đã hết hạn" in client.get("/dang-nhap").text


def test_a_viewer_sees_no_write_controls(container, client):
    add_user(container, "tu-phap", "viewer", HANOI)
    sign_in(client, "tu-phap")
    home = client.get("/").text
    assert home.count("<form") == 1 and 'action="/dang-xuat"' in home  # signing out is the only form
    for write_page in ("/duyet-lich", "/khan-cap", "/quan-tri"):
        assert f'href="{write_page}"' not in home
