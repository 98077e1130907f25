package kql

import "testing"

// fuzzCompile is replaced once the planner exists.
func fuzzCompile(t *testing.T, query string) {}
