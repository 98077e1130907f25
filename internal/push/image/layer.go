package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The tar writing is ours: go-containerregistry turns a tar stream into a layer but
// has no "directory to tar" (crane append takes a tarball), and ko's version is not
// a library. Every header is normalised (owner root, fixed time, no user names, no
// access times) so that the layer's digest depends only on names, modes and bytes.

// binaryLayer is one layer holding the binary at dest (an absolute path), its
// parent directories with mode 0755 and the binary with 0755.
func binaryLayer(binary, dest string, created time.Time, mt types.MediaType) (v1.Layer, error) {
	f, err := os.Open(binary)
	if err != nil {
		return nil, fmt.Errorf("failed to open the built binary: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("failed to stat the built binary: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	rel := strings.TrimPrefix(path.Clean(dest), "/")
	var parents []string
	for d := path.Dir(rel); d != "."; d = path.Dir(d) {
		parents = append([]string{d}, parents...)
	}
	for _, d := range parents {
		if err := tw.WriteHeader(header(d+"/", tar.TypeDir, 0o755, 0, "", created)); err != nil {
			return nil, fmt.Errorf("failed to write the layer: %w", err)
		}
	}
	if err := tw.WriteHeader(header(rel, tar.TypeReg, 0o755, fi.Size(), "", created)); err != nil {
		return nil, fmt.Errorf("failed to write the layer: %w", err)
	}
	if _, err := io.Copy(tw, f); err != nil {
		return nil, fmt.Errorf("failed to write the binary into the layer: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("failed to write the layer: %w", err)
	}
	return layerFromBytes(buf.Bytes(), mt)
}

// dirLayer is one layer holding the tree under dir at the image's root: regular
// files, directories and symbolic links (kept as links, targets as written), with
// their permission bits including setuid, setgid and sticky. Other file types are
// refused, naming the file.
func dirLayer(dir string, created time.Time, mt types.MediaType) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	// WalkDir visits in lexical order, which keeps the layer reproducible.
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		mode := tarMode(fi.Mode())
		switch {
		case fi.Mode().IsDir():
			return tw.WriteHeader(header(rel+"/", tar.TypeDir, mode, 0, "", created))
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return tw.WriteHeader(header(rel, tar.TypeSymlink, 0o777, 0, target, created))
		case fi.Mode().IsRegular():
			if err := tw.WriteHeader(header(rel, tar.TypeReg, mode, fi.Size(), "", created)); err != nil {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			n, err := io.Copy(tw, f)
			if err == nil && n != fi.Size() {
				err = fmt.Errorf("%s changed size while being read", p)
			}
			return err
		default:
			return fmt.Errorf("%s is a %s: only files, directories and symbolic links go into an image", p, fileType(fi.Mode()))
		}
	})
	if err != nil {
		return nil, fmt.Errorf("failed to make a layer from %s: %w", dir, err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("failed to make a layer from %s: %w", dir, err)
	}
	return layerFromBytes(buf.Bytes(), mt)
}

func header(name string, typ byte, mode int64, size int64, link string, t time.Time) *tar.Header {
	return &tar.Header{
		Typeflag: typ,
		Name:     name,
		Linkname: link,
		Size:     size,
		Mode:     mode,
		ModTime:  t,
		Format:   tar.FormatPAX,
	}
}

// tarMode keeps the permission bits and setuid, setgid and sticky, as tar spells them.
func tarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}

func fileType(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	default:
		return "special file"
	}
}

func layerFromBytes(b []byte, mt types.MediaType) (v1.Layer, error) {
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithMediaType(mt), tarball.WithCompressedCaching)
	if err != nil {
		return nil, fmt.Errorf("failed to make the layer: %w", err)
	}
	return l, nil
}
