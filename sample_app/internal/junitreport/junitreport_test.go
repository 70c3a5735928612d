package junitreport

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
)

// Streams recorded from `go test -json` (Time fields dropped: unused).
const (
	passingPackage = `{"Action":"start","Package":"ex/a"}
{"Action":"run","Package":"ex/a","Test":"TestOK"}
{"Action":"output","Package":"ex/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"run","Package":"ex/a","Test":"TestOK/sub"}
{"Action":"output","Package":"ex/a","Test":"TestOK/sub","Output":"    a_test.go:3: hi\n"}
{"Action":"pass","Package":"ex/a","Test":"TestOK/sub","Elapsed":0.01}
{"Action":"pass","Package":"ex/a","Test":"TestOK","Elapsed":0.25}
{"Action":"output","Package":"ex/a","Output":"ok  \tex/a\t0.300s\n"}
{"Action":"pass","Package":"ex/a","Elapsed":0.3}
`
	failingAndSkipped = `{"Action":"run","Package":"ex/b","Test":"TestBad"}
{"Action":"output","Package":"ex/b","Test":"TestBad","Output":"    b_test.go:4: nope\n"}
{"Action":"fail","Package":"ex/b","Test":"TestBad","Elapsed":0}
{"Action":"run","Package":"ex/b","Test":"TestSkip"}
{"Action":"output","Package":"ex/b","Test":"TestSkip","Output":"    b_test.go:5: later\n"}
{"Action":"skip","Package":"ex/b","Test":"TestSkip","Elapsed":0}
{"Action":"fail","Package":"ex/b","Elapsed":0.003}
`
	// Go 1.24+ reports build failures as build-output events.
	buildFailureNew = `{"ImportPath":"ex/c [ex/c.test]","Action":"build-output","Output":"c_test.go:3:28: undefined: undefined\n"}
{"ImportPath":"ex/c [ex/c.test]","Action":"build-fail"}
{"Action":"start","Package":"ex/c"}
{"Action":"output","Package":"ex/c","Output":"FAIL\tex/c [build failed]\n"}
{"Action":"fail","Package":"ex/c","Elapsed":0,"FailedBuild":"ex/c [ex/c.test]"}
`
	// Older Go prints the compiler's errors on stderr; only the verdict is JSON.
	buildFailureOld = `{"Action":"output","Package":"ex/c","Output":"FAIL\tex/c [build failed]\n"}
{"Action":"fail","Package":"ex/c","Elapsed":0}
`
	panicked = `{"Action":"run","Package":"ex/d","Test":"TestBoom"}
{"Action":"output","Package":"ex/d","Test":"TestBoom","Output":"=== RUN   TestBoom\n"}
{"Action":"output","Package":"ex/d","Output":"panic: boom\n"}
{"Action":"fail","Package":"ex/d","Elapsed":0.1}
`
	noTests = `{"Action":"output","Package":"ex/e","Output":"?   \tex/e\t[no test files]\n"}
{"Action":"skip","Package":"ex/e","Elapsed":0}
`
)

func TestConvert(t *testing.T) {
	type wantCase struct{ name, verdict, text string }
	tests := []struct {
		name                  string
		stream                string
		tests, fails, skipped int
		cases                 []wantCase
	}{
		{"passing tests and subtests", passingPackage, 2, 0, 0, []wantCase{
			{"TestOK", "pass", "=== RUN   TestOK"},
			{"TestOK/sub", "pass", "a_test.go:3: hi"},
		}},
		{"failed and skipped tests", failingAndSkipped, 2, 1, 1, []wantCase{
			{"TestBad", "fail", "b_test.go:4: nope"},
			{"TestSkip", "skip", "b_test.go:5: later"},
		}},
		{"build failure with build events", buildFailureNew, 1, 1, 0, []wantCase{
			{"(package)", "fail", "undefined: undefined"},
		}},
		{"build failure without build events", buildFailureOld, 1, 1, 0, []wantCase{
			{"(package)", "fail", "[build failed]"},
		}},
		{"a test cut short by a panic", panicked, 1, 1, 0, []wantCase{
			{"TestBoom", "did not finish", "panic: boom"},
		}},
		{"a package without tests is left out", noTests, 0, 0, 0, nil},
		{"lines that are not JSON are ignored", "go: downloading nothing\n" + passingPackage, 2, 0, 0, []wantCase{
			{"TestOK", "pass", ""}, {"TestOK/sub", "pass", ""},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			report, err := Convert(strings.NewReader(tc.stream), &bytes.Buffer{})
			if err != nil {
				t.Fatalf("Convert: %v", err)
			}
			if report.Tests != tc.tests || report.Failures != tc.fails || report.Skipped != tc.skipped {
				t.Fatalf("totals = %d/%d/%d, want %d/%d/%d", report.Tests, report.Failures, report.Skipped,
					tc.tests, tc.fails, tc.skipped)
			}
			var got []Testcase
			for _, s := range report.Suites {
				got = append(got, s.Cases...)
			}
			if len(got) != len(tc.cases) {
				t.Fatalf("cases = %+v, want %d", got, len(tc.cases))
			}
			for i, want := range tc.cases {
				c := got[i]
				verdict, text := "pass", c.SystemOut
				switch {
				case c.Failure != nil:
					verdict, text = c.Failure.Message, c.Failure.Text
					if verdict == "failed" || verdict == "package failed" {
						verdict = "fail"
					}
				case c.Skipped != nil:
					verdict, text = "skip", c.Skipped.Text
				}
				if c.Name != want.name || verdict != want.verdict || !strings.Contains(text, want.text) {
					t.Errorf("case %d = %s %s %q, want %s %s containing %q", i, c.Name, verdict, text,
						want.name, want.verdict, want.text)
				}
			}
		})
	}
}

func TestConvertEchoesTestOutput(t *testing.T) {
	var echo bytes.Buffer
	if _, err := Convert(strings.NewReader("not json\n"+buildFailureNew+passingPackage), &echo); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"not json\n", "undefined: undefined", "=== RUN   TestOK\n", "ok  \tex/a\t0.300s\n"} {
		if !strings.Contains(echo.String(), want) {
			t.Errorf("echo lacks %q:\n%s", want, echo.String())
		}
	}
}

func TestWriteProducesJUnitXML(t *testing.T) {
	report, err := Convert(strings.NewReader(passingPackage+failingAndSkipped), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := report.Write(&out); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if !strings.HasPrefix(out.String(), "<?xml") {
		t.Errorf("no XML header: %s", out.String())
	}
	var decoded Testsuites
	if err := xml.Unmarshal(out.Bytes(), &decoded); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	if len(decoded.Suites) != 2 || decoded.Suites[0].Name != "ex/a" || decoded.Suites[1].Failures != 1 {
		t.Errorf("decoded = %+v", decoded)
	}
	if decoded.Suites[0].Time != "0.300" || decoded.Suites[0].Cases[0].Time != "0.250" {
		t.Errorf("times = %s / %s", decoded.Suites[0].Time, decoded.Suites[0].Cases[0].Time)
	}
}
