"""Remediation from Slack end to end: signed requests into the app, the Web API stand-in recording every call,
the real S3 collector, rules and remediation action against moto in-process, and rows in SQLite.

One moto session for the module; each test scans a fresh bucket of its own into a fresh database."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from skywarden.bot import commands
from skywarden.bot.core.scanning import AwsScope, scan_aws
from skywarden.bot.core.settings import BotConfig
from skywarden.bot.slack import ids
from skywarden.bot.slack.app import make_client
from skywarden.bot.slack.remediation import approval_messages
from skywarden.bot.wiring import assemble
from skywarden.rules.remediation.aws.environment import AwsRemediationEnvironment
from skywarden.storage import audit, remediations
from skywarden.storage.findings import finding_id, get_finding
from tests.bot.helpers import TEAM, click, interactive, make_app, slash, trigger_id
from tests.support.aws import ACCOUNT, pack_rules

RULE = "aws-s3-bucket-block-public-access"
APPROVALS = "C0APPROVE"
FINDINGS = "C0TEAM"
REQUESTER, BOB, CAROL, MALLORY = "U0ALICE", "U0BOB", "U0CAROL", "U0MALLORY"
ALL_BLOCKED = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
               "RestrictPublicBuckets": True}


@pytest.fixture(scope="module")
def aws():
    with mock_aws():
        yield


@pytest.fixture(scope="module")
def rules():
    return pack_rules("aws/s3.yaml")


class World:
    """A scanned bucket, the services and app around it, and shortcuts for the clicks of the flow."""

    def __init__(self, tmp_path, slack, rules, bucket, config):
        self.slack, self.bucket = slack, bucket
        self.session = boto3.Session(region_name="us-east-1")
        session = self.session

        def runner(db, request):
            return scan_aws(db, rules, AwsScope(regions=["us-east-1"]), session=session, trigger=request.trigger,
                            requested_by=request.requested_by)

        client = make_client("xoxb-test", slack.base_url, retries=1, backoff_s=0.01)
        tmp_path.mkdir()
        self.services = assemble(str(tmp_path / "bot.db"), config, {r.id: r for r in rules}, runner, client,
                                 remediation_env=AwsRemediationEnvironment(session))
        self.app = make_app(self.services)
        assert slash(self.app, "scan aws us-east-1", user=REQUESTER, channel=FINDINGS).status == 200
        self.services.orchestrator.wait_idle()
        self.fid = finding_id(RULE, f"arn:aws:s3:::{bucket}")
        assert self.state() == "open"
        self.finding_ts = self.message_ts()

    def message_ts(self):
        rows = list(self.services.db.query("SELECT ts FROM slack_messages WHERE finding_id = ? AND active = 1",
                                           [self.fid]))
        assert len(rows) == 1 and rows[0]["ts"]
        return rows[0]["ts"]

    def state(self):
        return get_finding(self.services.db, self.fid)["state"]

    def block(self):
        try:
            return boto3.client("s3", region_name="us-east-1").get_public_access_block(
                Bucket=self.bucket)["PublicAccessBlockConfiguration"]
        except ClientError:
            return None

    def remediate_click(self, user=REQUESTER):
        click(self.app, ids.REMEDIATE, self.fid, user=user, channel=FINDINGS, ts=self.finding_ts)
        return self.slack.of("views.update")[-1].args["view"] if self.slack.of("views.update") else None

    def submit(self, view, user=REQUESTER):
        payload = {
            "type": "view_submission", "team": {"id": TEAM}, "user": {"id": user}, "api_app_id": "A0APP",
            "trigger_id": trigger_id(),
            "view": {"id": "V0VIEW", "type": "modal", "callback_id": view["callback_id"],
                     "private_metadata": view["private_metadata"], "state": {"values": {}}},
        }
        assert interactive(self.app, payload).status == 200
        request = list(self.services.db.query("SELECT id FROM remediations ORDER BY id DESC LIMIT 1"))[0]
        return remediations.get(self.services.db, request["id"])

    def request(self, user=REQUESTER):
        view = self.remediate_click(user)
        assert "submit" in view, json.dumps(view)
        return self.submit(view, user)

    def button(self, request, channel=None):
        """The value of the request's Approve button as last posted (to ``channel``, else anywhere)."""
        for call in reversed(self.slack.of("chat.postMessage")):
            if channel and call.args["channel"] != channel:
                continue
            for block in call.args.get("blocks") or []:
                if block["type"] == "actions" and block.get("block_id") == f"r-{request['id']}":
                    return block["elements"][0]["value"]
        raise AssertionError(f"no approval message for request {request['id']}")

    def approve(self, request, user, action=ids.APPROVE):
        click(self.app, action, self.button(request), user=user, channel=request["approval_channel"],
              ts=request["approval_ts"])
        self.services.remediation.wait_idle()
        return remediations.get(self.services.db, request["id"])

    def updates(self, ts):
        return [c.args for c in self.slack.of("chat.update") if c.args["ts"] == ts]

    def told(self, user):
        return [json.dumps([c.args["text"], c.args.get("blocks")]) for c in self.slack.of("chat.postEphemeral")
                if c.args["user"] == user]

    def audit(self, action):
        return [e for e in audit.events(self.services.db, finding_id=self.fid) if e["action"] == action]


