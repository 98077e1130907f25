// Copyright 2022 The Kubernetes Authors.
// SPDX-License-Identifier: Apache-2.0

package loader

import (
	"fmt"

	"sigs.k8s.io/kustomize/kyaml/errors"
)

var (
	ErrHTTP     = errors.Errorf("HTTP Error")
	ErrRtNotDir = errors.Errorf("must build at directory")
)

// ErrOffline is tugboat's: this copy of kustomize never reaches the network.
// A location that upstream kustomize would fetch over HTTP or clone with git
// is refused with it instead (see OFFLINE.md at the module root).
var ErrOffline = errors.Errorf("builds are offline")

func offline(location string) error {
	return fmt.Errorf("remote location '%s' refused: %w; vendor it into the repository", location, ErrOffline)
}
