"""Engine benchmark: evaluating every shipped rule over 100,000 resources, against parsing them.

The resources are realistic because they are cloned from what the real collectors return: the demo estate
(bot/demo/aws_estate.py) is seeded into in-process moto and collected once, and each collected resource of a
type the rules target serves as a template. Clones get their own id and name, and each boolean in their
properties is flipped with a small probability, so outcomes mix PASS and FAIL the way a real estate does.
The inventory is serialised to JSON text, as storage and the CLI carry it.

Measured (best of --repeat runs): ``json.loads`` of the inventory text, building ``Resource`` objects from the
parsed dicts, and ``Engine(load_rules()).evaluate(resources)``. Target: evaluate <= 3 x parse.
Then, once, the time per rule, to point at slow rules.

Run: ``.venv/bin/python bench/engine_bench.py`` (100,000 resources) or ``--quick`` (10,000, one repeat).
Results go to bench/results/engine.json.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Before boto3 or moto is imported: the demo's offline environment (dummy credentials, no metadata endpoint,
# no AWS_ENDPOINT_URL or profile, moto's one-AMI list).
from skywarden.bot.demo.runner import demo_environment  # noqa: E402

demo_environment()

RESULTS = ROOT / "bench" / "results" / "engine.json"
TARGET_RATIO = 3.0
FLIP_PROBABILITY = 0.15

# Share of each type in the synthetic estate, roughly a large organisation's inventory; types the rules
# target that are not listed here (account and region level settings) share SINGLETON_SHARE between them.
MIX = {
    "aws.ec2.security_group": 0.16,
    "aws.ec2.volume": 0.16,
    "aws.ec2.snapshot": 0.14,
    "aws.ec2.instance": 0.10,
    "aws.iam.user": 0.07,
    "aws.iam.policy": 0.05,
    "aws.iam.role": 0.04,
    "aws.s3.bucket": 0.07,
    "aws.kms.key": 0.04,
    "aws.ec2.network_acl": 0.03,
    "aws.ec2.vpc": 0.03,
    "aws.rds.db_instance": 0.03,
    "aws.rds.db_snapshot": 0.03,
    "aws.efs.file_system": 0.02,
    "aws.logs.log_group": 0.02,
}
SINGLETON_SHARE = 0.01

T = TypeVar("T")


def collect_templates(rules: Sequence[Any]) -> dict[str, list[dict[str, Any]]]:
    """The demo estate as the real collectors see it, grouped by type (only types some rule targets)."""
    import boto3
    from moto import mock_aws

    from skywarden.bot.demo.aws_estate import DEMO_REGIONS, seed_demo_estate
    from skywarden.rules.engine import Engine
    from skywarden.scanners.aws.scan import collect_aws
    from skywarden.scanners.aws.session import AccountSpec, resolve_targets

    wanted = Engine(rules).resource_types
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        seed_demo_estate(session)
        targets = resolve_targets(session, [AccountSpec(id=None, name="bench")])
        inventory = collect_aws(targets, regions=list(DEMO_REGIONS), resource_types=wanted, max_workers=8)
    templates: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for resource in inventory.resources:
        templates[resource.type].append(resource.to_dict())
    return dict(templates)


def plan(templates: dict[str, list[dict[str, Any]]], total: int) -> dict[str, int]:
    singletons = [kind for kind in templates if kind not in MIX]
    shares = {kind: share for kind, share in MIX.items() if kind in templates}
    for kind in singletons:
        shares[kind] = SINGLETON_SHARE / len(singletons)
    scale = sum(shares.values())
    counts = {kind: int(total * share / scale) for kind, share in shares.items()}
    largest = max(counts, key=counts.__getitem__)
    counts[largest] += total - sum(counts.values())
    return counts


def _vary(value: Any, rng: random.Random) -> Any:
    """Flip booleans now and then, at any depth, so clones of one template do not all evaluate alike."""
    if isinstance(value, bool):
        return (not value) if rng.random() < FLIP_PROBABILITY else value
    if isinstance(value, dict):
        return {k: (v if k.startswith("_") else _vary(v, rng)) for k, v in value.items()}
    if isinstance(value, list):
        return [_vary(v, rng) for v in value]
    return value


def synthesise(templates: dict[str, list[dict[str, Any]]], total: int, seed: int = 7) -> tuple[str, dict[str, int]]:
    """JSON text of ``total`` resources cloned from the templates, and how many of each type."""
    rng = random.Random(seed)
    counts = plan(templates, total)
    accounts = [f"{100000000000 + n * 7919:012d}" for n in range(40)]
    regions = ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"]
    items = []
    for kind, count in counts.items():
        sources = templates[kind]
        for index in range(count):
            template = sources[index % len(sources)]
            clone = copy.deepcopy(template)
            account = accounts[index % len(accounts)]
            region = template["region"] if template["region"] == "global" else regions[index % len(regions)]
            clone["account_id"] = account
            clone["region"] = region
            clone["id"] = f"{template['id'].replace('123456789012', account)}-{index:06d}"
            clone["name"] = f"{template['name']}-{index:06d}"
            clone["properties"] = _vary(template["properties"], rng)
            items.append(clone)
    rng.shuffle(items)
    return json.dumps(items), counts


def best_of(repeat: int, fn: Callable[[], T]) -> tuple[float, T]:
    """Fastest of ``repeat`` runs (with the collector off while timing, as timeit does) and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            started = time.perf_counter()
            result = fn()
            best = min(best, time.perf_counter() - started)
        finally:
            gc.enable()
    return best, result  # type: ignore[return-value]


