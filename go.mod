module github.com/passthru/gateway

go 1.26

require (
	github.com/aws/aws-lambda-go v1.55.1
	github.com/google/uuid v1.6.0
	go.yaml.in/yaml/v3 v3.0.6
)

require github.com/awslabs/aws-lambda-go-api-proxy v0.16.2 // indirect
