// Package apierror writes errors in LiteLLM's JSON shape:
// {"error":{"message":"...","type":"...","param":"None","code":"401"}}.
// LiteLLM clients parse that shape, so it is kept exactly, string "None" and string code included.
package apierror

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Error types, by the status they go with.
const (
	TypeInvalidRequest   = "invalid_request_error"
	TypeAuth             = "auth_error"
	TypePermission       = "permission_error"
	TypeNotFound         = "not_found_error"
	TypeMethodNotAllowed = "method_not_allowed"
	TypeRateLimit        = "rate_limit_error"
	TypeUpstream         = "upstream_error"
	TypeTimeout          = "timeout_error"
	TypeUnavailable      = "service_unavailable"
	TypeInternal         = "internal_server_error"
)

type body struct {
	Error detail `json:"error"`
}

type detail struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Param   string `json:"param"`
	Code    string `json:"code"`
}

// JSON returns the error body for status.
func JSON(status int, typ, message string) []byte {
	b, _ := json.Marshal(body{Error: detail{Message: message, Type: typ, Param: "None", Code: strconv.Itoa(status)}})
	return b
}

// Write sends the error as the whole response.
func Write(w http.ResponseWriter, status int, typ, message string) {
	b := JSON(status, typ, message)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Del("Content-Encoding")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
