"""Pure rules of the foundation: who may do what where, passwords, zone ids, settings."""
from __future__ import annotations

import pytest

from broadcast.domain.areas import Area, AreaLevel, commune_zone_id, slugify
from broadcast.domain.auth import ROLE_ACTIONS, Action, Grant, Principal, Role
from broadcast.domain.errors import InvalidInput, PermissionDenied
from broadcast.domain.users import check_password_strength, check_username
from broadcast.settings import SettingsError, load_settings

WARD = Area("00070", "Phường Hoàn Kiếm", AreaLevel.COMMUNE, "phường", "01")
OTHER_WARD = Area("26506", "Phường Vũng Tàu", AreaLevel.COMMUNE, "phường", "79")


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_role_action_area_matrix(role, action):
    at_commune = Principal(1, "u", (Grant(role, "00070"),))
    at_province = Principal(2, "p", (Grant(role, "01"),))
    allowed = action in ROLE_ACTIONS[role]
    assert at_commune.may(action, WARD.chain()) is allowed
    assert at_province.may(action, WARD.chain()) is allowed
    assert at_commune.may(action, OTHER_WARD.chain()) is False
    assert at_province.may(action, OTHER_WARD.chain()) is False


def test_only_admin_manages_users_and_reads_audit():
    holders = {role for role, actions in ROLE_ACTIONS.items() if {Action.MANAGE_USERS, Action.READ_AUDIT} & actions}
    assert holders == {Role.ADMIN}
    assert ROLE_ACTIONS[Role.VIEWER] == {Action.READ}


def test_require_message_is_vietnamese():
    with pytest.raises(PermissionDenied, match="không có quyền duyệt lịch phát"):
        Principal(1, "bich", (Grant(Role.EDITOR, "00070"),)).require(Action.APPROVE_SCHEDULES, WARD.chain())


def test_commune_binding_does_not_cover_its_province():
    assert not Principal(1, "u", (Grant(Role.ADMIN, "00070"),)).may(Action.READ, ("01",))


@pytest.mark.parametrize("password", ["", "   ", "short1A!", "abcdefghij", "1234567890", "aaaaaaaaaaaaaaaaaaaa",
                                      "officer-Pass1"])
def test_weak_passwords_are_refused(password):
    with pytest.raises(InvalidInput):
        check_password_strength(password, "officer")


@pytest.mark.parametrize("password", ["Loa-Xa-2026!test", "một câu mật khẩu rất dài dễ nhớ"])
def test_strong_passwords_pass(password):
    check_password_strength(password, "officer")


@pytest.mark.parametrize("name", ["ab", "Admin", "has space", "../etc", "a" * 65])
def test_bad_usernames(name):
    with pytest.raises(InvalidInput):
        check_username(name)


def test_slug_and_zone_ids():
    assert slugify("Thôn Đông 3") == "thon-dong-3"
    assert slugify("Tổ dân phố số 12 (khu Bắc)") == "to-dan-pho-so-12-khu-bac"
    assert commune_zone_id("01", "00070", "thon-3") == "01-00070-thon-3"
    with pytest.raises(InvalidInput):
        commune_zone_id("01", "00070", "")


@pytest.mark.parametrize("variable,value", [
    ("LOAXA_MQTT_URL", "http://broker"), ("LOAXA_TIMEZONE", "Asia/Atlantis"), ("LOAXA_PUBLIC_URL", "ftp://x"),
    ("LOAXA_DATABASE_URL", "mysql://x"), ("LOAXA_TOKEN_TTL_MINUTES", "soon"), ("LOAXA_SECRET_KEY", "short"),
    ("LOAXA_MQTT_URL", "mqtt://host:notaport"),
])
def test_invalid_settings_name_the_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


def test_settings_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("LOAXA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LOAXA_MQTT_URL", "mqtt://server:s%40cret@broker.example:1884")
    settings = load_settings()
    assert settings.effective_database_url == f"sqlite:///{tmp_path.resolve() / 'loaxa.db'}"
    assert settings.timezone == "Asia/Ho_Chi_Minh"
    assert (settings.mqtt.host, settings.mqtt.port, settings.mqtt.username, settings.mqtt.password) == (
        "broker.example", 1884, "server", "s@cret")
