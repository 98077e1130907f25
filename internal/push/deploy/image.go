package deploy

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
)

// validateImage refuses what no registry could serve, with go-containerregistry's
// reference parser (the one `tugboat image publish` prints references with). A
// reference without a tag means :latest, as for the kubelet.
func validateImage(image string) error {
	if image == "" {
		return fmt.Errorf("image is empty")
	}
	if _, err := name.ParseReference(image, name.WeakValidation); err != nil {
		return fmt.Errorf("%q is not an image reference: %w", image, err)
	}
	return nil
}
