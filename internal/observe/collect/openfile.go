package collect

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// openLogFile opens path, a file under dir, for reading without following any
// symlink on the way: the agent reads /var/log/pods as root, and a link there
// (in the file's name or in a directory above it) could point at any file of the
// node. openat2 with RESOLVE_NO_SYMLINKS and RESOLVE_BENEATH refuses every link
// and any path leaving dir, atomically; kernels before 5.6 lack it, and get
// O_NOFOLLOW on the file's own name. The opened file must be a regular file and
// the one scanned (inode ino), so a file swapped after the scan is not read.
func openLogFile(dir, path string, ino uint64) (*os.File, error) {
	rel, err := filepath.Rel(dir, path)
	if err != nil {
		return nil, fmt.Errorf("failed to open log file %s: %w", path, err)
	}
	fh, err := openBeneath(dir, rel)
	if err != nil {
		return nil, fmt.Errorf("failed to open log file %s: %w", path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(fh.Fd()), &st); err != nil {
		_ = fh.Close()
		return nil, fmt.Errorf("failed to stat log file %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Ino != ino {
		_ = fh.Close()
		return nil, fmt.Errorf("failed to open log file %s: not the regular file that was listed", path)
	}
	return fh, nil
}

func openBeneath(dir, rel string) (*os.File, error) {
	flags := unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW | unix.O_NONBLOCK
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dfd)
	fd, err := unix.Openat2(dfd, rel, &unix.OpenHow{
		Flags:   uint64(flags),
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, syscall.ENOSYS) {
		fd, err = unix.Openat(dfd, rel, flags, 0)
	}
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), filepath.Join(dir, rel)), nil
}
