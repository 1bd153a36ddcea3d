from __future__ import annotations

import pytest

from tests.bot.helpers import FakeEstate, make_app, make_services
from tests.bot.slack_standin import SlackStandIn


@pytest.fixture(scope="session")
def standin():
    server = SlackStandIn()
    yield server
    server.stop()


@pytest.fixture
def slack(standin):
    standin.clear()
    standin.usergroups.clear()
    standin.auth_ok = True
    return standin


@pytest.fixture
def estate():
    return FakeEstate()


@pytest.fixture
def services(tmp_path, slack, estate):
    svc = make_services(tmp_path / "bot.db", slack, estate)
    yield svc
    svc.close()


@pytest.fixture
def app(services):
    return make_app(services)
