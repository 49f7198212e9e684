"""Lifecycle Relay's own cfn-lint rules: the promises the stack makes that neither cfn-lint nor
checkov checks. Loaded by `make infra-check` with `cfn-lint --append-rules infra/checks/rules`.

- E9101: every SQS queue has a dead-letter queue, or is one (nothing is dropped silently).
- E9102: a queue consumed by a function keeps messages invisible for at least 6x the
  function's timeout (so a message is not handed to a second instance while the first may
  still be working on it, retries included).
- E9103: every SQS event source reports partial batch failures (one bad message must not
  send its nine neighbours back to the queue).
- E9104: no IAM statement allows every action ("*" or "service:*").
- E9105: a Rust function built from the Cargo workspace names one of its binaries (SAM finds
  it under the workspace root's target/lambda/NAME only).
"""

from cfnlint.rules import CloudFormationLintRule, RuleMatch

VISIBILITY_FACTOR = 6
DEFAULT_LAMBDA_TIMEOUT = 3


def referenced_resource(value):
    """The logical id behind {"Fn::GetAtt": [X, "Arn"]}, "X.Arn" or {"Ref": X}, else None."""
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            if isinstance(target, str):
                return target.split(".")[0]
            if isinstance(target, list) and target:
                return target[0]
        if "Ref" in value:
            return value["Ref"]
    return None


def sqs_event_sources(cfn):
    """(path, function id, queue id, function response types) for every SQS trigger, in
    both the SAM form (a function's Events) and the expanded form (EventSourceMapping)."""
    found = []
    for name, resource in cfn.get_resources(["AWS::Serverless::Function"]).items():
        events = (resource.get("Properties") or {}).get("Events") or {}
        for event_name, event in events.items():
            if not isinstance(event, dict) or event.get("Type") != "SQS":
                continue
            properties = event.get("Properties") or {}
            found.append((
                ["Resources", name, "Properties", "Events", event_name],
                name,
                referenced_resource(properties.get("Queue")),
                properties.get("FunctionResponseTypes") or [],
            ))
    for name, resource in cfn.get_resources(["AWS::Lambda::EventSourceMapping"]).items():
        properties = resource.get("Properties") or {}
        queue = referenced_resource(properties.get("EventSourceArn"))
        if queue is None or queue not in cfn.get_resources(["AWS::SQS::Queue"]):
            continue
        found.append((
            ["Resources", name],
            referenced_resource(properties.get("FunctionName")),
            queue,
            properties.get("FunctionResponseTypes") or [],
        ))
    return found


def seconds(cfn, value):
    """A number of seconds as written, or through {"Ref": Parameter} its Default; None when it
    cannot be known here (the rule then says so instead of passing)."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        parameter = (cfn.template.get("Parameters") or {}).get(value["Ref"]) or {}
        value = parameter.get("Default") if isinstance(parameter, dict) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    return None


def function_timeout(cfn, function):
    """The function's Timeout (its own, the SAM Globals', or Lambda's default of 3 s)."""
    resources = cfn.template.get("Resources", {})
    resource = resources.get(function) or {}
    properties = resource.get("Properties") or {}
    if "Timeout" in properties:
        return seconds(cfn, properties["Timeout"])
    if resource.get("Type") == "AWS::Serverless::Function":
        globals_ = (cfn.template.get("Globals") or {}).get("Function") or {}
        if "Timeout" in globals_:
            return seconds(cfn, globals_["Timeout"])
    return DEFAULT_LAMBDA_TIMEOUT


