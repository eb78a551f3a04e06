"""Checks what cfn-lint cannot see in template.yaml: after the SAM transform, the REST API must
stream (responseTransferMode STREAM and the response-streaming-invocations URI on every
integration) with an integration timeout above API Gateway's 29 s default and within the
function's timeout, the Function URL must use InvokeMode RESPONSE_STREAM, a public URL must carry
both invoke permissions, and the API must have exactly one stage. A wrong value there (e.g.
ResponseTransferMode: STREAM, or no TimeoutInMillis) silently gives a buffered or 29-second
integration. Then the blast-radius limits (reserved concurrency, stage throttling, JSON access
logs, Firehose error logs), the alarms and the dashboard, and the path that carries undelivered
usage records from the function's log group to S3. local/env.json may only set variables the
template declares."""
import json
import os
import re
import sys
import tempfile
import tomllib

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
        text = f.read()
    problems, summary = check(text)
    problems += self_test(text)
    if problems:
        print("template check failed:\n  " + "\n  ".join(problems))
        return 1
    print(summary)
    return 0


# Each mutation breaks one thing the checks guard; the check must then report it (a check that
# cannot fail proves nothing). (old text, new text, expected words in a problem).
MUTATIONS = [
    ("            TimeoutInMillis: !If [IntegrationTimeout900s, 900000, !If [IntegrationTimeout600s, 600000, !If [IntegrationTimeout300s, 300000, !If [IntegrationTimeout120s, 120000, !If [IntegrationTimeout60s, 60000, 29000]]]]]\n",
     "", "timeoutInMillis is None"),
    ("!If [IntegrationTimeout60s, 60000, 29000]", "!If [IntegrationTimeout60s, 600000, 29000]", "gives 600000"),
    ("ResponseTransferMode: RESPONSE_STREAM", "ResponseTransferMode: STREAM", "responseTransferMode"),
    ("      ReservedConcurrentExecutions: !If [HasReservedConcurrency, !Ref ReservedConcurrency, !Ref AWS::NoValue]\n",
     "", "no ReservedConcurrentExecutions"),
    ("          ThrottlingBurstLimit: !Ref ApiThrottlingBurstLimit\n", "", "stage-wide throttling"),
    ("MetricName: Throttles\n", "MetricName: Invocations\n", "Lambda throttles"),
    ("WriteThrottleEvents\n", "ConsumedWriteCapacityUnits\n", "rate-limit table throttles"),
    ("Type: AppendDelimiterToRecord", "Type: RecordDeAggregation", "processors"),
    ("      FilterPattern: '{ $.marker = \"USAGE_RECORD_UNDELIVERED\" }'\n      DestinationArn",
     "      FilterPattern: 'USAGE_RECORD_UNDELIVERED'\n      DestinationArn", "one pattern"),
    ('"title": "Errors by class"', '"title": "Errors per class"', "dashboard widgets"),
]


def self_test(text):
    problems = []
    for old, new, expect in MUTATIONS:
        if old not in text:
            problems.append(f"self-test: {old.strip()!r} is no longer in the template; update MUTATIONS")
            continue
        found, _ = check(text.replace(old, new, 1))
        if not any(expect in p for p in found):
            problems.append(f"self-test: replacing {old.strip()!r} went unnoticed (got {found})")
    # A lowered function timeout in an environment's overrides, with the default integration timeout.
    params = yaml_parse(text)["Parameters"]
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write('[x.deploy.parameters]\nparameter_overrides = "TimeoutSeconds=\\"60\\""\n')
    try:
        if not any("exceeds TimeoutSeconds 60" in p for p in check_timeouts_per_environment(params, f.name)):
            problems.append("self-test: TimeoutSeconds=60 with the 900000 ms integration timeout went unnoticed")
    finally:
        os.unlink(f.name)
    return problems


