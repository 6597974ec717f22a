"""How abbreviations are read aloud: the defaults for legal and administrative texts.

Administrators override or add entries (stored by the server, `/api/v1/pronunciations`); the text normalizer
takes the merged dictionary. Terms are matched as whole words and case-sensitively: "UBND" is expanded, "Ubnd"
and "UBNDX" are not. Ambiguous short codes (CP: Chính phủ or cổ phần, BTC: Bộ Tài
chính or ban tổ chức, TT, CT...) are not here: they are read only inside a legal
citation such as 01/2021/TT-BTP (text_normalizer.LEGAL_CODES).
"""
from __future__ import annotations

from collections.abc import Mapping

TERM_MAX_CHARS = 40
SPOKEN_MAX_CHARS = 200

DEFAULT_PRONUNCIATIONS: Mapping[str, str] = {
    # State bodies and mass organizations.
    "UBND": "Ủy ban nhân dân",
    "HĐND": "Hội đồng nhân dân",
    "UBMTTQ": "Ủy ban Mặt trận Tổ quốc",
    "MTTQ": "Mặt trận Tổ quốc",
    "UBKT": "Ủy ban Kiểm tra",
    "BCH": "Ban Chấp hành",
    "BTV": "Ban Thường vụ",
    "BCĐ": "Ban Chỉ đạo",
    "QH": "Quốc hội",
    "TTg": "Thủ tướng",
    "CAND": "Công an nhân dân",
    "QĐND": "Quân đội nhân dân",
    "CSGT": "cảnh sát giao thông",
    "CSCĐ": "cảnh sát cơ động",
    "PCCC": "phòng cháy chữa cháy",
    "PCCC&CNCH": "phòng cháy chữa cháy và cứu nạn cứu hộ",
    "CNCH": "cứu nạn cứu hộ",
    "PCTT": "phòng chống thiên tai",
    "TKCN": "tìm kiếm cứu nạn",
    "PCTT&TKCN": "phòng chống thiên tai và tìm kiếm cứu nạn",
    "ĐCSVN": "Đảng Cộng sản Việt Nam",
    "CHXHCN": "Cộng hòa xã hội chủ nghĩa",
    "CNXH": "chủ nghĩa xã hội",
    "TNCS": "Thanh niên Cộng sản",
    "HTX": "hợp tác xã",
    "TDP": "tổ dân phố",
    "KDC": "khu dân cư",
    "VN": "Việt Nam",
    "TP": "thành phố",
    "TP.HCM": "Thành phố Hồ Chí Minh",
    "TPHCM": "Thành phố Hồ Chí Minh",
    # Ministries.
    "BTP": "Bộ Tư pháp",
    "BCA": "Bộ Công an",
    "BQP": "Bộ Quốc phòng",
    "BYT": "Bộ Y tế",
    "BNV": "Bộ Nội vụ",
    "BGDĐT": "Bộ Giáo dục và Đào tạo",
    "BTTTT": "Bộ Thông tin và Truyền thông",
    "BNNPTNT": "Bộ Nông nghiệp và Phát triển nông thôn",
    "BTNMT": "Bộ Tài nguyên và Môi trường",
    "BLĐTBXH": "Bộ Lao động Thương binh và Xã hội",
    # Legal documents written as a whole.
    "NĐ-CP": "Nghị định Chính phủ",
    "QĐ-TTg": "Quyết định Thủ tướng Chính phủ",
    "QĐ-UBND": "Quyết định Ủy ban nhân dân",
    "NQ-HĐND": "Nghị quyết Hội đồng nhân dân",
    "TT-BTP": "Thông tư Bộ Tư pháp",
    "TT-BCA": "Thông tư Bộ Công an",
    "TT-BYT": "Thông tư Bộ Y tế",
    "NĐ": "Nghị định",
    "QĐ": "Quyết định",
    # Everyday public services.
    "BHYT": "bảo hiểm y tế",
    "BHXH": "bảo hiểm xã hội",
    "BHTN": "bảo hiểm thất nghiệp",
    "ATGT": "an toàn giao thông",
    "ATTP": "an toàn thực phẩm",
    "ANTT": "an ninh trật tự",
    "TTATXH": "trật tự an toàn xã hội",
    "KT-XH": "kinh tế xã hội",
    "GD&ĐT": "giáo dục và đào tạo",
    "NN&PTNT": "nông nghiệp và phát triển nông thôn",
    "THCS": "trung học cơ sở",
    "THPT": "trung học phổ thông",
    "CCCD": "căn cước công dân",
    "CMND": "chứng minh nhân dân",
    "GPLX": "giấy phép lái xe",
    "TTYT": "trung tâm y tế",
    "COVID-19": "cô vít mười chín",
    "VNĐ": "đồng",
    "VND": "đồng",
    "USD": "đô la Mỹ",
}


def merged(overrides: Mapping[str, str]) -> dict[str, str]:
    """The defaults with an administrator's entries on top (an entry for a default term replaces it)."""
    return {**DEFAULT_PRONUNCIATIONS, **overrides}
