"""One exception hierarchy for the audio library.

Each error has a stable English ``code`` (for APIs, logs and tests) and a
Vietnamese ``message`` an officer can read.
"""

from __future__ import annotations


class AudioError(Exception):
    code = "audio_error"
    default_message = "Không xử lý được tệp âm thanh."

    def __init__(self, message: str | None = None, **details: object) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, **self.details}


class NotAudioError(AudioError):
    code = "not_audio"
    default_message = "Tệp không phải là âm thanh hoặc không có kênh âm thanh."


class EmptyFileError(NotAudioError):
    code = "empty_file"
    default_message = "Tệp rỗng (0 byte)."


class AudioFileNotFoundError(AudioError):
    code = "file_not_found"
    default_message = "Không tìm thấy tệp âm thanh."


class CorruptAudioError(AudioError):
    code = "corrupt_audio"
    default_message = "Tệp âm thanh bị lỗi, không giải mã được trọn vẹn."


class TruncatedAudioError(CorruptAudioError):
    code = "truncated_audio"
    default_message = "Tệp âm thanh bị cắt cụt: độ dài giải mã được ngắn hơn độ dài khai báo."


class TooShortError(AudioError):
    code = "too_short"
    default_message = "Âm thanh quá ngắn."


class TooLongError(AudioError):
    code = "too_long"
    default_message = "Âm thanh quá dài."


class TooLargeError(AudioError):
    code = "too_large"
    default_message = "Tệp quá lớn."


class SilentAudioError(AudioError):
    code = "silent_audio"
    default_message = "Tệp chỉ có im lặng, không có âm thanh để phát."


class UnsafeFileNameError(AudioError):
    code = "unsafe_file_name"
    default_message = "Tên tệp không hợp lệ (chứa đường dẫn hoặc ký tự không cho phép)."


class InvalidParameterError(AudioError):
    code = "invalid_parameter"
    default_message = "Tham số chuẩn hóa không hợp lệ."


class MediaNotFoundError(AudioError):
    code = "media_not_found"
    default_message = "Không tìm thấy tệp âm thanh trong kho."


class NormalizationError(AudioError):
    code = "normalization_failed"
    default_message = "Chuẩn hóa âm lượng không đạt yêu cầu."


class ToolMissingError(AudioError):
    code = "tool_missing"
    default_message = "Thiếu công cụ xử lý âm thanh trên máy chủ (ffmpeg hoặc espeak-ng)."


class ProcessingError(AudioError):
    code = "processing_failed"
    default_message = "Lỗi khi xử lý âm thanh."


class TtsError(AudioError):
    code = "tts_failed"
    default_message = "Không chuyển được văn bản thành giọng nói."


class TextEmptyError(TtsError):
    code = "text_empty"
    default_message = "Văn bản trống, không có gì để đọc."


class TextTooLongError(TtsError):
    code = "text_too_long"
    default_message = "Văn bản quá dài để chuyển thành giọng nói."


class UnknownVoiceError(TtsError):
    code = "unknown_voice"
    default_message = "Giọng đọc không được hỗ trợ."
