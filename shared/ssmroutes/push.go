package ssmroutes

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/passthru/gateway/shared/config"
)

// WriteAPI is the part of the SSM client that pushing routes needs.
type WriteAPI interface {
	API
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, opts ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
	DeleteParameters(ctx context.Context, in *ssm.DeleteParametersInput, opts ...func(*ssm.Options)) (*ssm.DeleteParametersOutput, error)
}

// ChangeKind says what a push does to one parameter.
type ChangeKind string

const (
	Add    ChangeKind = "add"
	Update ChangeKind = "change"
	Remove ChangeKind = "remove" // stored, no longer in the file (deleted only with prune)
	Same   ChangeKind = "same"
)

// Change is one parameter's part of a push.
type Change struct {
	Kind  ChangeKind
	Name  string
	Value string // the new value (Add, Update)
	Old   string // the stored value (Update, Remove)
}

// ChangedFields lists the top-level fields whose values differ between two stored specs, for a
// push's diff (e.g. target, headers).
func (c Change) ChangedFields() []string {
	var old, cur map[string]json.RawMessage
	if json.Unmarshal([]byte(c.Old), &old) != nil || json.Unmarshal([]byte(c.Value), &cur) != nil {
		return nil
	}
	var fields []string
	for k, v := range cur {
		if !bytes.Equal(old[k], v) {
			fields = append(fields, k)
		}
	}
	for k := range old {
		if _, ok := cur[k]; !ok {
			fields = append(fields, k)
		}
	}
	slices.Sort(fields)
	return fields
}

// Desired renders a configuration as the parameters it is stored as, by name.
func Desired(prefix string, cfg *config.Config) (map[string]string, error) {
	want := map[string]string{SettingsName(prefix): settingsJSON(SettingsOf(cfg))}
	for i := range cfg.Endpoints {
		e := &cfg.Endpoints[i]
		name := RouteName(prefix, e.RouteID())
		if _, dup := want[name]; dup {
			return nil, fmt.Errorf("%s: route id %q is used twice; give one of them an `id`", e.Name(), e.RouteID())
		}
		want[name] = string(e.Spec())
		if _, err := Tier(want[name]); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
	}
	return want, nil
}

// Plan compares what the configuration wants stored with what is stored, in name order.
func Plan(prefix string, cfg *config.Config, stored []Parameter) ([]Change, error) {
	want, err := Desired(prefix, cfg)
	if err != nil {
		return nil, err
	}
	have := map[string]string{}
	dir := routesDir(prefix)
	for _, p := range stored {
		if p.Name == SettingsName(prefix) || strings.HasPrefix(p.Name, dir) {
			have[p.Name] = p.Value
		}
	}
	var changes []Change
	for name, value := range want {
		old, ok := have[name]
		switch {
		case !ok:
			changes = append(changes, Change{Kind: Add, Name: name, Value: value})
		case old != value:
			changes = append(changes, Change{Kind: Update, Name: name, Value: value, Old: old})
		default:
			changes = append(changes, Change{Kind: Same, Name: name})
		}
	}
	for name, old := range have {
		if _, ok := want[name]; !ok {
			changes = append(changes, Change{Kind: Remove, Name: name, Old: old})
		}
	}
	slices.SortFunc(changes, func(a, b Change) int { return strings.Compare(a.Name, b.Name) })
	return changes, nil
}

// Apply carries out a plan: it writes added and changed parameters (as SecureString when secure
// is set) and, with prune, deletes removed ones. A new parameter goes to the cheapest tier that
// fits; a changed one uses Intelligent-Tiering, because SSM cannot move an Advanced parameter
// back to Standard and an explicit Standard would fail after a large spec shrank.
func Apply(ctx context.Context, api WriteAPI, changes []Change, prune, secure bool) error {
	typ := types.ParameterTypeString
	if secure {
		typ = types.ParameterTypeSecureString
	}
	var stale []string
	for _, c := range changes {
		switch c.Kind {
		case Add, Update:
			tier, err := Tier(c.Value)
			if err != nil {
				return fmt.Errorf("%s: %w", c.Name, err)
			}
			if c.Kind == Update {
				tier = types.ParameterTierIntelligentTiering
			}
			_, err = api.PutParameter(ctx, &ssm.PutParameterInput{
				Name: aws.String(c.Name), Value: aws.String(c.Value), Type: typ, Tier: tier, Overwrite: aws.Bool(true),
			})
			if err != nil {
				return fmt.Errorf("put %s: %w", c.Name, err)
			}
		case Remove:
			if prune {
				stale = append(stale, c.Name)
			}
		}
	}
	for len(stale) > 0 { // DeleteParameters takes at most 10 names
		n := min(10, len(stale))
		if _, err := api.DeleteParameters(ctx, &ssm.DeleteParametersInput{Names: stale[:n]}); err != nil {
			return fmt.Errorf("delete %s: %w", strings.Join(stale[:n], ", "), err)
		}
		stale = stale[n:]
	}
	return nil
}
