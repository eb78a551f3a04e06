//go:build !noawsbackends

package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/passthru/gateway/shared/keys"
	"github.com/passthru/gateway/shared/ratelimit"
)

// tableFlag is --table of the keys commands.
func tableFlag(fs *flag.FlagSet) *string {
	return envFlag(fs, "table", "GATEWAY_KEYS_TABLE", "DynamoDB `TABLE` of keys: the stack output KeysTableName (required)")
}

// openKeys opens the keys table, once --table is checked.
func openKeys(ctx context.Context, table string) (*keys.DynamoDB, error) {
	db, err := dynamoClient(ctx, table)
	if err != nil {
		return nil, err
	}
	return keys.NewDynamoDB(db, table), nil
}

func dynamoClient(ctx context.Context, table string) (*dynamodb.Client, error) {
	if table == "" {
		return nil, fmt.Errorf("%w: --table is required (or set GATEWAY_KEYS_TABLE; the stack output KeysTableName)", errUsage)
	}
	cfg, err := loadAWS(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	return dynamodb.NewFromConfig(cfg), nil
}

// keysInit creates the keys table and, when named, the rate limit table: for a local stack on
// moto (make run-aws-local). On AWS, template.yaml creates both.
func keysInit(fs *flag.FlagSet) action {
	limits := envFlag(fs, "ratelimit-table", "GATEWAY_RATELIMIT_TABLE", "DynamoDB `TABLE` of rate limit counters to create too (none: only the keys table)")
	table := tableFlag(fs)
	return func(ctx context.Context, _ []string, s streams) error {
		db, err := dynamoClient(ctx, *table)
		if err != nil {
			return err
		}
		if err := keys.CreateTable(ctx, db, *table); err != nil {
			return err
		}
		fmt.Fprintf(s.stdout, "created keys table %s\n", *table)
		if *limits != "" {
			if err := ratelimit.CreateTable(ctx, db, *limits); err != nil {
				return err
			}
			fmt.Fprintf(s.stdout, "created rate limit table %s (TTL on %s)\n", *limits, ratelimit.AttrExpiresAt)
		}
		return nil
	}
}

// keysCreate makes a key and prints it once: only its hash is stored.
func keysCreate(fs *flag.FlagSet) action {
	alias := fs.String("alias", "", "`NAME` of the key in logs and usage records (required)")
	rpm := fs.Int("rpm", 0, "requests per minute, `N`; 0: unlimited")
	routes := fs.String("routes", "", "comma-separated `ROUTES` the key is granted, each an exact path or a prefix (/v1/rerank,/api/public/); without it the key may call only routes that do not set auth: true")
	expires := fs.String("expires", "", "`LIFETIME` such as 30d or 12h, or a date (2027-01-31); without it the key never expires")
	tags := fs.String("tags", "", "comma-separated `TAGS` for its usage records")
	meta := fs.String("metadata", "", "comma-separated `NAME=VALUE` pairs for its usage records (owner=ana,team=search)")
	table := tableFlag(fs)
	return func(ctx context.Context, _ []string, s streams) error {
		clear, k, err := keys.Generate(*alias)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		if *rpm < 0 {
			return fmt.Errorf("%w: --rpm must not be negative", errUsage)
		}
		k.RPM, k.Routes, k.Tags = *rpm, list(*routes), list(*tags)
		for _, r := range k.Routes {
			if !strings.HasPrefix(r, "/") {
				return fmt.Errorf("%w: --routes %q: a route starts with / (exact path, or a prefix such as /api/public/)", errUsage, r)
			}
		}
		if k.Metadata, err = metadata(*meta); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		if k.Expires, err = expiry(*expires, time.Now()); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		store, err := openKeys(ctx, *table)
		if err != nil {
			return err
		}
		if err := store.Put(ctx, k); err != nil {
			return fmt.Errorf("store key %s: %w", k.Alias, err)
		}
		fmt.Fprintf(s.stdout, "created key %s (hash %s); it is shown once, store it now:\n%s\n", k.Alias, short(k.Hash), clear)
		return nil
	}
}

func keysList(fs *flag.FlagSet) action {
	table := tableFlag(fs)
	return func(ctx context.Context, _ []string, s streams) error {
		store, err := openKeys(ctx, *table)
		if err != nil {
			return err
		}
		all, err := store.List(ctx)
		if err != nil {
			return err
		}
		for _, k := range all {
			fmt.Fprintln(s.stdout, describeKey(k))
		}
		return nil
	}
}

func keysShow(fs *flag.FlagSet) action {
	table := tableFlag(fs)
	return func(ctx context.Context, pos []string, s streams) error {
		store, err := openKeys(ctx, *table)
		if err != nil {
			return err
		}
		k, err := keys.Find(ctx, store, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintln(s.stdout, describeKey(k))
		return nil
	}
}

func keysRevoke(fs *flag.FlagSet) action {
	table := tableFlag(fs)
	return func(ctx context.Context, pos []string, s streams) error {
		store, err := openKeys(ctx, *table)
		if err != nil {
			return err
		}
		k, err := store.Revoke(ctx, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(s.stdout, "revoked %s (hash %s); gateways refuse it within their key cache TTL (30 s) plus one background read\n", k.Alias, short(k.Hash))
		return nil
	}
}

// describeKey is one line about a key: never the key itself, only its hash's first characters.
func describeKey(k keys.Key) string {
	status := "active"
	switch {
	case k.Disabled:
		status = "revoked"
	case k.Expired(time.Now()):
		status = "expired"
	}
	exp := "never"
	if k.Expires != nil {
		exp = k.Expires.UTC().Format(time.RFC3339)
	}
	rpm := "unlimited"
	if k.RPM > 0 {
		rpm = strconv.Itoa(k.RPM) + "/min"
	}
	var meta []string
	for _, name := range slices.Sorted(maps.Keys(k.Metadata)) {
		meta = append(meta, name+"="+k.Metadata[name])
	}
	return fmt.Sprintf("%-20s %s  %-8s rpm %-10s expires %-20s routes %s tags %s metadata %s", k.Alias, short(k.Hash), status, rpm, exp,
		orDash(strings.Join(k.Routes, ",")), orDash(strings.Join(k.Tags, ",")), orDash(strings.Join(meta, ",")))
}

// metadata reads name=value,name=value (nil for none).
func metadata(s string) (map[string]string, error) {
	var m map[string]string
	for _, pair := range list(s) {
		name, value, ok := strings.Cut(pair, "=")
		if name, value = strings.TrimSpace(name), strings.TrimSpace(value); !ok || name == "" {
			return nil, fmt.Errorf("--metadata %q: want name=value pairs separated by commas", pair)
		}
		if m == nil {
			m = map[string]string{}
		}
		m[name] = value
	}
	return m, nil
}

// expiry reads 30d, 12h, 90m or a date into an expiry time (nil for none).
func expiry(s string, now time.Time) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	if n, err := strconv.Atoi(strings.TrimSuffix(s, "d")); err == nil && strings.HasSuffix(s, "d") && n > 0 {
		t := now.Add(time.Duration(n) * 24 * time.Hour).UTC()
		return &t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		t := now.Add(d).UTC()
		return &t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return &t, nil
	}
	return nil, fmt.Errorf("--expires %q is not a lifetime (30d, 12h) or a date (2027-01-31)", s)
}

func list(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// short is a hash's first 12 characters, enough to tell keys apart in a listing.
func short(hash string) string { return hash[:min(12, len(hash))] }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
