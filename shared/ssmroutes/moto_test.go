package ssmroutes_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/passthru/gateway/shared/clocktest"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/motoserver"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/ssmroutes"
)

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m)) }

// manyRoutesYAML is a config with n routes /v1/rNN, r<changed> pointing at a v2 target.
func manyRoutesYAML(n, changed int) string {
	var b strings.Builder
	b.WriteString("general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n  pass_through_request_timeout: 120\n  pass_through_endpoints:\n")
	for i := range n {
		target := fmt.Sprintf("https://r%03d.example/v1", i)
		if i == changed {
			target = fmt.Sprintf("https://r%03d.example/v2", i)
		}
		fmt.Fprintf(&b, "    - {path: /v1/r%03d, target: %q, auth: true}\n", i, target)
	}
	return b.String()
}

// countingSSM counts the real client's GetParametersByPath calls.
type countingSSM struct {
	*ssm.Client
	gets int
}

func (c *countingSSM) GetParametersByPath(ctx context.Context, in *ssm.GetParametersByPathInput, opts ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error) {
	c.gets++
	return c.Client.GetParametersByPath(ctx, in, opts...)
}

func push(t testing.TB, ctx context.Context, api ssmroutes.WriteAPI, prefix string, cfg *config.Config, prune, secure bool) []ssmroutes.Change {
	t.Helper()
	stored, err := ssmroutes.List(ctx, api, prefix)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := ssmroutes.Plan(prefix, cfg, stored)
	if err != nil {
		t.Fatal(err)
	}
	if err := ssmroutes.Apply(ctx, api, plan, prune, secure); err != nil {
		t.Fatal(err)
	}
	return plan
}

func kinds(plan []ssmroutes.Change) map[ssmroutes.ChangeKind]int {
	out := map[ssmroutes.ChangeKind]int{}
	for _, c := range plan {
		out[c.Kind]++
	}
	return out
}