def check(text):
    """Returns the problems of the template text and a summary line."""
    template = yaml_parse(text)
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
        problems += check_integration_timeout(where, integ.get("timeoutInMillis"), template["Parameters"], out.get("Conditions", {}))
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
    problems += check_timeouts_per_environment(template["Parameters"], "samconfig.toml")
    problems += check_blast_radius(resources)
    alarms, alarm_problems = check_alarms(resources)
    problems += alarm_problems
    problems += check_dashboard(resources, alarms)
    problems += check_undelivered_path(resources)
    return problems, (f"template streams: {len(integrations)} REST integrations with responseTransferMode STREAM, "
          f"the response-streaming URI and timeoutInMillis; Function URL InvokeMode RESPONSE_STREAM; "
          f"blast-radius limits set; {len(alarms)} alarms and the dashboard; undelivered usage carried to S3")


# API Gateway's REST integration timeout: 29 s unless raised; up to 15 minutes for a streaming
# integration (https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode.html).
DEFAULT_INTEGRATION_TIMEOUT_MS = 29000
MAX_STREAMING_TIMEOUT_MS = 900000


def check_integration_timeout(where, timeout, params, conditions):
    """The transformed integration must carry timeoutInMillis from the template parameter, as an
    integer literal for every value the parameter allows (a Ref would put a string in the body)."""
    if timeout is None:
        return [f"{where}: timeoutInMillis is None (without it API Gateway cuts streams at "
                f"{DEFAULT_INTEGRATION_TIMEOUT_MS} ms)"]
    p = params["RestIntegrationTimeoutMs"]
    allowed = p.get("AllowedValues", [])
    if p.get("Default") != MAX_STREAMING_TIMEOUT_MS or max(allowed, default=0) != MAX_STREAMING_TIMEOUT_MS:
        return [f"RestIntegrationTimeoutMs: default {p.get('Default')}, allowed {allowed}; want {MAX_STREAMING_TIMEOUT_MS} as both"]
    problems = []
    for value in allowed:
        got = resolve_if(timeout, conditions, {"RestIntegrationTimeoutMs": str(value)})
        if type(got) is not int or got != int(value):
            problems.append(f"{where}: with RestIntegrationTimeoutMs={value} timeoutInMillis gives {got!r}, want the integer {value}")
    return problems


def resolve_if(value, conditions, params):
    """Evaluates the Fn::If / Fn::Equals / Ref subset the timeout uses, for the given parameters."""
    if isinstance(value, dict) and "Fn::If" in value:
        name, yes, no = value["Fn::If"]
        return resolve_if(yes if resolve_if(conditions[name], conditions, params) else no, conditions, params)
    if isinstance(value, dict) and "Fn::Equals" in value:
        a, b = (resolve_if(v, conditions, params) for v in value["Fn::Equals"])
        return str(a) == str(b)
    if isinstance(value, dict) and "Ref" in value:
        return params.get(value["Ref"], value)
    return value


def check_timeouts_per_environment(params, path):
    """CloudFormation cannot compare two parameters by size, so every environment samconfig.toml
    deploys is checked here: integration timeout <= function timeout."""
    with open(path, "rb") as f:
        config = tomllib.load(f)
    problems = []
    envs = {env: conf.get("deploy", {}).get("parameters", {}) for env, conf in config.items() if isinstance(conf, dict)}
    for env, deploy in envs.items():
        overrides = dict(re.findall(r'(\w+)="([^"]*)"', deploy.get("parameter_overrides", "")))
        for name in overrides:
            if name not in params:
                problems.append(f"{path} [{env}]: parameter_overrides sets {name}, which the template does not declare")
        fn_s = int(overrides.get("TimeoutSeconds", params["TimeoutSeconds"]["Default"]))
        integ_ms = int(overrides.get("RestIntegrationTimeoutMs", params["RestIntegrationTimeoutMs"]["Default"]))
        if integ_ms > fn_s * 1000:
            problems.append(f"{path} [{env}]: RestIntegrationTimeoutMs {integ_ms} exceeds TimeoutSeconds {fn_s} x 1000")
    return problems


def of_type(resources, kind):
    return {name: r for name, r in resources.items() if r["Type"] == kind}


