"""Folding text for search (domain/text.py fold): case and Vietnamese diacritics ignored, đ as d."""
from __future__ import annotations

import unicodedata

import pytest

from broadcast.domain.text import fold


@pytest.mark.parametrize(("typed", "name"), [
    ("chau son", "Châu Sơn"),
    ("CHAU SON", "Châu Sơn"),
    ("dong thap", "Đồng Tháp"),
    ("Đồng Tháp", "ĐỒNG THÁP"),
    ("thua thien hue", "Thừa Thiên Huế"),
    ("phuong hoan kiem", "Phường Hoàn Kiếm"),
    ("xa  dak   lak", "Xã Đắk Lắk"),
    ("ưu", "UU"),
])
def test_what_people_type_matches_the_name(typed, name):
    assert fold(typed) == fold(name)


def test_the_folded_form_is_plain_lower_case_ascii_for_vietnamese():
    assert fold("  Thị trấn Đông Anh ") == "thi tran dong anh"
    nfd = unicodedata.normalize("NFD", "Hoàn Kiếm")  # combining accents, as some keyboards send them
    assert fold(nfd) == fold("Hoàn Kiếm") == "hoan kiem"


def test_different_letters_stay_different():
    assert fold("Sơn La") != fold("Sa Pa")
    assert fold("chau son") not in fold("Châu Thành")
