"""The approval workflow (services.schedules) through in-memory repositories: drafts, submission, four eyes,
who may edit and decide, programme readability, policy and overlaps, and that a refusal stores nothing."""
from __future__ import annotations

from dataclasses import replace

import pytest

from broadcast.domain.audio import AssetStatus, AudioAsset
from broadcast.domain.auth import Role
from broadcast.domain.errors import Conflict, InvalidInput, PermissionDenied
from broadcast.domain.priority import Priority
from broadcast.domain.scheduling import Programme, ScheduleStatus, TargetSet
from broadcast.services.schedules import (
    ScheduleDraft,
    approve_schedule,
    cancel_schedule,
    create_schedule,
    edit_schedule,
    reject_schedule,
    submit_schedule,
)
from tests.support.clock import MutableClock
from tests.unit.services.fakes import FakeDatabase
from tests.unit.services.world import CUA_NAM, HANOI, HOAN_KIEM, SEEDED_AT, TZ, VUNG_TAU, device, person

TOMORROW_6 = "2026-11-29T06:00:00"  # the clock says 2026-11-28 21:00 local
EDITOR = person("can-bo-vh", (Role.EDITOR, HOAN_KIEM))
APPROVER = person("chu-tich", (Role.APPROVER, HOAN_KIEM))
OTHER_APPROVER = person("chu-tich-cn", (Role.APPROVER, CUA_NAM))
BOTH = person("pho-chu-tich", (Role.EDITOR, HOAN_KIEM), (Role.APPROVER, HOAN_KIEM))  # may write and approve
PROVINCE_EDITOR = person("so-tu-phap", (Role.EDITOR, HANOI))
STREAM, HOAN_KIEM_PROGRAMME, CUA_NAM_PROGRAMME, PROVINCE_PROGRAMME, VUNG_TAU_PROGRAMME, SILENT = 1, 2, 3, 4, 5, 6


def _programme(programme_id: int, area: str, **fields: object) -> Programme:
    base = Programme(id=programme_id, title=f"Chương trình pháp luật số {programme_id}", topic="grassroots_mediation",
                     language="vi", source="commune", priority=Priority.NORMAL, area_code=area, created_by="seed",
                     created_at=SEEDED_AT, stream_url="http://radio.example.vn/vov1", stream_duration_ms=900_000)
    return replace(base, **fields)


@pytest.fixture
def db(db: FakeDatabase) -> FakeDatabase:
    processing = AudioAsset(id=1, title="Đang xử lý", kind="upload", language="vi", topic="other",
                            area_code=HOAN_KIEM, profile="speech", status=AssetStatus.PROCESSING,
                            original_name="a.wav", created_by="seed", created_at=SEEDED_AT)
    db.add(device("hk-0001", HOAN_KIEM), device("hk-0002", HOAN_KIEM), device("cn-0001", CUA_NAM), processing,
           _programme(STREAM, HOAN_KIEM), _programme(HOAN_KIEM_PROGRAMME, HOAN_KIEM),
           _programme(CUA_NAM_PROGRAMME, CUA_NAM), _programme(PROVINCE_PROGRAMME, HANOI),
           _programme(VUNG_TAU_PROGRAMME, VUNG_TAU),
           _programme(SILENT, HOAN_KIEM, stream_url=None, stream_duration_ms=None, asset_ids=(1,)))
    return db


def draft(programme_id: int = STREAM, start: str = TOMORROW_6, targets: TargetSet | None = None) -> ScheduleDraft:
    return ScheduleDraft(programme_id=programme_id, targets=targets or TargetSet(areas=(HOAN_KIEM,)),
                         start_local=start)


def submitted(db: FakeDatabase, clock: MutableClock, who=EDITOR, **kwargs) -> int:
    schedule = create_schedule(db.uow(), clock, who, draft(**kwargs), TZ)
    submit_schedule(db.uow(), clock, who, schedule.id, TZ)
    return schedule.id


def stored(db: FakeDatabase, schedule_id: int):
    return db.tables.schedules[schedule_id]


