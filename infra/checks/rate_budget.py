"""Refuses concurrency caps and per-instance rates that together exceed a vendor limit.

Every function instance runs its own limiter, so a vendor sees up to (instances that may run
at once) x (rate per instance). The budgets are data in the template
(Metadata: LifecycleRelay::RateBudgets: the instance parameters, the rate parameter, the
limit parameter); this checks that each is wired (its instance parameters cap a function's
concurrency, its rate parameter reaches a function's environment), then the sums for the
template's defaults and for each samconfig.toml environment's parameter_overrides (global and
deploy), prints one line per budget, and exits 1 naming any budget over its limit.

Usage: python rate_budget.py TEMPLATE [SAMCONFIG]
"""

import shlex
import sys
import tomllib

from cfnlint.decode import decode

BUDGETS_KEY = "LifecycleRelay::RateBudgets"


def parse_overrides(raw, where):
    """`Name=Value Name2="Value 2"` (or a list of such pairs) as a dict; SystemExit naming
    `where` and the token when one is not Name=Value."""
    pairs = shlex.split(raw) if isinstance(raw, str) else list(raw)
    overrides = {}
    for pair in pairs:
        name, equals, value = str(pair).partition("=")
        if not equals or not name:
            raise SystemExit(f"{where}: parameter_overrides: {pair!r} is not Name=Value")
        overrides[name] = value
    return overrides


def overrides_by_environment(samconfig_path):
    """{environment: {parameter: value}}: SAM's [ENV.global.parameters] parameter_overrides,
    then [ENV.deploy.parameters] ones on top (deploy reads both, its own winning)."""
    with open(samconfig_path, "rb") as file:
        config = tomllib.load(file)
    environments = {}
    for environment, commands in config.items():
        if not isinstance(commands, dict):
            continue
        merged = None
        for command in ("global", "deploy"):
            parameters = (commands.get(command) or {}).get("parameters") or {}
            raw = parameters.get("parameter_overrides")
            if raw is not None:
                where = f"{samconfig_path} [{environment}.{command}.parameters]"
                merged = {**(merged or {}), **parse_overrides(raw, where)}
        if merged is not None:
            environments[environment] = merged
    return environments


def wiring_problems(template, budgets):
    """Budgets that bound nothing: an instance parameter that caps no function's concurrency
    (ReservedConcurrentExecutions, or an SQS trigger's ScalingConfig.MaximumConcurrency), or a
    rate parameter no function's environment reads."""
    def ref(value):
        return value.get("Ref") if isinstance(value, dict) else None

    caps, rates = set(), set()
    for resource in (template.get("Resources") or {}).values():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.get("Properties") or {}
        caps.add(ref(properties.get("ReservedConcurrentExecutions")))
        for event in (properties.get("Events") or {}).values():
            scaling = ((event or {}).get("Properties") or {}).get("ScalingConfig") or {}
            caps.add(ref(scaling.get("MaximumConcurrency")))
        variables = (properties.get("Environment") or {}).get("Variables") or {}
        rates.update(ref(value) for value in variables.values())
    problems = []
    for budget in budgets:
        for name in budget["Instances"]:
            if name not in caps:
                problems.append(
                    f"{budget['Name']}: {name} caps no function's concurrency "
                    "(ReservedConcurrentExecutions or an SQS trigger's MaximumConcurrency), "
                    "so the budget bounds nothing"
                )
        if budget["RatePerInstance"] not in rates:
            problems.append(
                f"{budget['Name']}: no function's environment reads {budget['RatePerInstance']}, "
                "so the budget bounds nothing"
            )
    return problems


def check(budgets, parameters, values, label):
    """Prints each budget for `values` and returns the messages of those over their limit."""
    def number(name):
        if name not in parameters:
            raise SystemExit(f"{label}: rate budget names parameter {name}, which the template lacks")
        value = values.get(name, parameters[name].get("Default"))
        if value is None:
            raise SystemExit(f"{label}: parameter {name} has no default and no override")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise SystemExit(f"{label}: parameter {name} is {value!r}, not a number") from None

    failures = []
    for budget in budgets:
        instances = sum(number(name) for name in budget["Instances"])
        rate = number(budget["RatePerInstance"])
        limit = number(budget["Limit"])
        used = instances * rate
        verdict = "ok" if used <= limit else "OVER"
        line = (
            f"{label}: {budget['Name']}: ({' + '.join(budget['Instances'])}) = {instances:g} "
            f"x {budget['RatePerInstance']} {rate:g} = {used:g} <= {budget['Limit']} {limit:g}: {verdict}"
        )
        print(line)
        if used > limit:
            failures.append(line)
    return failures


def main(template_path, samconfig_path=None):
    template, matches = decode(template_path)
    if matches:
        for match in matches:
            print(f"{template_path}: {match}")
        return 1
    budgets = (template.get("Metadata") or {}).get(BUDGETS_KEY)
    if not budgets:
        print(f"{template_path}: no Metadata {BUDGETS_KEY}: nothing bounds the vendor rates")
        return 1
    parameters = template.get("Parameters") or {}
    unwired = [f"{template_path}: {problem}" for problem in wiring_problems(template, budgets)]
    failures = check(budgets, parameters, {}, f"{template_path} defaults")
    if samconfig_path:
        for environment, values in overrides_by_environment(samconfig_path).items():
            failures += check(budgets, parameters, values, f"{samconfig_path} [{environment}]")
    for problem in unwired:
        print(f"rate budget unwired: {problem}")
    for failure in failures:
        print(f"rate budget exceeded: {failure}")
    return 1 if failures or unwired else 0


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
