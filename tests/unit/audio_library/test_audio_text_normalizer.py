"""Vietnamese text read right before text-to-speech: the exact spoken form of figures, dates, times, legal citations
and abbreviations (audio_library.text_normalizer, vi_numbers, pronunciations)."""
from __future__ import annotations

from pathlib import Path

import pytest

from audio_library.pronunciations import DEFAULT_PRONUNCIATIONS, merged
from audio_library.text_normalizer import expand_terms, normalize_vi
from audio_library.tts import synthesize_to_file
from audio_library.vi_numbers import read_decimal, read_digits, read_integer


@pytest.mark.parametrize("value,spoken", [
    (0, "không"), (1, "một"), (5, "năm"), (10, "mười"), (11, "mười một"), (14, "mười bốn"), (15, "mười lăm"),
    (20, "hai mươi"), (21, "hai mươi mốt"), (24, "hai mươi bốn"), (25, "hai mươi lăm"), (36, "ba mươi sáu"),
    (100, "một trăm"), (101, "một trăm lẻ một"), (105, "một trăm lẻ năm"), (110, "một trăm mười"),
    (115, "một trăm mười lăm"), (121, "một trăm hai mươi mốt"), (1000, "một nghìn"),
    (1005, "một nghìn không trăm lẻ năm"), (2019, "hai nghìn không trăm mười chín"),
    (2024, "hai nghìn không trăm hai mươi bốn"), (10_000, "mười nghìn"), (15_000, "mười lăm nghìn"),
    (1_000_000, "một triệu"), (1_000_005, "một triệu không trăm lẻ năm"),
    (1_050_000, "một triệu không trăm năm mươi nghìn"), (1_200_000_000, "một tỷ hai trăm triệu"),
    (1_000_050_000, "một tỷ không trăm năm mươi nghìn"), (1_500_000_000_000, "một nghìn năm trăm tỷ"),
    (-7, "âm bảy"),
])
def test_integers_are_read_as_officers_read_them(value, spoken):
    assert read_integer(value) == spoken


def test_decimals_and_digit_runs():
    assert read_decimal(2, "5") == "hai phẩy năm"
    assert read_decimal(2, "25") == "hai phẩy hai mươi lăm"
    assert read_decimal(2, "05") == "hai phẩy không năm"
    assert read_digits("0912") == "không chín một hai"
    assert read_integer(10**18) == read_digits(str(10**18))  # beyond tỷ tỷ: digit by digit


@pytest.mark.parametrize("text,spoken", [
    # Legal citations: "số" once, the year, the issuing body; QH15 names the legislature.
    ("Luật số 36/2024/QH15", "Luật số ba mươi sáu năm hai nghìn không trăm hai mươi bốn Quốc hội khóa mười lăm"),
    ("Nghị định 100/2019/NĐ-CP",
     "Nghị định số một trăm năm hai nghìn không trăm mười chín Nghị định Chính phủ"),
    ("Thông tư 01/2021/TT-BTP", "Thông tư số một năm hai nghìn không trăm hai mươi mốt Thông tư Bộ Tư pháp"),
    ("Quyết định số 123/QĐ-UBND", "Quyết định số một trăm hai mươi ba Quyết định Ủy ban nhân dân"),
    ("Quyết định 15/2020/QĐ-TTg",
     "Quyết định số mười lăm năm hai nghìn không trăm hai mươi Quyết định Thủ tướng Chính phủ"),
    ("Thông tư 05/2023/TT-BTC", "Thông tư số năm năm hai nghìn không trăm hai mươi ba Thông tư Bộ Tài chính"),
    ("Điều 5 khoản 2", "Điều năm khoản hai"),
    ("Chương II, Mục 3", "Chương hai, Mục ba"),
    ("Quốc hội khóa XV", "Quốc hội khóa mười lăm"),
    # Abbreviations.
    ("UBND xã họp", "Ủy ban nhân dân xã họp"),
    ("Đội PCCC", "Đội phòng cháy chữa cháy"),
    ("HĐND và UBMTTQ", "Hội đồng nhân dân và Ủy ban Mặt trận Tổ quốc"),
    ("thẻ BHYT, sổ BHXH", "thẻ bảo hiểm y tế, sổ bảo hiểm xã hội"),
    ("TP.HCM", "Thành phố Hồ Chí Minh"),
    ("Sở GD&ĐT", "Sở giáo dục và đào tạo"),
    ("công ty CP ABC", "công ty CP ABC"),  # CP (Chính phủ or cổ phần) only inside a citation
    # Times and dates.
    ("06:30 ngày 05/12", "sáu giờ ba mươi phút ngày năm tháng mười hai"),
    ("6h30", "sáu giờ ba mươi phút"),
    ("từ 7h đến 11h", "từ bảy giờ đến mười một giờ"),
    ("lúc 14:05:30", "lúc mười bốn giờ năm phút ba mươi giây"),
    ("05/12/2026", "ngày năm tháng mười hai năm hai nghìn không trăm hai mươi sáu"),
    ("ngày 05/12/2026", "ngày năm tháng mười hai năm hai nghìn không trăm hai mươi sáu"),
    ("Ngày 1-4-2025", "Ngày một tháng tư năm hai nghìn không trăm hai mươi lăm"),
    ("tháng 4/2025", "tháng tư năm hai nghìn không trăm hai mươi lăm"),
    ("sáng 6/12", "sáng ngày sáu tháng mười hai"),
    ("tháng 4", "tháng tư"),
    ("32/13", "ba mươi hai trên mười ba"),  # not a date
    # Figures, units, phones.
    ("Xã có 3 thôn, 105 hộ.", "Xã có ba thôn, một trăm lẻ năm hộ."),
    ("2,5 km", "hai phẩy năm ki-lô-mét"),
    ("10.000 đồng", "mười nghìn đồng"),
    ("1.500.000 VNĐ", "một triệu năm trăm nghìn đồng"),
    ("50.000đ", "năm mươi nghìn đồng"),
    ("15%", "mười lăm phần trăm"),
    ("2,5%", "hai phẩy năm phần trăm"),
    ("120m2", "một trăm hai mươi mét vuông"),
    ("60 km/h", "sáu mươi ki-lô-mét trên giờ"),
    ("30 kg", "ba mươi ki-lô-gam"),
    ("-5°C", "âm năm độ xê"),
    ("từ 5-7 ngày", "từ năm đến bảy ngày"),
    ("lần thứ 1, thứ 4", "lần thứ nhất, thứ tư"),
    ("gọi 0912345678", "gọi không chín một hai ba bốn năm sáu bảy tám"),
    ("0912 345 678", "không chín một hai ba bốn năm sáu bảy tám"),
    ("024.3825.1234", "không hai bốn ba tám hai năm một hai ba bốn"),
    ("+84 912 345 678", "cộng tám bốn chín một hai ba bốn năm sáu bảy tám"),
    ("gọi 114", "gọi một một bốn"),
    ("Điều 114", "Điều một trăm mười bốn"),
    ("H5N1", "H năm N một"),
    ("Cháy!", "Cháy!"),
])
def test_spoken_forms(text, spoken):
    assert normalize_vi(text) == spoken


