# The LLM pass-through gateway. `make run` serves local/config.yaml on 127.0.0.1:4000 with the
# bundled mock upstream; `make test` runs every test. See README.md.

# Demo credentials for local/config.yaml, for `make run`, `make demo` and `make run-aws-local`
# only (so `make validate` still reports a variable you forgot); export real ones to override.
run demo run-aws-local: export LITELLM_MASTER_KEY ?= sk-1234
run demo run-aws-local: export COHERE_API_KEY ?= co-local-demo-key
run demo run-aws-local: export LANGFUSE_PUBLIC_KEY ?= pk-lf-local-demo
run demo run-aws-local: export LANGFUSE_SECRET_KEY ?= sk-lf-local-demo
run demo run-aws-local: export ANTHROPIC_API_KEY ?= sk-ant-local-demo
run demo run-aws-local: export OPENAI_API_KEY ?= sk-openai-local-demo

CONFIG ?= local/config.yaml
ADDR ?= 127.0.0.1:4000
MOCK_ADDR ?= 127.0.0.1:4010
FUZZTIME ?= 30s
LAMBDA_CONFIG ?= functions/gateway/config.yaml
ENV ?= default
STACK_default = llm-gateway-dev
STACK_prod = llm-gateway-prod
STACK ?= $(STACK_$(ENV))
ROUTES_PREFIX ?= /$(STACK)
SECRETS_PREFIX ?= $(STACK)/
EVENT ?= events/rest-rerank.json
# bin/gateway for `make run` and `make bench` leaves out the AWS SDK packages of the AWS-backed
# sources and checks (SSM, Secrets Manager, DynamoDB, Firehose, the Bedrock guardrail): ~6 MiB
# less resident memory. A setting that needs one says so at start; `make run-aws-local` builds
# the full binary.
# It is also built without cgo, as the Lambda build is: a cgo binary maps libc and the dynamic
# loader (1.3 MiB more RSS, measured) for a DNS resolver and user lookup that Go has in pure Go.
LOCAL_BUILD_TAGS = noawsbackends
LOCAL_TAGS = -tags $(LOCAL_BUILD_TAGS)
LOCAL_GO_BUILD = CGO_ENABLED=0 go build $(LOCAL_TAGS)
GO_LAMBDA_BUILD = CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -tags lambda.norpc -trimpath -ldflags "-s -w"

.PHONY: run run-aws-local routes-push secrets-check test sdk-test demo validate bench bench-no-bgread bench-profile adapter-bench lambda-bench lambda-cpu-bench keys-bench fuzz lint template-check build bootstrap build-GatewayFunction deploy smoke invoke start-api clean

## run: the gateway on $(ADDR) with $(CONFIG), and the mock upstream on $(MOCK_ADDR) (ARGS=--detailed-debug for request logs)
run:
	@mkdir -p bin && go build -o bin/mockupstream ./local/mockupstream && $(LOCAL_GO_BUILD) -o bin/gateway ./local/gateway
	@bin/mockupstream -addr $(MOCK_ADDR) & mock=$$!; trap 'kill $$mock 2>/dev/null' EXIT INT TERM; \
	bin/gateway -config $(CONFIG) -addr $(ADDR) -usage-log local/usage.jsonl $(ARGS)

## run-aws-local: the gateway as on Lambda (routes in SSM, keys in Secrets Manager) against moto on loopback
run-aws-local:
	bash local/run-aws-local.sh $(ARGS)

## test: every test, with the race detector (REQUIRE_MOTO=1 fails instead of skipping AWS tests without moto)
test:
	@command -v moto_server >/dev/null 2>&1 || echo "warning: moto_server is not on PATH: the AWS integration tests are skipped (REQUIRE_MOTO=1 makes that an error)"
	@command -v node >/dev/null 2>&1 || echo "warning: node is not on PATH: the SDK end-to-end tests (local/sdktest) are skipped (CI=true makes that an error)"
	go test -race -count=1 ./...

## sdk-test: only the providers' official npm SDKs against the built-in provider routes (Node >= 20 + npm; npm ci on first run; part of make test)
sdk-test:
	go test -count=1 -v ./local/sdktest/

## demo: start the mock upstream and the gateway, send a rerank call and a streamed call, show the answers
demo:
	go run ./local/demo

## validate: check $(CONFIG) without serving it
validate:
	go run ./local/gateway validate $(CONFIG)

## bench: bin/gateway vs nginx vs a bare httputil.ReverseProxy, each its own process, on loopback (ARGS=-quick for a smoke run; nginx: apt-get install -y nginx)
bench:
	@mkdir -p bin && $(LOCAL_GO_BUILD) -o bin/gateway ./local/gateway
	go run ./local/bench -gateway bin/gateway -chart local/bench/chart.png $(ARGS)

## bench-no-bgread: make bench against a gateway built with a copy of net/http whose server starts no background reader per request (an experiment, README round 4; never ship it: that reader is how a client who hangs up cancels the upstream call)
bench-no-bgread:
	@mkdir -p bin/overlay # the copy is not named *.go: go test ./... would take bin/overlay for a package
	@sed 's/^\tgo cr.backgroundRead()$$/\tcr.inRead = false \/\/ bench-no-bgread: no background reader/' "$$(go env GOROOT)/src/net/http/server.go" > bin/overlay/net-http-server.go.txt
	@grep -q 'bench-no-bgread: no background reader' bin/overlay/net-http-server.go.txt || { echo "bench-no-bgread: this Go's net/http/server.go has no 'go cr.backgroundRead()' line to replace" >&2; exit 2; }
	@printf '{"Replace":{"%s":"%s"}}\n' "$$(go env GOROOT)/src/net/http/server.go" "$$PWD/bin/overlay/net-http-server.go.txt" > bin/overlay/overlay.json
	$(LOCAL_GO_BUILD) -overlay bin/overlay/overlay.json -o bin/gateway-no-bgread ./local/gateway
	go run ./local/bench -gateway bin/gateway-no-bgread $(ARGS)

