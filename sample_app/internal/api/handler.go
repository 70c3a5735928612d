package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"unicode"
	"unicode/utf8"
)

// HelloResource is the API Gateway resource path the function serves.
const HelloResource = "/hello"

const (
	defaultName   = "World"
	maxNameLength = 64
)

// EventError means the payload is not an API Gateway proxy event. That is a
// wiring fault, not a client mistake, so it fails the invocation (API Gateway
// then answers 502) instead of becoming a 4xx response.
type EventError struct {
	Reason string
	Err    error
}

func (e *EventError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("invalid API Gateway proxy event: %s: %v", e.Reason, e.Err)
	}
	return "invalid API Gateway proxy event: " + e.Reason
}

func (e *EventError) Unwrap() error { return e.Err }

// ErrorType names the error in the runtime API's error document.
func (e *EventError) ErrorType() string { return "InvalidEvent" }

// Handler answers GET /hello with a greeting that names the stage.
type Handler struct {
	cfg    Config
	logger *slog.Logger
}

// NewHandler returns a handler for the given configuration.
func NewHandler(cfg Config, logger *slog.Logger) *Handler {
	return &Handler{cfg: cfg, logger: logger}
}

type helloBody struct {
	Message   string `json:"message"`
	Stage     string `json:"stage"`
	Path      string `json:"path"`
	RequestID string `json:"requestId"`
}

type errorBody struct {
	Error     string `json:"error"`
	Message   string `json:"message"`
	RequestID string `json:"requestId"`
}

// Invoke decodes a proxy event and encodes the proxy response.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	req, err := decodeEvent(payload)
	if err != nil {
		return nil, err
	}
	resp, err := h.Handle(ctx, req)
	if err != nil {
		return nil, err
	}
	return json.Marshal(resp)
}

// Handle answers one request; client mistakes become 4xx JSON responses.
func (h *Handler) Handle(ctx context.Context, req ProxyRequest) (ProxyResponse, error) {
	resp, err := h.route(req)
	if err != nil {
		return ProxyResponse{}, err
	}
	h.logger.LogAttrs(ctx, slog.LevelInfo, "request handled",
		slog.String("method", req.HTTPMethod),
		slog.String("resource", req.Resource),
		slog.Int("status", resp.StatusCode),
		slog.String("apiRequestId", req.RequestContext.RequestID),
	)
	return resp, nil
}

func (h *Handler) route(req ProxyRequest) (ProxyResponse, error) {
	requestID := req.RequestContext.RequestID
	if req.Resource != HelloResource {
		return jsonResponse(http.StatusNotFound, errorBody{
			Error:     "not_found",
			Message:   fmt.Sprintf("no resource %q: this API serves %s", req.Resource, HelloResource),
			RequestID: requestID,
		}, nil)
	}
	if req.HTTPMethod != http.MethodGet {
		return jsonResponse(http.StatusMethodNotAllowed, errorBody{
			Error:     "method_not_allowed",
			Message:   fmt.Sprintf("method %s is not allowed on %s; use GET", req.HTTPMethod, HelloResource),
			RequestID: requestID,
		}, map[string]string{"Allow": http.MethodGet})
	}
	name, err := nameParameter(req)
	if err != nil {
		return jsonResponse(http.StatusBadRequest, errorBody{
			Error:     "invalid_parameter",
			Message:   err.Error(),
			RequestID: requestID,
		}, nil)
	}
	return jsonResponse(http.StatusOK, helloBody{
		Message:   fmt.Sprintf("%s, %s!", h.cfg.Greeting, name),
		Stage:     h.cfg.Stage,
		Path:      req.Path,
		RequestID: requestID,
	}, nil)
}

func decodeEvent(payload []byte) (ProxyRequest, error) {
	var req ProxyRequest
	if err := json.Unmarshal(payload, &req); err != nil {
		return ProxyRequest{}, &EventError{Reason: "payload is not a JSON object", Err: err}
	}
	if req.HTTPMethod == "" {
		return ProxyRequest{}, &EventError{Reason: "httpMethod is missing"}
	}
	return req, nil
}

// nameParameter returns the optional ?name= value. Unknown parameters are
// rejected rather than ignored so that a typo (?nmae=) is visible to the caller.
func nameParameter(req ProxyRequest) (string, error) {
	if unknown := unknownParameters(req); len(unknown) > 0 {
		return "", fmt.Errorf("unknown query parameter %q: only \"name\" is accepted", unknown[0])
	}
	if values := req.MultiValueQueryStringParameters["name"]; len(values) > 1 {
		return "", errors.New("query parameter \"name\" must be given at most once")
	}
	name, ok := req.QueryStringParameters["name"]
	if !ok {
		return defaultName, nil
	}
	return name, validateName(name)
}

func unknownParameters(req ProxyRequest) []string {
	seen := map[string]bool{}
	for key := range req.QueryStringParameters {
		seen[key] = true
	}
	for key := range req.MultiValueQueryStringParameters {
		seen[key] = true
	}
	var unknown []string
	for key := range seen {
		if key != "name" {
			unknown = append(unknown, key)
		}
	}
	sort.Strings(unknown) // map order is random; the message must not be
	return unknown
}

func validateName(name string) error {
	if name == "" {
		return errors.New("query parameter \"name\" must not be empty")
	}
	if !utf8.ValidString(name) {
		return errors.New("query parameter \"name\" must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(name); n > maxNameLength {
		return fmt.Errorf("query parameter \"name\" must be at most %d characters, got %d", maxNameLength, n)
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != ' ' && r != '-' && r != '\'' && r != '.' {
			return fmt.Errorf("query parameter \"name\" may contain only letters, digits, spaces, '-', ''' and '.', got %q", r)
		}
	}
	return nil
}

func jsonResponse(status int, body any, extraHeaders map[string]string) (ProxyResponse, error) {
	encoded, err := json.Marshal(body)
	if err != nil {
		return ProxyResponse{}, fmt.Errorf("encode %d response: %w", status, err)
	}
	headers := map[string]string{
		"Content-Type":           "application/json; charset=utf-8",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	}
	for key, value := range extraHeaders {
		headers[key] = value
	}
	return ProxyResponse{StatusCode: status, Headers: headers, Body: string(encoded)}, nil
}
