package api

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func envFrom(vars map[string]string) func(string) string {
	return func(key string) string { return vars[key] }
}

func TestLoadConfigAcceptsValidEnvironments(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want Config
	}{
		{"defaults", map[string]string{"STAGE": "staging"},
			Config{Stage: "staging", Greeting: DefaultGreeting, LogLevel: slog.LevelInfo}},
		{"everything set", map[string]string{"STAGE": "production", "GREETING": "Bonjour", "LOG_LEVEL": "WARN"},
			Config{Stage: "production", Greeting: "Bonjour", LogLevel: slog.LevelWarn}},
		{"log level is case-insensitive", map[string]string{"STAGE": "staging", "LOG_LEVEL": "debug"},
			Config{Stage: "staging", Greeting: DefaultGreeting, LogLevel: slog.LevelDebug}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LoadConfig(envFrom(tc.env))
			if err != nil {
				t.Fatalf("LoadConfig: %v", err)
			}
			if got != tc.want {
				t.Errorf("LoadConfig = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestLoadConfigRejectsInvalidEnvironments(t *testing.T) {
	tests := []struct {
		name         string
		env          map[string]string
		wantVariable string
		wantText     string
	}{
		{"stage missing", map[string]string{}, "STAGE", `got ""`},
		{"stage unknown", map[string]string{"STAGE": "dev"}, "STAGE", "must be one of staging, production"},
		{"stage is case-sensitive", map[string]string{"STAGE": "Production"}, "STAGE", `got "Production"`},
		{"greeting too long", map[string]string{"STAGE": "staging", "GREETING": strings.Repeat("x", 65)},
			"GREETING", "at most 64 characters, got 65"},
		{"log level unknown", map[string]string{"STAGE": "staging", "LOG_LEVEL": "VERBOSE"},
			"LOG_LEVEL", `got "VERBOSE"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadConfig(envFrom(tc.env))
			var cfgErr *ConfigError
			if !errors.As(err, &cfgErr) {
				t.Fatalf("error = %v (%T), want *ConfigError", err, err)
			}
			if cfgErr.Variable != tc.wantVariable {
				t.Errorf("Variable = %q, want %q", cfgErr.Variable, tc.wantVariable)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error = %q, want it to contain %q", err, tc.wantText)
			}
		})
	}
}
