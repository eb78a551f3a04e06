package proxy

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/passthru/gateway/shared/apierror"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/route"
)

// This file holds what the gateway answers itself instead of forwarding: CORS preflights and
// protocol upgrades. HEAD needs nothing here: route.Table serves it with the GET route and it is
// forwarded as HEAD.

// refuseUpgrade answers a request that asks to switch protocols (a WebSocket handshake). The
// gateway relays HTTP exchanges only, and on Lambda no front door (Function URL, API Gateway HTTP
// API) can hold a WebSocket; forwarding the handshake without its hop-by-hop Upgrade header would
// only get the upstream's 426 relayed, which reads as the client's fault. "h2c" is let through:
// curl --http2 and some HTTP clients offer it on every plain-http request and carry on in
// HTTP/1.1 when it is ignored, which RFC 9110 §7.8 allows ("A server MAY ignore a received
// Upgrade header field").
func (c *call) refuseUpgrade(w http.ResponseWriter, r *http.Request) bool {
	var protos []string
	for _, v := range r.Header.Values("Upgrade") {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" && !strings.EqualFold(p, "h2c") {
				protos = append(protos, p)
			}
		}
	}
	if len(protos) == 0 {
		return false
	}
	c.fail(w, http.StatusBadRequest, apierror.TypeInvalidRequest,
		"Protocol upgrades are not supported: the gateway relays HTTP requests only, so a WebSocket (Upgrade: "+
			truncate(strings.Join(protos, ", "), 40)+") cannot be opened through it.", "upgrade")
	return true
}

// answerOptions answers an OPTIONS request that no route forwards, when general_settings.cors is
// set: a CORS preflight from an allowed origin gets the CORS grant, a preflight from another
// origin a 403, and a plain OPTIONS the Allow list. Browsers send preflights without
// credentials (https://fetch.spec.whatwg.org/#cors-preflight-fetch), so this runs before any key
// check. Without cors, OPTIONS stays a 405 as in LiteLLM (which registers no OPTIONS route).
// On Lambda this needs the Function URL's own Cors unset (template.yaml sets none): with it set,
// the Function URL answers preflights before the function is invoked; without it, OPTIONS is
// invoked like any method (https://docs.aws.amazon.com/lambda/latest/api/API_Cors.html; a public
// capture of both set-ups: https://dev.to/rimutaka/aws-lambda-function-url-with-cors-explained-by-example-14df).
// It also adds OPTIONS to m.Allowed then, so a 405's Allow names it.
func (c *call) answerOptions(w http.ResponseWriter, r *http.Request, cors *config.CORS, m *route.Match) bool {
	if cors == nil || len(m.Allowed) == 0 {
		return false
	}
	if !slices.Contains(m.Allowed, http.MethodOptions) {
		m.Allowed = append(m.Allowed, http.MethodOptions)
	}
	if r.Method != http.MethodOptions {
		return false
	}
	allowed := m.Allowed
	origin := r.Header.Get("Origin")
	if origin == "" || r.Header.Get("Access-Control-Request-Method") == "" {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		c.status, c.headerSent = http.StatusNoContent, true
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	if !cors.Allows(origin) {
		w.Header().Add("Vary", "Origin")
		c.fail(w, http.StatusForbidden, apierror.TypePermission,
			"Origin "+truncate(origin, 100)+" is not allowed by the gateway's general_settings.cors.", "cors")
		return true
	}
	h := w.Header()
	setAllowOrigin(h, cors, origin)
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	h.Set("Access-Control-Allow-Methods", strings.Join(allowed, ", "))
	// Any request header may be needed upstream (forward_headers, x-pass-*, the SDKs' own), so
	// the requested ones are granted as Starlette's allow_headers=["*"] (LiteLLM's) does.
	if req := r.Header.Values("Access-Control-Request-Headers"); len(req) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(req, ", "))
	}
	h.Set("Access-Control-Max-Age", strconv.Itoa(int(cors.MaxAge.Seconds())))
	c.status, c.headerSent = http.StatusNoContent, true
	w.WriteHeader(http.StatusNoContent)
	return true
}

// setAllowOrigin grants origin: "*" when any origin is allowed (no credentials are ever granted:
// gateway keys travel in headers, not cookies), the origin itself otherwise, with Vary: Origin
// so a shared cache keeps one answer per origin.
func setAllowOrigin(h http.Header, cors *config.CORS, origin string) {
	if cors.Allows("*") && len(cors.AllowOrigins) == 1 {
		h.Set("Access-Control-Allow-Origin", "*")
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
}

// withCORS returns w, wrapped to carry the CORS response headers when the request comes from an
// origin general_settings.cors allows; w itself otherwise.
func withCORS(w http.ResponseWriter, r *http.Request, cors *config.CORS) http.ResponseWriter {
	origin := r.Header.Get("Origin")
	if !cors.Allows(origin) {
		return w
	}
	return &corsWriter{ResponseWriter: w, cors: cors, origin: origin}
}

// corsWriter sets the gateway's CORS headers when the response starts, over any the upstream
// sent: the upstream's grant is for its own callers, and the operator's setting decides who may
// read the gateway's answers. Expose-Headers "*" lets scripts read x-litellm-call-id and the
// rate-limit headers (valid without credentials: https://fetch.spec.whatwg.org/#http-access-control-expose-headers).
type corsWriter struct {
	http.ResponseWriter
	cors   *config.CORS
	origin string
	done   bool
}

func (cw *corsWriter) WriteHeader(status int) {
	if !cw.done {
		cw.done = true
		h := cw.Header()
		for name := range h {
			if strings.HasPrefix(name, "Access-Control-") {
				delete(h, name)
			}
		}
		setAllowOrigin(h, cw.cors, cw.origin)
		h.Set("Access-Control-Expose-Headers", "*")
	}
	cw.ResponseWriter.WriteHeader(status)
}

func (cw *corsWriter) Write(p []byte) (int, error) {
	if !cw.done {
		cw.WriteHeader(http.StatusOK)
	}
	return cw.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the real writer (Flush, full duplex, deadlines).
func (cw *corsWriter) Unwrap() http.ResponseWriter { return cw.ResponseWriter }
