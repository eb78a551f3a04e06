package main

import (
	"bufio"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/passthru/gateway/shared/usage"
)

// template.yaml is CloudFormation YAML (with !Ref, !Sub, ... tags), read as a node tree so the
// tags need no special handling.
func loadTemplate(t *testing.T) *yaml.Node {
	t.Helper()
	b, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	return doc.Content[0]
}

// child returns the value of key in mapping node m, or nil.
func child(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// keys returns mapping node m's keys in order, each with its value.
func keys(m *yaml.Node) ([]string, map[string]*yaml.Node) {
	var names []string
	values := map[string]*yaml.Node{}
	for i := 0; m != nil && i+1 < len(m.Content); i += 2 {
		names = append(names, m.Content[i].Value)
		values[m.Content[i].Value] = m.Content[i+1]
	}
	return names, values
}

var tableRow = regexp.MustCompile("^\\| `([A-Za-z0-9]+)` \\| ([^|]*) \\|")

// readmeTable returns the rows of the Markdown table under heading in README.md: the first
// column's name and the second column, trimmed.
func readmeTable(t *testing.T, heading string) ([]string, map[string]string) {
	t.Helper()
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	second := map[string]string{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == heading:
			in = true
		case in && strings.HasPrefix(line, "#"):
			in = false
		case in:
			if m := tableRow.FindStringSubmatch(line); m != nil {
				names = append(names, m[1])
				second[m[1]] = strings.TrimSpace(m[2])
			}
		}
	}
	if len(names) == 0 {
		t.Fatalf("README.md has no table under %q", heading)
	}
	return names, second
}

// The README's parameter table must list exactly the template's parameters, in order, with
// their defaults: an operator reads the table, not the template.
func TestReadmeParameterTableMatchesTemplate(t *testing.T) {
	params, values := keys(child(loadTemplate(t), "Parameters"))
	rows, defaults := readmeTable(t, "#### Template parameters")
	if !slices.Equal(rows, params) {
		t.Errorf("README parameter table lists\n%v\ntemplate.yaml declares\n%v", rows, params)
	}
	for _, name := range params {
		d := child(values[name], "Default")
		if d == nil {
			t.Errorf("parameter %s has no default", name)
			continue
		}
		want := "`" + d.Value + "`"
		if d.Value == "" {
			want = "(empty)"
		}
		if got, ok := defaults[name]; ok && got != want {
			t.Errorf("README default of %s is %s, template.yaml says %s", name, got, want)
		}
	}
}

func TestReadmeOutputTableMatchesTemplate(t *testing.T) {
	outputs, _ := keys(child(loadTemplate(t), "Outputs"))
	rows, _ := readmeTable(t, "#### Stack outputs")
	if !slices.Equal(rows, outputs) {
		t.Errorf("README output table lists\n%v\ntemplate.yaml declares\n%v", rows, outputs)
	}
}

// The metric filter (alarm) and the subscription filter (S3) must select exactly the lines
// the usage package writes for an undelivered record.
func TestTemplateFiltersMatchUndeliveredLines(t *testing.T) {
	names, resources := keys(child(loadTemplate(t), "Resources"))
	found := 0
	for _, name := range names {
		typ := child(resources[name], "Type").Value
		if typ != "AWS::Logs::SubscriptionFilter" && typ != "AWS::Logs::MetricFilter" {
			continue
		}
		found++
		if got := child(child(resources[name], "Properties"), "FilterPattern").Value; got != usage.UndeliveredFilterPattern {
			t.Errorf("%s FilterPattern %q, want usage.UndeliveredFilterPattern %q", name, got, usage.UndeliveredFilterPattern)
		}
	}
	if found != 2 {
		t.Errorf("found %d log filters, want the metric filter and the subscription filter", found)
	}
}

// The README's Settings table lists exactly the variables the function reads: settingsFromEnv
// is asked with a getenv that notes every name.
func TestReadmeSettingsTableMatchesSettings(t *testing.T) {
	var read []string
	if _, err := settingsFromEnv(func(k string) string { read = append(read, k); return "" }); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(b), "\n### Settings\n")
	section, _, _ = strings.Cut(section, "\n#")
	var rows []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(GATEWAY_[A-Z_]+)` \\|").FindAllStringSubmatch(section, -1) {
		rows = append(rows, m[1])
	}
	slices.Sort(read)
	read = slices.Compact(read)
	slices.Sort(rows)
	if !slices.Equal(rows, read) {
		t.Errorf("README Settings table lists\n%v\nthe function reads\n%v", rows, read)
	}
}
