//go:build !noawsbackends

package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/keys"
	"github.com/passthru/gateway/shared/motoserver"
)

const keysTable = "gw-keys"

// keysStore resets moto, creates the keys table and returns the store the CLI writes to.
func keysStore(t *testing.T) *keys.DynamoDB {
	t.Helper()
	motoserver.Require(t)
	t.Setenv("GATEWAY_KEYS_TABLE", "")
	db := dynamodb.NewFromConfig(motoserver.Config(t))
	if err := keys.CreateTable(bounded(t), db, keysTable); err != nil {
		t.Fatal(err)
	}
	return keys.NewDynamoDB(db, keysTable)
}

var createdLine = regexp.MustCompile(`^created key (\S+) \(hash ([0-9a-f]{12})\); it is shown once, store it now:\n(sk-gw-\S+)\n$`)

// create runs keys create and returns the printed key and hash prefix.
func create(t *testing.T, args ...string) (clear, hash12 string) {
	t.Helper()
	r := ctl(t, "", append([]string{"keys", "create", "--table", keysTable}, args...)...)
	m := createdLine.FindStringSubmatch(r.stdout)
	if r.code != 0 || r.stderr != "" || m == nil {
		t.Fatalf("keys create: exit %d\nstdout: %q\nstderr: %q", r.code, r.stdout, r.stderr)
	}
	return m[3], m[2]
}

func TestKeysCreateListShowRevoke(t *testing.T) {
	store := keysStore(t)
	clear, h := create(t, "--alias", "search-team", "--rpm", "10", "--routes", "/v1/rerank, /api/public/", "--expires", "30d", "--tags", "team:search", "--metadata", "owner=ana, ticket=OPS-7")
	other, oh := create(t, "--alias", "ci")

	// Stored by hash only, with every field the flags set.
	k, ok, err := store.Get(bounded(t), auth.Hash(clear))
	if err != nil || !ok {
		t.Fatalf("stored key: %v %v", ok, err)
	}
	if k.Hash[:12] != h || k.Alias != "search-team" || k.RPM != 10 || strings.Join(k.Routes, " ") != "/v1/rerank /api/public/" ||
		strings.Join(k.Tags, ",") != "team:search" || k.Metadata["owner"] != "ana" || k.Metadata["ticket"] != "OPS-7" || len(k.Metadata) != 2 || k.Disabled || k.Expires == nil {
		t.Fatalf("stored key %+v", k)
	}
	if d := time.Until(*k.Expires); d < 29*24*time.Hour || d > 30*24*time.Hour {
		t.Errorf("expires in %v, want 30 days", d)
	}
	if all, _ := store.List(bounded(t)); strings.Contains(strings.Join(describeAll(all), "\n"), clear) || strings.Contains(strings.Join(describeAll(all), "\n"), other) {
		t.Fatal("a key appears in clear")
	}

	exp := k.Expires.UTC().Format(time.RFC3339)
	wantCI := "ci                   " + oh + "  active   rpm unlimited  expires never                routes - tags - metadata -\n"
	wantSearch := "search-team          " + h + "  active   rpm 10/min     expires " + exp + " routes /v1/rerank,/api/public/ tags team:search metadata owner=ana,ticket=OPS-7\n"
	ctl(t, "", "keys", "list", "--table", keysTable).want(t, 0, wantCI+wantSearch, "")
	ctl(t, "", "keys", "show", "search-team", "--table", keysTable).want(t, 0, wantSearch, "")
	ctl(t, "", "keys", "show", auth.Hash(clear), "--table", keysTable).want(t, 0, wantSearch, "")

	ctl(t, "", "keys", "revoke", "search-team", "--table", keysTable).want(t, 0,
		"revoked search-team (hash "+h+"); gateways refuse it within their key cache TTL (30 s) plus one background read\n", "")
	ctl(t, "", "keys", "show", "search-team", "--table", keysTable).want(t, 0, strings.Replace(wantSearch, "active ", "revoked", 1), "")

	// A gateway on the same table now refuses the key and still takes the other one.
	v := keys.NewVerifier(auth.NewMasterKey(""), store)
	if _, err := v.Verify(bounded(t), clear); err == nil {
		t.Error("revoked key verified")
	}
	if p, err := v.Verify(bounded(t), other); err != nil || p.Alias != "ci" {
		t.Errorf("other key: %+v %v", p, err)
	}
}

