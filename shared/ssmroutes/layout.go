// Package ssmroutes keeps the route table in SSM Parameter Store, one parameter per route, so a
// route changes without a redeploy. Source serves the table to the proxy from a TTL cache and
// keeps serving the last good one when SSM fails; the CLI uses the same layout to push a
// LiteLLM config file.
//
// Layout under a prefix P (e.g. /llm-gateway-prod):
//
//	P/settings          {"master_key":"os.environ/LITELLM_MASTER_KEY","pass_through_request_timeout":600}
//	P/routes/<route-id> one pass_through_endpoints entry as JSON, in LiteLLM's field names
package ssmroutes

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/passthru/gateway/shared/config"
)

// Size limits of a parameter value: Standard tier 4 KB, Advanced 8 KB.
const (
	StandardLimit = 4096
	AdvancedLimit = 8192
)

// Tier picks the cheapest tier a value fits in.
func Tier(value string) (types.ParameterTier, error) {
	switch n := len(value); {
	case n <= StandardLimit:
		return types.ParameterTierStandard, nil
	case n <= AdvancedLimit:
		return types.ParameterTierAdvanced, nil
	default:
		return "", fmt.Errorf("value is %d bytes, over SSM's %d-byte limit (Advanced tier)", n, AdvancedLimit)
	}
}

// NormalizePrefix returns the prefix with one leading slash and no trailing one.
func NormalizePrefix(p string) string { return "/" + strings.Trim(p, "/") }

// base is the prefix names are built on: "" for the root prefix, so names never start "//".
func base(prefix string) string { return strings.TrimSuffix(NormalizePrefix(prefix), "/") }

// SettingsName is the parameter holding general_settings.
func SettingsName(prefix string) string { return base(prefix) + "/settings" }

// RouteName is the parameter holding the route with the given id.
func RouteName(prefix, id string) string { return routesDir(prefix) + id }

// routesDir is the path under which the routes are stored, with its trailing slash.
func routesDir(prefix string) string { return base(prefix) + "/routes/" }

// Settings is general_settings as stored in the settings parameter.
type Settings struct {
	MasterKey      string  `json:"master_key,omitempty"`
	RequestTimeout float64 `json:"pass_through_request_timeout,omitempty"`
	// IncludeCostInStreamingUsage is litellm_settings.include_cost_in_streaming_usage.
	IncludeCostInStreamingUsage bool `json:"include_cost_in_streaming_usage,omitempty"`
	// ModelPrices are the config's top-level model_prices.
	ModelPrices map[string]config.ModelPrice `json:"model_prices,omitempty"`
	// CORS is general_settings.cors.
	CORS *StoredCORS `json:"cors,omitempty"`
	// DisabledProviderRoutes is general_settings.disabled_provider_routes.
	DisabledProviderRoutes []string `json:"disabled_provider_routes,omitempty"`
	// DefaultVertexConfig is the config's top-level default_vertex_config.
	DefaultVertexConfig *StoredVertex `json:"default_vertex_config,omitempty"`
	// ModelList is the config's model_list as the adapter reads it (the backends of
	// target: custom_callbacks.anthropic_adapter), in LiteLLM's shape.
	ModelList []StoredModel `json:"model_list,omitempty"`
	// Guardrails are the top-level guardrails definitions, in LiteLLM's shape.
	Guardrails []StoredGuardrail `json:"guardrails,omitempty"`
	// ProviderRouteGuardrails is general_settings.provider_route_guardrails.
	ProviderRouteGuardrails map[string][]config.Guardrail `json:"provider_route_guardrails,omitempty"`
	// ProviderRouteGuardrailStreaming is general_settings.provider_route_guardrail_streaming.
	ProviderRouteGuardrailStreaming []string `json:"provider_route_guardrail_streaming,omitempty"`
}

// StoredVertex is default_vertex_config as stored, in LiteLLM's field names. The service
// account belongs in Secrets Manager: vertex_credentials is then an os.environ/ reference
// (`gatewayctl routes push` refuses the JSON itself in a String parameter).
type StoredVertex struct {
	Project     string `json:"vertex_project,omitempty"`
	Location    string `json:"vertex_location,omitempty"`
	Credentials string `json:"vertex_credentials,omitempty"`
}

func storeVertex(v *config.VertexConfig) *StoredVertex {
	if v == nil {
		return nil
	}
	return &StoredVertex{Project: v.Project, Location: v.Location, Credentials: v.Credentials}
}

// config returns the setting, validated as the config file's is; nil when unset.
func (v *StoredVertex) config() (*config.VertexConfig, error) {
	if v == nil || *v == (StoredVertex{}) {
		return nil, nil
	}
	c := &config.VertexConfig{Project: v.Project, Location: v.Location, Credentials: v.Credentials}
	return c, c.Check()
}

