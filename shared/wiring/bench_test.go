package wiring_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/motoserver"
	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/ssmroutes"
	"github.com/passthru/gateway/shared/wiring"
)

const benchConfig = `
general_settings:
  master_key: os.environ/MASTER
  pass_through_endpoints:
    - {path: /x, target: "%s/x", auth: true, headers: {Authorization: "Bearer os.environ/K"}}
`

// BenchmarkRequest is one proxied call with routes and keys from a file and the environment,
// and with routes from SSM and keys from Secrets Manager once their caches are warm: the AWS
// sources must add nothing measurable to a request (no AWS call, map lookups only).
func BenchmarkRequest(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer up.Close()
	yaml := strings.Replace(benchConfig, "%s", up.URL, 1)
	b.Run("file+env", func(b *testing.B) {
		b.Setenv("MASTER", "sk-bench")
		b.Setenv("K", "provider-key")
		src, err := wiring.OpenSources(context.Background(), wiring.SourceOptions{ConfigYAML: yaml}, quiet)
		if err != nil {
			b.Fatal(err)
		}
		benchRequests(b, src)
	})
	b.Run("ssm+secretsmanager/warm", func(b *testing.B) {
		motoserver.Require(b)
		ctx := context.Background()
		cfg := motoserver.Config(b)
		res := config.Parse([]byte(yaml))
		stored, _ := ssmroutes.List(ctx, ssm.NewFromConfig(cfg), "/bench")
		plan, err := ssmroutes.Plan("/bench", res.Config, stored)
		if err == nil {
			err = ssmroutes.Apply(ctx, ssm.NewFromConfig(cfg), plan, false, false)
		}
		if err != nil {
			b.Fatal(err)
		}
		sm := secretsmanager.NewFromConfig(cfg)
		for name, v := range map[string]string{"bench/MASTER": "sk-bench", "bench/K": "provider-key"} {
			if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(v)}); err != nil {
				b.Fatal(err)
			}
		}
		src, err := wiring.OpenSources(ctx, wiring.SourceOptions{RoutesPrefix: "/bench", Secrets: "secretsmanager", SecretsPrefix: "bench/"}, quiet)
		if err != nil {
			b.Fatal(err)
		}
		benchRequests(b, src)
	})
}

func benchRequests(b *testing.B, src wiring.Sources) {
	h := proxy.New(src.Routes, proxy.WithKeys(src.Keys), proxy.WithSecrets(src.Secrets), proxy.WithLogger(quiet))
	call := func() {
		req := httptest.NewRequest("POST", "/x", strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer sk-bench")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	call() // warm the caches
	b.ReportAllocs()
	for b.Loop() {
		call()
	}
}