def check_blast_radius(resources):
    problems = []
    for name, fn in of_type(resources, "AWS::Lambda::Function").items():
        if "ReservedConcurrentExecutions" not in fn["Properties"]:
            problems.append(f"{name}: no ReservedConcurrentExecutions")
    for name, stage in of_type(resources, "AWS::ApiGateway::Stage").items():
        props = stage["Properties"]
        throttled = [m for m in props.get("MethodSettings", []) if m.get("ResourcePath") == "/*"
                     and m.get("HttpMethod") == "*" and "ThrottlingRateLimit" in m and "ThrottlingBurstLimit" in m]
        if not throttled:
            problems.append(f"{name}: no stage-wide throttling (MethodSettings /* * with rate and burst)")
        access = props.get("AccessLogSetting", {}).get("Fn::If", [None, {}])[1]
        try:
            fields = json.loads(access.get("Format", ""))
        except ValueError as e:
            problems.append(f"{name}: access log format is not JSON: {e}")
            continue
        if "apiKey" in json.dumps(fields) or "status" not in fields:
            problems.append(f"{name}: access log format {fields} must log status and never the API key")
    for name, stream in of_type(resources, "AWS::KinesisFirehose::DeliveryStream").items():
        opts = stream["Properties"]["ExtendedS3DestinationConfiguration"].get("CloudWatchLoggingOptions")
        if not opts:
            problems.append(f"{name}: no CloudWatchLoggingOptions")
    return problems


NS = json.dumps({"Ref": "MetricsNamespace"})
# (namespace, metric, dimension value) each alarm set must watch; None: no dimension.
REQUIRED_ALARM_METRICS = {
    ("AWS/Lambda", "Errors", "GatewayFunction"): "Lambda errors",
    ("AWS/Lambda", "Throttles", "GatewayFunction"): "Lambda throttles",
    (NS, "UndeliveredUsageRecords", None): "the undelivered-usage marker",
    ("AWS/Firehose", "DeliveryToS3.Success", "UsageStream"): "usage delivery failures",
    ("AWS/Firehose", "DeliveryToS3.Success", "UndeliveredUsageStream"): "undelivered-usage delivery failures",
    ("AWS/DynamoDB", "ReadThrottleEvents", "KeysTable"): "keys table throttles",
    ("AWS/DynamoDB", "WriteThrottleEvents", "RateLimitTable"): "rate-limit table throttles",
    (NS, "Upstream5xx", None): "the upstream 5xx rate",
    (NS, "Requests", None): "the upstream 5xx rate's denominator",
}
ALARM_ACTIONS = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}


def alarm_metrics(props):
    """The (namespace, metric, dimension value) triples an alarm reads, simple or metric math."""
    metrics = [props] if "MetricName" in props else [m["MetricStat"]["Metric"] for m in props.get("Metrics", []) if "MetricStat" in m]
    out = set()
    for m in metrics:
        ns = m["Namespace"] if isinstance(m["Namespace"], str) else json.dumps(m["Namespace"])
        dims = m.get("Dimensions", [])
        value = dims[0]["Value"].get("Ref") if dims and isinstance(dims[0]["Value"], dict) else None
        out.add((ns, m["MetricName"], value))
    return out


def check_alarms(resources):
    alarms = of_type(resources, "AWS::CloudWatch::Alarm")
    problems, watched = [], set()
    for name, alarm in alarms.items():
        props = alarm["Properties"]
        watched |= alarm_metrics(props)
        for key in ("AlarmActions", "OKActions"):
            if props.get(key) != ALARM_ACTIONS:
                problems.append(f"{name}: {key} is {props.get(key)!r}, want the AlarmTopicArn when set")
        if props.get("TreatMissingData") != "notBreaching":
            problems.append(f"{name}: TreatMissingData must be notBreaching (no traffic is no outage)")
    for metric, what in REQUIRED_ALARM_METRICS.items():
        if metric not in watched:
            problems.append(f"no alarm on {what} {metric}")
    return alarms, problems


DASHBOARD_WIDGETS = ["Alarms", "Calls", "Errors", "Errors by class", "Latency and time to first byte (ms)",
                     "Concurrency", "Tokens by route and model", "Cost (USD) by route and model", "Usage records to S3"]


