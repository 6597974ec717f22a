"""A missing PostgreSQL must fail the run under CI and only skip on a developer machine."""

import pytest

from tests.support.postgres import missing


def test_infra_missing_postgres_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="unavailable under CI"):
        missing("no initdb")


@pytest.mark.parametrize("ci", [None, "false", ""])
def test_infra_missing_postgres_skips_outside_ci(monkeypatch: pytest.MonkeyPatch, ci: str | None) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match="no initdb"):
        missing("no initdb")