def test_a_new_schedule_is_a_draft_whose_author_is_its_first_editor(db, clock):
    schedule = create_schedule(db.uow(), clock, EDITOR, draft(), TZ)
    assert stored(db, schedule.id) == schedule
    assert schedule.status is ScheduleStatus.DRAFT and schedule.author == "can-bo-vh"
    assert schedule.editors == ("can-bo-vh",) and schedule.area_code == HOAN_KIEM  # the programme's area
    (entry,) = db.tables.audit
    assert (entry.actor, entry.action, entry.object_id, entry.address) == ("can-bo-vh", "schedule.create",
                                                                           str(schedule.id), "203.0.113.7")


@pytest.mark.parametrize("targets", [TargetSet(areas=(CUA_NAM,)), TargetSet(devices=("cn-0001",)),
                                     TargetSet(areas=(HOAN_KIEM,), exclude_areas=(VUNG_TAU,))])
def test_an_editor_writes_only_for_targets_in_his_area_and_a_refusal_stores_nothing(db, clock, targets):
    with pytest.raises(PermissionDenied):
        create_schedule(db.uow(), clock, EDITOR, draft(targets=targets), TZ)
    assert db.tables.schedules == {} and db.tables.audit == [] and db.commits == 0


def test_a_schedule_uses_only_a_programme_its_author_may_read(db, clock):
    with pytest.raises(PermissionDenied) as refused:
        create_schedule(db.uow(), clock, EDITOR, draft(CUA_NAM_PROGRAMME), TZ)
    assert refused.value.code == "programme_not_readable"
    # A ward reuses its province's programmes (the bulletin pool) in a schedule it owns, never another province's.
    reused = create_schedule(db.uow(), clock, EDITOR, replace(draft(PROVINCE_PROGRAMME), area_code=HOAN_KIEM), TZ)
    assert reused.programme_id == PROVINCE_PROGRAMME and reused.area_code == HOAN_KIEM
    with pytest.raises(PermissionDenied) as refused:
        create_schedule(db.uow(), clock, EDITOR, replace(draft(VUNG_TAU_PROGRAMME), area_code=HOAN_KIEM), TZ)
    assert refused.value.code == "programme_not_readable"
    assert len(db.tables.schedules) == 1


def test_submit_then_another_person_approves(db, clock):
    schedule = create_schedule(db.uow(), clock, EDITOR, draft(), TZ)
    with pytest.raises(Conflict) as early:
        approve_schedule(db.uow(), clock, APPROVER, schedule.id, TZ)  # not submitted yet
    assert early.value.code == "invalid_transition"
    clock.advance(minutes=5)
    outcome = submit_schedule(db.uow(), clock, EDITOR, schedule.id, TZ)
    assert outcome.schedule.status is ScheduleStatus.SUBMITTED and outcome.schedule.submitted_at == clock.now()
    assert outcome.conflicts == []
    clock.advance(minutes=5)
    approved = approve_schedule(db.uow(), clock, APPROVER, schedule.id, TZ).schedule
    assert stored(db, schedule.id) == approved
    assert approved.status is ScheduleStatus.APPROVED and approved.approver == "chu-tich"
    assert approved.decided_at == clock.now()
    assert [e.action for e in db.tables.audit] == ["schedule.create", "schedule.submit", "schedule.approve"]


@pytest.mark.parametrize("who", [EDITOR, OTHER_APPROVER], ids=["an-editor", "another-wards-approver"])
def test_only_an_approver_of_every_target_decides(db, clock, who):
    sid = submitted(db, clock)
    for decide in (lambda: approve_schedule(db.uow(), clock, who, sid, TZ),
                   lambda: reject_schedule(db.uow(), clock, who, sid, "Không phù hợp")):
        with pytest.raises(PermissionDenied):
            decide()
    assert stored(db, sid).status is ScheduleStatus.SUBMITTED


def test_four_eyes_the_author_never_decides_on_his_own_schedule(db, clock):
    sid = submitted(db, clock, who=BOTH)
    with pytest.raises(PermissionDenied) as refused:
        approve_schedule(db.uow(), clock, BOTH, sid, TZ)
    assert refused.value.code == "self_approval"
    with pytest.raises(PermissionDenied):
        reject_schedule(db.uow(), clock, BOTH, sid, "Tự từ chối")
    assert stored(db, sid).status is ScheduleStatus.SUBMITTED
    assert approve_schedule(db.uow(), clock, APPROVER, sid, TZ).schedule.approver == "chu-tich"


