package runtimeapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

func futureDeadline() string {
	return strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10)
}

type typedError struct{}

func (typedError) Error() string     { return "typed failure" }
func (typedError) ErrorType() string { return "Validation.Failed!" }

type plainError struct{}

func (*plainError) Error() string { return "plain failure" }

// echoHandler answers with the payload, or fails the way the payload asks.
var echoHandler = HandlerFunc(func(ctx context.Context, inv Invocation) ([]byte, error) {
	switch string(inv.Payload) {
	case `"fail"`:
		return nil, fmt.Errorf("wrapped: %w", typedError{})
	case `"plain"`:
		return nil, &plainError{}
	case `"panic"`:
		panic("boom")
	}
	return inv.Payload, nil
})

func TestServePostsEachOutcome(t *testing.T) {
	tests := []struct {
		name      string
		payload   string
		wantKind  string
		wantType  string // Lambda-Runtime-Function-Error-Type
		wantBody  string // response body, or errorType in the error document
		wantStack bool
	}{
		{"success is posted as the response", `{"ok":true}`, "response", "", `{"ok":true}`, false},
		{"a typed error keeps its type, found through wrapping", `"fail"`, "error", "Function.ValidationFailed", "ValidationFailed", false},
		{"an untyped error is named by its Go type", `"plain"`, "error", "Function.plainError", "plainError", false},
		{"a panic fails only its invocation, with a stack trace", `"panic"`, "error", "Function.Panic", "Panic", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFakeRuntimeAPI(t, queuedEvent{headers: invocationHeaders("req-1", futureDeadline()), payload: tc.payload})

			err := Serve(context.Background(), fake.client(), echoHandler, discardLogger)

			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusInternalServerError {
				t.Fatalf("Serve ended with %v, want the fake's 500 once the queue is empty", err)
			}
			posts := fake.recorded()
			if len(posts) != 1 {
				t.Fatalf("posts = %+v, want one", posts)
			}
			got := posts[0]
			if got.kind != tc.wantKind || got.requestID != "req-1" || got.errorType != tc.wantType {
				t.Fatalf("post = %+v, want %s for req-1 with header %q", got, tc.wantKind, tc.wantType)
			}
			if tc.wantKind == "response" {
				if got.body != tc.wantBody {
					t.Errorf("response body = %s, want %s", got.body, tc.wantBody)
				}
				return
			}
			var doc ErrorDocument
			if err := json.Unmarshal([]byte(got.body), &doc); err != nil {
				t.Fatalf("error document is not JSON: %v", err)
			}
			if doc.ErrorType != tc.wantBody || doc.ErrorMessage == "" {
				t.Errorf("doc = %+v, want errorType %q and a message", doc, tc.wantBody)
			}
			if hasStack := len(doc.StackTrace) > 0; hasStack != tc.wantStack {
				t.Errorf("stackTrace = %v, want present=%v", doc.StackTrace, tc.wantStack)
			}
		})
	}
}

func TestServeGivesTheHandlerTheInvocationContext(t *testing.T) {
	t.Setenv(TraceEnvVar, "stale")
	deadline := time.Now().Add(2 * time.Minute).Truncate(time.Millisecond)
	headers := invocationHeaders("req-ctx", strconv.FormatInt(deadline.UnixMilli(), 10))
	fake := newFakeRuntimeAPI(t, queuedEvent{headers: headers, payload: `{}`})

	var gotDeadline time.Time
	var gotTrace string
	var gotInv Invocation
	h := HandlerFunc(func(ctx context.Context, inv Invocation) ([]byte, error) {
		gotDeadline, _ = ctx.Deadline()
		gotTrace = os.Getenv(TraceEnvVar)
		gotInv = inv
		return []byte(`{}`), nil
	})
	_ = Serve(context.Background(), fake.client(), h, discardLogger)

	if !gotDeadline.Equal(deadline) {
		t.Errorf("context deadline = %v, want %v", gotDeadline, deadline)
	}
	if gotTrace != headers[HeaderTraceID] {
		t.Errorf("%s = %q, want the invocation's trace header", TraceEnvVar, gotTrace)
	}
	if gotInv.RequestID != "req-ctx" || gotInv.InvokedFunctionARN != headers[HeaderInvokedFunctionARN] {
		t.Errorf("invocation = %+v", gotInv)
	}
}

