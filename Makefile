# The LLM pass-through gateway. `make run` serves local/config.yaml on 127.0.0.1:4000 with the
# bundled mock upstream; `make test` runs every test. See README.md.

# Demo credentials for local/config.yaml, for `make run` and `make demo` only (so `make validate`
# still reports a variable you forgot); export real ones to override.
run demo: export LITELLM_MASTER_KEY ?= sk-1234
run demo: export COHERE_API_KEY ?= co-local-demo-key
run demo: export LANGFUSE_PUBLIC_KEY ?= pk-lf-local-demo
run demo: export LANGFUSE_SECRET_KEY ?= sk-lf-local-demo
run demo: export ANTHROPIC_API_KEY ?= sk-ant-local-demo
run demo: export OPENAI_API_KEY ?= sk-openai-local-demo

CONFIG ?= local/config.yaml
ADDR ?= 127.0.0.1:4000
MOCK_ADDR ?= 127.0.0.1:4010
FUZZTIME ?= 30s
LAMBDA_CONFIG ?= functions/gateway/config.yaml
ENV ?= default
EVENT ?= events/rest-rerank.json
GO_LAMBDA_BUILD = CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -tags lambda.norpc -trimpath -ldflags "-s -w"

.PHONY: run test demo validate bench lambda-bench fuzz lint template-check build bootstrap build-GatewayFunction deploy invoke start-api clean

## run: the gateway on $(ADDR) with $(CONFIG), and the mock upstream on $(MOCK_ADDR) (ARGS=--detailed-debug for request logs)
run:
	@mkdir -p bin && go build -o bin/mockupstream ./local/mockupstream && go build -o bin/gateway ./local/gateway
	@bin/mockupstream -addr $(MOCK_ADDR) & mock=$$!; trap 'kill $$mock 2>/dev/null' EXIT INT TERM; \
	bin/gateway -config $(CONFIG) -addr $(ADDR) -usage-log local/usage.jsonl $(ARGS)

## test: every test, with the race detector
test:
	go test -race -count=1 ./...

## demo: start the mock upstream and the gateway, send a rerank call and a streamed call, show the answers
demo:
	go run ./local/demo

## validate: check $(CONFIG) without serving it
validate:
	go run ./local/gateway validate $(CONFIG)

## bench: direct call vs gateway vs bare httputil.ReverseProxy, side by side on loopback
bench:
	go run ./local/bench

## fuzz: fuzz the subpath join for $(FUZZTIME)
fuzz:
	go test ./shared/route -run '^$$' -fuzz FuzzJoinSubpath -fuzztime $(FUZZTIME)

## lint: gofmt and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...

## lambda-bench: artifact size, cold start under a fake Runtime API, and per-invocation cost
lambda-bench:
	go test -count=1 -run TestArtifactSize -v ./functions/gateway
	go test -run '^$$' -bench . -benchtime 20x ./functions/gateway
	go test -run '^$$' -bench . -benchmem ./shared/lambdahttp

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

## deploy: sam build && sam deploy with samconfig.toml's ENV (default or prod)
deploy:
	sam build && sam deploy --config-env $(ENV)

## invoke: sam local invoke GatewayFunction -e $(EVENT) (buffered: sam local cannot stream)
invoke:
	sam local invoke GatewayFunction -e $(EVENT) --env-vars local/env.json

## start-api: sam local start-api on the REST events (buffered)
start-api:
	sam local start-api --env-vars local/env.json

clean:
	rm -rf bin .aws-sam local/usage.jsonl
