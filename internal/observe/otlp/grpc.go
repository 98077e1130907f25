package otlp

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // senders may compress; the size limit applies decompressed
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
	"google.golang.org/protobuf/types/known/durationpb"
)

// grpcStreamsPerConn bounds the requests one connection has in flight:
// grpc-go reads a message whole before the handler can refuse it, so this
// times MaxRequestBytes is what a connection can hold beyond MaxInFlightBytes.
const grpcStreamsPerConn = 8

func (r *Receiver) newGRPCServer() *grpc.Server {
	s := grpc.NewServer(
		grpc.MaxRecvMsgSize(int(r.opts.MaxRequestBytes)),
		grpc.MaxConcurrentStreams(grpcStreamsPerConn),
		grpc.InTapHandle(r.tap),
	)
	ptraceotlp.RegisterGRPCServer(s, &traceService{r: r})
	plogotlp.RegisterGRPCServer(s, &logService{r: r})
	return s
}

// traceService is the OTLP TraceService; pdata decodes the request.
type traceService struct {
	ptraceotlp.UnimplementedGRPCServer
	r *Receiver
}

func (s *traceService) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	td := req.Traces()
	release, err := s.r.admit(ctx, int64((&ptrace.ProtoMarshaler{}).TracesSize(td)))
	if err != nil {
		return ptraceotlp.NewExportResponse(), s.r.grpcStatus("traces", err)
	}
	defer release()
	if err := s.r.consumeTraces(td); err != nil {
		return ptraceotlp.NewExportResponse(), s.r.grpcStatus("traces", err)
	}
	return ptraceotlp.NewExportResponse(), nil
}

// logService is the OTLP LogsService.
type logService struct {
	plogotlp.UnimplementedGRPCServer
	r *Receiver
}

func (s *logService) Export(ctx context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	ld := req.Logs()
	release, err := s.r.admit(ctx, int64((&plog.ProtoMarshaler{}).LogsSize(ld)))
	if err != nil {
		return plogotlp.NewExportResponse(), s.r.grpcStatus("logs", err)
	}
	defer release()
	if err := s.r.consumeLogs(ld); err != nil {
		return plogotlp.NewExportResponse(), s.r.grpcStatus("logs", err)
	}
	return plogotlp.NewExportResponse(), nil
}

// tap refuses a new request before grpc-go reads its message when there is
// no room for one of the largest: messages of refused requests never take
// memory. The room is looked at, not kept; admit reserves it.
func (r *Receiver) tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	if !r.inFlight.TryAcquire(r.opts.MaxRequestBytes) {
		return ctx, r.grpcStatus(info.FullMethodName, fmt.Errorf("%w: %d bytes of requests are already being stored", errBusy, r.opts.MaxInFlightBytes))
	}
	r.inFlight.Release(r.opts.MaxRequestBytes)
	return ctx, nil
}

// grpcStatus is the OTLP answer to a failed request: INVALID_ARGUMENT for
// bad data (not retried), UNAVAILABLE with a RetryInfo delay when the store
// is behind (retried by every OTLP exporter).
func (r *Receiver) grpcStatus(signal string, err error) error {
	if errors.Is(err, errInvalid) {
		r.opts.Log.Info("refused an OTLP/gRPC request", "signal", signal, "error", err.Error())
		return status.Error(codes.InvalidArgument, err.Error())
	}
	// Refusals for lack of room come in floods when the store falls behind.
	r.opts.Log.V(1).Info("refused an OTLP/gRPC request", "signal", signal, "error", err.Error())
	st := status.New(codes.Unavailable, err.Error())
	if d, derr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(r.opts.RetryAfter)}); derr == nil {
		st = d
	}
	return st.Err()
}