func TestServeFailsMalformedInvocationsAndContinues(t *testing.T) {
	fake := newFakeRuntimeAPI(t,
		queuedEvent{headers: invocationHeaders("req-bad", "not-a-time"), payload: `{}`},
		queuedEvent{headers: invocationHeaders("req-good", futureDeadline()), payload: `{"n":2}`},
	)
	called := 0
	h := HandlerFunc(func(ctx context.Context, inv Invocation) ([]byte, error) {
		called++
		return inv.Payload, nil
	})

	_ = Serve(context.Background(), fake.client(), h, discardLogger)

	posts := fake.recorded()
	if len(posts) != 2 {
		t.Fatalf("posts = %+v, want an error then a response", posts)
	}
	if posts[0].kind != "error" || posts[0].requestID != "req-bad" || posts[0].errorType != ErrorTypeMalformedInvocation {
		t.Errorf("first post = %+v", posts[0])
	}
	if !strings.Contains(posts[0].body, "Lambda-Runtime-Deadline-Ms") {
		t.Errorf("error document does not explain the fault: %s", posts[0].body)
	}
	if posts[1].kind != "response" || posts[1].requestID != "req-good" || posts[1].body != `{"n":2}` {
		t.Errorf("second post = %+v", posts[1])
	}
	if called != 1 {
		t.Errorf("handler called %d times, want 1 (never for the malformed event)", called)
	}
}

func TestServeContinuesAfterARejectedResult(t *testing.T) {
	fake := newFakeRuntimeAPI(t,
		queuedEvent{headers: invocationHeaders("req-1", futureDeadline()), payload: `"big"`},
		queuedEvent{headers: invocationHeaders("req-2", futureDeadline()), payload: `"big"`},
	)
	fake.answer("response", http.StatusRequestEntityTooLarge)

	err := Serve(context.Background(), fake.client(), echoHandler, discardLogger)

	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Path != "/2018-06-01/runtime/invocation/next" {
		t.Fatalf("Serve ended with %v, want it to reach /next again after both 413s", err)
	}
	if n := len(fake.recorded()); n != 2 {
		t.Errorf("posted %d responses, want 2", n)
	}
}

func TestServeStopsWhenTheRuntimeAPIFails(t *testing.T) {
	tests := []struct {
		name     string
		headers  map[string]string
		kind     string // post kind forced to fail
		wantText string
	}{
		{"response hits a container error", invocationHeaders("req-1", futureDeadline()), "response",
			"post result of invocation req-1"},
		{"error report hits a container error", invocationHeaders("req-1", futureDeadline()), "error",
			"post result of invocation req-1"},
		{"event without a request id cannot be failed", map[string]string{HeaderDeadlineMs: futureDeadline()}, "",
			"Lambda-Runtime-Aws-Request-Id is missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payload := `{}`
			if tc.kind == "error" {
				payload = `"fail"`
			}
			fake := newFakeRuntimeAPI(t, queuedEvent{headers: tc.headers, payload: payload},
				queuedEvent{headers: invocationHeaders("req-never", futureDeadline()), payload: `{}`})
			if tc.kind != "" {
				fake.answer(tc.kind, http.StatusInternalServerError)
			}

			err := Serve(context.Background(), fake.client(), echoHandler, discardLogger)

			if err == nil || !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("Serve ended with %v, want %q", err, tc.wantText)
			}
			for _, p := range fake.recorded() {
				if p.requestID == "req-never" {
					t.Errorf("the loop went on after a fatal failure: %+v", p)
				}
			}
		})
	}
}

func TestServeReturnsWhenTheContextIsCancelled(t *testing.T) {
	fake := newFakeRuntimeAPI(t)
	blocked := fake.parkNext()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, fake.client(), echoHandler, discardLogger) }()

	<-blocked
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Serve = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancellation")
	}
}
