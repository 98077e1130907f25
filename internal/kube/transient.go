package kube

import (
	"errors"
	"io"
	"net"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// Transient reports whether err, or any error joined or wrapped in it, says the
// apiserver could not be reached or could not answer now (connection refused or
// reset, a timeout, 429, 500, 503, 504, a dropped stream), rather than that it
// refused the request. Such a failure is retried soon and with backoff, not at a
// Kustomization's retryInterval: the apiserver restarting for an upgrade must not
// leave every Kustomization an interval (often an hour) behind.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	switch {
	case apierrors.IsServerTimeout(err), apierrors.IsTimeout(err), apierrors.IsTooManyRequests(err),
		apierrors.IsServiceUnavailable(err), apierrors.IsInternalError(err), apierrors.IsUnexpectedServerError(err):
		return true
	case utilnet.IsConnectionRefused(err), utilnet.IsConnectionReset(err), utilnet.IsProbableEOF(err),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.As(err, &ne) && ne.Timeout():
		return true
	}
	// errors.As and errors.Is see into joined errors, but the apiserver checks above
	// read only the outermost status: look at each joined error in turn.
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if Transient(e) {
				return true
			}
		}
	}
	if u := errors.Unwrap(err); u != nil {
		return Transient(u)
	}
	return false
}