class QueueHasDeadLetterQueue(CloudFormationLintRule):
    id = "E9101"
    shortdesc = "SQS queue without a dead-letter queue"
    description = "Every SQS queue has a RedrivePolicy, or is another queue's deadLetterTargetArn"
    source_url = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html"
    tags = ["sqs", "relay"]

    def match(self, cfn):
        queues = cfn.get_resources(["AWS::SQS::Queue"])
        dead_letter_queues = set()
        for resource in queues.values():
            policy = (resource.get("Properties") or {}).get("RedrivePolicy")
            if isinstance(policy, dict):
                target = referenced_resource(policy.get("deadLetterTargetArn"))
                if target:
                    dead_letter_queues.add(target)
        matches = []
        for name, resource in queues.items():
            properties = resource.get("Properties") or {}
            if "RedrivePolicy" in properties or name in dead_letter_queues:
                continue
            matches.append(RuleMatch(
                ["Resources", name],
                f"SQS queue {name} has no dead-letter queue: give it a RedrivePolicy "
                "(deadLetterTargetArn, maxReceiveCount)",
            ))
        return matches


class QueueVisibilityCoversRetries(CloudFormationLintRule):
    id = "E9102"
    shortdesc = "SQS visibility timeout under 6x the consuming function's timeout"
    description = "A queue consumed by a function has VisibilityTimeout >= 6 x the function's Timeout"
    source_url = "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html"
    tags = ["sqs", "lambda", "relay"]

    def match(self, cfn):
        queues = cfn.get_resources(["AWS::SQS::Queue"])
        matches = []
        for path, function, queue, _ in sqs_event_sources(cfn):
            if queue not in queues or function is None:
                continue
            timeout = function_timeout(cfn, function)
            visibility = seconds(cfn, (queues[queue].get("Properties") or {}).get("VisibilityTimeout", 30))
            if timeout is None or visibility is None:
                matches.append(RuleMatch(
                    path,
                    f"cannot check SQS queue {queue}'s VisibilityTimeout against 6 x {function}'s "
                    "Timeout: write both as numbers (or !Ref a parameter with a Default)",
                ))
                continue
            if visibility < VISIBILITY_FACTOR * timeout:
                matches.append(RuleMatch(
                    path,
                    f"SQS queue {queue} has VisibilityTimeout {visibility} s, under "
                    f"{VISIBILITY_FACTOR} x {function}'s Timeout {timeout} s = "
                    f"{VISIBILITY_FACTOR * timeout} s",
                ))
        return matches


class SqsEventSourceReportsBatchItemFailures(CloudFormationLintRule):
    id = "E9103"
    shortdesc = "SQS event source without ReportBatchItemFailures"
    description = "Every SQS event source sets FunctionResponseTypes: [ReportBatchItemFailures]"
    source_url = "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html"
    tags = ["sqs", "lambda", "relay"]

    def match(self, cfn):
        matches = []
        for path, function, queue, response_types in sqs_event_sources(cfn):
            if "ReportBatchItemFailures" not in response_types:
                matches.append(RuleMatch(
                    path,
                    f"the SQS event source of {function} on {queue} does not set "
                    "FunctionResponseTypes: [ReportBatchItemFailures]",
                ))
        return matches


class NoWildcardIamAction(CloudFormationLintRule):
    id = "E9104"
    shortdesc = "IAM statement allowing every action"
    description = 'No Allow statement in an IAM role or policy has Action "*" or "service:*"'
    source_url = "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege"
    tags = ["iam", "relay"]

    # A key policy's account-root statement is how KMS delegates to IAM, not a grant.
    POLICY_TYPES = ["AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"]

    def match(self, cfn):
        matches = []
        for name, resource in cfn.get_resources(self.POLICY_TYPES).items():
            properties = resource.get("Properties") or {}
            documents = []
            if "PolicyDocument" in properties:
                documents.append((["Properties", "PolicyDocument"], properties["PolicyDocument"]))
            for index, policy in enumerate(properties.get("Policies") or []):
                if isinstance(policy, dict):
                    documents.append(
                        (["Properties", "Policies", index, "PolicyDocument"], policy.get("PolicyDocument"))
                    )
            for path, document in documents:
                statements = (document or {}).get("Statement") or []
                if isinstance(statements, dict):
                    statements = [statements]
                for index, statement in enumerate(statements):
                    if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
                        continue
                    actions = statement.get("Action") or []
                    if isinstance(actions, str):
                        actions = [actions]
                    for action in actions:
                        if isinstance(action, str) and (action == "*" or action.endswith(":*")):
                            matches.append(RuleMatch(
                                ["Resources", name, *path, "Statement", index, "Action"],
                                f"{name} allows every action ({action}): name the actions it needs",
                            ))
        return matches


