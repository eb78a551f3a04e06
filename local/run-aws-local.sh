#!/usr/bin/env bash
# `make run-aws-local`: the gateway exactly as it runs on Lambda (routes from SSM Parameter Store,
# credentials from Secrets Manager, virtual keys and rate limits in DynamoDB) against
# moto_server, a local AWS, on loopback. It pushes local/config.yaml and its secrets with gatewayctl, starts the mock upstream, and serves on
# 127.0.0.1:4000 until interrupted. Meanwhile, in another shell with the same AWS_* variables,
# `gatewayctl routes push` changes routes live (within the 30 s cache TTL).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v moto_server >/dev/null 2>&1; then
  echo "moto_server is not installed (pip install 'moto[server]')" >&2
  exit 1
fi
port=${MOTO_PORT:-5055}
prefix=${ROUTES_PREFIX:-/llm-gateway-local}
secrets_prefix=${SECRETS_PREFIX:-llm-gateway-local/}
keys_table=${KEYS_TABLE:-llm-gateway-local-keys}
ratelimit_table=${RATELIMIT_TABLE:-llm-gateway-local-ratelimit}

mkdir -p bin
go build -o bin/gateway ./local/gateway
go build -o bin/gatewayctl ./local/gatewayctl
go build -o bin/mockupstream ./local/mockupstream

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

moto_server -H 127.0.0.1 -p "$port" >bin/moto.log 2>&1 &
moto=$!
pids+=($moto)
for _ in $(seq 1 100); do
  kill -0 "$moto" 2>/dev/null || { echo "moto_server exited (port $port busy? set MOTO_PORT); see bin/moto.log" >&2; exit 1; }
  curl -fsS "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break
  sleep 0.1
done
kill -0 "$moto" 2>/dev/null || { echo "moto_server did not start on port $port; see bin/moto.log" >&2; exit 1; }

export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
echo "moto on $AWS_ENDPOINT_URL; export AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 to use gatewayctl against it"

bin/gatewayctl routes push local/config.yaml --prefix "$prefix"
for name in LITELLM_MASTER_KEY COHERE_API_KEY LANGFUSE_PUBLIC_KEY LANGFUSE_SECRET_KEY ANTHROPIC_API_KEY OPENAI_API_KEY; do
  printf '%s' "${!name}" | bin/gatewayctl secrets set "$name" --prefix "$secrets_prefix"
done
bin/gatewayctl secrets check local/config.yaml --prefix "$secrets_prefix" | tail -1

bin/gatewayctl keys init --table "$keys_table" --ratelimit-table "$ratelimit_table"
echo "virtual keys: bin/gatewayctl keys create --alias A --rpm 10 --routes /v1/rerank --table $keys_table"

bin/mockupstream -addr "${MOCK_ADDR:-127.0.0.1:4010}" &
pids+=($!)
bin/gateway -addr "${ADDR:-127.0.0.1:4000}" -routes-prefix "$prefix" -secrets secretsmanager -secrets-prefix "$secrets_prefix" \
  -keys-table "$keys_table" -ratelimit-table "$ratelimit_table" "$@"
