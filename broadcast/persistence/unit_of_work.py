"""One transaction per use case: repositories share the session; commit is explicit, rollback automatic."""
from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from broadcast.persistence.alert_repository import SqlAlertRepository
from broadcast.persistence.audio_repository import SqlAudioRepository
from broadcast.persistence.bridge_repository import SqlBridgeRepository
from broadcast.persistence.calendar_link_repository import SqlCalendarLinkRepository
from broadcast.persistence.delivery_repository import SqlDeliveryRepository
from broadcast.persistence.device_repositories import SqlCommandRepository, SqlDeviceRepository
from broadcast.persistence.emergency_repository import SqlEmergencyRepository
from broadcast.persistence.health_repository import SqlHealthRepository
from broadcast.persistence.lease_repository import SqlLeaseRepository
from broadcast.persistence.live_repository import SqlLiveSessionRepository
from broadcast.persistence.notification_repository import SqlNotificationRepository
from broadcast.persistence.playlog_repository import SqlPlayLogRepository
from broadcast.persistence.pronunciation_repository import SqlPronunciationRepository
from broadcast.persistence.relay_repository import SqlRelayChannelRepository
from broadcast.persistence.report_repository import SqlReportRepository
from broadcast.persistence.repositories import (
    SqlAreaRepository,
    SqlAuditRepository,
    SqlLoginThrottleRepository,
    SqlRevokedTokenRepository,
    SqlUserRepository,
    SqlZoneRepository,
)
from broadcast.persistence.schedule_repositories import (
    SqlPolicyRepository,
    SqlProgrammeRepository,
    SqlScheduleRepository,
)


class SqlUnitOfWork:
    def __init__(self, session_factory: sessionmaker[Session]):
        self._session_factory = session_factory
        self._depth = 0

    def __enter__(self) -> SqlUnitOfWork:
        if self._depth == 0:
            self.session = self._session_factory()
            self.areas = SqlAreaRepository(self.session)
            self.zones = SqlZoneRepository(self.session)
            self.users = SqlUserRepository(self.session)
            self.calendar_links = SqlCalendarLinkRepository(self.session)
            self.audit = SqlAuditRepository(self.session)
            self.login_throttle = SqlLoginThrottleRepository(self.session)
            self.revoked_tokens = SqlRevokedTokenRepository(self.session)
            self.devices = SqlDeviceRepository(self.session)
            self.delivery = SqlDeliveryRepository(self.session)
            self.audio = SqlAudioRepository(self.session)
            self.commands = SqlCommandRepository(self.session)
            self.emergencies = SqlEmergencyRepository(self.session)
            self.playlog = SqlPlayLogRepository(self.session)
            self.programmes = SqlProgrammeRepository(self.session)
            self.schedules = SqlScheduleRepository(self.session)
            self.policies = SqlPolicyRepository(self.session)
            self.reports = SqlReportRepository(self.session)
            self.bridge = SqlBridgeRepository(self.session)
            self.pronunciations = SqlPronunciationRepository(self.session)
            self.health = SqlHealthRepository(self.session)
            self.alerts = SqlAlertRepository(self.session)
            self.notifications = SqlNotificationRepository(self.session)
            self.lease = SqlLeaseRepository(self.session)
            self.live = SqlLiveSessionRepository(self.session)
            self.relay_channels = SqlRelayChannelRepository(self.session)
        self._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            self.session.rollback()  # anything not committed is discarded
            self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
