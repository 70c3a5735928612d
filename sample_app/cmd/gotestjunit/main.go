// Command gotestjunit reads `go test -json` on stdin, prints the tests' output,
// writes a JUnit XML report for CodeBuild and exits 1 when a test failed.
//
//	go test -json ./... | go run ./cmd/gotestjunit -o reports/junit.xml
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"example.com/lambda-pipeline/sample-app/internal/junitreport"
)

func main() {
	out := flag.String("o", "reports/junit.xml", "where to write the JUnit XML report")
	flag.Parse()
	os.Exit(run(os.Stdin, os.Stdout, os.Stderr, *out))
}

func run(in io.Reader, stdout, stderr io.Writer, path string) int {
	report, err := junitreport.Convert(in, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "gotestjunit:", err)
		return 2
	}
	if err := writeReport(report, path); err != nil {
		fmt.Fprintln(stderr, "gotestjunit:", err)
		return 2
	}
	passed := report.Tests - report.Failures - report.Skipped
	fmt.Fprintf(stdout, "JUnit report %s: %d passed, %d failed, %d skipped\n",
		path, passed, report.Failures, report.Skipped)
	if report.Failures > 0 {
		return 1
	}
	return 0
}

func writeReport(report *junitreport.Testsuites, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := report.Write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
