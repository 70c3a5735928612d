// Package junitreport turns the event stream of `go test -json` into a JUnit
// XML report, the format CodeBuild test reports read. The usual converters
// (go-junit-report, gotestsum) are third-party modules, which this module
// does not use, and the conversion is small.
package junitreport

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// event is one line of `go test -json` (see `go doc test2json`).
type event struct {
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	ImportPath  string // build-output and build-fail events (Go 1.24+)
	FailedBuild string // set on a package's fail event when it did not build
}

// Testsuites is the report's root element.
type Testsuites struct {
	XMLName  xml.Name    `xml:"testsuites"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Suites   []Testsuite `xml:"testsuite"`
}

// Testsuite holds one Go package's tests.
type Testsuite struct {
	Name     string     `xml:"name,attr"`
	Tests    int        `xml:"tests,attr"`
	Failures int        `xml:"failures,attr"`
	Skipped  int        `xml:"skipped,attr"`
	Time     string     `xml:"time,attr"`
	Cases    []Testcase `xml:"testcase"`
}

// Testcase is one test or subtest.
type Testcase struct {
	Classname string   `xml:"classname,attr"`
	Name      string   `xml:"name,attr"`
	Time      string   `xml:"time,attr"`
	Failure   *Message `xml:"failure,omitempty"`
	Skipped   *Message `xml:"skipped,omitempty"`
	SystemOut string   `xml:"system-out,omitempty"`
}

// Message is a failure or skip reason with the test's output as text.
type Message struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

type testState struct {
	name    string
	action  string // pass, fail, skip; empty while running
	elapsed float64
	output  strings.Builder
}

type packageState struct {
	name    string
	action  string
	elapsed float64
	failed  string // FailedBuild import path
	output  strings.Builder
	tests   []*testState
	byName  map[string]*testState
}

// Convert reads `go test -json` output from r, copies the tests' own output to
// echo (so build logs read like `go test -v`) and returns the report. Lines
// that are not JSON (e.g. a toolchain message) are echoed and otherwise ignored.
func Convert(r io.Reader, echo io.Writer) (*Testsuites, error) {
	var order []*packageState
	packages := map[string]*packageState{}
	buildOutput := map[string]*strings.Builder{}
	pkg := func(name string) *packageState {
		p, ok := packages[name]
		if !ok {
			p = &packageState{name: name, byName: map[string]*testState{}}
			packages[name] = p
			order = append(order, p)
		}
		return p
	}

	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 64*1024), 16*1024*1024) // test output lines can be long
	for scanner.Scan() {
		line := scanner.Bytes()
		var ev event
		if err := json.Unmarshal(line, &ev); err != nil || ev.Action == "" {
			if _, err := fmt.Fprintln(echo, string(line)); err != nil {
				return nil, err
			}
			continue
		}
		if ev.Action == "output" || ev.Action == "build-output" {
			if _, err := io.WriteString(echo, ev.Output); err != nil {
				return nil, err
			}
		}
		if ev.ImportPath != "" && ev.Package == "" {
			if ev.Action == "build-output" {
				b, ok := buildOutput[ev.ImportPath]
				if !ok {
					b = &strings.Builder{}
					buildOutput[ev.ImportPath] = b
				}
				b.WriteString(ev.Output)
			}
			continue
		}
		if ev.Package == "" {
			continue
		}
		p := pkg(ev.Package)
		if ev.Test == "" {
			switch ev.Action {
			case "output":
				p.output.WriteString(ev.Output)
			case "pass", "fail", "skip":
				p.action, p.elapsed, p.failed = ev.Action, ev.Elapsed, ev.FailedBuild
			}
			continue
		}
		t, ok := p.byName[ev.Test]
		if !ok {
			t = &testState{name: ev.Test}
			p.byName[ev.Test] = t
			p.tests = append(p.tests, t)
		}
		switch ev.Action {
		case "output":
			t.output.WriteString(ev.Output)
		case "pass", "fail", "skip":
			t.action, t.elapsed = ev.Action, ev.Elapsed
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("read go test -json output: %w", err)
	}

	report := &Testsuites{}
	for _, p := range order {
		if len(p.tests) == 0 && p.action != "fail" {
			continue // a package without tests is not a suite
		}
		suite := buildSuite(p, buildOutput)
		report.Tests += suite.Tests
		report.Failures += suite.Failures
		report.Skipped += suite.Skipped
		report.Suites = append(report.Suites, suite)
	}
	return report, nil
}

func buildSuite(p *packageState, buildOutput map[string]*strings.Builder) Testsuite {
	suite := Testsuite{Name: p.name, Time: seconds(p.elapsed)}
	anyFailed := false
	for _, t := range p.tests {
		tc := Testcase{Classname: p.name, Name: t.name, Time: seconds(t.elapsed)}
		switch t.action {
		case "pass":
			tc.SystemOut = t.output.String()
		case "skip":
			tc.Skipped = &Message{Message: "skipped", Text: t.output.String()}
			suite.Skipped++
		case "fail":
			tc.Failure = &Message{Message: "failed", Text: t.output.String()}
		default:
			// No verdict: the binary died (panic, timeout) while it ran.
			tc.Failure = &Message{Message: "did not finish", Text: t.output.String() + p.output.String()}
		}
		if tc.Failure != nil {
			suite.Failures++
			anyFailed = true
		}
		suite.Cases = append(suite.Cases, tc)
	}
	if p.action == "fail" && !anyFailed {
		// The package failed outside any test: build error, TestMain, init.
		text := p.output.String()
		if b, ok := buildOutput[p.failed]; ok {
			text = b.String() + text
		}
		suite.Cases = append(suite.Cases, Testcase{
			Classname: p.name, Name: "(package)", Time: seconds(p.elapsed),
			Failure: &Message{Message: "package failed", Text: text},
		})
		suite.Failures++
	}
	suite.Tests = len(suite.Cases)
	return suite
}

// Write encodes the report as an XML document.
func (r *Testsuites) Write(w io.Writer) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("encode JUnit report: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func seconds(s float64) string { return strconv.FormatFloat(s, 'f', 3, 64) }