@pytest.fixture
def make_world(aws, rules, slack, tmp_path, request):
    made = []

    def make(**config):
        bucket = f"rs{len(made)}-{request.node.name.replace('_', '-')[5:40].lower().strip('-')}"
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=bucket)
        base = {"remediation_approvers": (BOB, CAROL), "approval_channel": APPROVALS}
        world = World(tmp_path / str(len(made)), slack, rules, bucket, BotConfig(**{**base, **config}))
        made.append(world)
        return world

    yield make
    for world in made:
        world.services.close()
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.delete_bucket(Bucket=world.bucket)  # later tests scan fewer buckets


def buttons(args):
    return [e["action_id"] for b in args["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_full_flow_plan_request_approve_verify_then_undo(make_world, slack):
    world = make_world()
    # Remediate: the modal opens at once, then shows the real plan read from the bucket.
    view = world.remediate_click()
    assert slack.of("views.open")[0].args["view"]["callback_id"] == ids.REMEDIATE_MODAL
    text = json.dumps(view)
    assert view["submit"]["text"] == "Request approval"
    assert "s3.put_public_access_block" in text and world.bucket in text and "RestrictPublicBuckets" in text
    assert "*Before*" in text and "*After*" in text
    assert world.block() is None and remediations.for_finding(world.services.db, world.fid) == []

    request = world.submit(view)
    assert request["state"] == "requested" and request["requested_by"] == REQUESTER
    (approval,) = [c.args for c in slack.of("chat.postMessage") if c.args["channel"] == APPROVALS]
    assert buttons(approval) == [ids.APPROVE, ids.REJECT]
    body = json.dumps(approval["blocks"])
    assert f"<@{REQUESTER}>" in body and "s3.put_public_access_block" in body and world.bucket in body
    assert (request["approval_channel"], request["approval_ts"]) == (APPROVALS, approval_ts := request["approval_ts"])
    assert any("posted for approval" in t for t in world.told(REQUESTER))
    assert "waiting for approval" in json.dumps(world.updates(world.finding_ts)[-1]["blocks"])

    done = world.approve(request, BOB)
    assert done["state"] == "verified" and done["decided_by"] == BOB
    assert world.block() == ALL_BLOCKED  # really changed in the account
    assert world.state() == "remediated"
    approval_after = world.updates(approval_ts)[-1]
    assert "Remediated and verified" in json.dumps(approval_after["blocks"]) and buttons(approval_after) == []
    finding_after = world.updates(world.finding_ts)[-1]
    assert "Remediated" in json.dumps(finding_after["blocks"]) and buttons(finding_after) == [ids.UNDO]
    for expected in ("remediation_requested", "remediation_approved", "remediation_applied", "remediation_verified"):
        assert world.audit(expected), expected

    # Undo from the finding's message: the same approval flow, by someone else.
    click(world.app, ids.UNDO, world.fid, user=CAROL, channel=FINDINGS, ts=world.finding_ts)
    undo = remediations.get(world.services.db, done["id"] + 1)
    assert undo["kind"] == "undo" and undo["requested_by"] == CAROL
    assert "Undo request" in json.dumps([c.args for c in slack.of("chat.postMessage")][-1]["blocks"])
    assert world.approve(undo, CAROL)["state"] == "requested"  # four-eyes for undo too
    assert any("four-eyes" in t for t in world.told(CAROL))
    assert world.approve(undo, BOB)["state"] == "undone"
    assert world.block() is None and world.state() == "open"
    assert ids.REMEDIATE in buttons(world.updates(world.finding_ts)[-1])
    assert world.audit("undo_applied")


def test_self_approval_refused_and_allowed_only_in_a_sandbox_account(make_world):
    world = make_world()
    request = world.request(user=BOB)  # an approver asks
    assert world.approve(request, BOB)["state"] == "requested"
    assert any("four-eyes" in t for t in world.told(BOB))
    assert world.block() is None and world.state() == "open"
    assert world.audit("remediation_refused")[-1]["actor"] == BOB

    sandbox = make_world(self_approval_accounts=(ACCOUNT,))
    request = sandbox.request(user=BOB)
    assert sandbox.approve(request, BOB)["state"] == "verified"
    assert sandbox.block() == ALL_BLOCKED


def test_non_approver_is_refused_privately(make_world):
    world = make_world()
    request = world.request()
    assert world.approve(request, MALLORY)["state"] == "requested"
    assert any("not a remediation approver" in t for t in world.told(MALLORY))
    assert world.updates(request["approval_ts"]) == []  # the approval request is untouched
    assert world.block() is None
    refused = world.audit("remediation_refused")[-1]
    assert refused["actor"] == MALLORY and "not a remediation approver" in refused["details"]["reason"]
    assert world.approve(request, CAROL, action=ids.REJECT)["state"] == "rejected"
    assert "Rejected by" in json.dumps(world.updates(request["approval_ts"])[-1]["blocks"])
    assert world.state() == "open"


def test_concurrent_approvals_apply_once(make_world):
    world = make_world()
    request = world.request()
    puts = []
    world.session.events.register("before-call.s3.PutPublicAccessBlock", lambda **kw: puts.append(1))
    barrier = threading.Barrier(4)
    statuses = []

    def approve(user):
        barrier.wait()
        response = click(world.app, ids.APPROVE, world.button(request), user=user, channel=APPROVALS,
                         ts=request["approval_ts"])
        statuses.append(response.status)

    threads = [threading.Thread(target=approve, args=(u,)) for u in (BOB, CAROL, BOB, CAROL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    world.services.remediation.wait_idle()
    assert statuses == [200] * 4
    assert len(puts) == 1 and world.block() == ALL_BLOCKED
    assert remediations.get(world.services.db, request["id"])["state"] == "verified"
    assert len(world.audit("remediation_applied")) == 1
    refusals = [t for u in (BOB, CAROL) for t in world.told(u) if "already" in t]
    assert len(refusals) == 3


def test_expired_request_is_refused_and_shown_expired(make_world):
    world = make_world(request_expiry_hours=2)
    request = world.request()
    unclicked = world.request()
    later = world.services.clock() + timedelta(hours=3)
    world.services.clock = lambda: later
    assert world.approve(request, BOB)["state"] == "expired"
    assert any("expired" in t for t in world.told(BOB))
    shown = world.updates(request["approval_ts"])[-1]
    assert "Expired" in json.dumps(shown["blocks"]) and buttons(shown) == []
    assert world.block() is None and world.state() == "open"
    # A request nobody clicked is shown expired too (swept after any decision, or by a scheduler).
    assert remediations.get(world.services.db, unclicked["id"])["state"] == "expired"
    assert "Expired" in json.dumps(world.updates(unclicked["approval_ts"])[-1]["blocks"])
    assert world.audit("remediation_expired")


def test_daily_housekeeping_expires_requests_nobody_decided(make_world):
    from skywarden.bot.slack.reminders import run_housekeeping

    world = make_world(request_expiry_hours=2)
    request = world.request()
    later = world.services.clock() + timedelta(hours=3)
    world.services.clock = lambda: later
    result = run_housekeeping(world.services)
    assert result.expired_requests == [request["id"]]
    assert remediations.get(world.services.db, request["id"])["state"] == "expired"
    assert "Expired" in json.dumps(world.updates(request["approval_ts"])[-1]["blocks"])
    assert run_housekeeping(world.services).expired_requests == []


def test_resource_changed_since_the_plan_is_refused_and_already_fixed_is_a_noop(make_world):
    world = make_world()
    s3 = boto3.client("s3", region_name="us-east-1")
    request = world.request()
    partial = {**ALL_BLOCKED, "BlockPublicPolicy": False, "RestrictPublicBuckets": False}
    s3.put_public_access_block(Bucket=world.bucket, PublicAccessBlockConfiguration=partial)
    done = world.approve(request, BOB)
    assert done["state"] == "failed" and done["message"].startswith("refused")
    assert world.block() == partial and world.state() == "open"
    assert "Not applied" in json.dumps(world.updates(request["approval_ts"])[-1]["blocks"])
    assert "changed since the plan" in json.dumps(world.updates(world.finding_ts)[-1]["blocks"])

    request = world.request()
    s3.put_public_access_block(Bucket=world.bucket, PublicAccessBlockConfiguration=ALL_BLOCKED)
    done = world.approve(request, CAROL)
    assert done["state"] == "noop"
    assert "No-op" in json.dumps(world.updates(request["approval_ts"])[-1]["blocks"])
    assert world.state() == "resolved"


def test_access_denied_on_apply_leaves_the_finding_open_and_says_why(make_world):
    world = make_world()
    request = world.request()

    def deny(**kwargs):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized to PutPublicAccessBlock"}},
                          "PutPublicAccessBlock")

    world.session.events.register("before-call.s3.PutPublicAccessBlock", deny)
    done = world.approve(request, BOB)
    assert done["state"] == "failed" and "AccessDenied" in done["message"]
    assert world.block() is None and world.state() == "open"
    approval = json.dumps(world.updates(request["approval_ts"])[-1]["blocks"])
    assert "Failed" in approval and "AccessDenied" in approval and "stays open" in approval
    finding = world.updates(world.finding_ts)[-1]
    assert "AccessDenied" in json.dumps(finding["blocks"]) and ids.REMEDIATE in buttons(finding)
    assert world.audit("remediation_failed")


def test_planning_problems_show_in_the_modal(make_world):
    world = make_world()

    def deny(**kwargs):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no read"}}, "GetPublicAccessBlock")

    handler_id = "before-call.s3.GetPublicAccessBlock"
    world.session.events.register(handler_id, deny, unique_id="deny-read")
    view = world.remediate_click()
    assert "submit" not in view and "Cannot plan" in json.dumps(view) and "AccessDenied" in json.dumps(view)
    world.session.events.unregister(handler_id, unique_id="deny-read")

    boto3.client("s3", region_name="us-east-1").put_public_access_block(
        Bucket=world.bucket, PublicAccessBlockConfiguration=ALL_BLOCKED)
    view = world.remediate_click()
    assert "submit" not in view and "already compliant" in json.dumps(view)
    assert remediations.for_finding(world.services.db, world.fid) == []


def test_remediation_off_without_approvers(make_world, slack):
    world = make_world(remediation_approvers=(), approval_channel=None)
    started = time.monotonic()
    assert world.remediate_click() is None and slack.of("views.open") == []
    assert any("no remediation approvers are configured" in t for t in world.told(REQUESTER))
    assert time.monotonic() - started < 2


def test_typed_commands_remediate_approve_undo(make_world):
    world = make_world()
    number = get_finding(world.services.db, world.fid)["number"]
    reply = json.dumps(json.loads(slash(world.app, f"remediate {number}", user=REQUESTER, channel=FINDINGS).body))
    assert "s3.put_public_access_block" in reply and "posted for approval" in reply
    request = remediations.for_finding(world.services.db, world.fid)[-1]
    reply = json.loads(slash(world.app, f"approve {request['id']}", user=BOB, channel=APPROVALS).body)
    assert f"Approving request {request['id']}" in reply["text"]
    world.services.remediation.wait_idle()
    assert world.block() == ALL_BLOCKED and world.state() == "remediated"
    # The console waits for the outcome and shows it.
    undo = commands.dispatch(world.services, f"undo {number}", commands.Who(CAROL, None, "console"))
    assert undo.ok, undo.message.text
    undo_id = remediations.for_finding(world.services.db, world.fid)[-1]["id"]
    # With an approval channel, decisions count only there: not from the console, not from another channel.
    refused = commands.dispatch(world.services, f"approve {undo_id}", commands.Who(BOB, None, "console"))
    assert not refused.ok and f"accepted only in <#{APPROVALS}>" in refused.message.text
    slash(world.app, f"approve {undo_id}", user=BOB, channel=FINDINGS)
    world.services.remediation.wait_idle()
    assert remediations.get(world.services.db, undo_id)["state"] == "requested"
    assert any(f"accepted only in <#{APPROVALS}>" in t for t in world.told(BOB))
    slash(world.app, f"approve {undo_id}", user=BOB, channel=APPROVALS)
    world.services.remediation.wait_idle()
    assert remediations.get(world.services.db, undo_id)["state"] == "undone"
    assert world.block() is None and world.state() == "open"
    assert "reject &lt;remediation request id&gt;" in slash(world.app, "reject abc", user=BOB).body


def test_direct_messages_to_approvers_and_a_user_group(make_world, slack):
    slack.usergroups["S0LEADS"] = [CAROL, REQUESTER]
    world = make_world(remediation_approvers=(BOB, "S0LEADS"), approval_channel=None)
    request = world.request()
    sent = sorted(c.args["channel"] for c in slack.of("chat.postMessage") if c.args["channel"].startswith("U"))
    assert sent == [BOB, CAROL]  # every approver but the requester, the group expanded
    assert sorted(request["approval_channel"].split()) == [BOB, CAROL]
    carol_dm = dict(approval_messages(request))[CAROL]
    click(world.app, ids.APPROVE, world.button(request, CAROL), user=CAROL, channel=CAROL, ts=carol_dm)
    world.services.remediation.wait_idle()
    assert world.state() == "remediated"
    for channel, ts in approval_messages(request):
        assert "Remediated and verified" in json.dumps(world.updates(ts)[-1]["blocks"]), channel


def test_remediation_settings():
    from skywarden.bot.core.settings import Access, parse_config
    from skywarden.scanners.errors import ConfigError

    config = parse_config({
        "accounts": [{"id": ACCOUNT, "name": "sandbox"}],
        "permissions": {"remediation_approvers": ["U0BOB", "S0LEADS"]},
        "remediation": {"approval_channel": "C0APPROVE", "self_approval_accounts": ["sandbox"],
                        "request_expiry_hours": 4},
    })
    assert (config.approval_channel, config.self_approval_accounts, config.request_expiry_hours) == (
        "C0APPROVE", (ACCOUNT,), 4)
    assert parse_config({}).request_expiry_hours == 24 and parse_config({}).approval_channel is None
    assert Access(config, lambda group: {"U0CAROL"}).remediation_approvers() == {"U0BOB", "U0CAROL"}
    for bad, key in (({"remediation": {"approval_channel": "approvals"}}, "remediation.approval_channel"),
                     ({"remediation": {"request_expiry_hours": 0}}, "remediation.request_expiry_hours"),
                     ({"remediation": {"self_approval_accounts": "*"}}, "remediation.self_approval_accounts"),
                     ({"remediation": {"channel": "C0X"}}, "remediation.channel"),
                     ({"permissions": {"remediation_approvers": "*"}}, "permissions.remediation_approvers")):
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            parse_config(bad)


def test_decisions_count_only_in_the_approval_channel(make_world):
    world = make_world()
    request = world.request()
    value = world.button(request)
    for channel in (FINDINGS, BOB):  # the same button clicked elsewhere (a shared copy, a DM)
        click(world.app, ids.APPROVE, value, user=BOB, channel=channel, ts=request["approval_ts"])
        click(world.app, ids.REJECT, value, user=CAROL, channel=channel, ts=request["approval_ts"])
    world.services.remediation.wait_idle()
    assert remediations.get(world.services.db, request["id"])["state"] == "requested" and world.block() is None
    assert any(f"accepted only in <#{APPROVALS}>" in t for t in world.told(BOB))
    refusals = [e for e in world.audit("remediation_refused") if "accepted only in" in e["details"]["reason"]]
    assert sorted(e["actor"] for e in refusals) == [BOB, BOB, CAROL, CAROL]
    assert world.approve(request, BOB)["state"] == "verified"


def test_a_button_is_bound_to_its_own_request(make_world):
    world = make_world()
    first, second = world.request(), world.request()
    first_token = world.button(first).split(":", 1)[1]
    assert first_token != world.button(second).split(":", 1)[1] and len(first_token) >= 16
    for forged in (f"{second['id']}:{first_token}", str(second["id"]), f"{second['id']}:", "x:y"):
        click(world.app, ids.APPROVE, forged, user=BOB, channel=APPROVALS, ts=second["approval_ts"])
    world.services.remediation.wait_idle()
    assert [r["state"] for r in remediations.for_finding(world.services.db, world.fid)] == ["requested"] * 2
    assert world.block() is None
    assert sum("does not belong to request" in t for t in world.told(BOB)) == 3
    reasons = [e["details"]["reason"] for e in audit.events(world.services.db)
               if e["action"] == "remediation_refused"]
    assert len(reasons) == 4 and "does not name a remediation request" in reasons[-1]
    assert world.approve(second, BOB)["state"] == "verified"


def test_anyone_but_the_requester_approves_in_the_channel_when_approvers_is_a_star(make_world):
    world = make_world(remediation_approvers=("*",))
    request = world.request()
    assert world.approve(request, REQUESTER)["state"] == "requested"
    assert any("four-eyes" in t for t in world.told(REQUESTER))
    click(world.app, ids.APPROVE, world.button(request), user=MALLORY, channel=FINDINGS, ts=request["approval_ts"])
    world.services.remediation.wait_idle()
    assert remediations.get(world.services.db, request["id"])["state"] == "requested"
    assert world.approve(request, MALLORY)["state"] == "verified"


def test_the_approval_channel_must_be_an_id():
    from skywarden.bot.core.settings import parse_config
    from skywarden.scanners.errors import ConfigError

    with pytest.raises(ConfigError, match=r"remediation\.approval_channel: '#approvals': give the channel id"):
        parse_config({"remediation": {"approval_channel": "#approvals"}})


def test_the_console_shows_the_typed_command_not_the_button_token():
    from skywarden.bot.console import render
    from skywarden.bot.slack import remediation_blocks as rblocks

    request = {"id": 5, "token": "s3cr3t-token", "kind": "fix", "state": "requested", "requested_by": REQUESTER,
               "expires_at": "2030-01-01T00:00:00+00:00", "plan": {"summary": "block", "action": "a", "calls": [],
                                                                 "before": {}, "after": {}, "account_id": ACCOUNT}}
    finding = {"number": 3, "title": "Bucket is public", "severity": "high", "resource_id": "arn:aws:s3:::b",
               "resource_name": "b", "account_id": ACCOUNT, "region": "us-east-1", "rule_id": RULE}
    message = rblocks.approval_message(request, finding)
    values = [e["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    assert values == ["5:s3cr3t-token"] * 2
    text = render(message)
    assert "approve 5  |  reject 5" in text and "s3cr3t" not in text