func TestMotoPushListServe(t *testing.T) {
	motoserver.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := &countingSSM{Client: ssm.NewFromConfig(motoserver.Config(t))}

	cfg := parse(t, manyRoutesYAML(25, -1))
	plan := push(t, ctx, client, "/gw", cfg, false, false)
	if got := kinds(plan); got[ssmroutes.Add] != 26 || len(got) != 1 {
		t.Fatalf("first push: %v, want 26 adds", got)
	}

	// List reads all 26 over three pages, as stored.
	client.gets = 0
	stored, err := ssmroutes.List(ctx, client, "gw")
	if err != nil {
		t.Fatal(err)
	}
	if client.gets != 3 {
		t.Errorf("List made %d GetParametersByPath calls, want 3 (26 parameters, 10 per page)", client.gets)
	}
	want, err := ssmroutes.Desired("gw", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(want) {
		t.Fatalf("List returned %d parameters, want %d", len(stored), len(want))
	}
	for _, p := range stored {
		if want[p.Name] != p.Value || p.Version != 1 {
			t.Errorf("stored %s = %q version %d; want %q version 1", p.Name, p.Value, p.Version, want[p.Name])
		}
	}

	// Pushing the same file again changes nothing.
	if got := kinds(push(t, ctx, client, "gw", cfg, true, false)); got[ssmroutes.Same] != 26 || len(got) != 1 {
		t.Errorf("second push: %v, want 26 same", got)
	}

	// A source over moto serves them.
	clock := clocktest.New()
	log, logs := newLogger()
	src := ssmroutes.New(client, "/gw", ssmroutes.WithTTL(5*time.Second), ssmroutes.WithClock(clock.Now), ssmroutes.WithLogger(log))
	tbl, err := src.Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tbl.Configured()); n != 25 {
		t.Errorf("%d routes served, want 25", n)
	}
	if got := targetOf(tbl, "/v1/r007"); got != "https://r007.example/v1" {
		t.Errorf("/v1/r007 → %q", got)
	}
	if tbl.MasterKey != "os.environ/LITELLM_MASTER_KEY" {
		t.Errorf("MasterKey = %q", tbl.MasterKey)
	}
	versions := map[string]int64{"/gw/settings": 1}
	for i := range 25 {
		versions[fmt.Sprintf("/gw/routes/v1-r%03d", i)] = 1
	}
	loaded1 := fmt.Sprintf(`level=INFO msg="route table loaded" prefix=/gw routes=25 versions="%v"`, versions)
	checkLines(t, logs, loaded1)

	// A changed target: one update, served once the TTL is up.
	changed := parse(t, manyRoutesYAML(25, 7))
	plan = push(t, ctx, client, "gw", changed, true, false)
	if got := kinds(plan); got[ssmroutes.Update] != 1 || got[ssmroutes.Same] != 25 {
		t.Errorf("changed push: %v, want 1 change and 25 same", got)
	}
	clock.Advance(4 * time.Second)
	if got := targetOf(mustTable(t, src), "/v1/r007"); got != "https://r007.example/v1" {
		t.Errorf("within the TTL /v1/r007 → %q, want the old target", got)
	}
	clock.Advance(time.Second)
	if got := targetOf(mustTable(t, src), "/v1/r007"); got != "https://r007.example/v2" {
		t.Errorf("after the TTL /v1/r007 → %q, want the new target", got)
	}
	versions["/gw/routes/v1-r007"] = 2
	checkLines(t, logs, loaded1, fmt.Sprintf(`level=INFO msg="route table loaded" prefix=/gw routes=25 versions="%v"`, versions))

	// A route dropped from the file is listed as removed and deleted only with prune.
	fewer := parse(t, manyRoutesYAML(20, 7))
	if got := kinds(push(t, ctx, client, "gw", fewer, false, false)); got[ssmroutes.Remove] != 5 {
		t.Errorf("push without prune: %v, want 5 removes", got)
	}
	if stored, _ = ssmroutes.List(ctx, client, "gw"); len(stored) != 26 {
		t.Errorf("without prune %d parameters stored, want 26", len(stored))
	}
	push(t, ctx, client, "gw", fewer, true, false)
	if stored, _ = ssmroutes.List(ctx, client, "gw"); len(stored) != 21 {
		t.Errorf("after prune %d parameters stored, want 21", len(stored))
	}
	if got := kinds(push(t, ctx, client, "gw", fewer, true, false)); got[ssmroutes.Same] != 21 || len(got) != 1 {
		t.Errorf("push after prune: %v, want 21 same", got)
	}
}

