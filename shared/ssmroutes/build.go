package ssmroutes

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/passthru/gateway/shared/builtin"
	"github.com/passthru/gateway/shared/config"
)

// Rejected is a stored route left out of the table, and why.
type Rejected struct {
	Name    string
	Version int64
	Reason  string
	// Conflict: the spec is valid but claims a path and method another route already serves.
	Conflict bool
	// Path and Subpath are what the invalid spec claims, as far as it can be read ("" when it
	// names no path), so that requests for it learn that the route exists but is invalid.
	Path    string
	Subpath bool
}

// Snapshot is a configuration built from stored parameters.
type Snapshot struct {
	Config   *config.Config
	Versions map[string]int64 // the parameter versions in use, by name
	Rejected []Rejected
	// Kept are the routes whose stored spec is invalid now but that keep their last good
	// version (see Build's lastGood).
	Kept   []Rejected
	byName map[string]config.Endpoint
}

// Build validates stored parameters into a configuration. A route whose spec is invalid is left
// out (the others are served); if lastGood served that parameter before, its last good version
// stays in instead, so a bad edit never takes a working route down. Routes are considered in
// name order, so of two that claim the same path and method the one named first wins.
func Build(prefix string, params []Parameter, lastGood *Snapshot) *Snapshot {
	s := &Snapshot{Config: &config.Config{}, Versions: map[string]int64{}, byName: map[string]config.Endpoint{}}
	dir := routesDir(prefix)
	params = slices.Clone(params) // sorted here; the caller's order is theirs
	slices.SortFunc(params, func(a, b Parameter) int { return strings.Compare(a.Name, b.Name) })
	var names []string
	for _, p := range params {
		switch {
		case p.Name == SettingsName(prefix):
			s.settings(p, lastGood)
		case strings.HasPrefix(p.Name, dir):
			e, err := parseRoute(p)
			if err == nil {
				s.add(p.Name, p.Version, e, &names)
				continue
			}
			s.reject(p, err.Error(), lastGood, &names)
		}
	}
	s.dropConflicts(names)
	s.dropUndefinedGuardrails()
	return s
}

// dropUndefinedGuardrails leaves out the routes that name a guardrail the settings do not
// define: serving them unchecked would drop a guard the operator asked for.
func (s *Snapshot) dropUndefinedGuardrails() {
	dropped := false
	kept := s.Config.Endpoints[:0]
	for name, e := range s.byName {
		if missing := s.Config.UndefinedGuardrails(e.Guardrails); len(missing) > 0 {
			r := Rejected{Name: name, Version: s.Versions[name], Path: e.Path, Subpath: e.IncludeSubpath,
				Reason: fmt.Sprintf("guardrails: %q is not defined in the settings' guardrails list", missing[0])}
			s.Rejected = append(s.Rejected, r)
			delete(s.Versions, name)
			delete(s.byName, name)
			dropped = true
		}
	}
	if !dropped {
		return
	}
	for _, e := range s.Config.Endpoints {
		if s.Config.UndefinedGuardrails(e.Guardrails) == nil {
			e.Index = len(kept)
			kept = append(kept, e)
		}
	}
	s.Config.Endpoints = kept
	slices.SortFunc(s.Rejected, func(a, b Rejected) int { return strings.Compare(a.Name, b.Name) })
}

