"""How the CLI reaches a running tracker: the base URL from the settings, the tokens as Bearer headers."""
from __future__ import annotations

import pytest

from cli.api_client import base_url, read_headers, write_headers
from config.settings import Settings

READ, WRITE = "read-token-0123456789", "api-token-0123456789"


@pytest.mark.parametrize("host, url", [("127.0.0.1", "http://127.0.0.1:8080"), ("0.0.0.0", "http://127.0.0.1:8080"),
                                       ("::", "http://127.0.0.1:8080"), ("::1", "http://[::1]:8080"),
                                       ("10.1.2.3", "http://10.1.2.3:8080")])
def test_a_wildcard_bind_is_reached_on_loopback(host, url):
    assert base_url(Settings.from_env({}, http_host=host, http_port=8080)) == url


def test_the_tokens_become_bearer_headers():
    assert read_headers(Settings.from_env({})) == {} and write_headers(Settings.from_env({})) == {}
    both = Settings.from_env({"TRACKER_READ_TOKEN": READ, "TRACKER_API_TOKEN": WRITE})
    assert read_headers(both) == {"Authorization": f"Bearer {READ}"}
    assert write_headers(both) == {"Authorization": f"Bearer {WRITE}"}
    assert read_headers(Settings.from_env({"TRACKER_API_TOKEN": WRITE})) == {"Authorization": f"Bearer {WRITE}"}
