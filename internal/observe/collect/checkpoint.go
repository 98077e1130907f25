package collect

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// checkpoint is what a collector remembers across restarts, saved as one JSON file
// that is replaced atomically (write to a temporary file, then rename) so that a crash
// leaves either the old or the new state, never a torn one.
type checkpoint[T any] struct {
	path string
}

// load returns the saved state, or the zero value when nothing was saved yet.
func (c checkpoint[T]) load() (T, error) {
	var v T
	if c.path == "" {
		return v, nil
	}
	data, err := os.ReadFile(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return v, nil
	}
	if err != nil {
		return v, fmt.Errorf("failed to read checkpoint %s: %w", c.path, err)
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return v, fmt.Errorf("failed to read checkpoint %s: %w (delete it to start over)", c.path, err)
	}
	return v, nil
}

func (c checkpoint[T]) save(v T) error {
	if c.path == "" {
		return nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("failed to encode checkpoint: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o755); err != nil {
		return fmt.Errorf("failed to create checkpoint directory: %w", err)
	}
	tmp := c.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("failed to write checkpoint %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, c.path); err != nil {
		return fmt.Errorf("failed to replace checkpoint %s: %w", c.path, err)
	}
	return nil
}