// StoredModel is one model_list entry as stored.
type StoredModel struct {
	ModelName     string       `json:"model_name"`
	LiteLLMParams StoredParams `json:"litellm_params"`
}

// StoredParams are the litellm_params the adapter reads.
type StoredParams struct {
	Model   string `json:"model"`
	APIBase string `json:"api_base,omitempty"`
	APIKey  string `json:"api_key,omitempty"`
}

func storeModels(models []config.Model) []StoredModel {
	var out []StoredModel
	for _, m := range models {
		out = append(out, StoredModel{ModelName: m.Name, LiteLLMParams: StoredParams{Model: m.Model, APIBase: m.APIBase, APIKey: m.APIKey}})
	}
	return out
}

// StoredGuardrail is one guardrail definition as stored: LiteLLM's guardrail_name and
// litellm_params, so the settings read like the config file.
type StoredGuardrail struct {
	Name   string         `json:"guardrail_name"`
	Params map[string]any `json:"litellm_params"`
}

func storeGuardrails(defs []config.GuardrailDef) []StoredGuardrail {
	var out []StoredGuardrail
	for _, d := range defs {
		out = append(out, StoredGuardrail{Name: d.Name, Params: d.Params})
	}
	return out
}

// models returns the stored entries, validated as the config file's are.
func (s *Settings) models() ([]config.Model, error) {
	var out []config.Model
	for _, m := range s.ModelList {
		out = append(out, config.Model{Name: m.ModelName, Model: m.LiteLLMParams.Model, APIBase: m.LiteLLMParams.APIBase, APIKey: m.LiteLLMParams.APIKey})
	}
	return out, config.CheckModels(out)
}

// guardrailDefs validates stored definitions as the config file's are.
func guardrailDefs(stored []StoredGuardrail) ([]config.GuardrailDef, error) {
	var out []config.GuardrailDef
	for i, g := range stored {
		d, err := config.NewGuardrailDef(g.Name, g.Params)
		if err != nil {
			return nil, fmt.Errorf("guardrails[%d]: %w", i, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// StoredCORS is general_settings.cors as stored, max_age in seconds as in the config file.
type StoredCORS struct {
	AllowOrigins []string `json:"allow_origins"`
	MaxAge       float64  `json:"max_age,omitempty"`
}

func storeCORS(c *config.CORS) *StoredCORS {
	if c == nil {
		return nil
	}
	return &StoredCORS{AllowOrigins: c.AllowOrigins, MaxAge: c.MaxAge.Seconds()}
}

// config returns the setting; a stored one without origins (edited by hand) is none.
func (c *StoredCORS) config() *config.CORS {
	if c == nil || len(c.AllowOrigins) == 0 {
		return nil
	}
	age := time.Duration(c.MaxAge * float64(time.Second))
	if age <= 0 {
		age = config.DefaultCORSMaxAge
	}
	return &config.CORS{AllowOrigins: c.AllowOrigins, MaxAge: age}
}

// SettingsOf extracts the stored settings from a configuration.
func SettingsOf(cfg *config.Config) Settings {
	return Settings{MasterKey: cfg.MasterKey, RequestTimeout: cfg.RequestTimeout.Seconds(),
		IncludeCostInStreamingUsage: cfg.IncludeCostInStreamingUsage, ModelPrices: cfg.ModelPrices, CORS: storeCORS(cfg.CORS),
		DisabledProviderRoutes: cfg.DisabledProviderRoutes, DefaultVertexConfig: storeVertex(cfg.Vertex), ModelList: storeModels(cfg.Models),
		Guardrails: storeGuardrails(cfg.Guardrails), ProviderRouteGuardrails: cfg.ProviderRouteGuardrails,
		ProviderRouteGuardrailStreaming: cfg.ProviderRouteGuardrailStreaming}
}

// Parameter is one stored parameter.
type Parameter struct {
	Name    string
	Value   string
	Version int64
}

// API is the part of the SSM client the package reads with.
type API interface {
	GetParametersByPath(ctx context.Context, in *ssm.GetParametersByPathInput, opts ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error)
}

// List reads every parameter under prefix: recursively, decrypted, all pages.
func List(ctx context.Context, api API, prefix string) ([]Parameter, error) {
	var out []Parameter
	pages := ssm.NewGetParametersByPathPaginator(api, &ssm.GetParametersByPathInput{
		Path: aws.String(NormalizePrefix(prefix)), Recursive: aws.Bool(true), WithDecryption: aws.Bool(true),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list parameters under %s: %w", NormalizePrefix(prefix), err)
		}
		for _, p := range page.Parameters {
			out = append(out, Parameter{Name: aws.ToString(p.Name), Value: aws.ToString(p.Value), Version: p.Version})
		}
	}
	return out, nil
}

// settingsJSON renders settings for storage.
func settingsJSON(s Settings) string {
	b, _ := json.Marshal(s)
	return string(b)
}
