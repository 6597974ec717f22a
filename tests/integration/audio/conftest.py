import pytest

from tests.support.audio_fixtures import require_binary


@pytest.fixture(autouse=True)
def _audio_tools():
    require_binary("ffmpeg")
    require_binary("ffprobe")
