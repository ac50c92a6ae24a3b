"""`python -m infra.aws.app`: synthesize the stacks into ``cdk.out`` (what `cdk deploy` reads).

    npx aws-cdk@2 deploy --app ".venv/bin/python -m infra.aws.app" --all

Context: ``prefix`` (default ``betting-lakehouse``) names the buckets and services; the account
and region come from the AWS CLI profile as for any CDK app.
"""

from __future__ import annotations

import os

import aws_cdk as cdk

from infra.aws.stacks import Names, build


def main() -> None:
    app = cdk.App()
    prefix = app.node.try_get_context("prefix") or "betting-lakehouse"
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    env = cdk.Environment(account=account, region=region) if account and region else None
    build(app, Names(prefix), env)
    app.synth()


if __name__ == "__main__":
    main()