// mustTable is the table a request sees once the refresh a previous request started finished.
func mustTable(t *testing.T, src *ssmroutes.Source) *route.Table {
	t.Helper()
	if _, err := src.Table(context.Background()); err != nil {
		t.Fatal(err)
	}
	src.WaitRefresh()
	tbl, err := src.Table(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// SecureString parameters are read decrypted; a large spec is stored in the Advanced tier.
func TestMotoSecureAndAdvanced(t *testing.T) {
	motoserver.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := ssm.NewFromConfig(motoserver.Config(t))
	cfg := parse(t, `
general_settings:
  master_key: os.environ/MK
  pass_through_endpoints:
    - path: /small
      target: https://small.example
      auth: true
    - path: /large
      target: https://large.example
      auth: true
      headers: {X-Filler: "`+strings.Repeat("f", 5000)+`"}
`)
	push(t, ctx, client, "gw", cfg, false, true)
	for _, name := range []string{"/gw/settings", "/gw/routes/small", "/gw/routes/large"} {
		out, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Parameter.Type != types.ParameterTypeSecureString {
			t.Errorf("%s is %s, want SecureString", name, out.Parameter.Type)
		}
	}
	desc, err := client.DescribeParameters(ctx, &ssm.DescribeParametersInput{})
	if err != nil {
		t.Fatal(err)
	}
	tiers := map[string]types.ParameterTier{}
	for _, p := range desc.Parameters {
		tiers[aws.ToString(p.Name)] = p.Tier
	}
	if tiers["/gw/routes/small"] != types.ParameterTierStandard || tiers["/gw/routes/large"] != types.ParameterTierAdvanced {
		t.Errorf("tiers = %v", tiers)
	}
	src := ssmroutes.New(client, "gw", ssmroutes.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	tbl, err := src.Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if targetOf(tbl, "/small") != "https://small.example" || targetOf(tbl, "/large") != "https://large.example" || tbl.MasterKey != "os.environ/MK" {
		t.Errorf("decrypted table: /small → %q, /large → %q, master key %q", targetOf(tbl, "/small"), targetOf(tbl, "/large"), tbl.MasterKey)
	}
	if got := kinds(push(t, ctx, client, "gw", cfg, true, true)); got[ssmroutes.Same] != 3 || len(got) != 1 {
		t.Errorf("second push of SecureStrings: %v, want 3 same (Plan compares decrypted values)", got)
	}
}

// An invalid spec written straight into SSM skips that route only.
func TestMotoInvalidSpec(t *testing.T) {
	motoserver.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := ssm.NewFromConfig(motoserver.Config(t))
	push(t, ctx, client, "gw", parse(t, manyRoutesYAML(3, -1)), false, false)
	_, err := client.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String("/gw/routes/broken"), Value: aws.String(`{"path":"/broken","target":"gopher://x"}`), Type: types.ParameterTypeString,
		Overwrite: aws.Bool(true), // idempotent: an SDK retry of a write that landed must not fail
	})
	if err != nil {
		t.Fatal(err)
	}
	log, logs := newLogger()
	tbl, err := ssmroutes.New(client, "gw", ssmroutes.WithLogger(log)).Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(tbl.Configured()) != 3 || targetOf(tbl, "/broken") != "" {
		t.Errorf("%d routes, /broken → %q; want the 3 good ones", len(tbl.Configured()), targetOf(tbl, "/broken"))
	}
	lines := logs.Lines()
	want := `level=ERROR msg="route rejected: its spec is invalid, the other routes are served" parameter=/gw/routes/broken version=1 reason="pass_through_endpoints[0] (/broken): target: \"gopher://x\" must be an absolute http:// or https:// URL"`
	if len(lines) != 2 || lines[0] != want {
		t.Errorf("log:\n%s\nwant first line\n%s", strings.Join(lines, "\n"), want)
	}
}

// BenchmarkColdLoad200 is a cold start: a new Source reads 200 routes from moto (20 pages)
// and builds the table.
func BenchmarkColdLoad200(b *testing.B) {
	motoserver.Require(b)
	ctx := context.Background()
	client := ssm.NewFromConfig(motoserver.Config(b))
	push(b, ctx, client, "gw", parse(b, manyRoutesYAML(200, -1)), false, false)
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	b.ReportAllocs()
	for b.Loop() {
		tbl, err := ssmroutes.New(client, "gw", ssmroutes.WithLogger(discard)).Table(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if n := len(tbl.Configured()); n != 200 {
			b.Fatalf("%d routes, want 200", n)
		}
	}
}

// BenchmarkWarmTable is the per-request cost of a warm cache: no AWS call.
func BenchmarkWarmTable(b *testing.B) {
	f := newFakeSSM()
	for i := range 200 {
		f.set(fmt.Sprintf("/gw/routes/r%03d", i), spec(fmt.Sprintf("/r%03d", i), "https://r.example"))
	}
	src := ssmroutes.New(f, "gw", ssmroutes.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), ssmroutes.WithClock(clocktest.New().Now))
	ctx := context.Background()
	if _, err := src.Table(ctx); err != nil {
		b.Fatal(err)
	}
	calls := f.calls()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := src.Table(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if got := f.calls(); got != calls {
		b.Fatalf("warm Table calls made %d GetParametersByPath calls", got-calls)
	}
}
