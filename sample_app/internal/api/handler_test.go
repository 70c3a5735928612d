package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func newTestHandler(t *testing.T, logs io.Writer) *Handler {
	t.Helper()
	cfg := Config{Stage: "staging", Greeting: "Hello", LogLevel: slog.LevelInfo}
	return NewHandler(cfg, slog.New(slog.NewJSONHandler(logs, nil)))
}

// event builds the payload API Gateway sends for GET /hello, changed by edit.
func event(edit func(*ProxyRequest)) ProxyRequest {
	req := ProxyRequest{
		Resource:   HelloResource,
		Path:       "/hello",
		HTTPMethod: http.MethodGet,
		RequestContext: ProxyRequestContext{
			RequestID: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
			Stage:     "staging",
		},
	}
	if edit != nil {
		edit(&req)
	}
	return req
}

func TestHandleAnswersHello(t *testing.T) {
	tests := []struct {
		name        string
		edit        func(*ProxyRequest)
		wantMessage string
	}{
		{"no name greets the world", nil, "Hello, World!"},
		{"name is used", func(r *ProxyRequest) {
			r.QueryStringParameters = map[string]string{"name": "Ada"}
			r.MultiValueQueryStringParameters = map[string][]string{"name": {"Ada"}}
		}, "Hello, Ada!"},
		{"unicode letters, spaces and punctuation are allowed", func(r *ProxyRequest) {
			r.QueryStringParameters = map[string]string{"name": "Zoë O'Neil-Brontë Jr."}
		}, "Hello, Zoë O'Neil-Brontë Jr.!"},
		{"name of exactly the maximum length", func(r *ProxyRequest) {
			r.QueryStringParameters = map[string]string{"name": strings.Repeat("é", maxNameLength)}
		}, "Hello, " + strings.Repeat("é", maxNameLength) + "!"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := newTestHandler(t, io.Discard).Handle(context.Background(), event(tc.edit))
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200 (body %s)", resp.StatusCode, resp.Body)
			}
			var body helloBody
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatalf("body is not JSON: %v: %s", err, resp.Body)
			}
			want := helloBody{
				Message:   tc.wantMessage,
				Stage:     "staging",
				Path:      "/hello",
				RequestID: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
			}
			if body != want {
				t.Errorf("body = %+v, want %+v", body, want)
			}
			if got := resp.Headers["Content-Type"]; got != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", got)
			}
		})
	}
}

func TestHandleRejectsBadRequests(t *testing.T) {
	tests := []struct {
		name        string
		edit        func(*ProxyRequest)
		wantStatus  int
		wantError   string
		wantMessage string // substring
		wantAllow   string
	}{
		{"POST is not allowed", func(r *ProxyRequest) { r.HTTPMethod = http.MethodPost },
			http.StatusMethodNotAllowed, "method_not_allowed", "method POST is not allowed", "GET"},
		{"DELETE is not allowed", func(r *ProxyRequest) { r.HTTPMethod = http.MethodDelete },
			http.StatusMethodNotAllowed, "method_not_allowed", "use GET", "GET"},
		{"unknown resource", func(r *ProxyRequest) { r.Resource = "/goodbye"; r.Path = "/goodbye" },
			http.StatusNotFound, "not_found", `no resource "/goodbye"`, ""},
		{"empty name", func(r *ProxyRequest) { r.QueryStringParameters = map[string]string{"name": ""} },
			http.StatusBadRequest, "invalid_parameter", "must not be empty", ""},
		{"name too long", func(r *ProxyRequest) {
			r.QueryStringParameters = map[string]string{"name": strings.Repeat("a", maxNameLength+1)}
		}, http.StatusBadRequest, "invalid_parameter", "at most 64 characters, got 65", ""},
		{"markup in name", func(r *ProxyRequest) {
			r.QueryStringParameters = map[string]string{"name": "<script>"}
		}, http.StatusBadRequest, "invalid_parameter", `got '<'`, ""},
		{"invalid UTF-8 in name", func(r *ProxyRequest) {
			r.QueryStringParameters = map[string]string{"name": "a\xffb"}
		}, http.StatusBadRequest, "invalid_parameter", "valid UTF-8", ""},
		{"name given twice", func(r *ProxyRequest) {
			r.QueryStringParameters = map[string]string{"name": "b"}
			r.MultiValueQueryStringParameters = map[string][]string{"name": {"a", "b"}}
		}, http.StatusBadRequest, "invalid_parameter", "at most once", ""},
		{"unknown parameters are named in sorted order", func(r *ProxyRequest) {
			r.QueryStringParameters = map[string]string{"nmae": "x", "lang": "en"}
		}, http.StatusBadRequest, "invalid_parameter", `unknown query parameter "lang"`, ""},
		{"unknown multi-value parameter", func(r *ProxyRequest) {
			r.MultiValueQueryStringParameters = map[string][]string{"tag": {"a", "b"}}
		}, http.StatusBadRequest, "invalid_parameter", `unknown query parameter "tag"`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := newTestHandler(t, io.Discard).Handle(context.Background(), event(tc.edit))
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", resp.StatusCode, tc.wantStatus, resp.Body)
			}
			var body errorBody
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatalf("error body is not JSON: %v: %s", err, resp.Body)
			}
			if body.Error != tc.wantError {
				t.Errorf("error = %q, want %q", body.Error, tc.wantError)
			}
			if !strings.Contains(body.Message, tc.wantMessage) {
				t.Errorf("message = %q, want it to contain %q", body.Message, tc.wantMessage)
			}
			if body.RequestID != "c6af9ac6-7b61-11e6-9a41-93e8deadbeef" {
				t.Errorf("requestId = %q", body.RequestID)
			}
			if got := resp.Headers["Allow"]; got != tc.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tc.wantAllow)
			}
		})
	}
}