def test_four_eyes_hold_for_a_schedule_written_before_editors_were_recorded(db, clock):
    """Migration 0007 gave older schedules an empty editors list: the author rule alone protects them."""
    sid = submitted(db, clock, who=BOTH)
    db.tables.schedules[sid] = replace(stored(db, sid), editors=())
    with pytest.raises(PermissionDenied) as refused:
        approve_schedule(db.uow(), clock, BOTH, sid, TZ)
    assert refused.value.code == "self_approval"


def test_whoever_changed_the_content_cannot_decide_on_it(db, clock):
    sid = submitted(db, clock)
    edited = edit_schedule(db.uow(), clock, BOTH, sid, draft(start="2026-11-29T07:00:00"), TZ)
    assert edited.status is ScheduleStatus.SUBMITTED and edited.editors == ("can-bo-vh", "pho-chu-tich")
    assert edited.author == "can-bo-vh"  # an edit does not change who wrote it
    with pytest.raises(PermissionDenied) as refused:
        approve_schedule(db.uow(), clock, BOTH, sid, TZ)
    assert refused.value.code == "self_approval"
    assert approve_schedule(db.uow(), clock, APPROVER, sid, TZ).schedule.status is ScheduleStatus.APPROVED


def test_rejection_needs_a_reason_and_an_edit_makes_a_draft_again(db, clock):
    sid = submitted(db, clock)
    for reason in ("", "   ", "x" * 1001):
        with pytest.raises(InvalidInput) as refused:
            reject_schedule(db.uow(), clock, APPROVER, sid, reason)
        assert refused.value.code == "reason_required"
    rejected = reject_schedule(db.uow(), clock, APPROVER, sid, "Trùng giờ họp tổ dân phố")
    assert rejected.status is ScheduleStatus.REJECTED and rejected.rejection_reason == "Trùng giờ họp tổ dân phố"
    assert rejected.approver == "chu-tich" and stored(db, sid) == rejected
    redrafted = edit_schedule(db.uow(), clock, EDITOR, sid, draft(start="2026-11-29T08:00:00"), TZ)
    assert redrafted.status is ScheduleStatus.DRAFT and redrafted.approver is None and redrafted.decided_at is None
    resubmitted = submit_schedule(db.uow(), clock, EDITOR, sid, TZ).schedule
    assert resubmitted.status is ScheduleStatus.SUBMITTED and resubmitted.rejection_reason is None


def test_editing_an_approved_schedule_sends_it_back_to_the_approver(db, clock):
    sid = submitted(db, clock)
    approve_schedule(db.uow(), clock, APPROVER, sid, TZ)
    edited = edit_schedule(db.uow(), clock, EDITOR, sid, draft(start="2026-11-29T09:00:00"), TZ)
    assert edited.status is ScheduleStatus.SUBMITTED and edited.approver is None and edited.decided_at is None
    assert edited.start_local == "2026-11-29T09:00:00" and stored(db, sid) == edited
    assert db.tables.audit[-1].details == {"status": "submitted", "was": "approved"}


def test_the_approver_must_be_able_to_read_the_programme(db, clock):
    """A province officer may put a Cửa Nam programme on Hoàn Kiếm's loudspeakers, but Hoàn Kiếm's approver cannot
    read it, so he cannot sign it into his ward's devices."""
    sid = submitted(db, clock, who=PROVINCE_EDITOR, programme_id=CUA_NAM_PROGRAMME)
    assert stored(db, sid).area_code == CUA_NAM  # the programme's area owns it ...
    with pytest.raises(PermissionDenied):  # ... and Hoàn Kiếm's approver holds no role there
        approve_schedule(db.uow(), clock, APPROVER, sid, TZ)
    province_approver = person("chu-tich-tp", (Role.APPROVER, HANOI))
    assert approve_schedule(db.uow(), clock, province_approver, sid, TZ).schedule.status is ScheduleStatus.APPROVED

    hk_owned = create_schedule(db.uow(), clock, PROVINCE_EDITOR,
                               replace(draft(CUA_NAM_PROGRAMME, start="2026-11-29T10:00:00"), area_code=HOAN_KIEM), TZ)
    submit_schedule(db.uow(), clock, PROVINCE_EDITOR, hk_owned.id, TZ)
    with pytest.raises(PermissionDenied) as refused:
        approve_schedule(db.uow(), clock, APPROVER, hk_owned.id, TZ)
    assert refused.value.code == "programme_not_readable"
    assert stored(db, hk_owned.id).status is ScheduleStatus.SUBMITTED


