"""Refuses concurrency caps and per-instance rates that together exceed a vendor limit.

Every function instance runs its own limiter, so a vendor sees up to (instances that may run
at once) x (rate per instance). The budgets are data in the template
(Metadata: LifecycleRelay::RateBudgets: the instance parameters, the rate parameter, the
limit parameter); this checks them for the template's defaults and for each environment's
parameter_overrides in samconfig.toml, prints one line per budget, and exits 1 naming any
budget over its limit.

Usage: python rate_budget.py TEMPLATE [SAMCONFIG]
"""

import shlex
import sys
import tomllib

from cfnlint.decode import decode

BUDGETS_KEY = "LifecycleRelay::RateBudgets"


def overrides_by_environment(samconfig_path):
    """{environment: {parameter: value}} from each [ENV.deploy.parameters] parameter_overrides."""
    with open(samconfig_path, "rb") as file:
        config = tomllib.load(file)
    environments = {}
    for environment, commands in config.items():
        if not isinstance(commands, dict):
            continue
        raw = ((commands.get("deploy") or {}).get("parameters") or {}).get("parameter_overrides")
        if raw is None:
            continue
        pairs = shlex.split(raw) if isinstance(raw, str) else list(raw)
        environments[environment] = dict(pair.split("=", 1) for pair in pairs)
    return environments


def check(budgets, parameters, values, label):
    """Prints each budget for `values` and returns the messages of those over their limit."""
    def number(name):
        if name not in parameters:
            raise SystemExit(f"{label}: rate budget names parameter {name}, which the template lacks")
        value = values.get(name, parameters[name].get("Default"))
        if value is None:
            raise SystemExit(f"{label}: parameter {name} has no default and no override")
        return float(value)

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
    failures = check(budgets, parameters, {}, f"{template_path} defaults")
    if samconfig_path:
        for environment, values in overrides_by_environment(samconfig_path).items():
            failures += check(budgets, parameters, values, f"{samconfig_path} [{environment}]")
    for failure in failures:
        print(f"rate budget exceeded: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
