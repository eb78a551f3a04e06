package main

import (
	"context"
	"fmt"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
)

// The template's outputs that hold the two front doors (template.yaml, Outputs).
const (
	outputFunctionURL = "FunctionUrl"
	outputAPIURL      = "ApiUrl"
)

// stackURLs reads the front doors from a deployed stack's outputs, with the standard AWS
// credential chain (AWS_ENDPOINT_URL points it at moto in the tests).
func stackURLs(ctx context.Context, stack string) (functionURL, apiURL string, err error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return "", "", fmt.Errorf("AWS configuration: %w", err)
	}
	out, err := cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: &stack})
	if err != nil {
		return "", "", fmt.Errorf("read the outputs of stack %s: %w", stack, err)
	}
	if len(out.Stacks) != 1 {
		return "", "", fmt.Errorf("stack %s: %d stacks found", stack, len(out.Stacks))
	}
	for _, o := range out.Stacks[0].Outputs {
		switch deref(o.OutputKey) {
		case outputFunctionURL:
			functionURL = deref(o.OutputValue)
		case outputAPIURL:
			apiURL = deref(o.OutputValue)
		}
	}
	if functionURL == "" && apiURL == "" {
		return "", "", fmt.Errorf("stack %s has neither a %s nor an %s output", stack, outputFunctionURL, outputAPIURL)
	}
	return functionURL, apiURL, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