def test_quiet_hours_refuse_submission_with_the_offending_occurrences(db, clock):
    schedule = create_schedule(db.uow(), clock, EDITOR, draft(start="2026-11-29T03:15:00"), TZ)  # a draft may
    with pytest.raises(InvalidInput) as refused:
        submit_schedule(db.uow(), clock, EDITOR, schedule.id, TZ)
    assert refused.value.code == "policy_violation" and refused.value.details
    assert stored(db, schedule.id).status is ScheduleStatus.DRAFT


def test_audio_that_is_not_ready_cannot_be_submitted(db, clock):
    schedule = create_schedule(db.uow(), clock, EDITOR, draft(SILENT), TZ)
    with pytest.raises(InvalidInput) as refused:
        submit_schedule(db.uow(), clock, EDITOR, schedule.id, TZ)
    assert refused.value.code == "audio_not_ready"
    db.tables.audio[1] = replace(db.tables.audio[1], status=AssetStatus.READY, sha256="ab" * 32, bytes=1000,
                                 duration_ms=60_000)
    assert submit_schedule(db.uow(), clock, EDITOR, schedule.id, TZ).schedule.status is ScheduleStatus.SUBMITTED


def test_a_same_class_overlap_waits_for_the_approvers_order(db, clock):
    first = submitted(db, clock)
    approve_schedule(db.uow(), clock, APPROVER, first, TZ)
    second = create_schedule(db.uow(), clock, EDITOR, draft(HOAN_KIEM_PROGRAMME, start="2026-11-29T06:05:00"), TZ)
    with pytest.raises(Conflict) as refused:
        submit_schedule(db.uow(), clock, EDITOR, second.id, TZ)
    assert refused.value.code == "schedule_conflict"
    assert {d["device_count"] for d in refused.value.details} == {2}  # hk-0001 and hk-0002, not Cửa Nam's
    outcome = submit_schedule(db.uow(), clock, EDITOR, second.id, TZ, leave_order_to_approver=True)
    assert [c["needs_decision"] for c in outcome.conflicts] == [True]
    with pytest.raises(Conflict):
        approve_schedule(db.uow(), clock, APPROVER, second.id, TZ)
    hooked = []
    ordered = approve_schedule(db.uow(), clock, APPROVER, second.id, TZ, rank=1,
                               on_approved=lambda: hooked.append(db.commits))
    assert ordered.schedule.rank == 1 and ordered.schedule.status is ScheduleStatus.APPROVED
    assert [c["needs_decision"] for c in ordered.conflicts] == [False]
    assert [c["winner_schedule_id"] for c in ordered.conflicts] == [str(first)]  # the lower rank plays
    assert hooked == [db.commits]  # called once, after the approval was committed


def test_cancel_by_the_editor_and_the_hook_only_for_an_approved_schedule(db, clock):
    draft_id = create_schedule(db.uow(), clock, EDITOR, draft(), TZ).id
    calls = []
    assert cancel_schedule(db.uow(), clock, EDITOR, draft_id, lambda: calls.append("draft")).status \
        is ScheduleStatus.CANCELLED
    approved_id = submitted(db, clock, start="2026-11-29T11:00:00")
    approve_schedule(db.uow(), clock, APPROVER, approved_id, TZ)
    with pytest.raises(PermissionDenied):
        cancel_schedule(db.uow(), clock, OTHER_APPROVER, approved_id)
    cancel_schedule(db.uow(), clock, APPROVER, approved_id, lambda: calls.append("approved"))
    assert calls == ["approved"]
    with pytest.raises(Conflict):
        submit_schedule(db.uow(), clock, EDITOR, draft_id, TZ)
