from tests.support.broker import anon_broker, broker_factory  # noqa: F401 - fixture re-export
from tests.support.device_side import helpers, media_server, server_factory, signing_key  # noqa: F401 - fixture re-export
from tests.support.stream_server import stream_server  # noqa: F401 - fixture re-export