func parseRoute(p Parameter) (config.Endpoint, error) {
	e, _, err := config.ParseEndpoint([]byte(p.Value))
	if err != nil {
		return e, errors.New(strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return e, nil
}

// pathField finds a "path" (and "include_subpath": true) in a spec that does not even parse,
// such as truncated JSON: `{"path": "/v1/x", "target": `.
var (
	pathField    = regexp.MustCompile(`(?m)(?:^|[{,\s])"?path"?\s*:\s*"?(/[^"\s,}]*)`)
	subpathField = regexp.MustCompile(`"?include_subpath"?\s*:\s*true`)
)

// claimedPath is the path an invalid spec claims: from its JSON when it is JSON, else read
// leniently from its text. Only a path starting with "/" can match a request.
func claimedPath(value string) (path string, subpath bool) {
	var spec struct {
		Path           any `json:"path"`
		IncludeSubpath any `json:"include_subpath"`
	}
	if json.Unmarshal([]byte(value), &spec) == nil {
		path, _ = spec.Path.(string)
		subpath, _ = spec.IncludeSubpath.(bool)
	} else if m := pathField.FindStringSubmatch(value); m != nil {
		path, subpath = m[1], subpathField.MatchString(value)
	}
	if !strings.HasPrefix(path, "/") {
		return "", false
	}
	return path, subpath
}

func (s *Snapshot) add(name string, version int64, e config.Endpoint, names *[]string) {
	e.Index = len(s.Config.Endpoints)
	s.Config.Endpoints = append(s.Config.Endpoints, e)
	s.Versions[name] = version
	s.byName[name] = e
	*names = append(*names, name)
}

func (s *Snapshot) reject(p Parameter, reason string, lastGood *Snapshot, names *[]string) {
	r := Rejected{Name: p.Name, Version: p.Version, Reason: reason}
	r.Path, r.Subpath = claimedPath(p.Value)
	if lastGood != nil {
		if e, ok := lastGood.byName[p.Name]; ok {
			s.Kept = append(s.Kept, r)
			s.add(p.Name, lastGood.Versions[p.Name], e, names)
			return
		}
	}
	s.Rejected = append(s.Rejected, r)
}

func (s *Snapshot) settings(p Parameter, lastGood *Snapshot) {
	var st Settings
	var vertex *config.VertexConfig
	var models []config.Model
	err := json.Unmarshal([]byte(p.Value), &st)
	if err == nil && st.RequestTimeout < 0 {
		err = fmt.Errorf("pass_through_request_timeout must not be negative")
	}
	if err == nil {
		vertex, err = st.DefaultVertexConfig.config()
	}
	if err == nil {
		models, err = st.models()
	}
	var defs []config.GuardrailDef
	if err == nil {
		defs, err = guardrailDefs(st.Guardrails)
	}
	if err == nil {
		err = builtin.CheckProviderRouteGuardrails(st.ProviderRouteGuardrails, st.ProviderRouteGuardrailStreaming)
	}
	if err != nil {
		r := Rejected{Name: p.Name, Version: p.Version, Reason: "invalid settings: " + err.Error()}
		if v, ok := lastSettings(lastGood, p.Name); ok {
			s.Kept = append(s.Kept, r)
			s.Config.MasterKey, s.Config.RequestTimeout = lastGood.Config.MasterKey, lastGood.Config.RequestTimeout
			s.Config.IncludeCostInStreamingUsage, s.Config.ModelPrices = lastGood.Config.IncludeCostInStreamingUsage, lastGood.Config.ModelPrices
			s.Config.CORS, s.Config.DisabledProviderRoutes = lastGood.Config.CORS, lastGood.Config.DisabledProviderRoutes
			s.Config.Vertex = lastGood.Config.Vertex
			s.Config.Models = lastGood.Config.Models
			s.Config.Guardrails, s.Config.ProviderRouteGuardrails = lastGood.Config.Guardrails, lastGood.Config.ProviderRouteGuardrails
			s.Config.ProviderRouteGuardrailStreaming = lastGood.Config.ProviderRouteGuardrailStreaming
			s.Versions[p.Name] = v
			return
		}
		s.Rejected = append(s.Rejected, r)
		return
	}
	s.Config.MasterKey = st.MasterKey
	s.Config.RequestTimeout = time.Duration(st.RequestTimeout * float64(time.Second))
	s.Config.IncludeCostInStreamingUsage, s.Config.ModelPrices = st.IncludeCostInStreamingUsage, st.ModelPrices
	s.Config.CORS = st.CORS.config()
	s.Config.DisabledProviderRoutes = st.DisabledProviderRoutes
	s.Config.Vertex = vertex
	s.Config.Models = models
	s.Config.Guardrails, s.Config.ProviderRouteGuardrails = defs, st.ProviderRouteGuardrails
	s.Config.ProviderRouteGuardrailStreaming = st.ProviderRouteGuardrailStreaming
	s.Versions[p.Name] = p.Version
}

// lastSettings is the version of the settings parameter the last good snapshot used, if any.
func lastSettings(lastGood *Snapshot, name string) (int64, bool) {
	if lastGood == nil {
		return 0, false
	}
	v, ok := lastGood.Versions[name]
	return v, ok
}

// dropConflicts removes routes that claim a (path, method) an earlier-named route serves.
func (s *Snapshot) dropConflicts(names []string) {
	conflicts := config.Conflicts(s.Config.Endpoints)
	if len(conflicts) == 0 {
		return
	}
	drop := map[int]bool{}
	for _, c := range conflicts {
		drop[c.Index] = true
		s.Rejected = append(s.Rejected, Rejected{Name: names[c.Index], Version: s.Versions[names[c.Index]],
			Reason: fmt.Sprintf("%s %s is already served by %s", c.Method, s.Config.Endpoints[c.Index].Path, names[c.Other]), Conflict: true})
	}
	var kept []config.Endpoint
	for i, e := range s.Config.Endpoints {
		if drop[i] {
			delete(s.Versions, names[i])
			delete(s.byName, names[i])
			continue
		}
		e.Index = len(kept)
		kept = append(kept, e)
	}
	s.Config.Endpoints = kept
}