func TestInvokeRoundTripsAProxyEvent(t *testing.T) {
	// A trimmed copy of the documented REST API proxy event, as Lambda delivers it.
	payload := []byte(`{
		"resource": "/hello", "path": "/hello", "httpMethod": "GET",
		"headers": {"Accept": "application/json"},
		"multiValueHeaders": {"Accept": ["application/json"]},
		"queryStringParameters": {"name": "Grace"},
		"multiValueQueryStringParameters": {"name": ["Grace"]},
		"pathParameters": null, "stageVariables": null,
		"requestContext": {"accountId": "123456789012", "apiId": "1234567890", "stage": "production",
			"requestId": "req-1", "httpMethod": "GET", "path": "/production/hello", "resourcePath": "/hello"},
		"body": null, "isBase64Encoded": false
	}`)
	var logs bytes.Buffer
	h := NewHandler(Config{Stage: "production", Greeting: "Hi"}, slog.New(slog.NewJSONHandler(&logs, nil)))

	out, err := h.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	var resp ProxyResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response is not JSON: %v: %s", err, out)
	}
	if resp.StatusCode != http.StatusOK || resp.IsBase64Encoded {
		t.Fatalf("response = %+v", resp)
	}
	var body helloBody
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	want := helloBody{Message: "Hi, Grace!", Stage: "production", Path: "/hello", RequestID: "req-1"}
	if body != want {
		t.Errorf("body = %+v, want %+v", body, want)
	}
	// API Gateway needs statusCode and body keys in the raw document.
	var raw map[string]any
	if err := json.Unmarshal(out, &raw); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"statusCode", "body", "headers", "isBase64Encoded"} {
		if _, ok := raw[key]; !ok {
			t.Errorf("response has no %q key: %s", key, out)
		}
	}
	if !strings.Contains(logs.String(), `"apiRequestId":"req-1"`) || !strings.Contains(logs.String(), `"status":200`) {
		t.Errorf("request log missing fields: %s", logs.String())
	}
}

func TestInvokeRejectsPayloadsThatAreNotProxyEvents(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    string
	}{
		{"not JSON", `{"resource": `, "payload is not a JSON object"},
		{"JSON array", `[1, 2]`, "payload is not a JSON object"},
		{"empty payload", ``, "payload is not a JSON object"},
		{"JSON null", `null`, "httpMethod is missing"},
		{"another event source", `{"Records": [{"eventSource": "aws:s3"}]}`, "httpMethod is missing"},
		{"wrong field type", `{"httpMethod": 42}`, "payload is not a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := newTestHandler(t, io.Discard).Invoke(context.Background(), []byte(tc.payload))
			if err == nil {
				t.Fatalf("Invoke returned %s, want an error", out)
			}
			var eventErr *EventError
			if !errors.As(err, &eventErr) {
				t.Fatalf("error %T (%v) is not an *EventError", err, err)
			}
			if eventErr.ErrorType() != "InvalidEvent" {
				t.Errorf("ErrorType = %q", eventErr.ErrorType())
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}
