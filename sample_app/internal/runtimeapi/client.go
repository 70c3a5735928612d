// Package runtimeapi is a small client of the Lambda runtime API (version
// 2018-06-01) that custom runtimes such as provided.al2023 use to fetch
// invocations and post their results, plus the loop that drives it.
//
// The module may use the standard library only, so this replaces the runtime
// client that aws-lambda-go would otherwise provide.
package runtimeapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// APIVersion is the runtime API version every path starts with.
const APIVersion = "2018-06-01"

// Headers of the runtime API, as documented.
const (
	HeaderRequestID          = "Lambda-Runtime-Aws-Request-Id"
	HeaderDeadlineMs         = "Lambda-Runtime-Deadline-Ms"
	HeaderInvokedFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	HeaderTraceID            = "Lambda-Runtime-Trace-Id"
	HeaderClientContext      = "Lambda-Runtime-Client-Context"
	HeaderCognitoIdentity    = "Lambda-Runtime-Cognito-Identity"
	HeaderFunctionErrorType  = "Lambda-Runtime-Function-Error-Type"
)

// maxErrorBodyInError bounds how much of an unexpected runtime API answer is
// copied into an error message (and so into the logs).
const maxErrorBodyInError = 512

// Invocation is one event handed out by GET /runtime/invocation/next.
type Invocation struct {
	RequestID          string
	Deadline           time.Time
	InvokedFunctionARN string
	TraceID            string
	ClientContext      string
	CognitoIdentity    string
	Payload            []byte
}

// ErrorDocument is the JSON body the runtime API expects on both error paths.
type ErrorDocument struct {
	ErrorMessage string   `json:"errorMessage"`
	ErrorType    string   `json:"errorType"`
	StackTrace   []string `json:"stackTrace"`
}

// APIError is a runtime API answer with an unexpected HTTP status. A 500 means
// the execution environment is broken and the runtime should exit.
type APIError struct {
	Method     string
	Path       string
	StatusCode int
	Body       string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("runtime API %s %s answered %d %s: %s",
		e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode), e.Body)
}

// Fatal reports whether the runtime must stop: the runtime API documents 500 as
// "non-recoverable state, runtime should exit promptly". A 4xx only loses the
// one invocation it concerns.
func (e *APIError) Fatal() bool { return e.StatusCode >= 500 }

// MalformedInvocationError means /next answered 200 but without the headers
// an invocation needs. RequestID is set when the invocation can still be
// failed through its error endpoint.
type MalformedInvocationError struct {
	RequestID string
	Reason    string
}

func (e *MalformedInvocationError) Error() string {
	if e.RequestID == "" {
		return "malformed invocation: " + e.Reason
	}
	return fmt.Sprintf("malformed invocation %s: %s", e.RequestID, e.Reason)
}

// Client talks to one runtime API endpoint.
type Client struct {
	baseURL string
	http    *http.Client
}

// NewClient returns a client for endpoint, the host:port found in
// AWS_LAMBDA_RUNTIME_API. httpClient must have no Timeout: /next blocks
// until an event arrives and the process may be frozen meanwhile.
func NewClient(endpoint string, httpClient *http.Client) (*Client, error) {
	if endpoint == "" {
		return nil, errors.New("runtime API endpoint is empty: AWS_LAMBDA_RUNTIME_API is not set")
	}
	if strings.Contains(endpoint, "/") {
		return nil, fmt.Errorf("runtime API endpoint %q must be host:port, without scheme or path", endpoint)
	}
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	return &Client{baseURL: "http://" + endpoint + "/" + APIVersion, http: httpClient}, nil
}

// Next blocks until Lambda hands out the next invocation.
func (c *Client) Next(ctx context.Context) (Invocation, error) {
	resp, body, err := c.do(ctx, http.MethodGet, "/runtime/invocation/next", nil, nil, http.StatusOK)
	if err != nil {
		return Invocation{}, err
	}
	inv := Invocation{
		RequestID:          resp.Header.Get(HeaderRequestID),
		InvokedFunctionARN: resp.Header.Get(HeaderInvokedFunctionARN),
		TraceID:            resp.Header.Get(HeaderTraceID),
		ClientContext:      resp.Header.Get(HeaderClientContext),
		CognitoIdentity:    resp.Header.Get(HeaderCognitoIdentity),
		Payload:            body,
	}
	if inv.RequestID == "" {
		return Invocation{}, &MalformedInvocationError{Reason: "header " + HeaderRequestID + " is missing"}
	}
	deadline, err := parseDeadline(resp.Header.Get(HeaderDeadlineMs))
	if err != nil {
		return inv, &MalformedInvocationError{RequestID: inv.RequestID, Reason: err.Error()}
	}
	inv.Deadline = deadline
	return inv, nil
}

// Respond posts the handler's result for requestID.
func (c *Client) Respond(ctx context.Context, requestID string, payload []byte) error {
	path := "/runtime/invocation/" + url.PathEscape(requestID) + "/response"
	_, _, err := c.do(ctx, http.MethodPost, path, payload, nil, http.StatusAccepted)
	return err
}

// ReportInvocationError fails the invocation requestID. errorType goes into the
// Lambda-Runtime-Function-Error-Type header, in the documented Category.Reason form.
func (c *Client) ReportInvocationError(ctx context.Context, requestID, errorType string, doc ErrorDocument) error {
	path := "/runtime/invocation/" + url.PathEscape(requestID) + "/error"
	return c.postError(ctx, path, errorType, doc)
}

// ReportInitError tells Lambda the runtime could not start; the runtime should
// exit afterwards. Lambda answers the pending invocation with this error.
func (c *Client) ReportInitError(ctx context.Context, errorType string, doc ErrorDocument) error {
	return c.postError(ctx, "/runtime/init/error", errorType, doc)
}

func (c *Client) postError(ctx context.Context, path, errorType string, doc ErrorDocument) error {
	if doc.StackTrace == nil {
		doc.StackTrace = []string{} // the documented shape is an array, never null
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encode error document: %w", err)
	}
	headers := map[string]string{HeaderFunctionErrorType: errorType}
	_, _, err = c.do(ctx, http.MethodPost, path, body, headers, http.StatusAccepted)
	return err
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, headers map[string]string,
	wantStatus int) (*http.Response, []byte, error) {
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, reader)
	if err != nil {
		return nil, nil, fmt.Errorf("build runtime API request %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for key, value := range headers {
		req.Header.Set(key, value)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("runtime API %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("read runtime API answer to %s %s: %w", method, path, err)
	}
	if resp.StatusCode != wantStatus {
		return nil, nil, &APIError{
			Method:     method,
			Path:       "/" + APIVersion + path,
			StatusCode: resp.StatusCode,
			Body:       truncate(string(respBody), maxErrorBodyInError),
		}
	}
	return resp, respBody, nil
}

func parseDeadline(raw string) (time.Time, error) {
	if raw == "" {
		return time.Time{}, errors.New("header " + HeaderDeadlineMs + " is missing")
	}
	ms, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}, fmt.Errorf("header %s is not a positive Unix time in milliseconds: %q", HeaderDeadlineMs, raw)
	}
	return time.UnixMilli(ms), nil
}

func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "…"
}
