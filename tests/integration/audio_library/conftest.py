import pytest

from tests.support.audio_fixtures import require_binary


@pytest.fixture(autouse=True)
def _audio_tools():
    """Every audio integration test needs the real ffmpeg/ffprobe."""
    require_binary("ffmpeg")
    require_binary("ffprobe")


@pytest.fixture
def espeak():
    return require_binary("espeak-ng")
