package ssmroutes_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/ssmroutes"
)

// default_vertex_config goes into the settings parameter with the rest of the settings and is
// read back from it, validated as the config file's.
func TestSettingsDefaultVertexConfig(t *testing.T) {
	res := config.Parse([]byte("default_vertex_config:\n  vertex_project: p1\n  vertex_location: europe-west4\n  vertex_credentials: os.environ/VERTEX_SA\n"))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	st := ssmroutes.SettingsOf(res.Config)
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	const wantJSON = `{"default_vertex_config":{"vertex_project":"p1","vertex_location":"europe-west4","vertex_credentials":"os.environ/VERTEX_SA"}}`
	if string(raw) != wantJSON {
		t.Errorf("stored %s, want %s", raw, wantJSON)
	}
	if none, _ := json.Marshal(ssmroutes.SettingsOf(&config.Config{})); string(none) != `{}` {
		t.Errorf("without default_vertex_config: %s, want {}", none)
	}

	const settings = "/gw/settings"
	s := ssmroutes.Build("gw", []ssmroutes.Parameter{{Name: settings, Value: string(raw), Version: 1}}, nil)
	want := &config.VertexConfig{Project: "p1", Location: "europe-west4", Credentials: "os.environ/VERTEX_SA"}
	if !reflect.DeepEqual(s.Config.Vertex, want) || len(s.Rejected) != 0 {
		t.Fatalf("read back %+v (rejected %v), want %+v", s.Config.Vertex, s.Rejected, want)
	}

	// An invalid location is refused like any invalid setting: the last good settings stay.
	bad := `{"default_vertex_config":{"vertex_location":"evil.example/x"}}`
	next := ssmroutes.Build("gw", []ssmroutes.Parameter{{Name: settings, Value: bad, Version: 2}}, s)
	wantKept := []ssmroutes.Rejected{{Name: settings, Version: 2,
		Reason: `invalid settings: default_vertex_config.vertex_location: "evil.example/x" is not a Vertex AI location such as us-central1, europe-west4, us, eu or global`}}
	if !reflect.DeepEqual(next.Kept, wantKept) || !reflect.DeepEqual(next.Config.Vertex, want) || next.Versions[settings] != 1 {
		t.Errorf("kept %+v, vertex %+v, version %d; want %+v, %+v, 1", next.Kept, next.Config.Vertex, next.Versions[settings], wantKept, want)
	}

	// Removed from the settings: unset again; an empty object is unset too.
	for _, v := range []string{`{}`, `{"default_vertex_config":{}}`} {
		cleared := ssmroutes.Build("gw", []ssmroutes.Parameter{{Name: settings, Value: v, Version: 3}}, s)
		if cleared.Config.Vertex != nil {
			t.Errorf("%s: Vertex = %+v, want nil", v, cleared.Config.Vertex)
		}
	}
}
