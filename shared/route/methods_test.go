package route_test

import "testing"

// HEAD is served by a route that serves GET, as RFC 9110 §9.3.2 defines it (GET without the
// body) and as net/http's ServeMux does; a route listing HEAD itself wins.
func TestLookupHead(t *testing.T) {
	tbl := tableOf(t,
		ep("models", "/v1/models", false, "GET"),
		ep("post-only", "/v1/chat", false, "POST"),
		ep("own-head", "/h", false, "HEAD"),
		ep("h-get", "/h", false, "GET"),
		ep("files", "/files", true, "GET", "POST"),
		ep("upload", "/files/upload", false, "POST"),
		ep("defaults", "/d", false, "GET", "POST", "PUT", "DELETE", "PATCH"),
	)
	checkLookups(t, tbl, []lookupCase{
		{"HEAD", "/v1/models", "models", "", nil},
		{"HEAD", "/v1/chat", "", "", []string{"POST"}},
		{"GET", "/v1/chat", "", "", []string{"POST"}},
		{"HEAD", "/h", "own-head", "", nil},
		{"GET", "/h", "h-get", "", nil},
		{"HEAD", "/files/a/b", "files", "/a/b", nil},
		// the exact route lacks GET: HEAD falls to the prefix route that serves GET
		{"HEAD", "/files/upload", "files", "/upload", nil},
		// a 405's Allow lists HEAD wherever GET is served
		{"PUT", "/v1/models", "", "", []string{"GET", "HEAD"}},
		{"OPTIONS", "/d", "", "", []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"}},
		{"DELETE", "/h", "", "", []string{"HEAD", "GET"}},
		{"PUT", "/files/upload", "", "", []string{"POST", "GET", "HEAD"}},
	})
}