def test_the_issue_example_reads_as_one_sentence():
    text = ("Thực hiện Luật số 36/2024/QH15 và Nghị định 100/2019/NĐ-CP, UBND xã thông báo: Đội PCCC diễn tập lúc "
            "06:30 ngày 05/12.")
    assert normalize_vi(text) == (
        "Thực hiện Luật số ba mươi sáu năm hai nghìn không trăm hai mươi bốn Quốc hội khóa mười lăm và Nghị định số "
        "một trăm năm hai nghìn không trăm mười chín Nghị định Chính phủ, Ủy ban nhân dân xã thông báo: Đội phòng "
        "cháy chữa cháy diễn tập lúc sáu giờ ba mươi phút ngày năm tháng mười hai.")


def test_terms_are_whole_words_and_case_sensitive_longest_first():
    dictionary = {"UB": "ủy ban", "UBND": "Ủy ban nhân dân", "ND": "nhân dân"}
    assert expand_terms("UBND Ubnd UBNDX xUBND UB-ND (UBND).", dictionary) == \
        "Ủy ban nhân dân Ubnd UBNDX xUBND ủy ban-nhân dân (Ủy ban nhân dân)."
    assert expand_terms("không có gì", {}) == "không có gì"


def test_an_administrators_entries_replace_and_add_to_the_defaults():
    dictionary = merged({"UBND": "U B N D", "BQL": "ban quản lý"})
    assert dictionary["PCCC"] == DEFAULT_PRONUNCIATIONS["PCCC"]
    assert normalize_vi("UBND và BQL dự án", dictionary) == "U B N D và ban quản lý dự án"
    assert normalize_vi("BQL", None) == "BQL"  # None: the defaults alone
    # A citation's code is read with the same dictionary.
    assert normalize_vi("Quyết định 7/QĐ-BQL", dictionary) == "Quyết định số bảy Quyết định ban quản lý"


class RecordingEngine:
    """A TTS engine (the library's pluggable interface) that keeps what it was asked to say."""

    def __init__(self) -> None:
        self.said: list[str] = []

    def synthesize(self, text: str, voice: str, out_path: Path) -> None:
        self.said.append(text)
        out_path.write_bytes(b"RIFF" + b"\0" * 60)


def test_every_synthesis_reads_the_normalized_text(tmp_path):
    engine = RecordingEngine()
    synthesize_to_file("UBND xã: họp lúc 6h30.", tmp_path / "a.wav", engine=engine)
    synthesize_to_file("BQL họp", tmp_path / "b.wav", engine=engine, pronunciations={"BQL": "ban quản lý"})
    assert engine.said == ["Ủy ban nhân dân xã: họp lúc sáu giờ ba mươi phút.", "ban quản lý họp"]
