"""Delivery to devices: staging signed schedule versions (staging), publishing them and commands through the
outbox (outbox, commands), and storing what devices report back (inbox)."""
from broadcast.services.delivery.inbox import DeliveryInbox, ack_report, presence_changes, status_report
from broadcast.services.delivery.outbox import flush_outbox
from broadcast.services.delivery.staging import document_fingerprint, schedule_horizon_end, stage_schedule

__all__ = ["DeliveryInbox", "ack_report", "document_fingerprint", "flush_outbox", "presence_changes",
           "schedule_horizon_end", "stage_schedule", "status_report"]
