package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name     string
		stream   string
		wantCode int
		wantLine string
	}{
		{"all passed", `{"Action":"pass","Package":"p","Test":"TestA","Elapsed":0.1}` + "\n",
			0, "1 passed, 0 failed, 0 skipped"},
		{"a failure fails the run", `{"Action":"fail","Package":"p","Test":"TestA"}` + "\n" +
			`{"Action":"skip","Package":"p","Test":"TestB"}` + "\n",
			1, "0 passed, 1 failed, 1 skipped"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "nested", "junit.xml")
			var stdout, stderr bytes.Buffer

			code := run(strings.NewReader(tc.stream), &stdout, &stderr, path)

			if code != tc.wantCode {
				t.Errorf("code = %d, want %d (stderr %s)", code, tc.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.wantLine) {
				t.Errorf("stdout = %q, want %q", stdout.String(), tc.wantLine)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("report not written: %v", err)
			}
			if !bytes.Contains(data, []byte(`<testcase classname="p" name="TestA"`)) {
				t.Errorf("report = %s", data)
			}
		})
	}
}

func TestRunFailsWhenTheReportCannotBeWritten(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer

	code := run(strings.NewReader(""), &stdout, &stderr, filepath.Join(blocker, "junit.xml"))

	if code != 2 || !strings.Contains(stderr.String(), "gotestjunit:") {
		t.Fatalf("code = %d, stderr = %q", code, stderr.String())
	}
}
