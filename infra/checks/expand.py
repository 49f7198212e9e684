"""Expands a SAM template into plain CloudFormation, offline, as `sam deploy` would.

cfn-lint alone does not see inside `AWS::Serverless::*` resources (a bad Runtime, a dangling
!Ref in a function's Events or Environment pass), so `make infra-check` lints this expansion
too. Local CodeUri folders become placeholder s3:// URIs (the translator wants uploaded code);
the managed-policy loader is stubbed (no AWS call: this template names no managed policy by
short name). Translator errors are printed one per line, naming the resource, and exit 1.

Usage: python expand.py TEMPLATE OUTPUT.json
"""

import json
import os
import sys

from cfnlint.decode import decode
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform

PSEUDO_PARAMETERS = {
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::StackName": "lifecycle-relay",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/lifecycle-relay/0",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NotificationARNs": [],
}


class OfflinePolicyLoader:
    """Managed policies by short name would need IAM; answer that none are known."""

    def load(self):
        return {}


def placeholder_code_uris(template):
    for name, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Serverless::Function":
            code = properties.get("CodeUri")
            if isinstance(code, str) and not code.startswith("s3://"):
                properties["CodeUri"] = f"s3://placeholder-bucket/{name}.zip"


def main(source, target):
    # The translator asks boto for a region even when given one; no AWS call is made.
    os.environ.setdefault("AWS_DEFAULT_REGION", PSEUDO_PARAMETERS["AWS::Region"])
    template, matches = decode(source)
    if matches:
        for match in matches:
            print(f"{source}: {match}")
        return 1
    placeholder_code_uris(template)
    parameters = dict(PSEUDO_PARAMETERS)
    for name, parameter in (template.get("Parameters") or {}).items():
        if "Default" in parameter:
            parameters[name] = parameter["Default"]
    try:
        expanded = transform(template, parameters, OfflinePolicyLoader())
    except InvalidDocumentException as error:
        for cause in error.causes:
            print(f"{source}: SAM transform: {cause.message}")
        return 1
    with open(target, "w") as out:
        json.dump(expanded, out, indent=1, default=str)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
