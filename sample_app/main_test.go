package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/lambda-pipeline/sample-app/internal/runtimeapi"
)

// runtimeAPI hands out one API Gateway event, records what the bootstrap
// posts, then answers 500 so the bootstrap's loop ends.
type runtimeAPI struct {
	mu     sync.Mutex
	served bool
	posts  map[string]string // path -> body
	header map[string]string // path -> Lambda-Runtime-Function-Error-Type
}

func startRuntimeAPI(t *testing.T, event string) (*runtimeAPI, string) {
	t.Helper()
	fake := &runtimeAPI{posts: map[string]string{}, header: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fake.mu.Lock()
		defer fake.mu.Unlock()
		if r.Method == http.MethodGet {
			if fake.served {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			fake.served = true
			w.Header().Set(runtimeapi.HeaderRequestID, "lambda-req-1")
			w.Header().Set(runtimeapi.HeaderDeadlineMs, strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10))
			io.WriteString(w, event)
			return
		}
		body, _ := io.ReadAll(r.Body)
		fake.posts[r.URL.Path] = string(body)
		fake.header[r.URL.Path] = r.Header.Get(runtimeapi.HeaderFunctionErrorType)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	return fake, strings.TrimPrefix(srv.URL, "http://")
}

func TestRun(t *testing.T) {
	const helloEvent = `{"resource":"/hello","path":"/hello","httpMethod":"GET",
		"queryStringParameters":{"name":"Lin"},"requestContext":{"requestId":"api-req-7"}}`
	tests := []struct {
		name       string
		env        map[string]string
		event      string
		wantCode   int
		wantPath   string // where the bootstrap must have posted
		wantInBody string
		wantHeader string
		wantLog    string
	}{
		{
			name:     "serves an API Gateway event",
			env:      map[string]string{"STAGE": "production", "GREETING": "Howdy"},
			event:    helloEvent,
			wantCode: 1, // the fake's 500 after one event ends the loop
			wantPath: "/2018-06-01/runtime/invocation/lambda-req-1/response",
			wantInBody: `{\"message\":\"Howdy, Lin!\",\"stage\":\"production\",\"path\":\"/hello\",` +
				`\"requestId\":\"api-req-7\"}`,
			wantLog: "runtime loop stopped",
		},
		{
			name:       "reports a payload that is not a proxy event",
			env:        map[string]string{"STAGE": "staging"},
			event:      `{"detail-type":"Scheduled Event"}`,
			wantCode:   1,
			wantPath:   "/2018-06-01/runtime/invocation/lambda-req-1/error",
			wantInBody: `"errorType":"InvalidEvent"`,
			wantHeader: "Function.InvalidEvent",
			wantLog:    "invocation failed",
		},
		{
			name:       "reports an invalid configuration as an init error",
			env:        map[string]string{"STAGE": "dev"},
			event:      helloEvent,
			wantCode:   1,
			wantPath:   "/2018-06-01/runtime/init/error",
			wantInBody: `"errorType":"ConfigError"`,
			wantHeader: runtimeapi.ErrorTypeConfigInvalid,
			wantLog:    "invalid configuration",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake, endpoint := startRuntimeAPI(t, tc.event)
			env := map[string]string{"AWS_LAMBDA_RUNTIME_API": endpoint}
			for k, v := range tc.env {
				env[k] = v
			}
			var logs bytes.Buffer

			code := run(context.Background(), func(k string) string { return env[k] }, &logs)

			if code != tc.wantCode {
				t.Errorf("exit code = %d, want %d", code, tc.wantCode)
			}
			fake.mu.Lock()
			defer fake.mu.Unlock()
			body, ok := fake.posts[tc.wantPath]
			if !ok {
				t.Fatalf("nothing posted to %s; posts: %v", tc.wantPath, fake.posts)
			}
			if !strings.Contains(body, tc.wantInBody) {
				t.Errorf("body = %s, want it to contain %s", body, tc.wantInBody)
			}
			if got := fake.header[tc.wantPath]; got != tc.wantHeader {
				t.Errorf("error type header = %q, want %q", got, tc.wantHeader)
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("logs do not mention %q:\n%s", tc.wantLog, logs.String())
			}
			for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				if !json.Valid([]byte(line)) {
					t.Errorf("log line is not JSON (Lambda's JSON log format needs it): %s", line)
				}
			}
		})
	}
}

func TestRunWithoutRuntimeAPIExitsNonZero(t *testing.T) {
	var logs bytes.Buffer
	env := map[string]string{"STAGE": "staging"}

	code := run(context.Background(), func(k string) string { return env[k] }, &logs)

	if code != 1 || !strings.Contains(logs.String(), "AWS_LAMBDA_RUNTIME_API is not set") {
		t.Fatalf("code = %d, logs = %s", code, logs.String())
	}
}

func TestRunExitsCleanlyWhenCancelled(t *testing.T) {
	// A runtime API that never hands out an event, as between invocations.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	env := map[string]string{"STAGE": "staging", "AWS_LAMBDA_RUNTIME_API": strings.TrimPrefix(srv.URL, "http://")}
	// SIGTERM cancels run's context the same way.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(100*time.Millisecond, cancel)
	var logs bytes.Buffer

	code := run(ctx, func(k string) string { return env[k] }, &logs)

	if code != 0 || !strings.Contains(logs.String(), "shutting down") {
		t.Fatalf("code = %d, want 0; logs = %s", code, logs.String())
	}
}
