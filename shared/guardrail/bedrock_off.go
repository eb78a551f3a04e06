//go:build noawsbackends

package guardrail

import "fmt"

// NewBedrock, in a build for local use only (-tags noawsbackends, as `make run` and `make bench`
// build bin/gateway), refuses the definition: that build leaves out the Bedrock runtime SDK,
// whose generated schemas alone are 0.4 MB of heap built at start (1 MiB of RSS in all,
// measured), and a Bedrock guardrail needs an AWS account anyway. The config then fails to load,
// saying how to build a binary that has it.
func NewBedrock(d Def, _ Deps) (Checker, error) {
	return nil, fmt.Errorf("guardrail %q: a Bedrock guardrail needs the AWS backends, which this binary was built without "+
		"(-tags noawsbackends, as `make run` builds bin/gateway): build it with `go build -o bin/gateway ./local/gateway`, "+
		"or use `make run-aws-local`", d.Name)
}
