"""The app answers only the names in ``ingress.allowed_hosts`` (loopback by default), and
Starlette's ``TestClient`` calls it as ``http://testserver`` (its WebSockets always as
``ws://testserver``): here both go to the client's base URL, ``http://127.0.0.1`` unless a
test gives another, like a local client of ``make run`` (its cookies included)."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest
from starlette.testclient import TestClient


@pytest.fixture(autouse=True)
def _loopback_test_client(monkeypatch):
    defaults = TestClient.__init__.__defaults__ or ()
    monkeypatch.setattr(TestClient.__init__, "__defaults__", ("http://127.0.0.1", *defaults[1:]))
    connect = TestClient.websocket_connect

    def websocket_connect(self, url, *args, **kwargs):
        base = str(self.base_url).replace("http", "ws", 1)
        return connect(self, urljoin(base, url), *args, **kwargs)

    monkeypatch.setattr(TestClient, "websocket_connect", websocket_connect)
