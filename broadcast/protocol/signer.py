"""The server's Ed25519 key: signs every schedule and command document (protocol v1, section 2)."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey

from broadcast import protocol


class DocumentSigner:
    def __init__(self, private_key: SigningKey) -> None:
        self._key = private_key
        self.public_key_b64 = protocol.public_key_b64(private_key)

    @classmethod
    def from_file(cls, path: Path) -> DocumentSigner:
        """Created on first start (mode 0600) when the file does not exist yet."""
        return cls(protocol.load_or_create_signing_key(path))

    def sign(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        return protocol.sign(doc, self._key)
