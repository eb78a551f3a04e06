package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/passthru/gateway/shared/providers"
)

// rule tells a streamed answer from a buffered one by when its events arrive.
//
// A buffered front door (an integration or invoke mode that is not RESPONSE_STREAM, or anything
// holding the body until the function returns) delivers every event at once after the upstream
// finished. AWS documents both modes: a Function URL in BUFFERED mode makes "invocation results
// available when the payload is complete", RESPONSE_STREAM streams "payload results as they
// become available" (https://docs.aws.amazon.com/lambda/latest/dg/config-rs-invoke-furls.html);
// the REST API's responseTransferMode STREAM likewise
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode.html).
// Buffered, the spread between the first and the last arrival is the transfer time of the body,
// milliseconds. Streamed, the spread is the upstream's own: the model's writing time, seconds
// for the default prompt. So a stream passes when
//   - at least minEvents events arrived (fewer cannot show a spread), and
//   - its last event arrived at least minSpread after its first, and
//   - at most half of the events arrived within burst of the last one (a front door that lets
//     the first bytes through and holds the rest until the end fails here).
type rule struct {
	minEvents int
	minSpread time.Duration
	burst     time.Duration
}

// judge applies the rule to the events' arrival times (since the request was sent, in order).
func (r rule) judge(at []time.Duration) (string, error) {
	n := len(at)
	if n < r.minEvents {
		return "", fmt.Errorf("only %d event(s), fewer than %d: cannot tell streaming from buffering", n, r.minEvents)
	}
	first, last := at[0], at[n-1]
	final := 0
	for _, t := range at {
		if t >= last-r.burst {
			final++
		}
	}
	facts := fmt.Sprintf("%d events from +%dms to +%dms, spread %dms, %d in the final %dms",
		n, first.Milliseconds(), last.Milliseconds(), (last - first).Milliseconds(), final, r.burst.Milliseconds())
	switch {
	case last-first < r.minSpread:
		return "", fmt.Errorf("buffered: %s (spread under %dms: the events arrived together)", facts, r.minSpread.Milliseconds())
	case 2*final > n:
		return "", fmt.Errorf("buffered: %s (more than half of the events held back to the end)", facts)
	}
	return "streamed: " + facts, nil
}

// checkStream sends the streamed call, prints each event with its arrival time relative to the
// request, and judges the arrivals.
func checkStream(ctx context.Context, c *caller, d frontDoor, out io.Writer) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.o.timeout)
	defer cancel()
	start := time.Now()
	resp, err := c.send(ctx, http.MethodPost, d.url(c.o.streamPath), c.o.streamBody, true, c.o.headers.values...)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		a := answer{status: resp.StatusCode, header: resp.Header, body: b}
		return "", expect(a, http.StatusOK, "text/event-stream")
	}
	if resp.Header.Get("X-Litellm-Call-Id") == "" {
		return "", errors.New("status 200 without x-litellm-call-id: the gateway did not answer")
	}
	fmt.Fprintf(out, "  POST %s: 200 %s, headers at +%dms\n", c.o.streamPath, resp.Header.Get("Content-Type"), time.Since(start).Milliseconds())
	at, err := readEvents(resp.Body, start, func(t time.Duration, lines []string) {
		fmt.Fprintf(out, "  +%6dms  %s\n", t.Milliseconds(), summarize(lines))
	})
	if err != nil {
		return "", fmt.Errorf("stream cut after %d event(s) (+%dms): %w", len(at), time.Since(start).Milliseconds(), err)
	}
	return c.o.rule.judge(at)
}

// readEvents reads server-sent events and returns when each arrived (since start): when the
// blank line that ends it was read. Events are cut by the project's one SSE parser
// (providers.SSEEvents: any of LF, CR, CRLF ends a line); a block of comment lines (":"
// keep-alives) is not an event.
func readEvents(body io.Reader, start time.Time, each func(time.Duration, []string)) ([]time.Duration, error) {
	var (
		events providers.SSEEvents
		at     []time.Duration
		raw    []byte // the bytes of the event being read
	)
	emit := func(ev []byte) {
		if lines := eventLines(ev); len(lines) > 0 {
			t := time.Since(start)
			at = append(at, t)
			each(t, lines)
		}
	}
	buf := make([]byte, 4<<10)
	for {
		n, err := body.Read(buf)
		raw = append(raw, buf[:n]...)
		events.Feed(buf[:n], func(e providers.SSEEvent) {
			emit(raw[:e.Len])
			raw = raw[e.Len:]
		})
		if errors.Is(err, io.EOF) {
			emit(raw) // a last event without its blank line still arrived
			return at, nil
		}
		if err != nil {
			return at, err
		}
	}
}

// eventLines are an event's lines but comments, without their line endings.
func eventLines(ev []byte) []string {
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(strings.ReplaceAll(string(ev), "\r\n", "\n"), "\r", "\n"), "\n") {
		if l != "" && !strings.HasPrefix(l, ":") {
			lines = append(lines, l)
		}
	}
	return lines
}

// summarize is one line for an event: its lines joined, cut to fit a terminal.
func summarize(lines []string) string {
	s := strings.Join(lines, " | ")
	if r := []rune(s); len(r) > 100 {
		s = string(r[:100]) + "…"
	}
	return s
}
