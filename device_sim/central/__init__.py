"""A stand-in for the central source information system (Hệ thống thông tin nguồn trung ương).

It speaks the JSON mapping of docs/bridge.md and nothing of the server's code: bulletins by cursor, receipts
and reports deduplicated by idempotency key, media files, and an admin side to add bulletins, push one signed,
and make the service fail (500), slow down or answer nonsense.
"""
