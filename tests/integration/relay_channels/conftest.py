from tests.support.http_servers import http_servers  # noqa: F401 - fixture re-export