def workspace_binaries(root):
    """The binaries of the Cargo workspace at `root`: each member's [[bin]] names, and its
    package name when it has src/main.rs (Cargo's default binary). None when `root` holds no
    workspace."""
    import glob
    import os
    import tomllib

    manifest = os.path.join(root, "Cargo.toml")
    if not os.path.isfile(manifest):
        return None
    with open(manifest, "rb") as file:
        workspace = tomllib.load(file).get("workspace")
    if workspace is None:
        return None
    names = set()
    for pattern in workspace.get("members", []):
        for member in glob.glob(os.path.join(root, pattern)):
            member_manifest = os.path.join(member, "Cargo.toml")
            if not os.path.isfile(member_manifest):
                continue
            with open(member_manifest, "rb") as file:
                manifest_data = tomllib.load(file)
            package = manifest_data.get("package") or {}
            if "name" in package and os.path.isfile(os.path.join(member, "src", "main.rs")):
                names.add(package["name"])
            for binary in manifest_data.get("bin") or []:
                if isinstance(binary, dict) and "name" in binary:
                    names.add(binary["name"])
    return names


class CargoLambdaBuildsFromTheWorkspace(CloudFormationLintRule):
    id = "E9105"
    shortdesc = "Rust function SAM cannot find the binary of"
    description = (
        "A rust-cargolambda function whose CodeUri is a Cargo workspace names one of its "
        "packages in Metadata.BuildProperties.Binary"
    )
    source_url = "https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/building-rust.html"
    tags = ["sam", "lambda", "relay"]

    def match(self, cfn):
        # cfn-lint hands rules the template after the SAM transform, where CodeUri and the
        # build metadata are gone: read the file as written.
        import os

        from cfnlint.decode import decode

        if not cfn.filename or not cfn.filename.endswith((".yaml", ".yml")):
            return []
        raw, errors = decode(cfn.filename)
        if errors or not raw:
            return []
        matches = []
        base = os.path.dirname(os.path.abspath(cfn.filename))
        resources = raw.get("Resources")
        for name, resource in (resources.items() if isinstance(resources, dict) else []):
            if not isinstance(resource, dict):
                continue
            metadata = resource.get("Metadata")
            metadata = metadata if isinstance(metadata, dict) else {}
            if resource.get("Type") != "AWS::Serverless::Function" or metadata.get("BuildMethod") != "rust-cargolambda":
                continue
            properties = resource.get("Properties")
            code_uri = properties.get("CodeUri") if isinstance(properties, dict) else None
            if not isinstance(code_uri, str):
                continue
            root = os.path.join(base, code_uri)
            if not os.path.isfile(os.path.join(root, "Cargo.toml")):
                matches.append(RuleMatch(
                    ["Resources", name, "Properties", "CodeUri"],
                    f"{name}'s CodeUri {code_uri} holds no Cargo.toml: cargo lambda cannot build there",
                ))
                continue
            binaries = workspace_binaries(root)
            if binaries is None:
                continue
            build = metadata.get("BuildProperties")
            binary = build.get("Binary") if isinstance(build, dict) else None
            if binary not in binaries:
                matches.append(RuleMatch(
                    ["Resources", name, "Metadata"],
                    f"{name} builds from the Cargo workspace at CodeUri {code_uri}, so "
                    f"Metadata.BuildProperties.Binary must name one of its binaries "
                    f"({', '.join(sorted(binaries))}), not {binary!r}",
                ))
        return matches