def check_dashboard(resources, alarms):
    """The body must be JSON once CloudFormation substitutes it, show the README's widgets and
    list every alarm."""
    boards = of_type(resources, "AWS::CloudWatch::Dashboard")
    if len(boards) != 1:
        return [f"want one dashboard, found {len(boards)}"]
    body = next(iter(boards.values()))["Properties"]["DashboardBody"]["Fn::Sub"]
    refs = set(re.findall(r"\$\{([A-Za-z0-9:.]+)\}", body))
    missing = {r.split(".")[0] for r in refs if not r.startswith("AWS::")} - set(resources) - {
        "MetricsNamespace", "Stage"}
    substituted = re.sub(r"\$\{([A-Za-z0-9:.]+)\}", lambda m: m.group(1).replace(":", "_"), body)
    substituted = substituted.replace("${!", "${")
    try:
        widgets = json.loads(substituted)["widgets"]
    except ValueError as e:
        return [f"dashboard body is not JSON after substitution: {e}"]
    problems = [f"dashboard references unknown {sorted(missing)}"] if missing else []
    titles = [w["properties"].get("title") for w in widgets]
    if titles != DASHBOARD_WIDGETS:
        problems.append(f"dashboard widgets {titles}, want {DASHBOARD_WIDGETS}")
    listed = {a.split(".")[0] for a in re.findall(r"\$\{(\w+)\.Arn\}", body)}
    if listed != set(alarms):
        problems.append(f"dashboard alarm widget lists {sorted(listed)}, want every alarm {sorted(alarms)}")
    return problems


def check_undelivered_path(resources):
    """Function log group -> subscription filter (the fallback lines only) -> a stream that
    decompresses, extracts the messages and delimits records -> the usage prefix."""
    subs = of_type(resources, "AWS::Logs::SubscriptionFilter")
    metric_filters = of_type(resources, "AWS::Logs::MetricFilter")
    if len(subs) != 1 or len(metric_filters) != 1:
        return [f"want one subscription filter and one metric filter, found {len(subs)} and {len(metric_filters)}"]
    sub, mf = next(iter(subs.values()))["Properties"], next(iter(metric_filters.values()))["Properties"]
    problems = []
    if sub["FilterPattern"] != mf["FilterPattern"] or sub["LogGroupName"] != {"Ref": "GatewayLogGroup"}:
        problems.append("the subscription filter and the metric filter must use one pattern on GatewayLogGroup")
    stream_name = sub["DestinationArn"]["Fn::GetAtt"][0]
    dest = resources[stream_name]["Properties"]["ExtendedS3DestinationConfiguration"]
    procs = [(p["Type"], {q["ParameterName"]: q["ParameterValue"] for q in p.get("Parameters", [])})
             for p in dest.get("ProcessingConfiguration", {}).get("Processors", [])]
    want = [("Decompression", {"CompressionFormat": "GZIP"}),
            ("CloudWatchLogProcessing", {"DataMessageExtraction": "true"}), ("AppendDelimiterToRecord", {})]
    if procs != want or dest.get("ProcessingConfiguration", {}).get("Enabled") is not True:
        problems.append(f"{stream_name}: processors {procs}, want {want}")
    usage = resources["UsageStream"]["Properties"]["ExtendedS3DestinationConfiguration"]
    if stream_name == "UsageStream" or dest["Prefix"] != usage["Prefix"] or dest["BucketARN"] != usage["BucketARN"]:
        problems.append(f"{stream_name}: must be its own stream writing to UsageStream's bucket and prefix")
    role = resources[sub["RoleArn"]["Fn::GetAtt"][0]]["Properties"]
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    stmts = [st for pol in role["Policies"] for st in pol["PolicyDocument"]["Statement"]]
    if trust["Principal"] != {"Service": "logs.amazonaws.com"} or "aws:SourceArn" not in json.dumps(trust.get("Condition")):
        problems.append("the subscription role must trust logs.amazonaws.com for this account's log groups only")
    if stmts != [{"Effect": "Allow", "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"],
                  "Resource": {"Fn::GetAtt": [stream_name, "Arn"]}}]:
        problems.append(f"the subscription role may only put records into {stream_name}: {stmts}")
    return problems


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
