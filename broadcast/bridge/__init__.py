"""Adapter to the central source information system (Hệ thống thông tin nguồn trung ương).

The wire format (docs/bridge.md) lives only here: `mapping` turns JSON into the use cases' types, `http_client`
speaks HTTP with httpx, `signing` checks pushed bulletins, `media` downloads audio. Swap the client to follow
another gateway; the use cases in broadcast/services/bridge_*.py stay as they are.
"""
