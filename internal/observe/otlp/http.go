package otlp

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// OTLP/HTTP paths and content types (OTLP specification, "OTLP/HTTP").
const (
	PathTraces      = "/v1/traces"
	PathLogs        = "/v1/logs"
	contentProtobuf = "application/x-protobuf"
	contentJSON     = "application/json"
)

// Handler serves OTLP/HTTP: POST /v1/traces and /v1/logs, binary protobuf
// or JSON, optionally gzip-compressed.
func (r *Receiver) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(PathTraces, func(w http.ResponseWriter, req *http.Request) { r.serveHTTP(w, req, "traces") })
	mux.HandleFunc(PathLogs, func(w http.ResponseWriter, req *http.Request) { r.serveHTTP(w, req, "logs") })
	return mux
}

// httpError is a refusal with its HTTP status.
type httpError struct {
	code int
	err  error
}

func (e *httpError) Error() string { return e.err.Error() }

func (r *Receiver) serveHTTP(w http.ResponseWriter, req *http.Request, signal string) {
	// Answer in the request's encoding when it is one of ours, else JSON.
	ct := contentJSON
	if err := r.handleHTTP(w, req, signal, &ct); err != nil {
		var he *httpError
		if !errors.As(err, &he) {
			he = &httpError{code: http.StatusServiceUnavailable, err: err}
		}
		log := r.opts.Log
		if he.code == http.StatusServiceUnavailable {
			log = log.V(1) // these come in floods when the store falls behind
		}
		log.Info("refused an OTLP/HTTP request", "signal", signal, "status", he.code, "error", he.Error())
		writeStatus(w, ct, he.code, he.Error(), r.opts.RetryAfter.Seconds())
	}
}

func (r *Receiver) handleHTTP(w http.ResponseWriter, req *http.Request, signal string, ct *string) error {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return &httpError{http.StatusMethodNotAllowed, fmt.Errorf("method %s not allowed: OTLP/HTTP takes POST", req.Method)}
	}
	mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil || (mt != contentProtobuf && mt != contentJSON) {
		return &httpError{http.StatusUnsupportedMediaType, fmt.Errorf("Content-Type %q is not supported: send %s or %s",
			req.Header.Get("Content-Type"), contentProtobuf, contentJSON)}
	}
	*ct = mt
	enc := strings.ToLower(strings.TrimSpace(req.Header.Get("Content-Encoding")))
	if enc != "" && enc != "identity" && enc != "gzip" {
		return &httpError{http.StatusUnsupportedMediaType, fmt.Errorf("Content-Encoding %q is not supported: send gzip or none", enc)}
	}
	max := r.opts.MaxRequestBytes
	if req.ContentLength > max {
		return &httpError{http.StatusRequestEntityTooLarge, fmt.Errorf("request of %d bytes is larger than the limit of %d bytes", req.ContentLength, max)}
	}
	// Room is reserved before the body is read, so that memory stays bounded
	// however many senders there are.
	want := max
	if req.ContentLength >= 0 && enc != "gzip" {
		want = req.ContentLength
	}
	release, err := r.admit(req.Context(), want)
	if err != nil {
		return &httpError{http.StatusServiceUnavailable, err}
	}
	defer release()
	body, err := readBody(w, req, enc, max)
	if err != nil {
		return err
	}
	switch signal {
	case "traces":
		ex := ptraceotlp.NewExportRequest()
		if err := unmarshal(mt, body, ex.UnmarshalProto, ex.UnmarshalJSON); err != nil {
			return err
		}
		if err := r.consumeTraces(ex.Traces()); err != nil {
			return classify(err)
		}
		return writeResponse(w, mt, ptraceotlp.NewExportResponse())
	default:
		ex := plogotlp.NewExportRequest()
		if err := unmarshal(mt, body, ex.UnmarshalProto, ex.UnmarshalJSON); err != nil {
			return err
		}
		if err := r.consumeLogs(ex.Logs()); err != nil {
			return classify(err)
		}
		return writeResponse(w, mt, plogotlp.NewExportResponse())
	}
}

// readBody reads at most max bytes, decompressed.
func readBody(w http.ResponseWriter, req *http.Request, enc string, max int64) ([]byte, error) {
	var src io.Reader = http.MaxBytesReader(w, req.Body, max+1)
	if enc == "gzip" {
		zr, err := gzip.NewReader(src)
		if err != nil {
			return nil, &httpError{http.StatusBadRequest, fmt.Errorf("failed to read gzip body: %w", err)}
		}
		defer zr.Close()
		src = zr
	}
	body, err := io.ReadAll(io.LimitReader(src, max+1))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) || int64(len(body)) > max {
		return nil, &httpError{http.StatusRequestEntityTooLarge, fmt.Errorf("request is larger than the limit of %d bytes", max)}
	}
	if err != nil {
		return nil, &httpError{http.StatusBadRequest, fmt.Errorf("failed to read request body: %w", err)}
	}
	return body, nil
}

func unmarshal(mt string, body []byte, fromProto, fromJSON func([]byte) error) error {
	var err error
	if mt == contentProtobuf {
		err = fromProto(body)
	} else {
		err = fromJSON(body)
	}
	if err != nil {
		return &httpError{http.StatusBadRequest, fmt.Errorf("failed to decode %s body: %w", mt, err)}
	}
	return nil
}

func classify(err error) error {
	if errors.Is(err, errInvalid) {
		return &httpError{http.StatusBadRequest, err}
	}
	return &httpError{http.StatusServiceUnavailable, err}
}

type response interface {
	MarshalProto() ([]byte, error)
	MarshalJSON() ([]byte, error)
}

func writeResponse(w http.ResponseWriter, mt string, res response) error {
	var b []byte
	var err error
	if mt == contentProtobuf {
		b, err = res.MarshalProto()
	} else {
		b, err = res.MarshalJSON()
	}
	if err != nil {
		return fmt.Errorf("failed to encode the response: %w", err)
	}
	w.Header().Set("Content-Type", mt)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return nil
}

// writeStatus writes a google.rpc.Status, as OTLP/HTTP answers failures, with
// Retry-After on the statuses a sender retries.
func writeStatus(w http.ResponseWriter, mt string, code int, msg string, retryAfter float64) {
	st := &spb.Status{Code: int32(grpcCode(code)), Message: msg}
	var b []byte
	if mt == contentProtobuf {
		b, _ = proto.Marshal(st)
	} else {
		b, _ = protojson.Marshal(st)
	}
	if code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests {
		secs := int(retryAfter)
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	w.Header().Set("Content-Type", mt)
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func grpcCode(httpCode int) codes.Code {
	switch httpCode {
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusRequestEntityTooLarge:
		return codes.ResourceExhausted
	case http.StatusUnsupportedMediaType, http.StatusMethodNotAllowed:
		return codes.Unimplemented
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		return codes.Unavailable
	}
	return codes.Unknown
}
