from tests.support.broker import anon_broker, broker_factory  # noqa: F401 - fixture re-export
from tests.support.device_side import helpers, server_factory, signing_key  # noqa: F401 - fixture re-export
