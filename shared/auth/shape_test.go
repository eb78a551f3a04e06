package auth_test

import (
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/auth"
)

func TestIsVirtualKeyShape(t *testing.T) {
	const body = "0123456789ABCDEFGHIJKLMNOPQRSTuv" // 32 base62 characters
	for _, tc := range []struct {
		key  string
		want bool
	}{
		{"sk-gw-" + body, true},
		{"sk-gw-" + strings.Repeat("z", 32), true},
		{"", false},
		{"sk-gw-", false},
		{"sk-gw-" + body[:31], false},       // one short
		{"sk-gw-" + body + "0", false},      // one long
		{"SK-GW-" + body, false},            // prefix is case-sensitive, as generated
		{"sk-xx-" + body, false},            // another prefix
		{"sk-gw-" + body[:31] + "-", false}, // outside base62
		{"sk-gw-" + body[:31] + "_", false},
		{"sk-gw-" + body[:30] + "é", false}, // 32 bytes, not base62
		{"sk-gw-" + body[:31] + "\x00", false},
		{"sk-master-1234", false},
	} {
		if got := auth.IsVirtualKeyShape(tc.key); got != tc.want {
			t.Errorf("IsVirtualKeyShape(%q) = %v, want %v", tc.key, got, tc.want)
		}
	}
}
