"""Checks what cfn-lint cannot see in template.yaml: after the SAM transform, the REST API must
stream (responseTransferMode STREAM and the response-streaming-invocations URI on every
integration), the Function URL must use InvokeMode RESPONSE_STREAM, a public URL must carry both
invoke permissions, and the API must have exactly one stage. A wrong value there (e.g.
ResponseTransferMode: STREAM) silently gives a buffered integration. local/env.json may only set
variables the template declares."""
import json
import os
import sys

from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies(ManagedPolicyLoader):
    """The template names no managed policies; no AWS call is needed to resolve them."""

    def __init__(self):
        pass

    def load(self):
        return {}


def main(path):
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(path) as f:
        template = yaml_parse(f.read())
    # The transform needs a packaged CodeUri; the local build path stands in for the S3 one.
    for res in template["Resources"].values():
        if res["Type"] == "AWS::Serverless::Function":
            res["Properties"]["CodeUri"] = "s3://bucket/gateway.zip"
    out = transform(template, {}, NoManagedPolicies())
    problems = []
    resources = out["Resources"]

    integrations = []
    for name, res in resources.items():
        if res["Type"] != "AWS::ApiGateway::RestApi":
            continue
        for path, methods in res["Properties"]["Body"]["paths"].items():
            for method, op in methods.items():
                integrations.append((name, path, method, op.get("x-amazon-apigateway-integration", {})))
    if not integrations:
        problems.append("no REST API integration found")
    for name, path, method, integ in integrations:
        where = f"{name} {method.upper()} {path}"
        if integ.get("responseTransferMode") != "STREAM":
            problems.append(f"{where}: responseTransferMode is {integ.get('responseTransferMode')!r}, want 'STREAM'")
        uri = json.dumps(integ.get("uri"))
        if "2021-11-15/functions/" not in uri or "response-streaming-invocations" not in uri:
            problems.append(f"{where}: integration URI is not the response-streaming one: {uri}")

    urls = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Url"]
    if len(urls) != 1:
        problems.append(f"want one Function URL, found {len(urls)}")
    for url in urls:
        if url["Properties"].get("InvokeMode") != "RESPONSE_STREAM":
            problems.append(f"Function URL InvokeMode is {url['Properties'].get('InvokeMode')!r}, want 'RESPONSE_STREAM'")

    problems += check_url_permissions(resources)
    stages = [r["Properties"].get("StageName") for r in resources.values() if r["Type"] == "AWS::ApiGateway::Stage"]
    deployments = [r["Properties"].get("StageName") for r in resources.values() if r["Type"] == "AWS::ApiGateway::Deployment"]
    if len(stages) != 1 or any(d is not None for d in deployments):
        problems.append(f"want one API stage, found stages {stages} and deployment stages {deployments}")
    problems += check_env_json(template, "local/env.json")
    if problems:
        print("template check failed:\n  " + "\n  ".join(problems))
        return 1
    print(f"template streams: {len(integrations)} REST integrations with responseTransferMode STREAM "
          f"and the response-streaming URI; Function URL InvokeMode RESPONSE_STREAM")
    return 0


def check_url_permissions(resources):
    """With AuthType from a parameter SAM adds no public permissions; the template must."""
    perms = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"]
    has_url = any(p["Properties"].get("Action") == "lambda:InvokeFunctionUrl"
                  and p["Properties"].get("FunctionUrlAuthType") == "NONE" for p in perms)
    has_invoke = any(p["Properties"].get("Action") == "lambda:InvokeFunction"
                     and p["Properties"].get("InvokedViaFunctionUrl") is True for p in perms)
    if has_url and has_invoke:
        return []
    return ["a public Function URL needs lambda:InvokeFunctionUrl (FunctionUrlAuthType NONE) and "
            "lambda:InvokeFunction (InvokedViaFunctionUrl) permissions"]


def check_env_json(template, path):
    """sam local only overrides variables the template declares: an undeclared one is ignored."""
    with open(path) as f:
        env = json.load(f)
    problems = []
    for fn, values in env.items():
        res = template["Resources"].get(fn)
        if res is None:
            problems.append(f"{path}: {fn} is not a resource of the template")
            continue
        declared = res["Properties"].get("Environment", {}).get("Variables", {})
        for name in values:
            if name not in declared:
                problems.append(f"{path}: {fn}.{name} is not declared in the template, so sam local ignores it")
    return problems


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "template.yaml"))
