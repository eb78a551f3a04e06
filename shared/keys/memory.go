package keys

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// Memory is an in-process Store: the keys declared in a local config file (make run).
type Memory struct {
	mu   sync.RWMutex
	keys map[string]Key
}

// NewMemory returns a store holding keys (a later key with the same hash replaces an earlier one).
func NewMemory(keys ...Key) *Memory {
	m := &Memory{keys: make(map[string]Key, len(keys))}
	for _, k := range keys {
		m.keys[k.Hash] = k.clone()
	}
	return m
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, hash string) (Key, bool, error) {
	m.mu.RLock()
	k, ok := m.keys[hash]
	m.mu.RUnlock()
	if !ok {
		return Key{}, false, nil
	}
	return k.clone(), true, nil
}

// Put implements Store.
func (m *Memory) Put(_ context.Context, k Key) error {
	if k.Hash == "" {
		return fmt.Errorf("keys: a key needs a hash")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.keys[k.Hash]; ok {
		return fmt.Errorf("%w: %s", ErrExists, k.Hash)
	}
	m.keys[k.Hash] = k.clone()
	return nil
}

// List implements Store.
func (m *Memory) List(_ context.Context) ([]Key, error) {
	m.mu.RLock()
	out := make([]Key, 0, len(m.keys))
	for _, k := range m.keys {
		out = append(out, k.clone())
	}
	m.mu.RUnlock()
	sortKeys(out)
	return out, nil
}

// Revoke implements Store.
func (m *Memory) Revoke(_ context.Context, aliasOrHash string) (Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[aliasOrHash]
	if !ok {
		all := make([]Key, 0, len(m.keys))
		for _, k := range m.keys {
			all = append(all, k)
		}
		var err error
		if k, err = byAlias(all, aliasOrHash); err != nil {
			return Key{}, err
		}
	}
	k.Disabled = true
	m.keys[k.Hash] = k
	return k.clone(), nil
}

func sortKeys(ks []Key) {
	sort.Slice(ks, func(i, j int) bool {
		if ks[i].Alias != ks[j].Alias {
			return ks[i].Alias < ks[j].Alias
		}
		return ks[i].Hash < ks[j].Hash
	})
}
