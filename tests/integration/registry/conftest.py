from tests.support.broker import broker_factory  # noqa: F401 - fixture re-export
