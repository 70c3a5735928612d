package runtimeapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"runtime/debug"
	"strings"
	"unicode"
)

// TraceEnvVar is where Lambda runtimes publish the current invocation's X-Ray
// trace header, so SDKs in the handler can pick it up.
const TraceEnvVar = "_X_AMZN_TRACE_ID"

// Error types sent in the Lambda-Runtime-Function-Error-Type header. The
// documentation recommends Category.Reason; handler failures use the
// Function category, faults the runtime itself detects use Runtime.
const (
	ErrorTypeMalformedInvocation = "Runtime.MalformedInvocation"
	ErrorTypeConfigInvalid       = "Runtime.ConfigInvalid"
	functionErrorCategory        = "Function."
)

// Handler handles one invocation and returns the response payload.
type Handler interface {
	Invoke(ctx context.Context, inv Invocation) ([]byte, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, inv Invocation) ([]byte, error)

// Invoke calls f.
func (f HandlerFunc) Invoke(ctx context.Context, inv Invocation) ([]byte, error) { return f(ctx, inv) }

// PanicError is a handler panic turned into an invocation error, so one bad
// request fails that invocation instead of killing the execution environment.
type PanicError struct {
	Value any
	Stack []string
}

func (e *PanicError) Error() string { return fmt.Sprintf("handler panicked: %v", e.Value) }

// ErrorType names the error in the runtime API's error document.
func (e *PanicError) ErrorType() string { return "Panic" }

// Serve runs the runtime loop: fetch an invocation, run h, post the result,
// forever. It returns only when the runtime API fails in a way that leaves the
// runtime no sane way on (the process should then exit and Lambda starts a new
// one) or when ctx is done.
func Serve(ctx context.Context, client *Client, h Handler, logger *slog.Logger) error {
	for {
		inv, err := client.Next(ctx)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			var malformed *MalformedInvocationError
			if errors.As(err, &malformed) && malformed.RequestID != "" {
				// The event is unusable but has an id: fail it and carry on.
				doc := ErrorDocument{ErrorMessage: err.Error(), ErrorType: "MalformedInvocation"}
				if err := settle(ctx, logger, malformed.RequestID, func() error {
					return client.ReportInvocationError(ctx, malformed.RequestID, ErrorTypeMalformedInvocation, doc)
				}); err != nil {
					return err
				}
				continue
			}
			return fmt.Errorf("get next invocation: %w", err)
		}
		if err := serveOne(ctx, client, h, inv, logger); err != nil {
			return err
		}
	}
}

func serveOne(ctx context.Context, client *Client, h Handler, inv Invocation, logger *slog.Logger) error {
	logger.LogAttrs(ctx, slog.LevelDebug, "invocation received",
		slog.String("requestId", inv.RequestID), slog.Time("deadline", inv.Deadline))
	if inv.TraceID != "" {
		os.Setenv(TraceEnvVar, inv.TraceID)
	} else {
		os.Unsetenv(TraceEnvVar)
	}
	invokeCtx, cancel := context.WithDeadline(ctx, inv.Deadline)
	defer cancel()

	out, err := safeInvoke(invokeCtx, h, inv)
	if err != nil {
		doc := NewErrorDocument(err)
		logger.LogAttrs(ctx, slog.LevelError, "invocation failed",
			slog.String("requestId", inv.RequestID), slog.String("errorType", doc.ErrorType),
			slog.String("error", err.Error()))
		return settle(ctx, logger, inv.RequestID, func() error {
			return client.ReportInvocationError(ctx, inv.RequestID, functionErrorCategory+doc.ErrorType, doc)
		})
	}
	return settle(ctx, logger, inv.RequestID, func() error {
		return client.Respond(ctx, inv.RequestID, out)
	})
}

// settle posts an invocation's outcome. A 4xx answer (e.g. 413 for a response
// over the payload limit) loses only that invocation, so it is logged and the
// loop goes on; anything else ends the loop.
func settle(ctx context.Context, logger *slog.Logger, requestID string, post func() error) error {
	err := post()
	if err == nil {
		return nil
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) && !apiErr.Fatal() {
		logger.LogAttrs(ctx, slog.LevelError, "runtime API rejected the invocation result",
			slog.String("requestId", requestID), slog.String("error", err.Error()))
		return nil
	}
	return fmt.Errorf("post result of invocation %s: %w", requestID, err)
}

func safeInvoke(ctx context.Context, h Handler, inv Invocation) (out []byte, err error) {
	defer func() {
		if value := recover(); value != nil {
			stack := strings.Split(strings.TrimSpace(string(debug.Stack())), "\n")
			err = &PanicError{Value: value, Stack: stack}
		}
	}()
	return h.Invoke(ctx, inv)
}

// NewErrorDocument describes err for the runtime API. The type is the error's
// own ErrorType() when it (or an error it wraps) has one, else its Go type name.
func NewErrorDocument(err error) ErrorDocument {
	doc := ErrorDocument{ErrorMessage: err.Error(), ErrorType: errorTypeOf(err), StackTrace: []string{}}
	var panicErr *PanicError
	if errors.As(err, &panicErr) {
		doc.StackTrace = panicErr.Stack
	}
	return doc
}

func errorTypeOf(err error) string {
	var typed interface{ ErrorType() string }
	if errors.As(err, &typed) {
		if name := sanitizeErrorType(typed.ErrorType()); name != "" {
			return name
		}
	}
	t := reflect.TypeOf(err)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if name := sanitizeErrorType(t.Name()); name != "" {
		return name
	}
	return "Error"
}

// sanitizeErrorType keeps letters and digits so the header stays in the
// Category.Reason form with a single dot.
func sanitizeErrorType(name string) string {
	return strings.Map(func(r rune) rune {
		if r <= unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return r
		}
		return -1
	}, name)
}
