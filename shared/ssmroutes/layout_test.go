package ssmroutes_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/ssmroutes"
)

func TestTier(t *testing.T) {
	tests := []struct {
		size    int
		want    types.ParameterTier
		wantErr string
	}{
		{0, types.ParameterTierStandard, ""},
		{1, types.ParameterTierStandard, ""},
		{4096, types.ParameterTierStandard, ""},
		{4097, types.ParameterTierAdvanced, ""},
		{8192, types.ParameterTierAdvanced, ""},
		{8193, "", "value is 8193 bytes, over SSM's 8192-byte limit (Advanced tier)"},
		{100000, "", "value is 100000 bytes, over SSM's 8192-byte limit (Advanced tier)"},
	}
	for _, tt := range tests {
		got, err := ssmroutes.Tier(strings.Repeat("x", tt.size))
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if got != tt.want || gotErr != tt.wantErr {
			t.Errorf("Tier(%d bytes) = %q, %q; want %q, %q", tt.size, got, gotErr, tt.want, tt.wantErr)
		}
	}
	if ssmroutes.StandardLimit != 4096 || ssmroutes.AdvancedLimit != 8192 {
		t.Errorf("limits = %d, %d; want 4096, 8192", ssmroutes.StandardLimit, ssmroutes.AdvancedLimit)
	}
}

// Tier counts bytes, which is what SSM limits, not runes.
func TestTierCountsBytes(t *testing.T) {
	v := strings.Repeat("é", 2049) // 4098 bytes, 2049 runes
	if got, err := ssmroutes.Tier(v); err != nil || got != types.ParameterTierAdvanced {
		t.Errorf("Tier(2049 × é) = %q, %v; want Advanced", got, err)
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		prefix, norm, settings, route string
	}{
		{"gw", "/gw", "/gw/settings", "/gw/routes/v1-rerank"},
		{"/gw", "/gw", "/gw/settings", "/gw/routes/v1-rerank"},
		{"/gw/", "/gw", "/gw/settings", "/gw/routes/v1-rerank"},
		{"gw/", "/gw", "/gw/settings", "/gw/routes/v1-rerank"},
		{"//gw//", "/gw", "/gw/settings", "/gw/routes/v1-rerank"},
		{"/llm-gateway-prod/eu", "/llm-gateway-prod/eu", "/llm-gateway-prod/eu/settings", "/llm-gateway-prod/eu/routes/v1-rerank"},
	}
	for _, tt := range tests {
		if got := ssmroutes.NormalizePrefix(tt.prefix); got != tt.norm {
			t.Errorf("NormalizePrefix(%q) = %q, want %q", tt.prefix, got, tt.norm)
		}
		if got := ssmroutes.SettingsName(tt.prefix); got != tt.settings {
			t.Errorf("SettingsName(%q) = %q, want %q", tt.prefix, got, tt.settings)
		}
		if got := ssmroutes.RouteName(tt.prefix, "v1-rerank"); got != tt.route {
			t.Errorf("RouteName(%q, v1-rerank) = %q, want %q", tt.prefix, got, tt.route)
		}
	}
}

func TestSettingsOf(t *testing.T) {
	res := config.Parse([]byte(`
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  pass_through_request_timeout: 90.5
  pass_through_endpoints:
    - {path: /a, target: "https://a.example", auth: true}
`))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	got := ssmroutes.SettingsOf(res.Config)
	want := ssmroutes.Settings{MasterKey: "os.environ/LITELLM_MASTER_KEY", RequestTimeout: 90.5}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SettingsOf = %+v, want %+v", got, want)
	}
}

func TestListPagesRecursiveDecrypted(t *testing.T) {
	f := newFakeSSM()
	f.pageSize = 3
	names := []string{
		"/gw/routes/a", "/gw/routes/b", "/gw/routes/c", "/gw/routes/d", "/gw/routes/e",
		"/gw/routes/nested/f", "/gw/settings",
	}
	for _, n := range names {
		f.set(n, "v:"+n)
	}
	f.set("/gw/routes/a", "v2:/gw/routes/a")
	f.set("/gwx/routes/a", "another stack")
	f.set("/other/settings", "another stack")
	f.mu.Lock()
	f.setLocked("/gw/secure", "plain text", types.ParameterTypeSecureString)
	f.mu.Unlock()

	got, err := ssmroutes.List(context.Background(), f, "gw/")
	if err != nil {
		t.Fatal(err)
	}
	want := []ssmroutes.Parameter{
		{Name: "/gw/routes/a", Value: "v2:/gw/routes/a", Version: 2},
		{Name: "/gw/routes/b", Value: "v:/gw/routes/b", Version: 1},
		{Name: "/gw/routes/c", Value: "v:/gw/routes/c", Version: 1},
		{Name: "/gw/routes/d", Value: "v:/gw/routes/d", Version: 1},
		{Name: "/gw/routes/e", Value: "v:/gw/routes/e", Version: 1},
		{Name: "/gw/routes/nested/f", Value: "v:/gw/routes/nested/f", Version: 1},
		{Name: "/gw/secure", Value: "plain text", Version: 1},
		{Name: "/gw/settings", Value: "v:/gw/settings", Version: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("List =\n%+v\nwant\n%+v", got, want)
	}
	if len(f.gets) != 3 {
		t.Fatalf("GetParametersByPath calls = %d, want 3 (8 parameters, 3 per page)", len(f.gets))
	}
	for i, in := range f.gets {
		wantToken := []string{"", "3", "6"}[i]
		if aws.ToString(in.Path) != "/gw" || !aws.ToBool(in.Recursive) || !aws.ToBool(in.WithDecryption) || aws.ToString(in.NextToken) != wantToken {
			t.Errorf("call %d: Path %q Recursive %v WithDecryption %v NextToken %q; want /gw true true %q",
				i, aws.ToString(in.Path), aws.ToBool(in.Recursive), aws.ToBool(in.WithDecryption), aws.ToString(in.NextToken), wantToken)
		}
	}
}

func TestListEmpty(t *testing.T) {
	f := newFakeSSM()
	got, err := ssmroutes.List(context.Background(), f, "/gw")
	if err != nil || got != nil {
		t.Errorf("List of nothing = %v, %v; want nil, nil", got, err)
	}
	if len(f.gets) != 1 {
		t.Errorf("calls = %d, want 1", len(f.gets))
	}
}

func TestListErrors(t *testing.T) {
	throttled := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	tests := []struct {
		name      string
		setup     func(*fakeSSM)
		wantCalls int
	}{
		{"first page", func(f *fakeSSM) { f.err = throttled }, 1},
		{"second page", func(f *fakeSSM) { f.errOnToken, f.errPage = "10", throttled }, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSSM()
			for i := range 15 {
				f.set(ssmroutes.RouteName("gw", string(rune('a'+i))), "x")
			}
			tt.setup(f)
			got, err := ssmroutes.List(context.Background(), f, "gw")
			if got != nil {
				t.Errorf("List returned %d parameters with an error; want none", len(got))
			}
			if err == nil || err.Error() != "list parameters under /gw: api error ThrottlingException: Rate exceeded" {
				t.Errorf("err = %v", err)
			}
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ThrottlingException" {
				t.Errorf("err does not wrap the API error: %#v", err)
			}
			if len(f.gets) != tt.wantCalls {
				t.Errorf("calls = %d, want %d", len(f.gets), tt.wantCalls)
			}
		})
	}
}