func describeAll(ks []keys.Key) []string {
	var out []string
	for _, k := range ks {
		out = append(out, describeKey(k))
	}
	return out
}

// keysUsageErr is what a wrong keys command line prints: the error, the command's synopsis and
// where its help is.
func keysUsageErr(sub, msg string) string {
	c, _ := lookup([]string{"keys", sub})
	return "gatewayctl keys " + sub + ": " + msg + "\nusage: " + c.synopsis() + "\nRun 'gatewayctl keys " + sub + " --help' for its arguments and flags.\n"
}

func TestKeysCommandErrors(t *testing.T) {
	keysStore(t)
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"keys", "list"}, 2, keysUsageErr("list", "--table is required (or set GATEWAY_KEYS_TABLE; the stack output KeysTableName)")},
		{[]string{"keys", "create", "--alias", "x"}, 2, keysUsageErr("create", "--table is required (or set GATEWAY_KEYS_TABLE; the stack output KeysTableName)")},
		{[]string{"keys", "init"}, 2, keysUsageErr("init", "--table is required (or set GATEWAY_KEYS_TABLE; the stack output KeysTableName)")},
		{[]string{"keys", "create", "--table", keysTable, "--alias", "x", "--expires", "soon"}, 2, keysUsageErr("create", "--expires \"soon\" is not a lifetime (30d, 12h) or a date (2027-01-31)")},
		{[]string{"keys", "create", "--table", keysTable, "--alias", "x", "--rpm", "-1"}, 2, keysUsageErr("create", "--rpm must not be negative")},
		{[]string{"keys", "create", "--table", keysTable, "--alias", "x", "--metadata", "owner"}, 2, keysUsageErr("create", "--metadata \"owner\": want name=value pairs separated by commas")},
		{[]string{"keys", "create", "--table", keysTable, "--alias", "x", "--routes", "v1/rerank"}, 2, keysUsageErr("create", "--routes \"v1/rerank\": a route starts with / (exact path, or a prefix such as /api/public/)")},
		{[]string{"keys", "create", "--table", keysTable}, 2, keysUsageErr("create", "keys: a key needs an alias")},
		{[]string{"keys", "show", "--table", keysTable}, 2, keysUsageErr("show", "keys show takes 1 argument(s), got 0")},
		{[]string{"keys", "revoke", "nobody", "--table", keysTable}, 1, "gatewayctl: keys: no key has this alias or hash: \"nobody\"\n"},
		{[]string{"keys", "show", "nobody", "--table", keysTable}, 1, "gatewayctl: keys: no key has this alias or hash: \"nobody\"\n"},
	} {
		r := ctl(t, "", tc.args...)
		if r.code != tc.code || r.stdout != "" || r.stderr != tc.err {
			t.Errorf("%v: exit %d stdout %q stderr %q, want exit %d stderr %q", tc.args, r.code, r.stdout, r.stderr, tc.code, tc.err)
		}
	}
}

func TestKeysInitCreatesBothTables(t *testing.T) {
	motoserver.Require(t)
	t.Setenv("GATEWAY_KEYS_TABLE", "")
	t.Setenv("GATEWAY_RATELIMIT_TABLE", "")
	ctl(t, "", "keys", "init", "--table", "k", "--ratelimit-table", "r").want(t, 0,
		"created keys table k\ncreated rate limit table r (TTL on expires_at)\n", "")
	db := dynamodb.NewFromConfig(motoserver.Config(t))
	ttl, err := db.DescribeTimeToLive(bounded(t), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("r")})
	if err != nil || aws.ToString(ttl.TimeToLiveDescription.AttributeName) != "expires_at" {
		t.Fatalf("TTL of r: %+v %v", ttl, err)
	}
	// The keys table works with the other commands; creating it again is a clear error.
	create(t, "--table", "k", "--alias", "a") // create adds --table keysTable first; the last wins
	r := ctl(t, "", "keys", "init", "--table", "k")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "gatewayctl: create keys table k: ") || !strings.Contains(r.stderr, "ResourceInUseException") {
		t.Errorf("second init: exit %d stderr %q", r.code, r.stderr)
	}
}
