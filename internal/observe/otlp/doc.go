// Package otlp receives OpenTelemetry traces and logs over OTLP (gRPC and
// HTTP, protobuf and JSON) and writes them to the Application Insights
// tables: server and consumer spans to AppRequests, client, producer and
// internal spans to AppDependencies, exception events and error logs to
// AppExceptions, log records to AppTraces. The mapping follows the Azure
// Monitor OpenTelemetry exporter; docs/traces.md says where it does not.
//
// Decoding is pdata's (go.opentelemetry.io/collector/pdata), the
// collector's own: no OTLP message is parsed by hand here.
package otlp
