package runtimeapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestNewClientValidatesEndpoint(t *testing.T) {
	tests := []struct {
		name     string
		endpoint string
		wantErr  string
	}{
		{"host and port", "127.0.0.1:9001", ""},
		{"empty", "", "AWS_LAMBDA_RUNTIME_API is not set"},
		{"with scheme", "http://127.0.0.1:9001", "without scheme or path"},
		{"with path", "127.0.0.1:9001/2018-06-01", "without scheme or path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewClient(tc.endpoint, nil)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("NewClient: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestNextReturnsTheInvocation(t *testing.T) {
	deadline := time.Now().Add(3 * time.Second).Truncate(time.Millisecond)
	headers := invocationHeaders("8476a536-e9f4-11e8-9739-2dfe598c3fcd", strconv.FormatInt(deadline.UnixMilli(), 10))
	headers[HeaderClientContext] = `{"client":{"app_title":"demo"}}`
	headers[HeaderCognitoIdentity] = `{"cognitoIdentityId":"eu-west-1:1"}`
	fake := newFakeRuntimeAPI(t, queuedEvent{headers: headers, payload: `{"httpMethod":"GET"}`})

	inv, err := fake.client().Next(context.Background())
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	if inv.RequestID != "8476a536-e9f4-11e8-9739-2dfe598c3fcd" {
		t.Errorf("RequestID = %q", inv.RequestID)
	}
	if !inv.Deadline.Equal(deadline) {
		t.Errorf("Deadline = %v, want %v", inv.Deadline, deadline)
	}
	if inv.InvokedFunctionARN != headers[HeaderInvokedFunctionARN] || inv.TraceID != headers[HeaderTraceID] {
		t.Errorf("ARN/trace = %q / %q", inv.InvokedFunctionARN, inv.TraceID)
	}
	if inv.ClientContext != headers[HeaderClientContext] || inv.CognitoIdentity != headers[HeaderCognitoIdentity] {
		t.Errorf("client context/cognito = %q / %q", inv.ClientContext, inv.CognitoIdentity)
	}
	if string(inv.Payload) != `{"httpMethod":"GET"}` {
		t.Errorf("Payload = %s", inv.Payload)
	}
}

func TestNextRejectsBadAnswers(t *testing.T) {
	future := strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10)
	tests := []struct {
		name          string
		status        int // forced /next status; 0 serves the event
		headers       map[string]string
		wantStatus    int    // for *APIError
		wantMalformed string // request id carried by *MalformedInvocationError ("-" for none)
		wantText      string
	}{
		{"container error", http.StatusInternalServerError, nil, 500, "", "answered 500 Internal Server Error"},
		{"forbidden", http.StatusForbidden, nil, 403, "", "answered 403 Forbidden"},
		{"missing request id", 0, map[string]string{HeaderDeadlineMs: future}, 0, "-", "Lambda-Runtime-Aws-Request-Id is missing"},
		{"missing deadline", 0, map[string]string{HeaderRequestID: "req-1"}, 0, "req-1", "Lambda-Runtime-Deadline-Ms is missing"},
		{"deadline not a number", 0, invocationHeaders("req-2", "soon"), 0, "req-2", `milliseconds: "soon"`},
		{"deadline negative", 0, invocationHeaders("req-3", "-5"), 0, "req-3", `milliseconds: "-5"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFakeRuntimeAPI(t, queuedEvent{headers: tc.headers, payload: `{}`})
			if tc.status != 0 {
				fake.answer("next", tc.status)
			}
			_, err := fake.client().Next(context.Background())
			if err == nil {
				t.Fatal("Next succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error = %q, want it to contain %q", err, tc.wantText)
			}
			var apiErr *APIError
			if got := errors.As(err, &apiErr); got != (tc.wantStatus != 0) {
				t.Fatalf("error %T: *APIError = %v, want %v", err, got, tc.wantStatus != 0)
			}
			if apiErr != nil && apiErr.StatusCode != tc.wantStatus {
				t.Errorf("StatusCode = %d, want %d", apiErr.StatusCode, tc.wantStatus)
			}
			var malformed *MalformedInvocationError
			if got := errors.As(err, &malformed); got != (tc.wantMalformed != "") {
				t.Fatalf("error %T: *MalformedInvocationError = %v", err, got)
			}
			if malformed != nil && tc.wantMalformed != "-" && malformed.RequestID != tc.wantMalformed {
				t.Errorf("RequestID = %q, want %q", malformed.RequestID, tc.wantMalformed)
			}
		})
	}
}

func TestNextFailsWhenTheRuntimeAPIIsUnreachable(t *testing.T) {
	fake := newFakeRuntimeAPI(t)
	client := fake.client()
	fake.server.Close()

	_, err := client.Next(context.Background())
	var apiErr *APIError
	if err == nil || errors.As(err, &apiErr) {
		t.Fatalf("error = %v, want a transport error", err)
	}
	if !strings.Contains(err.Error(), "runtime API GET /runtime/invocation/next") {
		t.Errorf("error = %q does not name the call", err)
	}
}

func TestRespondPostsThePayload(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		wantStatus int // 0: no error expected
		wantFatal  bool
	}{
		{"accepted", http.StatusAccepted, 0, false},
		{"payload too large", http.StatusRequestEntityTooLarge, 413, false},
		{"bad request", http.StatusBadRequest, 400, false},
		{"container error", http.StatusInternalServerError, 500, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFakeRuntimeAPI(t)
			fake.answer("response", tc.status)

			err := fake.client().Respond(context.Background(), "req/1", []byte(`{"statusCode":200}`))

			posts := fake.recorded()
			if len(posts) != 1 || posts[0].kind != "response" || posts[0].requestID != "req/1" {
				t.Fatalf("posts = %+v, want one response for req/1 (path-escaped)", posts)
			}
			if posts[0].body != `{"statusCode":200}` {
				t.Errorf("body = %s", posts[0].body)
			}
			if tc.wantStatus == 0 {
				if err != nil {
					t.Fatalf("Respond: %v", err)
				}
				return
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tc.wantStatus || apiErr.Fatal() != tc.wantFatal {
				t.Fatalf("error = %v, want APIError %d fatal=%v", err, tc.wantStatus, tc.wantFatal)
			}
			if !strings.Contains(err.Error(), "POST /2018-06-01/runtime/invocation/req%2F1/response") {
				t.Errorf("error %q does not name the path", err)
			}
		})
	}
}

func TestErrorReportsFollowTheDocumentedShape(t *testing.T) {
	tests := []struct {
		name     string
		report   func(c *Client) error
		wantKind string
		wantID   string
		wantType string
		wantDoc  ErrorDocument
	}{
		{
			name: "invocation error",
			report: func(c *Client) error {
				return c.ReportInvocationError(context.Background(), "req-9", "Function.InvalidEvent",
					ErrorDocument{ErrorMessage: "bad event", ErrorType: "InvalidEvent"})
			},
			wantKind: "error", wantID: "req-9", wantType: "Function.InvalidEvent",
			wantDoc: ErrorDocument{ErrorMessage: "bad event", ErrorType: "InvalidEvent", StackTrace: []string{}},
		},
		{
			name: "init error",
			report: func(c *Client) error {
				return c.ReportInitError(context.Background(), ErrorTypeConfigInvalid,
					ErrorDocument{ErrorMessage: "STAGE unset", ErrorType: "ConfigError", StackTrace: []string{"main.go:1"}})
			},
			wantKind: "init-error", wantType: "Runtime.ConfigInvalid",
			wantDoc: ErrorDocument{ErrorMessage: "STAGE unset", ErrorType: "ConfigError", StackTrace: []string{"main.go:1"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFakeRuntimeAPI(t)
			if err := tc.report(fake.client()); err != nil {
				t.Fatalf("report: %v", err)
			}
			posts := fake.recorded()
			if len(posts) != 1 {
				t.Fatalf("posts = %+v", posts)
			}
			got := posts[0]
			if got.kind != tc.wantKind || got.requestID != tc.wantID || got.errorType != tc.wantType {
				t.Errorf("post = %+v, want kind %q id %q header %q", got, tc.wantKind, tc.wantID, tc.wantType)
			}
			// stackTrace must be an array even when empty.
			var raw map[string]json.RawMessage
			if err := json.Unmarshal([]byte(got.body), &raw); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if st := string(raw["stackTrace"]); !strings.HasPrefix(st, "[") {
				t.Errorf("stackTrace = %s, want a JSON array", st)
			}
			var doc ErrorDocument
			if err := json.Unmarshal([]byte(got.body), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.ErrorMessage != tc.wantDoc.ErrorMessage || doc.ErrorType != tc.wantDoc.ErrorType ||
				strings.Join(doc.StackTrace, "|") != strings.Join(tc.wantDoc.StackTrace, "|") {
				t.Errorf("doc = %+v, want %+v", doc, tc.wantDoc)
			}
		})
	}
}

func TestErrorReportsSurfaceRuntimeAPIRejections(t *testing.T) {
	tests := []struct {
		name   string
		kind   string
		status int
		report func(c *Client) error
	}{
		{"invocation error rejected", "error", http.StatusBadRequest, func(c *Client) error {
			return c.ReportInvocationError(context.Background(), "req-1", "Function.X", ErrorDocument{})
		}},
		{"init error forbidden", "init-error", http.StatusForbidden, func(c *Client) error {
			return c.ReportInitError(context.Background(), "Runtime.UnknownReason", ErrorDocument{})
		}},
		{"init error container failure", "init-error", http.StatusInternalServerError, func(c *Client) error {
			return c.ReportInitError(context.Background(), "Runtime.UnknownReason", ErrorDocument{})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFakeRuntimeAPI(t)
			fake.answer(tc.kind, tc.status)
			err := tc.report(fake.client())
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tc.status {
				t.Fatalf("error = %v, want APIError %d", err, tc.status)
			}
		})
	}
}
