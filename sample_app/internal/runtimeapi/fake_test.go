package runtimeapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// queuedEvent is one answer the fake runtime API gives to /next.
type queuedEvent struct {
	headers map[string]string
	payload string
}

// posted is one request the runtime sent back to the fake.
type posted struct {
	kind      string // "response", "error" or "init-error"
	requestID string
	errorType string
	body      string
}

// fakeRuntimeAPI serves queued events on /next the way Lambda does and records
// what the runtime posts. When the queue is empty /next answers 500, which is
// how the runtime API says "exit now" and how loop tests end.
type fakeRuntimeAPI struct {
	t      *testing.T
	server *httptest.Server

	mu     sync.Mutex
	queue  []queuedEvent
	posts  []posted
	status map[string]int // status to answer per kind; 202 when unset
	// parked, when set, makes /next block until the caller gives up, like
	// Lambda between events; it is closed when a request parks.
	parked chan struct{}
}

func newFakeRuntimeAPI(t *testing.T, events ...queuedEvent) *fakeRuntimeAPI {
	t.Helper()
	f := &fakeRuntimeAPI{t: t, queue: events, status: map[string]int{}}
	mux := http.NewServeMux()
	prefix := "/" + APIVersion
	mux.HandleFunc("GET "+prefix+"/runtime/invocation/next", f.next)
	mux.HandleFunc("POST "+prefix+"/runtime/invocation/{id}/response", f.record("response"))
	mux.HandleFunc("POST "+prefix+"/runtime/invocation/{id}/error", f.record("error"))
	mux.HandleFunc("POST "+prefix+"/runtime/init/error", f.record("init-error"))
	f.server = httptest.NewServer(mux)
	t.Cleanup(f.server.Close)
	return f
}

// endpoint is what AWS_LAMBDA_RUNTIME_API would hold.
func (f *fakeRuntimeAPI) endpoint() string {
	return strings.TrimPrefix(f.server.URL, "http://")
}

func (f *fakeRuntimeAPI) client() *Client {
	f.t.Helper()
	c, err := NewClient(f.endpoint(), f.server.Client())
	if err != nil {
		f.t.Fatalf("NewClient: %v", err)
	}
	return c
}

func (f *fakeRuntimeAPI) answer(kind string, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status[kind] = status
}

// parkNext makes the next /next call block; the channel closes once it does.
func (f *fakeRuntimeAPI) parkNext() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.parked = make(chan struct{})
	return f.parked
}

func (f *fakeRuntimeAPI) recorded() []posted {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]posted(nil), f.posts...)
}

func (f *fakeRuntimeAPI) next(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	if f.parked != nil {
		close(f.parked)
		f.parked = nil
		f.mu.Unlock()
		<-r.Context().Done()
		return
	}
	if status, ok := f.status["next"]; ok {
		f.mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, `{"errorMessage":"forced","errorType":"Test"}`)
		return
	}
	if len(f.queue) == 0 {
		f.mu.Unlock()
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"errorMessage":"no more events","errorType":"Test.Exhausted"}`)
		return
	}
	ev := f.queue[0]
	f.queue = f.queue[1:]
	f.mu.Unlock()
	for key, value := range ev.headers {
		w.Header().Set(key, value)
	}
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, ev.payload)
}

func (f *fakeRuntimeAPI) record(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			f.t.Errorf("read %s body: %v", kind, err)
		}
		f.mu.Lock()
		f.posts = append(f.posts, posted{
			kind:      kind,
			requestID: r.PathValue("id"),
			errorType: r.Header.Get(HeaderFunctionErrorType),
			body:      string(body),
		})
		status, ok := f.status[kind]
		f.mu.Unlock()
		if !ok {
			status = http.StatusAccepted
		}
		w.WriteHeader(status)
		io.WriteString(w, `{"status":"OK"}`)
	}
}

// invocationHeaders are the headers Lambda sends with an event.
func invocationHeaders(requestID, deadlineMs string) map[string]string {
	return map[string]string{
		HeaderRequestID:          requestID,
		HeaderDeadlineMs:         deadlineMs,
		HeaderInvokedFunctionARN: "arn:aws:lambda:eu-west-1:123456789012:function:orders-api-staging-HelloFunction-AbC",
		HeaderTraceID:            "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
	}
}
