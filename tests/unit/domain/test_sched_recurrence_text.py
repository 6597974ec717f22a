"""Timings read back in plain Vietnamese (domain/recurrence_text.py): what the author and the approver read must say
exactly what the stored rule means."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from broadcast.domain.errors import InvalidInput
from broadcast.domain.recurrence_text import describe_rrule

MONDAY_6 = datetime(2026, 11, 30, 6, 0)  # local wall clock


@pytest.mark.parametrize(("rrule", "start", "sentence"), [
    ("FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20261231", MONDAY_6, "Thứ Hai, Thứ Tư, Thứ Sáu lúc 06:00, đến 31/12/2026"),
    ("FREQ=WEEKLY;BYDAY=FR,MO,WE;UNTIL=20261231", MONDAY_6, "Thứ Hai, Thứ Tư, Thứ Sáu lúc 06:00, đến 31/12/2026"),
    (None, MONDAY_6, "Một lần lúc 06:00, Thứ Hai, 30/11/2026"),
    ("", datetime(2026, 12, 6, 17, 30), "Một lần lúc 17:30, Chủ Nhật, 06/12/2026"),
    ("FREQ=DAILY;COUNT=10", MONDAY_6, "Hằng ngày lúc 06:00, 10 lần"),
    ("FREQ=DAILY;INTERVAL=3;UNTIL=20270115", MONDAY_6, "Cứ 3 ngày một lần lúc 06:00, đến 15/01/2027"),
    ("FREQ=DAILY;BYDAY=SA,SU;COUNT=4", MONDAY_6, "Thứ Bảy, Chủ Nhật lúc 06:00, 4 lần"),
    ("FREQ=WEEKLY;COUNT=5", MONDAY_6, "Thứ Hai lúc 06:00, 5 lần"),  # no BYDAY: the start's weekday
    ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;COUNT=6", MONDAY_6, "Thứ Ba, cứ 2 tuần một lần, lúc 06:00, 6 lần"),
    ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;COUNT=3", MONDAY_6, "Hằng ngày lúc 06:00, 3 lần"),
    ("FREQ=WEEKLY;BYDAY=MO;UNTIL=20261231T235959", MONDAY_6, "Thứ Hai lúc 06:00, đến 31/12/2026"),
    ("FREQ=WEEKLY;BYDAY=MO;UNTIL=20261231T120000", MONDAY_6, "Thứ Hai lúc 06:00, đến 12:00 ngày 31/12/2026"),
    # UTC until: 17:00 UTC on the 31st is midnight in Vietnam, so the sentence names the local day and hour
    ("FREQ=WEEKLY;BYDAY=MO;UNTIL=20261231T100000Z", MONDAY_6, "Thứ Hai lúc 06:00, đến 17:00 ngày 31/12/2026"),
    ("FREQ=WEEKLY;BYDAY=MO;UNTIL=20261231T165959Z", MONDAY_6, "Thứ Hai lúc 06:00, đến 31/12/2026"),
])
def test_sentences(rrule, start, sentence):
    assert describe_rrule(rrule, start) == sentence


def test_an_aware_start_is_told_in_local_time():
    assert describe_rrule("FREQ=DAILY;COUNT=2", datetime(2026, 11, 29, 23, 0, tzinfo=UTC)) == \
        "Hằng ngày lúc 06:00, 2 lần"
    assert describe_rrule(None, datetime(2026, 11, 29, 23, 0, tzinfo=UTC)) == "Một lần lúc 06:00, Thứ Hai, 30/11/2026"


def test_a_rule_the_system_refuses_is_refused_here_too():
    with pytest.raises(InvalidInput) as info:
        describe_rrule("FREQ=MONTHLY;BYMONTHDAY=1", MONDAY_6)
    assert info.value.code == "recurrence.unsupported"
