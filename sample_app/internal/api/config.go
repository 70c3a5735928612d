package api

import (
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf8"
)

// Stages the function may be deployed to; template.yaml's Stage parameter
// allows exactly these values.
var Stages = []string{"staging", "production"}

// DefaultGreeting is used when GREETING is unset, so a local run needs no setup.
const DefaultGreeting = "Hello"

const maxGreetingLength = 64

// Config is what the function reads from its environment at start-up.
type Config struct {
	Stage    string
	Greeting string
	LogLevel slog.Level
}

// ConfigError says which environment variable is wrong. The bootstrap reports
// it to the runtime API as an initialization error instead of serving requests
// with a half-valid configuration.
type ConfigError struct {
	Variable string
	Problem  string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("environment variable %s %s", e.Variable, e.Problem)
}

// ErrorType names the error in the runtime API's error document.
func (e *ConfigError) ErrorType() string { return "ConfigError" }

// LoadConfig reads STAGE, GREETING and LOG_LEVEL through getenv (os.Getenv in
// production, a map lookup in tests).
func LoadConfig(getenv func(string) string) (Config, error) {
	cfg := Config{Stage: getenv("STAGE"), Greeting: getenv("GREETING"), LogLevel: slog.LevelInfo}
	if !isStage(cfg.Stage) {
		return Config{}, &ConfigError{
			Variable: "STAGE",
			Problem:  fmt.Sprintf("must be one of %s, got %q", strings.Join(Stages, ", "), cfg.Stage),
		}
	}
	if cfg.Greeting == "" {
		cfg.Greeting = DefaultGreeting
	}
	if n := utf8.RuneCountInString(cfg.Greeting); n > maxGreetingLength {
		return Config{}, &ConfigError{
			Variable: "GREETING",
			Problem:  fmt.Sprintf("must be at most %d characters, got %d", maxGreetingLength, n),
		}
	}
	if raw := getenv("LOG_LEVEL"); raw != "" {
		if err := cfg.LogLevel.UnmarshalText([]byte(raw)); err != nil {
			return Config{}, &ConfigError{
				Variable: "LOG_LEVEL",
				Problem:  fmt.Sprintf("must be DEBUG, INFO, WARN or ERROR, got %q", raw),
			}
		}
	}
	return cfg, nil
}

func isStage(s string) bool {
	for _, stage := range Stages {
		if s == stage {
			return true
		}
	}
	return false
}
