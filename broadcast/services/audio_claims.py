"""Who renders an audio asset: a claim on its row, so that one process at a time renders it.

Several processes share one database and one data dir (API nodes, schedulers): the one that took an upload renders
it, and every runtime's sweep (services/audio.py `resume_pending`) renders what nobody holds, such as the asset of a
renderer that was killed. A render takes the claim with one conditional UPDATE before anything else, renews it while
it works, and only the holder records the outcome.

The claim is short and renewed rather than long enough for the longest render: a render is several ffmpeg runs in
turn (probe, estimate, measurement, up to AudioConfig.max_renders renders, the silence scan), each allowed an hour
(AudioConfig.process_timeout_s), so a claim that outlived it would be most of a day, and a dead renderer's asset
would wait that long. Renewed every RENEW_EVERY_S, a live renderer keeps its claim however long ffmpeg runs, and a
dead one's lapses within CLAIM_TTL.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from broadcast.services.leadership import holder_name
from broadcast.services.ports import Clock, UnitOfWork

log = logging.getLogger(__name__)

CLAIM_TTL = timedelta(minutes=2)
RENEW_EVERY_S = 30.0  # four renewals per claim: a database hiccup of a minute costs no claim


class RenderClaim:
    """One render's holding of one asset. `holder` is host:pid:random, new for each claim, so even two renders of
    one process cannot mistake each other's claim."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], clock: Clock, asset_id: int, holder: str):
        self.uow_factory = uow_factory
        self.clock = clock
        self.asset_id = asset_id
        self.holder = holder

    @classmethod
    def take(cls, uow_factory: Callable[[], UnitOfWork], clock: Clock, asset_id: int,
             holder: str | None = None) -> RenderClaim | None:
        """The claim, or None when the asset is done or another process holds a live claim on it."""
        claim = cls(uow_factory, clock, asset_id, holder or holder_name())
        now = clock.now()
        with uow_factory() as uow:
            taken = uow.audio.claim_render(asset_id, claim.holder, now=now, until=now + CLAIM_TTL)
            uow.commit()
        return claim if taken else None

    def renew(self) -> bool:
        with self.uow_factory() as uow:
            kept = uow.audio.renew_render_claim(self.asset_id, self.holder, until=self.clock.now() + CLAIM_TTL)
            uow.commit()
        return kept

    def finish(self, **fields: Any) -> bool:
        """Record the outcome; False (nothing written) when another process took the claim meanwhile."""
        with self.uow_factory() as uow:
            recorded = uow.audio.finish_render(self.asset_id, self.holder, at=self.clock.now(), **fields)
            uow.commit()
        if not recorded:
            log.warning("audio %s: the render claim of %s was lost; its outcome is not recorded", self.asset_id,
                        self.holder)
        return recorded

    @contextmanager
    def kept(self) -> Iterator[None]:
        """Renew the claim in the background for as long as the block runs."""
        done = threading.Event()
        keeper = threading.Thread(target=self._keep, args=(done,), name=f"audio-claim-{self.asset_id}", daemon=True)
        keeper.start()
        try:
            yield
        finally:
            done.set()
            keeper.join()

    def _keep(self, done: threading.Event) -> None:
        while not done.wait(RENEW_EVERY_S):
            try:
                if not self.renew():
                    log.warning("audio %s: the render claim of %s was taken over", self.asset_id, self.holder)
                    return
            except Exception:  # the database is away: the next period tries again, the claim lasts four of them
                log.exception("renewing the render claim of audio %s failed", self.asset_id)
