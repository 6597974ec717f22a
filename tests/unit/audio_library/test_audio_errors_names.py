"""Error codes/messages and file-name checks: no subprocess."""

import pytest

from audio_library import errors
from audio_library.config import AudioConfig, Profile
from audio_library.store import AudioStore, check_file_name
from audio_library.tts import check_text


def _all_error_classes():
    seen, todo = [], [errors.AudioError]
    while todo:
        cls = todo.pop()
        seen.append(cls)
        todo.extend(cls.__subclasses__())
    return seen


def test_every_error_has_unique_snake_case_code_and_vietnamese_message():
    classes = _all_error_classes()
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes))
    for cls in classes:
        assert cls.code.replace("_", "").isalpha() and cls.code == cls.code.lower()
        # Vietnamese: at least one letter outside ASCII (diacritics).
        assert any(ord(ch) > 127 for ch in cls.default_message), cls
        assert cls().to_dict()["code"] == cls.code


@pytest.mark.parametrize("name", ["../../etc/passwd.mp3", "a/b.mp3", "..\\x.mp3", "..", "",
                                  "   ", "C:evil.mp3", "bad\x00name.mp3", "line\nbreak.mp3"])
def test_unsafe_names_are_refused(name):
    with pytest.raises(errors.UnsafeFileNameError):
        check_file_name(name)


@pytest.mark.parametrize("name", ["thông báo bão số 3.mp3", "ban-tin_2025.10.01.m4a", "a..b.wav"])
def test_ordinary_names_pass(name):
    assert check_file_name(name)


def test_text_limits():
    cfg = AudioConfig(tts_max_chars=10)
    with pytest.raises(errors.TextEmptyError):
        check_text("  \n ", cfg)
    with pytest.raises(errors.TextTooLongError) as info:
        check_text("x" * 11, cfg)
    assert info.value.details["chars"] == 11
    assert check_text(" Xin chào ", cfg) == "Xin chào"


def test_bitrate_per_profile():
    cfg = AudioConfig()
    assert cfg.bitrate_kbps(Profile.speech) == 64 and cfg.bitrate_kbps("music") == 128


def test_media_path_refuses_non_sha(tmp_path):
    store = AudioStore(tmp_path)
    with pytest.raises(errors.MediaNotFoundError):
        store.media_path("../../etc/passwd")
    with pytest.raises(errors.MediaNotFoundError):
        store.media_path("a" * 64)


def test_params_key_changes_with_parameters(tmp_path):
    a = AudioStore(tmp_path).params_key(Profile.speech, False)
    assert a == AudioStore(tmp_path).params_key(Profile.speech, False)
    assert a != AudioStore(tmp_path).params_key(Profile.music, False)
    assert a != AudioStore(tmp_path, AudioConfig(target_lufs=-18)).params_key(Profile.speech, False)
    assert a != AudioStore(tmp_path).params_key(Profile.speech, True)