def per_rule_times(rules: Sequence[Any], resources: Sequence[Any]) -> list[dict[str, Any]]:
    from skywarden.rules.engine import evaluate_one

    by_type: dict[str, list[Any]] = defaultdict(list)
    for resource in resources:
        by_type[resource.type].append(resource)
    timings = []
    for rule in rules:
        targets = by_type.get(rule.resource_type, [])
        started = time.perf_counter()
        for resource in targets:
            evaluate_one(rule, resource, resource.properties, resource.properties.get("_errors"))
        elapsed = time.perf_counter() - started
        timings.append(
            {
                "rule": rule.id,
                "resources": len(targets),
                "total_ms": round(elapsed * 1000, 1),
                "us_per_resource": round(elapsed * 1e6 / len(targets), 2) if targets else None,
            }
        )
    return sorted(timings, key=lambda t: -t["total_ms"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resources", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="10,000 resources, one repeat")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    total, repeat = (10_000, 1) if args.quick else (args.resources, args.repeat)

    from skywarden.rules.engine import Engine
    from skywarden.rules.loader import load_rules
    from skywarden.rules.model import Outcome
    from skywarden.scanners.model import Resource

    started = time.perf_counter()
    rules = load_rules()
    load_rules_s = time.perf_counter() - started
    print(f"collecting templates from the demo estate in moto ({len(rules)} rules) ...", file=sys.stderr, flush=True)
    templates = collect_templates(rules)
    text, counts = synthesise(templates, total)
    targeted = {rule.resource_type for rule in rules}
    print(f"inventory: {total:,} resources, {len(text) / 1e6:.1f} MB of JSON", file=sys.stderr, flush=True)

    parse_s, parsed = best_of(repeat, lambda: json.loads(text))
    build_s, resources = best_of(repeat, lambda: [Resource.from_dict(item) for item in parsed])
    engine = Engine(rules)
    evaluate_s, report = best_of(repeat, lambda: engine.evaluate(resources))
    ratio = evaluate_s / parse_s
    slow_rules = per_rule_times(rules, resources)

    rows = [
        ("json.loads(inventory)", parse_s),
        ("Resource.from_dict x N", build_s),
        ("Engine.evaluate", evaluate_s),
    ]
    print(f"\n{'step':<26} {'seconds':>9} {'us/resource':>12}")
    print("-" * 49)
    for label, seconds in rows:
        print(f"{label:<26} {seconds:>9.3f} {seconds * 1e6 / total:>12.2f}")
    print(
        f"\nevaluate / parse = {ratio:.2f} (target <= {TARGET_RATIO}); "
        f"(build + evaluate) / parse = {(build_s + evaluate_s) / parse_s:.2f}"
    )
    print(
        f"evaluations: {report.evaluated:,}  " + "  ".join(f"{o.value}: {report.counts.get(o, 0):,}" for o in Outcome)
    )
    print("\nslowest rules (one pass each):")
    for timing in slow_rules[:10]:
        print(
            f"  {timing['rule']:<52} {timing['resources']:>7} resources {timing['total_ms']:>8.1f} ms "
            f"{timing['us_per_resource'] or 0:>7.2f} us each"
        )
    missing = sorted(kind for kind in targeted - set(templates) if kind.startswith("aws."))
    other_providers = sum(1 for rule in rules if rule.provider != "aws")
    if missing:
        print(f"\nAWS rule types with no template in the demo estate (not benchmarked): {', '.join(missing)}")
    if other_providers:
        print(f"{other_providers} rules of other providers are loaded but have no resources here")

    result = {
        "benchmark": "engine",
        "resources": total,
        "repeat": repeat,
        "rules": len(rules),
        "load_rules_s": round(load_rules_s, 3),
        "inventory_mb": round(len(text) / 1e6, 2),
        "resources_by_type": dict(sorted(counts.items())),
        "types_without_template": missing,
        "rules_other_providers": other_providers,
        "parse_s": round(parse_s, 4),
        "build_resources_s": round(build_s, 4),
        "evaluate_s": round(evaluate_s, 4),
        "evaluate_over_parse": round(ratio, 3),
        "build_and_evaluate_over_parse": round((build_s + evaluate_s) / parse_s, 3),
        "target_evaluate_over_parse": TARGET_RATIO,
        "met": ratio <= TARGET_RATIO,
        "evaluations": report.evaluated,
        "outcomes": {outcome.value: count for outcome, count in report.counts.items()},
        "per_rule": slow_rules,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
