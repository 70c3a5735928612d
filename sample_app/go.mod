module example.com/lambda-pipeline/sample-app

// 1.22 is the oldest Go this module needs (per-iteration loop variables,
// method-aware http.ServeMux in tests) and is available on the CodeBuild image.
// The module has no requirements: it builds with the standard library only.
go 1.22
