package keys

import (
	"context"
	"errors"
	"testing"

	"github.com/passthru/gateway/shared/auth"
)

type opaqueMaster struct{}

func (opaqueMaster) Verify(context.Context, string) (auth.Principal, error) {
	return auth.Principal{}, errors.New("unused")
}

// Master passes the master verifier's key through, and never reads the store.
func TestVerifierMaster(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		master MasterVerifier
		want   string
	}{
		{"master key", auth.NewMasterKey("sk-1234"), "sk-1234"},
		{"no master verifier", nil, ""},
		{"a verifier that cannot say", opaqueMaster{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &masterTestStore{Store: NewMemory()}
			got, err := NewVerifier(tt.master, store).Master(ctx)
			if got != tt.want || err != nil || store.reads != 0 {
				t.Errorf("Master = %q, %v with %d store reads; want %q", got, err, store.reads, tt.want)
			}
		})
	}
}

type masterTestStore struct {
	Store
	reads int
}

func (s *masterTestStore) Get(ctx context.Context, hash string) (Key, bool, error) {
	s.reads++
	return s.Store.Get(ctx, hash)
}
