"""`loaxa audio ...` commands: standalone, no database.

The lead mounts ``app`` as ``loaxa audio``; ``normalize_command`` is the plain
typer command function.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from .config import AudioConfig, Profile
from .errors import AudioError
from .normalize import normalize

app = typer.Typer(help="Xử lý âm thanh: chuẩn hóa độ to cho loa truyền thanh.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Keeps ``normalize`` a subcommand even while it is the only one."""


def normalize_command(
    input: Annotated[Path, typer.Argument(help="Tệp âm thanh hoặc video đầu vào.")],
    output: Annotated[Path, typer.Argument(help="Tệp MP3 đầu ra (mono).")],
    target_lufs: Annotated[float, typer.Option("--target-lufs", help="Độ to mục tiêu (LUFS).")] = -16.0,
    true_peak: Annotated[float, typer.Option("--true-peak", help="Đỉnh thực tối đa (dBTP).")] = -1.5,
    profile: Annotated[Profile, typer.Option("--profile", help="speech: 64 kbit/s, music: 128 kbit/s.")]
    = Profile.speech,
    sample_rate: Annotated[int, typer.Option("--sample-rate", help="Tần số lấy mẫu đầu ra (Hz).")] = 44100,
    as_json: Annotated[bool, typer.Option("--json", help="In một đối tượng JSON.")] = False,
) -> None:
    """Chuẩn hóa độ to một tệp thành bản MP3 mono cho loa."""
    try:
        result = normalize(input, output, target_lufs=target_lufs, true_peak=true_peak, profile=profile,
                           sample_rate=sample_rate, config=AudioConfig())
    except AudioError as exc:
        if as_json:
            typer.echo(json.dumps({"error": exc.code, "message": exc.message}, ensure_ascii=False))
        else:
            typer.echo(f"Lỗi: {exc.message}", err=True)
        raise typer.Exit(code=1) from None
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False))
        return
    typer.echo(
        f"Đã chuẩn hóa {input.name} → {output.name}: {result.input_lufs:.1f} → {result.output_lufs:.1f} LUFS, "
        f"đỉnh thực {result.output_true_peak_dbtp:.1f} dBTP, tăng {result.gain_db:+.1f} dB ({result.method}), "
        f"{result.duration_ms / 1000:.1f} giây."
    )


app.command("normalize")(normalize_command)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
