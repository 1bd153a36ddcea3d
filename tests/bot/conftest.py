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


@pytest.fixture
def rebuild(tmp_path, slack, estate):
    """The bot again over the same database with another configuration (the components are built with theirs:
    as after a restart with an edited skywarden.yml)."""
    made = []

    def build(config):
        svc = make_services(tmp_path / "bot.db", slack, estate, config=config)
        made.append(svc)
        return make_app(svc), svc

    yield build
    for svc in made:
        svc.close()
