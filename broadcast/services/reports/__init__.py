"""Province reports: figures from the play log and daily aggregates, their exports, and the nightly aggregation."""
