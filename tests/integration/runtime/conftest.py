from tests.support.broker import anon_broker, broker_factory  # noqa: F401 - fixture re-export
