// Command bootstrap is the sample application's Lambda function for the
// provided.al2023 runtime: it reads its configuration, then serves API Gateway
// events fetched from the Lambda runtime API until the environment shuts down.
package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"example.com/lambda-pipeline/sample-app/internal/api"
	"example.com/lambda-pipeline/sample-app/internal/runtimeapi"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Getenv, os.Stdout))
}

// run wires configuration, handler and runtime loop; it returns the exit code.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) int {
	// Until the configured level is known, log at the default (INFO) level.
	logger := slog.New(slog.NewJSONHandler(stdout, nil))

	client, err := runtimeapi.NewClient(getenv("AWS_LAMBDA_RUNTIME_API"), nil)
	if err != nil {
		// Without the runtime API there is nobody to report to: log and exit.
		logger.Error("cannot reach the Lambda runtime API", "error", err)
		return 1
	}
	cfg, err := api.LoadConfig(getenv)
	if err != nil {
		logger.Error("invalid configuration", "error", err)
		doc := runtimeapi.NewErrorDocument(err)
		if reportErr := client.ReportInitError(ctx, runtimeapi.ErrorTypeConfigInvalid, doc); reportErr != nil {
			logger.Error("cannot report the initialization error", "error", reportErr)
		}
		return 1
	}

	logger = slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	handler := api.NewHandler(cfg, logger)
	logger.Info("function started", "stage", cfg.Stage, "logLevel", cfg.LogLevel.String())

	err = runtimeapi.Serve(ctx, client, runtimeapi.HandlerFunc(
		func(ctx context.Context, inv runtimeapi.Invocation) ([]byte, error) {
			return handler.Invoke(ctx, inv.Payload)
		}), logger)
	if errors.Is(err, context.Canceled) {
		logger.Info("shutting down")
		return 0
	}
	logger.Error("runtime loop stopped", "error", err)
	return 1
}