## bench-profile: make bench (1 round, 8 s per path at c=32) with a CPU profile of the gateway over its c=32 round, from a build with -tags pprof, then its top functions (ARGS='-gateway-env GOMAXPROCS=1', say, for a variant)
bench-profile:
	@mkdir -p bin && CGO_ENABLED=0 go build -tags $(LOCAL_BUILD_TAGS),pprof -o bin/gateway-pprof ./local/gateway
	go run ./local/bench -gateway bin/gateway-pprof -cpuprofile bin/gateway-c32.prof -rounds 1 -duration 8s $(ARGS)
	go tool pprof -top -nodecount=40 bin/gateway-pprof bin/gateway-c32.prof

## adapter-bench: the Anthropic adapter's translation cost per streamed event (budget 5 µs) and per request
adapter-bench:
	go test -run '^$$' -bench . -benchmem ./shared/adapter/anthropic

## fuzz: fuzz the subpath join, path normalisation + lookup + join, the adapter's stream translation, the guardrails' filter and fields, SSE event cutting, the usage record encoder and the built-in routes' hosts, $(FUZZTIME) each (local/fuzz.sh: Go's end-of-fuzztime deadline race with no failing input passes)
fuzz:
	local/fuzz.sh ./shared/route FuzzJoinSubpath $(FUZZTIME)
	local/fuzz.sh ./shared/route FuzzLookupJoin $(FUZZTIME)
	local/fuzz.sh ./shared/adapter/anthropic FuzzStream $(FUZZTIME)
	local/fuzz.sh ./shared/guardrail FuzzFilterAndFields $(FUZZTIME)
	local/fuzz.sh ./shared/providers FuzzSSEEventsCuts $(FUZZTIME)
	local/fuzz.sh ./shared/usage FuzzAppendRecord $(FUZZTIME)
	local/fuzz.sh ./shared/builtin FuzzTargetHosts $(FUZZTIME)

## lint: gofmt and go vet, also of the local-only build (-tags noawsbackends) make run and make bench use, with its tests
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...
	go vet $(LOCAL_TAGS) ./...

## keys-bench: per-request key verification + rate limit, in memory and on moto DynamoDB
keys-bench:
	go test -run '^$$' -bench 'AuthAndLimit' -benchmem ./shared/wiring

## lambda-bench: artifact size, cold start under a fake Runtime API, and per-invocation cost
lambda-bench:
	go test -count=1 -run TestArtifactSize -v ./functions/gateway
	go test -run '^$$' -bench . -benchtime 20x ./functions/gateway
	go test -run '^$$' -bench . -benchmem ./shared/lambdahttp

## lambda-cpu-bench: the bootstrap under the CPU share Lambda gives 128/256/512/1024/1769 MB (cgroup quota; needs root)
lambda-cpu-bench:
	GATEWAY_CPU_CAP_BENCH=1 go test -count=1 -run TestLambdaUnderCPUCap -v ./functions/gateway

## template-check: cfn-lint, then the streaming settings of the SAM-transformed template
template-check:
	cfn-lint template.yaml
	python3 .ci/check_template.py template.yaml

## build: sam build (runs build-GatewayFunction, bundling LAMBDA_CONFIG as the route config)
build:
	sam build

## bootstrap: the Lambda binary in bin/bootstrap (linux/arm64), without SAM
bootstrap:
	$(GO_LAMBDA_BUILD) -o bin/bootstrap ./functions/gateway

# sam build (BuildMethod: makefile) calls this with ARTIFACTS_DIR set.
build-GatewayFunction:
	$(GO_LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/gateway
	cp $(LAMBDA_CONFIG) $(ARTIFACTS_DIR)/config.yaml

## routes-push: sync LAMBDA_CONFIG's endpoints to SSM under ROUTES_PREFIX (/$(STACK))
routes-push:
	go run ./local/gatewayctl routes push $(LAMBDA_CONFIG) --prefix $(ROUTES_PREFIX)

## secrets-check: every os.environ/ reference of LAMBDA_CONFIG exists in Secrets Manager under SECRETS_PREFIX
secrets-check:
	go run ./local/gatewayctl secrets check $(LAMBDA_CONFIG) --prefix $(SECRETS_PREFIX)

## deploy: routes push, then sam build && sam deploy with samconfig.toml's ENV (default or prod)
deploy: routes-push
	sam build && sam deploy --config-env $(ENV)

## smoke: after a deploy, check the stack's Function URL and REST API: a streamed call (each event's arrival), a rerank, a 401, a 404 (KEY=gateway key; URL= and/or API_URL=, else both from STACK's outputs)
# The key reaches the program in the environment (SMOKE_KEY), never on its command line.
smoke: export SMOKE_KEY := $(or $(KEY),$(SMOKE_KEY))
smoke:
	go run ./local/smoke $(if $(URL)$(API_URL),$(if $(URL),-url '$(URL)') $(if $(API_URL),-api-url '$(API_URL)'),-stack '$(STACK)') $(ARGS)

## invoke: sam local invoke GatewayFunction -e $(EVENT) (buffered: sam local cannot stream)
invoke:
	sam local invoke GatewayFunction -e $(EVENT) --env-vars local/env.json

## start-api: sam local start-api on the REST events (buffered)
start-api:
	sam local start-api --env-vars local/env.json

clean:
	rm -rf bin .aws-sam local/usage.jsonl
